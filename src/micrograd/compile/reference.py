"""The reference interpreter: the shortest faithful way to run an IR on a batch.

Every slot is a row of a ``(slots, batch)`` array. Forward, each instruction computes its outputs'
rows from its inputs' rows with the op's rule and ``m=numpy``; backward, in reverse, each adds its
vector-Jacobian product into its inputs' gradient rows (``np.add.at``, since a slot may be read
more than once). The parameters' gradients are their rows summed over the batch. Slow is fine:
this is what the fast executor (``fast.py``) is tested against.
"""

from __future__ import annotations

import numpy as np

from micrograd.compile.trace import IR
from micrograd.ops import OPS


def forward(ir: IR, params: list[float], batch: list[np.ndarray]) -> np.ndarray:
    """Every slot's value for every sample: an array ``(slots, batch)``.

    ``params`` holds each parameter's value by its index in ``compile``'s params; ``batch`` one
    array per argument, ``(batch,)`` for a number, ``(batch, k)`` for a list of k numbers.
    """
    size = len(batch[0]) if batch else 1
    values = np.zeros((ir.num_slots, size))
    row = 0
    for array, shape in zip(batch, ir.input_shapes):
        width = 1 if shape is None else shape
        values[row : row + width] = np.reshape(array, (size, width)).T
        row += width
    values[ir.param_start : ir.const_start] = np.array([params[k] for k in ir.params])[:, None]
    values[ir.const_start : ir.first_computed] = np.array(ir.constants)[:, None]
    for ins in ir.instructions:
        inputs = [values[list(column)] for column in ins.inputs]
        values[ins.outputs.start : ins.outputs.stop] = OPS[ins.op].value(np, *inputs)
    return values


def backward(ir: IR, values: np.ndarray, scale: float) -> np.ndarray:
    """Every slot's gradient for every sample, ``(slots, batch)``: of ``scale`` times the first
    output. As in eager mode, a node whose gradient is 0 hands nothing back (not even a NaN)."""
    grads = np.zeros_like(values)
    grads[ir.outputs[0]] = scale
    for ins in reversed(ir.instructions):
        rows = slice(ins.outputs.start, ins.outputs.stop)
        inputs = [values[list(column)] for column in ins.inputs]
        input_grads = OPS[ins.op].vjp(np, grads[rows], values[rows], *inputs)
        flowing = grads[rows] != 0
        for column, g in zip(ins.inputs, input_grads):
            np.add.at(grads, list(column), np.where(flowing, g, 0.0))
    return grads


def parameter_gradients(ir: IR, grads: np.ndarray) -> np.ndarray:
    """Each parameter's gradient summed over the batch, by its index in ``compile``'s params."""
    by_index = np.zeros(len(ir.params))
    by_index[list(ir.params)] = grads[ir.param_start : ir.const_start].sum(axis=1)
    return by_index


def run(ir: IR, params: list[float], batch: list[np.ndarray], reduction: str = "mean"):
    """(the mean or sum of the first output over the batch, its parameter gradients, every output per sample)."""
    values = forward(ir, params, batch)
    scale = 1.0 / values.shape[1] if reduction == "mean" else 1.0
    loss = float(np.sum(values[ir.outputs[0]])) * scale
    return loss, parameter_gradients(ir, backward(ir, values, scale)), values[list(ir.outputs)].T
