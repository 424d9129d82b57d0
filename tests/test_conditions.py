"""ConditionExpression and the legacy Expected on PutItem / DeleteItem / UpdateItem: every
comparator and function, AND / OR / NOT precedence, comparisons across types, reserved words,
placeholders, ReturnValuesOnConditionCheckFailure and the refusal to mix legacy and expressions."""

from decimal import Decimal

import pytest
from boto3.dynamodb.conditions import Attr
from botocore.exceptions import ClientError

from conftest import assert_client_error, create_table

ITEM = {
    "pk": {"S": "c"},
    "s": {"S": "hello"},
    "up": {"S": "Hello"},
    "e": {"S": ""},
    "n": {"N": "10"},
    "neg": {"N": "-5.5"},
    "b": {"B": b"\x01\x02\x03"},
    "t": {"BOOL": True},
    "f": {"BOOL": False},
    "nul": {"NULL": True},
    "ss": {"SS": ["a", "b"]},
    "ns": {"NS": ["1", "2"]},
    "bs": {"BS": [b"\x01", b"\x02"]},
    "l": {"L": [{"N": "1"}, {"S": "two"}, {"M": {"x": {"N": "1"}}}]},
    "m": {"M": {"a": {"M": {"b": {"S": "deep"}}}, "n": {"N": "1"}}},
    "name": {"S": "reserved"},
    "status": {"S": "active"},
    "size": {"N": "3"},
    "n2": {"N": "3"},
    "emoji": {"S": "\U0001f600"},
    "big": {"N": "1E+125"},
    "tiny": {"N": "-1E-130"},
}


@pytest.fixture(scope="module")
def ctable(ddb):
    name = create_table(ddb)
    ddb.put_item(TableName=name, Item=ITEM)
    return name


def holds(ddb, table, expression, values=None, names=None):
    """Whether `expression` holds for ITEM: a conditional PutItem rewriting the same item."""
    params = dict(TableName=table, Item=ITEM, ConditionExpression=expression)
    if values:
        params["ExpressionAttributeValues"] = values
    if names:
        params["ExpressionAttributeNames"] = names
    try:
        ddb.put_item(**params)
        return True
    except ClientError as error:
        assert error.response["Error"]["Code"] == "ConditionalCheckFailedException", error.response
        return False


def V(**values):
    """`V(a=1, s="x")` → {":a": {"N": "1"}, ":s": {"S": "x"}}; bytes → B, bool → BOOL, dict passes through."""
    out = {}
    for name, value in values.items():
        if isinstance(value, dict):
            out[f":{name}"] = value
        elif isinstance(value, bool):
            out[f":{name}"] = {"BOOL": value}
        elif isinstance(value, (int, float, Decimal)):
            out[f":{name}"] = {"N": str(value)}
        elif isinstance(value, bytes):
            out[f":{name}"] = {"B": value}
        else:
            out[f":{name}"] = {"S": value}
    return out


