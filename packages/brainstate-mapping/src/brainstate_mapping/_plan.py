"""The mapping engine: which States go into the mapped program, on which axis, and which come out.

How a call is planned (once per argument signature; later calls reuse the plan)
-------------------------------------------------------------------------------
1. **One trace, at per-lane shapes.** The user function is traced once by a
   :class:`~brainstate_ir.StatefulFunction` on the *per-lane* abstract values: mapped argument leaves lose
   their mapped axis, and so do the values of States declared batched (a :class:`StateTraceStack` around
   the trace hands each State its per-lane value on first access). With ``axis_name`` the trace runs under
   ``axis_env=[(axis_name, n)]`` so collectives work. The trace gives the pure program and every State read
   or written.
2. **Output axes of undeclared writes without running the user function again** (:mod:`._discovery`).
   The pure program (not
   the user function) is evaluated abstractly under ``jax.eval_shape(jax.vmap(...))``; each written value
   goes through an identity built with ``jax.custom_batching.custom_vmap`` whose batching rule records
   whether JAX's own batching made that value batched. This is exact (``psum`` over the mapped axis,
   ``unvmap`` and friends give unbatched values) and uses only public JAX API.
3. **Decide** (:mod:`._policy` for undeclared writes). Declared States use their declared axes. An undeclared State written with an unbatched
   value is written once; written with a batched value it follows the policy (``'raise'``: a
   ``BatchAxisError`` naming the State; ``'auto'``/``'warn'``: batched on axis 0; ``'ignore'``: the write is
   dropped). Under ``'auto'``, a State that already carries the batch axis (its leading size is the batch
   size and the per-lane write has its full shape, i.e. it would grow a new axis) is mapped in on axis 0
   too; that needs one more trace, so a cold call runs the user function at most twice.
4. **Execute.** ``mapping_fn`` (``jax.vmap`` or ``jax.pmap``) runs over the pure program; vmapped programs
   are wrapped in ``jax.jit`` (cached with the plan) so eager calls run compiled code. Random states the
   function draws from get per-lane keys ``rng.split_key(n)`` mapped in on axis 0; the lanes' key writes
   are discarded, so the global stream advances exactly once per call.

A warm call checks that the plan is still valid (same ``GRAPH_EPOCH``, same shapes of every State) and runs
the cached executable: the user function does not run at all. A failing call changes no State (random
states get their previous key back).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import jax

from brainstate_ir import StatefulFunction, TracedProgram
from brainstate_state import (
    GRAPH_EPOCH,
    BatchAxisError,
    State,
    StateTraceStack,
    describe_state,
    peek_value,
    state_error_message,
)

from ._axes import SizeRecord, arg_leaf_description, lane_leaf, leaf_axes, resolve_size
from ._discovery import batched_outputs
from ._policy import DISCARD, Policy, UndeclaredWrites
from ._rng import is_random_state
from ._signature import contains_tracer, value_signature
from ._state_axes import UNDECLARED, StateAxisRules

__all__ = ["MappingEngine", "Policy", "MappingFn", "vmap_mapping_fn"]


#: ``mapping_fn(pure, in_axes, out_axes, axis_name, axis_size) -> mapped callable``.
MappingFn = Callable[[Callable[..., Any], Any, Any, Any, int], Callable[..., Any]]


def vmap_mapping_fn(spmd_axis_name: Any = None) -> MappingFn:
    """A mapping function running ``jax.vmap`` (with ``spmd_axis_name``) under a cached ``jax.jit``."""

    def mapping(pure: Callable[..., Any], in_axes: Any, out_axes: Any, axis_name: Any, size: int) -> Any:
        mapped = jax.vmap(
            pure,
            in_axes=in_axes,
            out_axes=out_axes,
            axis_name=axis_name,
            axis_size=size,
            spmd_axis_name=spmd_axis_name,
        )
        return jax.jit(mapped)

    return mapping


@dataclass(frozen=True, eq=False)
class _Plan:
    """Everything a warm call needs: the program, the per-State roles and the compiled executable."""

    program: TracedProgram
    size: int
    in_axes: tuple[Any, ...]  # per program.states: int/None
    rng: tuple[bool, ...]  # per program.states: per-lane keys from split_key(size)
    kept_states: tuple[State[Any], ...]  # written States committed after the call
    executable: Callable[..., Any]
    signatures: tuple[tuple[Hashable, ...], ...]  # full (batched) signature of every State
    epoch: int

    def is_fresh(self) -> bool:
        if self.epoch != GRAPH_EPOCH.value:
            return False
        for state, signature in zip(self.program.states, self.signatures, strict=True):
            if value_signature(peek_value(state)) != signature:
                return False
        return True


class MappingEngine:
    """A state-aware mapping of ``fun`` (the machinery behind ``vmap``, ``vmap2`` and ``pmap2``).

    Parameters
    ----------
    fun
        The user function (reads/writes States, takes and returns pytrees of arrays).
    in_axes, out_axes
        As in ``jax.vmap``; ``in_axes`` is a prefix of the positional arguments.
    axis_name, axis_size
        The mapped axis' name (for collectives) and size (checked against the inferred size).
    rules
        The State axis declarations.
    policy
        What to do with an undeclared State written with a batched value (see the module docstring).
    mapping_fn
        Builds the mapped executable; :func:`vmap_mapping_fn` by default.
    name
        Name used in messages.
    kwargs_axis
        The axis keyword arguments are mapped on; ``False`` rejects keyword arguments.
    static_argnums, static_argnames
        Arguments passed through unmapped as Python values (hashable; each value gets its own plan).
        Their entries in a tuple ``in_axes`` are ignored.
    """

    def __init__(
        self,
        fun: Callable[..., Any],
        *,
        in_axes: Any = 0,
        out_axes: Any = 0,
        axis_name: Any = None,
        axis_size: int | None = None,
        rules: StateAxisRules,
        policy: Policy = "auto",
        mapping_fn: MappingFn | None = None,
        name: str | None = None,
        kwargs_axis: int | None | Literal[False] = 0,
        static_argnums: int | Sequence[int] = (),
        static_argnames: str | Sequence[str] = (),
    ) -> None:
        if not callable(fun):
            raise TypeError(f"The mapped function must be callable, got {type(fun).__name__}.")
        if axis_size is not None and (
            isinstance(axis_size, bool) or int(axis_size) != axis_size or axis_size < 1
        ):
            raise ValueError(f"axis_size must be a positive int or None, got {axis_size!r}.")
        self.fun = fun
        self.in_axes = in_axes
        self.out_axes = out_axes
        self.axis_name = axis_name
        self.axis_size = None if axis_size is None else int(axis_size)
        self.rules = rules
        self.mapping_fn = mapping_fn if mapping_fn is not None else vmap_mapping_fn()
        self.name: str = name or str(getattr(fun, "__name__", type(fun).__name__))
        self.undeclared = UndeclaredWrites(policy, rules, self.name)
        self.kwargs_axis = kwargs_axis
        self.static_argnums = (static_argnums,) if isinstance(static_argnums, int) else tuple(static_argnums)
        self.static_argnames = (
            (static_argnames,) if isinstance(static_argnames, str) else tuple(static_argnames)
        )
        self._plans: OrderedDict[Hashable, _Plan] = OrderedDict()
        self._functions: dict[int | None, StatefulFunction] = {}
        self._lock = threading.RLock()
        self.trace_count = 0

    # ------------------------------------------------------------------ public
    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if kwargs and self.kwargs_axis is False:
            raise NotImplementedError(
                f"{self.name}: keyword arguments are not supported by this mapping (got "
                f"{', '.join(sorted(kwargs))}). How to fix: pass them positionally and give their axes in "
                "in_axes, or use brainstate.transform.vmap2, which maps keyword arguments on axis 0."
            )
        sf = self._function(None)
        call = sf.split(*args, **kwargs)
        plan = self._lookup(call.signature)
        if plan is None:
            plan = self._build(args, kwargs, call)
        return self._run(plan, call.leaves)

    def clear_cache(self) -> None:
        """Forget every plan (the next call traces again)."""
        with self._lock:
            self._plans.clear()
            self._functions.clear()

    # ------------------------------------------------------------------ planning
    def _function(self, size: int | None) -> StatefulFunction:
        """The StatefulFunction tracing ``fun`` per lane; one per batch size only when collectives need it.

        Without ``axis_name`` the per-lane program does not depend on the batch size, so calls with a new
        batch size reuse the traced program (the user function does not run again).
        """
        if self.axis_name is None:
            size = None
        with self._lock:
            sf = self._functions.get(size)
            if sf is None:
                axis_env = (
                    [(self.axis_name, size)] if self.axis_name is not None and size is not None else None
                )
                sf = StatefulFunction(
                    self.fun,
                    static_argnums=self.static_argnums,
                    static_argnames=self.static_argnames,
                    axis_env=axis_env,
                    name=self.name,
                )
                self._functions[size] = sf
            return sf

    def _lookup(self, key: Hashable) -> _Plan | None:
        with self._lock:
            plan = self._plans.get(key)
            if plan is None:
                return None
            if not plan.is_fresh():
                del self._plans[key]
                return None
            self._plans.move_to_end(key)
            return plan

    def _build(self, args: tuple[Any, ...], kwargs: dict[str, Any], call: Any) -> _Plan:
        kw_axis = 0 if self.kwargs_axis is False else self.kwargs_axis
        statics = set(self.static_argnums)
        in_axes = self.in_axes
        if statics and isinstance(in_axes, (tuple, list)) and len(in_axes) == len(args):
            in_axes = tuple(a for i, a in enumerate(in_axes) if i not in statics)
        args = tuple(a for i, a in enumerate(args) if i not in statics)
        kwargs = {k: v for k, v in kwargs.items() if k not in self.static_argnames}
        axes = leaf_axes(args, kwargs, in_axes, self.name, kw_axis)
        num_positional = len(jax.tree.leaves(args))
        sizes: list[SizeRecord] = []
        lane_leaves = []
        for index, (leaf, axis) in enumerate(zip(call.leaves, axes, strict=True)):
            if axis is None:
                lane_leaves.append(leaf)
            else:
                lane_leaves.append(lane_leaf(leaf, axis, arg_leaf_description(index, num_positional), sizes))
        arg_axes = [
            None if axis is None else axis % max(len(getattr(leaf, "shape", ())), 1)
            for leaf, axis in zip(call.leaves, axes, strict=True)
        ]
        for state, axis in self.rules.declared_in():
            for leaf in jax.tree.leaves(peek_value(state)):
                lane_leaf(leaf, axis, describe_state(state), sizes)
        if self.axis_size is not None:
            sizes.append(("axis_size", self.axis_size))
        size = resolve_size(sizes, self.name)
        if size is None and self.axis_name is not None:
            raise ValueError(
                f"{self.name}: cannot tell the size of the mapped axis {self.axis_name!r} before tracing: no "
                "argument is mapped and no State is declared batched up front. How to fix: pass axis_size=n."
            )
        lane_args, lane_kwargs = call.rebuild(lane_leaves)

        promoted: set[int] = set()
        for attempt in range(2):
            program, state_sizes = self._trace(lane_args, lane_kwargs, size, promoted)
            size = resolve_size(sizes + state_sizes, self.name)
            if size is None:
                raise ValueError(
                    f"{self.name}: cannot infer the batch size: no argument is mapped (in_axes), no State the "
                    "function touches is declared batched, and axis_size is not given. How to fix: map an "
                    "argument, declare a batched State, or pass axis_size=n."
                )
            plan = self._decide(program, size, promoted, call.leaves, arg_axes, allow_promotion=attempt == 0)
            if isinstance(plan, _Plan):
                break
            promoted |= plan
        assert isinstance(plan, _Plan)  # the second attempt never promotes
        if not contains_tracer(program.jaxpr.consts):
            with self._lock:
                self._plans[call.signature] = plan
                while len(self._plans) > 64:
                    self._plans.popitem(last=False)
        return plan

    def _state_in_axis(self, state: State[Any], promoted: set[int]) -> tuple[int | None, bool]:
        """``(axis, is_rng)``: the input axis of ``state`` and whether it gets per-lane random keys."""
        declared = self.rules.in_axis(state)
        if declared is UNDECLARED:
            if is_random_state(state):
                return 0, True
            return (0 if id(state) in promoted else None), False
        return declared, False

    def _trace(
        self, lane_args: tuple[Any, ...], lane_kwargs: dict[str, Any], size: int | None, promoted: set[int]
    ) -> tuple[TracedProgram, list[SizeRecord]]:
        state_sizes: list[SizeRecord] = []

        def lane_value(state: State[Any], outside: Any) -> Any:
            axis, rng = self._state_in_axis(state, promoted)
            if axis is None or rng:
                value = outside
            else:
                where = describe_state(state)
                value = jax.tree.map(lambda leaf: lane_leaf(leaf, axis, where, state_sizes), outside)
            return value

        sf = self._function(size)
        self.trace_count += 1
        with StateTraceStack(lane_value, name=f"{self.name}:per-lane"):
            program = sf.get_program(*lane_args, **lane_kwargs)
        return program, state_sizes

    def _decide(
        self,
        program: TracedProgram,
        size: int,
        promoted: set[int],
        arg_leaves: Sequence[Any],
        arg_axes: list[int | None],
        allow_promotion: bool,
    ) -> _Plan | set[int]:
        """The plan for a traced program, or the ids of States to map in on axis 0 and trace again."""
        states = program.states
        in_axes: list[Any] = []
        rng: list[bool] = []
        abstract_values: list[Any] = []
        for state in states:
            axis, is_rng = self._state_in_axis(state, promoted)
            value = peek_value(state)
            if is_rng:
                value = jax.tree.map(lambda k: jax.ShapeDtypeStruct((size, *k.shape), k.dtype), value)
            in_axes.append(axis)
            rng.append(is_rng)
            abstract_values.append(value)

        returned = program.returned_states
        position = {id(s): i for i, s in enumerate(states)}
        out_axes: list[Any] = []
        candidates = []
        for j, state in enumerate(returned):
            i = position[id(state)]
            declared = self.rules.out_axis(state)
            if declared is UNDECLARED and rng[i]:
                out_axes.append(DISCARD)
            elif declared is UNDECLARED and in_axes[i] is not None:  # promoted state
                out_axes.append(in_axes[i])
            else:
                out_axes.append(declared)
                if declared is None or declared is UNDECLARED:
                    candidates.append(j)
        batched = batched_outputs(
            program, candidates, abstract_values, in_axes, arg_leaves, arg_axes, self.axis_name, size
        )

        new_promotions: set[int] = set()
        lane_out = self._lane_out_avals(program)
        for j in candidates:
            state = returned[j]
            declared = out_axes[j]
            if j not in batched:
                out_axes[j] = None
                continue
            if declared is None:
                raise BatchAxisError(
                    state_error_message(
                        f"{self.name} wrote a batched (per-lane) value into a State declared unbatched "
                        f"(axis None in {self.rules.out_hint}).",
                        state,
                        f"declare the State on a batch axis in {self.rules.out_hint}, or write a value that "
                        "is the same for every lane.",
                    )
                )
            out_axes[j] = self.undeclared.resolve(
                state, lane_out[j], size, in_axes[position[id(state)]], new_promotions
            )
        if new_promotions and allow_promotion:
            return new_promotions

        kept_index = [j for j, axis in enumerate(out_axes) if axis is not DISCARD]
        kept_states = tuple(returned[j] for j in kept_index)
        kept_axes = [out_axes[j] for j in kept_index]
        for j in kept_index:
            if out_axes[j] is not None and self.rules.out_axis(returned[j]) is UNDECLARED:
                self.undeclared.scattered.add(returned[j])

        def pure(values: list[Any], leaves: list[Any]) -> tuple[Any, list[Any]]:
            out, new_values = program.evaluate(leaves, values)
            return out, [new_values[j] for j in kept_index]

        executable = self.mapping_fn(
            pure, (in_axes, list(arg_axes)), (self.out_axes, kept_axes), self.axis_name, size
        )
        plan = _Plan(
            program=program,
            size=size,
            in_axes=tuple(in_axes),
            rng=tuple(rng),
            kept_states=kept_states,
            executable=executable,
            signatures=tuple(value_signature(peek_value(s)) for s in states),
            epoch=GRAPH_EPOCH.value,
        )
        return plan

    @staticmethod
    def _lane_out_avals(program: TracedProgram) -> list[list[Any]]:
        avals = program.jaxpr.out_avals
        position = program.out_treedef.num_leaves
        treedefs = dict(zip(map(id, program.states), program.state_treedefs, strict=True))
        result = []
        for state in program.returned_states:
            count = treedefs[id(state)].num_leaves
            result.append(list(avals[position : position + count]))
            position += count
        return result

    # ------------------------------------------------------------------ running
    def _run(self, plan: _Plan, arg_leaves: Sequence[Any]) -> Any:
        values: list[Any] = []
        backups: list[tuple[State[Any], Any]] = []
        try:
            for state, is_rng in zip(plan.program.states, plan.rng, strict=True):
                if is_rng:
                    backups.append((state, state.value))
                    values.append(state.split_key(plan.size))  # type: ignore[attr-defined]
                else:
                    values.append(state.value)
            out, new_values = plan.executable(values, list(arg_leaves))
        except BaseException:
            for state, key in backups:
                state.restore_value(key)
            raise
        for state, value in zip(plan.kept_states, new_values, strict=True):
            state.value = value
        return out
