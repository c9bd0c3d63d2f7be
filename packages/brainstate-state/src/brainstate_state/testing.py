"""Test helpers shared by every brainstate package: leak checks for States, compile counts, type checks.

``track_states()`` makes every State created afterwards register itself (weakly), so a test suite can
assert after each test that no State was left holding a JAX tracer (a value of a finished trace). Each
package's ``tests/conftest.py`` uses :func:`states_holding_tracers` in an autouse fixture and runs its
tests under ``jax.checking_leaks()``.
"""

from __future__ import annotations

import contextlib
import gc
import weakref
from collections.abc import Iterator
from typing import Any

import jax

from ._state import InvalidatedValue, State, _live_states, contains_tracer
from ._type_check import TypeCheckReport, type_check_snippet

__all__ = [
    "TypeCheckReport",
    "count_compiles",
    "leak_checks",
    "states_holding_tracers",
    "track_states",
    "type_check_snippet",
]

_COMPILE_EVENT = "/jax/core/compile/backend_compile_duration"


def track_states(enabled: bool = True) -> None:
    """Start (or stop) registering every newly created State for :func:`states_holding_tracers`."""
    _live_states[0] = weakref.WeakSet() if enabled else None


def states_holding_tracers() -> list[State[Any]]:
    """The tracked States whose stored value contains a JAX tracer."""
    registry = _live_states[0]
    if registry is None:
        raise RuntimeError("call brainstate_state.testing.track_states() first")
    gc.collect()  # States that are only kept alive by unreachable cycles are not leaks
    leaking = []
    for state in list(registry):
        value = state.__dict__.get("_value", None)
        if type(value) is InvalidatedValue:
            continue
        try:
            if contains_tracer(value):
                leaking.append(state)
        except Exception:  # noqa: BLE001 - exotic values (e.g. ShapeDtypeStruct placeholders) are not tracers
            continue
    return leaking


@contextlib.contextmanager
def leak_checks(jax_leaks: bool = True) -> Iterator[None]:
    """Fail if the block leaves a State holding a tracer; with ``jax_leaks``, also run ``jax.checking_leaks``.

    Use it in an autouse fixture of a test suite::

        @pytest.fixture(autouse=True)
        def _no_leaks():
            with leak_checks():
                yield
    """
    if _live_states[0] is None:
        track_states()
    if jax_leaks:
        with jax.checking_leaks():
            yield
    else:
        yield
    leaking = states_holding_tracers()
    if leaking:
        raise AssertionError(
            "These States hold JAX tracers after the test (a value of a finished trace leaked into them): "
            + ", ".join(repr(s) for s in leaking)
        )


@contextlib.contextmanager
def count_compiles() -> Iterator[list[str]]:
    """Within the block, the returned list gets one entry per XLA compilation (JAX's monitoring event).

    Examples
    --------
    >>> import jax, jax.numpy as jnp
    >>> from brainstate_state.testing import count_compiles
    >>> with count_compiles() as compiles:
    ...     _ = jax.jit(lambda x: x * 3.0 + 1.0)(jnp.arange(7.0))
    >>> len(compiles) >= 1
    True
    """
    seen: list[str] = []

    def listener(event: str, duration_secs: float, **kwargs: str | int) -> None:
        if event == _COMPILE_EVENT:
            seen.append(event)

    jax.monitoring.register_event_duration_secs_listener(listener)
    try:
        yield seen
    finally:
        jax.monitoring.unregister_event_duration_listener(listener)
