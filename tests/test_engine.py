"""The engine against the lesson's numbers, hand-derived gradients, and its own contracts."""

import gc
import math
import sys

import numpy as np
import pytest

from micrograd import GradcheckError, Value, dot, gradcheck, total
from micrograd.engine import Value as EngineValue


def readme_expression():
    a = Value(-4.0)
    b = Value(2.0)
    c = a + b
    d = a * b + b**3
    c += c + 1
    c += 1 + c + (-a)
    d += d * 2 + (b + a).relu()
    d += 3 * d + (b - a).relu()
    e = c - d
    f = e**2
    g = f / 2.0
    g += 10.0 / f
    return a, b, g


def test_both_imports_name_the_same_class():
    assert Value is EngineValue


def test_readme_expression_prints_the_lessons_numbers():
    a, b, g = readme_expression()
    g.backward()
    # The lesson prints these (and micrograd's README and test_engine.py check them with PyTorch).
    assert f"{g.data:.4f}" == "24.7041"
    assert f"{a.grad:.4f}" == "138.8338"
    assert f"{b.grad:.4f}" == "645.5773"


def lesson_neuron(tanh_through_exp: bool):
    x1, x2 = Value(2.0, label="x1"), Value(0.0, label="x2")
    w1, w2 = Value(-3.0, label="w1"), Value(1.0, label="w2")
    b = Value(6.8813735870195432, label="b")
    n = x1 * w1 + x2 * w2 + b
    if tanh_through_exp:
        e = (2 * n).exp()
        o = (e - 1) / (e + 1)
    else:
        o = n.tanh()
    o.backward()
    return o, x1, w1, x2, w2


@pytest.mark.parametrize("tanh_through_exp", [False, True])
def test_lesson_neuron(tanh_through_exp):
    o, x1, w1, x2, w2 = lesson_neuron(tanh_through_exp)
    # tanh(0.8813735870195432) = 1/sqrt(2); d tanh = 1 - o**2 = 1/2, then the chain rule by hand.
    assert o.data == pytest.approx(1 / math.sqrt(2), rel=1e-12)
    assert x1.grad == pytest.approx(-1.5, rel=1e-9)
    assert w1.grad == pytest.approx(1.0, rel=1e-9)
    assert x2.grad == pytest.approx(0.5, rel=1e-9)
    assert w2.grad == 0.0


def test_lesson_expression_graph_has_ordered_inputs_and_op_names():
    a, b, c = Value(2.0, label="a"), Value(-3.0, label="b"), Value(10.0, label="c")
    e = a * b
    d = e + c
    assert d._prev == (e, c)
    assert d._op == "+" and e._op == "*" and a._op == ""
    assert a._prev == ()
    assert (a.tanh())._op == "tanh" and (a**2)._op == "**2" and a.relu()._op == "ReLU"
    assert len({a, b, c}) == 3  # hashed by identity, as the lesson's sets need


def test_a_value_used_twice_gets_both_contributions():
    a = Value(3.0)
    b = a + a
    b.backward()
    assert a.grad == 2.0
    a = Value(3.0)
    b = a + a
    c = b + b
    c.backward()
    assert a.grad == 4.0
    assert b.grad == 2.0


def test_second_backward_accumulates_leaves_and_recomputes_intermediates():
    x = Value(3.0)
    y = x * x  # dy/dx = 6
    z = y * 2.0  # dz/dy = 2
    z.backward()
    assert (x.grad, y.grad) == (12.0, 2.0)
    z.backward()
    assert x.grad == 24.0  # leaves accumulate, as PyTorch's .grad does
    assert y.grad == 2.0  # an intermediate shows this pass's gradient, not a running sum


def test_backward_from_a_leaf_and_with_a_seed():
    x = Value(5.0)
    x.backward()
    assert x.grad == 1.0
    y = Value(2.0)
    (y * y).backward(grad=0.5)
    assert y.grad == 2.0


def test_backward_skips_nothing_that_a_zero_gradient_would_change():
    x = Value(-1.0)
    y = x.relu() * 5.0 + x  # the relu branch passes nothing back; the direct branch does
    y.backward()
    assert x.grad == 1.0


@pytest.mark.parametrize(
    "make, expected",
    [
        (lambda x, y: x + y, (1.0, 1.0)),
        (lambda x, y: x - y, (1.0, -1.0)),
        (lambda x, y: x * y, (-4.0, 3.0)),
        (lambda x, y: x / y, (1 / -4.0, -3.0 / 16.0)),
        (lambda x, y: x**y, None),
    ],
)
def test_binary_ops_match_their_textbook_derivatives(make, expected):
    x, y = Value(3.0), Value(-4.0)
    if expected is None:  # 3 ** -4: d/dx = -4 * 3**-5, d/dy = 3**-4 * ln 3
        expected = (-4 * 3.0**-5, 3.0**-4 * math.log(3.0))
    make(x, y).backward()
    assert x.grad == pytest.approx(expected[0], rel=1e-12)
    assert y.grad == pytest.approx(expected[1], rel=1e-12)


