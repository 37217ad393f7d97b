"""The seven input features TensorFlow Playground offers, defined once.

Each is a function of the point's coordinates ``x1``, ``x2`` and a math module ``m`` (``math`` for
one point, NumPy for a grid of them, ``torch`` in the exported script), so training, the heatmaps
and the exported script compute the same formula. ``torch`` is that formula as the exported script
writes it (a test checks the two agree).
"""

from __future__ import annotations

from typing import Callable, NamedTuple

__all__ = ["Feature", "FEATURES", "feature_rows"]


class Feature(NamedTuple):
    label: str  # as the page shows it
    formula: Callable  # (m, x1, x2) -> the feature
    torch: str  # the same formula in the exported script, of tensors x1 and x2


FEATURES = {
    "x1": Feature("x\u2081", lambda m, x1, x2: x1, "x1"),
    "x2": Feature("x\u2082", lambda m, x1, x2: x2, "x2"),
    "x1_squared": Feature("x\u2081\u00b2", lambda m, x1, x2: x1 * x1, "x1 * x1"),
    "x2_squared": Feature("x\u2082\u00b2", lambda m, x1, x2: x2 * x2, "x2 * x2"),
    "x1_times_x2": Feature("x\u2081x\u2082", lambda m, x1, x2: x1 * x2, "x1 * x2"),
    "sin_x1": Feature("sin(x\u2081)", lambda m, x1, x2: m.sin(x1), "torch.sin(x1)"),
    "sin_x2": Feature("sin(x\u2082)", lambda m, x1, x2: m.sin(x2), "torch.sin(x2)"),
}
"""The features by the names settings, URLs and model files use, in the page's order."""


def feature_rows(points, names) -> list[list[float]]:
    """Each point ``(x1, x2)`` as the features ``names``, one row per point (floats)."""
    import math

    chosen = [FEATURES[name].formula for name in names]
    return [[f(math, x1, x2) for f in chosen] for x1, x2 in points]
