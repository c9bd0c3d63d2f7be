"""Plans of ``jit``: which States a compiled program reads and writes, and the id of their layout.

A plan's *layout* is the structure, shapes and dtypes of its States' values, the written mask and the
program's captured constants (small ones by value, large ones by identity). Plans made for the same call
signature with the same layout share one layout id, so re-created States of the same shapes reuse the
compiled executables; the States themselves never enter the id.
"""

from __future__ import annotations

import itertools
import threading
from collections import OrderedDict
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import Any

import jax
import numpy as np

from brainstate_ir import TracedProgram, compat, normalize_argnums
from brainstate_state import GraphWatch, State

__all__ = [
    "ALWAYS_VALID",
    "LAYOUT_IDS",
    "MAX_LAYOUTS",
    "Identity",
    "Layouts",
    "Plan",
    "PlanMismatch",
    "const_token",
    "layout_of",
    "shift_argnums",
]

ALWAYS_VALID = GraphWatch()
LAYOUT_IDS = itertools.count(1)
MAX_LAYOUTS = 64


class Identity:
    """A hashable stand-in for a large constant: equal only to itself (and keeps it alive)."""

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value

    def __hash__(self) -> int:
        return id(self.value)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Identity) and other.value is self.value


def const_token(value: Any) -> Hashable:
    if isinstance(value, jax.core.Tracer):
        return Identity(value)
    try:
        array = np.asarray(value)
    except TypeError:  # typed PRNG keys have no NumPy value
        return Identity(value)
    if array.size <= 16 and array.dtype != object:
        return (array.dtype.str, array.shape, array.tobytes())
    return Identity(value)


def layout_of(program: TracedProgram) -> Hashable:
    return (program.state_treedefs, program.state_signatures, program.written)


@dataclass(frozen=True, eq=False)
class Plan:
    """The States one compiled program reads (in input order) and writes (in output order)."""

    layout_id: int
    layout: Hashable
    states: tuple[State[Any], ...]
    write_states: tuple[State[Any], ...]
    watch: GraphWatch
    #: Whether the program has side effects (host callbacks: checks, prints, progress bars). On GPU and
    #: TPU such a call waits for its callbacks, so that a failed check raises in the call that failed.
    host_effects: bool = False


class PlanMismatch(Exception):
    """Raised inside the inner trace when the function touches other States than the plan passed."""

    def __init__(self, program: TracedProgram, signature: Hashable) -> None:
        super().__init__("brainstate internal: state plan changed; retrying with a new plan")
        self.program = program
        self.signature = signature


class Layouts:
    """One jitted function's layout ids: plans for the same signature and layout share an id."""

    def __init__(self) -> None:
        self._ids: OrderedDict[Hashable, int] = OrderedDict()
        self._lock = threading.Lock()

    def plan(self, program: TracedProgram, signature: Hashable) -> Plan:
        """The plan for ``program``, traced for a call with ``signature``.

        Plans made for the same signature with the same layout (re-created States of the same shapes)
        share one id, hence JAX's compiled executables; plans whose States differ between signatures (a
        static argument selecting a State) get different ids.
        """
        layout = layout_of(program)
        key = (layout, tuple(const_token(c) for c in program.jaxpr.consts), signature)
        with self._lock:
            layout_id = self._ids.get(key)
            if layout_id is None:
                layout_id = self._ids[key] = next(LAYOUT_IDS)
                while len(self._ids) > MAX_LAYOUTS:
                    self._ids.popitem(last=False)
            else:
                self._ids.move_to_end(key)
        return Plan(
            layout_id,
            layout,
            program.states,
            program.write_states,
            program.watch or ALWAYS_VALID,
            compat.has_host_effects(program.jaxpr),
        )

    def clear(self) -> None:
        """Forget every id (the next plans get new ones)."""
        with self._lock:
            self._ids.clear()


def shift_argnums(argnums: int | Sequence[int] | None, by: int, what: str) -> tuple[int, ...]:
    """``argnums`` validated (non-negative ints, see ``brainstate_ir.normalize_argnums``) and moved right by
    ``by`` hidden leading arguments."""
    return tuple(n + by for n in normalize_argnums(argnums, transform="jit", what=what))
