"""The playground's six problems: TensorFlow Playground's four, and micrograd's moons and yin-yang.

circle, xor, gaussian and spiral follow TensorFlow Playground's ``dataset.ts`` (its classify*Data
functions, noise 0 as its default, 500 points shuffled and split half for training, half for
testing), drawn from a seeded ``random.Random`` instead of its Math.random. Its labels +1 and -1
are the classes 1 and 0 here. moons and yin-yang come from ``micrograd.data`` (scikit-learn draws
the moons). Each problem also says which square of the plane the page shows.
"""

from __future__ import annotations

import math
import random
from typing import Callable, NamedTuple

from micrograd.data import Dataset

__all__ = ["Problem", "PROBLEMS", "make_problem"]

SAMPLES = 500  # TensorFlow Playground's NUM_SAMPLES_CLASSIFY
TRAIN_PERCENT = 50  # its default percTrainData


class Problem(NamedTuple):
    name: str
    train: Dataset
    test: Dataset
    bounds: tuple[float, float]  # the page shows the square [low, high] x [low, high]


def _circle(rng: random.Random, n: int) -> list[tuple[float, float, int]]:
    radius = 5.0
    points = []
    for low, high in ((0.0, radius * 0.5), (radius * 0.7, radius)):  # inside, then outside
        for _ in range(n // 2):
            r = rng.uniform(low, high)
            angle = rng.uniform(0.0, 2 * math.pi)
            x, y = r * math.sin(angle), r * math.cos(angle)
            points.append((x, y, int(math.hypot(x, y) < radius * 0.5)))
    return points


def _xor(rng: random.Random, n: int) -> list[tuple[float, float, int]]:
    padding = 0.3
    points = []
    for _ in range(n):
        x, y = rng.uniform(-5.0, 5.0), rng.uniform(-5.0, 5.0)
        x += padding if x > 0 else -padding
        y += padding if y > 0 else -padding
        points.append((x, y, int(x * y >= 0)))
    return points


def _gaussian(rng: random.Random, n: int) -> list[tuple[float, float, int]]:
    deviation = math.sqrt(0.5)  # TensorFlow Playground's variance at noise 0
    points = []
    for centre, label in ((2.0, 1), (-2.0, 0)):
        points += [(rng.gauss(centre, deviation), rng.gauss(centre, deviation), label) for _ in range(n // 2)]
    return points


def _spiral(rng: random.Random, n: int) -> list[tuple[float, float, int]]:
    half = n // 2
    points = []
    for delta, label in ((0.0, 1), (math.pi, 0)):
        for i in range(half):
            r = i / half * 5
            t = 1.75 * i / half * 2 * math.pi + delta
            points.append((r * math.sin(t), r * math.cos(t), label))
    return points


_DRAWN: dict[str, Callable[[random.Random, int], list]] = {
    "circle": _circle,
    "xor": _xor,
    "gaussian": _gaussian,
    "spiral": _spiral,
}

PROBLEMS = ("circle", "xor", "gaussian", "spiral", "moons", "yinyang")
"""The problems by the names the page and the server use, in the page's order."""


def make_problem(name: str, seed: int) -> Problem:
    """Problem ``name`` (one of ``PROBLEMS``) drawn with ``seed``: the same seed, the same points."""
    if name in _DRAWN:
        rng = random.Random(seed)
        points = _DRAWN[name](rng, SAMPLES)
        rng.shuffle(points)
        cut = len(points) * TRAIN_PERCENT // 100
        train, test = (Dataset([p[:2] for p in rows], [p[2] for p in rows], 2, name=f"{name}/{part}")
                       for rows, part in ((points[:cut], "train"), (points[cut:], "test")))
        return Problem(name, train, test, (-6.0, 6.0))
    from micrograd.data import moons, yinyang

    if name == "moons":
        splits = moons(SAMPLES, seed=seed, test_fraction=1 - TRAIN_PERCENT / 100)
        return Problem(name, splits.train, splits.test, (-1.5, 2.5))
    if name == "yinyang":
        splits = yinyang(SAMPLES, seed=seed, test_fraction=1 - TRAIN_PERCENT / 100, val_fraction=0.0)
        return Problem(name, splits.train, splits.test, (-1.1, 1.1))
    raise ValueError(f"unknown dataset {name!r}: choose one of {', '.join(PROBLEMS)}")
