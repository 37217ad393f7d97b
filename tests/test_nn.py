"""Neurons, layers and MLPs: shapes, seeding, errors, and forward/backward against PyTorch float64."""

import math
import random

import pytest
import torch

import micrograd.nn as nn
from micrograd import Value
from micrograd.nn import MLP, Layer, Neuron

REL = 1e-12

TORCH_ACTIVATIONS = {"relu": torch.relu, "tanh": torch.tanh, "sigmoid": torch.sigmoid, None: lambda t: t}


def close(ours: float, theirs: float, rel: float = REL) -> bool:
    return math.isclose(ours, theirs, rel_tol=rel, abs_tol=1e-300)


class TorchTwin:
    """The same network written directly with PyTorch float64 tensors, holding a copy of ``model``'s weights."""

    def __init__(self, model: MLP):
        self.weights = [
            torch.tensor([[w.data for w in n.w] for n in layer.neurons], dtype=torch.float64, requires_grad=True)
            for layer in model.layers
        ]
        self.biases = [
            torch.tensor([n.b.data for n in layer.neurons], dtype=torch.float64, requires_grad=True)
            for layer in model.layers
        ]
        self.activations = [TORCH_ACTIVATIONS[layer.activation] for layer in model.layers]

    def parameters(self) -> list[torch.Tensor]:
        return [t for pair in zip(self.weights, self.biases) for t in pair]

    def __call__(self, x) -> torch.Tensor:
        h = torch.as_tensor(x, dtype=torch.float64)
        for weight, bias, activation in zip(self.weights, self.biases, self.activations):
            h = activation(weight @ h + bias)
        return h

    def flat(self, use_grad: bool = False) -> list[float]:
        """Values (or grads) in the order of ``MLP.parameters()``: per neuron, its weights then its bias."""
        out = []
        for weight, bias in zip(self.weights, self.biases):
            w, b = (weight.grad, bias.grad) if use_grad else (weight.detach(), bias.detach())
            for j in range(w.shape[0]):
                out.extend(w[j].tolist())
                out.append(float(b[j]))
        return out


def test_parameter_counts_match_the_published_numbers_and_torch():
    # 337: the original micrograd demo prints "number of parameters 337"; 41: the lesson's len(m.parameters()).
    demo = MLP(2, [16, 16, 1], seed=0)
    lesson = MLP(3, [4, 4, 1], activation="tanh", output_activation="tanh", seed=0)
    assert demo.num_parameters() == 337 == len(demo.parameters())
    assert lesson.num_parameters() == 41
    assert sum(t.numel() for t in TorchTwin(demo).parameters()) == 337
    assert sum(p.numel() for p in torch.nn.Linear(3, 4).parameters()) == Layer(3, 4).num_parameters() == 16
    assert Neuron(5).num_parameters() == 6


def test_same_seed_same_weights_other_seed_other_weights():
    def weights(model):
        return [p.data for p in model.parameters()]

    assert weights(MLP(2, [16, 16, 1], seed=7)) == weights(MLP(2, [16, 16, 1], seed=7))
    assert weights(MLP(2, [16, 16, 1], seed=7)) != weights(MLP(2, [16, 16, 1], seed=8))


def test_module_seed_function_makes_unseeded_models_reproducible():
    nn.seed(123)
    first = [p.data for p in MLP(3, [4, 1]).parameters()]
    second_draw = [p.data for p in MLP(3, [4, 1]).parameters()]
    nn.seed(123)
    again = [p.data for p in MLP(3, [4, 1]).parameters()]
    assert first == again
    assert first != second_draw  # the generator moved on


def test_default_init_is_the_original_uniform_and_fan_in_is_torchs_bound():
    model = MLP(64, [32, 1], seed=1)
    weights = [w.data for layer in model.layers for n in layer.neurons for w in n.w]
    assert all(-1.0 <= w <= 1.0 for w in weights)
    assert max(map(abs, weights)) > 0.99  # 2080 draws fill the whole interval
    assert all(n.b.data == 0.0 for layer in model.layers for n in layer.neurons)

    wide = MLP(64, [32, 1], seed=1, init="fan_in")
    first = wide.layers[0].parameters()
    # torch.nn.Linear(64, 32)'s documented bound: 1/sqrt(in_features) for weights and biases
    assert all(abs(p.data) <= 1 / math.sqrt(64) for p in first)
    assert max(abs(p.data) for p in first) > 0.99 / math.sqrt(64)
    assert all(abs(p.data) <= 1 / math.sqrt(32) for p in wide.layers[1].parameters())
    assert any(n.b.data != 0.0 for n in wide.layers[0].neurons)


