"""``shard_map``: state-aware ``jax.shard_map``.

The function is traced once per argument signature, at per-shard shapes (every mapped dimension divided
by the size of the mesh axes its ``PartitionSpec`` names) and under an axis environment holding the mesh
axes, so collectives work. State values enter as arguments with their ``PartitionSpec``: the declared
``state_in_specs``, else ``P()`` (replicated). Written States leave with ``state_out_specs``, else their
input spec. Random states the function draws from (and that are not declared) give every shard its own
key from ``rng.split_key(number of shards)``; the shards' key writes are discarded. The function then runs under ``jax.shard_map`` (inside ``jax.jit``) with the per-shard State values.
"""

from __future__ import annotations

import functools
import math
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Mapping
from typing import Any

import jax
from jax.sharding import PartitionSpec

from brainstate_ir import StatefulFunction, _compat
from brainstate_state import (
    GRAPH_EPOCH,
    BrainStateError,
    State,
    StateTraceStack,
    describe_state,
    peek_value,
    state_error_message,
)

from ._rng import is_random_state
from ._signature import contains_tracer, value_signature

__all__ = ["shard_map"]


def _is_spec(x: Any) -> bool:
    return x is None or isinstance(x, PartitionSpec)


def _normalize_state_specs(spec: Any, what: str) -> tuple[PartitionSpec | None, dict[int, PartitionSpec]]:
    """``(default spec for every State or None, {id(state): spec})``."""
    if spec is None:
        return None, {}
    if isinstance(spec, PartitionSpec):
        return spec, {}
    if isinstance(spec, Mapping):
        result = {}
        for state, value in spec.items():
            if not isinstance(state, State) or not isinstance(value, PartitionSpec):
                raise TypeError(
                    f"{what} must be a PartitionSpec or a dict {{State: PartitionSpec}}; got an entry "
                    f"{type(state).__name__}: {type(value).__name__}."
                )
            result[id(state)] = value
        return None, result
    raise TypeError(
        f"{what} must be a PartitionSpec or a dict {{State: PartitionSpec}}, got {type(spec).__name__}."
    )


def _shard_shape(shape: tuple[int, ...], spec: PartitionSpec, mesh: Any, where: str) -> tuple[int, ...]:
    if len(spec) > len(shape):
        raise ValueError(
            f"{where} has shape {shape} but its PartitionSpec {spec} names {len(spec)} dimensions. "
            "How to fix: give at most one entry per dimension."
        )
    result = list(shape)
    for dim, names in enumerate(spec):
        if names is None:
            continue
        names = names if isinstance(names, tuple) else (names,)
        count = math.prod(int(mesh.shape[n]) for n in names)
        if result[dim] % count:
            raise ValueError(
                f"{where} has size {shape[dim]} on dimension {dim}, which the PartitionSpec {spec} splits into "
                f"{count} shards; the size must be divisible by {count}. How to fix: pad the array, or use a "
                "different PartitionSpec."
            )
        result[dim] //= count
    return tuple(result)


def _shard_aval(leaf: Any, spec: PartitionSpec | None, mesh: Any, where: str) -> Any:
    if spec is None or len(spec) == 0:
        return leaf
    shape = tuple(getattr(leaf, "shape", ()))
    return jax.ShapeDtypeStruct(_shard_shape(shape, spec, mesh, where), leaf.dtype)


