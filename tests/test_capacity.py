"""ReturnConsumedCapacity (TOTAL / INDEXES / NONE) for GetItem, PutItem, UpdateItem, DeleteItem,
Query and Scan: 1 KB write units of the larger of old and new item, 4 KB read units (halved when
eventually consistent), and Query/Scan charged once on the sum of the bytes read (before any
filter). Item sizes here are DynamoDB's: name bytes plus value bytes."""

import math

import pytest

from conftest import create_table


def sized(pk: str, size: int, sk: int | None = None) -> dict:
    """An item of exactly `size` bytes: pk (2 + len) [+ sk (2 + 2)] + "d" (1 + padding)."""
    item = {"pk": {"S": pk}}
    used = 2 + len(pk) + 1
    if sk is not None:
        item["sk"] = {"N": str(sk)}  # one digit: 2 + 2 bytes
        used += 4
    item["d"] = {"S": "x" * (size - used)}
    return item


def expected(table, units, mode):
    if mode == "TOTAL":
        return {"TableName": table, "CapacityUnits": units}
    return {"TableName": table, "CapacityUnits": units, "Table": {"CapacityUnits": units}}


MODES = ["TOTAL", "INDEXES"]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("size,units", [(5, 1.0), (1024, 1.0), (1025, 2.0), (4096, 4.0), (10_000, 10.0), (400 * 1024, 400.0)])
def test_put_item_write_units(ddb, table, mode, size, units):
    response = ddb.put_item(TableName=table, Item=sized("w", size), ReturnConsumedCapacity=mode)
    assert response["ConsumedCapacity"] == expected(table, units, mode)


def test_put_item_charges_the_larger_of_old_and_new(ddb, table):
    ddb.put_item(TableName=table, Item=sized("w", 3000))
    response = ddb.put_item(TableName=table, Item=sized("w", 100), ReturnConsumedCapacity="TOTAL")
    assert response["ConsumedCapacity"]["CapacityUnits"] == 3.0


@pytest.mark.parametrize("extra", [dict(ReturnValues="ALL_OLD"), dict(ConditionExpression="attribute_exists(pk)")],
                         ids=["all-old", "condition"])
def test_put_item_that_reads_the_old_item_charges_the_larger(ddb, table, extra):
    ddb.put_item(TableName=table, Item=sized("w", 3000))
    response = ddb.put_item(TableName=table, Item=sized("w", 100), ReturnConsumedCapacity="TOTAL", **extra)
    assert response["ConsumedCapacity"]["CapacityUnits"] == 3.0
    response = ddb.put_item(TableName=table, Item=sized("w", 100), ReturnConsumedCapacity="TOTAL", **extra)
    assert response["ConsumedCapacity"]["CapacityUnits"] == 1.0


def test_batch_write_item_units_of_new_items(ddb, table):
    response = ddb.batch_write_item(RequestItems={table: [{"PutRequest": {"Item": sized(f"b{i}", 1000 * i + 5)}} for i in range(1, 4)]},
                                    ReturnConsumedCapacity="TOTAL")
    assert response["ConsumedCapacity"] == [{"TableName": table, "CapacityUnits": 1.0 + 2.0 + 3.0}]


def test_batch_write_item_charges_old_items_like_put_and_delete(ddb, table):
    ddb.put_item(TableName=table, Item=sized("old-put", 3000))
    ddb.put_item(TableName=table, Item=sized("old-del", 5000))
    response = ddb.batch_write_item(RequestItems={table: [
        {"PutRequest": {"Item": sized("old-put", 100)}},     # replaces 3,000 bytes: 3 units
        {"DeleteRequest": {"Key": {"pk": {"S": "old-del"}}}},  # deletes 5,000 bytes: 5 units
    ]}, ReturnConsumedCapacity="TOTAL")
    assert response["ConsumedCapacity"] == [{"TableName": table, "CapacityUnits": 8.0}]


@pytest.mark.parametrize("size,consistent_units", [(5, 1.0), (4096, 1.0), (4097, 2.0), (8192, 2.0), (8193, 3.0), (400 * 1024, 100.0)])
@pytest.mark.parametrize("mode", MODES)
def test_get_item_read_units(ddb, table, size, consistent_units, mode):
    ddb.put_item(TableName=table, Item=sized("r", size))
    for consistent, units in ((True, consistent_units), (False, consistent_units / 2)):
        response = ddb.get_item(TableName=table, Key={"pk": {"S": "r"}}, ConsistentRead=consistent, ReturnConsumedCapacity=mode)
        assert response["ConsumedCapacity"] == expected(table, units, mode)


def test_get_item_projection_charges_the_whole_item(ddb, table):
    ddb.put_item(TableName=table, Item=sized("r", 9000))
    response = ddb.get_item(TableName=table, Key={"pk": {"S": "r"}}, ProjectionExpression="pk", ConsistentRead=True,
                            ReturnConsumedCapacity="TOTAL")
    assert response["Item"] == {"pk": {"S": "r"}}
    assert response["ConsumedCapacity"]["CapacityUnits"] == 3.0


def test_missing_item_costs_the_minimum(ddb, table):
    key = {"pk": {"S": "absent"}}
    assert ddb.get_item(TableName=table, Key=key, ConsistentRead=True, ReturnConsumedCapacity="TOTAL")["ConsumedCapacity"]["CapacityUnits"] == 1.0
    assert ddb.get_item(TableName=table, Key=key, ReturnConsumedCapacity="TOTAL")["ConsumedCapacity"]["CapacityUnits"] == 0.5
    assert ddb.delete_item(TableName=table, Key=key, ReturnConsumedCapacity="TOTAL")["ConsumedCapacity"]["CapacityUnits"] == 1.0


