"""The compiled path against eager mode: the same losses and gradients (to 1e-12) on random graphs
over every op, on the demo models and through whole training runs; the grouping that keeps a step's
NumPy calls independent of the width of the layers; eager's errors; data-dependent graphs refused.

Eager mode is the independent reference here: it is tested against PyTorch and the lesson's
numbers elsewhere (test_engine.py, test_torch_parity.py, test_random_graphs.py).
"""

import math
import random
import sys

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from micrograd import Value, dot, losses, ops, total
from micrograd.compile import fast, reference
from micrograd.compile import (
    DataDependentGraphError,
    Instruction,
    compile,
    one_hot,
)
from micrograd.losses import SAMPLE_LOSSES
from micrograd.nn import MLP
from micrograd.optim import SGD, Adam, LinearDecay
from micrograd.train import compile_loss

TOLERANCE = 1e-12
GRAPHS_COMPARED = [0]


def RUN_SUMMARY():  # conftest.py prints this at the end of the run
    lines = []
    if GRAPHS_COMPARED[0]:
        lines.append(f"random graphs compiled and compared with eager mode: {GRAPHS_COMPARED[0]}")
    if REFERENCE_COMPARED[0]:
        lines.append(f"random programs run by the fast executor and the reference interpreter: {REFERENCE_COMPARED[0]}")
    return lines


def assert_close(actual, expected, what="values", terms=0.0):
    """Equal to 1e-12 relative to the largest expected magnitude, or to ``terms``, the size of the
    terms summed into it: a mean or gradient that is the small difference of large terms cannot be
    asked for more than its terms' rounding."""
    actual, expected = np.asarray(actual, dtype=float), np.asarray(expected, dtype=float)
    assert actual.shape == expected.shape, (what, actual.shape, expected.shape)
    scale = max(float(np.max(np.abs(expected), initial=0.0)), terms, 1e-300)
    error = float(np.max(np.abs(actual - expected), initial=0.0)) / scale
    assert error <= TOLERANCE, f"{what}: relative difference {error:.3g}\n{actual}\n{expected}"


def eager_mean_and_grads(fn, params, batch):
    """Eager mode on every sample, averaged as the lesson does it: one graph, one backward."""
    for p in params:
        p.grad = 0.0
    outs = [fn(*[[Value(x) for x in arg] if isinstance(arg, list) else Value(arg) for arg in sample]) for sample in batch]
    mean = total(outs) / len(outs)
    mean.backward()
    grads = [p.grad for p in params]
    for p in params:
        p.grad = 0.0
    return mean.data, grads


def compiled_mean_and_grads(program, params, columns, reduction="mean"):
    for p in params:
        p.grad = 0.0
    loss = program(*columns, reduction=reduction)
    grads = [p.grad for p in params]
    for p in params:
        p.grad = 0.0
    return loss, grads


def samples_of(columns):
    """Batch columns (one array per argument) as a list of per-sample argument tuples."""
    rows = [c.tolist() for c in columns]
    return list(zip(*rows))


def assert_matches_eager(fn, params, columns):
    """Compile ``fn`` (traced on the first sample), run the batch both ways, compare the mean
    loss and every parameter's gradient; return the program."""
    program = compile(fn, params, example=tuple(column[0].tolist() for column in columns))
    loss, grads = compiled_mean_and_grads(program, params, columns)
    samples = samples_of(columns)
    expected_loss, expected_grads = eager_mean_and_grads(fn, params, samples)
    # The size of the terms the mean sums: each sample's loss and gradients, in eager mode.
    terms = [eager_mean_and_grads(fn, params, [sample]) for sample in samples]
    assert_close(loss, expected_loss, "loss", terms=float(np.mean([abs(t[0]) for t in terms])))
    grad_terms = float(np.max(np.mean([np.abs(t[1]) for t in terms], axis=0), initial=0.0))
    assert_close(grads, expected_grads, "parameter gradients", terms=grad_terms)
    return program


# -- random graphs over every op ---------------------------------------------------------------

# Every op of the table, each wrapped so that any real input is inside its domain: a drawn program
# has one graph for every sample, and must be valid for all of them.
SAFE_OPS = {
    "add": (2, lambda a, b: a + b),
    "sub": (2, lambda a, b: a - b),
    "mul": (2, lambda a, b: a * b),
    "div": (2, lambda a, b: a / (b * b + 1.0)),
    "neg": (1, lambda a: -a),
    "pow": (2, lambda a, b: (a * a + 0.5) ** b.tanh()),
    "pow_const_exp": (1, lambda a: (a * a + 0.5) ** 1.5),
    "pow_int": (1, lambda a: a**2),
    "pow_negative": (1, lambda a: (a * a + 0.3) ** -1),
    "pow_const_base": (1, lambda a: 2.0 ** a.tanh()),
    "exp": (1, lambda a: a.tanh().exp()),
    "log": (1, lambda a: (a * a + 0.5).log()),
    "sqrt": (1, lambda a: (a * a + 0.1).sqrt()),
    "tanh": (1, lambda a: a.tanh()),
    "sigmoid": (1, lambda a: a.sigmoid()),
    "relu": (1, lambda a: a.relu()),
    "abs": (1, lambda a: abs(a)),
    "softplus": (1, lambda a: a.softplus()),
    "sin": (1, lambda a: a.sin()),
    "cos": (1, lambda a: a.cos()),
    "sign": (1, lambda a: a.sign() * a),
    "sum": (3, lambda a, b, c: total([a, b, c])),
    "dot": (4, lambda a, b, c, d: dot([a, b], [c, d])),
}


def test_safe_ops_cover_the_whole_op_table():
    x, y = Value(0.3), Value(-0.7)
    used = set()
    for arity, make in SAFE_OPS.values():
        out = make(*([x, y, x, y][:arity]))
        stack = [out]
        while stack:
            node = stack.pop()
            if node._rule is not None:
                used.add(node._rule.name)
                stack.extend(node._prev)
    assert used == set(ops.OPS)


def replay(steps, tail, x, y, params):
    """The per-sample function of a drawn program: nodes are the inputs, then the parameters."""
    nodes = list(x) + [y] + list(params)
    for name, args in steps:
        nodes.append(SAFE_OPS[name][1](*[nodes[i] for i in args]))
    return total(nodes[-tail:]).sin()  # a bounded output keeps the comparison relative


