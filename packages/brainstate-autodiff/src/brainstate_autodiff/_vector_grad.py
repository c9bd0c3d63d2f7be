"""``vector_grad``: the gradient of the sum of a vector-valued function's outputs, i.e. its VJP with ones."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Literal, ParamSpec, TypeVar, overload

from brainstate_state import State

from ._grad import vector_grad_transform
from ._transform import GradientTransform
from ._units import unit_transform

__all__ = ["vector_grad"]

StateLike = State[Any] | Sequence[Any] | dict[Any, Any]

P = ParamSpec("P")
#: The function's return type, its value (with ``has_aux``: the first element) and its auxiliary data.
R = TypeVar("R")
V = TypeVar("V")
A = TypeVar("A")


@overload
def vector_grad(
    func: Callable[P, tuple[V, A]],
    grad_states: StateLike | None = None,
    argnums: int | Sequence[int] | None = None,
    *,
    has_aux: Literal[True],
    return_value: Literal[True],
    unit_aware: bool = False,
    check_states: bool = True,
    debug_nan: bool = False,
) -> GradientTransform[P, tuple[Any, V, A]]: ...


@overload
def vector_grad(
    func: Callable[P, tuple[Any, A]],
    grad_states: StateLike | None = None,
    argnums: int | Sequence[int] | None = None,
    *,
    has_aux: Literal[True],
    return_value: Literal[False] = False,
    unit_aware: bool = False,
    check_states: bool = True,
    debug_nan: bool = False,
) -> GradientTransform[P, tuple[Any, A]]: ...


@overload
def vector_grad(
    func: Callable[P, R],
    grad_states: StateLike | None = None,
    argnums: int | Sequence[int] | None = None,
    *,
    has_aux: Literal[False] | None = None,
    return_value: Literal[True],
    unit_aware: bool = False,
    check_states: bool = True,
    debug_nan: bool = False,
) -> GradientTransform[P, tuple[Any, R]]: ...


@overload
def vector_grad(
    func: Callable[P, Any],
    grad_states: StateLike | None = None,
    argnums: int | Sequence[int] | None = None,
    return_value: bool = False,
    has_aux: bool | None = None,
    unit_aware: bool = False,
    check_states: bool = True,
    *,
    debug_nan: bool = False,
) -> GradientTransform[P, Any]: ...


@overload
def vector_grad(
    func: None = None,
    grad_states: StateLike | None = None,
    argnums: int | Sequence[int] | None = None,
    *,
    has_aux: Literal[True],
    return_value: Literal[True],
    unit_aware: bool = False,
    check_states: bool = True,
    debug_nan: bool = False,
) -> Callable[[Callable[P, tuple[V, A]]], GradientTransform[P, tuple[Any, V, A]]]: ...


@overload
def vector_grad(
    func: None = None,
    grad_states: StateLike | None = None,
    argnums: int | Sequence[int] | None = None,
    *,
    has_aux: Literal[True],
    return_value: Literal[False] = False,
    unit_aware: bool = False,
    check_states: bool = True,
    debug_nan: bool = False,
) -> Callable[[Callable[P, tuple[Any, A]]], GradientTransform[P, tuple[Any, A]]]: ...


@overload
def vector_grad(
    func: None = None,
    grad_states: StateLike | None = None,
    argnums: int | Sequence[int] | None = None,
    *,
    has_aux: Literal[False] | None = None,
    return_value: Literal[True],
    unit_aware: bool = False,
    check_states: bool = True,
    debug_nan: bool = False,
) -> Callable[[Callable[P, R]], GradientTransform[P, tuple[Any, R]]]: ...


@overload
def vector_grad(
    func: None = None,
    grad_states: StateLike | None = None,
    argnums: int | Sequence[int] | None = None,
    return_value: bool = False,
    has_aux: bool | None = None,
    unit_aware: bool = False,
    check_states: bool = True,
    *,
    debug_nan: bool = False,
) -> Callable[[Callable[P, Any]], GradientTransform[P, Any]]: ...


def vector_grad(
    func: Callable[..., Any] | None = None,
    grad_states: StateLike | None = None,
    argnums: int | Sequence[int] | None = None,
    return_value: bool = False,
    has_aux: bool | None = None,
    unit_aware: bool = False,
    check_states: bool = True,
    **kwargs: Any,
) -> GradientTransform[..., Any] | Callable[..., GradientTransform[..., Any]]:
    """Gradient of a vector-valued function, i.e. the VJP with an implicit all-ones cotangent.

    Same arguments and return structures as :func:`grad`; the function may return any array (or pytree
    of arrays), and the result is the gradient of the sum of its elements. Implemented with JAX alone
    (``unit_aware=True`` uses ``brainunit.autograd.vector_grad``).

    Examples
    --------
    >>> from brainstate_autodiff import vector_grad
    >>> import jax.numpy as jnp
    >>> import brainstate_state as bss
    >>> w = bss.ParamState(jnp.array([1.0, 2.0, 3.0]))
    >>> vector_grad(lambda x: w.value * x, w, return_value=True)(jnp.array([2.0, 2.0, 2.0]))
    (Array([2., 2., 2.], dtype=float32), Array([2., 4., 6.], dtype=float32))
    """
    if func is None:

        def decorator(f: Callable[..., Any]) -> GradientTransform[..., Any]:
            return vector_grad(
                f, grad_states, argnums, return_value, has_aux, unit_aware, check_states, **kwargs
            )

        return decorator
    transform = unit_transform("vector_grad") if unit_aware else vector_grad_transform
    return GradientTransform(
        func,
        transform,
        grad_states=grad_states,
        argnums=argnums,
        return_value=return_value,
        has_aux=bool(has_aux),
        check_states=check_states,
        **kwargs,
    )
