"""Scan through boto3 on a small table: FilterExpression and legacy ScanFilter, Select,
projection, Limit and ExclusiveStartKey, parallel-scan parameters and their errors."""

import pytest
from boto3.dynamodb.conditions import Attr
from botocore.exceptions import ClientError

from conftest import assert_client_error, create_table


@pytest.fixture(scope="module")
def stable(ddb):
    name = create_table(ddb, range_key=("sk", "N"))
    requests = []
    for p in range(5):
        for s in range(10):
            item = {"pk": {"S": f"p{p}"}, "sk": {"N": str(s)}, "n": {"N": str(p * 10 + s)}, "tag": {"S": f"t{s % 3}"}}
            if s % 2 == 0:
                item["even"] = {"BOOL": True}
            if s == 0:
                item["doc"] = {"M": {"list": {"L": [{"S": "a"}, {"S": "b"}]}, "k": {"S": f"head{p}"}}}
            requests.append({"PutRequest": {"Item": item}})
    for start in range(0, len(requests), 25):
        ddb.batch_write_item(RequestItems={name: requests[start:start + 25]})
    return name


def scan_all(ddb, **params):
    items, pages = [], 0
    while True:
        response = ddb.scan(**params)
        items += response.get("Items", [])
        pages += 1
        if "LastEvaluatedKey" not in response:
            return items, pages
        params["ExclusiveStartKey"] = response["LastEvaluatedKey"]


def ns(items, name="n"):
    return sorted(int(item[name]["N"]) for item in items)


def test_scan_returns_every_item(ddb, stable):
    response = ddb.scan(TableName=stable)
    assert response["Count"] == response["ScannedCount"] == 50
    assert ns(response["Items"]) == list(range(50))
    assert "LastEvaluatedKey" not in response


def test_scan_items_of_a_partition_are_in_sort_order(ddb, stable):
    items = ddb.scan(TableName=stable)["Items"]
    by_partition = {}
    for item in items:
        by_partition.setdefault(item["pk"]["S"], []).append(int(item["sk"]["N"]))
    assert all(sks == list(range(10)) for sks in by_partition.values())


@pytest.mark.parametrize("expression,values,names,expected", [
    ("n < :v", {":v": {"N": "5"}}, None, [0, 1, 2, 3, 4]),
    ("n BETWEEN :a AND :b AND tag = :t", {":a": {"N": "10"}, ":b": {"N": "29"}, ":t": {"S": "t1"}}, None, [11, 14, 17, 21, 24, 27]),
    ("attribute_exists(doc)", None, None, [0, 10, 20, 30, 40]),
    ("attribute_not_exists(even) AND n > :v", {":v": {"N": "43"}}, None, [45, 47, 49]),
    ("sk = :zero OR sk = :nine", {":zero": {"N": "0"}, ":nine": {"N": "9"}}, None, [0, 9, 10, 19, 20, 29, 30, 39, 40, 49]),
    ("begins_with(pk, :p) AND NOT contains(tag, :t)", {":p": {"S": "p4"}, ":t": {"S": "0"}}, None, [41, 42, 44, 45, 47, 48]),
    ("doc.k = :h", {":h": {"S": "head2"}}, None, [20]),
    ("size(doc.#l) = :two AND pk IN (:a, :b)", {":two": {"N": "2"}, ":a": {"S": "p1"}, ":b": {"S": "p3"}}, {"#l": "list"}, [10, 30]),
    ("n = :none", {":none": {"N": "1000"}}, None, []),
])
def test_filter_expression(ddb, stable, expression, values, names, expected):
    params = dict(TableName=stable, FilterExpression=expression)
    if values:
        params["ExpressionAttributeValues"] = values
    if names:
        params["ExpressionAttributeNames"] = names
    response = ddb.scan(**params)
    assert ns(response["Items"]) == expected
    assert response["Count"] == len(expected)
    assert response["ScannedCount"] == 50


