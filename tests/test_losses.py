"""Losses against torch.nn.functional in float64: values and gradients, including logits of +-1000."""

import math
import random

import pytest
import torch
import torch.nn.functional as F

from micrograd import Value
from micrograd.losses import (
    LOSSES,
    accuracy,
    binary_cross_entropy_with_logits,
    cross_entropy,
    hinge,
    l1_penalty,
    l2_penalty,
    mse,
    predicted_classes,
)

REL = 1e-12


def close(ours: float, theirs: float, rel: float = REL) -> bool:
    return math.isclose(ours, theirs, rel_tol=rel, abs_tol=1e-300)


def leaves(numbers):
    return [Value(x) for x in numbers]


def torch_leaves(numbers):
    return torch.tensor(numbers, dtype=torch.float64, requires_grad=True)


def check(loss: Value, inputs: list[Value], reference: torch.Tensor, reference_inputs: torch.Tensor):
    """``loss`` equals ``reference``, and d loss / d input equals PyTorch's for every input."""
    loss.backward()
    reference.backward()
    assert close(loss.data, reference.item()), (loss.data, reference.item())
    theirs = reference_inputs.grad.flatten().tolist()
    ours = [v.grad for v in inputs]
    assert all(close(a, b) for a, b in zip(ours, theirs)), list(zip(ours, theirs))


def test_mse_matches_torch_for_scalars_and_vectors():
    rng = random.Random(0)
    preds = [rng.uniform(-3, 3) for _ in range(7)]
    targets = [rng.uniform(-3, 3) for _ in range(7)]
    ours = leaves(preds)
    theirs = torch_leaves(preds)
    check(mse(ours, targets), ours, F.mse_loss(theirs, torch.tensor(targets, dtype=torch.float64)), theirs)

    rows = [[rng.uniform(-3, 3) for _ in range(3)] for _ in range(4)]
    row_targets = [[rng.uniform(-3, 3) for _ in range(3)] for _ in range(4)]
    ours = [leaves(row) for row in rows]
    theirs = torch_leaves(rows)
    check(mse(ours, row_targets), [v for row in ours for v in row],
          F.mse_loss(theirs, torch.tensor(row_targets, dtype=torch.float64)), theirs)


def test_hinge_matches_the_formula_in_torch():
    scores = [2.5, -0.3, 0.9, -4.0, 1.0, 0.2, 1000.0, -1000.0]
    targets = [1, 1, -1, -1, 1, -1, 1, 1]
    ours = leaves(scores)
    theirs = torch_leaves(scores)
    y = torch.tensor(targets, dtype=torch.float64)
    check(hinge(ours, targets), ours, torch.relu(1 - y * theirs).mean(), theirs)


def test_hinge_by_hand():
    # relu(1 - 1*0.5) = 0.5, relu(1 - (-1)*(-3)) = 0: mean 0.25
    assert hinge([Value(0.5), Value(-3.0)], [1, -1]).data == 0.25


@pytest.mark.parametrize("logits", [[0.3, -1.7, 2.2, 0.0, -0.4, 5.0], [1000.0, -1000.0, 1000.0, -1000.0, 3.0, -3.0]])
def test_binary_cross_entropy_matches_torch(logits):
    targets = [1, 0, 0, 1, 1, 0]
    ours = leaves(logits)
    theirs = torch_leaves(logits)
    loss = binary_cross_entropy_with_logits(ours, targets)
    reference = F.binary_cross_entropy_with_logits(theirs, torch.tensor(targets, dtype=torch.float64))
    assert math.isfinite(loss.data)
    check(loss, ours, reference, theirs)


def test_binary_cross_entropy_with_soft_targets_and_tiny_losses():
    # Soft targets, and confident right answers whose loss is ~1e-13: compared with the textbook formula
    # -y log(sigmoid(x)) - (1-y) log(1 - sigmoid(x)) in torch, written with logsigmoid so it is exact too.
    logits = [0.7, -2.0, 30.0, -30.0, 12.0]
    targets = [0.25, 0.9, 1.0, 0.0, 0.5]
    ours = leaves(logits)
    theirs = torch_leaves(logits)
    y = torch.tensor(targets, dtype=torch.float64)
    reference = (-(y * F.logsigmoid(theirs)) - (1 - y) * F.logsigmoid(-theirs)).mean()
    check(binary_cross_entropy_with_logits(ours, targets), ours, reference, theirs)
    # A lone confident sample: loss log(1 + e**-30) and slope -1/(1 + e**30), both ~1e-13. PyTorch's own
    # gradient, sigmoid(x) - y, loses 3 digits here to cancellation; this one keeps them all.
    single = Value(30.0)
    loss = binary_cross_entropy_with_logits([single], [1])
    loss.backward()
    assert close(loss.data, math.log1p(math.exp(-30.0)))
    assert close(single.grad, -1 / (1 + math.exp(30.0)))


