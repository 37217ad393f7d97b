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