class _ShardPlan:
    def __init__(
        self,
        states: tuple[State[Any], ...],
        kept: tuple[State[Any], ...],
        executable: Callable[..., Any],
        undeclared: list[State[Any]],
        rng: tuple[bool, ...],
        num_shards: int,
    ) -> None:
        self.states = states
        self.kept = kept
        self.rng = rng
        self.num_shards = num_shards
        self.executable = executable
        self.undeclared = undeclared
        self.signatures = tuple(value_signature(peek_value(s)) for s in states)
        self.epoch = GRAPH_EPOCH.value

    def is_fresh(self) -> bool:
        if self.epoch != GRAPH_EPOCH.value:
            return False
        return all(
            value_signature(peek_value(s)) == sig for s, sig in zip(self.states, self.signatures, strict=True)
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
        self.mesh = mesh
        self.in_specs = in_specs
        self.out_specs = out_specs
        self.default_in, self.state_in = _normalize_state_specs(state_in_specs, "state_in_specs")
        self.default_out, self.state_out = _normalize_state_specs(state_out_specs, "state_out_specs")
        self.check_vma = check_vma
        self.name = getattr(fun, "__name__", type(fun).__name__)
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
        spec = self.state_out.get(id(state), self.default_out)
        if spec is not None:
            return spec, True
        declared = id(state) in self.state_in or self.default_in is not None
        return self._in_spec(state), declared

    def _arg_specs(self, args: tuple[Any, ...]) -> list[Any]:
        specs = self.in_specs
        if _is_spec(specs):
            specs = tuple(specs for _ in args)
        if not isinstance(specs, tuple) or len(specs) != len(args):
            raise ValueError(
                f"shard_map({self.name}): in_specs must be a PartitionSpec or a tuple with one entry per positional "
                f"argument ({len(args)}), got {specs!r}."
            )
        result: list[Any] = []
        jax.tree.map(
            lambda s, sub: result.extend([s] * len(jax.tree.leaves(sub))), specs, args, is_leaf=_is_spec
        )
        return result

    def __call__(self, *args: Any) -> Any:
        call = self.sf.split(*args)
        with self._lock:
            plan = self._plans.get(call.signature)
        if plan is None or not plan.is_fresh():
            plan = self._build(args, call)
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
        except Exception as error:
            for state, key in backups:
                state.restore_value(key)
            if plan.undeclared:
                names = ", ".join(describe_state(s) for s in plan.undeclared)
                error.add_note(
                    f"shard_map({self.name}): these written States are undeclared and therefore replicated (P()) "
                    f"while data may be sharded: {names}. Declare their PartitionSpec in state_out_specs "
                    "(and state_in_specs) if they hold per-shard values."
                )
            raise
        for state, value in zip(plan.kept, new_values, strict=True):
            state.value = value
        return out

    def _build(self, args: tuple[Any, ...], call: Any) -> _ShardPlan:
        arg_specs = self._arg_specs(args)
        lane_leaves = [
            _shard_aval(leaf, spec, self.mesh, f"argument leaf #{i}")
            for i, (leaf, spec) in enumerate(zip(call.leaves, arg_specs, strict=True))
        ]
        lane_args, _ = call.rebuild(lane_leaves)

        def shard_value(state: State[Any], outside: Any) -> Any:
            if self._is_rng(state):
                return outside
            spec = self._in_spec(state)
            return jax.tree.map(
                lambda leaf: _shard_aval(leaf, spec, self.mesh, describe_state(state)), outside
            )

        with StateTraceStack(shard_value, name=f"{self.name}:per-shard"):
            program = self.sf.get_program(*lane_args)
        rng = tuple(self._is_rng(s) for s in program.states)
        every_axis = PartitionSpec(tuple(self.mesh.axis_names))
        state_specs = [
            every_axis if r else self._in_spec(s) for s, r in zip(program.states, rng, strict=True)
        ]
        kept = tuple(s for s in program.returned_states if not self._is_rng(s))
        out_info = [self._out_spec(s) for s in kept]
        kept_specs = [spec for spec, _ in out_info]
        undeclared = [s for s, (_, declared) in zip(kept, out_info, strict=True) if not declared]

        # The program is not replayed with eval_jaxpr inside shard_map: shard_map's varying-axes check
        # (check_vma) needs the operations traced by its own trace. So the user function runs once more,
        # inside the shard_map trace, with the per-shard State values (a cold call runs it twice).
        states = program.states
        index = {id(s): i for i, s in enumerate(states)}
        fun, name = self.fun, self.name

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

            inner_args, inner_kwargs = call.rebuild(leaves)
            with StateTraceStack(new_arg, name=f"{name}:shard") as stack:
                out = fun(*inner_args, **inner_kwargs)
            return out, [stack.value_of(s) if s in stack else values[index[id(s)]] for s in kept]

        mapped = _compat.shard_map(
            pure,
            self.mesh,
            in_specs=(state_specs, arg_specs),
            out_specs=(self.out_specs, kept_specs),
            check=self.check_vma,
        )
        plan = _ShardPlan(program.states, kept, jax.jit(mapped), undeclared, rng, int(self.mesh.size))
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
        A ``jax.sharding.Mesh``.
    in_specs, out_specs
        ``PartitionSpec`` pytree prefixes of the positional arguments and of the output, as in
        ``jax.shard_map``.
    state_in_specs
        A ``PartitionSpec`` for every State, or ``{State: PartitionSpec}``; undeclared States are
        replicated (``P()``).
    state_out_specs
        The same for written States; a written State without one keeps its input spec.
    check_vma
        JAX's replication check (``check_rep`` on JAX releases that call it that).

    Notes
    -----
    An undeclared random state gives every shard its own key (``rng.split_key(number of shards)``, one
    advance of the stream per call). A cold call runs ``fun`` twice (once to find its States, once inside
    ``jax.shard_map``); a warm call runs the cached compiled program.

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
