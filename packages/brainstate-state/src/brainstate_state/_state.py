"""``State``: a named, mutable container for a pytree of arrays, and its semantic subclasses.

A State is a *leaf* for ``jax.tree`` and hashes by identity. Reading ``state.value`` inside a brainstate
transform records the read in every active trace (see :mod:`brainstate_state._trace`) and returns the value
as seen by the innermost trace, usually a tracer; the State object itself keeps its concrete value until the
transform commits new values. That is why a failed trace never leaves a tracer behind, and why two threads
can trace functions over the same States at the same time.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Generic, TypeVar

import jax
import numpy as np

from ._context import TRACE_CONTEXT
from ._errors import TraceContextError, state_error_message
from ._jax_compat import current_jax_trace
from ._source import SourceInfo, user_frame_info
from ._trace import record_read, record_write
from ._values import InvalidatedValue as InvalidatedValue
from ._values import _is_quantity, _same_structure, _short_repr
from ._values import _live_states as _live_states
from ._values import contains_tracer as contains_tracer
from ._values import invalidate_state_value as invalidate_state_value

__all__ = [
    "FakeState",
    "HiddenState",
    "LongTermState",
    "NonBatchState",
    "ParamState",
    "BatchState",
    "ShortTermState",
    "State",
    "invalidate_state_value",
    "maybe_state",
]

T = TypeVar("T")
_MISSING: Any = object()


class State(Generic[T]):
    """A mutable, named container for a pytree of arrays that brainstate transforms track.

    Parameters
    ----------
    value
        The initial value: an array or any pytree of arrays.
    name
        An optional name, used in error messages and reprs.
    **metadata
        Extra metadata. ``tag`` (a string or a set of strings) labels the state for filters.

    Notes
    -----
    Read and write the content through :attr:`value`. Inside ``brainstate.transform.jit`` (and every other
    brainstate transform) reads and writes are recorded, so the transform can pass the value into the
    compiled program and write the new value back afterwards.

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> import brainstate_state as bss
    >>> counter = bss.State(jnp.array(0), name='counter')
    >>> counter.value = counter.value + 1
    >>> int(counter.value)
    1
    """

    _value: Any

    def __init__(self, value: T, name: str | None = None, **metadata: Any) -> None:
        if isinstance(value, State):
            raise TypeError(
                state_error_message(
                    "A State cannot hold another State as its value.",
                    value,
                    "pass the inner state's value (`other.value`) or keep a reference to the State itself.",
                )
            )
        tag = metadata.pop("tag", None)
        self._value = value
        self._name = name
        self._tag: str | set[str] | None = set(tag) if isinstance(tag, (set, frozenset, list, tuple)) else tag
        self._metadata = metadata
        self._level = len(TRACE_CONTEXT.stack)
        self._jax_trace = current_jax_trace()
        self._source_info = user_frame_info(2)
        if _live_states[0] is not None:
            _live_states[0].add(self)
        catchers = TRACE_CONTEXT.catchers
        if catchers:
            for catcher in catchers:
                catcher.catch(self)

    # ------------------------------------------------------------------ value access
    @property
    def value(self) -> T:
        """The current value; inside a brainstate transform, the value seen by the innermost trace."""
        stack = TRACE_CONTEXT.stack
        if len(stack) > self._level:
            value = record_read(self, stack)
        else:
            value = self._value
        if type(value) is InvalidatedValue:
            raise TraceContextError(value.reason)
        return value  # type: ignore[no-any-return]

    @value.setter
    def value(self, new_value: T) -> None:
        self._set(new_value, written=True)

    def restore_value(self, new_value: T) -> None:
        """Set the value without recording a write (transforms use it for read-only states and rollback)."""
        self._set(new_value, written=False)

    def _set(self, new_value: Any, written: bool) -> None:
        if isinstance(new_value, State):
            raise TypeError(
                state_error_message(
                    "A State cannot be assigned another State as its value.",
                    self,
                    "assign `other.value` instead of `other`.",
                )
            )
        stack = TRACE_CONTEXT.stack
        if len(stack) > self._level:
            record_write(self, stack, new_value, written)
            return
        if TRACE_CONTEXT.tree_check:
            self._check_structure(self._value, new_value)
        if self._jax_trace is None and contains_tracer(new_value):
            current = current_jax_trace()
            raise TraceContextError(
                state_error_message(
                    "A JAX tracer was written into a State from inside a JAX transformation that brainstate "
                    "does not track"
                    + (f" (the active trace is {type(current).__name__})" if current is not None else "")
                    + ". The write would be lost when the transformation returns.",
                    self,
                    "use the brainstate transform instead of the raw JAX one (brainstate.transform.jit, "
                    "grad, vmap, for_loop, ...), or thread the value through the function's arguments and "
                    "return value.",
                )
            )
        self._value = new_value

    def _check_structure(self, old: Any, new: Any) -> None:
        same, old_def, new_def = _same_structure(old, new)
        if not same:
            raise ValueError(
                state_error_message(
                    f"The value written into the State has pytree structure {new_def}, but the State holds "
                    f"a value with structure {old_def}.",
                    self,
                    "write a value with the same structure, or create a new State for the new structure.",
                )
            )

    # ------------------------------------------------------------------ metadata
    @property
    def name(self) -> str | None:
        """The state's name, or ``None``."""
        return self._name

    @name.setter
    def name(self, name: str | None) -> None:
        self._name = name

    @property
    def tag(self) -> str | set[str] | None:
        """The state's tag (a string), tags (a set) or ``None``."""
        return self._tag

    def add_tag(self, tag: str | None) -> None:
        """Add ``tag`` to the state's tags (``None`` is ignored)."""
        if tag is None:
            return
        if self._tag is None:
            self._tag = tag
        elif isinstance(self._tag, str):
            if self._tag != tag:
                self._tag = {self._tag, tag}
        else:
            self._tag.add(tag)

    def has_tag(self, tag: str) -> bool:
        """Whether ``tag`` is among the state's tags."""
        if self._tag is None:
            return False
        if isinstance(self._tag, str):
            return self._tag == tag
        return tag in self._tag

    @property
    def metadata(self) -> dict[str, Any]:
        """The state's metadata, including ``name`` and ``tag``."""
        return {"name": self._name, "tag": self._tag, **self._metadata}

    @property
    def stack_level(self) -> int:
        """Number of brainstate traces that were active when the state was created."""
        return self._level

    @stack_level.setter
    def stack_level(self, level: int) -> None:
        self._level = level

    def increase_stack_level(self) -> None:
        """Hide the state from one more outer trace."""
        self._level += 1

    def decrease_stack_level(self) -> None:
        """Make the state visible to one more outer trace."""
        self._level = max(self._level - 1, 0)

    @property
    def source_info(self) -> SourceInfo | None:
        """Where the state was created (file, line, function), or ``None`` if unknown."""
        return self._source_info

    def raise_error_with_source_info(self, error: BaseException) -> None:
        """Raise ``error`` with a note saying where this state was created."""
        if self._source_info is not None:
            error.add_note(
                f"The State {self._name or type(self).__name__} was created at {self._source_info}."
            )
        raise error

    # ------------------------------------------------------------------ copies and conversions
    def copy(self) -> State[T]:
        """A new State of the same type with the same value and metadata."""
        new = object.__new__(type(self))
        new.__dict__.update(self.__dict__)
        new._tag = set(self._tag) if isinstance(self._tag, set) else self._tag
        new._metadata = dict(self._metadata)
        return new

    def replace(self, value: Any = _MISSING, **metadata: Any) -> State[Any]:
        """A copy with ``value`` and/or metadata replaced."""
        new = self.copy()
        if value is not _MISSING:
            # The constructor's State-in-State check applies to replace() too.
            if isinstance(value, State):
                raise TypeError(
                    state_error_message(
                        "A State cannot hold another State as its value (in replace()).",
                        self,
                        "pass the other state's value (`other.value`).",
                    )
                )
            new._value = value
        if "name" in metadata:
            new._name = metadata.pop("name")
        if "tag" in metadata:
            new._tag = metadata.pop("tag")
        new._metadata.update(metadata)
        return new

    def copy_from(self, other: State[Any]) -> None:
        """Take over the value and metadata of ``other``."""
        self._value = other._value
        self._name = other._name
        self._tag = other._tag
        self._metadata = dict(other._metadata)

    def to_state_ref(self) -> Any:
        """A :class:`TreefyState` snapshot of this state (a pytree)."""
        from ._treefy import TreefyState

        return TreefyState(type(self), self.value, name=self._name, tag=self._tag, **self._metadata)

    @classmethod
    def from_snapshot(cls, value: Any, name: str | None, metadata: dict[str, Any]) -> State[Any]:
        """A new State of this type holding ``value`` (what :meth:`TreefyState.to_state` restores)."""
        state = cls.__new__(cls)
        State.__init__(state, value, name, **metadata)
        return state

    def update_from_ref(self, ref: Any) -> None:
        """Write the value of a :class:`TreefyState` snapshot into this state."""
        self.value = ref.value

    def numel(self) -> int:
        """Total number of array elements in the value."""
        return int(sum(np.size(leaf) for leaf in jax.tree.leaves(self.value)))

    def value_call(self, fn: Callable[[Any], Any]) -> Any:
        """Apply ``fn`` to every leaf of the value and return the resulting pytree."""
        return jax.tree.map(fn, self.value)

    def __repr__(self) -> str:
        value = self._value
        shown = value if type(value) is InvalidatedValue else jax.tree.map(_short_repr, value)
        name = f", name={self._name!r}" if self._name is not None else ""
        return f"{type(self).__name__}(value={shown}{name})"

    # States are leaves and are compared and hashed by identity.
    __hash__ = object.__hash__


