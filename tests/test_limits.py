"""Every limit and validation error of item writes and reads: the exact error code, HTTP 400,
the key phrase of the message, and afterwards nothing was written."""


import pytest
from botocore.exceptions import ClientError

from conftest import assert_client_error, b64, create_table, number_size

MAX_ITEM = 400 * 1024


def value_size(value: dict) -> int:
    """DynamoDB's documented item-size accounting ("Item sizes and formats")."""
    (kind, payload), = value.items()
    if kind == "S":
        return len(payload.encode())
    if kind == "N":
        return number_size(payload)
    if kind == "B":
        return len(payload)
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "SS":
        return sum(len(s.encode()) for s in payload)
    if kind == "NS":
        return sum(number_size(n) for n in payload)
    if kind == "BS":
        return sum(len(b) for b in payload)
    if kind == "M":
        return 3 + sum(1 + len(k.encode()) + value_size(v) for k, v in payload.items())
    if kind == "L":
        return 3 + sum(1 + value_size(v) for v in payload)
    raise AssertionError(kind)


def item_size(item: dict) -> int:
    return sum(len(k.encode()) + value_size(v) for k, v in item.items())


def absent(ddb, table, key) -> bool:
    return "Item" not in ddb.get_item(TableName=table, Key=key, ConsistentRead=True)


def expect_error(call, code="ValidationException", phrase=None):
    with pytest.raises(ClientError) as excinfo:
        call()
    assert_client_error(excinfo, code, phrase)


# -- item size --------------------------------------------------------------------------------


def mixed_item(total: int) -> dict:
    """An item of every type whose DynamoDB size is exactly `total` bytes (the filler is last)."""
    item = {
        "pk": {"S": "size-\u00e9"},
        "b": {"B": b"\x00\x01\x02"},
        "bs": {"BS": [b"\x01", b"\x02\x03"]},
        "f": {"BOOL": False},
        "l": {"L": [{"NULL": True}, {"S": "ab"}, {"N": "-1.5"}]},
        "m": {"M": {"x": {"BOOL": True}, "\u00fc": {"M": {}}}},
        "n": {"N": "12345.678"},
        "ns": {"NS": ["1", "22", "333"]},
        "nul": {"NULL": True},
        "ss": {"SS": ["ab", "\u4e2d"]},
        "zz": {"S": ""},
    }
    item["zz"]["S"] = "z" * (total - item_size(item))
    assert item_size(item) == total
    return item


def test_item_of_exactly_400kb_is_accepted(ddb, table):
    item = mixed_item(MAX_ITEM)
    ddb.put_item(TableName=table, Item=item)
    got = ddb.get_item(TableName=table, Key={"pk": item["pk"]}, ConsistentRead=True)["Item"]
    assert got["zz"] == item["zz"] and got["m"] == item["m"] and got["l"] == item["l"]
    assert ddb.describe_table(TableName=table)["Table"]["TableSizeBytes"] == MAX_ITEM


def test_item_of_400kb_plus_one_byte_is_rejected(ddb, table):
    item = mixed_item(MAX_ITEM + 1)
    expect_error(lambda: ddb.put_item(TableName=table, Item=item), phrase="Item size has exceeded the maximum allowed size")
    expect_error(lambda: ddb.batch_write_item(RequestItems={table: [{"PutRequest": {"Item": item}}]}),
                 phrase="Item size has exceeded the maximum allowed size")
    assert absent(ddb, table, {"pk": item["pk"]})


def test_attribute_names_count_towards_item_size(ddb, table):
    # 7 attributes with 60 KB names (each under the 64 KB name limit) and 1-byte values: over 400 KB.
    item = {"pk": {"S": "names"}}
    for c in "abcdefg":
        item[c * 61_440] = {"S": "v"}
    assert item_size(item) > MAX_ITEM
    expect_error(lambda: ddb.put_item(TableName=table, Item=item), phrase="Item size has exceeded the maximum allowed size")
    assert absent(ddb, table, {"pk": {"S": "names"}})


