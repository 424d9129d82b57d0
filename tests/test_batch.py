"""BatchGetItem and BatchWriteItem through boto3."""

import pytest
from botocore.exceptions import ClientError

from conftest import assert_client_error, create_table


def put(item):
    return {"PutRequest": {"Item": item}}


def delete(key):
    return {"DeleteRequest": {"Key": key}}


def get_all(ddb, table, keys):
    """Consistent-read GetItem of every key: {pk: item or None}."""
    out = {}
    for key in keys:
        out[key["pk"]["S"]] = ddb.get_item(TableName=table, Key=key, ConsistentRead=True).get("Item")
    return out


def test_batch_write_puts_and_deletes_across_tables(ddb):
    t1 = create_table(ddb)
    t2 = create_table(ddb, range_key=("sk", "S"))
    ddb.put_item(TableName=t1, Item={"pk": {"S": "doomed"}})
    response = ddb.batch_write_item(RequestItems={
        t1: [put({"pk": {"S": "a"}, "v": {"S": "1"}}), put({"pk": {"S": "b"}, "v": {"BOOL": True}}),
             delete({"pk": {"S": "doomed"}})],
        t2: [put({"pk": {"S": "a"}, "sk": {"S": "x"}, "l": {"L": [{"S": "q"}]}}),
             delete({"pk": {"S": "never-existed"}, "sk": {"S": "y"}})],
    })
    assert response["UnprocessedItems"] == {}
    assert ddb.get_item(TableName=t1, Key={"pk": {"S": "a"}})["Item"] == {"pk": {"S": "a"}, "v": {"S": "1"}}
    assert ddb.get_item(TableName=t1, Key={"pk": {"S": "b"}})["Item"]["v"] == {"BOOL": True}
    assert "Item" not in ddb.get_item(TableName=t1, Key={"pk": {"S": "doomed"}}, ConsistentRead=True)
    assert ddb.get_item(TableName=t2, Key={"pk": {"S": "a"}, "sk": {"S": "x"}})["Item"]["l"] == {"L": [{"S": "q"}]}


def test_batch_write_25_items_and_consumed_capacity(ddb, table):
    items = [{"pk": {"S": f"k{i:02d}"}, "v": {"S": "x" * 1500}} for i in range(25)]
    response = ddb.batch_write_item(RequestItems={table: [put(i) for i in items]}, ReturnConsumedCapacity="TOTAL")
    assert response["UnprocessedItems"] == {}
    # each item is 4 + 1 + 1500 bytes: two write units
    assert response["ConsumedCapacity"] == [{"TableName": table, "CapacityUnits": 50.0}]
    stored = get_all(ddb, table, [{"pk": i["pk"]} for i in items])
    assert stored == {i["pk"]["S"]: i for i in items}


def test_batch_write_more_than_25_rejected(ddb, ddb_nv):
    t1, t2 = create_table(ddb), create_table(ddb)
    items = [put({"pk": {"S": f"k{i}"}}) for i in range(26)]
    with pytest.raises(ClientError) as excinfo:
        ddb_nv.batch_write_item(RequestItems={t1: items})
    assert_client_error(excinfo, "ValidationException", "Too many items requested for the BatchWriteItem call")
    # 13 + 13 over two tables is also 26
    with pytest.raises(ClientError) as excinfo:
        ddb_nv.batch_write_item(RequestItems={t1: items[:13], t2: items[13:]})
    assert_client_error(excinfo, "ValidationException", "Too many items requested for the BatchWriteItem call")
    for name in (t1, t2):
        assert ddb.describe_table(TableName=name)["Table"]["ItemCount"] == 0
        assert "Item" not in ddb.get_item(TableName=name, Key={"pk": {"S": "k0"}}, ConsistentRead=True)


