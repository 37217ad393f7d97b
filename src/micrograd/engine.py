"""The scalar autograd engine: ``Value`` and its backward pass. Standard library only.

Every op's mathematics lives in ``ops.py``; this file builds the graph and walks it backwards.
"""

from __future__ import annotations

import numbers
from typing import Iterable, Sequence

from micrograd import ops
from micrograd.ops import Op, scalar_math

__all__ = ["Value", "total", "dot", "topological_order"]


class Value:
    """A float that remembers how it was computed, so that ``backward()`` can find its gradient.

    ``data`` is the number, ``grad`` the derivative of the last ``backward()`` root with respect to
    it (0.0 before any backward pass), ``label`` a name for pictures. ``_prev`` is the tuple of Values
    it was made from, in order, and ``_op`` the symbol of the op that made it ('' for a leaf).
    """

    # Building a large graph is dominated by CPython's cyclic garbage collector, whose work grows
    # with the number and size of tracked objects. So the inputs sit in two slots rather than a
    # tuple (one object per node, not two), and there is no __weakref__ slot (80 bytes, not 96).
    # _x is the first input (all of them, as a tuple, for ops of many inputs), _y the second.
    __slots__ = ("data", "grad", "label", "_rule", "_x", "_y")
    __array_ufunc__ = None  # NumPy scalars on the left of an operator defer to Value's methods

    def __init__(self, data: float, *, label: str = ""):
        self.data = _as_float(data)
        self.grad = 0.0
        self.label = label
        self._rule: Op | None = None  # None marks a leaf

    @property
    def _prev(self) -> tuple[Value, ...]:
        rule = self._rule
        if rule is None:
            return ()
        if rule.arity == 2:
            return (self._x, self._y)
        if rule.arity == 1:
            return (self._x,)
        return self._x

    @property
    def _op(self) -> str:
        return "" if self._rule is None else self._rule.symbol

    def __repr__(self) -> str:
        return f"Value(data={self.data}, grad={self.grad})"

    def __pow__(self, exponent: Value | float) -> Value:
        if type(exponent) is Value:
            return _pow_by_value(self, exponent)
        return _pow_by_number(self, exponent)

    def backward(self, grad: float = 1.0) -> None:
        """Add d(self)/d(leaf) * ``grad`` to the ``.grad`` of every leaf that ``self`` depends on.

        Leaf gradients accumulate across calls, as PyTorch's ``.grad`` does: zero them between
        steps. The grads of intermediate Values start from zero on every call, so they always show
        this pass's result.
        """
        order = _interior_postorder(self)
        self.grad += grad
        m = scalar_math
        node = self
        try:
            for node in reversed(order):
                g = node.grad
                if not g:
                    continue  # nothing flows back through this node
                if g - g:
                    raise OverflowError(GRADIENT_OVERFLOW)
                rule = node._rule
                if rule.arity == 2:
                    a, b = node._x, node._y
                    ga, gb = rule.vjp(m, g, node.data, a.data, b.data)
                    a.grad += ga
                    b.grad += gb
                elif rule.arity == 1:
                    a = node._x
                    (ga,) = rule.vjp(m, g, node.data, a.data)
                    a.grad += ga
                else:
                    node._backward()
        except (ArithmeticError, ValueError) as error:
            raise derivative_error(node._rule, [v.data for v in node._prev], error) from None

    def _backward(self) -> None:
        """One step of backward: add this Value's share of the gradient to its inputs' grads."""
        if self._rule is None:
            return
        inputs = self._prev
        grads = self._rule.vjp(scalar_math, self.grad, self.data, *[v.data for v in inputs])
        for v, g in zip(inputs, grads):
            v.grad += g


_new = object.__new__


def _binary(rule: Op, reflected: bool = False):
    value, m = rule.value, scalar_math  # locals of the closure: the cheapest names to look up

    def method(self: Value, other: Value | float) -> Value:
        if type(other) is not Value:
            other = _constant(other)
            if other is None:
                return NotImplemented
        if reflected:
            a, b = other, self
        else:
            a, b = self, other
        try:
            data = value(m, a.data, b.data)
        except (ArithmeticError, ValueError) as error:
            raise rule.error((a.data, b.data), error) from None
        if data - data:  # inf or nan: Python's + - * / overflow silently
            raise rule.overflow((a.data, b.data))
        out = _new(Value)
        out.data = data
        out.grad = 0.0
        out.label = ""
        out._rule = rule
        out._x = a
        out._y = b
        return out

    method.__name__ = f"__{'r' if reflected else ''}{rule.name}__"
    return method


def _unary(rule: Op, doc: str):
    value, m = rule.value, scalar_math

    def method(self: Value) -> Value:
        try:
            data = value(m, self.data)
        except (ArithmeticError, ValueError) as error:
            raise rule.error((self.data,), error) from None
        out = _new(Value)
        out.data = data
        out.grad = 0.0
        out.label = ""
        out._rule = rule
        out._x = self
        return out

    method.__name__ = rule.name
    method.__doc__ = doc
    return method


