"""Optimizers (SGD, Adam, AdamW) and learning-rate schedules. Standard library only (NumPy for
``ParameterArrays``, imported there).

Each update does the same floating-point operations in the same order as ``torch.optim`` 2.13
(its single-tensor code path), so a run here and a run in PyTorch stay together step for step.

Each optimizer's update is written once, as ``update(m, data, grad, *state, *constants)``: the way
the op rules of ``micrograd.ops`` take a math namespace ``m``, it runs on one parameter's floats
(``step()``, ``m`` the ``math``-backed ``scalar_math``) and on NumPy arrays holding every parameter
at once (``ParameterArrays``, ``m`` NumPy), which ``fit(..., compiled=True)`` steps with.
"""

from __future__ import annotations

import math
from itertools import repeat
from typing import Iterable

from micrograd._validate import finite_number, fraction, non_negative, of_type, positive_int
from micrograd.engine import Value
from micrograd.ops import scalar_math

__all__ = [
    "Optimizer", "SGD", "Adam", "AdamW", "OPTIMIZERS", "ParameterArrays", "LinearDecay", "CosineDecay",
]  # fmt: skip


class Optimizer:
    """Holds the parameters and the learning rate ``lr`` (settable, e.g. by a schedule).

    A subclass defines ``update`` (a static method: one step of its formula, see the module
    docstring), ``_constants()`` (the numbers ``update`` takes after the state, computed once a
    step) and ``state_names`` (its per-parameter state: attributes holding a list of floats, one per
    parameter). ``steps_taken`` counts the steps.
    """

    state_names: tuple[str, ...] = ()

    def __init__(self, params: Iterable[Value], lr: float):
        self.params = list(params)
        if not self.params:
            raise ValueError(f"{type(self).__name__}: params is empty; pass model.parameters()")
        for i, p in enumerate(self.params):
            of_type(p, Value, f"{type(self).__name__}: params[{i}]", "a Value")
        self.lr = non_negative(lr, "lr")
        self.steps_taken = 0
        for name in self.state_names:
            setattr(self, name, [0.0] * len(self.params))

    def zero_grad(self) -> None:
        """Set every parameter's ``.grad`` to 0, ready for the next ``backward()``."""
        for p in self.params:
            p.grad = 0.0

    def step(self) -> None:
        """Update every parameter from its ``.grad``. A step whose result (or state) would not be
        finite raises ``OverflowError`` and changes nothing."""
        params, constants = self.params, self._constants()
        grads = [p.grad for p in params]
        # map() calls update once per parameter, without a Python loop around it (twice as fast).
        results = map(self.update, repeat(scalar_math), [p.data for p in params], grads, *self._state(),
                      *map(repeat, constants))  # fmt: skip
        data, *state = map(list, zip(*results))
        # Everything is computed before anything is stored, so that an overflow leaves no half-step.
        # A sum is finite only if every term is: one C loop per list instead of a test per number.
        if not all(math.isfinite(sum(column)) for column in (data, *state)):
            for i, numbers in enumerate(zip(data, *state)):
                if not all(map(math.isfinite, numbers)):
                    raise self._overflow(i, grads[i])
        for p, new in zip(params, data):
            p.data = new
        self._set_state(state)
        self.steps_taken += 1

    def arrays(self) -> ParameterArrays:
        """The parameters and this optimizer's state as NumPy arrays, to step many times at once."""
        return ParameterArrays(self)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({len(self.params)} parameters, lr={self.lr})"

    def _constants(self) -> tuple:
        raise NotImplementedError

    def _state(self) -> list[list[float]]:
        return [getattr(self, name) for name in self.state_names]

    def _set_state(self, state: list[list[float]]) -> None:
        for name, values in zip(self.state_names, state):
            setattr(self, name, values)

    def _overflow(self, i: int, grad: float) -> OverflowError:
        p = self.params[i]
        name = f"params[{i}]" + (f" ({p.label})" if p.label else "")
        return OverflowError(
            f"{type(self).__name__}: the update of {name} overflows the float range (lr={self.lr!r}, "
            f"grad={grad!r}); no parameter was changed. Lower lr, or look for exploding gradients"
        )


