"""The number of connections is bounded (`--max-connections`): one more is closed on accept."""
import socket
import time

from conftest import DUMMY_AUTH, TARGET_PREFIX

LIMIT = 4


def list_tables_request(port: int) -> bytes:
    body = b"{}"
    return (f"POST / HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/x-amz-json-1.0\r\n"
            f"X-Amz-Target: {TARGET_PREFIX}ListTables\r\nAuthorization: {DUMMY_AUTH}\r\n"
            f"Content-Length: {len(body)}\r\n\r\n").encode() + body


def answered(sock: socket.socket, port: int) -> bool:
    """Sends one request; True when a 200 comes back, False when the server closed the socket."""
    try:
        sock.sendall(list_tables_request(port))
        data = sock.recv(65536)
    except (ConnectionResetError, BrokenPipeError):
        return False
    return data.startswith(b"HTTP/1.1 200")


def served_connection(port: int) -> socket.socket:
    """A new connection the server serves. A connection closed just before (the start-up probe's)
    may hold its slot until the server has seen the close, so a refusal is retried for a while."""
    deadline = time.monotonic() + 10
    while True:
        sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        if answered(sock, port):
            return sock
        sock.close()
        assert time.monotonic() < deadline, "connections within the limit are served"
        time.sleep(0.05)


def test_connections_beyond_the_limit_are_closed_and_slots_are_reused(server_factory):
    srv = server_factory(in_memory=True, extra_args=["--max-connections", str(LIMIT)])
    held: list[socket.socket] = []
    try:
        for _ in range(LIMIT):
            held.append(served_connection(srv.port))
        extra = socket.create_connection(("127.0.0.1", srv.port), timeout=10)
        try:
            assert not answered(extra, srv.port), "the connection over the limit must be closed"
        finally:
            extra.close()
        # Every held connection still works: refusing the extra one harmed nobody.
        for sock in held:
            assert answered(sock, srv.port)
        # Closing one frees its slot for a new connection.
        held.pop().close()
        deadline = time.monotonic() + 10
        while True:
            retry = socket.create_connection(("127.0.0.1", srv.port), timeout=10)
            ok = answered(retry, srv.port)
            if ok or time.monotonic() > deadline:
                held.append(retry)
                break
            retry.close()
            time.sleep(0.05)
        assert ok, "a freed slot is available to a new connection"
    finally:
        for sock in held:
            sock.close()
