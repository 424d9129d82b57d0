"""Legacy conditions (Expected, QueryFilter, ScanFilter, KeyConditions) with values of mixed types
or reversed BETWEEN bounds: DynamoDB refuses these with a ValidationException instead of letting
the condition be false. The texts are those dynalite and DynamoDB Local give (both written against
DynamoDB's answers); docs/compatibility.md records them."""

import pytest
from botocore.exceptions import ClientError

from conftest import assert_client_error, create_table

SAME_TYPE = "One or more parameter values were invalid: AttributeValues inside AttributeValueList must be of same type"
REVERSED = "The BETWEEN condition was provided a range where the lower bound is greater than the upper bound"


@pytest.fixture
def filled(ddb):
    name = create_table(ddb, range_key=("sk", "N"))
    for i in range(1, 4):
        ddb.put_item(TableName=name, Item={"pk": {"S": "p"}, "sk": {"N": str(i)}, "n": {"N": str(i)}, "s": {"S": f"s{i}"}})
    return name


def cond(op, *values):
    return {"ComparisonOperator": op, "AttributeValueList": list(values)}


PK = {"pk": cond("EQ", {"S": "p"})}


@pytest.mark.parametrize("condition,phrase", [
    (cond("BETWEEN", {"S": "1"}, {"N": "9"}), SAME_TYPE),
    (cond("IN", {"S": "1"}, {"N": "2"}), SAME_TYPE),
    (cond("BETWEEN", {"N": "9"}, {"N": "1"}), REVERSED),
    (cond("BETWEEN", {"S": "b"}, {"S": "a"}), REVERSED),
    (cond("BETWEEN", {"B": b"\x02"}, {"B": b"\x01"}), REVERSED),
], ids=["between-mixed", "in-mixed", "between-reversed-n", "between-reversed-s", "between-reversed-b"])
def test_scan_filter_refuses_mixed_types_and_reversed_bounds(ddb, filled, condition, phrase):
    with pytest.raises(ClientError) as excinfo:
        ddb.scan(TableName=filled, ScanFilter={"n": condition})
    assert_client_error(excinfo, "ValidationException", phrase)
    assert excinfo.value.response["Error"]["Message"] == phrase


def test_query_filter_refuses_reversed_between(ddb, filled):
    with pytest.raises(ClientError) as excinfo:
        ddb.query(TableName=filled, KeyConditions=PK, QueryFilter={"n": cond("BETWEEN", {"N": "3"}, {"N": "2"})})
    assert_client_error(excinfo, "ValidationException", REVERSED)


def test_expected_refuses_mixed_in_and_writes_nothing(ddb, filled):
    item = {"pk": {"S": "p"}, "sk": {"N": "1"}, "n": {"N": "100"}}
    for condition, phrase in ((cond("IN", {"N": "1"}, {"S": "1"}), SAME_TYPE), (cond("BETWEEN", {"N": "5"}, {"N": "0"}), REVERSED)):
        with pytest.raises(ClientError) as excinfo:
            ddb.put_item(TableName=filled, Item=item, Expected={"n": condition})
        assert_client_error(excinfo, "ValidationException", phrase)
    stored = ddb.get_item(TableName=filled, Key={"pk": {"S": "p"}, "sk": {"N": "1"}})["Item"]
    assert stored["n"] == {"N": "1"}


@pytest.mark.parametrize("sort_condition,phrase", [
    (cond("BETWEEN", {"N": "3"}, {"N": "1"}), REVERSED),
    (cond("BETWEEN", {"S": "1"}, {"N": "3"}), SAME_TYPE),
], ids=["reversed", "mixed"])
def test_key_conditions_between_refused_before_schema_check(ddb, filled, sort_condition, phrase):
    with pytest.raises(ClientError) as excinfo:
        ddb.query(TableName=filled, KeyConditions={**PK, "sk": sort_condition})
    assert_client_error(excinfo, "ValidationException", phrase)


def test_legacy_in_and_between_of_one_type_still_match(ddb, filled):
    # Two IN values in descending order are not a "range": only BETWEEN checks the order.
    got = ddb.scan(TableName=filled, ScanFilter={"n": cond("IN", {"N": "3"}, {"N": "1"})})
    assert sorted(i["n"]["N"] for i in got["Items"]) == ["1", "3"]
    got = ddb.query(TableName=filled, KeyConditions={**PK, "sk": cond("BETWEEN", {"N": "2"}, {"N": "2"})})
    assert [i["sk"]["N"] for i in got["Items"]] == ["2"]
    # A bound of another type than the attribute is simply false, as in expressions.
    got = ddb.scan(TableName=filled, ScanFilter={"n": cond("BETWEEN", {"S": "0"}, {"S": "9"})})
    assert got["Count"] == 0


def test_expression_between_with_reversed_or_mixed_bounds_is_refused(ddb, filled):
    # The expression forms have their own texts (Invalid FilterExpression: …).
    for values, phrase in (({":a": {"N": "9"}, ":b": {"N": "1"}}, "The BETWEEN operator requires upper bound to be greater than or equal to lower bound"),
                           ({":a": {"N": "1"}, ":b": {"S": "9"}}, "The BETWEEN operator requires same data type for lower and upper bounds")):
        with pytest.raises(ClientError) as excinfo:
            ddb.scan(TableName=filled, FilterExpression="n BETWEEN :a AND :b", ExpressionAttributeValues=values)
        assert_client_error(excinfo, "ValidationException", "Invalid FilterExpression: " + phrase)
