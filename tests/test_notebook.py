"""The two notebooks. The tour (lesson.ipynb) runs from a clean kernel, prints the lesson's published
numbers and fails when the library computes something else; the one where the learner builds ``Value``
(build_micrograd.ipynb) runs the lesson's solutions, each followed by a check that fails on a learner's
typical mistake. The copies in the repository are executed and up to date.

After changing a notebook or anything it prints, store fresh outputs with
``python tests/test_notebook.py --write``.
"""

from __future__ import annotations

import copy
import html
import math
import re
import shutil
import sys
import textwrap
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")  # provides the notebook's 'python3' kernel
from nbclient.exceptions import CellExecutionError

FOLDER = Path(__file__).resolve().parent.parent / "notebooks"
NOTEBOOK = FOLDER / "lesson.ipynb"  # the tour
BUILD = FOLDER / "build_micrograd.ipynb"  # build it yourself
NOTEBOOKS = [NOTEBOOK, BUILD]
# Cells whose printed text may change from run to run (timings), compared by shape only.
VARIES = "varies"

# Numbers printed by the lesson (Karpathy's notes) and by the original micrograd demo notebook, as they
# appear there: the notebook must print each of them, computed by this library.
PUBLISHED = [
    "24.7041",  # the README example's forward pass
    "138.8338",  # ... dg/da
    "645.5773",  # ... dg/db
    "14.001244608152774",  # slope of 3x**2 - 4x + 5 at x = 3 with h = 1e-12
    "-3.0000000000001137",  # slope of a*b + c with respect to a
    "3.997",  # d after nudging a
    "Value(data=-8.0",  # L = (a*b + c) * f
    "-1.9999999999953388",  # dL/dc by nudging c by 0.0001
    "-7.286496",  # L after one step along the gradient
    "0.7071066904050358",  # the lesson's PyTorch neuron (bias rounded through float32) ...
    "-1.5000003851533106",
    "1.0000002567688737",
    "0.5000001283844369",
    "with 41 parameters",  # the lesson's MLP(3, [4, 4, 1])
    "with 337 parameters",  # the original demo's MLP(2, [16, 16, 1])
    "step   0  loss 0.895844  accuracy 50%",  # the original demo notebook's first step ...
    "step  99  loss 0.010978  accuracy 100%",  # ... and its last
    "0.010978370135492717",
]
# The lesson's gradients of L = (a*b + c) * f and of the neuron, as the notebook tabulates them.
PUBLISHED_LINES = [
    "dL/da = 6.0",
    "dL/db = -4.0",
    "dL/dc = -2.0",
    "dL/df = 4.0",
    "dL/de = -2.0",
    "dL/dd = -2.0",
    "n = 0.8814, o = tanh(n) = 0.7071",  # the neuron's forward pass (a whole line: the PyTorch cell prints 0.7071 too)
    "do/dx1 = -1.5000",
    "do/dw1 = 1.0000",
    "do/dx2 = 0.5000",
    "do/dw2 = 0.0000",
    "db/da = 2.0",
]


def execute(notebook, timeout: int = 600):
    """Run every cell in a fresh 'python3' kernel, in the notebook's folder; raises CellExecutionError."""
    client = nbclient.NotebookClient(
        notebook,
        timeout=timeout,
        kernel_name="python3",
        record_timing=False,  # timestamps would make every stored copy differ
        resources={"metadata": {"path": str(FOLDER)}},
    )
    client.execute()
    return notebook


def read_stored(path: Path = NOTEBOOK):
    return nbformat.read(path, as_version=4)


def cleared(notebook):
    """The notebook with every output and execution count removed, as a fresh checkout would run it."""
    notebook = copy.deepcopy(notebook)
    for cell in code_cells(notebook):
        cell.outputs, cell.execution_count = [], None
    return notebook


def skip_without_graphviz() -> None:
    if shutil.which("dot") is None:
        pytest.skip("Graphviz's dot program is needed to draw the notebook's graphs")


