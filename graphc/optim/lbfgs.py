"""L-BFGS with PyTorch's semantics: a closure that re-evaluates the loss, one parameter group,
an optional strong-Wolfe line search.

L-BFGS decides what to do from values (curvature tests, tolerances, line-search brackets),
so it runs eagerly: the search direction, history and line search work on the flat
parameter vector as a host array in the parameters' dtype, and the parameters are moved
with in-place tensor ops. Under ``@graphc.compile`` it cannot trace (its tests need values)
and the closure's ``.item()`` says so.
"""

from __future__ import annotations

import numpy as np

from .._factories import _from_array
from .._tensor import Tensor
from ..autograd.grad_mode import enable_grad, no_grad
from .optimizer import Optimizer, check_lr

__all__ = ["LBFGS"]


def _cubic_minimum(x1, f1, g1, x2, f2, g2, bounds=None):
    """The minimizer of the cubic through (x1, f1, slope g1) and (x2, f2, slope g2), kept inside
    ``bounds`` (default: between x1 and x2); the middle of the bounds when the cubic has none."""
    lo, hi = bounds if bounds is not None else (min(x1, x2), max(x1, x2))
    d1 = g1 + g2 - 3 * (f1 - f2) / (x1 - x2)
    disc = d1 * d1 - g1 * g2
    if disc < 0:
        return (lo + hi) / 2.0
    d2 = float(np.sqrt(disc))
    if x1 <= x2:
        x = x2 - (x2 - x1) * ((g2 + d2 - d1) / (g2 - g1 + 2 * d2))
    else:
        x = x1 - (x1 - x2) * ((g1 + d2 - d1) / (g1 - g2 + 2 * d2))
    return min(max(x, lo), hi)


class _Point:
    """A trial step along the search direction: step length, loss, gradient, slope."""

    __slots__ = ("t", "f", "g", "gtd")

    def __init__(self, t, f, g, gtd):
        self.t, self.f, self.g, self.gtd = t, f, g, gtd


def _strong_wolfe(evaluate, t, d, f, g, gtd, c1=1e-4, c2=0.9, tolerance_change=1e-9, max_ls=25):
    """A step length satisfying the strong Wolfe conditions (bracketing, then zoom by cubic
    interpolation, as in minFunc and PyTorch). Returns ``(loss, flat_grad, t, evaluations)``."""
    d_norm = float(np.abs(d).max())
    start = _Point(0.0, f, g.copy(), gtd)
    f_new, g_new = evaluate(t, d)
    evals = 1
    new = _Point(t, f_new, g_new, float(g_new.dot(d)))
    prev = start
    bracket, done, it = None, False, 0
    while it < max_ls:
        if new.f > f + c1 * new.t * gtd or (it > 1 and new.f >= prev.f):  # too far: a minimum lies before t
            bracket = [prev, _Point(new.t, new.f, new.g.copy(), new.gtd)]
            break
        if abs(new.gtd) <= -c2 * gtd:  # strong Wolfe conditions hold
            bracket, done = [new], True
            break
        if new.gtd >= 0:  # the slope turned: a minimum lies between prev and t
            bracket = [prev, _Point(new.t, new.f, new.g.copy(), new.gtd)]
            break
        # extrapolate: the cubic's minimum, at least 1% beyond t and at most 10 t
        t_next = _cubic_minimum(prev.t, prev.f, prev.gtd, new.t, new.f, new.gtd,
                                bounds=(new.t + 0.01 * (new.t - prev.t), new.t * 10))
        prev = _Point(new.t, new.f, new.g.copy(), new.gtd)
        f_new, g_new = evaluate(t_next, d)
        evals += 1
        new = _Point(t_next, f_new, g_new, float(g_new.dot(d)))
        it += 1
    if it == max_ls:
        bracket = [start, new]

    insufficient = False
    if not done:
        low, high = (0, 1) if bracket[0].f <= bracket[-1].f else (1, 0)
    while not done and it < max_ls:
        a, b = bracket
        if abs(b.t - a.t) * d_norm < tolerance_change:
            break
        t_try = _cubic_minimum(a.t, a.f, a.gtd, b.t, b.f, b.gtd)
        top, bottom = max(a.t, b.t), min(a.t, b.t)
        margin = 0.1 * (top - bottom)
        if min(top - t_try, t_try - bottom) < margin:  # too close to an end: move it inside, or note it
            if insufficient or t_try >= top or t_try <= bottom:
                t_try = top - margin if abs(t_try - top) < abs(t_try - bottom) else bottom + margin
                insufficient = False
            else:
                insufficient = True
        else:
            insufficient = False
        f_new, g_new = evaluate(t_try, d)
        evals += 1
        it += 1
        trial = _Point(t_try, f_new, g_new.copy(), float(g_new.dot(d)))
        if trial.f > f + c1 * trial.t * gtd or trial.f >= bracket[low].f:
            bracket[high] = trial
            low, high = (0, 1) if bracket[0].f <= bracket[1].f else (1, 0)
        else:
            if abs(trial.gtd) <= -c2 * gtd:
                done = True
            elif trial.gtd * (bracket[high].t - bracket[low].t) >= 0:
                bracket[high] = bracket[low]
            bracket[low] = trial
    best = bracket[low] if len(bracket) == 2 else bracket[0]
    return best.f, best.g, best.t, evals


