"""Graph pictures: DOT text, real renders by Graphviz's dot (SVG and PNG), limits and the graph command.

Expected numbers are the lesson's published ones for its neuron (o = 0.7071; grads x1 -1.5,
w1 1.0, x2 0.5, w2 0.0) and hand derivations; nothing is compared with what viz itself computes.
"""

import io
import os
import re
import struct
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from micrograd import Value, dot, total
from micrograd.cli import main
from micrograd.cli import graph_command
from micrograd.nn import Neuron
from micrograd.viz import GraphNode, draw_dot, format_number, graph_nodes, render, to_dot

NEURON = "tanh(x1*w1 + x2*w2 + b)"
NEURON_AT = "x1=2,x2=0,w1=-3,w2=1,b=6.8813735870195432"
SVG = "{http://www.w3.org/2000/svg}"


def lesson_neuron() -> Value:
    """The lesson's neuron, built and labelled as in the lesson, after backward."""
    x1 = Value(2.0, label="x1")
    x2 = Value(0.0, label="x2")
    w1 = Value(-3.0, label="w1")
    w2 = Value(1.0, label="w2")
    b = Value(6.8813735870195432, label="b")
    x1w1 = x1 * w1
    x1w1.label = "x1w1"
    x2w2 = x2 * w2
    x2w2.label = "x2w2"
    x1w1x2w2 = x1w1 + x2w2
    x1w1x2w2.label = "x1w1 + x2w2"
    n = x1w1x2w2 + b
    n.label = "n"
    o = n.tanh()
    o.label = "o"
    o.backward()
    return o


def run_dot(dot_text: str, fmt: str) -> bytes:
    """Render with the dot program itself, failing on any warning as well as on an error."""
    done = subprocess.run(["dot", f"-T{fmt}"], input=dot_text.encode("utf-8"), capture_output=True, timeout=60)
    assert done.returncode == 0, done.stderr.decode()
    assert done.stderr == b"", done.stderr.decode()
    return done.stdout


def svg_nodes(svg: bytes) -> dict[str, list[tuple[float, float, str]]]:
    """For each node drawn in an SVG from dot: its name and its texts as (x, y, text), in order."""
    nodes = {}
    for group in ET.fromstring(svg).iter(f"{SVG}g"):
        if group.get("class") == "node":
            texts = [
                (float(t.get("x")), float(t.get("y")), (t.text or "").replace("\xa0", " "))
                for t in group.iter(f"{SVG}text")
            ]
            nodes[group.find(f"{SVG}title").text] = texts
    return nodes


def records(svg: bytes) -> dict[str, list[str]]:
    """The Value records of an SVG by their label: [label, 'data ...', 'grad ...']."""
    found = {}
    for name, texts in svg_nodes(svg).items():
        if not name.endswith("_op"):
            found[texts[0][2]] = [t for _, _, t in texts]
    return found


