"""Export to PyTorch and back: outputs equal to 1e-12, exact round trips, clear refusals."""

import math
import random
import struct

import pytest
import torch

from micrograd.export import from_torch, to_torch
from micrograd.nn import MLP
from test_nn import TorchTwin

ARCHITECTURES = [
    (2, [16, 16, 1], "relu", None),
    (3, [4, 4, 1], "tanh", "tanh"),
    (5, [7, 3], "sigmoid", "sigmoid"),
    (4, [1, 6, 3], None, "relu"),
    (3, [2], "relu", "tanh"),
]


def bits(x: float) -> bytes:
    return struct.pack("<d", x)


@pytest.mark.parametrize("nin, nouts, activation, output_activation", ARCHITECTURES)
def test_torch_module_outputs_equal_ours(nin, nouts, activation, output_activation):
    model = MLP(nin, nouts, activation, output_activation, seed=2)
    exported = to_torch(model)
    assert all(p.dtype == torch.float64 for p in exported.parameters())
    assert sum(p.numel() for p in exported.parameters()) == model.num_parameters()
    rng = random.Random(0)
    inputs = [[rng.uniform(-3, 3) for _ in range(nin)] for _ in range(20)]
    with torch.no_grad():
        theirs = exported(torch.tensor(inputs, dtype=torch.float64)).tolist()
    for x, row in zip(inputs, theirs):
        ours = [v.data for v in model.forward(x)]
        assert all(math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-14) for a, b in zip(ours, row)), (ours, row)
    # and the module agrees with a network written out by hand from the same weights
    twin = TorchTwin(model)
    with torch.no_grad():
        single = exported(torch.tensor(inputs[0], dtype=torch.float64))
        assert torch.allclose(single, twin(inputs[0]), rtol=1e-13, atol=0)


def test_exported_layers_are_the_expected_torch_layers():
    exported = to_torch(MLP(2, [16, 16, 1], seed=0))
    assert [type(m).__name__ for m in exported] == ["Linear", "ReLU", "Linear", "ReLU", "Linear"]
    assert (exported[0].in_features, exported[0].out_features) == (2, 16)


@pytest.mark.parametrize("nin, nouts, activation, output_activation", ARCHITECTURES)
def test_from_torch_of_to_torch_is_the_same_model_bit_for_bit(nin, nouts, activation, output_activation):
    model = MLP(nin, nouts, activation, output_activation, seed=5)
    back = from_torch(to_torch(model))
    assert back.nouts == nouts and back.output_activation == output_activation
    if len(nouts) > 1:
        assert back.activation == activation
    assert [bits(p.data) for p in back.parameters()] == [bits(p.data) for p in model.parameters()]


def test_from_torch_reads_a_torch_built_float32_network():
    torch.manual_seed(0)
    net = torch.nn.Sequential(
        torch.nn.Linear(3, 5),
        torch.nn.Tanh(),
        torch.nn.Sequential(torch.nn.Linear(5, 2, bias=False), torch.nn.Identity()),
    )
    model = from_torch(net)
    assert repr(model) == "MLP(3, [5, 2], activation='tanh', output_activation=None)"
    x = [0.25, -1.0, 2.0]
    with torch.no_grad():
        theirs = net.double()(torch.tensor(x, dtype=torch.float64)).tolist()
    assert all(math.isclose(v.data, t, rel_tol=1e-12) for v, t in zip(model.forward(x), theirs))
    assert all(n.b.data == 0.0 for n in model.layers[1].neurons)  # no bias reads as a zero bias
    assert from_torch(torch.nn.Linear(4, 3)).nouts == [3]


def test_from_torch_reads_hidden_layers_with_different_activations():
    torch.manual_seed(2)
    net = torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.ReLU(), torch.nn.Linear(3, 3), torch.nn.Tanh(),
                              torch.nn.Linear(3, 3), torch.nn.Linear(3, 1), torch.nn.Sigmoid()).double()
    model = from_torch(net)
    assert [layer.activation for layer in model.layers] == ["relu", "tanh", None, "sigmoid"]
    x = [0.5, -1.5]
    with torch.no_grad():
        theirs = net(torch.tensor(x, dtype=torch.float64)).item()
    assert math.isclose(model(x).data, theirs, rel_tol=1e-12)
    assert [type(m) for m in to_torch(model)] == [type(m) for m in net]


def test_to_torch_leaves_torchs_random_generator_alone():
    torch.manual_seed(1)
    expected = torch.rand(3)
    torch.manual_seed(1)
    to_torch(MLP(8, [32, 32, 1], seed=0))
    assert torch.equal(torch.rand(3), expected)


def with_infinite_last_bias(net):
    with torch.no_grad():
        net[-1].bias[0] = float("inf")
    return net


@pytest.mark.parametrize(
    "net, match",
    [
        (
            lambda: torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.Dropout(0.1), torch.nn.Linear(3, 1)),
            r"layer 1 \(Dropout\) is not supported",
        ),
        (lambda: torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.LeakyReLU(), torch.nn.Linear(3, 1)), "LeakyReLU"),
        (lambda: torch.nn.Sequential(torch.nn.Conv1d(1, 1, 3)), "Conv1d"),
        (lambda: torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.Linear(4, 1)),
         "from_torch: layer 1, neuron 0 must hold 3 weights, got 4"),
        (lambda: torch.nn.Sequential(torch.nn.ReLU(), torch.nn.Linear(2, 1)), r"layer 0 \(ReLU\) must follow a Linear layer directly"),
        (lambda: torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.ReLU(), torch.nn.Tanh()), r"layer 2 \(Tanh\) must follow a Linear"),
        (lambda: torch.nn.Sequential(), "no Linear layer"),
        (lambda: torch.nn.ReLU(), "reads a torch.nn.Sequential"),
        (lambda: torch.nn.Sequential(torch.nn.Linear(2, 1)).requires_grad_(False).apply(
            lambda m: m.weight.fill_(float("nan")) if isinstance(m, torch.nn.Linear) else None),
         r"from_torch: layer 0, neuron 0: a weight must be a finite number, got nan"),
        (lambda: with_infinite_last_bias(
            torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.ReLU(), torch.nn.Linear(3, 2))),
         r"from_torch: layer 1, neuron 0: the bias must be a finite number, got inf"),
    ],
)
def test_from_torch_refuses_what_an_mlp_cannot_hold(net, match):
    with pytest.raises(ValueError, match=match):
        from_torch(net())


def test_to_torch_refuses_other_objects():
    with pytest.raises(TypeError, match="MLP"):
        to_torch(torch.nn.Linear(2, 1))