CASES = [
    # comparators on numbers, strings (UTF-8 byte order) and binary
    ("n = :v", V(v=10), True), ("n = :v", V(v="10.00"), False), ("n = :v", V(v={"N": "1e1"}), True),
    ("n = :v", V(v={"N": "10.000"}), True), ("n <> :v", V(v=10), False), ("n <> :v", V(v=11), True),
    ("n < :v", V(v=11), True), ("n < :v", V(v=10), False), ("n <= :v", V(v=10), True), ("n <= :v", V(v=9), False),
    ("n > :v", V(v=9), True), ("n > :v", V(v=10), False), ("n >= :v", V(v=10), True), ("n >= :v", V(v=11), False),
    ("neg < :v", V(v=-5), True), ("neg > :v", V(v=-6), True), ("neg < :v", V(v={"N": "-5.51"}), False),
    ("s = :v", V(v="hello"), True), ("s = :v", V(v="Hello"), False), ("s < :v", V(v="hellp"), True),
    ("s > :v", V(v="hell"), True), ("up < s", None, True), ("s < :v", V(v="\u00e9"), True),
    ("e = :v", V(v=""), True), ("e < :v", V(v="a"), True),
    # strings order by UTF-8 bytes, not UTF-16 code units: U+1F600 (F0 9F 98 80) > U+FFFF (EF BF BF)
    ("emoji > :v", V(v="\uffff"), True), ("emoji < :v", V(v="\ufb00"), False),
    # the ends of the number range
    ("big > :v", V(v={"N": "9.9999999999999999999999999999999999999E+124"}), True), ("big = :v", V(v={"N": "1" + "0" * 125}), True),
    ("tiny < :v", V(v=0), True), ("tiny > :v", V(v={"N": "-2E-130"}), True), ("tiny < :v", V(v={"N": "1E-130"}), True),
    ("b = :v", V(v=b"\x01\x02\x03"), True), ("b < :v", V(v=b"\x01\x03"), True), ("b > :v", V(v=b"\x01\x02"), True),
    ("b < :v", V(v=b"\x01\x02"), False),
    ("t = :v", V(v=True), True), ("f = :v", V(v=True), False), ("f <> :v", V(v=True), True),
    ("nul = :v", V(v={"NULL": True}), True),
    # values on the left, paths on both sides
    (":v < n", V(v=9), True), (":v = s", V(v="hello"), True), ("n > n2", None, True), ("n2 < n", None, True),
    # documents and sets compare by value (sets ignore order; NS numerically)
    ("ss = :v", V(v={"SS": ["b", "a"]}), True), ("ss = :v", V(v={"SS": ["a"]}), False),
    ("ns = :v", V(v={"NS": ["2.0", "1"]}), True), ("bs = :v", V(v={"BS": [b"\x02", b"\x01"]}), True),
    ("l = :v", V(v=ITEM["l"]), True), ("l = :v", V(v={"L": [{"S": "two"}, {"N": "1"}, ITEM["l"]["L"][2]]}), False),
    ("m = :v", V(v={"M": {"n": {"N": "1"}, "a": {"M": {"b": {"S": "deep"}}}}}), True),
    ("m.a.b = :v", V(v="deep"), True), ("l[1] = :v", V(v="two"), True), ("l[2].x = :v", V(v=1), True),
    # across types: = is false, <> is true, ordering is false (never an error)
    ("n = :v", V(v="10"), False), ("n <> :v", V(v="10"), True), ("n < :v", V(v="99"), False),
    ("n > :v", V(v="0"), False), ("n >= :v", V(v=b"\x00"), False), ("s > :v", V(v=1), False),
    ("t < :v", V(v=True), False), ("ss < :v", V(v={"SS": ["z"]}), False), ("l = :v", V(v="x"), False),
    # missing attributes: = and ordering false, <> true
    ("nope = :v", V(v=1), False), ("nope <> :v", V(v=1), True), ("nope < :v", V(v=1), False),
    ("m.nope.deeper = :v", V(v=1), False), ("l[9] <> :v", V(v=1), True), ("s.x = :v", V(v=1), False),
    # BETWEEN (inclusive)
    ("n BETWEEN :a AND :b", V(a=5, b=10), True), ("n BETWEEN :a AND :b", V(a=10, b=10), True),
    ("n BETWEEN :a AND :b", V(a=11, b=20), False), ("s BETWEEN :a AND :b", V(a="a", b="i"), True),
    ("s BETWEEN :a AND :b", V(a="hello", b="hello"), True), ("n BETWEEN :a AND :b", V(a="a", b="z"), False),
    ("nope BETWEEN :a AND :b", V(a=1, b=2), False), ("b BETWEEN :a AND :b2", V(a=b"\x01", b2=b"\x02"), True),
    # IN
    ("n IN (:a, :b, :c)", V(a=1, b=10, c=100), True), ("n IN (:a)", V(a="10"), False),
    ("s IN (:a, :b)", V(a="x", b="hello"), True), ("nope IN (:a)", V(a=1), False),
    ("ss IN (:a)", V(a={"SS": ["b", "a"]}), True),
    # functions
    ("attribute_exists(s)", None, True), ("attribute_exists(nope)", None, False),
    ("attribute_not_exists(nope)", None, True), ("attribute_not_exists(s)", None, False),
    ("attribute_exists(m.a.b)", None, True), ("attribute_exists(m.a.c)", None, False),
    ("attribute_exists(l[2].x)", None, True), ("attribute_exists(l[3])", None, False),
    ("attribute_exists(nul)", None, True), ("attribute_exists(e)", None, True),
    ("begins_with(s, :p)", V(p="he"), True), ("begins_with(s, :p)", V(p="lo"), False),
    ("begins_with(s, :p)", V(p="hello!"), False),
    ("begins_with(b, :p)", V(p=b"\x01\x02"), True), ("begins_with(b, :p)", V(p=b"\x02"), False),
    ("begins_with(n, :p)", V(p="1"), False), ("begins_with(nope, :p)", V(p="x"), False),
    ("begins_with(m.a.b, :p)", V(p="de"), True),
    ("contains(s, :v)", V(v="ell"), True), ("contains(s, :v)", V(v="xyz"), False),
    ("contains(ss, :v)", V(v="a"), True), ("contains(ss, :v)", V(v="c"), False),
    ("contains(ns, :v)", V(v="2.00"), False), ("contains(ns, :v)", V(v={"N": "2.00"}), True),
    ("contains(bs, :v)", V(v=b"\x02"), True), ("contains(b, :v)", V(v=b"\x02\x03"), True),
    ("contains(l, :v)", V(v="two"), True), ("contains(l, :v)", V(v=1), True),
    ("contains(l, :v)", V(v="tw"), False),
    ("contains(nope, :v)", V(v="a"), False), ("contains(n, :v)", V(v=1), False),
    ("size(s) = :v", V(v=5), True), ("size(e) = :v", V(v=0), True), ("size(b) = :v", V(v=3), True),
    ("size(ss) = :v", V(v=2), True), ("size(ns) = :v", V(v=2), True), ("size(bs) = :v", V(v=2), True),
    ("size(l) = :v", V(v=3), True), ("size(m) = :v", V(v=2), True), ("size(m.a) = :v", V(v=1), True),
    ("size(s) > :v", V(v=4), True), ("size(s) BETWEEN :a AND :b", V(a=1, b=5), True),
    ("size(l) IN (:a, :b)", V(a=2, b=3), True), ("size(nope) >= :v", V(v=0), False),
    ("size(l) < size(s)", None, True),
]


