"""The benchmark suite's machinery on tiny sizes: every case runs, reports and serializes.

No timing is asserted here (timings belong to ``python -m benchmarks``); the
PyTorch peers are switched off so that the test is fast and also covers how
a missing peer is reported.
"""

from __future__ import annotations

import json

import pytest

from benchmarks import __main__ as cli
from benchmarks import cases_cpu, harness


@pytest.fixture(scope="module")
def tiny_run():
    cfg = harness.Config(mode="tiny", repeats=2, warmup=1, torch=False, progress=False, wait_quiet_s=0)
    peers = cases_cpu.Peers(cfg)
    ceilings = harness.measure_ceilings(cfg)
    rows = cases_cpu.run_cases(cfg, peers)
    return cfg, peers, ceilings, rows


def test_every_case_runs_and_is_correct(tiny_run):
    _, _, _, rows = tiny_run
    assert [r.case for r in rows] == [
        "gelu_tanh",
        "softmax",
        "layer_norm",
        "mlp_train_step",
        "classifier_train_step",
        *["eager_ops"] * 5,
        "eager_train_step",
        "ddp_train_step",
        "compile_200_nodes",
        "call_overhead_3ops",
    ]
    for r in rows:
        assert r.graphc.ok, (r.case, r.graphc.status, r.notes)
        assert r.graphc.seconds > 0 and r.graphc.times
        assert not r.check.startswith("MISMATCH"), (r.case, r.check)
        assert r.targets
        assert r.peers["numpy"].ok or r.peers["numpy"].status.startswith("n/a") or r.peers["numpy"].status == "-"
        for t in r.targets:
            verdict, _ = t.evaluate(r)
            assert verdict in ("met", "NOT met") or verdict.startswith("unknown"), verdict


def test_missing_peers_are_reported_not_dropped(tiny_run):
    _, _, ceilings, rows = tiny_run
    for r in rows:
        assert r.peers["torch"].status.startswith("n/a ("), r.peers["torch"].status
        assert r.peers["torch.compile"].status.startswith("n/a (") or r.peers["torch.compile"].status == "-"
        for key in ("jax", "tinygrad"):  # off in tiny mode unless asked for
            assert r.peers[key].status.startswith(("skipped (", "n/a (")) or r.peers[key].status == "-", r.peers[key].status
    table = harness.format_table(rows, ceilings, {"cores": 1})
    for r in rows:
        assert r.case in table
    assert "n/a (disabled by --no-torch)" in table
    assert "targets" in table and "met" in table
    gelu = next(r for r in rows if r.case == "gelu_tanh")
    verdict, _ = next(t for t in gelu.targets if "torch.compile" in t.peer).evaluate(gelu)
    assert verdict.startswith("unknown (torch.compile n/a")


def test_json_round_trips(tiny_run, tmp_path):
    cfg, peers, ceilings, rows = tiny_run
    path = tmp_path / "bench.json"
    harness.write_json(str(path), rows, ceilings, harness.environment(cfg, peers.env()))
    data = json.loads(path.read_text())
    assert len(data["rows"]) == len(rows)
    assert data["ceilings"]["bandwidth_gbs"] > 0
    row = data["rows"][0]
    assert set(row["peers"]) == set(harness.PEERS)
    assert row["graphc"]["status"] == "ok" and row["gbs"]["graphc"] > 0


