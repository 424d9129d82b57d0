"""Three `tern serve` processes on 127.0.0.1 as one cluster (N = 3, W = 2): writes through every
node, kill -9 of a node in the middle of a load, hints, quorum reads, and failures that come
quickly when too few replicas are left (issue 7, DESIGN.md §4–§5)."""
from __future__ import annotations

import signal
import threading
import time
import urllib.request

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError, ConnectionClosedError, ReadTimeoutError

from conftest import Cluster, free_port, unique_name


@pytest.fixture
def cluster(tern_bin, tmp_path):
    cluster = Cluster(tern_bin, tmp_path).start()
    try:
        yield cluster
    finally:
        cluster.stop()


def create_table_on_cluster(cluster: Cluster, name: str) -> None:
    """Creates `name` (string hash key `pk`) and waits until every node describes it ACTIVE."""
    cluster.nodes[0].client().create_table(
        TableName=name, AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}], BillingMode="PAY_PER_REQUEST")
    ids = set()
    for node in cluster.nodes:
        description = node.client().describe_table(TableName=name)["Table"]
        assert description["TableStatus"] == "ACTIVE"
        ids.add(description["TableId"])
    assert len(ids) == 1, f"the nodes describe different tables: {ids}"


def with_header(client, name: str, value: str):
    client.meta.events.register("before-sign.dynamodb.*",
                                lambda request, **_: request.headers.add_header(name, value))
    return client


TRANSPORT_ERRORS = (EndpointConnectionError, ConnectionClosedError, ReadTimeoutError, ConnectionError)