@pytest.mark.parametrize("expression,values,expected", CASES, ids=[f"{i}:{c[0]}" for i, c in enumerate(CASES)])
def test_condition(ddb, ctable, expression, values, expected):
    assert holds(ddb, ctable, expression, values) is expected


ATTRIBUTE_TYPES = [("s", "S"), ("n", "N"), ("b", "B"), ("t", "BOOL"), ("nul", "NULL"), ("ss", "SS"), ("ns", "NS"),
                   ("bs", "BS"), ("l", "L"), ("m", "M")]


@pytest.mark.parametrize("attribute,type_name", ATTRIBUTE_TYPES)
def test_attribute_type(ddb, ctable, attribute, type_name):
    for _, candidate in ATTRIBUTE_TYPES:
        assert holds(ddb, ctable, "attribute_type(#a, :t)", {":t": {"S": candidate}}, {"#a": attribute}) is (
            candidate == type_name), candidate
    assert holds(ddb, ctable, "attribute_type(nope, :t)", {":t": {"S": type_name}}) is False


# -- AND / OR / NOT -------------------------------------------------------------------------

T, F = "n = :ten", "n = :zero"
LOGIC_VALUES = {":ten": {"N": "10"}, ":zero": {"N": "0"}}

LOGIC = [
    (f"{T} AND {T}", True), (f"{T} AND {F}", False), (f"{F} OR {T}", True), (f"{F} OR {F}", False),
    (f"NOT {F}", True), (f"NOT {T}", False), (f"NOT NOT {T}", True),
    # AND binds tighter than OR: T OR (F AND F), not (T OR F) AND F
    (f"{T} OR {F} AND {F}", True), (f"{F} AND {F} OR {T}", True), (f"({T} OR {F}) AND {F}", False),
    # NOT binds tighter than AND / OR: (NOT F) AND F, not NOT (F AND F)
    (f"NOT {F} AND {F}", False), (f"NOT ({F} AND {F})", True), (f"NOT {T} OR {T}", True), (f"NOT ({T} OR {T})", False),
    # chains and nesting
    (f"{T} AND {T} AND {T} AND {F}", False), (f"{F} OR {F} OR {F} OR {T}", True),
    (f"({F} OR ({T} AND (NOT {F}))) AND {T}", True), (f"{F} OR {T} AND NOT {T}", False),
    ("attribute_exists(s) AND NOT attribute_exists(nope) AND (s = :s OR n < :zero)", True),
    ("n BETWEEN :zero AND :ten AND NOT s IN (:s)", False),
]


