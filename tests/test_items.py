"""PutItem, GetItem, DeleteItem through boto3: the ten attribute types, numbers, binary,
projections, return values, consumed capacity and the high-level Table resource."""

from decimal import Decimal

import pytest
from boto3.dynamodb.types import Binary
from botocore.exceptions import ClientError

from conftest import assert_client_error, create_table, normalize_item

ALL_BYTES = bytes(range(256))

ALL_TYPES_ITEM = {
    "pk": {"S": "all-types"},
    "s": {"S": "h\u00e9llo w\u00f6rld \U0001f600 \u4e2d\u6587 \"quoted\" \\ tab\t nl\n nul\u0000"},
    "empty_s": {"S": ""},
    "n": {"N": "-123.456"},
    "b": {"B": ALL_BYTES},
    "empty_b": {"B": b""},
    "t": {"BOOL": True},
    "f": {"BOOL": False},
    "nul": {"NULL": True},
    "m": {"M": {"inner": {"S": "x"}, "deep": {"M": {"n": {"N": "1"}, "l": {"L": [{"S": "a"}]}}}}},
    "empty_m": {"M": {}},
    "l": {"L": [{"S": "a"}, {"N": "2"}, {"B": b"\x00\x01"}, {"BOOL": False}, {"NULL": True},
                {"L": []}, {"M": {"k": {"SS": ["z"]}}}]},
    "empty_l": {"L": []},
    "ss": {"SS": ["b", "a", "\U0001f600", "A"]},
    "ns": {"NS": ["3", "-1.5", "100000000000000000000000000000000000"]},
    "bs": {"BS": [b"\x00", b"\xff\xfe", b"abc"]},
    "name with spaces.and.dots[0]": {"S": "odd attribute name"},
    "\u00fcnicode-name-\U0001f600": {"N": "0"},
}


def test_all_ten_types_round_trip(ddb, table):
    ddb.put_item(TableName=table, Item=ALL_TYPES_ITEM)
    for consistent in (True, False):
        got = ddb.get_item(TableName=table, Key={"pk": {"S": "all-types"}}, ConsistentRead=consistent)["Item"]
        assert normalize_item(got) == normalize_item(ALL_TYPES_ITEM)


def test_put_item_response_is_empty(ddb, table):
    response = ddb.put_item(TableName=table, Item={"pk": {"S": "x"}})
    assert set(response) == {"ResponseMetadata"}


def test_get_missing_item_has_no_item_member(ddb, table):
    response = ddb.get_item(TableName=table, Key={"pk": {"S": "nope"}})
    assert "Item" not in response


def test_put_overwrites_whole_item(ddb, table):
    ddb.put_item(TableName=table, Item={"pk": {"S": "k"}, "a": {"S": "1"}, "b": {"S": "2"}})
    ddb.put_item(TableName=table, Item={"pk": {"S": "k"}, "c": {"S": "3"}})
    assert ddb.get_item(TableName=table, Key={"pk": {"S": "k"}})["Item"] == {"pk": {"S": "k"}, "c": {"S": "3"}}


def test_return_values_all_old(ddb, table):
    key = {"pk": {"S": "rv"}}
    first = ddb.put_item(TableName=table, Item={**key, "v": {"N": "1"}}, ReturnValues="ALL_OLD")
    assert "Attributes" not in first
    second = ddb.put_item(TableName=table, Item={**key, "v": {"N": "2"}}, ReturnValues="ALL_OLD")
    assert second["Attributes"] == {**key, "v": {"N": "1"}}
    deleted = ddb.delete_item(TableName=table, Key=key, ReturnValues="ALL_OLD")
    assert deleted["Attributes"] == {**key, "v": {"N": "2"}}
    again = ddb.delete_item(TableName=table, Key=key, ReturnValues="ALL_OLD")
    assert "Attributes" not in again
    assert "Item" not in ddb.get_item(TableName=table, Key=key, ConsistentRead=True)


