"""How call arguments become (static part, dynamic leaves) and a hashable signature.

A stateful function is traced once per *signature*: the values of its static arguments plus the pytree
structure and abstract values (shape, dtype, weak type) of its dynamic arguments. This module splits a
call into those parts, checks them (static values must be hashable; no State may be passed as an
argument) and rebuilds the call from the dynamic leaves during tracing.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from brainstate_state import State, state_error_message

from ._argnums import ArgnumsError, normalize_argnums

__all__ = [
    "SplitCall",
    "StaticArgs",
    "leaf_signature",
    "normalize_argnames",
    "normalize_argnums",
    "resolve_static_args",
    "split_call",
]


def normalize_argnames(argnames: str | Sequence[str] | None) -> tuple[str, ...]:
    """``argnames`` as a tuple of strings."""
    if argnames is None:
        return ()
    if isinstance(argnames, str):
        return (argnames,)
    names = tuple(argnames)
    for name in names:
        if not isinstance(name, str):
            raise ValueError(f"static_argnames must contain strings, got {name!r}.")
    return names


@dataclass(frozen=True)
class StaticArgs:
    """Which arguments are static, by position and by name, as ``jax.jit`` resolves them.

    ``static_argnames`` given alone also make their parameters' positions static; ``static_argnums`` given
    alone also make their parameters' names static (so ``f(1., 3)`` and ``f(1., n=3)`` agree).
    ``optional`` are the positions that may be absent from a call (passed by name or left at a default),
    as in ``jax.jit``.
    """

    argnums: tuple[int, ...]
    argnames: tuple[str, ...]
    optional: frozenset[int]
    names: tuple[tuple[int, str], ...]


def resolve_static_args(
    fun: Callable[..., Any],
    static_argnums: int | Sequence[int] | None,
    static_argnames: str | Sequence[str] | None,
    *,
    transform: str = "StatefulFunction",
) -> StaticArgs:
    """Normalize and cross-complete static argument positions and names from ``fun``'s signature.

    ``transform`` names the caller in the messages of rejected ``static_argnums`` (see
    :func:`normalize_argnums`).
    """
    nums = tuple(
        sorted(
            normalize_argnums(
                static_argnums, transform=transform, what="static_argnums", function=function_name(fun)
            )
        )
    )
    names = normalize_argnames(static_argnames)
    try:
        parameters = list(inspect.signature(fun).parameters.values())
    except (TypeError, ValueError):  # builtins and other uninspectable callables: nothing to infer
        return StaticArgs(nums, names, frozenset(), ())
    positional = [
        p.name
        for p in parameters
        if p.kind in (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    ]
    by_name = [p.name for p in parameters if p.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD]
    all_nums = set(nums)
    all_names = list(names)
    from_names = set()
    for i, name in enumerate(positional):
        if name in names and name in by_name:
            all_nums.add(i)
            if i not in nums:
                from_names.add(i)
        if i in nums and name in by_name and name not in all_names:
            all_names.append(name)
    pairs = tuple((i, name) for i, name in enumerate(positional) if i in all_nums and name in by_name)
    # A named parameter left out of a call is passed by name, takes its default, or makes Python raise.
    optional = from_names | {i for i in all_nums if i < len(positional)}
    return StaticArgs(tuple(sorted(all_nums)), tuple(all_names), frozenset(optional), pairs)


def _hashable(value: Any, where: str) -> Hashable:
    if isinstance(value, (list, tuple)):
        return (type(value).__name__, tuple(_hashable(v, where) for v in value))
    if isinstance(value, dict):
        return ("dict", tuple(sorted((k, _hashable(v, where)) for k, v in value.items())))
    try:
        hash(value)
    except TypeError:
        raise TypeError(
            f"The static argument {where} has an unhashable value of type {type(value).__name__}. "
            "Static arguments select which program is compiled, so they must be hashable: pass a tuple "
            "instead of a list, a frozen dataclass instead of a plain object, or make it a dynamic argument."
        ) from None
    return value  # type: ignore[no-any-return]


_WEAK_SCALARS: dict[type, Any] = {float: np.float64, int: np.int64, complex: np.complex128}


def leaf_signature(leaf: Any) -> Hashable:
    """The abstract value ``(shape, dtype, weak_type)`` that selects a program for one argument leaf.

    A value and the tracer JAX makes of it agree: a Python ``float`` is ``((), float32, True)`` outside a
    trace and inside ``jax.jit``; a NumPy ``float64`` array is ``float32`` when 64-bit mode is off. So a
    function traced once outside a trace is found again from inside one (no second trace).
    """
    kind = type(leaf)
    if kind in _WEAK_SCALARS:  # Python scalars are weakly typed
        return ((), jax.dtypes.canonicalize_dtype(_WEAK_SCALARS[kind]), True)
    if kind is bool:
        return ((), _BOOL, False)
    if isinstance(leaf, jax.Array):  # arrays and tracers
        aval = leaf.aval
        return (aval.shape, aval.dtype, aval.weak_type)
    if isinstance(leaf, (np.ndarray, np.generic)):
        return (leaf.shape, jax.dtypes.canonicalize_dtype(leaf.dtype), False)
    if isinstance(leaf, bool):
        return ((), _BOOL, False)
    for base in (int, float, complex):  # subclasses of Python scalars (np.float64 is caught above)
        if isinstance(leaf, base):
            return ((), jax.dtypes.canonicalize_dtype(_WEAK_SCALARS[base]), True)
    if hasattr(leaf, "shape") and hasattr(leaf, "dtype"):  # ShapeDtypeStruct and friends
        # Extended dtypes (typed PRNG keys) are not NumPy dtypes.
        dtype = leaf.dtype if jnp.issubdtype(leaf.dtype, jax.dtypes.extended) else np.dtype(leaf.dtype)
        if not jnp.issubdtype(dtype, jax.dtypes.extended):
            dtype = jax.dtypes.canonicalize_dtype(dtype)
        return (tuple(leaf.shape), dtype, bool(getattr(leaf, "weak_type", False)))
    raise TypeError(
        f"An argument leaf of type {type(leaf).__name__} is not a valid JAX type. Pass arrays, scalars "
        "or containers of them as dynamic arguments, or mark the argument static (static_argnums / "
        "static_argnames)."
    )


_BOOL = np.dtype(bool)


_STATE_ARG_FIX = (
    "do not pass States as arguments: read them inside the function (brainstate tracks every State the "
    "function touches), or pass `state.value`."
)


@dataclass(frozen=True)
class SplitCall:
    """A call split into what selects the program (``signature``) and what flows into it (``leaves``)."""

    signature: Hashable
    leaves: list[Any]
    treedef: Any
    static_args: tuple[tuple[int, Any], ...]
    static_kwargs: tuple[tuple[str, Any], ...]
    num_positional: int

    def rebuild(self, dynamic_leaves: Sequence[Any]) -> tuple[tuple[Any, ...], dict[str, Any]]:
        """The original ``(args, kwargs)`` with ``dynamic_leaves`` in place of the dynamic values."""
        dyn_args, dyn_kwargs = jax.tree.unflatten(self.treedef, dynamic_leaves)
        args = list(dyn_args)
        for index, value in self.static_args:
            args.insert(index, value)
        kwargs = dict(dyn_kwargs)
        kwargs.update(self.static_kwargs)
        return tuple(args), kwargs


def _is_state(x: Any) -> bool:
    return isinstance(x, State)


def split_call(
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    static_argnums: tuple[int, ...],
    static_argnames: tuple[str, ...],
    fun_name: str = "function",
    static: StaticArgs | None = None,
) -> SplitCall:
    """Split a call into static and dynamic parts and compute its signature.

    ``static`` (from :func:`resolve_static_args`) lets a static position be absent when its argument is
    passed by name or left at its default.
    """
    for n in static_argnums:
        if n >= len(args):
            if static is not None and (
                n in static.optional or any(i == n and name in kwargs for i, name in static.names)
            ):
                continue
            raise ArgnumsError(
                f"static_argnums contains {n}, but {fun_name} was called with only {len(args)} positional "
                "argument(s). Pass that argument positionally, or use static_argnames."
            )
    static_args = tuple((i, args[i]) for i in static_argnums if i < len(args))
    dyn_args = tuple(a for i, a in enumerate(args) if i not in static_argnums) if static_argnums else args
    if static_argnames:
        static_kwargs = tuple(sorted((k, v) for k, v in kwargs.items() if k in static_argnames))
        dyn_kwargs = {k: v for k, v in kwargs.items() if k not in static_argnames}
    else:
        static_kwargs = ()
        dyn_kwargs = kwargs
    leaves, treedef = jax.tree.flatten((dyn_args, dyn_kwargs))
    leaf_sigs = []
    for leaf in leaves:
        if isinstance(leaf, State):
            raise ValueError(
                state_error_message(
                    f"Inputs of brainstate transformations cannot be States, but {fun_name} received one.",
                    leaf,
                    _STATE_ARG_FIX,
                )
            )
        leaf_sigs.append(leaf_signature(leaf))
    static_sig = tuple((i, _hashable(v, f"at position {i}")) for i, v in static_args)
    static_kw_sig = tuple((k, _hashable(v, repr(k))) for k, v in static_kwargs)
    signature = (static_sig, static_kw_sig, treedef, tuple(leaf_sigs))
    return SplitCall(signature, leaves, treedef, static_args, static_kwargs, len(args))


def reject_states_in_output(out: Any, fun_name: str) -> None:
    """Raise if a State is part of a function's return value."""
    for leaf in jax.tree.leaves(out, is_leaf=_is_state):
        if isinstance(leaf, State):
            raise ValueError(
                state_error_message(
                    f"Outputs of brainstate transformations cannot be States, but {fun_name} returned one.",
                    leaf,
                    "return `state.value` instead of the State (the State itself is updated in place).",
                )
            )


def function_name(fun: Callable[..., Any]) -> str:
    """A readable name for ``fun`` in messages."""
    name = getattr(fun, "__qualname__", None) or getattr(fun, "__name__", None)
    if name is None:
        name = type(fun).__name__
    return str(name)