def test_one_output_neuron_gives_a_single_value_otherwise_a_list():
    x = [0.5, -1.0]
    out = MLP(2, [3, 1], seed=0)(x)
    assert isinstance(out, Value)
    outs = MLP(2, [3, 2], seed=0)(x)
    assert isinstance(outs, list) and len(outs) == 2 and all(isinstance(v, Value) for v in outs)
    assert isinstance(MLP(2, [3, 1], seed=0).forward(x), list)
    layer = Layer(2, 1, rng=random.Random(0))
    assert isinstance(layer(x), Value) and isinstance(layer.forward(x), list)


def test_labels_name_each_parameters_place():
    model = MLP(2, [4, 1], seed=0)
    assert model.layers[0].neurons[3].w[1].label == "L0.N3.w1"
    assert model.layers[1].neurons[0].b.label == "L1.N0.b"
    labels = [p.label for p in model.parameters()]
    assert len(set(labels)) == len(labels)


def test_repr_shows_the_architecture_and_rebuilds_it():
    model = MLP(2, [16, 16, 1])
    assert repr(model) == "MLP(2, [16, 16, 1], activation='relu', output_activation=None)"
    rebuilt = eval(repr(model), {"MLP": MLP})
    assert rebuilt.nouts == [16, 16, 1] and rebuilt.num_parameters() == 337
    assert repr(model.layers[0]) == "Layer(2, 16, activation='relu')"
    assert repr(model.layers[2].neurons[0]) == "Neuron(16, activation=None)"


@pytest.mark.parametrize(
    "activation, output_activation",
    [("relu", None), ("tanh", "tanh"), ("sigmoid", "sigmoid"), (None, "relu"), ("tanh", None)],
)
def test_forward_and_every_gradient_equal_a_torch_float64_network(activation, output_activation):
    rng = random.Random(42)
    model = MLP(3, [5, 4, 2], activation=activation, output_activation=output_activation, seed=3)
    twin = TorchTwin(model)
    for _ in range(3):
        x = [rng.uniform(-2, 2) for _ in range(3)]
        coefficients = [rng.uniform(-1, 1) for _ in range(2)]
        model.zero_grad()
        outs = model(x)
        loss = outs[0] * coefficients[0] + outs[1] * coefficients[1]
        loss.backward()
        for t in twin.parameters():
            t.grad = None
        reference = twin(x)
        (reference * torch.tensor(coefficients, dtype=torch.float64)).sum().backward()
        assert all(close(o.data, r) for o, r in zip(outs, reference.tolist()))
        ours = [p.grad for p in model.parameters()]
        theirs = twin.flat(use_grad=True)
        assert len(ours) == len(theirs) == model.num_parameters()
        assert all(close(a, b) for a, b in zip(ours, theirs)), list(zip(ours, theirs))


def test_lesson_training_loop_lowers_the_loss_every_step_and_matches_torch():
    # The lesson's data, network and loop: squared-error sum, 20 steps of plain gradient descent.
    xs = [[2.0, 3.0, -1.0], [3.0, -1.0, 0.5], [0.5, 1.0, 1.0], [1.0, 1.0, -1.0]]
    ys = [1.0, -1.0, -1.0, 1.0]
    for seed in range(3):
        model = MLP(3, [4, 4, 1], activation="tanh", output_activation="tanh", seed=seed)
        twin = TorchTwin(model)
        losses = []
        for _ in range(20):
            ypred = [model(x) for x in xs]
            loss = sum((yout - ygt) ** 2 for ygt, yout in zip(ys, ypred))
            model.zero_grad()
            loss.backward()
            for p in model.parameters():
                p.data += -0.01 * p.grad
            losses.append(loss.data)

            reference = sum((twin(x)[0] - y) ** 2 for x, y in zip(xs, ys))
            for t in twin.parameters():
                t.grad = None
            reference.backward()
            with torch.no_grad():
                for t in twin.parameters():
                    t -= 0.01 * t.grad
            assert close(loss.data, reference.item(), rel=1e-10)
        assert all(later < earlier for earlier, later in zip(losses, losses[1:])), losses
        assert losses[-1] < 0.5 * losses[0]


