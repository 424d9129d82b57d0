"""`tern sim`: the deterministic simulator from the command line."""

import re
import subprocess

from conftest import tern_binary


def sim(*args):
    return subprocess.run([tern_binary(), "sim", *args], capture_output=True, text=True, timeout=120)


def test_one_seed_prints_its_summary_and_exits_zero():
    proc = sim("--seed", "7", "--steps", "100")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.startswith("seed 7: passed — nodes=")
    for part in ("writes acked", "faults: crashes", "hints: stored", "checkers: no acknowledged write lost"):
        assert part in proc.stdout, proc.stdout


def test_a_seed_replays_exactly_in_another_process():
    digests = [re.search(r"trace ([0-9a-f]+)", sim("--seed", "11", "--steps", "150").stdout).group(1) for _ in range(2)]
    assert digests[0] == digests[1]


def test_many_seeds_print_totals_and_a_verdict():
    proc = sim("--seed", "1", "--steps", "50", "--seeds-count", "5")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "totals: writes acked" in proc.stdout
    assert proc.stdout.strip().endswith("5 seeds from 1, 50 steps each: 5 passed, 0 failed")


def test_bad_arguments_are_refused():
    assert sim("--steps", "0").returncode != 0
    assert sim("--seeds-count", "0").returncode != 0
    assert sim("--seed", "-1").returncode != 0
