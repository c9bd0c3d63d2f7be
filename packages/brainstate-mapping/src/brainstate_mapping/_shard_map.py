"""``shard_map``: state-aware ``jax.shard_map``.

The function is traced once per argument signature, at per-shard shapes (every mapped dimension divided
by the size of the mesh axes its ``PartitionSpec`` names) and under an axis environment holding the mesh
axes, so collectives work. State values enter as arguments with their ``PartitionSpec``: the declared
``state_in_specs``, else ``P()`` (replicated). Written States leave with ``state_out_specs``, else their
input spec. Random states the function draws from (and that are not declared) give every shard its own
key from ``rng.split_key(number of shards)``; the shards' key writes are discarded. The function then
runs under ``jax.shard_map`` (inside ``jax.jit``) with the per-shard State values; on meshes with
explicit axes, inputs are first resharded to their specs. Every written value is checked against its
State's spec (per-shard shape, and the mesh axes it varies over) before any State is written.
"""

from __future__ import annotations

import dataclasses
import functools
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any

import jax
from jax.sharding import PartitionSpec

from brainstate_ir import StatefulFunction, compat
from brainstate_state import (
    BrainStateError,
    GraphWatch,
    State,
    StateTraceStack,
    describe_state,
    note_node_reads,
    peek_value,
    state_error_message,
)

from ._rng import is_random_state
from ._shard_checks import Want, check_write
from ._shard_specs import (
    check_spec,
    explicit_axes,
    is_spec,
    keep_layout,
    lay_out,
    layout_of,
    normalize_state_specs,
    shard_aval,
    to_spec,
)
from ._signature import contains_tracer, value_signature

__all__ = ["shard_map"]


class _ShardPlan:
    def __init__(
        self,
        states: tuple[State[Any], ...],
        kept: tuple[State[Any], ...],
        executable: Callable[..., Any],
        rng: tuple[bool, ...],
        num_shards: int,
        layouts: tuple[Any, ...],
        mesh: Any,
        watch: GraphWatch | None,
    ) -> None:
        self.states = states
        self.kept = kept
        self.rng = rng
        self.num_shards = num_shards
        self.executable = executable
        self.signatures = tuple(value_signature(peek_value(s)) for s in states)
        self.layouts = layouts
        self.mesh = mesh
        self.watch = watch  # the traced program's: invalid once a graph node its trace read changed

    def is_fresh(self) -> bool:
        if self.watch is not None and not self.watch.valid:
            return False
        if any(
            value_signature(peek_value(s)) != sig for s, sig in zip(self.states, self.signatures, strict=True)
        ):
            return False
        # the program lays written States out as they were when it was built
        return all(
            layout_of(peek_value(s), self.mesh) == lay for s, lay in zip(self.kept, self.layouts, strict=True)
        )


