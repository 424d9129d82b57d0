"""SigV4 verification with `tern serve --credentials FILE`."""

import datetime
import http.client
import json
from unittest import mock

import botocore.auth
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

from conftest import assert_client_error, create_table, make_client

KEYS = [("AKIDALPHA", "alpha-secret/with+chars="), ("AKIDBETA", "beta-secret")]


@pytest.fixture(scope="module")
def auth_server(tern_bin, tmp_path_factory):
    from conftest import TernServer

    srv = TernServer(tern_bin, tmp_path_factory.mktemp("tern-auth"), credentials=KEYS)
    srv.start()
    try:
        yield srv
    finally:
        srv.stop()


@pytest.fixture(scope="module")
def alpha(auth_server):
    return make_client(auth_server.endpoint, access_key=KEYS[0][0], secret_key=KEYS[0][1])


@pytest.fixture(scope="module")
def auth_table(alpha):
    return create_table(alpha)


def signed_request(server, operation, payload, *, access_key, secret, when=None, tamper=None, region="us-east-1"):
    """Signs with botocore's own SigV4Auth (optionally at another time) and sends with http.client."""
    body = json.dumps(payload).encode()
    request = AWSRequest(method="POST", url=server.endpoint + "/", data=body, headers={
        "Content-Type": "application/x-amz-json-1.0", "X-Amz-Target": f"DynamoDB_20120810.{operation}"})
    signer = SigV4Auth(Credentials(access_key, secret), "dynamodb", region)
    if when is None:
        signer.add_auth(request)
    else:
        with mock.patch.object(botocore.auth, "get_current_datetime", lambda *a, **k: when):
            signer.add_auth(request)
    headers = dict(request.headers.items())
    if tamper:
        body, headers = tamper(body, headers)
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    try:
        conn.request("POST", "/", body=body, headers=headers)
        response = conn.getresponse()
        return response.status, json.loads(response.read() or b"{}"), headers
    finally:
        conn.close()


def utcnow():
    return datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)


def test_correct_keys_work_for_every_configured_key(auth_server, alpha, auth_table):
    alpha.put_item(TableName=auth_table, Item={"pk": {"S": "signed"}, "v": {"S": "ok"}})
    beta = make_client(auth_server.endpoint, access_key=KEYS[1][0], secret_key=KEYS[1][1])
    assert beta.get_item(TableName=auth_table, Key={"pk": {"S": "signed"}})["Item"]["v"] == {"S": "ok"}
    assert auth_table in beta.list_tables()["TableNames"]


def test_any_region_in_the_scope_is_accepted(auth_server):
    """The node answers for whatever region a client is configured with; the scope is still signed."""
    import boto3

    from conftest import client_config

    client = boto3.session.Session().client("dynamodb", endpoint_url=auth_server.endpoint, region_name="eu-west-3",
                                            aws_access_key_id=KEYS[1][0], aws_secret_access_key=KEYS[1][1],
                                            config=client_config())
    assert "TableNames" in client.list_tables()


def test_botocore_signed_request_accepted(auth_server, auth_table):
    status, body, _ = signed_request(auth_server, "DescribeTable", {"TableName": auth_table},
                                     access_key=KEYS[0][0], secret=KEYS[0][1])
    assert status == 200, body
    assert body["Table"]["TableName"] == auth_table


def test_wrong_secret_is_invalid_signature(auth_server, alpha, auth_table):
    bad = make_client(auth_server.endpoint, access_key=KEYS[0][0], secret_key="wrong-secret")
    with pytest.raises(ClientError) as excinfo:
        bad.put_item(TableName=auth_table, Item={"pk": {"S": "forged"}})
    assert_client_error(excinfo, "InvalidSignatureException", "The request signature we calculated does not match")
    assert "Item" not in alpha.get_item(TableName=auth_table, Key={"pk": {"S": "forged"}}, ConsistentRead=True)


def test_other_keys_secret_is_invalid_signature(auth_server):
    crossed = make_client(auth_server.endpoint, access_key=KEYS[0][0], secret_key=KEYS[1][1])
    with pytest.raises(ClientError) as excinfo:
        crossed.list_tables()
    assert_client_error(excinfo, "InvalidSignatureException")


