"""The fast executor: an IR run as a few NumPy calls per group, whatever the width and batch size.

Each group's inputs are read with precomputed gathers, in the cheapest form NumPy broadcasting
allows: a column of parameters or constants as ``(group, 1)`` from a small vector, an input that
every node of the group shares (a layer's inputs, read by all its neurons) as ``(1, batch)``, a
run of consecutive slots as a view. Its gradients go back with precomputed scatters of the same
kinds. It computes what ``reference.py`` computes, and is tested against it on random programs.

Gradients are added per sample, edge after edge in the reference's order, and the parameters'
are summed over the batch at the end, so that the numbers are the reference's bit for bit. One
kind of group runs another way (``_MatrixStep``): a dense layer's dots, as one matrix product
forward and two backward, which sum in BLAS's order and so equal the reference to 1e-12 relative;
its weights' gradients come out summed over the batch, and need no per-sample rows at all.

NumPy's floating-point errors only tell this executor that something went wrong: the reference
interpreter then finds the sample, and the eager engine, run on that sample, says what.
"""

from __future__ import annotations

import contextlib
import copy
from itertools import chain

import numpy as np

from micrograd import ops
from micrograd._validate import one_of
from micrograd.compile import reference
from micrograd.compile.trace import IR, DataDependentGraphError, Instruction, call, first_difference, graph
from micrograd.engine import Value, topological_order

# Overflow, division by zero and undefined results stop the program, as they stop eager mode;
# underflow to 0 is not an error in either.
_RAISE = dict(over="raise", divide="raise", invalid="raise", under="ignore")

# The first call builds fn's graph again on samples of its batch until it has built this many
# nodes (about 20 ms, once per program; it was most of a 100-step moons run's compiled time at 100,000):
# the first 45 samples of the moons demo's model (442 nodes each), 7 of a digits batch (2,651
# nodes each); one sample of a model with more nodes than this.
_CHECK_NODES = 20_000

# The value and gradient buffers a Program keeps for batch sizes other than the current one.
_SPARE_BUFFER_BYTES = 64 * 1024 * 1024