def test_update_and_delete_write_units(ddb, table):
    key = {"pk": {"S": "u"}}
    ddb.put_item(TableName=table, Item=sized("u", 1500))
    response = ddb.update_item(TableName=table, Key=key, UpdateExpression="SET e = :e", ExpressionAttributeValues={":e": {"S": "y" * 1999}},
                               ReturnConsumedCapacity="INDEXES")  # 1500 → 3500 bytes
    assert response["ConsumedCapacity"] == expected(table, 4.0, "INDEXES")
    response = ddb.update_item(TableName=table, Key=key, UpdateExpression="REMOVE e, d", ReturnConsumedCapacity="TOTAL")  # 3500 → 3
    assert response["ConsumedCapacity"] == expected(table, 4.0, "TOTAL")
    ddb.put_item(TableName=table, Item=sized("u", 2100))
    response = ddb.delete_item(TableName=table, Key=key, ReturnConsumedCapacity="TOTAL")
    assert response["ConsumedCapacity"] == expected(table, 3.0, "TOTAL")


def test_no_consumed_capacity_unless_asked(ddb, table):
    key = {"pk": {"S": "quiet"}}
    for response in (
        ddb.put_item(TableName=table, Item={**key}, ReturnConsumedCapacity="NONE"),
        ddb.get_item(TableName=table, Key=key),
        ddb.update_item(TableName=table, Key=key, UpdateExpression="SET a = :a", ExpressionAttributeValues={":a": {"N": "1"}}),
        ddb.query(TableName=table, KeyConditionExpression="pk = :p", ExpressionAttributeValues={":p": key["pk"]}, ReturnConsumedCapacity="NONE"),
        ddb.scan(TableName=table),
        ddb.delete_item(TableName=table, Key=key),
    ):
        assert "ConsumedCapacity" not in response


@pytest.fixture(scope="module")
def qtable(ddb):
    """Partition "q": sk 1..9, 1,500 bytes each (13,500 bytes); partition "r": one 100-byte item."""
    name = create_table(ddb, range_key=("sk", "N"))
    for sk in range(1, 10):
        item = sized("q", 1500, sk)
        item["odd"] = {"BOOL": sk % 2 == 1}
        item["d"] = {"S": item["d"]["S"][:-4]}  # make room for "odd" (3 + 1 bytes): still 1,500 bytes
        ddb.put_item(TableName=name, Item=item)
    ddb.put_item(TableName=name, Item=sized("r", 100, 1))
    return name


def query_units(ddb, table, pk="q", **params):
    response = ddb.query(TableName=table, KeyConditionExpression="pk = :p",
                         ExpressionAttributeValues={":p": {"S": pk}, **params.pop("values", {})}, **params)
    return response, response["ConsumedCapacity"]


@pytest.mark.parametrize("mode", MODES)
def test_query_is_charged_once_on_the_sum(ddb, qtable, mode):
    total = 9 * 1500  # 13,500 bytes: 4 units (not 9, one per item)
    response, capacity = query_units(ddb, qtable, ConsistentRead=True, ReturnConsumedCapacity=mode)
    assert response["Count"] == 9
    assert capacity == expected(qtable, float(math.ceil(total / 4096)), mode)
    _, capacity = query_units(ddb, qtable, ReturnConsumedCapacity=mode)
    assert capacity == expected(qtable, math.ceil(total / 4096) / 2, mode)


def test_query_charges_what_was_read_not_returned(ddb, qtable):
    response, capacity = query_units(ddb, qtable, ConsistentRead=True, ReturnConsumedCapacity="TOTAL",
                                     FilterExpression="odd = :f", values={":f": {"BOOL": False}})
    assert response["Count"] == 4 and response["ScannedCount"] == 9
    assert capacity["CapacityUnits"] == 4.0  # 9 items read
    response, capacity = query_units(ddb, qtable, ConsistentRead=True, ReturnConsumedCapacity="TOTAL", Select="COUNT")
    assert capacity["CapacityUnits"] == 4.0
    response, capacity = query_units(ddb, qtable, ConsistentRead=True, ReturnConsumedCapacity="TOTAL", ProjectionExpression="sk")
    assert capacity["CapacityUnits"] == 4.0
    response, capacity = query_units(ddb, qtable, ConsistentRead=True, ReturnConsumedCapacity="TOTAL", Limit=3)  # 4,500 bytes
    assert capacity["CapacityUnits"] == 2.0
    _, capacity = query_units(ddb, qtable, pk="r", ConsistentRead=True, ReturnConsumedCapacity="TOTAL")
    assert capacity["CapacityUnits"] == 1.0


@pytest.mark.parametrize("mode", MODES)
def test_scan_is_charged_once_on_the_sum(ddb, qtable, mode):
    total = 9 * 1500 + 100
    response = ddb.scan(TableName=qtable, ConsistentRead=True, ReturnConsumedCapacity=mode,
                        FilterExpression="odd = :t", ExpressionAttributeValues={":t": {"BOOL": True}})
    assert response["ScannedCount"] == 10 and response["Count"] == 5
    assert response["ConsumedCapacity"] == expected(qtable, float(math.ceil(total / 4096)), mode)
    response = ddb.scan(TableName=qtable, ReturnConsumedCapacity=mode, Select="COUNT")
    assert response["ConsumedCapacity"] == expected(qtable, math.ceil(total / 4096) / 2, mode)
