"""UpdateItem through boto3: every UpdateExpression construct (SET with + / -, if_not_exists,
list_append; REMOVE; ADD; DELETE), nested map paths and list indexes, the clause and path rules,
key protection, type errors, every ReturnValues mode, and the legacy AttributeUpdates."""

from decimal import Decimal

import pytest
from boto3.dynamodb.conditions import Attr
from boto3.dynamodb.types import Binary
from botocore.exceptions import ClientError

from conftest import assert_client_error, create_table, normalize_item

KEY = {"pk": {"S": "u"}}


def get(ddb, table, key=KEY):
    return ddb.get_item(TableName=table, Key=key, ConsistentRead=True).get("Item")


def update(ddb, table, expression, values=None, names=None, key=KEY, **extra):
    params = dict(TableName=table, Key=key, UpdateExpression=expression, **extra)
    if values is not None:
        params["ExpressionAttributeValues"] = values
    if names is not None:
        params["ExpressionAttributeNames"] = names
    return ddb.update_item(**params)


def N(v):
    return {"N": str(v)}


def S(v):
    return {"S": v}


def update_fails(ddb, table, expression, values=None, names=None, code="ValidationException", phrase=None, key=KEY,
                 **extra):
    """The update is refused with `code`/`phrase`, and the stored item is left exactly as it was."""
    before = get(ddb, table, key)
    with pytest.raises(ClientError) as excinfo:
        update(ddb, table, expression, values, names, key=key, **extra)
    assert_client_error(excinfo, code, phrase)
    assert get(ddb, table, key) == before
    return excinfo


# -- SET ------------------------------------------------------------------------------------


def test_update_creates_missing_item(ddb, table):
    response = update(ddb, table, "SET a = :a, b = :b", {":a": S("x"), ":b": N(2)})
    assert "Attributes" not in response
    assert get(ddb, table) == {"pk": S("u"), "a": S("x"), "b": N(2)}


def test_update_without_actions_creates_key_only_item(ddb, table):
    ddb.update_item(TableName=table, Key={"pk": S("bare")})
    assert get(ddb, table, {"pk": S("bare")}) == {"pk": S("bare")}


def test_set_overwrites_and_keeps_other_attributes(ddb, table):
    ddb.put_item(TableName=table, Item={"pk": S("u"), "a": S("old"), "keep": {"BOOL": True}})
    update(ddb, table, "SET a = :v", {":v": {"L": [N(1)]}})
    assert get(ddb, table) == {"pk": S("u"), "a": {"L": [N(1)]}, "keep": {"BOOL": True}}


def test_set_every_type(ddb, table):
    values = {":s": S("s"), ":n": N("-1.5"), ":b": {"B": b"\x00\xff"}, ":t": {"BOOL": False}, ":z": {"NULL": True},
              ":m": {"M": {"k": S("v")}}, ":l": {"L": []}, ":ss": {"SS": ["a", "b"]}, ":ns": {"NS": ["1", "2"]},
              ":bs": {"BS": [b"\x01"]}}
    update(ddb, table, "SET " + ", ".join(f"v_{name[1:]} = {name}" for name in values), values)
    expected = {"pk": S("u"), **{f"v_{name[1:]}": value for name, value in values.items()}}
    assert normalize_item(get(ddb, table)) == normalize_item(expected)


def test_set_plus_and_minus(ddb, table):
    ddb.put_item(TableName=table, Item={"pk": S("u"), "n": N(10), "f": N("0.1")})
    update(ddb, table, "SET n = n + :d, m = n - :d, f = f + :f, neg = :a - :b, twice = n + n",
           {":d": N(3), ":f": N("0.2"), ":a": N("1"), ":b": N("2.75")})
    item = get(ddb, table)
    # Every right-hand side reads the old item: m is 10 - 3, not 13 - 3.
    assert item["n"] == N(13)
    assert item["m"] == N(7)
    assert item["f"] == N("0.3")  # exact decimal arithmetic, not binary floating point
    assert item["neg"] == N("-1.75")
    assert item["twice"] == N(20)


def test_set_arithmetic_with_parentheses(ddb, table):
    ddb.put_item(TableName=table, Item={"pk": S("u"), "n": N(5)})
    update(ddb, table, "SET n = (n + :one)", {":one": N(1)})
    assert get(ddb, table)["n"] == N(6)


