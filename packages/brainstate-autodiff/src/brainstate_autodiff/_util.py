"""Helpers shared by the autodiff transforms: argument numbers, partial application, the States to
differentiate, and default random keys.

Every gradient transform here differentiates a pure function ``(grad_state_values, other_state_values,
*args)``. A user's ``argnums`` therefore shifts by two inside; the helpers keep that shift in one place.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from brainstate_ir import normalize_argnums as _normalize
from brainstate_state import State, describe_state, state_error_message
from brainstate_state.containers import FlattedDict

__all__ = [
    "GradStates",
    "check_argnums_in_range",
    "check_grad_states_read",
    "default_key",
    "normalize_argnums",
    "resolve_argnums",
    "with_args_replaced",
]

#: Hidden leading arguments of the pure function: (grad_state_values, other_state_values).
HIDDEN_ARGS = 2


def normalize_argnums(
    argnums: Any,
    what: str = "argnums",
    allow_negative: bool = False,
    *,
    transform: str = "grad",
    function: str | None = None,
) -> int | tuple[int, ...]:
    """Validate ``argnums`` with :func:`brainstate_ir.normalize_argnums` (no position named twice).

    Returns an int for an int and a tuple for a sequence (the distinction selects the return structure).
    Raises ``TypeError`` for non-ints, ``ValueError`` for negative numbers unless ``allow_negative``, and
    :class:`brainstate_ir.ArgnumsError` for a position named twice.

    Examples
    --------
    >>> from brainstate_autodiff._util import normalize_argnums
    >>> normalize_argnums(1), normalize_argnums([0, 2])
    (1, (0, 2))
    """
    nums = _normalize(
        argnums, transform=transform, what=what, function=function, allow_negative=allow_negative, unique=True
    )
    return nums[0] if _is_int(argnums) else nums


def _is_int(argnums: Any) -> bool:
    if isinstance(argnums, bool):
        return False
    try:
        operator.index(argnums)
    except TypeError:
        return False
    return True


def as_tuple(argnums: int | tuple[int, ...]) -> tuple[int, ...]:
    """``argnums`` as a tuple."""
    return (argnums,) if isinstance(argnums, int) else argnums


def check_argnums_in_range(
    argnums: int | tuple[int, ...], num_args: int, name: str, offset: int = 0, *, transform: str = "grad"
) -> None:
    """Raise :class:`brainstate_ir.ArgnumsError` (a ``ValueError`` and a ``TypeError``, as ``jax.jacrev``
    and ``jax.grad`` raise) if an argument number (user numbering) exceeds the positional arguments."""
    user = tuple(n - offset for n in as_tuple(argnums))
    _normalize(user, num_args, transform=transform, what="argnums", function=name)


def resolve_argnums(
    argnums: Any, num_args: int, name: str, *, transform: str = "vjp"
) -> int | tuple[int, ...]:
    """Validate ``argnums`` for a call with ``num_args`` positional arguments, as ``jax.vjp``-style APIs do.

    Negative numbers count from the end and are returned as non-negative positions; an int stays an int
    and a sequence becomes a tuple. Raises :class:`brainstate_ir.ArgnumsError` (a ``ValueError`` and a
    ``TypeError``) for a number outside ``[-num_args, num_args - 1]`` and for a position named twice (also
    through a negative alias), and ``TypeError`` for non-ints.

    Examples
    --------
    >>> from brainstate_autodiff._util import resolve_argnums
    >>> resolve_argnums(-1, 3, 'f'), resolve_argnums([0, -2], 3, 'f')
    (2, (0, 1))
    """
    nums = _normalize(
        argnums,
        num_args,
        transform=transform,
        what="argnums",
        function=name,
        allow_negative=True,
        unique=True,
    )
    return nums[0] if _is_int(argnums) else nums


def check_grad_states_read(grad_states: GradStates, read: Sequence[State[Any]], name: str) -> None:
    """Raise ``ValueError`` naming the first entry of ``grad_states`` that is not in ``read``."""
    touched = {id(s) for s in read}
    missing = [s for s in grad_states.unique if id(s) not in touched]
    if missing:
        others = "".join(f"\n  - {describe_state(s)}" for s in missing[1:])
        raise ValueError(
            state_error_message(
                f"{len(missing)} of the grad_states are never read by {name}, so their gradient is "
                "undefined." + (f" The others:{others}" if others else ""),
                missing[0],
                "remove the State from grad_states, or make the function read it.",
            )
        )


def with_args_replaced(
    fun: Callable[..., Any], args: Sequence[Any], kwargs: Mapping[str, Any], argnums: tuple[int, ...]
) -> Callable[..., Any]:
    """``fun`` as a function of only the arguments at ``argnums`` (the others fixed to ``args``)."""

    def partial(*diff: Any) -> Any:
        full = list(args)
        for position, value in zip(argnums, diff, strict=True):
            full[position] = value
        return fun(*full, **kwargs)

    return partial


def _plain(tree: Any) -> Any:
    """Copy ``FlattedDict`` containers to plain dicts (same path-tuple keys), recursively."""
    if isinstance(tree, FlattedDict):
        return {k: _plain(v) for k, v in tree.items()}
    if type(tree) is dict:
        return {k: _plain(v) for k, v in tree.items()}
    if type(tree) in (list, tuple):
        return type(tree)(_plain(v) for v in tree)
    return tree


def _is_state(x: Any) -> bool:
    return isinstance(x, State)


class GradStates:
    """The ``grad_states`` argument: a pytree of States, its unique States, and how to rebuild it.

    A single State, a list/tuple, a dict (``model.states(ParamState)`` becomes a plain dict with the same
    path-tuple keys) or any nesting of these is accepted. A State listed twice is differentiated once and
    its gradient appears at both places.

    Examples
    --------
    >>> from brainstate_autodiff._util import GradStates
    >>> import jax.numpy as jnp
    >>> import brainstate_state as bss
    >>> a, b = bss.State(jnp.ones(2)), bss.State(jnp.zeros(1))
    >>> gs = GradStates({'a': a, 'b': b})
    >>> len(gs.unique)
    2
    >>> gs.rebuild([jnp.ones(2) * 3, jnp.zeros(1)])['a']
    Array([3., 3.], dtype=float32)
    """

    def __init__(self, grad_states: Any) -> None:
        tree = _plain(grad_states)
        leaves, self.treedef = jax.tree.flatten(tree, is_leaf=_is_state)
        for leaf in leaves:
            if not isinstance(leaf, State):
                raise TypeError(
                    "grad_states must be a State or a pytree (list, tuple, dict) of States, but it contains a "
                    f"{type(leaf).__name__}. How to fix: pass the State objects themselves, e.g. "
                    "grad_states=model.states(ParamState) or [layer.w, layer.b], not their values."
                )
        unique: dict[int, State[Any]] = {}
        for leaf in leaves:
            unique.setdefault(id(leaf), leaf)
        self.unique: tuple[State[Any], ...] = tuple(unique.values())
        position = {id(s): i for i, s in enumerate(self.unique)}
        self._leaf_index = [position[id(leaf)] for leaf in leaves]
        self.ids = frozenset(position)

    def rebuild(self, per_unique: Sequence[Any]) -> Any:
        """Place one value per unique State into the structure of ``grad_states``."""
        return jax.tree.unflatten(self.treedef, [per_unique[i] for i in self._leaf_index])


def default_key() -> jax.Array:
    """A fresh key from the global random state (``brainstate_state.random.split_key()``)."""
    try:
        from brainstate_state.random import split_key
    except ImportError as err:  # pragma: no cover - depends on the state layer's version
        raise ValueError(
            "No key was given and brainstate_state.random.split_key is not available. How to fix: pass "
            "key=jax.random.key(seed)."
        ) from err
    key: jax.Array = split_key()
    return key


def as_key(key: Any) -> jax.Array:
    """A JAX key from a typed key, raw ``uint32[2]`` key data, or an int seed."""
    if isinstance(key, (int, np.integer)) and not isinstance(key, bool):
        return jax.random.key(int(key))
    if hasattr(key, "dtype") and (
        jnp.issubdtype(key.dtype, jax.dtypes.prng_key)
        or (np.dtype(key.dtype) == np.uint32 and tuple(key.shape) == (2,))
    ):
        return key  # type: ignore[no-any-return]
    raise TypeError(
        f"key must be a JAX key (jax.random.key(seed)), raw uint32[2] key data or an int seed, got "
        f"{type(key).__name__}. How to fix: pass key=jax.random.key(0), or leave key=None to draw one from "
        "brainstate's global random state."
    )
