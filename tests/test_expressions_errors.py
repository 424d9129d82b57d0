"""Malformed and invalid expressions in every expression parameter: each is a ValidationException
whose message starts with "Invalid <Param>:", and the request changes nothing."""

import pytest
from botocore.exceptions import ClientError

from conftest import assert_client_error, create_table

ITEM = {"pk": {"S": "k"}, "sk": {"N": "1"}, "a": {"N": "1"}, "s": {"S": "x"}}


@pytest.fixture(scope="module")
def etable(ddb):
    name = create_table(ddb, range_key=("sk", "N"))
    ddb.put_item(TableName=name, Item=ITEM)
    return name


def stored(ddb, table):
    return ddb.get_item(TableName=table, Key={"pk": ITEM["pk"], "sk": ITEM["sk"]}, ConsistentRead=True)["Item"]


def call(ddb, table, param, expression, values=None, names=None, change=False):
    """One request whose `param` is `expression`. PutItem (ConditionExpression) rewrites the same
    item unless `change`, so a refused request can be seen to have written nothing."""
    extra = {}
    if values:
        extra["ExpressionAttributeValues"] = values
    if names:
        extra["ExpressionAttributeNames"] = names
    key = {"pk": ITEM["pk"], "sk": ITEM["sk"]}
    if param == "ConditionExpression":
        item = {**ITEM, "s": {"S": "changed"}} if change else ITEM
        return ddb.put_item(TableName=table, Item=item, ConditionExpression=expression, **extra)
    if param == "UpdateExpression":
        return ddb.update_item(TableName=table, Key=key, UpdateExpression=expression, **extra)
    if param == "FilterExpression":
        return ddb.scan(TableName=table, FilterExpression=expression, **extra)
    if param == "KeyConditionExpression":
        return ddb.query(TableName=table, KeyConditionExpression=expression, **extra)
    if param == "ProjectionExpression":
        return ddb.get_item(TableName=table, Key=key, ProjectionExpression=expression, **extra)
    raise AssertionError(param)


def refused(ddb, table, param, expression, values=None, names=None, phrase=None):
    with pytest.raises(ClientError) as excinfo:
        call(ddb, table, param, expression, values, names, change=True)
    assert_client_error(excinfo, "ValidationException")
    message = excinfo.value.response["Error"]["Message"]
    assert message.startswith(f"Invalid {param}: "), message
    if phrase is not None:
        assert phrase in message, message
    assert stored(ddb, table) == ITEM
    return message


CONDITION_PARAMS = ["ConditionExpression", "FilterExpression"]
ALL_PARAMS = ["ConditionExpression", "FilterExpression", "KeyConditionExpression", "UpdateExpression", "ProjectionExpression"]

SYNTAX_ERRORS = {
    "ConditionExpression": ["a = ", "a == :v", "a = :v AND", "(a = :v", "a = :v)", "a BETWEEN :v", "a IN ()",
                            "= :v", "a = :v a = :v", "a @ :v", "AND a = :v", "a.[0] = :v", "a[x] = :v", "a[] = :v",
                            "NOT", "a = :v OR OR a = :v", "attribute_exists(a", "a = :v,", "1a = :v", "#"],
    "FilterExpression": ["a =", "a <=> :v", "a BETWEEN :v OR :v", "a IN :v", "(a = :v))"],
    "KeyConditionExpression": ["pk =", "pk = :v AND", "pk = :v sk = :v", "pk == :v"],
    "UpdateExpression": ["SET", "SET a", "SET a =", "SET a = :v,", "a = :v", "SET a = :v + ", "REMOVE", "ADD a",
                         "DELETE a", "ADD a :v :v", "SET a = :v REMOVE", "SET a = :v * :v", "UPSERT a = :v",
                         "SET a += :v", "SET a = (:v", "REMOVE a = :v"],
    "ProjectionExpression": ["a,", ",a", "a b", "a.", "a[", "a[x]", "a..b", "a[0", "1a", "#"],
}


