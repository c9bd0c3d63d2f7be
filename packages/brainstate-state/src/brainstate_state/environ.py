"""The global computing environment: numerical precision, time step, platform and free-form settings.

Settings are key/value pairs. :func:`set` changes them for the whole process; :func:`context` overrides them
inside a ``with`` block **for the current thread only** (each thread has its own stack of overrides, so a
worker thread inside ``context(precision=64)`` does not change what another thread sees). :func:`get` looks
at the innermost active override first, then at the process-wide settings.

Built-in keys
-------------
``precision``
    ``8``, ``16``, ``32`` (default), ``64`` or ``'bf16'``: the default floating/integer width used by
    :func:`dftype`, :func:`ditype`, :func:`dutype` and :func:`dctype` (and so by ``brainstate_state.random``).
    ``64`` turns on JAX's 64-bit mode (process-wide through :func:`set`, thread-locally through
    :func:`context`); every other precision turns it off.
``dt``
    The numerical integration time step (no default: :func:`get_dt` raises until it is set).
``platform``
    ``'cpu'``, ``'gpu'`` or ``'tpu'``; sets ``jax_platforms`` (only effective before JAX initialises a
    backend).
``host_device_count``
    Number of virtual CPU devices (sets ``XLA_FLAGS``; only effective before JAX initialises a backend).

Examples
--------
>>> from brainstate_state import environ
>>> environ.set(dt=0.1)
>>> environ.get_dt()
0.1
>>> with environ.context(dt=0.01):
...     environ.get('dt')
0.01
>>> environ.get('dt')
0.1
"""

from __future__ import annotations

import contextlib
import os
import re
import threading
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

__all__ = [
    "all",
    "context",
    "dctype",
    "dftype",
    "ditype",
    "dutype",
    "get",
    "get_dt",
    "get_precision",
    "pop",
    "register_default_behavior",
    "reset",
    "set",
    "set_dt",
    "set_host_device_count",
    "set_platform",
    "set_precision",
]

_MISSING: Any = object()
_PRECISIONS: tuple[int | str, ...] = (8, 16, 32, 64, "bf16")
_PLATFORMS = ("cpu", "gpu", "tpu")
_DEFAULTS: dict[str, Any] = {"precision": 32}

_LOCK = threading.RLock()
_SETTINGS: dict[str, Any] = dict(_DEFAULTS)
_BEHAVIORS: dict[str, Callable[[Any], None]] = {}


class _Local(threading.local):
    def __init__(self) -> None:
        self.overrides: list[dict[str, Any]] = []


_LOCAL = _Local()


# ---------------------------------------------------------------------------------------------- validation
def _check_precision(precision: Any) -> int | str:
    if isinstance(precision, bool) or precision not in _PRECISIONS:
        raise ValueError(f"precision must be one of {list(_PRECISIONS)}, got {precision!r}.")
    return precision  # type: ignore[no-any-return]


def _check_dt(dt: Any) -> Any:
    if isinstance(dt, (int, float, np.number)) and not dt > 0:
        raise ValueError(f"dt must be a positive time step, got {dt!r}.")
    return dt


def _check_platform(platform: Any) -> str:
    if platform not in _PLATFORMS:
        raise ValueError(f"platform must be one of {list(_PLATFORMS)}, got {platform!r}.")
    return platform  # type: ignore[no-any-return]


def _check_device_count(count: Any) -> int:
    if isinstance(count, bool) or not isinstance(count, (int, np.integer)) or count < 1:
        raise ValueError(f"host_device_count must be a positive integer, got {count!r}.")
    return int(count)


_VALIDATORS: dict[str, Callable[[Any], Any]] = {
    "precision": _check_precision,
    "dt": _check_dt,
    "platform": _check_platform,
    "host_device_count": _check_device_count,
}


def _collect(env: Mapping[str, Any] | None, named: dict[str, Any], kw: dict[str, Any]) -> dict[str, Any]:
    updates: dict[str, Any] = {}
    if env is not None:
        if not isinstance(env, Mapping):
            raise TypeError(f"env must be a mapping of setting names to values, got {type(env).__name__}.")
        updates.update(env)
    updates.update({k: v for k, v in named.items() if v is not None})
    updates.update(kw)
    for key, value in updates.items():
        validator = _VALIDATORS.get(key)
        if validator is not None:
            updates[key] = validator(value)
    return updates


# ---------------------------------------------------------------------------------------------- side effects
def _apply_process_wide(key: str, value: Any) -> None:
    if key == "precision":
        jax.config.update("jax_enable_x64", value == 64)
    elif key == "platform":
        jax.config.update("jax_platforms", value)
    elif key == "host_device_count":
        flags = re.sub(r"--xla_force_host_platform_device_count=\S+", "", os.environ.get("XLA_FLAGS", ""))
        os.environ["XLA_FLAGS"] = f"{flags.strip()} --xla_force_host_platform_device_count={value}".strip()
    behavior = _BEHAVIORS.get(key)
    if behavior is not None:
        behavior(value)


