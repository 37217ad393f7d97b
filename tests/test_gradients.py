"""micrograd.grad, hessian, hvp and gradgradcheck: second and third derivatives against PyTorch float64.

Every derivative is compared with ``torch.autograd.grad(..., create_graph=True)`` to 1e-9 relative
(1e-12 absolute near zero): of every op of the table, at ordinary points and at the kinks, and of
randomly generated graphs (the generator of test_random_graphs.py).
"""

import math
import random

import pytest
import torch
from hypothesis import HealthCheck, given, settings

from micrograd import GradcheckError, Value, dot, grad, gradcheck, gradgradcheck, hessian, hvp, ops, total
from micrograd.engine import op_method
from micrograd.nn import MLP
from test_random_graphs import OPS, programs, run_program


def agree(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)


def torch_leaf(x: float) -> torch.Tensor:
    return torch.tensor(x, dtype=torch.float64, requires_grad=True)


def ours(out: Value, xs: list[Value], order: int) -> list[float]:
    """Every derivative of ``out`` up to ``order``: the gradient, then each gradient's gradient, ..."""
    found, layer = [], [out]
    for _ in range(order):
        layer = [g for f in layer for g in grad(f, xs, create_graph=True)]
        found += [g.data for g in layer]
    return found


def theirs(out: torch.Tensor, xs: list[torch.Tensor], order: int) -> list[float]:
    """The same with PyTorch; a derivative that no longer depends on the inputs (relu'') is 0."""
    zero = torch.zeros((), dtype=torch.float64)
    found, layer = [], [out]
    for _ in range(order):
        next_layer = []
        for f in layer:
            if f.requires_grad:
                gs = torch.autograd.grad(f, xs, create_graph=True, allow_unused=True)
                next_layer += [zero if g is None else g for g in gs]
            else:
                next_layer += [zero] * len(xs)
        layer = next_layer
        found += [g.item() for g in layer]
    return found


def assert_agree(got: list[float], expected: list[float]):
    assert len(got) == len(expected)
    for i, (a, b) in enumerate(zip(got, expected)):
        assert agree(a, b), (i, a, b, got, expected)


# -- every op, to the third derivative ----------------------------------------------------------

POINTS = [-2.3, -0.7, 0.0, 0.4, 1.9]


@pytest.mark.parametrize("name", sorted(OPS))
def test_third_derivatives_of_every_op_match_pytorch(name):
    arity, mine, torchs, allowed = OPS[name]
    rng = random.Random(name)
    compared = 0
    for _ in range(12):
        xs = [rng.choice(POINTS) + rng.choice([0.0, 0.31]) for _ in range(arity)]
        if not allowed(xs[0], xs[-1]):
            continue
        leaves, t_leaves = [Value(x) for x in xs], [torch_leaf(x) for x in xs]
        assert_agree(ours(mine(*leaves), leaves, 3), theirs(torchs(*t_leaves), t_leaves, 3))
        compared += 1
    assert compared >= 3


def test_the_sign_op_is_a_mask_with_zero_derivative():
    x = Value(-1.5)
    s = x.sign()
    assert s.data == -1.0 and Value(0.0).sign().data == 0.0 and Value(2.0).sign().data == 1.0
    assert grad(s, [x])[0].data == 0.0
    t = torch_leaf(-1.5)
    assert theirs(torch.sign(t), [t], 1) == [0.0]


@pytest.mark.parametrize(
    "name, fn, torch_fn",
    [
        ("relu", lambda v: v.relu(), torch.relu),
        ("abs", abs, torch.abs),
        ("x**2", lambda v: v**2, lambda v: v**2),
        ("x**3", lambda v: v**3, lambda v: v**3),
        ("x**1", lambda v: v**1, lambda v: v**1),
        ("x**0", lambda v: v**0, lambda v: v**0),
        ("x**y at y = 2", lambda v: v ** Value(2.0), lambda v: v ** torch.tensor(2.0, dtype=torch.float64)),
        ("sqrt(x*x + 1)", lambda v: (v * v + 1.0).sqrt(), lambda v: (v * v + 1.0).sqrt()),
        ("softplus", lambda v: v.softplus(), torch.nn.functional.softplus),
        ("sigmoid", lambda v: v.sigmoid(), torch.sigmoid),
        ("x * relu(x)", lambda v: v * v.relu(), lambda v: v * torch.relu(v)),
    ],
)
def test_derivatives_at_zero_follow_pytorch_at_the_kinks(name, fn, torch_fn):
    x, t = Value(0.0), torch_leaf(0.0)
    assert_agree(ours(fn(x), [x], 3), theirs(torch_fn(t), [t], 3))


