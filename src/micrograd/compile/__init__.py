"""Compile a function of Values into a program that runs whole batches through NumPy.

``compile(fn, params, example=...)`` calls ``fn`` once on fresh leaf Values (a trace, as
``jax.jit`` and ``torch.jit.trace`` do) and records the graph it builds as plain data (the IR,
``trace.py``): the nodes grouped by level (the longest path from the leaves) and by op, each group
one instruction that runs as one NumPy call over ``(group size, batch size)`` arrays, forward and
backward (the backward pass adds each group's vector-Jacobian product into its inputs'
gradients). Every op's value and derivative come from ``micrograd.ops`` evaluated with
``m=numpy``: the same formulas the eager engine uses on floats. ``reference.py`` runs the IR in
the plainest way; ``fast.py``, which programs use, computes the same numbers with precomputed
gathers and scatters, so that the Python work of a step is a fixed number of NumPy calls per
group, however wide the layers and however large the batch.

    program = compile(lambda x, y: (1.0 - y * model(x)).relu(), model.parameters(),
                      example=([0.0, 0.0], 1.0))
    loss = program(X, Y)     # mean over the batch; adds the mean gradients into p.grad
    losses = program.forward(X, Y)
    print(program)           # the program, one line per instruction

Parameters are the leaves listed in ``params`` (matched by identity); their ``.data`` is read on
every call, so optimizers work unchanged. Every other leaf is a constant, baked in with the value
it had during the trace. ``micrograd.train.compile_loss`` compiles a model with one of the losses.

Limitation, shared with every tracing compiler: the program replays the graph of ONE trace. Code
whose graph depends on the data, such as ``if x.data > 0:`` or a number computed from ``.data``
(a ``max`` of logits used as a shift, say), would be replayed with the traced branch or number for
every sample. Write such choices with ops instead (``relu``, ``abs``, a one-hot ``dot``: see
``one_hot``). On the first call the function is traced again on the batch's samples, in order, up
to ``_CHECK_NODES`` traced nodes (at least one sample), and a graph that differs raises
``DataDependentGraphError``; a branch that only later samples or later batches take goes unseen.
"""

from __future__ import annotations

from typing import Callable, Sequence

try:
    import numpy as np
except ImportError:  # pragma: no cover - the error says what to install
    raise ImportError("micrograd.compile needs NumPy: pip install 'micrograd-plus[compile]'") from None

from micrograd._validate import finite_number, of_type, positive_int
from micrograd.compile.fast import Program, real_numbers
from micrograd.compile.trace import IR, DataDependentGraphError, Instruction, trace
from micrograd.engine import Value

__all__ = ["compile", "Program", "Instruction", "IR", "DataDependentGraphError", "one_hot", "compiled_outputs"]


def compile(
    fn: Callable[..., Value | Sequence[Value]],
    params: Sequence[Value],
    *,
    example: Sequence[float | Sequence[float]],
    has_aux: bool = False,
) -> Program:
    """Trace ``fn(*example)`` once and return a ``Program`` that runs it on whole batches.

    ``example`` holds one per-sample input per argument of ``fn``: a number (``fn`` gets a Value)
    or a list of numbers (``fn`` gets a list of Values). ``fn`` returns a Value, or a list of
    Values (then only ``program.forward`` works). With ``has_aux=True`` it returns ``(loss, aux)``,
    ``aux`` a Value or list of Values whose per-sample values each call leaves in
    ``program.aux`` (the model's scores next to the loss, say). See the module docstring for what
    a trace cannot capture.
    """
    if not callable(fn):
        raise TypeError(f"compile: fn must be callable, got {type(fn).__name__}")
    params = _check_params(params)
    shapes, rows = _example_rows(example)
    return Program(fn, params, trace(fn, rows, shapes, params, has_aux), rows, has_aux)