def well_conditioned(out: Value) -> bool:
    """No tanh or sigmoid in ``out``'s graph sits where its slope, 1 - t*t or s*(1 - s), cancels to
    below 1e-3: there the last bit of t, in which NumPy's and the C library's tanh may differ,
    would be amplified a thousandfold. A property of the formula, not of the compiler."""
    stack = [out]
    while stack:
        node = stack.pop()
        if node._op in ("tanh", "sigmoid") and abs(node.data) > 0.999:
            return False
        stack.extend(node._prev)
    return True


def cancels(a, b, c, d) -> bool:
    """Whether ``dot([a, b], [c, d])`` is near 0 against its terms. NumPy's dot may fuse a multiply
    and an add (one rounding where eager mode has two), which a cancellation magnifies beyond any
    relative comparison of the result: a property of the formula, not of the compiler."""
    terms = abs(a * c) + abs(b * d)
    return terms > 0 and abs(a * c + b * d) < 1e-6 * terms


@st.composite
def compiled_programs(draw):
    number = st.floats(-2, 2, allow_nan=False).map(lambda v: round(v, 3))
    batch = draw(st.integers(1, 6))
    X = [draw(st.lists(number, min_size=3, max_size=3)) for _ in range(batch)]
    Y = [draw(number) for _ in range(batch)]
    params = draw(st.lists(number, min_size=1, max_size=4))
    # Each step is kept only if every sample stays well inside float64, so the two modes compare
    # results and not overflow; the program is then fixed, the same graph for every sample.
    shadows = [list(x) + [y] + params for x, y in zip(X, Y)]
    steps = []
    for _ in range(draw(st.integers(1, 25))):
        name = draw(st.sampled_from(sorted(SAFE_OPS)))
        arity, make = SAFE_OPS[name]
        args = [draw(st.integers(0, len(shadows[0]) - 1)) for _ in range(arity)]
        outs = [make(*[Value(s[i]) for i in args]) for s in shadows]
        if max(abs(out.data) for out in outs) > 1e3 or not all(map(well_conditioned, outs)):
            continue
        if name == "dot" and any(cancels(*[s[i] for i in args]) for s in shadows):
            continue
        results = [out.data for out in outs]
        steps.append((name, args))
        for s, r in zip(shadows, results):
            s.append(r)
    tail = draw(st.integers(1, min(3, len(shadows[0]))))
    return X, Y, params, steps, tail


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(compiled_programs())
def test_random_graphs_match_eager_mode(program):
    X, Y, param_data, steps, tail = program
    params = [Value(v) for v in param_data]

    def fn(x, y):
        return replay(steps, tail, x, y, params)

    columns = [np.array(X), np.array(Y)]
    compiled = assert_matches_eager(fn, params, columns)
    GRAPHS_COMPARED[0] += 1
    assert_close(compiled.forward(*columns), [fn(*[[Value(v) for v in x], Value(y)]).data for x, y in zip(X, Y)])


def assert_same_as_reference(program, params, columns, reduction="mean", *, exact_values=True, exact_grads=True):
    """The fast executor's loss, gradients and outputs against the reference interpreter's: bit for
    bit, or to 1e-9 relative (see CONSTANT_EXPONENTS), or, where a level of dots runs as a matrix
    product (which adds in BLAS's order), to 1e-12 relative to the largest number compared."""
    expected_loss, expected_grads, expected_outputs = reference.run(program.ir, [p.data for p in params], columns, reduction)
    loss, grads = compiled_mean_and_grads(program, params, columns, reduction)
    outputs = program.forward(*columns)
    expected_outputs = expected_outputs[:, 0] if outputs.ndim == 1 else expected_outputs
    if matrix_steps(program):
        # A sum in another order moves each result by a few ulps of the largest term that went into
        # it, which may be far larger than the result (terms that cancel): 1e-12 relative to the
        # largest value (and gradient) the program computes, per the reference.
        values = reference.forward(program.ir, [p.data for p in params], columns)
        scale = 1.0 / values.shape[1] if reduction == "mean" else 1.0
        every_grad = reference.backward(program.ir, values, scale)
        largest_value, largest_grad = np.abs(values).max(), np.abs(every_grad).max()
        assert_within_1e12(outputs, expected_outputs, largest_value)
        assert_within_1e12(loss, expected_loss, largest_value)
        assert_within_1e12(grads, expected_grads, largest_grad)
        return
    if exact_values:
        assert np.array_equal(outputs, expected_outputs), (outputs, expected_outputs)
        assert loss == expected_loss
    else:  # 1 ulp in a power, as far as the program's rounding carries it
        np.testing.assert_allclose(outputs, expected_outputs, rtol=1e-9, atol=1e-12)
        assert loss == pytest.approx(expected_loss, rel=1e-9, abs=1e-12)
    if exact_grads:
        assert np.array_equal(grads, expected_grads), (grads, expected_grads)
    else:
        np.testing.assert_allclose(grads, expected_grads, rtol=1e-9, atol=1e-12)


def matrix_steps(program) -> int:
    """How many of the program's levels run as matrix products."""
    return sum(isinstance(step, fast._MatrixStep) for step in program._steps)


def assert_within_1e12(actual, expected, scale: float):
    """Equal to 1e-12 relative to ``scale``, the largest number the computation went through."""
    np.testing.assert_allclose(actual, expected, rtol=1e-12, atol=1e-12 * max(scale, 1e-300))


REFERENCE_COMPARED = [0]
# x ** 2 reads its exponent from a column of constants. The fast executor passes that column as
# (group, 1), and NumPy squares (x * x) when an exponent broadcasts; the reference passes full rows,
# which NumPy's vector pow takes, 1 ulp away at times. Programs with such a power are compared to
# 1e-9 (a cancellation downstream can magnify that ulp), all others bit for bit.
CONSTANT_EXPONENTS = {"pow_const_exp", "pow_int", "pow_negative"}


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(compiled_programs(), st.sampled_from(["mean", "sum"]))
def test_random_programs_run_as_the_reference_interpreter_runs_them(program, reduction):
    X, Y, param_data, steps, tail = program
    params = [Value(v) for v in param_data]
    compiled = compile(lambda x, y: replay(steps, tail, x, y, params), params, example=(X[0], Y[0]))
    exact = not any(name in CONSTANT_EXPONENTS for name, _ in steps)
    assert_same_as_reference(compiled, params, [np.array(X), np.array(Y)], reduction, exact_values=exact, exact_grads=exact)
    REFERENCE_COMPARED[0] += 1


# -- levels of dots as matrix products -----------------------------------------------------------

