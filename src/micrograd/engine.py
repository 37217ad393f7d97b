"""The scalar autograd engine: ``Value``, the order of its graph, and ``backward``. Standard library only.

Every op's mathematics lives in ``ops.py``; this file builds the graph and walks it backwards.
"""

from __future__ import annotations

import numbers
from functools import lru_cache
from typing import Callable, Iterable, Sequence

from micrograd import ops
from micrograd._validate import finite_number
from micrograd.ops import GRADIENT_OVERFLOW, Op, derivative_error, scalar_math  # noqa: F401 (compile's too)

__all__ = ["Value", "total", "dot", "topological_order", "op_method"]


class Value:
    """A float that remembers how it was computed, so that ``backward()`` can find its gradient.

    ``data`` is the number, ``grad`` the derivative of the last ``backward()`` root with respect to
    it (0.0 before any backward pass), ``label`` a name for pictures. ``_prev`` is the tuple of Values
    it was made from, in argument order; ``_op`` the symbol of the op that made it ('' for a leaf);
    ``_rule`` that op's ``ops.Op``, whose ``vjp`` gives the inputs' gradients. A node built the
    lesson's way, ``Value(data, (x,), 'exp2')``, has no rule: ``backward()`` runs the function
    assigned to its ``_backward`` instead.
    """

    # A large graph's build time is mostly CPython's cyclic garbage collector, whose work grows
    # with the number of objects. So a node's inputs sit in two slots, not in a tuple of their own:
    # one object per node, not two (the random graph builds 1.3x faster). _x is the first input and
    # _y the second (None for one input); a leaf, an op of many inputs and a node built with
    # Value(data, children, op) keep the tuple of all of them in _x instead. _closure, the function
    # a lesson-style node was given as _backward, is read only where _rule is None (op_method's
    # nodes, which have a rule, leave it unset: one store fewer per node).
    __slots__ = ("data", "grad", "label", "_op", "_rule", "_x", "_y", "_closure")
    __array_ufunc__ = None  # NumPy scalars on the left of an operator defer to Value's methods

    def __init__(self, data: float, _children: Iterable[Value] = (), _op: str = "", label: str = ""):
        self.data = data if type(data) is float and not data - data else _number(data)
        self.grad = 0.0
        self.label = label
        self._op = _op
        self._rule = self._y = self._closure = None
        self._x = tuple(_children)
        if _children and not all(isinstance(v, Value) for v in self._x):
            raise TypeError(f"Value's _children must be Values, got {_children!r}")

    @property
    def _prev(self) -> tuple[Value, ...]:
        return _inputs(self._x, self._y)

    @property
    def _backward(self) -> Callable[[], None]:
        """This node's step of ``backward()``, which the lesson calls node by node: it adds the node's
        share of its gradient to its inputs' grads (by its op's rule, or by the function assigned)."""
        return lambda: _steps([self])

    @_backward.setter
    def _backward(self, function: Callable[[], None]) -> None:
        self._x, self._y, self._rule, self._closure = self._prev, None, None, function

    def __repr__(self) -> str:
        return f"Value(data={self.data}, grad={self.grad})"

    def __pow__(self, exponent: Value | float) -> Value:
        if isinstance(exponent, Value):
            return _pow(self, exponent)
        # A number exponent makes one node over x alone, drawn '**2', as in the original.
        if type(exponent) in (int, float) or isinstance(exponent, numbers.Real):
            return _power(exponent)(self)
        return NotImplemented

    def backward(self, grad: float = 1.0) -> None:
        """Add d(self)/d(leaf) * ``grad`` to the ``.grad`` of every leaf that ``self`` depends on.

        The pass walks ``topological_order([self])`` in reverse and takes one step at each node:
        its op's vjp (or the ``_backward`` function of a node built the lesson's way). Leaf
        gradients accumulate across calls, as PyTorch's ``.grad`` does: zero them between steps.
        The grads of intermediate Values start from zero on every call, so they show this pass's
        result. A gradient that is not a finite number stops the pass with an error that names
        the op whose derivative made it so.
        """
        if type(grad) is not float or grad - grad:  # finite floats skip the call: 2% of the README expression
            grad = finite_number(grad, "grad")
        order = topological_order([self])
        for node in order:
            if node._x:  # not a leaf (a leaf's _x is the empty tuple)
                node.grad = 0.0
        self.grad += grad
        _steps(order)


