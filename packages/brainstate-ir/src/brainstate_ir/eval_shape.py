"""``eval_shape``: output shapes of a stateful function (or of the module it builds) without computing."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import numpy as np

from brainstate_state import State, catch_new_states

from ._stateful import StatefulFunction

__all__ = ["eval_shape"]


def _is_array_leaf(x: Any) -> bool:
    return isinstance(x, (jax.Array, np.ndarray, np.generic, bool, int, float, complex))


def _shape_of(x: Any) -> jax.ShapeDtypeStruct:
    return jax.ShapeDtypeStruct(np.shape(x), jax.numpy.result_type(x))


def eval_shape(f: Callable[..., Any], *args: Any, return_state_shapes: bool = False, **kwargs: Any) -> Any:
    """Evaluate the shapes of ``f(*args, **kwargs)`` abstractly; no State's value changes.

    ``f`` may read and write existing States (their values are left as they were) and may build new
    objects such as modules: States created inside ``f`` are given ``jax.ShapeDtypeStruct`` values, so
    ``eval_shape(lambda: MyModule(...))`` returns the module with the shapes of its States.

    Parameters
    ----------
    f
        The function to evaluate.
    *args, **kwargs
        Its arguments (arrays or ``jax.ShapeDtypeStruct``).
    return_state_shapes
        Also return ``{state: shapes}`` for the pre-existing States ``f`` touches (shapes after ``f``).

    Returns
    -------
    The output with every array replaced by a ``jax.ShapeDtypeStruct``; with ``return_state_shapes``,
    ``(state_shapes, output)``.

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> import brainstate_state as bss
    >>> from brainstate_ir import eval_shape
    >>> s = bss.State(jnp.zeros(3))
    >>> def grow(x):
    ...     s.value = jnp.concatenate([s.value, x])
    ...     return s.value.sum()
    >>> shapes, out = eval_shape(grow, jnp.ones(2), return_state_shapes=True)
    >>> shapes[s].shape, out.shape, s.value.shape
    ((5,), (), (3,))
    """
    if not callable(f):
        raise TypeError(f"eval_shape: expected a callable as its first argument, got {type(f).__name__}.")
    recorded: dict[str, Any] = {}

    def flat_outputs(*a: Any, **k: Any) -> list[Any]:
        with catch_new_states() as catcher:
            out = f(*a, **k)
        leaves, treedef = jax.tree.flatten(out, is_leaf=lambda x: isinstance(x, State))
        array_positions = [i for i, leaf in enumerate(leaves) if _is_array_leaf(leaf)]
        recorded["treedef"] = treedef
        # Keep the non-array leaves (e.g. modules); the array leaves are tracers and become outputs.
        recorded["leaves"] = [None if i in array_positions else leaf for i, leaf in enumerate(leaves)]
        recorded["array_positions"] = array_positions
        recorded["new_states"] = [(s, jax.tree.map(_shape_of, s._value)) for s in catcher.states]
        return [leaves[i] for i in array_positions]

    stateful = StatefulFunction(flat_outputs, name=getattr(f, "__name__", None), return_only_write=False)
    program = stateful.get_program(*args, **kwargs)
    for state, shapes in recorded["new_states"]:
        state.__dict__["_value"] = shapes
        state.decrease_stack_level()
    out_avals = program.jaxpr.out_avals
    leaves = list(recorded["leaves"])
    for k, position in enumerate(recorded["array_positions"]):
        aval = out_avals[k]
        leaves[position] = jax.ShapeDtypeStruct(aval.shape, aval.dtype)
    out = jax.tree.unflatten(recorded["treedef"], leaves)
    if not return_state_shapes:
        return out
    state_avals = out_avals[len(recorded["array_positions"]) :]
    state_shapes: dict[State[Any], Any] = {}
    position = 0
    for state, treedef in zip(program.states, program.state_treedefs, strict=True):
        chunk = state_avals[position : position + treedef.num_leaves]
        state_shapes[state] = jax.tree.unflatten(
            treedef, [jax.ShapeDtypeStruct(a.shape, a.dtype) for a in chunk]
        )
        position += treedef.num_leaves
    return state_shapes, out
