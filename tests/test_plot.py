"""The pictures' numbers: a model's outputs over a grid, computed in batches, equal eager mode's; the
decision regions are painted on the side of the boundary where the model puts each class."""

import numpy as np
import pytest

from micrograd.compile import compiled_outputs
from micrograd.data import Dataset
from micrograd.nn import MLP
from micrograd.plot import (
    CLASS_COLORS,
    _decision_figure,
    decision_regions,
    model_outputs,
    plot_decision_boundary,
    plot_training_curves,
)
from micrograd.train import History

pytest.importorskip("matplotlib")


@pytest.mark.parametrize(
    "model",
    [
        MLP(2, [16, 16, 1], seed=0),
        MLP(2, [8, 3], activation="tanh", seed=1),
        MLP(3, [4, 2], activation="sigmoid", output_activation="tanh", seed=2),
    ],
    ids=repr,
)
def test_model_outputs_equal_eager_outputs_across_chunks(model):
    points = np.random.default_rng(0).uniform(-2, 2, (37, model.nin))
    expected = []
    for x in points.tolist():
        out = model(x)
        expected.append([v.data for v in out] if isinstance(out, list) else [out.data])
    got = model_outputs(model, points, chunk=10)  # 4 chunks, the last one short
    assert got.shape == (37, len(expected[0]))
    np.testing.assert_allclose(got, np.array(expected), rtol=1e-12, atol=1e-15)


def test_model_outputs_refuses_a_flat_array():
    with pytest.raises(ValueError, match="2-D array"):
        model_outputs(MLP(2, [1], seed=0), np.zeros(4))
    with pytest.raises(TypeError, match="points must be a list or array of real numbers"):
        model_outputs(MLP(2, [1], seed=0), [["a", "b"]])


def test_model_outputs_of_no_points_is_an_empty_array_with_one_column_per_output():
    assert model_outputs(MLP(2, [3], seed=0), np.zeros((0, 2))).shape == (0, 3)
    assert model_outputs(MLP(2, [4, 1], seed=0), np.zeros((0, 2))).shape == (0, 1)


def test_compiled_outputs_compile_once_and_read_the_current_weights():
    model = MLP(2, [1], activation=None, seed=0)
    outputs = compiled_outputs(model, 2)
    w0, w1, b = model.parameters()
    w0.data, w1.data, b.data = 2.0, -1.0, 0.5
    assert outputs([[1.0, 3.0]]).tolist() == [[2.0 - 3.0 + 0.5]]
    b.data = -4.0  # the same compiled program, new weights
    assert outputs([[1.0, 3.0], [0.0, 0.0]]).tolist() == [[-5.0], [-4.0]]
    with pytest.raises(ValueError, match=r"points must be a 2-D array \(samples, 2 features\), got shape \(3, 5\)"):
        outputs(np.zeros((3, 5)))
    with pytest.raises(TypeError, match="points must be a list or array of real numbers"):
        outputs([["1", "2"]])  # text is not read as numbers


# Decision regions --------------------------------------------------------------------------------


def linear_model(weights: list[list[float]], biases: list[float]) -> MLP:
    """An MLP(2, [k]) with a linear output and the given weights: its scores are known by hand."""
    model = MLP(2, [len(biases)], activation=None, seed=0)
    for neuron, row, bias in zip(model.layers[0].neurons, weights, biases):
        for w, value in zip(neuron.w, row):
            w.data = value
        neuron.b.data = bias
    return model


def corners(num_classes: int = 2) -> Dataset:
    """Four points at the corners of [-1, 1]^2: the grid spans [-1.2, 1.2] on each axis."""
    return Dataset([[-1.0, -1.0], [-1.0, 1.0], [1.0, -1.0], [1.0, 1.0]], [0, 0, 1, 1], num_classes, name="corners")


def test_the_score_x0_paints_class_1_right_of_the_y_axis_and_class_0_left_of_it():
    xs, ys, classes = decision_regions(linear_model([[1.0, 0.0]], [0.0]), corners(), resolution=41)
    assert xs[0] == pytest.approx(-1.2) and xs[-1] == pytest.approx(1.2) and classes.shape == (41, 41)
    assert (classes[:, xs > 0] == 1).all()
    assert (classes[:, xs <= 0] == 0).all()  # a score of exactly 0 is class 0, as in losses.accuracy


def test_several_scores_paint_the_largest_ones_class():
    # scores (-x0 - 0.5, 0, x0 - 0.5): class 0 left of -0.5, class 2 right of 0.5, class 1 between
    model = linear_model([[-1.0, 0.0], [0.0, 0.0], [1.0, 0.0]], [-0.5, 0.0, -0.5])
    xs, ys, classes = decision_regions(model, corners(3), resolution=49)
    assert (classes[:, xs < -0.5] == 0).all() and (classes[:, xs > 0.5] == 2).all()
    assert (classes[:, (xs > -0.5) & (xs < 0.5)] == 1).all()
    assert set(np.unique(classes)) == {0, 1, 2}


def faded(color: str) -> np.ndarray:
    """A class colour drawn at alpha 0.25 over white, as the regions are."""
    rgb = np.array([int(color[i : i + 2], 16) for i in (1, 3, 5)]) / 255
    return 0.25 * rgb + 0.75