def png_size(png: bytes) -> tuple[int, int]:
    assert png[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG signature"
    assert png[12:16] == b"IHDR"
    return struct.unpack(">II", png[16:24])


def test_lesson_neuron_svg_shows_every_value_with_its_data_and_grad():
    svg = draw_dot(lesson_neuron()).pipe(format="svg")
    shown = records(svg)
    assert shown["o"] == ["o", "data 0.7071", "grad 1.0000"]
    assert shown["n"] == ["n", "data 0.8814", "grad 0.5000"]  # 1 - 0.7071**2 = 0.5
    assert shown["x1"] == ["x1", "data 2.0000", "grad -1.5000"]
    assert shown["w1"] == ["w1", "data -3.0000", "grad 1.0000"]
    assert shown["x2"] == ["x2", "data 0.0000", "grad 0.5000"]
    assert shown["w2"] == ["w2", "data 1.0000", "grad 0.0000"]
    assert shown["b"] == ["b", "data 6.8814", "grad 0.5000"]
    assert shown["x1w1 + x2w2"] == ["x1w1 + x2w2", "data -6.0000", "grad 0.5000"]
    assert len(shown) == 10
    ops = sorted(texts[0][2] for name, texts in svg_nodes(svg).items() if name.endswith("_op"))
    assert ops == ["*", "*", "+", "+", "tanh"]


def dot_neuron() -> Value:
    """The lesson's neuron with its weighted sum as one ``dot`` node (as nn.Neuron makes it), after backward."""
    x1, x2 = Value(2.0, label="x1"), Value(0.0, label="x2")
    w1, w2 = Value(-3.0, label="w1"), Value(1.0, label="w2")
    b = Value(6.8813735870195432, label="b")
    n = dot([w1, w2], [x1, x2]) + b
    n.label = "n"
    o = n.tanh()
    o.label = "o"
    o.backward()
    return o


def test_graph_nodes_lists_every_value_after_its_inputs():
    o = dot_neuron()
    nodes = graph_nodes(o)
    assert all(type(node) is GraphNode for node in nodes)
    assert [node.key for node in nodes][-1] == "n0" and nodes[-1].value is o  # the root: last, key n0
    assert sorted(node.key for node in nodes) == sorted(f"n{i}" for i in range(len(nodes)))
    seen = set()
    for node in nodes:
        assert set(node.inputs) <= seen, node  # inputs come first
        seen.add(node.key)
    by_label = {node.label: node for node in nodes}
    assert len(nodes) == 8  # five leaves, the dot, n, o
    the_dot = next(node for node in nodes if node.op == "dot")
    assert the_dot.inputs == tuple(by_label[k].key for k in ("w1", "w2", "x1", "x2"))  # weights, then inputs
    assert the_dot.data == -6.0 and the_dot.grad == pytest.approx(0.5, abs=1e-15)  # 1 - tanh(n)**2
    assert by_label["x1"].op == "" and by_label["x1"].inputs == () and by_label["x1"].value.label == "x1"


def test_expand_dot_gives_the_lesson_neuron_as_worked_by_hand():
    # By hand: n = 2*-3 + 0*1 + 6.8814 = 0.8814, o = tanh(n) = 0.7071 = 1/sqrt(2), do/dn = 1 - o**2 = 0.5;
    # every term of a sum gets the sum's grad 0.5; x1's grad is w1 * 0.5 = -1.5, w1's is x1 * 0.5 = 1.0,
    # x2's is w2 * 0.5 = 0.5 and w2's is x2 * 0.5 = 0.0.
    nodes = graph_nodes(dot_neuron(), expand_dot=True)
    key = {node.key: node for node in nodes}
    by_label = {node.label: node for node in nodes}
    assert len(nodes) == 10  # as the lesson's own graph: x1 x2 w1 w2 b, two products, their sum, n, o
    expected = {  # label: (data, grad, op, labels of the inputs)
        "w1*x1": (-6.0, 0.5, "*", ("w1", "x1")),
        "w2*x2": (0.0, 0.5, "*", ("w2", "x2")),
        "": (-6.0, 0.5, "+", ("w1*x1", "w2*x2")),  # the dot itself, unlabelled, now a sum
        "n": (0.8813735870195432, 0.5, "+", ("", "b")),
        "o": (2**-0.5, 1.0, "tanh", ("n",)),
        "x1": (2.0, -1.5, "", ()),
        "w1": (-3.0, 1.0, "", ()),
        "x2": (0.0, 0.5, "", ()),
        "w2": (1.0, 0.0, "", ()),
    }
    for label, (data, grad, op, inputs) in expected.items():
        node = by_label[label]
        assert node.data == pytest.approx(data, abs=1e-15) and node.grad == pytest.approx(grad, abs=1e-15), label
        assert (node.op, tuple(key[k].label for k in node.inputs)) == (op, inputs), label
    assert by_label["w1*x1"].value is None and by_label["w2*x2"].value is None  # drawn, not in the engine's graph
    assert by_label[""].value._op == "dot"  # the sum stands for the dot Value
    svg = run_dot(to_dot(dot_neuron(), expand_dot=True), "svg")
    assert records(svg)["w1*x1"] == ["w1*x1", "data -6.0000", "grad 0.5000"]
    ops = sorted(texts[0][2] for name, texts in svg_nodes(svg).items() if name.endswith("_op"))
    assert ops == ["*", "*", "+", "+", "tanh"]  # the lesson's picture: no dot box
    assert "dot" not in to_dot(dot_neuron(), expand_dot=True) and '[label="dot"' in to_dot(dot_neuron())


def test_an_nn_neuron_expanded_draws_each_product_and_one_sum():
    neuron = Neuron(3, "tanh")
    y = neuron([1.0, -2.0, 0.5])
    y.backward()
    nodes = graph_nodes(y, expand_dot=True)
    products = [node for node in nodes if node.op == "*"]
    inputs = [1.0, -2.0, 0.5]
    assert [p.data for p in products] == [w.data * x for w, x in zip(neuron.w, inputs)]
    dot_grad = 1 - y.data**2  # tanh's derivative; the + b passes it on unchanged
    assert [p.grad for p in products] == pytest.approx([dot_grad] * 3, abs=1e-15)
    assert sorted(node.op for node in nodes if node.op) == ["*", "*", "*", "+", "+", "tanh"]
    assert len(graph_nodes(y)) == 3 + 3 + 1 + 1 + 1 + 1  # w, x, b, the dot, + b, tanh


def test_graph_nodes_arguments_are_checked():
    with pytest.raises(TypeError, match="root must be the Value whose graph to draw, got"):
        graph_nodes(1.0)
    with pytest.raises(ValueError, match="max_nodes"):
        graph_nodes(dot_neuron(), max_nodes=0)
    with pytest.raises(ValueError, match="10 nodes to draw, more than max_nodes=8"):
        graph_nodes(dot_neuron(), expand_dot=True, max_nodes=8)  # 8 Values, drawn as 10 nodes
    assert len(graph_nodes(dot_neuron(), max_nodes=8)) == 8


def test_records_read_as_one_row_in_every_direction():
    for rankdir in ("LR", "TB", "RL", "BT"):
        svg = run_dot(to_dot(lesson_neuron(), rankdir), "svg")
        (label, data, grad) = next(texts for name, texts in svg_nodes(svg).items() if texts[0][2] == "x1")
        assert label[1] == data[1] == grad[1], rankdir  # same baseline
        assert label[0] < data[0] < grad[0], rankdir  # label, data, grad from left to right


def test_edges_go_from_inputs_through_the_op_to_the_result():
    text = to_dot(lesson_neuron())
    names = dict(re.findall(r'\t(n\d+) \[label="\{ ([^|]*?) \|', text))
    by_label = {label: name for name, label in names.items()}
    edges = set(re.findall(r"\t(n\d+(?:_op)?) -> (n\d+(?:_op)?)\n", text))
    assert len(re.findall(" -> ", text)) == 5 + 9  # op -> result, and one edge per input
    n, x1, w1, x1w1 = (by_label[k] for k in ("n", "x1", "w1", "x1w1"))
    assert {(x1, f"{x1w1}_op"), (w1, f"{x1w1}_op"), (f"{x1w1}_op", x1w1)} <= edges
    assert (f"{n}_op", n) in edges and by_label["o"] == "n0"  # the root is walked first


def test_draw_dot_is_exactly_the_to_dot_text_and_shows_in_jupyter():
    root = lesson_neuron()
    graph = draw_dot(root, "TB", precision=2)
    assert graph.source == to_dot(root, "TB", precision=2)
    bundle = graph._repr_mimebundle_()  # what Jupyter calls to show it inline
    assert "data 0.71" in bundle["image/svg+xml"]


def test_same_graph_built_twice_gives_the_same_text():
    assert to_dot(lesson_neuron()) == to_dot(lesson_neuron())


def test_png_from_draw_dot_decodes_to_a_picture(tmp_path):
    png = draw_dot(lesson_neuron(), format="png").pipe()
    width, height = png_size(png)
    assert width > 200 and height > 50
    import matplotlib.image

    pixels = matplotlib.image.imread(io.BytesIO(png), format="png")
    assert pixels.shape[:2] == (height, width)
    assert pixels.min() < 0.5 < pixels.max()  # dark strokes on a light page, not a blank image
    written = draw_dot(lesson_neuron()).render(tmp_path / "neuron")
    assert Path(written).read_text().lstrip().startswith("<?xml")


NASTY_LABELS = [
    'say "hi"',
    "{braces}",
    "a|b|c",
    "<tag> & </tag>",
    "back\\slash\\",
    "\\N \\G \\n \\l",  # Graphviz escapes, to be shown as typed
    "  spaced  out  ",
    "∂L/∂w ünïcødé",
    "",
]


def test_any_label_text_renders_as_typed():
    leaves = [Value(float(i), label=label) for i, label in enumerate(NASTY_LABELS)]
    lines = Value(1.0, label="two\nlines")
    bell = Value(2.0, label="bell\x07tab\t")
    root = total(leaves + [lines, bell])
    root.label = "}{ root"
    root.backward()
    svg = run_dot(to_dot(root), "svg")  # no warning, no error
    node_texts = [[t for _, _, t in texts] for texts in svg_nodes(svg).values()]
    for i, label in enumerate(NASTY_LABELS):
        assert [label or " ", f"data {i}.0000", "grad 1.0000"] in node_texts, label
    assert ["two", "lines", "data 1.0000", "grad 1.0000"] in node_texts
    assert ["bell\\x07tab\\t", "data 2.0000", "grad 1.0000"] in node_texts  # control characters made visible
    assert ["}{ root", "data 39.0000", "grad 1.0000"] in node_texts  # 0+1+...+8 + 1 + 2
    run_dot(to_dot(root, "TB"), "png")


def test_numbers_are_readable_at_any_size():
    assert format_number(0.70710678) == "0.7071"
    assert format_number(0.70710678, 2) == "0.71"
    assert format_number(-0.0) == "0.0000"
    assert format_number(-1.5) == "-1.5000"
    assert format_number(123456.0) == "123456.0000"
    assert format_number(1234567.0) == "1.2346e+06"
    assert format_number(3e-7) == "3.0000e-07"  # not a misleading 0.0000
    assert format_number(3e-7, 8) == "0.00000030"
    root = Value(1e-9, label="tiny") * Value(-2e300, label="huge")
    assert "data -2.00e+291" in to_dot(root, precision=2)


def test_n_ary_ops_and_repeated_inputs_get_one_edge_per_input():
    a, b, c = Value(1.0, label="a"), Value(2.0, label="b"), Value(3.0, label="c")
    text = to_dot(total([a, b, c]) + dot([a, b], [c, a]) + a * a)
    assert text.count('[label="sum"') == 1 and text.count('[label="dot"') == 1
    ops = dict(re.findall(r'\t(n\d+_op) \[label="([^"]+)"', text))
    inputs = {op: 0 for op in ops}
    for head in re.findall(r"-> (n\d+_op)\n", text):
        inputs[head] += 1
    assert sorted((ops[op], count) for op, count in inputs.items()) == [
        ("*", 2), ("+", 2), ("+", 2), ("dot", 4), ("sum", 3)
    ]


def test_too_many_nodes_is_refused_with_the_count_and_the_way_out():
    v = Value(0.5)
    for _ in range(500):
        v = v.tanh()  # 501 Values
    with pytest.raises(ValueError) as refused:
        to_dot(v)
    message = str(refused.value)
    assert "501 nodes" in message and "max_nodes=500" in message and "larger max_nodes=" in message
    with pytest.raises(ValueError, match="501 nodes"):
        draw_dot(v)
    assert to_dot(v, max_nodes=501).count("shape=record") == 501


def test_a_100k_chain_is_walked_without_recursion():
    v = Value(1.0, label="x")
    for _ in range(100_000):
        v = -v
    text = to_dot(v, max_nodes=100_001)
    assert text.count("shape=record") == 100_001
    assert '\tn100000 [label="{ x | data 1.0000 | grad 0.0000 }" shape=record]\n' in text  # the leaf, last


def test_bad_arguments_are_named():
    root = lesson_neuron()
    with pytest.raises(TypeError, match="root must be the Value whose graph to draw, got"):
        to_dot(0.5)
    with pytest.raises(ValueError, match="rankdir"):
        to_dot(root, "XY")
    with pytest.raises(ValueError, match="precision"):
        to_dot(root, precision=-1)
    with pytest.raises(ValueError, match="max_nodes"):
        to_dot(root, max_nodes=0)
    with pytest.raises(ValueError, match="precision must be a whole number from 0 to 17, got 18"):
        to_dot(root, precision=18)
    with pytest.raises(TypeError, match="precision must be a whole number"):
        to_dot(root, precision=2.0)
    np = pytest.importorskip("numpy")
    assert to_dot(root, precision=np.int64(2)) == to_dot(root, precision=2)  # NumPy's ints are whole numbers
    with pytest.raises(ValueError, match="format"):
        draw_dot(root, format="nope")


def test_draw_dot_without_graphviz_says_which_extra_to_install(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "graphviz", None)  # makes `import graphviz` fail
    with pytest.raises(ImportError, match=r"needs graphviz, not installed: pip install 'micrograd-plus\[viz\]'"):
        draw_dot(lesson_neuron())
    assert "data 0.7071" in to_dot(lesson_neuron())  # to_dot needs no graphviz
    with pytest.raises(ImportError, match=r"a .svg picture .* pip install 'micrograd-plus\[viz\]'"):
        graph_command(NEURON, tmp_path / "n.svg", at=NEURON_AT)
    assert graph_command(NEURON, tmp_path / "n.dot", at=NEURON_AT).read_text().startswith("digraph")


def test_without_graphviz_s_program_pictures_say_which_system_package_brings_it(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))  # no dot program on it
    with pytest.raises(OSError, match="needs Graphviz's dot program, not found on PATH: .*apt install graphviz"):
        graph_command(NEURON, tmp_path / "n.png", at=NEURON_AT)
    with pytest.raises(OSError, match="needs Graphviz's dot program, not found on PATH: .*apt install graphviz"):
        render(draw_dot(lesson_neuron()))
    assert not (tmp_path / "n.png").exists()


