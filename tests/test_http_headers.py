"""Server, Date and CORS headers, and the GET / health check, spoken raw with http.client and sockets."""

import email.utils
import http.client
import json
import re
import socket
import time
import zlib
from datetime import datetime, timezone

import pytest

from conftest import ACCESS_KEY, DUMMY_AUTH, SECRET_KEY, TARGET_PREFIX

JSON_TYPE = "application/x-amz-json-1.0"
IMF_FIXDATE = re.compile(r"^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d\d (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) "
                         r"\d{4} \d\d:\d\d:\d\d GMT$")
ORIGIN = "http://app.example.com"


def request(port, method, path="/", body=b"", headers=None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        conn.close()


def signed_headers(target, **extra):
    return {"Content-Type": JSON_TYPE, "Authorization": DUMMY_AUTH, "X-Amz-Target": TARGET_PREFIX + target, **extra}


def assert_server_and_date(headers):
    assert headers.get("server") == "Tern", headers
    date = headers.get("date")
    assert date and IMF_FIXDATE.match(date), headers
    sent = email.utils.parsedate_to_datetime(date)
    assert abs((datetime.now(timezone.utc) - sent).total_seconds()) < 5, date


# -- Server and Date -----------------------------------------------------------------------


@pytest.mark.parametrize("method,target,body", [
    ("GET", None, b""),
    ("POST", "ListTables", b"{}"),
    ("POST", "DescribeTable", b"{\"TableName\": \"no-such-table\"}"),
    ("POST", "DescribeTable", b"{broken"),
    ("POST", "Frobnicate", b"{}"),
    ("PUT", "ListTables", b"{}"),
    ("OPTIONS", None, b""),
], ids=["health", "success", "not-found", "malformed-json", "unknown-operation", "wrong-method", "options"])
def test_every_response_has_server_and_imf_fixdate_date(server, method, target, body):
    headers = signed_headers(target) if target else {}
    status, response_headers, _ = request(server.port, method, body=body, headers=headers)
    assert status in (200, 400)
    assert_server_and_date(response_headers)


def test_unauthenticated_and_oversized_responses_have_server_and_date(server):
    status, headers, _ = request(server.port, "POST", body=b"{}", headers={"X-Amz-Target": TARGET_PREFIX + "ListTables"})
    assert status == 400
    assert_server_and_date(headers)
    status, headers, _ = request(server.port, "POST", body=b" " * (17 * 1024 * 1024), headers=signed_headers("ListTables"))
    assert status == 413
    assert_server_and_date(headers)


def test_malformed_http_response_has_server_and_date(server):
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=3)
    data = b""
    try:
        sock.sendall(b"GARBAGE\r\n\r\n")
        while chunk := sock.recv(65536):
            data += chunk
    finally:
        sock.close()
    head = data.split(b"\r\n\r\n", 1)[0].decode()
    assert head.startswith("HTTP/1.1 400"), data
    headers = {name.strip().lower(): value.strip() for name, _, value in
               (line.partition(":") for line in head.split("\r\n")[1:])}
    assert_server_and_date(headers)


def test_date_follows_the_clock_across_seconds(server):
    """The string is cached per second, not frozen: on one keep-alive connection (one event loop)
    requests 1.2 s apart carry different dates, each the current second."""
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    dates = []
    try:
        for _ in range(3):
            conn.request("POST", "/", body=b"{}", headers=signed_headers("ListTables"))
            response = conn.getresponse()
            response.read()
            dates.append(response.getheader("date"))
            assert abs(email.utils.parsedate_to_datetime(dates[-1]).timestamp() - time.time()) < 2
            time.sleep(1.2)
    finally:
        conn.close()
    assert len(set(dates)) == 3, dates


# -- GET / ---------------------------------------------------------------------------------


def test_get_root_answers_as_dynamodb_health_check(server):
    status, headers, body = request(server.port, "GET")
    assert status == 200
    assert body == b"healthy: dynamodb.us-east-1.amazonaws.com "
    assert headers["content-length"] == "42"
    assert headers["x-amz-crc32"] == str(zlib.crc32(body)) == "3128867991"
    assert re.fullmatch(r"[0-9A-Z]{52}", headers["x-amzn-requestid"])