@pytest.mark.parametrize("param,expression", [(p, e) for p, es in SYNTAX_ERRORS.items() for e in es])
def test_syntax_errors(ddb, etable, param, expression):
    values = {":v": {"N": "1"}} if ":v" in expression else None
    message = refused(ddb, etable, param, expression, values)
    assert message.startswith(f"Invalid {param}: Syntax error; token: "), message


@pytest.mark.parametrize("param", ["ConditionExpression", "FilterExpression", "KeyConditionExpression", "UpdateExpression"])
def test_syntax_error_message_names_token_and_context(ddb, etable, param):
    expression = {"UpdateExpression": "SET a = :v :v"}.get(param, "pk = :v :v")
    message = refused(ddb, etable, param, expression, {":v": {"N": "1"}})
    assert message.startswith(f'Invalid {param}: Syntax error; token: ":v", near: "'), message


@pytest.mark.parametrize("param", ALL_PARAMS)
@pytest.mark.parametrize("expression", ["", "   "])
def test_empty_expression(ddb_nv, etable, param, expression):
    refused(ddb_nv, etable, param, expression, phrase="The expression can not be empty;")


# -- size and complexity limits ------------------------------------------------------------


def padded(core: str, size: int) -> str:
    """`core` followed by spaces up to `size` bytes."""
    assert len(core.encode()) <= size
    return core + " " * (size - len(core.encode()))


CORES = {
    "ConditionExpression": "attribute_exists(a)",
    "FilterExpression": "attribute_exists(a)",
    "KeyConditionExpression": "pk = :v",
    "UpdateExpression": "SET a = :v",
    "ProjectionExpression": "a",
}


@pytest.mark.parametrize("param", ALL_PARAMS)
def test_expression_of_4_kb_is_accepted_and_one_byte_more_refused(ddb, etable, param):
    values = {":v": ITEM["pk"] if param == "KeyConditionExpression" else {"N": "1"}} if ":v" in CORES[param] else None
    call(ddb, etable, param, padded(CORES[param], 4096), values)
    refused(ddb, etable, param, padded(CORES[param], 4097), values,
            phrase="Expression size has exceeded the maximum allowed size; expression size: 4097")


def test_multibyte_characters_count_as_bytes(ddb, etable):
    # 1,366 three-byte characters: 1,366 characters but 4,098 bytes, plus the rest.
    name = "\u20ac" * 1366
    message = refused(ddb, etable, "ConditionExpression", f"attribute_not_exists(x) OR {name} = :v", {":v": {"N": "1"}},
                      phrase="Expression size has exceeded the maximum allowed size")
    assert message.endswith(f"expression size: {len(('attribute_not_exists(x) OR ' + name + ' = :v').encode())}")


def test_too_many_operators(ddb, etable):
    within = " OR ".join(["a = :v"] * 150)          # 150 comparisons + 149 ORs = 299 operators
    call(ddb, etable, "FilterExpression", within, {":v": {"N": "1"}})
    beyond = " OR ".join(["a = :v"] * 151)          # 301
    refused(ddb, etable, "FilterExpression", beyond, {":v": {"N": "1"}},
            phrase="The expression contains too many operators")


def test_document_path_depth_limit(ddb, etable):
    deep_ok = "a" + ".b" * 31                        # 32 levels
    assert call(ddb, etable, "ProjectionExpression", deep_ok)["ResponseMetadata"]["HTTPStatusCode"] == 200
    call(ddb, etable, "ConditionExpression", f"attribute_not_exists({deep_ok})")
    refused(ddb, etable, "ConditionExpression", "attribute_exists(" + "a" + ".b" * 32 + ")",
            phrase="The document path has too many nesting levels; nesting levels: 33")
    refused(ddb, etable, "ProjectionExpression", "a" + ".b" * 32,
            phrase="The document path has too many nesting levels; nesting levels: 33")