def test_the_picture_paints_each_class_colour_on_its_side():
    model = linear_model([[1.0, 0.0]], [0.0])
    xs, ys, classes = decision_regions(model, corners(), resolution=60)
    figure = _decision_figure(xs, ys, classes, corners(), None, None, 400, 300)
    figure.canvas.draw()
    pixels = np.asarray(figure.canvas.buffer_rgba())[..., :3] / 255
    axes = figure.axes[0]
    for x, expected in ((-0.6, 0), (0.6, 1)):
        for y in (-0.5, 0.0, 0.5):  # away from the corner points and the boundary line at x = 0
            column, row_from_bottom = axes.transData.transform((x, y))
            pixel = pixels[pixels.shape[0] - int(row_from_bottom), int(column)]
            assert np.abs(pixel - faded(CLASS_COLORS[expected])).max() < 2 / 255, (x, y, pixel)


def test_plot_decision_boundary_writes_a_png(tmp_path):
    path = tmp_path / "boundary.png"
    plot_decision_boundary(linear_model([[1.0, 0.0]], [0.0]), corners(), path, test=corners(), width=200, height=160)
    import matplotlib.image

    assert matplotlib.image.imread(path).shape[:2] == (160, 200)


@pytest.mark.parametrize(
    "options, error, message",
    [
        ({"resolution": 1}, ValueError, "resolution must be a whole number >= 2, got 1"),
        ({"resolution": 2.5}, TypeError, "resolution must be a whole number >= 2, got float"),
        ({"resolution": True}, TypeError, "resolution"),
        ({"data": Dataset([[0.0, 1.0, 2.0]], [0], 2, name="three")}, ValueError,
         "data: a decision boundary needs a dataset with 2 features; 'three' has 3"),
        ({"data": [[0.0, 1.0]]}, TypeError, "data must be a micrograd.data.Dataset, got list"),
        ({"test": [[0.0, 1.0]]}, TypeError, "test must be a micrograd.data.Dataset, got list"),
        ({"test": Dataset([[0.0, 1.0, 2.0]], [0], 2, name="wide")}, ValueError,
         "test: a decision boundary needs a dataset with 2 features; 'wide' has 3"),
        ({"test": corners(3)}, ValueError, "test has 3 classes but data has 2"),
        ({"model": MLP(2, [3], seed=0)}, ValueError, "the model has 3 outputs; 'corners' needs one score or one per"),
        ({"width": 8}, ValueError, "width in pixels must be a whole number from 16 to 10000, got 8"),
        ({"height": 20000}, ValueError, "height in pixels must be a whole number from 16 to 10000"),
    ],
)
def test_plot_decision_boundary_refuses_bad_arguments(tmp_path, options, error, message):
    arguments = {"model": MLP(2, [1], seed=0), "data": corners(), **options}
    with pytest.raises(error) as caught:
        plot_decision_boundary(arguments.pop("model"), arguments.pop("data"), tmp_path / "p.png", **arguments)
    assert type(caught.value) is error and message in str(caught.value)
    assert not (tmp_path / "p.png").exists()


def drawn_curves(monkeypatch, history) -> tuple:
    """``plot_training_curves``'s figure, caught before it is saved: (loss axes, accuracy axes)."""
    import micrograd.plot

    caught = []
    monkeypatch.setattr(micrograd.plot, "_save", lambda figure, path: caught.append(figure))
    plot_training_curves(history, "unused.png")
    return tuple(caught[0].axes)


def test_training_curves_draw_every_step_loss_on_a_log_scale(monkeypatch):
    history = History(loss=[1.0, 0.5, 0.25, 0.2], accuracy=[0.5, 0.75, 1.0, 1.0])  # full batch: one line each
    loss_axes, accuracy_axes = drawn_curves(monkeypatch, history)
    assert loss_axes.get_yscale() == "log" and accuracy_axes.get_yscale() == "linear"
    (loss_line,) = loss_axes.get_lines()
    (accuracy_line,) = accuracy_axes.get_lines()
    assert loss_line.get_xdata().tolist() == [0, 1, 2, 3] and loss_line.get_ydata().tolist() == history.loss
    assert accuracy_line.get_ydata().tolist() == [50.0, 75.0, 100.0, 100.0]  # percent


def test_training_curves_of_mini_batches_add_a_running_mean(monkeypatch):
    loss = [float(k % 2) + 1.0 for k in range(50)]  # 1, 2, 1, 2, ...: noisy, mean 1.5
    history = History(loss=loss, accuracy=[0.5] * 50, batch_size=8)
    loss_axes, _ = drawn_curves(monkeypatch, history)
    raw, smooth = loss_axes.get_lines()
    assert raw.get_ydata().tolist() == loss
    window = 2  # 50 steps // 25
    assert smooth.get_xdata()[0] == window - 1 and np.allclose(smooth.get_ydata(), 1.5)


def test_training_curves_refuse_histories_that_cannot_be_drawn(tmp_path):
    with pytest.raises(ValueError, match="history.accuracy must hold 2 values, one per loss, got 1"):
        plot_training_curves(History(loss=[1.0, 0.5], accuracy=[0.5]), tmp_path / "c.png")
    with pytest.raises(ValueError, match="history.loss must hold at least 1 value, got 0"):
        plot_training_curves(History(), tmp_path / "c.png")
    with pytest.raises(TypeError, match=r"history.loss must be a list of numbers \(as in a micrograd.train.History\), got NoneType"):
        plot_training_curves({"loss": [1.0]}, tmp_path / "c.png")
    assert not (tmp_path / "c.png").exists()


def test_predicted_images_need_square_images_of_the_features():
    from micrograd.plot import plot_predicted_images

    from micrograd import data

    digits = data.load("digits", n_samples=50).test
    model = MLP(64, [10], seed=0)
    with pytest.raises(ValueError, match=r"side=7 draws 49 pixels, but 'digits/test' has 64 features"):
        plot_predicted_images(model, digits, "unused.png", side=7)
