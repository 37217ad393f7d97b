"""Thousands of random expression graphs over every op, compared with PyTorch in float64.

Hypothesis draws a program: leaves, then steps that each apply an op to earlier results (so
sub-expressions are reused), then a sum of the last few. The same program runs in micrograd and
in PyTorch; the output and every leaf's gradient must agree to 1e-9 relative.
"""

import math

import torch
import torch.nn.functional as F
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from micrograd import Value, dot, total

GRAPHS_COMPARED = [0]


def RUN_SUMMARY():  # conftest.py prints this at the end of the run
    return [f"random graphs compared with PyTorch: {GRAPHS_COMPARED[0]}"] if GRAPHS_COMPARED[0] else []

# name: (arity, micrograd, torch, allowed(x, y)) -- allowed keeps inputs inside the domain, and away
# from the points where a derivative is infinite, so that both libraries compute a finite answer.
OPS = {
    "+": (2, lambda a, b: a + b, lambda a, b: a + b, lambda x, y: True),
    "-": (2, lambda a, b: a - b, lambda a, b: a - b, lambda x, y: True),
    "*": (2, lambda a, b: a * b, lambda a, b: a * b, lambda x, y: True),
    "/": (2, lambda a, b: a / b, lambda a, b: a / b, lambda x, y: abs(y) > 0.1),
    "**": (2, lambda a, b: a**b, lambda a, b: a**b, lambda x, y: 0.1 < x < 10 and abs(y) < 3),
    "**2": (1, lambda a: a**2, lambda a: a**2, lambda x, y: True),
    "**-1": (1, lambda a: a**-1, lambda a: a**-1, lambda x, y: abs(x) > 0.1),
    "**1.5": (1, lambda a: a**1.5, lambda a: a**1.5, lambda x, y: x > 0.1),
    "2**": (1, lambda a: 2**a, lambda a: 2**a, lambda x, y: abs(x) < 20),
    "c-": (1, lambda a: 1.5 - a, lambda a: 1.5 - a, lambda x, y: True),
    "c/": (1, lambda a: 1.5 / a, lambda a: 1.5 / a, lambda x, y: abs(x) > 0.1),
    "c*": (1, lambda a: 0.7 * a, lambda a: 0.7 * a, lambda x, y: True),
    "neg": (1, lambda a: -a, lambda a: -a, lambda x, y: True),
    "exp": (1, lambda a: a.exp(), torch.exp, lambda x, y: x < 10),
    "log": (1, lambda a: a.log(), torch.log, lambda x, y: x > 0.1),
    "sqrt": (1, lambda a: a.sqrt(), torch.sqrt, lambda x, y: x > 0.1),
    "tanh": (1, lambda a: a.tanh(), torch.tanh, lambda x, y: True),
    "sigmoid": (1, lambda a: a.sigmoid(), torch.sigmoid, lambda x, y: True),
    "relu": (1, lambda a: a.relu(), torch.relu, lambda x, y: True),
    "abs": (1, lambda a: abs(a), torch.abs, lambda x, y: True),
    "softplus": (1, lambda a: a.softplus(), lambda a: F.softplus(a, threshold=1000.0), lambda x, y: True),
    "sin": (1, lambda a: a.sin(), torch.sin, lambda x, y: True),
    "cos": (1, lambda a: a.cos(), torch.cos, lambda x, y: True),
    "sign": (1, lambda a: a.sign(), torch.sign, lambda x, y: True),
    "total": (3, lambda *a: total(a), lambda *a: torch.stack(a).sum(), lambda x, y: True),
    "dot": (4, lambda a, b, c, d: dot([a, b], [c, d]), lambda a, b, c, d: a * c + b * d, lambda x, y: True),
}
NAMES = sorted(OPS)
LIMIT = 1e4  # keep magnitudes where float64 keeps 1e-9 relative agreement through cancellation


@st.composite
def programs(draw):
    leaves = draw(st.lists(st.floats(-3, 3, allow_nan=False).map(lambda x: round(x, 3)), min_size=1, max_size=5))
    values = list(leaves)  # plain-float shadow of the program, to keep each op in its domain
    steps = []
    for _ in range(draw(st.integers(1, 25))):
        name = draw(st.sampled_from(NAMES))
        arity, _, _, allowed = OPS[name]
        args = [draw(st.integers(0, len(values) - 1)) for _ in range(arity)]
        x, y = values[args[0]], values[args[-1]]
        if not allowed(x, y):
            name, args = "+", [args[0], args[-1]]
        result = _shadow(name, [values[i] for i in args])
        if result is None or not abs(result) < LIMIT:
            continue
        steps.append((name, args))
        values.append(result)
    tail = draw(st.integers(1, 3))
    return leaves, steps, tail


def _shadow(name, xs):
    try:
        return run_program(xs, [(name, list(range(len(xs))))], 1, Value)[0].data
    except (ArithmeticError, ValueError):
        return None


def run_program(leaves, steps, tail, make_leaf):
    nodes = [make_leaf(x) for x in leaves]
    inputs = list(nodes)
    use_torch = not isinstance(nodes[0], Value)
    for name, args in steps:
        _, ours, theirs, _ = OPS[name]
        nodes.append((theirs if use_torch else ours)(*[nodes[i] for i in args]))
    out = nodes[-1]
    for node in nodes[-tail:-1]:
        out = out + node
    return out, inputs


def agree(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)


@settings(max_examples=3000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(programs())
def test_random_graphs_match_pytorch(program):
    leaves, steps, tail = program
    out, inputs = run_program(leaves, steps, tail, Value)
    out.backward()
    t_out, t_inputs = run_program(
        leaves, steps, tail, lambda x: torch.tensor(x, dtype=torch.float64, requires_grad=True)
    )
    t_out.backward()
    GRAPHS_COMPARED[0] += 1
    assert agree(out.data, t_out.item()), (out.data, t_out.item())
    for v, t in zip(inputs, t_inputs):
        expected = 0.0 if t.grad is None else t.grad.item()
        assert agree(v.grad, expected), (v.grad, expected)
