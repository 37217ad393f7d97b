"""The command line as a person meets it: help, --version, one-line errors, options passed through,
progress bars only on a terminal, and missing extras named before any work."""

import argparse
import fcntl
import importlib.metadata
import os
import pty
import re
import struct
import subprocess
import sys
import termios
import tomllib
from pathlib import Path

import pytest

import micrograd
from micrograd.cli import build_parser, main

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = ROOT / "pyproject.toml"


def subcommands() -> dict[str, argparse.ArgumentParser]:
    action = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    return dict(action.choices)


def test_bare_micrograd_prints_the_help_naming_every_command(capsys):
    assert main([]) == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: micrograd")
    for name in subcommands():
        assert re.search(rf"^\s+{name}\s+\S", out, flags=re.M), name  # each command with its one-line help


def test_version_is_the_packages_one_version(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    assert exit_info.value.code == 0
    assert capsys.readouterr().out == f"micrograd {micrograd.__version__} (micrograd-plus)\n"
    # written once, in micrograd/__init__.py: pyproject.toml reads it from there, and pip records it
    project = tomllib.loads(PYPROJECT.read_text())
    assert "version" not in project["project"] and project["project"]["dynamic"] == ["version"]
    assert project["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "micrograd.__version__"}
    assert importlib.metadata.version("micrograd-plus") == micrograd.__version__


@pytest.mark.parametrize("command", list(subcommands()))
def test_every_option_has_a_help_line_with_its_default(command):
    parser = subcommands()[command]
    for action in parser._actions:
        if isinstance(action, argparse._HelpAction) or not action.option_strings or action.required:
            continue  # positionals and required options have no default to state
        assert action.help, f"{command} {action.option_strings[0]} has no help"
        assert "(default: " in action.help, f"{command} {action.option_strings[0]}: {action.help}"
    shown = parser.format_help()
    assert "%(" not in shown and "(default: None)" not in shown


def test_demo_help_states_each_datasets_defaults():
    from micrograd.demo import DEFAULTS

    shown = " ".join(subcommands()["demo"].format_help().split())
    assert "(default: moons 100, yinyang 1000, digits 1000, mnist 300)" in shown
    assert "moons sgd 1, adam 0.05, adamw 0.05" in shown and DEFAULTS["moons"].lr["sgd"] == 1.0


@pytest.mark.parametrize("command", ["demo", "explore"])
def test_every_command_with_a_bar_has_no_progress(command):
    assert "--no-progress" in subcommands()[command].format_help()


def run_demo_process(tmp_path, stderr) -> tuple[subprocess.CompletedProcess, str]:
    args = [sys.executable, "-m", "micrograd", "demo", "--steps", "3", "--hidden", "4", "--out", str(tmp_path)]
    return subprocess.run(args, stdout=subprocess.PIPE, stderr=stderr, text=True, timeout=300, cwd=ROOT)


def test_a_bar_on_a_terminal_and_plain_lines_in_a_log(tmp_path):
    # In a log file: a plain line per step of these three, and not one carriage return of a bar.
    with open(tmp_path / "log", "w") as log:
        done = run_demo_process(tmp_path / "a", log)
    assert done.returncode == 0
    logged = (tmp_path / "log").read_text()
    assert "\r" not in logged
    assert [line.split("  ")[0] for line in logged.splitlines()] == [f"training {k}/3" for k in (1, 2, 3)]
    assert "\r" not in done.stdout and "final loss" in done.stdout
    # On a terminal (a pseudo-terminal here): the bar.
    master, child = pty.openpty()
    fcntl.ioctl(child, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))  # 24 rows, 100 columns
    try:
        done = run_demo_process(tmp_path / "b", child)
        os.close(child)
        shown = b""
        while True:
            try:
                chunk = os.read(master, 65536)
            except OSError:  # the terminal's other end is closed: all read
                break
            if not chunk:
                break
            shown += chunk
    finally:
        os.close(master)
    assert done.returncode == 0
    text = shown.decode("utf-8", "replace")
    assert "3/3" in text and "\r" in text and "accuracy" in text


def test_demo_without_its_extra_names_the_pip_install_before_any_work(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "sklearn", None)  # as if scikit-learn were not installed
    assert main(["demo", "--out", str(tmp_path / "out")]) == 2
    captured = capsys.readouterr()
    assert captured.err == (
        "micrograd demo: error: micrograd demo needs sklearn, not installed: pip install 'micrograd-plus[demo]'\n"
    )
    assert captured.out == "" and not (tmp_path / "out").exists()  # nothing loaded, trained or written


@pytest.mark.parametrize("precision, shown", [("0", "data 3 "), ("2", "data 3.00 ")])
def test_graph_precision_reaches_the_picture(tmp_path, precision, shown):
    out = tmp_path / "g.dot"
    assert main(["graph", "x*2", "--at", "x=1.5", "--precision", precision, "-o", str(out)]) == 0
    assert shown in out.read_text()


@pytest.mark.parametrize("precision", ["18", "-1", "two"])
def test_graph_precision_out_of_range_is_a_one_line_error(tmp_path, capsys, precision):
    with pytest.raises(SystemExit) as exit_info:
        main(["graph", "x", "--at", "x=1", "--precision", precision, "-o", str(tmp_path / "g.dot")])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--precision" in err


@pytest.mark.parametrize(
    "words",
    [
        ["graph", "-x*3", "--at", "x=2", "-o", "{out}"],
        ["graph", "--at", "x=2", "-x*3", "-o", "{out}"],
        ["graph", "-o", "{out}", "--precision", "1", "-x*3", "--at=x=2"],
        ["graph", "--at", "x=2", "-o", "{out}", "--", "-x*3"],  # argparse's own way still works
    ],
)
def test_graph_takes_an_expression_that_starts_with_a_minus(tmp_path, capsys, words):
    out = tmp_path / "g.dot"
    assert main([word.format(out=out) for word in words]) == 0  # was: "required: expression"
    dot = out.read_text()
    assert "data -6" in dot and "grad -3" in dot  # -x*3 at x=2 is -6; its slope in x is -3
    assert capsys.readouterr().err == ""


def test_graph_options_still_take_their_values_and_unknown_long_options_are_refused(tmp_path, capsys):
    out = tmp_path / "g.dot"
    with pytest.raises(SystemExit) as exit_info:
        main(["graph", "x", "--at", "x=1", "--colour", "red", "-o", str(out)])
    assert exit_info.value.code == 2 and "--colour" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["graph", "-x", "--precision", "-1", "-o", str(out)])  # -1 is the value, refused as such
    assert "--precision" in capsys.readouterr().err


@pytest.mark.parametrize(
    "words, said",
    [
        (["demo", "--hidden", "16,0"], "argument --hidden: widths[1] must be a positive whole number, got 0"),
        (["demo", "--lr", "-1"], "argument --lr: the value must be a finite number > 0, got -1.0"),
        (["demo", "--steps", "1.5"], "argument --steps: the value must be a positive whole number, got float: 1.5"),
        (["playground", "--port", "70000"], "argument --port: the value must be a whole number from 0 to 65535"),
    ],
)
def test_options_are_refused_before_anything_runs_in_the_librarys_words(capsys, words, said):
    with pytest.raises(SystemExit) as exit_info:
        main(words)
    err = capsys.readouterr().err
    assert exit_info.value.code == 2 and err.count("\n") == 1 and said in err