def test_a_width_one_hidden_layer_forwards_and_trains():
    model = MLP(2, [1, 3], seed=0)
    outs = model([1.0, 2.0])
    assert isinstance(outs, list) and len(outs) == 3

    model = MLP(2, [1, 1], activation="tanh", seed=0)
    xs = [[0.0, 1.0], [1.0, 0.0], [-1.0, 0.5], [0.5, -1.0]]
    ys = [1.0, -1.0, 0.5, -0.5]
    losses = []
    for _ in range(30):
        loss = sum((model(x) - y) ** 2 for x, y in zip(xs, ys))
        model.zero_grad()
        loss.backward()
        assert any(p.grad != 0.0 for p in model.layers[0].parameters())  # gradient reaches through width 1
        for p in model.parameters():
            p.data -= 0.05 * p.grad
        losses.append(loss.data)
    assert losses[-1] < 0.5 * losses[0], losses


def test_zero_grad_clears_every_parameter():
    model = MLP(2, [3, 1], seed=0)
    model([1.0, -2.0]).backward()
    assert any(p.grad for p in model.parameters())
    model.zero_grad()
    assert all(p.grad == 0.0 for p in model.parameters())


@pytest.mark.parametrize(
    "build, error, argument",
    [
        (lambda: MLP(0, [2]), ValueError, "nin"),
        (lambda: MLP(-3, [2]), ValueError, "nin"),
        (lambda: Neuron(0), ValueError, "nin"),
        (lambda: Layer(2, 0), ValueError, "nout"),
        (lambda: MLP(2, [4, 0]), ValueError, "nouts"),
        (lambda: MLP(2, []), ValueError, "nouts"),
        (lambda: MLP(2, [4], activation="gelu"), ValueError, "activation"),
        (lambda: MLP(2, [4], output_activation="softmax"), ValueError, "output_activation"),
        (lambda: Neuron(2, activation="Tanh"), ValueError, "activation"),
        (lambda: MLP(2, [4], init="xavier"), ValueError, "init"),
        (lambda: MLP(2.5, [4]), TypeError, "nin"),
        (lambda: MLP(2, [4], seed="abc"), TypeError, "seed"),
        # True is 1 to operator.index, but a bool is never meant as a size
        (lambda: MLP(True, [1]), TypeError, "nin must be a positive whole number, got bool: True"),
        (lambda: MLP(2, [4, True]), TypeError, r"nouts\[1\] must be a positive whole number, got bool: True"),
        (lambda: Layer(2, True), TypeError, "nout"),
        (lambda: MLP(2, [4], seed=True), TypeError, "seed"),
        (lambda: MLP(2, 5), TypeError, "nouts must be a list of layer widths"),
        (lambda: MLP(2, "16,16"), TypeError, "nouts must be a list of layer widths"),
        (lambda: MLP(2, [4, "1"]), TypeError, r"nouts\[1\]"),
    ],
)
def test_bad_arguments_raise_naming_the_argument(build, error, argument):
    with pytest.raises(error, match=argument) as caught:
        build()
    assert type(caught.value) is error


def test_numpy_integers_are_sizes_and_seeds_like_ints():
    np = pytest.importorskip("numpy")
    model = MLP(np.int64(2), (np.int32(3), np.int64(1)), seed=np.int64(4))
    same = MLP(2, [3, 1], seed=4)
    assert repr(model) == repr(same) and [p.data for p in model.parameters()] == [p.data for p in same.parameters()]


@pytest.mark.parametrize("call", [lambda m: m([1.0]), lambda m: m([1.0, 2.0, 3.0]), lambda m: m.layers[0]([1.0])])
def test_wrong_input_length_is_a_value_error_naming_x(call):
    with pytest.raises(ValueError, match=r"x must hold 2 inputs for this (MLP|layer), got \d"):
        call(MLP(2, [3, 1], seed=0))
    with pytest.raises(ValueError, match="x must hold 2 inputs for this neuron, got 3"):
        Neuron(2)([1.0, 2.0, 3.0])
    with pytest.raises(TypeError, match="x must be a list of numbers or Values, got str"):
        MLP(2, [1], seed=0)("ab")
    with pytest.raises(TypeError, match="x must be a list of numbers or Values: Value needs a real number, got str"):
        MLP(2, [1], seed=0)([1.0, "2"])