def code_cells(notebook) -> list:
    return [cell for cell in notebook.cells if cell.cell_type == "code"]


def printed(cell) -> dict[str, str]:
    """What a cell wrote to each stream, joined across its outputs."""
    streams: dict[str, str] = {}
    for output in cell.outputs:
        if output.output_type == "stream":
            streams[output.name] = streams.get(output.name, "") + output.text
    return streams


def shown(cell) -> list[list[str]]:
    """The kinds of rich output a cell displayed, in order (such as ['image/png', 'text/plain'])."""
    return [sorted(output.data) for output in cell.outputs if output.output_type in ("display_data", "execute_result")]


NUMBER = re.compile(r"-?\d+\.\d+(?:e[-+]?\d+)?|-?\d+e[-+]?\d+")


def same_text(stored: str, fresh: str) -> bool:
    """Equal text, except that numbers may differ in their last digits (another machine's libm)."""
    stored_numbers, fresh_numbers = NUMBER.findall(stored), NUMBER.findall(fresh)
    if NUMBER.split(stored) != NUMBER.split(fresh) or len(stored_numbers) != len(fresh_numbers):
        return False
    return all(
        math.isclose(float(a), float(b), rel_tol=1e-9, abs_tol=1e-12) for a, b in zip(stored_numbers, fresh_numbers)
    )


def same_outputs(stored, fresh) -> bool:
    """Same source, same kinds of pictures, and the same printed text (cells tagged VARIES: same streams)."""
    if stored.source != fresh.source or shown(stored) != shown(fresh):
        return False
    old, new = printed(stored), printed(fresh)
    if old.keys() != new.keys():
        return False
    return VARIES in stored.metadata.get("tags", []) or all(same_text(old[name], new[name]) for name in old)


@pytest.fixture(scope="module")
def fresh():
    skip_without_graphviz()
    return execute(cleared(read_stored()))


@pytest.fixture(scope="module")
def fresh_build():
    skip_without_graphviz()
    return execute(cleared(read_stored(BUILD)))


FRESH = {NOTEBOOK: "fresh", BUILD: "fresh_build"}


def test_the_notebook_runs_from_a_clean_kernel_and_prints_the_published_numbers(fresh):
    text = "".join(printed(cell).get("stdout", "") for cell in code_cells(fresh))
    lines = {line.strip() for line in text.splitlines()}
    missing = [number for number in PUBLISHED if number not in text]
    missing += [line for line in PUBLISHED_LINES if line not in lines]
    assert not missing, f"the notebook no longer prints {missing}"


def test_the_notebook_draws_graphs_and_plots(fresh):
    kinds = [kind for cell in code_cells(fresh) for kinds in shown(cell) for kind in kinds]
    assert kinds.count("image/svg+xml") >= 8  # every draw_dot of the lesson, inline
    assert kinds.count("image/png") >= 5  # slopes, tanh, the zero_grad curves, the moons and their curves
    svgs = [output.data["image/svg+xml"] for cell in code_cells(fresh) for output in cell.outputs
            if "image/svg+xml" in output.get("data", {})]  # fmt: skip
    assert all(svg.lstrip().startswith(("<?xml", "<svg", "<!--")) and "</svg>" in svg for svg in svgs)

    def texts(svg: str) -> list[str]:
        return [html.unescape(text) for text in re.findall(r"<text[^>]*>([^<]*)</text>", svg)]

    # The first two pictures are the lesson's L = (a*b + c) * f, before and after backward().
    before, after = texts(svgs[0]), texts(svgs[1])
    data = [2.0, -3.0, 10.0, -6.0, 4.0, -2.0, -8.0]  # a, b, c, e, d, f, L
    assert sorted(t for t in before if t.startswith("data ")) == sorted(f"data {x:.4f}" for x in data)
    assert {t for t in before if t.startswith("grad ")} == {"grad 0.0000"}
    grads = [6.0, -4.0, -2.0, -2.0, -2.0, 4.0, 1.0]  # dL/da, b, c, e, d, f, L: the lesson's hand derivation
    assert sorted(t for t in after if t.startswith("grad ")) == sorted(f"grad {g:.4f}" for g in grads)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.stem)