def test_in_operand_limit(ddb, etable):
    values = {f":v{i}": {"N": str(i)} for i in range(101)}
    call(ddb, etable, "FilterExpression", "a IN (" + ", ".join(list(values)[:100]) + ")",
         {k: v for k, v in list(values.items())[:100]})
    refused(ddb, etable, "FilterExpression", "a IN (" + ", ".join(values) + ")", values,
            phrase="The IN operator is provided with too many operands; number of operands: 101")


# -- semantic errors in conditions ----------------------------------------------------------


SEMANTIC = [
    ("foo(a)", None, "Invalid function name; function: foo"),
    ("if_not_exists(a, :v) = :v", {":v": {"N": "1"}}, "The function is not allowed in a condition expression; function: if_not_exists"),
    ("list_append(a, :v) = :v", {":v": {"L": []}}, "The function is not allowed in a condition expression; function: list_append"),
    ("size(a)", None, "The function is not allowed to be used this way in an expression; function: size"),
    ("attribute_exists(a) = :v", {":v": {"BOOL": True}},
     "The function is not allowed to be used this way in an expression; function: attribute_exists"),
    ("attribute_exists(a, s)", None, "Incorrect number of operands for operator or function; operator or function: attribute_exists, number of operands: 2"),
    ("begins_with(a)", None, "Incorrect number of operands for operator or function; operator or function: begins_with, number of operands: 1"),
    ("contains(a, s, s)", None, "Incorrect number of operands for operator or function; operator or function: contains, number of operands: 3"),
    ("attribute_type(a, :t)", {":t": {"S": "STRING"}}, "Invalid attribute type name found; type: STRING, valid types: {B,NULL,SS,BOOL,L,BS,N,NS,S,M}"),
    ("attribute_type(a, :t)", {":t": {"N": "1"}}, "Incorrect operand type for operator or function; operator or function: attribute_type, operand type: N"),
    ("attribute_exists(:v)", {":v": {"S": "a"}}, "Operator or function requires a document path; operator or function: attribute_exists"),
    ("begins_with(s, :n)", {":n": {"N": "1"}}, "Incorrect operand type for operator or function; operator or function: begins_with, operand type: N"),
    ("size(:n) = :n", {":n": {"N": "1"}}, "Incorrect operand type for operator or function; operator or function: size, operand type: N"),
    ("a BETWEEN :hi AND :lo", {":hi": {"N": "2"}, ":lo": {"N": "1"}},
     "The BETWEEN operator requires upper bound to be greater than or equal to lower bound; lower bound operand: AttributeValue: {N:2}, upper bound operand: AttributeValue: {N:1}"),
    ("a BETWEEN :n AND :s", {":n": {"N": "1"}, ":s": {"S": "2"}},
     "The BETWEEN operator requires same data type for lower and upper bounds; lower bound operand: AttributeValue: {N:1}, upper bound operand: AttributeValue: {S:2}"),
    ("a = a", None, "The first operand must be distinct from the remaining operands for this operator or function; operator: =, first operand: [a]"),
    ("a IN (s, a)", None, "The first operand must be distinct from the remaining operands for this operator or function; operator: IN, first operand: [a]"),
    ("((a = :v))", {":v": {"N": "1"}}, "The expression has redundant parentheses;"),
    ("a = :v AND ((s = :v))", {":v": {"N": "1"}}, "The expression has redundant parentheses;"),
    ("status = :v", {":v": {"N": "1"}}, "Attribute name is a reserved keyword; reserved keyword: status"),
    ("a = :undefined", {":v": {"N": "1"}}, "An expression attribute value used in expression is not defined; attribute value: :undefined"),
    ("#undefined = :v", {":v": {"N": "1"}}, "An expression attribute name used in the document path is not defined; attribute name: #undefined"),
]


@pytest.mark.parametrize("param", CONDITION_PARAMS)
@pytest.mark.parametrize("expression,values,message", SEMANTIC, ids=[s[0] for s in SEMANTIC])
def test_condition_semantic_errors(ddb, etable, param, expression, values, message):
    refused(ddb, etable, param, expression, values, phrase=f"Invalid {param}: {message}")


