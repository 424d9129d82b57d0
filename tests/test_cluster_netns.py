"""Three `tern serve` processes, each in its own network namespace on a bridge, as hosts on a
network would be: a node cut off by its link going down (a real partition: its TCP connections
stay open and silent, nothing is refused) must not hold up writes or reads, must be hinted for,
and must catch up once the link is back (issue 7). Needs root and iproute2 (`make deps`); the
namespaces, links and processes are removed afterwards, also on failure."""
from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import subprocess
import time
import urllib.request

import pytest

from conftest import make_client, unique_name


def _ip(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(["ip", *args], check=check, capture_output=True, text=True)


def _netns_available() -> bool:
    if os.geteuid() != 0 or shutil.which("ip") is None:
        return False
    name = f"tnprobe{secrets.token_hex(2)}"
    if _ip("netns", "add", name, check=False).returncode != 0:
        return False
    _ip("netns", "del", name, check=False)
    return True


pytestmark = pytest.mark.skipif(not _netns_available(), reason="needs root and network namespaces")


class NetnsCluster:
    """n1..n3 in namespaces `tn<tag><i>`, addresses 10.201.<subnet>.<i>, joined by bridge `tb<tag>`."""

    def __init__(self, binary: str, workdir):
        self.binary = binary
        self.workdir = workdir
        self.tag = secrets.token_hex(2)
        self.subnet = int(self.tag, 16) % 250 + 1
        self.bridge = f"tb{self.tag}"
        self.procs: list[subprocess.Popen] = []

    def address(self, i: int) -> str:
        return f"10.201.{self.subnet}.{i}"

    def namespace(self, i: int) -> str:
        return f"tn{self.tag}{i}"

    def link(self, i: int) -> str:
        return f"th{self.tag}{i}"  # the host end, on the bridge

    def endpoint(self, i: int) -> str:
        return f"http://{self.address(i)}:8000"

    def start(self) -> "NetnsCluster":
        _ip("link", "add", self.bridge, "type", "bridge")
        _ip("addr", "add", f"10.201.{self.subnet}.254/24", "dev", self.bridge)
        _ip("link", "set", self.bridge, "up")
        for i in (1, 2, 3):
            inner = f"tc{self.tag}{i}"
            _ip("netns", "add", self.namespace(i))
            _ip("link", "add", self.link(i), "type", "veth", "peer", "name", inner)
            _ip("link", "set", inner, "netns", self.namespace(i))
            _ip("link", "set", self.link(i), "master", self.bridge)
            _ip("link", "set", self.link(i), "up")
            _ip("netns", "exec", self.namespace(i), "ip", "addr", "add", f"{self.address(i)}/24", "dev", inner)
            _ip("netns", "exec", self.namespace(i), "ip", "link", "set", inner, "up")
            _ip("netns", "exec", self.namespace(i), "ip", "link", "set", "lo", "up")
        seeds = ",".join(f"{self.address(i)}:7000" for i in (1, 2, 3))
        for i in (1, 2, 3):
            log = open(self.workdir / f"n{i}.log", "wb")
            self.procs.append(subprocess.Popen(
                ["ip", "netns", "exec", self.namespace(i), self.binary, "serve", "--node-id", f"n{i}",
                 "--host", self.address(i), "--port", "8000", "--cluster-port", "7000", "--seeds", seeds,
                 "--data-dir", str(self.workdir / f"n{i}"), "--log-level", "info"],
                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL))
        deadline = time.monotonic() + 60
        for i in (1, 2, 3):
            while True:
                try:
                    self.status(i)
                    break
                except OSError:
                    assert time.monotonic() < deadline, f"n{i} did not start; see {self.workdir}/n{i}.log"
                    time.sleep(0.2)
        return self

    def stop(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGCONT)
                proc.kill()
                proc.wait()
        for i in (1, 2, 3):
            _ip("netns", "del", self.namespace(i), check=False)
            _ip("link", "del", self.link(i), check=False)
        _ip("link", "del", self.bridge, check=False)

    def cut(self, i: int) -> None:
        _ip("link", "set", self.link(i), "down")

    def heal(self, i: int) -> None:
        _ip("link", "set", self.link(i), "up")

    def status(self, i: int) -> dict:
        with urllib.request.urlopen(self.endpoint(i) + "/cluster/status", timeout=5) as response:
            return json.loads(response.read())

    def _inside(self, i: int, *curl: str) -> tuple[int, str]:
        """curl run inside n<i>'s namespace (reaches n<i> when its link is down)."""
        done = subprocess.run(["ip", "netns", "exec", self.namespace(i), "curl", "-s", "-m", "30",
                               "-w", "\n%{http_code}", *curl], capture_output=True, text=True, check=True)
        body, _, code = done.stdout.rpartition("\n")
        return int(code), body

    def status_inside(self, i: int) -> dict:
        code, body = self._inside(i, self.endpoint(i) + "/cluster/status")
        assert code == 200, body
        return json.loads(body)

    def request_inside(self, i: int, target: str, body: dict) -> dict:
        """A DynamoDB request to n<i> from inside its namespace (a dummy SigV4 header, which a
        node without --credentials accepts unverified)."""
        code, text = self._inside(
            i, "-X", "POST", self.endpoint(i) + "/", "-H", "Content-Type: application/x-amz-json-1.0",
            "-H", f"X-Amz-Target: DynamoDB_20120810.{target}", "-H", "X-Amz-Date: 20260101T000000Z",
            "-H", "Authorization: AWS4-HMAC-SHA256 Credential=AKIDTEST/20260101/us-east-1/dynamodb/aws4_request, "
                  "SignedHeaders=content-type;host;x-amz-date;x-amz-target, Signature=" + "0" * 64,
            "--data-binary", json.dumps(body))
        return {"status": code, "body": json.loads(text) if text else {}}

    def client(self, i: int, **headers):
        client = make_client(self.endpoint(i), connect_timeout=3, read_timeout=20)
        for name, value in headers.items():
            client.meta.events.register("before-sign.dynamodb.*",
                                        lambda request, name=name, value=value, **_: request.headers.add_header(name, value))
        return client

    def wait_until(self, what: str, condition, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                if condition():
                    return
            except OSError:
                pass  # a node that is cut off does not answer its status page
            assert time.monotonic() < deadline, f"timed out waiting until {what}"
            time.sleep(0.3)


@pytest.fixture
def netns_cluster(tern_bin, tmp_path):
    cluster = NetnsCluster(tern_bin, tmp_path)
    try:
        yield cluster.start()
    finally:
        cluster.stop()


def _create(client, name: str) -> None:
    client.create_table(TableName=name, AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}], BillingMode="PAY_PER_REQUEST")


