"""brainstate-autodiff: state-aware automatic differentiation.

Gradients, Jacobians, Hessians, VJPs/JVPs, forward gradients and SOFO steps of functions that read and
write States, with respect to States (returned in the structure they were given in) and/or positional
arguments. Each transform traces its function once per argument signature and works eagerly, under
``brainstate_jit.jit`` and nested in other brainstate transforms.
"""

from __future__ import annotations

from brainstate_state import register_library_dir

from ._forward import fwd_grad
from ._grad import grad
from ._hessian import hessian
from ._jacobian import jacfwd, jacobian, jacrev
from ._sofo import sofo_grad
from ._transform import GradientTransform
from ._vector_grad import vector_grad
from ._vjp_jvp import jvp, vjp

register_library_dir(__file__)

__version__ = "0.6.0"

__all__: list[str] = [
    "GradientTransform",
    "fwd_grad",
    "grad",
    "hessian",
    "jacfwd",
    "jacobian",
    "jacrev",
    "jvp",
    "sofo_grad",
    "vector_grad",
    "vjp",
]