# Regression: ReturnValues=ALL_OLD once read and wrote in two unserialised steps.
def test_return_values_all_old_is_atomic_under_concurrency(server, table):
    """Every version of an item is replaced exactly once, so no two writes may both report it as old."""
    import concurrent.futures
    import threading

    key = {"pk": {"S": "contended"}}
    ddb = server.client()
    ddb.put_item(TableName=table, Item={**key, "v": {"S": "init"}})
    workers, ops = 8, 25
    clients = [server.client() for _ in range(workers)]
    start = threading.Barrier(workers)

    def worker(i):
        start.wait()
        olds = []
        for j in range(ops):
            if j % 5 == 4:
                response = clients[i].delete_item(TableName=table, Key=key, ReturnValues="ALL_OLD")
            else:
                response = clients[i].put_item(TableName=table, Item={**key, "v": {"S": f"{i}-{j}"}}, ReturnValues="ALL_OLD")
            if "Attributes" in response:
                olds.append(response["Attributes"]["v"]["S"])
        return olds

    with concurrent.futures.ThreadPoolExecutor(workers) as pool:
        olds = [old for result in pool.map(worker, range(workers)) for old in result]
    written = {"init"} | {f"{i}-{j}" for i in range(workers) for j in range(ops) if j % 5 != 4}
    assert set(olds) <= written
    duplicates = len(olds) - len(set(olds))
    assert duplicates == 0, f"{duplicates} of {len(olds)} writes reported a previous version another write also replaced"
    final = ddb.get_item(TableName=table, Key=key, ConsistentRead=True).get("Item")
    if final is not None:
        assert final["v"]["S"] not in olds


def test_return_values_other_than_all_old_rejected(ddb, table):
    for value in ("ALL_NEW", "UPDATED_OLD", "UPDATED_NEW"):
        with pytest.raises(ClientError) as excinfo:
            ddb.put_item(TableName=table, Item={"pk": {"S": "rvx"}}, ReturnValues=value)
        assert_client_error(excinfo, "ValidationException", "ReturnValues can only be ALL_OLD or NONE")
    ddb.put_item(TableName=table, Item={"pk": {"S": "rvd"}})
    with pytest.raises(ClientError) as excinfo:
        ddb.delete_item(TableName=table, Key={"pk": {"S": "rvd"}}, ReturnValues="ALL_NEW")
    assert_client_error(excinfo, "ValidationException", "ReturnValues can only be ALL_OLD or NONE")
    assert "Item" in ddb.get_item(TableName=table, Key={"pk": {"S": "rvd"}}, ConsistentRead=True)
    with pytest.raises(ClientError) as excinfo:
        ddb.put_item(TableName=table, Item={"pk": {"S": "rvx"}}, ReturnValues="BOGUS")
    assert_client_error(excinfo, "ValidationException", "Member must satisfy enum value set")
    assert "Item" not in ddb.get_item(TableName=table, Key={"pk": {"S": "rvx"}}, ConsistentRead=True)


def test_delete_item(ddb, table_sk):
    key = {"pk": {"S": "d"}, "sk": {"N": "1"}}
    other = {"pk": {"S": "d"}, "sk": {"N": "2"}}
    ddb.put_item(TableName=table_sk, Item={**key, "v": {"S": "a"}})
    ddb.put_item(TableName=table_sk, Item={**other, "v": {"S": "b"}})
    assert set(ddb.delete_item(TableName=table_sk, Key=key)) == {"ResponseMetadata"}
    assert "Item" not in ddb.get_item(TableName=table_sk, Key=key, ConsistentRead=True)
    assert ddb.get_item(TableName=table_sk, Key=other)["Item"]["v"] == {"S": "b"}
    # Deleting an absent item is not an error.
    ddb.delete_item(TableName=table_sk, Key={"pk": {"S": "never"}, "sk": {"N": "0"}})


def test_sort_key_distinguishes_items(ddb, table_sk):
    for sk in ("1", "2", "10", "-1.5"):
        ddb.put_item(TableName=table_sk, Item={"pk": {"S": "p"}, "sk": {"N": sk}, "v": {"S": sk}})
    for sk in ("1", "2", "10", "-1.5"):
        assert ddb.get_item(TableName=table_sk, Key={"pk": {"S": "p"}, "sk": {"N": sk}})["Item"]["v"] == {"S": sk}
    # Numerically equal sort keys name the same item.
    got = ddb.get_item(TableName=table_sk, Key={"pk": {"S": "p"}, "sk": {"N": "1.000"}})["Item"]
    assert got["sk"] == {"N": "1"} and got["v"] == {"S": "1"}
    ddb.put_item(TableName=table_sk, Item={"pk": {"S": "p"}, "sk": {"N": "10.0"}, "v": {"S": "ten"}})
    assert ddb.get_item(TableName=table_sk, Key={"pk": {"S": "p"}, "sk": {"N": "1e1"}})["Item"]["v"] == {"S": "ten"}


