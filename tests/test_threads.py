"""The thread rule the README states for the engine, checked for its two safe patterns.

Threads switch every microsecond here (``sys.setswitchinterval``), so that passes interleave as
much as they can; any state the engine shared between graphs (a module-level scratch list, say)
would show up as gradients that differ from the same work done in one thread.
"""

import sys
import threading

import pytest

from micrograd import total
from micrograd.losses import hinge
from micrograd.nn import MLP
from micrograd.optim import SGD

X = [[0.1 * i, -0.05 * i] for i in range(-10, 10)]
Y = [1.0 if x[0] * x[1] < -0.01 else -1.0 for x in X]


@pytest.fixture
def switch_often():
    before = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    yield
    sys.setswitchinterval(before)


def run_in_threads(work, count):
    results = [None] * count
    errors = []

    def run(k):
        try:
            results[k] = work(k)
        except BaseException as error:  # surfaced below: a thread's exception is otherwise only printed
            errors.append(error)

    threads = [threading.Thread(target=run, args=(k,)) for k in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
    return results


def train(seed):
    """Ten SGD steps of a model of its own: a graph per step, built and differentiated in one thread."""
    model = MLP(2, [8, 1], seed=seed)
    optimizer = SGD(model.parameters(), lr=0.1)
    for _ in range(10):
        loss = hinge([model(x) for x in X], Y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return [p.data for p in model.parameters()]


def test_threads_with_graphs_of_their_own_get_what_one_thread_gets(switch_often):
    alone = [train(seed) for seed in range(4)]
    together = run_in_threads(train, 4)
    assert together == alone  # bit for bit


def test_a_shared_model_forward_in_threads_then_one_backward(switch_often):
    model = MLP(2, [8, 1], seed=0)
    chunks = [X[k::4] for k in range(4)]
    labels = [Y[k::4] for k in range(4)]
    # forward passes only read the parameters' .data: each thread builds a graph of its own
    losses = run_in_threads(lambda k: hinge([model(x) for x in chunks[k]], labels[k]), 4)
    total(losses).backward()  # one backward, in one thread, adds into the shared parameters
    threaded = [p.grad for p in model.parameters()]

    model.zero_grad()
    total([hinge([model(x) for x in chunks[k]], labels[k]) for k in range(4)]).backward()
    assert threaded == [p.grad for p in model.parameters()]


def test_a_shared_model_backward_in_each_thread_under_a_lock(switch_often):
    model = MLP(2, [8, 1], seed=0)
    chunks = [X[k::4] for k in range(4)]
    labels = [Y[k::4] for k in range(4)]
    lock = threading.Lock()

    def forward_and_backward(k):
        loss = hinge([model(x) for x in chunks[k]], labels[k])  # in parallel: graphs of their own
        with lock:  # one backward at a time adds into the shared parameters
            loss.backward()

    run_in_threads(forward_and_backward, 4)
    threaded = [p.grad for p in model.parameters()]

    model.zero_grad()
    for k in range(4):
        hinge([model(x) for x in chunks[k]], labels[k]).backward()
    # the same four contributions, added in whatever order the threads took the lock
    assert threaded == pytest.approx([p.grad for p in model.parameters()], rel=1e-12, abs=1e-15)
