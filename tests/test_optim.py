"""Optimizers and schedules against torch.optim 2.13 in float64, step for step."""

import math
import random
import re

import pytest
import torch

from micrograd.engine import Value
from micrograd.losses import mse
from micrograd.nn import MLP
from micrograd.optim import SGD, Adam, AdamW, CosineDecay, LinearDecay
from test_nn import TorchTwin

XS = [[0.5, -1.2, 2.0], [1.5, 0.3, -0.7], [-2.0, 1.0, 0.1], [0.0, -0.4, 1.3], [1.1, 1.1, -1.1]]
YS = [0.7, -0.3, 0.2, -0.9, 0.5]


def train_both(make_ours, make_theirs, steps: int = 20, schedule=None):
    """Run ``steps`` of the same training in micrograd and in PyTorch; return both flat parameter lists."""
    model = MLP(3, [4, 3, 1], activation="tanh", seed=11)
    twin = TorchTwin(model)
    optimizer = make_ours(model.parameters())
    reference = make_theirs(twin.parameters())
    ours_schedule = schedule[0](optimizer) if schedule else None
    theirs_schedule = schedule[1](reference) if schedule else None
    for _ in range(steps):
        optimizer.zero_grad()
        mse([model(x) for x in XS], YS).backward()
        optimizer.step()
        if ours_schedule:
            ours_schedule.step()

        reference.zero_grad()
        predictions = torch.stack([twin(x)[0] for x in XS])
        torch.nn.functional.mse_loss(predictions, torch.tensor(YS, dtype=torch.float64)).backward()
        reference.step()
        if theirs_schedule:
            theirs_schedule.step()
    return [p.data for p in model.parameters()], twin.flat()


def assert_same_parameters(ours, theirs, start):
    assert len(ours) == len(theirs)
    # the same operations in the same order: measured differences are at most ~2e-15 after 20 steps
    assert max(abs(a - b) for a, b in zip(ours, theirs)) < 1e-13
    moved = max(abs(a - b) for a, b in zip(ours, start))
    assert moved > 1e-3  # the runs really trained: equal parameters are not just the untouched start


def start_parameters():
    return [p.data for p in MLP(3, [4, 3, 1], activation="tanh", seed=11).parameters()]


@pytest.mark.parametrize(
    "options",
    [
        dict(lr=0.1),
        dict(lr=0.1, momentum=0.9),
        dict(lr=0.05, weight_decay=0.01),
        dict(lr=0.1, momentum=0.8, weight_decay=0.05),
    ],
)
def test_sgd_matches_torch(options):
    ours, theirs = train_both(lambda p: SGD(p, **options), lambda p: torch.optim.SGD(p, **options))
    assert_same_parameters(ours, theirs, start_parameters())


@pytest.mark.parametrize(
    "options",
    [
        dict(lr=0.01),
        dict(lr=0.02, betas=(0.8, 0.99), eps=1e-6),
        dict(lr=0.01, weight_decay=0.1),
        dict(lr=0.05, betas=(0.3, 0.9)),  # beta1 < 0.5: the other branch of torch's lerp
    ],
)
def test_adam_matches_torch(options):
    ours, theirs = train_both(lambda p: Adam(p, **options), lambda p: torch.optim.Adam(p, **options))
    assert_same_parameters(ours, theirs, start_parameters())


@pytest.mark.parametrize(
    "options", [dict(lr=0.01), dict(lr=0.02, weight_decay=0.5), dict(lr=0.01, betas=(0.5, 0.9), eps=1e-4)]
)
def test_adamw_matches_torch(options):
    ours, theirs = train_both(lambda p: AdamW(p, **options), lambda p: torch.optim.AdamW(p, **options))
    assert_same_parameters(ours, theirs, start_parameters())


def test_defaults_match_torchs_defaults():
    params = MLP(2, [1], seed=0).parameters()
    adam, adamw = Adam(params), AdamW(params)
    reference = torch.optim.AdamW([torch.zeros(1)]).defaults
    assert (adamw.lr, adamw.betas, adamw.eps, adamw.weight_decay) == (
        reference["lr"], reference["betas"], reference["eps"], reference["weight_decay"])
    reference = torch.optim.Adam([torch.zeros(1)]).defaults
    assert (adam.lr, adam.betas, adam.eps, adam.weight_decay) == (
        reference["lr"], reference["betas"], reference["eps"], reference["weight_decay"])


