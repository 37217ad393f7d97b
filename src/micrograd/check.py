"""Check the gradients of ``backward()``, and the second derivatives of ``grad``, against central
finite differences."""

from __future__ import annotations

import math
from typing import Callable, Sequence

from micrograd._validate import finite_number, non_negative
from micrograd.engine import Value
from micrograd.gradients import evaluate, grad, hessian

__all__ = ["gradcheck", "gradgradcheck", "GradcheckError"]


class GradcheckError(AssertionError):
    """A gradient from ``backward()`` disagrees with the finite-difference estimate."""


def gradcheck(
    fn: Callable[..., Value],
    inputs: Sequence[float],
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
) -> bool:
    """Compare ``backward()``'s gradient of ``fn(*inputs)`` with central differences.

    ``fn`` takes one Value per input and returns a Value. Returns True when every gradient agrees
    within ``atol + rtol * |numeric|``; otherwise raises GradcheckError naming the worst input.
    ``eps`` must be a finite number > 0, ``atol`` and ``rtol`` finite numbers >= 0 (``ValueError``).
    """
    eps, atol, rtol = _tolerances("gradcheck", eps, atol, rtol)
    points, leaves, out = evaluate(fn, inputs, "gradcheck")
    out.backward()

    def at(shifted: list[float]) -> float:
        return fn(*[Value(x) for x in shifted]).data

    found = _worst((([i], leaf.grad, _central(at, points, i, eps)) for i, leaf in enumerate(leaves)), atol, rtol)
    if found is not None:
        (i,), a, n, tolerance = found
        raise GradcheckError(
            f"gradcheck failed at input {i} (x = {points[i]!r}): backward() gives {a!r}, "
            f"finite differences give {n!r} (difference {abs(a - n):.3g}, tolerance {tolerance:.3g})"
        )
    return True


def gradgradcheck(
    fn: Callable[..., Value],
    inputs: Sequence[float],
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
) -> bool:
    """Compare second derivatives from ``grad(..., create_graph=True)`` with central finite
    differences of ``grad``'s first derivatives: the Hessian of ``fn`` at ``inputs``, entry by entry.

    Called like ``gradcheck``, with the same tolerances; raises GradcheckError naming the worst entry.
    """
    eps, atol, rtol = _tolerances("gradgradcheck", eps, atol, rtol)
    points, _, _ = evaluate(fn, inputs, "gradgradcheck")
    analytic = hessian(fn, points)

    def at(shifted: list[float]) -> list[float]:
        leaves = [Value(x) for x in shifted]
        return [g.data for g in grad(fn(*leaves), leaves)]

    columns = [_central(at, points, j, eps) for j in range(len(points))]  # column j: d(gradient)/d(input j)
    entries = (([i, j], analytic[i][j], columns[j][i]) for i in range(len(points)) for j in range(len(points)))
    found = _worst(entries, atol, rtol)
    if found is not None:
        (i, j), a, n, tolerance = found
        raise GradcheckError(
            f"gradgradcheck failed at d2/dx{i}dx{j} (x = {points!r}): grad of grad gives {a!r}, "
            f"finite differences give {n!r} (difference {abs(a - n):.3g}, tolerance {tolerance:.3g})"
        )
    return True


def _tolerances(name: str, eps, atol, rtol) -> tuple[float, float, float]:
    return (
        finite_number(eps, f"{name}: eps", above=0.0),
        non_negative(atol, f"{name}: atol"),
        non_negative(rtol, f"{name}: rtol"),
    )


def _central(at: Callable, points: list[float], i: int, eps: float):
    """The central difference of ``at`` (a number or a list of them) in the direction of input i."""
    up, down = list(points), list(points)
    up[i], down[i] = points[i] + eps, points[i] - eps
    high, low = at(up), at(down)
    if isinstance(high, list):
        return [(h - l) / (2 * eps) for h, l in zip(high, low)]
    return (high - low) / (2 * eps)


def _worst(entries, atol: float, rtol: float):
    """Of (where, analytic, numeric) entries, the one furthest beyond ``atol + rtol * |numeric|``, as
    (where, analytic, numeric, tolerance); None if all agree."""
    worst, worst_excess = None, 0.0
    for where, a, n in entries:
        tolerance = atol + rtol * abs(n)
        excess = abs(a - n) - tolerance
        if math.isnan(excess):  # a NaN gradient or estimate agrees with nothing
            excess = math.inf
        if excess > worst_excess:
            worst, worst_excess = (where, a, n, tolerance), excess
    return worst
