"""Neurons, layers and multi-layer perceptrons built from ``Value``s, with seeded initialisation,
saving and loading. Standard library only.

Initialisation, ``init=``:

- ``'uniform'`` (the default): weights from ``uniform(-1, 1)``, biases 0, as in the original
  micrograd. The original demo's learning rate (1.0 decaying to 0.1) is tuned to this scale: with
  it the demo reaches 100% training accuracy within 100 steps for every seed tried (by step 21 to
  71; with seed 1337 by step 40, loss 0.011 at step 100, the original's numbers).
- ``'fan_in'``: weights and biases from ``uniform(-1/sqrt(nin), 1/sqrt(nin))``, PyTorch's
  ``nn.Linear``. Better for wide inputs (64 pixels, say), whose pre-activations ``'uniform'`` makes
  large; but on the demo it leaves the scores too small for the hinge margin, and the demo mostly
  stalls below 100% in 100 steps.
"""

from __future__ import annotations

import json
import math
import os
import random
from typing import Callable, Sequence

from micrograd._validate import finite_number, layer_widths, of_type, one_of, positive_int, sized, whole_number
from micrograd._files import write_atomically
from micrograd.engine import Value, dot

__all__ = ["Module", "Neuron", "Layer", "MLP", "seed", "ACTIVATIONS", "INITS"]

FILE_FORMAT = "micrograd-mlp"
FILE_VERSION = 2  # 2 added "inputs" and a list for "activation"; version 1 files still load
_READABLE_VERSIONS = (1, 2)

INITS = ("uniform", "fan_in")

ACTIVATIONS: dict[str | None, Callable[[Value], Value] | None] = {
    "relu": Value.relu,
    "tanh": Value.tanh,
    "sigmoid": Value.sigmoid,
    None: None,  # linear: the weighted sum itself
}


class _Default(str):
    """A default argument that can be told apart from the same value given explicitly (by ``is``)."""


# Neuron(3, activation="relu", nonlin=False) is an error; Neuron(3, nonlin=False) is not.
DEFAULT_ACTIVATION = _Default("relu")

# Used when no seed or generator is given: Python's own generator, as the original micrograd did,
# so that its demo's random.seed(1337) gives the same weights here.
_default_rng = random


def seed(n: int) -> None:
    """Seed the generator that modules built without ``seed=`` or ``rng=`` draw from (Python's
    ``random``: the same as ``random.seed(n)``)."""
    _default_rng.seed(n)


class Module:
    """Anything with parameters: they can be listed, counted and have their gradients zeroed."""

    def parameters(self) -> list[Value]:
        return []

    def zero_grad(self) -> None:
        """Set every parameter's ``.grad`` to 0 (backward() adds to it, so do this every step)."""
        for p in self.parameters():
            p.grad = 0.0

    def num_parameters(self) -> int:
        return len(self.parameters())

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class Neuron(Module):
    """``activation(w . x + b)``: the weighted sum is one ``dot`` node, then ``+ b``, then the activation.

    The original micrograd's ``nonlin=True`` (ReLU) or ``nonlin=False`` (none) works too, given by
    name or in ``activation``'s place (``Neuron(3, False)``), and ``.nonlin`` tells which.
    """

    def __init__(
        self,
        nin: int,
        activation: str | None | bool = DEFAULT_ACTIVATION,
        *,
        nonlin: bool | None = None,
        rng: random.Random | None = None,
        init: str = "uniform",
    ):
        nin = positive_int(nin, "nin")
        self.activation = _activation(activation, nonlin)
        self._activate = ACTIVATIONS[self.activation]
        rng = _default_rng if rng is None else rng
        if _check_init(init) == "uniform":
            self.w = [Value(rng.uniform(-1.0, 1.0), label=f"w{i}") for i in range(nin)]
            self.b = Value(0.0, label="b")
        else:
            bound = 1.0 / math.sqrt(nin)
            self.w = [Value(rng.uniform(-bound, bound), label=f"w{i}") for i in range(nin)]
            self.b = Value(rng.uniform(-bound, bound), label="b")

    @property
    def nin(self) -> int:
        return len(self.w)

    @property
    def nonlin(self) -> bool:
        """Whether an activation follows the weighted sum (the original micrograd's attribute)."""
        return self.activation is not None

    def __call__(self, x: Sequence[Value | float]) -> Value:
        return self._forward(_inputs(x, len(self.w), "neuron"))

    def _forward(self, x: list[Value]) -> Value:
        """The output for ``nin`` Values ``x``, unchecked: for the layers, which check their input once."""
        out = dot(self.w, x) + self.b
        return out if self._activate is None else self._activate(out)

    def parameters(self) -> list[Value]:
        return self.w + [self.b]

    def __repr__(self) -> str:
        return f"Neuron({self.nin}, activation={self.activation!r})"


