"""``TracedProgram``: one trace of a stateful function, as a pure program plus its States.

Layout of the program (a ``ClosedJaxpr``):

* inputs: the flattened dynamic arguments (positional, then keyword), followed by the flattened values
  of every State the function touched, in first-access order;
* outputs: the flattened return value, followed by the flattened values of the written States (or of all
  touched States when traced with ``return_only_write=False``).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from typing import Any

import jax

from brainstate_state import GraphWatch, State

from .compat import ClosedJaxpr

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
        ``GRAPH_EPOCH`` when the trace finished (informative; validity is ``watch``).
    watch
        Valid until a graph node whose attributes the trace read stores, replaces or deletes a State or
        node attribute (``None``: always valid).
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
    watch: GraphWatch | None = None

    @property
    def valid(self) -> bool:
        """Whether no graph node the trace reached has changed its States or sub-nodes since."""
        return self.watch is None or self.watch.valid

    @functools.cached_property
    def key(self) -> Hashable:
        """The program's structure: equal keys share executables (no State identity enters it).

        The jaxpr's structure (:func:`~brainstate_ir.jaxpr_key`), the structures of the output and of each
        State's value, and which States are written.
        """
        from ._call_cache import jaxpr_key

        return (
            jaxpr_key(self.jaxpr),
            self.out_treedef,
            self.state_treedefs,
            self.written,
            self.returns_all_states,
        )

    @functools.cached_property
    def key_id(self) -> int:
        """A small int equal for programs with equal :attr:`key` (a cheap static argument for ``jax.jit``)."""
        from ._call_cache import structure_id

        return structure_id(self.key)

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

    def evaluate(
        self, arg_leaves: Sequence[Any], state_values: Sequence[Any], consts: Sequence[Any] | None = None
    ) -> tuple[Any, list[Any]]:
        """Run the program; return ``(out, returned_state_values)``.

        ``consts`` replace the program's captured constants (same shapes), so a compiled function can
        take them as arguments and serve every program with the same ``key``.
        """
        jaxpr = self.jaxpr
        flat = jax.core.eval_jaxpr(
            jaxpr.jaxpr,
            jaxpr.consts if consts is None else consts,
            *arg_leaves,
            *self.flatten_state_values(state_values),
        )
        return self.unflatten_outputs(flat)

    def unflatten_outputs(self, flat: Sequence[Any]) -> tuple[Any, list[Any]]:
        """Split the program's flat outputs into ``(out, returned_state_values)``."""
        return _unflatten(self.out_treedef, self._returned_treedefs, flat)

    @functools.cached_property
    def _returned_treedefs(self) -> tuple[Any, ...]:
        return tuple(
            treedef
            for treedef, written in zip(self.state_treedefs, self.written, strict=True)
            if written or self.returns_all_states
        )

    def pure_evaluator(
        self,
    ) -> Callable[[Sequence[Any], Sequence[Any], Sequence[Any]], tuple[Any, list[Any]]]:
        """``evaluate(consts, arg_leaves, state_values) -> (out, returned_state_values)``, holding no State.

        What a compiled function cached by :attr:`key` closes over: it serves every program with the same
        key (their constants are passed in), and keeps none of their States alive.
        """
        jaxpr = self.jaxpr.jaxpr
        out_treedef = self.out_treedef
        returned = self._returned_treedefs

        def evaluate(
            consts: Sequence[Any], arg_leaves: Sequence[Any], state_values: Sequence[Any]
        ) -> tuple[Any, list[Any]]:
            state_leaves = [leaf for value in state_values for leaf in jax.tree.leaves(value)]
            flat = jax.core.eval_jaxpr(jaxpr, list(consts), *arg_leaves, *state_leaves)
            return _unflatten(out_treedef, returned, flat)

        return evaluate


def _unflatten(out_treedef: Any, treedefs: Sequence[Any], flat: Sequence[Any]) -> tuple[Any, list[Any]]:
    n_out = out_treedef.num_leaves
    out = jax.tree.unflatten(out_treedef, flat[:n_out])
    values = []
    position = n_out
    for treedef in treedefs:
        values.append(jax.tree.unflatten(treedef, flat[position : position + treedef.num_leaves]))
        position += treedef.num_leaves
    return out, values