@pytest.mark.parametrize("expression,expected", LOGIC, ids=[e for e, _ in LOGIC])
def test_logical_operators_and_precedence(ddb, ctable, expression, expected):
    values = {k: v for k, v in {**LOGIC_VALUES, ":s": {"S": "hello"}}.items() if k in expression}
    assert holds(ddb, ctable, expression, values) is expected


def test_keywords_are_case_insensitive(ddb, ctable):
    assert holds(ddb, ctable, "n = :ten and not n = :zero or n between :zero and :zero", LOGIC_VALUES)
    assert holds(ddb, ctable, "n In (:ten)", {":ten": {"N": "10"}})


# -- reserved words and placeholders --------------------------------------------------------


@pytest.mark.parametrize("word", ["name", "status", "size", "Name", "STATUS", "data", "count"])
def test_reserved_word_bare_is_refused(ddb, ctable, word):
    with pytest.raises(ClientError) as excinfo:
        ddb.put_item(TableName=ctable, Item=ITEM, ConditionExpression=f"{word} = :v", ExpressionAttributeValues={":v": {"S": "x"}})
    assert_client_error(excinfo, "ValidationException",
                        f"Invalid ConditionExpression: Attribute name is a reserved keyword; reserved keyword: {word}")


def test_reserved_word_in_nested_path_is_refused(ddb, ctable):
    with pytest.raises(ClientError) as excinfo:
        ddb.put_item(TableName=ctable, Item=ITEM, ConditionExpression="attribute_exists(m.status)")
    assert_client_error(excinfo, "ValidationException", "reserved keyword: status")


def test_reserved_words_through_placeholders(ddb, ctable):
    names = {"#name": "name", "#status": "status", "#size": "size"}
    assert holds(ddb, ctable, "#name = :n AND #status = :s AND #size = :three AND size(#status) = :six",
                 {":n": {"S": "reserved"}, ":s": {"S": "active"}, ":three": {"N": "3"}, ":six": {"N": "6"}}, names)
    # Words that are not reserved work bare (and names may contain digits and underscores).
    assert holds(ddb, ctable, "s = :v AND attribute_not_exists(not_a_keyword_2)", {":v": {"S": "hello"}})


def test_placeholder_for_name_with_special_characters(ddb, table):
    item = {"pk": {"S": "odd"}, "a.b": {"S": "dotted"}, "a": {"M": {"b": {"S": "nested"}}}, "x y": {"N": "1"}}
    ddb.put_item(TableName=table, Item=item)
    ddb.put_item(TableName=table, Item=item, ConditionExpression="#ab = :dotted AND #a.#b = :nested AND #xy = :one",
                 ExpressionAttributeNames={"#ab": "a.b", "#a": "a", "#b": "b", "#xy": "x y"},
                 ExpressionAttributeValues={":dotted": {"S": "dotted"}, ":nested": {"S": "nested"}, ":one": {"N": "1"}})


@pytest.mark.parametrize("expression,values,names,message", [
    ("s = :nope", {":v": {"S": "x"}}, None,
     "Invalid ConditionExpression: An expression attribute value used in expression is not defined; attribute value: :nope"),
    ("#nope = :v", {":v": {"S": "x"}}, None,
     "Invalid ConditionExpression: An expression attribute name used in the document path is not defined; attribute name: #nope"),
    ("s = :v", {":v": {"S": "x"}, ":unused": {"S": "y"}, ":also": {"N": "1"}}, None,
     "Value provided in ExpressionAttributeValues unused in expressions: keys: {:also, :unused}"),
    ("s = :v", {":v": {"S": "x"}}, {"#unused": "s"},
     "Value provided in ExpressionAttributeNames unused in expressions: keys: {#unused}"),
    ("attribute_exists(s)", None, {}, "ExpressionAttributeNames must not be empty"),
    ("attribute_exists(s)", {}, None, "ExpressionAttributeValues must not be empty"),
])
def test_placeholder_errors(ddb, ctable, expression, values, names, message):
    params = dict(TableName=ctable, Item={**ITEM, "changed": {"BOOL": True}}, ConditionExpression=expression)
    if values is not None:
        params["ExpressionAttributeValues"] = values
    if names is not None:
        params["ExpressionAttributeNames"] = names
    with pytest.raises(ClientError) as excinfo:
        ddb.put_item(**params)
    assert_client_error(excinfo, "ValidationException", message)
    assert "changed" not in ddb.get_item(TableName=ctable, Key={"pk": ITEM["pk"]}, ConsistentRead=True)["Item"]


