"""Durability proven at the system-call level (issue 6, point 6).

The kill -9 tests cannot tell a synced write from an unsynced one: the page cache survives a
process kill. Here `tern serve` runs under `strace -f`, and the trace must show, for every
acknowledged PutItem, in this order:

  1. the write(2) to a RocksDB write-ahead log (`<number>.log`) that carries the item's bytes,
  2. an fsync/fdatasync of that same log file that starts after that write returned,
  3. the HTTP response to that request, written to its socket after that sync returned.

A request is tied to its response by content, not by timing: each PutItem carries a unique
marker; the socket read that delivers the marker identifies the connection, and the first
response written on that connection after that read answers it (the clients never pipeline).

The same checker must report violations against `--unsafe-no-sync` (the negative control), or
the test would prove nothing.

Order is the order of the lines in strace's output, not the timestamps: strace stops a thread at
each traced syscall entry and exit and prints that stop before resuming it, so a sync that
returned before another thread entered its writev (causally: the commit thread wakes the event
loop after the sync) is printed before that writev's entry.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import shutil
import signal
import subprocess
import threading
import uuid
from dataclasses import dataclass, field

import pytest

from conftest import DUMMY_AUTH, TARGET_PREFIX, TernServer, _live

# Syscalls that RocksDB (7.8, Debian) uses to append to and sync its WAL, and that SwiftNIO uses
# to accept, read and answer a connection on Linux, plus the alternatives either could switch to.
TRACED = (
    "open,openat,creat,close,accept,accept4,"
    "read,readv,recvfrom,recvmsg,"
    "write,writev,pwrite64,pwritev,pwritev2,sendmsg,sendto,sendmmsg,"
    "fsync,fdatasync"
)
STRING_LIMIT = 1 << 20  # strace's -s: whole WAL group writes and requests, never truncated
WAL_NAME = re.compile(rb"(?:^|/)\d+\.log$")
SYNCS = {"fsync", "fdatasync"}
FILE_WRITES = {"write", "writev", "pwrite64", "pwritev", "pwritev2"}
SOCKET_WRITES = {"write", "writev", "sendmsg", "sendto", "sendmmsg"}
SOCKET_READS = {"read", "readv", "recvfrom", "recvmsg"}


# -- strace output -------------------------------------------------------------------------------


@dataclass
class Syscall:
    name: str
    pid: int
    start: int  # index of the line where the call was entered
    end: int  # index of the line where it returned (== start unless it was interrupted)
    timestamp: float
    args: str
    result: int | None
    strings: list[bytes] = field(default_factory=list)
    truncated: bool = False

    @property
    def fd(self) -> int | None:
        match = re.match(r"\s*(-?\d+)", self.args)
        return int(match.group(1)) if match else None

    @property
    def data(self) -> bytes:
        return b"".join(self.strings)


LINE = re.compile(r"^(\d+)\s+(\d+\.\d+)\s+(.*)$")
CALL = re.compile(r"^([a-z0-9_]+)\((.*)$")
RESUMED = re.compile(r"^<\.\.\. ([a-z0-9_]+) resumed>(.*)$")
# With -xx every byte of every string is printed as \xHH, so a string never contains a quote,
# a parenthesis or " = ", and the return value is the last " = N" of the line.
STRING = re.compile(r'"((?:\\x[0-9a-f]{2})*)"(\.\.\.)?')
RESULT = re.compile(r"\)\s+=\s+(-?\d+|\?)[^=]*$")
UNFINISHED = " <unfinished ...>"


FD_RETURNING = ("accept", "accept4", "open", "openat", "creat")


def parse_strace(text: str) -> list[Syscall]:
    """Calls of an `strace -f -ttt -xx` log, ordered by entry, each with its entry and exit line
    index. Interrupted calls (`<unfinished ...>` … `<... name resumed>`, printed when another
    thread's call came in between) are joined back into one call."""
    calls: list[Syscall] = []
    pending: dict[int, tuple[str, str, int, float]] = {}
    for index, line in enumerate(text.splitlines()):
        match = LINE.match(line)
        if not match:
            continue
        pid, timestamp, rest = int(match.group(1)), float(match.group(2)), match.group(3)
        resumed = RESUMED.match(rest)
        if resumed:
            if pid not in pending or pending[pid][0] != resumed.group(1):
                continue  # resumed without a recorded entry (attached mid-call): no order known
            name, head, start, entered = pending.pop(pid)
            # A call that returns a new fd is ordered by its exit: only then does the fd exist. By
            # its entry, an accept4 that waited while another thread closed the fd it then got
            # would come before that close, and the connection would be forgotten at once.
            if name in FD_RETURNING:
                start = index
            calls.append(_call(name, pid, start, index, entered, head + resumed.group(2)))
            continue
        call = CALL.match(rest)
        if not call:
            continue  # "--- SIGTERM ... ---", "+++ exited with 0 +++"
        if rest.endswith(UNFINISHED):
            pending[pid] = (call.group(1), call.group(2)[: -len(UNFINISHED)], index, timestamp)
        else:
            calls.append(_call(call.group(1), pid, index, index, timestamp, call.group(2)))
    calls.sort(key=lambda c: c.start)
    return calls


def _call(name: str, pid: int, start: int, end: int, timestamp: float, body: str) -> Syscall:
    result_match = RESULT.search(body)
    result = None
    if result_match and result_match.group(1) != "?":
        result = int(result_match.group(1))
    args = body[: result_match.start()] if result_match else body
    strings, truncated = [], False
    for string in STRING.finditer(args):
        strings.append(bytes.fromhex(string.group(1).replace("\\x", "")))
        truncated = truncated or string.group(2) is not None
    return Syscall(name, pid, start, end, timestamp, args, result, strings, truncated)


# -- the ordering check --------------------------------------------------------------------------


@dataclass
class Stream:
    """The bytes that went through one WAL file or one accepted connection, with the call that
    moved each range."""
    name: str
    data: bytearray = field(default_factory=bytearray)
    pieces: list[tuple[int, int, Syscall]] = field(default_factory=list)  # [begin, end) offsets

    def add(self, call: Syscall, payload: bytes, offset: int | None = None) -> None:
        begin = len(self.data) if offset is None else offset
        end = begin + len(payload)
        if end > len(self.data):
            self.data.extend(b"\0" * (end - len(self.data)))
        self.data[begin:end] = payload
        self.pieces.append((begin, end, call))

    def call_at(self, offset: int) -> Syscall:
        """The last call that wrote the byte at `offset`."""
        found = None
        for begin, end, call in self.pieces:
            if begin <= offset < end:
                found = call
        assert found is not None, f"{self.name}: no call wrote offset {offset}"
        return found


@dataclass
class Violation:
    marker: bytes
    kind: str  # "no request read", "no response", "not in WAL", "no sync before response"
    detail: str

    def __str__(self) -> str:
        return f"{self.marker.decode()}: {self.kind}: {self.detail}"


@dataclass
class Report:
    checked: int
    violations: list[Violation]
    wal_writes: int
    wal_syncs: int
    responses: int


def check_synced_before_ack(calls: list[Syscall], markers: list[bytes]) -> Report:
    files: dict[int, bytes] = {}  # fd -> path, for fds opened during the trace
    connections: dict[int, int] = {}  # fd -> connection id, for accepted sockets
    wal: dict[bytes, Stream] = {}
    reads: dict[int, Stream] = {}
    responses: dict[int, list[Syscall]] = {}
    syncs: dict[bytes, list[Syscall]] = {}
    next_connection = 0
    for call in calls:
        fd = call.fd
        if call.name in ("open", "openat", "creat"):
            if call.result is not None and call.result >= 0 and call.strings:
                files[call.result] = call.strings[0]
                connections.pop(call.result, None)
        elif call.name in ("accept", "accept4"):
            if call.result is not None and call.result >= 0:
                next_connection += 1
                connections[call.result] = next_connection
                files.pop(call.result, None)
        elif call.name == "close":
            files.pop(fd, None)
            connections.pop(fd, None)
        elif call.result is None or call.result < 0:
            continue
        elif fd in files and WAL_NAME.search(files[fd]):
            path = files[fd]
            if call.name in FILE_WRITES:
                assert not call.truncated, f"strace truncated a WAL write; raise -s: {call}"
                payload = call.data[: call.result]
                offset = int(call.args.split(",")[-1]) if call.name == "pwrite64" else None
                wal.setdefault(path, Stream(path.decode())).add(call, payload, offset)
            elif call.name in SYNCS and call.result == 0:
                syncs.setdefault(path, []).append(call)
        elif fd in connections:
            connection = connections[fd]
            if call.name in SOCKET_READS:
                assert not call.truncated, f"strace truncated a socket read; raise -s: {call}"
                reads.setdefault(connection, Stream(f"connection {connection}")).add(call, call.data[: call.result])
            elif call.name in SOCKET_WRITES and call.data.startswith(b"HTTP/1."):
                responses.setdefault(connection, []).append(call)

    violations: list[Violation] = []
    for marker in markers:
        # The request: the socket read that delivered the last byte of the marker.
        request = next(((connection, stream.call_at(stream.data.rfind(marker) + len(marker) - 1))
                        for connection, stream in reads.items() if marker in stream.data), None)
        if request is None:
            violations.append(Violation(marker, "no request read", "no socket read carried it"))
            continue
        connection, read = request
        # The response: the first one started on that connection after the request was read.
        response = next((r for r in responses.get(connection, []) if r.start > read.end), None)
        if response is None:
            violations.append(Violation(marker, "no response", f"connection {connection}"))
            continue
        # The WAL write that completed the item's record (its last occurrence in the log).
        written = [(path, stream.call_at(stream.data.rfind(marker) + len(marker) - 1))
                   for path, stream in wal.items() if marker in stream.data]
        if not written:
            violations.append(Violation(marker, "not in WAL", "no write to a *.log file carried it"))
            continue
        path, write = max(written, key=lambda pair: pair[1].end)
        if write.end > response.start:
            violations.append(Violation(marker, "no sync before response",
                                        f"response (line {response.start}) began before the WAL write "
                                        f"(line {write.start}) returned"))
            continue
        sync = next((s for s in syncs.get(path, []) if s.start > write.end and s.end < response.start), None)
        if sync is None:
            violations.append(Violation(marker, "no sync before response",
                                        f"WAL write at line {write.start}, response at line {response.start}, "
                                        f"no fsync/fdatasync of {path.decode()} in between"))
    return Report(len(markers), violations, sum(len(s.pieces) for s in wal.values()),
                  sum(len(s) for s in syncs.values()), sum(len(r) for r in responses.values()))


# -- a traced server and its load ----------------------------------------------------------------


class TracedServer(TernServer):
    """`tern serve` as a child of `strace -f`. Stopped by signalling the server itself (strace
    detaches, leaving the server running, if strace is the one signalled), then strace exits."""

    def __init__(self, *args, trace_path, **kwargs):
        super().__init__(*args, **kwargs)
        self.trace_path = trace_path

    def command(self) -> list[str]:
        return ["strace", "-f", "-ttt", "-xx", "-s", str(STRING_LIMIT), "-e", f"trace={TRACED}",
                "-o", str(self.trace_path), *super().command()]

    def server_pid(self) -> int | None:
        children = f"/proc/{self.proc.pid}/task/{self.proc.pid}/children"
        try:
            with open(children) as handle:
                pids = handle.read().split()
        except OSError:
            return None
        return int(pids[0]) if pids else None

    def kill9(self) -> int | None:
        pid = self.server_pid() if self.proc is not None else None
        if pid is not None:
            os.kill(pid, signal.SIGKILL)
        return super().kill9()

    def stop(self, timeout: float = 20.0) -> int | None:
        if self.proc is not None and self.proc.poll() is None:
            pid = self.server_pid()
            if pid is not None:
                os.kill(pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                if pid is not None:
                    os.kill(pid, signal.SIGKILL)
                self.proc.kill()
                self.proc.wait()
        if self.proc is not None:
            _live.pop(self.proc.pid, None)
            self._close_log()
            return self.proc.returncode
        return None


def post(conn: http.client.HTTPConnection, target: str, body: dict) -> tuple[int, bytes]:
    conn.request("POST", "/", body=json.dumps(body).encode(), headers={
        "Content-Type": "application/x-amz-json-1.0", "Authorization": DUMMY_AUTH,
        "X-Amz-Target": TARGET_PREFIX + target})
    response = conn.getresponse()
    return response.status, response.read()


def put_markers(port: int, table: str, sequential: int, threads: int, per_thread: int) -> list[bytes]:
    """PutItems with unique keys: `sequential` on one keep-alive connection, then `threads`
    connections at once with `per_thread` each. Returns the markers of the acknowledged ones."""
    run = uuid.uuid4().hex[:8]
    acknowledged: list[bytes] = []
    lock = threading.Lock()
    errors: list[str] = []

    def writer(name: str, count: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        try:
            for i in range(count):
                marker = f"durable-{run}-{name}-{i:04d}"
                # The marker is the key and a payload: a WAL record can be split at a 32 KiB
                # block boundary, which cannot cut both copies.
                item = {"pk": {"S": marker}, "payload": {"S": marker}}
                status, data = post(conn, "PutItem", {"TableName": table, "Item": item})
                if status == 200:
                    with lock:
                        acknowledged.append(marker.encode())
                else:
                    errors.append(f"{marker}: {status} {data[:200]!r}")
        finally:
            conn.close()

    writer("seq", sequential)
    workers = [threading.Thread(target=writer, args=(f"t{t}", per_thread)) for t in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(60)
    assert not errors, errors[:5]
    return acknowledged


def traced_run(tern_bin, tmp_path, name: str, extra_args: list[str], sequential: int, threads: int,
               per_thread: int) -> tuple[Report, int]:
    if shutil.which("strace") is None:
        pytest.fail("strace is not installed: run `make deps` (Debian package strace)", pytrace=False)
    trace = tmp_path / f"{name}.strace"
    server = TracedServer(tern_bin, tmp_path / name, trace_path=trace, log_level="warning", extra_args=extra_args)
    try:
        server.start()
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
        status, data = post(conn, "CreateTable", {
            "TableName": "durable", "BillingMode": "PAY_PER_REQUEST",
            "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}],
            "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}]})
        conn.close()
        assert status == 200, data
        markers = put_markers(server.port, "durable", sequential, threads, per_thread)
    finally:
        server.stop()
    report = check_synced_before_ack(parse_strace(trace.read_text()), markers)
    return report, len(markers)


# -- tests ---------------------------------------------------------------------------------------


def test_every_acknowledged_put_is_synced_to_the_wal_before_its_response(tern_bin, tmp_path):
    report, acknowledged = traced_run(tern_bin, tmp_path, "synced", [], sequential=200, threads=4, per_thread=40)
    assert acknowledged == 360
    assert report.checked == 360
    assert not report.violations, "\n".join(str(v) for v in report.violations[:20])
    # The trace saw the machinery it reasons about: WAL appends, WAL syncs and the responses.
    assert report.wal_writes > 0 and report.wal_syncs > 0 and report.responses >= 360


def test_checker_reports_unsynced_acknowledgements_with_unsafe_no_sync(tern_bin, tmp_path):
    """The negative control: the page cache would hide this from a kill -9 test, not from strace."""
    report, acknowledged = traced_run(tern_bin, tmp_path, "unsynced", ["--unsafe-no-sync"],
                                      sequential=60, threads=3, per_thread=20)
    assert acknowledged == 120
    # Every item reached the WAL and got a response; what is missing is the sync in between.
    assert report.violations, "the checker passed a server that acknowledges before syncing"
    assert {v.kind for v in report.violations} == {"no sync before response"}, report.violations[:5]
    assert len(report.violations) >= acknowledged // 2, f"only {len(report.violations)} of {acknowledged}"


def test_parser_joins_calls_interrupted_by_other_threads():
    """strace -f splits a call when another thread's call is printed in between."""
    text = "\n".join([
        '10 1.000001 openat(AT_FDCWD, "\\x2f\\x64\\x2f\\x30\\x30\\x30\\x30\\x30\\x34\\x2e\\x6c\\x6f\\x67", O_RDWR|O_CREAT, 0644) = 7',
        '11 1.000002 accept4(5, NULL, NULL, SOCK_NONBLOCK) = 9',
        '11 1.000003 read(9,  <unfinished ...>',
        '10 1.000004 write(7, "\\x6b\\x65\\x79", 3 <unfinished ...>',
        '11 1.000005 <... read resumed>"\\x6b\\x65\\x79", 65536) = 3',
        '10 1.000006 <... write resumed>) = 3',
        '10 1.000007 fdatasync(7)    = 0',
        '--- SIGCHLD {si_signo=SIGCHLD} ---',
        '11 1.000008 writev(9, [{iov_base="\\x48\\x54\\x54\\x50\\x2f\\x31\\x2e\\x31\\x20\\x32", iov_len=10}], 1) = 10',
        '11 1.000009 +++ exited with 0 +++',
    ])
    calls = parse_strace(text)
    assert [c.name for c in calls] == ["openat", "accept4", "read", "write", "fdatasync", "writev"]
    read = calls[2]
    assert (read.start, read.end, read.result, read.data) == (2, 4, 3, b"key")
    write = calls[3]
    assert (write.start, write.end, write.result, write.data, write.fd) == (3, 5, 3, b"key", 7)
    assert calls[0].strings == [b"/d/000004.log"] and calls[0].result == 7
    report = check_synced_before_ack(calls, [b"key"])
    assert report.violations == [] and (report.wal_writes, report.wal_syncs, report.responses) == (1, 1, 1)
    # Without the sync line the same trace is a violation.
    unsynced = check_synced_before_ack([c for c in calls if c.name != "fdatasync"], [b"key"])
    assert [v.kind for v in unsynced.violations] == ["no sync before response"]


def test_parser_orders_an_accept_by_its_exit_after_the_close_that_freed_its_fd():
    """An accept4 entered before another thread closed fd 9, and returned that fd: the
    connection it opened must outlive the close (ordered by entry, the close came second and
    the connection's reads were lost)."""
    text = "\n".join([
        '10 1.000001 openat(AT_FDCWD, "\\x2f\\x64\\x2f\\x30\\x30\\x30\\x30\\x30\\x34\\x2e\\x6c\\x6f\\x67", O_RDWR|O_CREAT, 0644) = 7',
        '11 1.000002 accept4(5, NULL, NULL, SOCK_NONBLOCK <unfinished ...>',
        '12 1.000003 close(9)                  = 0',
        '11 1.000004 <... accept4 resumed>)    = 9',
        '11 1.000005 read(9, "\\x6b\\x65\\x79", 65536) = 3',
        '10 1.000006 write(7, "\\x6b\\x65\\x79", 3) = 3',
        '10 1.000007 fdatasync(7)    = 0',
        '11 1.000008 writev(9, [{iov_base="\\x48\\x54\\x54\\x50\\x2f\\x31\\x2e\\x31\\x20\\x32", iov_len=10}], 1) = 10',
    ])
    calls = parse_strace(text)
    assert [c.name for c in calls] == ["openat", "close", "accept4", "read", "write", "fdatasync", "writev"]
    report = check_synced_before_ack(calls, [b"key"])
    assert report.violations == [] and report.responses == 1
