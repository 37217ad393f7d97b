"""The pictures' numbers: a model's outputs over a grid, computed in batches, equal eager mode's."""

import numpy as np
import pytest

from micrograd.nn import MLP
from micrograd.plot import model_outputs


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
