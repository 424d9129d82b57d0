"""Node ids: generated and stored per data directory, overridable on a fresh one, never changed.

A node id is the actor in every version the node writes, so a data directory must keep its id and
two nodes must not share one by default (docs/architecture.md, "Node ids").
"""

import re
import subprocess
import tarfile
from pathlib import Path

from conftest import TernServer, free_port

# A data directory written by the code before this change (value format 1, no node-id file),
# made with that code's release binary: table "legacy" (pk S, sk N); item sk=1 holds every
# type, sk=2 was put then deleted (a tombstone), sk=3 was put with v=1 then updated with ADD v 1.
FORMAT1_DATA_DIR = Path(__file__).resolve().parent / "fixtures" / "datadir-format1.tar.gz"
FORMAT1_ITEM = {
    "pk": {"S": "p"}, "sk": {"N": "1"}, "b": {"B": b"\x00\xff"}, "bs": {"BS": [b"\x01", b"\x02"]},
    "flag": {"BOOL": True}, "l": {"L": [{"S": "x"}, {"N": "-1.5"}, {"NULL": True}]},
    "m": {"M": {"k": {"BOOL": False}}}, "n": {"N": "19.99"}, "ns": {"NS": ["1", "1" + "0" * 100]},  # written as 1e100
    "ss": {"SS": ["a", "\u00e9"]},
}

GENERATED = re.compile(r"^n-[0-9a-f]{12}$")


def ready_node_id(server: TernServer) -> str:
    """The id in the `node ready` log line of the server's current run."""
    ids = [line["node"] for line in server.log_lines() if line.get("msg") == "node ready"]
    assert len(ids) == 1, server.log_text()
    return ids[0]


def stored_node_id(server: TernServer) -> str:
    return (server.data_dir / "node-id").read_text()


def run_serve(tern_bin: str, *args: str) -> subprocess.CompletedProcess:
    """`tern serve` expected to refuse to start: it must exit by itself, quickly."""
    command = [tern_bin, "serve", "--host", "127.0.0.1", "--port", str(free_port()), *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL)


def test_fresh_data_directory_gets_a_generated_id_that_survives_restart(tern_bin, tmp_path):
    server = TernServer(tern_bin, tmp_path / "a").start()
    try:
        node_id = ready_node_id(server)
        assert GENERATED.match(node_id), node_id
        assert stored_node_id(server) == node_id + "\n"
        client = server.client()
        client.create_table(TableName="items", KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                            BillingMode="PAY_PER_REQUEST")
        client.put_item(TableName="items", Item={"pk": {"S": "k"}})
        server.restart()
        assert ready_node_id(server) == node_id
        assert server.client().get_item(TableName="items", Key={"pk": {"S": "k"}})["Item"] == {"pk": {"S": "k"}}
    finally:
        server.stop()
    other = TernServer(tern_bin, tmp_path / "b").start()
    try:
        assert GENERATED.match(ready_node_id(other))
        assert ready_node_id(other) != node_id, "two fresh data directories, two ids"
    finally:
        other.stop()


def test_data_directory_refuses_to_start_under_a_different_node_id(tern_bin, tmp_path):
    server = TernServer(tern_bin, tmp_path).start()
    node_id = ready_node_id(server)
    server.stop()
    result = run_serve(tern_bin, "--data-dir", str(server.data_dir), "--node-id", "n2")
    assert result.returncode != 0
    output = result.stdout + result.stderr
    assert f"data directory {server.data_dir} belongs to node '{node_id}'" in output, output
    assert "refusing to start as --node-id 'n2'" in output, output
    assert "node ready" not in output
    assert stored_node_id(server) == node_id + "\n", "the stored id is untouched"
    # The id it already has is accepted.
    server.extra_args = ["--node-id", node_id]
    server.start()
    try:
        assert ready_node_id(server) == node_id
    finally:
        server.stop()


def test_node_id_given_for_a_fresh_data_directory_is_stored_and_kept(tern_bin, tmp_path):
    server = TernServer(tern_bin, tmp_path, extra_args=["--node-id", "zone-a.node_7"]).start()
    try:
        assert ready_node_id(server) == "zone-a.node_7"
        assert stored_node_id(server) == "zone-a.node_7\n"
        server.stop()
        server.extra_args = []
        server.start()
        assert ready_node_id(server) == "zone-a.node_7", "later starts need no --node-id"
    finally:
        server.stop()


