"""``jacrev`` / ``jacobian`` and ``jacfwd``: Jacobians with respect to States and arguments."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Literal, ParamSpec, TypeVar, overload

import jax

from brainstate_state import State

from ._transform import GradientTransform
from ._units import unit_transform

__all__ = ["jacfwd", "jacobian", "jacrev"]

StateLike = State[Any] | Sequence[Any] | dict[Any, Any]

P = ParamSpec("P")
#: The function's return type, its value (with ``has_aux``: the first element) and its auxiliary data.
R = TypeVar("R")
V = TypeVar("V")
A = TypeVar("A")


class JacobianTransform(GradientTransform[P, R]):
    """A :class:`GradientTransform` whose result has the output's structure outside the inputs'.

    For an output pytree ``O`` the result is ``O`` of (gradient structure), as in ``jax.jacrev``.

    Examples
    --------
    >>> from brainstate_autodiff._jacobian import JacobianTransform
    >>> import jax, jax.numpy as jnp
    >>> import brainstate_state as bss
    >>> w = bss.ParamState(jnp.ones(2))
    >>> jac = JacobianTransform(lambda: {'y': 2 * w.value}, jax.jacrev, grad_states=[w])()
    >>> jac['y'][0]
    Array([[2., 0.],
           [0., 2.]], dtype=float32)
    """

    per_output = True

    if TYPE_CHECKING:  # built directly, the call's result is Any (as for GradientTransform)

        def __init__(
            self: JacobianTransform[P, Any], target: Callable[P, Any], *args: Any, **kwargs: Any
        ) -> None: ...


@overload
def jacrev(
    fun: Callable[P, tuple[V, A]],
    grad_states: StateLike | None = None,
    argnums: int | Sequence[int] | None = None,
    *,
    has_aux: Literal[True],
    return_value: Literal[True],
    holomorphic: bool = False,
    allow_int: bool = False,
    unit_aware: bool = False,
    check_states: bool = True,
    debug_nan: bool = False,
) -> JacobianTransform[P, tuple[Any, V, A]]: ...


@overload
def jacrev(
    fun: Callable[P, tuple[Any, A]],
    grad_states: StateLike | None = None,
    argnums: int | Sequence[int] | None = None,
    *,
    has_aux: Literal[True],
    return_value: Literal[False] = False,
    holomorphic: bool = False,
    allow_int: bool = False,
    unit_aware: bool = False,
    check_states: bool = True,
    debug_nan: bool = False,
) -> JacobianTransform[P, tuple[Any, A]]: ...


@overload
def jacrev(
    fun: Callable[P, R],
    grad_states: StateLike | None = None,
    argnums: int | Sequence[int] | None = None,
    *,
    has_aux: Literal[False] | None = None,
    return_value: Literal[True],
    holomorphic: bool = False,
    allow_int: bool = False,
    unit_aware: bool = False,
    check_states: bool = True,
    debug_nan: bool = False,
) -> JacobianTransform[P, tuple[Any, R]]: ...


@overload
def jacrev(
    fun: Callable[P, Any],
    grad_states: StateLike | None = None,
    argnums: int | Sequence[int] | None = None,
    has_aux: bool | None = None,
    return_value: bool = False,
    holomorphic: bool = False,
    allow_int: bool = False,
    unit_aware: bool = False,
    check_states: bool = True,
    *,
    debug_nan: bool = False,
) -> JacobianTransform[P, Any]: ...


def jacrev(
    fun: Callable[..., Any],
    grad_states: StateLike | None = None,
    argnums: int | Sequence[int] | None = None,
    has_aux: bool | None = None,
    return_value: bool = False,
    holomorphic: bool = False,
    allow_int: bool = False,
    unit_aware: bool = False,
    check_states: bool = True,
    **kwargs: Any,
) -> JacobianTransform[..., Any]:
    """Reverse-mode Jacobian with respect to States and/or positional arguments.

    Arguments and return structures as :func:`grad`; the function may return any pytree of arrays, and
    the Jacobian has the output's structure outside the States'/arguments' structure.

    Examples
    --------
    >>> from brainstate_autodiff import jacrev
    >>> import jax.numpy as jnp
    >>> import brainstate_state as bss
    >>> w = bss.ParamState(jnp.array([1.0, 2.0]))
    >>> jacrev(lambda x: w.value * x, grad_states=w)(jnp.array([3.0, 4.0]))
    Array([[3., 0.],
           [0., 4.]], dtype=float32)
    """
    transform = unit_transform("jacrev") if unit_aware else jax.jacrev
    return JacobianTransform(
        fun,
        transform,
        grad_states=grad_states,
        argnums=argnums,
        return_value=return_value,
        has_aux=bool(has_aux),
        transform_params={"holomorphic": holomorphic, "allow_int": allow_int},
        check_states=check_states,
        **kwargs,
    )


#: ``jacobian`` is ``jacrev``.
jacobian = jacrev


@overload
def jacfwd(
    func: Callable[P, tuple[V, A]],
    grad_states: StateLike | None = None,
    argnums: int | Sequence[int] | None = None,
    *,
    has_aux: Literal[True],
    return_value: Literal[True],
    holomorphic: bool = False,
    unit_aware: bool = False,
    check_states: bool = True,
    debug_nan: bool = False,
) -> JacobianTransform[P, tuple[Any, V, A]]: ...


@overload
def jacfwd(
    func: Callable[P, tuple[Any, A]],
    grad_states: StateLike | None = None,
    argnums: int | Sequence[int] | None = None,
    *,
    has_aux: Literal[True],
    return_value: Literal[False] = False,
    holomorphic: bool = False,
    unit_aware: bool = False,
    check_states: bool = True,
    debug_nan: bool = False,
) -> JacobianTransform[P, tuple[Any, A]]: ...


@overload
def jacfwd(
    func: Callable[P, R],
    grad_states: StateLike | None = None,
    argnums: int | Sequence[int] | None = None,
    *,
    has_aux: Literal[False] | None = None,
    return_value: Literal[True],
    holomorphic: bool = False,
    unit_aware: bool = False,
    check_states: bool = True,
    debug_nan: bool = False,
) -> JacobianTransform[P, tuple[Any, R]]: ...


@overload
def jacfwd(
    func: Callable[P, Any],
    grad_states: StateLike | None = None,
    argnums: int | Sequence[int] | None = None,
    has_aux: bool | None = None,
    return_value: bool = False,
    holomorphic: bool = False,
    unit_aware: bool = False,
    check_states: bool = True,
    *,
    debug_nan: bool = False,
) -> JacobianTransform[P, Any]: ...


def jacfwd(
    func: Callable[..., Any],
    grad_states: StateLike | None = None,
    argnums: int | Sequence[int] | None = None,
    has_aux: bool | None = None,
    return_value: bool = False,
    holomorphic: bool = False,
    unit_aware: bool = False,
    check_states: bool = True,
    **kwargs: Any,
) -> JacobianTransform[..., Any]:
    """Forward-mode Jacobian with respect to States and/or positional arguments.

    Same results as :func:`jacrev`, computed with ``jax.jacfwd`` (cheaper for few inputs, many outputs).

    Examples
    --------
    >>> from brainstate_autodiff import jacfwd
    >>> import jax.numpy as jnp
    >>> import brainstate_state as bss
    >>> w = bss.ParamState(jnp.array([1.0, 2.0]))
    >>> jacfwd(lambda x: jnp.sum(w.value * x) * x, argnums=0)(jnp.array([1.0, 1.0]))
    Array([[4., 2.],
           [1., 5.]], dtype=float32)
    """
    transform = unit_transform("jacfwd") if unit_aware else jax.jacfwd
    return JacobianTransform(
        func,
        transform,
        grad_states=grad_states,
        argnums=argnums,
        return_value=return_value,
        has_aux=bool(has_aux),
        transform_params={"holomorphic": holomorphic},
        check_states=check_states,
        **kwargs,
    )
