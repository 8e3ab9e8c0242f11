"""Fixtures for the Triton backend tests (run under Triton's interpreter without a GPU)."""

import warnings

import numpy as np
import pytest

try:
    import triton  # noqa: F401
except ImportError:  # no Triton: nothing here can run
    collect_ignore_glob = ["test_*.py"]
else:
    from backends.triton.codegen import program

    # Every kernel the suite generates is kept, so that test_zz_aot.py compiles each one ahead of time.
    if program.RECORDED is None:
        program.RECORDED = []


@pytest.fixture(autouse=True)
def _quiet_interpreter_warning():
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="graphc: no GPU here", category=RuntimeWarning)
        yield


@pytest.fixture
def rng():
    return np.random.default_rng(0)


@pytest.fixture
def looped_reductions(monkeypatch):
    """Force the looped (multi-pass) row form at tiny sizes: rows longer than 4 loop in chunks of 4."""
    from backends.triton.codegen import CONFIG

    monkeypatch.setitem(CONFIG, "persistent_rblock_max", 4)
    monkeypatch.setitem(CONFIG, "looped_rblock", 4)
