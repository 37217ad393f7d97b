"""Check the gradients of ``backward()`` against central finite differences."""

from __future__ import annotations

import math
from typing import Callable, Sequence

from micrograd._validate import finite_number, non_negative
from micrograd.engine import Value

__all__ = ["gradcheck", "GradcheckError"]


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
    eps = finite_number(eps, "gradcheck: eps", above=0.0)
    atol = non_negative(atol, "gradcheck: atol")
    rtol = non_negative(rtol, "gradcheck: rtol")
    points = [
        finite_number(x.data if isinstance(x, Value) else x, f"gradcheck: inputs[{i}]") for i, x in enumerate(inputs)
    ]
    if not points:
        raise ValueError("gradcheck: needs at least one input")

    leaves = [Value(x) for x in points]
    out = fn(*leaves)
    if not isinstance(out, Value):
        raise TypeError(f"gradcheck: fn must return a Value, got {type(out).__name__}")
    out.backward()
    analytic = [leaf.grad for leaf in leaves]

    def at(shifted: list[float]) -> float:
        return fn(*[Value(x) for x in shifted]).data

    worst = None  # (excess over tolerance, index, analytic, numeric)
    for i, x in enumerate(points):
        up, down = list(points), list(points)
        up[i], down[i] = x + eps, x - eps
        numeric = (at(up) - at(down)) / (2 * eps)
        excess = abs(analytic[i] - numeric) - (atol + rtol * abs(numeric))
        if math.isnan(excess):  # a NaN gradient or estimate agrees with nothing
            excess = math.inf
        if excess > 0 and (worst is None or excess > worst[0]):
            worst = (excess, i, analytic[i], numeric)
    if worst is not None:
        _, i, a, n = worst
        raise GradcheckError(
            f"gradcheck failed at input {i} (x = {points[i]!r}): backward() gives {a!r}, "
            f"finite differences give {n!r} (difference {abs(a - n):.3g}, tolerance "
            f"{atol + rtol * abs(n):.3g})"
        )
    return True