def test_the_stored_notebook_was_executed_top_to_bottom_without_errors_or_warnings(path):
    cells = code_cells(read_stored(path))
    assert [cell.execution_count for cell in cells] == list(range(1, len(cells) + 1)), (
        "the stored notebook is not one clean top-to-bottom run: python tests/test_notebook.py --write"
    )
    for number, cell in enumerate(cells, 1):
        assert not [o for o in cell.outputs if o.output_type == "error"], f"cell [{number}] stored an error"
        assert "stderr" not in printed(cell), f"cell [{number}] wrote to stderr: {printed(cell)['stderr'][:300]}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.stem)
def test_the_stored_outputs_are_those_of_a_fresh_run(path, request):
    stored, current = code_cells(read_stored(path)), code_cells(request.getfixturevalue(FRESH[path]))
    assert len(stored) == len(current)
    stale = [number for number, (old, new) in enumerate(zip(stored, current), 1) if not same_outputs(old, new)]
    assert not stale, f"stored outputs of cells {stale} differ from a fresh run: python tests/test_notebook.py --write"


# Each change makes the library compute something slightly wrong; the notebook's own asserts must stop the run.
MUTATIONS = {
    "relu off by 0.001": """
        from micrograd.engine import Value
        _relu = Value.relu
        Value.relu = lambda self: _relu(self) + 1e-3
    """,
    "tanh's derivative off by one part in a million": """
        from micrograd import ops
        _vjp = ops.TANH.vjp
        ops.TANH.vjp = lambda m, g, out, x: tuple(grad * (1 + 1e-6) for grad in _vjp(m, g, out, x))
    """,
    "SGD's step 0.1% too long": """
        from micrograd.optim import SGD
        _step = SGD.step
        def _longer_step(self):
            self.lr *= 1.001
            _step(self)
            self.lr /= 1.001
        SGD.step = _longer_step
    """,
}


@pytest.mark.parametrize("mutation", MUTATIONS)
def test_a_wrong_number_fails_the_run(mutation):
    skip_without_graphviz()
    notebook = cleared(read_stored())
    # After the first cell's imports, before anything is computed.
    first = notebook.cells.index(code_cells(notebook)[0])
    notebook.cells.insert(first + 1, nbformat.v4.new_code_cell(textwrap.dedent(MUTATIONS[mutation])))
    with pytest.raises(CellExecutionError) as failure:
        execute(notebook)
    assert failure.value.ename == "AssertionError", f"the run stopped with {failure.value.ename}, not an assert"


# ---- Build micrograd yourself ----------------------------------------------------------------------


def tagged(notebook, tag: str) -> list:
    return [cell for cell in notebook.cells if tag in cell.metadata.get("tags", [])]


def test_every_step_invites_the_learner_then_solves_then_checks():
    cells = code_cells(read_stored(BUILD))
    kinds = [next((t for t in ("your-turn", "solution", "check") if t in c.metadata.get("tags", [])), "")
             for c in cells]  # fmt: skip
    solutions = [i for i, kind in enumerate(kinds) if kind == "solution"]
    assert len(solutions) >= 9  # slope, Value, draw, by hand, neuron, op by op, backward, more ops, MLP
    for i in solutions:
        assert kinds[i - 1] == "your-turn", f"solution {i} is not preceded by the learner's turn"
        assert "check" in kinds[i + 1 : i + 3], f"solution {i} is not followed by a check"
        assert cells[i].source.startswith("%%solution\n")
    steps = "".join(cell.source for cell in tagged(read_stored(BUILD), "solution"))
    for part in ("def __add__", "def __mul__", "def tanh", "def exp", "def __pow__", "def backward", "build_topo",
                 "class MLP"):  # fmt: skip
        assert part in steps, part