def test_set_arithmetic_on_missing_attribute_is_refused(ddb, table):
    ddb.put_item(TableName=table, Item={"pk": S("u")})
    update_fails(ddb, table, "SET n = n + :one", {":one": N(1)},
                 phrase="The provided expression refers to an attribute that does not exist in the item")


def test_set_copies_from_other_paths_and_swaps(ddb, table):
    ddb.put_item(TableName=table, Item={"pk": S("u"), "a": S("A"), "b": S("B"), "m": {"M": {"x": N(1)}}})
    update(ddb, table, "SET a = b, b = a, c = m.x")
    assert get(ddb, table) == {"pk": S("u"), "a": S("B"), "b": S("A"), "c": N(1), "m": {"M": {"x": N(1)}}}


def test_if_not_exists(ddb, table):
    for _ in range(3):
        update(ddb, table, "SET hits = if_not_exists(hits, :zero) + :one, seen = if_not_exists(seen, :now)",
               {":zero": N(0), ":one": N(1), ":now": S("t0")})
    update(ddb, table, "SET seen = if_not_exists(seen, :later)", {":later": S("t1")})
    item = get(ddb, table)
    assert item["hits"] == N(3)
    assert item["seen"] == S("t0")


def test_if_not_exists_reads_another_path(ddb, table):
    ddb.put_item(TableName=table, Item={"pk": S("u"), "src": S("from-src")})
    update(ddb, table, "SET a = if_not_exists(src, :d), b = if_not_exists(nope, :d)", {":d": S("default")})
    item = get(ddb, table)
    assert item["a"] == S("from-src")
    assert item["b"] == S("default")


def test_list_append(ddb, table):
    update(ddb, table, "SET l = list_append(if_not_exists(l, :empty), :tail)",
           {":empty": {"L": []}, ":tail": {"L": [N(1), N(2)]}})
    update(ddb, table, "SET l = list_append(l, :tail)", {":tail": {"L": [S("end")]}})
    update(ddb, table, "SET l = list_append(:head, l)", {":head": {"L": [{"BOOL": True}]}})
    assert get(ddb, table)["l"] == {"L": [{"BOOL": True}, N(1), N(2), S("end")]}


def test_list_append_two_literals_and_two_paths(ddb, table):
    ddb.put_item(TableName=table, Item={"pk": S("u"), "x": {"L": [N(1)]}, "y": {"L": [N(2)]}})
    update(ddb, table, "SET joined = list_append(x, y), lit = list_append(:a, :b)",
           {":a": {"L": [S("a")]}, ":b": {"L": [S("b")]}})
    item = get(ddb, table)
    assert item["joined"] == {"L": [N(1), N(2)]}
    assert item["lit"] == {"L": [S("a"), S("b")]}


# -- REMOVE ---------------------------------------------------------------------------------


def test_remove_attributes(ddb, table):
    ddb.put_item(TableName=table, Item={"pk": S("u"), "a": S("1"), "b": S("2"), "c": S("3")})
    update(ddb, table, "REMOVE a, c, not_there")
    assert get(ddb, table) == {"pk": S("u"), "b": S("2")}


def test_remove_list_indexes_refer_to_the_old_list(ddb, table):
    ddb.put_item(TableName=table, Item={"pk": S("u"), "l": {"L": [S(c) for c in "abcdef"]}})
    update(ddb, table, "REMOVE l[1], l[3], l[99]")
    assert get(ddb, table)["l"] == {"L": [S("a"), S("c"), S("e"), S("f")]}


def test_remove_nested_member(ddb, table):
    ddb.put_item(TableName=table, Item={"pk": S("u"), "m": {"M": {"a": {"M": {"b": N(1), "c": N(2)}}, "d": N(3)}}})
    update(ddb, table, "REMOVE m.a.b, m.d")
    assert get(ddb, table)["m"] == {"M": {"a": {"M": {"c": N(2)}}}}


# -- ADD / DELETE ---------------------------------------------------------------------------


def test_add_number(ddb, table):
    update(ddb, table, "ADD n :v", {":v": N(5)})  # missing attribute: ADD starts from 0
    update(ddb, table, "ADD n :v", {":v": N("-7.5")})
    assert get(ddb, table)["n"] == N("-2.5")


