"""The playground's model as a standalone PyTorch script: the network rebuilt as
``micrograd.export.to_torch`` builds it (float64 ``Linear`` layers, each followed by its activation
module), its input features computed by the formulas of ``features.FEATURES``, and predictions.

The script needs only PyTorch; run it and it prints, as JSON, its predictions at the playground's
points and at the centres of the page's heatmap cells (the page's output heatmap, row 0 at the top).
"""

from __future__ import annotations

import json

from micrograd.export import TORCH_ACTIVATIONS
from micrograd.nn import MLP
from micrograd.playground.features import FEATURES

__all__ = ["torch_script"]

_TEMPLATE = '''"""A network trained in the micrograd playground, rebuilt in PyTorch (float64).

The layers are built as micrograd.export.to_torch builds them: a Linear layer per micrograd layer
(weight rows are neurons), each followed by its activation. The inputs are the playground's
features of a point (x1, x2). Run it: it prints its predictions at the playground's points and at
the centres of the page's {grid}x{grid} heatmap cells, as JSON.
"""

import json

import torch

FEATURES = {features}
ACTIVATIONS = {activations}  # the torch.nn module after each Linear layer (None: linear)
WEIGHTS = {weights}
POINTS = {points}  # the playground's points (x1, x2): training, then test
BOUNDS, GRID = {bounds}, {grid}  # the square the page shows, and its heatmap cells per side


def features(points):
    """The features of each point (rows of x1, x2), as the playground computes them."""
    x1, x2 = points[:, 0], points[:, 1]
    return torch.stack([{formulas}], dim=1)


def build():
    layers = []
    for saved, activation in zip(WEIGHTS, ACTIVATIONS):
        w = torch.tensor(saved["w"], dtype=torch.float64)
        linear = torch.nn.utils.skip_init(torch.nn.Linear, w.shape[1], w.shape[0], dtype=torch.float64)
        with torch.no_grad():
            linear.weight.copy_(w)
            linear.bias.copy_(torch.tensor(saved["b"], dtype=torch.float64))
        layers.append(linear)
        if activation is not None:
            layers.append(getattr(torch.nn, activation)())
    return torch.nn.Sequential(*layers)


def predict(points):
    """The network's outputs at ``points`` (a list of [x1, x2]): one row per point."""
    with torch.no_grad():
        return build()(features(torch.tensor(points, dtype=torch.float64)))


def grid_centres():
    low, high = BOUNDS
    centres = [low + (i + 0.5) * (high - low) / GRID for i in range(GRID)]
    return [[x, y] for y in reversed(centres) for x in centres]  # row 0 is the top


if __name__ == "__main__":
    print(json.dumps({{"points": predict(POINTS).tolist(), "grid": predict(grid_centres()).tolist()}}))
'''


def torch_script(model: MLP, points: list[list[float]], bounds: tuple[float, float], grid: int) -> str:
    """The script's text for ``model`` (whose ``inputs`` name its features), predicting at ``points``."""
    weights = model.to_dict()["weights"]
    activations = [TORCH_ACTIVATIONS[layer.activation] if layer.activation else None for layer in model.layers]
    return _TEMPLATE.format(
        features=json.dumps(model.inputs),
        activations=repr(activations),
        weights=json.dumps(weights),
        points=json.dumps(points),
        bounds=repr(tuple(bounds)),
        grid=grid,
        formulas=", ".join(FEATURES[name].torch for name in model.inputs),
    )