# A layer of a drawn stack: "dense" (each neuron a dot of its own parameters with the one input
# vector, then a bias) runs as a matrix product; so does "twice" (a square dense layer applied to
# its own output: two levels, one set of weights). The near misses do not: "reordered" (one neuron
# reads the inputs in another order), "constant" (one weight is a constant, not a parameter),
# "repeated" (every neuron reads input 0 twice), "shared" (the layer applied at one level to the
# inputs and to them reversed: each weight read twice).
LAYER_KINDS = {"dense": 1, "twice": 2, "reordered": 0, "constant": 0, "repeated": 0, "shared": 0}


@st.composite
def layered_programs(draw):
    number = st.floats(-1, 1, allow_nan=False).map(lambda v: round(v, 3))
    features, batch = draw(st.integers(1, 5)), draw(st.integers(1, 5))
    X = [draw(st.lists(number, min_size=features, max_size=features)) for _ in range(batch)]
    Y = [draw(number) for _ in range(batch)]
    layers, width = [], features
    for _ in range(draw(st.integers(1, 3))):
        kinds = sorted(LAYER_KINDS) if width > 1 else sorted(set(LAYER_KINDS) - {"reordered"})
        kind = draw(st.sampled_from(kinds))  # a reordered layer needs two inputs, and two neurons:
        out = width if kind == "twice" else draw(st.integers(2 if kind == "reordered" else 1, 5))
        weights = [draw(st.lists(number, min_size=width, max_size=width)) for _ in range(out)]
        activation = draw(st.sampled_from(["tanh", "relu", "none"]))
        layers.append((kind, weights, draw(st.lists(number, min_size=out, max_size=out)), activation))
        width = 2 * out if kind == "shared" else out
    penalty = draw(st.booleans())  # the first weight also in the loss: a parameter read by two steps
    return X, Y, layers, penalty


def layered_model(layers, penalty):
    """(fn, params) for a drawn stack of layers."""
    built, params = [], []
    for kind, weights, biases, activation in layers:
        w = [[Value(v) for v in row] for row in weights]
        b = [Value(v) for v in biases]
        params += [v for row in w for v in row] + b
        if kind == "constant":
            w[0][0] = Value(weights[0][0])  # not among the parameters: the trace folds it in
        built.append((kind, w, b, activation))

    def dense(w, b, activation, x, order=None):
        outs = [dot(row, x if order is None or i else order(x)) + bias for i, (row, bias) in enumerate(zip(w, b))]
        return outs if activation == "none" else [getattr(o, activation)() for o in outs]

    def fn(x, y):
        for kind, w, b, activation in built:
            if kind == "reordered":
                x = dense(w, b, activation, x, order=lambda v: v[::-1])
            elif kind == "repeated":
                x = dense([[row[0]] + row for row in w], b, activation, [x[0]] + x)
            elif kind == "shared":
                x = dense(w, b, activation, x) + dense(w, b, activation, x[::-1])
            else:
                x = dense(w, b, activation, x)
                if kind == "twice":
                    x = dense(w, b, activation, x)
        out = (total(x) * y).sin()
        return out + params[0] * params[0] if penalty else out

    return fn, params


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(layered_programs())
def test_dense_levels_run_as_matrix_products_and_near_misses_do_not(program):
    X, Y, layers, penalty = program
    fn, params = layered_model(layers, penalty)
    columns = [np.array(X), np.array(Y)]
    compiled = assert_matches_eager(fn, params, columns)
    assert matrix_steps(compiled) == sum(LAYER_KINDS[kind] for kind, *_ in layers)
    assert_same_as_reference(compiled, params, columns)


@pytest.mark.parametrize("name", sorted(SAFE_OPS))
def test_every_op_reads_parameters_shared_inputs_and_computed_nodes(name):
    # Four nodes of the op per sample, at one level, so they run as one group: their first input is
    # a parameter, a shared input, a computed node or a mix, as each column happens to be.
    arity, make = SAFE_OPS[name]
    rng = random.Random(name)
    params = [Value(rng.uniform(-1.5, 1.5)) for _ in range(6)]

    def fn(x, y):
        computed = [(x[0] * p).tanh() for p in params[:3]]
        sources = [params, [y] * 3 + list(x), computed + [y, params[0], x[1]]]
        outs = []
        for column in range(4):
            args = [sources[(column + k) % 3][(column + 2 * k) % 6] for k in range(arity)]
            outs.append(make(*args))
        return total(outs)

    X = np.array([[rng.uniform(-2, 2) for _ in range(3)] for _ in range(5)])
    Y = np.array([rng.uniform(-2, 2) for _ in range(5)])
    assert_matches_eager(fn, params, [X, Y])


def test_unusual_columns_take_the_general_paths_and_still_match():
    # A column mixing a parameter and a computed node, one node feeding a group twice, a dot whose
    # inputs alternate parameters and per-sample inputs, and a sum of varying inputs: the gathers
    # and scatter-adds that are not views.
    p = [Value(v) for v in (0.7, -1.3, 0.4, 1.1, -0.6)]

    def fn(x, y):
        a = x[0] * p[0]
        b = x[1] * x[2]
        c = a + p[1]  # level 2, with d: a column [p1, a]
        d = b + a
        e1, e2, e3 = c * y, c * x[0], d * y  # a column [c, c, d]: two edges into one slot
        f = dot([p[2], x[0], p[3], x[1]], [x[2], p[4], e1, e2])
        g = total([e1, e3, f]) + total([e2, e2, y])
        return g.tanh() + (c * d).sin()

    X = np.array([[0.3, -1.2, 0.8], [1.5, 0.2, -0.4], [-0.9, 0.6, 1.1]])
    Y = np.array([0.5, -1.5, 2.0])
    program = assert_matches_eager(fn, p, [X, Y])
    assert program._fill_static_rows and (program._written_below < program._param_start).any()  # the mixed column's paths
    assert_same_as_reference(program, p, [X, Y])


