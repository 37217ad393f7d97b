"""What pip installs: a distribution name of our own, extras that bring exactly what the code imports,
and a wheel that gives, in a new virtual environment without any extra, a working engine and command."""

import ast
import importlib.metadata
import re
import shutil
import subprocess
import sys
import tomllib
import venv
from pathlib import Path

from micrograd._extras import DISTRIBUTION, NEEDS

ROOT = Path(__file__).resolve().parent.parent
SOURCE = ROOT / "src" / "micrograd"
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def normalized(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def requirements(extra: str) -> set[str]:
    """The distributions ``extra`` brings, its references to our own extras followed."""
    names = set()
    for requirement in PROJECT["optional-dependencies"][extra]:
        match = re.match(r"([A-Za-z0-9_.-]+)(?:\[([^\]]*)\])?", requirement)
        name, extras = normalized(match.group(1)), match.group(2)
        if name == normalized(DISTRIBUTION):
            for inner in extras.split(","):
                names |= requirements(inner.strip())
        else:
            names.add(name)
    return names


def third_party_imports() -> set[str]:
    """The top-level modules the package imports that are neither the standard library nor itself."""
    found = set()
    for path in SOURCE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                found |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                found.add(node.module.split(".")[0])
    return found - set(sys.stdlib_module_names) - {"micrograd"}


def test_the_distribution_name_is_ours_and_the_import_name_the_originals():
    assert PROJECT["name"] == DISTRIBUTION == "micrograd-plus"  # "micrograd" on PyPI is micrograd 0.1.0
    assert importlib.metadata.distribution(DISTRIBUTION).read_text("top_level.txt") in (None, "micrograd\n")
    assert PROJECT["dependencies"] == []  # the engine needs the standard library only


def test_each_extra_brings_the_modules_its_features_import():
    provided_by = importlib.metadata.packages_distributions()  # module -> the distributions that provide it
    for extra, modules in NEEDS.items():
        for module in modules:
            assert {normalized(d) for d in provided_by[module]} & requirements(extra), (extra, module)


def test_no_module_is_imported_that_no_extra_brings():
    assert third_party_imports() <= {module for modules in NEEDS.values() for module in modules}
    assert third_party_imports() >= {"numpy", "graphviz", "torch"}  # the scan sees the imports inside functions


def test_every_install_hint_names_our_distribution():
    stale = [
        f"{path.relative_to(ROOT)}:{number}"
        for path in [*SOURCE.rglob("*.py"), ROOT / "pyproject.toml"]
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if "micrograd[" in line  # pip would install the original, micrograd 0.1.0, or fail
    ]
    assert not stale


def test_the_dev_extra_brings_every_other_extra():
    everything = set().union(*(requirements(extra) for extra in PROJECT["optional-dependencies"]))
    assert requirements("dev") == everything


def test_a_wheel_installed_without_extras_gives_a_working_engine_and_command(tmp_path):
    # Build from a copy holding only what the repository tracks, so no build output lands in the checkout.
    tracked = subprocess.run(["git", "ls-files", "src", "pyproject.toml", "README.md", "LICENSE"],
                             cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()  # fmt: skip
    copy = tmp_path / "clone"
    for name in tracked:
        (copy / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, copy / name)
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    subprocess.run([*pip, "wheel", "--no-deps", "--no-build-isolation", "-w", str(tmp_path / "dist"), str(copy)],
                   check=True, capture_output=True, timeout=300)  # fmt: skip
    (wheel,) = (tmp_path / "dist").glob("*.whl")
    assert wheel.name.startswith("micrograd_plus-")

    fresh = tmp_path / "fresh"
    venv.create(fresh, with_pip=False)  # a new environment: no NumPy, no extras, not even pip
    python = fresh / "bin" / "python"
    subprocess.run([*pip, "--python", str(python), "install", "--no-deps", "--no-index", str(wheel)],
                   check=True, capture_output=True, timeout=300)  # fmt: skip

    def run(*args):
        return subprocess.run(args, capture_output=True, text=True, timeout=120, cwd=tmp_path)

    version = run(str(fresh / "bin" / "micrograd"), "--version")
    assert version.returncode == 0 and version.stdout.startswith("micrograd ")
    engine = run(str(python), "-c", "import micrograd.nn, micrograd.losses, micrograd.optim, micrograd.viz; "
                 "from micrograd import Value; a = Value(-4.0); b = a * a + a.tanh(); "
                 "b.backward(); print(f'{b.data:.4f} {a.grad:.4f}')")  # fmt: skip
    # b = 16 + tanh(-4) = 16 - 0.99933 = 15.0007; db/da = 2a + 1 - tanh(a)**2 = -8 + 0.00134 = -7.9987
    assert engine.stdout == "15.0007 -7.9987\n", engine.stderr
    graph = run(str(fresh / "bin" / "micrograd"), "graph", "x*y", "--at", "x=2,y=3", "-o", "g.dot")
    assert graph.returncode == 0 and "data 6.0000" in (tmp_path / "g.dot").read_text()
    demo = run(str(fresh / "bin" / "micrograd"), "demo", "--out", "out")
    assert demo.returncode == 2 and f"pip install '{DISTRIBUTION}[demo]'" in demo.stderr
    assert not (tmp_path / "out").exists()
    assets = run(str(python), "-c", "from importlib import resources; "
                 "print((resources.files('micrograd') / 'explore_assets' / 'page.html').is_file())")  # fmt: skip
    assert assets.stdout == "True\n"  # the page's files are in the wheel
