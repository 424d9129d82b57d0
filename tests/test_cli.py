"""The AWS CLI against the node, with nothing but --endpoint-url changed."""

import base64
import json
import shutil
import subprocess

import pytest

from conftest import ACCESS_KEY, SECRET_KEY, create_table, normalize_item, unique_name


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


# -- the data API through the CLI ------------------------------------------------------------


@pytest.fixture(scope="module")
def cli_table(aws, ddb):
    name = create_table(ddb, range_key=("sk", "N"))
    requests = [{"PutRequest": {"Item": {"pk": {"S": f"g{g}"}, "sk": {"N": str(s)}, "v": {"N": str(g * 100 + s)},
                                         "even": {"BOOL": s % 2 == 0}}}}
                for g in range(3) for s in range(10)]
    for start in range(0, len(requests), 25):
        ddb.batch_write_item(RequestItems={name: requests[start:start + 25]})
    return name


def test_cli_update_item_expressions_and_return_values(aws, cli_table):
    key = json.dumps({"pk": {"S": "cli-upd"}, "sk": {"N": "1"}})
    created = output(aws("update-item", "--table-name", cli_table, "--key", key,
                         "--update-expression", "SET #n = :name, hits = if_not_exists(hits, :zero) + :one ADD tags :t",
                         "--expression-attribute-names", '{"#n": "name"}',
                         "--expression-attribute-values", json.dumps({":name": {"S": "cli"}, ":zero": {"N": "0"}, ":one": {"N": "1"},
                                                                      ":t": {"SS": ["a", "b"]}}),
                         "--return-values", "ALL_NEW"))
    assert created["Attributes"]["name"] == {"S": "cli"}
    assert created["Attributes"]["hits"] == {"N": "1"}
    assert sorted(created["Attributes"]["tags"]["SS"]) == ["a", "b"]
    updated = output(aws("update-item", "--table-name", cli_table, "--key", key,
                         "--update-expression", "SET hits = hits + :one REMOVE #n DELETE tags :a",
                         "--condition-expression", "hits = :one AND attribute_exists(#n)",
                         "--expression-attribute-names", '{"#n": "name"}',
                         "--expression-attribute-values", json.dumps({":one": {"N": "1"}, ":a": {"SS": ["a"]}}),
                         "--return-values", "UPDATED_OLD"))
    assert normalize_item(updated["Attributes"]) == {"hits": {"N": "1"}, "name": {"S": "cli"}, "tags": {"SS": ["a", "b"]}}
    got = output(aws("get-item", "--table-name", cli_table, "--key", key, "--consistent-read"))["Item"]
    assert got == {"pk": {"S": "cli-upd"}, "sk": {"N": "1"}, "hits": {"N": "2"}, "tags": {"SS": ["b"]}}


def test_cli_conditional_check_failure(aws, cli_table):
    item = json.dumps({"pk": {"S": "g0"}, "sk": {"N": "0"}, "v": {"N": "-1"}})
    proc = aws("put-item", "--table-name", cli_table, "--item", item, "--condition-expression", "attribute_not_exists(pk)",
               "--return-values-on-condition-check-failure", "ALL_OLD", check=False)
    assert proc.returncode in (254, 255)
    assert "ConditionalCheckFailedException" in proc.stderr and "The conditional request failed" in proc.stderr
    proc = aws("delete-item", "--table-name", cli_table, "--key", json.dumps({"pk": {"S": "g0"}, "sk": {"N": "0"}}),
               "--condition-expression", "v > :big", "--expression-attribute-values", '{":big": {"N": "1000"}}', check=False)
    assert proc.returncode in (254, 255) and "ConditionalCheckFailedException" in proc.stderr
    got = output(aws("get-item", "--table-name", cli_table, "--key", json.dumps({"pk": {"S": "g0"}, "sk": {"N": "0"}})))
    assert got["Item"]["v"] == {"N": "0"}