def test_the_power_rule_at_zero_by_hand():
    # d/dx x**3 = 3x**2, d2 = 6x, d3 = 6: at 0 that is 0, 0, 6 (0**0 = 1 in the last step).
    x = Value(0.0)
    assert ours(x**3, [x], 3) == [0.0, 0.0, 6.0]


# -- random graphs ------------------------------------------------------------------------------

@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(programs())
def test_second_and_third_derivatives_of_random_graphs_match_pytorch(program):
    leaves, steps, tail = program
    out, inputs = run_program(leaves, steps, tail, Value)
    t_out, t_inputs = run_program(leaves, steps, tail, torch_leaf)
    assert_agree(ours(out, inputs, 3), theirs(t_out, t_inputs, 3))


# -- what grad promises -------------------------------------------------------------------------

def test_grad_leaves_every_grad_untouched_and_matches_backward():
    x, y = Value(0.5), Value(-1.2)
    x.grad, y.grad = 7.0, -3.0
    z = (x * y).tanh() + x.exp() * y
    gx, gy = grad(z, [x, y])
    assert (x.grad, y.grad, z.grad) == (7.0, -3.0, 0.0)
    x.grad = y.grad = 0.0
    z.backward()
    assert (gx.data, gy.data) == (x.grad, y.grad)


def test_without_create_graph_the_gradients_are_leaves():
    x = Value(3.0)
    (g,) = grad(x * x, [x])
    assert g.data == 6.0 and g._prev == () and g._op == ""


def test_with_create_graph_the_gradient_is_a_graph_that_backward_differentiates():
    x = Value(3.0)
    (g,) = grad(x**3, [x], create_graph=True)  # 3x**2 = 27
    g.backward()
    assert g.data == 27.0 and x.grad == 18.0  # 6x


def test_an_input_the_output_does_not_depend_on_gets_zero():
    x, y = Value(1.0), Value(2.0)
    for create_graph in (False, True):
        gx, gy = grad(x * 3.0, [x, y], create_graph=create_graph)
        assert (gx.data, gy.data) == (3.0, 0.0)
    assert [g.data for g in grad(x, [x, y])] == [1.0, 0.0]


def test_grad_output_seeds_the_output_gradient_and_inputs_may_be_inner_nodes():
    x = Value(2.0)
    h = x * x
    y = h.log()
    gh, gx = grad(y, [h, x], grad_output=3.0)
    assert gh.data == pytest.approx(3.0 / 4.0) and gx.data == pytest.approx(3.0 * 2.0 / 2.0)
    seed = Value(2.0)
    (gx,) = grad(x * x, [x], create_graph=True, grad_output=seed)
    assert gx.data == 8.0 and grad(gx, [seed])[0].data == 4.0  # the seed is part of the graph


def test_grad_checks_its_arguments():
    x = Value(1.0)
    with pytest.raises(TypeError, match="output must be a Value"):
        grad(1.0, [x])
    with pytest.raises(TypeError, match=r"inputs\[1\] must be a Value"):
        grad(x * 2, [x, 2.0])
    with pytest.raises(TypeError, match="inputs must be a list of Values"):
        grad(x * 2, x)
    with pytest.raises(ValueError, match="grad_output must be a finite number"):
        grad(x * 2, [x], grad_output=math.nan)


def test_a_node_built_the_lessons_way_is_refused_by_name():
    x = Value(1.0)
    out = Value(math.exp(2 * x.data), (x,), "exp2")

    def _backward():
        x.grad += 2 * out.data * out.grad

    out._backward = _backward
    with pytest.raises(ValueError, match="'exp2'.*no rule"):
        grad(out * 3.0, [x])