def test_binary_keys(ddb):
    name = create_table(ddb, hash_key=("id", "B"), range_key=("r", "B"))
    keys = [(b"\x00", b"\x00\x00"), (b"\x00\x00", b"\x00"), (ALL_BYTES, b"\xff"), (b"a", b"\x00" * 10)]
    for i, (h, r) in enumerate(keys):
        ddb.put_item(TableName=name, Item={"id": {"B": h}, "r": {"B": r}, "i": {"N": str(i)}, "blob": {"B": h + r}})
    for i, (h, r) in enumerate(keys):
        item = ddb.get_item(TableName=name, Key={"id": {"B": h}, "r": {"B": r}}, ConsistentRead=True)["Item"]
        assert item == {"id": {"B": h}, "r": {"B": r}, "i": {"N": str(i)}, "blob": {"B": h + r}}


def test_number_key_table(ddb):
    name = create_table(ddb, hash_key=("n", "N"))
    ddb.put_item(TableName=name, Item={"n": {"N": "0.50"}, "v": {"S": "half"}})
    assert ddb.get_item(TableName=name, Key={"n": {"N": "5e-1"}})["Item"] == {"n": {"N": "0.5"}, "v": {"S": "half"}}
    ddb.put_item(TableName=name, Item={"n": {"N": "-0"}, "v": {"S": "zero"}})
    assert ddb.get_item(TableName=name, Key={"n": {"N": "0"}})["Item"] == {"n": {"N": "0"}, "v": {"S": "zero"}}


# -- numbers --------------------------------------------------------------------------------

NORMALISED = [
    ("1.50", "1.5"), ("0001", "1"), ("-0", "0"), ("0.000", "0"), ("1e2", "100"), ("1E-3", "0.001"),
    ("-1.2300E+3", "-1230"), ("100", "100"), ("12.0", "12"), ("0.10", "0.1"), ("-007.70", "-7.7"),
    ("1.5e1", "15"), ("123456789012345678901234567890.12345678", "123456789012345678901234567890.12345678"),
    ("12345678901234567890123456789012345678", "12345678901234567890123456789012345678"),
    ("-0.00000000000000000000000000000000000012345678901234567890123456789012345678",
                 "-0.00000000000000000000000000000000000012345678901234567890123456789012345678"),
    # 40 digits but only 38 significant once trailing zeros are dropped
    ("1234567890123456789012345678901234567800", "1234567890123456789012345678901234567800"),
    ("0000000000000000000000000000000000000000001", "1"),
    ("9.9999999999999999999999999999999999999e125", "99999999999999999999999999999999999999" + "0" * 88),
    ("1e-130", "0." + "0" * 129 + "1"),
]


@pytest.mark.parametrize("given,expected", NORMALISED)
def test_number_normalisation(ddb, table, given, expected):
    ddb.put_item(TableName=table, Item={"pk": {"S": "num"}, "n": {"N": given}, "ns": {"NS": [given, "7"]}})
    item = ddb.get_item(TableName=table, Key={"pk": {"S": "num"}}, ConsistentRead=True)["Item"]
    assert item["n"] == {"N": expected}
    assert Decimal(item["n"]["N"]) == Decimal(given)
    assert sorted(item["ns"]["NS"]) == sorted([expected, "7"])


@pytest.mark.parametrize("given,phrase", [
    ("123456789012345678901234567890123456789", "Attempting to store more than 38 significant digits in a Number"),
    ("1.23456789012345678901234567890123456789", "Attempting to store more than 38 significant digits in a Number"),
    ("1e126", "Number overflow"),
    ("-1e126", "Number overflow"),
    ("1e-131", "Number underflow"),
    ("-1e-131", "Number underflow"),
    ("abc", "The parameter cannot be converted to a numeric value"),
    ("", "The parameter cannot be converted to a numeric value"),
    ("1e", "The parameter cannot be converted to a numeric value"),
    ("--1", "The parameter cannot be converted to a numeric value"),
    (" 1", "The parameter cannot be converted to a numeric value"),
    ("1 ", "The parameter cannot be converted to a numeric value"),
    ("1.2.3", "The parameter cannot be converted to a numeric value"),
    ("NaN", "The parameter cannot be converted to a numeric value"),
    ("Infinity", "The parameter cannot be converted to a numeric value"),
    ("0x10", "The parameter cannot be converted to a numeric value"),
    ("1,000", "The parameter cannot be converted to a numeric value"),
])
def test_invalid_numbers_rejected(ddb, table, given, phrase):
    key = {"pk": {"S": "badnum-" + str(abs(hash(given)))}}
    for item in ({**key, "n": {"N": given}}, {**key, "ns": {"NS": ["1", given]}},
                 {**key, "l": {"L": [{"M": {"x": {"N": given}}}]}}):
        with pytest.raises(ClientError) as excinfo:
            ddb.put_item(TableName=table, Item=item)
        assert_client_error(excinfo, "ValidationException", phrase)
    assert "Item" not in ddb.get_item(TableName=table, Key=key, ConsistentRead=True)