class Layer(Module):
    """``nout`` independent neurons that all see the same inputs."""

    def __init__(
        self,
        nin: int,
        nout: int,
        activation: str | None | bool = DEFAULT_ACTIVATION,
        *,
        nonlin: bool | None = None,
        rng: random.Random | None = None,
        init: str = "uniform",
    ):
        nout = positive_int(nout, "nout")
        self.neurons = [Neuron(nin, activation, nonlin=nonlin, rng=rng, init=init) for _ in range(nout)]
        for j, neuron in enumerate(self.neurons):
            _prefix_labels(neuron.parameters(), f"N{j}.")

    @property
    def nin(self) -> int:
        return self.neurons[0].nin

    @property
    def nout(self) -> int:
        return len(self.neurons)

    @property
    def activation(self) -> str | None:
        return self.neurons[0].activation

    @property
    def nonlin(self) -> bool:
        """Whether its neurons have an activation (``nonlin=`` of the original micrograd)."""
        return self.activation is not None

    def forward(self, x: Sequence[Value | float]) -> list[Value]:
        """Every neuron's output, as a list even when there is one neuron."""
        return self._forward(_inputs(x, self.nin, "layer"))

    def _forward(self, x: list[Value]) -> list[Value]:
        return [neuron._forward(x) for neuron in self.neurons]

    def __call__(self, x: Sequence[Value | float]) -> Value | list[Value]:
        """The output Value when the layer has one neuron (as in the lesson), else the list."""
        outs = self.forward(x)
        return outs[0] if len(outs) == 1 else outs

    def parameters(self) -> list[Value]:
        return [p for neuron in self.neurons for p in neuron.parameters()]

    def __repr__(self) -> str:
        return f"Layer({self.nin}, {self.nout}, activation={self.activation!r})"


