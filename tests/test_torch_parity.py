"""Every op, value and gradient, against PyTorch in float64: at ordinary points and at the edges."""

import math

import pytest
import torch
import torch.nn.functional as F

from micrograd import Value, dot, total

REL = 1e-12


def close(ours: float, theirs: float) -> bool:
    return math.isclose(ours, theirs, rel_tol=REL, abs_tol=1e-300)


def torch_leaf(x: float) -> torch.Tensor:
    return torch.tensor(x, dtype=torch.float64, requires_grad=True)


UNARY = {
    "neg": (lambda v: -v, lambda t: -t),
    "exp": (lambda v: v.exp(), torch.exp),
    "log": (lambda v: v.log(), torch.log),
    "sqrt": (lambda v: v.sqrt(), torch.sqrt),
    "tanh": (lambda v: v.tanh(), torch.tanh),
    "sigmoid": (lambda v: v.sigmoid(), torch.sigmoid),
    "relu": (lambda v: v.relu(), torch.relu),
    "abs": (lambda v: abs(v), torch.abs),
    "softplus": (lambda v: v.softplus(), lambda t: F.softplus(t, threshold=1000.0)),
    "sin": (lambda v: v.sin(), torch.sin),
    "cos": (lambda v: v.cos(), torch.cos),
    "square": (lambda v: v**2, lambda t: t**2),
    "cube": (lambda v: v**3, lambda t: t**3),
    "inverse": (lambda v: v**-1, lambda t: t**-1),
    "root": (lambda v: v**0.5, lambda t: t**0.5),
    "power 2.7": (lambda v: v**2.7, lambda t: t**2.7),
    "zeroth power": (lambda v: v**0, lambda t: t**0),
    "2 ** x": (lambda v: 2**v, lambda t: 2**t),
    "0.3 ** x": (lambda v: 0.3**v, lambda t: 0.3**t),
    "0 ** x": (lambda v: 0.0**v, lambda t: 0.0**t),
    "3 - x": (lambda v: 3 - v, lambda t: 3 - t),
    "3 / x": (lambda v: 3 / v, lambda t: 3 / t),
    "x / 3": (lambda v: v / 3, lambda t: t / 3),
    "x + 3": (lambda v: v + 3, lambda t: t + 3),
    "3 * x": (lambda v: 3 * v, lambda t: 3 * t),
}

EVERYWHERE = [-700.0, -20.0, -3.7, -1.0, -0.5, -1e-8, 0.0, 1e-8, 0.3, 1.0, 2.5, 20.0, 700.0]
POSITIVE = [1e-8, 0.3, 1.0, 2.5, 20.0, 700.0]
DOMAIN = {
    "log": POSITIVE,
    "sqrt": POSITIVE,
    "root": POSITIVE,
    "power 2.7": [0.0, 1e-8, 0.3, 1.0, 2.5, 20.0],
    "inverse": [x for x in EVERYWHERE if x != 0.0],
    "3 / x": [x for x in EVERYWHERE if x != 0.0],
    "0 ** x": [1e-8, 0.3, 1.0, 2.5, 20.0],
    "exp": [-700.0, -20.0, -1.0, 0.0, 1.0, 20.0, 700.0],
    "2 ** x": [-700.0, -20.0, -1.0, 0.0, 1.0, 20.0, 700.0],
    "0.3 ** x": [-500.0, -20.0, -1.0, 0.0, 1.0, 20.0, 500.0],
    "cube": [-20.0, -1.0, 0.0, 0.3, 2.5, 20.0, 1e100],
    "square": [-1e150, -20.0, -1.0, 0.0, 0.3, 2.5, 20.0],
}


def unary_cases():
    for name, (ours, theirs) in UNARY.items():
        for x in DOMAIN.get(name, EVERYWHERE):
            yield pytest.param(ours, theirs, x, id=f"{name}@{x}")


@pytest.mark.parametrize("ours, theirs, x", list(unary_cases()))
def test_unary_value_and_gradient(ours, theirs, x):
    v = Value(x)
    out = ours(v)
    out.backward()
    t = torch_leaf(x)
    expected = theirs(t)
    expected.backward()
    assert close(out.data, expected.item()), (out.data, expected.item())
    assert close(v.grad, t.grad.item()), (v.grad, t.grad.item())


BINARY = {
    "+": lambda a, b: a + b,
    "-": lambda a, b: a - b,
    "*": lambda a, b: a * b,
    "/": lambda a, b: a / b,
    "**": lambda a, b: a**b,
}
PAIRS = [(3.0, -4.0), (-2.5, 0.5), (0.1, 7.0), (1e-3, 1e3), (0.0, 2.0), (-1.5, -1.5)]
POWER_PAIRS = [(3.0, -4.0), (0.1, 7.0), (2.5, 0.5), (0.0, 2.0), (0.0, 0.0), (7.0, 0.0), (1.5, -1.5)]


def binary_cases():
    for name, op in BINARY.items():
        for x, y in POWER_PAIRS if name == "**" else PAIRS:
            if name == "/" and y == 0:
                continue
            yield pytest.param(op, x, y, id=f"{x}{name}{y}")


@pytest.mark.parametrize("op, x, y", list(binary_cases()))
def test_binary_value_and_gradients(op, x, y):
    a, b = Value(x), Value(y)
    out = op(a, b)
    out.backward()
    ta, tb = torch_leaf(x), torch_leaf(y)
    expected = op(ta, tb)
    expected.backward()
    assert close(out.data, expected.item())
    assert close(a.grad, ta.grad.item()), (a.grad, ta.grad.item())
    assert close(b.grad, tb.grad.item()), (b.grad, tb.grad.item())


def test_relu_and_abs_at_zero_follow_pytorch():
    for ours, theirs in [(lambda v: v.relu(), torch.relu), (abs, torch.abs)]:
        v, t = Value(0.0), torch_leaf(0.0)
        ours(v).backward()
        theirs(t).backward()
        assert v.grad == t.grad.item() == 0.0


def test_total_and_dot_against_pytorch():
    xs = [0.3, -1.2, 2.5, 0.7]
    ws = [1.5, -0.25, 0.125, 3.0]
    vx, vw = [Value(x) for x in xs], [Value(w) for w in ws]
    out = dot(vw, vx) + total(vx).tanh()
    out.backward()
    tx = torch.tensor(xs, dtype=torch.float64, requires_grad=True)
    tw = torch.tensor(ws, dtype=torch.float64, requires_grad=True)
    expected = (tw * tx).sum() + tx.sum().tanh()
    expected.backward()
    assert close(out.data, expected.item())
    assert all(close(v.grad, g) for v, g in zip(vx, tx.grad.tolist()))
    assert all(close(v.grad, g) for v, g in zip(vw, tw.grad.tolist()))


def test_lesson_neuron_matches_the_lessons_pytorch_printout():
    # The lesson's PyTorch cell prints these for b = 6.8813735870195432.
    x1, x2, w1, w2 = Value(2.0), Value(0.0), Value(-3.0), Value(1.0)
    b = Value(6.8813735870195432)
    o = (x1 * w1 + x2 * w2 + b).tanh()
    o.backward()
    tx1, tx2, tw1, tw2, tb = (torch_leaf(x) for x in (2.0, 0.0, -3.0, 1.0, 6.8813735870195432))
    to = torch.tanh(tx1 * tw1 + tx2 * tw2 + tb)
    to.backward()
    assert close(o.data, to.item())
    for ours, theirs in [(x1, tx1), (w1, tw1), (x2, tx2), (w2, tw2), (b, tb)]:
        assert close(ours.grad, theirs.grad.item())
