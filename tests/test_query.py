"""Query through boto3: key conditions on S, N and B sort keys (ordering, boundaries, negative
numbers, common prefixes), legacy KeyConditions, filters, Select, projection, ordering, paging
by Limit, and the key-condition errors."""

from decimal import Context, Decimal

import pytest
from boto3.dynamodb.conditions import Attr, Key
from boto3.dynamodb.types import Binary
from botocore.exceptions import ClientError

from conftest import assert_client_error, create_table

N_KEYS = ["-100", "-10.5", "-10", "-2", "-1.5", "-1", "-0.001", "0", "0.001", "1", "1.5", "2", "10", "10.5", "100", "1E+3",
          "99999999999999999999999999999999999999", "-99999999999999999999999999999999999999", "1E-130", "-1E-130"]
S_KEYS = ["a", "aa", "ab", "abc", "abd", "ab\u00e9", "ab ", "ac", "a0", "a9", "b", "B", "Z", "~", "\u00e9", "\U0001f600",
          "\uffff", "\uffffa", "\U0010ffff", "a b", "abcd", "0", "10", "9"]
B_KEYS = [b"\x00", b"\x00\x00", b"\x00\x01", b"\x01", b"\x01\x00", b"\x7f", b"\x80", b"\xff", b"\xff\xff", b"ab", b"abc",
          b"a\x00", b"a\x00\x00", b"a\x01", b"b", b"\xff\xfe", b"\xff\xff\x00"]


def sort_value(kind, raw):
    """The value a sort key orders by: the number, the UTF-8 bytes, the bytes."""
    if kind == "N":
        return Decimal(raw)
    return raw.encode("utf-8") if kind == "S" else raw


def wire(kind, raw):
    return {kind: raw}


WIDE = Context(prec=200)  # no rounding of 38-digit numbers
KINDS = {"N": N_KEYS, "S": S_KEYS, "B": B_KEYS}


@pytest.fixture(scope="module")
def tables(ddb):
    """One table per sort key type; partition "p" holds every key above, "other" two decoys."""
    out = {}
    for kind, keys in KINDS.items():
        name = create_table(ddb, range_key=("sk", kind))
        requests = [{"PutRequest": {"Item": {"pk": {"S": "p"}, "sk": wire(kind, k), "i": {"N": str(i)}}}}
                    for i, k in enumerate(keys)]
        requests += [{"PutRequest": {"Item": {"pk": {"S": pk}, "sk": wire(kind, keys[0])}}} for pk in ("other", "p0")]
        for start in range(0, len(requests), 25):
            ddb.batch_write_item(RequestItems={name: requests[start:start + 25]})
        out[kind] = name
    return out


def query_all(ddb, **params):
    """Every item of a Query, following LastEvaluatedKey."""
    items = []
    while True:
        response = ddb.query(**params)
        items += response["Items"]
        if "LastEvaluatedKey" not in response:
            return items
        params["ExclusiveStartKey"] = response["LastEvaluatedKey"]


def sort_keys(kind, items):
    return [item["sk"][kind] for item in items]


def expected_keys(kind, predicate):
    keys = [k for k in KINDS[kind] if predicate(sort_value(kind, k))]
    return sorted(keys, key=lambda k: sort_value(kind, k))


def normal(kind, raw):
    """How the server returns a key: numbers normalised, others as sent."""
    if kind != "N":
        return raw
    return format(Decimal(raw).normalize(WIDE), "f")