def test_number_sets_reject_numerically_equal_members(ddb, table):
    with pytest.raises(ClientError) as excinfo:
        ddb.put_item(TableName=table, Item={"pk": {"S": "nsdup"}, "ns": {"NS": ["1", "1.0"]}})
    assert_client_error(excinfo, "ValidationException", "Input collection contains duplicates")
    assert "Item" not in ddb.get_item(TableName=table, Key={"pk": {"S": "nsdup"}}, ConsistentRead=True)


# Regression: ItemCodec once checked a number's digit count (not its packed byte count)
# against the bytes left, so these items were acknowledged and then unreadable (500).
@pytest.mark.parametrize("tail", [
    {"N": "12"}, {"N": "-0.25"}, {"N": "12345678901234567890123456789012345678"},
    {"NS": ["1", "99"]}, {"L": [{"N": "99"}]}, {"M": {"a": {"N": "99"}}},
], ids=["N-2-digits", "N-fraction", "N-38-digits", "NS", "N-in-L", "N-in-M"])
def test_number_as_last_stored_value_is_readable(ddb, table, tail):
    """An item whose last attribute in name order ends in a number of two or more digits."""
    item = {"pk": {"S": "tail"}, "zz": tail}
    ddb.put_item(TableName=table, Item=item)
    assert ddb.get_item(TableName=table, Key={"pk": {"S": "tail"}}, ConsistentRead=True)["Item"] == item
    assert ddb.describe_table(TableName=table)["Table"]["ItemCount"] == 1
    got = ddb.batch_get_item(RequestItems={table: {"Keys": [{"pk": {"S": "tail"}}]}})["Responses"][table]
    assert got == [item]


def test_number_only_item_is_readable(ddb):
    name = create_table(ddb, hash_key=("n", "N"))
    ddb.put_item(TableName=name, Item={"n": {"N": "12345"}})
    assert ddb.get_item(TableName=name, Key={"n": {"N": "12345"}})["Item"] == {"n": {"N": "12345"}}


# -- projections ----------------------------------------------------------------------------

DOC = {
    "pk": {"S": "doc"},
    "a": {"M": {"b": {"M": {"c": {"N": "1"}, "d": {"N": "2"}}}, "e": {"N": "3"}}},
    "l": {"L": [{"N": "10"}, {"N": "20"}, {"N": "30"}, {"M": {"x": {"S": "X"}, "y": {"S": "Y"}}}]},
    "top": {"S": "T"},
    "name": {"S": "reserved-word attribute"},
}


@pytest.fixture
def doc_table(ddb, table):
    ddb.put_item(TableName=table, Item=DOC)
    return table


def test_projection_nested_paths(ddb, doc_table):
    item = ddb.get_item(TableName=doc_table, Key={"pk": {"S": "doc"}},
                        ProjectionExpression="a.b.c, l[1], l[3].x, top")["Item"]
    assert item == {
        "a": {"M": {"b": {"M": {"c": {"N": "1"}}}}},
        "l": {"L": [{"N": "20"}, {"M": {"x": {"S": "X"}}}]},
        "top": {"S": "T"},
    }


def test_projection_missing_paths_add_nothing(ddb, doc_table):
    item = ddb.get_item(TableName=doc_table, Key={"pk": {"S": "doc"}},
                        ProjectionExpression="nothere, a.zz, l[9], top.deeper, pk")["Item"]
    assert item == {"pk": {"S": "doc"}}
    response = ddb.get_item(TableName=doc_table, Key={"pk": {"S": "doc"}}, ProjectionExpression="nothere")
    assert response.get("Item", {}) == {}