def test_a_column_of_inputs_and_constants_gets_no_gradient_across_calls():
    # x * p and 2.0 * q run as one group whose first column reads an input and a constant: neither
    # needs a gradient. Written into rows that no call zeroes, x's 5e307 a call would overflow on
    # the fourth call, where eager mode (and the parameters' gradients) stay finite.
    p, q = Value(1e308), Value(0.5)
    fn = lambda x: (x * p).sin() + 2.0 * q  # noqa: E731
    program = compile(fn, [p, q], example=(0.0,))
    assert {program.ir.slot_name(s)[0] for s in program.instructions[0].inputs[0]} == {"a", "c"}
    assert not program._fill_static_rows and program._written_below.min() == program._param_start  # the fast paths
    columns = [np.zeros(2)]  # d/dx of the mean: cos(0) * p / 2 = 5e307 for each sample
    for _ in range(5):
        loss, grads = compiled_mean_and_grads(program, [p, q], columns)
        expected_loss, expected_grads = eager_mean_and_grads(fn, [p, q], samples_of(columns))
        assert_close(loss, expected_loss, "loss")
        assert_close(grads, expected_grads, "parameter gradients")
    # The finite results alone cannot show it (an overflow in a row nobody reads changes no result):
    # the input and constant rows of the gradient buffer were never written.
    _, grad_rows = program._buffers[len(columns[0])]
    assert not grad_rows[: program._param_start].any()
    assert not grad_rows[program._const_start : program._first_computed].any()


def test_a_parameter_or_constant_as_the_output():
    p = Value(1.5)
    program = compile(lambda x: p, [p], example=(0.0,))
    loss, grads = compiled_mean_and_grads(program, [p], [np.array([1.0, 2.0, 3.0])])
    assert (loss, grads) == (1.5, [1.0])
    constant = compile(lambda x: Value(2.0) * 3.0, [p], example=(0.0,))
    loss, grads = compiled_mean_and_grads(constant, [p], [np.array([1.0, 2.0])])
    assert (loss, grads) == (6.0, [0.0])


def test_a_function_of_the_parameters_alone_runs_once():
    params = [Value(v) for v in (0.5, -2.0, 3.0)]
    program = compile(lambda: losses.l2_penalty(params, 0.1), params, example=())
    loss, grads = compiled_mean_and_grads(program, params, [])
    assert loss == pytest.approx(0.1 * (0.25 + 4.0 + 9.0), rel=1e-15)
    assert grads == pytest.approx([0.2 * p.data for p in params], rel=1e-15)  # d(w p^2)/dp = 2 w p


# -- models, losses and training runs ------------------------------------------------------------


def dataset_batch(name, n, seed=0):
    from micrograd.data import load

    train = load(name).train
    rng = random.Random(seed)
    idx = rng.sample(range(len(train)), n)
    return [train.X[i] for i in idx], [train.y[i] for i in idx], train.num_classes


def eager_batch_loss(model, loss, X, y):
    scores = [model(x) for x in X]
    if loss == "cross_entropy":
        return losses.cross_entropy(scores, y)
    return losses.LOSSES[loss](scores, [float(k) if loss == "bce" else 2.0 * k - 1 for k in y])


def compiled_targets(loss, y, num_classes):
    if loss == "cross_entropy":
        return one_hot(y, num_classes)
    return np.array([float(k) if loss == "bce" else 2.0 * k - 1 for k in y])


MODELS = [
    ("moons", [16, 16, 1], "hinge", 100),  # the original demo: MLP(2, [16, 16, 1]), 100 points
    ("moons", [8, 1], "bce", 50),
    ("moons", [8, 1], "mse", 50),
    ("yinyang", [16, 16, 3], "cross_entropy", 64),
    ("digits", [16, 10], "cross_entropy", 40),
]


@pytest.mark.parametrize("dataset,widths,loss,n", MODELS)
def test_models_match_eager_losses_and_every_gradient(dataset, widths, loss, n):
    X, y, classes = dataset_batch(dataset, n)
    model = MLP(len(X[0]), widths, seed=7)
    params = model.parameters()
    program = compile_loss(model, loss, num_features=len(X[0]), target_size=classes if loss == "cross_entropy" else None)
    compiled_loss, compiled_grads = compiled_mean_and_grads(program, params, [np.array(X), compiled_targets(loss, y, classes)])
    model.zero_grad()
    expected = eager_batch_loss(model, loss, X, y)
    expected.backward()
    assert_close(compiled_loss, expected.data, "loss")
    assert_close(compiled_grads, [p.grad for p in params], "parameter gradients")
    outputs = [model(x) for x in X]
    expected_outputs = [o.data for o in outputs] if widths[-1] == 1 else [[v.data for v in o] for o in outputs]
    assert_close(program.aux, expected_outputs, "model outputs")


@pytest.mark.parametrize("dataset,widths,loss,n", MODELS)
def test_models_run_as_the_reference_interpreter_runs_them(dataset, widths, loss, n):
    X, y, classes = dataset_batch(dataset, n)
    model = MLP(len(X[0]), widths, seed=7)
    program = compile_loss(model, loss, num_features=len(X[0]), target_size=classes if loss == "cross_entropy" else None)
    assert_same_as_reference(program, model.parameters(), [np.array(X), compiled_targets(loss, y, classes)])


@pytest.mark.parametrize(
    "dataset,widths,loss,optimizer,batch,steps",
    [
        ("moons", [16, 16, 1], "hinge", "sgd", None, 6),
        ("yinyang", [8, 8, 3], "cross_entropy", "adam", 32, 6),
        ("digits", [16, 10], "cross_entropy", "adam", 24, 4),
    ],
)
def test_training_runs_match_eager_step_for_step(dataset, widths, loss, optimizer, batch, steps):
    X, y, classes = dataset_batch(dataset, 100 if dataset != "digits" else 60, seed=1)
    runs = []
    for compiled in (False, True):
        model = MLP(len(X[0]), widths, seed=11)
        params = model.parameters()
        opt = SGD(params, lr=1.0) if optimizer == "sgd" else Adam(params, lr=0.01)
        schedule = LinearDecay(opt, opt.lr, opt.lr / 10, steps)
        program = compile_loss(model, loss, num_features=len(X[0]), target_size=classes if loss == "cross_entropy" else None)
        order = random.Random(5)
        history = []
        for _ in range(steps):
            idx = order.sample(range(len(X)), batch) if batch else range(len(X))
            bx, by = [X[i] for i in idx], [y[i] for i in idx]
            opt.zero_grad()
            if compiled:
                value = program(np.array(bx), compiled_targets(loss, by, classes))
            else:
                objective = eager_batch_loss(model, loss, bx, by)
                objective.backward()
                value = objective.data
            opt.step()
            schedule.step()
            history.append((value, [p.data for p in params]))
        runs.append(history)
    for (eager_loss, eager_params), (compiled_loss, compiled_params) in zip(*runs):
        assert_close(compiled_loss, eager_loss, "loss")
        assert_close(compiled_params, eager_params, "parameters after the step")