# Sort-key conditions: (expression, {placeholder: raw value}, python predicate builder).
def conditions(kind):
    v = lambda raw: sort_value(kind, raw)  # noqa: E731
    if kind == "N":
        a, b, absent = "-1.5", "10", "5"
    elif kind == "S":
        a, b, absent = "ab", "b", "abca"
    else:
        a, b, absent = b"\x00\x01", b"\x80", b"\x02"
    out = [
        ("sk = :a", {":a": a}, lambda x: x == v(a)),
        ("sk = :a", {":a": absent}, lambda x: x == v(absent)),
        ("sk < :a", {":a": a}, lambda x: x < v(a)),
        ("sk <= :a", {":a": a}, lambda x: x <= v(a)),
        ("sk > :a", {":a": a}, lambda x: x > v(a)),
        ("sk >= :a", {":a": a}, lambda x: x >= v(a)),
        ("sk > :a", {":a": absent}, lambda x: x > v(absent)),
        ("sk <= :a", {":a": absent}, lambda x: x <= v(absent)),
        ("sk BETWEEN :a AND :b", {":a": a, ":b": b}, lambda x: v(a) <= x <= v(b)),
        ("sk BETWEEN :a AND :b", {":a": absent, ":b": b}, lambda x: v(absent) <= x <= v(b)),
        ("sk BETWEEN :a AND :b", {":a": a, ":b": a}, lambda x: x == v(a)),
        (":a < sk", {":a": a}, lambda x: x > v(a)),          # operands may come in either order
        (":a >= sk", {":a": a}, lambda x: x <= v(a)),
    ]
    if kind == "S":
        for prefix in ["a", "ab", "abc", "abcd", "abcde", "\U0001f600", "A", "~", "\uffff", "\U0010ffff"]:
            out.append(("begins_with(sk, :a)", {":a": prefix}, lambda x, p=prefix: x.startswith(p.encode())))
    if kind == "B":
        for prefix in [b"\x00", b"\x00\x00", b"\xff", b"\xff\xff", b"a", b"a\x00", b"ab", b"\x02"]:
            out.append(("begins_with(sk, :a)", {":a": prefix}, lambda x, p=prefix: x.startswith(p)))
    return out


CASES = [(kind, *case) for kind in KINDS for case in conditions(kind)]


@pytest.mark.parametrize("kind,expression,raw_values,predicate", CASES,
                         ids=[f"{c[0]}:{c[1]}:{list(c[2].values())!r}" for c in CASES])
def test_sort_key_condition(ddb, tables, kind, expression, raw_values, predicate):
    values = {":p": {"S": "p"}, **{k: wire(kind, raw) for k, raw in raw_values.items()}}
    expected = [normal(kind, k) for k in expected_keys(kind, predicate)]
    forward = ddb.query(TableName=tables[kind], KeyConditionExpression=f"pk = :p AND {expression}",
                        ExpressionAttributeValues=values)
    assert sort_keys(kind, forward["Items"]) == expected
    assert forward["Count"] == forward["ScannedCount"] == len(expected)
    assert "LastEvaluatedKey" not in forward
    backward = ddb.query(TableName=tables[kind], KeyConditionExpression=f"pk = :p AND {expression}",
                         ExpressionAttributeValues=values, ScanIndexForward=False)
    assert sort_keys(kind, backward["Items"]) == expected[::-1]


@pytest.mark.parametrize("kind", list(KINDS))
def test_whole_partition_in_sort_order(ddb, tables, kind):
    expected = [normal(kind, k) for k in expected_keys(kind, lambda x: True)]
    items = ddb.query(TableName=tables[kind], KeyConditionExpression="pk = :p", ExpressionAttributeValues={":p": {"S": "p"}})["Items"]
    assert sort_keys(kind, items) == expected
    # Every item of the partition, and only of this partition ("p0" and "other" are neighbours).
    assert {item["pk"]["S"] for item in items} == {"p"}
    for limit in (1, 3, 7):
        paged = query_all(ddb, TableName=tables[kind], KeyConditionExpression="pk = :p",
                          ExpressionAttributeValues={":p": {"S": "p"}}, Limit=limit, ScanIndexForward=False)
        assert sort_keys(kind, paged) == expected[::-1]


def test_numbers_in_sort_keys_compare_numerically(ddb, tables):
    items = ddb.query(TableName=tables["N"], KeyConditionExpression="pk = :p AND sk BETWEEN :a AND :b",
                      ExpressionAttributeValues={":p": {"S": "p"}, ":a": {"N": "-10.50"}, ":b": {"N": "1.0e1"}})["Items"]
    tiny = format(Decimal("1E-130"), "f")  # numbers come back in plain notation
    assert sort_keys("N", items) == ["-10.5", "-10", "-2", "-1.5", "-1", "-0.001", "-" + tiny, "0", tiny, "0.001", "1",
                                     "1.5", "2", "10"]