def test_projection_with_attribute_names(ddb, doc_table):
    item = ddb.get_item(TableName=doc_table, Key={"pk": {"S": "doc"}}, ProjectionExpression="#n, #a.#b.d",
                        ExpressionAttributeNames={"#n": "name", "#a": "a", "#b": "b"})["Item"]
    assert item == {"name": DOC["name"], "a": {"M": {"b": {"M": {"d": {"N": "2"}}}}}}


def test_projection_placeholder_names_are_literal(ddb, table):
    """A placeholder stands for one attribute name, dots and brackets included."""
    item = {"pk": {"S": "lit"}, "a.b": {"S": "literal"}, "a": {"M": {"b": {"S": "nested"}}}, "c[0]": {"S": "brackets"}}
    ddb.put_item(TableName=table, Item=item)
    got = ddb.get_item(TableName=table, Key={"pk": {"S": "lit"}}, ProjectionExpression="#ab, #c",
                       ExpressionAttributeNames={"#ab": "a.b", "#c": "c[0]"})["Item"]
    assert got == {"a.b": {"S": "literal"}, "c[0]": {"S": "brackets"}}
    got = ddb.get_item(TableName=table, Key={"pk": {"S": "lit"}}, ProjectionExpression="a.b")["Item"]
    assert got == {"a": {"M": {"b": {"S": "nested"}}}}
    got = ddb.get_item(TableName=table, Key={"pk": {"S": "lit"}}, AttributesToGet=["a.b"])["Item"]
    assert got == {"a.b": {"S": "literal"}}


def test_projection_several_members_of_one_list_element(ddb, doc_table):
    item = ddb.get_item(TableName=doc_table, Key={"pk": {"S": "doc"}}, ProjectionExpression="l[3].y, l[3].x, l[0]")["Item"]
    assert item == {"l": {"L": [{"N": "10"}, {"M": {"x": {"S": "X"}, "y": {"S": "Y"}}}]}}


def test_projection_errors(ddb, server, doc_table):
    key = {"pk": {"S": "doc"}}
    cases = [
        (dict(ProjectionExpression="name"), "Attribute name is a reserved keyword; reserved keyword: name"),
        (dict(ProjectionExpression="a, a.b"), "Two document paths overlap with each other"),
        (dict(ProjectionExpression="l[0], l.x"), "Two document paths conflict with each other"),
        (dict(ProjectionExpression="#undefined"), "An expression attribute name used in the document path is not defined"),
        (dict(ProjectionExpression="a,,b"), "Invalid ProjectionExpression: Syntax error"),
        (dict(ProjectionExpression="top", ExpressionAttributeNames={"#unused": "x"}),
         "Value provided in ExpressionAttributeNames unused in expressions: keys: {#unused}"),
        (dict(ProjectionExpression="top", AttributesToGet=["top"]),
         "Can not use both expression and non-expression parameters in the same request"),
        (dict(ExpressionAttributeNames={"#a": "a"}), "ExpressionAttributeNames can only be specified when using expressions"),
        (dict(ProjectionExpression=""), "Invalid ProjectionExpression: The expression can not be empty"),
    ]
    for params, phrase in cases:
        with pytest.raises(ClientError) as excinfo:
            ddb.get_item(TableName=doc_table, Key=key, **params)
        assert_client_error(excinfo, "ValidationException", phrase)
    # GetItem has no ExpressionAttributeValues member, so botocore cannot send it: raw JSON.
    response = server.raw("GetItem", {"TableName": doc_table, "Key": key, "ProjectionExpression": "top",
                                      "ExpressionAttributeValues": {":v": {"S": "x"}}})
    assert response.status == 400 and response.error_code == "ValidationException"
    assert "Value provided in ExpressionAttributeValues unused in expressions: keys: {:v}" in response.message


def test_attributes_to_get(ddb, doc_table):
    item = ddb.get_item(TableName=doc_table, Key={"pk": {"S": "doc"}}, AttributesToGet=["top", "a", "missing"])["Item"]
    assert item == {"top": DOC["top"], "a": DOC["a"]}
    with pytest.raises(ClientError) as excinfo:
        ddb.get_item(TableName=doc_table, Key={"pk": {"S": "doc"}}, AttributesToGet=["top", "top"])
    assert_client_error(excinfo, "ValidationException", "Duplicate value in attribute name: top")


# -- consumed capacity ----------------------------------------------------------------------