def test_a_derivative_that_is_not_finite_names_the_op():
    x = Value(0.0)
    with pytest.raises(ZeroDivisionError, match=r"sqrt\(0.0\)"):
        grad(x.sqrt(), [x])
    with pytest.raises(ZeroDivisionError, match=r"sqrt\(0.0\)"):
        grad(x.sqrt(), [x], create_graph=True)


# -- Hessians of the lesson's neuron and of a small network -----------------------------------

NEURON = [2.0, 0.0, -3.0, 1.0, 6.8813735870195432]  # x1, x2, w1, w2, b


def neuron(x1, x2, w1, w2, b):
    return (x1 * w1 + x2 * w2 + b).tanh()


def assert_matrix_agrees(got, expected):
    assert len(got) == len(expected)
    for row, t_row in zip(got, expected.tolist()):
        assert_agree(row, t_row)


def test_hessian_of_the_lessons_neuron_matches_pytorch():
    expected = torch.autograd.functional.hessian(
        lambda p: neuron(*p), torch.tensor(NEURON, dtype=torch.float64)
    )
    assert_matrix_agrees(hessian(neuron, NEURON), expected)


def small_mlp_loss(*p):
    """A 2-3-1 tanh network's mean squared error on four points, as a function of its 13 parameters."""
    xs, ys = [(0.5, -1.0), (-0.3, 0.8), (1.2, 0.1), (0.0, 0.0)], [1.0, -1.0, 0.5, 0.0]
    loss = 0.0
    for (a, b), y in zip(xs, ys):
        hidden = [(p[2 * j] * a + p[2 * j + 1] * b + p[6 + j]).tanh() for j in range(3)]
        score = hidden[0] * p[9] + hidden[1] * p[10] + hidden[2] * p[11] + p[12]
        loss = loss + (score - y) ** 2
    return loss * 0.25


def test_hessian_of_a_small_mlp_loss_matches_pytorch():
    params = [round(random.Random(5).uniform(-1, 1) + 0.1 * i, 3) for i in range(13)]
    expected = torch.autograd.functional.hessian(
        lambda p: small_mlp_loss(*p), torch.tensor(params, dtype=torch.float64)
    )
    assert_matrix_agrees(hessian(small_mlp_loss, params), expected)
    assert gradgradcheck(small_mlp_loss, params)


def test_hvp_of_the_moons_mlp_matches_pytorch():
    model = MLP(2, [16, 16, 1], seed=1)
    params = [p.data for p in model.parameters()]
    rng = random.Random(2)
    points = [(rng.uniform(-1.5, 2.5), rng.uniform(-1, 1.5)) for _ in range(20)]
    labels = [rng.choice([-1.0, 1.0]) for _ in points]
    vector = [rng.uniform(-1, 1) for _ in params]

    def loss(*p):
        layers, at = [], 0
        for nin, nout in ((2, 16), (16, 16), (16, 1)):
            w = [p[at + k * (nin + 1) : at + k * (nin + 1) + nin] for k in range(nout)]
            b = [p[at + k * (nin + 1) + nin] for k in range(nout)]
            layers.append((w, b))
            at += nout * (nin + 1)
        total_loss = 0.0
        for (a, c), y in zip(points, labels):
            h = [a, c]
            for depth, (w, b) in enumerate(layers):
                h = [sum((wi * hi for wi, hi in zip(row, h)), bias) for row, bias in zip(w, b)]
                if depth < 2:
                    h = [v.relu() for v in h]
            total_loss = total_loss + (1.0 - y * h[0]).relu()
        return total_loss * (1.0 / len(points))

    # the flat layout above is the model's own (each neuron's weights, then its bias)
    by_model = sum((1.0 - y * model(x)).relu().data for x, y in zip(points, labels)) / len(points)
    assert math.isclose(loss(*model.parameters()).data, by_model, rel_tol=1e-12)
    _, expected = torch.autograd.functional.hvp(
        lambda p: loss(*p), torch.tensor(params, dtype=torch.float64), torch.tensor(vector, dtype=torch.float64)
    )
    assert_agree(hvp(loss, params, vector), expected.tolist())