def test_query_absent_partition(ddb, tables):
    response = ddb.query(TableName=tables["S"], KeyConditionExpression="pk = :p", ExpressionAttributeValues={":p": {"S": "nobody"}})
    assert response["Items"] == [] and response["Count"] == 0 and response["ScannedCount"] == 0
    assert "LastEvaluatedKey" not in response


# -- legacy KeyConditions -------------------------------------------------------------------


@pytest.mark.parametrize("operator,values,predicate", [
    ("EQ", ["ab"], lambda x: x == b"ab"),
    ("LT", ["ab"], lambda x: x < b"ab"),
    ("LE", ["ab"], lambda x: x <= b"ab"),
    ("GT", ["ab"], lambda x: x > b"ab"),
    ("GE", ["ab"], lambda x: x >= b"ab"),
    ("BETWEEN", ["ab", "b"], lambda x: b"ab" <= x <= b"b"),
    ("BEGINS_WITH", ["ab"], lambda x: x.startswith(b"ab")),
])
def test_legacy_key_conditions(ddb, tables, operator, values, predicate):
    response = ddb.query(TableName=tables["S"], KeyConditions={
        "pk": {"ComparisonOperator": "EQ", "AttributeValueList": [{"S": "p"}]},
        "sk": {"ComparisonOperator": operator, "AttributeValueList": [{"S": v} for v in values]},
    })
    assert sort_keys("S", response["Items"]) == expected_keys("S", predicate)


def test_legacy_key_conditions_partition_only_and_query_filter(ddb, tables):
    response = ddb.query(TableName=tables["N"], KeyConditions={"pk": {"ComparisonOperator": "EQ", "AttributeValueList": [{"S": "p"}]}},
                         QueryFilter={"i": {"ComparisonOperator": "LT", "AttributeValueList": [{"N": "3"}]}})
    assert response["ScannedCount"] == len(N_KEYS)
    assert sorted(int(item["i"]["N"]) for item in response["Items"]) == [0, 1, 2]
    response = ddb.query(TableName=tables["N"], KeyConditions={"pk": {"ComparisonOperator": "EQ", "AttributeValueList": [{"S": "p"}]}},
                         QueryFilter={"i": {"ComparisonOperator": "LT", "AttributeValueList": [{"N": "3"}]},
                                      "sk2": {"ComparisonOperator": "NULL"}},
                         ConditionalOperator="AND")
    assert response["Count"] == 3
    response = ddb.query(TableName=tables["N"], KeyConditions={"pk": {"ComparisonOperator": "EQ", "AttributeValueList": [{"S": "p"}]}},
                         QueryFilter={"i": {"ComparisonOperator": "EQ", "AttributeValueList": [{"N": "0"}]},
                                      "j": {"ComparisonOperator": "NOT_NULL"}},
                         ConditionalOperator="OR")
    assert response["Count"] == 1


@pytest.mark.parametrize("conditions,phrase", [
    ({"sk": {"ComparisonOperator": "EQ", "AttributeValueList": [{"S": "a"}]}}, "Query condition missed key schema element: pk"),
    ({"pk": {"ComparisonOperator": "BEGINS_WITH", "AttributeValueList": [{"S": "p"}]}}, "Query key condition not supported"),
    ({"pk": {"ComparisonOperator": "EQ", "AttributeValueList": [{"S": "p"}]},
      "sk": {"ComparisonOperator": "NE", "AttributeValueList": [{"S": "a"}]}}, "Query key condition not supported"),
    ({"pk": {"ComparisonOperator": "EQ", "AttributeValueList": [{"N": "1"}]}}, "Condition parameter type does not match schema type"),
    ({"pk": {"ComparisonOperator": "EQ", "AttributeValueList": [{"S": "p"}]},
      "i": {"ComparisonOperator": "EQ", "AttributeValueList": [{"N": "1"}]}}, "Query condition missed key schema element"),
    ({"pk": {"ComparisonOperator": "EQ", "AttributeValueList": [{"S": "p"}]},
      "sk": {"ComparisonOperator": "BETWEEN", "AttributeValueList": [{"S": "a"}]}}, "Invalid number of argument(s) for the BETWEEN ComparisonOperator"),
])
def test_legacy_key_conditions_errors(ddb, tables, conditions, phrase):
    with pytest.raises(ClientError) as excinfo:
        ddb.query(TableName=tables["S"], KeyConditions=conditions)
    assert_client_error(excinfo, "ValidationException", phrase)


