"""The global computing environment: numerical precision, time step, platform and free-form settings.

Settings are key/value pairs. :func:`set` changes them for the whole process; :func:`context` overrides them
inside a ``with`` block **for the current thread only** (each thread has its own stack of overrides, so a
worker thread inside ``context(precision=64)`` does not change what another thread sees). :func:`get` looks
at the innermost active override first, then at the process-wide settings.

Every function takes ``env=``: an :class:`EnvironmentState` to act on instead of the default environment
(``set``, ``get`` and ``context`` also accept a plain mapping of settings there).

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
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import jax

from ._env import (
    DEFAULT_ENV,
    DEFAULTS,
    MISSING,
    PLATFORMS,
    PRECISIONS,
    EnvironmentState,
    collect,
    read,
    resolve,
    store,
)

__all__ = [
    "DEFAULT_PRECISION",
    "DT",
    "FIT",
    "HOST_DEVICE_COUNT",
    "I",
    "JIT_ERROR_CHECK",
    "PLATFORM",
    "PRECISION",
    "SUPPORTED_PLATFORMS",
    "SUPPORTED_PRECISIONS",
    "T",
    "EnvironmentState",
    "all",
    "context",
    "dctype",
    "dftype",
    "ditype",
    "dutype",
    "get",
    "get_dt",
    "get_host_device_count",
    "get_platform",
    "get_precision",
    "list_registered_behaviors",
    "pop",
    "register_default_behavior",
    "reset",
    "set",
    "set_dt",
    "set_host_device_count",
    "set_platform",
    "set_precision",
    "tolerance",
    "unregister_default_behavior",
]

#: Names of the built-in settings and of common ones (the keys brainstate 0.5.4 code uses).
DT = "dt"
I = "i"  # noqa: E741 - the name brainstate 0.5.4 uses for the step index
T = "t"
FIT = "fit"
JIT_ERROR_CHECK = "jit_error_check"
PRECISION = "precision"
PLATFORM = "platform"
HOST_DEVICE_COUNT = "host_device_count"
DEFAULT_PRECISION = DEFAULTS["precision"]
SUPPORTED_PRECISIONS = PRECISIONS
SUPPORTED_PLATFORMS = PLATFORMS

_MISSING = MISSING


# ---------------------------------------------------------------------------------------------- public API
def set(  # noqa: A001 - the public name mirrors brainstate.environ.set
    platform: str | None = None,
    host_device_count: int | None = None,
    precision: int | str | None = None,
    dt: Any = None,
    *,
    env: EnvironmentState | Mapping[str, Any] | None = None,
    **kwargs: Any,
) -> None:
    """Change settings for the whole process (of the default environment, or of ``env``).

    Parameters
    ----------
    platform, host_device_count, precision, dt
        The built-in settings (see the module docstring); ``None`` leaves a setting unchanged.
    env
        The :class:`EnvironmentState` to change; or a mapping of further settings for the default
        environment (handy for keys that are not Python identifiers).
    **kwargs
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
    target, extra = resolve(env)
    named = {"platform": platform, "host_device_count": host_device_count, "precision": precision, "dt": dt}
    store(target, collect(extra, named, kwargs))


def get(
    key: str,
    default: Any = _MISSING,
    desc: str | None = None,
    *,
    env: EnvironmentState | Mapping[str, Any] | None = None,
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
        The :class:`EnvironmentState` to read, or a mapping to look the key up in instead.

    Examples
    --------
    >>> from brainstate_state import environ
    >>> environ.get('precision')
    32
    >>> environ.get('no_such_setting', 'fallback')
    'fallback'
    """
    if env is not None and not isinstance(env, EnvironmentState):
        resolve(env)  # rejects what is neither an environment nor a mapping
        if key in env:
            return env[key]
        if default is not _MISSING:
            return default
        raise KeyError(
            f"The environment setting {key!r} is not in the given mapping. Known settings: {sorted(env)}."
        )
    if default is not _MISSING:
        value = resolve(env)[0].lookup(key)
        return default if value is _MISSING else value
    return read(key, env, desc)


@contextlib.contextmanager
def context(
    *, env: EnvironmentState | Mapping[str, Any] | None = None, **kwargs: Any
) -> Iterator[dict[str, Any]]:
    """Override settings inside a ``with`` block, for the current thread only; nests and restores on exit.

    ``precision=64`` enables JAX's 64-bit mode for this thread inside the block (``jax.enable_x64``; not
    for a separate ``env``); other precisions disable it there. Registered behaviours
    (:func:`register_default_behavior`) are called with the new value on entry and with the previous
    value on exit. Yields the merged settings.

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
    target, extra = resolve(env)
    updates = collect(extra, {}, kwargs)
    for key in ("platform", "host_device_count"):
        if key in updates:
            raise ValueError(
                f"{key!r} cannot be changed inside environ.context(): it only takes effect before JAX starts. "
                f"How to fix: call brainstate.environ.set({key}=...) once at program start."
            )
    previous = {key: target.lookup(key) for key in updates}
    with contextlib.ExitStack() as stack:
        if "precision" in updates and target.is_default:
            stack.enter_context(jax.enable_x64(updates["precision"] == 64))
        target.contexts.append(updates)
        stack.callback(target.contexts.pop)
        for key, value in updates.items():
            behavior = target.functions.get(key)
            if behavior is not None:
                behavior(value)
                stack.callback(behavior, None if previous[key] is _MISSING else previous[key])
        yield target.merged()