def test_value_and_grad_runs_on_a_parameter_array_and_leaves_the_values_alone():
    model = MLP(3, [4, 1], seed=0)
    params = model.parameters()
    fn = lambda x, y: (model(x) - y) ** 2  # noqa: E731
    program = compile(fn, params, example=([0.0, 0.0, 0.0], 0.0))
    rng = np.random.default_rng(1)
    X, Y = rng.standard_normal((5, 3)), rng.standard_normal(5)
    data = np.array([p.data for p in params]) * 0.5 + 0.1  # not what the Values hold
    before = [(p.data, p.grad) for p in params]
    value, grad = program.value_and_grad(data, X, Y)
    assert [(p.data, p.grad) for p in params] == before
    for p, x in zip(params, data):  # eager mode at those values is the independent check
        p.data = x
    expected_value, expected_grads = eager_mean_and_grads(fn, params, samples_of([X, Y]))
    assert_close(value, expected_value, "loss")
    assert_close(grad, expected_grads, "parameter gradients")
    with pytest.raises(ValueError, match=r"params must hold one number per parameter, shape \(21,\)"):
        program.value_and_grad(data[:-1], X, Y)
    data[3] = np.nan
    with pytest.raises(ValueError, match=r"params\[3\] is nan"):
        program.value_and_grad(data, X, Y)


def test_value_and_grad_explains_an_error_at_the_parameters_it_was_given():
    # sqrt's slope at 0 is infinite, times a gradient of 0: NumPy flags it, the reference finds it
    # a false alarm, and its numbers must be those of params, not of the Values' data
    p, q = Value(0.0), Value(1.0)
    program = compile(lambda x: (p * p).sqrt() * 0.0 + x * q, [p, q], example=(1.0,))
    value, grad = program.value_and_grad([0.0, 2.0], [1.0, 3.0])
    assert (value, grad.tolist()) == (4.0, [0.0, 2.0])  # mean of 2x, and of x
    # a real overflow at params: eager mode's error, run with the Values holding params meanwhile
    big = compile(lambda x: (x * q).exp(), [q], example=(1.0,))
    with pytest.raises(OverflowError, match="exp"):
        big.value_and_grad([800.0], [1.0, 2.0])
    assert (p.data, q.data, q.grad) == (0.0, 1.0, 0.0)
    assert big.value_and_grad([1.0], [0.0])[0] == 1.0


def test_parameters_are_read_afresh_on_every_call():
    model = MLP(2, [4, 1], seed=2)
    params = model.parameters()
    fn = lambda x, t: SAMPLE_LOSSES["hinge"](model(x), t)  # noqa: E731
    program = compile(fn, params, example=([0.0, 0.0], 1.0))
    columns = [np.array([[0.5, -1.0], [2.0, 0.3]]), np.array([1.0, -1.0])]
    before, _ = compiled_mean_and_grads(program, params, columns)
    for p in params:
        p.data = p.data * -1.5 + 0.25
    after, grads = compiled_mean_and_grads(program, params, columns)
    expected, expected_grads = eager_mean_and_grads(fn, params, samples_of(columns))
    assert after != before
    assert_close(after, expected, "loss after changing the parameters")
    assert_close(grads, expected_grads, "gradients after changing the parameters")


def test_reductions_and_gradients_that_accumulate():
    p = [Value(0.5), Value(-1.0)]
    fn = lambda x: (x * p[0] + p[1]) ** 2  # noqa: E731
    program = compile(fn, p, example=(1.0,))
    X = np.array([1.0, 2.0, -3.0, 0.5])
    # By hand: d/dp0 = 2 (p0 x + p1) x, d/dp1 = 2 (p0 x + p1), summed over the samples.
    residuals = 0.5 * X - 1.0
    sum_grads = [float(np.sum(2 * residuals * X)), float(np.sum(2 * residuals))]
    total_loss, grads = compiled_mean_and_grads(program, p, [X], reduction="sum")
    assert total_loss == pytest.approx(float(np.sum(residuals**2)), rel=1e-15)
    assert grads == pytest.approx(sum_grads, rel=1e-15)
    mean_loss, grads = compiled_mean_and_grads(program, p, [X])
    assert mean_loss == pytest.approx(total_loss / 4, rel=1e-15)
    assert grads == pytest.approx([g / 4 for g in sum_grads], rel=1e-15)
    for q in p:
        q.grad = 1.0
    program(X)
    program(X.tolist())  # lists work as well as arrays
    assert [q.grad for q in p] == pytest.approx([1.0 + g / 2 for g in sum_grads], rel=1e-15)
    with pytest.raises(ValueError, match="reduction"):
        program(X, reduction="max")


def test_batch_sizes_that_change_from_call_to_call():
    # Each size reuses or replaces the buffers an earlier size left: the numbers stay eager mode's.
    model = MLP(2, [6, 1], seed=3)
    params = model.parameters()
    fn = lambda x, t: SAMPLE_LOSSES["hinge"](model(x), t)  # noqa: E731
    program = compile(fn, params, example=([0.0, 0.0], 1.0))
    rng = np.random.default_rng(8)
    for size in [5, 3, 5, 1, 7, 2]:
        columns = [rng.standard_normal((size, 2)), np.sign(rng.standard_normal(size))]
        expected_mean, expected_grads = eager_mean_and_grads(fn, params, samples_of(columns))
        mean, grads = compiled_mean_and_grads(program, params, columns)
        assert_close(mean, expected_mean, f"mean loss, batch of {size}")
        assert_close(grads, expected_grads, f"mean gradients, batch of {size}")
        total_loss, grads = compiled_mean_and_grads(program, params, columns, reduction="sum")
        assert_close(total_loss, expected_mean * size, f"summed loss, batch of {size}")
        assert_close(grads, [g * size for g in expected_grads], f"summed gradients, batch of {size}")


def test_a_one_off_large_batch_does_not_stay_in_memory():
    import gc
    import tracemalloc  # NumPy reports its arrays' memory to tracemalloc

    model = MLP(2, [16, 16, 1], seed=1)
    program = compile(model, model.parameters(), example=([0.0, 0.0],))
    small = np.ones((32, 2))
    program.forward(small)
    tracemalloc.start()
    try:
        program.forward(small)
        held_before = tracemalloc.get_traced_memory()[0]
        large = np.random.default_rng(0).standard_normal((20_000, 2))
        program.forward(large)  # its value and gradient buffers: 437 slots x 20,000 x 8 bytes x 2
        held_after_large = tracemalloc.get_traced_memory()[0] - held_before
        program.forward(small)
        del large
        gc.collect()
        held_after = tracemalloc.get_traced_memory()[0] - held_before
    finally:
        tracemalloc.stop()
    assert held_after_large > 100 * 10**6  # what was kept until the next call
    assert held_after < 10**6  # the old program kept it through four batch sizes


