"""State-aware ``vjp`` and ``jvp``.

Both trace the function once (a :class:`~brainstate_ir.StatefulFunction`), apply ``jax.vjp`` /
``jax.jvp`` to its pure program, and commit the primal values of the States it wrote.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from brainstate_ir import StatefulFunction, TracedProgram
from brainstate_state import State

from ._util import GradStates, as_tuple, check_grad_states_read, resolve_argnums

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


def _dtype(x: Any) -> Any:
    dtype = x.dtype if hasattr(x, "dtype") else np.result_type(x)
    return dtype if jnp.issubdtype(dtype, jax.dtypes.extended) else jax.dtypes.canonicalize_dtype(dtype)


def _check_tangent(index: int, primal: Any, tangent: Any) -> None:
    """Reject a tangent that does not fit its primal, naming the argument (before anything runs)."""
    primal_tree: Any = jax.tree.structure(primal)
    tangent_tree: Any = jax.tree.structure(tangent)
    if primal_tree != tangent_tree:
        raise TypeError(
            f"jvp: tangent {index} has the structure {tangent_tree} but primal {index} has {primal_tree}. "
            "How to fix: give each primal a tangent of the same structure (same containers and leaves)."
        )
    paths = jax.tree_util.tree_flatten_with_path(primal)[0]
    for (path, p), t in zip(paths, jax.tree.leaves(tangent), strict=True):
        where = f"{index}{jax.tree_util.keystr(path)}"
        if np.shape(p) != np.shape(t):
            raise ValueError(
                f"jvp: tangent {where} has shape {np.shape(t)} but primal {where} has shape {np.shape(p)}. "
                "How to fix: give each primal a tangent of the same shape."
            )
        primal_dtype, tangent_dtype = _dtype(p), _dtype(t)
        expected = primal_dtype if jnp.issubdtype(primal_dtype, jnp.inexact) else jax.dtypes.float0
        if tangent_dtype != expected:
            raise TypeError(
                f"jvp: tangent {where} has dtype {tangent_dtype} but primal {where} has dtype {primal_dtype}, "
                f"which takes tangents of dtype {np.dtype(expected).name}. How to fix: cast the tangent "
                "(integer and bool primals take float0 tangents, e.g. np.zeros(shape, jax.dtypes.float0))."
            )


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
        Ignored when ``fun`` is called without positional arguments (only ``grad_states`` then).
    has_aux
        ``fun`` returns ``(out, aux)``.

    Returns
    -------
    ``(out, vjp_fn)`` or ``(out, vjp_fn, aux)``. ``vjp_fn(cotangent)`` returns the States' cotangents
    (structure of ``grad_states``) when ``argnums`` is ``None``, the arguments' cotangents when
    ``grad_states`` is ``None`` (one for an int ``argnums``, a tuple for a tuple), else both as
    ``(state_cotangents, arg_cotangents)``. States written by ``fun`` are committed immediately.

    Raises
    ------
    ValueError
        If there is nothing to differentiate (no ``grad_states``, and no positional argument selected by
        ``argnums``), ``argnums`` names an argument twice or one outside ``[-len(primals),
        len(primals) - 1]``, or an entry of ``grad_states`` is never read by ``fun``. No State is changed.

    Examples
    --------
    >>> from brainstate_autodiff import vjp
    >>> import jax.numpy as jnp
    >>> import brainstate_state as bss
    >>> w = bss.ParamState(jnp.array([1.0, 2.0]))
    >>> out, vjp_fn = vjp(lambda x: w.value * x, jnp.array([3.0, 4.0]), grad_states=w)
    >>> gw, gx = vjp_fn(jnp.ones(2))
    >>> gw, gx
    (Array([3., 4.], dtype=float32), Array([1., 2.], dtype=float32))
    """
    sf = StatefulFunction(fun)
    states = GradStates(grad_states) if grad_states is not None else None
    # Without positional arguments there is nothing argnums could select: the States alone are
    # differentiated (argnums is ignored, as in brainstate 0.5.4).
    user = resolve_argnums(argnums, len(primals), sf.name) if argnums is not None and primals else None
    if states is None and user is None:
        raise ValueError(
            f"vjp has nothing to differentiate: {sf.name} was called with {len(primals)} positional "
            f"argument(s), argnums={argnums!r} and no grad_states. How to fix: pass the arguments to "
            "differentiate positionally (selected by argnums), grad_states=..., or both."
        )
    nums = as_tuple(user) if user is not None else ()
    program = sf.get_program(*primals)
    _check_aux(program, has_aux, sf.name)
    if states is not None:
        check_grad_states_read(states, program.states, sf.name)

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

    Raises
    ------
    TypeError
        If ``primals``/``tangents`` are not tuples or lists, or a tangent's structure or dtype does not fit
        its primal (float primals take tangents of their dtype, integer and bool primals ``float0``).
    ValueError
        If their lengths differ, or a tangent's shape differs from its primal's. No State is changed.

    Examples
    --------
    >>> from brainstate_autodiff import jvp
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
    for i, (primal, tangent) in enumerate(zip(primals, tangents, strict=True)):
        _check_tangent(i, primal, tangent)
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