class _StatefulShardMap:
    def __init__(
        self,
        fun: Callable[..., Any],
        mesh: Any,
        in_specs: Any,
        out_specs: Any,
        state_in_specs: Any,
        state_out_specs: Any,
        check_vma: bool,
    ) -> None:
        self.fun = fun
        self.name = getattr(fun, "__name__", type(fun).__name__)
        if not hasattr(mesh, "shape") or not hasattr(mesh, "axis_names"):
            raise TypeError(
                f"shard_map({self.name}): mesh must be a jax.sharding.Mesh (e.g. jax.make_mesh((4,), ('x',))), "
                f"got {type(mesh).__name__}."
            )
        self.mesh = mesh
        self.explicit = explicit_axes(mesh)
        self.in_specs = in_specs
        self.out_specs = out_specs
        for what, tree in (("in_specs", in_specs), ("out_specs", out_specs)):
            for spec in jax.tree.leaves(tree, is_leaf=is_spec):
                if not isinstance(spec, PartitionSpec):
                    raise TypeError(f"shard_map({self.name}): {what} must hold PartitionSpecs, got {spec!r}.")
                check_spec(spec, mesh, f"shard_map({self.name}): {what}")
        self.default_in, self.state_in, declared_in = normalize_state_specs(state_in_specs, "state_in_specs")
        self.default_out, self.state_out, declared_out = normalize_state_specs(
            state_out_specs, "state_out_specs"
        )
        for what, default, table, states in (
            ("state_in_specs", self.default_in, self.state_in, declared_in),
            ("state_out_specs", self.default_out, self.state_out, declared_out),
        ):
            if default is not None:
                check_spec(default, mesh, f"shard_map({self.name}): {what}")
            for key, spec in table.items():
                check_spec(spec, mesh, f"shard_map({self.name}): {what} of {describe_state(states[key])}")
        self._declared = (declared_in, declared_out)  # keeps the States the spec tables know by id alive
        self.check_vma = check_vma
        axis_env = [(name, int(size)) for name, size in mesh.shape.items()]
        self.sf = StatefulFunction(fun, axis_env=axis_env, name=self.name)
        self._plans: OrderedDict[Hashable, _ShardPlan] = OrderedDict()
        self._lock = threading.RLock()

    def _is_rng(self, state: State[Any]) -> bool:
        """An undeclared random state: every shard gets its own key."""
        return is_random_state(state) and id(state) not in self.state_in and self.default_in is None

    def _in_spec(self, state: State[Any]) -> PartitionSpec:
        spec = self.state_in.get(id(state), self.default_in)
        return PartitionSpec() if spec is None else spec

    def _out_spec(self, state: State[Any]) -> tuple[PartitionSpec, bool]:
        """``(spec, declared)``: the spec a written State leaves with, and whether the user declared one."""
        spec = self.state_out.get(id(state), self.default_out)
        if spec is not None:
            return spec, True
        declared = id(state) in self.state_in or self.default_in is not None
        return self._in_spec(state), declared

    def _out_declared(self, state: State[Any]) -> bool:
        return id(state) in self.state_out or self.default_out is not None

    def _arg_specs(self, args: tuple[Any, ...]) -> list[tuple[PartitionSpec, str]]:
        """``(spec, description)`` of every argument leaf."""
        specs = self.in_specs
        if is_spec(specs):
            specs = tuple(specs for _ in args)
        if not isinstance(specs, tuple) or len(specs) != len(args):
            raise ValueError(
                f"shard_map({self.name}): in_specs must be a PartitionSpec or a tuple with one entry per positional "
                f"argument ({len(args)}), got {specs!r}. How to fix: list one PartitionSpec (or pytree of them) per "
                "positional argument, P() for an argument every shard sees whole."
            )
        result: list[tuple[PartitionSpec, str]] = []
        for i, (spec_tree, arg) in enumerate(zip(specs, args, strict=True)):
            where = f"shard_map({self.name}): argument {i}"
            try:
                jax.tree.map(
                    lambda s, sub, where=where: result.extend(
                        [(to_spec(s, f"{where} in_specs"), where)] * len(jax.tree.leaves(sub))
                    ),
                    spec_tree,
                    arg,
                    is_leaf=is_spec,
                )
            except ValueError as error:
                raise ValueError(
                    f"{where}: its in_specs entry {spec_tree!r} does not match the argument's structure. "
                    "How to fix: give one PartitionSpec for the whole argument, or a matching pytree of them."
                ) from error
        return result

    def __call__(self, *args: Any) -> Any:
        call = self.sf.split(*args)
        with self._lock:
            plan = self._plans.get(call.signature)
        if plan is None or not plan.is_fresh():
            plan = self._build(args, call)
        elif plan.watch is not None:
            note_node_reads(plan.watch)  # an enclosing trace reached these nodes too
        values: list[Any] = []
        backups: list[tuple[State[Any], Any]] = []
        try:
            for state, is_rng in zip(plan.states, plan.rng, strict=True):
                if is_rng:  # one key per shard; the shards' own key writes are discarded
                    backups.append((state, state.value))
                    values.append(state.split_key(plan.num_shards))  # type: ignore[attr-defined]
                else:
                    values.append(state.value)
            out, new_values = plan.executable(values, list(call.leaves))
        except Exception:
            for state, key in backups:
                state.restore_value(key)
            raise
        for state, value in zip(plan.kept, new_values, strict=True):
            state.value = value
        return out

    def _build(self, args: tuple[Any, ...], call: Any) -> _ShardPlan:
        arg_specs = self._arg_specs(args)
        lane_leaves = [
            shard_aval(leaf, spec, self.mesh, f"{where} (a leaf of shape {jax.numpy.shape(leaf)})")
            for leaf, (spec, where) in zip(call.leaves, arg_specs, strict=True)
        ]
        lane_args, _ = call.rebuild(lane_leaves)
        mesh = self.mesh

        def shard_value(state: State[Any], outside: Any) -> Any:
            if self._is_rng(state):
                return outside
            spec = self._in_spec(state)
            where = f"shard_map({self.name}): {describe_state(state)}, laid out per its state_in_specs,"
            return jax.tree.map(lambda leaf: shard_aval(leaf, spec, mesh, where), outside)

        with StateTraceStack(shard_value, name=f"{self.name}:per-shard"):
            program = self.sf.get_program(*lane_args)
        rng = tuple(self._is_rng(s) for s in program.states)
        every_axis = PartitionSpec(tuple(mesh.axis_names))
        state_specs = [
            every_axis if r else self._in_spec(s) for s, r in zip(program.states, rng, strict=True)
        ]
        kept = tuple(s for s in program.returned_states if not self._is_rng(s))
        out_info = [self._out_spec(s) for s in kept]
        kept_specs = [spec for spec, _ in out_info]
        wants = []
        for s, (spec, _) in zip(kept, out_info, strict=True):
            where = f"shard_map({self.name}): {describe_state(s)}, laid out per its state_out_specs,"

            def want(leaf: Any, spec: PartitionSpec = spec, where: str = where) -> Any:
                aval = shard_aval(leaf, spec, mesh, where)
                return Want(tuple(aval.shape), tuple(jax.numpy.shape(leaf)))

            wants.append(jax.tree.map(want, peek_value(s)))

        # The program is not replayed with eval_jaxpr inside shard_map: shard_map's varying-axes check
        # (check_vma) needs the operations traced by its own trace. So the user function runs once more,
        # inside the shard_map trace, with the per-shard State values (a cold call runs it twice).
        states = program.states
        index = {id(s): i for i, s in enumerate(states)}
        fun, name = self.fun, self.name
        skeleton = dataclasses.replace(call, leaves=[])  # a cached plan must not keep this call's tracers

        def pure(values: list[Any], leaves: list[Any]) -> tuple[Any, list[Any]]:
            def new_arg(state: State[Any], outside: Any) -> Any:
                i = index.get(id(state))
                if i is None:
                    raise BrainStateError(
                        state_error_message(
                            f"shard_map({name}) touched a State inside the sharded run that it did not touch "
                            "when it was traced.",
                            state,
                            "make the set of States the function uses independent of its argument values.",
                        )
                    )
                return values[i][0] if rng[i] else values[i]  # a shard's key array has shape (1,)

            inner_args, inner_kwargs = skeleton.rebuild(leaves)
            with StateTraceStack(new_arg, name=f"{name}:shard") as stack:
                out = fun(*inner_args, **inner_kwargs)
            written = [stack.value_of(s) if s in stack else values[index[id(s)]] for s in kept]
            for s, value, (spec, declared), want in zip(kept, written, out_info, wants, strict=True):
                check_write(name, mesh, s, value, spec, declared, want, self.check_vma, self._out_declared(s))
            return out, written

        mapped = compat.shard_map(
            pure,
            mesh,
            in_specs=(state_specs, [spec for spec, _ in arg_specs]),
            out_specs=(self.out_specs, kept_specs),
            check=self.check_vma,
        )
        explicit = self.explicit
        layouts = tuple(layout_of(peek_value(s), mesh) for s in kept)

        def run(values: list[Any], leaves: list[Any]) -> Any:
            values = [
                jax.tree.map(lambda v, spec=spec: lay_out(v, spec, mesh, explicit), value)
                for value, spec in zip(values, state_specs, strict=True)
            ]
            leaves = [
                lay_out(v, spec, mesh, explicit) for v, (spec, _) in zip(leaves, arg_specs, strict=True)
            ]
            out, written = mapped(values, leaves)
            # a written State keeps the layout it had before the call
            return out, [keep_layout(v, lay) for v, lay in zip(written, layouts, strict=True)]

        plan = _ShardPlan(
            program.states, kept, jax.jit(run), rng, int(mesh.size), layouts, mesh, program.watch
        )
        if not contains_tracer(program.jaxpr.consts):
            with self._lock:
                self._plans[call.signature] = plan
                while len(self._plans) > 64:
                    self._plans.popitem(last=False)
        return plan


