"""``StatefulFunction``: trace a function that reads and writes States into a pure program, once.

Every brainstate transform stands on this: trace the user function into a ``ClosedJaxpr`` whose inputs
and outputs include the States it touches, apply the plain JAX transform to that pure program, then write
the new State values back. See :class:`~brainstate_ir.TracedProgram` for the program layout.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Sequence
from typing import Any

import jax

from brainstate_state import (
    GRAPH_EPOCH,
    State,
    StateTraceStack,
    catch_new_states,
    contains_tracer,
    invalidate_state_value,
    note_node_reads,
    peek_value,
    recording_node_reads,
    state_error_message,
    watch_nodes,
)

from . import compat
from ._arguments import (
    SplitCall,
    function_name,
    reject_states_in_output,
    resolve_static_args,
    split_call,
)
from ._call_cache import compiled_call
from ._program import TracedProgram

__all__ = ["StatefulFunction", "run_program"]

_NEW_STATE_FIX = (
    "create the State before entering the transformed function (e.g. in the module's __init__ or "
    "init_state, called outside the transform), or create it with a concrete value; to create a batch of "
    "States under vmap use brainstate.transform.vmap_new_states."
)


def _state_leaf_signature(leaf: Any) -> Any:
    # Shape and dtype only: a weakly typed initial value (``jnp.array(0.0)``) that the program rewrites with
    # a strongly typed one is the same State for the program, whose dtypes are explicit.
    shape = getattr(leaf, "shape", None)
    if shape is None:
        return type(leaf).__name__
    return (tuple(shape), leaf.dtype)


def _state_signature(value: Any) -> tuple[Any, ...]:
    return tuple(_state_leaf_signature(leaf) for leaf in jax.tree.leaves(value))


class StatefulFunction:
    """Trace a function that uses States into a pure program; cache one program per argument signature.

    Parameters
    ----------
    fun
        The function. It may read and write any State; States must not be passed as arguments or returned.
    static_argnums, static_argnames
        Arguments whose *values* select the program (they must be hashable), as in ``jax.jit``.
    axis_env
        ``[(axis_name, size), ...]`` for tracing functions that use collectives outside a mapping.
    name
        A name for messages (defaults to the function's name).
    return_only_write
        If ``True`` (default) the program returns the values of the written States only; else of all
        touched States.
    ir_optimizations
        Names of ``optimize_jaxpr`` passes applied to every traced program (``None``: none).
    cache_size
        Maximum number of programs kept (least recently used are dropped).

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> import brainstate_state as bss
    >>> from brainstate_ir import StatefulFunction
    >>> counter = bss.State(jnp.array(0.0), name='counter')
    >>> def step(x):
    ...     counter.value = counter.value + x
    ...     return counter.value * 2
    >>> sf = StatefulFunction(step)
    >>> sf.get_states(1.0) == (counter,)
    True
    >>> new_values, out = sf.jaxpr_call([counter.value], 1.0)   # pure: nothing is written
    >>> float(out), float(new_values[0]), float(counter.value)
    (2.0, 1.0, 0.0)
    >>> float(sf(1.0)), float(counter.value)                     # runs and writes back
    (2.0, 1.0)
    """

    def __init__(
        self,
        fun: Callable[..., Any],
        static_argnums: int | Sequence[int] = (),
        static_argnames: str | Sequence[str] = (),
        axis_env: Sequence[tuple[Hashable, int]] | None = None,
        name: str | None = None,
        return_only_write: bool = True,
        ir_optimizations: str | Sequence[str] | None = None,
        cache_size: int = 128,
    ) -> None:
        if not callable(fun):
            raise TypeError(f"StatefulFunction needs a callable, got {type(fun).__name__}.")
        self.fun = fun
        self._static = resolve_static_args(fun, static_argnums, static_argnames)
        self.static_argnums = self._static.argnums
        self.static_argnames = self._static.argnames
        self.axis_env = tuple(axis_env) if axis_env else None
        self.name = name or function_name(fun)
        self.return_only_write = return_only_write
        if isinstance(ir_optimizations, str):
            ir_optimizations = (ir_optimizations,)
        self.ir_optimizations = tuple(ir_optimizations) if ir_optimizations is not None else None
        self.cache_size = cache_size
        self._cache: OrderedDict[Hashable, TracedProgram] = OrderedDict()
        self._lock = threading.RLock()
        self._hits = 0
        self._misses = 0

    def __repr__(self) -> str:
        return f"StatefulFunction({self.name}, cached_programs={len(self._cache)})"

    # ------------------------------------------------------------------ tracing
    def split(self, *args: Any, **kwargs: Any) -> SplitCall:
        """Split a call into its signature and dynamic leaves (validating the arguments)."""
        return split_call(args, kwargs, self.static_argnums, self.static_argnames, self.name, self._static)

    def get_program(self, *args: Any, **kwargs: Any) -> TracedProgram:
        """The traced program for these arguments (traced on a cache miss)."""
        return self.program_for(self.split(*args, **kwargs))

    def program_for(self, call: SplitCall) -> TracedProgram:
        """The traced program for an already split call (traced on a cache miss)."""
        key = call.signature
        with self._lock:
            program = self._cache.get(key)
            if program is not None:
                if not self._is_stale(program):
                    self._cache.move_to_end(key)
                    self._hits += 1
                    if program.watch is not None:
                        note_node_reads(program.watch)  # an enclosing trace reached these nodes too
                    return program
                del self._cache[key]
            self._misses += 1
        program = self._trace(call)
        if not any(isinstance(c, jax.core.Tracer) for c in program.jaxpr.consts):
            # A program that closes over tracers of an enclosing trace is only valid inside that trace.
            with self._lock:
                self._cache[key] = program
                while len(self._cache) > self.cache_size:
                    self._cache.popitem(last=False)
        return program

    @staticmethod
    def _is_stale(program: TracedProgram) -> bool:
        if not program.valid:
            return True
        for state, signature in zip(program.states, program.state_signatures, strict=True):
            if _state_signature(peek_value(state)) != signature:
                return True
        return False

    def _trace(self, call: SplitCall) -> TracedProgram:
        recorded: dict[str, Any] = {}
        return_all = not self.return_only_write

        def traced(*dynamic_leaves: Any) -> tuple[Any, list[Any]]:
            args, kwargs = call.rebuild(dynamic_leaves)
            trace = compat.current_trace()
            source_info = compat.current_source_info()

            def new_input(x: Any) -> Any:
                return compat.new_trace_input(trace, compat.shaped_abstractify(x), source_info)

            def new_arg(state: State[Any], outside: Any) -> Any:
                if isinstance(outside, jax.Array):  # the common case: one array, no tree walk
                    return new_input(outside)
                return jax.tree.map(new_input, outside)

            with catch_new_states() as catcher, StateTraceStack(new_arg, name=self.name) as stack:
                out = self.fun(*args, **kwargs)
            reject_states_in_output(out, self.name)
            _invalidate_traced_new_states(catcher.states, self.name)
            # Keep only what describes the States; the stack itself holds this trace's tracers.
            originals = stack.original_state_values
            recorded["states"] = tuple(stack.states)
            recorded["written"] = tuple(stack.been_written)
            recorded["treedefs"] = tuple(jax.tree.structure(v) for v in originals)
            recorded["signatures"] = tuple(_state_signature(v) for v in originals)
            values = stack.get_state_values() if return_all else stack.get_write_state_values()
            return out, values

        with recording_node_reads() as nodes:
            closed, shapes = jax.make_jaxpr(traced, axis_env=self.axis_env, return_shape=True)(*call.leaves)
        if self.ir_optimizations is not None:
            from .optimize import optimize_jaxpr

            closed = optimize_jaxpr(closed, optimizations=list(self.ir_optimizations))
        out_shapes, _ = shapes
        return TracedProgram(
            jaxpr=closed,
            states=recorded["states"],
            written=recorded["written"],
            returns_all_states=return_all,
            state_treedefs=recorded["treedefs"],
            state_signatures=recorded["signatures"],
            out_treedef=jax.tree.structure(out_shapes),
            out_shapes=out_shapes,
            epoch=GRAPH_EPOCH.value,
            watch=watch_nodes(nodes.values()),
        )

    # ------------------------------------------------------------------ one accessor per fact
    def get_jaxpr(self, *args: Any, **kwargs: Any) -> compat.ClosedJaxpr:
        """The program traced for these arguments."""
        return self.get_program(*args, **kwargs).jaxpr

    def get_states(self, *args: Any, **kwargs: Any) -> tuple[State[Any], ...]:
        """Every State the function touches for these arguments, in first-access order."""
        return self.get_program(*args, **kwargs).states

    def get_read_states(self, *args: Any, **kwargs: Any) -> tuple[State[Any], ...]:
        """The States read but not written."""
        return self.get_program(*args, **kwargs).read_states

    def get_write_states(self, *args: Any, **kwargs: Any) -> tuple[State[Any], ...]:
        """The States written."""
        return self.get_program(*args, **kwargs).write_states

    def get_out_shapes(self, *args: Any, **kwargs: Any) -> Any:
        """The return value's shapes as a pytree of ``jax.ShapeDtypeStruct``."""
        return self.get_program(*args, **kwargs).out_shapes

    def get_out_treedef(self, *args: Any, **kwargs: Any) -> Any:
        """The return value's pytree structure."""
        return self.get_program(*args, **kwargs).out_treedef

    # ------------------------------------------------------------------ running
    def jaxpr_call(self, state_values: Sequence[Any], *args: Any, **kwargs: Any) -> tuple[list[Any], Any]:
        """Run the program purely: ``(values of all touched States, *args) -> (returned State values, out)``.

        ``state_values`` are in the order of :meth:`get_states`; the returned values are those of the
        written States (or of all States with ``return_only_write=False``). No State is read or written,
        so this is the function to hand to JAX transforms.
        """
        call = self.split(*args, **kwargs)
        program = self.program_for(call)
        if len(state_values) != len(program.states):
            raise ValueError(
                f"{self.name} touches {len(program.states)} State(s) but jaxpr_call received "
                f"{len(state_values)} state value(s). Pass one value per State of get_states(), in order."
            )
        out, new_values = program.evaluate(call.leaves, state_values)
        return new_values, out

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """Run the function through its traced program and write the new State values back."""
        if jax.config.jax_disable_jit:  # type: ignore[attr-defined]
            return self.fun(*args, **kwargs)
        call = self.split(*args, **kwargs)
        return run_program(self.program_for(call), call.leaves)

    # ------------------------------------------------------------------ cache
    def clear_cache(self) -> None:
        """Drop every cached program (the next call retraces)."""
        with self._lock:
            self._cache.clear()

    def cache_stats(self) -> dict[str, float]:
        """``{'size', 'maxsize', 'hits', 'misses', 'hit_rate'}`` of the program cache."""
        with self._lock:
            total = self._hits + self._misses
            return {
                "size": len(self._cache),
                "maxsize": self.cache_size,
                "hits": self._hits,
                "misses": self._misses,
                "hit_rate": self._hits / total if total else 0.0,
            }


def run_program(program: TracedProgram, arg_leaves: Sequence[Any]) -> Any:
    """Run a traced program on the current State values, write the written States back, return the output.

    The end of every stateful call: read the States' values, evaluate through the shared compiled-program
    cache (:func:`~brainstate_ir.compiled_call`; inside an enclosing trace the program is evaluated
    directly), then commit the new values. Nothing is written if the evaluation raises.
    """
    values = [state.value for state in program.states]
    out, new_values = compiled_call(program, arg_leaves, values)
    if program.returns_all_states:
        for state, written, value in zip(program.states, program.written, new_values, strict=True):
            if written:
                state.value = value
    else:
        for state, value in zip(program.write_states, new_values, strict=True):
            state.value = value
    return out


def _invalidate_traced_new_states(states: Sequence[State[Any]], name: str) -> None:
    """Poison the States created during a trace that still hold its tracers."""
    for state in states:
        if contains_tracer(state._value):
            invalidate_state_value(
                state,
                state_error_message(
                    f"This State was created inside the traced function {name} and holds a value of that "
                    "trace, which has ended.",
                    state,
                    _NEW_STATE_FIX,
                ),
            )