# -- key condition errors -------------------------------------------------------------------


@pytest.mark.parametrize("expression,values,phrase", [
    ("sk = :s", {":s": {"S": "a"}}, "Query condition missed key schema element: pk"),
    ("pk = :p AND i = :n", {":p": {"S": "p"}, ":n": {"N": "1"}}, "Query condition missed key schema element: sk"),
    ("i = :n", {":n": {"N": "1"}}, "Query condition missed key schema element: pk"),
    ("pk = :p OR sk = :s", {":p": {"S": "p"}, ":s": {"S": "a"}}, "Invalid KeyConditionExpression: Invalid operator used in KeyConditionExpression: OR"),
    ("pk = :p AND NOT sk = :s", {":p": {"S": "p"}, ":s": {"S": "a"}}, "Invalid KeyConditionExpression: Invalid operator used in KeyConditionExpression: NOT"),
    ("pk = :p AND sk <> :s", {":p": {"S": "p"}, ":s": {"S": "a"}}, "Invalid KeyConditionExpression: Invalid operator used in KeyConditionExpression: <>"),
    ("pk = :p AND sk IN (:s)", {":p": {"S": "p"}, ":s": {"S": "a"}}, "Invalid KeyConditionExpression: Invalid operator used in KeyConditionExpression: IN"),
    ("pk = :p AND contains(sk, :s)", {":p": {"S": "p"}, ":s": {"S": "a"}}, "Invalid KeyConditionExpression: Invalid operator used in KeyConditionExpression: contains"),
    ("pk = :p AND attribute_exists(sk)", {":p": {"S": "p"}}, "Invalid KeyConditionExpression: Invalid operator used in KeyConditionExpression: attribute_exists"),
    ("pk = :p AND size(sk) = :n", {":p": {"S": "p"}, ":n": {"N": "1"}}, "Invalid operator used in KeyConditionExpression: size"),
    ("pk > :p", {":p": {"S": "p"}}, "Query key condition not supported"),
    ("begins_with(pk, :p)", {":p": {"S": "p"}}, "Query key condition not supported"),
    ("pk BETWEEN :p AND :q", {":p": {"S": "a"}, ":q": {"S": "z"}}, "Query key condition not supported"),
    ("pk = :p AND pk = :p", {":p": {"S": "p"}}, "KeyConditionExpressions must only contain one condition per key"),
    ("pk = :p AND sk > :a AND sk < :b", {":p": {"S": "p"}, ":a": {"S": "a"}, ":b": {"S": "b"}},
     "KeyConditionExpressions must only contain one condition per key"),
    ("pk = :n", {":n": {"N": "1"}}, "One or more parameter values were invalid: Condition parameter type does not match schema type"),
    ("pk = :p AND sk = :n", {":p": {"S": "p"}, ":n": {"N": "1"}}, "Condition parameter type does not match schema type"),
    ("pk = :p AND sk BETWEEN :a AND :b", {":p": {"S": "p"}, ":a": {"B": b"a"}, ":b": {"B": b"b"}}, "Condition parameter type does not match schema type"),
    ("pk = :p AND sk.x = :s", {":p": {"S": "p"}, ":s": {"S": "a"}}, "KeyConditionExpressions cannot have conditions on nested attributes"),
    ("pk = :p AND sk = sk", {":p": {"S": "p"}}, "The first operand must be distinct from the remaining operands"),
    ("pk = :p AND sk BETWEEN :b AND :a", {":p": {"S": "p"}, ":a": {"S": "a"}, ":b": {"S": "b"}},
     "The BETWEEN operator requires upper bound to be greater than or equal to lower bound"),
])
def test_key_condition_errors(ddb, tables, expression, values, phrase):
    with pytest.raises(ClientError) as excinfo:
        ddb.query(TableName=tables["S"], KeyConditionExpression=expression, ExpressionAttributeValues=values)
    assert_client_error(excinfo, "ValidationException", phrase)


