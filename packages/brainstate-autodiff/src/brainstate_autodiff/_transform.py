"""``GradientTransform``: differentiate a stateful function with respect to States and arguments.

How a call works
----------------
The target is traced once per argument signature by a :class:`~brainstate_ir.StatefulFunction` into a
pure program. The call then differentiates the pure function::

    pure(grad_state_values, other_state_values, *args, **kwargs) -> (value, carry)

with the given JAX transform (``jax.grad``, ``jax.jacrev``...) at ``argnums`` shifted by two (the two
hidden leading arguments), and ``has_aux=True`` so that ``carry`` brings out the function's value, its
auxiliary data and the new values of the States it wrote. Those States are committed after the transform
returned (so a failing call changes no State), and the raw gradients are rebuilt into the structure of
``grad_states``. Inside an enclosing brainstate trace (``jit``, another ``grad``...) the reads
and the commits are recorded by that trace like any other State access.

Called eagerly (no enclosing trace, concrete arguments), the differentiated computation runs as one
``jax.jit`` function cached per traced program, so repeated eager calls neither retrace the target nor
re-run the JAX transform in Python.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Hashable, Sequence
from typing import Any, Generic, NamedTuple, ParamSpec, TypeVar

import jax
import jax.numpy as jnp

from brainstate_ir import COMPILED_PROGRAMS, StatefulFunction, TracedProgram, compat
from brainstate_state import TRACE_CONTEXT, State, contains_tracer, describe_state, state_error_message

from ._units import is_quantity
from ._util import HIDDEN_ARGS, GradStates, check_argnums_in_range, normalize_argnums

__all__ = ["GradientTransform"]

P = ParamSpec("P")
R = TypeVar("R")


class Carry(NamedTuple):
    """What the pure function hands out next to the differentiated value (through ``has_aux``)."""

    value: Any
    aux: Any
    state_values: list[Any]


def _function_name(fun: Callable[..., Any]) -> str:
    return str(getattr(fun, "__qualname__", None) or getattr(fun, "__name__", None) or type(fun).__name__)


class GradientTransform(Generic[P, R]):
    """Apply a JAX differentiation transform to a function that reads and writes States.

    Parameters
    ----------
    target
        The function to differentiate. It may read and write any State.
    transform
        A JAX-style transform ``transform(fun, argnums=..., has_aux=True, **transform_params)`` returning
        ``(derivative, aux)``: ``jax.grad``, ``jax.jacrev``, ``jax.jacfwd``, ``jax.hessian``...
    grad_states
        The States to differentiate with respect to: one State, a list/tuple, a dict (a ``FlattedDict``
        from ``module.states(ParamState)`` becomes a plain dict with the same path keys) or any pytree of
        States. The gradient comes back in the same structure.
    argnums
        Positional arguments to differentiate with respect to (an int or a tuple of non-negative ints).
        ``None`` means: none when ``grad_states`` is given, else argument 0.
    return_value
        Also return the function's value: ``(grads, value)``.
    has_aux
        The function returns ``(value, aux)``; ``aux`` is returned last: ``(grads, [value,] aux)``.
    transform_params
        Extra keyword arguments for ``transform`` (e.g. ``{'holomorphic': True}``).
    check_states
        Raise if an entry of ``grad_states`` is never read by the function (else its gradient is zero).
    debug_nan
        Check the gradients for NaN/Inf and report the primitive that introduced them (needs
        ``brainstate_jit.debug_nan_if``).

    Returns
    -------
    Any
        When called: the gradients with respect to the States only (``argnums=None``), the arguments
        only (no ``grad_states``), or ``(state_grads, arg_grads)`` for both, where ``arg_grads`` is a
        single gradient for an int ``argnums`` and a tuple for a tuple; then ``value`` if
        ``return_value`` and ``aux`` if ``has_aux``, as a flat tuple.

    Examples
    --------
    >>> from brainstate_autodiff import GradientTransform
    >>> import jax, jax.numpy as jnp
    >>> import brainstate_state as bss
    >>> w = bss.ParamState(jnp.array([1.0, 2.0]), name='w')
    >>> def loss(x):
    ...     return jnp.sum(w.value * x) ** 2
    >>> g = GradientTransform(loss, jax.grad, grad_states=w, argnums=0, return_value=True)
    >>> (gw, gx), value = g(jnp.array([1.0, 1.0]))
    >>> gw, gx, value
    (Array([6., 6.], dtype=float32), Array([ 6., 12.], dtype=float32), Array(9., dtype=float32))
    """

    #: Whether ``transform`` puts the structure of the function's output outside the gradient structure
    #: (Jacobians, Hessians), so the States' structure is rebuilt at each output leaf.
    per_output: bool = False

    def __init__(
        self: GradientTransform[P, Any],
        target: Callable[P, Any],
        transform: Callable[..., Callable[..., Any]],
        grad_states: State[Any] | Sequence[Any] | dict[Any, Any] | None = None,
        argnums: int | Sequence[int] | None = None,
        return_value: bool = False,
        has_aux: bool = False,
        transform_params: dict[str, Any] | None = None,
        check_states: bool = True,
        debug_nan: bool = False,
    ) -> None:
        if not callable(target):
            raise TypeError(f"GradientTransform needs a callable target, got {type(target).__name__}.")
        self.target = target
        self.transform = transform
        self.name = _function_name(target)
        # No program cache: like jax.grad, every call traces the target, so plain attributes and closure
        # values changed between calls are seen. Tracing is cheap; compiling is not, and the compiled
        # gradient is shared through COMPILED_PROGRAMS, keyed by the traced program's structure.
        self.stateful_target = StatefulFunction(target, name=self.name, cache_size=0)
        self.return_value = bool(return_value)
        self.has_aux = bool(has_aux)
        self.transform_params = dict(transform_params or {})
        self.check_states = bool(check_states)
        self.debug_nan = bool(debug_nan)
        self.grad_states = GradStates(grad_states) if grad_states is not None else None
        if transform in (jax.jacrev, jax.jacfwd, jax.hessian):
            self.per_output = True

        user = (
            normalize_argnums(argnums, transform=_function_name(transform), function=self.name)
            if argnums is not None
            else None
        )
        if user is None and self.grad_states is None:
            user = 0
        #: The user's argument numbers, or ``None`` when only States are differentiated.
        self.argnums = user
        # Inside, the pure function's arguments 0 and 1 are the grad-state and other-state values, so a
        # user's argument ``a`` is the pure function's argument ``a + 2``.
        self._true_argnums: int | tuple[int, ...]
        if user is None:
            self._true_argnums = 0
        elif isinstance(user, int):
            self._true_argnums = (
                (0, user + HIDDEN_ARGS) if self.grad_states is not None else user + HIDDEN_ARGS
            )
        else:
            shifted = tuple(a + HIDDEN_ARGS for a in user)
            self._true_argnums = (0, *shifted) if self.grad_states is not None else shifted

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name}, transform={_function_name(self.transform)})"

    # ------------------------------------------------------------------ checks
    def _check_call(self, program: TracedProgram, args: tuple[Any, ...]) -> None:
        if self.argnums is not None:
            check_argnums_in_range(
                self.argnums, len(args), self.name, transform=_function_name(self.transform)
            )
        if self.has_aux:
            out = program.out_shapes
            if not (isinstance(out, (tuple, list)) and len(out) == 2):
                raise TypeError(
                    f"has_aux=True requires {self.name} to return a (value, aux) tuple or list of length 2, "
                    f"but it returned {type(out).__name__}"
                    + (f" of length {len(out)}" if isinstance(out, (tuple, list)) else "")
                    + ". How to fix: return (loss, aux), or use has_aux=False."
                )
        if self.grad_states is not None and self.check_states:
            touched = {id(s) for s in program.states}
            missing = [s for s in self.grad_states.unique if id(s) not in touched]
            if missing:
                others = "".join(f"\n  - {describe_state(s)}" for s in missing[1:])
                raise ValueError(
                    state_error_message(
                        f"{len(missing)} of the grad_states are never read by {self.name}, so their "
                        "gradient is undefined." + (f" The others:{others}" if others else ""),
                        missing[0],
                        "remove the State from grad_states, make the function read it, or pass "
                        "check_states=False to get zero gradients for unused States.",
                    )
                )

    # ------------------------------------------------------------------ hooks for subclasses
    def _call_transform_params(self) -> dict[str, Any]:
        """The transform's keyword arguments for one call (``fwd_grad`` draws a fresh key here)."""
        return self.transform_params

    def _structure_states(self, raw: Any) -> Any:
        """One gradient per unique grad State -> the structure of ``grad_states``."""
        assert self.grad_states is not None
        return self.grad_states.rebuild(raw)

    # ------------------------------------------------------------------ the pure function
    def _pure_function(
        self, program: TracedProgram, grad_positions: tuple[int, ...]
    ) -> Callable[..., tuple[Any, Carry]]:
        """``pure(consts, grad_values, other_values, *args, **kwargs) -> (value, Carry)``, holding no State.

        ``grad_positions[i]`` is the position in ``program.states`` of the i-th grad State (``-1``: not
        read); the other States' values come in ``program.states`` order.
        """
        has_aux = self.has_aux
        evaluate = program.pure_evaluator()
        n_states = len(program.states)
        taken = set(grad_positions)
        other_positions = [i for i in range(n_states) if i not in taken]

        def pure(
            consts: list[Any], grad_values: list[Any], other_values: list[Any], *args: Any, **kwargs: Any
        ) -> tuple[Any, Carry]:
            state_values: list[Any] = [None] * n_states
            for position, value in zip(grad_positions, grad_values, strict=True):
                if position >= 0:
                    state_values[position] = value
            for position, value in zip(other_positions, other_values, strict=True):
                state_values[position] = value
            # The same flattening as StatefulFunction.split (no static arguments here).
            out, new_values = evaluate(consts, jax.tree.leaves((args, kwargs)), state_values)
            value, aux = (out[0], out[1]) if has_aux else (out, None)
            return value, Carry(value, aux, new_values)

        return pure

    # ------------------------------------------------------------------ call
    @compat.api_boundary  # an error raised by the user function shows the user's frames, not brainstate's
    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> R:
        """Differentiate the target at ``args``; commit the States it wrote; return the gradients."""
        program = self.stateful_target.get_program(*args, **kwargs)
        self._check_call(program, args)
        grad_states = self.grad_states.unique if self.grad_states is not None else ()
        grad_ids = self.grad_states.ids if self.grad_states is not None else frozenset()
        other_states = [s for s in program.states if id(s) not in grad_ids]
        grad_values = [s.value for s in grad_states]
        other_values = [s.value for s in other_states]

        params = self._call_transform_params()
        # Array-valued parameters (fwd_grad's key) change per call: they are arguments of the compiled
        # function; everything else is fixed for this object and baked in.
        dynamic = {k: v for k, v in params.items() if isinstance(v, jax.Array)}
        static = {k: v for k, v in params.items() if k not in dynamic}
        index = {id(s): i for i, s in enumerate(program.states)}
        positions = tuple(index.get(id(s), -1) for s in grad_states)
        consts = list(program.jaxpr.consts)
        run = self._runner(program, positions, static)
        key = self._compiled_key(program, positions, static)
        eager = not TRACE_CONTEXT.depth() and compat.is_eager()
        if key is not None and eager and not contains_tracer((args, kwargs, consts)):
            # One executable per program structure and transform options, shared by every gradient object
            # (a fresh grad(...) per training step included) and every re-created State of the same shape.
            compiled = COMPILED_PROGRAMS.jitted(key, lambda: run)
            raw, carry = compiled(dynamic, consts, grad_values, other_values, *args, **kwargs)
        else:
            raw, carry = run(dynamic, consts, grad_values, other_values, *args, **kwargs)
        if self.debug_nan:
            self._check_nan(
                raw, functools.partial(run, dynamic, consts), (grad_values, other_values, *args), kwargs
            )
        for state, value in zip(program.write_states, carry.state_values, strict=True):
            state.value = value
        result: R = self._assemble(raw, carry)
        return result

    def _compiled_key(
        self, program: TracedProgram, positions: tuple[int, ...], static: dict[str, Any]
    ) -> Hashable | None:
        """What the compiled gradient depends on besides its inputs (``None``: not shareable)."""
        key = (
            "gradient",
            type(self),
            program.key_id,  # the interned structure: cheap to hash on every call
            self.transform,
            self._true_argnums,
            self.has_aux,
            positions,
            tuple(sorted(static.items())),
        )
        try:
            hash(key)
        except TypeError:
            return None
        return key

    def _runner(
        self, program: TracedProgram, positions: tuple[int, ...], static_params: dict[str, Any]
    ) -> Callable[..., tuple[Any, Carry]]:
        pure = self._pure_function(program, positions)
        transform = self.transform
        true_argnums = self._true_argnums

        def run(
            dynamic_params: dict[str, Any], consts: list[Any], *operands: Any, **kwargs: Any
        ) -> tuple[Any, Carry]:
            transformed = transform(
                functools.partial(pure, consts),
                argnums=true_argnums,
                has_aux=True,
                **static_params,
                **dynamic_params,
            )
            return transformed(*operands, **kwargs)  # type: ignore[no-any-return]

        return run

    def _structure(self, raw: Any) -> Any:
        if self.grad_states is None:
            return raw
        if self.argnums is None:
            return self._structure_states(raw)
        if isinstance(self.argnums, int):
            return (self._structure_states(raw[0]), raw[1])
        return (self._structure_states(raw[0]), tuple(raw[1:]))

    def _assemble(self, raw: Any, carry: Carry) -> Any:
        if self.per_output:
            # A unit-carrying Quantity is one output (brainunit's Jacobians keep it whole).
            out_tree: Any = jax.tree.structure(carry.value, is_leaf=is_quantity)
            if out_tree.num_leaves == 1 and jax.tree_util.treedef_is_leaf(out_tree):
                grads = self._structure(raw)
            else:
                grads = out_tree.unflatten([self._structure(r) for r in out_tree.flatten_up_to(raw)])
        else:
            grads = self._structure(raw)
        result: tuple[Any, ...] = (grads,)
        if self.return_value:
            result += (carry.value,)
        if self.has_aux:
            result += (carry.aux,)
        return grads if len(result) == 1 else result

    # ------------------------------------------------------------------ NaN debugging
    def _check_nan(
        self, raw: Any, transformed: Callable[..., Any], operands: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> None:
        flags = [
            jnp.any(~jnp.isfinite(x))
            for x in jax.tree.leaves(raw)
            if hasattr(x, "dtype") and jnp.issubdtype(x.dtype, jnp.inexact)
        ]
        if not flags:
            return
        has_nan = functools.reduce(jnp.logical_or, flags)
        try:
            from brainstate_jit import debug_nan_if
        except ImportError as err:
            raise ImportError(
                "debug_nan=True needs brainstate_jit.debug_nan_if, which this installation of brainstate-jit "
                "does not provide. How to fix: upgrade brainstate-jit, or use debug_nan=False."
            ) from err

        def gradients(*ops: Any) -> Any:
            return transformed(*ops, **kwargs)[0]  # the gradients, without the carry

        debug_nan_if(has_nan, gradients, *operands, phase="grad")