@pytest.mark.parametrize(
    "expr, value, slope",
    [
        (lambda v: 2 + v, 3.5, 1.0),
        (lambda v: 2 - v, 0.5, -1.0),
        (lambda v: 2 * v, 3.0, 2.0),
        (lambda v: 2 / v, 2 / 1.5, -2 / 1.5**2),
        (lambda v: 2**v, 2**1.5, 2**1.5 * math.log(2)),
        (lambda v: v**3, 1.5**3, 3 * 1.5**2),
        (lambda v: -v, -1.5, -1.0),
        (lambda v: abs(-v), 1.5, 1.0),
        (lambda v: v.sqrt(), math.sqrt(1.5), 0.5 / math.sqrt(1.5)),
        (lambda v: v.softplus(), math.log1p(math.exp(1.5)), 1 / (1 + math.exp(-1.5))),
        (lambda v: v.sin(), math.sin(1.5), math.cos(1.5)),
        (lambda v: v.cos(), math.cos(1.5), -math.sin(1.5)),
        (lambda v: v.log(), math.log(1.5), 1 / 1.5),
        (lambda v: v.sigmoid(), 1 / (1 + math.exp(-1.5)), math.exp(-1.5) / (1 + math.exp(-1.5)) ** 2),
    ],
)
def test_numbers_on_either_side_and_unary_ops(expr, value, slope):
    v = Value(1.5)
    out = expr(v)
    out.backward()
    assert out.data == pytest.approx(value, rel=1e-12)
    assert v.grad == pytest.approx(slope, rel=1e-12)


def test_total_and_dot_are_single_nodes_with_the_right_gradients():
    xs = [Value(float(i)) for i in range(1, 5)]
    ws = [Value(0.5 * i) for i in range(1, 5)]
    s = total(xs + [1.0])
    assert s.data == 11.0 and len(s._prev) == 5 and s._op == "sum"
    s.backward()
    assert [x.grad for x in xs] == [1.0] * 4
    d = dot(ws, xs)
    assert d.data == sum(0.5 * i * i for i in range(1, 5))
    for v in xs + ws:
        v.grad = 0.0
    d.backward()
    assert [x.grad for x in xs] == [w.data for w in ws]
    assert [w.grad for w in ws] == [x.data for x in xs]
    with pytest.raises(ValueError, match="equal length"):
        dot(ws, xs[:2])
    with pytest.raises(TypeError, match="total takes Values and numbers"):
        total([Value(1.0), "x"])


@pytest.mark.parametrize("bad", ["abc", None, [1.0], 1j])
def test_non_numbers_are_refused_with_their_type(bad):
    with pytest.raises(TypeError, match=type(bad).__name__):
        Value(bad)


def test_numbers_of_every_real_kind_become_floats():
    for x in (3, True, np.float64(2.5), np.int64(7), np.float32(0.5)):
        v = Value(x)
        assert type(v.data) is float and v.data == float(x)


@pytest.mark.parametrize("bad", [math.inf, -math.inf, math.nan])
def test_non_finite_numbers_are_refused(bad):
    with pytest.raises(ValueError, match="finite"):
        Value(bad)
    with pytest.raises(ValueError, match="finite"):
        Value(1.0) + bad


@pytest.mark.parametrize(
    "expr, error, words",
    [
        (lambda: Value(-1.0).log(), ValueError, r"log\(-1.0\)"),
        (lambda: Value(0.0).log(), ValueError, r"log\(0.0\)"),
        (lambda: Value(-1.0).sqrt(), ValueError, r"sqrt\(-1.0\)"),
        (lambda: Value(-8.0) ** (1 / 3), ValueError, r"negative base to a non-integer power: \(-8.0\)"),
        (lambda: Value(-8.0) ** Value(0.5), ValueError, "negative base"),
        (lambda: (-8.0) ** Value(0.5), ValueError, "negative base"),
        (lambda: Value(1.0) / 0, ZeroDivisionError, r"1.0 / 0.0"),
        (lambda: 1.0 / Value(0.0), ZeroDivisionError, r"1.0 / 0.0"),
        (lambda: Value(0.0) ** -1, ZeroDivisionError, r"0.0 \*\* \(-1.0\)"),
        (lambda: Value(1000.0).exp(), OverflowError, r"exp\(1000.0\) overflows"),
        (lambda: Value(1e200) * 1e200, OverflowError, r"1e\+200 \* 1e\+200 overflows"),
        (lambda: Value(10.0) ** 400, OverflowError, "overflows"),
    ],
)
def test_bad_arithmetic_names_the_op_and_the_value(expr, error, words):
    with pytest.raises(error, match=words):
        expr()