@pytest.mark.parametrize("scan_filter,operator,expected", [
    ({"n": {"ComparisonOperator": "LT", "AttributeValueList": [{"N": "3"}]}}, None, [0, 1, 2]),
    ({"n": {"ComparisonOperator": "GE", "AttributeValueList": [{"N": "48"}]}}, None, [48, 49]),
    ({"n": {"ComparisonOperator": "BETWEEN", "AttributeValueList": [{"N": "5"}, {"N": "7"}]}}, None, [5, 6, 7]),
    ({"n": {"ComparisonOperator": "IN", "AttributeValueList": [{"N": "5"}, {"N": "33"}]}}, None, [5, 33]),
    ({"doc": {"ComparisonOperator": "NOT_NULL"}, "pk": {"ComparisonOperator": "EQ", "AttributeValueList": [{"S": "p1"}]}},
     "AND", [10]),
    ({"n": {"ComparisonOperator": "EQ", "AttributeValueList": [{"N": "1"}]},
      "tag": {"ComparisonOperator": "EQ", "AttributeValueList": [{"S": "nope"}]}}, "OR", [1]),
    ({"pk": {"ComparisonOperator": "BEGINS_WITH", "AttributeValueList": [{"S": "p4"}]},
      "even": {"ComparisonOperator": "NULL"}}, "AND", [41, 43, 45, 47, 49]),
    ({"tag": {"ComparisonOperator": "NOT_CONTAINS", "AttributeValueList": [{"S": "t"}]}}, None, []),
    ({"tag": {"ComparisonOperator": "NE", "AttributeValueList": [{"S": "t0"}]},
      "pk": {"ComparisonOperator": "EQ", "AttributeValueList": [{"S": "p0"}]}}, None, [1, 2, 4, 5, 7, 8]),
])
def test_legacy_scan_filter(ddb, stable, scan_filter, operator, expected):
    params = dict(TableName=stable, ScanFilter=scan_filter)
    if operator:
        params["ConditionalOperator"] = operator
    response = ddb.scan(**params)
    assert ns(response["Items"]) == expected


def test_scan_filter_may_name_key_attributes(ddb, stable):
    # Unlike Query, Scan filters on key attributes.
    response = ddb.scan(TableName=stable, FilterExpression="pk = :p AND sk > :s",
                        ExpressionAttributeValues={":p": {"S": "p2"}, ":s": {"N": "7"}})
    assert ns(response["Items"]) == [28, 29]