def test_the_two_notebooks_link_to_each_other():
    def links(path):
        return "".join(cell.source for cell in read_stored(path).cells if cell.cell_type == "markdown")

    assert "](build_micrograd.ipynb)" in links(NOTEBOOK) and "](lesson.ipynb)" in links(BUILD)


def test_the_build_notebook_checks_every_step_and_trains_the_lessons_mlp(fresh_build):
    text = "".join(printed(cell).get("stdout", "") for cell in code_cells(fresh_build))
    assert text.count("agree with micrograd and finite differences") >= 12
    # the lesson's numbers, from the learner's class: -8 for L, dL/da..df by the chain rule, the neuron's grads
    assert "(a*b + c) * f, by hand: data -8.0000, grads 6.0000, -4.0000, -2.0000, 4.0000" in text
    assert "the neuron, tanh broken up: data 0.7071, grads -1.5000, 0.5000, 1.0000, 0.0000, 0.5000" in text
    assert "a + a: data 6.0000, grads 2.0000" in text
    assert "20 losses and 41 final weights agree with micrograd's MLP" in text
    assert "the first step's 41 gradients agree with finite differences" in text


# A learner's typical mistakes, each put in right after the lesson's solution of that step: a check must stop.
MISTAKES = {
    "backward": """
        def _add(self, other):  # '=' where '+=' belongs: a Value used twice keeps one contribution
            out = Value(self.data + other.data, (self, other), '+')
            def _backward():
                self.grad = 1.0 * out.grad
                other.grad = 1.0 * out.grad
            out._backward = _backward
            return out
        Value.__add__ = _add
    """,
    "more-ops": """
        def _exp(self):  # exp's derivative taken as x instead of exp(x)
            out = Value(math.exp(self.data), (self, ), 'exp')
            def _backward():
                self.grad += self.data * out.grad
            out._backward = _backward
            return out
        Value.exp = _exp
    """,
    "by-hand": """
        a.grad = e.grad * a.data  # the chain rule with the wrong operand
    """,
}


@pytest.mark.parametrize("step", MISTAKES)
def test_a_learners_mistake_fails_the_check(step):
    skip_without_graphviz()
    notebook = cleared(read_stored(BUILD))
    (solution,) = tagged(notebook, step)
    notebook.cells.insert(notebook.cells.index(solution) + 1, nbformat.v4.new_code_cell(textwrap.dedent(MISTAKES[step])))
    with pytest.raises(CellExecutionError) as failure:
        execute(notebook)
    assert failure.value.ename == "AssertionError", f"the run stopped with {failure.value.ename}, not a check"
    assert "micrograd says" in failure.value.evalue or "nudging" in failure.value.evalue


def test_with_mine_the_lessons_solutions_are_skipped():
    skip_without_graphviz()
    notebook = cleared(read_stored(BUILD))
    (setup,) = tagged(notebook, "setup")
    assert setup.source.startswith("MINE = False")
    setup.source = setup.source.replace("MINE = False", "MINE = True", 1)
    with pytest.raises(CellExecutionError) as failure:
        execute(notebook)  # the first check finds no slope: the learner has not written it yet
    assert failure.value.ename == "NameError" and "slope" in failure.value.evalue


def write_executed_notebooks() -> None:
    """Execute each notebook from a clean kernel and store it with its outputs (atomically)."""
    from micrograd._files import write_atomically

    for path in NOTEBOOKS:
        notebook = execute(cleared(read_stored(path)))
        write_atomically(path, nbformat.writes(notebook) + "\n")
        print(f"wrote {path} with fresh outputs")


if __name__ == "__main__":
    if sys.argv[1:] != ["--write"]:
        sys.exit("usage: python tests/test_notebook.py --write   (re-execute the notebooks and store their outputs)")
    write_executed_notebooks()