class MLP(Module):
    """A multi-layer perceptron: ``activation`` after every hidden layer, ``output_activation`` after the last.

    ``MLP(2, [16, 16, 1])`` is the original micrograd demo's net (ReLU, linear output, 337
    parameters); ``MLP(3, [4, 4, 1], activation='tanh', output_activation='tanh')`` is the lesson's.
    ``activation`` may also be a list, one per hidden layer. ``inputs`` optionally names the
    inputs (saved in the model file, e.g. the playground's features ``['x1', 'sin_x1']``).
    ``seed=n`` gives the same weights every time; without it the module generator is used (see
    ``micrograd.nn.seed``). ``init`` is ``'uniform'`` or ``'fan_in'`` (see the module docstring).
    Parameter labels name their place: ``L0.N3.w1`` is ``layers[0].neurons[3].w[1]``.
    """

    def __init__(
        self,
        nin: int,
        nouts: Sequence[int],
        activation: str | None = "relu",
        output_activation: str | None = None,
        *,
        seed: int | None = None,
        init: str = "uniform",
        inputs: Sequence[str] | None = None,
    ):
        nin, nouts, activation, output_activation, inputs = _architecture(
            nin, nouts, activation, output_activation, inputs
        )
        hidden = activation if isinstance(activation, list) else [activation] * (len(nouts) - 1)
        rng = _default_rng if seed is None else random.Random(whole_number(seed, "seed"))
        sizes, activations = [nin] + nouts, hidden + [output_activation]
        self.layers = [Layer(sizes[i], sizes[i + 1], activations[i], rng=rng, init=init) for i in range(len(nouts))]
        for i, layer in enumerate(self.layers):
            _prefix_labels(layer.parameters(), f"L{i}.")
        self.activation = activation
        self.output_activation = output_activation
        self.inputs = inputs

    @property
    def nin(self) -> int:
        return self.layers[0].nin

    @property
    def nouts(self) -> list[int]:
        return [layer.nout for layer in self.layers]

    def forward(self, x: Sequence[Value | float]) -> list[Value]:
        """The last layer's outputs, as a list even when there is one."""
        x = _inputs(x, self.nin, "MLP")
        for layer in self.layers:
            x = layer._forward(x)
        return x

    def __call__(self, x: Sequence[Value | float]) -> Value | list[Value]:
        """One Value when the last layer has one neuron (the lesson's ``m(x).data``), else the list."""
        outs = self.forward(x)
        return outs[0] if len(outs) == 1 else outs

    def parameters(self) -> list[Value]:
        return [p for layer in self.layers for p in layer.parameters()]

    def __repr__(self) -> str:
        return (
            f"MLP({self.nin}, {self.nouts}, activation={self.activation!r}, "
            f"output_activation={self.output_activation!r})"
        )

    # Saving and loading ------------------------------------------------------------------------

    def to_dict(self) -> dict:
        """The architecture and every weight, as plain JSON-ready data (the file's contents)."""
        return {
            "format": FILE_FORMAT,
            "version": FILE_VERSION,
            "nin": self.nin,
            "nouts": self.nouts,
            "activation": self.activation,
            "output_activation": self.output_activation,
            "inputs": self.inputs,
            # weights[i] is layer i: "w" holds one row of input weights per neuron (the layout of
            # torch.nn.Linear.weight), "b" one bias per neuron.
            "weights": [
                {"w": [[w.data for w in n.w] for n in layer.neurons], "b": [n.b.data for n in layer.neurons]}
                for layer in self.layers
            ],
        }

    @classmethod
    def from_dict(cls, state: dict, *, source: str = "the model data") -> MLP:
        """Rebuild an MLP from ``to_dict()``'s output; ``ValueError`` naming ``source`` if anything is off."""

        def fail(problem: str) -> ValueError:
            return ValueError(f"{source}: {problem}")

        if not isinstance(state, dict):
            raise fail(f"expected a JSON object, found {type(state).__name__}")
        if state.get("format") != FILE_FORMAT:
            raise fail(f"not a micrograd model (format is {state.get('format')!r}, expected {FILE_FORMAT!r})")
        version = state.get("version")
        if version not in _READABLE_VERSIONS or isinstance(version, bool):
            raise fail(f"unsupported version {version!r}; this micrograd reads versions 1 and {FILE_VERSION}")
        missing = [key for key in ("nin", "nouts", "activation", "output_activation", "weights") if key not in state]
        if missing:
            raise fail(f"missing {', '.join(missing)}")
        # The architecture, then every weight, is checked before the model is built, so a file that
        # claims a huge architecture without holding its weights costs nothing.
        try:
            architecture = [state[key] for key in ("nin", "nouts", "activation", "output_activation")]
            inputs = state.get("inputs") if version >= 2 else None
            nin, nouts, activation, output_activation, inputs = _architecture(*architecture, inputs)
            weights = sized(state["weights"], "weights", len(nouts), "layers")
            layers = [_saved_layer(saved, f"layer {i}", fan_in, width)
                      for i, (saved, fan_in, width) in enumerate(zip(weights, [nin] + nouts, nouts))]
        except (TypeError, ValueError) as error:
            raise fail(str(error)) from None
        model = cls(nin, nouts, activation, output_activation, seed=0, inputs=inputs)
        for layer, (rows, biases) in zip(model.layers, layers):
            for neuron, row, bias in zip(layer.neurons, rows, biases):
                for w, x in zip(neuron.w, row):
                    w.data = x
                neuron.b.data = bias
        return model

    def save(self, path: str | os.PathLike) -> None:
        """Write the model to ``path`` as JSON, atomically: the old file stays until the new one is complete.

        Floats are written with ``repr``, the shortest text that reads back to the same float, so
        ``MLP.load`` gives bit-identical weights.
        """
        text = json.dumps(self.to_dict(), allow_nan=False)
        write_atomically(path, text + "\n")

    @classmethod
    def load(cls, path: str | os.PathLike) -> MLP:
        """Read a model written by ``save``. Only parses JSON: a file cannot run code.

        Raises ``ValueError`` naming the file for anything that is not a complete model of a
        supported version (``OSError`` if it cannot be read at all).
        """
        source = os.fspath(path)
        with open(source, "rb") as file:
            raw = file.read()
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise ValueError(f"{source}: not a micrograd model (not UTF-8 text; binary or pickle file?)") from None
        try:
            state = json.loads(text)  # NaN and Infinity read as floats: from_dict refuses them, naming the weight
        except json.JSONDecodeError as error:
            raise ValueError(f"{source}: not valid JSON, the file may be truncated or corrupt ({error})") from None
        except RecursionError:  # json's decoder recurses once per level: '[' * 100000 is too deep
            raise ValueError(f"{source}: not a micrograd model (JSON nested too deeply to read)") from None
        return cls.from_dict(state, source=source)


