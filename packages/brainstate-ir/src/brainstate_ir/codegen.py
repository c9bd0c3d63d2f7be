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

import builtins
import enum
import keyword
from collections.abc import Callable, Iterator
from typing import Any

import jax
import numpy as np

from ._codegen_interface import Interface, build_interface
from ._compat import ClosedJaxpr, DropVar, Jaxpr, JaxprEqn, Literal, Var

__all__ = [
    "CodegenContext",
    "UnsupportedPrimitiveError",
    "fn_to_python_code",
    "jaxpr_to_python_code",
    "register_prim_handler",
]

PrimHandler = Callable[["CodegenContext", JaxprEqn, list[str]], str]
_HANDLERS: dict[str, PrimHandler] = {}
_RESERVED = frozenset({"jax", "jnp", "lax", "np"}) | frozenset(keyword.kwlist) | frozenset(dir(builtins))
_INLINE_ARRAY_MAX = 16


class UnsupportedPrimitiveError(NotImplementedError):
    """No code generator is known for a primitive (or for one of its params)."""


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


def _names(taken: frozenset[str] = frozenset()) -> Iterator[str]:
    letters = "abcdefghijklmnopqrstuvwxyz"
    n = 0
    while True:
        name, k = "", n
        while True:
            name = letters[k % 26] + name
            k = k // 26 - 1
            if k < 0:
                break
        n += 1
        if name not in _RESERVED and name not in taken:
            yield name


class CodegenContext:
    """State of one code generation: module-level constants and helper functions, and the current body."""

    def __init__(self) -> None:
        self.constants: list[str] = []
        self.functions: list[list[str]] = []
        self._fn_memo: dict[int, tuple[Any, str]] = {}
        self._counter = 0
        self._pending: list[str] = []

    def fresh(self, prefix: str) -> str:
        """A new module-unique identifier starting with ``prefix``."""
        self._counter += 1
        return f"{prefix}_{self._counter}"

    def statement(self, line: str) -> None:
        """Emit ``line`` in the current function, before the equation's assignment."""
        self._pending.append(line)

    def constant(self, value: Any) -> str:
        """Emit ``value`` (an array) as a module-level constant and return its name."""
        name = self.fresh("_const")
        self.constants.append(f"{name} = {self.fmt_array(np.asarray(value))}")
        return name

    def fmt_array(self, array: np.ndarray) -> str:
        """Source of an exact ``np.array`` (a list when short and finite, else the raw bytes)."""
        dtype = self.fmt(array.dtype)
        plain = array.dtype.kind in "biuf" and array.dtype.name in np.sctypeDict
        if plain and array.size <= _INLINE_ARRAY_MAX and np.all(np.isfinite(array)):
            return f"np.array({array.tolist()!r}, dtype={dtype})"
        data = np.ascontiguousarray(array).tobytes().hex()
        return f"np.frombuffer(bytes.fromhex({data!r}), dtype={dtype}).reshape({array.shape!r})"

    def fmt(self, value: Any) -> str:
        """Python source reproducing a param value (dtype, enum, tuple, named tuple, array, scalar)."""
        if isinstance(value, enum.Enum) and hasattr(jax.lax, type(value).__name__):
            return f"lax.{type(value).__name__}.{value.name}"
        if value is None or isinstance(value, (bool, str)):
            return repr(value)
        if isinstance(value, (np.bool_, np.integer)):
            return repr(value.item())
        if isinstance(value, int):
            return repr(value)
        if isinstance(value, (float, np.floating)):
            f = float(value)
            return repr(f) if np.isfinite(f) else f"float({str(f)!r})"
        if isinstance(value, np.dtype) or (isinstance(value, type) and issubclass(value, np.generic)):
            name = np.dtype(value).name
            return "jnp.bool_" if name == "bool" else f"jnp.{name}"
        if isinstance(value, tuple) and hasattr(value, "_fields") and hasattr(jax.lax, type(value).__name__):
            fields = ", ".join(f"{f}={self.fmt(getattr(value, f))}" for f in value._fields)
            return f"lax.{type(value).__name__}({fields})"
        if isinstance(value, (tuple, list)):
            items = ", ".join(self.fmt(v) for v in value)
            return (
                f"({items},)"
                if isinstance(value, tuple) and len(value) == 1
                else (f"({items})" if isinstance(value, tuple) else f"[{items}]")
            )
        if isinstance(value, (np.ndarray, jax.Array)):
            return self.constant(value)
        raise UnsupportedPrimitiveError(
            f"cannot write a param value of type {type(value).__name__} ({value!r}) as Python source; "
            "register a handler for the primitive with brainstate_ir.register_prim_handler."
        )

    def literal(self, lit: Literal) -> str:
        """Source of a literal, with its exact dtype."""
        value = np.asarray(lit.val)
        aval: Any = lit.aval
        dtype = np.dtype(aval.dtype)
        if value.ndim > 0:
            return self.constant(value.astype(dtype))
        if dtype == np.bool_:
            return f"np.bool_({bool(value)})"
        scalar = value.astype(dtype)[()]
        if dtype.kind == "f" and dtype.name in np.sctypeDict and np.isfinite(scalar):
            return f"np.{dtype.name}({str(scalar)})"  # numpy prints the shortest repr that round-trips
        if dtype.name in np.sctypeDict:
            return f"np.{dtype.name}({self.fmt(scalar.item())})"
        return f"jnp.{dtype.name}({self.fmt(float(value))})"

    def function(self, jaxpr: Jaxpr | ClosedJaxpr, prefix: str) -> str:
        """Emit a module-level helper for ``jaxpr`` (returning a tuple) and return its name.

        A body shared by several equations is emitted once.
        """
        key = id(jaxpr)
        if key not in self._fn_memo:
            name = self.fresh(prefix)
            self._fn_memo[key] = (jaxpr, name)
            self.functions.append(_function_source(self, jaxpr, name, always_tuple=True))
        return self._fn_memo[key][1]