def test_forward_shapes_and_several_outputs():
    model = MLP(3, [5, 2], seed=4)
    program = compile(lambda x: model(x), model.parameters(), example=([0.0, 0.0, 0.0],))
    X = np.array([[0.1, 0.2, 0.3], [-1.0, 2.0, 0.5]])
    assert_close(program.forward(X), [[v.data for v in model(x)] for x in X.tolist()])
    with pytest.raises(ValueError, match="2 outputs"):
        program(X)
    single = compile(lambda x: model(x)[1], model.parameters(), example=([0.0, 0.0, 0.0],))
    assert single.forward(X).shape == (2,)


# -- grouping: the cost of a step follows depth and op kinds, not width --------------------------


def count_rule_calls(monkeypatch):
    counts = {"value": 0, "vjp": 0}
    for op in ops.OPS.values():
        for kind in counts:
            rule = getattr(op, kind)

            def counted(*args, _rule=rule, _kind=kind):
                counts[_kind] += 1
                return _rule(*args)

            monkeypatch.setattr(op, kind, counted)
    return counts


@pytest.mark.parametrize("width", [4, 16, 64])
def test_group_calls_do_not_depend_on_width_or_batch_size(width, monkeypatch):
    model = MLP(2, [width, width, 1], seed=0)
    program = compile(lambda x, t: SAMPLE_LOSSES["hinge"](model(x), t), model.parameters(), example=([0.0, 0.0], 1.0))
    rng = np.random.default_rng(0)
    program(rng.standard_normal((4, 2)), np.sign(rng.standard_normal(4)))  # the first call also traces
    counts = count_rule_calls(monkeypatch)
    for batch in (3, 50):
        for key in counts:
            counts[key] = 0
        rng = np.random.default_rng(batch)
        program(rng.standard_normal((batch, 2)), np.sign(rng.standard_normal(batch)))
        # + b, relu; + b, relu; + b; y * s, 1 - ys, relu: one call per group each way (the three
        # levels of dots run as matrix products, not through the dot rule)
        assert counts == {"value": 8, "vjp": 8}
    assert matrix_steps(program) == 3
    assert [(i.op, len(i.outputs)) for i in program.instructions][:3] == [("dot", width), ("add", width), ("relu", width)]
    assert program.num_levels == 11


def test_instructions_are_plain_data_with_a_readable_listing():
    p = [Value(2.0), Value(-1.0)]
    program = compile(lambda x, y: (x[0] * p[0] + x[1] * p[1] + 1.0).tanh() * y, p, example=([1.0, 2.0], 3.0))
    first = program.instructions[0]
    assert isinstance(first, Instruction)
    assert (first.op, first.level, len(first.outputs)) == ("mul", 1, 2)
    listing = str(program)
    assert "level 1: mul x2" in listing and "c0 = 1.0" in listing and "tanh" in listing
    assert "2 parameters" in repr(program)


# -- errors: the exceptions eager mode raises --------------------------------------------------


@pytest.mark.parametrize(
    "fn,bad",
    [
        (lambda x: (x - 1.0).log(), 0.5),  # log(-0.5)
        (lambda x: 1.0 / (x - 1.0), 1.0),  # division by zero
        (lambda x: (x * 300.0).exp(), 3.0),  # exp(900) overflows
        (lambda x: x * 1e307 * x, 100.0),  # * overflows silently in Python; eager checks
        (lambda x: (x - 1.0) ** 0.5, 0.5),  # negative base, fractional power
        (lambda x: (x - 1.0).sqrt(), 0.0),
    ],
)
def test_forward_errors_are_eagers_errors(fn, bad):
    with pytest.raises((ArithmeticError, ValueError)) as eager:
        fn(Value(bad))
    checked = compile(fn, [], example=(1.5,))
    checked.forward([1.5, 2.0])  # the first call traces sample 1 again (the graph check); now done
    fresh = compile(fn, [], example=(1.5,))  # its first call meets the bad sample in that trace
    for program in (checked, fresh):
        with pytest.raises(type(eager.value)) as compiled:
            program.forward([1.5, bad, 2.0])
        assert str(compiled.value) == str(eager.value)
        if sys.version_info >= (3, 11):  # exceptions have notes from 3.11 on
            assert "sample 1 of the batch" in " ".join(compiled.value.__notes__)


@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_an_overflowing_batch_total_raises_as_eager_does(reduction):
    # Every loss is finite, their total is not: eager mode's total() of the losses raises, and the
    # mean is that total over n. No gradient may reach the parameter.
    p = Value(1.0)
    fn = lambda x: x * p  # noqa: E731
    program = compile(fn, [p], example=(1.0,))
    batch = [1e308, 1e308, 1.0]
    with pytest.raises(OverflowError, match="overflows"):
        total([fn(Value(x)) for x in batch])
    with pytest.raises(OverflowError, match="sum of the batch's 3 outputs overflows"):
        program(np.array(batch), reduction=reduction)
    assert p.grad == 0.0


@pytest.mark.parametrize(
    "make",
    [
        lambda p: lambda x: (x * p).sqrt(),  # d sqrt at 0 is infinite
        lambda p: lambda x: (x * p - 2.0) ** Value(2.0),  # d(b ** y)/dy needs log(b) of a negative b
    ],
)
def test_backward_errors_are_eagers_errors(make):
    p = Value(1.0)
    fn = make(p)
    program = compile(fn, [p], example=(4.0,))
    with pytest.raises((ArithmeticError, ValueError)) as eager:
        fn(Value(0.0)).backward()
    p.grad = 0.0  # eager mode's pass added to it before it stopped
    with pytest.raises(type(eager.value)) as compiled:
        program(np.array([4.0, 0.0]))
    assert str(compiled.value) == str(eager.value)
    assert p.grad == 0.0  # eager mode's re-run of the sample ran on a copy of the graph
    if sys.version_info >= (3, 11):
        assert "sample 1 of the batch" in " ".join(compiled.value.__notes__)


