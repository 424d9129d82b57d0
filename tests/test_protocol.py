"""The HTTP front door, spoken raw with http.client and sockets."""

import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import zlib

import pytest

from conftest import DUMMY_AUTH, TARGET_PREFIX, create_table

JSON_TYPE = "application/x-amz-json-1.0"


def check_common_headers(response):
    """Every response: a request id and a CRC32 of exactly the body bytes."""
    request_id = response.headers.get("x-amzn-requestid")
    assert request_id and len(request_id) == 52 and request_id.isalnum() and request_id == request_id.upper(), response.headers
    assert response.headers.get("x-amz-crc32") == str(zlib.crc32(response.body)), response.headers
    assert int(response.headers["content-length"]) == len(response.body)
    return request_id


def raw_http(target, body, headers=None):
    """A serialised HTTP/1.1 request with the dummy Authorization header."""
    if isinstance(body, (dict, list)):
        body = json.dumps(body).encode()
    lines = ["POST / HTTP/1.1", "Host: 127.0.0.1", f"Content-Type: {JSON_TYPE}",
             f"Authorization: {DUMMY_AUTH}", f"Content-Length: {len(body)}"]
    if target:
        lines.append(f"X-Amz-Target: {TARGET_PREFIX}{target}")
    for name, value in (headers or {}).items():
        lines.append(f"{name}: {value}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


class Reply:
    def __init__(self, status, headers, body):
        self.status, self.headers, self.body = status, headers, body

    def json(self):
        return json.loads(self.body)


def read_reply(stream) -> Reply:
    """Reads one Content-Length-framed HTTP response from a buffered socket file."""
    status_line = stream.readline()
    assert status_line.startswith(b"HTTP/1.1 "), status_line
    status = int(status_line.split()[1])
    headers = {}
    while True:
        line = stream.readline()
        assert line, "connection closed inside the headers"
        if line in (b"\r\n", b"\n"):
            break
        name, _, value = line.decode().partition(":")
        headers[name.strip().lower()] = value.strip()
    body = stream.read(int(headers["content-length"]))
    return Reply(status, headers, body)


def test_get_root_is_health_check(server):
    response = server.raw(None, b"", method="GET", auth=False)
    assert response.status == 200
    check_common_headers(response)
    assert server.raw(None, b"", method="GET", path="/health", auth=False).status == 200


def test_successful_response_headers(server):
    response = server.raw("ListTables", {})
    assert response.status == 200
    assert response.headers["content-type"] == JSON_TYPE
    check_common_headers(response)
    assert "TableNames" in response.json()


def test_request_ids_are_unique(server):
    ids = {check_common_headers(server.raw("DescribeLimits", {})) for _ in range(20)}
    assert len(ids) == 20


@pytest.mark.parametrize("body", [
    b"{not json", b"", b"{\"TableName\": ", b"\xff\xfe", b"[1,2", b"{\"a\":1}garbage",
    b"{\"TableName\": \"a\\xffb\"}".replace(b"\\xff", b"\xff"),  # invalid UTF-8 inside a string
    b"{\"TableName\": \"a\x01b\"}",  # unescaped control character
    b"{\"TableName\": \"abc\",}",  # trailing comma
    b"{\"TableName\": NaN}",
    b"{\"TableName\": \"abc\"} {}",
], ids=["bare-word", "empty", "truncated", "binary", "open-array", "trailing-garbage", "bad-utf8",
        "control-char", "trailing-comma", "nan", "two-documents"])
def test_malformed_json_is_serialization_exception(server, body):
    response = server.raw("DescribeTable", body)
    assert response.status == 400
    check_common_headers(response)
    assert response.json()["__type"] == "com.amazon.coral.service#SerializationException"
    assert response.message


# DynamoDB's wording (docs/compatibility.md, "SerializationException wording"): the member's JSON
# token and the model type it could not become, or where a list or structure started unexpectedly.
@pytest.mark.parametrize("target,body,message", [
    ("DescribeTable", b"[]", "Start of list found where not expected"),
    ("DescribeTable", b"\"text\"", "Expected null"),
    ("DescribeTable", b"{\"TableName\": 5}", "NUMBER_VALUE cannot be converted to String"),
    ("DescribeTable", b"{\"TableName\": true}", "BOOLEAN_VALUE cannot be converted to String"),
    ("DescribeTable", b"{\"TableName\": {\"S\": \"abc\"}}", "Start of structure or map found where not expected."),
    ("DescribeTable", b"{\"TableName\": [\"abc\"]}", "Start of list found where not expected"),
    ("ListTables", b"{\"Limit\": \"x\"}", "STRING_VALUE cannot be converted to Integer"),
    ("GetItem", b"{\"TableName\": \"abc\", \"Key\": []}", "Start of list found where not expected"),
    ("GetItem", b"{\"TableName\": \"abc\", \"Key\": \"pk\"}", "Expected map or null"),
    ("GetItem", b"{\"TableName\": \"abc\", \"Key\": {}, \"ConsistentRead\": \"yes\"}", "STRING_VALUE cannot be converted to Boolean"),
    ("GetItem", b"{\"TableName\": \"abc\", \"Key\": {}, \"AttributesToGet\": \"a\"}", "Expected list or null"),
    ("UpdateTable", b"{\"TableName\": \"abc\", \"ProvisionedThroughput\": 5}", "Expected null"),
    ("UpdateTable", b"{\"TableName\": \"abc\", \"ProvisionedThroughput\": {\"ReadCapacityUnits\": \"1\", \"WriteCapacityUnits\": 1}}",
     "STRING_VALUE cannot be converted to Long"),
], ids=["list-body", "string-body", "number-for-string", "boolean-for-string", "map-for-string", "list-for-string",
        "string-for-integer", "list-for-map", "string-for-map", "string-for-boolean", "string-for-list",
        "number-for-structure", "string-for-long"])
def test_wrong_json_types_are_serialization_exception(server, target, body, message):
    response = server.raw(target, body)
    assert response.status == 400
    assert response.error_code == "SerializationException"
    assert response.message == message
    check_common_headers(response)


@pytest.mark.parametrize("target", ["DynamoDB_20120810.Frobnicate", "DynamoDB_20111205.ListTables", "ListTables",
                                    "DynamoDB_20120810.", "dynamodb_20120810.ListTables"])
def test_unknown_operation(server, target):
    response = server.raw(None, {}, headers={"X-Amz-Target": target})
    assert response.status == 400
    assert response.json()["__type"] == "com.amazon.coral.service#UnknownOperationException"
    check_common_headers(response)


def test_missing_target(server):
    response = server.raw(None, {})
    assert response.status == 400
    assert response.error_code == "UnknownOperationException"
    check_common_headers(response)


def test_unknown_operation_checked_before_body(server):
    response = server.raw("Frobnicate", b"{broken")
    assert response.status == 400 and response.error_code == "UnknownOperationException"


@pytest.mark.parametrize("method,path", [("PUT", "/"), ("DELETE", "/"), ("PATCH", "/"), ("GET", "/tables"), ("HEAD", "/x")])
def test_wrong_method_or_path_is_400(server, method, path):
    response = server.raw("ListTables", {} if method != "HEAD" else b"", method=method, path=path)
    assert response.status == 400
    if method != "HEAD":
        check_common_headers(response)
        assert response.error_code == "UnknownOperationException"


def test_missing_authorization_header(server):
    response = server.raw("ListTables", {}, auth=False)
    assert response.status == 400
    assert response.json()["__type"] == "com.amazon.coral.service#MissingAuthenticationTokenException"
    assert "Request is missing Authentication Token" in response.message
    check_common_headers(response)


def test_non_sigv4_authorization_is_missing_token(server):
    response = server.raw("ListTables", {}, auth=False, headers={"Authorization": "Basic dXNlcjpwYXNz"})
    assert response.status == 400
    assert response.error_code == "MissingAuthenticationTokenException"


def test_incomplete_sigv4_header(server):
    response = server.raw("ListTables", {}, auth=False, headers={
        "Authorization": "AWS4-HMAC-SHA256 Credential=a/20260101/us-east-1/dynamodb/aws4_request"})
    assert response.status == 400
    assert response.error_code == "IncompleteSignatureException"
    assert "Authorization header requires 'Signature' parameter." in response.message
    assert "Authorization header requires 'SignedHeaders' parameter." in response.message


def test_missing_auth_does_not_write(server, ddb, table):
    response = server.raw("PutItem", {"TableName": table, "Item": {"pk": {"S": "noauth"}}}, auth=False)
    assert response.status == 400
    assert "Item" not in ddb.get_item(TableName=table, Key={"pk": {"S": "noauth"}}, ConsistentRead=True)


def test_error_bodies_have_type_and_message(server):
    response = server.raw("DescribeTable", {"TableName": "does-not-exist"})
    assert response.status == 400
    data = response.json()
    assert data["__type"] == "com.amazonaws.dynamodb.v20120810#ResourceNotFoundException"
    assert data["message"] == "Requested resource not found"
    check_common_headers(response)


def test_body_over_limit_is_413(server, ddb, table):
    """17 MiB is over the node's 16 MiB + 64 KiB bound; the body is read and dropped."""
    item = {"pk": {"S": "huge"}, "d": {"S": "x" * (17 * 1024 * 1024)}}
    body = json.dumps({"TableName": table, "Item": item}).encode()
    assert len(body) > 16_900_000
    response = server.raw("PutItem", body)
    assert response.status == 413
    assert response.error_code == "RequestEntityTooLarge"
    check_common_headers(response)
    assert response.headers.get("connection", "").lower() == "close"
    assert "Item" not in ddb.get_item(TableName=table, Key={"pk": {"S": "huge"}}, ConsistentRead=True)


def test_chunked_body_over_limit_is_413(server):
    """Without a Content-Length the bound is enforced while the chunks arrive."""
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=30)
    try:
        head = ("POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n"
                f"X-Amz-Target: {TARGET_PREFIX}ListTables\r\nAuthorization: {DUMMY_AUTH}\r\n\r\n").encode()
        sock.sendall(head)
        chunk = b"x" * (1024 * 1024)
        framed = f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n"
        try:
            for _ in range(18):
                sock.sendall(framed)
            sock.sendall(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server may answer and close before the upload ends
        reply = read_reply(sock.makefile("rb"))
        assert reply.status == 413
        assert reply.headers["x-amz-crc32"] == str(zlib.crc32(reply.body))
    finally:
        sock.close()


def test_body_just_under_limit_is_processed(server, ddb, table):
    """A 16 MiB BatchWriteItem-sized body is read; the item is then rejected for its size (400, not 413)."""
    item = {"pk": {"S": "big-but-ok-body"}, "d": {"S": "x" * (16 * 1024 * 1024)}}
    response = server.raw("PutItem", {"TableName": table, "Item": item})
    assert response.status == 400
    assert response.error_code == "ValidationException"
    assert "Item size has exceeded the maximum allowed size" in response.message


def test_chunked_request_body(server, table):
    body = json.dumps({"TableName": table, "Item": {"pk": {"S": "chunked"}, "v": {"S": "yes"}}}).encode()
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    try:
        conn.request("POST", "/", body=iter([body[:10], body[10:]]), encode_chunked=True, headers={
            "X-Amz-Target": TARGET_PREFIX + "PutItem", "Authorization": DUMMY_AUTH, "Content-Type": JSON_TYPE})
        response = conn.getresponse()
        assert response.status == 200, response.read()
        response.read()
    finally:
        conn.close()
    got = server.raw("GetItem", {"TableName": table, "Key": {"pk": {"S": "chunked"}}}).json()
    assert got["Item"]["v"] == {"S": "yes"}


def test_keep_alive_many_requests_one_connection(server, table):
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    headers = {"Authorization": DUMMY_AUTH, "Content-Type": JSON_TYPE}
    try:
        sockets = set()
        for i in range(10):
            body = json.dumps({"TableName": table, "Item": {"pk": {"S": f"ka{i}"}, "i": {"N": str(i)}}})
            conn.request("POST", "/", body=body, headers={**headers, "X-Amz-Target": TARGET_PREFIX + "PutItem"})
            response = conn.getresponse()
            data = response.read()
            assert response.status == 200, data
            assert response.getheader("x-amz-crc32") == str(zlib.crc32(data))
            assert (response.getheader("connection") or "").lower() != "close"
            sockets.add(id(conn.sock))
        # errors keep the connection open too
        conn.request("POST", "/", body="{bad", headers={**headers, "X-Amz-Target": TARGET_PREFIX + "GetItem"})
        response = conn.getresponse()
        assert response.status == 400 and json.loads(response.read())["__type"].endswith("SerializationException")
        sockets.add(id(conn.sock))
        conn.request("POST", "/", body=json.dumps({"TableName": table, "Key": {"pk": {"S": "ka9"}}}),
                     headers={**headers, "X-Amz-Target": TARGET_PREFIX + "GetItem"})
        response = conn.getresponse()
        assert json.loads(response.read())["Item"]["i"] == {"N": "9"}
        sockets.add(id(conn.sock))
        assert len(sockets) == 1, "http.client reconnected: the server closed a keep-alive connection"
    finally:
        conn.close()


def test_pipelined_requests_answered_in_order(server, ddb, table):
    ddb.put_item(TableName=table, Item={"pk": {"S": "pipe"}, "v": {"S": "piped"}})
    requests = [
        ("ListTables", {}),
        ("DescribeLimits", {}),
        ("Frobnicate", {}),
        ("GetItem", {"TableName": table, "Key": {"pk": {"S": "pipe"}}}),
        ("DescribeTable", b"{oops"),
        ("PutItem", {"TableName": table, "Item": {"pk": {"S": "pipe2"}, "n": {"N": "7"}, "z": {"S": "z"}}}),
        ("GetItem", {"TableName": table, "Key": {"pk": {"S": "pipe2"}}}),
        ("DescribeEndpoints", {}),
    ]
    payload = b"".join(raw_http(target, body) for target, body in requests)
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=30)
    try:
        sock.sendall(payload)  # every request in one write
        stream = sock.makefile("rb")
        replies = [read_reply(stream) for _ in requests]
    finally:
        sock.close()
    for reply in replies:
        assert reply.headers["x-amz-crc32"] == str(zlib.crc32(reply.body))
        assert reply.headers.get("x-amzn-requestid")
    assert [r.status for r in replies] == [200, 200, 400, 200, 400, 200, 200, 200]
    assert "TableNames" in replies[0].json()
    assert "AccountMaxReadCapacityUnits" in replies[1].json()
    assert replies[2].json()["__type"].endswith("UnknownOperationException")
    assert replies[3].json()["Item"]["v"] == {"S": "piped"}
    assert replies[4].json()["__type"].endswith("SerializationException")
    assert replies[5].json() == {}
    assert replies[6].json()["Item"]["n"] == {"N": "7"}
    assert "Endpoints" in replies[7].json()
    ids = [r.headers["x-amzn-requestid"] for r in replies]
    assert len(set(ids)) == len(ids)