class LBFGS(Optimizer):
    """Limited-memory BFGS, PyTorch's algorithm (after minFunc).

    ``step(closure)`` runs up to ``max_iter`` iterations: the two-loop recursion over the last
    ``history_size`` curvature pairs gives the direction, then a fixed step ``lr`` (the first
    iteration ``min(1, 1/|g|_1) lr``) or a strong-Wolfe line search. It stops on
    ``tolerance_grad`` (max |g|), ``tolerance_change`` (step or loss change) or ``max_eval``.

    >>> opt = optim.LBFGS(params, lr=1, line_search_fn="strong_wolfe")
    >>> def closure():
    ...     opt.zero_grad(); loss = f(params); loss.backward(); return loss
    >>> opt.step(closure)
    """

    def __init__(self, params, lr=1, max_iter: int = 20, max_eval=None, tolerance_grad: float = 1e-7,
                 tolerance_change: float = 1e-9, history_size: int = 100, line_search_fn=None):
        check_lr(lr)
        if max_eval is None:
            max_eval = max_iter * 5 // 4
        defaults = dict(lr=lr, max_iter=max_iter, max_eval=max_eval, tolerance_grad=tolerance_grad,
                        tolerance_change=tolerance_change, history_size=history_size, line_search_fn=line_search_fn)
        super().__init__(params, defaults)
        if len(self.param_groups) != 1:
            raise ValueError("LBFGS doesn't support per-parameter options (parameter groups)")
        self._params = self.param_groups[0]["params"]
        self._dtype = np.result_type(*[np.dtype(p.dtype.numpy_dtype) for p in self._params])

    # -- the flat parameter vector ----------------------------------------------------------------
    def _flat_grad(self) -> np.ndarray:
        parts = []
        for p in self._params:
            if p.grad is None:
                parts.append(np.zeros(p.numel(), dtype=self._dtype))
            else:
                parts.append(np.asarray(p.grad._host(), dtype=self._dtype).reshape(-1))
        return np.concatenate(parts)

    def _add(self, t, d: np.ndarray) -> None:
        """``params += t * d`` (in place, so the parameters keep their identity and version)."""
        offset = 0
        with no_grad():
            for p in self._params:
                n = p.numel()
                step = _from_array(np.ascontiguousarray(d[offset:offset + n].reshape(tuple(p.shape))), p.dtype)
                p.add_(step.to(p.device), alpha=float(t))
                offset += n

    def _snapshot(self):
        with no_grad():
            return [p.clone() for p in self._params]

    def _restore(self, saved) -> None:
        with no_grad():
            for p, s in zip(self._params, saved):
                p.copy_(s)

    def _evaluate(self, closure, saved, t, d):
        """Loss and flat gradient at ``saved + t d``; the parameters are put back afterwards."""
        self._add(t, d)
        with enable_grad():
            loss = float(closure())
        g = self._flat_grad()
        self._restore(saved)
        return loss, g

    def step(self, closure):
        """Minimize the closure's loss for up to ``max_iter`` iterations; returns the first loss."""
        if closure is None:
            raise RuntimeError("LBFGS requires a closure that re-evaluates the model and returns the loss")
        group = self.param_groups[0]
        lr, max_iter, max_eval = group["lr"], group["max_iter"], group["max_eval"]
        tol_grad, tol_change = group["tolerance_grad"], group["tolerance_change"]
        history, line_search = group["history_size"], group["line_search_fn"]
        if line_search is not None and line_search != "strong_wolfe":
            raise RuntimeError("only 'strong_wolfe' is supported")
        state = self.state[self._params[0]]
        state.setdefault("func_evals", 0)
        state.setdefault("n_iter", 0)

        with enable_grad():
            orig_loss = closure()
        loss = float(orig_loss)
        evals = 1
        state["func_evals"] += 1
        g = self._flat_grad()
        if np.abs(g).max() <= tol_grad:
            return orig_loss

        d, t = state.get("d"), state.get("t")
        dirs, steps, ro = state.get("old_dirs"), state.get("old_stps"), state.get("ro")
        h_diag, prev_g, prev_loss = state.get("H_diag"), state.get("prev_flat_grad"), state.get("prev_loss")
        n_iter = 0
        while n_iter < max_iter:
            n_iter += 1
            state["n_iter"] += 1
            if state["n_iter"] == 1:
                d = -g
                dirs, steps, ro, h_diag = [], [], [], 1.0
            else:
                y = g - prev_g
                s = d * t
                ys = float(y.dot(s))
                if ys > 1e-10:  # keep the pair only when the curvature is positive
                    if len(dirs) == history:
                        dirs.pop(0), steps.pop(0), ro.pop(0)
                    dirs.append(y), steps.append(s), ro.append(1.0 / ys)
                    h_diag = ys / float(y.dot(y))
                d = self._two_loop(g, dirs, steps, ro, h_diag)
            prev_g = g.copy()
            prev_loss = loss
            t = min(1.0, 1.0 / float(np.abs(g).sum())) * lr if state["n_iter"] == 1 else lr
            gtd = float(g.dot(d))
            if gtd > -tol_change:  # not a descent direction
                break
            ls_evals = 0
            if line_search is not None:
                saved = self._snapshot()
                loss, g, t, ls_evals = _strong_wolfe(lambda tt, dd: self._evaluate(closure, saved, tt, dd),
                                                     t, d, loss, g, gtd)
                self._add(t, d)
                converged = np.abs(g).max() <= tol_grad
            else:
                self._add(t, d)
                converged = False
                if n_iter != max_iter:
                    with enable_grad():
                        loss = float(closure())
                    g = self._flat_grad()
                    converged = np.abs(g).max() <= tol_grad
                    ls_evals = 1
            evals += ls_evals
            state["func_evals"] += ls_evals
            if n_iter == max_iter or evals >= max_eval or converged:
                break
            if np.abs(d * t).max() <= tol_change or abs(loss - prev_loss) < tol_change:
                break

        state.update(d=d, t=t, old_dirs=dirs, old_stps=steps, ro=ro, H_diag=h_diag,
                     prev_flat_grad=prev_g, prev_loss=prev_loss)
        return orig_loss

    @staticmethod
    def _two_loop(g, dirs, steps, ro, h_diag):
        """The L-BFGS direction ``-H g`` from the curvature pairs (Nocedal's two-loop recursion)."""
        q = -g
        alphas = [0.0] * len(dirs)
        for i in range(len(dirs) - 1, -1, -1):
            alphas[i] = float(steps[i].dot(q)) * ro[i]
            q = q - alphas[i] * dirs[i]
        r = q * h_diag
        for i in range(len(dirs)):
            beta = float(dirs[i].dot(r)) * ro[i]
            r = r + steps[i] * (alphas[i] - beta)
        return r

    def state_dict(self) -> dict:
        """As PyTorch's: the state (history arrays as tensors) and the group."""
        out = super().state_dict()
        for entry in out["state"].values():
            for key in ("d", "prev_flat_grad"):
                if isinstance(entry.get(key), np.ndarray):
                    entry[key] = _from_array(entry[key].copy())
            for key in ("old_dirs", "old_stps"):
                if key in entry:
                    entry[key] = [_from_array(a.copy()) for a in entry[key]]
        return out

    def load_state_dict(self, state_dict: dict) -> None:
        super().load_state_dict(state_dict)
        for entry in self.state.values():
            for key in ("d", "prev_flat_grad"):
                if isinstance(entry.get(key), Tensor):
                    entry[key] = np.array(entry[key]._host(), dtype=self._dtype)
            for key in ("old_dirs", "old_stps"):
                if key in entry:
                    entry[key] = [np.array(a._host(), dtype=self._dtype) if isinstance(a, Tensor) else a
                                  for a in entry[key]]
