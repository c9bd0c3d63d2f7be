"""The state of one code generation: emitted constants and helper functions, and the primitive handlers.

:class:`CodegenContext` is what a primitive handler receives; it looks handlers up in the table it is
given, so this module depends on neither the built-in handlers nor the public entry points.
"""

from __future__ import annotations

import builtins
import enum
import keyword
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import jax
import numpy as np

from brainstate_state import BrainStateError

from ._codegen_interface import Interface
from .compat import ClosedJaxpr, DropVar, Jaxpr, JaxprEqn, Literal, Var, jaxpr_and_consts

__all__ = ["CodegenContext", "PrimHandler", "UnsupportedPrimitiveError"]

PrimHandler = Callable[["CodegenContext", JaxprEqn, list[str]], str]
_RESERVED = frozenset({"jax", "jnp", "lax", "np"}) | frozenset(keyword.kwlist) | frozenset(dir(builtins))
_INLINE_ARRAY_MAX = 16


class UnsupportedPrimitiveError(BrainStateError, NotImplementedError):
    """No code generator is known for a primitive (or for one of its params)."""


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

    def __init__(self, handlers: Mapping[str, PrimHandler], fallback: PrimHandler) -> None:
        self._handlers = handlers
        self._fallback = fallback
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
            self.functions.append(self.source(jaxpr, name, always_tuple=True))
        return self._fn_memo[key][1]

    def source(
        self,
        program: Jaxpr | ClosedJaxpr,
        name: str,
        always_tuple: bool,
        interface: Interface | None = None,
    ) -> list[str]:
        """The lines of a function ``name`` computing ``program`` (its constants and helpers go to ``self``).

        With an ``interface`` the function has the traced Python function's own parameters and output
        structure; otherwise its parameters are the flat inputs and it returns the single output itself,
        or a tuple (always a tuple when ``always_tuple``).
        """
        # The constvars bound to consts are module-level constants; those of an open jaxpr are parameters.
        jaxpr, consts = jaxpr_and_consts(program)
        names = _names(interface.names if interface is not None else frozenset())
        env: dict[Var, str] = {}
        body: list[str] = []
        bound = list(jaxpr.constvars[: len(consts)])
        env.update((v, self.constant(c)) for v, c in zip(bound, consts, strict=True))
        flat = [*jaxpr.constvars[len(consts) :], *jaxpr.invars]
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
            return self.literal(atom) if isinstance(atom, Literal) else env[atom]

        saved, self._pending = self._pending, []
        for eqn in jaxpr.eqns:
            handler = self._handlers.get(eqn.primitive.name, self._fallback)
            expr = handler(self, eqn, [read(a) for a in eqn.invars])
            outs = ["_" if isinstance(v, DropVar) else env.setdefault(v, next(names)) for v in eqn.outvars]
            body.extend(line for stmt in self._pending for line in stmt.split("\n"))
            self._pending = []
            if not outs:
                body.append(expr)
            elif eqn.primitive.multiple_results:
                body.append(f"{', '.join(outs)}{',' if len(outs) == 1 else ''} = {expr}")
            else:
                body.append(f"{outs[0]} = {expr}")
        self._pending = saved
        results = [read(a) for a in jaxpr.outvars]
        if interface is not None and interface.output is not None:
            body.append(f"return {interface.output(results)}")
        elif always_tuple or len(results) != 1:
            body.append(f"return ({', '.join(results)}{',' if len(results) == 1 else ''})")
        else:
            body.append(f"return {results[0]}")
        return [f"def {name}({header}):", *(f"    {line}" for line in body)]