def test_limit_and_exclusive_start_key(ddb, stable):
    for limit in (1, 7, 49, 50, 51):
        items, pages = scan_all(ddb, TableName=stable, Limit=limit)
        assert ns(items) == list(range(50))
        assert pages in (-(-50 // limit), -(-50 // limit) + 1)
    first = ddb.scan(TableName=stable, Limit=10)
    assert len(first["Items"]) == 10
    assert first["LastEvaluatedKey"] == {"pk": first["Items"][-1]["pk"], "sk": first["Items"][-1]["sk"]}
    rest = ddb.scan(TableName=stable, ExclusiveStartKey=first["LastEvaluatedKey"])
    assert ns(first["Items"] + rest["Items"]) == list(range(50))


def test_filter_with_limit(ddb, stable):
    items, _ = scan_all(ddb, TableName=stable, Limit=6, FilterExpression="tag = :t", ExpressionAttributeValues={":t": {"S": "t2"}})
    assert ns(items) == [p * 10 + s for p in range(5) for s in (2, 5, 8)]
    response = ddb.scan(TableName=stable, Limit=6, FilterExpression="tag = :t", ExpressionAttributeValues={":t": {"S": "t2"}})
    assert response["ScannedCount"] == 6
    assert response["Count"] == len(response["Items"]) <= 6


def test_select_and_projection(ddb, stable):
    response = ddb.scan(TableName=stable, Select="COUNT", FilterExpression="even = :t", ExpressionAttributeValues={":t": {"BOOL": True}})
    assert "Items" not in response and response["Count"] == 25 and response["ScannedCount"] == 50
    response = ddb.scan(TableName=stable, ProjectionExpression="doc.#l[1], n", ExpressionAttributeNames={"#l": "list"},
                        FilterExpression="attribute_exists(doc)")
    assert sorted(response["Items"], key=lambda i: int(i["n"]["N"]))[0] == {"n": {"N": "0"}, "doc": {"M": {"list": {"L": [{"S": "b"}]}}}}
    response = ddb.scan(TableName=stable, AttributesToGet=["tag"], Limit=3)
    assert all(set(item) == {"tag"} for item in response["Items"])
    response = ddb.scan(TableName=stable, Select="SPECIFIC_ATTRIBUTES", ProjectionExpression="pk", Limit=2)
    assert all(set(item) == {"pk"} for item in response["Items"])


def test_scan_empty_and_hash_only_tables(ddb, table):
    response = ddb.scan(TableName=table)
    assert response["Items"] == [] and response["Count"] == 0 and "LastEvaluatedKey" not in response
    for i in range(5):
        ddb.put_item(TableName=table, Item={"pk": {"S": f"h{i}"}})
    ddb.delete_item(TableName=table, Key={"pk": {"S": "h2"}})
    items, _ = scan_all(ddb, TableName=table, Limit=2)
    assert sorted(item["pk"]["S"] for item in items) == ["h0", "h1", "h3", "h4"]


def test_parallel_scan_segments_partition_the_table(ddb, stable):
    for total in (1, 2, 3, 16, 100):
        seen = []
        for segment in range(total):
            items, _ = scan_all(ddb, TableName=stable, Segment=segment, TotalSegments=total, Limit=4)
            seen += [int(item["n"]["N"]) for item in items]
        assert sorted(seen) == list(range(50)), total


def test_parallel_scan_exclusive_start_key_must_be_in_the_segment(ddb, stable):
    seg0, _ = scan_all(ddb, TableName=stable, Segment=0, TotalSegments=2)
    seg1, _ = scan_all(ddb, TableName=stable, Segment=1, TotalSegments=2)
    assert seg0 and seg1
    foreign = {"pk": seg1[0]["pk"], "sk": seg1[0]["sk"]}
    with pytest.raises(ClientError) as excinfo:
        ddb.scan(TableName=stable, Segment=0, TotalSegments=2, ExclusiveStartKey=foreign)
    assert_client_error(excinfo, "ValidationException", "The provided Exclusive start key does not map to the provided segment")
    own = {"pk": seg0[0]["pk"], "sk": seg0[0]["sk"]}
    rest = ddb.scan(TableName=stable, Segment=0, TotalSegments=2, ExclusiveStartKey=own)["Items"]
    assert [item["n"] for item in rest] == [item["n"] for item in seg0[1:]]


@pytest.mark.parametrize("params,phrase", [
    (dict(Segment=0), "The TotalSegments parameter is required but was not present in the request when Segment parameter is present"),
    (dict(TotalSegments=2), "The Segment parameter is required but was not present in the request when parameter TotalSegments is present"),
    (dict(Segment=2, TotalSegments=2), "The Segment parameter is zero-based and must be less than parameter TotalSegments: Segment: 2 is not less than TotalSegments: 2"),
    (dict(Segment=-1, TotalSegments=2), "Member must have value greater than or equal to 0"),
    (dict(Segment=0, TotalSegments=0), "Member must have value greater than or equal to 1"),
    (dict(Segment=0, TotalSegments=1_000_001), "Member must have value less than or equal to 1000000"),
    (dict(Limit=0), "Member must have value greater than or equal to 1"),
    (dict(Select="COUNT", AttributesToGet=["pk"]), "Cannot specify the AttributesToGet when choosing to get only the Count"),
    (dict(IndexName="gsi"), "secondary indexes"),
    (dict(ExclusiveStartKey={"pk": {"S": "p0"}}), "The provided starting key is invalid"),
    (dict(ScanFilter={"n": {"ComparisonOperator": "GT"}}), "Invalid number of argument(s) for the GT ComparisonOperator"),
    (dict(ConditionalOperator="OR"), "ConditionalOperator can only be used when Filter or Expected has two or more elements"),
])
def test_scan_parameter_errors(ddb_nv, stable, params, phrase):
    with pytest.raises(ClientError) as excinfo:
        ddb_nv.scan(TableName=stable, **params)
    assert_client_error(excinfo, "ValidationException", phrase)


def test_scan_missing_table(ddb):
    with pytest.raises(ClientError) as excinfo:
        ddb.scan(TableName="no-such-table")
    assert_client_error(excinfo, "ResourceNotFoundException")


def test_table_resource_scan(server, stable):
    tbl = server.resource().Table(stable)
    items = tbl.scan(FilterExpression=Attr("n").between(20, 29) & (Attr("tag").eq("t0") | Attr("doc").exists()))["Items"]
    assert sorted(int(item["n"]) for item in items) == [20, 23, 26, 29]
    items = tbl.scan(FilterExpression=Attr("doc.list").contains("b") & Attr("doc.k").is_in(["head1", "head4"]))["Items"]
    assert sorted(int(item["n"]) for item in items) == [10, 40]
    items = tbl.scan(FilterExpression=Attr("doc").attribute_type("M") & Attr("doc.k").ne("head0") & ~Attr("pk").eq("p3"))["Items"]
    assert sorted(int(item["n"]) for item in items) == [10, 20, 40]
