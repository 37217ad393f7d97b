"""Optimizers (SGD, Adam, AdamW) and learning-rate schedules. Standard library only.

Each update does the same floating-point operations in the same order as ``torch.optim`` 2.13
(its single-tensor code path), so a run here and a run in PyTorch stay together step for step.
"""

from __future__ import annotations

import math
from typing import Iterable

from micrograd._validate import finite_number, fraction, non_negative, positive_int
from micrograd.engine import Value

__all__ = ["Optimizer", "SGD", "Adam", "AdamW", "OPTIMIZERS", "LinearDecay", "CosineDecay"]


class Optimizer:
    """Holds the parameters and the learning rate ``lr`` (settable, e.g. by a schedule)."""

    def __init__(self, params: Iterable[Value], lr: float):
        self.params = list(params)
        if not self.params:
            raise ValueError(f"{type(self).__name__}: params is empty; pass model.parameters()")
        for i, p in enumerate(self.params):
            if type(p) is not Value:
                raise TypeError(f"{type(self).__name__}: params[{i}] is a {type(p).__name__}, not a Value")
        self.lr = non_negative(lr, "lr")

    def zero_grad(self) -> None:
        """Set every parameter's ``.grad`` to 0, ready for the next ``backward()``."""
        for p in self.params:
            p.grad = 0.0

    def step(self) -> None:
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}({len(self.params)} parameters, lr={self.lr})"

    def _overflow(self, i: int) -> OverflowError:
        p = self.params[i]
        name = f"params[{i}]" + (f" ({p.label})" if p.label else "")
        return OverflowError(
            f"{type(self).__name__}: the update of {name} overflows the float range (lr={self.lr!r}, "
            f"grad={p.grad!r}); no parameter was changed. Lower lr, or look for exploding gradients"
        )


class SGD(Optimizer):
    """Stochastic gradient descent, with optional momentum and (L2) weight decay, as ``torch.optim.SGD``.

    ``g = grad + weight_decay * p``; with momentum ``buf = g`` on the first step, then
    ``buf = momentum * buf + g``, and ``g = buf``; finally ``p -= lr * g``. A step whose result
    would not be finite raises ``OverflowError`` and changes nothing.
    """

    def __init__(self, params: Iterable[Value], lr: float, momentum: float = 0.0, weight_decay: float = 0.0):
        super().__init__(params, lr)
        self.momentum = non_negative(momentum, "momentum")
        self.weight_decay = non_negative(weight_decay, "weight_decay")
        self._velocity: list[float | None] = [None] * len(self.params)

    def step(self) -> None:
        """Update every parameter from its ``.grad``."""
        negative_lr, momentum, weight_decay = -self.lr, self.momentum, self.weight_decay
        # Everything is computed before anything is stored, so that an overflow leaves no half-step.
        updated, velocity = [], []
        for p, buffer in zip(self.params, self._velocity):
            g = p.grad
            if weight_decay:
                g = g + weight_decay * p.data
            if momentum:
                g = g if buffer is None else buffer * momentum + g
                velocity.append(g)
            new = p.data + negative_lr * g
            if new - new:  # inf - inf is nan: cheaper than math.isfinite
                raise self._overflow(len(updated))
            updated.append(new)
        for p, new in zip(self.params, updated):
            p.data = new
        if momentum:
            self._velocity = velocity


class Adam(Optimizer):
    """Adam, as ``torch.optim.Adam``; ``weight_decay`` adds ``weight_decay * p`` to the gradient (L2).

    ``eps`` must be above 0: it keeps a zero gradient's update at 0/eps. A step whose result (or
    squared gradient) would not be finite raises ``OverflowError`` and changes nothing.
    """

    _decoupled = False  # AdamW shrinks the weights directly instead

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
        self.steps_taken = 0
        self._mean = [0.0] * len(self.params)  # first moment (torch's exp_avg)
        self._square = [0.0] * len(self.params)  # second moment (exp_avg_sq)

    def step(self) -> None:
        """Update every parameter from its ``.grad``."""
        lr, eps, weight_decay, decoupled = self.lr, self.eps, self.weight_decay, self._decoupled
        beta1, beta2 = self.betas
        step = float(self.steps_taken + 1)
        step_size = lr / (1 - beta1**step)
        correction2_root = (1 - beta2**step) ** 0.5
        keep = 1 - lr * weight_decay
        mean_weight, square_weight = 1 - beta1, 1 - beta2
        # Everything is computed before anything is stored, so that an overflow leaves no half-step.
        updated, means, squares = [], [], []
        for i, (p, m, v) in enumerate(zip(self.params, self._mean, self._square)):
            g, data = p.grad, p.data
            if weight_decay:
                if decoupled:
                    data = data * keep
                else:
                    g = g + weight_decay * data
            m = _lerp(m, g, mean_weight)
            v = v * beta2 + square_weight * g * g
            new = data + -step_size * m / (math.sqrt(v) / correction2_root + eps)
            # An infinite v would not show in new (m / inf is 0): the parameter would silently stop.
            if new - new or v - v:
                raise self._overflow(i)
            updated.append(new)
            means.append(m)
            squares.append(v)
        for p, new in zip(self.params, updated):
            p.data = new
        self._mean, self._square = means, squares
        self.steps_taken += 1


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
