"""Imports go one way: each module of the package imports only from the layers below its own.

The test parses every module (imports inside functions and under TYPE_CHECKING included) and
fails on an import that points up, or sideways within a layer. A new module must be given a layer
here before it can pass.
"""

import ast
from pathlib import Path

import pytest

import micrograd

PACKAGE = Path(micrograd.__file__).parent

# Bottom first. Each entry is a module of the package (a subpackage counts as one module).
LAYERS = [
    {"_validate", "_extras", "_files", "ops"},  # argument checks, install hints, atomic writes, each op's mathematics
    {"engine"},  # Value, topological order, backward
    {"gradients"},  # grad, hessian, hvp: the op rules run on Values (check's gradgradcheck uses them)
    {"check", "nn", "losses", "optim", "compile", "viz", "expression", "data"},  # built on Values
    {"export", "train", "__init__"},  # __init__: the package's front (Value, dot, total, gradcheck)
    {"plot"},
    {"demo", "explore", "playground"},  # what people run
    {"cli"},
    {"__main__"},
]
LAYER = {name: depth for depth, names in enumerate(LAYERS) for name in names}

# Inside a subpackage, the same rule, bottom first. compile: the tracer, the reference interpreter
# of its IR, the fast executor tested against it, the public front. playground: the tables of
# what it takes from outside and their check, the input features, the problems, the graph layout
# and the PyTorch script, a training session, the web server, the front.
INNER_LAYERS = {
    "compile": ["trace", "reference", "fast", "__init__"],
    "playground": ["fields", "features", "problems", "layout", "torch_script", "session", "server", "__init__"],
}


def module_name(path: Path) -> str:
    """The subpackage's name for its modules (``compile``), else the file's name without ``.py``."""
    relative = path.relative_to(PACKAGE)
    return relative.parts[0] if len(relative.parts) > 1 else relative.stem


def imported_modules(path: Path) -> list[tuple[int, str]]:
    """(line, dotted name) of each micrograd module ``path`` imports."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names if alias.name.startswith("micrograd")]
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("micrograd"):
            for alias in node.names:  # `from micrograd import data` imports the module micrograd.data
                submodule = f"{node.module}.{alias.name}"
                is_module = (PACKAGE.parent / submodule.replace(".", "/")).with_suffix(".py").exists() or (
                    PACKAGE.parent / submodule.replace(".", "/")
                ).is_dir()
                found.append((node.lineno, submodule if is_module else node.module))
    return found


def target_of(dotted: str) -> tuple[str, str | None]:
    """(module of the package, module inside a subpackage or None) for ``micrograd.x.y``."""
    parts = dotted.split(".")[1:]
    if not parts:
        return "__init__", None
    if parts[0] in INNER_LAYERS:
        return parts[0], parts[1] if len(parts) > 1 else "__init__"
    return parts[0], None


SOURCES = sorted(PACKAGE.rglob("*.py"))


def test_every_module_has_a_layer():
    assert SOURCES
    missing = sorted({module_name(path) for path in SOURCES} - set(LAYER))
    assert not missing, f"give these modules a layer in LAYERS: {missing}"
    subpackages = {path.parent.name for path in SOURCES if path.parent != PACKAGE}
    assert subpackages == set(INNER_LAYERS), f"give each subpackage's modules their layers: {subpackages}"
    for name, layers in INNER_LAYERS.items():
        inner = sorted({path.stem for path in (PACKAGE / name).glob("*.py")} - set(layers))
        assert not inner, f"give these modules a layer in INNER_LAYERS[{name!r}]: {inner}"


@pytest.mark.parametrize("path", SOURCES, ids=lambda path: str(path.relative_to(PACKAGE)))
def test_imports_point_down(path):
    importer = module_name(path)
    wrong = []
    for line, dotted in imported_modules(path):
        target, inner = target_of(dotted)
        if target == importer and importer in INNER_LAYERS:
            layers = INNER_LAYERS[importer]
            if layers.index(inner) >= layers.index(path.stem):
                wrong.append(f"line {line}: {importer}/{path.stem} imports {dotted}, which is not below it")
        elif LAYER[target] >= LAYER[importer]:
            where = "beside" if LAYER[target] == LAYER[importer] else "above"
            wrong.append(f"line {line}: {importer} imports {dotted}, {where} it")
    assert not wrong, "\n".join(wrong)


def test_the_check_sees_a_wrong_import(tmp_path):
    # The parser itself: an upward import, inside a function, is found and located.
    source = tmp_path / "engine.py"
    source.write_text("def f():\n    from micrograd import nn\n    from micrograd.compile.fast import Program\n")
    found = imported_modules(source)
    assert found == [(2, "micrograd.nn"), (3, "micrograd.compile.fast")]
    assert [LAYER[target_of(name)[0]] > LAYER["engine"] for _, name in found] == [True, True]
