"""Which States are batched, on which axis: declared instances (``vmap``) or filters (``vmap2``).

A *rule set* answers two questions about a State the mapped function touches: its input axis and its
output axis. Each answer is an int (batched on that axis), ``None`` (the same for every lane) or
:data:`UNDECLARED` (the user said nothing; the engine decides, see :mod:`brainstate_mapping._plan`).
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping
from typing import Any

import numpy as np

from brainstate_state import BatchAxisError, State, describe_state
from brainstate_state.filters import to_predicate

__all__ = ["DeclaredStateAxes", "FilterStateAxes", "StateAxisRules", "UNDECLARED"]


class _Undeclared:
    __slots__ = ()

    def __repr__(self) -> str:
        return "UNDECLARED"


#: The answer for a State that no declaration covers.
UNDECLARED: Any = _Undeclared()


class StateAxisRules:
    """Base class: ``in_axis(state)`` / ``out_axis(state)``; ``declared_in()`` lists States known up front."""

    #: The argument names to mention in error messages ("declare it in <in_hint>/<out_hint>").
    in_hint = "state_in_axes"
    out_hint = "state_out_axes"

    def in_axis(self, state: State[Any]) -> Any:
        """The input axis of ``state``: an int, ``None`` or :data:`UNDECLARED`."""
        raise NotImplementedError  # pragma: no cover - abstract

    def out_axis(self, state: State[Any]) -> Any:
        """The output axis of a written ``state``: an int, ``None`` or :data:`UNDECLARED`."""
        raise NotImplementedError  # pragma: no cover - abstract

    def declared_in(self) -> list[tuple[State[Any], int]]:
        """States declared batched on input (their sizes are checked before tracing)."""
        return []


def _check_axis(axis: Any, what: str) -> int | None:
    if axis is None:
        return None
    if isinstance(axis, bool) or not isinstance(axis, (int, np.integer)):
        raise TypeError(
            f"{what}: a batch axis must be an int or None, got {axis!r} of type {type(axis).__name__}."
        )
    return int(axis)


def _collect_states(spec: Any, what: str) -> list[State[Any]]:
    if isinstance(spec, State):
        return [spec]
    if not isinstance(spec, Mapping) and callable(getattr(spec, "states", None)):  # a Module: all its States
        spec = spec.states()
    if isinstance(spec, Mapping):
        spec = list(spec.values())
    if isinstance(spec, Iterable) and not isinstance(spec, (str, bytes)):
        states: list[State[Any]] = []
        for item in spec:
            states.extend(_collect_states(item, what))
        return states
    raise TypeError(
        f"{what} must be a State, an iterable or dict of States, a Module, or {{axis: States}}; got "
        f"{type(spec).__name__}."
    )


def normalize_declared(spec: Any, what: str) -> dict[int, tuple[State[Any], int | None]]:
    """``{id(state): (state, axis)}`` from a State, iterable/dict of States (axis 0) or ``{axis: States}``."""
    result: dict[int, tuple[State[Any], int | None]] = {}
    if spec is None:
        return result
    if (
        isinstance(spec, Mapping)
        and spec
        and all(k is None or (isinstance(k, (int, np.integer)) and not isinstance(k, bool)) for k in spec)
    ):
        groups = [(_check_axis(axis, what), states) for axis, states in spec.items()]
    else:
        groups = [(0, spec)]
    for axis, states in groups:
        for state in _collect_states(states, what):
            previous = result.get(id(state))
            if previous is not None and previous[1] != axis:
                raise BatchAxisError(
                    f"{what} declares {describe_state(state)} on two different axes ({previous[1]} and {axis}). "
                    "How to fix: declare each State on one axis."
                )
            result[id(state)] = (state, axis)
    return result


class DeclaredStateAxes(StateAxisRules):
    """Rules of the instance-based ``vmap``: ``in_states`` are batched in and out; ``out_states`` out."""

    in_hint = "in_states"
    out_hint = "out_states"

    def __init__(self, in_states: Any = None, out_states: Any = None) -> None:
        self._in = normalize_declared(in_states, "in_states")
        out = normalize_declared(out_states, "out_states")
        for key, (state, axis) in self._in.items():
            if key in out and out[key][1] != axis:
                raise BatchAxisError(
                    f"{describe_state(state)} is declared in in_states on axis {axis} but in out_states on axis "
                    f"{out[key][1]}. A State batched on input is written back on the same axis. "
                    "How to fix: use the same axis in both, or declare it in in_states only."
                )
            out[key] = (state, axis)
        self._out = out

    def in_axis(self, state: State[Any]) -> Any:
        entry = self._in.get(id(state))
        return UNDECLARED if entry is None else entry[1]

    def out_axis(self, state: State[Any]) -> Any:
        entry = self._out.get(id(state))
        return UNDECLARED if entry is None else entry[1]

    def declared_in(self) -> list[tuple[State[Any], int]]:
        return [(state, axis) for state, axis in self._in.values() if axis is not None]


class _IsOneOf:
    """Filter predicate matching exactly the given State instances."""

    def __init__(self, states: Iterable[State[Any]]) -> None:
        self._ids = frozenset(id(s) for s in states)
        self._keep = tuple(states)

    def __call__(self, path: tuple[Hashable, ...], x: Any) -> bool:
        return id(x) in self._ids

    def __repr__(self) -> str:
        return f"IsOneOf({len(self._ids)} states)"


def _as_predicate(filt: Any) -> Any:
    if isinstance(filt, State):
        return _IsOneOf([filt])
    if isinstance(filt, (list, tuple)) and filt and all(isinstance(f, State) for f in filt):
        return _IsOneOf(filt)
    return to_predicate(filt)


def normalize_filter_axes(spec: Any, what: str) -> list[tuple[int | None, Any]]:
    """``[(axis, predicate), ...]`` from a filter (axis 0) or ``{axis: filter}``."""
    if spec is None:
        return []
    if isinstance(spec, Mapping):
        return [(_check_axis(axis, what), _as_predicate(filt)) for axis, filt in spec.items()]
    return [(0, _as_predicate(spec))]


class FilterStateAxes(StateAxisRules):
    """Rules of ``vmap2``/``pmap2``: ``{axis: Filter}``; a State batched on input is written on the same axis."""

    def __init__(self, state_in_axes: Any = None, state_out_axes: Any = None) -> None:
        self._in = normalize_filter_axes(state_in_axes, "state_in_axes")
        self._out = normalize_filter_axes(state_out_axes, "state_out_axes")

    @staticmethod
    def _match(rules: list[tuple[int | None, Any]], state: State[Any]) -> Any:
        for axis, predicate in rules:
            if predicate((), state):
                return axis
        return UNDECLARED

    def in_axis(self, state: State[Any]) -> Any:
        return self._match(self._in, state)

    def out_axis(self, state: State[Any]) -> Any:
        axis = self._match(self._out, state)
        if axis is UNDECLARED:
            return self._match(self._in, state)
        return axis
