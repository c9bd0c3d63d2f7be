"""``TreefyState``: an immutable-style pytree snapshot of a State, used by graph split/merge."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import jax

if TYPE_CHECKING:  # the State module builds snapshots; this one only restores through the type it holds
    from ._state import State

__all__ = ["TreefyState"]

_MISSING: Any = object()


@jax.tree_util.register_pytree_node_class
class TreefyState:
    """A pytree holding a State's type, value and metadata; ``value`` is its only child.

    ``graph.treefy_split`` produces these, so plain JAX transforms (``jax.grad``, ``jax.jit``) can work on
    a module's states; ``graph.treefy_merge`` turns them back into live States.

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> import brainstate_state as bss
    >>> ref = bss.ParamState(jnp.ones(2), name='w').to_state_ref()
    >>> ref.type.__name__, ref.name
    ('ParamState', 'w')
    >>> ref.to_state().value
    Array([1., 1.], dtype=float32)
    """

    __slots__ = ("type", "value", "_metadata")

    def __init__(self, type: type[State[Any]], value: Any, **metadata: Any) -> None:  # noqa: A002
        self.type = type
        self.value = value
        self._metadata = metadata

    @property
    def name(self) -> str | None:
        """The name of the original state."""
        name: str | None = self._metadata.get("name")
        return name

    @property
    def tag(self) -> Any:
        """The tag(s) of the original state."""
        return self._metadata.get("tag")

    def get_metadata(self) -> dict[str, Any]:
        """A copy of the metadata (``name``, ``tag``, ...)."""
        return dict(self._metadata)

    def replace(self, value: Any = _MISSING, **metadata: Any) -> TreefyState:
        """A new snapshot with ``value`` and/or metadata replaced."""
        new_value = self.value if value is _MISSING else value
        return TreefyState(self.type, new_value, **{**self._metadata, **metadata})

    def copy(self) -> TreefyState:
        """A shallow copy."""
        return TreefyState(self.type, self.value, **self._metadata)

    def to_state(self) -> State[Any]:
        """A new live State of the original type holding this value."""
        metadata = dict(self._metadata)
        name = metadata.pop("name", None)
        return self.type.from_snapshot(self.value, name, metadata)

    def tree_flatten(self) -> tuple[tuple[Any], tuple[Any, ...]]:
        return (self.value,), (self.type, tuple(sorted(self._metadata.items(), key=lambda kv: kv[0])))

    @classmethod
    def tree_unflatten(cls, aux: tuple[Any, ...], children: tuple[Any]) -> TreefyState:
        state_type, metadata = aux
        obj = object.__new__(cls)
        obj.type = state_type
        obj.value = children[0]
        obj._metadata = dict(metadata)
        return obj

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, TreefyState)
            and other.type is self.type
            and other._metadata == self._metadata
            and other.value is self.value
        )

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"TreefyState(\n  type={self.type!r},\n  value={self.value!r},\n  tag={self.tag!r}\n)"


TreefyState.__module__ = "brainstate_state"
