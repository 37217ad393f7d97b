"""The playground's problems: TensorFlow Playground's four classifications and two regressions,
and micrograd's moons and yin-yang; and the user's own points (checked, read from and written to CSV).

circle, xor, gaussian, spiral, plane and multigauss follow TensorFlow Playground's ``dataset.ts``
(its classify*/regress* functions with its noise, 500 points shuffled and split into training and
test sets by its train/test ratio), drawn from a seeded ``random.Random`` instead of its
Math.random. Its labels +1 and -1 are the classes 1 and 0 here; a regression's label is a number, usually in
[-1, 1]. moons and yin-yang come from ``micrograd.data`` (scikit-learn draws the moons; their noise
is their own). Each problem also says which square of the plane the page shows.
"""

from __future__ import annotations

import csv
import io
import math
import random
from typing import Callable, NamedTuple

from micrograd.playground.fields import Field, checked, number, one_of, shown

__all__ = ["Points", "Problem", "PROBLEMS", "REGRESSIONS", "PARTS", "make_problem", "with_points", "points_from_csv",
           "points_to_csv", "MAX_POINTS", "MAX_CSV_BYTES"]

SAMPLES = 500  # TensorFlow Playground's NUM_SAMPLES_CLASSIFY
TRAIN_PERCENT = 50  # its default percTrainData
MAX_POINTS = 2000  # the user's own points, from clicks, a CSV file, a link or a session file
MAX_CSV_BYTES = 200_000
MAX_LABEL = 1e6  # a regression label; far past it, the squared errors would overflow
CSV_HEADER = ["x1", "x2", "label", "part"]
PARTS = ("train", "test")


class Points:
    """One part of a problem: ``X`` the points ``[x1, x2]``, ``y`` their labels (a class index, or a
    number for a regression)."""

    def __init__(self, X: list[list[float]], y: list):
        self.X, self.y = X, y

    def __len__(self) -> int:
        return len(self.X)


class Problem(NamedTuple):
    name: str
    classes: int | None  # None: a regression
    train: Points
    test: Points
    bounds: tuple[float, float]  # the page shows the square [low, high] x [low, high]
    own: bool = False  # the user's own points, not the drawn ones


def _label_noise(rng: random.Random, scale: float, noise: float) -> tuple[float, float]:
    """TensorFlow Playground's noise for circle, xor and the regressions: it moves the point the
    label is computed from, not the point drawn. None drawn at noise 0 (the same points as before)."""
    if not noise:
        return 0.0, 0.0
    return rng.uniform(-scale, scale) * noise, rng.uniform(-scale, scale) * noise


