"""Code written against the original micrograd (0.1.0) and the lesson runs unchanged here.

Each pattern below is one that public code built on the original uses: ops added the lesson's way
(a node made with ``Value(data, children, op)`` and a ``_backward`` closure), manual ``_backward()``
steps, subclasses of Value, ``nonlin=`` on neurons and layers, and graph walkers that read
``x ** 2`` as one node ``'**2'``. Gradients are checked against PyTorch in float64.
"""

import gc
import math

import pytest
import torch

from micrograd import Value
from micrograd.compile import compile
from micrograd.engine import topological_order
from micrograd.nn import MLP, Layer, Neuron
from micrograd.viz import draw_dot


def exp2(self):
    """The lesson's way of adding an op: the node, then its closure."""
    x = self.data
    out = Value(math.exp(x), (self,), "exp2")

    def _backward():
        self.grad += out.data * out.grad

    out._backward = _backward
    return out


def torch_grads(fn, *xs):
    leaves = [torch.tensor(x, dtype=torch.float64, requires_grad=True) for x in xs]
    out = fn(*leaves)
    out.backward()
    return out.item(), [leaf.grad.item() for leaf in leaves]


def test_the_original_constructor_signature_and_label():
    a, b = Value(2.0), Value(3.0, label="b")
    c = Value(a.data * b.data, (a, b), "*")
    assert c._prev == (a, b) and c._op == "*" and c._rule is None and b.label == "b"
    assert Value(1.0, (), "")._prev == () and Value(1.0)._op == ""
    with pytest.raises(TypeError, match="_children must be Values"):
        Value(1.0, (2.0,), "+")


def test_a_closure_op_backpropagates_like_any_node_and_accumulates_where_used_twice():
    x = Value(0.7)
    e = exp2(x * 2.0)
    y = e * e + e.tanh() + exp2(x)  # e feeds three places, exp2 is used twice
    y.backward()
    value, (grad,) = torch_grads(lambda t: (lambda s: s * s + s.tanh() + t.exp())((t * 2.0).exp()), 0.7)
    assert y.data == pytest.approx(value, rel=1e-14)
    assert x.grad == pytest.approx(grad, rel=1e-14)
    assert e.grad == pytest.approx(2 * e.data + 1 - math.tanh(e.data) ** 2, rel=1e-14)
    y.backward()  # a second pass: the leaf accumulates, the interior node shows this pass again
    assert x.grad == pytest.approx(2 * grad, rel=1e-14)
    assert e.grad == pytest.approx(2 * e.data + 1 - math.tanh(e.data) ** 2, rel=1e-14)


def test_a_closure_op_is_drawn_and_ordered_like_any_node():
    x = Value(0.5, label="x")
    e = exp2(x)
    out = e + x
    assert topological_order([out]) == [x, e, out]
    dot_source = draw_dot(out).source
    assert 'label="exp2"' in dot_source and 'label="+"' in dot_source
    assert dot_source.count(" -> ") == 5  # x -> exp2 op, exp2 op -> e, e and x -> + op, + op -> out


def live_values() -> int:
    return sum(1 for obj in gc.get_objects() if type(obj) is Value)


def test_a_dropped_closure_op_holds_a_cycle_that_the_garbage_collector_frees():
    gc.collect()
    gc.disable()
    try:
        before = live_values()
        x = Value(0.3)
        y = exp2(exp2(x))
        y.backward()
        del x, y  # each exp2 node refers to itself through its closure, as in the original
        assert live_values() == before + 3
        gc.collect()
        assert live_values() == before
    finally:
        gc.enable()


def test_the_lessons_manual_backward_steps():
    # lesson-notes.txt, "implementing the backward function for each operation"
    x1, x2 = Value(2.0, label="x1"), Value(0.0, label="x2")
    w1, w2 = Value(-3.0, label="w1"), Value(1.0, label="w2")
    b = Value(6.8813735870195432, label="b")
    x1w1 = x1 * w1
    x2w2 = x2 * w2
    x1w1x2w2 = x1w1 + x2w2
    n = x1w1x2w2 + b
    o = n.tanh()
    o.grad = 1.0
    o._backward()
    n._backward()
    b._backward()  # a leaf: nothing to do
    x1w1x2w2._backward()
    x1w1._backward()
    x2w2._backward()
    # By hand: do/dn = 1 - tanh(n)**2 = 1/2 at n = atanh(1/sqrt 2); then the chain rule.
    assert n.grad == pytest.approx(0.5, rel=1e-9)
    assert (x1.grad, w1.grad, x2.grad, w2.grad) == pytest.approx((-1.5, 1.0, 0.5, 0.0), rel=1e-9)


def test_the_lessons_own_topological_sort_and_backward_loop():
    x, w = Value(2.0), Value(-3.0)
    o = exp2(x * w + 1.0).tanh()
    topo, visited = [], set()

    def build_topo(v):
        if v not in visited:
            visited.add(v)
            for child in v._prev:
                build_topo(child)
            topo.append(v)

    build_topo(o)
    o.grad = 1.0
    for node in reversed(topo):
        node._backward()
    value, (gx, gw) = torch_grads(lambda a, b: (a * b + 1.0).exp().tanh(), 2.0, -3.0)
    assert (x.grad, w.grad) == pytest.approx((gx, gw), rel=1e-12)


class V(Value):
    """A subclass the way client code writes one."""

    def __init__(self, data, _children=(), _op=""):
        super().__init__(data, _children, _op)