Value.__add__ = _binary(ops.ADD)
Value.__radd__ = _binary(ops.ADD, reflected=True)
Value.__sub__ = _binary(ops.SUB)
Value.__rsub__ = _binary(ops.SUB, reflected=True)
Value.__mul__ = _binary(ops.MUL)
Value.__rmul__ = _binary(ops.MUL, reflected=True)
Value.__truediv__ = _binary(ops.DIV)
Value.__rtruediv__ = _binary(ops.DIV, reflected=True)
Value.__rpow__ = _binary(ops.POW_CONST_BASE, reflected=True)
_pow_by_value = _binary(ops.POW)
_pow_by_number = _binary(ops.POW_CONST_EXP)
Value.__neg__ = _unary(ops.NEG, "-x")
Value.__abs__ = Value.abs = _unary(ops.ABS, "|x|; its derivative at 0 is 0, as in PyTorch.")
Value.exp = _unary(ops.EXP, "e**x; raises OverflowError above x = 709.78 instead of returning inf.")
Value.log = _unary(ops.LOG, "Natural logarithm; raises ValueError for x <= 0.")
Value.sqrt = _unary(ops.SQRT, "Square root; raises ValueError for x < 0.")
Value.tanh = _unary(ops.TANH, "Hyperbolic tangent.")
Value.sigmoid = _unary(ops.SIGMOID, "1 / (1 + e**-x), without overflow for any x.")
Value.relu = _unary(ops.RELU, "max(x, 0); its derivative at 0 is 0, as in PyTorch.")
Value.softplus = _unary(ops.SOFTPLUS, "log(1 + e**x), without overflow for any x.")
Value.sin = _unary(ops.SIN, "Sine.")
Value.cos = _unary(ops.COS, "Cosine.")


def total(values: Iterable[Value | float]) -> Value:
    """The sum of many Values as one node: faster than ``sum()``, which makes a chain of ``+``."""
    inputs = _operands(values, "total")
    if not inputs:
        raise ValueError("total needs at least one value")
    return _apply_many(ops.SUM, inputs)


def dot(weights: Sequence[Value | float], inputs: Sequence[Value | float]) -> Value:
    """``sum(w * x for w, x in zip(weights, inputs))`` as one node."""
    ws, xs = _operands(weights, "dot"), _operands(inputs, "dot")
    if len(ws) != len(xs) or not ws:
        raise ValueError(f"dot needs two non-empty sequences of equal length, got {len(ws)} and {len(xs)}")
    return _apply_many(ops.DOT, ws + xs)


def topological_order(roots: Iterable[Value]) -> list[Value]:
    """Every Value the ``roots`` depend on, leaves included, each once and after all its inputs.

    The order is deterministic (inputs in argument order), and an explicit stack stands in for
    recursion. This is the walk that pictures and the compiler use; ``backward()`` has its own,
    leaner one (``_interior_postorder``), since it runs on every training step.
    """
    order, seen = [], set()
    for root in roots:
        stack = [(root, False)]
        while stack:
            node, inputs_done = stack.pop()
            if inputs_done:
                order.append(node)
            elif node not in seen:
                seen.add(node)
                stack.append((node, True))
                stack.extend((child, False) for child in reversed(node._prev) if child not in seen)
    return order


def _apply_many(rule: Op, inputs: list[Value]) -> Value:
    data = rule.value(scalar_math, *[v.data for v in inputs])
    if data - data:
        raise rule.overflow([v.data for v in inputs])
    out = _new(Value)
    out.data = data
    out.grad = 0.0
    out.label = ""
    out._rule = rule
    out._x = tuple(inputs)
    return out


def _constant(x) -> Value | None:
    """A plain number as a leaf Value; None for anything that is not a real number."""
    if type(x) is not float:
        if type(x) is not int and not isinstance(x, numbers.Real):
            return None
        x = float(x)
    if x - x:
        raise ValueError(f"Value needs a finite number, got {x!r}")
    out = _new(Value)
    out.data = x
    out.grad = 0.0
    out.label = ""
    out._rule = None
    return out


def _as_float(data) -> float:
    if type(data) is float:
        x = data
    elif isinstance(data, numbers.Real):
        x = float(data)
    else:
        raise TypeError(f"Value needs a real number, got {type(data).__name__}: {data!r}")
    if x - x:
        raise ValueError(f"Value needs a finite number, got {x!r}")
    return x


def _operands(values, name: str) -> list[Value]:
    out = []
    for v in values:
        if type(v) is not Value:
            constant = _constant(v)
            if constant is None:
                raise TypeError(f"{name} takes Values and numbers, got {type(v).__name__}: {v!r}")
            v = constant
        out.append(v)
    return out


def _interior_postorder(root: Value) -> list[Value]:
    """The Values ``root`` was computed from, each after its inputs; leaves left out.

    An explicit stack instead of recursion, so that a chain of a million ops is fine. Every node
    found has its grad reset to a zero made fresh for this call, whose identity (``is``) then marks
    the node as visited: no set of a million Values to build.
    """
    zero = float("0")  # a new float object on every call
    order = []
    stack = [root] if root._rule is not None else []
    push, pop, emit = stack.append, stack.pop, order.append
    while stack:
        node = pop()
        if node is None:  # marker: the node below it has all its inputs in order already
            emit(pop())
            continue
        if node.grad is zero:
            continue
        node.grad = zero
        push(node)
        push(None)
        arity = node._rule.arity
        if arity == 2:
            if node._x._rule is not None:
                push(node._x)
            if node._y._rule is not None:
                push(node._y)
        elif arity == 1:
            if node._x._rule is not None:
                push(node._x)
        else:
            for child in node._x:
                if child._rule is not None:
                    push(child)
    return order


GRADIENT_OVERFLOW = "gradient overflow: it exceeds the float64 range"


def derivative_error(rule: Op, inputs, cause: BaseException) -> Exception:
    """The error that stops a backward pass (eager or compiled) at ``rule`` applied to ``inputs``."""
    kind = type(cause) if isinstance(cause, (OverflowError, ZeroDivisionError)) else ValueError
    return kind(f"backward() stopped at {rule.describe(inputs)}: its derivative is not finite here ({cause})")
