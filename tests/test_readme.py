"""Every Python example in the README runs, and prints what its comments say it prints."""

import contextlib
import io
import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parent.parent / "README.md"
BLOCKS = re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), flags=re.S)


def promised_lines(code: str) -> list[str]:
    """The outputs the README promises: the comment after each print(...) call."""
    promises = []
    for line in code.splitlines():
        if line.lstrip().startswith("print(") and "#" in line:
            comment = line.split("#", 1)[1].strip()
            if comment.startswith("prints "):
                comment = comment[len("prints ") :].split(",")[0]
            promises.append(comment)
    return promises


def test_the_readme_has_examples():
    assert len(BLOCKS) >= 5


@pytest.mark.parametrize("code", BLOCKS, ids=[f"block{i}" for i in range(len(BLOCKS))])
def test_readme_example_runs_and_prints_what_it_promises(code, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # examples save models and pictures
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(code, "README.md", "exec"), {"__name__": "__readme__"})
    printed = out.getvalue().splitlines()
    for promise in promised_lines(code):
        pattern = ".*?".join(re.escape(part) for part in promise.split("..."))
        assert any(re.fullmatch(pattern, line) for line in printed), (promise, printed)
