"""Moving an MLP to PyTorch and back: the path for a model that outgrows a scalar engine.

PyTorch is optional (``pip install 'micrograd-plus[export]'``) and imported only inside these functions.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from micrograd._validate import of_type
from micrograd.nn import FILE_FORMAT, FILE_VERSION, MLP

if TYPE_CHECKING:
    import torch

__all__ = ["to_torch", "from_torch"]

# micrograd activation name -> torch.nn module class name
TORCH_ACTIVATIONS = {"relu": "ReLU", "tanh": "Tanh", "sigmoid": "Sigmoid"}


def to_torch(model: MLP) -> torch.nn.Sequential:
    """An equivalent float64 ``torch.nn.Sequential`` of ``Linear`` layers and activations.

    Its outputs equal ``model``'s to about 1e-15 (only the order of additions differs). PyTorch's
    random generator is left untouched: the layers are created without PyTorch's initialisation.
    """
    import torch

    of_type(model, MLP, "to_torch: model", "a micrograd MLP")
    modules = []
    for layer, saved in zip(model.layers, model.to_dict()["weights"]):
        linear = torch.nn.utils.skip_init(torch.nn.Linear, layer.nin, layer.nout, dtype=torch.float64)
        with torch.no_grad():
            linear.weight.copy_(torch.tensor(saved["w"], dtype=torch.float64))
            linear.bias.copy_(torch.tensor(saved["b"], dtype=torch.float64))
        modules.append(linear)
        if layer.activation is not None:
            modules.append(getattr(torch.nn, TORCH_ACTIVATIONS[layer.activation])())
    return torch.nn.Sequential(*modules)


def from_torch(module: torch.nn.Module) -> MLP:
    """Read a ``torch.nn.Sequential`` of ``Linear`` layers, each optionally followed by ReLU, Tanh or
    Sigmoid, into an MLP (weights converted exactly to float64; a missing bias becomes 0).

    Hidden layers with different activations give an MLP with a list of them. Anything else
    (convolutions, dropout, other activations) raises ``ValueError`` naming the layer; the sizes and
    weights are checked by ``MLP.from_dict``, as for a saved file.
    """
    import torch

    names = {getattr(torch.nn, cls): name for name, cls in TORCH_ACTIVATIONS.items()}
    if isinstance(module, torch.nn.Linear):
        parts = [("0", module)]
    elif isinstance(module, torch.nn.Sequential):
        parts = list(_flatten(module))
    else:
        raise ValueError(f"from_torch reads a torch.nn.Sequential (or one Linear), got {type(module).__name__}")

    linears: list[torch.nn.Linear] = []
    activations: list[str | None] = []
    for position, part in parts:
        if isinstance(part, torch.nn.Identity):
            continue
        if isinstance(part, torch.nn.Linear):
            linears.append(part)
            activations.append(None)
        elif type(part) in names:
            if not linears or activations[-1] is not None:
                raise ValueError(f"layer {position} ({type(part).__name__}) must follow a Linear layer directly")
            activations[-1] = names[type(part)]
        else:
            supported = "Linear, " + ", ".join(TORCH_ACTIVATIONS.values()) + ", Identity"
            raise ValueError(f"layer {position} ({type(part).__name__}) is not supported; an MLP has only {supported}")
    if not linears:
        raise ValueError("from_torch: the module has no Linear layer")

    hidden = activations[:-1]
    if len(set(hidden)) < 2:  # one name for them all; with no hidden layer the choice has no effect
        hidden = hidden[0] if hidden else "relu"
    state = {
        "format": FILE_FORMAT,
        "version": FILE_VERSION,
        "nin": linears[0].in_features,
        "nouts": [linear.out_features for linear in linears],
        "activation": hidden,
        "output_activation": activations[-1],
        "weights": [
            {"w": _floats(linear.weight), "b": _floats(linear.bias, linear.out_features)} for linear in linears
        ],
    }
    # from_dict checks every size and weight (a Linear that takes another number of inputs than the
    # layer before it gives, NaN and infinities are refused, naming the layer and neuron)
    return MLP.from_dict(state, source="from_torch")


def _floats(tensor, zeros: int = 0) -> list:
    """A tensor's numbers as (nested) lists of Python floats, converted exactly; None as ``zeros`` zeros."""
    import torch

    return [0.0] * zeros if tensor is None else tensor.detach().to(torch.float64).tolist()


def _flatten(sequential, prefix: str = ""):
    """(position, module) for every module of a Sequential, nested Sequentials opened up."""
    import torch

    for name, child in sequential.named_children():
        if isinstance(child, torch.nn.Sequential):
            yield from _flatten(child, f"{prefix}{name}.")
        else:
            yield f"{prefix}{name}", child