def test_harness_pieces():
    cfg = harness.Config(mode="tiny", progress=False)
    calls = []
    m = harness.measure(lambda: calls.append(1), cfg, warmup=2, repeats=5, inner=3)
    assert m.ok and len(m.times) == 5 and len(calls) == 2 + 5 * 3
    counts = {"a": 0, "b": 0}

    def bump(k):
        counts[k] += 1

    res = harness.measure_interleaved(
        {"a": lambda: bump("a"), "b": lambda: bump("b"), "bad": lambda: 1 / 0},
        cfg,
        warmup=1,
        repeats=4,
        inner=2,
        rounds=2,
        settle_s=0,
    )
    # 1 warm-up call, then per round one untimed (settling) call and 2 timed repeats, each of 2 calls
    assert res["a"].ok and res["b"].ok and len(res["a"].times) == 4 and counts == {"a": 13, "b": 13}
    assert res["bad"].status.startswith("failed: ZeroDivisionError")
    failed = harness.guarded(lambda: 1 / 0)
    assert failed.status.startswith("failed: ZeroDivisionError")
    row = harness.Row("x", "1", graphc=harness.Measurement.of([2.0]), peers={"numpy": harness.Measurement.of([4.0])})
    assert row.ratio("numpy") == 2.0 and row.ratio("torch") is None
    assert harness.Target("≥1.5x numpy", "numpy", 1.5).evaluate(row)[0] == "met"
    assert harness.Target("≥1x torch", "torch", 1.0).evaluate(row)[0].startswith("unknown")
    assert harness.Target("< 1 s", max_seconds=1.0).evaluate(row)[0] == "NOT met"
    # a tuple of peers: the fastest of those that ran
    row.peers["jax"] = harness.Measurement.of([3.0])
    verdict, measured = harness.Target("best", ("torch", "numpy", "jax"), 1.0).evaluate(row)
    assert verdict == "met" and measured == "1.50x (JAX jit)"
    row.peers["jax"] = harness.Measurement.of([1.0])
    assert harness.Target("best", ("numpy", "jax"), 1.0).evaluate(row)[0] == "NOT met"


def test_cli_tiny_one_case(tmp_path, capsys):
    out = tmp_path / "o.json"
    rc = cli.main(["--tiny", "--no-torch", "--cases", "overhead", "--json", str(out), "-q", "--wait-quiet", "0"])
    assert rc == 0
    text = capsys.readouterr().out
    assert "call_overhead_3ops" in text and "memory ceiling" in text
    assert json.loads(out.read_text())["rows"][0]["case"] == "call_overhead_3ops"


def test_cli_cuda_without_gpu_suite_says_so(capsys):
    try:
        import benchmarks.bench_gpu  # noqa: F401
    except ImportError:
        pass
    else:
        pytest.skip("benchmarks.bench_gpu exists; its own tests cover it")
    assert cli.main(["--device", "cuda", "-q"]) == 2
    assert "GPU benchmarks are not available" in capsys.readouterr().err


def test_jax_and_tinygrad_columns_when_installed():
    """The JAX and tinygrad peers on one tiny case: a time and a checked result, or why not."""
    cfg = harness.Config(mode="tiny", repeats=2, warmup=1, torch=False, jax=True, tinygrad=True, progress=False,
                         wait_quiet_s=0, cases=("softmax",))
    peers = cases_cpu.Peers(cfg)
    (row,) = cases_cpu.run_cases(cfg, peers)
    for key, lib in (("jax", peers.jax), ("tinygrad", peers.tinygrad)):
        m = row.peers[key]
        if lib is None:
            assert m.status.startswith("n/a ("), m.status
        else:
            assert m.ok, (key, m.status)
            assert not any(n.startswith(("JAX jit result", "tinygrad result")) for n in row.notes), row.notes


def test_mlp_anatomy_runs_on_a_tiny_step(capsys):
    """``python -m benchmarks.mlp_anatomy --tiny``: the hand-written numpy floor computes the same
    step as the float64 reference (the script returns 1 when it does not), and every section
    that needs no peer prints."""
    from benchmarks import mlp_anatomy

    assert mlp_anatomy.main(["--tiny", "--rounds", "1"]) == 0
    out = capsys.readouterr().out
    assert "MISMATCH" not in out
    for section in ("1. the step", "2. graphc's step", "4. "):
        assert section in out, out


def test_eager_survey_cases_run_on_graphc():
    """``python -m benchmarks.eager_survey`` needs PyTorch to compare with; its cases themselves
    run on graphc alone, so the list cannot rot where PyTorch is not installed."""
    import numpy as np

    import graphc
    import graphc.nn.functional as F
    from benchmarks import eager_survey

    d = {k: graphc.from_numpy(v) for k, v in eager_survey._inputs(np.random.default_rng(0)).items()}
    for name, fn in eager_survey._cases().items():
        out = fn(graphc, F, d)
        assert isinstance(out, (graphc.Tensor, tuple)), name
