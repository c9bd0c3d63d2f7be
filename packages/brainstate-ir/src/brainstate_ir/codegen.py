"""Generate readable, executable Python source (``jax.numpy`` / ``jax.lax`` calls) from a jaxpr.

The generated module imports ``jax``, ``jax.numpy as jnp``, ``jax.lax as lax`` and ``numpy as np``, and
defines one function. From a jaxpr (:func:`jaxpr_to_python_code`) it takes the jaxpr's inputs as flat
positional arguments and returns the single output itself, or a tuple when there are zero or several
outputs; from a Python function (:func:`fn_to_python_code`) it has that function's signature and returns
its output pytree. Bodies of ``jit``,
``cond``, ``while``, ``scan``, remat and custom-derivative equations become helper functions (which
always return tuples). Consts of a ``ClosedJaxpr`` and array literals are emitted as module-level
``np.array`` constants (exact, via their bytes when needed); for a plain ``Jaxpr`` the constvars become
leading parameters. Custom-derivative equations are emitted as their primal body: the generated code
computes the same values, but differentiating it uses JAX's default rules, not the custom ones.
"""

from __future__ import annotations

import keyword
from collections.abc import Callable
from typing import Any

import jax

from ._codegen_context import CodegenContext, PrimHandler, UnsupportedPrimitiveError
from ._codegen_interface import Interface, build_interface
from ._codegen_rules import BUILTIN_HANDLERS, generic_lax_handler
from .compat import ClosedJaxpr, Jaxpr

__all__ = [
    "CodegenContext",
    "UnsupportedPrimitiveError",
    "fn_to_python_code",
    "jaxpr_to_python_code",
    "register_prim_handler",
]

_HANDLERS: dict[str, PrimHandler] = dict(BUILTIN_HANDLERS)


def register_prim_handler(prim_name: str, handler: PrimHandler) -> None:
    """Register (or replace) the code generator of primitive ``prim_name``.

    Parameters
    ----------
    prim_name : str
        The primitive's name, as printed in jaxprs (``eqn.primitive.name``).
    handler : callable
        ``handler(ctx, eqn, args) -> str`` returns a Python expression computing the equation's result
        (for a primitive with ``multiple_results``, an expression evaluating to a sequence). ``args`` are
        the source strings of the equation's inputs; ``ctx`` is a :class:`CodegenContext` whose
        ``fmt(value)`` renders a param value, ``function(jaxpr, prefix)`` emits a helper function for a
        sub-jaxpr and ``statement(line)`` emits a line before the assignment.

    Examples
    --------
    >>> import jax, jax.numpy as jnp
    >>> from brainstate_ir.codegen import jaxpr_to_python_code, register_prim_handler
    >>> register_prim_handler("sin", lambda ctx, eqn, args: f"jnp.sin({args[0]})")
    >>> "jnp.sin(a)" in jaxpr_to_python_code(jax.make_jaxpr(jnp.sin)(1.0))
    True
    >>> register_prim_handler("sin", lambda ctx, eqn, args: f"lax.sin({args[0]})")  # restore
    """
    if not callable(handler):
        raise TypeError(
            f"register_prim_handler: handler for {prim_name!r} must be callable, got {handler!r}."
        )
    _HANDLERS[prim_name] = handler


def jaxpr_to_python_code(jaxpr: Jaxpr | ClosedJaxpr, fn_name: str = "generated_function") -> str:
    """Python source of a module defining ``fn_name``, a function computing ``jaxpr``.

    Parameters
    ----------
    jaxpr : Jaxpr or ClosedJaxpr
        The program. For a ``Jaxpr`` its constvars become the function's leading parameters; the consts
        of a ``ClosedJaxpr`` are embedded as module-level constants.
    fn_name : str, optional
        Name of the generated function (a Python identifier); default ``'generated_function'``.

    Returns
    -------
    str
        Source code; ``exec`` it and call ``fn_name`` with the jaxpr's inputs, flat and in order.

    Raises
    ------
    UnsupportedPrimitiveError
        If the jaxpr uses a primitive with no known code generator (register one with
        :func:`register_prim_handler`).

    Examples
    --------
    >>> import jax, jax.numpy as jnp
    >>> from brainstate_ir.codegen import jaxpr_to_python_code
    >>> source = jaxpr_to_python_code(jax.make_jaxpr(lambda x, y: jnp.tanh(x) * y)(1.0, 2.0), "f")
    >>> print(source.split("\\n\\n\\n")[-1].strip())
    def f(a, b):
        c = lax.tanh(a)
        d = lax.mul(c, b)
        return d
    >>> namespace = {}
    >>> exec(source, namespace)
    >>> float(namespace["f"](1.0, 2.0)) == float(jnp.tanh(1.0) * 2.0)
    True
    """
    if not isinstance(jaxpr, (Jaxpr, ClosedJaxpr)):
        raise TypeError(f"jaxpr_to_python_code expects a Jaxpr or ClosedJaxpr, got {type(jaxpr).__name__}.")
    if not (isinstance(fn_name, str) and fn_name.isidentifier() and not keyword.iskeyword(fn_name)):
        raise ValueError(f"jaxpr_to_python_code: fn_name must be a Python identifier, got {fn_name!r}.")
    return _module_source(jaxpr, fn_name, None)


