"""Every op's value and derivative, written once for every execution path.

Each rule takes a math namespace ``m`` as its first argument: ``scalar_math`` (plain floats, the
``math`` module) in the eager engine, ``numpy`` in compiled programs that run a whole batch at once.
The formulas use only arithmetic and the functions that both namespaces share, so the two paths
cannot drift apart.

``value(m, *inputs)`` computes an op's result. ``vjp(m, g, out, *inputs)`` returns the gradient of
each input, given the gradient ``g`` of the result ``out`` (a vector-Jacobian product).

A rule uses nothing but arithmetic and functions of ``m``: no ``if``, no comparison, no Python
``abs``. Branches go through ``m.where(c, a, b)`` (``a`` where ``c`` is non-zero, else ``b``) and
``m.sign``, so that the same line can run on other kinds of numbers too.
"""

from __future__ import annotations

import math
from operator import mul
from typing import Callable

_builtin_sum = sum

__all__ = ["Op", "OPS", "scalar_math", "power", "derivative_error", "GRADIENT_OVERFLOW"]


class scalar_math:
    """The functions op rules need, for plain Python floats (NumPy's names, ``math``'s speed)."""

    exp = staticmethod(math.exp)
    log = staticmethod(math.log)
    log1p = staticmethod(math.log1p)
    tanh = staticmethod(math.tanh)
    sqrt = staticmethod(math.sqrt)
    sin = staticmethod(math.sin)
    cos = staticmethod(math.cos)
    pow = staticmethod(math.pow)  # unlike **, never returns a complex number
    maximum = staticmethod(max)
    minimum = staticmethod(min)
    abs = staticmethod(abs)

    @staticmethod
    def where(condition, if_true, if_false):
        """``if_true`` where ``condition`` is non-zero, else ``if_false`` (NumPy's ``where``)."""
        return if_true if condition else if_false

    @staticmethod
    def sign(x):
        return float(x > 0) - float(x < 0)  # float(): a NumPy scalar's bools do not subtract

    # For the ops of many inputs, which get them as a tuple. NumPy's functions of these names take
    # a whole stack of arrays in one call, so a compiled program runs a layer of dots in one go.
    # The sums start from -0.0 so that they equal a left-to-right loop exactly (in C: faster);
    # Python 3.12+ also compensates their rounding.
    @staticmethod
    def sum(xs, axis=0):
        """The sum of a sequence."""
        return _builtin_sum(xs, -0.0)

    @staticmethod
    def vecdot(a, b, axis=0):
        """The sum of the products of the items of two equal-length sequences."""
        return _builtin_sum(map(mul, a, b), -0.0)

    @staticmethod
    def multiply(a, b):
        """A number times each item of a sequence, as a list."""
        return [a * x for x in b]


class Op:
    """One differentiable operation: its name, how it is drawn, its value and its derivative."""

    __slots__ = ("name", "symbol", "value", "vjp", "arity", "explain", "paired", "fixed", "doc")

    def __init__(
        self,
        name: str,
        symbol: str,
        value: Callable,
        vjp: Callable,
        arity: int | None,
        explain: Callable | None = None,
        *,
        paired: bool = False,
        fixed: tuple[Op, float] | None = None,
        doc: str | None = None,
    ):
        self.name = name
        self.symbol = symbol  # what a graph picture shows; also Value._op
        self.value = value
        self.vjp = vjp
        self.arity = arity  # None: any number of inputs, given as one sequence to m.sum, m.vecdot
        self.explain = explain  # (*inputs) -> a clear exception for inputs the op rejects
        self.paired = paired  # the inputs are two halves of equal length: weights, then inputs (dot)
        self.fixed = fixed  # (op, c): this op is ``op`` with its last input fixed to the number c
        self.doc = doc  # the docstring of Value's method for it

    def __repr__(self) -> str:
        return f"<op {self.name}>"

    def describe(self, inputs) -> str:
        """The call as a person would write it, for error messages: ``3.0 / 0.0``, ``log(-1.0)``."""
        if self.fixed is not None:
            op, c = self.fixed
            return op.describe((*inputs, c))
        if self.symbol in _INFIX and len(inputs) == 2:
            x, y = (_number(v, parenthesize=True) for v in inputs)
            return f"{x} {self.symbol} {y}"
        shown = [_number(v) for v in inputs[:4]]
        if len(inputs) > 5:  # a sum of 300 terms: the first few and the last are enough to find it
            shown += [f"... {len(inputs) - 5} more", _number(inputs[-1])]
        else:
            shown += [_number(v) for v in inputs[4:]]
        return f"{self.name}({', '.join(shown)})"

    def error(self, inputs, cause: BaseException) -> Exception:
        """The exception to raise when this op's value cannot be computed for ``inputs``."""
        if self.explain is not None:
            reason = self.explain(*inputs)
            if reason is not None:
                return reason
        if isinstance(cause, OverflowError) or "overflow" in str(cause):
            return self.overflow(inputs)
        return ValueError(f"{self.describe(inputs)} is not defined: {cause}")

    def overflow(self, inputs) -> OverflowError:
        """The exception for a result beyond the float64 range (Python's + - * / give inf instead)."""
        return OverflowError(f"{self.describe(inputs)} overflows: the result exceeds the float64 range")