class ShortTermState(State[T]):
    """A state that is reset between episodes or trials: membrane potentials, synaptic currents."""


class LongTermState(State[T]):
    """A state that persists across episodes: parameters, running statistics."""


class ParamState(LongTermState[T]):
    """A trainable parameter (the usual target of ``grad``)."""


class BatchState(LongTermState[T]):
    """Batch statistics, e.g. the running mean of a normalisation layer."""


class HiddenState(ShortTermState[T]):
    """A hidden variable of a dynamical system; its value must be an array.

    Raises
    ------
    TypeError
        If the value is not a NumPy/JAX array (or an array-like quantity with ``shape`` and ``dtype``).
    """

    def __init__(self, value: T, name: str | None = None, **metadata: Any) -> None:
        if not (isinstance(value, (np.ndarray, jax.Array)) or _is_quantity(value)):
            raise TypeError(
                f"HiddenState holds a single array, but got a value of type {type(value).__name__}. "
                "How to fix: wrap it with jnp.asarray(...), or use ShortTermState for pytrees."
            )
        super().__init__(value, name, **metadata)

    @property
    def varshape(self) -> tuple[int, ...]:
        """The shape of the hidden variable."""
        return tuple(self._value.shape)

    @property
    def num_state(self) -> int:
        """The number of hidden variables this state holds (always 1)."""
        return 1


class NonBatchState(ShortTermState[T]):
    """A state that vectorised state creation (``vmap_new_states``) replicates instead of batching."""


class FakeState(Generic[T]):
    """A plain value holder with a ``value`` attribute, invisible to every transform.

    Examples
    --------
    >>> from brainstate_state import FakeState
    >>> fake = FakeState(1.0)
    >>> fake.value = 2.0
    >>> fake.value
    2.0
    """

    def __init__(self, value: T, name: str | None = None, **metadata: Any) -> None:
        self.value = value
        self.name = name
        self.metadata = metadata

    def __repr__(self) -> str:
        return f"FakeState(value={self.value!r})"


def maybe_state(value: Any) -> Any:
    """``value.value`` if ``value`` is a State, else ``value``."""
    return value.value if isinstance(value, State) else value


for _cls in (
    State,
    ShortTermState,
    LongTermState,
    ParamState,
    BatchState,
    HiddenState,
    NonBatchState,
    FakeState,
):
    _cls.__module__ = "brainstate_state"
