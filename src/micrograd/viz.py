"""Pictures of a computation graph, laid out as in the lesson: a record per Value, a small node per op.

``graph_nodes`` describes the graph as plain data (one ``GraphNode`` per box); the DOT text of
``to_dot`` and ``draw_dot``, and any other drawing, is made from it. ``to_dot`` needs nothing
beyond the standard library; ``draw_dot`` needs the ``graphviz`` package
(``pip install 'micrograd-plus[viz]'``) and Graphviz's ``dot`` program to render.
"""

from __future__ import annotations

from typing import NamedTuple

from micrograd._validate import of_type, one_of, positive_int, whole_number
from micrograd._extras import NO_DOT, require
from micrograd.engine import Value, topological_order

__all__ = ["GraphNode", "graph_nodes", "nodes_to_dot", "to_dot", "draw_dot", "render", "format_number"]

RANKDIRS = ("LR", "TB", "RL", "BT")
MAX_PRECISION = 17  # decimals: 17 significant digits tell every float64 apart


class GraphNode(NamedTuple):
    """One box of a graph picture: a Value, or a product that ``expand_dot`` draws inside a ``dot``."""

    key: str  # unique within one graph_nodes call: 'n0' is the root, then numbered walking back from it
    label: str
    data: float
    grad: float
    op: str  # the op that made it ('*', 'tanh', ...), '' for a leaf
    inputs: tuple[str, ...]  # the keys of the nodes it was computed from, in order
    value: Value | None  # the Value it shows; None for a product drawn by expand_dot


def graph_nodes(root: Value, *, expand_dot: bool = False, max_nodes: int = 500) -> list[GraphNode]:
    """The graph that computed ``root`` as data: one GraphNode per box, each after its inputs.

    The order is ``engine.topological_order``'s, so ``root`` comes last; its key is ``'n0'``, and
    the keys count up walking back towards the leaves. With ``expand_dot`` a ``dot`` node becomes
    what the lesson writes out by hand: a ``*`` node for each ``w_i * x_i`` (its data from its
    inputs, its grad the dot's, since d(sum)/d(term) = 1) and a ``+`` node of those products
    standing for the dot itself. Numbers are read now: call after ``backward()`` to show grads.
    Raises ValueError when there would be more than ``max_nodes`` nodes.
    """
    of_type(root, Value, "root", "the Value whose graph to draw")
    positive_int(max_nodes, "max_nodes")
    rows = []  # (label, data, grad, op, input positions in rows, value)
    position = {}  # id(Value) -> its row
    for v in topological_order([root]):
        prev = v._prev
        op, inputs = v._op, [position[id(u)] for u in prev]
        if expand_dot and op == "dot":
            half = len(prev) // 2  # a dot's inputs are its weights, then as many inputs
            products = []
            for i in range(half):
                w, x = prev[i], prev[half + i]
                label = f"{w.label}*{x.label}" if w.label and x.label else ""
                products.append(len(rows))
                rows.append((label, w.data * x.data, v.grad, "*", (inputs[i], inputs[half + i]), None))
            op, inputs = "+", products
        position[id(v)] = len(rows)
        rows.append((v.label, v.data, v.grad, op, inputs, v))
    if len(rows) > max_nodes:
        raise ValueError(
            f"the graph has {len(rows)} nodes to draw, more than max_nodes={max_nodes}; pass a larger "
            f"max_nodes= to draw it anyway (Graphviz may take minutes on thousands of nodes)"
        )
    last = len(rows) - 1
    return [
        GraphNode(f"n{last - i}", label, data, grad, op, tuple(f"n{last - j}" for j in inputs), value)
        for i, (label, data, grad, op, inputs, value) in enumerate(rows)
    ]


def to_dot(
    root: Value, rankdir: str = "LR", *, expand_dot: bool = False, precision: int = 4, max_nodes: int = 500
) -> str:
    """The graph that computed ``root`` as DOT text, ready for Graphviz's ``dot`` program.

    Every node of ``graph_nodes(root, expand_dot=..., max_nodes=...)`` is a record
    ``label | data x | grad y`` (``precision`` decimals) and every op a small node between its
    inputs and its result, named after the node's key, so the same graph always gives the same
    text. ``expand_dot=True`` draws each ``dot`` as its products and their sum, as the lesson does.
    """
    return nodes_to_dot(graph_nodes(root, expand_dot=expand_dot, max_nodes=max_nodes), rankdir, precision=precision)


def nodes_to_dot(nodes: list[GraphNode], rankdir: str = "LR", *, precision: int = 4) -> str:
    """DOT text of ``nodes`` as ``graph_nodes`` lists them (perhaps with other numbers put in)."""
    _check_options(rankdir, precision)
    return "digraph {\n" + "".join(_dot_lines(nodes, rankdir, precision)) + "}\n"


