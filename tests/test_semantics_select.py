"""Select on Query and Scan, and its conflicts with ProjectionExpression / AttributesToGet. The
texts are DynamoDB's as conformance suites run against it report them; Query wraps the projection
conflicts in "1 validation error detected: ", Scan does not (docs/compatibility.md)."""

import pytest
from botocore.exceptions import ClientError

from conftest import assert_client_error, create_table

PREFIX = "1 validation error detected: "


@pytest.fixture(scope="module")
def sel(ddb):
    name = create_table(ddb, range_key=("sk", "N"))
    for i in range(3):
        ddb.put_item(TableName=name, Item={"pk": {"S": "p"}, "sk": {"N": str(i)}, "a": {"S": f"a{i}"}, "b": {"N": str(i)}})
    return name


def run(client, operation, table, **params):
    if operation == "query":
        if "AttributesToGet" in params:
            params["KeyConditions"] = {"pk": {"ComparisonOperator": "EQ", "AttributeValueList": [{"S": "p"}]}}
        else:
            params.update(KeyConditionExpression="pk = :p", ExpressionAttributeValues={":p": {"S": "p"}})
        return client.query(TableName=table, **params)
    return client.scan(TableName=table, **params)


@pytest.mark.parametrize("operation", ["query", "scan"])
def test_select_values(ddb, sel, operation):
    everything = run(ddb, operation, sel, Select="ALL_ATTRIBUTES")
    assert everything["Count"] == 3 and set(everything["Items"][0]) == {"pk", "sk", "a", "b"}
    specific = run(ddb, operation, sel, Select="SPECIFIC_ATTRIBUTES", ProjectionExpression="a")
    assert [set(i) for i in specific["Items"]] == [{"a"}] * 3
    legacy = run(ddb, operation, sel, Select="SPECIFIC_ATTRIBUTES", AttributesToGet=["b"])
    assert [set(i) for i in legacy["Items"]] == [{"b"}] * 3
    count = run(ddb, operation, sel, Select="COUNT")
    assert "Items" not in count and count["Count"] == 3 and count["ScannedCount"] == 3
    implied = run(ddb, operation, sel, ProjectionExpression="b")
    assert [set(i) for i in implied["Items"]] == [{"b"}] * 3


CONFLICTS = [
    (dict(Select="ALL_ATTRIBUTES", ProjectionExpression="a"), "Cannot specify the ProjectionExpression when choosing to get ALL_ATTRIBUTES"),
    (dict(Select="ALL_ATTRIBUTES", AttributesToGet=["a"]), "Cannot specify the AttributesToGet when choosing to get ALL_ATTRIBUTES"),
    (dict(Select="COUNT", ProjectionExpression="a"), "Cannot specify the ProjectionExpression when choosing to get only the Count"),
    (dict(Select="COUNT", AttributesToGet=["a"]), "Cannot specify the AttributesToGet when choosing to get only the Count"),
    (dict(Select="ALL_PROJECTED_ATTRIBUTES", ProjectionExpression="a"), "Cannot specify the ProjectionExpression when choosing to get ALL_PROJECTED_ATTRIBUTES"),
    (dict(Select="SPECIFIC_ATTRIBUTES"), "Must specify the AttributesToGet or ProjectionExpression when choosing to get SPECIFIC_ATTRIBUTES"),
]


@pytest.mark.parametrize("operation", ["query", "scan"])
@pytest.mark.parametrize("params,message", CONFLICTS, ids=[f"{p['Select']}+{'/'.join(k for k in p if k != 'Select') or 'none'}" for p, _ in CONFLICTS])
def test_select_conflicts_with_projection(ddb_nv, sel, operation, params, message):
    with pytest.raises(ClientError) as excinfo:
        run(ddb_nv, operation, sel, **dict(params))
    assert_client_error(excinfo, "ValidationException")
    expected = PREFIX + message if operation == "query" else message
    assert excinfo.value.response["Error"]["Message"] == expected


@pytest.mark.parametrize("operation", ["query", "scan"])
def test_all_projected_attributes_needs_an_index(ddb, sel, operation):
    with pytest.raises(ClientError) as excinfo:
        run(ddb, operation, sel, Select="ALL_PROJECTED_ATTRIBUTES")
    assert_client_error(excinfo, "ValidationException")
    assert excinfo.value.response["Error"]["Message"] == "ALL_PROJECTED_ATTRIBUTES can be used only when Querying using an IndexName"


@pytest.mark.parametrize("operation", ["query", "scan"])
def test_select_outside_the_enum(ddb_nv, sel, operation):
    with pytest.raises(ClientError) as excinfo:
        run(ddb_nv, operation, sel, Select="EVERYTHING")
    assert_client_error(excinfo, "ValidationException",
                        "Value 'EVERYTHING' at 'select' failed to satisfy constraint: Member must satisfy enum value set: "
                        "[ALL_ATTRIBUTES, ALL_PROJECTED_ATTRIBUTES, SPECIFIC_ATTRIBUTES, COUNT]")
