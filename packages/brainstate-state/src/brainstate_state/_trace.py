"""Recording which States a function reads and writes: ``StateTraceStack`` (new States: ``_catcher``).

How it works
------------
A transform opens a :class:`StateTraceStack` and runs the user function inside it. The first time the
function touches a State (read or write), the stack *registers* it: it remembers the value the State had
outside the stack and, if the stack was given a ``new_arg`` callback, replaces that value *inside the
stack* with whatever the callback returns (typically a fresh tracer that becomes an input of the traced
program). Later reads see the stack's value; writes change the stack's value and mark the State written.

The State object itself is never modified while a stack is active. Values live in the stacks, which live
in a thread-local context. Consequences:

* a trace that raises leaves every State exactly as it was (nothing to roll back);
* no tracer ever leaks into a State;
* two threads can trace over the same States concurrently.

The level rule: a State created while ``k`` stacks are active has ``stack_level == k`` and is only seen by
stacks opened after it; the ``k`` outer stacks never record it.

A stack without ``new_arg`` is *transparent*: it records accesses, but writes go through to the enclosing
level (the next isolating stack, or the State itself at the top level).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import jax
import numpy as np

from ._context import TRACE_CONTEXT
from ._errors import BrainStateError

if TYPE_CHECKING:
    from ._state import State

__all__ = [
    "StateTraceStack",
    "peek_value",
    "record_read",
    "record_write",
]

NewArg = Callable[["State[Any]", Any], Any]


def _as_new_arg(new_arg: Callable[..., Any] | None) -> NewArg | None:
    """``new_arg(state, outside_value)``; a callback taking only the state (brainstate 0.5.4) is adapted."""
    if new_arg is None:
        return None
    try:
        inspect.signature(new_arg).bind(None, None)
    except TypeError:
        return lambda state, outside: new_arg(state)
    except ValueError:  # no signature (some builtins): assume the two-argument form
        pass
    return new_arg


def _shape_of(x: Any) -> Any:
    return jax.ShapeDtypeStruct(np.shape(x), x.dtype) if hasattr(x, "dtype") else x


class _Entry:
    __slots__ = ("original", "value", "written")

    def __init__(self, original: Any) -> None:
        self.original = original
        self.value = original
        self.written = False


class StateTraceStack:
    """Records the States a piece of code reads and writes, in first-access order.

    Parameters
    ----------
    new_arg
        Called as ``new_arg(state, outside_value)`` on a State's first access; its result is the value the
        State has inside this stack (e.g. a tracer). ``None`` makes the stack transparent: it only records.
    name
        A name for debugging.

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> import brainstate_state as bss
    >>> a, b = bss.State(jnp.ones(2)), bss.State(jnp.zeros(2))
    >>> with bss.StateTraceStack() as trace:
    ...     b.value = a.value * 2
    >>> trace.get_read_states() == [a], trace.get_write_states() == [b]
    (True, True)
    """

    def __init__(
        self,
        new_arg: Callable[..., Any] | None = None,
        name: str | None = None,
        check_read: Callable[[State[Any]], Any] | None = None,
    ) -> None:
        self.name = name
        self._new_arg = _as_new_arg(new_arg)
        self._check_read = check_read
        self._entries: dict[int, _Entry] = {}
        self.states: list[State[Any]] = []
        self._depth: int | None = None
        self._released = False

    # ------------------------------------------------------------------ context management
    def __enter__(self) -> StateTraceStack:
        if self._depth is not None:
            raise BrainStateError(
                f"StateTraceStack {self.name or ''} is already active; it cannot be re-entered."
            )
        self._depth = len(TRACE_CONTEXT.stack)
        TRACE_CONTEXT.stack.append(self)
        return self

    def __exit__(self, *exc: object) -> None:
        stack = TRACE_CONTEXT.stack
        if not stack or stack[-1] is not self:
            raise BrainStateError(
                "StateTraceStack objects must be exited in the reverse order they were entered (LIFO); "
                f"the innermost active stack is {stack[-1].name if stack else None!r}, not {self.name!r}."
            )
        stack.pop()
        self._depth = None

    @property
    def is_active(self) -> bool:
        """Whether the stack is currently entered."""
        return self._depth is not None

    def set_new_arg(self, new_arg: Callable[..., Any] | None) -> None:
        """Set the callback that gives a State its value inside this stack on first access."""
        self._new_arg = _as_new_arg(new_arg)

    def new_arg(self, state: State[Any]) -> None:
        """Give the recorded ``state`` its value inside this stack again, from the ``new_arg`` callback."""
        entry = self._entries.get(id(state))
        if entry is None:
            raise ValueError(f"new_arg: the State {state!r} is not recorded in this StateTraceStack.")
        if self._new_arg is not None:
            entry.value = self._new_arg(state, entry.original)

    # ------------------------------------------------------------------ recording
    def _register(self, state: State[Any], outside_value: Any) -> _Entry:
        entry = _Entry(outside_value)
        self._entries[id(state)] = entry
        self.states.append(state)
        if self._new_arg is not None:
            entry.value = self._new_arg(state, outside_value)
        return entry

    def read_its_value(self, state: State[Any]) -> None:
        """Register ``state`` as read (if not seen before)."""
        if id(state) not in self._entries:
            self._register(state, peek_value(state))
            if self._check_read is not None:
                self._check_read(state)

    def write_its_value(self, state: State[Any]) -> None:
        """Register ``state`` and mark it written."""
        entry = self._entries.get(id(state))
        if entry is None:
            entry = self._register(state, peek_value(state))
        entry.written = True

    def __contains__(self, state: object) -> bool:
        return id(state) in self._entries

    def __len__(self) -> int:
        return len(self.states)

    # ------------------------------------------------------------------ queries
    @property
    def been_written(self) -> list[bool]:
        """For each state (in ``states`` order), whether it was written."""
        entries = self._entries
        return [entries[id(s)].written for s in self.states]

    @property
    def been_writen(self) -> list[bool]:
        """:attr:`been_written` under the spelling of brainstate 0.5.4."""
        return self.been_written

    @property
    def original_state_values(self) -> list[Any]:
        """The values the states had outside this stack when first accessed."""
        entries = self._entries
        return [entries[id(s)].original for s in self.states]

    def get_state_values(self, separate: bool = False, replace: bool = False) -> Any:
        """The current values of all states inside this stack, in ``states`` order.

        With ``separate=True``: ``(written_values, read_values)``; with ``replace=True`` as well, both
        lists keep one slot per state, ``None`` where the state belongs to the other list.
        """
        entries = self._entries
        if not separate:
            return [entries[id(s)].value for s in self.states]
        return self.get_write_state_values(replace), self.get_read_state_values(replace)

    def value_of(self, state: State[Any]) -> Any:
        """The current value of ``state`` inside this stack."""
        return self._entries[id(state)].value

    def is_written(self, state: State[Any]) -> bool:
        """Whether ``state`` was written inside this stack."""
        entry = self._entries.get(id(state))
        return entry is not None and entry.written

    def _select(self, written: bool, keep_slots: bool, values: bool) -> list[Any]:
        out = []
        for state in self.states:
            entry = self._entries[id(state)]
            if entry.written is written:
                out.append(entry.value if values else state)
            elif keep_slots:
                out.append(None)
        return out

    def get_read_states(self, replace_writen: bool = False) -> list[Any]:
        """States read but never written, in first-access order (``replace_writen=True``: one slot per
        state, ``None`` for the written ones)."""
        return self._select(False, replace_writen, values=False)

    def get_write_states(self, replace_read: bool = False) -> list[Any]:
        """States written, in first-access order (``replace_read=True``: ``None`` for the read ones)."""
        return self._select(True, replace_read, values=False)

    def get_read_state_values(self, replace_writen: bool = False) -> list[Any]:
        """Values of :meth:`get_read_states`."""
        return self._select(False, replace_writen, values=True)

    def get_write_state_values(self, replace_read: bool = False) -> list[Any]:
        """Current values of :meth:`get_write_states`."""
        return self._select(True, replace_read, values=True)

    def assign_state_vals(self, state_vals: Sequence[Any]) -> None:
        """Give the states new values, one per state in ``states`` order: written states are written,
        read states get their value back without recording a write (``restore_value``)."""
        if len(state_vals) != len(self.states):
            raise ValueError(
                f"assign_state_vals: this StateTraceStack recorded {len(self.states)} states, "
                f"but {len(state_vals)} values were given."
            )
        for state, value in zip(self.states, state_vals, strict=True):
            if self._entries[id(state)].written:
                state.value = value
            else:
                state.restore_value(value)

    def assign_state_vals_v2(self, read_state_vals: Sequence[Any], write_state_vals: Sequence[Any]) -> None:
        """Like :meth:`assign_state_vals`, from the one-slot-per-state lists of
        ``get_state_values(separate=True, replace=True)`` (``None`` slots are skipped)."""
        for state, read, write in zip(self.states, read_state_vals, write_state_vals, strict=True):
            if write is not None:
                state.value = write
            elif read is not None:
                state.restore_value(read)

    def release_original_values(self) -> None:
        """Forget the original values (keeping only their shapes and dtypes), e.g. once a program is
        cached; :meth:`recovery_original_values` is then no longer possible."""
        for entry in self._entries.values():
            entry.original = jax.tree.map(_shape_of, entry.original)
        self._released = True

    def recovery_original_values(self) -> None:
        """Write the original values back into the states (call it after the stack was exited).

        Only needed for transparent stacks, whose writes went through to the enclosing level.
        """
        if self._released:
            raise RuntimeError(
                "recovery_original_values() was called after release_original_values(): the original "
                "values are no longer kept."
            )
        for state in self.states:
            entry = self._entries[id(state)]
            if entry.written:
                state.restore_value(entry.original)

    # ------------------------------------------------------------------ combination
    def merge(self, *others: StateTraceStack) -> StateTraceStack:
        """A transparent stack holding the union of the states (first-access order, ``self`` first).

        A state is written in the result if it is written in any of the merged stacks.
        """
        merged = StateTraceStack(name=self.name)
        for trace in (self, *others):
            for state in trace.states:
                entry = trace._entries[id(state)]
                existing = merged._entries.get(id(state))
                if existing is None:
                    new = _Entry(entry.original)
                    new.value = entry.value
                    new.written = entry.written
                    merged._entries[id(state)] = new
                    merged.states.append(state)
                else:
                    existing.written = existing.written or entry.written
        return merged

    def __add__(self, other: StateTraceStack) -> StateTraceStack:
        return self.merge(other)

    def state_subset(self, state_type: type) -> list[State[Any]]:
        """The recorded states that are instances of ``state_type``."""
        return [s for s in self.states if isinstance(s, state_type)]

    def __repr__(self) -> str:
        written = sum(self.been_written)
        return f"StateTraceStack(name={self.name!r}, states={len(self.states)}, written={written})"


def record_read(state: State[Any], stack: Sequence[StateTraceStack]) -> Any:
    """Register a read of ``state`` in every active stack that can see it; return the innermost value."""
    entry = stack[-1]._entries.get(id(state))
    if entry is not None:
        return entry.value
    value = state._value
    for i in range(state._level, len(stack)):
        trace = stack[i]
        entry = trace._entries.get(id(state))
        if entry is None:
            entry = trace._register(state, value)
            if trace._check_read is not None:
                trace._check_read(state)
        value = entry.value
    return value


def record_write(state: State[Any], stack: Sequence[StateTraceStack], value: Any, written: bool) -> None:
    """Register a write of ``value`` into ``state`` in the active stacks that can see it.

    The value lands in the innermost isolating stack (and in the transparent stacks above it). If every
    visible stack is transparent, it lands in the State itself.
    """
    level = state._level
    current = state._value
    entries: list[_Entry] = []
    for i in range(level, len(stack)):
        trace = stack[i]
        entry = trace._entries.get(id(state))
        if entry is None:
            entry = trace._register(state, current)
        current = entry.value
        entries.append(entry)
    if TRACE_CONTEXT.tree_check:
        state._check_structure(current, value)
    for i in range(len(stack) - 1, level - 1, -1):
        entry = entries[i - level]
        entry.value = value
        if written:
            entry.written = True
        if stack[i]._new_arg is not None:
            return
    # Every stack that sees the state is transparent: the write goes into the State itself.
    saved, TRACE_CONTEXT.stack = TRACE_CONTEXT.stack, []
    try:
        state._set(value, written)
    finally:
        TRACE_CONTEXT.stack = saved


def peek_value(state: State[Any]) -> Any:
    """The value of ``state`` as the innermost active stack sees it, without recording anything."""
    stack = TRACE_CONTEXT.stack
    for i in range(len(stack) - 1, state._level - 1, -1):
        entry = stack[i]._entries.get(id(state))
        if entry is not None:
            return entry.value
    return state._value
