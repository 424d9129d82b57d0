"""Compressed request bodies (Content-Encoding) and compressed responses (Accept-Encoding),
spoken raw with http.client and through boto3."""

import gzip
import http.client
import json
import zlib

import botocore.exceptions
import pytest

from conftest import (ACCESS_KEY, DUMMY_AUTH, SECRET_KEY, TARGET_PREFIX, assert_client_error, create_table,
                      make_client)

JSON_TYPE = "application/x-amz-json-1.0"
SERIALIZATION = "com.amazon.coral.service#SerializationException"


def post(port, target, body: bytes, headers=None):
    """One POST on a fresh connection; the body is returned exactly as it came off the wire
    (http.client never decodes a Content-Encoding)."""
    all_headers = {"Content-Type": JSON_TYPE, "Authorization": DUMMY_AUTH, "X-Amz-Target": TARGET_PREFIX + target}
    all_headers.update(headers or {})
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        conn.request("POST", "/", body=body, headers=all_headers)
        response = conn.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        conn.close()


def put_request(table, key, **attributes):
    item = {"pk": {"S": key}, **{name: {"S": value} for name, value in attributes.items()}}
    return json.dumps({"TableName": table, "Item": item}).encode()


def stored(ddb, table, key):
    return ddb.get_item(TableName=table, Key={"pk": {"S": key}}, ConsistentRead=True).get("Item")


def raw_deflate(data: bytes) -> bytes:
    compressor = zlib.compressobj(wbits=-15)
    return compressor.compress(data) + compressor.flush()


# -- requests ------------------------------------------------------------------------------


@pytest.mark.parametrize("encoding,encode", [
    ("gzip", gzip.compress),
    ("GZIP", gzip.compress),
    ("x-gzip", gzip.compress),
    ("deflate", zlib.compress),
    ("deflate", raw_deflate),
], ids=["gzip", "gzip-upper-case", "x-gzip", "deflate-zlib", "deflate-raw"])
def test_compressed_request_body_is_decoded(server, ddb, table, encoding, encode):
    status, _, body = post(server.port, "PutItem", encode(put_request(table, "c1", v="decoded")),
                           {"Content-Encoding": encoding})
    assert status == 200, body
    assert stored(ddb, table, "c1")["v"] == {"S": "decoded"}


def test_concatenated_gzip_members_are_one_body(server, ddb, table):
    """RFC 1952 §2.2: a gzip file is a series of members; the body is their concatenation."""
    payload = put_request(table, "members", v="two halves")
    status, _, body = post(server.port, "PutItem", gzip.compress(payload[:20]) + gzip.compress(payload[20:]),
                           {"Content-Encoding": "gzip"})
    assert status == 200, body
    assert stored(ddb, table, "members")["v"] == {"S": "two halves"}


def test_identity_content_encoding_is_the_plain_body(server, ddb, table):
    status, _, body = post(server.port, "PutItem", put_request(table, "ident", v="plain"),
                           {"Content-Encoding": "identity"})
    assert status == 200, body
    assert stored(ddb, table, "ident")["v"] == {"S": "plain"}


def test_large_compressed_request_spanning_many_inflate_steps(server, ddb, table):
    """320 KB of item data: inflated in several 64 KB steps, then stored whole."""
    big = "".join(f"{i:08d}" for i in range(40_000))  # 320 KB, not trivially compressible
    status, _, body = post(server.port, "PutItem", gzip.compress(put_request(table, "big", v=big)),
                           {"Content-Encoding": "gzip"})
    assert status == 200, body
    assert stored(ddb, table, "big")["v"] == {"S": big}


def truncated_gzip(payload):
    return gzip.compress(payload)[:-6]


def gzip_with_junk(payload):
    return gzip.compress(payload) + b"junk"


def corrupt_gzip(payload):
    data = bytearray(gzip.compress(payload))
    data[12] ^= 0xFF
    return bytes(data)


@pytest.mark.parametrize("encoding,make_body", [
    ("gzip", lambda payload: payload),  # announced as gzip but sent plain
    ("gzip", lambda payload: b""),
    ("gzip", truncated_gzip),
    ("gzip", gzip_with_junk),
    ("gzip", corrupt_gzip),
    ("deflate", lambda payload: payload),
    ("deflate", lambda payload: zlib.compress(payload) + b"more"),
], ids=["gzip-plain-body", "gzip-empty", "gzip-truncated", "gzip-trailing-junk", "gzip-corrupt",
        "deflate-plain-body", "deflate-trailing-data"])