def _activation(activation, nonlin) -> str | None:
    """The activation from ``activation=``, or from the original micrograd's ``nonlin=`` (a bool,
    by name or in ``activation``'s place): True is ReLU, False none."""
    if isinstance(activation, bool):
        activation, nonlin = DEFAULT_ACTIVATION, activation if nonlin is None else nonlin
    if nonlin is None:
        return _check_activation(activation, "activation")
    if activation is not DEFAULT_ACTIVATION:
        raise TypeError(f"give activation= or the original's nonlin=, not both: {activation!r} and {nonlin!r}")
    return "relu" if of_type(nonlin, bool, "nonlin", "True (ReLU) or False (no activation)") else None


def _check_activation(name, argument: str) -> str | None:
    name = one_of(name, ACTIVATIONS, argument)
    return None if name is None else str(name)  # a str subclass (NumPy's) as a plain str


def _check_init(init) -> str:
    return one_of(init, INITS, "init")


def _architecture(nin, nouts, activation, output_activation, inputs) -> tuple:
    """MLP's arguments checked, for the constructor and for a saved file: ``activation`` is one name
    or a list of one per hidden layer, ``inputs`` None or a list of ``nin`` names."""
    nin, nouts = positive_int(nin, "nin"), layer_widths(nouts, "nouts")
    if isinstance(activation, (list, tuple)):
        activation = [_check_activation(a, f"activation[{i}]") for i, a in enumerate(activation)]
        sized(activation, "activation", len(nouts) - 1, "names, one per hidden layer")
    else:
        activation = _check_activation(activation, "activation")
    if inputs is not None:
        inputs = [of_type(name, str, f"inputs[{i}]", "a name (text)")
                  for i, name in enumerate(sized(inputs, "inputs", nin, "names, one per input"))]
    return nin, nouts, activation, _check_activation(output_activation, "output_activation"), inputs


def _saved_layer(saved, where: str, fan_in: int, width: int) -> tuple[list[list[float]], list[float]]:
    """A saved layer's weight rows and biases, checked against the architecture."""
    saved = of_type(saved, dict, where, "an object with 'w' and 'b'")
    rows = sized(saved.get("w"), f"{where}: 'w'", width, "rows, one per neuron")
    biases = sized(saved.get("b"), f"{where}: 'b'", width, "numbers, one per neuron")
    rows = [sized(row, f"{where}, neuron {j}", fan_in, "weights") for j, row in enumerate(rows)]
    return (
        [[finite_number(x, f"{where}, neuron {j}: a weight") for x in row] for j, row in enumerate(rows)],
        [finite_number(b, f"{where}, neuron {j}: the bias") for j, b in enumerate(biases)],
    )


def _inputs(x: Sequence[Value | float], nin: int, what: str) -> list[Value]:
    """``x`` as ``nin`` Values: the check of a neuron's, a layer's or an MLP's input, made once per call."""
    sized(x, "x", nin, f"inputs for this {what}", kind="a list of numbers or Values")
    try:
        return [v if type(v) is Value else Value(v) for v in x]
    except TypeError as error:
        raise TypeError(f"x must be a list of numbers or Values: {error}") from None


def _prefix_labels(params: list[Value], prefix: str) -> None:
    for p in params:
        p.label = prefix + p.label