def test_pipelined_writes_and_reads_run_in_order(server, table):
    """A pipelined GetItem runs after the PutItem before it is answered, not beside it."""
    requests = []
    for n in range(40):
        requests.append(("PutItem", {"TableName": table, "Item": {"pk": {"S": "seq"}, "n": {"N": str(n)}}}))
        requests.append(("GetItem", {"TableName": table, "Key": {"pk": {"S": "seq"}}, "ConsistentRead": True}))
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=30)
    try:
        sock.sendall(b"".join(raw_http(target, body) for target, body in requests))
        stream = sock.makefile("rb")
        replies = [read_reply(stream) for _ in requests]
    finally:
        sock.close()
    assert [r.status for r in replies] == [200] * len(requests)
    seen = [int(r.json()["Item"]["n"]["N"]) for r in replies[1::2]]
    assert seen == list(range(40))


def test_malformed_http_behind_pipelined_writes_is_answered_after_them(server, ddb, table):
    """The requests before a malformed one are answered first, in order; then the 400, then the close."""
    payload = (raw_http("PutItem", {"TableName": table, "Item": {"pk": {"S": "before-bad-1"}}})
               + raw_http("PutItem", {"TableName": table, "Item": {"pk": {"S": "before-bad-2"}}})
               + b"NOT HTTP AT ALL\r\n\r\n")
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=30)
    try:
        sock.sendall(payload)
        stream = sock.makefile("rb")
        first, second, bad = read_reply(stream), read_reply(stream), read_reply(stream)
        assert stream.read() == b""  # closed after the 400
    finally:
        sock.close()
    assert (first.status, second.status) == (200, 200)
    assert first.json() == {} and second.json() == {}
    assert bad.status == 400 and bad.json()["__type"].endswith("SerializationException")
    for key in ("before-bad-1", "before-bad-2"):
        assert ddb.get_item(TableName=table, Key={"pk": {"S": key}}, ConsistentRead=True)["Item"]["pk"] == {"S": key}