@pytest.mark.parametrize("kind,first,second,union,remaining", [
    ("SS", ["a", "b"], ["b", "c"], ["a", "b", "c"], ["a"]),
    ("NS", ["1", "2.5"], ["2.50", "-3"], ["-3", "1", "2.5"], ["1"]),       # NS members compare numerically
    ("BS", [b"\x00", b"\x01"], [b"\x01", b"\xff"], [b"\x00", b"\x01", b"\xff"], [b"\x00"]),
])
def test_add_and_delete_sets(ddb, table, kind, first, second, union, remaining):
    update(ddb, table, "ADD s :v", {":v": {kind: first}})  # creates the set
    update(ddb, table, "ADD s :v", {":v": {kind: second}})
    assert normalize_item(get(ddb, table))["s"] == {kind: sorted(union)}
    update(ddb, table, "DELETE s :v", {":v": {kind: second}})
    assert normalize_item(get(ddb, table))["s"] == {kind: remaining}
    # Deleting every remaining element removes the attribute (sets cannot be empty).
    update(ddb, table, "DELETE s :v", {":v": {kind: union}})
    assert "s" not in get(ddb, table)


def test_delete_from_missing_attribute_is_a_no_op(ddb, table):
    ddb.put_item(TableName=table, Item={"pk": S("u")})
    update(ddb, table, "DELETE s :v", {":v": {"SS": ["x"]}})
    assert get(ddb, table) == {"pk": S("u")}


@pytest.mark.parametrize("clause,value,type_name", [
    ("ADD", S("x"), "STRING"), ("ADD", {"L": [N(1)]}, "LIST"), ("ADD", {"M": {}}, "MAP"),
    ("ADD", {"BOOL": True}, "BOOLEAN"), ("ADD", {"B": b"x"}, "BINARY"), ("ADD", {"NULL": True}, "NULL"),
    ("DELETE", N(1), "NUMBER"), ("DELETE", S("x"), "STRING"), ("DELETE", {"L": []}, "LIST"),
])
def test_add_delete_operand_type_refused(ddb, table, clause, value, type_name):
    ddb.put_item(TableName=table, Item={"pk": S("u"), "a": N(1)})
    update_fails(ddb, table, f"{clause} a :v", {":v": value},
                 phrase=f"Invalid UpdateExpression: Incorrect operand type for operator or function; "
                        f"operator: {clause}, operand type: {type_name}")


@pytest.mark.parametrize("stored,expression,value", [
    (S("text"), "ADD a :v", N(1)),
    ({"SS": ["x"]}, "ADD a :v", N(1)),
    ({"NS": ["1"]}, "ADD a :v", {"SS": ["x"]}),
    (N(1), "ADD a :v", {"SS": ["x"]}),
    ({"L": [N(1)]}, "ADD a :v", {"NS": ["1"]}),
    ({"NS": ["1"]}, "DELETE a :v", {"SS": ["1"]}),
    (S("text"), "DELETE a :v", {"SS": ["text"]}),
])
def test_add_delete_on_wrong_stored_type_refused(ddb, table, stored, expression, value):
    ddb.put_item(TableName=table, Item={"pk": S("u"), "a": stored})
    update_fails(ddb, table, expression, {":v": value}, phrase="An operand in the update expression has an incorrect data type")


# -- all four clauses, nested paths, list indexes ---------------------------------------------


def test_all_clauses_in_one_expression(ddb, table):
    ddb.put_item(TableName=table, Item={"pk": S("u"), "gone": S("x"), "n": N(1), "tags": {"SS": ["a", "b"]}})
    update(ddb, table, "SET s = :s REMOVE gone ADD n :one DELETE tags :a",
           {":s": S("new"), ":one": N(1), ":a": {"SS": ["a"]}})
    assert get(ddb, table) == {"pk": S("u"), "s": S("new"), "n": N(2), "tags": {"SS": ["b"]}}