def shard_map(
    fun: Callable[..., Any],
    mesh: Any,
    in_specs: Any,
    out_specs: Any,
    *,
    state_in_specs: Any = None,
    state_out_specs: Any = None,
    check_vma: bool = True,
) -> Callable[..., Any]:
    """State-aware ``jax.shard_map``: run ``fun`` on shards of its arguments (and of declared States).

    Parameters
    ----------
    fun
        The per-shard function; it may read and write States and use collectives over the mesh axes.
    mesh
        A ``jax.sharding.Mesh`` with explicit or auto axes (``jax.make_mesh`` makes explicit ones).
    in_specs, out_specs
        ``PartitionSpec`` pytree prefixes of the positional arguments and of the output, as in
        ``jax.shard_map``. Arguments laid out otherwise are resharded to ``in_specs``.
    state_in_specs
        How States enter each shard: one ``PartitionSpec`` (or a tuple of axis entries such as
        ``('x', None)``) for every State, a dict ``{State: PartitionSpec}``, or a tuple of
        ``(State, PartitionSpec)`` pairs. States a dict or pair list leaves out are replicated (``P()``).
        State values laid out otherwise are resharded.
    state_out_specs
        The same for written States; a written State without one leaves with its input spec.
    check_vma
        JAX's replication check (``check_rep`` on JAX releases that call it that).

    Raises
    ------
    ValueError
        A spec names a mesh axis the mesh does not have, names one axis twice, has more entries than
        the value has dimensions, or splits a dimension whose size is not divisible by the shard count.
    TypeError
        A spec or the mesh has the wrong type.
    BrainStateError
        ``fun`` wrote a value that does not fit its State's spec: a per-shard shape that does not
        make the State's shape, or a value that differs between shards of an axis the spec replicates.

    Notes
    -----
    Every check runs before any State is written: after an error all States hold their old values.
    A written State that was laid out over the mesh's devices keeps that layout after the call.
    An undeclared random state gives every shard its own key (``rng.split_key(number of shards)``, one
    advance of the stream per call). A cold call runs ``fun`` twice (once to find its States, once inside
    ``jax.shard_map``); a warm call runs the cached compiled program. Calls inside ``jit`` trace into it.
    The cached program is kept until a module its trace read (or one of its sub-modules) stores,
    replaces or deletes a State or sub-module: replacing a State the function uses is seen at the next
    call, while constructing or changing unrelated modules costs nothing. As with ``jit``, other plain
    Python values the function reads are baked into the program.

    Returns
    -------
    Callable
        The sharded function (positional arguments only).

    Examples
    --------
    >>> import jax, jax.numpy as jnp
    >>> import numpy as np
    >>> import brainstate_state as bss
    >>> from jax.sharding import Mesh, PartitionSpec as P
    >>> from brainstate_mapping import shard_map
    >>> mesh = Mesh(np.array(jax.devices()[:1]), ('x',))
    >>> total = bss.State(jnp.zeros(()))
    >>> def step(x):
    ...     total.value = total.value + jax.lax.psum(x.sum(), 'x')
    ...     return x * 2
    >>> out = shard_map(step, mesh, in_specs=P('x'), out_specs=P('x'))(jnp.arange(4.0))
    >>> float(total.value)
    6.0
    """
    wrapped = _StatefulShardMap(fun, mesh, in_specs, out_specs, state_in_specs, state_out_specs, check_vma)

    @functools.wraps(fun)
    def sharded(*args: Any) -> Any:
        return wrapped(*args)

    return sharded
