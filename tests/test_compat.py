"""Code written for the original micrograd (0.1.0) runs unchanged against this library.

The two programs below use only the original's API, the way its README, tests and demo notebook
do; their expected numbers are the ones the original publishes (its demo notebook's printed losses)
or PyTorch's.
"""

import random

import numpy as np
import pytest
import torch

from micrograd.engine import Value
from micrograd.nn import MLP


def test_the_original_demo_notebooks_training_prints_its_numbers(capsys):
    from sklearn.datasets import make_moons

    np.random.seed(1337)
    random.seed(1337)
    X, y = make_moons(n_samples=100, noise=0.1)
    y = y * 2 - 1  # labels -1 and +1, as NumPy integers

    model = MLP(2, [16, 16, 1])  # no seed: weights from Python's random, as in the original
    assert len(model.parameters()) == 337

    def loss():
        inputs = [list(map(Value, xrow)) for xrow in X]
        scores = list(map(model, inputs))
        losses = [(1 + -yi * scorei).relu() for yi, scorei in zip(y, scores)]
        data_loss = sum(losses) * (1.0 / len(losses))
        reg_loss = 1e-4 * sum((p * p for p in model.parameters()))
        accuracy = [(yi > 0) == (scorei.data > 0) for yi, scorei in zip(y, scores)]
        return data_loss + reg_loss, sum(accuracy) / len(accuracy)

    for k in range(100):
        total_loss, acc = loss()
        model.zero_grad()
        total_loss.backward()
        learning_rate = 1.0 - 0.9 * k / 100
        for p in model.parameters():
            p.data -= learning_rate * p.grad
        print(f"step {k} loss {total_loss.data}, accuracy {acc*100}%")

    lines = capsys.readouterr().out.splitlines()
    # The original notebook prints these two lines (its first and last step).
    assert lines[0] == "step 0 loss 0.8958441028683222, accuracy 50.0%"
    step, loss_text, accuracy_text = lines[99].split(" ", 2)[1], lines[99].split()[3], lines[99].split()[5]
    assert step == "99" and accuracy_text == "100.0%"
    assert float(loss_text.rstrip(",")) == pytest.approx(0.010978370135492717, rel=1e-12)


def test_the_original_sanity_check_against_pytorch():
    x = Value(-4.0)
    z = 2 * x + 2 + x
    q = z.relu() + z * x
    h = (z * z).relu()
    y = h + q + q * x
    y.backward()
    xmg, ymg = x, y

    x = torch.Tensor([-4.0]).double()
    x.requires_grad = True
    z = 2 * x + 2 + x
    q = z.relu() + z * x
    h = (z * z).relu()
    y = h + q + q * x
    y.backward()
    assert ymg.data == y.data.item()
    assert xmg.grad == x.grad.item()


def test_graph_drawing_code_reads_prev_op_data_grad_and_hashes_values():
    # The lesson's trace(): a set of nodes and of (child, parent) edges, built from _prev.
    a, b = Value(2.0), Value(-3.0)
    out = (a * b + a).tanh()
    nodes, edges = set(), set()

    def build(v):
        if v not in nodes:
            nodes.add(v)
            for child in v._prev:
                edges.add((child, v))
                build(child)

    build(out)
    assert len(nodes) == 5 and len(edges) == 5  # a, b, a*b, a*b + a, tanh; a feeds two ops
    assert {n._op for n in nodes} == {"", "*", "+", "tanh"}
    assert all(isinstance(n.data, float) and isinstance(n.grad, float) for n in nodes)


def test_the_originals_test_more_ops_against_pytorch():
    # micrograd 0.1.0's test/test_engine.py, test_more_ops, as it is there.
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
    g.backward()
    amg, bmg, gmg = a, b, g

    a = torch.Tensor([-4.0]).double()
    b = torch.Tensor([2.0]).double()
    a.requires_grad = True
    b.requires_grad = True
    c = a + b
    d = a * b + b**3
    c = c + c + 1
    c = c + 1 + c + (-a)
    d = d + d * 2 + (b + a).relu()
    d = d + 3 * d + (b - a).relu()
    e = c - d
    f = e**2
    g = f / 2.0
    g = g + 10.0 / f
    g.backward()
    apt, bpt, gpt = a, b, g

    tol = 1e-6
    # forward pass went well
    assert abs(gmg.data - gpt.data.item()) < tol
    # backward pass went well
    assert abs(amg.grad - apt.grad.item()) < tol
    assert abs(bmg.grad - bpt.grad.item()) < tol