@pytest.mark.skipif(shutil.which("strace") is None, reason="needs strace (make test installs it)")
def test_a_connection_is_read_on_while_its_write_is_answered(server, table):
    """A PutItem's answer waits for a group commit. Reading the connection goes on meanwhile:
    stopping and restarting it (as NIO's pipelining handler did) costs two epoll_ctl calls per
    request, which this counts on a keep-alive connection under `strace -p`."""
    if os.environ.get("TERN_TEST_CLUSTER"):
        pytest.skip("counts the system calls of one process")
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    headers = {"Content-Type": JSON_TYPE, "Authorization": DUMMY_AUTH, "X-Amz-Target": TARGET_PREFIX + "PutItem"}
    conn.request("POST", "/", body=json.dumps({"TableName": table, "Item": {"pk": {"S": "warm"}}}), headers=headers)
    assert conn.getresponse().read() == b"{}"  # connected and registered before tracing starts
    tracer = subprocess.Popen(["strace", "-f", "-e", "trace=epoll_ctl", "-p", str(server.proc.pid)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        trace = []
        while True:  # strace reports on stderr once it has attached to every thread
            line = tracer.stderr.readline()
            assert line, "strace exited: " + "".join(trace)
            trace.append(line)
            if "attached" in line:
                break
        for n in range(100):
            body = json.dumps({"TableName": table, "Item": {"pk": {"S": f"read-on-{n}"}}})
            conn.request("POST", "/", body=body, headers=headers)
            response = conn.getresponse()
            assert (response.status, response.read()) == (200, b"{}")
    finally:
        conn.close()
        tracer.send_signal(signal.SIGINT)
        _, rest = tracer.communicate(timeout=30)
    calls = [line for line in trace + rest.splitlines() if "epoll_ctl(" in line]
    assert len(calls) < 10, f"{len(calls)} epoll_ctl calls for 100 requests: " + "".join(calls[:6])


def test_head_request_is_answered_without_a_body(server):
    """HEAD gets the headers the same request would (Content-Length included), no body bytes
    (RFC 9110 §9.3.2), and the connection goes on with the next request."""
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=10)
    try:
        sock.sendall(b"HEAD / HTTP/1.1\r\nHost: x\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n")
        stream = sock.makefile("rb")
        status = stream.readline()
        headers = {}
        while (line := stream.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode().partition(":")
            headers[name.strip().lower()] = value.strip()
        assert status.startswith(b"HTTP/1.1 ") and int(headers["content-length"]) > 0, (status, headers)
        following = read_reply(stream)  # starts right after the HEAD answer's blank line
        assert following.status == 200 and following.body.startswith(b"healthy: ")
    finally:
        sock.close()


def test_a_client_that_half_closes_gets_its_answers(server, table):
    """Requests followed by a half-close (shutdown of the client's sending side, as `nc -N`
    does): every answer is written, writes included, and then the server closes."""
    requests = [
        ("PutItem", {"TableName": table, "Item": {"pk": {"S": "half-1"}}}),
        ("PutItem", {"TableName": table, "Item": {"pk": {"S": "half-2"}, "v": {"N": "2"}}}),
        ("GetItem", {"TableName": table, "Key": {"pk": {"S": "half-2"}}, "ConsistentRead": True}),
    ]
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=30)
    try:
        sock.sendall(b"".join(raw_http(target, body) for target, body in requests))
        sock.shutdown(socket.SHUT_WR)
        stream = sock.makefile("rb")
        replies = [read_reply(stream) for _ in requests]
        assert stream.read() == b""  # then closed
    finally:
        sock.close()
    assert [r.status for r in replies] == [200, 200, 200]
    assert replies[2].json()["Item"]["v"] == {"N": "2"}


def test_connection_close_is_honoured(server):
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=10)
    try:
        sock.sendall(raw_http("ListTables", {}, headers={"Connection": "close"}))
        stream = sock.makefile("rb")
        reply = read_reply(stream)
        assert reply.status == 200
        assert stream.read() == b""  # the server closed the connection
    finally:
        sock.close()