@pytest.mark.parametrize("requests", [
    [put({"pk": {"S": "dup"}, "v": {"S": "1"}}), put({"pk": {"S": "dup"}, "v": {"S": "2"}})],
    [put({"pk": {"S": "dup"}}), delete({"pk": {"S": "dup"}})],
    [delete({"pk": {"S": "dup"}}), delete({"pk": {"S": "dup"}})],
], ids=["put-put", "put-delete", "delete-delete"])
def test_batch_write_duplicate_keys_rejected(ddb, table, requests):
    ddb.put_item(TableName=table, Item={"pk": {"S": "dup"}, "v": {"S": "original"}})
    with pytest.raises(ClientError) as excinfo:
        ddb.batch_write_item(RequestItems={table: [put({"pk": {"S": "other"}})] + requests})
    assert_client_error(excinfo, "ValidationException", "Provided list of item keys contains duplicates")
    assert ddb.get_item(TableName=table, Key={"pk": {"S": "dup"}}, ConsistentRead=True)["Item"]["v"] == {"S": "original"}
    assert "Item" not in ddb.get_item(TableName=table, Key={"pk": {"S": "other"}}, ConsistentRead=True)


def test_batch_write_duplicate_numeric_keys_rejected(ddb):
    name = create_table(ddb, hash_key=("pk", "N"))
    with pytest.raises(ClientError) as excinfo:
        ddb.batch_write_item(RequestItems={name: [put({"pk": {"N": "1"}, "v": {"S": "a"}}),
                                                  put({"pk": {"N": "1.00"}, "v": {"S": "b"}})]})
    assert_client_error(excinfo, "ValidationException", "Provided list of item keys contains duplicates")
    assert "Item" not in ddb.get_item(TableName=name, Key={"pk": {"N": "1"}}, ConsistentRead=True)


def test_batch_write_same_key_in_two_tables_is_fine(ddb):
    t1, t2 = create_table(ddb), create_table(ddb)
    ddb.batch_write_item(RequestItems={t1: [put({"pk": {"S": "same"}, "t": {"S": "1"}})],
                                       t2: [put({"pk": {"S": "same"}, "t": {"S": "2"}})]})
    assert ddb.get_item(TableName=t1, Key={"pk": {"S": "same"}})["Item"]["t"] == {"S": "1"}
    assert ddb.get_item(TableName=t2, Key={"pk": {"S": "same"}})["Item"]["t"] == {"S": "2"}


@pytest.mark.parametrize("bad,code,phrase", [
    ({"PutRequest": {"Item": {"pk": {"S": "x"}}}, "DeleteRequest": {"Key": {"pk": {"S": "x"}}}},
     "ValidationException", "Supplied WriteRequest must contain exactly one of PutRequest or DeleteRequest"),
    ({}, "ValidationException", "Supplied WriteRequest must contain exactly one of PutRequest or DeleteRequest"),
    (put({"nokey": {"S": "x"}}), "ValidationException", "Missing the key pk in the item"),
    (put({"pk": {"N": "1"}}), "ValidationException", "Type mismatch for key pk expected: S actual: N"),
    (put({"pk": {"S": ""}}), "ValidationException", "cannot contain an empty string value"),
    (put({"pk": {"S": "big"}, "d": {"S": "x" * 409600}}), "ValidationException", "Item size has exceeded the maximum allowed size"),
    (put({"pk": {"S": "x"}, "s": {"SS": []}}), "ValidationException", "An AttributeValue may not contain an empty set"),
    (put({"pk": {"S": "x"}, "n": {"N": "1e126"}}), "ValidationException", "Number overflow"),
    (delete({"pk": {"S": "x"}, "extra": {"S": "y"}}), "ValidationException", "The provided key element does not match the schema"),
    (delete({"pk": {"N": "1"}}), "ValidationException", "The provided key element does not match the schema"),
], ids=["both", "neither", "missing-key", "key-type", "empty-key", "too-big", "empty-set", "overflow",
        "delete-extra-attr", "delete-key-type"])