def test_begins_with_on_number_sort_key_refused(ddb, tables):
    for value in ({"N": "1"}, {"S": "1"}):
        with pytest.raises(ClientError) as excinfo:
            ddb.query(TableName=tables["N"], KeyConditionExpression="pk = :p AND begins_with(sk, :v)",
                      ExpressionAttributeValues={":p": {"S": "p"}, ":v": value})
        assert_client_error(excinfo, "ValidationException")


def test_query_requires_a_key_condition(ddb, tables):
    with pytest.raises(ClientError) as excinfo:
        ddb.query(TableName=tables["S"])
    assert_client_error(excinfo, "ValidationException",
                        "Either the KeyConditions or KeyConditionExpression parameter must be specified in the request.")


def test_query_missing_table(ddb):
    with pytest.raises(ClientError) as excinfo:
        ddb.query(TableName="no-such-table", KeyConditionExpression="pk = :p", ExpressionAttributeValues={":p": {"S": "p"}})
    assert_client_error(excinfo, "ResourceNotFoundException")


def test_query_hash_only_table(ddb, table):
    ddb.put_item(TableName=table, Item={"pk": {"S": "h"}, "v": {"N": "1"}})
    ddb.put_item(TableName=table, Item={"pk": {"S": "h2"}, "v": {"N": "2"}})
    response = ddb.query(TableName=table, KeyConditionExpression="pk = :p", ExpressionAttributeValues={":p": {"S": "h"}})
    assert response["Items"] == [{"pk": {"S": "h"}, "v": {"N": "1"}}]
    with pytest.raises(ClientError) as excinfo:
        ddb.query(TableName=table, KeyConditionExpression="pk = :p AND v = :v",
                  ExpressionAttributeValues={":p": {"S": "h"}, ":v": {"N": "1"}})
    assert_client_error(excinfo, "ValidationException")


# -- ExclusiveStartKey ----------------------------------------------------------------------


def test_exclusive_start_key_resumes_after_the_key(ddb, tables):
    expected = [normal("S", k) for k in expected_keys("S", lambda x: True)]
    start = expected[5]
    response = ddb.query(TableName=tables["S"], KeyConditionExpression="pk = :p", ExpressionAttributeValues={":p": {"S": "p"}},
                         ExclusiveStartKey={"pk": {"S": "p"}, "sk": {"S": start}})
    assert sort_keys("S", response["Items"]) == expected[6:]
    response = ddb.query(TableName=tables["S"], KeyConditionExpression="pk = :p", ExpressionAttributeValues={":p": {"S": "p"}},
                         ExclusiveStartKey={"pk": {"S": "p"}, "sk": {"S": start}}, ScanIndexForward=False)
    assert sort_keys("S", response["Items"]) == expected[:5][::-1]
    # A start key that is not stored still positions the read.
    response = ddb.query(TableName=tables["S"], KeyConditionExpression="pk = :p", ExpressionAttributeValues={":p": {"S": "p"}},
                         ExclusiveStartKey={"pk": {"S": "p"}, "sk": {"S": "abca"}})
    assert sort_keys("S", response["Items"]) == [k for k in expected if k.encode() > b"abca"]


@pytest.mark.parametrize("start_key,phrase", [
    ({"pk": {"S": "other"}, "sk": {"S": "a"}}, "The provided starting key is outside query boundaries based on provided conditions"),
    ({"pk": {"S": "p"}}, "The provided starting key is invalid"),
    ({"pk": {"S": "p"}, "sk": {"N": "1"}}, "The provided starting key is invalid"),
    ({"pk": {"S": "p"}, "sk": {"S": "a"}, "extra": {"S": "x"}}, "The provided starting key is invalid"),
])
def test_exclusive_start_key_errors(ddb, tables, start_key, phrase):
    with pytest.raises(ClientError) as excinfo:
        ddb.query(TableName=tables["S"], KeyConditionExpression="pk = :p", ExpressionAttributeValues={":p": {"S": "p"}},
                  ExclusiveStartKey=start_key)
    assert_client_error(excinfo, "ValidationException", phrase)