def test_the_eager_rerun_of_a_sample_changes_no_grad():
    # Eager mode's own backward pass adds into c.grad (a Value the function closes over, not a
    # parameter) before it stops at sqrt's infinite slope; the program's re-run of that sample
    # runs on a copy of its graph and leaves every .grad as it was.
    p, c = Value(1.0), Value(2.0)
    fn = lambda x: c * 5.0 + (x * p).sqrt()  # noqa: E731
    with pytest.raises(ArithmeticError) as eager:
        fn(Value(0.0)).backward()
    assert c.grad == 5.0
    c.grad = p.grad = 0.0
    program = compile(fn, [p], example=(4.0,))
    with pytest.raises(type(eager.value)) as compiled:
        program(np.array([4.0, 0.0]))
    assert str(compiled.value) == str(eager.value)
    assert (p.grad, c.grad) == (0.0, 0.0)


def test_a_gradient_overflow_stops_where_eager_mode_stops():
    # l = (t * u) * c with t = x * q, u = x * d: dl/dt = u * c is 1e50 * 1e300 for x = 1e-250, while
    # every value stays finite. Eager mode stops at t, the node that inf reaches, and so must this.
    q, d, c = Value(0.5), Value(1e300), Value(1e300)
    fn = lambda x: ((x * q) * (x * d)) * c  # noqa: E731
    program = compile(fn, [q, d, c], example=(1e-300,))
    with pytest.raises(OverflowError) as eager:
        fn(Value(1e-250)).backward()
    assert str(eager.value) == (
        "backward() stopped at 1e-250 * 0.5: its derivative is not finite here "
        "(gradient overflow: it exceeds the float64 range)"
    )
    for p in (q, d, c):
        p.grad = 0.0  # eager mode's pass added to c.grad before it stopped
    with pytest.raises(OverflowError) as compiled:
        program(np.array([1e-300, 1e-250]))
    assert str(compiled.value) == str(eager.value)
    assert [p.grad for p in (q, d, c)] == [0.0, 0.0, 0.0]  # nothing half-added


def test_an_overflowing_parameter_gradient_is_eagers_error():
    # d/dp of (p * b) * c is b * c = 1e400: eager mode stops where that gradient is made, and the
    # program, which only sees NumPy's flag, raises eager mode's error for the sample.
    p, b, c = Value(1e-300), Value(1e200), Value(1e200)
    fn = lambda x: (p * b) * c + x  # noqa: E731
    with pytest.raises(OverflowError) as eager:
        fn(Value(1.0)).backward()
    p.grad = b.grad = c.grad = 0.0
    program = compile(fn, [p, b, c], example=(0.0,))
    with pytest.raises(OverflowError) as compiled:
        program(np.array([0.0, 1.0]))
    assert str(compiled.value) == str(eager.value)
    assert str(compiled.value).startswith("backward() stopped at 1e-300 * 1e+200")
    assert [v.grad for v in (p, b, c)] == [0.0, 0.0, 0.0]


def test_a_parameter_gradient_that_overflows_only_summed_over_the_batch():
    # p1 is read in a column with a computed node, so its gradient stays per sample until the end:
    # 1e308 for each sample, inf for their sum (eager mode leaves that inf in p1.grad).
    q, p1, k = Value(1.0), Value(0.0), Value(1e308)

    def fn(x):
        a = x * q
        return (a + p1) * k + (x * x + a)  # a + p1 and x * x + a: one group, columns [a, x*x], [p1, a]

    program = compile(fn, [q, p1, k], example=(1e-300,))
    with pytest.raises(OverflowError) as compiled:
        program(np.array([1e-300, 2e-300]), reduction="sum")
    message = str(compiled.value)
    assert message.startswith("the gradients overflow summed over this batch of 2 samples")
    assert message.endswith("not finite for parameter 1")
    assert [v.grad for v in (q, p1, k)] == [0.0, 0.0, 0.0]
    loss, grads = compiled_mean_and_grads(program, [q, p1, k], [np.array([1e-300, 2e-300])])
    assert grads[1] == 1e308  # the mean is finite


def test_a_floating_flag_inside_a_formula_with_a_finite_result_is_not_an_error(monkeypatch):
    # A formula may overflow in a branch np.where then drops (none of the op table does today):
    # forward, like backward, judges the result, not NumPy's flag.
    p = Value(1.0)
    program = compile(lambda x: (x * p).tanh(), [p], example=(1.0,))
    tanh = ops.OPS["tanh"]
    monkeypatch.setattr(tanh, "value", lambda m, x: m.where(x < 700.0, m.tanh(x), m.minimum(m.exp(x), 1.0)))
    X = np.array([0.5, 1000.0])
    assert_close(program.forward(X), np.tanh(X))
    with np.errstate(over="raise"), pytest.raises(FloatingPointError):
        tanh.value(np, X)  # the flag the program meets
    assert program(X) == pytest.approx(np.mean(np.tanh(X)), rel=1e-15)
    assert p.grad == pytest.approx(np.mean((1 - np.tanh(X) ** 2) * X), rel=1e-12)  # d tanh(px)/dp


def test_no_error_where_no_gradient_flows():
    # Eager mode skips a node whose gradient is 0, so sqrt's infinite slope at 0 never matters.
    p = Value(0.0)
    fn = lambda x: p.sqrt() * 0.0 + x * x  # noqa: E731
    program = compile(fn, [p], example=(1.0,))
    loss, grads = compiled_mean_and_grads(program, [p], [np.array([1.0, 3.0])])
    assert (loss, grads) == (5.0, [0.0])


def test_bad_inputs_get_clear_errors():
    p = Value(1.0)
    program = compile(lambda x, y: x[0] * y * p, [p], example=([1.0, 2.0], 3.0))
    with pytest.raises(TypeError, match="2 batch inputs"):
        program(np.zeros((3, 2)))
    with pytest.raises(ValueError, match=r"batch input 0 has shape \(3, 3\), expected \(batch, 2\)"):
        program(np.zeros((3, 3)), np.zeros(3))
    with pytest.raises(ValueError, match=r"batch input 1 has shape \(2,\), expected \(3,\)"):
        program(np.zeros((3, 2)), np.zeros(2))
    with pytest.raises(ValueError, match=r"batch input 1\[1\] is nan: numbers must be finite"):
        program(np.zeros((3, 2)), [1.0, float("nan"), 2.0])
    with pytest.raises(ValueError, match=r"batch input 0\[2, 1\] is inf"):
        program([[0, 0], [0, 0], [0, float("inf")]], [1.0, 1.0, 2.0])
    with pytest.raises(TypeError, match="batch input 1"):
        program(np.zeros((3, 2)), ["a", "b", "c"])
    program(np.zeros((3, 2), dtype=np.float32), np.array([1, 2, 3]))  # any real dtype is read as float64
    bad = {
        "str": ["1", "2", "3"],  # used to read as 1.0, 2.0, 3.0
        "complex128": np.array([1 + 2j, 1, 1]),  # used to drop the imaginary part with a warning
        "bool": [True, False, True],
        "object": [1.0, None, 2.0],
    }
    for kind, inputs in bad.items():
        with pytest.raises(TypeError, match=rf"batch input 1 must be a list or array of real numbers, got {kind}"):
            program(np.zeros((3, 2)), inputs)
        with pytest.raises(TypeError, match=rf"batch input 0 must be a list or array of real numbers, got {kind}"):
            program.forward(np.array([[x, x] for x in inputs]), np.ones(3))
    with pytest.raises(ValueError, match="empty"):
        program(np.zeros((0, 2)), np.zeros(0))
    p.data = float("inf")
    with pytest.raises(ValueError, match=r"params\[0\] is inf"):
        program(np.ones((3, 2)), np.ones(3))