def _steps(order: list[Value]) -> None:
    """Backpropagate through a topological ``order`` in reverse, one step at each node."""
    for node in reversed(order):
        g = node.grad
        if not g:
            continue  # nothing flows back: the inputs' grads stay as they are
        if g - g:  # inf or nan, handed on by the nodes that use this one: all done by now
            raise _not_finite(node, order)
        rule, x, y = node._rule, node._x, node._y
        try:
            if y is not None:  # two inputs, or one, spelled out: a call with *args is slow
                gx, gy = rule.vjp(scalar_math, g, node.data, x.data, y.data)
                x.grad += gx
                y.grad += gy
            elif rule is None:  # a leaf, or a node built the lesson's way with its own function
                if node._closure is not None:
                    node._closure()
            elif type(x) is not tuple:
                x.grad += rule.vjp(scalar_math, g, node.data, x.data)[0]
            else:
                for v, gv in zip(x, rule.vjp(scalar_math, g, node.data, *[v.data for v in x])):
                    v.grad += gv
        except (ArithmeticError, ValueError) as error:
            raise _stopped(node, error) from None


def _not_finite(node: Value, order: list[Value]) -> Exception:
    """The error for ``node``'s grad turned inf or nan. An op's node names itself, as a compiled
    program does; a leaf names the first node using it (in backward's order) whose vjp handed it
    a gradient that is not finite, or, if their sum overflowed, the last of them."""
    culprit = node
    for user in () if node._x else reversed(order):
        if node in user._prev:  # Values compare by identity
            culprit, rule, inputs = user, user._rule, user._prev
            grads = rule.vjp(scalar_math, user.grad, user.data, *[v.data for v in inputs]) if rule else ()
            if any(g - g for v, g in zip(inputs, grads) if v is node):
                break
    return _stopped(culprit, OverflowError(GRADIENT_OVERFLOW))


def _stopped(node: Value, error: Exception) -> Exception:
    """The error that stops backward at ``node``, whose op's derivative is not finite."""
    return derivative_error(node._rule or node._op, [v.data for v in node._prev], error)


_new = object.__new__


def op_method(rule: Op, reflected: bool = False) -> Callable[..., Value]:
    """The one place where an op makes a node: Value's method for ``rule`` (``x + y``, ``x.tanh()``;
    ``reflected`` for ``2 - x``), or for an op of many inputs the function of the tuple of them.
    ``Value.softsign = op_method(SOFTSIGN)`` adds your own op (docs/extending.md).

    The node is written out here, not made by a helper function: an op runs 1.6x as fast.
    """
    value, m, symbol, binary, many = rule.value, scalar_math, rule.symbol, rule.arity == 2, rule.arity is None

    def apply(x: Value | tuple[Value, ...], y: Value | float | None = None) -> Value:
        if binary:
            if type(y) is not Value:
                y = _operand(y)
                if y is None:
                    return NotImplemented
            if reflected:
                x, y = y, x
        elif y is not None:
            raise TypeError(f"{rule.name}() takes no arguments")
        try:  # the numbers spelled out for one input or two: a call with *args is slow
            data = value(m, x.data, y.data) if binary else value(m, *[v.data for v in x]) if many else value(m, x.data)
        except (ArithmeticError, ValueError) as error:
            raise rule.error(_numbers(x, y), error) from None
        if data - data:  # inf or nan: Python's + - * / overflow silently
            raise rule.overflow(_numbers(x, y))
        out = _new(Value)  # one attribute a line: 1.2x faster than one line of them all (measured)
        out.data = data
        out.grad = 0.0
        out.label = ""
        out._op = symbol
        out._rule = rule
        out._x = x
        out._y = y
        return out

    apply.__name__, apply.__doc__ = rule.name, rule.doc
    return apply


Value.__add__, Value.__radd__ = op_method(ops.ADD), op_method(ops.ADD, reflected=True)
Value.__sub__, Value.__rsub__ = op_method(ops.SUB), op_method(ops.SUB, reflected=True)
Value.__mul__, Value.__rmul__ = op_method(ops.MUL), op_method(ops.MUL, reflected=True)
Value.__truediv__, Value.__rtruediv__ = op_method(ops.DIV), op_method(ops.DIV, reflected=True)
Value.__neg__, Value.__rpow__ = op_method(ops.NEG), op_method(ops.POW_CONST_BASE, reflected=True)
for _rule in (ops.ABS, ops.EXP, ops.LOG, ops.SQRT, ops.TANH, ops.SIGMOID, ops.RELU, ops.SOFTPLUS, ops.SIN, ops.COS):
    setattr(Value, _rule.name, op_method(_rule))  # x.exp(), x.relu(), ...
