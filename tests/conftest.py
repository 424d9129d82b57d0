"""Client tests: boto3, the AWS CLI and raw HTTP against real `tern serve` processes.

Every server is a child process on a free 127.0.0.1 port with its own temporary data
directory; it is always stopped (SIGTERM, then SIGKILL after 10 s) when its fixture ends,
and an atexit hook kills any that survive an interrupted run.

The binary is $TERN_BIN (the Makefile sets it); without it, ./.build/debug/tern of this
repository. A missing binary fails every test with a clear message; nothing is skipped.
"""

from __future__ import annotations

import atexit
import base64
import http.client
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.request
import uuid
from decimal import Context, Decimal
from pathlib import Path

import boto3
import pytest
from botocore.config import Config

REPO = Path(__file__).resolve().parent.parent
DEFAULT_BIN = REPO / ".build" / "debug" / "tern"
START_TIMEOUT = 30.0
STOP_TIMEOUT = 10.0
REGION = "us-east-1"
ACCESS_KEY = "AKIDTERNTEST"
SECRET_KEY = "tern-test-secret"
TARGET_PREFIX = "DynamoDB_20120810."
# Any well-formed SigV4 header: a server without --credentials accepts it unverified.
DUMMY_AUTH = (
    "AWS4-HMAC-SHA256 Credential=a/20260101/us-east-1/dynamodb/aws4_request, "
    "SignedHeaders=host, Signature=00"
)

# Keep the developer's own AWS configuration out of every client and CLI run.
os.environ["AWS_CONFIG_FILE"] = os.devnull
os.environ["AWS_SHARED_CREDENTIALS_FILE"] = os.devnull
os.environ["AWS_EC2_METADATA_DISABLED"] = "true"
for _name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_DYNAMODB", "AWS_SESSION_TOKEN"):
    os.environ.pop(_name, None)


def tern_binary() -> str:
    configured = os.environ.get("TERN_BIN")
    path = Path(configured) if configured else DEFAULT_BIN
    if not path.is_file() or not os.access(path, os.X_OK):
        source = "TERN_BIN" if configured else f"TERN_BIN is unset and the default {DEFAULT_BIN}"
        pytest.fail(
            f"tern binary not found: {source} -> {path} does not exist or is not executable. "
            "Build it with `swift build` and run `make test-clients` "
            "(or set TERN_BIN=/path/to/tern).",
            pytrace=False,
        )
    return str(path)


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config):
    """A private temporary root per run (unless --basetemp is given). pytest's default root,
    /tmp/pytest-of-<user>, keeps only the 3 newest runs and deletes older ones when a new run
    starts, so another run on the same machine could delete this run's server data directories
    mid-run (seen as OSError in fixtures)."""
    if config.option.basetemp is None:
        config.option.basetemp = tempfile.mkdtemp(prefix="tern-tests-")
        config._tern_private_basetemp = config.option.basetemp


def pytest_sessionfinish(session, exitstatus):
    """The private root is removed after a clean run and kept (for the server logs) otherwise."""
    basetemp = getattr(session.config, "_tern_private_basetemp", None)
    if basetemp is None:
        return
    if exitstatus in (0, pytest.ExitCode.NO_TESTS_COLLECTED):
        shutil.rmtree(basetemp, ignore_errors=True)
    else:
        print(f"\ntern test data and server logs kept in {basetemp}")


def pytest_report_header(config):
    configured = os.environ.get("TERN_BIN")
    return f"tern binary: {configured or DEFAULT_BIN}"


_port_picker = random.Random()


def _ephemeral_range() -> tuple[int, int]:
    try:
        low, high = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()
        return int(low), int(high)
    except (OSError, ValueError):
        return 32768, 60999


def free_port() -> int:
    """A free port below the kernel's ephemeral range. A port the kernel hands out for `bind(0)`
    comes from the range outgoing connections use too, and a cluster's peer connections could
    take it between this check and the server's own bind."""
    low, _ = _ephemeral_range()
    for _ in range(200):
        port = _port_picker.randrange(10000, max(10001, low))
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


_live: dict[int, subprocess.Popen] = {}


@atexit.register
def _kill_leftovers() -> None:
    for proc in list(_live.values()):
        if proc.poll() is None:
            proc.kill()
            proc.wait()