def all(*, env: EnvironmentState | None = None) -> dict[str, Any]:  # noqa: A001 - mirrors brainstate.environ.all
    """A copy of every setting as this thread sees it (global settings with context overrides applied).

    Examples
    --------
    >>> from brainstate_state import environ
    >>> environ.all()['precision']
    32
    """
    return resolve(env)[0].merged()


def pop(key: str, default: Any = _MISSING, *, env: EnvironmentState | None = None) -> Any:
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
    target = resolve(env)[0]
    with target.lock:
        if key not in target.settings:
            if default is _MISSING:
                raise KeyError(
                    f"The environment setting {key!r} is not set. Known settings: {sorted(target.settings)}."
                )
            return default
        value = target.settings.pop(key)
        if key in DEFAULTS:
            target.settings[key] = DEFAULTS[key]
            target.apply(key, DEFAULTS[key])
        return value


def reset(*, env: EnvironmentState | None = None) -> None:
    """Forget every process-wide setting and restore the defaults (``precision=32``, no ``dt``).

    Examples
    --------
    >>> from brainstate_state import environ
    >>> environ.set(dt=0.5)
    >>> environ.reset()
    >>> environ.get('dt', None) is None
    True
    """
    target = resolve(env)[0]
    with target.lock:
        target.settings.clear()
        for key, value in DEFAULTS.items():
            target.settings[key] = value
            target.apply(key, value)


def register_default_behavior(
    key: str,
    behavior: Callable[[Any], None],
    replace_if_exist: bool = False,
    *,
    env: EnvironmentState | None = None,
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
    target = resolve(env)[0]
    with target.lock:
        if key in target.functions and not replace_if_exist:
            raise ValueError(
                f"A behaviour is already registered for the setting {key!r}. "
                "How to fix: pass replace_if_exist=True to replace it."
            )
        target.functions[key] = behavior


def unregister_default_behavior(key: str, *, env: EnvironmentState | None = None) -> bool:
    """Forget the behaviour registered for ``key``; returns whether there was one.

    Examples
    --------
    >>> from brainstate_state import environ
    >>> environ.register_default_behavior('tmp_flag', print, replace_if_exist=True)
    >>> environ.unregister_default_behavior('tmp_flag'), environ.unregister_default_behavior('tmp_flag')
    (True, False)
    """
    target = resolve(env)[0]
    with target.lock:
        return target.functions.pop(key, None) is not None


def list_registered_behaviors(*, env: EnvironmentState | None = None) -> list[str]:
    """The setting names that have a registered behaviour.

    Examples
    --------
    >>> from brainstate_state import environ
    >>> env = environ.EnvironmentState()
    >>> environ.register_default_behavior('level', print, env=env)
    >>> environ.list_registered_behaviors(env=env)
    ['level']
    """
    target = resolve(env)[0]
    with target.lock:
        return list(target.functions)


from ._shortcuts import (  # noqa: E402 - the shortcuts are built on the functions above
    dctype,
    dftype,
    ditype,
    dutype,
    get_dt,
    get_host_device_count,
    get_platform,
    get_precision,
    set_dt,
    set_host_device_count,
    set_platform,
    set_precision,
    tolerance,
)
