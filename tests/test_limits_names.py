"""Limits on names and on the expression parameters (developer guide, "Constraints"): placeholders
of at most 255 bytes, all substitution variables together at most 2 MB, attribute names up to
64 KB, and items with thousands of attributes or one binary value filling the whole 400 KB."""

import pytest
from botocore.exceptions import ClientError

from conftest import assert_client_error, create_table

MAX_ITEM = 400 * 1024


def test_placeholder_names_of_255_bytes_are_accepted(ddb, table):
    ddb.put_item(TableName=table, Item={"pk": {"S": "a"}, "n": {"N": "5"}})
    name, value = "#" + "n" * 254, ":" + "v" * 254
    got = ddb.scan(TableName=table, FilterExpression=f"{name} = {value}",
                   ExpressionAttributeNames={name: "n"}, ExpressionAttributeValues={value: {"N": "5"}})
    assert got["Count"] == 1


@pytest.mark.parametrize("which", ["ExpressionAttributeNames", "ExpressionAttributeValues"])
def test_placeholder_of_256_bytes_is_refused(ddb, table, which):
    long_name, long_value = "#" + "n" * 255, ":" + "v" * 255
    params = dict(ExpressionAttributeNames={"#n": "n"}, ExpressionAttributeValues={":v": {"N": "5"}})
    if which == "ExpressionAttributeNames":
        params["ExpressionAttributeNames"] = {long_name: "n"}
        expression = f"{long_name} = :v"
    else:
        params["ExpressionAttributeValues"] = {long_value: {"N": "5"}}
        expression = f"#n = {long_value}"
    with pytest.raises(ClientError) as excinfo:
        ddb.scan(TableName=table, FilterExpression=expression, **params)
    assert_client_error(excinfo, "ValidationException")
    assert excinfo.value.response["Error"]["Message"] == (
        f"{which} contains invalid key: The expression attribute map contains a key that is too long; size of key: 256")


def test_substitution_values_over_2_mb_are_refused(ddb, table):
    values = {f":v{i}": {"S": "x" * (300 * 1024)} for i in range(7)}
    expression = " OR ".join(f"s = :v{i}" for i in range(7))
    with pytest.raises(ClientError) as excinfo:
        ddb.scan(TableName=table, FilterExpression=expression, ExpressionAttributeValues=values)
    assert_client_error(excinfo, "ValidationException")
    assert excinfo.value.response["Error"]["Message"] == "ExpressionAttributeValues exceeds max size"
    # Just under 2 MB in all is fine.
    values = {f":v{i}": {"S": "x" * (290 * 1024)} for i in range(7)}
    assert ddb.scan(TableName=table, FilterExpression=expression, ExpressionAttributeValues=values)["Count"] == 0


def test_names_and_values_together_over_2_mb_are_refused(ddb, table):
    names = {f"#n{i}": "y" * (60 * 1024) for i in range(16)}
    values = {f":v{i}": {"S": "x" * (200 * 1024)} for i in range(6)}
    expression = " OR ".join([f"attribute_exists(#n{i})" for i in range(16)] + [f"s = :v{i}" for i in range(6)])
    with pytest.raises(ClientError) as excinfo:
        ddb.scan(TableName=table, FilterExpression=expression, ExpressionAttributeNames=names, ExpressionAttributeValues=values)
    assert_client_error(excinfo, "ValidationException",
                        "Combined size of ExpressionAttributeNames and ExpressionAttributeValues exceeds max size")


