"""State-aware ``jit`` whose cached calls cost about as much as a raw ``jax.jit`` call.

How a call works
----------------
A :class:`JittedFunction` keeps a *plan*: the States the function touched the last time it was traced,
which of them it wrote, and a small int standing for the plan's *layout*: the structure, shapes and dtypes
of those States' values, the written mask and the program's captured constants, but not the States'
identities. A call reads the plan's State values and hands them, together with the arguments, to one
inner ``jax.jit`` function whose first (static) argument is that int::

    out, written_values = inner(layout_id, state_values, *args, **kwargs)

JAX's C++ dispatch decides whether a compiled program exists for this layout and these argument and
state shapes. Only when it does not (a new signature, or a State whose shape or dtype changed) does Python
run: the :class:`~brainstate_ir.StatefulFunction` traces the user function (once), and if its layout
differs from the plan's, the call switches to a new plan and is retried. Re-created States of the same
shapes give the same layout, hence the same executable (no XLA compile); the plan holds only the current
States, so old ones are collected.

A plan stays valid until a graph node whose attributes the trace read (the module, its sub-modules)
stores, replaces or deletes a State or sub-module attribute; then the next call retraces. Like
``jax.jit``, plain Python values (``self.tau = 1.``, globals) are read at trace time and baked in: call
``clear_cache()`` after changing them. Constructing or changing unrelated modules costs nothing.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable, Hashable, Sequence
from typing import Any, Generic, ParamSpec, TypeVar, overload

import jax

from brainstate_ir import StatefulFunction, TracedProgram, compat, resolve_static_args
from brainstate_state import TRACE_CONTEXT, InvalidatedValue, note_node_reads

from ._binding import bind_weakly, unshift_self
from ._plan import Layouts, Plan, PlanMismatch, layout_of, shift_argnums

#: Hidden leading arguments of the inner ``jax.jit`` function: layout id, State values.
_HIDDEN = 2

__all__ = ["JittedFunction", "jit"]

P = ParamSpec("P")
R = TypeVar("R")


class JittedFunction(Generic[P, R]):
    """A function compiled with XLA that reads and writes States like the original Python function.

    Created by :func:`jit`. Calling it runs the compiled program and writes the new values of the States
    the function wrote; read-only States are not touched.

    Attributes
    ----------
    origin_fun
        The original Python function (or module).
    stateful_fun
        The :class:`~brainstate_ir.StatefulFunction` that traces it.
    jitted_fun
        The inner ``jax.jit`` function, called as
        ``jitted_fun(layout_id, state_values, *args, **kwargs)``.
    """

    def __init__(
        self,
        fun: Callable[P, R],
        *,
        in_shardings: Any = None,
        out_shardings: Any = None,
        static_argnums: int | Sequence[int] | None = None,
        donate_argnums: int | Sequence[int] | None = None,
        static_argnames: str | Sequence[str] | None = None,
        donate_argnames: str | Sequence[str] | None = None,
        keep_unused: bool = False,
        device: Any = None,
        backend: str | None = None,
        inline: bool = False,
        name: str | None = None,
        **jax_jit_kwargs: Any,
    ) -> None:
        if not callable(fun):
            raise TypeError(f"jit: expected a callable (function or module), got {type(fun).__name__}.")
        static = resolve_static_args(fun, static_argnums, static_argnames, transform="jit")
        user_static = static.argnums
        self.origin_fun = fun
        self.stateful_fun = StatefulFunction(
            fun,
            static_argnums=user_static,
            static_argnames=static.argnames,
            name=name,
            return_only_write=True,
        )
        self.__name__ = self.stateful_fun.name
        self.__qualname__ = self.stateful_fun.name
        self.__doc__ = getattr(fun, "__doc__", None)
        self.__wrapped__ = fun
        options: dict[str, Any] = dict(jax_jit_kwargs)
        if in_shardings is not None:
            if not isinstance(in_shardings, (tuple, list)):
                raise NotImplementedError(
                    "jit: in_shardings must be a tuple or list with one entry per positional argument; a "
                    "single sharding for all arguments is not supported."
                )
            options["in_shardings"] = (None, *in_shardings)
        if out_shardings is not None:
            options["out_shardings"] = (out_shardings, None)
        if device is not None:
            options["device"] = device
        if backend is not None:
            options["backend"] = backend
        if donate_argnames is not None:
            options["donate_argnames"] = donate_argnames
        self.jitted_fun = jax.jit(
            self._named_pure(name or self.stateful_fun.name),
            static_argnums=(0, *shift_argnums(user_static, _HIDDEN, "static_argnums")),
            static_argnames=static.argnames or None,
            donate_argnums=shift_argnums(donate_argnums, _HIDDEN, "donate_argnums"),
            keep_unused=keep_unused,
            inline=inline,
            **options,
        )
        self._lock = threading.RLock()
        self._plan: Plan | None = None
        self._layouts = Layouts()
        self._options: dict[str, Any] = dict(
            in_shardings=in_shardings,
            out_shardings=out_shardings,
            static_argnums=static_argnums,
            donate_argnums=donate_argnums,
            static_argnames=static_argnames,
            donate_argnames=donate_argnames,
            keep_unused=keep_unused,
            device=device,
            backend=backend,
            inline=inline,
            name=name,
            **jax_jit_kwargs,
        )
        self._bound: weakref.WeakKeyDictionary[Any, JittedFunction[Any, Any]] = weakref.WeakKeyDictionary()

    # ------------------------------------------------------------------ the inner (traced) function
    def _named_pure(self, name: str) -> Callable[..., Any]:
        def pure(layout_id: int, state_values: list[Any], *args: Any, **kwargs: Any) -> Any:
            return self._pure(layout_id, state_values, *args, **kwargs)

        pure.__name__ = pure.__qualname__ = name
        return pure

    def _pure(self, layout_id: int, state_values: list[Any], *args: Any, **kwargs: Any) -> Any:
        # Runs only while JAX traces (a miss of JAX's cache): replay the traced program.
        call = self.stateful_fun.split(*args, **kwargs)
        program = self.stateful_fun.program_for(call)
        plan = self._plan
        if (
            plan is None
            or plan.layout_id != layout_id
            or layout_of(program) != plan.layout
            or len(program.states) != len(plan.states)
            or any(a is not b for a, b in zip(program.states, plan.states, strict=True))
        ):
            raise PlanMismatch(program, call.signature)
        out, written_values = program.evaluate(call.leaves, state_values)
        return out, written_values

    # ------------------------------------------------------------------ plans
    def _plan_for(self, program: TracedProgram, signature: Hashable) -> Plan:
        plan = self._layouts.plan(program, signature)
        self._plan = plan
        return plan

    def _current_plan(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Plan:
        plan = self._plan
        if plan is None or not plan.watch.valid:
            call = self.stateful_fun.split(*args, **kwargs)
            plan = self._plan_for(self.stateful_fun.program_for(call), call.signature)
        return plan

    # ------------------------------------------------------------------ calling
    @compat.api_boundary  # an error leaving the call shows the user's frames, not brainstate's or JAX's
    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> R:
        # The fast path: a valid plan, no enclosing trace. JAX's C++ dispatch does the rest.
        plan = self._plan
        if plan is not None and plan.watch.valid and not TRACE_CONTEXT.stack and compat.is_eager():
            try:
                out, written_values = self.jitted_fun(
                    plan.layout_id, [s._value for s in plan.states], *args, **kwargs
                )
                if plan.host_effects:  # a failed check raises here, before any State is written
                    compat.wait_for_outputs_and_host_callbacks((out, written_values))
            except PlanMismatch as mismatch:
                retried: R = self._call(args, kwargs, self._plan_for(mismatch.program, mismatch.signature))
                return retried
            except Exception:
                self._raise_if_invalidated(plan)
                raise
            for state, value in zip(plan.write_states, written_values):  # noqa: B905 - same length
                state._value = value
            return out  # type: ignore[no-any-return]
        if compat.disable_jit_enabled():
            return self.origin_fun(*args, **kwargs)
        result: R = self._call(args, kwargs, None)
        return result

    def _call(self, args: tuple[Any, ...], kwargs: dict[str, Any], plan: Plan | None) -> Any:
        """The general path: first call, invalid plan, or inside an enclosing trace."""
        if plan is None:
            plan = self._current_plan(args, kwargs)
        nested = bool(TRACE_CONTEXT.stack) or not compat.is_top_level_trace()
        for _attempt in range(8):
            if nested:
                note_node_reads(plan.watch)  # the enclosing trace reached these nodes too
                values = [state.value for state in plan.states]
            else:
                values = [state._value for state in plan.states]
            try:
                out, written_values = self.jitted_fun(plan.layout_id, values, *args, **kwargs)
                if plan.host_effects and not nested:
                    compat.wait_for_outputs_and_host_callbacks((out, written_values))
            except PlanMismatch as mismatch:
                plan = self._plan_for(mismatch.program, mismatch.signature)
                continue
            except Exception:
                self._raise_if_invalidated(plan)
                raise
            break
        else:  # pragma: no cover - would need a function whose states change on every trace
            raise RuntimeError(f"jit({self.__name__}): the set of States it uses changes on every trace.")
        if nested:
            for state, value in zip(plan.write_states, written_values, strict=True):
                state.value = value
        else:
            for state, value in zip(plan.write_states, written_values, strict=True):
                state._value = value
        return out

    @staticmethod
    def _raise_if_invalidated(plan: Plan) -> None:
        for state in plan.states:
            if type(state._value) is InvalidatedValue:
                state.value  # noqa: B018 - raises the TraceContextError that explains the problem

    # ------------------------------------------------------------------ AOT helpers (no write-back)
    def _state_values(self, plan: Plan) -> list[Any]:
        return [state.value for state in plan.states]

    def trace(self, *args: Any, **kwargs: Any) -> jax.stages.Traced:
        """Trace for these arguments without running (``jax.stages.Traced``); no State is changed."""
        plan = self._current_plan(args, kwargs)
        return self.jitted_fun.trace(plan.layout_id, self._state_values(plan), *args, **kwargs)

    def lower(self, *args: Any, **kwargs: Any) -> jax.stages.Lowered:
        """Lower for these arguments (``jax.stages.Lowered``); no State is changed."""
        plan = self._current_plan(args, kwargs)
        return self.jitted_fun.lower(plan.layout_id, self._state_values(plan), *args, **kwargs)

    def compile(self, *args: Any, **kwargs: Any) -> jax.stages.Compiled:
        """Compile ahead of time for these arguments; later calls with the same shapes reuse it."""
        return self.lower(*args, **kwargs).compile()

    def eval_shape(self, *args: Any, **kwargs: Any) -> tuple[tuple[Any, ...], Any]:
        """``((shapes of the written States' values, ...), output shapes)`` without running anything."""
        program = self.stateful_fun.get_program(*args, **kwargs)
        out_avals = program.jaxpr.out_avals[program.out_treedef.num_leaves :]
        shapes = [jax.ShapeDtypeStruct(a.shape, a.dtype) for a in out_avals]
        written = []
        position = 0
        treedefs = dict(zip(map(id, program.states), program.state_treedefs, strict=True))
        for state in program.write_states:
            treedef = treedefs[id(state)]
            written.append(jax.tree.unflatten(treedef, shapes[position : position + treedef.num_leaves]))
            position += treedef.num_leaves
        return tuple(written), program.out_shapes

    def clear_cache(self) -> None:
        """Drop every traced and compiled program; the next call traces and compiles again."""
        with self._lock:
            self.stateful_fun.clear_cache()
            clear = getattr(self.jitted_fun, "clear_cache", None)
            if clear is not None:
                clear()
            self._plan = None
            self._layouts.clear()

    def __repr__(self) -> str:
        return f"JittedFunction({self.__name__})"

    def __get__(self, instance: Any, owner: Any = None) -> Any:
        # Used as a method decorator: each instance gets its own compiled method, with the instance bound
        # (it is not an argument of the compiled program; its States are found while tracing).
        if instance is None:
            return self
        bound = self._bound.get(instance)
        if bound is None:
            options = dict(self._options)
            static = options.pop("static_argnums")
            donate = options.pop("donate_argnums")
            bound = JittedFunction(
                bind_weakly(self.origin_fun, instance),
                static_argnums=unshift_self(static),
                donate_argnums=unshift_self(donate),
                **options,
            )
            self._bound[instance] = bound
        return bound


@overload
def jit(fun: Callable[P, R], **kwargs: Any) -> JittedFunction[P, R]: ...


@overload
def jit(fun: None = None, **kwargs: Any) -> Callable[[Callable[P, R]], JittedFunction[P, R]]: ...


def jit(
    fun: Callable[P, R] | None = None,
    in_shardings: Any = None,
    out_shardings: Any = None,
    static_argnums: int | Sequence[int] | None = None,
    donate_argnums: int | Sequence[int] | None = None,
    static_argnames: str | Sequence[str] | None = None,
    donate_argnames: str | Sequence[str] | None = None,
    keep_unused: bool = False,
    device: Any = None,
    backend: str | None = None,
    inline: bool = False,
    name: str | None = None,
    **kwargs: Any,
) -> JittedFunction[P, R] | Callable[[Callable[P, R]], JittedFunction[P, R]]:
    """Compile a function (or module) with XLA, keeping its State reads and writes.

    Works like ``jax.jit``, except that the function may read and write any ``State``: the States it
    touches become inputs of the compiled program, the written ones become outputs, and after every call
    the written States hold their new values. Usable as ``jit(f)``, ``@jit``, ``@jit(static_argnums=1)``
    and ``jit(module)``.

    Parameters
    ----------
    fun
        The function or module to compile. Omit it to get a decorator.
    in_shardings, out_shardings, static_argnums, donate_argnums
        As in ``jax.jit`` (argument positions count the function's own arguments).
    static_argnames, donate_argnames, keep_unused, device, backend, inline, **kwargs
        As in ``jax.jit``.
    name
        The name of the compiled program (shown in jaxprs and profiles).

    Returns
    -------
    JittedFunction
        Callable like ``fun``, with ``compile``, ``lower``, ``trace``, ``eval_shape`` and ``clear_cache``.

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> import brainstate_state as bss
    >>> from brainstate_jit import jit
    >>> count = bss.State(jnp.array(0))
    >>> @jit
    ... def increment():
    ...     count.value += 1
    ...     return count.value
    >>> [int(increment()) for _ in range(4)]
    [1, 2, 3, 4]
    >>> @jit(static_argnums=1)
    ... def power(x, n):
    ...     return x ** n
    >>> float(power(2.0, 3))
    8.0
    """
    options = dict(
        in_shardings=in_shardings,
        out_shardings=out_shardings,
        static_argnums=static_argnums,
        donate_argnums=donate_argnums,
        static_argnames=static_argnames,
        donate_argnames=donate_argnames,
        keep_unused=keep_unused,
        device=device,
        backend=backend,
        inline=inline,
        name=name,
        **kwargs,
    )
    if fun is None:

        def decorate(f: Callable[P, R]) -> JittedFunction[P, R]:
            return JittedFunction(f, **options)

        return decorate
    return JittedFunction(fun, **options)