def test_operators_with_unsupported_types_raise_type_error():
    with pytest.raises(TypeError, match="unsupported operand"):
        Value(1.0) + "a"
    with pytest.raises(TypeError, match="unsupported operand"):
        Value(1.0) ** "a"


def test_derivatives_that_are_infinite_stop_backward_with_the_op_named():
    with pytest.raises(ZeroDivisionError, match=r"sqrt\(0.0\)"):
        Value(0.0).sqrt().backward()
    with pytest.raises(ValueError, match=r"\(-2.0\) \*\* 2.0"):
        (Value(-2.0) ** Value(2.0)).backward()  # no real slope in the exponent for a negative base


def test_saturating_functions_return_their_limits_at_1000():
    assert Value(1000.0).tanh().data == 1.0
    assert Value(-1000.0).tanh().data == -1.0
    assert Value(1000.0).sigmoid().data == 1.0
    assert Value(-1000.0).sigmoid().data == 0.0
    assert Value(1000.0).softplus().data == 1000.0
    assert Value(-1000.0).softplus().data == 0.0
    x = Value(-1000.0)
    x.sigmoid().backward()
    assert x.grad == 0.0
    # sigmoid keeps its relative precision far out on the negative side
    assert Value(-30.0).sigmoid().data == pytest.approx(math.exp(-30) / (1 + math.exp(-30)), rel=1e-15)


def test_pow_edges_follow_pytorch():
    # d(x**0)/dx is 0 even at x = 0; d(0**y)/dy is 0; d(x**2)/dx at negative x is fine.
    x = Value(0.0)
    (x**0).backward()
    assert x.grad == 0.0
    y = Value(2.0)
    (0.0**y).backward()
    assert y.grad == 0.0
    z = Value(-3.0)
    (z**2).backward()
    assert z.grad == -6.0


def test_data_set_to_a_numpy_scalar_runs_every_op_that_takes_a_sign():
    # p.data = weights[i] from a NumPy array: relu's and abs's derivatives and sign compare it with 0
    for op, slope in (("relu", 1.0), ("__abs__", -1.0), ("sign", 0.0)):
        v = Value(0.0)
        v.data = np.float64(-2.0) if op == "__abs__" else np.float64(2.0)
        out = getattr(v, op)()
        out.backward()
        assert (out.data, v.grad) == ({"relu": 2.0, "__abs__": 2.0, "sign": 1.0}[op], slope)


def test_numpy_scalars_mix_with_values_on_either_side():
    v = Value(2.0)
    for out in (np.float64(3.0) * v, v * np.float64(3.0), np.float64(3.0) + v + v):
        assert isinstance(out, Value)
    assert (np.float64(3.0) - v).data == 1.0
    assert (np.float64(8.0) / v).data == 4.0
    assert (np.float64(3.0) ** v).data == 9.0
    # The lesson sums its losses with a NumPy object array.
    losses = np.array([Value(1.0) * 2, Value(3.0) * 1])
    loss = losses.sum()
    assert isinstance(loss, Value) and loss.data == 5.0


def test_repr_shows_data_and_grad():
    assert repr(Value(0.5)) == "Value(data=0.5, grad=0.0)"


def live_values() -> int:
    # gc.get_objects() lists every tracked object, even while automatic collection is off.
    return sum(1 for obj in gc.get_objects() if type(obj) is Value)


def test_a_dropped_graph_is_freed_at_once_without_the_garbage_collector():
    gc.disable()
    try:
        before = live_values()
        x = Value(1.0)
        y = x
        for _ in range(1000):
            y = (y * 1.0001).tanh() + x
        y.backward()
        assert live_values() == before + 1 + 4 * 1000  # x, and per step: a constant and three ops
        del y
        assert live_values() == before + 1  # reference counting alone freed every node but x
        assert x.grad != 0.0
    finally:
        gc.enable()


def test_a_chain_of_a_million_ops_backpropagates_without_recursion():
    x = Value(0.5)
    y = x
    for _ in range(500_000):
        y = y * 1.0
        y = y + 0.0
    assert sys.getrecursionlimit() < 1_000_000
    y.backward()
    assert x.grad == 1.0
    del y  # freeing the chain must not overflow the C stack either