def _module_source(jaxpr: Jaxpr | ClosedJaxpr, fn_name: str, interface: Interface | None) -> str:
    ctx = CodegenContext(_HANDLERS, generic_lax_handler)
    main = ctx.source(jaxpr, fn_name, always_tuple=False, interface=interface)
    if interface is not None:
        module_names = {line.split(" = ")[0] for line in ctx.constants}
        module_names |= {f[0][4 : f[0].index("(")] for f in ctx.functions}
        clash = sorted(interface.names & module_names)
        if clash:
            raise ValueError(
                f"fn_to_python_code: parameter {clash[0]!r} of {fn_name!r} has the name of a module-level "
                "helper of the generated code; rename the parameter."
            )
    header = ["import jax", "import jax.numpy as jnp", "from jax import lax", "import numpy as np"]
    blocks = ["\n".join(header)]
    if ctx.constants:
        blocks.append("\n".join(ctx.constants))
    blocks.extend("\n".join(f) for f in [*ctx.functions, main])
    return "\n\n\n".join(blocks) + "\n"


def fn_to_python_code(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> str:
    """Trace ``fn`` on example arguments and return Python source computing it.

    The generated function is named after ``fn`` (``generated_function`` for lambdas) and has ``fn``'s
    own signature, restricted to the parameters the example call passes (the others keep their default,
    baked into the program): call it as you call ``fn``. It reads the array leaves out of pytree
    arguments (``state['v']``) and returns the outputs in their structure of dicts, lists and tuples
    (named tuples come back as plain tuples). Leaves inside a custom pytree node are read with
    ``jax.tree_util.tree_leaves``; an output containing a custom pytree node is returned as its flat
    leaves, as is every output when ``fn`` has no Python signature (then the parameters are the flat
    leaves of ``args``/``kwargs`` in ``jax.tree_util`` order). The generated function has one program: it
    is specific to the shapes and dtypes of the example arguments.

    Parameters
    ----------
    fn : callable
        A JAX-traceable function.
    *args, **kwargs
        Example arguments (arrays, Python scalars, pytrees of them, or ``jax.ShapeDtypeStruct``).

    Returns
    -------
    str
        The module source (see :func:`jaxpr_to_python_code`).

    Raises
    ------
    ValueError
        If a parameter of ``fn`` has the name of a module the generated code uses (``jax``, ``jnp``,
        ``lax``, ``np``) or of one of its module-level helpers.

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> from brainstate_ir.codegen import fn_to_python_code
    >>> def step(state, i):
    ...     v = state["v"] + 0.1 * (-state["v"] + i)
    ...     return {"v": v, "spike": v > 1.0}
    >>> source = fn_to_python_code(step, {"v": jnp.zeros(2)}, 1.0)
    >>> print(source.split("\\n\\n\\n")[-1].strip())
    def step(state, i):
        a = state['v']
        b = lax.neg(a)
        c = lax.convert_element_type(i, jnp.float32)
        d = lax.add(b, c)
        e = lax.mul(np.float32(0.1), d)
        f = lax.add(a, e)
        g = lax.gt(f, np.float32(1.0))
        return {'spike': g, 'v': f}
    >>> namespace = {}
    >>> exec(source, namespace)
    >>> namespace["step"]({"v": jnp.ones(2)}, 3.0)["v"]
    Array([1.2, 1.2], dtype=float32)
    """
    closed, out_shape = jax.make_jaxpr(fn, return_shape=True)(*args, **kwargs)
    name = getattr(fn, "__name__", "")
    if not name.isidentifier() or keyword.iskeyword(name):
        name = "generated_function"
    interface = build_interface(fn, args, kwargs, out_shape, len(closed.jaxpr.outvars))
    return _module_source(closed, name, interface)
