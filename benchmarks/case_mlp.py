"""The MLP training step: 784-512-512-10 ReLU, batch 256, cross-entropy, SGD -- one step.

graphc compiles the whole step (zero grads, forward, loss, backward, optimizer
update) as one program; the peers run the same step: numpy by hand, PyTorch
eager and ``torch.compile`` with the same code (graphc has PyTorch's API), and
JAX as a JAX user writes it (``jax.jit`` of ``value_and_grad`` and the SGD
update, returning the new parameters). Registered in
:data:`benchmarks.cases_cpu.CASES` as ``mlp``.
"""

from __future__ import annotations

import math
import time

import numpy as np

from .common import Impls, _compile_graphc, _note_compile_health, _note_mismatch, _np, _profile_kernels
from .harness import Config, Row, Target
from .peers import Peers


def _mlp_init(dims, seed=3):
    rng = np.random.default_rng(seed)
    params = []
    for fan_in, fan_out in zip(dims[:-1], dims[1:]):
        bound = 1 / math.sqrt(fan_in)
        params.append(rng.uniform(-bound, bound, (fan_out, fan_in)).astype(np.float32))
        params.append(rng.uniform(-bound, bound, fan_out).astype(np.float32))
    return params


def numpy_mlp_step(params, x, y, lr):
    """One SGD step of the ReLU MLP with mean cross-entropy, by hand in numpy (updates ``params`` in place)."""
    n_layers = len(params) // 2
    batch = x.shape[0]
    acts, pre = [x], []
    h = x
    for i in range(n_layers):
        z = h @ params[2 * i].T + params[2 * i + 1]
        pre.append(z)
        h = np.maximum(z, 0) if i < n_layers - 1 else z
        acts.append(h)
    z = acts[-1]
    zmax = z.max(axis=1, keepdims=True)
    e = np.exp(z - zmax)
    s = e.sum(axis=1, keepdims=True)
    rows = np.arange(batch)
    loss = float(np.mean(np.log(s[:, 0]) + zmax[:, 0] - z[rows, y]))
    dz = e / s
    dz[rows, y] -= 1
    dz /= batch
    grads = [None] * len(params)
    for i in reversed(range(n_layers)):
        grads[2 * i] = dz.T @ acts[i]
        grads[2 * i + 1] = dz.sum(axis=0)
        if i > 0:
            dz = (dz @ params[2 * i]) * (pre[i - 1] > 0)
    for p, g in zip(params, grads):
        p -= lr * g
    return loss


def _make_mlp_step(lib, F, params, lr, use_optim):
    """The same training step for graphc or torch (they share PyTorch's API)."""
    opt = lib.optim.SGD(params, lr=lr) if use_optim else None
    n_layers = len(params) // 2

    def step(x, y):
        if opt is not None:
            opt.zero_grad()
        else:
            for p in params:
                p.grad = None
        h = x
        for i in range(n_layers):
            h = F.linear(h, params[2 * i], params[2 * i + 1])
            if i < n_layers - 1:
                h = F.relu(h)
        loss = F.cross_entropy(h, y)
        loss.backward()
        if opt is not None:
            opt.step()
        else:
            with lib.no_grad():
                for p in params:
                    p.sub_(p.grad * lr)
        return loss.detach()

    step._needs_grad = True
    return step


def _params_for(lib, init):
    return [lib.from_numpy(p.copy()).requires_grad_() for p in init]


def _reset(lib, params, init):
    """Parameter values back to ``init``; ``.grad`` is left alone (the step clears it itself, and a
    compiled step is specialized on whether ``.grad`` is set when it is called)."""
    with lib.no_grad():
        for p, v in zip(params, init):
            p.copy_(lib.from_numpy(v))


def _mlp_flops(batch, dims) -> int:
    fwd = sum(2 * batch * a * b for a, b in zip(dims[:-1], dims[1:]))
    dw = fwd
    dx = sum(2 * batch * a * b for a, b in list(zip(dims[:-1], dims[1:]))[1:])  # no input gradient for layer 1
    return fwd + dw + dx