class ParameterArrays:
    """An optimizer's parameters (``data``, in ``optimizer.params`` order) and per-parameter state
    held in NumPy arrays, for a training loop that takes many steps between looks at the Values.

    ``step(grad)`` is ``optimizer.step()`` on the arrays: the same ``update``, once for all the
    parameters, the same numbers. The optimizer's ``lr`` (a schedule may set it) and ``steps_taken``
    stay the optimizer's own. ``sync()`` writes the parameters into the Values' ``.data`` and the
    state into the optimizer, which then carries on as if it had taken every step itself; ``load()``
    reads them back (after code that may have changed them).
    """

    def __init__(self, optimizer: Optimizer):
        import numpy as np  # only this array path needs NumPy

        self._np = np
        self.optimizer = optimizer
        self.load()

    def load(self) -> None:
        """Read the parameters' ``.data`` and the optimizer's state into the arrays."""
        np, optimizer = self._np, self.optimizer
        self.data = np.fromiter((p.data for p in optimizer.params), dtype=np.float64, count=len(optimizer.params))
        self.state = [np.array(values, dtype=np.float64) for values in optimizer._state()]

    def step(self, grad) -> None:
        """One optimizer step from ``grad``, the gradients in ``optimizer.params`` order. A step whose
        result (or state) would not be finite raises ``OverflowError`` and changes nothing."""
        np, optimizer = self._np, self.optimizer
        grad = np.asarray(grad, dtype=np.float64)
        if grad.shape != self.data.shape:
            raise ValueError(f"grad must hold one number per parameter, shape {self.data.shape}, got {grad.shape}")
        with np.errstate(over="ignore", invalid="ignore"):  # found below, and named as step() names them
            data, *state = optimizer.update(np, self.data, grad, *self.state, *optimizer._constants())
        finite = np.isfinite(data)
        for values in state:
            finite &= np.isfinite(values)
        if not finite.all():
            i = int(np.flatnonzero(~finite)[0])
            raise optimizer._overflow(i, float(grad[i]))
        self.data, self.state = data, state
        optimizer.steps_taken += 1

    def sync(self) -> None:
        """Write the parameters into the Values' ``.data`` and the state into the optimizer."""
        self.write_parameters()
        self.optimizer._set_state([values.tolist() for values in self.state])

    def write_parameters(self) -> None:
        """Write the parameters into the Values' ``.data`` (the state stays in the arrays)."""
        for p, x in zip(self.optimizer.params, self.data.tolist()):
            p.data = x


class SGD(Optimizer):
    """Stochastic gradient descent, with optional momentum and (L2) weight decay, as ``torch.optim.SGD``.

    ``g = grad + weight_decay * p``; with momentum ``buf = g`` on the first step, then
    ``buf = momentum * buf + g``, and ``g = buf``; finally ``p -= lr * g``. A step whose result
    would not be finite raises ``OverflowError`` and changes nothing.
    """

    state_names = ("_velocity",)  # the momentum buffer (torch's momentum_buffer)

    def __init__(self, params: Iterable[Value], lr: float, momentum: float = 0.0, weight_decay: float = 0.0):
        super().__init__(params, lr)
        self.momentum = non_negative(momentum, "momentum")
        self.weight_decay = non_negative(weight_decay, "weight_decay")

    def _constants(self) -> tuple:
        return -self.lr, self.momentum, self.weight_decay, self.steps_taken == 0

    @staticmethod
    def update(m, data, grad, velocity, negative_lr, momentum, weight_decay, first):
        """One step: the new data and momentum buffer (floats, or arrays of every parameter)."""
        if weight_decay:
            grad = grad + weight_decay * data
        if momentum:
            velocity = grad if first else velocity * momentum + grad
            grad = velocity
        return data + negative_lr * grad, velocity