# -- writes, old items, nope items -------------------------------------------------------


def test_conditions_on_a_nope_item(ddb, table):
    key = {"pk": {"S": "absent"}}
    item = {**key, "v": {"N": "1"}}
    for expression, values, expected in [
        ("attribute_exists(pk)", None, False), ("v = :one", {":one": {"N": "1"}}, False),
        ("v <> :one", {":one": {"N": "1"}}, True), ("NOT attribute_exists(v)", None, True),
    ]:
        if expected:
            ddb.put_item(TableName=table, Item=item, ConditionExpression=expression,
                         **({"ExpressionAttributeValues": values} if values else {}))
            ddb.delete_item(TableName=table, Key=key)
        else:
            with pytest.raises(ClientError) as excinfo:
                ddb.put_item(TableName=table, Item=item, ConditionExpression=expression,
                             ReturnValuesOnConditionCheckFailure="ALL_OLD",
                             **({"ExpressionAttributeValues": values} if values else {}))
            assert_client_error(excinfo, "ConditionalCheckFailedException", "The conditional request failed")
            assert "Item" not in excinfo.value.response  # nothing old to return
            assert "Item" not in ddb.get_item(TableName=table, Key=key, ConsistentRead=True)


def test_put_if_absent_then_optimistic_update(ddb, table):
    item = {"pk": {"S": "doc"}, "version": {"N": "1"}, "body": {"S": "v1"}}
    ddb.put_item(TableName=table, Item=item, ConditionExpression="attribute_not_exists(pk)")
    new = {**item, "version": {"N": "2"}, "body": {"S": "v2"}}
    ddb.put_item(TableName=table, Item=new, ConditionExpression="version = :seen", ExpressionAttributeValues={":seen": {"N": "1"}})
    stale = {**item, "version": {"N": "2"}, "body": {"S": "stale"}}
    with pytest.raises(ClientError) as excinfo:
        ddb.put_item(TableName=table, Item=stale, ConditionExpression="version = :seen",
                     ExpressionAttributeValues={":seen": {"N": "1"}}, ReturnValuesOnConditionCheckFailure="ALL_OLD",
                     ReturnValues="ALL_OLD")
    assert_client_error(excinfo, "ConditionalCheckFailedException")
    assert excinfo.value.response["Item"] == new
    assert ddb.get_item(TableName=table, Key={"pk": {"S": "doc"}}, ConsistentRead=True)["Item"] == new


def test_delete_condition_return_old_on_failure(ddb, table):
    item = {"pk": {"S": "del"}, "state": {"S": "locked"}}
    ddb.put_item(TableName=table, Item=item)
    with pytest.raises(ClientError) as excinfo:
        ddb.delete_item(TableName=table, Key={"pk": {"S": "del"}}, ConditionExpression="#st = :open",
                        ExpressionAttributeNames={"#st": "state"}, ExpressionAttributeValues={":open": {"S": "open"}},
                        ReturnValuesOnConditionCheckFailure="ALL_OLD")
    assert_client_error(excinfo, "ConditionalCheckFailedException")
    assert excinfo.value.response["Item"] == item
    response = ddb.delete_item(TableName=table, Key={"pk": {"S": "del"}}, ConditionExpression="#st = :locked",
                               ExpressionAttributeNames={"#st": "state"}, ExpressionAttributeValues={":locked": {"S": "locked"}},
                               ReturnValues="ALL_OLD")
    assert response["Attributes"] == item


def test_return_values_on_condition_check_failure_invalid(ddb_nv, table):
    with pytest.raises(ClientError) as excinfo:
        ddb_nv.put_item(TableName=table, Item={"pk": {"S": "x"}}, ConditionExpression="attribute_not_exists(pk)",
                        ReturnValuesOnConditionCheckFailure="ALL_NEW")
    assert_client_error(excinfo, "ValidationException", "Member must satisfy enum value set")


