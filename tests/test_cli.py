"""The command line's own parsing: one-line errors, and options passed through."""

import pytest

from micrograd.cli import main


def test_no_command_is_a_one_line_error(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main([])
    assert exit_info.value.code == 2
    assert capsys.readouterr().err.count("\n") == 1


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
