"""graphc's benchmark suite: graphc against its peers, measured in one process.

    python -m benchmarks [--device cpu|cuda] [--json FILE] [--quick]

Each case prints one row: graphc's compiled time, graphc's eager time, each
peer's time (hand-written numpy eager, PyTorch eager, torch.compile) with
graphc's ratio to it (peer time / graphc time: above 1 means graphc is
faster), achieved GB/s or GFLOP/s against the ceiling measured in the same
run, and the case's target with met / NOT met.

Modules:

* :mod:`benchmarks.harness` -- timing (warm-up, repeats, medians), the
  machine's ceilings, rows, targets, the table and the JSON file.
* :mod:`benchmarks.cases_cpu` -- the CPU cases.
* ``benchmarks.bench_gpu`` -- the CUDA cases (``--device cuda``), kept by
  the GPU backend's owner.

Timings are never asserted in tests; ``tests/test_benchmarks_smoke.py`` only
runs the machinery on tiny sizes.
"""