def send_garbage(server, payload: bytes, wait: float = 3.0):
    """Sends bytes that are not valid HTTP; returns (response bytes, closed by server?)."""
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=wait)
    data, closed = b"", False
    try:
        sock.sendall(payload)
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                closed = True
                break
            data += chunk
    except socket.timeout:
        pass
    finally:
        sock.close()
    return data, closed


MALFORMED_HTTP = [b"GARBAGE\r\n\r\n", b"POST / HTTP/1.1\r\nContent-Length: abc\r\n\r\n",
                  b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"]


@pytest.mark.parametrize("payload", MALFORMED_HTTP, ids=["garbage", "bad-length", "length-and-chunked"])
def test_malformed_http_is_400(server, payload):
    data, _ = send_garbage(server, payload, wait=1.0)
    assert data.startswith(b"HTTP/1.1 400"), data
    assert server.raw("ListTables", {}).status == 200  # the node is unaffected


def test_malformed_http_response_has_request_id_and_crc(server):
    data, _ = send_garbage(server, MALFORMED_HTTP[0], wait=1.0)
    head = data.split(b"\r\n\r\n", 1)[0].lower()
    assert b"x-amzn-requestid:" in head, data
    assert b"x-amz-crc32:" in head, data


def test_malformed_http_connection_is_closed(server):
    data, closed = send_garbage(server, MALFORMED_HTTP[0], wait=3.0)
    assert b"connection: close" in data.lower()
    assert closed, "the server announced Connection: close but kept the connection open for 3 s"


def test_expect_100_continue(server):
    body = b"{}"
    head = (f"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Amz-Target: {TARGET_PREFIX}ListTables\r\n"
            f"Authorization: {DUMMY_AUTH}\r\nContent-Length: {len(body)}\r\nExpect: 100-continue\r\n\r\n").encode()
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=10)
    try:
        sock.sendall(head)
        sock.settimeout(1.0)
        stream = sock.makefile("rb")
        try:
            interim = stream.readline()
        except socket.timeout:
            interim = b""
        assert interim.startswith(b"HTTP/1.1 100"), f"no 100 Continue within 1 s: {interim!r}"
        while stream.readline() not in (b"\r\n", b"\n", b""):
            pass  # the interim response's (normally empty) header block
        sock.settimeout(10)
        sock.sendall(body)
        final = read_reply(stream)
        assert final.status == 200
        assert "TableNames" in json.loads(final.body)
    finally:
        sock.close()