class Adam(Optimizer):
    """Adam, as ``torch.optim.Adam``; ``weight_decay`` adds ``weight_decay * p`` to the gradient (L2).

    ``eps`` must be above 0: it keeps a zero gradient's update at 0/eps. A step whose result (or
    squared gradient) would not be finite raises ``OverflowError`` and changes nothing: an infinite
    second moment would not show in the result (m / inf is 0), the parameter would silently stop.
    """

    _decoupled = False  # AdamW shrinks the weights directly instead
    state_names = ("_mean", "_square")  # first and second moments (torch's exp_avg, exp_avg_sq)

    def __init__(
        self,
        params: Iterable[Value],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
    ):
        super().__init__(params, lr)
        if not isinstance(betas, (tuple, list)):
            raise TypeError(f"betas must be a pair (beta1, beta2), got {type(betas).__name__}: {betas!r}")
        if len(betas) != 2:
            raise ValueError(f"betas must be a pair (beta1, beta2), got {len(betas)} numbers: {betas!r}")
        self.betas = (fraction(betas[0], "betas[0]"), fraction(betas[1], "betas[1]"))
        self.eps = finite_number(eps, "eps", above=0.0)
        self.weight_decay = non_negative(weight_decay, "weight_decay")

    def _constants(self) -> tuple:
        lr, (beta1, beta2) = self.lr, self.betas
        step = float(self.steps_taken + 1)
        step_size = lr / (1 - beta1**step)
        correction2_root = (1 - beta2**step) ** 0.5
        decay = self.weight_decay
        shrink = 1 - lr * decay if self._decoupled and decay else None
        l2 = 0.0 if self._decoupled else decay
        return step_size, correction2_root, 1 - beta1, beta2, 1 - beta2, self.eps, l2, shrink

    @staticmethod
    def update(m, data, grad, mean, square, step_size, correction2_root, mean_weight, beta2, square_weight, eps, l2,
               shrink):  # fmt: skip
        """One step: the new data and moments (floats, or arrays of every parameter). ``l2`` adds
        ``l2 * data`` to the gradient (Adam's weight decay); ``shrink`` (AdamW's, or None)
        multiplies the data first."""
        if l2:
            grad = grad + l2 * data
        if shrink is not None:
            data = data * shrink
        mean = _lerp(mean, grad, mean_weight)
        square = square * beta2 + square_weight * grad * grad
        return data + -step_size * mean / (m.sqrt(square) / correction2_root + eps), mean, square


class AdamW(Adam):
    """Adam with decoupled weight decay, as ``torch.optim.AdamW``: ``p *= 1 - lr * weight_decay`` each step."""

    _decoupled = True

    def __init__(
        self,
        params: Iterable[Value],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 1e-2,
    ):
        super().__init__(params, lr, betas, eps, weight_decay)


OPTIMIZERS = {"sgd": SGD, "adam": Adam, "adamw": AdamW}
"""The optimizers by the names the command line and the demos use."""


class _Schedule:
    """Sets ``optimizer.lr`` to ``lr_at(k)`` before step ``k`` (counting from 0); stays at ``end`` after ``steps``."""

    def __init__(self, optimizer: Optimizer, start: float, end: float, steps: int):
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"optimizer must be a micrograd optimizer, got {type(optimizer).__name__}")
        self.optimizer = optimizer
        self.start = non_negative(start, "start")
        self.end = non_negative(end, "end")
        self.steps = positive_int(steps, "steps")
        self.steps_taken = 0
        optimizer.lr = self.lr_at(0)

    def lr_at(self, step: int) -> float:
        return self._lr(min(max(step, 0), self.steps))

    def step(self) -> None:
        """Call after ``optimizer.step()``: sets the learning rate for the next step."""
        self.steps_taken += 1
        self.optimizer.lr = self.lr_at(self.steps_taken)

    def _lr(self, step: int) -> float:
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}(start={self.start}, end={self.end}, steps={self.steps})"


class LinearDecay(_Schedule):
    """``start + (end - start) * k / steps``.

    The original demo's ``1.0 - 0.9 * k / 100`` is ``LinearDecay(optimizer, 1.0, 0.1, 100)``.
    """

    def _lr(self, step: int) -> float:
        return self.start + (self.end - self.start) * step / self.steps


class CosineDecay(_Schedule):
    """``end + (start - end) * (1 + cos(pi * k / steps)) / 2``, as ``torch``'s ``CosineAnnealingLR`` up to ``steps``."""

    def _lr(self, step: int) -> float:
        return self.end + (self.start - self.end) * (1 + math.cos(math.pi * step / self.steps)) / 2


def _lerp(start: float, end: float, weight: float) -> float:
    # PyTorch's lerp, with its two forms: each is the more accurate one for its range of weights.
    if abs(weight) < 0.5:
        return start + weight * (end - start)
    return end - (end - start) * (1 - weight)
