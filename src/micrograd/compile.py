"""Compile a function of Values into a flat program that runs whole batches through NumPy.

``compile(fn, params, example=...)`` calls ``fn`` once on fresh leaf Values (a trace, as
``jax.jit`` and ``torch.jit.trace`` do), records the graph it builds, and turns it into a list of
instructions: the nodes are grouped by level (the longest path from the leaves) and by op, and
each group runs as one NumPy call over ``(group size, batch size)`` arrays, forward and backward
(the backward pass adds each group's vector-Jacobian product into its inputs' gradients). The
Python work of a step is a fixed number of NumPy calls per group, however wide the layers and
however large the batch, plus reading each parameter's ``.data`` and adding to its ``.grad``.
Every op's value and derivative come from ``micrograd.ops`` evaluated with ``m=numpy``: the same
formulas the eager engine uses on floats.

    program = compile(lambda x, y: (1.0 - y * model(x)).relu(), model.parameters(),
                      example=([0.0, 0.0], 1.0))
    loss = program(X, Y)     # mean over the batch; adds the mean gradients into p.grad
    losses = program.forward(X, Y)

Parameters are the leaves listed in ``params`` (matched by identity); their ``.data`` is read on
every call, so optimizers work unchanged. Every other leaf is a constant, baked in with the value
it had during the trace. ``compile_loss`` compiles a model with one of ``micrograd.losses.SAMPLE_LOSSES``.

Limitation, shared with every tracing compiler: the program replays the graph of ONE trace. Code
whose graph depends on the data, such as ``if x.data > 0:`` or a number computed from ``.data``
(a ``max`` of logits used as a shift, say), would be replayed with the traced branch or number for
every sample. Write such choices with ops instead (``relu``, ``abs``, a one-hot ``dot``: see
``one_hot``). On the first call the function is traced again on the batch's samples, in order, up
to ``_CHECK_NODES`` traced nodes (at least one sample), and a graph that differs raises
``DataDependentGraphError``; a branch that only later samples or later batches take goes unseen.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from itertools import chain
from typing import Callable, Sequence

try:
    import numpy as np
except ImportError:  # pragma: no cover - the error says what to install
    raise ImportError("micrograd.compile needs NumPy: pip install 'micrograd-plus[compile]'") from None

from micrograd import ops
from micrograd._checks import finite_number, positive_int
from micrograd.engine import GRADIENT_OVERFLOW, Value, derivative_error, topological_order
from micrograd.losses import SAMPLE_LOSSES
from micrograd.ops import Op, scalar_math

__all__ = [
    "compile",
    "Program",
    "Instruction",
    "DataDependentGraphError",
    "one_hot",
    "compile_loss",
]

# Overflow, division by zero and undefined results stop the program, as they stop eager mode;
# underflow to 0 is not an error in either.
_RAISE = dict(over="raise", divide="raise", invalid="raise", under="ignore")
_IGNORE = dict(over="ignore", divide="ignore", invalid="ignore", under="ignore")

# The first call traces fn again on samples of its batch until it has traced this many nodes
# (about 0.15 s): all 100 samples of the moons demo's model (442 nodes each), all 32 of a digits
# mini-batch (2,651 nodes each), the first 37 of a larger digits batch; one sample of a model with
# more nodes than this.
_CHECK_NODES = 100_000

# The value and gradient buffers a Program keeps for batch sizes other than the current one.
_SPARE_BUFFER_BYTES = 64 * 1024 * 1024


class DataDependentGraphError(ValueError):
    """The traced function builds a different graph for different samples, so one trace cannot
    stand for all of them."""


@dataclass(frozen=True)
class Instruction:
    """One step of a program: ``op`` applied to ``len(outputs)`` nodes of the same level at once.

    ``outputs`` are the slots written; ``inputs[k][i]`` is the slot read as input ``k`` of output
    ``i``. Slots number the program's storage: per-sample inputs first, then the parameters, the
    constants and the computed nodes.
    """

    op: str
    level: int
    outputs: range
    inputs: tuple[tuple[int, ...], ...]


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
    graph = _trace(fn, rows, shapes, params, has_aux)
    return Program(fn, params, shapes, graph, has_aux)


class Program:
    """A traced function compiled to grouped NumPy instructions. Build it with ``compile``.

    A Program is not thread-safe: every call runs in value and gradient buffers it keeps between
    calls (for the last batch size, and earlier sizes' up to 64 MB), and ``aux`` is the state of the
    last call. To run the same function from several threads at once, compile one Program per thread.
    """

    def __init__(self, fn, params: list[Value], shapes: list[int | None], graph: _Graph, has_aux: bool):
        self.fn = fn
        self.params = params
        self.input_shapes = shapes  # per argument: None for a number, k for a list of k numbers
        self.has_aux = has_aux
        self.aux: np.ndarray | None = None  # per-sample aux outputs of the last call (has_aux=True)
        self._graph = graph
        self._verified = False
        self._buffers: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        self._layout(graph)

    # -- public API ------------------------------------------------------------------------

    def __call__(self, *batch, reduction: str = "mean") -> float:
        """Run forward and backward on the whole batch: return the mean (or ``'sum'``) output,
        and add the mean (or sum) of the parameter gradients into each ``p.grad``."""
        if reduction not in ("mean", "sum"):
            raise ValueError(f"reduction must be 'mean' or 'sum', got {reduction!r}")
        if self._num_loss_outputs != 1:
            raise ValueError(
                f"the traced function returned {self._num_loss_outputs} outputs; a gradient needs one "
                "Value (use program.forward for several outputs)"
            )
        data = self._read_params()
        arrays, size = self._batch_arrays(batch)
        values, grads = self._prepare(arrays, size, data)
        scale = 1.0 / size if reduction == "mean" else 1.0
        with np.errstate(**_RAISE):
            gathered = self._run_forward(values, size)
            try:
                total_output = float(np.sum(values[self._output_rows[0]]))
            except FloatingPointError:  # eager mode's total of the losses raises here too
                raise OverflowError(
                    f"the sum of the batch's {size} outputs overflows: the result exceeds the float64 range"
                ) from None
            param_grads = self._run_backward(values, grads, gathered, scale, size)
        if self.has_aux:
            self.aux = _per_sample(values, self._aux_rows)
        for p, g in zip(self._params_by_slot, param_grads.tolist()):
            p.grad += g
        return total_output * scale

    def forward(self, *batch) -> np.ndarray:
        """The per-sample outputs: shape ``(batch,)`` for one output, ``(batch, k)`` for k (for
        ``has_aux=True``: the loss only; the aux outputs land in ``program.aux``)."""
        data = self._read_params()
        arrays, size = self._batch_arrays(batch)
        values, _ = self._prepare(arrays, size, data)
        with np.errstate(**_RAISE):
            self._run_forward(values, size)
        if self.has_aux:
            self.aux = _per_sample(values, self._aux_rows)
        return _per_sample(values, self._output_rows[: self._num_loss_outputs])

    @property
    def instructions(self) -> list[Instruction]:
        """The program as plain data, in execution order."""
        return list(self._instructions)

    @property
    def num_levels(self) -> int:
        return self._num_levels

    def __repr__(self) -> str:
        return (
            f"<Program: {self._describe_inputs()}, {len(self.params)} parameters, "
            f"{self._num_constants} constants; {self._num_nodes} nodes in {len(self._instructions)} "
            f"instructions over {self._num_levels} levels>"
        )

    def __str__(self) -> str:
        return self.pretty()

    def pretty(self, per_instruction: int = 3, max_operands: int = 6) -> str:
        """A readable listing: one line per instruction, its first few nodes spelled out.

        Names: ``a0[1]`` is element 1 of argument 0 (``a1`` a number argument), ``p7`` parameter 7,
        ``c0`` a constant (values listed at the top), ``v12`` a computed node.
        """
        name = self._slot_name
        lines = [repr(self)]
        if self._num_constants:
            consts = ", ".join(f"c{i} = {v!r}" for i, v in enumerate(self._static[len(self.params) :].tolist()))
            lines.append(f"  constants: {consts}")
        for ins in self._instructions:
            count = len(ins.outputs)
            head = f"  level {ins.level}: {ins.op} x{count}"
            examples = []
            for i, slot in enumerate(ins.outputs[:per_instruction]):
                operands = [name(column[i]) for column in ins.inputs]
                if len(operands) > max_operands:
                    operands = operands[: max_operands - 1] + ["...", operands[-1]]
                examples.append(f"{name(slot)} = {ins.op}({', '.join(operands)})")
            more = f"; ... {count - per_instruction} more" if count > per_instruction else ""
            lines.append(f"{head:<28} {'; '.join(examples)}{more}")
        lines.append(f"  outputs: {', '.join(name(s) for s in self._output_rows)}")
        return "\n".join(lines)

    # -- layout: slots, groups, and the index arrays of every step ------------------------

    def _layout(self, graph: _Graph) -> None:
        """Give every node a slot (a row of the value and gradient arrays), group the computed
        nodes by level and op, and precompute how each group reads its inputs and hands back
        their gradients."""
        nodes = graph.nodes
        input_width = sum(1 if k is None else k for k in self.input_shapes)
        param_start = input_width
        const_start = param_start + len(self.params)

        # Constant subgraphs (no input, no parameter below them) are folded into their traced value.
        level = [0] * len(nodes)
        constant = [False] * len(nodes)
        slot = [-1] * len(nodes)
        constant_slots: dict[tuple[float, float], int] = {}
        constant_values: list[float] = []
        for i, node in enumerate(nodes):
            if node.kind == "input":
                slot[i] = node.where
            elif node.kind == "param":
                pass  # placed below, in the order the groups read them
            elif node.kind == "const" or all(constant[j] for j in node.inputs):
                constant[i] = True
                key = (node.value, math.copysign(1.0, node.value))  # 0.0 and -0.0 stay apart
                if key not in constant_slots:
                    constant_slots[key] = const_start + len(constant_values)
                    constant_values.append(node.value)
                slot[i] = constant_slots[key]
            else:
                level[i] = 1 + max(level[j] for j in node.inputs)

        groups: dict[tuple[int, str, int], list[int]] = {}
        for i, node in enumerate(nodes):
            if node.kind == "op" and not constant[i]:
                groups.setdefault((level[i], node.op_name, len(node.inputs)), []).append(i)
        first_computed = const_start + len(constant_values)
        next_slot = first_computed
        order = sorted(groups)
        for key in order:
            for i in groups[key]:
                slot[i] = next_slot
                next_slot += 1

        # Parameters take slots in the order the groups first read them, input by input: then a
        # layer's weights, or its biases, are one slice of the parameter vector, read as a view.
        param_rank: dict[int, int] = {}
        for key in order:
            members = groups[key]
            for k in range(key[2]):
                for i in members:
                    source = nodes[nodes[i].inputs[k]]
                    if source.kind == "param" and source.where not in param_rank:
                        param_rank[source.where] = len(param_rank)
        for index in range(len(self.params)):
            param_rank.setdefault(index, len(param_rank))
        for i, node in enumerate(nodes):
            if node.kind == "param":
                slot[i] = param_start + param_rank[node.where]
        self._param_order = sorted(range(len(self.params)), key=param_rank.__getitem__)  # by slot
        self._params_by_slot = [self.params[index] for index in self._param_order]

        self._num_slots = next_slot
        self._param_start, self._const_start, self._first_computed = param_start, const_start, first_computed
        self._num_constants = len(constant_values)
        self._num_nodes = next_slot - first_computed
        self._num_levels = max((key[0] for key in order), default=0)
        # Parameters and constants, once each: read by groups as (group, 1) columns that broadcast.
        self._static = np.zeros(len(self.params) + len(constant_values))
        self._static[len(self.params) :] = constant_values

        layout = _SlotKinds(param_start, const_start, first_computed)
        instructions, steps = [], []
        for key in order:
            members = groups[key]
            lvl, op_name, arity = key
            columns = tuple(tuple(slot[nodes[i].inputs[k]] for i in members) for k in range(arity))
            first = slot[members[0]]
            instruction = Instruction(op_name, lvl, range(first, first + len(members)), columns)
            instructions.append(instruction)
            index = np.asarray(columns, dtype=np.intp).reshape(arity, len(members))
            stacked = ops.OPS[op_name].arity is None
            step = _Step(instruction, layout.gather_plan(index, stacked), layout.scatter_plan(index, stacked), len(steps))
            step.value_args, step.vjp_args = _arguments_for(step, stacked, next_slot, len(self._static))
            steps.append(step)
        self._instructions = instructions
        self._steps = steps
        self._fill_static_rows = layout.reads_param_rows  # a mixed column reads parameters from `values`
        self._first_grad_row = layout.first_written_row  # backward zeroes every row it adds into
        self._grads_in_static_rows = layout.first_written_row < first_computed

        outputs = [slot[i] for i in graph.outputs]
        if any(param_start <= row < const_start for row in outputs):
            self._fill_static_rows = True  # a parameter returned as it is: read from `values`
        self._output_rows = outputs
        self._num_loss_outputs = len(outputs) - graph.num_aux
        self._aux_rows = outputs[len(outputs) - graph.num_aux :]

    # -- execution -------------------------------------------------------------------------

    def _batch_arrays(self, batch) -> tuple[list[np.ndarray], int]:
        shapes = self.input_shapes
        if len(batch) != len(shapes):
            raise TypeError(f"the program takes {len(shapes)} batch inputs (one per argument of fn), got {len(batch)}")
        arrays, size = [], None
        for index, (data, shape) in enumerate(zip(batch, shapes)):
            try:
                array = np.asarray(data)
            except (TypeError, ValueError) as error:
                raise TypeError(f"batch input {index} must be a list or array of numbers: {error}") from None
            if array.dtype.kind not in "iuf":  # not text ("1" would read as 1.0), complex, bool or objects
                kind = array.dtype.name
                raise TypeError(f"batch input {index} must be a list or array of real numbers, got {kind} values")
            array = array.astype(np.float64, copy=False)
            expected = "(batch,)" if shape is None else f"(batch, {shape})"
            if array.ndim != (1 if shape is None else 2) or (shape is not None and array.shape[1] != shape):
                raise ValueError(f"batch input {index} has shape {array.shape}, expected {expected}")
            if size is None:
                size = len(array)
            elif len(array) != size:
                raise ValueError(f"batch input {index} has {len(array)} samples, batch input 0 has {size}")
            if not np.isfinite(array).all():
                raise ValueError(f"batch input {index} holds a number that is not finite")
            arrays.append(array)
        if size is None:
            size = 1  # a function of the parameters alone: one evaluation
        if size == 0:
            raise ValueError("the batch is empty")
        if not self._verified:
            self._verify(arrays)
        return arrays, size

    def _read_params(self) -> np.ndarray:
        """The parameters' ``.data``, in slot order."""
        data = np.fromiter((p.data for p in self._params_by_slot), dtype=np.float64, count=len(self.params))
        if not np.isfinite(data).all():
            bad = int(np.flatnonzero(~np.isfinite(data))[0])
            raise ValueError(f"parameter {self._param_order[bad]} is {float(data[bad])!r}: parameters must be finite")
        return data

    def _prepare(self, arrays: list[np.ndarray], size: int, data: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The value and gradient arrays for this batch size, holding this batch and parameters."""
        buffers = self._buffers.pop(size, None)
        if buffers is None:
            buffers = (np.zeros((self._num_slots, size)), np.zeros((self._num_slots, size)))
            buffers[0][self._const_start : self._first_computed] = self._static[len(self.params) :, None]
            _keep_freed_memory(4 * self._largest_temporary(size))  # a step holds a few at once
        # Besides this size's, keep the most recent other sizes' buffers up to _SPARE_BUFFER_BYTES:
        # training's full and last batch sizes fit; a one-off batch of 200,000 does not stay.
        while sum(v.nbytes + g.nbytes for v, g in self._buffers.values()) > _SPARE_BUFFER_BYTES:
            del self._buffers[next(iter(self._buffers))]  # the oldest (a dict keeps insertion order)
        self._buffers[size] = buffers
        values = buffers[0]
        row = 0
        for array, shape in zip(arrays, self.input_shapes):
            if shape is None:
                values[row] = array
                row += 1
            else:
                values[row : row + shape] = array.T
                row += shape
        self._static[: len(data)] = data
        if self._fill_static_rows:
            values[self._param_start : self._const_start] = data[:, None]
        return buffers

    def _largest_temporary(self, size: int) -> int:
        """Bytes of the largest array one step makes: a group's stacked inputs or gradients."""
        widest = max((len(ins.inputs) * len(ins.outputs) for ins in self._instructions), default=1)
        return max(widest, self._num_slots) * size * 8

    def _run_forward(self, values: np.ndarray, size: int) -> list:
        """Every group's values, in order; returns what each group read, for the backward pass."""
        gathered = []
        static = self._static
        for step in self._steps:
            pieces = step.gather(values, static)
            rows = step.rows
            shape = (rows.stop - rows.start, size)
            inputs = step.value_args(pieces, shape)
            try:
                values[rows] = step.rule.value(np, *inputs)
            except FloatingPointError:
                values[rows] = _checked_value(step.rule, inputs, shape)
            gathered.append(pieces)
        return gathered

    def _run_backward(self, values, grads, gathered, scale: float, size: int) -> np.ndarray:
        """Node gradients flow from the last group to the first; each group's vector-Jacobian
        product is added into the gradients of its inputs (parameters: summed over the batch).
        Returns the parameter gradients."""
        param_grads = self._seed_gradients(grads, scale, size)
        try:
            for step in reversed(self._steps):
                g = grads[step.rows]
                out = values[step.rows]
                inputs = step.vjp_args(gathered[step.index], g.shape)
                step.scatter(step.rule.vjp(np, g, out, *inputs), grads, param_grads)
            if self._grads_in_static_rows:
                param_grads += grads[self._param_start : self._const_start].sum(axis=1)
            return param_grads
        except FloatingPointError:
            pass  # NumPy flagged a number that is not finite: go again, checking as eager mode does
        return self._careful_backward(values, grads, gathered, scale, size)

    def _seed_gradients(self, grads: np.ndarray, scale: float, size: int) -> np.ndarray:
        """Zero the rows backward adds into and seed the output's gradient; return the parameter
        gradients, all 0 (or the seed, for a parameter returned as it is)."""
        param_grads = np.zeros(len(self.params))
        grads[self._first_grad_row :] = 0.0
        loss = self._output_rows[0]
        if loss >= self._first_computed:
            grads[loss] = scale
        elif self._param_start <= loss < self._const_start:
            param_grads[loss - self._param_start] += scale * size
        return param_grads

    def _careful_backward(self, values, grads, gathered, scale: float, size: int) -> np.ndarray:
        """``_run_backward`` with NumPy's floating errors ignored and each group checked as eager
        mode checks each node: a gradient that is not finite stops at the node it reaches, with
        eager's error naming that node; a derivative that is not finite where a gradient flows
        raises the op's error (see ``_checked_vjp``). Returns the parameter gradients if nothing
        stops it (a flag raised where no gradient flows, or by a gradient no input needs)."""
        param_grads = self._seed_gradients(grads, scale, size)
        param_rows = grads[self._param_start : self._const_start]
        with np.errstate(**_IGNORE):
            for step in reversed(self._steps):
                g = grads[step.rows]
                out = values[step.rows]
                inputs = step.vjp_args(gathered[step.index], g.shape)
                not_finite = ~np.isfinite(g)
                if not_finite.any():
                    raise _stopped_at(step.rule, inputs, g.shape, _first_bad(not_finite), GRADIENT_OVERFLOW)
                input_grads = _checked_vjp(step.rule, g, out, inputs)
                step.scatter(input_grads, grads, param_grads)
                if not (np.isfinite(param_grads).all() and np.isfinite(param_rows).all()):
                    # A parameter's gradient overflowed here (eager mode would leave inf in its
                    # .grad): name the node that handed back the largest gradient.
                    raise _stopped_at(step.rule, inputs, g.shape, _largest(input_grads), GRADIENT_OVERFLOW)
            if self._grads_in_static_rows:
                param_grads += param_rows.sum(axis=1)
        if not np.isfinite(param_grads).all():
            index = self._param_order[int(np.flatnonzero(~np.isfinite(param_grads))[0])]
            raise OverflowError(f"the gradient of parameter {index} overflows when summed over the batch ({GRADIENT_OVERFLOW})")
        return param_grads

    # -- the data-dependence check ---------------------------------------------------------

    def _verify(self, arrays: list[np.ndarray]) -> None:
        """Trace ``fn`` again on the first batch's samples that differ from the example, in batch
        order, until ``_CHECK_NODES`` nodes have been traced (at least one sample); every graph must
        be the traced one. A batch of nothing but the example leaves the check to the next call."""
        if not arrays:
            self._verified = True
            return
        differs = np.zeros(len(arrays[0]), dtype=bool)
        for array, traced in zip(arrays, self._graph.example):
            differs |= (array != traced) if array.ndim == 1 else (array != traced).any(axis=1)
        if not differs.any():
            return  # every sample is the traced example: nothing new to compare with yet
        count = max(1, _CHECK_NODES // len(self._graph.nodes))
        for index in np.flatnonzero(differs)[:count].tolist():
            self._check_sample(arrays, index)
        self._verified = True

    def _check_sample(self, arrays: list[np.ndarray], index: int) -> None:
        """Trace ``fn`` on sample ``index`` of the batch: eager mode's error, or
        ``DataDependentGraphError`` if its graph is not the traced one."""
        sample = [array[index].tolist() for array in arrays]
        try:
            other = _trace(self.fn, sample, self.input_shapes, self.params, self.has_aux)
        except (ArithmeticError, ValueError) as error:  # eager mode's error for this sample
            _add_note(error, f"(compiled program: sample {index} of the batch, traced to check its graph)")
            raise
        difference = self._graph.difference(other)
        if difference is not None:
            raise DataDependentGraphError(
                f"the traced function builds a different graph for sample {index} of the batch than for "
                f"the example ({difference}): its graph depends on the data (an `if` on .data, or a number "
                "taken from .data), which one trace cannot replay. Express the choice with ops (relu, abs, "
                "a one-hot dot) or run it eagerly."
            )

    # -- naming, for listings --------------------------------------------------------------

    def _describe_inputs(self) -> str:
        parts = [f"a{i}" if k is None else f"a{i}[{k}]" for i, k in enumerate(self.input_shapes)]
        return f"inputs ({', '.join(parts)})" if parts else "no inputs"

    def _slot_name(self, slot: int) -> str:
        if slot < self._param_start:  # inputs come first
            row = 0
            for i, k in enumerate(self.input_shapes):
                width = 1 if k is None else k
                if slot < row + width:
                    return f"a{i}" if k is None else f"a{i}[{slot - row}]"
                row += width
        if slot < self._const_start:
            return f"p{self._param_order[slot - self._param_start]}"
        if slot < self._first_computed:
            return f"c{slot - self._const_start}"
        return f"v{slot - self._first_computed}"


def _per_sample(values: np.ndarray, rows: list[int]) -> np.ndarray:
    """The values of ``rows`` as a new array: ``(batch,)`` for one row, ``(batch, rows)`` for several."""
    return values[rows[0]].copy() if len(rows) == 1 else values[rows].T.copy()


def _keep_freed_memory(nbytes: int) -> None:
    """Free one block of ``nbytes`` so that glibc keeps freed blocks up to that size.

    glibc hands blocks above 128 KiB straight back to the kernel when they are freed, so each step
    would fault the pages of its temporaries in again (that doubled the time of a step). Freeing a
    block raises that limit to its size (malloc's documented dynamic mmap threshold; the trim
    threshold follows), which is what any program that once used a large array gets anyway.
    Elsewhere this is just a short-lived allocation.
    """
    if nbytes > 128 * 1024:
        block = np.empty(min(nbytes, 16 * 1024 * 1024) // 8)  # glibc adjusts up to 32 MiB
        del block


# -- steps ---------------------------------------------------------------------------------


class _Step:
    """One instruction at run time: how it reads its inputs and hands back their gradients."""

    __slots__ = ("instruction", "rule", "rows", "gather", "scatter", "index", "value_args", "vjp_args")

    def __init__(self, instruction: Instruction, gather, scatter, index: int):
        self.instruction, self.gather, self.scatter, self.index = instruction, gather, scatter, index
        # The instruction's op and output slots, in the forms the hot loops use.
        self.rule = ops.OPS[instruction.op]
        self.rows = slice(instruction.outputs.start, instruction.outputs.stop)
        self.value_args = self.vjp_args = None  # pieces, shape -> the arguments of the rule


# How a group's gathered pieces become the arguments of its rule: as they are (columns of shape
# (group, 1) or (1, batch) that broadcast), or each broadcast to the full (group, batch) first.


def _columns_compact(pieces, shape):
    return pieces


def _columns_full(pieces, shape):
    return tuple(_broadcast(piece, shape) for piece in pieces)


def _blocks_compact(pieces, shape):
    return tuple(chain(*pieces))


def _blocks_full(pieces, shape):
    return _blocks_compact([_broadcast(piece, (len(piece),) + shape) for piece in pieces], shape)


def _broadcast(piece: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """``np.broadcast_to(piece, shape)``, a view, without its general checks: it runs for groups
    of every step, and the pieces are C-contiguous arrays whose length-1 axes stretch."""
    if piece.shape == shape:
        return piece
    if not piece.flags.c_contiguous:
        return np.broadcast_to(piece, shape)
    strides = tuple(0 if n == 1 else stride for n, stride in zip(piece.shape, piece.strides))
    return np.ndarray(shape, np.float64, piece, 0, strides)


def _arguments_for(step: _Step, stacked: bool, num_slots: int, num_static: int):
    """Pick, for the rule's value and for its vjp separately, compact arguments when the rule
    gives the same results with them as with full ones (tried once on random numbers in every
    op's domain); elementwise formulas always do, a formula that stacks its inputs may not."""
    compact, full = (_blocks_compact, _blocks_full) if stacked else (_columns_compact, _columns_full)
    rng = np.random.default_rng(0)
    size = 3
    values = rng.uniform(0.5, 1.5, (num_slots, size))
    static = rng.uniform(0.5, 1.5, num_static)
    shape = (len(step.instruction.outputs), size)
    pieces = step.gather(values, static)
    rule = step.rule
    with np.errstate(**_IGNORE):
        reference = np.broadcast_to(rule.value(np, *full(pieces, shape)), shape)
        g = rng.uniform(0.5, 1.5, shape)
        expected = [np.broadcast_to(x, shape) for x in rule.vjp(np, g, reference, *full(pieces, shape))]
        try:
            value_ok = _same(rule.value(np, *compact(pieces, shape)), reference, shape)
        except (ValueError, TypeError, IndexError):
            value_ok = False
        try:
            got = rule.vjp(np, g, reference, *compact(pieces, shape))
            vjp_ok = len(got) == len(expected) and all(np.shape(x) == shape and _same(x, e, shape) for x, e in zip(got, expected))
        except (ValueError, TypeError, IndexError):
            vjp_ok = False
    return (compact if value_ok else full), (compact if vjp_ok else full)


def _same(result, reference: np.ndarray, shape) -> bool:
    try:
        result = np.broadcast_to(result, shape)
    except ValueError:
        return False
    return bool(np.allclose(result, reference, rtol=1e-12, atol=0.0))


class _SlotKinds:
    """Builds each group's gather and scatter functions from its index array ``(arity, group)``.

    Slots are inputs, then parameters and constants (the static slots: the same for every sample),
    then computed nodes. A column of a group's inputs that is static is read from the small
    ``static`` vector as ``(group, 1)``; one that is the same slot for every node of the group (a
    layer's inputs, shared by all its neurons) as ``(1, batch)``; NumPy broadcasting does the rest.
    """

    def __init__(self, param_start: int, const_start: int, first_computed: int):
        self.param_start, self.const_start, self.first_computed = param_start, const_start, first_computed
        self.reads_param_rows = False  # some column reads parameters as rows of `values`
        self.first_written_row = first_computed  # the lowest row of `grads` that a writer adds into

    def column_kind(self, column: np.ndarray) -> str:
        if (column >= self.param_start).all() and (column < self.first_computed).all():
            return "static"
        if (column == column[0]).all():
            return "shared"
        return "rows"

    def runs(self, index: np.ndarray, kind_of) -> list[tuple[str, int, int]]:
        runs = []
        for k, column in enumerate(index):
            kind = kind_of(column)
            if runs and runs[-1][0] == kind:
                runs[-1] = (kind, runs[-1][1], k + 1)
            else:
                runs.append((kind, k, k + 1))
        return runs

    # -- reading inputs (forward)

    def gather_plan(self, index: np.ndarray, stacked: bool):
        """A function ``(values, static) -> pieces``: one array per input column,
        ``(group, batch)``, ``(group, 1)`` or ``(1, batch)``; for a stacked group, one array
        ``(columns, ...)`` per run of columns read the same way."""
        if not stacked:
            readers = [self._column_reader(column) for column in index]
            if len(readers) == 1:
                (read,) = readers
                return lambda values, static: (read(values, static),)
            first, second = readers
            return lambda values, static: (first(values, static), second(values, static))
        runs = self.runs(index, self.column_kind)
        readers = [self._block_reader(kind, index[a:b]) for kind, a, b in runs]
        if len(readers) == 1:
            (read,) = readers
            return lambda values, static: (read(values, static),)
        return lambda values, static: [read(values, static) for read in readers]

    def _column_reader(self, column: np.ndarray):
        kind = self.column_kind(column)
        if kind == "static":
            positions = column - self.param_start
            if _is_run(positions):
                first, last = int(positions[0]), int(positions[0]) + len(positions)
                return lambda values, static: static[first:last, None]
            return lambda values, static: static.take(positions)[:, None]
        start = int(column[0])
        if kind == "shared":
            return lambda values, static: values[start : start + 1]
        self._note_static_reads(column)
        if _is_run(column):
            stop = start + len(column)
            return lambda values, static: values[start:stop]
        return lambda values, static: values.take(column, axis=0)

    def _block_reader(self, kind: str, block: np.ndarray):
        arity, width = block.shape
        if kind == "static":
            positions = block - self.param_start
            if _is_run(positions.ravel()):
                first, last = int(positions[0, 0]), int(positions[0, 0]) + positions.size
                return lambda values, static: static[first:last].reshape(arity, width, 1)
            return lambda values, static: static.take(positions)[:, :, None]
        if kind == "shared":
            rows = block[:, 0].copy()
            if _is_run(rows):
                start, stop = int(rows[0]), int(rows[0]) + arity
                return lambda values, static: values[start:stop, None, :]
            return lambda values, static: values.take(rows, axis=0)[:, None, :]
        self._note_static_reads(block.ravel())
        if _is_run(block.ravel()):
            start, stop = int(block[0, 0]), int(block[0, 0]) + block.size
            return lambda values, static: values[start:stop].reshape(arity, width, -1)
        return lambda values, static: values.take(block, axis=0)

    def _note_static_reads(self, slots: np.ndarray) -> None:
        # Constants sit in `values` from the buffer's creation on; parameters change every call.
        if ((slots >= self.param_start) & (slots < self.const_start)).any():
            self.reads_param_rows = True

    # -- handing back gradients (backward)

    def destination_kind(self, column: np.ndarray) -> str:
        is_param = (column >= self.param_start) & (column < self.const_start)
        if not (is_param | (column >= self.first_computed)).any():
            return "none"  # inputs and constants need no gradient
        if is_param.all():
            return "param"
        if (column >= self.first_computed).all():
            return "shared" if (column == column[0]).all() else "rows"
        return "mixed"

    def scatter_plan(self, index: np.ndarray, stacked: bool):
        """A function ``(input grads, node grads, parameter grads) -> None`` that adds a group's
        vector-Jacobian product into the gradients of its inputs."""
        if stacked:
            runs = self.runs(index, self.destination_kind)
        else:  # the rule returns one array per input: one writer each
            runs = [(self.destination_kind(column), k, k + 1) for k, column in enumerate(index)]
        writers = [(a, b, self._writer(kind, index[a:b])) for kind, a, b in runs if kind != "none"]
        if stacked:

            def scatter(input_grads, grads, param_grads):
                if type(input_grads) is not np.ndarray:
                    input_grads = np.stack(np.broadcast_arrays(*input_grads))
                for a, b, write in writers:
                    write(input_grads[a:b], grads, param_grads)

            return scatter

        def scatter(input_grads, grads, param_grads):
            for a, _, write in writers:
                write(input_grads[a], grads, param_grads)

        return scatter

    def _writer(self, kind: str, block: np.ndarray):
        """A function adding one run of input gradients, ``(run, group, batch)`` (or ``(group,
        batch)`` for a single column), into the node or parameter gradients."""
        arity, width = block.shape
        if kind == "param":
            positions = block - self.param_start
            if _is_run(positions.ravel()):
                first, last = int(positions[0, 0]), int(positions[0, 0]) + positions.size

                def write(part, grads, param_grads):
                    param_grads[first:last] += part.reshape(positions.size, -1).sum(axis=1)

                return write
            flat = positions.ravel()
            count = self.const_start - self.param_start

            def write(part, grads, param_grads):
                sums = part.reshape(arity * width, -1).sum(axis=1)
                param_grads += np.bincount(flat, weights=sums, minlength=count)

            return write
        if kind == "shared" and len(np.unique(block[:, 0])) == arity:
            rows = block[:, 0].copy()

            def write(part, grads, param_grads):
                grads[rows] += part.reshape(arity, width, -1).sum(axis=1)

            return write
        if kind == "mixed":  # it adds into the rows of inputs, parameters or constants too
            self.first_written_row = min(self.first_written_row, int(block.min()))
        flat = block.ravel()
        if _is_run(flat):
            start, stop = int(flat[0]), int(flat[0]) + len(flat)

            def write(part, grads, param_grads):
                grads[start:stop] += part.reshape(len(flat), -1)

            return write
        # Several edges into one slot: sum them first (a precomputed segment sum; np.add.at is slow).
        by_slot = np.argsort(flat, kind="stable")
        sorted_slots = flat[by_slot]
        starts = np.flatnonzero(np.r_[True, sorted_slots[1:] != sorted_slots[:-1]])
        targets = sorted_slots[starts]
        reduceat = np.add.reduceat

        def write(part, grads, param_grads):
            edges = np.broadcast_to(part, (arity, width, grads.shape[1])).reshape(len(flat), -1)
            grads[targets] += reduceat(edges.take(by_slot, axis=0), starts, axis=0)

        return write


def _is_run(slots: np.ndarray) -> bool:
    """Whether ``slots`` are consecutive and increasing, so that a slice reads them as a view."""
    return bool(len(slots)) and bool(np.array_equal(slots, np.arange(slots[0], slots[0] + len(slots))))


# -- errors, with the messages eager mode gives --------------------------------------------


def _first_bad(mask: np.ndarray) -> tuple[int, int]:
    """(node within the group, sample) of the first True in sample order, then node order."""
    sample, node = np.nonzero(mask.T)
    return int(node[0]), int(sample[0])


def _element(inputs, shape: tuple[int, int], node: int, sample: int) -> tuple[float, ...]:
    """One node's inputs for one sample (the inputs may be broadcast columns or rows)."""
    return tuple(float(np.broadcast_to(x, shape)[node, sample]) for x in inputs)


def _checked_value(rule: Op, inputs, shape: tuple[int, int]) -> np.ndarray:
    """A group's values when NumPy flagged a floating error: recomputed with errors ignored, they
    stand if all are finite (only a step inside the formula overflowed or divided by zero);
    otherwise raise the error eager mode raises for the first sample that is not finite."""
    with np.errstate(**_IGNORE):
        result = np.broadcast_to(rule.value(np, *inputs), shape)
    bad = ~np.isfinite(result)
    if bad.any():
        raise _forward_error(rule, inputs, shape, _first_bad(bad)) from None
    return result


def _forward_error(rule: Op, inputs, shape: tuple[int, int], where: tuple[int, int]) -> Exception:
    node, sample = where
    args = _element(inputs, shape, node, sample)
    try:
        rule.value(scalar_math, *args)
    except (ArithmeticError, ValueError) as cause:
        error = rule.error(args, cause)  # what eager mode raises when the op refuses its inputs
    else:
        error = rule.overflow(args)  # and when the op's result is not finite
    _add_note(error, f"(compiled program: sample {sample} of the batch)")
    return error


def _checked_vjp(rule: Op, g: np.ndarray, out: np.ndarray, inputs) -> list[np.ndarray]:
    """A group's vector-Jacobian product, one array per input, computed with floating errors
    ignored, and checked as eager mode would: where the incoming gradient is 0 eager mode skips
    the node, so those entries count as 0; where one is not finite and a gradient flows, raise the
    op's error if its derivative is undefined there (the scalar rule raises). An entry that only
    overflowed stays inf: eager mode stops at the node it flows into."""
    grads = [np.broadcast_to(np.asarray(x, dtype=np.float64), g.shape).copy() for x in rule.vjp(np, g, out, *inputs)]
    flowing = g != 0
    for grad in grads:
        bad = ~np.isfinite(grad)
        grad[bad & ~flowing] = 0.0
        samples, nodes = np.nonzero((bad & flowing).T)  # in sample order, as _first_bad
        for node, sample in zip(nodes.tolist(), samples.tolist()):
            args = _element(inputs, g.shape, node, sample)
            try:
                rule.vjp(scalar_math, float(g[node, sample]), float(out[node, sample]), *args)
            except (ArithmeticError, ValueError) as cause:
                raise _stopped_at(rule, inputs, g.shape, (node, sample), cause) from None
    return grads


def _stopped_at(rule: Op, inputs, shape: tuple[int, int], where: tuple[int, int], cause) -> Exception:
    """Eager mode's error for a backward pass stopped at node ``where = (node, sample)`` of a
    group; ``cause`` is an exception or a message for an OverflowError."""
    node, sample = where
    if isinstance(cause, str):
        cause = OverflowError(cause)
    error = derivative_error(rule, _element(inputs, shape, node, sample), cause)
    _add_note(error, f"(compiled program: sample {sample} of the batch)")
    return error


def _largest(grads: list[np.ndarray]) -> tuple[int, int]:
    """(node, sample) of the largest gradient in any of a group's input gradients (inf or nan
    first)."""
    magnitude = np.max([np.nan_to_num(np.abs(grad), nan=np.inf) for grad in grads], axis=0)
    return _first_bad(magnitude == magnitude.max())


def _add_note(error: BaseException, note: str) -> None:
    if hasattr(error, "add_note"):  # Python 3.11+
        error.add_note(note)


# -- tracing -------------------------------------------------------------------------------


class _Node:
    """One node of a traced graph as plain data."""

    __slots__ = ("kind", "where", "value", "op_name", "inputs")

    def __init__(self, kind: str, where: int = -1, value: float = 0.0, op_name: str = "", inputs=()):
        self.kind, self.where, self.value, self.op_name, self.inputs = kind, where, value, op_name, inputs

    def signature(self):
        if self.kind == "op":
            return (self.op_name, self.inputs)
        if self.kind == "const":
            return ("const", self.value, math.copysign(1.0, self.value))
        return (self.kind, self.where)


class _Graph:
    """A trace: nodes in an order where inputs come first, and which of them are outputs."""

    def __init__(self, nodes: list[_Node], outputs: list[int], num_aux: int, example: list):
        self.nodes, self.outputs, self.num_aux, self.example = nodes, outputs, num_aux, example

    def difference(self, other: _Graph) -> str | None:
        """None if ``other`` is the same graph, else a short description of the first difference."""
        if len(self.nodes) != len(other.nodes):
            return f"{len(self.nodes)} nodes, then {len(other.nodes)}"
        for i, (a, b) in enumerate(zip(self.nodes, other.nodes)):
            if a.signature() != b.signature():
                return f"node {i} is {_describe_node(a)}, then {_describe_node(b)}"
        if self.outputs != other.outputs:
            return "the outputs are different nodes"
        return None


def _describe_node(node: _Node) -> str:
    if node.kind == "op":
        return f"{node.op_name} of nodes {list(node.inputs)}"
    if node.kind == "const":
        return f"the constant {node.value!r}"
    return f"{node.kind} {node.where}"


def _trace(fn, rows: list, shapes: list[int | None], params: list[Value], has_aux: bool) -> _Graph:
    """Call ``fn`` on fresh leaves holding ``rows`` and record the graph it returns."""
    args, input_slot = [], {}
    slot = 0
    for row, shape in zip(rows, shapes):
        if shape is None:
            leaf = Value(row)
            input_slot[id(leaf)] = slot
            args.append(leaf)
            slot += 1
        else:
            leaves = [Value(x) for x in row]
            for leaf in leaves:
                input_slot[id(leaf)] = slot
                slot += 1
            args.append(leaves)
    result = fn(*args)
    if has_aux:
        if not isinstance(result, (tuple, list)) or len(result) != 2:
            raise TypeError("compile: with has_aux=True, fn must return (loss, aux)")
        loss, aux = result
        loss_outputs = _output_values(loss, "the loss")
        if len(loss_outputs) != 1:
            raise TypeError("compile: with has_aux=True, the loss must be one Value")
        aux_outputs = _output_values(aux, "aux")
        outputs = loss_outputs + aux_outputs
    else:
        outputs = _output_values(result, "fn")
        aux_outputs = []
    param_index = {id(p): k for k, p in enumerate(params)}
    nodes, position = [], {}
    for v in topological_order(outputs):
        rule = v._rule
        # Every node keeps its traced value: a folded constant subgraph keeps eager mode's.
        if rule is not None:
            inputs = tuple(position[id(u)] for u in v._prev)
            if rule.fixed is not None:  # x ** 2, one node in eager mode: here the table's op of x and 2
                rule, constant = rule.fixed
                nodes.append(_Node("const", value=constant))
                inputs += (len(nodes) - 1,)
            nodes.append(_Node("op", value=v.data, op_name=rule.name, inputs=inputs))
        elif v._prev:
            raise TypeError(
                f"compile: the {v._op!r} node was built with Value(data, children, op) and its own _backward, "
                "which a compiled program cannot run; declare the op in micrograd.ops instead (an Op with "
                "its value and vjp), as docs/extending.md shows"
            )
        elif id(v) in input_slot:
            nodes.append(_Node("input", where=input_slot[id(v)], value=v.data))
        elif id(v) in param_index:
            nodes.append(_Node("param", where=param_index[id(v)], value=v.data))
        else:
            nodes.append(_Node("const", value=v.data))
        position[id(v)] = len(nodes) - 1
    return _Graph(nodes, [position[id(v)] for v in outputs], len(aux_outputs), list(rows))


def _output_values(result, what: str) -> list[Value]:
    if isinstance(result, Value):
        return [result]
    if isinstance(result, (list, tuple)) and result and all(isinstance(v, Value) for v in result):
        return list(result)
    raise TypeError(f"compile: {what} must return a Value or a non-empty list of Values, got {type(result).__name__}")


def _check_params(params) -> list[Value]:
    if isinstance(params, Value) or not hasattr(params, "__iter__"):
        raise TypeError(f"compile: params must be a list of Values, got {type(params).__name__}")
    params = list(params)
    first_seen: dict[int, int] = {}
    for k, p in enumerate(params):
        if not isinstance(p, Value):
            raise TypeError(f"compile: params[{k}] must be a Value, got {type(p).__name__}")
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
            f"compile: example must be a tuple with one per-sample input per argument of fn, got {type(example).__name__}"
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


# -- losses per sample, for training ---------------------------------------------------------


def one_hot(labels: Sequence[int], num_classes: int) -> np.ndarray:
    """Class indices as rows of 0.0 with a 1.0 at the class: shape ``(len(labels), num_classes)``.

    A per-sample loss that picks ``logits[label]`` builds a different graph for every label; a
    ``dot`` with the one-hot row builds the same one.
    """
    num_classes = positive_int(num_classes, "one_hot: num_classes")
    labels = np.asarray(labels)
    numeric = np.issubdtype(labels.dtype, np.integer) or np.issubdtype(labels.dtype, np.floating)
    if labels.dtype == bool or not numeric:
        raise TypeError(f"one_hot: labels must be class indices, got an array of {labels.dtype}")
    if labels.ndim != 1 or not np.all(labels == np.round(labels)):
        raise ValueError("one_hot: labels must be a flat list of class indices")
    labels = labels.astype(np.intp)
    if len(labels) and (labels.min() < 0 or labels.max() >= num_classes):
        raise ValueError(f"one_hot: labels must be in 0..{num_classes - 1}")
    rows = np.zeros((len(labels), num_classes))
    rows[np.arange(len(labels)), labels] = 1.0
    return rows


def compile_loss(model, loss: str, *, num_features: int, target_size: int | None = None) -> Program:
    """Compile ``SAMPLE_LOSSES[loss](model(x), target)`` with the model's outputs as aux.

    ``program(X, T)`` then returns the batch-mean loss and adds its gradients to the model's
    parameters; ``program.aux`` holds the model's per-sample outputs. ``T`` is a list of numbers
    (``target_size`` None) or of lists (one-hot rows for cross_entropy: see ``one_hot``).
    """
    if loss not in SAMPLE_LOSSES:
        raise ValueError(f"unknown loss {loss!r}: choose one of {', '.join(SAMPLE_LOSSES)}")
    num_features = positive_int(num_features, "compile_loss: num_features")
    if target_size is not None:
        target_size = positive_int(target_size, "compile_loss: target_size")
    per_sample = SAMPLE_LOSSES[loss]

    def fn(x, target):
        out = model(x)
        return per_sample(out, target), out

    target_example = 1.0 if target_size is None else [1.0] + [0.0] * (target_size - 1)
    return compile(fn, model.parameters(), example=([0.0] * num_features, target_example), has_aux=True)
