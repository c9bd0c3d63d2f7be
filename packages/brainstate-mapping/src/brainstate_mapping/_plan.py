"""The mapping engine: which States go into the mapped program, on which axis, and which come out.

How a call runs
---------------
1. **Trace per lane, every call** (:mod:`._lanes`). The user function is traced at *per-lane* abstract
   values: mapped argument leaves lose their mapped axis, and so do States batched on input (declared,
   promoted, or random states, which get one key per lane). Everything else, unmapped arguments and
   unmapped States, is passed as it is: concrete in an eager call, as with ``jax.vmap``. Because the
   function is traced on every eager call, a call always sees the current values of Python attributes,
   globals and unmapped States (it is never stale). With ``axis_name`` the trace runs under
   ``axis_env=[(axis_name, n)]`` so collectives work.
2. **Output axes of undeclared writes** (:mod:`._discovery`): the traced program is evaluated abstractly
   under ``jax.vmap``; identities built with ``jax.custom_batching.custom_vmap`` record which written values
   JAX's own batching made batched. No user code runs again.
3. **Decide** (:mod:`._policy` for undeclared writes). Declared States use their declared axes. An
   undeclared State written with an unbatched value is written once; with a batched value it follows the
   policy. Under ``'auto'``, a State that already carries the batch axis (its leading size is the batch
   size and the per-lane write has its full shape) is mapped in on axis 0 and the function traced again.
4. **Execute** (:mod:`._executables`). The compiled ``jax.vmap`` of the traced program is looked up by the
   program itself (its constants, such as unmapped values, are passed as arguments), so the same program
   compiles once, whichever mapping object or fresh lambda produced it; a program seen for the first time
   runs op by op and is compiled when seen again. Random states the function draws
   from get per-lane keys ``split(key, n + 1)[1:]``; afterwards the stream is set to
   ``split(split(key, n + 1)[0])[1]``, as brainstate 0.5.4 advances it. The lanes' own key writes are
   discarded. A failing call changes no State.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable, Hashable, Sequence
from typing import Any, Literal

import jax

from brainstate_ir import jaxpr_key, normalize_argnums
from brainstate_state import BatchAxisError, State, describe_state, peek_value, state_error_message

from ._axes import SizeRecord, arg_leaf_description, lane_leaf, resolve_size
from ._call import MappedCall, split_mapped_call
from ._discovery import program_batched_writes
from ._executables import CODE_HINTS, BoundedMemo, shared_jitted
from ._lanes import LaneProgram, MappedState, state_lane_avals, trace_lanes
from ._mapped_program import (
    MappingFn,
    VmapMapping,
    lane_keys,
    lane_out_avals,
    mapped_axes,
    pure_program,
    vmap_mapping_fn,
)
from ._policy import DISCARD, Policy, UndeclaredWrites
from ._rng import is_random_state
from ._signature import contains_tracer
from ._state_axes import UNDECLARED, StateAxisRules

__all__ = ["MappingEngine", "Policy", "MappingFn", "vmap_mapping_fn"]


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
        Builds the mapped executable; :func:`vmap_mapping_fn` by default. It is part of the cache key of
        compiled programs, so it should compare equal for equal options.
    name
        Name used in messages.
    kwargs_axis
        The axis keyword arguments are mapped on; ``False`` rejects keyword arguments.
    static_argnums, static_argnames
        Arguments passed through unmapped as Python values (they must be hashable). Their entries in a
        tuple ``in_axes`` are ignored.
    axis_env
        ``[(axis_name, size), ...]``: further named axes the function's collectives may use while traced.
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
        static_argnums: int | Sequence[int] | None = (),
        static_argnames: str | Sequence[str] | None = (),
        axis_env: Sequence[tuple[Hashable, int]] | None = None,
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
        leaves, treedef = jax.tree.flatten(out_axes, is_leaf=lambda x: x is None)
        self._out_axes_key = (tuple(leaves), treedef)
        self.axis_name = axis_name
        self.axis_size = None if axis_size is None else int(axis_size)
        self.rules = rules
        self.mapping_fn = mapping_fn if mapping_fn is not None else vmap_mapping_fn()
        self.name: str = name or str(getattr(fun, "__name__", type(fun).__name__))
        self.undeclared = UndeclaredWrites(policy, rules, self.name)
        self.kwargs_axis = kwargs_axis
        self.static_argnums = tuple(
            sorted(
                normalize_argnums(
                    static_argnums, transform="StatefulMapping", what="static_argnums", function=self.name
                )
            )
        )
        self.static_argnames = _argnames(static_argnames)
        self.axis_env = tuple((name, int(n)) for name, n in axis_env) if axis_env else ()
        # The States batched on input by the previous call (weakly held): the next trace starts from them.
        self._hint: list[tuple[weakref.ref[State[Any]], bool]] = []
        self._lock = threading.RLock()
        self._own_executables = BoundedMemo(8)
        self._code = getattr(getattr(fun, "__func__", fun), "__code__", None)
        self.trace_count = 0

    # ------------------------------------------------------------------ public
    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if kwargs and self.kwargs_axis is False:
            raise NotImplementedError(
                f"{self.name}: keyword arguments are not supported by this mapping (got "
                f"{', '.join(sorted(kwargs))}). How to fix: pass them positionally and give their axes in "
                "in_axes, or use brainstate.transform.vmap2, which maps keyword arguments on axis 0."
            )
        kw_axis = 0 if self.kwargs_axis is False else self.kwargs_axis
        call = split_mapped_call(
            args, kwargs, self.in_axes, self.static_argnums, self.static_argnames, kw_axis, self.name
        )
        program, size = self._trace(call)
        return self._execute(program, size, call)

    def clear_cache(self) -> None:
        """Forget what earlier calls learned (the next call starts tracing from scratch)."""
        with self._lock:
            self._hint = []

    # ------------------------------------------------------------------ tracing
    def _in_axis(self, state: State[Any], promoted: set[int]) -> tuple[int | None, bool]:
        """``(axis, is_rng)``: the input axis of ``state`` and whether it gets per-lane random keys."""
        declared = self.rules.in_axis(state)
        if declared is UNDECLARED:
            if is_random_state(state):
                return 0, True
            return (0 if id(state) in promoted else None), False
        return declared, False

    def _known(self, promoted: set[int], size: int | None) -> list[MappedState]:
        with self._lock:
            hint = list(self._hint)
        code = self._code
        if not hint and code is not None:
            hint = list(CODE_HINTS.peek(code) or ())
        known = []
        for ref, was_promoted in hint:
            state = ref()
            if state is None:
                continue
            if was_promoted and size is not None:
                leading = {
                    tuple(getattr(leaf, "shape", ()))[:1] for leaf in jax.tree.leaves(peek_value(state))
                }
                if leading == {(size,)}:
                    promoted.add(id(state))
            axis, rng = self._in_axis(state, promoted)
            if axis is not None:
                known.append(MappedState(state, axis, rng))
        return known

    def _trace(self, call: MappedCall) -> tuple[LaneProgram, int]:
        sizes: list[SizeRecord] = []
        lane_avals = {}
        for index, (leaf, axis) in enumerate(zip(call.leaves, call.axes, strict=True)):
            if axis is not None:
                where = arg_leaf_description(index, call.num_positional)
                lane_avals[index] = lane_leaf(leaf, axis, where, sizes)
        for state, axis in self.rules.declared_in():
            for leaf in jax.tree.leaves(peek_value(state)):
                lane_leaf(leaf, axis, describe_state(state), sizes)
        if self.axis_size is not None:
            sizes.append(("axis_size", self.axis_size))
        size = resolve_size(sizes, self.name)
        axis_env = None
        if self.axis_name is not None:
            if size is None:
                raise ValueError(
                    f"{self.name}: cannot tell the size of the mapped axis {self.axis_name!r} before tracing: "
                    "no argument is mapped and no State is declared batched up front. How to fix: pass "
                    "axis_size=n."
                )
            axis_env = [(self.axis_name, size)]
        if self.axis_env:
            names = {name for name, _ in axis_env or ()}
            axis_env = [e for e in self.axis_env if e[0] not in names] + list(axis_env or ())
        promoted: set[int] = set()
        known = self._known(promoted, size)
        declared = frozenset(id(state) for state, _ in self.rules.declared_in())
        hinted = {id(m.state) for m in known}
        known += [
            MappedState(state, axis, False)
            for state, axis in self.rules.declared_in()
            if id(state) not in hinted
        ]
        for _ in range(64):
            state_sizes: list[SizeRecord] = []
            state_avals = state_lane_avals(known, state_sizes)
            self.trace_count += 1
            result = trace_lanes(
                self.fun,
                call.rebuild,
                call.leaves,
                lane_avals,
                known,
                state_avals,
                lambda s: self._in_axis(s, promoted),
                axis_env,
                self.name,
                declared,
            )
            if isinstance(result, tuple):
                add, drop = result
                dropped = {id(m.state) for m in drop}
                known = [m for m in known if id(m.state) not in dropped] + add
                continue
            full_size = resolve_size(sizes + state_sizes, self.name)
            if full_size is None:
                raise ValueError(
                    f"{self.name}: cannot infer the batch size: no argument is mapped (in_axes), no State the "
                    "function touches is declared batched, and axis_size is not given. How to fix: map an "
                    "argument, declare a batched State, or pass axis_size=n."
                )
            new = self._promotions(result, full_size, call)
            if new:
                promoted.update(id(s) for s in new)
                known = known + [MappedState(s, 0, False) for s in new]
                continue
            hint = [(weakref.ref(m.state), id(m.state) in promoted) for m in result.mapped_states]
            with self._lock:
                self._hint = hint
            if self._code is not None:
                CODE_HINTS.put(self._code, tuple(hint))
            return result, full_size
        raise RuntimeError(f"{self.name}: the States batched on input did not settle after 64 traces.")

    # ------------------------------------------------------------------ deciding
    def _out_axes(self, program: LaneProgram) -> tuple[list[Any], list[int]]:
        """Output axis per written State (``UNDECLARED``/``None`` for candidates) and the candidates."""
        mapped = {id(m.state): m for m in program.mapped_states}
        out_axes: list[Any] = []
        candidates = []
        for j, state in enumerate(program.written):
            m = mapped.get(id(state))
            declared = self.rules.out_axis(state)
            if declared is UNDECLARED and m is not None:
                out_axes.append(DISCARD if m.rng else m.axis)
            else:
                out_axes.append(declared)
                if declared is None or declared is UNDECLARED:
                    candidates.append(j)
        return out_axes, candidates

    def _promotions(self, program: LaneProgram, size: int, call: MappedCall) -> list[State[Any]]:
        out_axes, candidates = self._out_axes(program)
        batched = program_batched_writes(program, candidates, size, call, self.axis_name)
        lane_out = lane_out_avals(program)
        return [
            program.written[j]
            for j in candidates
            if j in batched
            and out_axes[j] is UNDECLARED
            and self.undeclared.promotes(program.written[j], lane_out[j], size)
        ]

    def _decide(
        self, program: LaneProgram, size: int, call: MappedCall
    ) -> tuple[tuple[int, ...], tuple[Any, ...]]:
        """``(kept, kept_axes)``: the indices into ``program.written`` to commit, and their axes."""
        out_axes, candidates = self._out_axes(program)
        batched = program_batched_writes(program, candidates, size, call, self.axis_name)
        lane_out = lane_out_avals(program)
        for j in candidates:
            state = program.written[j]
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
            out_axes[j] = self.undeclared.resolve(state, lane_out[j], size)
        kept = tuple(j for j, axis in enumerate(out_axes) if axis is not DISCARD)
        return kept, tuple(out_axes[j] for j in kept)

    # ------------------------------------------------------------------ running
    def _executable(self, key: Hashable, build: Callable[[], Any]) -> Any:
        if isinstance(self.mapping_fn, VmapMapping):
            return shared_jitted(key, build)
        return self._own_executables.get(key, build)  # e.g. jax.pmap: compiles by itself

    def _execute(self, program: LaneProgram, size: int, call: MappedCall) -> Any:
        kept, kept_axes = self._decide(program, size, call)
        arg_axes, state_axes = mapped_axes(program, call)
        mapped_leaves = [leaf for leaf, axis in zip(call.leaves, call.axes, strict=True) if axis is not None]
        values: list[Any] = []
        new_keys: list[tuple[State[Any], Any]] = []
        for m in program.mapped_states:
            if m.rng:
                lanes, new_key = lane_keys(m.state.value, size)
                values.append(lanes)
                new_keys.append((m.state, new_key))
            else:
                values.append(m.state.value)
        consts = list(program.closed.consts)

        def build() -> Any:
            return self.mapping_fn(
                pure_program(program, kept),
                (None, arg_axes, state_axes),
                (self.out_axes, list(kept_axes)),
                self.axis_name,
                size,
            )

        if contains_tracer(consts) or contains_tracer(mapped_leaves) or contains_tracer(values):
            executable = build()  # inside an enclosing trace: evaluated as part of it, nothing to cache
        else:
            key = (
                "executable",
                jaxpr_key(program.closed),
                program.out_treedef,
                program.written_treedefs,
                tuple(arg_axes),
                tuple(state_axes),
                size,
                self.axis_name,
                self.mapping_fn,
                self._out_axes_key,
                kept,
                kept_axes,
            )
            executable = self._executable(key, build)
        out, kept_values = executable(consts, mapped_leaves, values)
        for state, key_value in new_keys:
            state.value = key_value
        for j, value in zip(kept, kept_values, strict=True):
            program.written[j].value = value
        return out


def _argnames(argnames: Any) -> tuple[str, ...]:
    if argnames is None:
        return ()
    items = (argnames,) if isinstance(argnames, str) else tuple(argnames)
    for name in items:
        if not isinstance(name, str):
            raise ValueError(f"static_argnames must contain strings, got {name!r}.")
    return items