# ---------------------------------------------------------------------------------------------- public API
def set(  # noqa: A001 - the public name mirrors brainstate.environ.set
    platform: str | None = None,
    host_device_count: int | None = None,
    precision: int | str | None = None,
    dt: Any = None,
    *,
    env: Mapping[str, Any] | None = None,
    **kw: Any,
) -> None:
    """Change settings for the whole process.

    Parameters
    ----------
    platform, host_device_count, precision, dt
        The built-in settings (see the module docstring); ``None`` leaves a setting unchanged.
    env
        A mapping of further settings (handy for keys that are not Python identifiers).
    **kw
        Further settings, stored as given.

    Raises
    ------
    ValueError
        If a built-in setting has an invalid value (nothing is changed then).

    Examples
    --------
    >>> from brainstate_state import environ
    >>> environ.set(my_flag=True)
    >>> environ.get('my_flag')
    True
    """
    updates = _collect(
        env,
        {"platform": platform, "host_device_count": host_device_count, "precision": precision, "dt": dt},
        kw,
    )
    with _LOCK:
        for key, value in updates.items():
            _SETTINGS[key] = value
            _apply_process_wide(key, value)


def get(
    key: str, default: Any = _MISSING, desc: str | None = None, *, env: Mapping[str, Any] | None = None
) -> Any:
    """The value of setting ``key``: this thread's innermost :func:`context` override, else the global one.

    Parameters
    ----------
    key
        The setting's name.
    default
        Returned when the setting does not exist. Without it a missing setting raises :class:`KeyError`.
    desc
        What the setting is for; included in the error message of a missing setting.
    env
        A mapping to look the key up in instead of the current environment.

    Examples
    --------
    >>> from brainstate_state import environ
    >>> environ.get('precision')
    32
    >>> environ.get('no_such_setting', 'fallback')
    'fallback'
    """
    if env is not None:
        if key in env:
            return env[key]
    else:
        for overrides in reversed(_LOCAL.overrides):
            if key in overrides:
                return overrides[key]
        with _LOCK:
            if key in _SETTINGS:
                return _SETTINGS[key]
    if default is not _MISSING:
        return default
    known = sorted(env) if env is not None else sorted(all())
    message = f"The environment setting {key!r} is not set. Known settings: {known}."
    if desc:
        message += f" {key!r} is {desc}."
    message += f" How to fix: set it with brainstate.environ.set({key}=...) or pass a default."
    raise KeyError(message)


@contextlib.contextmanager
def context(*, env: Mapping[str, Any] | None = None, **kw: Any) -> Iterator[dict[str, Any]]:
    """Override settings inside a ``with`` block, for the current thread only; nests and restores on exit.

    ``precision=64`` enables JAX's 64-bit mode for this thread inside the block (``jax.enable_x64``); other
    precisions disable it there. Registered behaviours (:func:`register_default_behavior`) are called with
    the new value on entry and with the previous value on exit. Yields the merged settings.

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> from brainstate_state import environ
    >>> with environ.context(precision=64):
    ...     environ.dftype() == jnp.float64
    True
    >>> environ.dftype() == jnp.float32
    True
    """
    updates = _collect(env, {}, kw)
    for key in ("platform", "host_device_count"):
        if key in updates:
            raise ValueError(
                f"{key!r} cannot be changed inside environ.context(): it only takes effect before JAX starts. "
                f"How to fix: call brainstate.environ.set({key}=...) once at program start."
            )
    previous = {key: get(key, None) for key in updates}
    with contextlib.ExitStack() as stack:
        if "precision" in updates:
            stack.enter_context(jax.enable_x64(updates["precision"] == 64))
        _LOCAL.overrides.append(updates)
        stack.callback(_LOCAL.overrides.pop)
        for key, value in updates.items():
            behavior = _BEHAVIORS.get(key)
            if behavior is not None:
                behavior(value)
                stack.callback(behavior, previous[key])
        yield all()


def all() -> dict[str, Any]:  # noqa: A001 - the public name mirrors brainstate.environ.all
    """A copy of every setting as this thread sees it (global settings with context overrides applied).

    Examples
    --------
    >>> from brainstate_state import environ
    >>> environ.all()['precision']
    32
    """
    with _LOCK:
        merged = dict(_SETTINGS)
    for overrides in _LOCAL.overrides:
        merged.update(overrides)
    return merged


def pop(key: str, default: Any = _MISSING) -> Any:
    """Remove the process-wide setting ``key`` and return its value (``default`` if it does not exist).

    Context overrides are not affected. Built-in defaults (``precision``) return to their default value.

    Examples
    --------
    >>> from brainstate_state import environ
    >>> environ.set(tmp=1)
    >>> environ.pop('tmp')
    1
    >>> environ.pop('tmp', None) is None
    True
    """
    with _LOCK:
        if key not in _SETTINGS:
            if default is _MISSING:
                raise KeyError(
                    f"The environment setting {key!r} is not set. Known settings: {sorted(_SETTINGS)}."
                )
            return default
        value = _SETTINGS.pop(key)
        if key in _DEFAULTS:
            _SETTINGS[key] = _DEFAULTS[key]
            _apply_process_wide(key, _DEFAULTS[key])
        return value