def test_a_schedule_drives_the_optimizer_like_torchs_scheduler():
    ours, theirs = train_both(
        lambda p: SGD(p, lr=0.5, momentum=0.5),
        lambda p: torch.optim.SGD(p, lr=0.5, momentum=0.5),
        schedule=(
            lambda o: LinearDecay(o, 0.5, 0.05, 20),
            lambda o: torch.optim.lr_scheduler.LinearLR(o, 1.0, 0.1, 20),
        ),
    )
    assert_same_parameters(ours, theirs, start_parameters())


def lrs(schedule, steps):
    out = [schedule.optimizer.lr]
    for _ in range(steps):
        schedule.step()
        out.append(schedule.optimizer.lr)
    return out


def torch_lrs(make_scheduler, lr, steps):
    optimizer = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=lr)
    scheduler = make_scheduler(optimizer)
    out = [optimizer.param_groups[0]["lr"]]
    for _ in range(steps):
        optimizer.step()
        scheduler.step()
        out.append(optimizer.param_groups[0]["lr"])
    return out


def test_linear_decay_is_the_original_demos_formula_and_torchs_linear_lr():
    optimizer = SGD(MLP(2, [1], seed=0).parameters(), lr=123.0)
    schedule = LinearDecay(optimizer, 1.0, 0.1, 100)
    assert optimizer.lr == 1.0  # set for step 0 as soon as the schedule is made
    ours = lrs(schedule, 100)
    # the original micrograd demo: learning_rate = 1.0 - 0.9*k/100 at step k
    assert all(math.isclose(lr, 1.0 - 0.9 * k / 100, rel_tol=1e-14) for k, lr in enumerate(ours))
    theirs = torch_lrs(
        lambda o: torch.optim.lr_scheduler.LinearLR(o, start_factor=1.0, end_factor=0.1, total_iters=100), 1.0, 100
    )
    assert all(math.isclose(a, b, rel_tol=1e-12) for a, b in zip(ours, theirs))
    assert [schedule.lr_at(k) for k in (0, 50, 100, 150)] == pytest.approx([1.0, 0.55, 0.1, 0.1], rel=1e-15)


def test_cosine_decay_is_torchs_cosine_annealing():
    optimizer = Adam(MLP(2, [1], seed=0).parameters())
    ours = lrs(CosineDecay(optimizer, 0.3, 0.01, 40), 40)
    theirs = torch_lrs(lambda o: torch.optim.lr_scheduler.CosineAnnealingLR(o, T_max=40, eta_min=0.01), 0.3, 40)
    assert all(math.isclose(a, b, rel_tol=1e-12) for a, b in zip(ours, theirs)), list(zip(ours, theirs))
    schedule = CosineDecay(optimizer, 0.3, 0.01, 40)
    # the formula by hand: halfway is the mean of the ends; past the end it stays at the end
    assert schedule.lr_at(20) == pytest.approx(0.155, rel=1e-15)
    assert schedule.lr_at(40) == schedule.lr_at(1000) == pytest.approx(0.01, rel=1e-15)


def test_plain_sgd_step_by_hand():
    p = MLP(1, [1], activation=None, seed=0).parameters()
    p[0].data, p[1].data = 2.0, -1.0
    p[0].grad, p[1].grad = 0.5, -4.0
    optimizer = SGD(p, lr=0.1, momentum=0.9)
    optimizer.step()
    assert (p[0].data, p[1].data) == (2.0 - 0.1 * 0.5, -1.0 + 0.1 * 4.0)
    optimizer.step()  # momentum buffer: 0.9 * 0.5 + 0.5 = 0.95
    assert p[0].data == pytest.approx(2.0 - 0.05 - 0.095, rel=1e-15)
    optimizer.zero_grad()
    assert p[0].grad == p[1].grad == 0.0