def _circle(rng: random.Random, n: int, noise: float) -> list[tuple[float, float, int]]:
    radius = 5.0
    points = []
    for low, high in ((0.0, radius * 0.5), (radius * 0.7, radius)):  # inside, then outside
        for _ in range(n // 2):
            r = rng.uniform(low, high)
            angle = rng.uniform(0.0, 2 * math.pi)
            x, y = r * math.sin(angle), r * math.cos(angle)
            dx, dy = _label_noise(rng, radius, noise)
            points.append((x, y, int(math.hypot(x + dx, y + dy) < radius * 0.5)))
    return points


def _xor(rng: random.Random, n: int, noise: float) -> list[tuple[float, float, int]]:
    padding = 0.3
    points = []
    for _ in range(n):
        x, y = rng.uniform(-5.0, 5.0), rng.uniform(-5.0, 5.0)
        x += padding if x > 0 else -padding
        y += padding if y > 0 else -padding
        dx, dy = _label_noise(rng, 5.0, noise)
        points.append((x, y, int((x + dx) * (y + dy) >= 0)))
    return points


def _gaussian(rng: random.Random, n: int, noise: float) -> list[tuple[float, float, int]]:
    deviation = math.sqrt(0.5 + 7.0 * noise)  # its variance: 0.5 at noise 0 up to 4 at noise 0.5
    points = []
    for centre, label in ((2.0, 1), (-2.0, 0)):
        points += [(rng.gauss(centre, deviation), rng.gauss(centre, deviation), label) for _ in range(n // 2)]
    return points


def _spiral(rng: random.Random, n: int, noise: float) -> list[tuple[float, float, int]]:
    half = n // 2
    points = []
    for delta, label in ((0.0, 1), (math.pi, 0)):
        for i in range(half):
            r = i / half * 5
            t = 1.75 * i / half * 2 * math.pi + delta
            dx, dy = (rng.uniform(-1.0, 1.0) * noise, rng.uniform(-1.0, 1.0) * noise) if noise else (0.0, 0.0)
            points.append((r * math.sin(t) + dx, r * math.cos(t) + dy, label))
    return points


def _plane(rng: random.Random, n: int, noise: float) -> list[tuple[float, float, float]]:
    points = []
    for _ in range(n):
        x, y = rng.uniform(-6.0, 6.0), rng.uniform(-6.0, 6.0)
        dx, dy = _label_noise(rng, 6.0, noise)
        points.append((x, y, (x + dx + y + dy) / 10))  # its label scale: [-10, 10] -> [-1, 1]
    return points


_BUMPS = ((-4, 2.5, 1), (0, 2.5, -1), (4, 2.5, 1), (-4, -2.5, -1), (0, -2.5, 1), (4, -2.5, -1))


def _multigauss(rng: random.Random, n: int, noise: float) -> list[tuple[float, float, float]]:
    def label(x, y):  # the strongest of six bumps, each 1 at its centre falling to 0 at distance 2
        strongest = 0.0
        for cx, cy, sign in _BUMPS:
            value = sign * max(0.0, 1.0 - math.hypot(x - cx, y - cy) / 2)
            if abs(value) > abs(strongest):
                strongest = value
        return strongest

    points = []
    for _ in range(n):
        x, y = rng.uniform(-6.0, 6.0), rng.uniform(-6.0, 6.0)
        dx, dy = _label_noise(rng, 6.0, noise)
        points.append((x, y, label(x + dx, y + dy)))
    return points


_DRAWN: dict[str, Callable[[random.Random, int, float], list]] = {
    "circle": _circle,
    "xor": _xor,
    "gaussian": _gaussian,
    "spiral": _spiral,
    "plane": _plane,
    "multigauss": _multigauss,
}

PROBLEMS = ("circle", "xor", "gaussian", "spiral", "moons", "yinyang", "plane", "multigauss")
"""The problems by the names the page and the server use, in the page's order."""
REGRESSIONS = ("plane", "multigauss")


def make_problem(name: str, seed: int, *, noise: int = 0, train_percent: int = TRAIN_PERCENT) -> Problem:
    """Problem ``name`` (one of ``PROBLEMS``) drawn with ``seed``: the same seed, the same points.
    ``noise`` is TensorFlow Playground's, in percent (0 to 50); ``train_percent`` of the points
    train, the rest test. The session's settings (``session.SETTING_FIELDS``) have checked all four."""
    if name in _DRAWN:
        rng = random.Random(seed)
        points = _DRAWN[name](rng, SAMPLES, noise / 100)
        rng.shuffle(points)
        cut = len(points) * train_percent // 100
        train, test = (Points([list(p[:2]) for p in rows], [p[2] for p in rows]) for rows in (points[:cut], points[cut:]))
        return Problem(name, None if name in REGRESSIONS else 2, train, test, (-6.0, 6.0))
    from micrograd.data import moons, yinyang

    if name == "moons":
        splits = moons(SAMPLES, seed=seed, test_fraction=1 - train_percent / 100)
        bounds = (-1.5, 2.5)
    else:  # yinyang
        splits = yinyang(SAMPLES, seed=seed, test_fraction=1 - train_percent / 100, val_fraction=0.0)
        bounds = (-1.1, 1.1)
    train, test = (Points(part.X, part.y) for part in (splits.train, splits.test))
    return Problem(name, splits.train.num_classes, train, test, bounds)


# -- the user's own points ----------------------------------------------------------------------

def with_points(problem: Problem, rows: list, *, names: list[str] | None = None) -> Problem:
    """``problem`` with the user's points ``rows`` (``[x1, x2, label, part]`` each) in place of its
    own, on the same square. Each is checked: ``ValueError`` naming the row (``points[i]``, or
    ``names[i]``) and what is wrong. (Where ``rows`` come from a request or a session file, its
    table has checked that they are a list.)"""
    if len(rows) > MAX_POINTS:
        raise ValueError(f"points: at most {MAX_POINTS} points, got {len(rows)}")
    fields = _row_fields(problem)
    parts = {part: Points([], []) for part in PARTS}
    for i, row in enumerate(rows):
        where = names[i] if names else f"points[{i}]"
        if not isinstance(row, (list, tuple)) or len(row) != len(CSV_HEADER):
            raise ValueError(f"{where}: expected 4 values (x1, x2, label, part), got {shown(row)}")
        checked(dict(zip(CSV_HEADER, row)), fields, where)  # each value by its column's name
        x, y, label, part = row
        parts[part].X.append([float(x), float(y)])
        parts[part].y.append(float(label) if problem.classes is None else int(label))
    if not parts["train"].X:
        raise ValueError("points: at least one training point is needed")
    return problem._replace(train=parts["train"], test=parts["test"], own=True)


def _row_fields(problem: Problem) -> dict[str, Field]:
    """What each value of a point's row must be on ``problem``: inside its square, with one of its
    labels (on a regression, a number: usually in [-1, 1], noise carries some past it)."""
    coordinate = number(*problem.bounds)
    if problem.classes is None:
        label = number(-MAX_LABEL, MAX_LABEL)
    else:
        label = one_of(range(problem.classes))._replace(must_be=f"a class from 0 to {problem.classes - 1}")  # 1.0 is 1
    return {"x1": coordinate, "x2": coordinate, "label": label, "part": one_of(PARTS)}


def point_rows(problem: Problem) -> list[list]:
    """The problem's points as ``[x1, x2, label, part]`` rows (what ``with_points`` takes)."""
    return [[x, y, label, part] for part in PARTS
            for (x, y), label in zip(getattr(problem, part).X, getattr(problem, part).y)]


def points_from_csv(text: str, problem: Problem) -> Problem:
    """``problem`` with the points of a CSV file's ``text`` (header ``x1,x2,label,part``); a
    malformed file raises ``ValueError`` naming its line, and nothing changes. (The server has
    checked that ``text`` is at most ``MAX_CSV_BYTES`` characters.)"""
    lines = list(csv.reader(io.StringIO(text)))
    if not lines or [cell.strip() for cell in lines[0]] != CSV_HEADER:
        raise ValueError(f"line 1: the header must be {','.join(CSV_HEADER)}")
    rows, names = [], []
    for line, cells in enumerate(lines[1:], start=2):
        if cells:  # not a blank line
            rows.append([_read_number(cell) for cell in cells[:3]] + [cell.strip() for cell in cells[3:]])
            names.append(f"line {line}")
    return with_points(problem, rows, names=names)


def _read_number(cell: str) -> int | float | str:
    """A CSV cell as the number it holds (an int if written as one, as a class is), or as its text
    for the row's check to refuse."""
    try:
        return int(cell)
    except ValueError:
        pass
    try:
        return float(cell)
    except ValueError:
        return cell.strip()


def points_to_csv(problem: Problem) -> str:
    """The problem's points as CSV text, header ``x1,x2,label,part``; floats as ``repr`` writes
    them, so that reading the file back gives the same numbers."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_HEADER)
    writer.writerows(point_rows(problem))
    return out.getvalue()
