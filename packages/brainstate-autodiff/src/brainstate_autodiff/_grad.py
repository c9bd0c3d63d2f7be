"""``grad`` and ``vector_grad``: reverse-mode gradients with respect to States and arguments."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Literal, ParamSpec, TypeVar, overload

import jax
import jax.numpy as jnp

from brainstate_state import State

from ._transform import GradientTransform
from ._units import unit_transform
from ._util import as_tuple, with_args_replaced

__all__ = ["grad", "vector_grad_transform"]

StateLike = State[Any] | Sequence[Any] | dict[Any, Any]

P = ParamSpec("P")
#: The function's return type, its value (with ``has_aux``: the first element) and its auxiliary data.
R = TypeVar("R")
V = TypeVar("V")
A = TypeVar("A")


@overload
def grad(
    fun: Callable[P, tuple[V, A]],
    grad_states: StateLike | None = None,
    argnums: int | Sequence[int] | None = None,
    holomorphic: bool = False,
    allow_int: bool = False,
    *,
    has_aux: Literal[True],
    return_value: Literal[True],
    unit_aware: bool = False,
    check_states: bool = True,
    debug_nan: bool = False,
) -> GradientTransform[P, tuple[Any, V, A]]: ...


@overload
def grad(
    fun: Callable[P, tuple[Any, A]],
    grad_states: StateLike | None = None,
    argnums: int | Sequence[int] | None = None,
    holomorphic: bool = False,
    allow_int: bool = False,
    *,
    has_aux: Literal[True],
    return_value: Literal[False] = False,
    unit_aware: bool = False,
    check_states: bool = True,
    debug_nan: bool = False,
) -> GradientTransform[P, tuple[Any, A]]: ...


@overload
def grad(
    fun: Callable[P, R],
    grad_states: StateLike | None = None,
    argnums: int | Sequence[int] | None = None,
    holomorphic: bool = False,
    allow_int: bool = False,
    *,
    has_aux: Literal[False] | None = None,
    return_value: Literal[True],
    unit_aware: bool = False,
    check_states: bool = True,
    debug_nan: bool = False,
) -> GradientTransform[P, tuple[Any, R]]: ...


@overload
def grad(
    fun: Callable[P, Any],
    grad_states: StateLike | None = None,
    argnums: int | Sequence[int] | None = None,
    holomorphic: bool = False,
    allow_int: bool = False,
    has_aux: bool | None = None,
    return_value: bool = False,
    unit_aware: bool = False,
    check_states: bool = True,
    *,
    debug_nan: bool = False,
) -> GradientTransform[P, Any]: ...


@overload
def grad(
    fun: None = None,
    grad_states: StateLike | None = None,
    argnums: int | Sequence[int] | None = None,
    holomorphic: bool = False,
    allow_int: bool = False,
    *,
    has_aux: Literal[True],
    return_value: Literal[True],
    unit_aware: bool = False,
    check_states: bool = True,
    debug_nan: bool = False,
) -> Callable[[Callable[P, tuple[V, A]]], GradientTransform[P, tuple[Any, V, A]]]: ...


@overload
def grad(
    fun: None = None,
    grad_states: StateLike | None = None,
    argnums: int | Sequence[int] | None = None,
    holomorphic: bool = False,
    allow_int: bool = False,
    *,
    has_aux: Literal[True],
    return_value: Literal[False] = False,
    unit_aware: bool = False,
    check_states: bool = True,
    debug_nan: bool = False,
) -> Callable[[Callable[P, tuple[Any, A]]], GradientTransform[P, tuple[Any, A]]]: ...


@overload
def grad(
    fun: None = None,
    grad_states: StateLike | None = None,
    argnums: int | Sequence[int] | None = None,
    holomorphic: bool = False,
    allow_int: bool = False,
    *,
    has_aux: Literal[False] | None = None,
    return_value: Literal[True],
    unit_aware: bool = False,
    check_states: bool = True,
    debug_nan: bool = False,
) -> Callable[[Callable[P, R]], GradientTransform[P, tuple[Any, R]]]: ...


@overload
def grad(
    fun: None = None,
    grad_states: StateLike | None = None,
    argnums: int | Sequence[int] | None = None,
    holomorphic: bool = False,
    allow_int: bool = False,
    has_aux: bool | None = None,
    return_value: bool = False,
    unit_aware: bool = False,
    check_states: bool = True,
    *,
    debug_nan: bool = False,
) -> Callable[[Callable[P, Any]], GradientTransform[P, Any]]: ...


def grad(
    fun: Callable[..., Any] | None = None,
    grad_states: StateLike | None = None,
    argnums: int | Sequence[int] | None = None,
    holomorphic: bool = False,
    allow_int: bool = False,
    has_aux: bool | None = None,
    return_value: bool = False,
    unit_aware: bool = False,
    check_states: bool = True,
    **kwargs: Any,
) -> GradientTransform[..., Any] | Callable[..., GradientTransform[..., Any]]:
    """Gradient of a scalar function with respect to States and/or positional arguments.

    Parameters
    ----------
    fun
        The scalar-valued function (``(value, aux)`` with ``has_aux``). Omit it to use ``grad`` as a
        decorator: ``@grad(grad_states=params)``.
    grad_states
        States to differentiate with respect to (a State, a list/tuple/dict or pytree of States; a
        ``model.states(ParamState)`` dict gives a plain dict of gradients with the same path keys).
    argnums
        Positional arguments to differentiate (int or tuple). Default: none with ``grad_states``, else 0.
    holomorphic, allow_int
        As in ``jax.grad``.
    has_aux
        ``fun`` returns ``(value, aux)``; ``aux`` is returned last.
    return_value
        Also return the value: ``(grads, value)`` (``(grads, value, aux)`` with ``has_aux``).
    unit_aware
        Differentiate with ``brainunit.autograd.grad`` (needs ``pip install brainstate-autodiff[units]``).
    check_states
        Raise if a ``grad_states`` entry is never read (else its gradient is zero).
    **kwargs
        Further options of :class:`GradientTransform` (``debug_nan``).

    Returns
    -------
    GradientTransform
        A callable with the arguments of ``fun``, returning the structures listed in
        :class:`GradientTransform`. It traces ``fun`` once per argument signature.

    Examples
    --------
    >>> from brainstate_autodiff import grad
    >>> import jax.numpy as jnp
    >>> import brainstate_state as bss
    >>> w = bss.ParamState(jnp.array([1.0, -2.0]), name='w')
    >>> def loss(x):
    ...     return jnp.sum((w.value * x) ** 2)
    >>> grad(loss, w)(jnp.array([1.0, 1.0]))
    Array([ 2., -4.], dtype=float32)
    >>> @grad(grad_states={'w': w}, argnums=0, return_value=True)
    ... def loss2(x):
    ...     return jnp.sum(w.value * x)
    >>> (gs, gx), value = loss2(jnp.array([3.0, 4.0]))
    >>> gs['w'], gx, value
    (Array([3., 4.], dtype=float32), Array([ 1., -2.], dtype=float32), Array(-5., dtype=float32))
    """
    if fun is None:

        def decorator(f: Callable[..., Any]) -> GradientTransform[..., Any]:
            return grad(
                f,
                grad_states,
                argnums,
                holomorphic,
                allow_int,
                has_aux,
                return_value,
                unit_aware,
                check_states,
                **kwargs,
            )

        return decorator
    transform = unit_transform("grad") if unit_aware else jax.grad
    return GradientTransform(
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


def vector_grad_transform(
    fun: Callable[..., Any], argnums: int | Sequence[int] = 0, has_aux: bool = False
) -> Callable[..., Any]:
    """``jax.grad``-like transform for vector outputs: the VJP with an all-ones cotangent.

    The result equals ``jax.grad(lambda *a: fun(*a).sum())``, computed with one VJP.

    Examples
    --------
    >>> from brainstate_autodiff._grad import vector_grad_transform
    >>> import jax.numpy as jnp
    >>> vector_grad_transform(lambda x: x ** 2)(jnp.array([1.0, 2.0]))
    Array([2., 4.], dtype=float32)
    """
    nums = as_tuple(argnums if isinstance(argnums, int) else tuple(argnums))

    def wrapped(*args: Any, **kwargs: Any) -> Any:
        partial = with_args_replaced(fun, args, kwargs, nums)
        primals = [args[i] for i in nums]
        if has_aux:
            out, vjp_fn, aux = jax.vjp(partial, *primals, has_aux=True)
        else:
            out, vjp_fn = jax.vjp(partial, *primals)
            aux = None
        cotangents = vjp_fn(jax.tree.map(jnp.ones_like, out))
        grads = cotangents[0] if isinstance(argnums, int) else tuple(cotangents)
        return (grads, aux) if has_aux else grads

    return wrapped