# The graph command: micrograd.cli.main in this process, and python -m micrograd in another.


def test_graph_command_draws_the_lesson_neuron_as_svg(tmp_path):
    out = tmp_path / "n.svg"
    assert main(["graph", NEURON, "--at", NEURON_AT, "-o", str(out)]) == 0
    shown = records(out.read_bytes())
    assert shown["x1"] == ["x1", "data 2.0000", "grad -1.5000"]
    assert shown["w1"] == ["w1", "data -3.0000", "grad 1.0000"]
    assert shown["x2"] == ["x2", "data 0.0000", "grad 0.5000"]
    assert shown["w2"] == ["w2", "data 1.0000", "grad 0.0000"]
    assert shown[NEURON] == [NEURON, "data 0.7071", "grad 1.0000"]
    assert shown["x1*w1 + x2*w2 + b"][1:] == ["data 0.8814", "grad 0.5000"]


def test_graph_command_writes_png_and_dot(tmp_path):
    assert main(["graph", NEURON, "--at", NEURON_AT, "-o", str(tmp_path / "lr.png")]) == 0
    assert main(["graph", NEURON, "--at", NEURON_AT, "-o", str(tmp_path / "tb.png"), "--rankdir", "TB"]) == 0
    lr_width, lr_height = png_size((tmp_path / "lr.png").read_bytes())
    tb_width, tb_height = png_size((tmp_path / "tb.png").read_bytes())
    assert lr_width > tb_width > 0 and tb_height > lr_height > 0  # the five ranks run across, then down
    assert main(["graph", "x**2", "--at", "x=-3", "-o", str(tmp_path / "sub" / "n.dot"), "--precision", "2"]) == 0
    dot_text = (tmp_path / "sub" / "n.dot").read_text()
    assert records(run_dot(dot_text, "svg"))["x"] == ["x", "data -3.00", "grad -6.00"]  # d(x**2)/dx = 2x