def test_clauses_in_any_order_and_case(ddb, table):
    ddb.put_item(TableName=table, Item={"pk": S("u"), "gone": S("x"), "tags": {"SS": ["a", "b"]}})
    update(ddb, table, "delete tags :a add n :one remove gone set s = :s",
           {":s": S("new"), ":one": N(1), ":a": {"SS": ["a"]}})
    assert get(ddb, table) == {"pk": S("u"), "s": S("new"), "n": N(1), "tags": {"SS": ["b"]}}


def test_nested_map_paths(ddb, table):
    ddb.put_item(TableName=table, Item={"pk": S("u"), "m": {"M": {"a": {"M": {"b": N(1)}}, "n": N(1)}}})
    update(ddb, table, "SET m.a.c = :v, m.a.b = m.a.b + :one, m.#dot = :v ADD m.n :one",
           {":v": S("x"), ":one": N(1)}, names={"#dot": "with.dot"})
    assert get(ddb, table)["m"] == {"M": {"a": {"M": {"b": N(2), "c": S("x")}}, "n": N(2), "with.dot": S("x")}}


def test_list_index_paths(ddb, table):
    ddb.put_item(TableName=table, Item={"pk": S("u"), "l": {"L": [N(0), {"M": {"x": N(1)}}, {"L": [S("a")]}]}})
    update(ddb, table, "SET l[0] = :v, l[1].x = l[1].x + :one, l[2][0] = :v, l[7] = :end, l[9] = :end2",
           {":v": S("set"), ":one": N(1), ":end": S("appended"), ":end2": S("appended2")})
    # An index past the end appends, in index order.
    assert get(ddb, table)["l"] == {"L": [S("set"), {"M": {"x": N(2)}}, {"L": [S("set")]}, S("appended"), S("appended2")]}


def test_nested_set_and_add_inside_list(ddb, table):
    ddb.put_item(TableName=table, Item={"pk": S("u"), "l": {"L": [{"M": {"tags": {"SS": ["a"]}}}]}})
    update(ddb, table, "ADD l[0].tags :t, l[0].cnt :one", {":t": {"SS": ["b"]}, ":one": N(1)})
    item = normalize_item(get(ddb, table))
    assert item["l"] == {"L": [{"M": {"tags": {"SS": ["a", "b"]}, "cnt": N(1)}}]}


@pytest.mark.parametrize("item,expression", [
    ({"pk": S("u")}, "SET m.a = :v"),                              # parent missing
    ({"pk": S("u"), "m": {"M": {}}}, "SET m.a.b = :v"),           # grandparent member missing
    ({"pk": S("u"), "m": S("scalar")}, "SET m.a = :v"),            # parent is not a map
    ({"pk": S("u"), "m": {"M": {}}}, "SET m[0] = :v"),             # index into a map
    ({"pk": S("u"), "l": {"L": [N(1)]}}, "SET l.a = :v"),         # member of a list
    ({"pk": S("u")}, "SET l[0] = :v"),                             # list missing
])
def test_invalid_document_paths_refused(ddb, table, item, expression):
    ddb.put_item(TableName=table, Item=item)
    update_fails(ddb, table, expression, {":v": S("x")},
                 phrase="The document path provided in the update expression is invalid for update")


# -- clause and path rules ------------------------------------------------------------------


@pytest.mark.parametrize("expression,section", [
    ("SET a = :v SET b = :v", "SET"),
    ("REMOVE a REMOVE b", "REMOVE"),
    ("ADD n :one ADD m :one", "ADD"),
    ("DELETE s :set DELETE t :set", "DELETE"),
    ("SET a = :v REMOVE b set c = :v", "SET"),
])
def test_each_clause_only_once(ddb, table, expression, section):
    ddb.put_item(TableName=table, Item={"pk": S("u"), "a": S("keep")})
    values = {k: v for k, v in {":v": S("x"), ":one": N(1), ":set": {"SS": ["x"]}}.items() if k in expression}
    update_fails(ddb, table, expression, values or None,
                 phrase=f'Invalid UpdateExpression: The "{section}" section can only be used once in an update expression;')