def test_builtin_sum_of_100k_values():
    xs = [Value(float(i % 7)) for i in range(100_000)]
    s = sum(xs)
    assert s.data == float(sum(i % 7 for i in range(100_000)))
    s.backward()
    assert all(x.grad == 1.0 for x in xs)


def test_manual_backward_steps_match_backward():
    # The lesson calls _backward() node by node after seeding the output's grad.
    x, w = Value(2.0), Value(-3.0)
    n = x * w
    o = n.tanh()
    o.grad = 1.0
    o._backward()
    n._backward()
    expected = 1 - math.tanh(-6.0) ** 2
    assert n.grad == pytest.approx(expected)
    assert x.grad == pytest.approx(expected * -3.0)
    assert w.grad == pytest.approx(expected * 2.0)


def test_gradcheck_passes_on_correct_gradients_and_names_the_worst_input():
    assert gradcheck(lambda a, b: (a * b + a.tanh()) / b.exp(), [0.3, -1.2])
    assert gradcheck(lambda a, b, c: a**b * c.sigmoid(), [1.7, 0.6, -0.4])

    def broken(a, b):
        out = a * b
        out._rule = _with_wrong_second_slope(out._rule)
        return out

    with pytest.raises(GradcheckError, match=r"input 1 \(x = 3.0\): backward\(\) gives 4.0, finite"):
        gradcheck(broken, [2.0, 3.0])
    with pytest.raises(ValueError, match="eps"):
        gradcheck(lambda a: a, [1.0], eps=0)


def _with_wrong_second_slope(rule):
    from micrograd.ops import Op

    return Op("mul", "*", rule.value, lambda m, g, out, x, y: (g * y, g * (x + 2)), 2)


def test_topological_order_puts_every_value_after_its_inputs_once():
    from micrograd.engine import topological_order

    a, b = Value(1.0, label="a"), Value(2.0, label="b")
    c = a * b
    d = c + a
    e = d.tanh() + c
    order = topological_order([e, d])
    assert len(order) == len({id(v) for v in order}) == 6  # a, b, c, d, tanh(d), e; no repeats
    position = {id(v): i for i, v in enumerate(order)}
    for v in order:
        assert all(position[id(u)] < position[id(v)] for u in v._prev)
    # The same on every run: a node's inputs last to first (the order in which the original demo's
    # gradients summed to its printed numbers, which tests/test_demo.py checks to the last digit).
    assert order[:3] == [b, a, c]
    chain = a
    for _ in range(100_000):
        chain = chain + 1.0
    assert len(topological_order([chain])) == 200_001  # no recursion limit


def test_errors_about_ops_of_many_inputs_stay_short():
    with pytest.raises(OverflowError) as error:
        total([Value(1e308)] * 300)
    message = str(error.value)
    assert message.startswith("sum(1e+308, 1e+308, 1e+308, 1e+308, ... 295 more, 1e+308) overflows")
    assert len(message) < 150


@pytest.mark.parametrize(
    "make, at, error, where",
    [
        # d/dw of (w * 1e160) ** 2 is 2e310 at w = 1e-10: the mul hands the leaf inf.
        (lambda w: (w * 1e160) ** 2, 1e-10, OverflowError, r"1e-10 \* 1e\+160"),
        (lambda w: w.log(), 5e-324, OverflowError, r"log\(5e-324\)"),  # 1 / 5e-324
        (lambda w: 0.5 / w, 1e-308, OverflowError, r"0.5 / 1e-308"),  # -0.5 / 1e-308**2
        (lambda w: w / w, 5e-324, OverflowError, r"5e-324 / 5e-324"),  # inf - inf: nan
    ],
)
def test_a_leaf_gradient_that_is_not_finite_stops_backward_at_the_op(make, at, error, where):
    w = Value(at)
    out = make(w)
    with pytest.raises(error, match=rf"backward\(\) stopped at {where}: its derivative is not finite"):
        out.backward()


def test_backward_checks_its_seed_like_any_number_argument():
    x = Value(2.0)
    with pytest.raises(TypeError, match="grad"):
        (x * x).backward(grad="1")
    for bad in (math.nan, math.inf, -math.inf):
        with pytest.raises(ValueError, match="grad must be a finite number"):
            (x * x).backward(grad=bad)
    assert x.grad == 0.0  # refused before anything was added
    (x * x).backward(grad=np.float64(0.5))
    assert x.grad == 2.0 and type(x.grad) is float
    with pytest.raises(ZeroDivisionError, match=r"sqrt\(0.0\)"):
        Value(0.0).sqrt().backward(grad=np.float64(1.0))  # a NumPy seed must not turn this into inf