def test_writes_survive_kill9_of_a_node_and_every_acknowledged_item_is_read_back_everywhere(cluster):
    table = unique_name("kill")
    create_table_on_cluster(cluster, table)
    total, workers = 5000, 6
    acknowledged: dict[str, str] = {}
    through_victim: set[str] = set()
    lock = threading.Lock()
    killed = threading.Event()
    victim = cluster.nodes[2]

    def writer(worker: int) -> None:
        clients = [node.client() for node in cluster.nodes]
        for i in range(worker, total, workers):
            key, value = f"k{i:05d}", f"v{i}"
            node = i % 3
            if node == 2 and killed.is_set():
                node = i % 2  # clients move off the dead node, as a load balancer would
            try:
                clients[node].put_item(TableName=table, Item={"pk": {"S": key}, "v": {"S": value}})
            except ClientError as error:
                code = error.response["Error"]["Code"]
                assert code == "InternalServerError", f"{key}: unexpected {code}"
                continue
            except TRANSPORT_ERRORS:
                continue  # the write to the killed node was never acknowledged
            with lock:
                acknowledged[key] = value
                if node == 2:
                    through_victim.add(key)
            if i >= total // 2 and not killed.is_set() and worker == 0:
                killed.set()
                victim.kill9()

    threads = [threading.Thread(target=writer, args=(w,)) for w in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert killed.is_set() and not victim.running
    assert len(acknowledged) >= total * 0.9, f"only {len(acknowledged)} of {total} writes acknowledged"

    victim.start()
    cluster.wait_until("every node sees every member up", cluster.all_reachable)
    # A copy in flight to the victim when it died is hinted when its failure arrives, or at the
    # replica deadline if it never does: wait for those first, then for every hint to drain.
    cluster.wait_until("no acknowledged write waits for a replica",
                       lambda: cluster.trailing_writes() == 0, timeout=30)
    cluster.wait_until("hints drain to zero", lambda: cluster.hints_pending() == 0, timeout=60)

    # Before any read could repair it: the restarted node's own replica (R = 1 reads it alone)
    # holds every acknowledged item the other nodes coordinated, also those whose copy was in
    # flight to it when it was killed (hinted by their coordinators after the acknowledgement).
    # Not necessarily those it coordinated itself: W = 2 remote acknowledgements may come before
    # its own copy is durable, and the hint for that copy died with it. Those are on the two
    # other replicas; the reads below find them and repair it (anti-entropy is not built yet).
    own = with_header(victim.client(), "X-Tern-R", "1")
    hinted = [key for key in acknowledged if key not in through_victim]
    found = batch_read(own, table, hinted, consistent=False)
    missing = [key for key in hinted if found.get(key) != acknowledged[key]]
    assert not missing, f"the restarted node's replica misses {len(missing)} acknowledged items, e.g. {missing[:5]}"

    for node in cluster.nodes:
        found = batch_read(node.client(), table, list(acknowledged), consistent=True)
        missing = [key for key, value in acknowledged.items() if found.get(key) != value]
        assert not missing, f"{node.endpoint}: {len(missing)} acknowledged items not read back, e.g. {missing[:5]}"

    everywhere = with_header(cluster.nodes[2].client(), "X-Tern-R", "3")
    found = batch_read(everywhere, table, list(acknowledged), consistent=False)
    stale = [key for key, value in acknowledged.items() if found.get(key) != value]
    assert not stale, f"R = 3 reads missed {len(stale)} items, e.g. {stale[:5]}"


def batch_read(client, table: str, keys: list[str], consistent: bool) -> dict[str, str]:
    """`v` of every key, read 100 at a time with BatchGetItem (unprocessed keys asked again)."""
    found: dict[str, str] = {}
    for start in range(0, len(keys), 100):
        pending = [{"pk": {"S": key}} for key in keys[start:start + 100]]
        for _ in range(20):
            if not pending:
                break
            answer = client.batch_get_item(RequestItems={table: {"Keys": pending, "ConsistentRead": consistent}})
            for item in answer["Responses"].get(table, []):
                found[item["pk"]["S"]] = item["v"]["S"]
            pending = answer.get("UnprocessedKeys", {}).get(table, {}).get("Keys", [])
        assert not pending, "BatchGetItem kept keys unprocessed"
    return found


def test_one_node_down_keeps_writes_and_consistent_reads_and_two_down_fail_quickly(cluster):
    table = unique_name("down")
    create_table_on_cluster(cluster, table)
    first = cluster.nodes[0].client()
    cluster.nodes[2].kill9()
    cluster.wait_until("n1 sees n3 unreachable",
                       lambda: any(m["state"] == "unreachable" for m in cluster.status(cluster.nodes[0])["members"]))
    for i in range(50):
        first.put_item(TableName=table, Item={"pk": {"S": f"k{i}"}, "v": {"N": str(i)}})
    second = cluster.nodes[1].client()
    for i in range(50):
        item = second.get_item(TableName=table, Key={"pk": {"S": f"k{i}"}}, ConsistentRead=True)["Item"]
        assert item["v"] == {"N": str(i)}

    cluster.nodes[1].kill9()
    cluster.wait_until("n1 sees n2 unreachable",
                       lambda: sum(m["state"] == "unreachable" for m in cluster.status(cluster.nodes[0])["members"]) == 2)
    for call in (lambda: first.put_item(TableName=table, Item={"pk": {"S": "k1"}, "v": {"N": "-1"}}),
                 lambda: first.get_item(TableName=table, Key={"pk": {"S": "k1"}}, ConsistentRead=True)):
        started = time.monotonic()
        with pytest.raises(ClientError) as raised:
            call()
        assert time.monotonic() - started < 2.0, "a request without its quorum fails at once"
        assert raised.value.response["Error"]["Code"] == "InternalServerError"
        assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 500
        assert "replicas" in raised.value.response["Error"]["Message"]
    # An eventually consistent read needs one replica: it still answers. The failed put may have
    # reached this node's replica before it failed (a 500 is not "nothing written"; see
    # docs/consistency.md), so either version may come back.
    assert first.get_item(TableName=table, Key={"pk": {"S": "k1"}})["Item"]["v"] in ({"N": "1"}, {"N": "-1"})


def test_conditional_writes_from_every_node_are_serialised_by_one_replica(cluster):
    table = unique_name("cond")
    create_table_on_cluster(cluster, table)
    clients = [node.client() for node in cluster.nodes]
    errors: list[str] = []

    def bump(client, count):
        for _ in range(count):
            try:
                client.update_item(TableName=table, Key={"pk": {"S": "counter"}}, UpdateExpression="ADD n :one",
                                   ExpressionAttributeValues={":one": {"N": "1"}})
            except ClientError as error:
                errors.append(error.response["Error"]["Code"])

    threads = [threading.Thread(target=bump, args=(client, 40)) for client in clients for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
    for client in clients:
        item = client.get_item(TableName=table, Key={"pk": {"S": "counter"}}, ConsistentRead=True)["Item"]
        assert item["n"] == {"N": "240"}, "every ADD counted once, whichever node took it"
    winners = 0
    for client in clients:
        try:
            client.put_item(TableName=table, Item={"pk": {"S": "once"}}, ConditionExpression="attribute_not_exists(pk)")
            winners += 1
        except ClientError as error:
            assert error.response["Error"]["Code"] == "ConditionalCheckFailedException"
    assert winners == 1


def test_cluster_status_names_every_member_and_its_partitions(cluster, tern_bin):
    import subprocess
    status = cluster.status(cluster.nodes[1])
    assert status["node"] == "n2"
    assert status["replication"] == {"N": 3, "W": 2, "R": 2}
    assert isinstance(status["trailingWrites"], int) and status["trailingWrites"] >= 0
    members = {member["node"]: member for member in status["members"]}
    assert set(members) == {"n1", "n2", "n3"}
    assert sum(member["partitionsOwned"] for member in members.values()) == status["partitions"]
    assert all(member["partitionsReplicated"] == status["partitions"] for member in members.values())
    text = subprocess.run([tern_bin, "cluster", "status", "--endpoint", cluster.nodes[0].endpoint],
                          capture_output=True, text=True, timeout=10)
    assert text.returncode == 0, text.stderr
    assert "n1 (self)" in text.stdout and "n3" in text.stdout and "HINTS" in text.stdout


def test_quorum_headers_are_validated(cluster):
    table = unique_name("hdr")
    create_table_on_cluster(cluster, table)
    bad = with_header(cluster.nodes[0].client(), "X-Tern-W", "zero")
    with pytest.raises(ClientError) as raised:
        bad.put_item(TableName=table, Item={"pk": {"S": "a"}})
    assert raised.value.response["Error"]["Code"] == "ValidationException"
    assert "X-Tern-W" in raised.value.response["Error"]["Message"]
    one = with_header(cluster.nodes[0].client(), "X-Tern-W", "3")
    one.put_item(TableName=table, Item={"pk": {"S": "a"}})
    # W = 3: every replica holds it before the answer; R = 1 on any node sees it.
    for node in cluster.nodes:
        local = with_header(node.client(), "X-Tern-R", "1")
        assert local.get_item(TableName=table, Key={"pk": {"S": "a"}})["Item"] == {"pk": {"S": "a"}}


def test_table_tags_set_the_tables_quorums(cluster):
    client = cluster.nodes[0].client()
    schema = dict(AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                  KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}], BillingMode="PAY_PER_REQUEST")
    for tags, phrase in (([{"Key": "tern:w", "Value": "4"}, {"Key": "tern:n", "Value": "3"}], "tern:w"),
                         ([{"Key": "tern:n", "Value": "0"}], "tern:n"),
                         ([{"Key": "tern:x", "Value": "1"}], "tern:x")):
        with pytest.raises(ClientError) as raised:
            client.create_table(TableName=unique_name("bad"), Tags=tags, **schema)
        assert raised.value.response["Error"]["Code"] == "ValidationException"
        assert phrase in raised.value.response["Error"]["Message"]

    strict = unique_name("strict")
    client.create_table(TableName=strict, Tags=[{"Key": "tern:w", "Value": "3"}], **schema)
    arn = client.describe_table(TableName=strict)["Table"]["TableArn"]
    with pytest.raises(ClientError) as raised:
        client.tag_resource(ResourceArn=arn, Tags=[{"Key": "tern:n", "Value": "2"}])
    assert "only be given at CreateTable" in raised.value.response["Error"]["Message"]
    client.put_item(TableName=strict, Item={"pk": {"S": "a"}})
    cluster.nodes[2].kill9()
    cluster.wait_until("n1 sees n3 unreachable",
                       lambda: any(m["state"] == "unreachable" for m in cluster.status(cluster.nodes[0])["members"]))
    with pytest.raises(ClientError) as raised:
        client.put_item(TableName=strict, Item={"pk": {"S": "b"}})
    assert raised.value.response["Error"]["Code"] == "InternalServerError", "W = 3 needs the node that is down"
    # The header outranks the table's tag.
    with_header(cluster.nodes[0].client(), "X-Tern-W", "2").put_item(TableName=strict, Item={"pk": {"S": "b"}})