def test_data_directory_written_before_node_ids_adopts_n1_or_the_given_id(tern_bin, tmp_path):
    """Today's code stored no id and every node was "n1": its data keeps that node."""
    for name, args, expected in [("default", [], "n1"), ("given", ["--node-id", "n7"], "n7")]:
        server = TernServer(tern_bin, tmp_path / name).start()
        client = server.client()
        client.create_table(TableName="old", KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                            BillingMode="PAY_PER_REQUEST")
        client.put_item(TableName="old", Item={"pk": {"S": "kept"}})
        server.stop()
        (server.data_dir / "node-id").unlink()  # now the directory looks like one from before
        server.extra_args = args
        server.start()
        try:
            assert ready_node_id(server) == expected
            assert stored_node_id(server) == expected + "\n"
            assert server.client().get_item(TableName="old", Key={"pk": {"S": "kept"}})["Item"] == {"pk": {"S": "kept"}}
        finally:
            server.stop()
        server.extra_args = []
        server.start()
        try:
            assert ready_node_id(server) == expected
        finally:
            server.stop()


def test_in_memory_node_gets_a_new_id_each_start_unless_one_is_given(tern_bin, tmp_path):
    server = TernServer(tern_bin, tmp_path, in_memory=True)
    ids = []
    for _ in range(2):
        server.start()
        ids.append(ready_node_id(server))
        server.stop()
    assert all(GENERATED.match(node_id) for node_id in ids), ids
    assert ids[0] != ids[1]
    assert not (server.data_dir / "node-id").exists()
    server.extra_args = ["--node-id", "mem-1"]
    server.start()
    try:
        assert ready_node_id(server) == "mem-1"
    finally:
        server.stop()


def test_malformed_node_id_is_refused(tern_bin, tmp_path):
    for bad in ["", "has space", "x" * 65, "n1/../n2", "é"]:
        result = run_serve(tern_bin, "--data-dir", str(tmp_path / "data"), "--node-id", bad)
        assert result.returncode != 0, bad
        assert "node id must be 1 to 64 characters from A-Z, a-z, 0-9, '.', '_' and '-'" in result.stderr, result.stderr
    assert not (tmp_path / "data" / "node-id").exists()


def test_corrupt_node_id_file_is_refused(tern_bin, tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    (data / "node-id").write_text("not valid!\n")
    result = run_serve(tern_bin, "--data-dir", str(data))
    assert result.returncode != 0
    assert f"{data}/node-id is corrupt" in result.stderr, result.stderr


def test_data_directory_written_by_the_previous_format_opens_as_n1(tern_bin, tmp_path):
    with tarfile.open(FORMAT1_DATA_DIR) as archive:
        archive.extractall(tmp_path, filter="data")
    server = TernServer(tern_bin, tmp_path).start()
    try:
        assert ready_node_id(server) == "n1", "the id every node had when this data was written"
        assert stored_node_id(server) == "n1\n"
        client = server.client()

        def read(sk):
            return client.get_item(TableName="legacy", Key={"pk": {"S": "p"}, "sk": {"N": sk}}, ConsistentRead=True).get("Item")

        def normalized(item):
            return {k: ({t: sorted(v) if t in ("SS", "NS", "BS") else v for t, v in value.items()}) for k, value in item.items()}

        assert normalized(read("1")) == normalized(FORMAT1_ITEM)
        assert read("2") is None, "the format-1 tombstone still hides the deleted item"
        assert read("3") == {"pk": {"S": "p"}, "sk": {"N": "3"}, "v": {"N": "2"}}
        # New writes (format 2) over old values, next to untouched ones, survive a restart.
        client.update_item(TableName="legacy", Key={"pk": {"S": "p"}, "sk": {"N": "3"}},
                           UpdateExpression="ADD v :one", ExpressionAttributeValues={":one": {"N": "1"}})
        client.put_item(TableName="legacy", Item={"pk": {"S": "p"}, "sk": {"N": "2"}, "v": {"S": "back"}})
        server.restart()
        client = server.client()
        assert normalized(read("1")) == normalized(FORMAT1_ITEM)
        assert read("2") == {"pk": {"S": "p"}, "sk": {"N": "2"}, "v": {"S": "back"}}
        assert read("3") == {"pk": {"S": "p"}, "sk": {"N": "3"}, "v": {"N": "3"}}
        items = client.query(TableName="legacy", KeyConditionExpression="pk = :p",
                             ExpressionAttributeValues={":p": {"S": "p"}})["Items"]
        assert [item["sk"]["N"] for item in items] == ["1", "2", "3"]
    finally:
        server.stop()