@pytest.mark.parametrize("expression,one,two", [
    ("SET a = :v REMOVE a", "[a]", "[a]"),
    ("SET a = :v, a = :v", "[a]", "[a]"),
    ("SET a = :v, a.b = :v", "[a]", "[a, b]"),
    ("REMOVE a.b SET a = :v", "[a, b]", "[a]"),
    ("SET l[1] = :v REMOVE l[1]", "[l, [1]]", "[l, [1]]"),
    ("SET m.x.y = :v ADD m.x :n", "[m, x, y]", "[m, x]"),
])
def test_overlapping_paths_refused(ddb, table, expression, one, two):
    ddb.put_item(TableName=table, Item={"pk": S("u"), "a": S("keep")})
    values = {k: v for k, v in {":v": S("x"), ":n": N(1)}.items() if k in expression}
    update_fails(ddb, table, expression, values,
                 phrase=f"Invalid UpdateExpression: Two document paths overlap with each other; must remove or rewrite "
                        f"one of these paths; path one: {one}, path two: {two}")


def test_conflicting_paths_refused(ddb, table):
    ddb.put_item(TableName=table, Item={"pk": S("u"), "a": S("keep")})
    update_fails(ddb, table, "SET a.b = :v, a[0] = :v", {":v": S("x")},
                 phrase="Invalid UpdateExpression: Two document paths conflict with each other; must remove or rewrite "
                        "one of these paths; path one: [a, b], path two: [a, [0]]")


def test_sibling_paths_are_not_overlaps(ddb, table):
    ddb.put_item(TableName=table, Item={"pk": S("u"), "m": {"M": {}}, "l": {"L": [N(0), N(0)]}})
    update(ddb, table, "SET m.a = :v, m.ab = :v, l[0] = :v REMOVE l[1]", {":v": S("x")})
    assert get(ddb, table) == {"pk": S("u"), "m": {"M": {"a": S("x"), "ab": S("x")}}, "l": {"L": [S("x")]}}


@pytest.fixture
def composite(ddb):
    return create_table(ddb, range_key=("sk", "N"))


@pytest.mark.parametrize("expression,values,attribute", [
    ("SET pk = :s", {":s": S("other")}, "pk"),
    ("SET sk = :n", {":n": N(2)}, "sk"),
    ("SET sk = sk + :n", {":n": N(1)}, "sk"),
    ("REMOVE sk", None, "sk"),
    ("ADD sk :n", {":n": N(1)}, "sk"),
    ("SET extra = :s, pk = :s", {":s": S("x")}, "pk"),
])
def test_key_attribute_update_refused(ddb, composite, expression, values, attribute):
    key = {"pk": S("k"), "sk": N(1)}
    ddb.put_item(TableName=composite, Item={**key, "v": S("keep")})
    update_fails(ddb, composite, expression, values, key=key,
                 phrase=f"Cannot update attribute {attribute}. This attribute is part of the key")


def test_key_attribute_update_refused_on_missing_item_creates_nothing(ddb, composite):
    key = {"pk": S("absent"), "sk": N(1)}
    update_fails(ddb, composite, "SET pk = :s", {":s": S("x")}, key=key, phrase="This attribute is part of the key")
    assert get(ddb, composite, key) is None


# -- type errors ----------------------------------------------------------------------------


@pytest.mark.parametrize("stored,expression,values", [
    (S("text"), "SET a = a + :one", {":one": N(1)}),
    ({"SS": ["1"]}, "SET a = a - :one", {":one": N(1)}),
    (N(1), "SET a = :one + b", {":one": N(1)}),       # b is a string attribute
    (N(1), "SET a = list_append(a, :l)", {":l": {"L": []}}),
    (N(1), "SET a = list_append(b, :l)", {":l": {"L": []}}),
])
def test_arithmetic_and_list_append_on_wrong_stored_type(ddb, table, stored, expression, values):
    ddb.put_item(TableName=table, Item={"pk": S("u"), "a": stored, "b": S("str")})
    update_fails(ddb, table, expression, values, phrase="An operand in the update expression has an incorrect data type")