Value.__abs__ = Value.abs
_pow, _sum, _dot = op_method(ops.POW), op_method(ops.SUM), op_method(ops.DOT)


@lru_cache(maxsize=1024, typed=True)  # typed: x ** 2 is drawn '**2', x ** 2.0 '**2.0'
def _power(k: float) -> Callable[[Value], Value]:
    _number(k)  # a finite number, or an error that says what it is
    return op_method(ops.power(k))


def total(values: Iterable[Value | float]) -> Value:
    """The sum of many Values as one node: faster than ``sum()``, which makes a chain of ``+``."""
    inputs = _operands(values, "total")
    if not inputs:
        raise ValueError("total needs at least one value")
    return _sum(tuple(inputs))


def dot(weights: Sequence[Value | float], inputs: Sequence[Value | float]) -> Value:
    """``sum(w * x for w, x in zip(weights, inputs))`` as one node."""
    ws, xs = _operands(weights, "dot"), _operands(inputs, "dot")
    if len(ws) != len(xs) or not ws:
        raise ValueError(f"dot needs two non-empty sequences of equal length, got {len(ws)} and {len(xs)}")
    return _dot(tuple(ws + xs))


def topological_order(roots: Iterable[Value]) -> list[Value]:
    """Every Value the ``roots`` depend on, leaves included, each once and after all its inputs.

    The order is deterministic: a depth-first walk that takes a node's inputs last to first (the
    order in which the original demo's gradients add up to its printed numbers, to the last digit).
    An explicit stack stands in for recursion, so a chain of a million ops is fine. ``backward()``
    walks it in reverse; pictures and the compiler read it too.
    """
    order, seen = [], set()
    for root in roots:
        stack = [root]
        while stack:
            node = stack.pop()
            if node is None:  # marker: the node below it has all its inputs in order already
                order.append(stack.pop())
            elif node not in seen:
                seen.add(node)
                x, y = node._x, node._y  # then its inputs; the last, on top, is ordered first
                if y is not None:  # the commonest case first: 7% faster on the README expression
                    stack += (node, None, x, y)
                elif type(x) is not tuple:
                    stack += (node, None, x)
                elif x:
                    stack += (node, None, *x)
                else:  # a leaf: nothing to wait for
                    order.append(node)
    return order


def _inputs(x: Value | tuple[Value, ...], y: Value | None) -> tuple[Value, ...]:
    """A node's inputs from its two slots, ``_x`` and ``_y`` (see ``Value.__slots__``)."""
    return x if type(x) is tuple else (x,) if y is None else (x, y)


def _numbers(x: Value | tuple[Value, ...], y: Value | None = None) -> list[float]:
    return [v.data for v in _inputs(x, y)]


def _operand(x, name: str = "") -> Value | None:
    """``x`` as a Value: a Value as it is, a real number as a new leaf. Anything else is None, or
    for a function ``name`` a TypeError."""
    if type(x) is not float and isinstance(x, Value):
        return x
    if type(x) not in (float, int) and not isinstance(x, numbers.Real):  # the ABC check is slow
        if name:
            raise TypeError(f"{name} takes Values and numbers, got {type(x).__name__}: {x!r}")
        return None
    out = _new(Value)  # Value(x), made here without the checks it does not need: 1.3x faster x + 1
    out.data = x if type(x) is float and not x - x else _number(x)  # a finite float as it is
    out.grad = 0.0
    out.label = out._op = ""
    out._rule = out._y = out._closure = None
    out._x = ()
    return out


def _operands(values: Iterable[Value | float], name: str) -> list[Value]:
    return [v if type(v) is Value else _operand(v, name) for v in values]  # Values without a call


def _number(x) -> float:
    if type(x) is not float:
        if type(x) is not int and not isinstance(x, numbers.Real):
            raise TypeError(f"Value needs a real number, got {type(x).__name__}: {x!r}")
        x = float(x)
    if x - x:
        raise ValueError(f"Value needs a finite number, got {x!r}")
    return x