def _function_source(
    ctx: CodegenContext,
    program: Jaxpr | ClosedJaxpr,
    name: str,
    always_tuple: bool,
    interface: Interface | None = None,
) -> list[str]:
    consts: list[Any] | None = None
    if isinstance(program, ClosedJaxpr):
        jaxpr, consts = program.jaxpr, list(program.consts)
    else:
        jaxpr = program
    names = _names(interface.names if interface is not None else frozenset())
    env: dict[Var, str] = {}
    body: list[str] = []
    if consts is not None:
        env.update((v, ctx.constant(c)) for v, c in zip(jaxpr.constvars, consts, strict=True))
    flat = list(jaxpr.invars) if consts is not None else [*jaxpr.constvars, *jaxpr.invars]
    if interface is None:
        header = ", ".join(env.setdefault(v, next(names)) for v in flat)
    else:  # the traced function's own parameters, unpacked into the flat inputs
        header = interface.header
        for position, source in sorted(interface.leaf_exprs.items()):
            if source in interface.names:
                env[flat[position]] = source  # the parameter is the leaf: use it directly
            else:
                body.append(f"{env.setdefault(flat[position], next(names))} = {source}")
        for source, positions in interface.unpacks:
            targets = [env.setdefault(flat[p], next(names)) for p in positions]
            comma = "," if len(targets) == 1 else ""
            body.append(f"{', '.join(targets)}{comma} = jax.tree_util.tree_leaves({source})")

    def read(atom: Any) -> str:
        return ctx.literal(atom) if isinstance(atom, Literal) else env[atom]

    saved, ctx._pending = ctx._pending, []
    for eqn in jaxpr.eqns:
        handler = _HANDLERS.get(eqn.primitive.name)
        if handler is None:
            from ._codegen_rules import generic_lax_handler

            handler = generic_lax_handler
        expr = handler(ctx, eqn, [read(a) for a in eqn.invars])
        outs = ["_" if isinstance(v, DropVar) else env.setdefault(v, next(names)) for v in eqn.outvars]
        body.extend(line for stmt in ctx._pending for line in stmt.split("\n"))
        ctx._pending = []
        if not outs:
            body.append(expr)
        elif eqn.primitive.multiple_results:
            body.append(f"{', '.join(outs)}{',' if len(outs) == 1 else ''} = {expr}")
        else:
            body.append(f"{outs[0]} = {expr}")
    ctx._pending = saved
    results = [read(a) for a in jaxpr.outvars]
    if interface is not None and interface.output is not None:
        body.append(f"return {interface.output(results)}")
    elif always_tuple or len(results) != 1:
        body.append(f"return ({', '.join(results)}{',' if len(results) == 1 else ''})")
    else:
        body.append(f"return {results[0]}")
    return [f"def {name}({header}):", *(f"    {line}" for line in body)]


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
    ctx = CodegenContext()
    main = _function_source(ctx, jaxpr, fn_name, always_tuple=False, interface=interface)
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


from . import _codegen_rules  # noqa: E402, F401 - registers the built-in handlers (after the API above)
