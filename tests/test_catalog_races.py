"""Concurrent table operations on the same names, as DynamoDB defines them, and their state after
a restart: one winner per CreateTable race, DeleteTable that never lets a racing write land after
it, no resurrected tables, no foreign or orphaned items, statistics that match the items."""

from __future__ import annotations

import random
import threading
import time

import pytest
from botocore.exceptions import ClientError

from conftest import create_table, unique_name


def _code(error: ClientError) -> str:
    return error.response["Error"]["Code"]


def _run_threads(target, args_list) -> None:
    """Runs `target` once per argument tuple, each in its own thread, and waits for all of them.
    An exception in a thread (a failed assert included) fails the test here, after every thread
    has finished: pytest would otherwise only warn about it."""
    errors: list[BaseException] = []

    def run(*args):
        try:
            target(*args)
        except BaseException as error:  # noqa: BLE001 - re-raised in the test's thread below
            errors.append(error)

    threads = [threading.Thread(target=run, args=args) for args in args_list]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]


def _create(client, name):
    return client.create_table(
        TableName=name, AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}], BillingMode="PAY_PER_REQUEST",
    )


def test_concurrent_create_table_of_one_name_has_exactly_one_winner(server):
    name = unique_name("race")
    barrier = threading.Barrier(8)
    outcomes: list[str] = []
    lock = threading.Lock()

    def worker():
        client = server.client()
        barrier.wait()
        try:
            _create(client, name)
            result = "ok"
        except ClientError as error:
            result = _code(error)
        with lock:
            outcomes.append(result)

    _run_threads(worker, [()] * 8)
    assert sorted(outcomes) == ["ResourceInUseException"] * 7 + ["ok"]


def test_delete_table_of_a_deleting_table_succeeds_and_create_is_refused_until_it_is_gone(server):
    """DynamoDB: DeleteTable of a DELETING table returns no error; the name stays taken
    (ResourceInUseException) until the deletion completes."""
    client = server.client()
    for _ in range(5):
        name = create_table(client)
        for i in range(20):
            client.put_item(TableName=name, Item={"pk": {"S": f"k{i}"}})
        barrier = threading.Barrier(3)
        outcomes: list[tuple[str, str]] = []
        lock = threading.Lock()

        def run(kind):
            c = server.client()
            barrier.wait()
            try:
                if kind == "delete":
                    status = c.delete_table(TableName=name)["TableDescription"]["TableStatus"]
                    result = status
                else:
                    _create(c, name)
                    result = "created"
            except ClientError as error:
                result = _code(error)
            with lock:
                outcomes.append((kind, result))

        _run_threads(run, [("delete",), ("delete",), ("create",)])
        deletes = [r for k, r in outcomes if k == "delete"]
        assert all(r in ("DELETING", "ResourceNotFoundException") for r in deletes), outcomes
        assert "DELETING" in deletes, outcomes
        create = next(r for k, r in outcomes if k == "create")
        assert create in ("created", "ResourceInUseException"), outcomes
        if name in client.list_tables()["TableNames"]:
            # Recreated (and not deleted again by the second DeleteTable, which may come after the
            # CreateTable): an empty new table, no item of the deleted one shows through.
            assert create == "created", outcomes
            assert client.scan(TableName=name)["Items"] == []
            client.delete_table(TableName=name)


def test_item_writes_racing_delete_table_never_land_after_it(server):
    client = server.client()
    name = create_table(client)
    stop = threading.Event()
    acknowledged: list[str] = []
    lock = threading.Lock()

    def writer(worker):
        c = server.client()
        i = 0
        while not stop.is_set() and i < 400:
            try:
                c.put_item(TableName=name, Item={"pk": {"S": f"w{worker}-{i}"}})
                with lock:
                    acknowledged.append(f"w{worker}-{i}")
            except ClientError as error:
                assert _code(error) == "ResourceNotFoundException", error.response
            i += 1

    def delete_once_writes_were_acknowledged():
        # Delete while the writers are busy: once some of their writes were acknowledged.
        try:
            deadline = time.monotonic() + 30
            while not acknowledged and time.monotonic() < deadline:
                time.sleep(0.01)
            client.delete_table(TableName=name)
        finally:
            stop.set()

    _run_threads(lambda role: writer(role) if role >= 0 else delete_once_writes_were_acknowledged(), [(w,) for w in range(6)] + [(-1,)])
    assert acknowledged, "some writes were acknowledged before the delete"
    create_table(client, name=name)
    assert client.scan(TableName=name)["Items"] == []
    assert client.describe_table(TableName=name)["Table"]["ItemCount"] == 0


@pytest.mark.parametrize("crash", [False, True], ids=["clean-restart", "kill-9"])
def test_storm_of_table_and_item_operations_then_restart(server_factory, crash):
    srv = server_factory()
    names = ["alpha", "beta", "gamma"]
    created_ids: list[str] = []
    lock = threading.Lock()

    def worker(seed):
        rng = random.Random(seed)
        c = srv.client()
        for step in range(50):
            name = rng.choice(names)
            action = rng.randrange(5)
            try:
                if action == 0:
                    table_id = _create(c, name)["TableDescription"]["TableId"]
                    with lock:
                        created_ids.append(table_id)
                elif action == 1:
                    c.delete_table(TableName=name)
                elif action == 2:
                    arn = c.describe_table(TableName=name)["Table"]["TableArn"]
                    c.tag_resource(ResourceArn=arn, Tags=[{"Key": f"w{seed}", "Value": str(step)}])
                elif action == 3:
                    c.update_table(TableName=name, DeletionProtectionEnabled=bool(step % 2))
                else:
                    table_id = c.describe_table(TableName=name)["Table"]["TableId"]
                    c.put_item(TableName=name, Item={"pk": {"S": f"w{seed}-{step % 9}"}, "incarnation": {"S": table_id}})
            except ClientError as error:
                assert _code(error) in ("ResourceInUseException", "ResourceNotFoundException", "ValidationException"), error.response

    _run_threads(worker, [(s,) for s in range(6)])
    client = srv.client()
    before = {}
    for name in client.list_tables()["TableNames"]:
        table = client.describe_table(TableName=name)["Table"]
        before[name] = (table["TableId"], table["TableStatus"],
                        sorted((t["Key"], t["Value"]) for t in client.list_tags_of_resource(ResourceArn=table["TableArn"])["Tags"]))
    assert len(created_ids) == len(set(created_ids)), "a TableId was handed out twice"
    if crash:
        srv.kill9()
        srv.start()
    else:
        srv.restart()
    client = srv.client()
    assert sorted(client.list_tables()["TableNames"]) == sorted(before), "a table was lost or resurrected"
    for name, (table_id, status, tags) in before.items():
        table = client.describe_table(TableName=name)["Table"]
        assert (table["TableId"], table["TableStatus"]) == (table_id, "ACTIVE") and status == "ACTIVE"
        assert sorted((t["Key"], t["Value"]) for t in client.list_tags_of_resource(ResourceArn=table["TableArn"])["Tags"]) == tags
        items = client.scan(TableName=name, ConsistentRead=True)["Items"]
        assert all(item["incarnation"]["S"] == table_id for item in items), "an item of another incarnation of the table"
        assert table["ItemCount"] == len(items)