def test_table_resource_conditions(server, table):
    tbl = server.resource().Table(table)
    tbl.put_item(Item={"pk": "r", "n": 5, "tags": {"a", "b"}, "s": "prefix-rest", "l": [1, 2, 3]})
    passing = [
        Attr("n").eq(5), Attr("n").ne(6), Attr("n").lt(6), Attr("n").lte(5), Attr("n").gt(4), Attr("n").gte(5),
        Attr("n").between(1, 5), Attr("n").is_in([4, 5]), Attr("s").begins_with("prefix"), Attr("tags").contains("a"),
        Attr("l").size().eq(3), Attr("n").exists(), Attr("zz").not_exists(), Attr("tags").attribute_type("SS"),
        Attr("n").eq(5) & ~Attr("n").eq(6), Attr("n").eq(0) | Attr("s").contains("rest"),
        (Attr("n").gt(100) | Attr("n").lt(100)) & Attr("l").size().between(2, 3),
    ]
    for condition in passing:
        tbl.put_item(Item={"pk": "r", "n": 5, "tags": {"a", "b"}, "s": "prefix-rest", "l": [1, 2, 3]},
                     ConditionExpression=condition)
    failing = [Attr("n").eq(6), Attr("n").is_in([1]), Attr("s").begins_with("rest"), Attr("n").not_exists(),
               Attr("tags").attribute_type("NS"), ~Attr("n").between(0, 10), Attr("n").eq(5) & Attr("n").eq(6)]
    for condition in failing:
        with pytest.raises(ClientError) as excinfo:
            tbl.put_item(Item={"pk": "r", "changed": True}, ConditionExpression=condition)
        assert_client_error(excinfo, "ConditionalCheckFailedException")
    assert "changed" not in tbl.get_item(Key={"pk": "r"}, ConsistentRead=True)["Item"]


# -- legacy Expected ------------------------------------------------------------------------


EXPECTED_CASES = [
    ({"n": {"Value": {"N": "10"}}}, None, True),
    ({"n": {"Value": {"N": "11"}}}, None, False),
    ({"n": {"Value": {"N": "10"}, "Exists": True}}, None, True),
    ({"nope": {"Exists": False}}, None, True),
    ({"n": {"Exists": False}}, None, False),
    ({"n": {"ComparisonOperator": "EQ", "AttributeValueList": [{"N": "10"}]}}, None, True),
    ({"n": {"ComparisonOperator": "NE", "AttributeValueList": [{"N": "10"}]}}, None, False),
    ({"nope": {"ComparisonOperator": "NE", "AttributeValueList": [{"N": "10"}]}}, None, True),
    ({"n": {"ComparisonOperator": "LT", "AttributeValueList": [{"N": "11"}]}}, None, True),
    ({"n": {"ComparisonOperator": "LE", "AttributeValueList": [{"N": "9"}]}}, None, False),
    ({"n": {"ComparisonOperator": "GT", "AttributeValueList": [{"N": "9"}]}}, None, True),
    ({"n": {"ComparisonOperator": "GE", "AttributeValueList": [{"N": "11"}]}}, None, False),
    ({"n": {"ComparisonOperator": "GT", "AttributeValueList": [{"S": "9"}]}}, None, False),
    ({"n": {"ComparisonOperator": "BETWEEN", "AttributeValueList": [{"N": "1"}, {"N": "10"}]}}, None, True),
    ({"n": {"ComparisonOperator": "IN", "AttributeValueList": [{"N": "1"}, {"N": "10"}]}}, None, True),
    ({"s": {"ComparisonOperator": "BEGINS_WITH", "AttributeValueList": [{"S": "hel"}]}}, None, True),
    ({"s": {"ComparisonOperator": "CONTAINS", "AttributeValueList": [{"S": "ll"}]}}, None, True),
    ({"ss": {"ComparisonOperator": "CONTAINS", "AttributeValueList": [{"S": "c"}]}}, None, False),
    ({"ss": {"ComparisonOperator": "NOT_CONTAINS", "AttributeValueList": [{"S": "c"}]}}, None, True),
    ({"nope": {"ComparisonOperator": "NOT_CONTAINS", "AttributeValueList": [{"S": "c"}]}}, None, False),
    ({"nope": {"ComparisonOperator": "NULL"}}, None, True),
    ({"n": {"ComparisonOperator": "NOT_NULL"}}, None, True),
    ({"n": {"ComparisonOperator": "NULL"}}, None, False),
    # ConditionalOperator across several attributes
    ({"n": {"Value": {"N": "10"}}, "s": {"Value": {"S": "nope"}}}, "AND", False),
    ({"n": {"Value": {"N": "10"}}, "s": {"Value": {"S": "nope"}}}, None, False),
    ({"n": {"Value": {"N": "10"}}, "s": {"Value": {"S": "nope"}}}, "OR", True),
    ({"n": {"Value": {"N": "0"}}, "s": {"Value": {"S": "nope"}}}, "OR", False),
    ({"n": {"Value": {"N": "10"}}, "nope": {"Exists": False}, "s": {"ComparisonOperator": "NOT_NULL"}}, "AND", True),
]