@pytest.mark.parametrize("expression,values,message", [
    ("SET a = a + :s", {":s": S("1")}, "Incorrect operand type for operator or function; operator or function: +, operand type: S"),
    ("SET a = :m - a", {":m": {"M": {}}}, "Incorrect operand type for operator or function; operator or function: -, operand type: M"),
    ("SET a = list_append(a, :s)", {":s": S("x")},
     "Incorrect operand type for operator or function; operator or function: list_append, operand type: S"),
    ("SET a = if_not_exists(:s, :s)", {":s": S("x")}, "Operator or function requires a document path; operator or function: if_not_exists"),
    ("SET a = list_append(a)", None, "Incorrect number of operands for operator or function; operator or function: list_append, number of operands: 1"),
    ("SET a = size(a)", None, "The function is not allowed in an update expression; function: size"),
    ("SET a = nope(a)", None, "Invalid function name; function: nope"),
])
def test_update_expression_semantic_errors(ddb, table, expression, values, message):
    ddb.put_item(TableName=table, Item={"pk": S("u"), "a": N(1)})
    update_fails(ddb, table, expression, values, phrase=f"Invalid UpdateExpression: {message}")


def test_update_placeholders(ddb, table):
    ddb.put_item(TableName=table, Item={"pk": S("u")})
    update_fails(ddb, table, "SET a = :missing", {":v": S("x")},
                 phrase="Invalid UpdateExpression: An expression attribute value used in expression is not defined; attribute value: :missing")
    update_fails(ddb, table, "SET #missing = :v", {":v": S("x")},
                 phrase="Invalid UpdateExpression: An expression attribute name used in the document path is not defined; attribute name: #missing")
    update_fails(ddb, table, "SET a = :v", {":v": S("x"), ":extra": S("y")},
                 phrase="Value provided in ExpressionAttributeValues unused in expressions: keys: {:extra}")
    update_fails(ddb, table, "SET a = :v", {":v": S("x")}, names={"#unused": "b"},
                 phrase="Value provided in ExpressionAttributeNames unused in expressions: keys: {#unused}")
    update_fails(ddb, table, "SET name = :v", {":v": S("x")},
                 phrase="Invalid UpdateExpression: Attribute name is a reserved keyword; reserved keyword: name")
    update(ddb, table, "SET #name = :v, #status = :v, #size = :v", {":v": S("x")},
           names={"#name": "name", "#status": "status", "#size": "size"})
    assert get(ddb, table) == {"pk": S("u"), "name": S("x"), "status": S("x"), "size": S("x")}


def test_update_item_too_large_refused(ddb, table):
    ddb.put_item(TableName=table, Item={"pk": S("u"), "a": S("x" * 300_000)})
    update_fails(ddb, table, "SET b = :big", {":big": S("y" * 150_000)},
                 phrase="Item size to update has exceeded the maximum allowed size")


def test_update_mixing_expression_and_attribute_updates_refused(ddb, table):
    with pytest.raises(ClientError) as excinfo:
        ddb.update_item(TableName=table, Key=KEY, UpdateExpression="SET a = :v", ExpressionAttributeValues={":v": S("x")},
                        AttributeUpdates={"b": {"Action": "PUT", "Value": S("y")}})
    assert_client_error(excinfo, "ValidationException",
                        "Can not use both expression and non-expression parameters in the same request: "
                        "Non-expression parameters: {AttributeUpdates} Expression parameters: {UpdateExpression}")
    assert get(ddb, table) is None


# -- ReturnValues ---------------------------------------------------------------------------

BEFORE = {"pk": S("u"), "a": N(1), "b": S("old"), "gone": S("bye"), "m": {"M": {"x": N(1), "y": N(2)}}, "untouched": S("same")}
EXPRESSION = "SET a = a + :one, m.x = :new, c = :new REMOVE gone"
VALUES = {":one": N(1), ":new": S("new")}
AFTER = {"pk": S("u"), "a": N(2), "b": S("old"), "c": S("new"), "m": {"M": {"x": S("new"), "y": N(2)}}, "untouched": S("same")}


@pytest.mark.parametrize("mode,expected", [
    ("NONE", None),
    ("ALL_OLD", BEFORE),
    ("ALL_NEW", AFTER),
    # Only the updated paths, nested ones as nested maps; absent values are left out.
    ("UPDATED_OLD", {"a": N(1), "gone": S("bye"), "m": {"M": {"x": N(1)}}}),
    ("UPDATED_NEW", {"a": N(2), "c": S("new"), "m": {"M": {"x": S("new")}}}),
])
def test_return_values_modes(ddb, table, mode, expected):
    ddb.put_item(TableName=table, Item=BEFORE)
    response = update(ddb, table, EXPRESSION, VALUES, ReturnValues=mode)
    assert response.get("Attributes") == expected
    assert get(ddb, table) == AFTER