@pytest.mark.parametrize(
    "make, error, match",
    [
        (lambda p: SGD(p, lr=-0.1), ValueError, "lr"),
        (lambda p: SGD(p, lr=float("nan")), ValueError, "lr"),
        (lambda p: SGD(p, lr="0.1"), TypeError, "lr must be a finite number >= 0, got str"),
        (lambda p: SGD(p, lr=0.1, momentum=-1), ValueError, "momentum"),
        (lambda p: Adam(p, betas=(0.9, 1.0)), ValueError, r"betas\[1\]"),
        (lambda p: Adam(p, betas=(None, 0.9)), TypeError, r"betas\[0\]"),
        (lambda p: Adam(p, betas=0.9), TypeError, "betas must be a pair"),
        (lambda p: Adam(p, betas=(0.9, 0.99, 0.999)), ValueError, "betas must be a pair"),
        (lambda p: AdamW(p, weight_decay=-0.1), ValueError, "weight_decay"),
        (lambda p: Adam(p, eps=-1e-8), ValueError, "eps"),
        (lambda p: Adam(p, eps=0.0), ValueError, "eps must be a finite number > 0, got 0.0"),
        (lambda p: AdamW(p, eps=0), ValueError, "eps must be a finite number > 0"),
        (lambda p: SGD([], lr=0.1), ValueError, "params is empty"),
        (lambda p: SGD([1.0, 2.0], lr=0.1), TypeError, r"params\[0\]"),
        (lambda p: LinearDecay(SGD(p, lr=0.1), 1.0, 0.1, 0), ValueError, "steps"),
        (lambda p: LinearDecay(SGD(p, lr=0.1), 1.0, 0.1, 2.5), TypeError, "steps"),
        (lambda p: CosineDecay(SGD(p, lr=0.1), -1.0, 0.1, 10), ValueError, "start"),
    ],
)
def test_bad_settings_raise_naming_the_setting(make, error, match):
    params = MLP(2, [1], seed=0).parameters()
    with pytest.raises(error, match=match) as caught:
        make(params)
    assert type(caught.value) is error


def test_adam_with_a_zero_gradient_leaves_the_parameter_where_it_is():
    params = MLP(2, [1], seed=0).parameters()
    before = [p.data for p in params]
    optimizer = Adam(params, lr=0.1, eps=1e-12)
    optimizer.step()  # every grad is 0: 0 / (0 + eps) moves nothing
    assert [p.data for p in params] == before


OVERFLOW_CASES = [
    (lambda p: SGD(p, lr=1e300), 1e10),  # lr * grad overflows
    (lambda p: SGD(p, lr=1.0, momentum=0.9), 1.7e308),  # the first step is fine, the second's buffer is not
    (lambda p: SGD(p, lr=1e-3, weight_decay=1e300), 0.5),  # weight_decay * p overflows
    (lambda p: Adam(p, lr=0.1), 1e200),  # grad**2 overflows: the parameter would stop moving
    (lambda p: AdamW(p, lr=1e200, weight_decay=1e200), 0.5),  # 1 - lr * weight_decay overflows
]


@pytest.mark.parametrize("make, grad", OVERFLOW_CASES)
def test_an_update_that_overflows_raises_and_changes_nothing(make, grad):
    params = MLP(2, [1], seed=0).parameters()
    optimizer = make(params)
    for p in params:
        p.grad = 0.0
    params[1].grad = grad
    with pytest.raises(OverflowError) as caught:
        for _ in range(3):
            before = [p.data for p in params]
            state = repr(vars(optimizer))
            optimizer.step()
    message = str(caught.value)
    named = re.match(rf"{type(optimizer).__name__}: the update of params\[(\d)\] \((\S+)\) overflows", message)
    assert named and named.group(2) == params[int(named.group(1))].label, message  # L0.N0.w1, say
    assert f"lr={optimizer.lr!r}" in message
    assert [p.data for p in params] == before and repr(vars(optimizer)) == state  # no half-step
    assert all(math.isfinite(p.data) for p in params)


# -- the same update on arrays (ParameterArrays, as fit(..., compiled=True) steps) -------------

