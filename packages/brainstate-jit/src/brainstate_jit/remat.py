"""``checkpoint`` / ``remat``: recompute a State-using function's intermediates in the backward pass.

The function is traced once into a pure program (``StatefulFunction``); ``jax.checkpoint`` is applied to
"evaluate that program"; the States it wrote are committed once, after the call. Under ``grad`` the
forward computation may be run again during the backward pass, but that rerun is pure: it never writes
a State, so a counter incremented inside a checkpointed block is incremented once per call.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any, Generic, ParamSpec, TypeVar, overload

import jax

from brainstate_ir import StatefulFunction, normalize_argnums

__all__ = ["RematFunction", "checkpoint", "remat"]

P = ParamSpec("P")
R = TypeVar("R")


def _static_positions(
    static_argnums: int | Sequence[int], fun: Callable[..., Any] | None = None
) -> tuple[int, ...]:
    name = None if fun is None else getattr(fun, "__qualname__", None) or type(fun).__name__
    nums = normalize_argnums(static_argnums, transform="checkpoint", what="static_argnums", function=name)
    return tuple(sorted(nums))


class RematFunction(Generic[P, R]):
    """A State-aware function whose intermediates are recomputed under differentiation.

    Created by :func:`checkpoint` / :func:`remat`; see there.

    Attributes
    ----------
    origin_fun
        The wrapped function (or module).
    stateful_fun
        The :class:`~brainstate_ir.StatefulFunction` that traces it.
    prevent_cse, policy, static_argnums
        The options forwarded to ``jax.checkpoint``.

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> from brainstate_jit.remat import RematFunction
    >>> f = RematFunction(jnp.sin)
    >>> float(f(0.0))
    0.0
    """

    def __init__(
        self,
        fun: Callable[P, R],
        *,
        prevent_cse: bool = True,
        policy: Callable[..., bool] | None = None,
        static_argnums: int | Sequence[int] = (),
    ) -> None:
        if not callable(fun):
            raise TypeError(f"checkpoint needs a callable (function or module), got {type(fun).__name__}.")
        if not isinstance(prevent_cse, bool):
            raise TypeError(f"checkpoint: prevent_cse must be a bool, got {type(prevent_cse).__name__}.")
        if policy is not None and not callable(policy):
            raise TypeError(
                f"checkpoint: policy must be None or a jax.checkpoint_policies policy (a callable), got "
                f"{type(policy).__name__}."
            )
        self.origin_fun = fun
        self.prevent_cse = prevent_cse
        self.policy = policy
        self.static_argnums = _static_positions(static_argnums, fun)
        self.stateful_fun = StatefulFunction(fun, static_argnums=self.static_argnums)
        if hasattr(fun, "__name__"):
            functools.update_wrapper(self, fun)

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> R:
        call = self.stateful_fun.split(*args, **kwargs)
        program = self.stateful_fun.program_for(call)
        state_values = [state.value for state in program.states]  # recorded by any enclosing trace

        # Static arguments are already part of `program` (selected by the call's signature), so the
        # checkpointed function only sees the dynamic leaves and the State values.
        def pure(values: list[Any], leaves: list[Any]) -> tuple[list[Any], Any]:
            out, new_values = program.evaluate(leaves, values)
            return new_values, out

        rematted = jax.checkpoint(pure, prevent_cse=self.prevent_cse, policy=self.policy)
        new_values, out = rematted(state_values, call.leaves)
        for state, value in zip(program.returned_states, new_values, strict=True):
            state.value = value
        return out  # type: ignore[no-any-return]

    def __get__(self, instance: Any, owner: Any = None) -> Any:
        if instance is None:
            return self
        return functools.partial(self, instance)

    def __repr__(self) -> str:
        return f"RematFunction({self.stateful_fun.name})"


@overload
def checkpoint(
    fun: Callable[P, R],
    *,
    prevent_cse: bool = True,
    policy: Callable[..., bool] | None = None,
    static_argnums: int | Sequence[int] = (),
) -> RematFunction[P, R]: ...


@overload
def checkpoint(
    fun: None = None,
    *,
    prevent_cse: bool = True,
    policy: Callable[..., bool] | None = None,
    static_argnums: int | Sequence[int] = (),
) -> Callable[[Callable[P, R]], RematFunction[P, R]]: ...


def checkpoint(
    fun: Callable[P, R] | None = None,
    *,
    prevent_cse: bool = True,
    policy: Callable[..., bool] | None = None,
    static_argnums: int | Sequence[int] = (),
) -> Any:
    """Make ``fun`` recompute its intermediates during differentiation instead of storing them.

    The State-aware ``jax.checkpoint``: ``fun`` may read and write States. Its writes are applied exactly
    once per call, also under ``grad`` (the backward-pass recomputation is pure). Usable as
    ``checkpoint(f)``, ``@checkpoint``, ``@checkpoint(policy=...)`` and ``checkpoint(module)``.

    Parameters
    ----------
    fun
        The function or callable module (omit it to get a decorator).
    prevent_cse
        Forwarded to ``jax.checkpoint``: stop XLA from merging the recomputation with the forward pass.
    policy
        A ``jax.checkpoint_policies`` policy choosing which intermediates may be saved.
    static_argnums
        Positions of arguments that are Python values selecting the program (non-negative ints).

    Returns
    -------
    RematFunction
        A callable with ``fun``'s signature.

    Raises
    ------
    ValueError
        For negative ``static_argnums`` (a ``static_argnums`` beyond the call's positional arguments raises
        ``brainstate_ir.ArgnumsError``, a ``ValueError``, when called).
    TypeError
        For a non-callable ``fun`` or ``policy``, a non-bool ``prevent_cse``, or ``static_argnums`` that are
        not ints.

    Examples
    --------
    >>> import jax, jax.numpy as jnp
    >>> import brainstate_state as bss
    >>> from brainstate_jit.remat import checkpoint
    >>> calls = bss.State(jnp.array(0), name='calls')
    >>> @checkpoint
    ... def block(x):
    ...     calls.value = calls.value + 1
    ...     return jnp.sin(jnp.sin(x))
    >>> float(block(1.0)), int(calls.value)
    (0.7456241250038147, 1)
    """
    if fun is None:

        def decorate(f: Callable[P, R]) -> RematFunction[P, R]:
            return RematFunction(f, prevent_cse=prevent_cse, policy=policy, static_argnums=static_argnums)

        _static_positions(static_argnums)  # reject bad options at decoration time
        return decorate
    return RematFunction(fun, prevent_cse=prevent_cse, policy=policy, static_argnums=static_argnums)


#: Alias of :func:`checkpoint`.
remat = checkpoint
