"""Multi-process tests on localhost: 2 and 3 ranks through graphc's launcher and MPI.

On a 2-core machine 3 ranks oversubscribe it (MPICH's Hydra allows that);
the whole file takes well under a minute. Each test runs a script from
``workers/`` that checks its own results against numpy references and ends
with ``ALL OK``; a failed check aborts the job, and the output is shown.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from .conftest import ROOT, launch, needs_mpi

pytestmark = needs_mpi


def _all_ok(run, nproc):
    assert run.returncode == 0, run.output
    for r in range(nproc):
        assert any(line.startswith("ALL OK") for line in run.lines(r)), f"rank {r} did not finish:\n{run.output}"


@pytest.mark.parametrize("nproc", [2, 3])
def test_every_collective_matches_numpy(nproc):
    _all_ok(launch("collectives.py", nproc), nproc)


@pytest.mark.parametrize("nproc", [2, 3])
def test_ddp_eager_and_compiled_equal_one_process_on_the_full_batch(nproc):
    _all_ok(launch("ddp.py", nproc), nproc)


@pytest.mark.parametrize(
    "case, expected",
    [
        ("shape", ["float32[3]", "float32[4]", "different"]),
        ("dtype", ["float32[3]", "float64[3]", "different"]),
        ("op", ["ReduceOp.SUM", "ReduceOp.MAX"]),
        ("compiled", ["float32[4]", "float32[5]"]),
    ],
)
def test_mismatched_arguments_raise_naming_every_rank(case, expected):
    run = launch("errors.py", 2, case, timeout=40)
    assert run.returncode != 0
    assert "DistributedError" in run.output and "NOT REACHED" not in run.output, run.output
    assert "all_reduce (call #2 on process group 'world'" in run.output, run.output
    assert "rank 0: all_reduce #2 of" in run.output and "rank 1: all_reduce #2 of" in run.output, run.output
    for text in expected:
        assert text in run.output, run.output


def test_a_rank_that_stops_participating_times_out_naming_it():
    run = launch("errors.py", 3, "stop", 3, timeout=40)
    assert run.returncode != 0
    assert "DistributedTimeoutError" in run.output, run.output
    assert "timed out after 3 s: rank 2 did not join it" in run.output, run.output
    assert run.seconds < 25, f"took {run.seconds:.1f} s for a 3 s timeout"


def test_a_dying_rank_brings_the_others_down_with_its_error():
    run = launch("errors.py", 3, "die", timeout=40)
    assert run.returncode != 0
    assert "[rank 2] RuntimeError: rank 2 fails on purpose" in run.output, run.output
    assert "[rank 2] rank 2 died: aborting the job" in run.output
    assert "NOT REACHED" not in run.output
    assert run.seconds < 25, f"took {run.seconds:.1f} s"


def test_graphc_run_subcommand_prefixes_every_line():
    run = launch("errors.py", 2, "die", timeout=40, launcher=("-m", "graphc", "run"))
    assert run.returncode != 0
    lines = [line for line in run.output.splitlines() if "Traceback" in line]
    assert lines and all(line.startswith("[rank 1] ") for line in lines), run.output


def test_the_ddp_example_trains_on_two_ranks():
    pytest.importorskip("sklearn")
    cmd = [sys.executable, "-m", "graphc.distributed.run", "--nproc", "2", "examples/train_classifier_ddp.py", "--quick"]
    env = dict(os.environ, GRAPHC_NUM_THREADS="1")
    out = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "[rank 0] epoch 1/1: loss" in out.stdout and "[rank 0] accuracy of the network on the 128 test images" in out.stdout, out.stdout


def test_ranks_get_their_share_of_the_cores_unless_the_user_chose(monkeypatch):
    for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        monkeypatch.delenv(name, raising=False)
    share = str(max(1, len(os.sched_getaffinity(0)) // 2))
    run = launch("threads.py", 2, env={"GRAPHC_NUM_THREADS": "3"})  # the user's choice stays
    _all_ok(run, 2)
    for r in range(2):
        assert f"THREADS {share},{share},3" in run.lines(r), run.output