ARRAY_CASES = [
    (lambda p: SGD(p, lr=0.1, momentum=0.9, weight_decay=0.01), lambda o: LinearDecay(o, 0.1, 0.01, 12)),
    (lambda p: SGD(p, lr=0.05), None),
    (lambda p: Adam(p, lr=0.02, weight_decay=0.05), lambda o: CosineDecay(o, 0.02, 0.001, 12)),
    (lambda p: Adam(p, lr=0.05, betas=(0.3, 0.9)), None),  # beta1 < 0.5: the other branch of torch's lerp
    (lambda p: AdamW(p, lr=0.02, weight_decay=0.1), lambda o: LinearDecay(o, 0.02, 0.002, 12)),
]


def random_gradients(params, rng):
    for p in params:
        p.grad = rng.gauss(0.0, 1.0)


@pytest.mark.parametrize("make, make_schedule", ARRAY_CASES)
def test_parameter_arrays_step_as_step_does(make, make_schedule):
    """Two optimizers on two copies of a model, fed the same gradients: one steps on its Values, the
    other on arrays (synced halfway and at the end); the parameters and the state stay equal."""
    import numpy as np

    runs = []
    for on_arrays in (False, True):
        params = MLP(3, [4, 3, 1], activation="tanh", seed=11).parameters()
        optimizer = make(params)
        schedule = make_schedule(optimizer) if make_schedule else None
        arrays = optimizer.arrays() if on_arrays else None
        rng = random.Random(5)
        for k in range(12):
            random_gradients(params, rng)
            if arrays is None:
                optimizer.step()
            else:
                arrays.step(np.array([p.grad for p in params]))
                if k == 5:
                    arrays.sync()
                    arrays.load()
            if schedule:
                schedule.step()
        if arrays is not None:
            arrays.sync()
        runs.append((params, optimizer))
    (eager_params, eager), (array_params, on_arrays) = runs
    assert on_arrays.steps_taken == eager.steps_taken == 12 and on_arrays.lr == eager.lr
    pairs = [(a.data, b.data) for a, b in zip(eager_params, array_params)]
    for name in eager.state_names:
        assert isinstance(getattr(on_arrays, name), list)
        pairs += zip(getattr(eager, name), getattr(on_arrays, name))
    assert all(math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-300) for a, b in pairs)
    assert max(abs(p.data - q) for p, q in zip(array_params, start_parameters())) > 1e-3  # it trained


@pytest.mark.parametrize("make, grad", OVERFLOW_CASES)
def test_an_overflowing_update_on_arrays_raises_as_step_does_and_changes_nothing(make, grad):
    import numpy as np

    messages = []
    for on_arrays in (False, True):
        params = MLP(2, [1], seed=0).parameters()
        optimizer = make(params)
        arrays = optimizer.arrays()
        grads = np.zeros(len(params))
        grads[1] = grad
        for p, g in zip(params, grads.tolist()):
            p.grad = g
        with pytest.raises(OverflowError) as caught:
            for _ in range(3):
                before, state = arrays.data.copy(), [s.copy() for s in arrays.state]
                steps = optimizer.steps_taken
                arrays.step(grads) if on_arrays else optimizer.step()
        messages.append(str(caught.value))
        if on_arrays:  # the arrays and the step count are as they were before the failed step
            assert np.array_equal(arrays.data, before) and optimizer.steps_taken == steps
            assert all(np.array_equal(a, b) for a, b in zip(arrays.state, state))
    assert messages[0] == messages[1]


def test_parameter_arrays_refuse_a_gradient_of_another_shape():
    arrays = SGD(MLP(2, [1], seed=0).parameters(), lr=0.1).arrays()
    with pytest.raises(ValueError, match=r"grad must hold one number per parameter, shape \(3,\), got \(2,\)"):
        arrays.step([1.0, 2.0])


def test_optimizers_step_values_of_a_subclass():
    # a Value extended the lesson's way, by subclassing, is a parameter like any other
    class Tagged(Value):
        pass

    # SGD: 1 - 0.1 * 0.5; Adam's first step moves by lr (its mean over its root mean square is 1)
    for make, expected in ((lambda p: SGD(p, lr=0.1), 0.95), (lambda p: Adam(p, lr=0.1), 0.9)):
        p = Tagged(1.0)
        p.grad = 0.5
        make([p]).step()
        assert p.data == pytest.approx(expected, rel=1e-7)
