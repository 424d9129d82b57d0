"""Blocking storage work stays off the request threads: table statistics are maintained figures
(DescribeTable never scans), and reads that may touch disk run on a bounded thread pool, so two
DescribeTable calls on a 200,000-item table do not stall reads running at the same time."""

from __future__ import annotations

import threading
import time

from conftest import create_table

ITEMS = 200_000
BATCH = 25


def _load(srv, table: str) -> None:
    def worker(start: int, stop: int):
        client = srv.client()
        for first in range(start, stop, BATCH):
            requests = [{"PutRequest": {"Item": {"pk": {"S": f"k{i:06d}"}, "v": {"S": "x" * 40}}}}
                        for i in range(first, min(first + BATCH, stop))]
            pending = {table: requests}
            for _ in range(20):
                pending = client.batch_write_item(RequestItems=pending)["UnprocessedItems"]
                if not pending:
                    break
            assert not pending, "items left unprocessed after 20 attempts"

    threads = 8
    share = ITEMS // threads
    workers = [threading.Thread(target=worker, args=(t * share, (t + 1) * share)) for t in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()


def test_two_describe_tables_on_a_200k_item_table_do_not_stall_concurrent_reads(fresh_server):
    client = fresh_server.client()
    table = create_table(client)
    _load(fresh_server, table)
    assert client.describe_table(TableName=table)["Table"]["ItemCount"] == ITEMS

    latencies: list[float] = []
    counts: list[int] = []
    errors: list[BaseException] = []
    done = threading.Event()
    lock = threading.Lock()

    def describer():
        c = fresh_server.client()
        try:
            for _ in range(5):
                counts.append(c.describe_table(TableName=table)["Table"]["ItemCount"])
        except BaseException as error:  # noqa: BLE001 - reported below
            errors.append(error)

    def reader():
        c = fresh_server.client()
        i = 0
        try:
            while not done.is_set() and i < 300:
                key = {"pk": {"S": f"k{(i * 7919) % ITEMS:06d}"}}
                start = time.monotonic()
                if i % 3 == 0:
                    assert c.get_item(TableName=table, Key=key)["Item"]["v"] == {"S": "x" * 40}
                elif i % 3 == 1:
                    assert c.query(TableName=table, KeyConditionExpression="pk = :p",
                                   ExpressionAttributeValues={":p": key["pk"]})["Count"] == 1
                else:
                    assert len(c.batch_get_item(RequestItems={table: {"Keys": [key]}})["Responses"][table]) == 1
                with lock:
                    latencies.append(time.monotonic() - start)
                i += 1
        except BaseException as error:  # noqa: BLE001
            errors.append(error)

    readers = [threading.Thread(target=reader) for _ in range(2)]
    describers = [threading.Thread(target=describer) for _ in range(2)]
    for t in readers + describers:
        t.start()
    for t in describers:
        t.join()
    done.set()
    for t in readers:
        t.join()
    assert not errors, errors
    assert counts == [ITEMS] * 10
    assert latencies
    # A stall detector, not a benchmark: a DescribeTable that scanned 200k items on the request
    # threads held concurrent Query/BatchGetItem calls for seconds; reads now take milliseconds.
    assert max(latencies) < 1.0, f"a read stalled for {max(latencies):.2f} s"
