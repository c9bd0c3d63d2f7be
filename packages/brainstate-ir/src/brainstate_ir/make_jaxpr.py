"""``make_jaxpr``: the state-augmented jaxpr of a function, for inspection."""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from typing import Any, Literal, overload

from brainstate_state import State

from ._stateful import StatefulFunction
from .compat import ClosedJaxpr

__all__ = ["make_jaxpr"]


JaxprAndStates = tuple[ClosedJaxpr, tuple[State[Any], ...]]
JaxprStatesAndShapes = tuple[ClosedJaxpr, tuple[State[Any], ...], Any]


@overload
def make_jaxpr(
    fun: Callable[..., Any],
    static_argnums: int | Sequence[int] = (),
    static_argnames: str | Sequence[str] = (),
    axis_env: Sequence[tuple[Hashable, int]] | None = None,
    return_shape: Literal[False] = False,
    return_only_write: bool = False,
) -> Callable[..., JaxprAndStates]: ...


@overload
def make_jaxpr(
    fun: Callable[..., Any],
    static_argnums: int | Sequence[int] = (),
    static_argnames: str | Sequence[str] = (),
    axis_env: Sequence[tuple[Hashable, int]] | None = None,
    *,
    return_shape: Literal[True],
    return_only_write: bool = False,
) -> Callable[..., JaxprStatesAndShapes]: ...


def make_jaxpr(
    fun: Callable[..., Any],
    static_argnums: int | Sequence[int] = (),
    static_argnames: str | Sequence[str] = (),
    axis_env: Sequence[tuple[Hashable, int]] | None = None,
    return_shape: bool = False,
    return_only_write: bool = False,
) -> Callable[..., JaxprAndStates] | Callable[..., JaxprStatesAndShapes]:
    """Create a function that returns the jaxpr of ``fun`` and the States it touches, for given arguments.

    The jaxpr's inputs are the flattened arguments followed by the values of every State ``fun`` reads or
    writes (first-access order); its outputs are the flattened return value followed by the values of the
    States (all of them, or only the written ones with ``return_only_write=True``). Tracing never changes a
    State's value.

    Parameters
    ----------
    fun
        The function to trace. Its arguments and return value are arrays, scalars, or containers of them.
    static_argnums, static_argnames
        Arguments treated as compile-time constants, as in ``jax.jit``.
    axis_env
        ``[(axis_name, size), ...]`` so that collectives over those axis names can be traced.
    return_shape
        Also return the output's shapes as a pytree of ``jax.ShapeDtypeStruct``.
    return_only_write
        Return only the written States' values from the jaxpr (default: all touched States, because
        ``make_jaxpr`` is for inspection and seeing every state flow is usually what one wants).

    Returns
    -------
    Callable
        ``(*args, **kwargs) -> (jaxpr, states)``, or ``(jaxpr, states, out_shapes)`` with ``return_shape``.

    Examples
    --------
    >>> import jax, jax.numpy as jnp
    >>> import brainstate_state as bss
    >>> from brainstate_ir import make_jaxpr
    >>> jaxpr, states = make_jaxpr(lambda x: jnp.sin(jnp.cos(x)))(3.0)
    >>> states
    ()
    >>> state = bss.State(jnp.array([1.0, 2.0]))
    >>> def stateful_f(x):
    ...     state.value += x
    ...     return state.value
    >>> jaxpr, states = make_jaxpr(stateful_f)(jnp.array([0.5, 0.5]))
    >>> states == (state,), len(jaxpr.jaxpr.invars), len(jaxpr.jaxpr.outvars)
    (True, 2, 2)
    >>> state.value   # unchanged
    Array([1., 2.], dtype=float32)
    """
    stateful = StatefulFunction(
        fun,
        static_argnums=static_argnums,
        static_argnames=static_argnames,
        axis_env=axis_env,
        return_only_write=return_only_write,
    )

    def make(*args: Any, **kwargs: Any) -> Any:
        program = stateful.get_program(*args, **kwargs)
        if return_shape:
            return program.jaxpr, program.states, program.out_shapes
        return program.jaxpr, program.states

    make.__name__ = f"make_jaxpr({stateful.name})"
    make.__qualname__ = make.__name__
    return make
