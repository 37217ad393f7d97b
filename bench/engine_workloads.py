"""One engine workload, run in a fresh process; prints one JSON line. Used by bench/engine.py.

It runs under this project's Python or under a virtual environment holding micrograd 0.1.0, so it uses
only what both engines have: Value, + * ** relu and backward(). The "random-floor" workload builds the same
random graph from ``FloorValue`` below instead, to show what any engine pays that keeps its graph as Python
objects.
"""

import gc
import json
import random
import sys
import threading
import time
import tracemalloc

from micrograd.engine import Value
from peers.common import readme_graph  # bench/ is this script's folder, so on sys.path


def readme_expression():
    a, b = Value(-4.0), Value(2.0)
    g = readme_graph(a, b)
    g.backward()
    return a, b, g


def readme(repetitions):
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        for _ in range(repetitions):
            readme_expression()
        best = min(best, time.perf_counter() - start)
    a, b, g = readme_expression()
    return {"us_per_rep": best / repetitions * 1e6, "check": [g.data, a.grad, b.grad]}


def random_plan(n_ops, n_leaves, seed=0):
    """Each op reads earlier results chosen uniformly: values stay bounded, memory access is random."""
    rng = random.Random(seed)
    leaves = [rng.uniform(-1, 1) for _ in range(n_leaves)]
    plan = []
    for i in range(n_ops):
        r = rng.random()
        kind = 0 if r < 0.4 else 1 if r < 0.8 else 2  # + * relu
        plan.append((kind, rng.randrange(n_leaves + i), rng.randrange(n_leaves + i)))
    return leaves, plan


def build(leaves, plan, value_type=None):
    value_type = value_type or Value
    nodes = [value_type(x) for x in leaves]
    append = nodes.append
    for kind, i, j in plan:
        if kind == 0:
            append(nodes[i] + nodes[j])
        elif kind == 1:
            append(nodes[i] * nodes[j])
        else:
            append(nodes[i].relu())
    return nodes


class FloorValue:
    """The least an engine can do per node: one object holding its number, grad, op and inputs.

    Arithmetic inline, no checks, no op table, no label; backward as lean as the engine's. Not an engine
    anyone should use: it is here to measure the floor under the random graph's time.
    """

    __slots__ = ("data", "grad", "op", "x", "y")

    def __init__(self, data):
        self.data, self.grad, self.op = data, 0.0, None

    def __add__(self, other):
        out = _new(FloorValue)
        out.data, out.grad, out.op, out.x, out.y = self.data + other.data, 0.0, "+", self, other
        return out

    def __radd__(self, number):  # sum() starts from 0
        return self + FloorValue(number)

    def __mul__(self, other):
        out = _new(FloorValue)
        out.data, out.grad, out.op, out.x, out.y = self.data * other.data, 0.0, "*", self, other
        return out

    def relu(self):
        out = _new(FloorValue)
        out.data, out.grad, out.op, out.x = self.data if self.data > 0 else 0.0, 0.0, "relu", self
        return out

    def backward(self):
        zero, order, stack = float("0"), [], [self]  # a fresh zero as the visited mark: the cheapest there is
        while stack:
            node = stack.pop()
            if node is None:
                order.append(stack.pop())
            elif node.op is not None and node.grad is not zero:
                node.grad = zero
                stack += (node, None, node.x) if node.op == "relu" else (node, None, node.x, node.y)
        self.grad = 1.0
        for node in reversed(order):
            g, x = node.grad, node.x
            if node.op == "+":
                x.grad += g
                node.y.grad += g
            elif node.op == "*":
                x.grad += g * node.y.data
                node.y.grad += g * x.data
            elif node.data > 0:
                x.grad += g


_new = object.__new__


class GarbageCollectorClock:
    """Time spent inside CPython's cyclic garbage collector, and how many full collections it ran."""

    def __init__(self):
        self.seconds, self.full_collections, self._started = 0.0, 0, 0.0

    def __enter__(self):
        gc.callbacks.append(self._tick)
        return self

    def __exit__(self, *exc):
        gc.callbacks.remove(self._tick)

    def _tick(self, phase, info):
        if phase == "start":
            self._started = time.perf_counter()
        else:
            self.seconds += time.perf_counter() - self._started
            self.full_collections += info["generation"] == 2


def random_graph(n_ops, n_leaves=1000, measure_memory=False, value_type=None):
    leaves, plan = random_plan(n_ops, n_leaves)
    if measure_memory:
        tracemalloc.start()
        before = tracemalloc.get_traced_memory()[0]
        nodes = build(leaves, plan)
        after = tracemalloc.get_traced_memory()[0]
        tracemalloc.stop()
        # The list that holds the nodes (8 bytes a node) is the harness's, not the engine's.
        return {"bytes_per_node": (after - before - sys.getsizeof(nodes)) / n_ops}
    with GarbageCollectorClock() as collector:
        start = time.perf_counter()
        nodes = build(leaves, plan, value_type)
        built = time.perf_counter()
        root = sum(nodes[-n_leaves:])  # the last ops, summed, so backward reaches most of the graph
        summed = time.perf_counter()
        root.backward()
        done = time.perf_counter()
    return {
        "gc_seconds": collector.seconds,
        "full_collections": collector.full_collections,
        "build_ns_per_node": (built - start) / n_ops * 1e9,
        "backward_ns_per_node": (done - summed) / n_ops * 1e9,
        "seconds": done - start,
        "check": [root.data, sum(v.grad for v in nodes[:n_leaves])],
    }


def chain(n_ops):
    x = Value(0.5)
    y = x
    start = time.perf_counter()
    try:
        for _ in range(n_ops // 2):
            y = y * 1.0
            y = y + 0.5
        y.backward()
    except RecursionError as error:
        return {"error": f"RecursionError: {error}"}
    return {"seconds": time.perf_counter() - start, "check": [y.data, x.grad]}


def main():
    workload, n = sys.argv[1], int(sys.argv[2])
    if workload == "readme":
        result = readme(n)
    elif workload in ("random", "random-floor"):
        # micrograd 0.1.0 sorts the graph recursively; give it the depth (and the C stack) it needs here,
        # so that this row compares speed. The chain row keeps Python's default limit, as users have it.
        sys.setrecursionlimit(1_000_000)
        threading.stack_size(1 << 30)
        box = []
        value_type = FloorValue if workload == "random-floor" else Value
        worker = threading.Thread(target=lambda: box.append(random_graph(n, value_type=value_type)))
        worker.start()
        worker.join()
        result = box[0]
    elif workload == "memory":
        result = random_graph(n, measure_memory=True)
    elif workload == "chain":
        result = chain(n)
    else:
        raise SystemExit(f"unknown workload {workload!r}")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