def test_bad_compile_arguments_get_clear_errors():
    p = Value(1.0)
    with pytest.raises(TypeError, match="params must be a list"):
        compile(lambda x: x, p, example=(1.0,))
    with pytest.raises(TypeError, match=r"params\[1\] must be a Value"):
        compile(lambda x: x, [p, 2.0], example=(1.0,))
    with pytest.raises(ValueError, match=r"params\[1\] is the same Value as params\[0\]"):
        compile(lambda x: x, [p, p], example=(1.0,))
    with pytest.raises(ValueError, match="leaf"):
        compile(lambda x: x, [p * 2], example=(1.0,))
    with pytest.raises(TypeError, match=r"example\[0\]"):
        compile(lambda x: x, [p], example=("x",))
    with pytest.raises(TypeError, match="example must be a tuple"):
        compile(lambda x: x, [p], example=1.0)
    with pytest.raises(TypeError, match="must return a Value"):
        compile(lambda x: 3.0, [p], example=(1.0,))
    with pytest.raises(TypeError, match="callable"):
        compile("x * 2", [p], example=(1.0,))
    with pytest.raises(TypeError, match="has_aux"):
        compile(lambda x: x * p, [p], example=(1.0,), has_aux=True)


# -- data-dependent graphs ------------------------------------------------------------------------


def test_a_branch_on_data_is_refused_on_the_first_call():
    p = Value(2.0)

    def branchy(x):
        return x * p if x.data > 0 else (x * p).exp()

    program = compile(branchy, [p], example=(1.0,))
    with pytest.raises(DataDependentGraphError, match="sample 1 of the batch"):
        program(np.array([1.0, -1.0]))


def test_a_number_taken_from_data_is_refused():
    def shifted(xs):  # the max of the logits read as a plain number: baked in for every sample
        largest = max(v.data for v in xs)
        return total([(v - largest).exp() for v in xs]).log() + largest

    program = compile(shifted, [], example=([1.0, 2.0, 3.0],))
    with pytest.raises(DataDependentGraphError, match="constant"):
        program.forward(np.array([[1.0, 2.0, 3.0], [5.0, 1.0, 0.0]]))


def test_a_branch_a_later_sample_of_the_first_batch_takes_is_refused():
    def branchy(x):
        return x * 10.0 if x.data < 1 else x * 15.0

    program = compile(branchy, [], example=(0.0,))
    # eager mode gives [5, 30]; checking sample 0 alone (the first that differs from the example)
    # let the program replay the `x * 10` branch for both and return [5, 20]
    with pytest.raises(DataDependentGraphError, match="sample 1 of the batch"):
        program.forward(np.array([0.5, 2.0]))


def test_the_first_call_checks_the_first_batch_up_to_a_bound_of_traced_nodes():
    calls = [0]

    def counted(x):
        calls[0] += 1
        return (x * 2.0).tanh()  # 4 nodes: x, 2.0, *, tanh

    program = compile(counted, [], example=(0.0,))
    assert calls[0] == 1
    batch = np.linspace(0.1, 1.0, 100)  # no sample equals the example
    program.forward(batch)
    assert calls[0] == 1 + 1 + 100  # the example's graph built again to compare with, then every sample's
    program.forward(-batch)
    assert calls[0] == 102  # later batches are not
    program = compile(counted, [], example=(0.0,))
    program.forward(np.linspace(0.1, 1.0, 10**6))  # a large batch: traced up to the bound, not a million times
    assert calls[0] == 102 + 2 + 20_000 // 4  # docs/compiled.md's bound: 20,000 traced nodes


def test_relu_and_one_hot_choices_replay_faithfully():
    logits_model = MLP(2, [4, 3], seed=9)
    params = logits_model.parameters()
    fn = lambda x, t: SAMPLE_LOSSES["cross_entropy"](logits_model(x), t) + (x[0] * params[0]).relu()  # noqa: E731
    X = np.array([[1.0, -2.0], [-1.0, 0.5], [0.3, 0.3]])
    assert_matches_eager(fn, params, [X, one_hot([2, 0, 1], 3)])  # relu's branch differs by sample


def test_one_hot():
    labels = [2, 0, 1, 1, 4]
    assert np.array_equal(one_hot(labels, 5), np.eye(5)[labels])
    assert one_hot(np.array(labels), 5).dtype == np.float64
    with pytest.raises(ValueError, match="0..2"):
        one_hot([3], 3)
    with pytest.raises(ValueError, match="class indices"):
        one_hot([0.5], 3)
    with pytest.raises(TypeError, match="labels must be class indices, got an array of bool"):
        one_hot([True, False], 2)
    with pytest.raises(TypeError, match="num_classes"):
        one_hot([0, 1], "3")


def test_compile_refuses_examples_and_sizes_eager_mode_would_refuse():
    p = Value(1.0)
    with pytest.raises(ValueError, match=r"compile: example\[0\] must be a finite number, got nan"):
        compile(lambda x: x * p, [p], example=(math.nan,))
    with pytest.raises(TypeError, match=r"compile: example\[0\]\[1\] must be a finite number, got str"):
        compile(lambda x: x[0] * p, [p], example=([1.0, "a"],))
    model = MLP(2, [3], seed=0)
    with pytest.raises(ValueError, match="target_size must be a positive whole number, got 0"):
        compile_loss(model, "mse", num_features=2, target_size=0)
    with pytest.raises(TypeError, match="num_features must be a positive whole number, got float"):
        compile_loss(model, "mse", num_features=2.0)