def test_hessian_and_hvp_check_their_arguments():
    with pytest.raises(TypeError, match=r"hessian: fn\(\*inputs\) must be a Value, got float"):
        hessian(lambda x: 1.0, [1.0])
    with pytest.raises(ValueError, match="hessian: inputs must hold at least 1 number, got 0"):
        hessian(lambda: Value(1.0), [])
    with pytest.raises(TypeError, match="hvp: inputs must be a list of numbers, got float"):
        hvp(lambda x: x * x, 1.0, [1.0])
    with pytest.raises(ValueError, match="hvp: vector must hold 2 numbers, one per input, got 1"):
        hvp(lambda x, y: x * y, [1.0, 2.0], [1.0])
    with pytest.raises(ValueError, match=r"hvp: inputs\[0\] must be a finite number"):
        hvp(lambda x: x * x, [math.inf], [1.0])


def test_hvp_is_the_hessian_times_the_vector():
    fn = lambda a, b, c: (a * b).sin() * c + (a + c).exp() / (b * b + 1.0)  # noqa: E731
    point, vector = [0.3, -0.8, 1.1], [0.5, 2.0, -1.0]
    matrix = hessian(fn, point)
    product = [sum(h * v for h, v in zip(row, vector)) for row in matrix]
    for a, b in zip(hvp(fn, point, vector), product):
        assert math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-12)


# -- gradgradcheck ------------------------------------------------------------------------------

def test_gradgradcheck_passes_every_op_at_an_ordinary_point():
    fn = lambda a, b: (a * b).tanh() + a.relu() * b**3 + a.softplus() * b.sigmoid() + (a * a + 1) ** b  # noqa: E731
    assert gradgradcheck(fn, [0.3, -0.7])
    assert gradgradcheck(lambda a, b: abs(a).log() - (b / a).cos() + total([a, b]).sin() + dot([a], [b]), [0.9, 0.4])


def test_gradgradcheck_catches_a_rule_that_takes_a_number_from_data():
    # x**3 whose derivative 3x**2 is right as a number but built from x.data: a constant to grad,
    # so its second derivative comes out 0 instead of 6x. gradcheck cannot see it; gradgradcheck does.
    def vjp(m, g, out, x):
        return (g * 3.0 * getattr(x, "data", x) ** 2,)

    cube = op_method(ops.Op("cube", "cube", lambda m, x: x * x * x, vjp, 1))
    assert gradcheck(cube, [0.7])
    with pytest.raises(GradcheckError, match=r"d2/dx0dx0.*grad of grad gives 0\.0"):
        gradgradcheck(cube, [0.7])


# -- a gradient inside a compiled per-sample function -------------------------------------------

def test_a_gradient_penalty_through_a_relu_network_compiles_and_equals_eager_mode():
    import numpy as np

    from micrograd.compile import compile

    model = MLP(2, [8, 8, 1], seed=3)
    params = model.parameters()

    def penalized(x, y):  # hinge loss + (|d score / d x|^2 - 1)^2: relu's masks differ sample by sample
        score = model(x)
        slopes = grad(score, x, create_graph=True)
        return (1.0 - y * score).relu() + 0.1 * (total([s * s for s in slopes]) - 1.0) ** 2

    def input_gradient_norm(x, y):
        return total([s * s for s in grad(model(x).tanh() * y, x, create_graph=True)]).sqrt()

    rng = np.random.default_rng(0)
    X = rng.uniform(-1, 1, (20, 2))
    Y = np.where(X[:, 0] * X[:, 1] > 0, 1.0, -1.0)
    for fn in (penalized, input_gradient_norm):
        program = compile(fn, params, example=([0.3, -0.2], 1.0))
        for p in params:
            p.grad = 0.0
        program(X, Y)
        compiled = [p.grad for p in params]
        per_sample = program.forward(X, Y)
        for p in params:
            p.grad = 0.0
        for i, (x, y) in enumerate(zip(X.tolist(), Y.tolist())):
            out = fn([Value(v) for v in x], y)
            assert math.isclose(per_sample[i], out.data, rel_tol=1e-12, abs_tol=1e-12), (i, per_sample[i], out.data)
            (out * (1.0 / len(X))).backward()
        for p, g in zip(params, compiled):
            assert math.isclose(g, p.grad, rel_tol=1e-12, abs_tol=1e-12), (g, p.grad)