def test_subclass_instances_work_wherever_values_do():
    a, b, c = V(2.0), V(-3.0), Value(0.5)
    y = (a * b + a) * c + b / a - 2 * a + (a - c) ** 2 + a.relu() + 1.0
    y.backward()
    value, grads = torch_grads(lambda a, b, c: (a * b + a) * c + b / a - 2 * a + (a - c) ** 2 + a.relu() + 1.0,
                               2.0, -3.0, 0.5)
    assert y.data == pytest.approx(value, rel=1e-14)
    assert [a.grad, b.grad, c.grad] == pytest.approx(grads, rel=1e-14)
    assert type(a + b) is Value and a._prev == ()


def test_x_to_a_number_is_one_node_drawn_with_its_exponent():
    x, y = Value(3.0), Value(2.0)
    square, root, negative = x**2, x**0.5, x**-1
    assert (square._op, square._prev) == ("**2", (x,))
    assert (root._op, root._prev) == ("**0.5", (x,))
    assert negative._op == "**-1" and (x**2.0)._op == "**2.0"
    assert (x**y)._op == "**" and (x**y)._prev == (x, y)
    two_to_x = 2**x
    assert two_to_x._op == "**" and two_to_x._prev[1] is x and two_to_x._prev[0]._prev == ()
    (square + root).backward()
    assert x.grad == pytest.approx(2 * 3.0 + 0.5 / math.sqrt(3.0), rel=1e-15)
    with pytest.raises(ValueError, match="finite"):
        x ** float("inf")
    with pytest.raises(TypeError, match="unsupported operand"):
        x ** "2"


def test_neuron_and_layer_take_the_originals_nonlin():
    linear, relu = Neuron(3, nonlin=False), Neuron(3, nonlin=True)
    assert (linear.nonlin, linear.activation, relu.nonlin, relu.activation) == (False, None, True, "relu")
    assert Neuron(3, False).activation is None and Neuron(3).nonlin is True  # the original's positional use
    layer = Layer(3, 2, nonlin=True)
    assert layer.nonlin and [n.activation for n in layer.neurons] == ["relu", "relu"]
    assert Layer(3, 2, nonlin=False).nonlin is False
    x = [Value(1.0), Value(-2.0), Value(0.5)]
    out = linear(x)
    assert out.data == pytest.approx(sum(w.data * xi.data for w, xi in zip(linear.w, x)) + linear.b.data)
    for kind in (Neuron, lambda *a, **k: Layer(3, *a, **k)):
        with pytest.raises(TypeError, match="not both"):
            kind(3, activation="relu", nonlin=False)
        with pytest.raises(TypeError, match="not both"):
            kind(3, activation="tanh", nonlin=True)


def test_compile_refuses_a_closure_op_and_says_how_to_declare_it():
    w = Value(0.5)
    with pytest.raises(TypeError, match=r"'exp2' node .* declare the op in micrograd.ops"):
        compile(lambda x: exp2(x * w), [w], example=(1.0,))


def test_compile_runs_x_to_a_number_as_eager_mode_does():
    w = Value(1.5)
    program = compile(lambda x: (x * w) ** 2 + (x * w) ** 0.5, [w], example=(1.0,))
    loss = program([2.0])
    eager = (Value(2.0) * w) ** 2 + (Value(2.0) * w) ** 0.5
    assert loss == pytest.approx(eager.data, rel=1e-15)


def test_the_lessons_library_snippets():
    a = Value(3.0)
    b = a + a
    b.backward()
    assert a.grad == 2.0  # "This a.grad should be 2.0"
    model = MLP(3, [4, 4, 1], activation="tanh", output_activation="tanh", seed=0)
    xs = [[2.0, 3.0, -1.0], [3.0, -1.0, 0.5], [0.5, 1.0, 1.0], [1.0, 1.0, -1.0]]
    ys = [1.0, -1.0, -1.0, 1.0]
    loss = sum((model(x) - y) ** 2 for x, y in zip(xs, ys))
    loss.backward()
    params = model.parameters()

    def torch_loss(*ps):
        total, k = 0.0, 0
        for x, y in zip(xs, ys):
            h = [torch.tensor(v, dtype=torch.float64) for v in x]
            for layer in model.layers:
                outs = []
                for neuron in layer.neurons:
                    s = sum(ps[k + i] * h[i] for i in range(len(h))) + ps[k + len(h)]
                    k += len(h) + 1
                    outs.append(s.tanh())
                h = outs
            k = 0
            total = total + (h[0] - y) ** 2
        return total

    value, grads = torch_grads(torch_loss, *[p.data for p in params])
    assert loss.data == pytest.approx(value, rel=1e-12)
    assert [p.grad for p in params] == pytest.approx(grads, rel=1e-10, abs=1e-14)


def test_the_extending_page_runs_and_prints_what_it_says(capsys):
    import re
    from pathlib import Path

    from micrograd import ops

    text = (Path(__file__).resolve().parent.parent / "docs" / "extending.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, re.S)
    assert len(blocks) == 2
    try:
        for block in blocks:
            exec(block, {})
        printed = capsys.readouterr().out.split("\n")
        # by hand: d/dx e^(2x) = 2 e^(2x) at 0.5; softsign(-3) = -3/4, its slope 1 / (1 + 3)**2
        assert printed[0] == f"{round(2 * math.exp(1.0), 6)}"
        assert printed[1] == "-0.75 0.0625 softsign"
        rule = Value(0.3).softsign()._rule
        assert rule.name == "softsign"
        ops.OPS[rule.name] = rule  # as the page says, for the compiler
        w = Value(0.5)
        program = compile(lambda x: (x * w).softsign(), [w], example=(2.0,))  # the table's op compiles
        assert program([2.0]) == pytest.approx(1.0 / 2.0)
    finally:
        for name in ("exp2", "softsign"):
            if name in vars(Value):
                delattr(Value, name)
        ops.OPS.pop("softsign", None)