def test_binary_counts_raw_bytes_not_base64(ddb, table):
    # 400 KB - 8 bytes of binary would be 546 KB as base64: accepted because raw bytes count.
    item = {"pk": {"S": "bin"}, "blob": {"B": b"\xab" * (MAX_ITEM - 14)}, "zz": {"S": "end"}}
    assert item_size(item) == MAX_ITEM
    ddb.put_item(TableName=table, Item=item)
    assert ddb.get_item(TableName=table, Key={"pk": {"S": "bin"}})["Item"]["blob"]["B"] == item["blob"]["B"]


# -- key sizes ---------------------------------------------------------------------------------


@pytest.mark.parametrize("kind,ok,too_big", [
    ("S", "k" * 2048, "k" * 2049),
    ("S", "\u00e9" * 1024, "\u00e9" * 1024 + "a"),  # bytes, not characters
    ("B", b"\x01" * 2048, b"\x01" * 2049),
], ids=["S-ascii", "S-utf8", "B"])
def test_partition_key_size_limit(ddb, kind, ok, too_big):
    name = create_table(ddb, hash_key=("pk", kind))
    ddb.put_item(TableName=name, Item={"pk": {kind: ok}, "v": {"S": "ok"}})
    assert ddb.get_item(TableName=name, Key={"pk": {kind: ok}})["Item"]["v"] == {"S": "ok"}
    phrase = "Size of hashkey has exceeded the maximum size limit of2048 bytes"
    expect_error(lambda: ddb.put_item(TableName=name, Item={"pk": {kind: too_big}}), phrase=phrase)
    expect_error(lambda: ddb.get_item(TableName=name, Key={"pk": {kind: too_big}}), phrase=phrase)
    expect_error(lambda: ddb.delete_item(TableName=name, Key={"pk": {kind: too_big}}), phrase=phrase)
    expect_error(lambda: ddb.batch_write_item(RequestItems={name: [{"PutRequest": {"Item": {"pk": {kind: too_big}}}}]}),
                 phrase=phrase)
    assert ddb.describe_table(TableName=name)["Table"]["ItemCount"] == 1


@pytest.mark.parametrize("kind,ok,too_big", [
    ("S", "s" * 1024, "s" * 1025),
    ("S", "\u4e2d" * 341 + "a", "\u4e2d" * 341 + "ab"),  # 1024 and 1025 UTF-8 bytes
    ("B", b"\x00" * 1024, b"\x00" * 1025),
], ids=["S-ascii", "S-utf8", "B"])
def test_sort_key_size_limit(ddb, kind, ok, too_big):
    name = create_table(ddb, range_key=("sk", kind))
    ddb.put_item(TableName=name, Item={"pk": {"S": "p"}, "sk": {kind: ok}, "v": {"S": "ok"}})
    assert ddb.get_item(TableName=name, Key={"pk": {"S": "p"}, "sk": {kind: ok}})["Item"]["v"] == {"S": "ok"}
    phrase = "Aggregated size of all range keys has exceeded the size limit of 1024 bytes"
    expect_error(lambda: ddb.put_item(TableName=name, Item={"pk": {"S": "p"}, "sk": {kind: too_big}}), phrase=phrase)
    expect_error(lambda: ddb.get_item(TableName=name, Key={"pk": {"S": "p"}, "sk": {kind: too_big}}), phrase=phrase)
    assert ddb.describe_table(TableName=name)["Table"]["ItemCount"] == 1


# -- nesting -------------------------------------------------------------------------------------


def nested(depth: int, kinds: str = "M") -> dict:
    """A value with `depth` levels of maps/lists (cycling through `kinds`) around a string."""
    value = {"S": "bottom"}
    for level in range(depth):
        kind = kinds[level % len(kinds)]
        value = {"M": {"d": value}} if kind == "M" else {"L": [value]}
    return value


