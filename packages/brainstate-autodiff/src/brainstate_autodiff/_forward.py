"""``fwd_grad``: the forward gradient, an unbiased gradient estimate from forward-mode derivatives only.

For a random normal tangent ``v`` the directional derivative ``d = grad(f) . v`` costs one JVP, and
``E[d v] = grad(f)`` (Baydin et al., 2022, "Gradients without backpropagation"). ``tangent_size=k``
averages ``k`` such estimates in one batched (``vmap``) JVP.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import jax
import jax.numpy as jnp

from brainstate_state import State

from ._transform import GradientTransform
from ._util import as_key, as_tuple, default_key, with_args_replaced

__all__ = ["ForwardGradTransform", "forward_gradient", "fwd_grad"]

StateLike = State[Any] | Sequence[Any] | dict[Any, Any]


def _random_tangent(key: jax.Array, primals: Any) -> Any:
    leaves, treedef = jax.tree.flatten(primals)
    for leaf in leaves:
        if not jnp.issubdtype(jnp.result_type(leaf), jnp.inexact):
            raise TypeError(
                f"fwd_grad differentiates floating-point values only, but got one of dtype "
                f"{jnp.result_type(leaf)}. How to fix: exclude integer States/arguments from grad_states "
                "and argnums, or cast them to float."
            )
    keys = jax.random.split(key, max(len(leaves), 1))
    tangents = [
        jax.random.normal(k, jnp.shape(leaf), jnp.result_type(leaf))
        for k, leaf in zip(keys, leaves, strict=False)
    ]
    return jax.tree.unflatten(treedef, tangents)


def forward_gradient(
    fun: Callable[..., Any],
    argnums: int | Sequence[int] = 0,
    has_aux: bool = False,
    key: Any = None,
    tangent_size: int | None = None,
    drct_der_clip: float | None = None,
) -> Callable[..., Any]:
    """``jax.grad``-like transform computing the forward-gradient estimate of a scalar function.

    Parameters
    ----------
    fun, argnums, has_aux
        As in ``jax.grad``.
    key
        The random key for the tangents (required).
    tangent_size
        Average this many tangents (``None``: one).
    drct_der_clip
        Clip the directional derivatives to ``[-drct_der_clip, drct_der_clip]``.

    Examples
    --------
    >>> from brainstate_autodiff._forward import forward_gradient
    >>> import jax, jax.numpy as jnp
    >>> f = lambda x: jnp.sum(x ** 2)
    >>> g = forward_gradient(f, key=jax.random.key(0), tangent_size=20000)(jnp.array([1.0, -1.0]))
    >>> bool(jnp.allclose(g, jnp.array([2.0, -2.0]), atol=0.1))
    True
    """
    if key is None:
        raise ValueError("forward_gradient needs a random key; pass key=jax.random.key(seed).")
    if tangent_size is not None and (not isinstance(tangent_size, int) or tangent_size < 1):
        raise ValueError(f"tangent_size must be a positive int or None, got {tangent_size!r}.")
    nums = as_tuple(argnums if isinstance(argnums, int) else tuple(argnums))
    key = as_key(key)

    def wrapped(*args: Any, **kwargs: Any) -> Any:
        partial = with_args_replaced(fun, args, kwargs, nums)
        primals = tuple(args[i] for i in nums)

        def estimate(k: jax.Array) -> tuple[Any, Any, Any]:
            tangents = _random_tangent(k, primals)
            if has_aux:
                out, derivative, aux = jax.jvp(partial, primals, tangents, has_aux=True)
            else:
                out, derivative = jax.jvp(partial, primals, tangents)
                aux = None
            if jnp.shape(out) != ():
                raise TypeError(
                    f"fwd_grad needs a scalar-valued function, but it returned shape {jnp.shape(out)}. "
                    "How to fix: reduce the output (e.g. jnp.sum or jnp.mean), or use jacfwd."
                )
            if drct_der_clip is not None:
                derivative = jnp.clip(derivative, -drct_der_clip, drct_der_clip)
            grads = jax.tree.map(lambda t: t * derivative, tangents)
            return grads, out, aux

        if tangent_size is None:
            grads, _, aux = estimate(key)
        else:
            keys = jax.random.split(key, tangent_size)
            batched, _, aux = jax.vmap(estimate, out_axes=(0, None, None))(keys)
            grads = jax.tree.map(lambda g: jnp.mean(g, axis=0), batched)
        grads = grads[0] if isinstance(argnums, int) else grads
        return (grads, aux) if has_aux else grads

    return wrapped


class ForwardGradTransform(GradientTransform[..., Any]):
    """A :class:`GradientTransform` over :func:`forward_gradient` that draws a fresh key per call.

    Examples
    --------
    >>> from brainstate_autodiff._forward import forward_gradient
    >>> from brainstate_autodiff._forward import ForwardGradTransform
    >>> import jax, jax.numpy as jnp
    >>> import brainstate_state as bss
    >>> w = bss.ParamState(jnp.array([1.0, 2.0]))
    >>> g = ForwardGradTransform(lambda: jnp.sum(w.value), forward_gradient, grad_states=w,
    ...                          transform_params={'key': jax.random.key(1), 'tangent_size': 4})
    >>> g().shape
    (2,)
    """

    def _call_transform_params(self) -> dict[str, Any]:
        params = dict(self.transform_params)
        if params.get("key") is None:
            params["key"] = default_key()
        return params


def fwd_grad(
    func: Callable[..., Any] | None = None,
    grad_states: StateLike | None = None,
    argnums: int | Sequence[int] | None = None,
    return_value: bool = False,
    has_aux: bool | None = None,
    tangent_size: int | None = None,
    drct_der_clip: float | None = None,
    key: Any = None,
    **kwargs: Any,
) -> Any:
    """Forward gradient of a scalar function with respect to States and/or arguments.

    An unbiased, noisy estimate of :func:`grad` computed with forward-mode derivatives only: for random
    normal tangents ``v`` it returns ``v * (grad . v)`` (averaged over ``tangent_size`` tangents). Return
    structures as :func:`grad`.

    Parameters
    ----------
    func, grad_states, argnums, return_value, has_aux
        As in :func:`grad`.
    tangent_size
        Number of random tangents averaged (``None``: one, without a batch axis).
    drct_der_clip
        Clip each directional derivative to ``[-drct_der_clip, drct_der_clip]``.
    key
        Random key for the tangents. ``None`` draws a new one on every call from brainstate's global
        random state (``brainstate_state.random.split_key()``); a fixed key gives the same tangents every
        call.

    Examples
    --------
    >>> from brainstate_autodiff import fwd_grad
    >>> import jax, jax.numpy as jnp
    >>> import brainstate_state as bss
    >>> w = bss.ParamState(jnp.array([1.0, -1.0]))
    >>> g = fwd_grad(lambda: jnp.sum(w.value ** 2), w, tangent_size=20000, key=jax.random.key(0))()
    >>> bool(jnp.allclose(g, 2 * w.value, atol=0.1))
    True
    """
    if func is None:

        def decorator(f: Callable[..., Any]) -> ForwardGradTransform:
            return fwd_grad(  # type: ignore[no-any-return]
                f, grad_states, argnums, return_value, has_aux, tangent_size, drct_der_clip, key, **kwargs
            )

        return decorator
    if tangent_size is not None and (not isinstance(tangent_size, int) or tangent_size < 1):
        raise ValueError(f"tangent_size must be a positive int or None, got {tangent_size!r}.")
    return ForwardGradTransform(
        func,
        forward_gradient,
        grad_states=grad_states,
        argnums=argnums,
        return_value=return_value,
        has_aux=bool(has_aux),
        transform_params={
            "key": None if key is None else as_key(key),
            "tangent_size": tangent_size,
            "drct_der_clip": drct_der_clip,
        },
        **kwargs,
    )