@pytest.mark.parametrize("expected,operator,outcome", EXPECTED_CASES)
def test_legacy_expected(ddb, ctable, expected, operator, outcome):
    params = dict(TableName=ctable, Item=ITEM, Expected=expected)
    if operator:
        params["ConditionalOperator"] = operator
    if outcome:
        ddb.put_item(**params)
    else:
        with pytest.raises(ClientError) as excinfo:
            ddb.put_item(**params)
        assert_client_error(excinfo, "ConditionalCheckFailedException", "The conditional request failed")


def test_legacy_expected_on_delete_and_update(ddb, table):
    ddb.put_item(TableName=table, Item={"pk": {"S": "lx"}, "v": {"N": "1"}})
    with pytest.raises(ClientError) as excinfo:
        ddb.delete_item(TableName=table, Key={"pk": {"S": "lx"}}, Expected={"v": {"Value": {"N": "2"}}})
    assert_client_error(excinfo, "ConditionalCheckFailedException")
    ddb.update_item(TableName=table, Key={"pk": {"S": "lx"}}, AttributeUpdates={"w": {"Value": {"S": "x"}}},
                    Expected={"v": {"ComparisonOperator": "GE", "AttributeValueList": [{"N": "1"}]}})
    ddb.delete_item(TableName=table, Key={"pk": {"S": "lx"}},
                    Expected={"v": {"Value": {"N": "1"}}, "w": {"Exists": True, "Value": {"S": "x"}}})
    assert "Item" not in ddb.get_item(TableName=table, Key={"pk": {"S": "lx"}}, ConsistentRead=True)


@pytest.mark.parametrize("expected,operator,phrase", [
    ({"n": {"Exists": False, "Value": {"N": "1"}}}, None, "Value cannot be used when Exists is false for Attribute: n"),
    ({"n": {"Exists": True}}, None, "Value must be provided when Exists is true for Attribute: n"),
    ({"n": {}}, None, "Value must be provided when Exists is null for Attribute: n"),
    ({"n": {"Exists": True, "ComparisonOperator": "EQ", "AttributeValueList": [{"N": "1"}]}}, None,
     "Exists and ComparisonOperator cannot be used together for Attribute: n"),
    ({"n": {"ComparisonOperator": "BETWEEN", "AttributeValueList": [{"N": "1"}]}}, None,
     "Invalid number of argument(s) for the BETWEEN ComparisonOperator"),
    ({"n": {"ComparisonOperator": "NULL", "AttributeValueList": [{"N": "1"}]}}, None,
     "Invalid number of argument(s) for the NULL ComparisonOperator"),
    ({"n": {"ComparisonOperator": "LT", "AttributeValueList": [{"SS": ["a"]}]}}, None,
     "ComparisonOperator LT is not valid for SS AttributeValue type"),
    ({"n": {"ComparisonOperator": "ALMOST", "AttributeValueList": [{"N": "1"}]}}, None, "Member must satisfy enum value set"),
    ({"n": {"Value": {"N": "10"}}, "s": {"Value": {"S": "x"}}}, "XOR", "Member must satisfy enum value set: [OR, AND]"),
])
def test_legacy_expected_errors(ddb_nv, ctable, expected, operator, phrase):
    params = dict(TableName=ctable, Item={**ITEM, "changed": {"BOOL": True}}, Expected=expected)
    if operator:
        params["ConditionalOperator"] = operator
    with pytest.raises(ClientError) as excinfo:
        ddb_nv.put_item(**params)
    assert_client_error(excinfo, "ValidationException", phrase)
    assert "changed" not in ddb_nv.get_item(TableName=ctable, Key={"pk": ITEM["pk"]}, ConsistentRead=True)["Item"]