# -- filters, Select, projection, consistency -----------------------------------------------


@pytest.fixture(scope="module")
def docs(ddb):
    name = create_table(ddb, range_key=("sk", "N"))
    requests = [{"PutRequest": {"Item": {
        "pk": {"S": "d"}, "sk": {"N": str(i)}, "odd": {"BOOL": i % 2 == 1}, "tag": {"S": f"t{i % 3}"},
        "doc": {"M": {"n": {"N": str(i)}, "l": {"L": [{"N": str(i)}, {"S": "x"}]}}}, "pad": {"S": "x" * 100},
    }}} for i in range(20)]
    for start in range(0, 20, 10):
        ddb.batch_write_item(RequestItems={name: requests[start:start + 10]})
    return name


def q(ddb, table, **params):
    return ddb.query(TableName=table, KeyConditionExpression="pk = :p",
                     ExpressionAttributeValues={":p": {"S": "d"}, **params.pop("values", {})}, **params)


def test_filter_expression_counts(ddb, docs):
    response = q(ddb, docs, FilterExpression="odd = :t AND tag <> :t0", values={":t": {"BOOL": True}, ":t0": {"S": "t0"}})
    expected = [i for i in range(20) if i % 2 == 1 and i % 3 != 0]
    assert [int(item["sk"]["N"]) for item in response["Items"]] == expected
    assert response["Count"] == len(expected)
    assert response["ScannedCount"] == 20


def test_filter_with_limit_counts_items_read(ddb, docs):
    response = q(ddb, docs, FilterExpression="odd = :t", values={":t": {"BOOL": True}}, Limit=5)
    assert response["ScannedCount"] == 5
    assert response["Count"] == 2  # 1 and 3 among 0..4
    assert response["LastEvaluatedKey"] == {"pk": {"S": "d"}, "sk": {"N": "4"}}
    # A page can come back empty yet not be the last one.
    response = q(ddb, docs, FilterExpression="sk2 = :t", values={":t": {"BOOL": True}}, Limit=3)
    assert response["Items"] == [] and response["Count"] == 0 and response["ScannedCount"] == 3
    assert "LastEvaluatedKey" in response


def test_filter_expression_on_key_attribute_refused(ddb, docs):
    for expression in ("sk > :n", "attribute_exists(pk)", "doc.n = :n OR size(sk) > :n"):
        with pytest.raises(ClientError) as excinfo:
            q(ddb, docs, FilterExpression=expression,
              values={":n": {"N": "1"}} if ":n" in expression else {})
        assert_client_error(excinfo, "ValidationException", "Filter Expression can only contain non-primary key attributes")
    with pytest.raises(ClientError) as excinfo:
        ddb.query(TableName=docs, KeyConditions={"pk": {"ComparisonOperator": "EQ", "AttributeValueList": [{"S": "d"}]}},
                  QueryFilter={"sk": {"ComparisonOperator": "GT", "AttributeValueList": [{"N": "1"}]}})
    assert_client_error(excinfo, "ValidationException", "QueryFilter can only contain non-primary key attributes: Primary key attribute: sk")


def test_select_count(ddb, docs):
    response = q(ddb, docs, Select="COUNT", FilterExpression="odd = :t", values={":t": {"BOOL": True}})
    assert "Items" not in response
    assert response["Count"] == 10 and response["ScannedCount"] == 20


