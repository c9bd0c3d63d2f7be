"""``EnvironmentState``: one environment (settings, per-thread overrides, behaviours), and the checks and
process-wide side effects of the built-in settings.

The module-level functions of :mod:`brainstate_state.environ` act on :data:`DEFAULT_ENV` unless they are
given ``env=`` (another :class:`EnvironmentState`). Only the default environment changes JAX itself
(64-bit mode, platform, ``XLA_FLAGS``): a separate environment is a plain store of settings.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Callable, Mapping
from typing import Any

import jax
import numpy as np

__all__ = ["DEFAULT_ENV", "EnvironmentState"]

MISSING: Any = object()
PRECISIONS: tuple[int | str, ...] = (8, 16, 32, 64, "bf16")
PLATFORMS = ("cpu", "gpu", "tpu")
DEFAULTS: dict[str, Any] = {"precision": 32}


class _Local(threading.local):
    def __init__(self) -> None:
        self.overrides: list[dict[str, Any]] = []


class EnvironmentState:
    """An environment: process-wide settings, this thread's stack of ``context`` overrides, and the
    behaviours registered for setting changes.

    Pass one as ``env=`` to any function of :mod:`brainstate_state.environ` to read or change it instead
    of the default environment. Changing ``precision``, ``platform`` or ``host_device_count`` of such an
    environment only stores the value (it does not reconfigure JAX).

    Parameters
    ----------
    settings
        Initial settings (``precision`` defaults to 32).

    Examples
    --------
    >>> from brainstate_state import environ
    >>> env = environ.EnvironmentState()
    >>> environ.set(precision=64, env=env)
    >>> environ.get_precision(env=env), environ.get_precision()
    (64, 32)
    """

    def __init__(self, settings: Mapping[str, Any] | None = None) -> None:
        self.settings: dict[str, Any] = dict(DEFAULTS)
        self.functions: dict[str, Callable[[Any], None]] = {}
        self.lock = threading.RLock()
        self._local = _Local()
        if settings is not None:
            self.settings.update(collect(settings, {}, {}))

    @property
    def contexts(self) -> list[dict[str, Any]]:
        """This thread's stack of ``context`` overrides, innermost last."""
        return self._local.overrides

    @property
    def is_default(self) -> bool:
        """Whether this is the default environment (the only one whose settings reconfigure JAX)."""
        return self is DEFAULT_ENV

    def lookup(self, key: str) -> Any:
        """The value of ``key`` as this thread sees it, or ``MISSING``."""
        for overrides in reversed(self._local.overrides):
            if key in overrides:
                return overrides[key]
        with self.lock:
            return self.settings.get(key, MISSING)

    def merged(self) -> dict[str, Any]:
        """Every setting as this thread sees it."""
        with self.lock:
            out = dict(self.settings)
        for overrides in self._local.overrides:
            out.update(overrides)
        return out

    def apply(self, key: str, value: Any) -> None:
        """The side effect of setting ``key`` process-wide: JAX's configuration (default environment only),
        then the registered behaviour."""
        if self.is_default:
            apply_to_jax(key, value)
        behavior = self.functions.get(key)
        if behavior is not None:
            behavior(value)

    def __repr__(self) -> str:
        return f"EnvironmentState(settings={self.settings!r}, functions={sorted(self.functions)!r})"


def apply_to_jax(key: str, value: Any) -> None:
    if key == "precision":
        jax.config.update("jax_enable_x64", value == 64)
    elif key == "platform":
        jax.config.update("jax_platforms", value)
    elif key == "host_device_count":
        flags = re.sub(r"--xla_force_host_platform_device_count=\S+", "", os.environ.get("XLA_FLAGS", ""))
        os.environ["XLA_FLAGS"] = f"{flags.strip()} --xla_force_host_platform_device_count={value}".strip()


# ---------------------------------------------------------------------------------------------- validation
def check_precision(precision: Any) -> int | str:
    if isinstance(precision, bool) or precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {list(PRECISIONS)}, got {precision!r}.")
    return precision  # type: ignore[no-any-return]


def check_dt(dt: Any) -> Any:
    if isinstance(dt, (int, float, np.number)) and not dt > 0:
        raise ValueError(f"dt must be a positive time step, got {dt!r}.")
    return dt


def check_platform(platform: Any) -> str:
    if platform not in PLATFORMS:
        raise ValueError(f"platform must be one of {list(PLATFORMS)}, got {platform!r}.")
    return platform  # type: ignore[no-any-return]


def check_device_count(count: Any) -> int:
    if isinstance(count, bool) or not isinstance(count, (int, np.integer)) or count < 1:
        raise ValueError(f"host_device_count must be a positive integer, got {count!r}.")
    return int(count)


VALIDATORS: dict[str, Callable[[Any], Any]] = {
    "precision": check_precision,
    "dt": check_dt,
    "platform": check_platform,
    "host_device_count": check_device_count,
}


def collect(settings: Mapping[str, Any] | None, named: dict[str, Any], kw: dict[str, Any]) -> dict[str, Any]:
    """The validated updates from a settings mapping, the named built-ins (``None``: unchanged) and ``kw``."""
    updates: dict[str, Any] = {}
    if settings is not None:
        if not isinstance(settings, Mapping):
            raise TypeError(
                "env must be an EnvironmentState or a mapping of setting names to values, got "
                f"{type(settings).__name__}."
            )
        updates.update(settings)
    updates.update({k: v for k, v in named.items() if v is not None})
    updates.update(kw)
    for key, value in updates.items():
        validator = VALIDATORS.get(key)
        if validator is not None:
            updates[key] = validator(value)
    return updates


def resolve(env: Any) -> tuple[EnvironmentState, Mapping[str, Any] | None]:
    """``env=`` as (the environment to act on, extra settings given as a mapping)."""
    if env is None:
        return DEFAULT_ENV, None
    if isinstance(env, EnvironmentState):
        return env, None
    if isinstance(env, Mapping):
        return DEFAULT_ENV, env
    raise TypeError(
        f"env must be an EnvironmentState or a mapping of setting names to values, got {type(env).__name__}."
    )


def store(target: EnvironmentState, updates: dict[str, Any]) -> None:
    """Write validated ``updates`` into ``target``'s process-wide settings, with their side effects."""
    with target.lock:
        for key, value in updates.items():
            target.settings[key] = value
            target.apply(key, value)


def read(key: str, env: EnvironmentState | None, desc: str | None = None) -> Any:
    """The value of ``key`` in ``env`` (default environment if ``None``); ``KeyError`` if it is not set."""
    target = resolve(env)[0]
    value = target.lookup(key)
    if value is not MISSING:
        return value
    message = f"The environment setting {key!r} is not set. Known settings: {sorted(target.merged())}."
    if desc:
        message += f" {key!r} is {desc}."
    message += f" How to fix: set it with brainstate.environ.set({key}=...) or pass a default."
    raise KeyError(message)


DEFAULT_ENV = EnvironmentState()
"""The environment the module-level functions act on by default."""