def test_two_nodes_creating_one_table_at_the_same_moment_give_one_success_and_one_id(cluster):
    for attempt in range(3):
        name = unique_name(f"race{attempt}")
        barrier = threading.Barrier(2)
        outcomes: list[str] = []

        def create(node):
            client = node.client()
            barrier.wait()
            try:
                client.create_table(TableName=name, AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                                    KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}], BillingMode="PAY_PER_REQUEST")
                outcomes.append("created")
            except ClientError as error:
                outcomes.append(error.response["Error"]["Code"])

        threads = [threading.Thread(target=create, args=(node,)) for node in cluster.nodes[:2]]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sorted(outcomes) == ["ResourceInUseException", "created"], outcomes
        ids = {node.client().describe_table(TableName=name)["Table"]["TableId"] for node in cluster.nodes}
        assert len(ids) == 1, f"the nodes describe different tables: {ids}"


def test_a_node_that_was_down_learns_the_tables_created_meanwhile(cluster):
    cluster.nodes[2].kill9()
    name = unique_name("late")
    client = cluster.nodes[0].client()
    client.create_table(TableName=name, AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}], BillingMode="PAY_PER_REQUEST")
    client.put_item(TableName=name, Item={"pk": {"S": "a"}, "v": {"S": "1"}})
    cluster.nodes[2].start()
    returned = cluster.nodes[2].client()
    assert returned.describe_table(TableName=name)["Table"]["TableStatus"] == "ACTIVE"
    assert returned.get_item(TableName=name, Key={"pk": {"S": "a"}}, ConsistentRead=True)["Item"]["v"] == {"S": "1"}
    assert name in returned.list_tables()["TableNames"]