def test_projection_and_select(ddb, docs):
    response = q(ddb, docs, ProjectionExpression="sk, doc.l[1], #t", ExpressionAttributeNames={"#t": "tag"}, Limit=2)
    assert response["Items"] == [
        {"sk": {"N": "0"}, "doc": {"M": {"l": {"L": [{"S": "x"}]}}}, "tag": {"S": "t0"}},
        {"sk": {"N": "1"}, "doc": {"M": {"l": {"L": [{"S": "x"}]}}}, "tag": {"S": "t1"}},
    ]
    response = q(ddb, docs, Select="SPECIFIC_ATTRIBUTES", ProjectionExpression="odd", Limit=1)
    assert response["Items"] == [{"odd": {"BOOL": False}}]
    response = q(ddb, docs, Select="ALL_ATTRIBUTES", Limit=1)
    assert set(response["Items"][0]) == {"pk", "sk", "odd", "tag", "doc", "pad"}
    response = ddb.query(TableName=docs, KeyConditions={"pk": {"ComparisonOperator": "EQ", "AttributeValueList": [{"S": "d"}]}},
                         AttributesToGet=["tag", "nope"], Limit=1)
    assert response["Items"] == [{"tag": {"S": "t0"}}]


@pytest.mark.parametrize("params,phrase", [
    (dict(Select="COUNT", ProjectionExpression="sk"), "Cannot specify the ProjectionExpression when choosing to get only the Count"),
    (dict(Select="ALL_ATTRIBUTES", ProjectionExpression="sk"), "Cannot specify the ProjectionExpression when choosing to get ALL_ATTRIBUTES"),
    (dict(Select="SPECIFIC_ATTRIBUTES"), "Must specify the AttributesToGet or ProjectionExpression when choosing to get SPECIFIC_ATTRIBUTES"),
    (dict(Select="ALL_PROJECTED_ATTRIBUTES"), "ALL_PROJECTED_ATTRIBUTES can be used only when Querying using an IndexName"),
    (dict(Limit=0), "Member must have value greater than or equal to 1"),
    (dict(IndexName="by-tag"), "secondary indexes"),
])
def test_query_parameter_errors(ddb_nv, docs, params, phrase):
    with pytest.raises(ClientError) as excinfo:
        q(ddb_nv, docs, **params)
    assert_client_error(excinfo, "ValidationException", phrase)


def test_consistent_read_sees_latest_write(ddb, docs):
    ddb.put_item(TableName=docs, Item={"pk": {"S": "fresh"}, "sk": {"N": "1"}, "v": {"N": "1"}})
    ddb.update_item(TableName=docs, Key={"pk": {"S": "fresh"}, "sk": {"N": "1"}}, UpdateExpression="ADD v :one",
                    ExpressionAttributeValues={":one": {"N": "1"}})
    for consistent in (True, False):
        response = ddb.query(TableName=docs, KeyConditionExpression="pk = :p", ConsistentRead=consistent,
                             ExpressionAttributeValues={":p": {"S": "fresh"}})
        assert response["Items"] == [{"pk": {"S": "fresh"}, "sk": {"N": "1"}, "v": {"N": "2"}}]


# -- the high-level Table resource ----------------------------------------------------------


def test_table_resource_query_with_key_and_attr(server, docs):
    tbl = server.resource().Table(docs)
    response = tbl.query(KeyConditionExpression=Key("pk").eq("d") & Key("sk").between(3, 12),
                         FilterExpression=Attr("odd").eq(True) & Attr("doc.n").gt(4) & ~Attr("tag").eq("t1"),
                         ScanIndexForward=False)
    assert [item["sk"] for item in response["Items"]] == [Decimal(11), Decimal(9), Decimal(5)]
    assert response["ScannedCount"] == 10
    for condition, expected in [
        (Key("sk").eq(4), [4]), (Key("sk").lt(2), [0, 1]), (Key("sk").lte(1), [0, 1]), (Key("sk").gt(17), [18, 19]),
        (Key("sk").gte(18), [18, 19]), (Key("sk").between(18, 100), [18, 19]),
    ]:
        items = tbl.query(KeyConditionExpression=Key("pk").eq("d") & condition)["Items"]
        assert [int(item["sk"]) for item in items] == expected


def test_table_resource_query_binary_prefix(server, tables):
    tbl = server.resource().Table(tables["B"])
    items = tbl.query(KeyConditionExpression=Key("pk").eq("p") & Key("sk").begins_with(b"\x00"))["Items"]
    assert [item["sk"] for item in items] == [Binary(b"\x00"), Binary(b"\x00\x00"), Binary(b"\x00\x01")]