def case_mlp(cfg: Config, peers: Peers) -> Row:
    """MLP 784-512-512-10 (ReLU), batch 256: forward, cross-entropy, backward, SGD update -- one step."""
    import graphc
    import graphc.nn.functional as GF

    dims = cfg.pick((784, 512, 512, 10), (784, 512, 512, 10), (32, 16, 16, 4))
    batch = cfg.pick(256, 256, 8)
    lr = 0.01
    row = Row("mlp_train_step", f"{'-'.join(map(str, dims))} b{batch}", flops=_mlp_flops(batch, dims))
    row.targets = [Target("≥1.0x torch eager", "torch", 1.0), Target("≥1.0x JAX jit", "jax", 1.0)]
    rng = np.random.default_rng(4)
    x = rng.standard_normal((batch, dims[0]), dtype=np.float32)
    y = rng.integers(0, dims[-1], batch).astype(np.int64)
    init = _mlp_init(dims)
    try:
        import graphc.optim as goptim

        use_optim = hasattr(goptim, "SGD")
    except Exception:
        use_optim = False
    row.notes.append(
        "step = zero grads, F.linear/F.relu x3, F.cross_entropy, backward, "
        + ("optim.SGD(lr=0.01).step()" if use_optim else "p.sub_(p.grad * lr) under no_grad (graphc.optim.SGD missing)")
        + "; graphc compiles the whole step as one function"
    )
    # float64 reference for one step from init: the updated parameters and the loss
    ref_params = [p.astype(np.float64) for p in init]
    ref_loss = numpy_mlp_step(ref_params, x.astype(np.float64), y, lr)
    deltas = [r - p for r, p in zip(ref_params, init)]

    def check_params(params, loss):
        got = [_np(p).astype(np.float64) - p0 for p, p0 in zip(params, init)]
        worst = 0.0
        for g, d in zip(got, deltas):
            scale = max(float(np.abs(d).max()), 1e-12)
            worst = max(worst, float(np.abs(g - d).max()) / scale)
        loss_err = abs(float(_np(loss)) - ref_loss)
        if worst > 2e-3 or loss_err > 1e-4 * max(1.0, abs(ref_loss)):
            return f"MISMATCH update rel err {worst:.2e}, loss err {loss_err:.2e}"
        return f"ok (update rel err {worst:.1e})"

    impls = Impls(row, cfg)

    def numpy_setup():
        ps = [p.copy() for p in init]
        loss = numpy_mlp_step(ps, x, y, lr)
        _note_mismatch(row, "numpy eager", check_params(ps, np.float64(loss)))
        return lambda: numpy_mlp_step(ps, x, y, lr)

    impls.add("numpy", numpy_setup)
    gx, gy = graphc.from_numpy(x), graphc.from_numpy(y)
    state = {}

    def graphc_setup():
        gparams = _params_for(graphc, init)
        cf, report = _compile_graphc(row, _make_mlp_step(graphc, GF, gparams, lr, use_optim), (gx, gy))
        state["cf"], state["report"] = cf, report
        _reset(graphc, gparams, init)
        hits = cf.cache_info().hits
        row.check = check_params(gparams, cf(gx, gy))
        if cf.cache_info().hits == hits:
            row.check += " (the checked call did not replay)"
        return lambda: cf(gx, gy)

    if not impls.add("graphc", graphc_setup):
        row.check = "n/a (graphc failed)"

    def eager_setup():
        ps = _params_for(graphc, init)
        step = _make_mlp_step(graphc, GF, ps, lr, use_optim)
        _note_mismatch(row, "graphc eager", check_params(ps, step(gx, gy)))
        return lambda: step(gx, gy)

    impls.add("graphc eager", eager_setup)

    torch = peers.torch
    if torch is None:
        impls.set("torch", peers.torch_missing())
        impls.set("torch.compile", peers.compile_missing())
    else:
        tx, ty = torch.from_numpy(x), torch.from_numpy(y)

        def torch_setup():
            ps = _params_for(torch, init)
            step = _make_mlp_step(torch, torch.nn.functional, ps, lr, use_optim)
            _note_mismatch(row, "torch eager", check_params(ps, step(tx, ty)))
            return lambda: step(tx, ty)

        impls.add("torch", torch_setup)
        missing = peers.compile_missing()
        if missing:
            impls.set("torch.compile", missing)
        else:

            def torch_compile_setup():
                ps = _params_for(torch, init)
                step = torch.compile(_make_mlp_step(torch, torch.nn.functional, ps, lr, use_optim))
                cfg.log(f"{row.case}: torch.compile's first call compiles")
                t0 = time.perf_counter()
                step(tx, ty)
                first = time.perf_counter() - t0
                step(tx, ty)  # the optimizer step may compile on its second call
                _reset(torch, ps, init)
                _note_mismatch(row, "torch.compile", check_params(ps, step(tx, ty)))
                row.extra["torch_compile_first_call_s"] = first
                impls.notes["torch.compile"] = f"first call (compiles) {first:.1f} s"
                return lambda: step(tx, ty)

            impls.add("torch.compile", torch_compile_setup)
    _add_jax_mlp(impls, peers, init, x, y, lr, check_params)
    impls.run()
    if "cf" in state and row.graphc.ok:
        _note_compile_health(row, row.graphc, state["cf"])
        _profile_kernels(row, cfg, state["cf"], state["report"], (gx, gy))
    return row


def jax_mlp_step(jax, n_layers: int, lr: float):
    """The step as a JAX user writes it: ``value_and_grad`` of the loss, the SGD update, one
    ``jax.jit``; the parameters go in and the new ones come out (donated, so XLA may reuse them)."""
    jnp = jax.numpy

    def loss_fn(params, x, y):
        h = x
        for i in range(n_layers):
            h = h @ params[2 * i].T + params[2 * i + 1]
            if i < n_layers - 1:
                h = jax.nn.relu(h)
        logp = jax.nn.log_softmax(h, axis=1)
        return -jnp.mean(jnp.take_along_axis(logp, y[:, None], axis=1))

    def step(params, x, y):
        loss, grads = jax.value_and_grad(loss_fn)(params, x, y)
        return [p - lr * g for p, g in zip(params, grads)], loss

    return jax.jit(step, donate_argnums=(0,))


def _add_jax_mlp(impls, peers: Peers, init, x, y, lr, check_params) -> None:
    if peers.jax is None:
        impls.set("jax", peers.jax_missing())
        return
    jax = peers.jax

    def setup():
        step = jax_mlp_step(jax, len(init) // 2, lr)
        jx, jy = jax.device_put(x), jax.device_put(y)
        t0 = time.perf_counter()
        params, loss = step([jax.device_put(p.copy()) for p in init], jx, jy)
        jax.block_until_ready(params)
        impls.notes["jax"] = f"first call (compiles) {time.perf_counter() - t0:.2f} s"
        _note_mismatch(impls.row, "JAX jit", check_params([np.asarray(p) for p in params], np.asarray(loss)))
        state = {"params": params}

        def call():
            state["params"], loss = step(state["params"], jx, jy)
            jax.block_until_ready(loss)

        return call

    impls.add("jax", setup)
