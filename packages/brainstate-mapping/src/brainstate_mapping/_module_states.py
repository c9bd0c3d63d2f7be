"""``vmap2_new_states`` and ``pmap2_new_states``: create a module's States many times at once.

Both run ``module.init_all_states(**init_kwargs)`` once under ``jax.vmap`` / ``jax.pmap`` (see
:mod:`brainstate_mapping._new_states` for how the created States receive their batched values) and
return the new States grouped by batch axis.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax

from brainstate_state import State

from ._new_states import map_new_states, vmap_mapping
from ._state_axes import normalize_filter_axes

__all__ = ["pmap2_new_states", "vmap2_new_states"]


def _grouped(plan: list[tuple[State[Any], int | None]]) -> dict[int | None, list[State[Any]]]:
    groups: dict[int | None, list[State[Any]]] = {}
    for state, axis in plan:
        groups.setdefault(axis, []).append(state)
    return groups


def _axis_resolver(state_out_axes: Any) -> Callable[[State[Any]], int | None]:
    rules = normalize_filter_axes(state_out_axes, "state_out_axes")

    def resolve(state: State[Any]) -> int | None:
        for axis, predicate in rules:
            if predicate((), state):
                return axis
        return 0

    return resolve


def _init_fn(module: Any, init_kwargs: dict[str, Any] | None) -> Callable[[], None]:
    if not hasattr(module, "init_all_states"):
        raise TypeError(
            f"expected an nn.Module (with init_all_states), got {type(module).__name__}. How to fix: pass the "
            "module whose init_state methods create the States."
        )
    kwargs = dict(init_kwargs or {})

    def init() -> None:
        module.init_all_states(**kwargs)

    return init


def vmap2_new_states(
    module: Any,
    init_kwargs: dict[str, Any] | None,
    state_tag: str | None = None,
    axis_size: int | None = None,
    state_out_axes: Any = None,
    spmd_axis_name: Any = None,
) -> dict[int | None, list[State[Any]]]:
    """Create a module's States ``axis_size`` times at once: ``module.init_all_states(**init_kwargs)`` under vmap.

    Parameters
    ----------
    module
        An ``nn.Module``.
    init_kwargs
        Keyword arguments of ``init_all_states`` (``None`` for none).
    state_tag
        A tag added to every created State.
    axis_size
        The number of copies (required).
    state_out_axes
        ``{axis: filter}`` or a filter (axis 0): the batch axis of matching new States (others: axis 0).
    spmd_axis_name
        As in ``jax.vmap``.

    Returns
    -------
    dict
        ``{axis: [States]}``: the created States grouped by batch axis (``None``: replicated).

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> import brainstate_state as bss
    >>> from brainstate_mapping import vmap2_new_states
    >>> class Cell(bss.nn.Module):
    ...     def init_state(self):
    ...         self.v = bss.HiddenState(jnp.zeros(2))
    >>> groups = vmap2_new_states(Cell(), {}, axis_size=3)
    >>> [s.value.shape for s in groups[0]]
    [(3, 2)]
    """
    if axis_size is None:
        raise ValueError(
            "vmap2_new_states needs axis_size (the number of State copies). How to fix: pass axis_size=n."
        )
    _, plan = map_new_states(
        _init_fn(module, init_kwargs),
        (),
        in_axes=0,
        out_axes=0,
        axis_name=None,
        axis_size=axis_size,
        state_tag=state_tag,
        state_to_exclude=None,
        new_state_axis=_axis_resolver(state_out_axes),
        mapping=vmap_mapping(spmd_axis_name, None),
        name=f"vmap2_new_states({type(module).__name__})",
    )
    return _grouped(plan)


def pmap2_new_states(
    module: Any,
    init_kwargs: dict[str, Any] | None,
    state_tag: str | None = None,
    axis_size: int | None = None,
    state_out_axes: Any = None,
    axis_name: Any = None,
) -> dict[int | None, list[State[Any]]]:
    """Like :func:`vmap2_new_states`, one copy per device with ``jax.pmap``.

    Parameters
    ----------
    module, init_kwargs, state_tag, state_out_axes
        See :func:`vmap2_new_states`.
    axis_size
        The number of copies (default: ``jax.local_device_count()``).
    axis_name
        The pmap axis name.

    Returns
    -------
    dict
        ``{axis: [States]}``.

    Examples
    --------
    >>> import jax, jax.numpy as jnp
    >>> import brainstate_state as bss
    >>> from brainstate_mapping import pmap2_new_states
    >>> class Cell(bss.nn.Module):
    ...     def init_state(self):
    ...         self.v = bss.HiddenState(jnp.zeros(2))
    >>> groups = pmap2_new_states(Cell(), {})
    >>> groups[0][0].value.shape == (jax.local_device_count(), 2)
    True
    """
    size = jax.local_device_count() if axis_size is None else int(axis_size)

    def mapping(f: Callable[..., Any], in_axes: Any, out_axes: Any) -> Callable[..., Any]:
        mapped: Callable[..., Any] = jax.pmap(
            f, axis_name=axis_name, in_axes=in_axes, out_axes=out_axes, axis_size=size
        )
        return mapped

    _, plan = map_new_states(
        _init_fn(module, init_kwargs),
        (),
        in_axes=0,
        out_axes=0,
        axis_name=axis_name,
        axis_size=size,
        state_tag=state_tag,
        state_to_exclude=None,
        new_state_axis=_axis_resolver(state_out_axes),
        mapping=mapping,
        name=f"pmap2_new_states({type(module).__name__})",
    )
    return _grouped(plan)