def _check_params(params) -> list[Value]:
    if isinstance(params, Value) or not hasattr(params, "__iter__"):
        raise TypeError(f"compile: params must be a list of Values, got {type(params).__name__}")
    params = list(params)
    first_seen: dict[int, int] = {}
    for k, p in enumerate(params):
        of_type(p, Value, f"compile: params[{k}]", "a Value")
        if p._rule is not None:
            raise ValueError(f"compile: params[{k}] is computed by {p._op!r}; parameters must be leaf Values")
        if id(p) in first_seen:
            raise ValueError(f"compile: params[{k}] is the same Value as params[{first_seen[id(p)]}]")
        first_seen[id(p)] = k
    return params


def _example_rows(example) -> tuple[list[int | None], list]:
    """(per argument: None for a number, k for a list of k numbers; the example as floats)."""
    if isinstance(example, (str, bytes)) or not isinstance(example, (tuple, list)):
        raise TypeError(
            "compile: example must be a tuple with one per-sample input per argument of fn, "
            f"got {type(example).__name__}"
        )
    shapes, rows = [], []
    for i, item in enumerate(example):
        if isinstance(item, (list, tuple, np.ndarray)):
            if not len(item) or np.ndim(item) != 1:
                raise TypeError(f"compile: example[{i}] must be a number or a non-empty flat list of numbers")
            rows.append([finite_number(x, f"compile: example[{i}][{j}]") for j, x in enumerate(item)])
            shapes.append(len(item))
        else:
            rows.append(finite_number(item, f"compile: example[{i}]"))
            shapes.append(None)
    return shapes, rows


def one_hot(labels: Sequence[int], num_classes: int) -> np.ndarray:
    """Class indices as rows of 0.0 with a 1.0 at the class: shape ``(len(labels), num_classes)``.

    A per-sample loss that picks ``logits[label]`` builds a different graph for every label; a
    ``dot`` with the one-hot row builds the same one.
    """
    num_classes = positive_int(num_classes, "one_hot: num_classes")
    labels = np.asarray(labels)
    if labels.dtype.kind not in "iuf":  # not bool, text or objects
        raise TypeError(f"one_hot: labels must be class indices, got an array of {labels.dtype}")
    if labels.ndim != 1 or not np.all((labels == np.round(labels)) & (labels >= 0) & (labels < num_classes)):
        raise ValueError(f"one_hot: labels must be a flat list of class indices in 0..{num_classes - 1}")
    labels = labels.astype(np.intp)
    rows = np.zeros((len(labels), num_classes))
    rows[np.arange(len(labels)), labels] = 1.0
    return rows



def compiled_outputs(model, num_features: int | None = None) -> Callable[..., np.ndarray]:
    """``model`` (a function of a list of ``num_features`` Values, with ``parameters()``) compiled
    once for many calls: ``outputs(points, chunk=8192)`` gives its outputs for every row of
    ``points`` as an array ``(samples, outputs)``, with the parameters' values at each call.
    ``num_features`` None: the width of the first call's points."""
    def compiled(width: int) -> Program:
        return compile(model, model.parameters(), example=([0.0] * width,))

    # The program, compiled now, or on the first call when num_features is None.
    programs = [] if num_features is None else [compiled(positive_int(num_features, "num_features"))]

    def outputs(points, *, chunk: int = 8192) -> np.ndarray:
        points = _points(points, programs[0].input_shapes[0] if programs else None)
        chunk = positive_int(chunk, "chunk")
        if not programs:
            programs.append(compiled(points.shape[1]))
        program = programs[0]
        if not len(points):  # a program refuses an empty batch; one row tells the number of outputs
            return np.empty((0, program.forward(np.zeros((1, points.shape[1]))).reshape(1, -1).shape[1]))
        parts = [program.forward(points[i : i + chunk]) for i in range(0, len(points), chunk)]
        return np.concatenate(parts).reshape(len(points), -1)

    return outputs


def _points(points, num_features: int | None) -> np.ndarray:
    """``points`` as floats, shape ``(samples, num_features)`` (any number of features if None)."""
    array = real_numbers(points, "points")
    if array.ndim != 2 or array.shape[1] != (num_features or array.shape[1]):
        features = "features" if num_features is None else f"{num_features} features"
        raise ValueError(f"points must be a 2-D array (samples, {features}), got shape {array.shape}")
    return array