class TernServer:
    """One `tern serve` process on a fixed data directory; restartable."""

    def __init__(self, binary: str, workdir: Path, *, in_memory: bool = False,
                 credentials: list[tuple[str, str]] | None = None, log_level: str = "info",
                 extra_args: list[str] | None = None):
        self.binary = binary
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.data_dir = self.workdir / "data"
        self.in_memory = in_memory
        self.log_level = log_level
        self.extra_args = list(extra_args or [])
        self.credentials_file: Path | None = None
        if credentials is not None:
            self.credentials_file = self.workdir / "credentials"
            self.credentials_file.write_text("".join(f"{k} {s}\n" for k, s in credentials))
        self.port = free_port()
        self.proc: subprocess.Popen | None = None
        self.starts = 0
        self.log_path: Path | None = None
        self._log_file = None

    # -- lifecycle -------------------------------------------------------------------------

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    def command(self) -> list[str]:
        cmd = [self.binary, "serve", "--host", "127.0.0.1", "--port", str(self.port), "--log-level", self.log_level]
        cmd += ["--in-memory"] if self.in_memory else ["--data-dir", str(self.data_dir)]
        if self.credentials_file is not None:
            cmd += ["--credentials", str(self.credentials_file)]
        return cmd + self.extra_args

    def start(self) -> "TernServer":
        assert self.proc is None or self.proc.poll() is not None, "server already running"
        self.starts += 1
        self.log_path = self.workdir / f"server-{self.starts}.log"
        self._log_file = open(self.log_path, "wb")
        self.proc = subprocess.Popen(self.command(), stdout=self._log_file, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL)
        _live[self.proc.pid] = self.proc
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            if self.proc.poll() is not None:
                code = self.proc.returncode
                self._close_log()
                pytest.fail(f"tern serve exited with {code} during start-up:\n{self.log_text()}", pytrace=False)
            try:
                with urllib.request.urlopen(self.endpoint + "/", timeout=1) as response:
                    if response.status == 200:
                        return self
            except (urllib.error.URLError, ConnectionError, OSError):
                pass
            if time.monotonic() > deadline:
                self.kill9()
                pytest.fail(f"tern serve did not answer GET / within {START_TIMEOUT} s:\n{self.log_text()}",
                            pytrace=False)
            time.sleep(0.05)

    def stop(self, timeout: float = STOP_TIMEOUT) -> int | None:
        """SIGTERM, wait up to `timeout`, then SIGKILL. Returns the exit code."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._forget()
        return self.proc.returncode

    def kill9(self) -> int | None:
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()
        self._forget()
        return self.proc.returncode

    def restart(self) -> "TernServer":
        """Clean stop (SIGTERM) and start again on the same port and data directory."""
        self.stop()
        return self.start()

    def _forget(self) -> None:
        _live.pop(self.proc.pid, None)
        self._close_log()

    def _close_log(self) -> None:
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def log_text(self) -> str:
        if self.log_path is None or not self.log_path.exists():
            return ""
        return self.log_path.read_text(errors="replace")

    def log_lines(self) -> list[dict]:
        lines = []
        for line in self.log_text().splitlines():
            try:
                lines.append(json.loads(line))
            except ValueError:
                pass
        return lines

    # -- clients ---------------------------------------------------------------------------

    def client(self, **kwargs):
        return make_client(self.endpoint, **kwargs)

    def resource(self, **kwargs):
        return make_resource(self.endpoint, **kwargs)

    def raw(self, target: str | None, body, headers: dict | None = None, **kwargs) -> "RawResponse":
        return raw_request(self.port, target, body, headers=headers, **kwargs)


def client_config(**overrides) -> Config:
    # total_max_attempts=1 is "no retries" (max_attempts counts retries, so max_attempts=1 would
    # still retry once). A retried request could hide a failure this suite is meant to see.
    settings = dict(retries={"total_max_attempts": 1, "mode": "standard"}, connect_timeout=5, read_timeout=60)
    settings.update(overrides)
    return Config(**settings)


def make_client(endpoint: str, access_key: str = ACCESS_KEY, secret_key: str = SECRET_KEY, **config):
    return boto3.session.Session().client(
        "dynamodb", endpoint_url=endpoint, region_name=REGION,
        aws_access_key_id=access_key, aws_secret_access_key=secret_key, config=client_config(**config),
    )


def make_resource(endpoint: str, access_key: str = ACCESS_KEY, secret_key: str = SECRET_KEY, **config):
    return boto3.session.Session().resource(
        "dynamodb", endpoint_url=endpoint, region_name=REGION,
        aws_access_key_id=access_key, aws_secret_access_key=secret_key, config=client_config(**config),
    )


class RawResponse:
    def __init__(self, status: int, headers: dict[str, str], body: bytes):
        self.status = status
        self.headers = headers  # lower-cased names
        self.body = body

    def json(self):
        return json.loads(self.body)

    @property
    def error_code(self) -> str | None:
        try:
            return self.json().get("__type", "").split("#")[-1] or None
        except ValueError:
            return None

    @property
    def message(self) -> str:
        data = self.json()
        return data.get("message", data.get("Message", ""))


def raw_request(port: int, target: str | None, body, *, headers: dict | None = None, method: str = "POST",
                path: str = "/", auth: bool = True, timeout: float = 60) -> RawResponse:
    """One request on a fresh connection. `target` is the operation name (prefix added unless
    it already contains a dot); `body` is bytes, str or a JSON-serialisable object."""
    if isinstance(body, (dict, list)):
        body = json.dumps(body).encode()
    elif isinstance(body, str):
        body = body.encode()
    all_headers = {"Content-Type": "application/x-amz-json-1.0"}
    if auth:
        all_headers["Authorization"] = DUMMY_AUTH
    if target is not None:
        all_headers["X-Amz-Target"] = target if "." in target else TARGET_PREFIX + target
    all_headers.update(headers or {})
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=all_headers)
        response = conn.getresponse()
        data = response.read()
        return RawResponse(response.status, {k.lower(): v for k, v in response.getheaders()}, data)
    finally:
        conn.close()


# -- fixtures ------------------------------------------------------------------------------


class Cluster:
    """Nodes n1..nK (three by default) that know each other through --seeds: N = 3, W = 2, R = 2."""

    def __init__(self, binary: str, workdir, count: int = 3, extra_args: list[str] | None = None):
        self.binary, self.workdir, self.count, self.extra_args = binary, workdir, count, list(extra_args or [])
        self._make_nodes()

    def _make_nodes(self) -> None:
        self.cluster_ports = [free_port() for _ in range(self.count)]
        seeds = ",".join(f"127.0.0.1:{port}" for port in self.cluster_ports)
        self.nodes: list[TernServer] = []
        for index, cluster_port in enumerate(self.cluster_ports):
            args = ["--node-id", f"n{index + 1}", "--cluster-port", str(cluster_port), "--seeds", seeds,
                    "--replication", "3", "--write-quorum", "2", "--read-quorum", "2"] + self.extra_args
            self.nodes.append(TernServer(self.binary, self.workdir / f"n{index + 1}", extra_args=args))

    def _start_all(self) -> bool:
        # Each node waits for every seed before it answers GET /: start them all, then wait.
        threads = [threading.Thread(target=node.start) for node in self.nodes]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return all(node.running for node in self.nodes)

    def start(self) -> "Cluster":
        # A port found free can be taken before the node binds it (another process): then the
        # whole cluster starts again on new ports (the seeds name them all).
        for _ in range(3):
            if self._start_all():
                return self
            logs = "\n".join(node.log_text() for node in self.nodes)
            self.stop()
            if "Address already in use" not in logs:
                break
            self._make_nodes()
        raise AssertionError("a node of the cluster did not start:\n" + "\n".join(node.log_text()[-2000:] for node in self.nodes))

    def stop(self) -> None:
        for node in self.nodes:
            node.stop()

    def status(self, node: TernServer) -> dict:
        with urllib.request.urlopen(node.endpoint + "/cluster/status", timeout=5) as response:
            return json.loads(response.read())

    def hints_pending(self) -> int:
        return sum(member["hintsPending"] for node in self.nodes if node.running
                   for member in self.status(node)["members"])

    def trailing_writes(self) -> int:
        """Acknowledged writes whose replicas have not all answered: each may still become a hint."""
        return sum(self.status(node)["trailingWrites"] for node in self.nodes if node.running)

    def wait_until(self, what: str, condition, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            assert time.monotonic() < deadline, f"timed out waiting until {what}"
            time.sleep(0.2)

    def all_reachable(self) -> bool:
        return all(member["state"] == "up" for node in self.nodes if node.running
                   for member in self.status(node)["members"])


@pytest.fixture(scope="session")
def tern_bin() -> str:
    return tern_binary()


@pytest.fixture(scope="session")
def server(tern_bin, tmp_path_factory):
    """The shared RocksDB-backed node most tests use. Tests create uniquely named tables.

    With TERN_TEST_CLUSTER=1 it is node n1 of a three-node cluster (N = 3, W = 2): the same
    tests then run through forwarding, replication and quorum reads (`make test-clients-cluster`)."""
    if os.environ.get("TERN_TEST_CLUSTER"):
        cluster = Cluster(tern_bin, tmp_path_factory.mktemp("tern-cluster")).start()
        try:
            yield cluster.nodes[0]
        finally:
            cluster.stop()
        return
    srv = TernServer(tern_bin, tmp_path_factory.mktemp("tern-session"))
    srv.start()
    try:
        yield srv
    finally:
        srv.stop()


@pytest.fixture
def server_factory(tern_bin, tmp_path):
    """Function-scoped servers (restart, kill -9, credentials): factory(**TernServer kwargs)."""
    servers: list[TernServer] = []

    def factory(name: str = "node", start: bool = True, **kwargs) -> TernServer:
        srv = TernServer(tern_bin, tmp_path / name, **kwargs)
        servers.append(srv)
        if start:
            srv.start()
        return srv

    try:
        yield factory
    finally:
        for srv in servers:
            srv.stop()


@pytest.fixture
def fresh_server(server_factory) -> TernServer:
    return server_factory()


@pytest.fixture(scope="session")
def ddb(server):
    return server.client()


@pytest.fixture(scope="session")
def ddb_nv(server):
    """A client without botocore's client-side parameter validation, to reach the server's."""
    return server.client(parameter_validation=False)


def unique_name(prefix: str = "t") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def create_table(client, name: str | None = None, hash_key=("pk", "S"), range_key=None,
                 billing: str = "PAY_PER_REQUEST", **extra) -> str:
    name = name or unique_name()
    attrs = [{"AttributeName": hash_key[0], "AttributeType": hash_key[1]}]
    schema = [{"AttributeName": hash_key[0], "KeyType": "HASH"}]
    if range_key:
        attrs.append({"AttributeName": range_key[0], "AttributeType": range_key[1]})
        schema.append({"AttributeName": range_key[0], "KeyType": "RANGE"})
    params = dict(TableName=name, AttributeDefinitions=attrs, KeySchema=schema, BillingMode=billing)
    if billing == "PROVISIONED":
        params["ProvisionedThroughput"] = extra.pop("ProvisionedThroughput", {"ReadCapacityUnits": 5, "WriteCapacityUnits": 5})
    params.update(extra)
    response = client.create_table(**params)
    assert response["TableDescription"]["TableStatus"] == "ACTIVE"
    return name


@pytest.fixture
def table(ddb) -> str:
    """A fresh table with a string partition key `pk`."""
    return create_table(ddb)


@pytest.fixture
def table_sk(ddb) -> str:
    """A fresh table with string partition key `pk` and number sort key `sk`."""
    return create_table(ddb, range_key=("sk", "N"))


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def assert_client_error(excinfo, code: str, phrase: str | None = None, status: int = 400) -> None:
    """Checks a botocore ClientError: error code, HTTP status and a phrase of the message."""
    error = excinfo.value.response
    assert error["Error"]["Code"] == code, error
    assert error["ResponseMetadata"]["HTTPStatusCode"] == status, error
    if phrase is not None:
        assert phrase in error["Error"]["Message"], error["Error"]["Message"]


def normalize_item(item: dict) -> dict:
    """Low-level items with set members sorted, so sets compare regardless of order."""

    def norm(value):
        (kind, payload), = value.items()
        if kind in ("SS", "NS", "BS"):
            return {kind: sorted(payload)}
        if kind == "M":
            return {"M": {k: norm(v) for k, v in payload.items()}}
        if kind == "L":
            return {"L": [norm(v) for v in payload]}
        return {kind: payload}

    return {k: norm(v) for k, v in item.items()}


def number_size(text: str) -> int:
    """DynamoDB stores base-100 digits paired from the decimal point outwards, plus one byte, plus
    one for a negative number, 21 at most; zero is 1 byte (Sources/TernCore/ItemSize.swift)."""
    number = Decimal(text)
    if number == 0:
        return 1
    sign, digits, exponent = number.normalize(Context(prec=60)).as_tuple()
    pairs = (exponent + len(digits) - 1) // 2 - exponent // 2 + 1
    return min(21, pairs + 1 + sign)
