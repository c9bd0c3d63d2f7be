"""``TracedProgram``: one trace of a stateful function, as a pure program plus its States.

Layout of the program (a ``ClosedJaxpr``):

* inputs: the flattened dynamic arguments (positional, then keyword), followed by the flattened values
  of every State the function touched, in first-access order;
* outputs: the flattened return value, followed by the flattened values of the written States (or of all
  touched States when traced with ``return_only_write=False``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import jax

from brainstate_state import State

from ._compat import ClosedJaxpr

__all__ = ["TracedProgram"]


@dataclass(frozen=True, eq=False)
class TracedProgram:
    """A stateful function traced for one argument signature.

    Attributes
    ----------
    jaxpr
        The pure program, ``(*arg_leaves, *state_leaves) -> (*out_leaves, *returned_state_leaves)``.
    states
        Every State the function read or wrote, in first-access order.
    written
        For each of ``states``, whether the function wrote it.
    returns_all_states
        Whether the program returns the values of all ``states`` (else only of the written ones).
    state_treedefs
        The pytree structure of each State's value.
    state_signatures
        Abstract values of each State's leaves at trace time (a change means the program is stale).
    out_treedef
        The structure of the function's return value.
    out_shapes
        The return value as a pytree of ``jax.ShapeDtypeStruct``.
    epoch
        ``GRAPH_EPOCH`` when the trace finished.
    """

    jaxpr: ClosedJaxpr
    states: tuple[State[Any], ...]
    written: tuple[bool, ...]
    returns_all_states: bool
    state_treedefs: tuple[Any, ...]
    state_signatures: tuple[tuple[Any, ...], ...]
    out_treedef: Any
    out_shapes: Any
    epoch: int

    @property
    def write_states(self) -> tuple[State[Any], ...]:
        """The written States, in first-access order."""
        return tuple(s for s, w in zip(self.states, self.written, strict=True) if w)

    @property
    def read_states(self) -> tuple[State[Any], ...]:
        """The States that were read but never written."""
        return tuple(s for s, w in zip(self.states, self.written, strict=True) if not w)

    @property
    def returned_states(self) -> tuple[State[Any], ...]:
        """The States whose values the program returns, in output order."""
        return self.states if self.returns_all_states else self.write_states

    def flatten_state_values(self, values: Sequence[Any]) -> list[Any]:
        """Flatten one value per State (in ``states`` order) into the program's state inputs."""
        leaves: list[Any] = []
        for value in values:
            leaves.extend(jax.tree.leaves(value))
        return leaves

    def evaluate(self, arg_leaves: Sequence[Any], state_values: Sequence[Any]) -> tuple[Any, list[Any]]:
        """Run the program; return ``(out, returned_state_values)``."""
        jaxpr = self.jaxpr
        flat = jax.core.eval_jaxpr(
            jaxpr.jaxpr, jaxpr.consts, *arg_leaves, *self.flatten_state_values(state_values)
        )
        return self.unflatten_outputs(flat)

    def unflatten_outputs(self, flat: Sequence[Any]) -> tuple[Any, list[Any]]:
        """Split the program's flat outputs into ``(out, returned_state_values)``."""
        n_out = self.out_treedef.num_leaves
        out = jax.tree.unflatten(self.out_treedef, flat[:n_out])
        values = []
        position = n_out
        returned = self.returned_states
        treedefs = dict(zip(map(id, self.states), self.state_treedefs, strict=True))
        for state in returned:
            treedef = treedefs[id(state)]
            values.append(jax.tree.unflatten(treedef, flat[position : position + treedef.num_leaves]))
            position += treedef.num_leaves
        return out, values