def test_graph_command_keeps_the_usual_file_permissions(tmp_path):
    old = os.umask(0o022)
    try:
        path = graph_command("x*y", tmp_path / "p.svg", at="x=1,y=2")
    finally:
        os.umask(old)
    assert path == tmp_path / "p.svg"
    assert (path.stat().st_mode & 0o777) == 0o644


@pytest.mark.parametrize(
    "argv, expected",
    [
        (["graph", "x", "--at", "x=1", "-o", "n.gif"], "name a .svg, .png or .dot file"),
        (["graph", "x +", "-o", "n.svg"], "syntax error: invalid syntax at column 4"),
        (["graph", "__import__('os')", "-o", "n.svg"], "unknown function '__import__'"),
        (["graph", "a*b", "--at", "a=1", "-o", "n.svg"], "no value for b"),
        (["graph", "log(x)", "--at", "x=-1", "-o", "n.svg"], "log needs a positive number (at column 1: log(x))"),
        (["graph", "x", "--at", "x=1,y", "-o", "n.svg"], "expected name=number, got 'y' at column 5"),
    ],
)
def test_graph_command_errors_are_one_line_and_leave_the_old_file(tmp_path, monkeypatch, capsys, argv, expected):
    monkeypatch.chdir(tmp_path)
    for name in ("n.svg", "n.gif"):
        (tmp_path / name).write_text("old picture")
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("micrograd graph: error: ") and err.count("\n") == 1
    assert expected in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["n.gif", "n.svg"]  # no temporary left
    assert (tmp_path / "n.svg").read_text() == "old picture"


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path, monkeypatch):
    import micrograd._files

    target = tmp_path / "n.svg"
    target.write_text("old picture")

    def disk_full(fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(micrograd._files.os, "fsync", disk_full)
    with pytest.raises(OSError, match="No space left"):
        graph_command(NEURON, target, at=NEURON_AT)
    assert target.read_text() == "old picture"
    assert [p.name for p in tmp_path.iterdir()] == ["n.svg"]


def test_python_dash_m_micrograd_graph(tmp_path):
    out = tmp_path / "n.svg"
    command = [sys.executable, "-m", "micrograd", "graph", NEURON, "--at", NEURON_AT, "-o", str(out)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert records(out.read_bytes())["x1"] == ["x1", "data 2.0000", "grad -1.5000"]
    bad = subprocess.run(command[:4] + ["x.__class__", "-o", str(out)], capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2
    assert bad.stderr == "micrograd graph: error: attribute access is not allowed at column 1 in 'x.__class__'\n"