def test_attribute_name_of_64_kb_is_accepted_and_one_byte_more_refused(ddb, table):
    longest = "x" * 65535
    ddb.put_item(TableName=table, Item={"pk": {"S": "long"}, longest: {"S": "v"}})
    item = ddb.get_item(TableName=table, Key={"pk": {"S": "long"}})["Item"]
    assert item[longest] == {"S": "v"}
    too_long = "x" * 65536
    message = "One or more parameter values were invalid: Attribute name is too large, must be less than 65536 bytes"
    with pytest.raises(ClientError) as excinfo:
        ddb.put_item(TableName=table, Item={"pk": {"S": "long2"}, too_long: {"S": "v"}})
    assert_client_error(excinfo, "ValidationException")
    assert excinfo.value.response["Error"]["Message"] == message
    with pytest.raises(ClientError) as excinfo:
        ddb.update_item(TableName=table, Key={"pk": {"S": "long3"}}, UpdateExpression="SET #n = :v",
                        ExpressionAttributeNames={"#n": too_long}, ExpressionAttributeValues={":v": {"S": "v"}})
    assert_client_error(excinfo, "ValidationException", message)
    with pytest.raises(ClientError) as excinfo:
        ddb.batch_write_item(RequestItems={table: [{"PutRequest": {"Item": {"pk": {"S": "long4"}, too_long: {"N": "1"}}}}]})
    assert_client_error(excinfo, "ValidationException", message)
    for pk in ("long2", "long3", "long4"):
        assert "Item" not in ddb.get_item(TableName=table, Key={"pk": {"S": pk}})


def test_item_with_thousands_of_attributes_round_trips(ddb, table):
    item = {"pk": {"S": "many"}}
    item.update({f"a{i}": {"N": str(i)} for i in range(6000)})
    ddb.put_item(TableName=table, Item=item)
    stored = ddb.get_item(TableName=table, Key={"pk": {"S": "many"}}, ConsistentRead=True)["Item"]
    assert stored == item
    got = ddb.get_item(TableName=table, Key={"pk": {"S": "many"}}, ProjectionExpression="a5999, a0")["Item"]
    assert got == {"a0": {"N": "0"}, "a5999": {"N": "5999"}}


def test_one_binary_value_fills_the_whole_item(ddb, table):
    # 400 KB = len("pk") + len("full") + len("b") + the binary's raw bytes.
    room = MAX_ITEM - len("pk") - len("full") - len("b")
    ddb.put_item(TableName=table, Item={"pk": {"S": "full"}, "b": {"B": b"\xff" * room}})
    stored = ddb.get_item(TableName=table, Key={"pk": {"S": "full"}})["Item"]
    assert len(stored["b"]["B"]) == room
    with pytest.raises(ClientError) as excinfo:
        ddb.put_item(TableName=table, Item={"pk": {"S": "full"}, "b": {"B": b"\xff" * (room + 1)}})
    assert_client_error(excinfo, "ValidationException", "Item size has exceeded the maximum allowed size")


def test_item_size_counts_numbers_and_containers_as_dynamodb_does(ddb, table):
    # Name bytes + value bytes: a 38-digit integer counts 20 bytes (19 base-100 digits + 1); -1.5
    # counts 4 (01|50, the exponent byte, the sign byte) where "one byte per two digits" would say
    # 2; a map 3 bytes plus 1 per element; NULL and BOOL 1 byte. Fill the rest with a string to
    # land on exactly 400 KB, then show one byte more is refused.
    fixed = {"pk": {"S": "sized"}, "n": {"N": "1" * 38}, "d": {"N": "-1.5"},
             "m": {"M": {"k": {"NULL": True}, "t": {"BOOL": True}}}}
    used = (2 + 5) + (1 + 20) + (1 + 4) + (1 + 3 + (1 + 1 + 1) + (1 + 1 + 1))
    room = MAX_ITEM - used - len("s")
    ddb.put_item(TableName=table, Item={**fixed, "s": {"S": "z" * room}})
    with pytest.raises(ClientError) as excinfo:
        ddb.put_item(TableName=table, Item={**fixed, "s": {"S": "z" * (room + 1)}})
    assert_client_error(excinfo, "ValidationException", "Item size has exceeded the maximum allowed size")


def test_key_attribute_names_up_to_255_bytes(ddb):
    longest = "k" * 255
    name = create_table(ddb, hash_key=(longest, "S"))
    ddb.put_item(TableName=name, Item={longest: {"S": "x"}, "v": {"N": "1"}})
    assert ddb.get_item(TableName=name, Key={longest: {"S": "x"}})["Item"]["v"] == {"N": "1"}
    with pytest.raises(ClientError) as excinfo:
        create_table(ddb, hash_key=("k" * 256, "S"))
    assert_client_error(excinfo, "ValidationException",
                        "at 'keySchema.1.member.attributeName' failed to satisfy constraint: Member must have length less than or equal to 255")
