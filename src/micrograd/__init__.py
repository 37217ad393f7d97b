"""micrograd: a scalar-valued autograd engine with a small neural-network library on top.

Installed as the distribution ``micrograd-plus``; imported as ``micrograd``, as the original is.
"""

from micrograd.check import GradcheckError, gradcheck, gradgradcheck
from micrograd.engine import Value, dot, total
from micrograd.gradients import grad, hessian, hvp

__all__ = ["Value", "dot", "total", "grad", "hessian", "hvp", "gradcheck", "gradgradcheck", "GradcheckError"]
__version__ = "0.2.0"  # the one place the version is written: pyproject.toml reads it from here