def test_conditional_operator_without_expected(ddb, table):
    with pytest.raises(ClientError) as excinfo:
        ddb.put_item(TableName=table, Item={"pk": {"S": "co"}}, ConditionalOperator="AND")
    assert_client_error(excinfo, "ValidationException", "ConditionalOperator can only be used when Filter or Expected has two or more elements")
    assert "Item" not in ddb.get_item(TableName=table, Key={"pk": {"S": "co"}}, ConsistentRead=True)


# -- mixing legacy and expression parameters -------------------------------------------------


MIXED = "Can not use both expression and non-expression parameters in the same request"


@pytest.mark.parametrize("operation,params,legacy,expression", [
    ("put_item", dict(Item={"pk": {"S": "mix"}}, ConditionExpression="attribute_not_exists(pk)",
                      Expected={"pk": {"Exists": False}}), "Expected", "ConditionExpression"),
    ("delete_item", dict(Key={"pk": {"S": "mix"}}, ConditionExpression="attribute_exists(pk)",
                         Expected={"pk": {"Exists": False}}), "Expected", "ConditionExpression"),
    ("update_item", dict(Key={"pk": {"S": "mix"}}, UpdateExpression="SET a = :v", ExpressionAttributeValues={":v": {"S": "x"}},
                         Expected={"pk": {"Exists": False}}), "Expected", "UpdateExpression"),
    ("update_item", dict(Key={"pk": {"S": "mix"}}, AttributeUpdates={"a": {"Value": {"S": "x"}}},
                         ConditionExpression="attribute_not_exists(pk)"), "AttributeUpdates", "ConditionExpression"),
    ("put_item", dict(Item={"pk": {"S": "mix"}}, ConditionExpression="attribute_not_exists(pk)",
                      ConditionalOperator="OR"), "ConditionalOperator", "ConditionExpression"),
    ("get_item", dict(Key={"pk": {"S": "mix"}}, ProjectionExpression="pk", AttributesToGet=["pk"]),
     "AttributesToGet", "ProjectionExpression"),
    ("query", dict(KeyConditionExpression="pk = :v", ExpressionAttributeValues={":v": {"S": "mix"}},
                   QueryFilter={"a": {"ComparisonOperator": "NOT_NULL"}}), "QueryFilter", "KeyConditionExpression"),
    ("query", dict(KeyConditions={"pk": {"ComparisonOperator": "EQ", "AttributeValueList": [{"S": "mix"}]}},
                   FilterExpression="attribute_exists(a)"), "KeyConditions", "FilterExpression"),
    ("scan", dict(FilterExpression="attribute_exists(a)", ScanFilter={"a": {"ComparisonOperator": "NOT_NULL"}}),
     "ScanFilter", "FilterExpression"),
])
def test_mixing_legacy_and_expression_parameters(ddb, table, operation, params, legacy, expression):
    with pytest.raises(ClientError) as excinfo:
        getattr(ddb, operation)(TableName=table, **params)
    assert_client_error(excinfo, "ValidationException",
                        f"{MIXED}: Non-expression parameters: {{{legacy}}} Expression parameters: {{{expression}}}")
    assert "Item" not in ddb.get_item(TableName=table, Key={"pk": {"S": "mix"}}, ConsistentRead=True)


def test_mixing_lists_every_parameter(ddb, table):
    with pytest.raises(ClientError) as excinfo:
        ddb.update_item(TableName=table, Key={"pk": {"S": "mix"}}, UpdateExpression="SET a = :v",
                        ConditionExpression="attribute_exists(a)", ExpressionAttributeValues={":v": {"S": "x"}},
                        Expected={"a": {"Exists": False}}, AttributeUpdates={"b": {"Value": {"S": "x"}}})
    message = excinfo.value.response["Error"]["Message"]
    assert message.startswith(MIXED), message
    assert "AttributeUpdates" in message and "Expected" in message
    assert "ConditionExpression" in message and "UpdateExpression" in message


def test_expression_attribute_names_without_expression(ddb, table):
    with pytest.raises(ClientError) as excinfo:
        ddb.put_item(TableName=table, Item={"pk": {"S": "ean"}}, Expected={"pk": {"Exists": False}},
                     ExpressionAttributeNames={"#p": "pk"})
    assert_client_error(excinfo, "ValidationException", "ExpressionAttributeNames can only be specified when using expressions")