def test_peers_without_the_cluster_secret_are_refused(tern_bin, tmp_path):
    import socket
    import struct
    import subprocess

    secret = tmp_path / "secret"
    secret.write_bytes(b"correct horse battery staple 42")
    cluster = Cluster(tern_bin, tmp_path / "c", extra_args=["--cluster-secret-file", str(secret)]).start()
    try:
        assert "peer authentication is ON" in cluster.nodes[0].log_text()
        table = unique_name("auth")
        create_table_on_cluster(cluster, table)
        cluster.nodes[1].client().put_item(TableName=table, Item={"pk": {"S": "a"}})
        assert cluster.nodes[2].client().get_item(TableName=table, Key={"pk": {"S": "a"}}, ConsistentRead=True)["Item"]

        # A raw request frame (kind 4, a replica read) with no handshake: the node closes the
        # connection and answers nothing.
        frame = bytes([1, 4]) + struct.pack(">QIH", 1, 1000, 1) + b"\x00"
        with socket.create_connection(("127.0.0.1", cluster.cluster_ports[0]), timeout=5) as sock:
            sock.sendall(struct.pack(">I", len(frame)) + frame)
            assert sock.recv(4096) == b"", "the connection is closed without an answer"

        # A node with another secret never learns the members: it cannot join.
        wrong = tmp_path / "wrong"
        wrong.write_bytes(b"not the secret at all, sorry!!")
        own = free_port()
        seeds = ",".join(f"127.0.0.1:{port}" for port in cluster.cluster_ports + [own])
        log = tmp_path / "intruder.log"
        port = free_port()
        with open(log, "wb") as out:
            intruder = subprocess.Popen(
                [tern_bin, "serve", "--node-id", "evil", "--port", str(port), "--cluster-port", str(own),
                 "--seeds", seeds, "--cluster-secret-file", str(wrong), "--data-dir", str(tmp_path / "evil")],
                stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        try:
            time.sleep(3)
            assert intruder.poll() is None
            with pytest.raises(OSError):
                urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=1)  # never got the members: not serving
            assert "waiting for seeds" in log.read_text()
        finally:
            intruder.kill()
            intruder.wait()
    finally:
        cluster.stop()


