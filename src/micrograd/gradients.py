"""Gradients as Values: ``grad`` (like ``torch.autograd.grad``), and from it ``hessian`` and ``hvp``.

``backward()`` adds numbers to ``.grad``: the fast first-order path. ``grad`` instead returns the
gradients, and with ``create_graph=True`` builds them as Values by running the same op rules of
``ops.py`` with ``m = value_math``, whose functions are ops of the table. So a gradient is a graph
like any other: it can be differentiated again, to any order, and compiled. No derivative is
written a second time (docs/higher-order.md).
"""

from __future__ import annotations

from typing import Callable, Sequence

from micrograd._validate import finite_number, of_type, sized
from micrograd.engine import Value, dot, topological_order
from micrograd.ops import GRADIENT_OVERFLOW, derivative_error, scalar_math

__all__ = ["grad", "hessian", "hvp", "value_math"]


def _on_values(name: str) -> staticmethod:
    """``scalar_math``'s function ``name`` as the Value op of that name, for a Value argument."""
    method, number = getattr(Value, name), getattr(scalar_math, name)
    return staticmethod(lambda x: method(x) if isinstance(x, Value) else number(x))


class value_math:
    """The functions op rules need, for Values: each builds a node of the table, so that a gradient
    computed by the rules has a graph of its own. Plain numbers (a fixed exponent) stay numbers."""

    exp = _on_values("exp")
    log = _on_values("log")
    tanh = _on_values("tanh")
    sqrt = _on_values("sqrt")
    sin = _on_values("sin")
    cos = _on_values("cos")
    abs = _on_values("abs")
    sign = _on_values("sign")  # the sign op: its derivative is 0, so relu'' = abs'' = 0 as in PyTorch

    @staticmethod
    def pow(x, y):
        if isinstance(x, Value) or isinstance(y, Value):
            return x**y  # pow, or x ** number, or number ** y: the op that fits, as in user code
        return scalar_math.pow(x, y)

    @staticmethod
    def where(condition, if_true, if_false):
        """``if_true`` where ``condition`` is non-zero, else ``if_false``. A Value condition becomes a
        mask in the graph (|sign(c)|, derivative 0), not a choice made now: a compiled gradient
        replays it for every sample."""
        if not isinstance(condition, Value):  # a number fixed in the graph, such as x ** 2's exponent
            return if_true if condition else if_false
        nonzero = abs(condition.sign())
        return nonzero * if_true + (1.0 - nonzero) * if_false

    @staticmethod
    def multiply(a, xs):
        return [a * x for x in xs]


def grad(
    output: Value,
    inputs: Sequence[Value],
    *,
    create_graph: bool = False,
    grad_output: Value | float = 1.0,
) -> list[Value]:
    """d(output)/d(input) for each of ``inputs``, as a list of Values in their order.

    Every ``.grad`` stays as it is. With ``create_graph=True`` the gradients are Values built by the
    op rules, which ``grad`` or ``backward()`` can differentiate again; otherwise they are new leaves
    holding the numbers. An input that ``output`` does not depend on gets 0.0. ``grad_output`` seeds
    the gradient of ``output`` (a number, or with ``create_graph`` a Value). A node built the lesson's
    way, ``Value(data, children, op)``, has no rule to differentiate again: it is refused.
    """
    of_type(output, Value, "grad: output", "a Value")
    for i, v in enumerate(sized(inputs, "grad: inputs", kind="a list of Values")):
        of_type(v, Value, f"grad: inputs[{i}]", "a Value")
    if not (create_graph and isinstance(grad_output, Value)):
        seed = grad_output.data if isinstance(grad_output, Value) else grad_output
        grad_output = finite_number(seed, "grad: grad_output")

    order = topological_order([output])
    for node in order:
        if node._rule is None and node._prev:
            raise ValueError(
                f"grad: the node {node._op or '(no op)'!r} ({node!r}) was built as Value(data, children, op), "
                "with no rule in the op table to differentiate; build it with an op (docs/extending.md)"
            )
    m, of = (value_math, _itself) if create_graph else (scalar_math, _number)
    grads = {output: grad_output}
    for node in reversed(order):
        g = grads.get(node)
        if node._rule is None or g is None or (type(g) is float and not g):  # a leaf, or nothing flows
            continue
        xs = node._prev
        if type(g) is float and g - g:
            raise derivative_error(node._rule, [v.data for v in xs], OverflowError(GRADIENT_OVERFLOW))
        try:
            gxs = node._rule.vjp(m, g, of(node), *[of(v) for v in xs])
        except (ArithmeticError, ValueError) as error:
            raise derivative_error(node._rule, [v.data for v in xs], error) from None
        for v, gv in zip(xs, gxs):
            grads[v] = grads[v] + gv if v in grads else gv
    return [_as_value(grads.get(v, 0.0)) for v in inputs]


def _itself(v: Value) -> Value:
    return v


def _number(v: Value) -> float:
    return v.data


def _as_value(g: Value | float) -> Value:
    return g if isinstance(g, Value) else Value(float(g))


def evaluate(fn: Callable[..., Value], inputs: Sequence[float], name: str) -> tuple[list[float], list[Value], Value]:
    """``fn`` at ``inputs`` as gradcheck and the helpers below call it: the numbers, one leaf Value
    for each, and ``fn``'s result (checked to be a Value)."""
    inputs = sized(inputs, f"{name}: inputs", of="number", kind="a list of numbers", at_least=1)
    points = [
        finite_number(x.data if isinstance(x, Value) else x, f"{name}: inputs[{i}]") for i, x in enumerate(inputs)
    ]
    leaves = [Value(x) for x in points]
    return points, leaves, of_type(fn(*leaves), Value, f"{name}: fn(*inputs)", "a Value")


def hessian(fn: Callable[..., Value], inputs: Sequence[float]) -> list[list[float]]:
    """The matrix of second derivatives of ``fn`` at ``inputs`` (``fn`` takes one Value per number
    and returns a Value, as for ``gradcheck``): row i is the gradient of d(fn)/d(input i)."""
    _, leaves, out = evaluate(fn, inputs, "hessian")
    return [[g.data for g in grad(first, leaves)] for first in grad(out, leaves, create_graph=True)]


def hvp(fn: Callable[..., Value], inputs: Sequence[float], vector: Sequence[float]) -> list[float]:
    """The Hessian of ``fn`` at ``inputs`` times ``vector``, without forming the Hessian: the gradient
    of (gradient . vector), two passes whatever the number of inputs."""
    _, leaves, out = evaluate(fn, inputs, "hvp")
    vector = sized(vector, "hvp: vector", len(leaves), "numbers, one per input")
    vector = [finite_number(v, f"hvp: vector[{i}]") for i, v in enumerate(vector)]
    first = grad(out, leaves, create_graph=True)
    return [g.data for g in grad(dot(first, vector), leaves)]