@pytest.mark.parametrize("mode,expected", [
    ("NONE", None), ("ALL_OLD", None), ("UPDATED_OLD", None),
    ("ALL_NEW", {"pk": S("new"), "a": N(5)}), ("UPDATED_NEW", {"a": N(5)}),
])
def test_return_values_on_new_item(ddb, table, mode, expected):
    response = update(ddb, table, "SET a = :v", {":v": N(5)}, key={"pk": S("new")}, ReturnValues=mode)
    assert response.get("Attributes") == expected


def test_return_values_updated_new_after_remove_only(ddb, table):
    ddb.put_item(TableName=table, Item={"pk": S("u"), "a": S("x"), "b": S("y")})
    response = update(ddb, table, "REMOVE a", ReturnValues="UPDATED_NEW")
    assert "Attributes" not in response
    response = update(ddb, table, "REMOVE b", ReturnValues="UPDATED_OLD")
    assert response["Attributes"] == {"b": S("y")}


def test_return_values_invalid_value(ddb_nv, table):
    with pytest.raises(ClientError) as excinfo:
        update(ddb_nv, table, "SET a = :v", {":v": N(1)}, ReturnValues="EVERYTHING")
    assert_client_error(excinfo, "ValidationException", "Member must satisfy enum value set")
    assert get(ddb_nv, table) is None


# -- legacy AttributeUpdates ----------------------------------------------------------------


def test_attribute_updates_put_add_delete(ddb, table):
    ddb.put_item(TableName=table, Item={"pk": S("u"), "gone": S("x"), "n": N(1), "tags": {"SS": ["a", "b"]},
                                        "l": {"L": [N(1)]}})
    response = ddb.update_item(TableName=table, Key=KEY, ReturnValues="ALL_NEW", AttributeUpdates={
        "s": {"Action": "PUT", "Value": S("new")},
        "implicit": {"Value": S("put is the default")},
        "gone": {"Action": "DELETE"},
        "n": {"Action": "ADD", "Value": N(41)},
        "fresh": {"Action": "ADD", "Value": N(3)},
        "tags": {"Action": "DELETE", "Value": {"SS": ["a"]}},
        "more": {"Action": "ADD", "Value": {"SS": ["z"]}},
        "l": {"Action": "ADD", "Value": {"L": [N(2)]}},   # legacy ADD appends to a list
    })
    expected = {"pk": S("u"), "s": S("new"), "implicit": S("put is the default"), "n": N(42), "fresh": N(3),
                "tags": {"SS": ["b"]}, "more": {"SS": ["z"]}, "l": {"L": [N(1), N(2)]}}
    assert response["Attributes"] == expected
    assert get(ddb, table) == expected


@pytest.mark.parametrize("updates,phrase", [
    ({"pk": {"Action": "PUT", "Value": S("x")}}, "Cannot update attribute pk. This attribute is part of the key"),
    ({"a": {"Action": "PUT"}}, "Only DELETE action is allowed when no attribute value is specified"),
    ({"a": {"Action": "ADD", "Value": S("x")}}, "ADD action is not supported for the type S"),
    ({"a": {"Action": "DELETE", "Value": S("x")}}, "DELETE action with value is not supported for the type S"),
])
def test_attribute_updates_errors(ddb, table, updates, phrase):
    ddb.put_item(TableName=table, Item={"pk": S("u"), "a": S("keep")})
    with pytest.raises(ClientError) as excinfo:
        ddb.update_item(TableName=table, Key=KEY, AttributeUpdates=updates)
    assert_client_error(excinfo, "ValidationException", phrase)
    assert get(ddb, table) == {"pk": S("u"), "a": S("keep")}


def test_attribute_updates_with_expected(ddb, table):
    ddb.put_item(TableName=table, Item={"pk": S("u"), "v": N(1)})
    ddb.update_item(TableName=table, Key=KEY, AttributeUpdates={"v": {"Action": "ADD", "Value": N(1)}},
                    Expected={"v": {"Value": N(1)}})
    with pytest.raises(ClientError) as excinfo:
        ddb.update_item(TableName=table, Key=KEY, AttributeUpdates={"v": {"Action": "ADD", "Value": N(1)}},
                        Expected={"v": {"Value": N(1)}})
    assert_client_error(excinfo, "ConditionalCheckFailedException")
    assert get(ddb, table)["v"] == N(2)