@pytest.mark.parametrize(
    "rows, targets",
    [
        ([[0.2, -1.0, 3.1], [1.5, 1.4, -0.3], [0.0, 0.0, 0.0], [-2.0, 4.0, 1.0]], [2, 0, 1, 1]),
        ([[1000.0, -1000.0, 0.0], [-1000.0, 1000.0, 999.0], [1000.0, 1000.0, -1000.0]], [1, 2, 0]),
        ([[3.0, 1.0]], [0]),
    ],
)
def test_cross_entropy_matches_torch(rows, targets):
    ours = [leaves(row) for row in rows]
    theirs = torch_leaves(rows)
    loss = cross_entropy(ours, targets)
    assert math.isfinite(loss.data)
    check(loss, [v for row in ours for v in row], F.cross_entropy(theirs, torch.tensor(targets)), theirs)


def test_cross_entropy_of_a_huge_wrong_margin_is_the_margin():
    # -log softmax([1000, -1000])[1] = 2000 + log(1 + e**-2000) = 2000 exactly in float64
    assert cross_entropy([[Value(1000.0), Value(-1000.0)]], [1]).data == 2000.0


def test_l2_penalty_matches_torch_and_the_hand_value():
    numbers = [0.5, -2.0, 3.0]
    ours = leaves(numbers)
    theirs = torch_leaves(numbers)
    check(l2_penalty(ours, 1e-4), ours, 1e-4 * (theirs**2).sum(), theirs)
    assert l2_penalty([Value(3.0), Value(4.0)]).data == 25.0
    assert l2_penalty([], 0.1).data == 0.0