_INFIX = {"+", "-", "*", "/", "**"}

GRADIENT_OVERFLOW = "gradient overflow: it exceeds the float64 range"


def derivative_error(rule: Op | str, inputs, cause: BaseException) -> Exception:
    """The error that stops a backward pass (eager or compiled) at ``rule`` applied to ``inputs``;
    ``rule`` is an ``Op``, or the ``_op`` of a node built without one (``Value(data, children, op)``)."""
    where = rule.describe(inputs) if isinstance(rule, Op) else f"{rule}({', '.join(map(_number, inputs))})"
    kind = type(cause) if isinstance(cause, (OverflowError, ZeroDivisionError)) else ValueError
    return kind(f"backward() stopped at {where}: its derivative is not finite here ({cause})")


def _number(x, parenthesize: bool = False) -> str:
    text = repr(float(x))
    return f"({text})" if parenthesize and text.startswith("-") else text


def _sigmoid(m, x):
    # Both branches of the usual stable form in one expression: exp() only ever sees x <= 0.
    return m.exp(m.minimum(x, 0.0)) / (1.0 + m.exp(-m.abs(x)))


def _power_slope(m, x, y):
    # d(x**y)/dx = y * x**(y-1), taken as 0 when y == 0 (as PyTorch does) even at x == 0.
    y_or_one = m.where(y, y, 1.0)
    return m.where(y, y_or_one * m.pow(x, y_or_one - 1.0), 0.0)


def _log_base_slope(m, out, x):
    # d(x**y)/dy = x**y * log(x); 0 at x == 0 as PyTorch does. A negative base has no real slope.
    return m.where(x, out * m.log(m.where(x, x, 1.0)), 0.0)


def _explain_division(x, y):
    if y == 0:
        return ZeroDivisionError(f"division by zero: {DIV.describe((x, y))}")
    return None


def _explain_power(x, y):
    if x == 0 and y < 0:
        return ZeroDivisionError(f"zero to a negative power: {POW.describe((x, y))}")
    if x < 0 and y != int(y):
        return ValueError(f"negative base to a non-integer power: {POW.describe((x, y))} is not real")
    return None


def _explain_positive(name):
    def explain(x):
        if x <= 0:
            return ValueError(f"{name}({float(x)!r}): {name} needs a positive number")
        return None

    return explain


def _explain_sqrt(x):
    if x < 0:
        return ValueError(f"sqrt({float(x)!r}): sqrt needs a non-negative number")
    return None


def _sum_values(m, *xs):
    return m.sum(xs, axis=0)


def _dot_value(m, *ws_then_xs):
    half = len(ws_then_xs) // 2
    return m.vecdot(ws_then_xs[:half], ws_then_xs[half:], axis=0)


def _dot_vjp(m, g, out, *ws_then_xs):
    # d/dw_i = g * x_i and d/dx_i = g * w_i: the inputs with their halves swapped, times g.
    half = len(ws_then_xs) // 2
    return m.multiply(g, ws_then_xs[half:] + ws_then_xs[:half])


# fmt: off
ADD = Op("add", "+", lambda m, x, y: x + y, lambda m, g, out, x, y: (g, g), 2)
SUB = Op("sub", "-", lambda m, x, y: x - y, lambda m, g, out, x, y: (g, -g), 2)
MUL = Op("mul", "*", lambda m, x, y: x * y, lambda m, g, out, x, y: (g * y, g * x), 2)
DIV = Op("div", "/", lambda m, x, y: x / y, lambda m, g, out, x, y: (g / y, -g * out / y), 2,
         _explain_division)
NEG = Op("neg", "neg", lambda m, x: -x, lambda m, g, out, x: (-g,), 1, doc="-x")

# Three kinds of power, so that a plain-number side never needs a derivative that may not exist
# (x ** 2 at x < 0 has no slope in the exponent; 0 ** y has none in the base).
POW = Op("pow", "**", lambda m, x, y: m.pow(x, y),
         lambda m, g, out, x, y: (g * _power_slope(m, x, y), g * _log_base_slope(m, out, x)), 2,
         _explain_power)