def test_a_paused_node_delays_no_write_or_consistent_read_past_the_replica_deadline_and_catches_up(cluster):
    """SIGSTOP leaves a node's connections open but silent, the hardest kind of failure to see:
    writes need only the two live replicas (W = 2) and never wait for the paused one; a
    consistent read that asked it moves to a spare replica by the replica deadline (2 s). After
    SIGCONT the node catches up: a probe closes its breaker (its connections never dropped), hints
    drain, and a read of all three replicas sees every write."""
    table = unique_name("pause")
    create_table_on_cluster(cluster, table)
    paused = cluster.nodes[2]
    live = [cluster.nodes[0].client(), cluster.nodes[1].client()]
    count = 120
    paused.proc.send_signal(signal.SIGSTOP)
    try:
        slowest_write = slowest_read = 0.0
        for i in range(count):
            if i == count // 2:
                # The first half timed out on the paused replica: its breaker is open now, and the
                # second half is hinted for it instead of sent.
                cluster.wait_until("n1 and n2 see n3 unreachable", lambda: all(
                    any(m["node"] == "n3" and m["state"] == "unreachable" for m in cluster.status(node)["members"])
                    for node in cluster.nodes[:2]))
            started = time.monotonic()
            live[i % 2].put_item(TableName=table, Item={"pk": {"S": f"p{i}"}, "v": {"N": str(i)}})
            slowest_write = max(slowest_write, time.monotonic() - started)
        hinted = sum(m["hintsPending"] for node in cluster.nodes[:2] for m in cluster.status(node)["members"])
        assert hinted > 0, "no write was hinted for the paused node"
        for i in range(count):
            started = time.monotonic()
            item = live[(i + 1) % 2].get_item(TableName=table, Key={"pk": {"S": f"p{i}"}}, ConsistentRead=True)["Item"]
            slowest_read = max(slowest_read, time.monotonic() - started)
            assert item["v"] == {"N": str(i)}
        assert slowest_write < 1.5, f"a write waited {slowest_write:.2f} s for the paused replica"
        assert slowest_read < 3.0, f"a consistent read waited {slowest_read:.2f} s, past the replica deadline"
    finally:
        paused.proc.send_signal(signal.SIGCONT)

    cluster.wait_until("every node sees every member up", cluster.all_reachable)
    cluster.wait_until("hints drain to zero", lambda: cluster.hints_pending() == 0, timeout=60)
    everywhere = with_header(paused.client(), "X-Tern-R", "3")
    keys = [f"p{i}" for i in range(count)]
    found = {}
    for start in range(0, count, 100):
        answer = everywhere.batch_get_item(RequestItems={table: {"Keys": [{"pk": {"S": k}} for k in keys[start:start + 100]]}})
        for item in answer["Responses"][table]:
            found[item["pk"]["S"]] = item["v"]["N"]
    assert found == {f"p{i}": str(i) for i in range(count)}


def metrics(node) -> dict[str, float]:
    with urllib.request.urlopen(node.endpoint + "/metrics", timeout=5) as response:
        assert response.headers["Content-Type"].startswith("text/plain")
        text = response.read().decode()
    samples = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, value = line.rsplit(" ", 1)
            samples[name] = float(value)
    return samples


def test_hints_for_a_node_that_is_down_show_in_status_and_metrics_and_drain_when_it_returns(cluster):
    table = unique_name("hint")
    create_table_on_cluster(cluster, table)
    first = cluster.nodes[0]
    cluster.nodes[2].kill9()
    cluster.wait_until("n1 sees n3 unreachable",
                       lambda: any(m["state"] == "unreachable" for m in cluster.status(first)["members"]))
    client = first.client()
    for i in range(20):
        client.put_item(TableName=table, Item={"pk": {"S": f"h{i}"}})
    # With three members there is no fallback: the coordinator keeps the hints for n3 itself.
    samples = metrics(first)
    assert samples['tern_hints_pending{target="n3"}'] == 20
    assert samples['tern_hint_bytes_pending{target="n3"}'] > 0
    assert samples['tern_peer_reachable{peer="n3"}'] == 0
    assert samples['tern_peer_reachable{peer="n2"}'] == 1
    n3 = next(m for m in cluster.status(first)["members"] if m["node"] == "n3")
    assert n3["hintsPending"] == 20

    cluster.nodes[2].start()
    cluster.wait_until("the hints are delivered", lambda: metrics(first)['tern_hints_pending{target="n3"}'] == 0)
    local = with_header(cluster.nodes[2].client(), "X-Tern-R", "1")
    for i in range(20):
        assert local.get_item(TableName=table, Key={"pk": {"S": f"h{i}"}})["Item"] == {"pk": {"S": f"h{i}"}}