def test_accuracy_binary_and_multiclass_against_scikit_learn():
    from sklearn.metrics import accuracy_score

    scores = [0.3, -1.0, 2.0, -0.1, 0.0, 5.0]
    pm_targets = [1, -1, -1, 1, -1, 1]
    expected = accuracy_score([t > 0 for t in pm_targets], [s > 0 for s in scores])
    assert accuracy(leaves(scores), pm_targets) == expected == 4 / 6
    assert accuracy(leaves(scores), [(t + 1) // 2 for t in pm_targets]) == expected  # 0/1 targets
    assert accuracy([[Value(s)] for s in scores], pm_targets) == expected  # one-element lists

    rows = [[0.1, 0.7, 0.2], [2.0, -1.0, 0.0], [0.0, 0.1, 0.3], [1.0, 3.0, 2.0]]
    classes = [1, 0, 0, 2]
    expected = accuracy_score(classes, [max(range(3), key=row.__getitem__) for row in rows])
    assert accuracy([leaves(row) for row in rows], classes) == expected == 0.5


def test_predicted_classes_of_lists_and_of_numpy_arrays():
    np = pytest.importorskip("numpy")
    # one score: class 1 above 0 (0 itself is class 0); several: the first largest
    assert predicted_classes([Value(0.3), -1.0, 0.0, [Value(2.0)]]) == [1, 0, 0, 1]
    assert predicted_classes([[0.1, 0.7, 0.2], [2.0, -1.0, 2.0], [Value(0.0), Value(0.3), Value(0.3)]]) == [1, 0, 1]
    rng = random.Random(0)
    single = np.array([rng.choice([-1.0, 0.0, 0.5]) for _ in range(50)])
    rows = np.array([[float(rng.randrange(3)) for _ in range(4)] for _ in range(50)])  # many ties
    expected_single = [1 if s > 0 else 0 for s in single]
    expected_rows = [max(range(4), key=row.__getitem__) for row in rows.tolist()]
    assert predicted_classes(single).tolist() == predicted_classes(single.tolist()) == expected_single
    assert predicted_classes(single[:, None]).tolist() == expected_single  # (samples, 1)
    assert predicted_classes(rows).tolist() == predicted_classes(rows.tolist()) == expected_rows
    assert predicted_classes(np.zeros((0, 3))).shape == (0,)
    with pytest.raises(TypeError, match="predicted_classes: scores must be a list, got Value"):
        predicted_classes(Value(1.0))


def test_losses_by_name():
    assert LOSSES["hinge"] is hinge and LOSSES["bce"] is binary_cross_entropy_with_logits
    assert set(LOSSES) == {"mse", "hinge", "bce", "cross_entropy"}


@pytest.mark.parametrize(
    "call, error, match",
    [
        (lambda: mse([Value(1.0)], [1.0, 2.0]), ValueError, "mse: targets must hold 1 targets, one per sample of preds, got 2"),
        (lambda: mse([], []), ValueError, "mse: preds must hold at least 1 sample, got 0"),
        (lambda: mse([[Value(1.0)]], [[1.0, 2.0]]), ValueError, r"targets\[0\] must hold 1 numbers, one per output, got 2"),
        (lambda: mse([[Value(1.0), Value(2.0)]], [1.0]), ValueError, r"targets\[0\] must hold 2 numbers"),
        (lambda: mse([Value(1.0)], ["1"]), TypeError, r"mse: targets\[0\] must be a number or a list of numbers, got str"),
        (lambda: mse([Value(1.0)], [None]), TypeError, r"mse: targets\[0\] must be a number or a list of numbers"),
        (lambda: mse([[Value(1.0)]], [[None]]), TypeError, r"mse: targets\[0\] must be a finite number, got NoneType"),
        (lambda: hinge([Value(1.0)], [0]), ValueError, r"targets must be \+1 or -1, .* got targets\[0\] = 0"),
        (lambda: hinge([Value(1.0)], [2]), ValueError, "targets must be"),
        (lambda: hinge([[Value(1.0), Value(2.0)]], [1]), ValueError, r"for one score per sample, got .* with 2 score"),
        (lambda: hinge(Value(1.0), [1]), TypeError, "hinge: scores must be a list, got Value"),
        (lambda: hinge([Value(1.0)], 1), TypeError, "hinge: targets must be a list, got int"),
        (lambda: binary_cross_entropy_with_logits([Value(0.0)], [1.5]), ValueError, r"\[0, 1\]"),
        (lambda: binary_cross_entropy_with_logits([Value(0.0)], [float("nan")]), ValueError, "finite"),
        (lambda: binary_cross_entropy_with_logits([], []), ValueError, "logits must hold at least 1 sample, got 0"),
        (lambda: cross_entropy([[Value(0.0), Value(1.0)]], [2]), ValueError, r"targets must be class indices, for 2 or more scores per sample, got targets\[0\] = 2"),
        (lambda: cross_entropy([[Value(0.0), Value(1.0)]], [-1]), ValueError, "class indices"),
        (lambda: cross_entropy([[Value(0.0), Value(1.0)]], [0.5]), ValueError, "class indices"),
        (lambda: cross_entropy([[Value(0.0), Value(1.0)], [Value(0.0)]], [0, 0]), ValueError,
         r"cross_entropy: logits\[1\] has 1 scores, expected 2"),
        (lambda: cross_entropy([Value(0.0)], [0]), ValueError, r"2 or more scores per sample, got targets\[0\] = 0 with 1 score"),  # one score: no classes
        (lambda: cross_entropy([[]], [0]), ValueError, r"logits\[0\] has 0 scores, expected at least one"),
        (lambda: accuracy([Value(1.0)], [1, 1]), ValueError, "accuracy: targets must hold 1 targets"),
        (lambda: accuracy([Value(1.0)], [0.5]), ValueError, r"targets must be -1/\+1 or 0/1"),
        (lambda: accuracy([[0.1, 0.2]], [2]), ValueError, r"else class indices, got targets\[0\] = 2"),
        (lambda: accuracy([[0.1, 0.2, 0.3]], [-1]), ValueError, r"else class indices, got targets\[0\] = -1"),
        (lambda: accuracy([[]], [0]), ValueError, r"accuracy: scores\[0\] has 0 scores"),  # was max()'s error
        (lambda: accuracy([[0.1, 0.2], []], [0, 1]), ValueError, r"accuracy: scores\[1\] has 0 scores, expected 2"),
        (lambda: predicted_classes([[0.1], []]), ValueError, r"predicted_classes: scores\[1\] has 0 scores"),
        (lambda: predicted_classes([[0.1, 0.2], [0.3]]), ValueError, r"scores\[1\] has 1 scores, expected 2"),
        (lambda: accuracy([[0.1, 0.2], [0.3]], [0, 1]), ValueError, r"accuracy: scores\[1\] has 1 scores, expected 2"),
        (lambda: mse(["a"], [1.0]), TypeError, r"mse: preds\[0\] must be a score"),
        (lambda: cross_entropy([[Value(0.0), None]], [0]), TypeError, r"cross_entropy: logits\[0\] must be a score"),
    ],
)
def test_bad_batches_raise_clear_errors(call, error, match):
    with pytest.raises(error, match=match):
        call()


def test_l1_penalty_matches_torch_and_the_hand_value():
    numbers = [0.5, -2.0, 3.0]
    ours = leaves(numbers)
    theirs = torch_leaves(numbers)
    check(l1_penalty(ours, 0.03), ours, 0.03 * theirs.abs().sum(), theirs)
    assert l1_penalty([Value(3.0), Value(-4.0)]).data == 7.0
    assert l1_penalty([], 0.1).data == 0.0


def test_a_bool_is_no_score():
    with pytest.raises(TypeError, match=r"hinge: scores\[0\] must be a score .* got bool"):
        hinge([True], [1.0])