class Program:
    """A traced function compiled to grouped NumPy instructions. Build it with ``compile``.

    A Program is not thread-safe: every call runs in value and gradient buffers it keeps between
    calls (for the last batch size, and earlier sizes' up to 64 MB), and ``aux`` is the state of the
    last call. To run the same function from several threads at once, compile one Program per thread.
    """

    def __init__(self, fn, params: list[Value], ir: IR, example: list, has_aux: bool):
        self.fn = fn
        self.params = params
        self.ir = ir
        self.input_shapes = list(ir.input_shapes)
        self.has_aux = has_aux
        self.aux: np.ndarray | None = None  # per-sample aux outputs of the last call (has_aux=True)
        self._example = example  # the traced sample, for the data-dependence check
        self._verified = False
        self._at = None  # the step running: a _Step, "total" (the batch's sum) or None
        self._buffers: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        self._layout()

    # -- public API ------------------------------------------------------------------------

    def __call__(self, *batch, reduction: str = "mean") -> float:
        """Run forward and backward on the whole batch: return the mean (or ``'sum'``) output,
        and add the mean (or sum) of the parameter gradients into each ``p.grad``."""
        value, grads = self.value_and_grad(self._current_params(), *batch, reduction=reduction)
        for p, g in zip(self.params, grads.tolist()):
            p.grad += g
        return value

    def value_and_grad(self, params, *batch, reduction: str = "mean") -> tuple[float, np.ndarray]:
        """``program(*batch)`` at the parameter values ``params`` (an array, in ``program.params``
        order) instead of the Values' ``.data``: the mean (or ``'sum'``) output and its gradient,
        an array in the same order. No Value is read or changed: a training loop that keeps its
        parameters in an array (as ``fit(..., compiled=True)`` does) saves two passes over every
        parameter a step. (A floating-point error is explained by running the sample in eager
        mode with the parameters holding ``params`` for that moment: see ``_explain``.)"""
        one_of(reduction, ("mean", "sum"), "reduction")
        if self._num_loss_outputs != 1:
            raise ValueError(
                f"the traced function returned {self._num_loss_outputs} outputs; a gradient needs one "
                "Value (use program.forward for several outputs)"
            )
        params = self._load_params(params)
        arrays, size = self._batch_arrays(batch)
        values, grads = self._prepare(arrays, size)
        scale = 1.0 / size if reduction == "mean" else 1.0
        try:
            with np.errstate(**_RAISE):
                saved = self._run_forward(values, size)
                self._at = "total"
                total_output = float(np.sum(values[self._output_rows[0]]))
                by_slot = self._run_backward(values, grads, saved, scale)
            param_grads = np.empty(len(self.params))
            param_grads[self._param_index] = by_slot
            outputs = values
        except FloatingPointError:
            total_output, param_grads, outputs = self._explain(arrays, params, scale, backward=True)
        if self.has_aux:
            self.aux = _per_sample(outputs, self._aux_rows)
        return total_output * scale, param_grads

    def forward(self, *batch) -> np.ndarray:
        """The per-sample outputs: shape ``(batch,)`` for one output, ``(batch, k)`` for k (for
        ``has_aux=True``: the loss only; the aux outputs land in ``program.aux``)."""
        params = self._load_params(self._current_params())
        arrays, size = self._batch_arrays(batch)
        values, _ = self._prepare(arrays, size)
        try:
            with np.errstate(**_RAISE):
                self._run_forward(values, size)
        except FloatingPointError:
            values = self._explain(arrays, params, 1.0, backward=False)[2]
        if self.has_aux:
            self.aux = _per_sample(values, self._aux_rows)
        return _per_sample(values, self._output_rows[: self._num_loss_outputs])

    @property
    def instructions(self) -> list[Instruction]:
        """The program as plain data, in execution order."""
        return list(self.ir.instructions)

    @property
    def num_levels(self) -> int:
        return max((ins.level for ins in self.ir.instructions), default=0)

    def __repr__(self) -> str:
        parts = [f"a{i}" if k is None else f"a{i}[{k}]" for i, k in enumerate(self.input_shapes)]
        inputs = f"inputs ({', '.join(parts)})" if parts else "no inputs"
        ir = self.ir
        return (
            f"<Program: {inputs}, {len(self.params)} parameters, {len(ir.constants)} constants; "
            f"{ir.num_slots - ir.first_computed} nodes in {len(ir.instructions)} instructions "
            f"over {self.num_levels} levels>"
        )

    def __str__(self) -> str:
        return self.pretty()

    def pretty(self, per_instruction: int = 3, max_operands: int = 6) -> str:
        """A readable listing: one line per instruction, its first few nodes spelled out.

        Names: ``a0[1]`` is element 1 of argument 0 (``a1`` a number argument), ``p7`` parameter 7,
        ``c0`` a constant (values listed at the top), ``v12`` a computed node. A level of dots that
        runs as one matrix product (see ``_MatrixStep``) says so.
        """
        notes = {step.index: " (matrix product)" for step in self._steps if isinstance(step, _MatrixStep)}
        return "\n".join([repr(self)] + self.ir.listing(per_instruction, max_operands, notes))

    # -- layout: the gathers and scatters of every group ------------------------------------

    def _layout(self) -> None:
        ir = self.ir
        self._param_start, self._const_start, self._first_computed = ir.param_start, ir.const_start, ir.first_computed
        self._num_slots = ir.num_slots
        # Parameters and constants, once each: read by groups as (group, 1) columns that broadcast.
        self._static = np.zeros(len(ir.params) + len(ir.constants))
        self._static[len(ir.params) :] = ir.constants

        layout = _SlotKinds(ir.param_start, ir.const_start, ir.first_computed, ir.num_slots, ir.outputs[0])
        self._steps = []
        for ins in ir.instructions:
            index = np.asarray(ins.inputs, dtype=np.intp).reshape(len(ins.inputs), len(ins.outputs))
            step = _MatrixStep.recognise(ins, index, layout, len(self._steps))
            if step is None:
                kinds = [layout.column_kind(column) for column in index]
                gather = layout.gather_plan(index, ops.OPS[ins.op].arity is None)
                step = _Step(ins, gather, len(self._steps), kinds)
            self._steps.append(step)
        for step in reversed(self._steps):  # in backward order: each plan knows which rows hold a gradient
            step.plan_backward(layout)
        self._fill_static_rows = layout.reads_param_rows  # a mixed column reads parameters from `values`
        # Backward adds into every computed row, and into the rows below them that ``written`` marks
        # (the loss, and parameters or inputs in a mixed column): those are zeroed before each pass.
        # The parameters among them have per-sample gradients, summed over the batch at the end.
        self._written_below = np.flatnonzero(layout.written[: ir.first_computed])
        below = self._written_below
        self._per_sample_params = below[(below >= ir.param_start) & (below < ir.const_start)]
        self._param_index = np.asarray(ir.params, dtype=np.intp)

        outputs = list(ir.outputs)
        if any(ir.param_start <= row < ir.const_start for row in outputs):
            self._fill_static_rows = True  # a parameter returned as it is: read from `values`
        self._output_rows = outputs
        self._num_loss_outputs = len(outputs) - ir.num_aux
        self._aux_rows = outputs[len(outputs) - ir.num_aux :]

    # -- execution -------------------------------------------------------------------------

    def _batch_arrays(self, batch) -> tuple[list[np.ndarray], int]:
        shapes = self.input_shapes
        if len(batch) != len(shapes):
            raise TypeError(f"the program takes {len(shapes)} batch inputs (one per argument of fn), got {len(batch)}")
        arrays, size = [], None
        for index, (data, shape) in enumerate(zip(batch, shapes)):
            array = real_numbers(data, f"batch input {index}")
            rows = size if size is not None or not array.ndim else array.shape[0]  # batch input 0 sets it
            if array.shape != (rows,) + (() if shape is None else (shape,)):
                expected = f"({'batch' if size is None else size},{'' if shape is None else f' {shape}'})"
                raise ValueError(f"batch input {index} has shape {array.shape}, expected {expected}")
            size = rows
            arrays.append(array)
        if size is None:
            size = 1  # a function of the parameters alone: one evaluation
        if size == 0:
            raise ValueError("the batch is empty")
        if not self._verified:
            self._verify(arrays)
        return arrays, size

    def _current_params(self) -> np.ndarray:
        return np.fromiter((p.data for p in self.params), dtype=np.float64, count=len(self.params))

    def _load_params(self, params) -> np.ndarray:
        """Check ``params`` (one finite number per parameter, in ``self.params`` order), put them,
        in slot order, where the steps read them, and return them as an array."""
        data = real_numbers(params, "params")
        if data.shape != (len(self.params),):
            raise ValueError(f"params must hold one number per parameter, shape ({len(self.params)},), got {data.shape}")
        self._static[: len(data)] = data[self._param_index]
        return data

    def _prepare(self, arrays: list[np.ndarray], size: int) -> tuple[np.ndarray, np.ndarray]:
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
        if self._fill_static_rows:
            values[self._param_start : self._const_start] = self._static[: len(self.params), None]
        return buffers

    def _largest_temporary(self, size: int) -> int:
        """Bytes of the largest array one step makes: a group's stacked inputs or gradients."""
        widest = max((len(ins.inputs) * len(ins.outputs) for ins in self.ir.instructions), default=1)
        return max(widest, self._num_slots) * size * 8

    def _run_forward(self, values: np.ndarray, size: int) -> list:
        """Every group's values, in order; returns what each group read, for the backward pass."""
        saved = []
        for step in self._steps:
            self._at = step  # where NumPy flags an error, for _explain
            saved.append(step.forward(values, self._static, size))
        return saved

    def _run_backward(self, values, grads, saved, scale: float) -> np.ndarray:
        """Gradients flow from the last group to the first; each group's vector-Jacobian product
        is added into the gradients of its inputs, per sample (a matrix step adds its weights'
        gradients summed over the batch at once). Returns the parameters' gradients summed over
        the batch, in slot order."""
        grads[self._first_computed :] = 0.0
        grads[self._written_below] = 0.0
        grads[self._output_rows[0]] = scale
        param_grads = np.zeros(len(self.params))
        for step in reversed(self._steps):
            self._at = step
            step.backward(values, grads, saved[step.index], param_grads)
        self._at = None
        rows = self._per_sample_params
        param_grads[rows - self._param_start] += grads[rows].sum(axis=1)
        return param_grads

    # -- errors: the reference finds the sample, eager mode says what ------------------------

    def _explain(self, arrays: list[np.ndarray], params: np.ndarray, scale: float, backward: bool):
        """NumPy flagged a floating-point error in ``self._at`` (a step; "total": the batch's sum;
        None: the parameters' sums over the batch). Run the batch through the reference interpreter
        with the flags ignored: if every number is finite, the flag was a false alarm (a step
        inside a formula, or a derivative where no gradient flows) and the reference's numbers
        stand: (total output, parameter gradients by index, values). Otherwise run each sample
        whose numbers are not finite in eager mode, with the parameters holding ``params`` meanwhile,
        which raises its own error; if it raises none (only the sum over the batch overflows), an
        OverflowError names the step and the batch size."""
        with np.errstate(all="ignore"):
            values = reference.forward(self.ir, params, arrays)
            computed = values[self._first_computed :]
            bad = ~np.isfinite(computed).all(axis=0)
            total_output = float(np.sum(values[self._output_rows[0]]))
            param_grads = np.zeros(len(self.params))
            if backward and not bad.any() and np.isfinite(total_output):
                grads = reference.backward(self.ir, values, scale)
                bad |= ~np.isfinite(grads).all(axis=0)
                param_grads = reference.parameter_gradients(self.ir, grads)
        if not bad.any() and np.isfinite(total_output) and np.isfinite(param_grads).all():
            return total_output, param_grads, values
        with _holding(self.params, params):
            for sample in np.flatnonzero(bad).tolist():
                self._run_eagerly([array[sample].tolist() for array in arrays], scale, backward, sample)
        step, size = self._at, values.shape[1]
        if step == "total":
            message = f"the sum of the batch's {size} outputs overflows: the result exceeds the float64 range"
        else:
            ins = None if step is None else step.instruction
            where = "" if ins is None else f" in instruction {step.index} ({ins.op} x{len(ins.outputs)})"
            bad_params = ", ".join(str(k) for k in np.flatnonzero(~np.isfinite(param_grads)).tolist())
            message = (
                f"the gradients overflow{where} summed over this batch of {size} samples, though eager mode runs "
                f"each sample alone without an error: not finite for parameter {bad_params or '?'}"
            )
        raise OverflowError(message)

    def _run_eagerly(self, sample: list, scale: float, backward: bool, index: int) -> None:
        """Run ``fn`` on one sample in eager mode, backward on a copy of its graph so that no
        parameter's ``.grad`` changes; eager mode's error, if it raises one, gets a note."""
        try:
            outputs, _ = call(self.fn, sample, self.input_shapes, self.has_aux)
            if backward:
                _detached_copy(outputs[0]).backward(scale)
        except (ArithmeticError, ValueError) as error:
            _add_note(error, f"(compiled program: sample {index} of the batch)")
            raise

    # -- the data-dependence check ---------------------------------------------------------

    def _verify(self, arrays: list[np.ndarray]) -> None:
        """Build ``fn``'s graph again on the first batch's samples that differ from the example, in
        batch order, until ``_CHECK_NODES`` nodes have been built (at least one sample); every graph
        must be the example's. A batch of nothing but the example leaves the check to the next call."""
        if not arrays:
            self._verified = True
            return
        differs = np.zeros(len(arrays[0]), dtype=bool)
        for array, traced in zip(arrays, self._example):
            differs |= (array != traced) if array.ndim == 1 else (array != traced).any(axis=1)
        if not differs.any():
            return  # every sample is the traced example: nothing new to compare with yet
        expected = graph(self.fn, self._example, self.input_shapes, self.params, self.has_aux)
        count = max(1, _CHECK_NODES // len(expected[0]))
        for index in np.flatnonzero(differs)[:count].tolist():
            self._check_sample(arrays, index, expected)
        self._verified = True

    def _check_sample(self, arrays: list[np.ndarray], index: int, expected: tuple) -> None:
        """Build ``fn``'s graph on sample ``index`` of the batch: eager mode's error, or
        ``DataDependentGraphError`` if it is not ``expected``, the example's."""
        sample = [array[index].tolist() for array in arrays]
        try:
            other = graph(self.fn, sample, self.input_shapes, self.params, self.has_aux)
        except (ArithmeticError, ValueError) as error:  # eager mode's error for this sample
            _add_note(error, f"(compiled program: sample {index} of the batch, traced to check its graph)")
            raise
        difference = first_difference(expected, other)
        if difference is not None:
            raise DataDependentGraphError(
                f"the traced function builds a different graph for sample {index} of the batch than for "
                f"the example ({difference}): its graph depends on the data (an `if` on .data, or a number "
                "taken from .data), which one trace cannot replay. Express the choice with ops (relu, abs, "
                "a one-hot dot) or run it eagerly."
            )


def real_numbers(data, what: str) -> np.ndarray:
    """``data`` as an array of float64: a TypeError naming ``what`` unless it holds real numbers
    (not text, which would read as numbers, nor complex, bool or objects), a ValueError naming the
    first number that is not finite."""
    try:
        array = np.asarray(data)
    except (TypeError, ValueError) as error:  # ragged lists
        raise TypeError(f"{what} must be a list or array of real numbers: {error}") from None
    if array.dtype.kind not in "iuf":
        raise TypeError(f"{what} must be a list or array of real numbers, got {array.dtype.name} values")
    array = array.astype(np.float64, copy=False)
    if not np.isfinite(array).all():
        bad = tuple(np.argwhere(~np.isfinite(array))[0].tolist())
        raise ValueError(f"{what}{list(bad) if bad else ''} is {float(array[bad])!r}: numbers must be finite")
    return array


@contextlib.contextmanager
def _holding(params: list[Value], data: np.ndarray):
    """The parameters hold ``data`` inside the block, and their own values again after it."""
    saved = [p.data for p in params]
    for p, x in zip(params, data.tolist()):
        p.data = x
    try:
        yield
    finally:
        for p, x in zip(params, saved):
            p.data = x


def _add_note(error: BaseException, note: str) -> None:
    if hasattr(error, "add_note"):  # Python 3.11+
        error.add_note(note)


def _detached_copy(root: Value) -> Value:
    """A copy of ``root``'s graph, leaves included, so that a backward pass on it changes no
    ``.grad`` of the user's Values. Each node is copied and its references to inputs (a Value or a
    tuple of them, in whichever slots the engine keeps them) point to the copies."""
    copies: dict[Value, Value] = {}
    for v in topological_order([root]):
        c = copies[v] = copy.copy(v)
        for name in Value.__slots__:
            x = getattr(c, name, None)
            if type(x) is Value:
                setattr(c, name, copies[x])
            elif type(x) is tuple and x and type(x[0]) is Value:
                setattr(c, name, tuple(copies[u] for u in x))
    return copies[root]


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

    def __init__(self, instruction: Instruction, gather, index: int, kinds: list[str]):
        self.instruction, self.gather, self.index = instruction, gather, index
        self.scatter = None  # set by plan_backward, once every later group's plan is made
        # The instruction's op and output slots, in the forms the hot loops use.
        self.rule = ops.OPS[instruction.op]
        self.rows = slice(instruction.outputs.start, instruction.outputs.stop)
        # How the gathered pieces become the rule's arguments: an elementwise rule takes them as
        # they are, (group, 1) and (1, batch) columns that broadcast. A rule of many inputs stacks
        # them (m.sum, m.vecdot): its value takes them as they are where each of its parts (a dot's
        # weights, and its inputs) is read alike (``kinds``: one column kind per input), and each
        # broadcast to the full (group, batch) otherwise; its vjp, which may stack both parts,
        # always takes them full.
        if self.rule.arity is not None:
            self.value_args = self.vjp_args = _as_they_are
        else:
            parts = 2 if self.rule.paired else 1
            half = len(kinds) // parts
            alike = all(len(set(kinds[p * half : (p + 1) * half])) == 1 for p in range(parts))
            self.value_args = _stacked if alike else _stacked_full
            self.vjp_args = _stacked_full

    def plan_backward(self, layout: _SlotKinds) -> None:
        index = np.asarray(self.instruction.inputs, dtype=np.intp).reshape(len(self.instruction.inputs), -1)
        self.scatter = layout.scatter_plan(index, self.rule.arity is None)

    def forward(self, values: np.ndarray, static: np.ndarray, size: int):
        pieces = self.gather(values, static)
        rows = self.rows
        values[rows] = self.rule.value(np, *self.value_args(pieces, (rows.stop - rows.start, size)))
        return pieces

    def backward(self, values: np.ndarray, grads: np.ndarray, pieces, param_grads: np.ndarray) -> None:
        g = grads[self.rows]
        inputs = self.vjp_args(pieces, g.shape)
        self.scatter(self.rule.vjp(np, g, values[self.rows], *inputs), grads)


class _MatrixStep:
    """A level of dots that all read one vector of inputs, each input once, and whose weights are
    parameters, each read once: a dense layer, run as one matrix product forward and two backward.
    With ``W`` the weights (one column per dot), ``x`` the inputs and ``g`` the outputs' gradients,
    all ``(…, batch)`` but ``W``: the outputs are ``W.T @ x``, the inputs' gradients ``W @ g`` and
    the weights' ``x @ g.T``, summed over the batch at once. BLAS adds in an order of its own, so
    this step equals the reference interpreter to 1e-12 relative, not bit for bit. A weight that
    is a constant, inputs in another order for one dot, or a parameter read twice leave the level
    to ``_Step``.
    """

    __slots__ = ("instruction", "index", "rows", "weights", "shape", "inputs", "inputs_need_grad")

    @classmethod
    def recognise(cls, instruction: Instruction, index: np.ndarray, layout: _SlotKinds, number: int):
        """This step for ``instruction`` (its input slots ``index``) if it is such a level, else None."""
        if instruction.op != "dot":
            return None
        half = len(index) // 2
        weights, inputs = index[:half], index[half:]
        rows = inputs[:, 0]
        if not (
            layout.are_params(weights)
            and len(np.unique(weights)) == weights.size
            and (inputs == rows[:, None]).all()
            and len(np.unique(rows)) == len(rows)
            and not layout.are_static(rows).any()
        ):
            return None
        return cls(instruction, number, weights - layout.param_start, rows, layout.first_computed)

    def __init__(self, instruction: Instruction, index: int, positions: np.ndarray, rows: np.ndarray, first_computed: int):
        self.instruction, self.index = instruction, index
        self.rows = slice(instruction.outputs.start, instruction.outputs.stop)
        self.shape = positions.shape  # (inputs, dots)
        self.weights = _slice_or_index(positions.ravel())  # where static (and param_grads) hold W
        self.inputs = _slice_or_index(rows)
        self.inputs_need_grad = bool((rows >= first_computed).any())  # not a layer of the program's inputs

    def plan_backward(self, layout: _SlotKinds) -> None:
        if self.inputs_need_grad:
            layout.written[self.inputs] = True

    def forward(self, values: np.ndarray, static: np.ndarray, size: int):
        w, x = static[self.weights].reshape(self.shape), values[self.inputs]
        values[self.rows] = w.T @ x
        return w, x

    def backward(self, values: np.ndarray, grads: np.ndarray, saved, param_grads: np.ndarray) -> None:
        w, x = saved
        g = grads[self.rows]
        param_grads[self.weights] += (x @ g.T).ravel()
        if self.inputs_need_grad:
            grads[self.inputs] += w @ g


def _slice_or_index(slots: np.ndarray):
    """A slice for consecutive slots (indexing by it is a view), else the slots themselves."""
    return slice(int(slots[0]), int(slots[0]) + len(slots)) if _is_run(slots) else slots


def _as_they_are(pieces, shape):
    return pieces


def _stacked(pieces, shape):
    return tuple(chain(*pieces))


def _stacked_full(pieces, shape):
    return tuple(chain(*[_broadcast(piece, (len(piece),) + shape) for piece in pieces]))


def _broadcast(piece: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """``np.broadcast_to(piece, shape)``, a view, without its general checks: it runs for groups
    of every step, and the pieces are C-contiguous arrays whose length-1 axes stretch."""
    if piece.shape == shape:
        return piece
    if not piece.flags.c_contiguous:
        return np.broadcast_to(piece, shape)
    strides = tuple(0 if n == 1 else stride for n, stride in zip(piece.shape, piece.strides))
    return np.ndarray(shape, np.float64, piece, 0, strides)


class _SlotKinds:
    """Builds each group's gather and scatter functions from its index array ``(arity, group)``.

    Slots are inputs, then parameters and constants (the static slots: the same for every sample),
    then computed nodes. A column of a group's inputs that is static is read from the small
    ``static`` vector as ``(group, 1)``; one that is the same slot for every node of the group (a
    layer's inputs, shared by all its neurons) as ``(1, batch)``; NumPy broadcasting does the rest.
    """

    def __init__(self, param_start: int, const_start: int, first_computed: int, num_slots: int, loss: int):
        self.param_start, self.const_start, self.first_computed = param_start, const_start, first_computed
        self.reads_param_rows = False  # some column reads parameters as rows of `values`
        self.written = np.zeros(num_slots, dtype=bool)  # rows holding a gradient, as scatter plans are made
        self.written[loss] = True

    def are_static(self, slots: np.ndarray) -> np.ndarray:
        return (slots >= self.param_start) & (slots < self.first_computed)

    def are_params(self, slots: np.ndarray) -> bool:
        return bool(((slots >= self.param_start) & (slots < self.const_start)).all())

    def column_kind(self, column: np.ndarray) -> str:
        if self.are_static(column).all():
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
        if not ((column >= self.param_start) & ((column < self.const_start) | (column >= self.first_computed))).any():
            return "none"  # inputs and constants need no gradient
        return "shared" if (column == column[0]).all() else "rows"

    def scatter_plan(self, index: np.ndarray, stacked: bool):
        """A function ``(input grads, grads) -> None`` that adds a group's vector-Jacobian product
        into the gradients of its inputs, edge after edge in the order the reference adds them
        (input by input, node by node). Call it for the groups in backward order: it notes which
        rows hold a gradient already."""
        if stacked:
            runs = self.runs(index, self.destination_kind)
        else:  # the rule returns one array per input: one writer each
            runs = [(self.destination_kind(column), k, k + 1) for k, column in enumerate(index)]
        writers = [(a, b, self._writer(kind, index[a:b])) for kind, a, b in runs if kind != "none"]
        if stacked:

            def scatter(input_grads, grads):
                if type(input_grads) is not np.ndarray:
                    input_grads = np.stack(np.broadcast_arrays(*input_grads))
                for a, b, write in writers:
                    write(input_grads[a:b], grads)

            return scatter

        def scatter(input_grads, grads):
            for a, _, write in writers:
                write(input_grads[a], grads)

        return scatter

    def _writer(self, kind: str, block: np.ndarray):
        """A function adding one run of input gradients, ``(run, group, batch)`` (or ``(group,
        batch)`` for a single column), into the gradients of the slots in ``block``."""
        arity, width = block.shape
        flat = block.ravel()
        rows = block[:, 0].copy()
        fresh = not self.written[flat].any()
        self.written[flat] = True
        if len(np.unique(flat)) == len(flat):  # one edge into each slot: one addition each
            if _is_run(flat):
                start, stop = int(flat[0]), int(flat[0]) + len(flat)

                def write(part, grads):
                    grads[start:stop] += part.reshape(len(flat), -1)

                return write

            def write(part, grads):
                grads[flat] += part.reshape(len(flat), -1)

            return write

        def add_one_by_one(part, grads):  # np.add.at: each edge in turn, but 10-20x slower
            np.add.at(grads, flat, np.broadcast_to(part, (arity, width, grads.shape[1])).reshape(len(flat), -1))

        if kind == "shared" and fresh and len(np.unique(rows)) == arity:
            # A layer's inputs, each read by every neuron of the next: summing a row's edges over
            # the group adds them in the same order (NumPy sums along a leading axis one by one
            # when a batch has 2 samples or more), and into a gradient that is still 0.
            def write(part, grads):
                if grads.shape[1] == 1:
                    add_one_by_one(part, grads)
                else:
                    grads[rows] += part.reshape(arity, width, -1).sum(axis=1)

            return write
        return add_one_by_one


def _is_run(slots: np.ndarray) -> bool:
    """Whether ``slots`` are consecutive and increasing, so that a slice reads them as a view."""
    return bool(len(slots)) and bool(np.array_equal(slots, np.arange(slots[0], slots[0] + len(slots))))