def test_cli_expression_syntax_error(aws, cli_table):
    proc = aws("put-item", "--table-name", cli_table, "--item", json.dumps({"pk": {"S": "bad"}, "sk": {"N": "1"}}),
               "--condition-expression", "attribute_not_exists(pk", check=False)
    assert proc.returncode in (254, 255)
    assert "ValidationException" in proc.stderr and "Invalid ConditionExpression: Syntax error" in proc.stderr


def test_cli_query(aws, cli_table):
    result = output(aws("query", "--table-name", cli_table, "--key-condition-expression", "pk = :p AND sk BETWEEN :a AND :b",
                        "--filter-expression", "even = :t", "--no-scan-index-forward",
                        "--expression-attribute-values", json.dumps({":p": {"S": "g1"}, ":a": {"N": "2"}, ":b": {"N": "7"},
                                                                     ":t": {"BOOL": True}})))
    assert [item["sk"]["N"] for item in result["Items"]] == ["6", "4", "2"]
    assert result["Count"] == 3 and result["ScannedCount"] == 6


def test_cli_query_and_scan_follow_pages(aws, cli_table):
    # --page-size makes the CLI send Limit and follow LastEvaluatedKey itself, merging the pages.
    result = output(aws("query", "--table-name", cli_table, "--key-condition-expression", "pk = :p",
                        "--expression-attribute-values", '{":p": {"S": "g2"}}', "--page-size", "3"))
    assert [int(item["sk"]["N"]) for item in result["Items"]] == list(range(10))
    assert result["Count"] == 10
    result = output(aws("scan", "--table-name", cli_table, "--page-size", "4", "--filter-expression", "v < :limit",
                        "--expression-attribute-values", '{":limit": {"N": "300"}}', "--projection-expression", "v"))
    assert sorted(int(item["v"]["N"]) for item in result["Items"]) == [g * 100 + s for g in range(3) for s in range(10)]
    assert all(set(item) == {"v"} for item in result["Items"])
    counted = output(aws("scan", "--table-name", cli_table, "--select", "COUNT", "--page-size", "7",
                         "--filter-expression", "even = :f", "--expression-attribute-values", '{":f": {"BOOL": false}}'))
    assert counted["Count"] == 15


def test_cli_scan_max_items_and_starting_token(aws, cli_table):
    first = output(aws("scan", "--table-name", cli_table, "--max-items", "12", "--page-size", "5",
                       "--filter-expression", "begins_with(pk, :g)", "--expression-attribute-values", '{":g": {"S": "g"}}'))
    assert len(first["Items"]) == 12 and "NextToken" in first
    rest = output(aws("scan", "--table-name", cli_table, "--starting-token", first["NextToken"], "--page-size", "5",
                      "--filter-expression", "begins_with(pk, :g)", "--expression-attribute-values", '{":g": {"S": "g"}}'))
    values = [item["v"]["N"] for item in first["Items"] + rest["Items"]]
    assert sorted(map(int, values)) == [g * 100 + s for g in range(3) for s in range(10)]
    assert len(values) == len(set(values)) == 30


def test_cli_parallel_scan_segments(aws, cli_table):
    seen = []
    for segment in range(3):
        result = output(aws("scan", "--table-name", cli_table, "--segment", str(segment), "--total-segments", "3",
                            "--filter-expression", "begins_with(pk, :g)", "--expression-attribute-values", '{":g": {"S": "g"}}'))
        seen += [int(item["v"]["N"]) for item in result["Items"]]
    assert sorted(seen) == [g * 100 + s for g in range(3) for s in range(10)]


def test_cli_return_consumed_capacity(aws, cli_table):
    result = output(aws("query", "--table-name", cli_table, "--key-condition-expression", "pk = :p",
                        "--expression-attribute-values", '{":p": {"S": "g1"}}', "--return-consumed-capacity", "TOTAL",
                        "--consistent-read"))
    assert result["ConsumedCapacity"] == {"TableName": cli_table, "CapacityUnits": 1.0}
