"""`tern serve --tombstone-grace-seconds`: validated at start-up, with a clear message on stderr."""

import subprocess

import pytest

from conftest import free_port, unique_name


def serve(tern_bin, tmp_path, *args):
    return subprocess.run([tern_bin, "serve", "--port", str(free_port()), "--data-dir", str(tmp_path / "data"), *args],
                          capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL)


@pytest.mark.parametrize("seconds", ["0", "-5", "315360001"])
def test_out_of_range_grace_period_refuses_to_start(tern_bin, tmp_path, seconds):
    # The `=` form, so that "-5" is read as the option's value rather than as another option.
    proc = serve(tern_bin, tmp_path, f"--tombstone-grace-seconds={seconds}")
    assert proc.returncode != 0
    assert "--tombstone-grace-seconds" in proc.stderr
    assert "must be 1…315360000 seconds" in proc.stderr
    assert f"got {seconds}" in proc.stderr


@pytest.mark.parametrize("value", ["ten", "1.5", "1e3"])
def test_non_integer_grace_period_refuses_to_start(tern_bin, tmp_path, value):
    proc = serve(tern_bin, tmp_path, "--tombstone-grace-seconds", value)
    assert proc.returncode != 0
    assert "--tombstone-grace-seconds" in proc.stderr
    assert f"'{value}' is invalid" in proc.stderr


def test_help_documents_the_grace_period(tern_bin):
    proc = subprocess.run([tern_bin, "serve", "--help"], capture_output=True, text=True, timeout=30)
    assert proc.returncode == 0
    assert "--tombstone-grace-seconds" in proc.stdout
    assert "864000" in proc.stdout


@pytest.mark.parametrize("seconds", ["1", "315360000"])
def test_valid_grace_period_starts_and_serves(server_factory, seconds):
    node = server_factory(extra_args=["--tombstone-grace-seconds", seconds])
    ddb = node.client()
    name = unique_name("grace")
    ddb.create_table(TableName=name, KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                     AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}], BillingMode="PAY_PER_REQUEST")
    ddb.put_item(TableName=name, Item={"pk": {"S": "a"}})
    ddb.delete_item(TableName=name, Key={"pk": {"S": "a"}})
    assert "Item" not in ddb.get_item(TableName=name, Key={"pk": {"S": "a"}}, ConsistentRead=True)
    node.restart()
    assert "Item" not in node.client().get_item(TableName=name, Key={"pk": {"S": "a"}}, ConsistentRead=True)


@pytest.mark.parametrize("args, phrase", [
    (["--hint-window-seconds", "864000"], "must be shorter than the tombstone grace period"),
    (["--tombstone-grace-seconds", "60", "--hint-window-seconds", "60"], "must be shorter than the tombstone grace period"),
    (["--hint-window-seconds", "0"], "--hint-window-seconds must be at least 1"),
    (["--write-quorum", "4"], "--write-quorum and --read-quorum must be 1 to --replication"),
    (["--partitions", "100"], "power of two"),
])
def test_cluster_settings_are_validated_at_start_up(tern_bin, tmp_path, args, phrase):
    port = free_port()
    proc = serve(tern_bin, tmp_path, "--cluster-port", str(port), "--seeds", f"127.0.0.1:{port}", *args)
    assert proc.returncode != 0
    assert phrase in proc.stderr, proc.stderr


def test_seeds_need_a_cluster_port(tern_bin, tmp_path):
    proc = serve(tern_bin, tmp_path, "--seeds", "127.0.0.1:7001")
    assert proc.returncode != 0
    assert "--seeds needs --cluster-port" in proc.stderr