def test_reserved_word_key_names_need_placeholders(ddb):
    name = create_table(ddb, hash_key=("name", "S"), range_key=("date", "N"))
    for d in range(5):
        ddb.put_item(TableName=name, Item={"name": {"S": "n"}, "date": {"N": str(d)}})
    response = ddb.query(TableName=name, KeyConditionExpression="#n = :n AND #d > :d",
                         ExpressionAttributeNames={"#n": "name", "#d": "date"},
                         ExpressionAttributeValues={":n": {"S": "n"}, ":d": {"N": "2"}})
    assert [item["date"]["N"] for item in response["Items"]] == ["3", "4"]
    with pytest.raises(ClientError) as excinfo:
        ddb.query(TableName=name, KeyConditionExpression="name = :n", ExpressionAttributeValues={":n": {"S": "n"}})
    assert_client_error(excinfo, "ValidationException",
                        "Invalid KeyConditionExpression: Attribute name is a reserved keyword; reserved keyword: name")


def test_key_condition_parts_in_any_order_and_parenthesized(ddb, tables):
    values = {":p": {"S": "p"}, ":a": {"N": "1"}}
    expected = [normal("N", k) for k in expected_keys("N", lambda x: x > 1)]
    for expression in ("sk > :a AND pk = :p", "(pk = :p) AND (sk > :a)", ":a < sk AND :p = pk"):
        items = ddb.query(TableName=tables["N"], KeyConditionExpression=expression, ExpressionAttributeValues=values)["Items"]
        assert sort_keys("N", items) == expected, expression


def test_equal_numbers_are_one_sort_key(ddb):
    name = create_table(ddb, range_key=("sk", "N"))
    ddb.put_item(TableName=name, Item={"pk": {"S": "n"}, "sk": {"N": "-0"}, "v": {"S": "zero"}})
    ddb.put_item(TableName=name, Item={"pk": {"S": "n"}, "sk": {"N": "1.0"}, "v": {"S": "first"}})
    ddb.put_item(TableName=name, Item={"pk": {"S": "n"}, "sk": {"N": "1"}, "v": {"S": "second"}})
    ddb.put_item(TableName=name, Item={"pk": {"S": "n"}, "sk": {"N": "10E-1"}, "v": {"S": "third"}})
    items = ddb.query(TableName=name, KeyConditionExpression="pk = :p", ExpressionAttributeValues={":p": {"S": "n"}})["Items"]
    assert items == [{"pk": {"S": "n"}, "sk": {"N": "0"}, "v": {"S": "zero"}},
                     {"pk": {"S": "n"}, "sk": {"N": "1"}, "v": {"S": "third"}}]
    items = ddb.query(TableName=name, KeyConditionExpression="pk = :p AND sk = :z",
                      ExpressionAttributeValues={":p": {"S": "n"}, ":z": {"N": "0.000"}})["Items"]
    assert [item["v"]["S"] for item in items] == ["zero"]


def test_paging_skips_deleted_items(ddb):
    name = create_table(ddb, range_key=("sk", "N"))
    for sk in range(10):
        ddb.put_item(TableName=name, Item={"pk": {"S": "d"}, "sk": {"N": str(sk)}})
    for sk in range(1, 10, 2):
        ddb.delete_item(TableName=name, Key={"pk": {"S": "d"}, "sk": {"N": str(sk)}})
    for forward in (True, False):
        pages = []
        params = dict(TableName=name, KeyConditionExpression="pk = :p", ExpressionAttributeValues={":p": {"S": "d"}},
                      Limit=2, ScanIndexForward=forward)
        while True:
            response = ddb.query(**params)
            pages.append([int(item["sk"]["N"]) for item in response["Items"]])
            assert response["ScannedCount"] == len(response["Items"])  # deleted items are not "read"
            if "LastEvaluatedKey" not in response:
                break
            params["ExclusiveStartKey"] = response["LastEvaluatedKey"]
        found = [sk for page in pages for sk in page]
        assert found == sorted([0, 2, 4, 6, 8], reverse=not forward)
        assert all(len(page) == 2 for page in pages[:2])
