"""Atomicity of read-modify-write operations under real concurrency: many threads, each with its
own boto3 client (connection pool of 32), hitting the same item at the same time."""

import concurrent.futures
import threading

import boto3
import pytest
from botocore.exceptions import ClientError

from conftest import ACCESS_KEY, REGION, SECRET_KEY, client_config

THREADS = 32


@pytest.fixture(scope="module")
def clients(server):
    """One client per thread (made once: creating a client costs ~0.1 s), each with a pool of 32."""
    session = boto3.session.Session()
    return [session.client("dynamodb", endpoint_url=server.endpoint, region_name=REGION, aws_access_key_id=ACCESS_KEY,
                           aws_secret_access_key=SECRET_KEY, config=client_config(max_pool_connections=THREADS))
            for _ in range(THREADS)]


def run_threads(clients, count, body):
    """Runs body(index, client) on `count` threads that start together, each with its own client."""
    barrier = threading.Barrier(count)

    def start(index):
        barrier.wait()
        return body(index, clients[index])

    with concurrent.futures.ThreadPoolExecutor(count) as pool:
        return list(pool.map(start, range(count)))


def test_concurrent_add_counter_is_exact(clients, ddb, table):
    key = {"pk": {"S": "counter"}}
    per_thread = 200

    def add(index, client):
        seen = []
        for _ in range(per_thread):
            response = client.update_item(TableName=table, Key=key, UpdateExpression="ADD hits :one",
                                          ExpressionAttributeValues={":one": {"N": "1"}}, ReturnValues="UPDATED_NEW")
            seen.append(int(response["Attributes"]["hits"]["N"]))
        return seen

    results = run_threads(clients, THREADS, add)
    total = THREADS * per_thread
    item = ddb.get_item(TableName=table, Key=key, ConsistentRead=True)["Item"]
    assert item["hits"] == {"N": str(total)}
    # Every increment saw a distinct value: no two updates read the same old item.
    every = [value for seen in results for value in seen]
    assert sorted(every) == list(range(1, total + 1))
    assert all(seen == sorted(seen) for seen in results)  # each thread's own updates are ordered


def test_concurrent_put_if_absent_has_one_winner(clients, ddb, table):
    for round_ in range(10):
        key = {"pk": {"S": f"race-{round_}"}}

        def put(index, client):
            try:
                client.put_item(TableName=table, Item={**key, "winner": {"N": str(index)}},
                                ConditionExpression="attribute_not_exists(pk)")
                return "ok"
            except ClientError as error:
                return error.response["Error"]["Code"]

        outcomes = run_threads(clients, THREADS, put)
        assert outcomes.count("ok") == 1, outcomes
        assert outcomes.count("ConditionalCheckFailedException") == THREADS - 1, outcomes
        stored = ddb.get_item(TableName=table, Key=key, ConsistentRead=True)["Item"]
        assert stored["winner"] == {"N": str(outcomes.index("ok"))}


def test_concurrent_optimistic_locking(clients, ddb, table):
    """Read the version, write with `version = :seen`: lost updates would show as a short count."""
    key = {"pk": {"S": "versioned"}}
    ddb.put_item(TableName=table, Item={**key, "version": {"N": "0"}, "trail": {"L": []}})
    threads, successes = 8, 15

    def work(index, client):
        done = attempts = 0
        while done < successes:
            attempts += 1
            assert attempts < 2000
            current = client.get_item(TableName=table, Key=key, ConsistentRead=True)["Item"]["version"]["N"]
            try:
                client.update_item(TableName=table, Key=key, ConditionExpression="version = :seen",
                                   UpdateExpression="SET version = version + :one, trail = list_append(trail, :me)",
                                   ExpressionAttributeValues={":seen": {"N": current}, ":one": {"N": "1"},
                                                              ":me": {"L": [{"N": str(index)}]}})
                done += 1
            except ClientError as error:
                assert error.response["Error"]["Code"] == "ConditionalCheckFailedException"
        return attempts

    run_threads(clients, threads, work)
    item = ddb.get_item(TableName=table, Key=key, ConsistentRead=True)["Item"]
    assert item["version"] == {"N": str(threads * successes)}
    log = [int(v["N"]) for v in item["trail"]["L"]]
    assert sorted(log) == sorted(i for i in range(threads) for _ in range(successes))


def test_concurrent_set_add_and_list_append_lose_nothing(clients, ddb, table):
    key = {"pk": {"S": "collections"}}

    def work(index, client):
        for j in range(10):
            client.update_item(TableName=table, Key=key, UpdateExpression="ADD members :m SET entries = list_append(if_not_exists(entries, :empty), :e)",
                               ExpressionAttributeValues={":m": {"SS": [f"{index}-{j}"]}, ":e": {"L": [{"S": f"{index}-{j}"}]},
                                                          ":empty": {"L": []}})

    run_threads(clients, 16, work)
    item = ddb.get_item(TableName=table, Key=key, ConsistentRead=True)["Item"]
    expected = {f"{i}-{j}" for i in range(16) for j in range(10)}
    assert set(item["members"]["SS"]) == expected and len(item["members"]["SS"]) == 160
    entries = [e["S"] for e in item["entries"]["L"]]
    assert sorted(entries) == sorted(expected)


def test_concurrent_conditional_delete_has_one_winner(clients, ddb, table):
    key = {"pk": {"S": "delete-race"}}
    ddb.put_item(TableName=table, Item={**key, "v": {"N": "1"}})

    def delete(index, client):
        try:
            response = client.delete_item(TableName=table, Key=key, ConditionExpression="attribute_exists(pk)",
                                          ReturnValues="ALL_OLD")
            return response["Attributes"]
        except ClientError as error:
            return error.response["Error"]["Code"]

    outcomes = run_threads(clients, 16, delete)
    winners = [o for o in outcomes if isinstance(o, dict)]
    assert winners == [{**key, "v": {"N": "1"}}]
    assert outcomes.count("ConditionalCheckFailedException") == 15
    assert "Item" not in ddb.get_item(TableName=table, Key=key, ConsistentRead=True)


@pytest.mark.parametrize("operation", ["update", "put"])
def test_writes_to_different_items_do_not_interfere(clients, ddb, table, operation):
    def work(index, client):
        key = {"pk": {"S": f"own-{operation}-{index}"}}
        for j in range(20):
            if operation == "update":
                client.update_item(TableName=table, Key=key, UpdateExpression="ADD n :one", ExpressionAttributeValues={":one": {"N": "1"}})
            else:
                client.put_item(TableName=table, Item={**key, "n": {"N": str(j + 1)}},
                                ConditionExpression="attribute_not_exists(n) OR n = :prev",
                                ExpressionAttributeValues={":prev": {"N": str(j)}})

    run_threads(clients, 16, work)
    for index in range(16):
        item = ddb.get_item(TableName=table, Key={"pk": {"S": f"own-{operation}-{index}"}}, ConsistentRead=True)["Item"]
        assert item["n"] == {"N": "20"}
