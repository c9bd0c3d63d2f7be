"""``hessian``: dense second derivatives with respect to States or arguments."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Literal, ParamSpec, TypeVar, overload

import jax

from brainstate_state import State

from ._jacobian import JacobianTransform
from ._units import unit_transform

__all__ = ["hessian"]

StateLike = State[Any] | Sequence[Any] | dict[Any, Any]

P = ParamSpec("P")
#: The function's return type, its value (with ``has_aux``: the first element) and its auxiliary data.
R = TypeVar("R")
V = TypeVar("V")
A = TypeVar("A")


class HessianTransform(JacobianTransform[P, R]):
    """A :class:`GradientTransform` for Hessians: the blocks are nested in the structure of ``grad_states``.

    For ``grad_states=[a, b]`` the result is ``[[Haa, Hab], [Hba, Hbb]]``; for a dict
    ``{'a': {'a': Haa, 'b': Hab}, 'b': {...}}``.

    Examples
    --------
    >>> from brainstate_autodiff._hessian import HessianTransform
    >>> import jax, jax.numpy as jnp
    >>> import brainstate_state as bss
    >>> a, b = bss.State(jnp.array(1.0)), bss.State(jnp.array(2.0))
    >>> h = HessianTransform(lambda: a.value ** 2 * b.value, jax.hessian, grad_states=[a, b])()
    >>> [[float(h[i][j]) for j in range(2)] for i in range(2)]
    [[4.0, 2.0], [2.0, 0.0]]
    """

    if TYPE_CHECKING:  # built directly, the call's result is Any (as for GradientTransform)

        def __init__(
            self: HessianTransform[P, Any], target: Callable[P, Any], *args: Any, **kwargs: Any
        ) -> None: ...

    def _structure_states(self, raw: Any) -> Any:
        assert self.grad_states is not None
        return self.grad_states.rebuild([self.grad_states.rebuild(row) for row in raw])


@overload
def hessian(
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
) -> HessianTransform[P, tuple[Any, V, A]]: ...


@overload
def hessian(
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
) -> HessianTransform[P, tuple[Any, A]]: ...


@overload
def hessian(
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
) -> HessianTransform[P, tuple[Any, R]]: ...


@overload
def hessian(
    func: Callable[P, Any],
    grad_states: StateLike | None = None,
    argnums: int | Sequence[int] | None = None,
    return_value: bool = False,
    holomorphic: bool = False,
    has_aux: bool | None = None,
    unit_aware: bool = False,
    check_states: bool = True,
    *,
    debug_nan: bool = False,
) -> HessianTransform[P, Any]: ...


def hessian(
    func: Callable[..., Any],
    grad_states: StateLike | None = None,
    argnums: int | Sequence[int] | None = None,
    return_value: bool = False,
    holomorphic: bool = False,
    has_aux: bool | None = None,
    unit_aware: bool = False,
    check_states: bool = True,
    **kwargs: Any,
) -> HessianTransform[..., Any]:
    """Dense Hessian with respect to States (nested block structure) or positional arguments.

    With ``grad_states`` the blocks are nested in the structure of ``grad_states`` (``[[Haa, Hab],
    [Hba, Hbb]]`` for a list, ``{'a': {'a': ..., 'b': ...}, ...}`` for a dict, ``Haa`` for one State).
    With ``argnums`` the result is that of ``jax.hessian``. Both at once is not supported.

    Raises
    ------
    NotImplementedError
        When both ``grad_states`` and ``argnums`` are given.

    Examples
    --------
    >>> from brainstate_autodiff import hessian
    >>> import jax.numpy as jnp
    >>> import brainstate_state as bss
    >>> w = bss.ParamState(jnp.array([1.0, 2.0]))
    >>> hessian(lambda: jnp.sum(w.value ** 3), w)()
    Array([[ 6.,  0.],
           [ 0., 12.]], dtype=float32)
    """
    if grad_states is not None and argnums is not None:
        raise NotImplementedError(
            "hessian with both grad_states and argnums is not supported (the mixed state/argument blocks "
            "have no agreed structure). How to fix: differentiate with respect to States only, or pass the "
            "values as arguments and use argnums only."
        )
    transform = unit_transform("hessian") if unit_aware else jax.hessian
    return HessianTransform(
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
