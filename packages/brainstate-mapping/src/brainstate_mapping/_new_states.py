"""Vectorised State creation: ``vmap_new_states``, ``vmap2_new_states``, ``pmap2_new_states``.

The creating function runs **once**, under ``jax.vmap`` (or ``jax.pmap``). States it creates hold per-lane
values during that run; afterwards they receive the batched arrays (batch axis 0, or the axis chosen by
``state_out_axes``), except :class:`~brainstate_state.NonBatchState` and States tagged
``'INIT_NO_BATCHING'``, which keep a single (replicated) value.

Random states the function draws from give every lane its own key: the keys are those
``rng.split_key(n)`` returns; afterwards the stream moves to ``split(kept_key)[1]``, where ``kept_key`` is
the key ``split_key(n)`` keeps (brainstate 0.5.4's stream). Existing States
written with a value equal in all lanes are written once; a per-lane write into an existing State raises
:class:`~brainstate_state.BatchAxisError`.

There is no separate discovery ("probe") run, so :func:`in_new_state_probe` is always ``False``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp

from brainstate_state import (
    TRACE_CONTEXT,
    BatchAxisError,
    NonBatchState,
    State,
    StateTraceStack,
    catch_new_states,
    current_jax_trace,
    invalidate_state_value,
    state_error_message,
)

from ._axes import SizeRecord, arg_leaf_description, lane_leaf, leaf_axes, resolve_size
from ._discovery import make_tap
from ._rng import is_random_state

__all__ = ["in_new_state_probe", "map_new_states", "vmap_mapping", "vmap_new_states"]

NO_BATCHING_TAG = "INIT_NO_BATCHING"


def in_new_state_probe() -> bool:
    """Whether a ``*_new_states`` discovery probe is running: always ``False`` in this implementation.

    Older implementations ran the creating function once eagerly (a *probe*) before running it under
    ``vmap``; code with one-shot side effects used this to skip the probe. brainstate's mapping runs the
    creating function exactly once, under the mapping, so there is never a probe to skip.

    Examples
    --------
    >>> from brainstate_mapping import in_new_state_probe
    >>> in_new_state_probe()
    False
    """
    return False


def _is_unbatched_kind(state: State[Any]) -> bool:
    return isinstance(state, NonBatchState) or state.has_tag(NO_BATCHING_TAG)


def map_new_states(
    fn: Callable[..., Any],
    args: tuple[Any, ...],
    *,
    in_axes: Any,
    out_axes: Any,
    axis_name: Any,
    axis_size: int | None,
    state_tag: str | None,
    state_to_exclude: Any,
    new_state_axis: Callable[[State[Any]], int | None],
    mapping: Callable[..., Any],
    name: str,
) -> tuple[Any, list[tuple[State[Any], int | None]]]:
    """Run ``fn(*args)`` once under ``mapping``; return its output and the new States with their axes."""
    leaves, treedef = jax.tree.flatten(args)
    axes = leaf_axes(args, {}, in_axes, name)
    sizes: list[SizeRecord] = []
    for index, (leaf, axis) in enumerate(zip(leaves, axes, strict=True)):
        if axis is not None:
            lane_leaf(leaf, axis, arg_leaf_description(index, len(leaves)), sizes)
    if axis_size is not None:
        sizes.append(("axis_size", int(axis_size)))
    size = resolve_size(sizes, name)
    if size is None:
        raise ValueError(
            f"{name}: the number of State copies is unknown: no argument is mapped and axis_size is not "
            "given. How to fix: pass axis_size=n."
        )
    level = len(TRACE_CONTEXT.stack)
    record: dict[str, Any] = {}

    def lane(index: Any, lane_leaves: list[Any]) -> tuple[Any, list[Any], list[Any]]:
        lane_args = jax.tree.unflatten(treedef, lane_leaves)
        rngs: list[State[Any]] = []
        record["rngs"] = rngs

        def new_arg(state: State[Any], outside: Any) -> Any:
            if is_random_state(state):
                rngs.append(state)
                # The keys ``state.split_key(size)`` returns; the stream is advanced the same way after the run.
                return jax.random.split(outside, size + 1)[1:][index]
            return outside

        with catch_new_states(state_tag, state_to_exclude) as catcher:
            record["catcher"] = catcher
            with StateTraceStack(new_arg, name=f"{name}:new-states") as stack:
                out = fn(*lane_args)
        flags: dict[int, bool] = {}
        record["flags"] = flags
        written = [s for s in stack.get_write_states() if not is_random_state(s)]
        record["written"] = written
        written_values = [
            jax.tree.map(make_tap(flags, -1 - i), stack.value_of(s)) for i, s in enumerate(written)
        ]
        new_states = catcher.get_states()
        new_values = [jax.tree.map(make_tap(flags, i), s.value) for i, s in enumerate(new_states)]
        for state in new_states:
            # The lane values leave the trace as outputs; the States must not keep this trace's tracers.
            invalidate_state_value(
                state, state_error_message(f"This State is still being created by {name}.", state)
            )
        return out, new_values, written_values

    try:
        out, new_values, written_values = mapping(lane, in_axes=(0, axes), out_axes=(out_axes, 0, 0))(
            jnp.arange(size), leaves
        )
    except BaseException:
        catcher = record.get("catcher")
        for state in catcher.states if catcher is not None else ():
            invalidate_state_value(
                state, state_error_message(f"This State was created by {name}, which failed.", state)
            )
        raise
    catcher = record["catcher"]
    flags = record["flags"]
    new_states = catcher.get_states()
    plan: list[tuple[State[Any], int | None]] = []
    for i, state in enumerate(new_states):
        axis = None if _is_unbatched_kind(state) else new_state_axis(state)
        if axis is None and flags.get(i, False):
            for s in new_states:
                invalidate_state_value(
                    s, state_error_message(f"This State was created by {name}, which failed.", s)
                )
            raise BatchAxisError(
                state_error_message(
                    f"{name} created a State that is not batched (a NonBatchState, tagged "
                    f"{NO_BATCHING_TAG!r}, or mapped to axis None) with a value that differs between lanes.",
                    state,
                    "create it with a value that is the same for every lane, or make it a batched State.",
                )
            )
        plan.append((state, axis))
    for i, state in enumerate(record["written"]):
        if flags.get(-1 - i, False):
            for s in new_states:
                invalidate_state_value(
                    s, state_error_message(f"This State was created by {name}, which failed.", s)
                )
            raise BatchAxisError(
                state_error_message(
                    f"{name} wrote a per-lane value into an existing State while creating new States.",
                    state,
                    "write existing States outside the vectorised creation, or with a value equal in all lanes.",
                )
            )
    outer_trace = current_jax_trace()
    for (state, axis), value in zip(plan, new_values, strict=True):
        if axis is None:
            value = jax.tree.map(lambda v: v[0], value)
        elif axis != 0:
            value = jax.tree.map(lambda v, a=axis: jnp.moveaxis(v, 0, a), value)
        # The State was created inside the mapping: it now belongs to the caller's trace level.
        state.stack_level = level
        state.__dict__["_jax_trace"] = outer_trace
        state.restore_value(value)
    for state, value in zip(record["written"], written_values, strict=True):
        state.value = jax.tree.map(lambda v: v[0], value)
    seen: set[int] = set()
    for rng in record["rngs"]:
        if id(rng) not in seen:
            seen.add(id(rng))
            rng.split_key(size)
            # As brainstate 0.5.4: the stream then moves to a key split off the one split_key kept.
            rng.value = jax.random.split(rng.value)[1]
    return out, plan


def vmap_mapping(spmd_axis_name: Any, axis_name: Any) -> Callable[..., Any]:
    def mapping(f: Callable[..., Any], in_axes: Any, out_axes: Any) -> Callable[..., Any]:
        return jax.vmap(
            f, in_axes=in_axes, out_axes=out_axes, axis_name=axis_name, spmd_axis_name=spmd_axis_name
        )

    return mapping


def vmap_new_states(
    fun: Callable[..., Any] | None = None,
    *,
    in_axes: Any = 0,
    out_axes: Any = 0,
    axis_name: Any = None,
    axis_size: int | None = None,
    spmd_axis_name: Any = None,
    state_tag: str | None = None,
    state_to_exclude: Any = None,
    in_states: Any = None,
    out_states: Any = None,
) -> Any:
    """Vectorise the *creation* of States: States created by ``fun`` get a leading batch axis.

    Parameters
    ----------
    fun
        A function that creates States (e.g. ``lambda: net.init_state()``). Without it, a decorator.
    in_axes, out_axes, axis_name, axis_size, spmd_axis_name
        As in ``jax.vmap``; ``axis_size`` is needed when no argument is mapped.
    state_tag
        A tag added to every created State.
    state_to_exclude
        A filter; matching new States are left as created (not collected, not batched).
    in_states, out_states
        Not supported here (they are for :func:`~brainstate_mapping.vmap`); passing them raises.

    Returns
    -------
    Callable
        Runs ``fun`` once under ``jax.vmap`` and returns its (batched) output.

    Raises
    ------
    ValueError
        If ``in_states`` or ``out_states`` is given, or the batch size cannot be told.
    BatchAxisError
        If a ``NonBatchState`` is created with a per-lane value, or an existing State is written per lane.

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> import brainstate_state as bss
    >>> from brainstate_mapping import vmap_new_states
    >>> class Net:
    ...     def init_state(self):
    ...         self.v = bss.HiddenState(jnp.zeros(2))
    >>> net = Net()
    >>> _ = vmap_new_states(lambda: net.init_state(), axis_size=5)()
    >>> net.v.value.shape
    (5, 2)
    """
    if in_states is not None or out_states is not None:
        raise ValueError(
            "vmap_new_states does not take in_states/out_states: it batches the States the function creates. "
            "How to fix: drop them, and use brainstate.transform.vmap to map over existing States."
        )
    if fun is None:
        return functools.partial(
            vmap_new_states,
            in_axes=in_axes,
            out_axes=out_axes,
            axis_name=axis_name,
            axis_size=axis_size,
            spmd_axis_name=spmd_axis_name,
            state_tag=state_tag,
            state_to_exclude=state_to_exclude,
        )
    name = getattr(fun, "__name__", "vmap_new_states")

    @functools.wraps(fun)
    def create(*args: Any) -> Any:
        out, _ = map_new_states(
            fun,
            args,
            in_axes=in_axes,
            out_axes=out_axes,
            axis_name=axis_name,
            axis_size=axis_size,
            state_tag=state_tag,
            state_to_exclude=state_to_exclude,
            new_state_axis=lambda state: 0,
            mapping=vmap_mapping(spmd_axis_name, axis_name),
            name=f"vmap_new_states({name})",
        )
        return out

    return create
