"""Optional features and what brings them: the one place that names this project's pip extras.

The engine needs only the standard library. Each other feature imports its packages where it uses
them; a command checks for them before it starts, so that a missing one is named, with the
``pip install`` that brings it, before any work is done. Standard library only.
"""

from __future__ import annotations

import importlib.util
import shutil

__all__ = ["DISTRIBUTION", "NEEDS", "NO_DOT", "install_hint", "require", "require_dot"]

# The name pip installs this project by (pyproject's [project] name); the import name is micrograd.
DISTRIBUTION = "micrograd-plus"

# Each extra of pyproject.toml -> the modules its features import (tests/test_packaging.py checks
# that the extra's requirements provide them, and that no other third-party module is imported).
NEEDS = {
    "compile": ("numpy",),
    "demo": ("numpy", "matplotlib", "sklearn", "tqdm", "mlxtend"),
    "viz": ("graphviz",),
    "export": ("torch",),
    "playground": ("numpy", "sklearn"),
}


def install_hint(*extras: str) -> str:
    """The command that installs ``extras``, e.g. ``pip install 'micrograd-plus[demo,viz]'``."""
    return f"pip install '{DISTRIBUTION}[{','.join(extras)}]'"


def require(what: str, *extras: str) -> None:
    """Raise ImportError, naming the pip install to run, if a module of ``extras`` is missing.

    ``what`` names the feature for the message, e.g. 'micrograd demo'. Nothing is imported: the
    check only looks the modules up, so it is cheap enough to run before any work.
    """
    missing = [m for extra in extras for m in NEEDS[extra] if importlib.util.find_spec(m) is None]
    if missing:
        names = ", ".join(dict.fromkeys(missing))  # numpy once, though two extras need it
        raise ImportError(f"{what} needs {names}, not installed: {install_hint(*extras)}")


# No pip extra brings Graphviz's program: it is a system package.
NO_DOT = (
    "Graphviz's dot program, not found on PATH: install Graphviz "
    "(Debian and Ubuntu: sudo apt install graphviz; macOS: brew install graphviz)"
)


def require_dot(what: str) -> None:
    """Raise OSError if Graphviz's ``dot`` program is not on PATH."""
    if shutil.which("dot") is None:
        raise OSError(f"{what} needs {NO_DOT}")
