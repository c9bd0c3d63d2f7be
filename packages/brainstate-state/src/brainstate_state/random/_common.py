"""Helpers shared by the distribution modules: keys, shapes, dtypes and parameter checks.

Parameter checks run on concrete values, also inside ``jit`` (Python numbers and constants are concrete
there). Parameters that are themselves traced are not checked by :func:`check_param` (the samplers then
return NaN or clipped values for out-of-range parameters, as ``jax.random`` does); the distributions with a
``check_valid=`` argument use :func:`check_valid_param`, which checks traced parameters when the compiled
program runs.
"""

from __future__ import annotations

import abc
import functools
from collections.abc import Callable, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from .. import environ
from .._jax_compat import Tracer

__all__ = [
    "KeySource",
    "as_key",
    "check_param",
    "check_valid_param",
    "float_dtype",
    "int_dtype",
    "out_shape",
    "size_tuple",
]

Size = int | Sequence[int] | None


def is_typed_key(x: Any) -> bool:
    """Whether ``x`` is an array of typed JAX PRNG keys."""
    return hasattr(x, "dtype") and jnp.issubdtype(x.dtype, jax.dtypes.prng_key)


def as_key(key: Any) -> jax.Array:
    """A typed key from a typed key or a raw ``uint32[2]`` key (``jax.random.PRNGKey`` style)."""
    if is_typed_key(key):
        return key  # type: ignore[no-any-return]
    if (
        hasattr(key, "shape")
        and hasattr(key, "dtype")
        and tuple(key.shape)[-1:] == (2,)
        and np.dtype(key.dtype) == np.uint32
    ):
        return jax.random.wrap_key_data(jnp.asarray(key, jnp.uint32))  # type: ignore[no-any-return]
    raise TypeError(
        f"key must be a typed JAX key (jax.random.key(seed)) or raw uint32[2] key data, got "
        f"{type(key).__name__}{getattr(key, 'shape', '')}. How to fix: pass jax.random.key(seed) or leave "
        "key=None to draw from the random state."
    )


def size_tuple(size: Size) -> tuple[int, ...]:
    """``size`` as a shape tuple (``None`` -> ``()``)."""
    if size is None:
        return ()
    if isinstance(size, (int, np.integer)):
        return (int(size),)
    return tuple(int(s) for s in size)


def out_shape(size: Size, *params: Any) -> tuple[int, ...]:
    """``size`` if given, else the broadcast shape of the (non-``None``) parameters."""
    if size is not None:
        return size_tuple(size)
    return tuple(jnp.broadcast_shapes(*(jnp.shape(p) for p in params if p is not None)))


def float_dtype(dtype: Any) -> Any:
    """``dtype`` or the environment's default float dtype; rejects non-floating dtypes."""
    if dtype is None:
        return environ.dftype()
    if not jnp.issubdtype(dtype, jnp.floating):
        raise TypeError(f"dtype must be a floating dtype for this distribution, got {np.dtype(dtype)}.")
    return dtype


def int_dtype(dtype: Any) -> Any:
    """``dtype`` or the environment's default integer dtype; rejects non-integer dtypes."""
    if dtype is None:
        return environ.ditype()
    if not jnp.issubdtype(dtype, jnp.integer):
        raise TypeError(f"dtype must be an integer dtype for this distribution, got {np.dtype(dtype)}.")
    return dtype


def check_param(ok: Callable[[], Any], name: str, value: Any, requirement: str) -> None:
    """Raise ``ValueError`` if ``ok()`` (a boolean array) is not all true.

    ``ok`` is evaluated eagerly even inside a JAX trace, so parameters that are concrete (Python numbers,
    NumPy arrays, closed-over constants) are checked inside ``jit`` too; the check is skipped when a
    parameter is itself traced.
    """
    with jax.ensure_compile_time_eval():
        result = ok()
    if isinstance(result, Tracer):
        return
    if not bool(np.all(np.asarray(result))):
        raise ValueError(f"Parameter {name!r} must be {requirement}, got {value!r}.")


_SKIP_HINT = "Pass check_valid=False to draw without this check."


def _raise_if_invalid(ok: Any, value: Any, message: str) -> None:
    if not bool(np.all(np.asarray(ok))):
        raise ValueError(f"{message}, got {np.asarray(value).tolist()!r}. {_SKIP_HINT}")


def check_valid_param(ok: Callable[[], Any], value: Any, message: str, check_valid: bool = True) -> None:
    """The ``check_valid=`` check: raise ``ValueError(message ...)`` if ``ok()`` is not all true.

    Concrete parameters are checked now, before any key is split. When a parameter is traced, the check
    is compiled into the program (an unordered ``jax.debug.callback``) and raises when the program runs
    with an invalid value: under ``jit`` the ``ValueError`` arrives wrapped in ``JaxRuntimeError``, under
    ``vmap`` when any lane is invalid.
    """
    if not check_valid:
        return
    with jax.ensure_compile_time_eval():
        result = ok()
    if isinstance(result, Tracer):
        raise_if_invalid = functools.partial(_raise_if_invalid, message=message)
        jax.debug.callback(raise_if_invalid, jax.lax.stop_gradient(result), jax.lax.stop_gradient(value))
        return
    _raise_if_invalid(result, value, message)


def concrete(*values: Any) -> bool:
    """Whether none of ``values`` is a tracer."""
    return not any(isinstance(v, Tracer) for v in values)


class KeySource(abc.ABC):
    """Base of the distribution mixins: a draw takes ``key`` if given, else splits one from the state."""

    @abc.abstractmethod
    def split_key(self, n: int | None = None, backup: bool = False) -> jax.Array:
        """Advance the stream and return a fresh key (implemented by :class:`RandomState`)."""

    def _draw_key(self, key: Any) -> jax.Array:
        return self.split_key() if key is None else as_key(key)

    def _draw_keys(self, key: Any, n: int) -> jax.Array:
        """``n`` keys: ``split_key(n)`` from the state (one split into ``n + 1``), or ``split(key, n)``."""
        return self.split_key(n) if key is None else jax.random.split(as_key(key), n)
