"""Shortcuts over ``environ.set``/``environ.get`` for the built-in settings: precision and the default
dtypes, the time step, the platform and the host device count."""

from __future__ import annotations

import os
import re
from typing import Any

import jax
import jax.numpy as jnp

from ._env import (
    EnvironmentState,
    check_device_count,
    check_dt,
    check_platform,
    check_precision,
    read,
    resolve,
    store,
)


def _store(env: EnvironmentState | None, key: str, value: Any) -> None:
    store(resolve(env)[0], {key: value})


__all__ = [
    "dctype",
    "dftype",
    "ditype",
    "dutype",
    "get_dt",
    "get_host_device_count",
    "get_platform",
    "get_precision",
    "set_dt",
    "set_host_device_count",
    "set_platform",
    "set_precision",
    "tolerance",
]


def set_precision(precision: int | str, *, env: EnvironmentState | None = None) -> None:
    """Set the default precision process-wide: ``8``, ``16``, ``32``, ``64`` (enables x64) or ``'bf16'``.

    Examples
    --------
    >>> from brainstate_state import environ
    >>> environ.set_precision(16)
    >>> environ.dftype()
    <class 'jax.numpy.float16'>
    >>> environ.set_precision(32)
    """
    _store(env, "precision", check_precision(precision))


def get_precision(*, env: EnvironmentState | None = None) -> int | str:
    """The current default precision (``8``, ``16``, ``32``, ``64`` or ``'bf16'``).

    Examples
    --------
    >>> from brainstate_state import environ
    >>> environ.get_precision()
    32
    """
    return read("precision", env)  # type: ignore[no-any-return]


_FLOATS: dict[int | str, Any] = {
    8: jnp.float8_e5m2,
    16: jnp.float16,
    32: jnp.float32,
    64: jnp.float64,
    "bf16": jnp.bfloat16,
}
_INTS: dict[int | str, Any] = {8: jnp.int8, 16: jnp.int16, 32: jnp.int32, 64: jnp.int64, "bf16": jnp.int16}
_UINTS: dict[int | str, Any] = {
    8: jnp.uint8,
    16: jnp.uint16,
    32: jnp.uint32,
    64: jnp.uint64,
    "bf16": jnp.uint16,
}
_TOLERANCES: dict[int | str, float] = {8: 1e-2, 16: 1e-2, 32: 1e-5, 64: 1e-12, "bf16": 1e-2}


def dftype(*, env: EnvironmentState | None = None) -> Any:
    """The default floating dtype for the current precision (``8`` gives ``float8_e5m2``).

    Examples
    --------
    >>> from brainstate_state import environ
    >>> environ.dftype()
    <class 'jax.numpy.float32'>
    """
    return _FLOATS[get_precision(env=env)]


def ditype(*, env: EnvironmentState | None = None) -> Any:
    """The default signed integer dtype for the current precision (``'bf16'`` gives ``int16``).

    Examples
    --------
    >>> from brainstate_state import environ
    >>> environ.ditype()
    <class 'jax.numpy.int32'>
    """
    return _INTS[get_precision(env=env)]


def dutype(*, env: EnvironmentState | None = None) -> Any:
    """The default unsigned integer dtype for the current precision.

    Examples
    --------
    >>> from brainstate_state import environ
    >>> environ.dutype()
    <class 'jax.numpy.uint32'>
    """
    return _UINTS[get_precision(env=env)]


def dctype(*, env: EnvironmentState | None = None) -> Any:
    """The default complex dtype: ``complex128`` at precision 64, else ``complex64``.

    Examples
    --------
    >>> from brainstate_state import environ
    >>> environ.dctype()
    <class 'jax.numpy.complex64'>
    """
    return jnp.complex128 if get_precision(env=env) == 64 else jnp.complex64


def tolerance(*, env: EnvironmentState | None = None) -> float:
    """A numerical tolerance for the current precision: ``1e-12`` at 64, ``1e-5`` at 32, else ``1e-2``.

    Examples
    --------
    >>> from brainstate_state import environ
    >>> environ.tolerance()
    1e-05
    """
    return _TOLERANCES[get_precision(env=env)]


def set_dt(dt: Any, *, env: EnvironmentState | None = None) -> None:
    """Set the numerical integration time step process-wide.

    Examples
    --------
    >>> from brainstate_state import environ
    >>> environ.set_dt(0.05)
    >>> environ.get_dt()
    0.05
    """
    _store(env, "dt", check_dt(dt))


def get_dt(*, env: EnvironmentState | None = None) -> Any:
    """The numerical integration time step; raises :class:`KeyError` if it was never set.

    Examples
    --------
    >>> from brainstate_state import environ
    >>> with environ.context(dt=0.2):
    ...     environ.get_dt()
    0.2
    """
    return read("dt", env, "the numerical integration time step")


def set_platform(platform: str, *, env: EnvironmentState | None = None) -> None:
    """Select the JAX platform (``'cpu'``, ``'gpu'`` or ``'tpu'``); call it before any JAX computation.

    Examples
    --------
    >>> from brainstate_state import environ
    >>> environ.set_platform('cpu')  # doctest: +SKIP
    """
    _store(env, "platform", check_platform(platform))


def get_platform() -> str:
    """The platform JAX computes on (``'cpu'``, ``'gpu'`` or ``'tpu'``).

    Examples
    --------
    >>> from brainstate_state import environ
    >>> environ.get_platform() in ('cpu', 'gpu', 'tpu')
    True
    """
    return jax.default_backend()


def set_host_device_count(n: int, *, env: EnvironmentState | None = None) -> None:
    """Make XLA expose ``n`` virtual CPU devices; call it before any JAX computation.

    Examples
    --------
    >>> from brainstate_state import environ
    >>> environ.set_host_device_count(4)  # doctest: +SKIP
    """
    _store(env, "host_device_count", check_device_count(n))


def get_host_device_count() -> int:
    """The number of virtual CPU devices requested in ``XLA_FLAGS`` (1 when none is requested).

    Examples
    --------
    >>> from brainstate_state import environ
    >>> environ.get_host_device_count() >= 1
    True
    """
    found = re.search(r"--xla_force_host_platform_device_count=(\d+)", os.environ.get("XLA_FLAGS", ""))
    return int(found.group(1)) if found else 1