def test_consumed_capacity(ddb, table):
    small = {"pk": {"S": "cc"}, "d": {"S": "x" * 100}}
    response = ddb.put_item(TableName=table, Item=small, ReturnConsumedCapacity="TOTAL")
    assert response["ConsumedCapacity"] == {"TableName": table, "CapacityUnits": 1.0}
    big = {"pk": {"S": "cc"}, "d": {"S": "x" * 5000}}  # 5007 bytes: 5 write units, 2 read units
    response = ddb.put_item(TableName=table, Item=big, ReturnConsumedCapacity="TOTAL")
    assert response["ConsumedCapacity"]["CapacityUnits"] == 5.0
    consistent = ddb.get_item(TableName=table, Key={"pk": {"S": "cc"}}, ConsistentRead=True, ReturnConsumedCapacity="TOTAL")
    assert consistent["ConsumedCapacity"]["CapacityUnits"] == 2.0
    eventual = ddb.get_item(TableName=table, Key={"pk": {"S": "cc"}}, ReturnConsumedCapacity="INDEXES")
    assert eventual["ConsumedCapacity"]["CapacityUnits"] == 1.0
    assert eventual["ConsumedCapacity"]["Table"] == {"CapacityUnits": 1.0}
    none = ddb.get_item(TableName=table, Key={"pk": {"S": "cc"}}, ReturnConsumedCapacity="NONE")
    assert "ConsumedCapacity" not in none


# -- conditional writes (these parameters used to be refused as unsupported) ----------------


@pytest.mark.parametrize("params", [
    dict(ConditionExpression="attribute_not_exists(pk)"),
    dict(Expected={"pk": {"Exists": False}}),
    dict(ConditionalOperator="AND", Expected={"pk": {"Exists": False}, "v": {"Exists": False}}),
], ids=["expression", "expected", "expected-and"])
def test_condition_parameters_enforced_on_put(ddb, table, params):
    ddb.put_item(TableName=table, Item={"pk": {"S": "cond"}, "v": {"S": "first"}}, **params)
    with pytest.raises(ClientError) as excinfo:
        ddb.put_item(TableName=table, Item={"pk": {"S": "cond"}, "v": {"S": "second"}}, **params)
    assert_client_error(excinfo, "ConditionalCheckFailedException", "The conditional request failed")
    assert "Item" not in excinfo.value.response  # no ReturnValuesOnConditionCheckFailure
    got = ddb.get_item(TableName=table, Key={"pk": {"S": "cond"}}, ConsistentRead=True)["Item"]
    assert got == {"pk": {"S": "cond"}, "v": {"S": "first"}}


def test_condition_parameters_enforced_on_delete(ddb, table):
    with pytest.raises(ClientError) as excinfo:
        ddb.delete_item(TableName=table, Key={"pk": {"S": "keep"}}, ConditionExpression="attribute_exists(pk)")
    assert_client_error(excinfo, "ConditionalCheckFailedException", "The conditional request failed")
    ddb.put_item(TableName=table, Item={"pk": {"S": "keep"}, "v": {"N": "1"}})
    with pytest.raises(ClientError) as excinfo:
        ddb.delete_item(TableName=table, Key={"pk": {"S": "keep"}}, ConditionExpression="v = :two",
                        ExpressionAttributeValues={":two": {"N": "2"}})
    assert_client_error(excinfo, "ConditionalCheckFailedException")
    assert "Item" in ddb.get_item(TableName=table, Key={"pk": {"S": "keep"}}, ConsistentRead=True)
    response = ddb.delete_item(TableName=table, Key={"pk": {"S": "keep"}}, ConditionExpression="attribute_exists(pk)",
                               ReturnValues="ALL_OLD")
    assert response["Attributes"] == {"pk": {"S": "keep"}, "v": {"N": "1"}}
    assert "Item" not in ddb.get_item(TableName=table, Key={"pk": {"S": "keep"}}, ConsistentRead=True)


def test_expression_attribute_values_without_expression(ddb, table):
    with pytest.raises(ClientError) as excinfo:
        ddb.put_item(TableName=table, Item={"pk": {"S": "eav"}}, ExpressionAttributeValues={":v": {"S": "x"}})
    assert_client_error(excinfo, "ValidationException", "ExpressionAttributeValues can only be specified when using expressions")
    assert "Item" not in ddb.get_item(TableName=table, Key={"pk": {"S": "eav"}}, ConsistentRead=True)


# -- not yet supported ----------------------------------------------------------------------


