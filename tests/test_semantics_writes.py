"""ReturnValues on every write and UpdateItem's ADD / DELETE on an item that does not exist yet,
checked together as a client sees them."""

import pytest
from botocore.exceptions import ClientError

from conftest import assert_client_error

ALL = ["NONE", "ALL_OLD", "UPDATED_OLD", "ALL_NEW", "UPDATED_NEW"]


@pytest.mark.parametrize("mode", ALL)
def test_return_values_on_every_write(ddb_nv, table, mode):
    key = {"pk": {"S": "rv"}}
    ddb_nv.put_item(TableName=table, Item={**key, "a": {"N": "1"}, "b": {"S": "x"}})
    writes = {
        "put": lambda: ddb_nv.put_item(TableName=table, Item={**key, "a": {"N": "2"}}, ReturnValues=mode),
        "update": lambda: ddb_nv.update_item(TableName=table, Key=key, UpdateExpression="SET a = :v",
                                             ExpressionAttributeValues={":v": {"N": "3"}}, ReturnValues=mode),
        "delete": lambda: ddb_nv.delete_item(TableName=table, Key=key, ReturnValues=mode),
    }
    expected = {
        ("put", "NONE"): None, ("put", "ALL_OLD"): {**key, "a": {"N": "1"}, "b": {"S": "x"}},
        ("update", "NONE"): None, ("update", "ALL_OLD"): {**key, "a": {"N": "2"}},
        ("update", "UPDATED_OLD"): {"a": {"N": "2"}}, ("update", "ALL_NEW"): {**key, "a": {"N": "3"}},
        ("update", "UPDATED_NEW"): {"a": {"N": "3"}},
        ("delete", "NONE"): None, ("delete", "ALL_OLD"): {**key, "a": {"N": "3"}},
    }
    for name in ("put", "update", "delete"):
        if (name, mode) in expected:
            assert writes[name]().get("Attributes") == expected[(name, mode)], name
        else:
            with pytest.raises(ClientError) as excinfo:
                writes[name]()
            assert_client_error(excinfo, "ValidationException")
            assert excinfo.value.response["Error"]["Message"] == "ReturnValues can only be ALL_OLD or NONE"
            if name == "put":
                ddb_nv.put_item(TableName=table, Item={**key, "a": {"N": "2"}})


def test_return_values_outside_the_enum(ddb_nv, table):
    with pytest.raises(ClientError) as excinfo:
        ddb_nv.update_item(TableName=table, Key={"pk": {"S": "x"}}, ReturnValues="EVERYTHING")
    assert_client_error(excinfo, "ValidationException",
                        "Value 'EVERYTHING' at 'returnValues' failed to satisfy constraint: Member must satisfy enum value set: "
                        "[NONE, ALL_OLD, UPDATED_OLD, ALL_NEW, UPDATED_NEW]")
    assert "Item" not in ddb_nv.get_item(TableName=table, Key={"pk": {"S": "x"}})


def test_add_and_delete_on_an_absent_item(ddb, table):
    key = {"pk": {"S": "absent"}}
    response = ddb.update_item(TableName=table, Key=key, UpdateExpression="ADD n :n, s :s DELETE gone :g",
                               ExpressionAttributeValues={":n": {"N": "-2.5"}, ":s": {"SS": ["b", "a"]}, ":g": {"NS": ["1"]}},
                               ReturnValues="ALL_NEW")
    item = response["Attributes"]
    assert item["pk"] == key["pk"] and item["n"] == {"N": "-2.5"} and sorted(item["s"]["SS"]) == ["a", "b"]
    assert "gone" not in item
    # DELETE alone on an absent item creates the item with its key and nothing else.
    other = {"pk": {"S": "absent-2"}}
    response = ddb.update_item(TableName=table, Key=other, UpdateExpression="DELETE s :s",
                               ExpressionAttributeValues={":s": {"SS": ["a"]}}, ReturnValues="UPDATED_NEW")
    assert "Attributes" not in response
    assert ddb.get_item(TableName=table, Key=other)["Item"] == other


def test_legacy_add_and_delete_on_an_absent_item(ddb, table):
    key = {"pk": {"S": "absent-legacy"}}
    response = ddb.update_item(TableName=table, Key=key, ReturnValues="ALL_NEW", AttributeUpdates={
        "n": {"Action": "ADD", "Value": {"N": "7"}},
        "ns": {"Action": "ADD", "Value": {"NS": ["1", "2"]}},
        "gone": {"Action": "DELETE", "Value": {"SS": ["x"]}},
        "also": {"Action": "DELETE"},
    })
    item = response["Attributes"]
    assert item["n"] == {"N": "7"} and sorted(item["ns"]["NS"]) == ["1", "2"] and set(item) == {"pk", "n", "ns"}