# Regression: the JSON parser's depth bound (64) once rejected documents of 31-32 levels,
# which need two JSON levels per M/L level plus the request's own.


@pytest.mark.parametrize("kinds", ["M", "L", "ML"])
def test_nesting_32_levels_accepted(ddb, table, kinds):
    ok = {"pk": {"S": "deep-" + kinds}, "doc": nested(32, kinds)}
    ddb.put_item(TableName=table, Item=ok)
    assert ddb.get_item(TableName=table, Key={"pk": ok["pk"]}, ConsistentRead=True)["Item"] == ok
    ok2 = {"pk": {"S": "deep-batch-" + kinds}, "doc": nested(32, kinds)}
    ddb.batch_write_item(RequestItems={table: [{"PutRequest": {"Item": ok2}}]})
    assert ddb.get_item(TableName=table, Key={"pk": ok2["pk"]}, ConsistentRead=True)["Item"] == ok2


@pytest.mark.parametrize("kinds", ["M", "L", "ML"])
def test_nesting_33_levels_rejected(ddb, table, kinds):
    too_deep = {"pk": {"S": "deeper-" + kinds}, "doc": nested(33, kinds)}
    expect_error(lambda: ddb.put_item(TableName=table, Item=too_deep), phrase="Nesting Levels have exceeded supported limits")
    expect_error(lambda: ddb.batch_write_item(RequestItems={table: [{"PutRequest": {"Item": too_deep}}]}),
                 phrase="Nesting Levels have exceeded supported limits")
    assert absent(ddb, table, {"pk": too_deep["pk"]})


def test_nesting_far_too_deep_rejected(server, ddb, table):
    """Whatever rejects it, a 300-level document is refused with a 400 (not a crash) and not stored."""
    item = {"pk": {"S": "abyss"}, "doc": nested(300, "ML")}
    response = server.raw("PutItem", {"TableName": table, "Item": item})
    assert response.status == 400
    assert response.error_code in ("ValidationException", "SerializationException")
    assert server.raw("ListTables", {}).status == 200  # still serving
    assert absent(ddb, table, {"pk": item["pk"]})


# -- key attributes --------------------------------------------------------------------------------


@pytest.mark.parametrize("item,phrase", [
    ({"sk": {"N": "1"}, "v": {"S": "x"}}, "Missing the key pk in the item"),
    ({"pk": {"S": "a"}, "v": {"S": "x"}}, "Missing the key sk in the item"),
    ({"pk": {"N": "1"}, "sk": {"N": "1"}}, "Type mismatch for key pk expected: S actual: N"),
    ({"pk": {"S": "a"}, "sk": {"S": "1"}}, "Type mismatch for key sk expected: N actual: S"),
    ({"pk": {"SS": ["a"]}, "sk": {"N": "1"}}, "Type mismatch for key pk expected: S actual: SS"),
    ({"pk": {"NULL": True}, "sk": {"N": "1"}}, "Type mismatch for key pk expected: S actual: NULL"),
    ({"pk": {"S": ""}, "sk": {"N": "1"}}, "The AttributeValue for a key attribute cannot contain an empty string value. Key: pk"),
    ({"pk": {"S": "a"}, "sk": {"N": "1"}, "": {"S": "x"}}, "An attribute name cannot be empty"),
])
def test_put_key_attribute_errors(ddb, table_sk, item, phrase):
    expect_error(lambda: ddb.put_item(TableName=table_sk, Item=item), phrase=phrase)
    expect_error(lambda: ddb.batch_write_item(RequestItems={table_sk: [{"PutRequest": {"Item": item}}]}), phrase=phrase)
    assert ddb.describe_table(TableName=table_sk)["Table"]["ItemCount"] == 0