@pytest.mark.parametrize("operation", ["TransactWriteItems", "TransactGetItems", "ExecuteStatement",
                                       "BatchExecuteStatement", "ExecuteTransaction"])
def test_unsupported_operations(ddb, table, operation):
    put_u = {"TableName": table, "Item": {"pk": {"S": "u"}}}
    calls = {
        "TransactWriteItems": lambda: ddb.transact_write_items(TransactItems=[{"Put": put_u}]),
        "TransactGetItems": lambda: ddb.transact_get_items(TransactItems=[{"Get": {"TableName": table, "Key": {"pk": {"S": "u"}}}}]),
        "ExecuteStatement": lambda: ddb.execute_statement(Statement=f"INSERT INTO \"{table}\" VALUE {{'pk': 'u'}}"),
        "BatchExecuteStatement": lambda: ddb.batch_execute_statement(
            Statements=[{"Statement": f"INSERT INTO \"{table}\" VALUE {{'pk': 'u'}}"}]),
        "ExecuteTransaction": lambda: ddb.execute_transaction(
            TransactStatements=[{"Statement": f"INSERT INTO \"{table}\" VALUE {{'pk': 'u'}}"}]),
    }
    with pytest.raises(ClientError) as excinfo:
        calls[operation]()
    assert_client_error(excinfo, "ValidationException", f"Tern does not support the {operation} operation yet")
    # Refused, not half-done: none of the writes above took effect.
    assert "Item" not in ddb.get_item(TableName=table, Key={"pk": {"S": "u"}}, ConsistentRead=True)


def test_item_operations_on_missing_table(ddb):
    for call in (lambda: ddb.put_item(TableName="no-such-table", Item={"pk": {"S": "a"}}),
                 lambda: ddb.get_item(TableName="no-such-table", Key={"pk": {"S": "a"}}),
                 lambda: ddb.delete_item(TableName="no-such-table", Key={"pk": {"S": "a"}})):
        with pytest.raises(ClientError) as excinfo:
            call()
        assert_client_error(excinfo, "ResourceNotFoundException", "Requested resource not found")


# -- boto3 high-level resource --------------------------------------------------------------


def test_table_resource_round_trip(server, table_sk):
    resource = server.resource()
    tbl = resource.Table(table_sk)
    assert tbl.key_schema == [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}]
    item = {
        "pk": "res", "sk": Decimal("1.5"),
        "price": Decimal("19.990"), "big": Decimal("12345678901234567890123456789012345678"),
        "tiny": Decimal("1E-130"), "neg": Decimal("-0.5"), "count": 3,
        "name": "Widget \u2603", "active": True, "nothing": None,
        "blob": Binary(ALL_BYTES), "raw": b"\x00raw",
        "tags": {"red", "green"}, "sizes": {Decimal("1"), Decimal("2.5")}, "blobs": {Binary(b"\x01"), Binary(b"\x02")},
        "nested": {"list": [1, "two", {"three": Decimal("3.0")}, [True, None]], "map": {"k": "v"}},
        "empty_list": [], "empty_map": {},
    }
    tbl.put_item(Item=item)
    got = tbl.get_item(Key={"pk": "res", "sk": Decimal("1.50")}, ConsistentRead=True)["Item"]
    expected = dict(item)
    expected.update({"price": Decimal("19.99"), "count": Decimal(3), "raw": Binary(b"\x00raw"),
                     "nested": {"list": [Decimal(1), "two", {"three": Decimal("3")}, [True, None]], "map": {"k": "v"}}})
    assert got == expected
    assert str(got["price"]) == "19.99"
    assert str(got["big"]) == "12345678901234567890123456789012345678"
    assert got["tiny"] == Decimal("1E-130")

    tbl.delete_item(Key={"pk": "res", "sk": Decimal("1.5")})
    assert "Item" not in tbl.get_item(Key={"pk": "res", "sk": Decimal("1.5")}, ConsistentRead=True)


def test_table_resource_batch_writer(server, table):
    tbl = server.resource().Table(table)
    with tbl.batch_writer() as writer:
        for i in range(60):  # more than one 25-item batch
            writer.put_item(Item={"pk": f"bw{i}", "i": i, "s": {Decimal(i), Decimal(i + 1)}})
    for i in (0, 24, 25, 59):
        assert tbl.get_item(Key={"pk": f"bw{i}"})["Item"] == {"pk": f"bw{i}", "i": Decimal(i), "s": {Decimal(i), Decimal(i + 1)}}