# -- conditional updates --------------------------------------------------------------------


def test_conditional_update_and_return_old_on_failure(ddb, table):
    ddb.put_item(TableName=table, Item={"pk": S("u"), "version": N(1)})
    update(ddb, table, "SET version = version + :one", {":one": N(1), ":expected": N(1)},
           ConditionExpression="version = :expected")
    excinfo = update_fails(ddb, table, "SET version = version + :one", {":one": N(1), ":expected": N(1)},
                           code="ConditionalCheckFailedException", phrase="The conditional request failed",
                           ConditionExpression="version = :expected", ReturnValuesOnConditionCheckFailure="ALL_OLD")
    assert excinfo.value.response["Item"] == {"pk": S("u"), "version": N(2)}
    excinfo = update_fails(ddb, table, "SET version = :one", {":one": N(1)}, code="ConditionalCheckFailedException",
                           ConditionExpression="attribute_not_exists(pk)", ReturnValuesOnConditionCheckFailure="NONE")
    assert "Item" not in excinfo.value.response


def test_conditional_update_on_missing_item_creates_nothing(ddb, table):
    excinfo = update_fails(ddb, table, "SET a = :v", {":v": S("x")}, code="ConditionalCheckFailedException",
                           ConditionExpression="attribute_exists(pk)", ReturnValuesOnConditionCheckFailure="ALL_OLD")
    assert "Item" not in excinfo.value.response
    assert get(ddb, table) is None


# -- the high-level Table resource ----------------------------------------------------------


def test_table_resource_update_item(server, table):
    tbl = server.resource().Table(table)
    tbl.put_item(Item={"pk": "res", "count": 1, "tags": {"a"}, "doc": {"list": [1, 2]}})
    response = tbl.update_item(
        Key={"pk": "res"},
        UpdateExpression="SET #c = #c + :inc, doc.#l[2] = :three, flag = :t ADD tags :more",
        ConditionExpression=Attr("count").eq(1) & Attr("doc.list").size().eq(2) & Attr("missing").not_exists(),
        ExpressionAttributeNames={"#c": "count", "#l": "list"},
        ExpressionAttributeValues={":inc": 2, ":three": Decimal("3.5"), ":t": True, ":more": {"b", "c"}},
        ReturnValues="ALL_NEW",
    )
    expected = {"pk": "res", "count": Decimal(3), "tags": {"a", "b", "c"}, "flag": True,
                "doc": {"list": [Decimal(1), Decimal(2), Decimal("3.5")]}}
    assert response["Attributes"] == expected
    with pytest.raises(ClientError) as excinfo:
        tbl.update_item(Key={"pk": "res"}, UpdateExpression="REMOVE flag", ConditionExpression=Attr("count").lt(3))
    assert_client_error(excinfo, "ConditionalCheckFailedException")
    tbl.update_item(Key={"pk": "res"}, UpdateExpression="REMOVE flag, doc.#l[0] DELETE tags :b",
                    ExpressionAttributeNames={"#l": "list"}, ExpressionAttributeValues={":b": {"b"}},
                    ConditionExpression=Attr("flag").eq(True) | Attr("flag").not_exists())
    got = tbl.get_item(Key={"pk": "res"}, ConsistentRead=True)["Item"]
    assert got == {"pk": "res", "count": Decimal(3), "tags": {"a", "c"}, "doc": {"list": [Decimal(2), Decimal("3.5")]}}


def test_table_resource_binary_set_add(server, table):
    tbl = server.resource().Table(table)
    tbl.update_item(Key={"pk": "bin"}, UpdateExpression="ADD bs :v", ExpressionAttributeValues={":v": {Binary(b"\x00")}})
    tbl.update_item(Key={"pk": "bin"}, UpdateExpression="ADD bs :v", ExpressionAttributeValues={":v": {b"\xff", b"\x00"}})
    assert tbl.get_item(Key={"pk": "bin"})["Item"]["bs"] == {Binary(b"\x00"), Binary(b"\xff")}