def test_malformed_compressed_body_is_serialization_exception(server, ddb, table, encoding, make_body):
    key = "bad"
    status, headers, body = post(server.port, "PutItem", make_body(put_request(table, key)),
                                 {"Content-Encoding": encoding})
    assert status == 400, body
    error = json.loads(body)
    assert error["__type"] == SERIALIZATION
    assert error["message"].startswith(f"The request body is not valid {encoding} data: "), error
    assert headers["x-amz-crc32"] == str(zlib.crc32(body))
    assert stored(ddb, table, key) is None


def test_gzip_of_gzip_sent_as_one_gzip_is_not_json(server, ddb, table):
    """Decoded once, a doubly compressed body is gzip bytes, not JSON."""
    status, _, body = post(server.port, "PutItem", gzip.compress(gzip.compress(put_request(table, "twice"))),
                           {"Content-Encoding": "gzip"})
    assert status == 400
    error = json.loads(body)
    assert error["__type"] == SERIALIZATION
    assert error["message"].startswith("Malformed JSON request body"), error
    assert stored(ddb, table, "twice") is None


@pytest.mark.parametrize("header", ["gzip, gzip", "deflate,gzip", "gzip, identity, deflate"])
def test_more_than_one_content_coding_is_rejected(server, ddb, table, header):
    payload = gzip.compress(gzip.compress(put_request(table, "layers")))
    status, _, body = post(server.port, "PutItem", payload, {"Content-Encoding": header})
    assert status == 400
    error = json.loads(body)
    assert error["__type"] == SERIALIZATION
    assert error["message"] == (f"Content-Encoding '{header}' applies more than one coding; "
                                "send the body encoded once, with gzip or deflate")
    assert stored(ddb, table, "layers") is None


@pytest.mark.parametrize("coding", ["br", "zstd", "compress", "garbage"])
def test_unknown_content_coding_is_rejected(server, ddb, table, coding):
    status, _, body = post(server.port, "PutItem", put_request(table, "unknown"), {"Content-Encoding": coding})
    assert status == 400
    error = json.loads(body)
    assert error["__type"] == SERIALIZATION
    assert error["message"] == f"Content-Encoding '{coding}' is not supported; send gzip or deflate"
    assert stored(ddb, table, "unknown") is None


def test_body_over_limit_after_decompression_is_413_and_connection_stays_usable(server, ddb, table):
    """17 MiB of JSON whitespace compresses to a few KB; decoded, it is over the 16 MiB + 64 KiB bound."""
    payload = put_request(table, "inflated")
    padded = payload[:-1] + b" " * (17 * 1024 * 1024) + payload[-1:]
    compressed = gzip.compress(padded)
    assert len(compressed) < 100_000
    headers = {"Content-Type": JSON_TYPE, "Authorization": DUMMY_AUTH, "X-Amz-Target": TARGET_PREFIX + "PutItem",
               "Content-Encoding": "gzip"}
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
    try:
        conn.request("POST", "/", body=compressed, headers=headers)
        response = conn.getresponse()
        body = response.read()
        assert response.status == 413, body
        error = json.loads(body)
        assert error["__type"] == "com.amazon.coral.service#RequestEntityTooLarge"
        assert "after decompression" in error["message"]
        # The whole body was read, so the connection is still in step and stays open.
        assert (response.getheader("connection") or "").lower() != "close"
        conn.request("POST", "/", body=b"{}", headers={**headers, "X-Amz-Target": TARGET_PREFIX + "ListTables",
                                                        "Content-Encoding": "identity"})
        assert conn.getresponse().status == 200
    finally:
        conn.close()
    assert stored(ddb, table, "inflated") is None


def peak_rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    raise AssertionError("no VmHWM in /proc status")