def test_a_node_cut_off_by_a_partition_holds_up_no_write_and_catches_up_when_the_link_returns(netns_cluster):
    cluster = netns_cluster
    table = unique_name("part")
    live = [cluster.client(1), cluster.client(2)]
    _create(live[0], table)
    count = 300
    for i in range(count):
        live[i % 2].put_item(TableName=table, Item={"pk": {"S": f"k{i}"}, "v": {"N": "0"}})

    cluster.cut(3)
    slowest_write = slowest_read = 0.0
    for i in range(count):
        started = time.monotonic()
        live[i % 2].put_item(TableName=table, Item={"pk": {"S": f"k{i}"}, "v": {"N": "1"}})
        slowest_write = max(slowest_write, time.monotonic() - started)
    for i in range(count):
        started = time.monotonic()
        item = live[(i + 1) % 2].get_item(TableName=table, Key={"pk": {"S": f"k{i}"}}, ConsistentRead=True)["Item"]
        slowest_read = max(slowest_read, time.monotonic() - started)
        assert item["v"] == {"N": "1"}, f"k{i}: {item}"
    assert slowest_write < 1.5, f"a write waited {slowest_write:.2f} s for the cut-off replica"
    assert slowest_read < 3.0, f"a consistent read waited {slowest_read:.2f} s, past the replica deadline"
    # The majority side still changes the catalog.
    during = unique_name("during")
    _create(live[0], during)
    cluster.wait_until("n1 and n2 see n3 unreachable", lambda: all(
        next(m for m in cluster.status(i)["members"] if m["node"] == "n3")["state"] == "unreachable" for i in (1, 2)))
    hinted = sum(m["hintsPending"] for i in (1, 2) for m in cluster.status(i)["members"])
    assert hinted > 0, "no write was hinted for the cut-off node"

    cluster.heal(3)
    cluster.wait_until("every node sees every member up", lambda: all(
        m["state"] == "up" for i in (1, 2, 3) for m in cluster.status(i)["members"]))
    cluster.wait_until("hints drain to zero", lambda: sum(
        m["hintsPending"] for i in (1, 2, 3) for m in cluster.status(i)["members"]) == 0)
    # n3's own replica, read alone before any read could repair it, has every write.
    own = cluster.client(3, **{"X-Tern-R": "1"})
    stale = [i for i in range(count)
             if own.get_item(TableName=table, Key={"pk": {"S": f"k{i}"}}).get("Item", {}).get("v") != {"N": "1"}]
    assert not stale, f"n3's replica misses {len(stale)} writes made while it was cut off, e.g. {stale[:5]}"
    assert cluster.client(3).describe_table(TableName=during)["Table"]["TableStatus"] == "ACTIVE"


def test_a_node_cut_off_alone_refuses_writes_and_table_changes_quickly_and_retryably(netns_cluster):
    """The minority side: from inside n3's namespace, a client of n3 gets a retryable 500 for a
    write (W = 2 of its replicas are unreachable) and for CreateTable (no catalog majority), each
    within a few seconds, never a hang."""
    cluster = netns_cluster
    table = unique_name("minority")
    _create(cluster.client(1), table)
    cluster.cut(3)
    cluster.wait_until("n3 sees n1 and n2 unreachable", lambda: sum(
        m["state"] == "unreachable" for m in cluster.status_inside(3)["members"]) == 2)
    requests = [
        ("PutItem", {"TableName": table, "Item": {"pk": {"S": "alone"}}}),
        ("CreateTable", {"TableName": unique_name("alone"), "BillingMode": "PAY_PER_REQUEST",
                         "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}],
                         "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}]}),
    ]
    for target, body in requests:
        started = time.monotonic()
        answer = cluster.request_inside(3, target, body)
        elapsed = time.monotonic() - started
        assert answer["status"] == 500, (target, answer)
        assert answer["body"]["__type"].endswith("InternalServerError"), (target, answer)
        assert elapsed < 12, f"{target} took {elapsed:.1f} s"
    # The majority never saw the minority's table.
    assert len(cluster.client(1).list_tables()["TableNames"]) == 1
