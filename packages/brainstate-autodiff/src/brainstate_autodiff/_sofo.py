"""``sofo_grad``: second-order forward-mode optimisation (SOFO) steps.

Yu et al., NeurIPS 2024, "Second-order forward-mode optimization of recurrent neural networks for
neuroscience". With parameters ``theta`` (the differentiated States and arguments, flattened to ``P``
numbers), network output ``y = f(theta)`` and loss ``L(y)``:

1. draw ``K = min(tangent_size, P)`` random orthonormal tangent directions ``V`` (``P x K``);
2. one batched forward-mode pass (``vmap`` of ``jvp``) gives the output directions ``J V`` and the loss
   directions ``V^T g`` (``g`` the gradient), without any reverse pass;
3. form the Gauss-Newton matrix in that subspace, ``G = (J V)^T H_L (J V)``, with the analytic loss
   Hessian ``H_L`` of the mean squared error (``'mse'``) or softmax cross-entropy (``'ce'``);
4. solve ``(G + damping I) a = V^T g`` and return the update ``V a`` in the gradient's structure.

With ``K = P`` the update is exactly the damped Gauss-Newton step ``(J^T H_L J + damping I)^{-1} g``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Literal

import jax
import jax.numpy as jnp
from jax.flatten_util import ravel_pytree

from brainstate_state import State

from ._transform import Carry, GradientTransform
from ._util import as_key, as_tuple, default_key, with_args_replaced

__all__ = ["SofoTransform", "gauss_newton_subspace", "sofo_grad", "sofo_transform"]

StateLike = State[Any] | Sequence[Any] | dict[Any, Any]
LossKind = Literal["mse", "ce"]


def gauss_newton_subspace(output_tangents: jax.Array, output: jax.Array, loss: LossKind) -> jax.Array:
    """``(J V)^T H_L (J V)`` for output directions ``J V`` (``K x *output.shape``) and an analytic ``H_L``.

    ``'mse'`` assumes ``L = mean((y - t) ** 2)`` over all ``N`` elements, so ``H_L = 2/N I``. ``'ce'``
    assumes ``L = mean over rows of -sum(t * log_softmax(y, axis=-1))``, so each row's Hessian is
    ``(diag(p) - p p^T) / rows`` with ``p = softmax(y)``.

    Examples
    --------
    >>> from brainstate_autodiff._sofo import gauss_newton_subspace
    >>> import jax.numpy as jnp
    >>> gauss_newton_subspace(jnp.eye(2), jnp.zeros(2), 'mse')
    Array([[1., 0.],
           [0., 1.]], dtype=float32)
    """
    k = output_tangents.shape[0]
    if loss == "mse":
        flat = output_tangents.reshape(k, -1)
        return (2.0 / output.size) * flat @ flat.T
    if loss == "ce":
        classes = output.shape[-1] if output.ndim else 1
        p = jax.nn.softmax(output.reshape(-1, classes), axis=-1)
        u = output_tangents.reshape(k, -1, classes)
        rows = p.shape[0]
        first = jnp.einsum("kbc,bc,lbc->kl", u, p, u)
        pu = jnp.einsum("kbc,bc->kb", u, p)
        return (first - pu @ pu.T) / rows
    raise ValueError(f"loss must be 'mse' or 'ce', got {loss!r}.")


def sofo_transform(
    fun: Callable[..., Any],
    argnums: int | Sequence[int] = 0,
    has_aux: bool = False,
    *,
    loss_fn: Callable[[Any], Any],
    loss: LossKind = "mse",
    tangent_size: int = 100,
    damping: float = 1e-5,
    key: Any = None,
) -> Callable[..., Any]:
    """``jax.grad``-like transform returning the SOFO update of ``loss_fn(fun(*args))``.

    The transformed function returns ``(update, aux)`` with ``has_aux`` (``fun`` returning ``(output,
    aux)``), else ``update``. When ``aux`` is a :class:`Carry` (as inside :class:`GradientTransform`), its
    ``value`` is replaced by the loss.

    Examples
    --------
    >>> from brainstate_autodiff._sofo import sofo_transform
    >>> import jax, jax.numpy as jnp
    >>> f = lambda w: w * jnp.array([1.0, 2.0])
    >>> step = sofo_transform(f, loss_fn=lambda y: jnp.mean((y - 1.0) ** 2), tangent_size=1, damping=0.0,
    ...                       key=jax.random.key(0))(jnp.array(0.0))
    >>> float(step)   # Gauss-Newton step towards the least-squares w = 0.6
    -0.6...
    """
    if key is None:
        raise ValueError("sofo_transform needs a random key; pass key=jax.random.key(seed).")
    nums = as_tuple(argnums if isinstance(argnums, int) else tuple(argnums))
    key = as_key(key)

    def wrapped(*args: Any, **kwargs: Any) -> Any:
        partial = with_args_replaced(fun, args, kwargs, nums)
        primals = tuple(args[i] for i in nums)
        flat, unravel = ravel_pytree(primals)
        if not jnp.issubdtype(flat.dtype, jnp.inexact):
            raise TypeError("sofo_grad differentiates floating-point parameters only.")
        n_params = flat.size
        k = min(tangent_size, n_params)
        basis = jax.random.normal(key, (n_params, k), flat.dtype)
        directions, _ = jnp.linalg.qr(basis)  # P x K, orthonormal columns

        def along(v: jax.Array) -> tuple[Any, ...]:
            if has_aux:
                out, out_tangent, aux = jax.jvp(partial, primals, unravel(v), has_aux=True)
            else:
                out, out_tangent = jax.jvp(partial, primals, unravel(v))
                aux = None
            if not isinstance(out, jax.Array) and not hasattr(out, "shape"):
                raise TypeError(
                    f"sofo_grad needs the network function to return one array, got {type(out).__name__}. "
                    "How to fix: return the prediction array (and put other outputs in aux with has_aux)."
                )
            value, loss_tangent = jax.jvp(loss_fn, (out,), (out_tangent,))
            return out_tangent, loss_tangent, out, value, aux

        out_tangents, loss_tangents, out, value, aux = jax.vmap(along, out_axes=(0, 0, None, None, None))(
            directions.T
        )
        gn = gauss_newton_subspace(out_tangents, out, loss)
        coeffs = jnp.linalg.solve(gn + damping * jnp.eye(k, dtype=gn.dtype), loss_tangents)
        update = unravel(directions @ coeffs)
        update = update[0] if isinstance(argnums, int) else update
        if isinstance(aux, Carry):
            aux = aux._replace(value=value)
        return (update, aux) if has_aux else update

    return wrapped


class SofoTransform(GradientTransform[..., Any]):
    """A :class:`GradientTransform` over :func:`sofo_transform` that draws a fresh key per call.

    Examples
    --------
    >>> from brainstate_autodiff._sofo import sofo_transform
    >>> from brainstate_autodiff._sofo import SofoTransform
    >>> import jax, jax.numpy as jnp
    >>> import brainstate_state as bss
    >>> w = bss.ParamState(jnp.array([0.0, 0.0]))
    >>> sofo = SofoTransform(lambda: w.value * 2, sofo_transform, grad_states=w,
    ...                      transform_params={'loss_fn': lambda y: jnp.mean((y - 1) ** 2),
    ...                                        'key': jax.random.key(0), 'damping': 0.0})
    >>> sofo().round(4)   # the exact Gauss-Newton step (2 parameters, 2 tangents)
    Array([-0.5, -0.5], dtype=float32)
    """

    def _call_transform_params(self) -> dict[str, Any]:
        params = dict(self.transform_params)
        if params.get("key") is None:
            params["key"] = default_key()
        return params


def sofo_grad(
    fun: Callable[..., Any],
    loss_fn: Callable[[Any], Any],
    grad_states: StateLike | None = None,
    argnums: int | Sequence[int] | None = None,
    has_aux: bool | None = None,
    return_value: bool = False,
    check_states: bool = True,
    loss: LossKind = "mse",
    tangent_size: int = 100,
    damping: float = 1e-5,
    key: Any = None,
) -> SofoTransform:
    """Second-order forward-mode (SOFO) update with respect to States and/or arguments.

    Parameters
    ----------
    fun
        The network: returns the prediction array (``(prediction, aux)`` with ``has_aux``).
    loss_fn
        ``loss_fn(prediction) -> scalar``; targets are closed over. Its Hessian must be that of ``loss``.
    grad_states, argnums, has_aux, return_value, check_states
        As in :func:`grad`; ``return_value`` returns the loss.
    loss
        ``'mse'`` (``mean((y - t) ** 2)`` over all elements) or ``'ce'`` (softmax cross-entropy of
        logits on the last axis, averaged over the other axes).
    tangent_size
        Number of random tangent directions (capped at the number of parameters).
    damping
        Added to the subspace Gauss-Newton matrix's diagonal.
    key
        Random key for the directions; ``None`` draws one per call from the global random state.

    Returns
    -------
    SofoTransform
        Its calls return the update ``V a`` (subtract ``lr * update`` to descend) in the structure of the
        gradient, then the loss and aux as for :func:`grad`.

    Examples
    --------
    >>> from brainstate_autodiff import sofo_grad
    >>> import jax, jax.numpy as jnp
    >>> import brainstate_state as bss
    >>> w = bss.ParamState(jnp.zeros((2, 1)))
    >>> x, y = jnp.array([[1.0, 0.0], [0.0, 1.0]]), jnp.array([[1.0], [2.0]])
    >>> step = sofo_grad(lambda: x @ w.value, lambda out: jnp.mean((out - y) ** 2), w,
    ...                  return_value=True, damping=1e-6, key=jax.random.key(0))
    >>> update, loss = step()
    >>> w.value = w.value - update
    >>> float(loss), bool(jnp.allclose(w.value, y, atol=1e-3))
    (2.5, True)
    """
    if loss not in ("mse", "ce"):
        raise ValueError(f"loss must be 'mse' or 'ce', got {loss!r}.")
    if isinstance(tangent_size, bool) or not isinstance(tangent_size, int) or tangent_size < 1:
        raise ValueError(f"tangent_size must be a positive int, got {tangent_size!r}.")
    if not damping >= 0:
        raise ValueError(f"damping must be non-negative, got {damping!r}.")
    if not callable(loss_fn):
        raise TypeError(f"loss_fn must be callable, got {type(loss_fn).__name__}.")
    return SofoTransform(
        fun,
        sofo_transform,
        grad_states=grad_states,
        argnums=argnums,
        return_value=return_value,
        has_aux=bool(has_aux),
        transform_params={
            "loss_fn": loss_fn,
            "loss": loss,
            "tangent_size": tangent_size,
            "damping": damping,
            "key": None if key is None else as_key(key),
        },
        check_states=check_states,
    )