def test_gzip_bomb_is_not_inflated_past_the_bound(fresh_server):
    """256 MiB of zeros in about 250 KB of gzip: decoding stops at the bound, so the node's peak
    memory grows by far less than the bomb's size."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, 31)
    chunk = bytes(1024 * 1024)
    bomb = b"".join(compressor.compress(chunk) for _ in range(256)) + compressor.flush()
    assert len(bomb) < 1_000_000
    before = peak_rss_kib(fresh_server.proc.pid)
    status, _, body = post(fresh_server.port, "PutItem", bomb, {"Content-Encoding": "gzip"})
    assert status == 413, body
    grown_mib = (peak_rss_kib(fresh_server.proc.pid) - before) / 1024
    assert grown_mib < 128, f"peak RSS grew by {grown_mib:.0f} MiB while refusing a 256 MiB gzip bomb"
    assert fresh_server.raw("ListTables", {}).status == 200


def compressing_client(endpoint, sent_encodings, **config):
    """boto3 with botocore's own request compression switched on for every DynamoDB operation.
    botocore compresses only operations whose model has the `requestcompression` trait, and
    DynamoDB's has none, so the loaded model is amended; the 10 KB default minimum drops to 1 byte."""
    client = make_client(endpoint, request_min_compression_size_bytes=1, **config)
    operations = client.meta.service_model._service_description["operations"]
    for operation in operations.values():
        operation["requestcompression"] = {"encodings": ["gzip"]}
    client.meta.events.register("before-send", lambda request, **_: sent_encodings.append(
        request.headers.get("Content-Encoding")))
    return client


def test_boto3_compressed_requests_pass_sigv4_verification(server_factory):
    """botocore gzips the body and then signs the compressed bytes; the node verifies the
    signature over the bytes as sent and only then decodes them."""
    node = server_factory(credentials=[(ACCESS_KEY, SECRET_KEY)])
    sent = []
    client = compressing_client(node.endpoint, sent)
    table = create_table(client)
    client.put_item(TableName=table, Item={"pk": {"S": "signed"}, "v": {"S": "compressed" * 100}})
    got = client.get_item(TableName=table, Key={"pk": {"S": "signed"}}, ConsistentRead=True)
    assert got["Item"]["v"] == {"S": "compressed" * 100}
    assert sent and all(encoding == b"gzip" or encoding == "gzip" for encoding in sent), sent


def test_compressed_body_signed_uncompressed_fails_signature(server_factory):
    """The signature covers the bytes on the wire: a signature computed over the plain body does
    not match the compressed one."""
    node = server_factory(credentials=[(ACCESS_KEY, SECRET_KEY)])
    client = make_client(node.endpoint)

    def compress_after_signing(request, **_):
        request.body = gzip.compress(request.body)
        request.headers["Content-Encoding"] = "gzip"
        request.headers["Content-Length"] = str(len(request.body))

    client.meta.events.register("before-send.dynamodb.ListTables", compress_after_signing)
    with pytest.raises(botocore.exceptions.ClientError) as excinfo:
        client.list_tables()
    assert_client_error(excinfo, "InvalidSignatureException")


# -- responses -----------------------------------------------------------------------------


@pytest.fixture
def large_item(ddb, table):
    """An item whose GetItem response is about 6 KB: above DynamoDB's 4 KB compression threshold."""
    value = "".join(f"value-{i:05d};" for i in range(500))
    ddb.put_item(TableName=table, Item={"pk": {"S": "large"}, "v": {"S": value}})
    return json.dumps({"TableName": table, "Key": {"pk": {"S": "large"}}}).encode(), value


@pytest.mark.parametrize("accept,coding,decode", [
    ("gzip", "gzip", gzip.decompress),
    ("deflate", "deflate", zlib.decompress),
    ("gzip, deflate", "gzip", gzip.decompress),
])
def test_large_response_is_compressed_when_accepted(server, large_item, accept, coding, decode):
    request, value = large_item
    status, headers, body = post(server.port, "GetItem", request, {"Accept-Encoding": accept})
    assert status == 200
    assert headers["content-encoding"] == coding
    assert int(headers["content-length"]) == len(body)
    # DynamoDB's checksum covers the bytes on the wire, i.e. the compressed body.
    assert headers["x-amz-crc32"] == str(zlib.crc32(body))
    plain = decode(body)
    assert len(body) < len(plain) / 2
    assert json.loads(plain)["Item"]["v"] == {"S": value}


@pytest.mark.parametrize("headers", [{}, {"Accept-Encoding": "identity"}, {"Accept-Encoding": ""},
                                     {"Accept-Encoding": "br"}, {"Accept-Encoding": "gzip;q=0"}],
                         ids=["absent", "identity", "empty", "unsupported", "refused"])
def test_response_is_plain_unless_a_supported_coding_is_accepted(server, large_item, headers):
    request, value = large_item
    status, response_headers, body = post(server.port, "GetItem", request, headers)
    assert status == 200
    assert "content-encoding" not in response_headers
    assert response_headers["x-amz-crc32"] == str(zlib.crc32(body))
    assert json.loads(body)["Item"]["v"] == {"S": value}


