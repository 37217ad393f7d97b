"""Tracing: call a function of Values once and record what it computed as plain data (the IR).

The IR numbers the program's storage in slots: the per-sample inputs first, then the parameters,
the constants and the computed nodes. Computed nodes are grouped by level (the longest path from
an input or parameter) and op, and each group is one ``Instruction``: ``op`` applied to
``len(outputs)`` nodes at once, ``inputs[k][i]`` the slot read as input ``k`` of output ``i``.
A subgraph that reads no input and no parameter is folded into one constant, its traced value.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from micrograd.engine import Value, topological_order

__all__ = ["Instruction", "IR", "DataDependentGraphError", "trace", "graph", "first_difference", "call"]


class DataDependentGraphError(ValueError):
    """The traced function builds a different graph for different samples, so one trace cannot
    stand for all of them."""


@dataclass(frozen=True)
class Instruction:
    """``op`` applied to the nodes in slots ``outputs``; ``inputs[k][i]`` is input ``k`` of output ``i``."""

    op: str
    level: int
    outputs: range
    inputs: tuple[tuple[int, ...], ...]


@dataclass(frozen=True)
class IR:
    """A traced function as plain data: what a program computes, in slots (see the module docstring)."""

    input_shapes: tuple[int | None, ...]  # per argument: None for a number, k for a list of k numbers
    params: tuple[int, ...]  # the index in ``compile``'s params of each parameter slot, in slot order
    constants: tuple[float, ...]
    instructions: tuple[Instruction, ...]
    outputs: tuple[int, ...]  # the slots returned: the loss (or several outputs), then the aux outputs
    num_aux: int

    @property
    def param_start(self) -> int:
        return sum(1 if k is None else k for k in self.input_shapes)

    @property
    def const_start(self) -> int:
        return self.param_start + len(self.params)

    @property
    def first_computed(self) -> int:
        return self.const_start + len(self.constants)

    @property
    def num_slots(self) -> int:
        return self.instructions[-1].outputs.stop if self.instructions else self.first_computed

    def slot_name(self, slot: int) -> str:
        """``a0[1]``: element 1 of argument 0 (``a1`` a number argument); ``p7``: parameter 7;
        ``c0``: a constant; ``v12``: a computed node."""
        if slot < self.param_start:
            row = 0
            for i, k in enumerate(self.input_shapes):
                width = 1 if k is None else k
                if slot < row + width:
                    return f"a{i}" if k is None else f"a{i}[{slot - row}]"
                row += width
        if slot < self.const_start:
            return f"p{self.params[slot - self.param_start]}"
        if slot < self.first_computed:
            return f"c{slot - self.const_start}"
        return f"v{slot - self.first_computed}"

    def listing(self, per_instruction: int = 3, max_operands: int = 6, notes: dict[int, str] | None = None) -> list[str]:
        """One line per instruction, its first few nodes spelled out, after ``notes`` [its index]
        if any; the constants first."""
        name = self.slot_name
        lines = []
        if self.constants:
            lines.append("  constants: " + ", ".join(f"c{i} = {v!r}" for i, v in enumerate(self.constants)))
        for number, ins in enumerate(self.instructions):
            count = len(ins.outputs)
            examples = []
            for i, slot in enumerate(ins.outputs[:per_instruction]):
                operands = [name(column[i]) for column in ins.inputs]
                if len(operands) > max_operands:
                    operands = operands[: max_operands - 1] + ["...", operands[-1]]
                examples.append(f"{name(slot)} = {ins.op}({', '.join(operands)})")
            more = f"; ... {count - per_instruction} more" if count > per_instruction else ""
            note = (notes or {}).get(number, "")
            lines.append(f"{f'  level {ins.level}: {ins.op} x{count}{note}':<28} {'; '.join(examples)}{more}")
        lines.append(f"  outputs: {', '.join(name(s) for s in self.outputs)}")
        return lines


def _constant_key(x: float) -> tuple[float, float]:
    return (x, math.copysign(1.0, x))  # 0.0 and -0.0 stay apart


def trace(fn, rows: list, shapes: list[int | None], params: list[Value], has_aux: bool) -> IR:
    """Call ``fn`` on fresh leaves holding ``rows`` (one per argument) and record its graph as an IR."""
    input_slot: dict[Value, int] = {}
    outputs, num_aux = call(fn, rows, shapes, has_aux, input_slot)
    param_index = {p: k for k, p in enumerate(params)}
    order = topological_order(outputs)

    # Levels, and constant folding: a node that reads no input and no parameter is a constant.
    level: dict[Value, int] = {}  # 0 for the leaves and constants
    constants: dict[tuple[float, float], int] = {}  # its key -> its number among the constants
    constant_of: dict[Value, int] = {}
    groups: dict[tuple[int, str, int], list[tuple[Value, tuple[Value, ...]]]] = {}  # (node, its inputs)
    for v in order:
        if v in input_slot or v in param_index:
            level[v] = 0
            continue
        rule, inputs = v._rule, v._prev
        if rule is None and inputs:
            raise TypeError(
                f"compile: the {v._op!r} node was built with Value(data, children, op) and its own _backward, "
                "which a compiled program cannot run; declare the op in micrograd.ops instead (an Op with "
                "its value and vjp), as docs/extending.md shows"
            )
        if rule is not None and rule.fixed is not None:  # x ** 2: one node in eager mode, the op of x and 2 here
            rule, number = rule.fixed
            constant = Value(number)
            constant_of[constant] = constants.setdefault(_constant_key(number), len(constants))
            level[constant] = 0
            inputs += (constant,)
        if rule is None or all(u in constant_of for u in inputs):
            constant_of[v] = constants.setdefault(_constant_key(v.data), len(constants))
            level[v] = 0
        else:
            level[v] = 1 + max(level[u] for u in inputs)
            groups.setdefault((level[v], rule.name, len(inputs)), []).append((v, inputs))

    # Parameters take slots in the order the groups first read them, input by input: then a
    # layer's weights, or its biases, are one run of slots (the fast executor reads them as a view).
    keys = sorted(groups)
    rank: dict[int, int] = {}
    for key in keys:
        for column in zip(*[inputs for _, inputs in groups[key]]):
            for u in column:
                index = param_index.get(u)
                if index is not None:
                    rank.setdefault(index, len(rank))
    for index in range(len(params)):
        rank.setdefault(index, len(rank))
    param_order = sorted(range(len(params)), key=rank.__getitem__)

    param_start = len(input_slot)
    const_start = param_start + len(params)
    slot = dict(input_slot)
    slot.update((p, param_start + rank[k]) for p, k in param_index.items())
    slot.update((v, const_start + k) for v, k in constant_of.items())
    next_slot = const_start + len(constants)
    instructions = []
    for key in keys:
        members = groups[key]
        first = next_slot
        for v, _ in members:
            slot[v] = next_slot
            next_slot += 1
        columns = tuple(tuple(slot[u] for u in column) for column in zip(*[inputs for _, inputs in members]))
        instructions.append(Instruction(key[1], key[0], range(first, next_slot), columns))
    return IR(
        input_shapes=tuple(shapes),
        params=tuple(param_order),
        constants=tuple(key[0] for key in constants),
        instructions=tuple(instructions),
        outputs=tuple(slot[v] for v in outputs),
        num_aux=num_aux,
    )


def graph(fn, rows: list, shapes: list[int | None], params: list[Value], has_aux: bool) -> tuple:
    """The graph ``fn`` builds on ``rows``, as plain data to compare: one entry per node in
    topological order (an input's slot, a parameter's index, a constant's value, or a computed
    node's op, by its rule's name and its symbol, and its inputs' places in the list), then the
    outputs' places and the number of aux outputs. Two samples build the same graph exactly when these are equal. Cheaper than ``trace``,
    which also groups and numbers the nodes: the first call of a program compares graphs with it."""
    input_slot: dict[Value, int] = {}
    outputs, num_aux = call(fn, rows, shapes, has_aux, input_slot)
    param_index = {p: k for k, p in enumerate(params)}
    order = topological_order(outputs)
    place = {v: k for k, v in enumerate(order)}
    nodes = []
    for v in order:
        if v in input_slot:
            nodes.append(("input", input_slot[v]))
        elif v in param_index:
            nodes.append(("parameter", param_index[v]))
        elif not v._prev:
            nodes.append(("constant", _constant_key(v.data)))
        else:  # x ** 2 and x ** 3 share a rule; ** is the symbol of three (a node with its own _backward: none)
            rule = v._rule.name if v._rule is not None else "its own _backward"
            nodes.append(("op", (rule, v._op), tuple(place[u] for u in v._prev)))
    return tuple(nodes), tuple(place[v] for v in outputs), num_aux


def first_difference(a: tuple, b: tuple) -> str | None:
    """None if ``graph`` gave ``a`` and ``b`` for the same graph, else its first difference in words."""
    for k, (x, y) in enumerate(zip(a[0], b[0])):
        if x != y:
            return f"node {k} is {_node_in_words(x)}, then {_node_in_words(y)}"
    if len(a[0]) != len(b[0]):
        return f"{len(a[0])} nodes, then {len(b[0])}"
    return None if a == b else "the outputs are different nodes"


def _node_in_words(entry: tuple) -> str:
    kind, what = entry[:2]
    if kind == "constant":
        return f"the constant {what[0]!r}"
    if kind in ("input", "parameter"):
        return f"{kind} {what}"
    return f"{what[1]} of nodes {', '.join(map(str, entry[2]))}"


def call(fn, rows: list, shapes: list[int | None], has_aux: bool, leaves: dict | None = None):
    """Run ``fn`` eagerly on fresh leaves holding ``rows``: (the Values it returned, the loss or
    outputs first; how many of them are aux). ``leaves``, if given, gets each input leaf's slot."""
    leaves = {} if leaves is None else leaves
    args = []
    for row, shape in zip(rows, shapes):
        made = [Value(x) for x in ([row] if shape is None else row)]
        for leaf in made:
            leaves[leaf] = len(leaves)
        args.append(made[0] if shape is None else made)
    return _outputs(fn(*args), has_aux)


def _outputs(result, has_aux: bool) -> tuple[list[Value], int]:
    """The Values ``fn`` returned, the loss (or outputs) first; and how many of them are aux."""
    if not has_aux:
        return _values(result, "fn"), 0
    if not isinstance(result, (tuple, list)) or len(result) != 2 or not isinstance(result[0], Value):
        raise TypeError("compile: with has_aux=True, fn must return (loss, aux), the loss one Value")
    aux = _values(result[1], "aux")
    return [result[0]] + aux, len(aux)


def _values(result, what: str) -> list[Value]:
    if isinstance(result, Value):
        return [result]
    if isinstance(result, (list, tuple)) and result and all(isinstance(v, Value) for v in result):
        return list(result)
    raise TypeError(f"compile: {what} must return a Value or a non-empty list of Values, got {type(result).__name__}")