def test_error_priority_reserved_word_before_undefined_placeholder(ddb, etable):
    # Both problems are present; DynamoDB reports the reserved word.
    refused(ddb, etable, "ConditionExpression", "#undefined = :v AND name = :v", {":v": {"N": "1"}},
            phrase="Attribute name is a reserved keyword; reserved keyword: name")


@pytest.mark.parametrize("expression,phrase", [
    ("name, a", "Attribute name is a reserved keyword; reserved keyword: name"),
    ("#undefined", "An expression attribute name used in the document path is not defined; attribute name: #undefined"),
    ("a, a", "Two document paths overlap with each other"),
    ("a.b, a[0]", "Two document paths conflict with each other"),
])
def test_projection_semantic_errors(ddb, etable, expression, phrase):
    refused(ddb, etable, "ProjectionExpression", expression, phrase=phrase)


# -- the placeholder tables themselves ------------------------------------------------------


def test_invalid_expression_attribute_value(ddb, etable):
    with pytest.raises(ClientError) as excinfo:
        call(ddb, etable, "ConditionExpression", "a = :v", {":v": {"SS": []}}, change=True)
    assert_client_error(excinfo, "ValidationException", "ExpressionAttributeValues contains invalid value: ")
    assert excinfo.value.response["Error"]["Message"].endswith(" for key :v")
    with pytest.raises(ClientError) as excinfo:
        call(ddb, etable, "UpdateExpression", "SET a = :v", {":v": {"N": "1e999"}})
    assert_client_error(excinfo, "ValidationException", "ExpressionAttributeValues contains invalid value: Number overflow")
    assert stored(ddb, etable) == ITEM


@pytest.mark.parametrize("names,values,message", [
    ({"x": "a"}, None, 'ExpressionAttributeNames contains invalid key: Syntax error; key: "x"'),
    (None, {"v": {"N": "1"}}, 'ExpressionAttributeValues contains invalid key: Syntax error; key: "v"'),
])
def test_placeholder_keys_must_be_well_formed(ddb, etable, names, values, message):
    with pytest.raises(ClientError) as excinfo:
        call(ddb, etable, "ConditionExpression", "attribute_exists(a)", values, names, change=True)
    assert_client_error(excinfo, "ValidationException", message)


def test_empty_attribute_name_through_placeholder_is_refused(ddb, etable):
    key = {"pk": ITEM["pk"], "sk": ITEM["sk"]}
    try:
        ddb.update_item(TableName=etable, Key=key, UpdateExpression="SET #e = :v", ExpressionAttributeNames={"#e": ""},
                        ExpressionAttributeValues={":v": {"S": "x"}})
        refused_ok = False
    except ClientError as error:
        refused_ok = error.response["Error"]["Code"] == "ValidationException"
    item = stored(ddb, etable)
    if "" in item:  # leave the module's item as it was for the other tests
        ddb.put_item(TableName=etable, Item=ITEM)
    assert refused_ok, "an attribute named '' was stored"
    assert "" not in item


@pytest.mark.parametrize("param,expression", [
    ("ConditionExpression", "(" * 2000 + "a = :v" + ")" * 2000),
    ("FilterExpression", "NOT " * 1000 + "a = :v"),
    ("FilterExpression", "a = " + "(" * 1000 + ":v" + ")" * 1000),
    ("KeyConditionExpression", "(" * 2000 + "pk = :v" + ")" * 2000),
    ("UpdateExpression", "SET a = " + "if_not_exists(a, " * 200 + ":v" + ")" * 200),
    ("ConditionExpression", "size(" * 400 + "a" + ")" * 400 + " = :v"),
])
def test_deep_nesting_is_refused_not_crashing(server, ddb, etable, param, expression):
    assert len(expression.encode()) <= 4096
    values = {":v": ITEM["pk"] if param == "KeyConditionExpression" else {"N": "1"}}
    refused(ddb, etable, param, expression, values)
    assert server.running and ddb.list_tables()["ResponseMetadata"]["HTTPStatusCode"] == 200