def test_http_1_0_request(server):
    body = b"{}"
    request = (f"POST / HTTP/1.0\r\nHost: 127.0.0.1\r\nX-Amz-Target: {TARGET_PREFIX}ListTables\r\n"
               f"Authorization: {DUMMY_AUTH}\r\nContent-Length: {len(body)}\r\n\r\n").encode() + body
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=10)
    try:
        sock.sendall(request)
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    finally:
        sock.close()
    head, _, payload = data.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.0 200")
    assert b"Connection: close" in head.split(b"\r\n")
    assert "TableNames" in json.loads(payload)


def test_crc32_matches_on_large_response(server, ddb, table):
    ddb.put_item(TableName=table, Item={"pk": {"S": "large"}, "d": {"S": "\u00e9" * 150_000}, "b": {"B": bytes(range(256)) * 200}})
    response = server.raw("GetItem", {"TableName": table, "Key": {"pk": {"S": "large"}}})
    assert response.status == 200
    assert len(response.body) > 300_000
    check_common_headers(response)


def test_concurrent_connections(server, table):
    import concurrent.futures

    def worker(i):
        return server.raw("PutItem", {"TableName": table, "Item": {"pk": {"S": f"conc{i}"}}}).status

    with concurrent.futures.ThreadPoolExecutor(max_workers=16) as pool:
        statuses = list(pool.map(worker, range(64)))
    assert statuses == [200] * 64
    for i in (0, 31, 63):
        assert "Item" in server.raw("GetItem", {"TableName": table, "Key": {"pk": {"S": f"conc{i}"}},
                                                "ConsistentRead": True}).json()