def test_empty_binary_key_rejected(ddb):
    name = create_table(ddb, hash_key=("pk", "B"), range_key=("sk", "B"))
    expect_error(lambda: ddb.put_item(TableName=name, Item={"pk": {"B": b""}, "sk": {"B": b"x"}}),
                 phrase="The AttributeValue for a key attribute cannot contain an empty binary value. Key: pk")
    expect_error(lambda: ddb.put_item(TableName=name, Item={"pk": {"B": b"x"}, "sk": {"B": b""}}),
                 phrase="The AttributeValue for a key attribute cannot contain an empty binary value. Key: sk")
    expect_error(lambda: ddb.get_item(TableName=name, Key={"pk": {"B": b""}, "sk": {"B": b"x"}}),
                 phrase="cannot contain an empty binary value")
    assert ddb.describe_table(TableName=name)["Table"]["ItemCount"] == 0


@pytest.mark.parametrize("key,phrase", [
    ({"pk": {"S": "a"}}, "The provided key element does not match the schema"),
    ({"pk": {"S": "a"}, "sk": {"N": "1"}, "x": {"S": "extra"}}, "The provided key element does not match the schema"),
    ({"pk": {"S": "a"}, "sk": {"S": "1"}}, "The provided key element does not match the schema"),
    ({"pk": {"S": ""}, "sk": {"N": "1"}}, "cannot contain an empty string value"),
])
def test_key_parameter_errors(ddb, table_sk, key, phrase):
    ddb.put_item(TableName=table_sk, Item={"pk": {"S": "a"}, "sk": {"N": "1"}, "v": {"S": "keep"}})
    expect_error(lambda: ddb.get_item(TableName=table_sk, Key=key), phrase=phrase)
    expect_error(lambda: ddb.delete_item(TableName=table_sk, Key=key), phrase=phrase)
    expect_error(lambda: ddb.batch_get_item(RequestItems={table_sk: {"Keys": [key]}}), phrase=phrase)
    assert ddb.get_item(TableName=table_sk, Key={"pk": {"S": "a"}, "sk": {"N": "1"}})["Item"]["v"] == {"S": "keep"}


# -- attribute values ------------------------------------------------------------------------------


@pytest.mark.parametrize("value,phrase", [
    ({"SS": []}, "An AttributeValue may not contain an empty set"),
    ({"NS": []}, "An AttributeValue may not contain an empty set"),
    ({"BS": []}, "An AttributeValue may not contain an empty set"),
    ({"SS": ["a", "b", "a"]}, "Input collection [a, b, a] contains duplicates"),
    ({"NS": ["1", "2", "1"]}, "Input collection contains duplicates"),
    ({"NS": ["100", "1e2"]}, "Input collection contains duplicates"),
    ({"BS": [b"\x00", b"\x01", b"\x00"]}, "Input collection contains duplicates of type BS"),
    ({"NULL": False}, "Null attribute value types must have the value of true"),
    ({"M": {"inner": {"SS": []}}}, "An AttributeValue may not contain an empty set"),
    ({"L": [{"NS": ["1", "1"]}]}, "Input collection contains duplicates"),
    ({}, "Supplied AttributeValue is empty, must contain exactly one of the supported datatypes"),
    ({"S": "a", "N": "1"}, "Supplied AttributeValue has more than one datatypes set"),
])
def test_invalid_attribute_values(ddb_nv, ddb, table, value, phrase):
    item = {"pk": {"S": "bad-value"}, "attr": value}
    expect_error(lambda: ddb_nv.put_item(TableName=table, Item=item), phrase=phrase)
    expect_error(lambda: ddb_nv.batch_write_item(RequestItems={table: [{"PutRequest": {"Item": item}}]}), phrase=phrase)
    assert absent(ddb, table, {"pk": {"S": "bad-value"}})