POW_CONST_EXP = Op("pow_const_exp", "**", lambda m, x, n: m.pow(x, n),
                   lambda m, g, out, x, n: (g * _power_slope(m, x, n), 0.0 * g), 2, _explain_power)
POW_CONST_BASE = Op("pow_const_base", "**", lambda m, c, y: m.pow(c, y),
                    lambda m, g, out, c, y: (0.0 * g, g * _log_base_slope(m, out, c)), 2, _explain_power)

EXP = Op("exp", "exp", lambda m, x: m.exp(x), lambda m, g, out, x: (g * out,), 1,
         doc="e**x; raises OverflowError above x = 709.78 instead of returning inf.")
LOG = Op("log", "log", lambda m, x: m.log(x), lambda m, g, out, x: (g / x,), 1, _explain_positive("log"),
         doc="Natural logarithm; raises ValueError for x <= 0.")
SQRT = Op("sqrt", "sqrt", lambda m, x: m.sqrt(x), lambda m, g, out, x: (g * 0.5 / out,), 1, _explain_sqrt,
          doc="Square root; raises ValueError for x < 0.")
TANH = Op("tanh", "tanh", lambda m, x: m.tanh(x), lambda m, g, out, x: (g * (1.0 - out * out),), 1,
          doc="Hyperbolic tangent.")
SIGMOID = Op("sigmoid", "sigmoid", _sigmoid, lambda m, g, out, x: (g * out * (1.0 - out),), 1,
             doc="1 / (1 + e**-x), without overflow for any x.")
# ReLU's slope is sign(out): 1 where it passes x on, 0 where it gives 0 (x <= 0).
RELU = Op("relu", "ReLU", lambda m, x: m.maximum(x, 0.0), lambda m, g, out, x: (g * m.sign(out),), 1,
          doc="max(x, 0); its derivative at 0 is 0, as in PyTorch.")
ABS = Op("abs", "abs", lambda m, x: m.abs(x), lambda m, g, out, x: (g * m.sign(x),), 1,
         doc="|x|; its derivative at 0 is 0, as in PyTorch.")
# softplus' is sigmoid, written exp(x - out) (= e**x / (1 + e**x)): one smooth expression, so that it
# differentiates again correctly even at x = 0 (docs/higher-order.md), where the stable sigmoid's pieces
# do not; it is within 4e-15 relative of the true value (measured on [-60, 60]; the stable form 3e-16).
SOFTPLUS = Op("softplus", "softplus", lambda m, x: m.maximum(x, 0.0) + m.log1p(m.exp(-m.abs(x))),
              lambda m, g, out, x: (g * m.exp(x - out),), 1, doc="log(1 + e**x), without overflow for any x.")
SIN = Op("sin", "sin", lambda m, x: m.sin(x), lambda m, g, out, x: (g * m.cos(x),), 1, doc="Sine.")
COS = Op("cos", "cos", lambda m, x: m.cos(x), lambda m, g, out, x: (-g * m.sin(x),), 1, doc="Cosine.")

# The mask that relu's and abs's derivatives use, as an op: a gradient built from the rules on Values
# (micrograd.grad with create_graph=True) keeps it in its graph, so that it replays for every sample.
SIGN = Op("sign", "sign", lambda m, x: m.sign(x),
          lambda m, g, out, x: (0.0 * g,), 1,
          doc="-1.0, 0.0 or 1.0 as x is negative, zero or positive; its derivative is 0, as in PyTorch.")

SUM = Op("sum", "sum", _sum_values, lambda m, g, out, *xs: (g,) * len(xs), None)
DOT = Op("dot", "dot", _dot_value, _dot_vjp, None, paired=True)
# fmt: on

OPS: dict[str, Op] = {op.name: op for op in [
    ADD, SUB, MUL, DIV, NEG, POW, POW_CONST_EXP, POW_CONST_BASE,
    EXP, LOG, SQRT, TANH, SIGMOID, RELU, ABS, SOFTPLUS, SIN, COS, SIGN, SUM, DOT,
]}
"""Every op by name: the table the eager engine and the compiler both read."""


def power(k: float) -> Op:
    """``x ** k`` for a number ``k``, as an op of one input drawn as the caller wrote it (``'**2'``).

    It is ``POW_CONST_EXP`` with the exponent fixed, so its derivative is that op's: written once.
    """
    symbol, n = f"**{k}", float(k)

    def value(m, x):
        return POW_CONST_EXP.value(m, x, n)

    def vjp(m, g, out, x):
        return POW_CONST_EXP.vjp(m, g, out, x, n)[:1]

    def explain(x):
        return _explain_power(x, n)

    return Op("pow_const_exp", symbol, value, vjp, 1, explain, fixed=(POW_CONST_EXP, n), doc=f"x ** {k}")
