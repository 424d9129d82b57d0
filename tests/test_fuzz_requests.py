"""Seeded request fuzzing through the real HTTP front door: mutated versions of valid requests for
every operation must get a 200 or a 4xx DynamoDB error — never a 500, a hang or a crash."""
import copy
import json
import random

import pytest

from conftest import TARGET_PREFIX

SEED = 20261201
CASES_PER_OPERATION = 150


def valid_requests(table: str, ranged: str) -> dict:
    key = {"pk": {"S": "k1"}}
    rkey = {"pk": {"S": "k1"}, "sk": {"N": "5"}}
    item = {"pk": {"S": "k1"}, "n": {"N": "1.5"}, "m": {"M": {"a": {"L": [{"S": "x"}, {"NS": ["1", "2"]}]}}},
            "b": {"B": "AAEC"}, "ss": {"SS": ["a", "b"]}, "t": {"BOOL": True}, "z": {"NULL": True}}
    return {
        "PutItem": {"TableName": table, "Item": item, "ConditionExpression": "attribute_not_exists(#p) OR n < :v",
                    "ExpressionAttributeNames": {"#p": "pk"}, "ExpressionAttributeValues": {":v": {"N": "3"}},
                    "ReturnValues": "ALL_OLD", "ReturnConsumedCapacity": "TOTAL"},
        "GetItem": {"TableName": table, "Key": key, "ProjectionExpression": "m.a[0], #n", "ExpressionAttributeNames": {"#n": "n"},
                    "ConsistentRead": True},
        "DeleteItem": {"TableName": table, "Key": key, "ConditionExpression": "size(ss) > :z",
                       "ExpressionAttributeValues": {":z": {"N": "0"}}, "ReturnValues": "ALL_OLD"},
        "UpdateItem": {"TableName": table, "Key": key,
                       "UpdateExpression": "SET n = if_not_exists(n, :z) + :one, l = list_append(:l, :l) REMOVE b ADD ss :s DELETE q :s",
                       "ExpressionAttributeValues": {":z": {"N": "0"}, ":one": {"N": "1"}, ":l": {"L": [{"S": "a"}]}, ":s": {"SS": ["c"]}},
                       "ReturnValues": "UPDATED_NEW"},
        "Query": {"TableName": ranged, "KeyConditionExpression": "pk = :p AND sk BETWEEN :a AND :b",
                  "FilterExpression": "attribute_exists(v) AND NOT contains(v, :a)", "Limit": 3, "ScanIndexForward": False,
                  "ExpressionAttributeValues": {":p": {"S": "k1"}, ":a": {"N": "1"}, ":b": {"N": "9"}},
                  "ExclusiveStartKey": rkey},
        "Scan": {"TableName": ranged, "Segment": 1, "TotalSegments": 3, "Limit": 5, "Select": "COUNT",
                 "ScanFilter": {"v": {"ComparisonOperator": "GT", "AttributeValueList": [{"N": "1"}]}}},
        "BatchGetItem": {"RequestItems": {table: {"Keys": [key, {"pk": {"S": "k2"}}], "ProjectionExpression": "pk"}}},
        "BatchWriteItem": {"RequestItems": {table: [{"PutRequest": {"Item": item}}, {"DeleteRequest": {"Key": {"pk": {"S": "k3"}}}}]}},
        "CreateTable": {"TableName": "fuzz-created", "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}],
                        "AttributeDefinitions": [{"AttributeName": "id", "AttributeType": "S"}], "BillingMode": "PAY_PER_REQUEST"},
        "UpdateTable": {"TableName": table, "BillingMode": "PROVISIONED",
                        "ProvisionedThroughput": {"ReadCapacityUnits": 5, "WriteCapacityUnits": 5}},
        "ListTables": {"Limit": 5, "ExclusiveStartTableName": "aaa"},
        "DescribeTable": {"TableName": table},
    }


JUNK = [None, True, False, 0, -1, 1e309, "", "x" * 70, "#", ":", "(", "]", "a.b[", "\u0000", "\U0001F600", [], {}, [[]], {"S": 1},
        {"N": "1e400"}, {"SS": []}, {"M": {"": {"NULL": False}}}, {"B": "***"}, "SET", "attribute_exists(", 10 ** 30]


def mutate(rng: random.Random, value):
    """One random structural change somewhere in `value`."""
    if isinstance(value, dict) and value and rng.random() < 0.8:
        key = rng.choice(list(value))
        choice = rng.random()
        if choice < 0.25:
            del value[key]
        elif choice < 0.5:
            value[key] = copy.deepcopy(rng.choice(JUNK))
        elif choice < 0.6:
            value[rng.choice(["X", "#q", ":q", key + "x", ""])] = copy.deepcopy(rng.choice(JUNK))
        else:
            value[key] = mutate(rng, value[key])
        return value
    if isinstance(value, list) and value and rng.random() < 0.8:
        index = rng.randrange(len(value))
        if rng.random() < 0.3:
            value.append(copy.deepcopy(value[index]))
        else:
            value[index] = mutate(rng, value[index])
        return value
    if isinstance(value, str) and value and rng.random() < 0.7:
        position = rng.randrange(len(value) + 1)
        return value[:position] + rng.choice(["(", ")", " AND ", ",", "[1]", ".", "#x", ":x", "<", "\"", "size", "0"]) + value[position:]
    return copy.deepcopy(rng.choice(JUNK))


@pytest.mark.parametrize("operation", sorted(valid_requests("t", "r")))
def test_mutated_requests_never_crash_the_node(fresh_server, operation):
    client = fresh_server.client()
    from conftest import create_table
    table = create_table(client)
    ranged = create_table(client, range_key=("sk", "N"))
    base = valid_requests(table, ranged)[operation]
    rng = random.Random(f"{SEED}-{operation}")
    statuses = {}
    for case in range(CASES_PER_OPERATION):
        request = copy.deepcopy(base)
        for _ in range(rng.randint(1, 3)):
            request = mutate(rng, request)
        body = json.dumps(request).encode() if rng.random() < 0.95 else json.dumps(request).encode()[: rng.randint(0, 40)]
        response = fresh_server.raw(operation, body)
        statuses[response.status] = statuses.get(response.status, 0) + 1
        assert response.status in (200, 400), f"case {case}: {response.status} for {body[:300]!r}: {response.body[:300]!r}"
        if response.status == 400:
            assert response.error_code, f"case {case}: a 400 without __type: {response.body[:200]!r}"
    assert fresh_server.running, "the node must survive every malformed request"
    assert fresh_server.client().list_tables()["TableNames"], "and keep serving afterwards"
    assert statuses.get(400, 0) > 0, "the mutations must reach validation"