def test_unknown_access_key_is_unrecognized_client(auth_server, alpha, auth_table):
    stranger = make_client(auth_server.endpoint, access_key="AKIDNOBODY", secret_key=KEYS[0][1])
    with pytest.raises(ClientError) as excinfo:
        stranger.put_item(TableName=auth_table, Item={"pk": {"S": "stranger"}})
    assert_client_error(excinfo, "UnrecognizedClientException", "The security token included in the request is invalid")
    assert "Item" not in alpha.get_item(TableName=auth_table, Key={"pk": {"S": "stranger"}}, ConsistentRead=True)


def test_stale_date_is_rejected(auth_server, alpha, auth_table):
    when = utcnow() - datetime.timedelta(minutes=20)
    status, body, headers = signed_request(
        auth_server, "PutItem", {"TableName": auth_table, "Item": {"pk": {"S": "stale"}}},
        access_key=KEYS[0][0], secret=KEYS[0][1], when=when)
    assert headers["X-Amz-Date"] == when.strftime("%Y%m%dT%H%M%SZ")
    assert status == 400
    assert body["__type"].endswith("#InvalidSignatureException")
    assert "Signature expired" in body["message"]
    assert "Item" not in alpha.get_item(TableName=auth_table, Key={"pk": {"S": "stale"}}, ConsistentRead=True)


def test_future_date_is_rejected(auth_server):
    when = utcnow() + datetime.timedelta(minutes=20)
    status, body, _ = signed_request(auth_server, "ListTables", {}, access_key=KEYS[0][0], secret=KEYS[0][1], when=when)
    assert status == 400
    assert body["__type"].endswith("#InvalidSignatureException")
    assert "Signature not yet current" in body["message"]


def test_date_within_skew_is_accepted(auth_server):
    when = utcnow() - datetime.timedelta(minutes=10)
    status, body, _ = signed_request(auth_server, "ListTables", {}, access_key=KEYS[0][0], secret=KEYS[0][1], when=when)
    assert status == 200, body


def test_tampered_body_is_rejected(auth_server, alpha, auth_table):
    def tamper(body, headers):
        new = body.replace(b"innocent", b"tampered")
        headers["Content-Length"] = str(len(new))
        return new, headers

    status, body, _ = signed_request(
        auth_server, "PutItem", {"TableName": auth_table, "Item": {"pk": {"S": "innocent"}}},
        access_key=KEYS[0][0], secret=KEYS[0][1], tamper=tamper)
    assert status == 400
    assert body["__type"].endswith("#InvalidSignatureException")
    for key in ("innocent", "tampered"):
        assert "Item" not in alpha.get_item(TableName=auth_table, Key={"pk": {"S": key}}, ConsistentRead=True)


def test_tampered_target_is_rejected(auth_server, auth_table):
    def tamper(body, headers):
        headers["X-Amz-Target"] = "DynamoDB_20120810.DeleteTable"
        return body, headers

    status, body, _ = signed_request(auth_server, "DescribeTable", {"TableName": auth_table},
                                     access_key=KEYS[0][0], secret=KEYS[0][1], tamper=tamper)
    assert status == 400
    assert body["__type"].endswith("#InvalidSignatureException")


def test_missing_authorization_with_credentials(auth_server):
    conn = http.client.HTTPConnection("127.0.0.1", auth_server.port, timeout=10)
    try:
        conn.request("POST", "/", body=b"{}", headers={"X-Amz-Target": "DynamoDB_20120810.ListTables"})
        response = conn.getresponse()
        body = json.loads(response.read())
    finally:
        conn.close()
    assert response.status == 400
    assert body["__type"].endswith("#MissingAuthenticationTokenException")


def test_dummy_signature_rejected_when_verifying(auth_server):
    response = auth_server.raw("ListTables", {})  # the conftest's unverifiable dummy header
    assert response.status == 400
    assert response.error_code in ("UnrecognizedClientException", "InvalidSignatureException")


def test_health_check_needs_no_signature(auth_server):
    assert auth_server.raw(None, b"", method="GET", auth=False).status == 200


def test_unreadable_credentials_file_fails_start(tern_bin, tmp_path):
    import subprocess

    from conftest import free_port

    bad = tmp_path / "creds"
    bad.write_text("only-one-field\n")
    proc = subprocess.run([tern_bin, "serve", "--port", str(free_port()), "--in-memory", "--credentials", str(bad)],
                          capture_output=True, timeout=30)
    assert proc.returncode != 0
    output = (proc.stdout + proc.stderr).decode()
    assert "line 1" in output and "only-one-field" not in output.replace(str(bad), "")