def test_health_check_names_the_node_region(server_factory):
    node = server_factory(extra_args=["--region", "eu-west-1"])
    for path in ("/", "/health"):
        status, _, body = request(node.port, "GET", path)
        assert status == 200
        assert body == b"healthy: dynamodb.eu-west-1.amazonaws.com "


# -- CORS ----------------------------------------------------------------------------------


def preflight(port, **headers):
    return request(port, "OPTIONS", headers={"Origin": ORIGIN, "Access-Control-Request-Method": "POST", **headers})


def test_preflight_allows_the_requested_headers(server):
    wanted = "authorization,content-type,x-amz-date,x-amz-target,x-amz-user-agent,amz-sdk-invocation-id,amz-sdk-request"
    status, headers, body = preflight(server.port, **{"Access-Control-Request-Headers": wanted})
    assert status == 200
    assert body == b""
    assert headers["access-control-allow-origin"] == "*"
    assert "POST" in [m.strip() for m in headers["access-control-allow-methods"].split(",")]
    assert headers["access-control-allow-headers"] == wanted
    assert headers["access-control-max-age"] == "172800"
    assert headers["content-length"] == "0"
    assert_server_and_date(headers)


def test_preflight_without_requested_headers_lists_the_sdk_headers(server):
    status, headers, _ = preflight(server.port)
    assert status == 200
    allowed = {h.strip() for h in headers["access-control-allow-headers"].split(",")}
    assert {"authorization", "content-type", "x-amz-target", "x-amz-date", "x-amz-user-agent",
            "x-amz-security-token", "amz-sdk-invocation-id", "amz-sdk-request", "content-encoding"} <= allowed


@pytest.mark.parametrize("requested", ["x" * 5000, "x-amz-target, bad\"header", "x-amz-target; evil=1"],
                         ids=["too-long", "quote", "semicolon"])
def test_preflight_does_not_echo_unsafe_header_lists(server, requested):
    status, headers, _ = preflight(server.port, **{"Access-Control-Request-Headers": requested})
    assert status == 200
    assert headers["access-control-allow-headers"] != requested
    assert "x-amz-target" in headers["access-control-allow-headers"]


def test_preflight_needs_no_signature_when_credentials_are_enforced(server_factory):
    node = server_factory(credentials=[(ACCESS_KEY, SECRET_KEY)])
    status, headers, _ = preflight(node.port, **{"Access-Control-Request-Headers": "authorization,x-amz-target"})
    assert status == 200
    assert headers["access-control-allow-origin"] == "*"
    # ... while the call itself still needs one
    status, _, body = request(node.port, "POST", body=b"{}", headers={"Origin": ORIGIN, **signed_headers("ListTables")})
    assert status == 400
    assert json.loads(body)["__type"].endswith("UnrecognizedClientException")


@pytest.mark.parametrize("target,body,status", [
    ("ListTables", b"{}", 200),
    ("DescribeTable", b"{\"TableName\": \"no-such-table\"}", 400),
])
def test_cross_origin_responses_carry_cors_headers(server, target, body, status):
    got, headers, _ = request(server.port, "POST", body=body, headers={"Origin": ORIGIN, **signed_headers(target)})
    assert got == status
    assert headers["access-control-allow-origin"] == "*"
    exposed = {h.strip().lower() for h in headers["access-control-expose-headers"].split(",")}
    assert {"x-amzn-requestid", "x-amz-crc32", "date"} <= exposed


def test_same_origin_responses_carry_no_cors_headers(server):
    """Without an Origin (every SDK call), the hot path adds nothing, as DynamoDB does."""
    status, headers, _ = request(server.port, "POST", body=b"{}", headers=signed_headers("ListTables"))
    assert status == 200
    assert not [name for name in headers if name.startswith("access-control-")]