def reset() -> None:
    """Forget every process-wide setting and restore the defaults (``precision=32``, no ``dt``).

    Examples
    --------
    >>> from brainstate_state import environ
    >>> environ.set(dt=0.5)
    >>> environ.reset()
    >>> environ.get('dt', None) is None
    True
    """
    with _LOCK:
        _SETTINGS.clear()
        for key, value in _DEFAULTS.items():
            _SETTINGS[key] = value
            _apply_process_wide(key, value)


def register_default_behavior(
    key: str, behavior: Callable[[Any], None], replace_if_exist: bool = False
) -> None:
    """Call ``behavior(value)`` whenever setting ``key`` changes (by :func:`set`, or entering/leaving
    :func:`context`).

    Raises
    ------
    ValueError
        If a behaviour is already registered for ``key`` and ``replace_if_exist`` is false.

    Examples
    --------
    >>> from brainstate_state import environ
    >>> seen = []
    >>> environ.register_default_behavior('verbosity', seen.append, replace_if_exist=True)
    >>> environ.set(verbosity=2)
    >>> seen
    [2]
    """
    if not callable(behavior):
        raise TypeError(f"behavior must be callable, got {type(behavior).__name__}.")
    with _LOCK:
        if key in _BEHAVIORS and not replace_if_exist:
            raise ValueError(
                f"A behaviour is already registered for the setting {key!r}. "
                "How to fix: pass replace_if_exist=True to replace it."
            )
        _BEHAVIORS[key] = behavior


# ---------------------------------------------------------------------------------------------- shortcuts
def set_precision(precision: int | str) -> None:
    """Set the default precision process-wide: ``8``, ``16``, ``32``, ``64`` (enables x64) or ``'bf16'``.

    Examples
    --------
    >>> from brainstate_state import environ
    >>> environ.set_precision(16)
    >>> environ.dftype()
    <class 'jax.numpy.float16'>
    >>> environ.set_precision(32)
    """
    set(precision=_check_precision(precision))


def get_precision() -> int | str:
    """The current default precision (``8``, ``16``, ``32``, ``64`` or ``'bf16'``).

    Examples
    --------
    >>> from brainstate_state import environ
    >>> environ.get_precision()
    32
    """
    return get("precision")  # type: ignore[no-any-return]


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


def dftype() -> Any:
    """The default floating dtype for the current precision (``8`` gives ``float8_e5m2``).

    Examples
    --------
    >>> from brainstate_state import environ
    >>> environ.dftype()
    <class 'jax.numpy.float32'>
    """
    return _FLOATS[get_precision()]


def ditype() -> Any:
    """The default signed integer dtype for the current precision (``'bf16'`` gives ``int16``).

    Examples
    --------
    >>> from brainstate_state import environ
    >>> environ.ditype()
    <class 'jax.numpy.int32'>
    """
    return _INTS[get_precision()]


def dutype() -> Any:
    """The default unsigned integer dtype for the current precision.

    Examples
    --------
    >>> from brainstate_state import environ
    >>> environ.dutype()
    <class 'jax.numpy.uint32'>
    """
    return _UINTS[get_precision()]


def dctype() -> Any:
    """The default complex dtype: ``complex128`` at precision 64, else ``complex64``.

    Examples
    --------
    >>> from brainstate_state import environ
    >>> environ.dctype()
    <class 'jax.numpy.complex64'>
    """
    return jnp.complex128 if get_precision() == 64 else jnp.complex64


def set_dt(dt: Any) -> None:
    """Set the numerical integration time step process-wide.

    Examples
    --------
    >>> from brainstate_state import environ
    >>> environ.set_dt(0.05)
    >>> environ.get_dt()
    0.05
    """
    set(dt=_check_dt(dt))


def get_dt() -> Any:
    """The numerical integration time step; raises :class:`KeyError` if it was never set.

    Examples
    --------
    >>> from brainstate_state import environ
    >>> with environ.context(dt=0.2):
    ...     environ.get_dt()
    0.2
    """
    return get("dt", desc="the numerical integration time step")


def set_platform(platform: str) -> None:
    """Select the JAX platform (``'cpu'``, ``'gpu'`` or ``'tpu'``); call it before any JAX computation.

    Examples
    --------
    >>> from brainstate_state import environ
    >>> environ.set_platform('cpu')  # doctest: +SKIP
    """
    set(platform=_check_platform(platform))


def set_host_device_count(n: int) -> None:
    """Make XLA expose ``n`` virtual CPU devices; call it before any JAX computation.

    Examples
    --------
    >>> from brainstate_state import environ
    >>> environ.set_host_device_count(4)  # doctest: +SKIP
    """
    set(host_device_count=_check_device_count(n))