def test_small_response_is_not_compressed(server):
    """Below 4 KB the bytes saved do not pay for the work, as DynamoDB also decides."""
    status, headers, body = post(server.port, "DescribeLimits", b"{}", {"Accept-Encoding": "gzip"})
    assert status == 200
    assert len(body) < 4096
    assert "content-encoding" not in headers
    assert "AccountMaxReadCapacityUnits" in json.loads(body)


# Accept-Encoding values and the coding DynamoDB chooses for them (None: uncompressed), as observed
# against the service by ScyllaDB's Alternator test suite (test_compressed_response.py).
NEGOTIATION = [
    ("gzip, deflate", "gzip"),
    ("br, identity, deflate, gzip", "deflate"),
    ("GZIP, identity", "gzip"),
    ("dog, gzip ,, cat", "gzip"),
    ("gzip;q=0.8, deflate;q=0.5", "gzip"),
    ("br, gzip;q=0, deflate; q = 0.5 , identity;q=0", "deflate"),
    ("*", "gzip"),
    ("*, deflate;q=0.5", "gzip"),
    ("*, deflate", "deflate"),
    ("*, identity", "gzip"),
    ("*, gzip;q=0.5", "deflate"),
    ("gzip ;q=0", None),
    ("identity;q=0", None),
    ("*;q=0", None),
    ("*;q=0.5,identity", "gzip"),
    ("gzip;q=0.5,identity;q=0.8", "gzip"),
    ("br;q=0.8,identity;q=0.5,*;q=0", None),
    ("\"gzip\"", None),
    ("gzip br", None),
    ("gzip:q=1", None),
    ("x-gzip", None),
    ("compress", None),
    ("deflate;q=0.5, gzip;q=31", "gzip"),
    ("gzip;q=31,deflate;q=51", "gzip"),
    ("deflate;q=0.5, gzip;q=0.2", "deflate"),
    ("deflate;q=0.5, gzip;q=1;q=0.2", "gzip"),
    ("deflate;q=0.5,gzip;q=0.", "deflate"),
    ("deflate;q=0.5,gzip;q=0.x", "gzip"),
    ("deflate;q=-0.5,gzip;q=0.2", "gzip"),
    ("gzip;nq=1;q=0 ", None),
    ("gzip;q=0, gzip;q=1, gzip;q=0", "gzip"),
    ("br,identity;q=0.5,gzip;q=0.0001", "gzip"),
]


@pytest.mark.parametrize("accept,expected", NEGOTIATION, ids=[a for a, _ in NEGOTIATION])
def test_accept_encoding_negotiation_matches_dynamodb(server, large_item, accept, expected):
    request, value = large_item
    status, headers, body = post(server.port, "GetItem", request, {"Accept-Encoding": accept})
    assert status == 200
    assert headers.get("content-encoding") == expected
    assert headers["x-amz-crc32"] == str(zlib.crc32(body))
    plain = {"gzip": gzip.decompress, "deflate": zlib.decompress, None: lambda b: b}[expected](body)
    assert json.loads(plain)["Item"]["v"] == {"S": value}


def test_boto3_with_accept_encoding_gzip_verifies_crc32_of_the_compressed_body(server, ddb, table):
    """botocore's legacy retry mode checks x-amz-crc32 over the raw (still compressed) body and
    raises ChecksumError on a mismatch; a before-parse hook then decompresses for the parser, as
    an application asking for gzip must (botocore does not decode responses itself)."""
    value = "x" * 8000
    ddb.put_item(TableName=table, Item={"pk": {"S": "boto"}, "v": {"S": value}})
    client = make_client(server.endpoint, retries={"total_max_attempts": 1, "mode": "legacy"})
    seen = []

    def accept_gzip(params, **_):
        params["headers"]["Accept-Encoding"] = "gzip"

    def decompress(response_dict, **_):
        encoding = response_dict["headers"].get("Content-Encoding")
        seen.append(encoding)
        if encoding == "gzip":
            response_dict["body"] = gzip.decompress(response_dict["body"])

    client.meta.events.register("before-call.dynamodb", accept_gzip)
    client.meta.events.register("before-parse.dynamodb", decompress)
    got = client.get_item(TableName=table, Key={"pk": {"S": "boto"}}, ConsistentRead=True)
    assert got["Item"]["v"] == {"S": value}
    assert seen == ["gzip"]
    client.list_tables()  # a small response: uncompressed, checksum still verified
    assert seen == ["gzip", None]