def test_batch_write_invalid_request_writes_nothing(ddb_nv, ddb, table, bad, code, phrase):
    ddb.put_item(TableName=table, Item={"pk": {"S": "victim"}, "v": {"S": "keep"}})
    requests = [put({"pk": {"S": "good1"}}), delete({"pk": {"S": "victim"}}), bad, put({"pk": {"S": "good2"}})]
    with pytest.raises(ClientError) as excinfo:
        ddb_nv.batch_write_item(RequestItems={table: requests})
    assert_client_error(excinfo, code, phrase)
    stored = get_all(ddb, table, [{"pk": {"S": k}} for k in ("good1", "good2", "victim", "x", "big")])
    assert stored == {"good1": None, "good2": None, "big": None, "x": None,
                      "victim": {"pk": {"S": "victim"}, "v": {"S": "keep"}}}


def test_batch_write_missing_table_writes_nothing(ddb, table):
    with pytest.raises(ClientError) as excinfo:
        ddb.batch_write_item(RequestItems={table: [put({"pk": {"S": "a"}})],
                                           "no-such-table-xyz": [put({"pk": {"S": "a"}})]})
    assert_client_error(excinfo, "ResourceNotFoundException")
    assert "Item" not in ddb.get_item(TableName=table, Key={"pk": {"S": "a"}}, ConsistentRead=True)


def test_batch_write_empty_requests(ddb_nv, table):
    with pytest.raises(ClientError) as excinfo:
        ddb_nv.batch_write_item(RequestItems={})
    assert_client_error(excinfo, "ValidationException", "Member must have length greater than or equal to 1")
    with pytest.raises(ClientError) as excinfo:
        ddb_nv.batch_write_item(RequestItems={table: []})
    assert_client_error(excinfo, "ValidationException", "Member must have length greater than or equal to 1")


def test_batch_write_accepts_return_item_collection_metrics(ddb, table):
    response = ddb.batch_write_item(RequestItems={table: [put({"pk": {"S": "rim"}})]}, ReturnItemCollectionMetrics="SIZE")
    assert response["UnprocessedItems"] == {}
    assert "Item" in ddb.get_item(TableName=table, Key={"pk": {"S": "rim"}})


# -- BatchGetItem ---------------------------------------------------------------------------


def test_batch_get_across_tables_with_projection(ddb):
    t1 = create_table(ddb)
    t2 = create_table(ddb, range_key=("sk", "N"))
    for i in range(5):
        ddb.put_item(TableName=t1, Item={"pk": {"S": f"a{i}"}, "v": {"S": str(i)}, "m": {"M": {"x": {"S": "X"}, "y": {"S": "Y"}}}})
        ddb.put_item(TableName=t2, Item={"pk": {"S": "p"}, "sk": {"N": str(i)}, "w": {"S": f"w{i}"}})
    response = ddb.batch_get_item(RequestItems={
        t1: {"Keys": [{"pk": {"S": f"a{i}"}} for i in (0, 2, 4)] + [{"pk": {"S": "missing"}}],
             "ProjectionExpression": "pk, m.y", "ConsistentRead": True},
        t2: {"Keys": [{"pk": {"S": "p"}, "sk": {"N": str(i)}} for i in (1, 3)], "AttributesToGet": ["w"]},
    }, ReturnConsumedCapacity="TOTAL")
    assert response["UnprocessedKeys"] == {}
    got1 = sorted(response["Responses"][t1], key=lambda i: i["pk"]["S"])
    assert got1 == [{"pk": {"S": f"a{i}"}, "m": {"M": {"y": {"S": "Y"}}}} for i in (0, 2, 4)]
    assert sorted(response["Responses"][t2], key=lambda i: i["w"]["S"]) == [{"w": {"S": "w1"}}, {"w": {"S": "w3"}}]
    capacity = {c["TableName"]: c["CapacityUnits"] for c in response["ConsumedCapacity"]}
    assert capacity == {t1: 4.0, t2: 1.0}  # strongly consistent: 1 per key; eventually: 0.5


