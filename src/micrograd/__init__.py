"""micrograd: a scalar-valued autograd engine with a small neural-network library on top."""

from micrograd.check import GradcheckError, gradcheck
from micrograd.engine import Value, dot, total

__all__ = ["Value", "dot", "total", "gradcheck", "GradcheckError"]
__version__ = "0.2.0"
