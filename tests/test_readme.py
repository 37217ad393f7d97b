"""The README and every page of docs/: each Python example runs and prints what its comments say it
prints, each `micrograd ...` command line is one the command accepts, each link leads to a file, and the
README stays a front page whose table of extras is pyproject's."""

import contextlib
import io
import re
import shlex
import tomllib
from pathlib import Path

import pytest

from micrograd.cli import build_parser

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
PAGES = [README, *sorted((ROOT / "docs").glob("*.md"))]
# Pages that other work adds: the README links them before they exist on every branch.
COMING = {ROOT / "docs" / "extending.md", ROOT / "docs" / "playground.md"}


def blocks(language: str) -> list[tuple[Path, str]]:
    found = []
    for page in PAGES:
        for code in re.findall(rf"```{language}\n(.*?)```", page.read_text(encoding="utf-8"), flags=re.S):
            found.append((page, code))
    return found


PYTHON = blocks("python")


def promised_lines(code: str) -> list[str]:
    """The outputs a page promises: the comment after each print(...) call."""
    promises = []
    for line in code.splitlines():
        if line.lstrip().startswith("print(") and "#" in line:
            comment = line.split("#", 1)[1].strip()
            if comment.startswith("prints "):
                comment = comment[len("prints ") :].split(",")[0]
            promises.append(comment)
    return promises


def test_the_pages_have_examples():
    assert len([page for page, _ in PYTHON if page == README]) >= 2
    assert len(PYTHON) >= 8


@pytest.mark.parametrize(
    "page, code", PYTHON, ids=[f"{page.stem}-{i}" for i, (page, _) in enumerate(PYTHON)]
)
def test_example_runs_and_prints_what_it_promises(page, code, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # examples save models and pictures
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(code, str(page), "exec"), {"__name__": "__readme__"})
    printed = out.getvalue().splitlines()
    for promise in promised_lines(code):
        pattern = ".*?".join(re.escape(part) for part in promise.split("..."))
        assert any(re.fullmatch(pattern, line) for line in printed), (promise, printed)


def command_lines() -> list[tuple[Path, list[str]]]:
    """Every `micrograd ...` line of the pages' shell blocks, as the arguments after 'micrograd'."""
    found = []
    for page, code in blocks("bash"):
        for line in code.splitlines():
            words = shlex.split(line, comments=True)
            if words and words[0].endswith("micrograd"):
                found.append((page, words[1:]))
            elif words[:3] == ["python", "-m", "micrograd"]:
                found.append((page, words[3:]))
    return found


def test_every_command_line_shown_is_one_the_command_accepts():
    lines = command_lines()
    assert len(lines) >= 6
    parser = build_parser()
    for page, args in lines:
        try:
            parser.parse_args(args)
        except SystemExit:
            pytest.fail(f"{page.name}: micrograd {' '.join(args)} is refused")


def test_every_link_leads_to_a_file():
    for page in PAGES:
        text = page.read_text(encoding="utf-8")
        for target in re.findall(r"\]\(([^)\s]+)\)", text):
            if re.match(r"[a-z]+:", target) or target.startswith("#"):
                continue  # a web address, or a place on the same page
            path = (page.parent / target.split("#")[0]).resolve()
            assert path.exists() or path in COMING, f"{page.name} links to {target}, which does not exist"
            if "#" in target and path.exists():  # a heading of that page, as GitHub names its anchors
                headings = re.findall(r"^#+ (.+)$", path.read_text(encoding="utf-8"), flags=re.M)
                anchors = {re.sub(r"[^\w\- ]", "", h).strip().lower().replace(" ", "-") for h in headings}
                assert target.split("#")[1] in anchors, f"{page.name} links to {target}: no such heading"


def test_the_readme_is_a_front_page():
    text = README.read_text(encoding="utf-8")
    assert len(text.splitlines()) <= 150
    assert "https://github.com/karpathy/micrograd" in text and "https://www.youtube.com/watch?v=VMj-3S1tku0" in text
    for page in ("engine", "networks", "pictures", "compiled", "speed", "lesson"):
        assert f"](docs/{page}.md)" in text, page
    assert "make demo" in text and "make test" in text and "pip uninstall micrograd" in text
    assert (ROOT / "LICENSE").read_text().startswith("MIT License")


def test_the_readme_tables_every_extra_of_pyproject():
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    text = README.read_text(encoding="utf-8")
    table = re.findall(r"^\| `(\w+)` \|", text, flags=re.M)
    assert sorted(table) == sorted(extras)
