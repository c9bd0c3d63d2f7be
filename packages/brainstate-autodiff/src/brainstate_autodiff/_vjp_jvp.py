"""State-aware ``vjp`` and ``jvp``.

Both trace the function once (a :class:`~brainstate_ir.StatefulFunction`), apply ``jax.vjp`` /
``jax.jvp`` to its pure program, and commit the primal values of the States it wrote.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import jax

from brainstate_ir import StatefulFunction, TracedProgram
from brainstate_state import State

from ._util import GradStates, as_tuple, check_argnums_in_range, normalize_argnums

__all__ = ["jvp", "vjp"]


def _has_aux_error(name: str, out: Any) -> TypeError:
    return TypeError(
        f"has_aux=True requires {name} to return a (value, aux) tuple or list of length 2, but it returned "
        f"{type(out).__name__}. How to fix: return (value, aux), or use has_aux=False."
    )


def _check_aux(program: TracedProgram, has_aux: bool, name: str) -> None:
    out = program.out_shapes
    if has_aux and not (isinstance(out, (tuple, list)) and len(out) == 2):
        raise _has_aux_error(name, out)


def _split_out(out: Any, has_aux: bool) -> tuple[Any, Any]:
    return (out[0], out[1]) if has_aux else (out, None)


def vjp(
    fun: Callable[..., Any],
    *primals: Any,
    grad_states: State[Any] | Sequence[Any] | dict[Any, Any] | None = None,
    argnums: int | Sequence[int] | None = 0,
    has_aux: bool = False,
) -> tuple[Any, ...]:
    """Evaluate ``fun(*primals)`` and its vector-Jacobian product with respect to States and arguments.

    Parameters
    ----------
    fun
        The function; it may read and write States.
    *primals
        Its positional arguments.
    grad_states
        States to take cotangents for (any pytree of States).
    argnums
        Arguments to take cotangents for (int or tuple; negative counts from the end). ``None``: none.
    has_aux
        ``fun`` returns ``(out, aux)``.

    Returns
    -------
    ``(out, vjp_fn)`` or ``(out, vjp_fn, aux)``. ``vjp_fn(cotangent)`` returns the States' cotangents
    (structure of ``grad_states``) when ``argnums`` is ``None``, the arguments' cotangents when
    ``grad_states`` is ``None`` (one for an int ``argnums``, a tuple for a tuple), else both as
    ``(state_cotangents, arg_cotangents)``. States written by ``fun`` are committed immediately.

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> import brainstate_state as bss
    >>> w = bss.ParamState(jnp.array([1.0, 2.0]))
    >>> out, vjp_fn = vjp(lambda x: w.value * x, jnp.array([3.0, 4.0]), grad_states=w)
    >>> gw, gx = vjp_fn(jnp.ones(2))
    >>> gw, gx
    (Array([3., 4.], dtype=float32), Array([1., 2.], dtype=float32))
    """
    sf = StatefulFunction(fun)
    program = sf.get_program(*primals)
    _check_aux(program, has_aux, sf.name)
    states = GradStates(grad_states) if grad_states is not None else None
    nums: tuple[int, ...] = ()
    user: int | tuple[int, ...] | None = None
    if argnums is not None:
        user = normalize_argnums(argnums, allow_negative=True)
        user = (
            user + len(primals)
            if isinstance(user, int) and user < 0
            else user
            if isinstance(user, int)
            else tuple(n + len(primals) if n < 0 else n for n in user)
        )
        check_argnums_in_range(user, len(primals), sf.name)
        nums = as_tuple(user)
    if states is None and user is None:
        raise ValueError("vjp needs something to differentiate: pass grad_states, argnums, or both.")

    grad_list = states.unique if states is not None else ()
    grad_ids = states.ids if states is not None else frozenset()
    others = [s for s in program.states if id(s) not in grad_ids]
    grad_values = [s.value for s in grad_list]
    other_values = [s.value for s in others]

    def differentiated(gvals: list[Any], *selected: Any) -> tuple[Any, tuple[Any, list[Any]]]:
        full = list(primals)
        for position, value in zip(nums, selected, strict=True):
            full[position] = value
        by_id = {id(s): v for s, v in zip(grad_list, gvals, strict=True)}
        by_id.update((id(s), v) for s, v in zip(others, other_values, strict=True))
        out, new_values = program.evaluate(
            jax.tree.leaves((tuple(full), {})), [by_id[id(s)] for s in program.states]
        )
        value, aux = _split_out(out, has_aux)
        return value, (aux, new_values)

    out, pullback, (aux, new_values) = jax.vjp(
        differentiated, grad_values, *[primals[i] for i in nums], has_aux=True
    )
    for state, value in zip(program.write_states, new_values, strict=True):
        state.value = value

    def vjp_fn(cotangent: Any) -> Any:
        state_ct, *arg_cts = pullback(cotangent)
        arg_result = None if user is None else (arg_cts[0] if isinstance(user, int) else tuple(arg_cts))
        if states is None:
            return arg_result
        state_result = states.rebuild(state_ct)
        return state_result if user is None else (state_result, arg_result)

    return (out, vjp_fn, aux) if has_aux else (out, vjp_fn)


def jvp(
    fun: Callable[..., Any], primals: Sequence[Any], tangents: Sequence[Any], *, has_aux: bool = False
) -> tuple[Any, ...]:
    """Evaluate ``fun(*primals)`` and its Jacobian-vector product along ``tangents``.

    States are constants: their values enter the function but carry no tangent. States written by
    ``fun`` are committed with their primal values.

    Returns
    -------
    ``(out, tangent_out)`` or ``(out, tangent_out, aux)``.

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> import brainstate_state as bss
    >>> w = bss.ParamState(jnp.array(3.0))
    >>> out, tangent = jvp(lambda x: w.value * x ** 2, (jnp.array(2.0),), (jnp.array(1.0),))
    >>> float(out), float(tangent)
    (12.0, 12.0)
    """
    if not isinstance(primals, (tuple, list)) or not isinstance(tangents, (tuple, list)):
        raise TypeError(
            "jvp expects primals and tangents as tuples or lists (one entry per positional argument), got "
            f"{type(primals).__name__} and {type(tangents).__name__}. How to fix: jvp(f, (x,), (v,))."
        )
    if len(primals) != len(tangents):
        raise ValueError(
            f"jvp got {len(primals)} primal(s) but {len(tangents)} tangent(s); pass one tangent per primal."
        )
    sf = StatefulFunction(fun)
    program = sf.get_program(*primals)
    _check_aux(program, has_aux, sf.name)
    state_values = [s.value for s in program.states]

    def pure(*args: Any) -> tuple[Any, tuple[Any, list[Any]]]:
        out, new_values = program.evaluate(jax.tree.leaves((args, {})), state_values)
        value, aux = _split_out(out, has_aux)
        return value, (aux, new_values)

    out, tangent_out, (aux, new_values) = jax.jvp(pure, tuple(primals), tuple(tangents), has_aux=True)
    for state, value in zip(program.write_states, new_values, strict=True):
        state.value = value
    return (out, tangent_out, aux) if has_aux else (out, tangent_out)
