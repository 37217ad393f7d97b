"""examples/train_ddp.py: a micrograd MLP trained by two processes with PyTorch's DDP, and read back.

The script runs once for the module (two processes and their imports of PyTorch: about 15-25 s).
"""

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("torch")
pytest.importorskip("sklearn")

from micrograd import data  # noqa: E402
from micrograd.export import to_torch  # noqa: E402
from micrograd.nn import MLP  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
ARGS = ["--processes", "2", "--dataset", "digits", "--n-samples", "600", "--hidden", "16", "--steps", "40",
        "--batch-size", "64", "--seed", "3"]  # fmt: skip


@pytest.fixture(scope="module")
def ddp_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("ddp")
    finished = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "train_ddp.py"), *ARGS, "--out", str(out)],
        capture_output=True, text=True, timeout=300, cwd=out,
    )  # fmt: skip
    assert finished.returncode == 0, finished.stderr[-3000:]
    return out, finished.stdout


def test_both_processes_end_with_the_same_weights(ddp_run):
    out, _ = ddp_run
    ranks = [MLP.load(out / f"rank-{r}.json") for r in (0, 1)]
    weights = [[p.data for p in model.parameters()] for model in ranks]
    assert len(weights[0]) == 64 * 16 + 16 + 16 * 10 + 10
    assert weights[0] == weights[1]  # exactly: DDP averaged the gradients, so every copy took the same steps
    start = MLP(64, [16, 10], seed=3, init="fan_in")
    assert max(abs(a - b.data) for a, b in zip(weights[0], start.parameters())) > 1e-2  # and they trained


def test_the_loss_fell(ddp_run):
    out, stdout = ddp_run
    losses = json.loads((out / "losses.json").read_text())
    assert len(losses) == 40
    assert losses[-1] < 0.6 * losses[0]
    assert "2 processes, 40 steps of 64" in stdout and "test accuracy" in stdout


def test_ddp_took_the_steps_of_one_process_on_the_whole_batches(ddp_run):
    """The same 40 Adam steps on whole batches in one process, without DDP: the mean of the two
    processes' half-batch gradients is the whole batch's gradient, so the weights agree (to rounding)."""
    import torch

    out, _ = ddp_run
    splits = data.load("digits", seed=3, n_samples=600)
    module = to_torch(MLP(64, [16, 10], seed=3, init="fan_in"))
    optimizer = torch.optim.Adam(module.parameters(), lr=0.01)
    X, y = torch.tensor(splits.train.X, dtype=torch.float64), torch.tensor(splits.train.y)
    order = torch.Generator().manual_seed(3)
    for _ in range(40):
        batch = torch.randint(len(y), (64,), generator=order)
        loss = torch.nn.functional.cross_entropy(module(X[batch]), y[batch])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    linears = [layer for layer in module if isinstance(layer, torch.nn.Linear)]
    expected = [neuron for layer in linears for neuron in zip(layer.weight.tolist(), layer.bias.tolist())]
    model = MLP.load(out / "model.json")
    ours = [(neuron.w, neuron.b) for layer in model.layers for neuron in layer.neurons]
    assert len(ours) == len(expected) == 26
    for (w, b), (expected_w, expected_b) in zip(ours, expected):
        assert [v.data for v in w] == pytest.approx(expected_w, rel=1e-9, abs=1e-12)
        assert b.data == pytest.approx(expected_b, rel=1e-9, abs=1e-12)


def test_a_batch_smaller_than_the_processes_is_refused(tmp_path):
    """With --batch-size 1 on 2 processes one of them would get no samples (a loss of NaN)."""
    args = [arg if arg != "64" else "1" for arg in ARGS]
    finished = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "train_ddp.py"), *args, "--out", str(tmp_path)],
        capture_output=True, text=True, timeout=60, cwd=tmp_path,
    )  # fmt: skip
    assert finished.returncode == 2, finished.stderr[-3000:]
    assert "--batch-size must be at least the number of processes (2)" in finished.stderr
    assert not any(tmp_path.iterdir())
