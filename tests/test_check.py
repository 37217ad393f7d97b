"""gradcheck's own promises: it refuses tolerances that would let any gradient pass."""

import math

import pytest

from micrograd import GradcheckError, gradcheck


def wrong(a):
    """x * x, with one factor read as a constant: backward() gives x where the slope is 2x."""
    return a * a.data


def test_a_wrong_gradient_is_caught_with_the_default_tolerances():
    with pytest.raises(GradcheckError, match=r"backward\(\) gives 3.0, finite differences give 6.0"):
        gradcheck(wrong, [3.0])


@pytest.mark.parametrize(
    "argument, value, rule",
    [
        ("atol", math.nan, ">= 0"),
        ("rtol", math.nan, ">= 0"),
        ("atol", math.inf, ">= 0"),
        ("rtol", -1e-3, ">= 0"),
        ("eps", math.nan, "> 0"),
        ("eps", math.inf, "> 0"),
        ("eps", 0.0, "> 0"),
    ],
)
def test_tolerances_that_would_pass_anything_are_refused_naming_the_argument(argument, value, rule):
    # atol=nan used to return True for the wrong gradient above: every comparison with NaN is False
    with pytest.raises(ValueError, match=rf"gradcheck: {argument} must be a finite number {rule}, got"):
        gradcheck(wrong, [3.0], **{argument: value})


def test_a_tolerance_of_the_wrong_type_is_a_type_error():
    with pytest.raises(TypeError, match="gradcheck: atol must be a finite number >= 0, got str"):
        gradcheck(wrong, [3.0], atol="1e-5")


def test_a_non_finite_input_is_refused_naming_it():
    # at x = nan every difference is NaN and nothing is checked; it used to return True
    with pytest.raises(ValueError, match=r"gradcheck: inputs\[1\] must be a finite number, got nan"):
        gradcheck(lambda a, b: a * b, [1.0, math.nan])


def test_an_estimate_that_overflows_fails_rather_than_passes():
    # f(1) - f(-1) = 3e308 overflows to inf, and inf - inf = NaN compared as "within tolerance"
    with pytest.raises(GradcheckError, match="finite differences give inf"):
        gradcheck(lambda a: a * 1.5e308, [0.0], eps=1.0)