# Regression: strings and attribute names were once compared with Swift String equality
# (Unicode canonical equivalence); DynamoDB compares UTF-8 bytes.
def test_string_set_members_compare_as_bytes(ddb, table):
    item = {"pk": {"S": "nfc"}, "ss": {"SS": ["\u00e9", "e\u0301"]}}
    ddb.put_item(TableName=table, Item=item)
    assert sorted(ddb.get_item(TableName=table, Key={"pk": {"S": "nfc"}})["Item"]["ss"]["SS"]) == sorted(item["ss"]["SS"])


@pytest.mark.parametrize("where", ["top-level", "nested-map"])
def test_attribute_names_compare_as_bytes(ddb, table, where):
    names = {"\u00e9": {"S": "precomposed"}, "e\u0301": {"S": "decomposed"}}
    item = {"pk": {"S": "names-" + where}, **names} if where == "top-level" else {"pk": {"S": "names-" + where}, "m": {"M": names}}
    ddb.put_item(TableName=table, Item=item)
    assert ddb.get_item(TableName=table, Key={"pk": item["pk"]}, ConsistentRead=True)["Item"] == item


def test_distinct_unicode_keys_are_distinct_items(ddb, table):
    ddb.put_item(TableName=table, Item={"pk": {"S": "\u00e9"}, "v": {"S": "precomposed"}})
    ddb.put_item(TableName=table, Item={"pk": {"S": "e\u0301"}, "v": {"S": "decomposed"}})
    assert ddb.get_item(TableName=table, Key={"pk": {"S": "\u00e9"}})["Item"]["v"] == {"S": "precomposed"}
    assert ddb.get_item(TableName=table, Key={"pk": {"S": "e\u0301"}})["Item"]["v"] == {"S": "decomposed"}


# Wire-level errors boto3 cannot produce: sent as raw JSON.

@pytest.mark.parametrize("value,code,phrase", [
    ({"X": "1"}, "SerializationException", "Unknown AttributeValue data type: X"),
    ({"B": "not base64!"}, "SerializationException", "Base64 encoded length is expected a multiple of 4 bytes or contains invalid characters"),
    ({"S": 5}, "SerializationException", "NUMBER_VALUE cannot be converted to String"),
    ({"N": 5}, "SerializationException", "NUMBER_VALUE cannot be converted to String"),
    ({"BOOL": "true"}, "SerializationException", "STRING_VALUE cannot be converted to Boolean"),
    ({"SS": "a"}, "SerializationException", "Expected list or null"),
    ({"M": []}, "SerializationException", "Start of list found where not expected"),
    ("plain", "SerializationException", "Expected null"),
])
def test_malformed_attribute_values_on_the_wire(server, ddb, table, value, code, phrase):
    response = server.raw("PutItem", {"TableName": table, "Item": {"pk": {"S": "wire"}, "a": value}})
    assert response.status == 400
    assert response.error_code == code
    assert phrase in response.message
    assert absent(ddb, table, {"pk": {"S": "wire"}})


def test_binary_round_trips_base64_on_the_wire(server, table):
    blob = bytes(range(256)) * 3
    assert server.raw("PutItem", {"TableName": table, "Item": {"pk": {"S": "wire-b"}, "b": {"B": b64(blob)},
                                                               "bs": {"BS": [b64(b"\x00"), b64(b"\xff")]}}}).status == 200
    got = server.raw("GetItem", {"TableName": table, "Key": {"pk": {"S": "wire-b"}}}).json()["Item"]
    assert got["b"] == {"B": b64(blob)}
    assert sorted(got["bs"]["BS"]) == sorted([b64(b"\x00"), b64(b"\xff")])


def test_item_member_must_be_present(ddb_nv, table):
    expect_error(lambda: ddb_nv.put_item(TableName=table), phrase="Value null at 'item' failed to satisfy constraint: Member must not be null")
    expect_error(lambda: ddb_nv.get_item(TableName=table), phrase="Value null at 'key' failed to satisfy constraint: Member must not be null")
    expect_error(lambda: ddb_nv.put_item(Item={"pk": {"S": "x"}}), phrase="Value null at 'tableName' failed to satisfy constraint")