def draw_dot(
    root: Value,
    rankdir: str = "LR",
    format: str = "svg",
    *,
    expand_dot: bool = False,
    precision: int = 4,
    max_nodes: int = 500,
):
    """The graph that computed ``root`` as a ``graphviz.Digraph``, the same graph ``to_dot`` writes.

    In Jupyter it shows inline; ``.render(path)`` writes a file and ``.pipe()`` returns the bytes
    of the picture in ``format`` ('svg', 'png', ...). ``expand_dot=True`` draws each ``dot`` node
    as its products and their sum.
    """
    require("draw_dot (to_dot needs nothing)", "viz")
    import graphviz

    _check_options(rankdir, precision)
    lines = _dot_lines(graph_nodes(root, expand_dot=expand_dot, max_nodes=max_nodes), rankdir, precision)
    # The body lines are already valid, escaped DOT: handing them over verbatim means draw_dot
    # and to_dot cannot disagree (Digraph(...).source == to_dot(...)).
    return graphviz.Digraph(format=format, body=lines)


def format_number(x: float, precision: int = 4) -> str:
    """``x`` with ``precision`` decimals; in scientific notation when that would hide it or be long."""
    if x == 0:
        x = 0.0  # no "-0.0000"
    magnitude = abs(x)
    if magnitude >= 1e6 or (magnitude and magnitude < 10.0**-precision):
        return f"{x:.{precision}e}"
    return f"{x:.{precision}f}"


def _dot_lines(nodes: list[GraphNode], rankdir: str, precision: int) -> list[str]:
    """The body of the DOT graph of ``nodes`` (in graph_nodes' order), one statement a line, root first."""
    nodes = nodes[::-1]
    # In a left-right layout a record's top-level fields stack vertically, so braces turn them
    # back into one row; in a top-bottom layout the top level already is a row.
    left, right = ("{ ", " }") if rankdir in ("LR", "RL") else ("", "")
    lines = [f"\tgraph [rankdir={rankdir}]\n"]
    for node in nodes:
        data, grad = format_number(node.data, precision), format_number(node.grad, precision)
        fields = f"{_record_text(node.label)} | data {data} | grad {grad}"
        lines.append(f'\t{node.key} [label="{left}{fields}{right}" shape=record]\n')
        if node.op:
            op = f"{node.key}_op"
            lines.append(f'\t{op} [label="{_dot_text(node.op)}" fontsize=11 height=0.3 margin="0.05,0.02"]\n')
            lines.append(f"\t{op} -> {node.key}\n")
    for node in nodes:
        # An input used twice (a * a) gets two edges: the op really has two inputs.
        for key in node.inputs:
            lines.append(f"\t{key} -> {node.key}_op\n")
    return lines


def _check_options(rankdir: str, precision: int) -> None:
    one_of(rankdir, RANKDIRS, "rankdir")
    whole_number(precision, "precision", minimum=0, maximum=MAX_PRECISION)  # decimals


def _record_text(text: str) -> str:
    """``text`` escaped for one field of a record label inside a double-quoted DOT string."""
    out = []
    text = str(text).replace("\r\n", "\n").replace("\r", "\n")
    for i, ch in enumerate(text):
        if ch in '{}|<>"\\':  # record syntax and DOT quoting
            out.append("\\" + ch)
        elif ch == " ":
            # Graphviz trims blanks at a field's ends, even escaped ones: a no-break space stays.
            kept = i == 0 or i == len(text) - 1 or text[i - 1] in " \n" or text[i + 1] == "\n"
            out.append("\u00a0" if kept else " ")
        elif ch == "\n":
            out.append("\\n")
        elif not ch.isprintable():
            out.append(repr(ch)[1:-1].replace("\\", "\\\\"))  # shown as \x07, never raw
        else:
            out.append(ch)
    return "".join(out)


def _dot_text(text: str) -> str:
    """``text`` for a plain (non-record) label inside a double-quoted DOT string."""
    return str(text).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def render(graph) -> bytes:
    """The picture ``draw_dot`` describes, as bytes (SVG, PNG ...); a missing or failing Graphviz
    becomes an OSError that says what to do."""
    import graphviz

    try:
        return graph.pipe()
    except graphviz.ExecutableNotFound:
        raise OSError(f"drawing a picture (a .dot output needs none) needs {NO_DOT}") from None
    except graphviz.CalledProcessError as error:
        detail = (error.stderr or b"").decode("utf-8", "replace").strip().splitlines()
        raise OSError(f"Graphviz's dot failed: {detail[-1] if detail else error}") from None


