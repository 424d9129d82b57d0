"""The AWS CLI against the node, with nothing but --endpoint-url changed."""

import base64
import json
import shutil
import subprocess

import pytest

from conftest import ACCESS_KEY, SECRET_KEY, unique_name


@pytest.fixture(scope="module")
def aws(server, tmp_path_factory):
    executable = shutil.which("aws")
    if executable is None:
        pytest.fail("the AWS CLI (`aws`) is not on PATH; `make deps` installs it", pytrace=False)
    home = tmp_path_factory.mktemp("aws-home")
    env = {
        "PATH": __import__("os").environ["PATH"],
        "HOME": str(home),
        "AWS_ACCESS_KEY_ID": ACCESS_KEY,
        "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_CONFIG_FILE": str(home / "no-config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(home / "no-credentials"),
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_MAX_ATTEMPTS": "1",
        "AWS_RETRY_MODE": "standard",
        "AWS_PAGER": "",
    }

    def run(*args, check=True):
        proc = subprocess.run([executable, "dynamodb", *args, "--endpoint-url", server.endpoint],
                              env=env, capture_output=True, text=True, timeout=60)
        if check:
            assert proc.returncode == 0, f"aws {' '.join(args)} -> {proc.returncode}\n{proc.stderr}"
        return proc

    return run


def output(proc):
    return json.loads(proc.stdout) if proc.stdout.strip() else {}


def test_cli_table_and_item_lifecycle(aws, tmp_path):
    name = unique_name("cli")
    created = output(aws("create-table", "--table-name", name,
                         "--attribute-definitions", "AttributeName=pk,AttributeType=S", "AttributeName=sk,AttributeType=N",
                         "--key-schema", "AttributeName=pk,KeyType=HASH", "AttributeName=sk,KeyType=RANGE",
                         "--billing-mode", "PAY_PER_REQUEST", "--tags", "Key=owner,Value=cli"))
    assert created["TableDescription"]["TableName"] == name
    assert created["TableDescription"]["TableStatus"] == "ACTIVE"

    aws("wait", "table-exists", "--table-name", name)

    item = {"pk": {"S": "cli"}, "sk": {"N": "1.50"}, "b": {"B": "AAEC/w=="}, "ss": {"SS": ["x", "y"]},
            "m": {"M": {"l": {"L": [{"BOOL": True}, {"NULL": True}]}}}, "z": {"S": "end"}}
    aws("put-item", "--table-name", name, "--item", json.dumps(item))

    requests = {name: [{"PutRequest": {"Item": {"pk": {"S": "batch"}, "sk": {"N": str(i)}, "v": {"S": f"v{i}"}}}}
                       for i in range(3)]}
    request_file = tmp_path / "requests.json"
    request_file.write_text(json.dumps(requests))
    batch = output(aws("batch-write-item", "--request-items", f"file://{request_file}"))
    assert batch["UnprocessedItems"] == {}

    got = output(aws("get-item", "--table-name", name, "--consistent-read",
                     "--key", json.dumps({"pk": {"S": "cli"}, "sk": {"N": "1.5"}})))["Item"]
    assert got["sk"] == {"N": "1.5"}
    # CLI v1 sends a command-line blob's text as the raw bytes (v2 would base64-decode it first);
    # either way the answer is the base64 of the stored bytes.
    assert base64.b64decode(got["b"]["B"]) in (b"AAEC/w==", b"\x00\x01\x02\xff")
    assert sorted(got["ss"]["SS"]) == ["x", "y"]
    assert got["m"] == item["m"]
    got = output(aws("get-item", "--table-name", name, "--key", json.dumps({"pk": {"S": "batch"}, "sk": {"N": "2"}}),
                     "--projection-expression", "v"))
    assert got["Item"] == {"v": {"S": "v2"}}

    described = output(aws("describe-table", "--table-name", name))["Table"]
    assert described["ItemCount"] == 4
    assert described["KeySchema"][1] == {"AttributeName": "sk", "KeyType": "RANGE"}

    assert name in output(aws("list-tables"))["TableNames"]

    deleted = output(aws("delete-table", "--table-name", name))
    assert deleted["TableDescription"]["TableStatus"] == "DELETING"
    aws("wait", "table-not-exists", "--table-name", name)


def test_cli_service_errors(aws, table):
    missing = aws("describe-table", "--table-name", unique_name("missing"), check=False)
    assert missing.returncode in (254, 255), missing  # 255 in CLI v1, 254 in v2
    assert "ResourceNotFoundException" in missing.stderr
    assert "Requested resource not found" in missing.stderr

    bad_number = aws("put-item", "--table-name", table, "--item", '{"pk": {"S": "x"}, "n": {"N": "1e999"}}', check=False)
    assert bad_number.returncode in (254, 255)
    assert "ValidationException" in bad_number.stderr and "Number overflow" in bad_number.stderr

    short = aws("describe-table", "--table-name", "ab", check=False)
    assert short.returncode in (254, 255)
    assert "ValidationException" in short.stderr
    assert "Member must have length greater than or equal to 3" in short.stderr


def test_cli_validation_error_writes_nothing(aws, ddb, table):
    proc = aws("put-item", "--table-name", table, "--item", json.dumps({"pk": {"S": "cli-bad"}, "s": {"SS": ["a", "a"]}}),
               check=False)
    assert proc.returncode in (254, 255)
    assert "ValidationException" in proc.stderr and "contains duplicates" in proc.stderr
    assert "Item" not in ddb.get_item(TableName=table, Key={"pk": {"S": "cli-bad"}}, ConsistentRead=True)


def test_cli_unsupported_operation(aws, ddb, table):
    items = json.dumps([{"Put": {"TableName": table, "Item": {"pk": {"S": "cli-tx"}}}}])
    proc = aws("transact-write-items", "--transact-items", items, check=False)
    assert proc.returncode in (254, 255)
    assert "ValidationException" in proc.stderr
    assert "Tern does not support the TransactWriteItems operation yet" in proc.stderr
    assert "Item" not in ddb.get_item(TableName=table, Key={"pk": {"S": "cli-tx"}}, ConsistentRead=True)

    proc = aws("execute-statement", "--statement", f"SELECT * FROM \"{table}\"", check=False)
    assert proc.returncode in (254, 255)
    assert "Tern does not support the ExecuteStatement operation yet" in proc.stderr