def test_batch_get_100_keys_ok_101_rejected(ddb, ddb_nv):
    t1, t2 = create_table(ddb), create_table(ddb)
    for start in range(0, 100, 25):
        ddb.batch_write_item(RequestItems={t1: [put({"pk": {"S": f"k{i}"}}) for i in range(start, start + 25)]})
    keys = [{"pk": {"S": f"k{i}"}} for i in range(100)]
    response = ddb.batch_get_item(RequestItems={t1: {"Keys": keys}})
    assert len(response["Responses"][t1]) == 100
    assert response["UnprocessedKeys"] == {}
    with pytest.raises(ClientError) as excinfo:
        ddb_nv.batch_get_item(RequestItems={t1: {"Keys": keys + [{"pk": {"S": "k100"}}]}})
    assert_client_error(excinfo, "ValidationException", "Member must have length less than or equal to 100")
    with pytest.raises(ClientError) as excinfo:
        ddb_nv.batch_get_item(RequestItems={t1: {"Keys": keys[:60]}, t2: {"Keys": keys[:41]}})
    assert_client_error(excinfo, "ValidationException", "Too many items requested for the BatchGetItem call")


def test_batch_get_errors(ddb, ddb_nv, table):
    with pytest.raises(ClientError) as excinfo:
        ddb.batch_get_item(RequestItems={table: {"Keys": [{"pk": {"S": "a"}}, {"pk": {"S": "a"}}]}})
    assert_client_error(excinfo, "ValidationException", "Provided list of item keys contains duplicates")
    with pytest.raises(ClientError) as excinfo:
        ddb.batch_get_item(RequestItems={table: {"Keys": [{"pk": {"S": "a"}, "x": {"S": "b"}}]}})
    assert_client_error(excinfo, "ValidationException", "The provided key element does not match the schema")
    with pytest.raises(ClientError) as excinfo:
        ddb.batch_get_item(RequestItems={"no-such-table-xyz": {"Keys": [{"pk": {"S": "a"}}]}})
    assert_client_error(excinfo, "ResourceNotFoundException")
    with pytest.raises(ClientError) as excinfo:
        ddb_nv.batch_get_item(RequestItems={table: {"Keys": []}})
    assert_client_error(excinfo, "ValidationException", "Member must have length greater than or equal to 1")
    with pytest.raises(ClientError) as excinfo:
        ddb_nv.batch_get_item(RequestItems={})
    assert_client_error(excinfo, "ValidationException", "Member must have length greater than or equal to 1")
    with pytest.raises(ClientError) as excinfo:
        ddb.batch_get_item(RequestItems={table: {"Keys": [{"pk": {"S": "a"}}], "ProjectionExpression": "pk",
                                                 "AttributesToGet": ["pk"]}})
    assert_client_error(excinfo, "ValidationException", "Can not use both expression and non-expression parameters")


def test_batch_get_unprocessed_keys_past_16mb(ddb, table):
    """100 items of ~400 KB are ~40 MB: the node answers at most 16 MB and returns the rest
    as UnprocessedKeys, which a client loop then fetches."""
    filler = "y" * 409_000
    keys = [{"pk": {"S": f"u{i:03d}"}} for i in range(100)]
    for start in range(0, 100, 25):
        ddb.batch_write_item(RequestItems={table: [put({**k, "d": {"S": filler}}) for k in keys[start:start + 25]]})

    request = {table: {"Keys": keys, "ConsistentRead": True}}
    first = ddb.batch_get_item(RequestItems=request)
    returned = first["Responses"][table]
    unprocessed = first["UnprocessedKeys"]
    assert 0 < len(returned) < 100
    assert sum(len(i["d"]["S"]) for i in returned) <= 17 * 1024 * 1024
    assert unprocessed[table]["ConsistentRead"] is True
    assert len(returned) + len(unprocessed[table]["Keys"]) == 100

    seen = {i["pk"]["S"] for i in returned}
    rounds = 0
    while unprocessed:
        rounds += 1
        assert rounds < 10
        response = ddb.batch_get_item(RequestItems=unprocessed)
        for item in response["Responses"].get(table, []):
            assert item["d"]["S"] == filler
            seen.add(item["pk"]["S"])
        unprocessed = response["UnprocessedKeys"]
    assert seen == {k["pk"]["S"] for k in keys}
