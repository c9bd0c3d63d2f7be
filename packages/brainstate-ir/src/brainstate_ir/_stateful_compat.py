"""The brainstate 0.5.4 methods of ``StatefulFunction``, as a mixin over its own API.

``StatefulFunctionCompat`` adds the names 0.5.4 code calls (``make_jaxpr``, ``get_*(..., compile_if_miss=)``
and their ``*_by_cache`` forms, ``get_arg_cache_key``, ``get_state_trace``, ``get_cache_stats``,
``jaxpr_call`` / ``jaxpr_call_auto``, ``validate_states``, ``clear_cache``) with 0.5.4's parameters and
return values. It is built only on ``StatefulFunction``'s public methods (``split``, ``program_for``,
``get_program``, ``jaxpr_call``, ``clear_cache``, ``cache_stats``, ``__call__``) and on the public
attributes of :class:`~brainstate_ir.TracedProgram`. It must come *before* ``StatefulFunction`` in the
bases, since it redefines some of its methods (``StatefulFunctionCompat, StatefulFunction``).

Where 0.5.4 returns an object this design has no counterpart for, the closest equivalent is returned:

* ``get_arg_cache_key`` returns an opaque hashable key (0.5.4: a ``CacheKey`` named tuple of static and
  abstract dynamic arguments); equal for calls that share a program, and accepted by every
  ``*_by_cache`` method and ``validate_states``.
* ``get_state_trace`` returns a new, inactive ``StateTraceStack`` recording the program's States in
  first-access order, which of them are written, and their current values (0.5.4: the stack of the
  trace itself, whose values were the trace's abstract inputs).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable, Sequence
from typing import TYPE_CHECKING, Any

import jax

from brainstate_state import State, StateTraceStack, peek_value

if TYPE_CHECKING:
    from ._arguments import SplitCall
    from ._program import TracedProgram

__all__ = ["StatefulFunctionCompat"]


def _returned_shapes(program: TracedProgram) -> tuple[Any, ...]:
    """One entry per State: the ShapeDtypeStruct tree of its returned value, or None if not returned."""
    avals = program.jaxpr.out_avals[program.out_treedef.num_leaves :]
    returned = program.returns_all_states
    shapes: list[Any] = []
    position = 0
    for treedef, written in zip(program.state_treedefs, program.written, strict=True):
        if not (written or returned):
            shapes.append(None)
            continue
        leaves = avals[position : position + treedef.num_leaves]
        position += treedef.num_leaves
        structs = [jax.ShapeDtypeStruct(a.shape, a.dtype, weak_type=a.weak_type) for a in leaves]
        shapes.append(jax.tree.unflatten(treedef, structs))
    return tuple(shapes)


class StatefulFunctionCompat:
    """brainstate 0.5.4's ``StatefulFunction`` methods, for a class that also derives from ``StatefulFunction``.

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> import brainstate_state as bss
    >>> from brainstate_ir import StatefulFunction
    >>> from brainstate_ir._stateful_compat import StatefulFunctionCompat
    >>> class SF(StatefulFunctionCompat, StatefulFunction):
    ...     pass
    >>> a = bss.State(jnp.zeros(2), name='a')
    >>> def step(x):
    ...     a.value = a.value + x
    ...     return a.value.sum()
    >>> sf = SF(step).make_jaxpr(jnp.ones(2))
    >>> key = sf.get_arg_cache_key(jnp.ones(2))
    >>> sf.get_states_by_cache(key) == (a,)
    True
    >>> new_values, out = sf.jaxpr_call([a.value], jnp.ones(2))
    >>> float(out), float(a.value.sum())
    (2.0, 0.0)
    """

    if TYPE_CHECKING:  # provided by StatefulFunction
        name: str
        cache_size: int

        def split(self, *args: Any, **kwargs: Any) -> SplitCall: ...
        def get_program(self, *args: Any, **kwargs: Any) -> TracedProgram: ...
        def cache_stats(self) -> dict[str, float]: ...
        def __call__(self, *args: Any, **kwargs: Any) -> Any: ...

    # ------------------------------------------------------------------ the programs seen, by key
    def _compat_programs(self) -> OrderedDict[Hashable, TracedProgram]:
        programs: OrderedDict[Hashable, TracedProgram] | None = self.__dict__.get("_compat_program_registry")
        if programs is None:
            programs = self.__dict__.setdefault("_compat_program_registry", OrderedDict())
        return programs

    def program_for(self, call: SplitCall) -> TracedProgram:
        """The traced program for an already split call (traced on a cache miss); remembered by key."""
        program: TracedProgram = super().program_for(call)  # type: ignore[misc]
        programs = self._compat_programs()
        programs[call.signature] = program
        programs.move_to_end(call.signature)
        while len(programs) > max(int(getattr(self, "cache_size", 128)), 1):
            programs.popitem(last=False)
        return program

    def _program(self, args: tuple[Any, ...], kwargs: dict[str, Any], compile_if_miss: bool) -> TracedProgram:
        call = self.split(*args, **kwargs)
        if not compile_if_miss and call.signature not in self._compat_programs():
            raise self._missing(call.signature)
        return self.program_for(call)

    def _missing(self, cache_key: Hashable) -> ValueError:
        known = list(self._compat_programs())
        listing = "".join(f"\n  [{i}] {k!r}" for i, k in enumerate(known, 1)) or "\n  (none)"
        return ValueError(
            f"{self.name} has no program for the requested cache key {cache_key!r}.\nKnown keys:{listing}\n"
            "Call make_jaxpr(*args) (or the function itself) with matching arguments first, or pass "
            "compile_if_miss=True."
        )

    def _by_cache(self, cache_key: Hashable) -> TracedProgram:
        try:
            return self._compat_programs()[cache_key]
        except (KeyError, TypeError):
            raise self._missing(cache_key) from None

    # ------------------------------------------------------------------ tracing
    def make_jaxpr(self, *args: Any, **kwargs: Any) -> Any:
        """Trace the function for these arguments (if not cached yet) and return ``self``, for chaining.

        Examples
        --------
        >>> import jax.numpy as jnp
        >>> from brainstate_ir import StatefulFunction
        >>> from brainstate_ir._stateful_compat import StatefulFunctionCompat
        >>> class SF(StatefulFunctionCompat, StatefulFunction):
        ...     pass
        >>> sf = SF(lambda x: x * 2).make_jaxpr(1.0)
        >>> sf.get_cache_stats()['compilation_cache']['size']
        1
        """
        self.get_program(*args, **kwargs)
        return self

    def get_arg_cache_key(self, *args: Any, compile_if_miss: bool = False, **kwargs: Any) -> Hashable:
        """The hashable key selecting the program for these arguments (traced first if ``compile_if_miss``).

        The key is opaque: equal for calls that share a program, and accepted by the ``*_by_cache`` methods
        and :meth:`validate_states`.
        """
        call = self.split(*args, **kwargs)
        if compile_if_miss:
            self.program_for(call)
        return call.signature

    # ------------------------------------------------------------------ accessors, by arguments
    def get_jaxpr(self, *args: Any, compile_if_miss: bool = True, **kwargs: Any) -> Any:
        """The ``ClosedJaxpr`` for these arguments; without ``compile_if_miss`` a missing one is a ValueError."""
        return self._program(args, kwargs, compile_if_miss).jaxpr

    def get_states(self, *args: Any, compile_if_miss: bool = True, **kwargs: Any) -> tuple[State[Any], ...]:
        """Every State the function touches, in first-access order."""
        return self._program(args, kwargs, compile_if_miss).states

    def get_read_states(
        self, *args: Any, compile_if_miss: bool = True, **kwargs: Any
    ) -> tuple[State[Any], ...]:
        """The States read but never written."""
        return self._program(args, kwargs, compile_if_miss).read_states

    def get_write_states(
        self, *args: Any, compile_if_miss: bool = True, **kwargs: Any
    ) -> tuple[State[Any], ...]:
        """The States written."""
        return self._program(args, kwargs, compile_if_miss).write_states

    def get_out_shapes(self, *args: Any, compile_if_miss: bool = True, **kwargs: Any) -> Any:
        """``(out_shapes, state_shapes)``: the return value's ``ShapeDtypeStruct`` tree, and one entry per State
        (of :meth:`get_states`): the shapes of its value when the program returns it, else ``None``."""
        program = self._program(args, kwargs, compile_if_miss)
        return program.out_shapes, _returned_shapes(program)

    def get_out_treedef(self, *args: Any, compile_if_miss: bool = True, **kwargs: Any) -> Any:
        """The pytree structure of :meth:`get_out_shapes`."""
        program = self._program(args, kwargs, compile_if_miss)
        return jax.tree.structure((program.out_shapes, _returned_shapes(program)))

    def get_state_trace(self, *args: Any, compile_if_miss: bool = True, **kwargs: Any) -> StateTraceStack:
        """An inactive ``StateTraceStack`` holding the program's States (first-access order), which of them
        are written, and their current values."""
        return self._state_trace(self._program(args, kwargs, compile_if_miss))

    def _state_trace(self, program: TracedProgram) -> StateTraceStack:
        trace = StateTraceStack(name=self.name)
        for state, written in zip(program.states, program.written, strict=True):
            if written:
                trace.write_its_value(state)
            else:
                trace.read_its_value(state)
        return trace

    # ------------------------------------------------------------------ accessors, by key
    def get_jaxpr_by_cache(self, cache_key: Hashable) -> Any:
        """The ``ClosedJaxpr`` for a key of :meth:`get_arg_cache_key`; ValueError if it was never traced."""
        return self._by_cache(cache_key).jaxpr

    def get_states_by_cache(self, cache_key: Hashable) -> tuple[State[Any], ...]:
        """:meth:`get_states` for a cache key."""
        return self._by_cache(cache_key).states

    def get_read_states_by_cache(self, cache_key: Hashable) -> tuple[State[Any], ...]:
        """:meth:`get_read_states` for a cache key."""
        return self._by_cache(cache_key).read_states

    def get_write_states_by_cache(self, cache_key: Hashable) -> tuple[State[Any], ...]:
        """:meth:`get_write_states` for a cache key."""
        return self._by_cache(cache_key).write_states

    def get_out_shapes_by_cache(self, cache_key: Hashable) -> Any:
        """:meth:`get_out_shapes` for a cache key."""
        program = self._by_cache(cache_key)
        return program.out_shapes, _returned_shapes(program)

    def get_out_treedef_by_cache(self, cache_key: Hashable) -> Any:
        """:meth:`get_out_treedef` for a cache key."""
        program = self._by_cache(cache_key)
        return jax.tree.structure((program.out_shapes, _returned_shapes(program)))

    def get_state_trace_by_cache(self, cache_key: Hashable) -> StateTraceStack:
        """:meth:`get_state_trace` for a cache key."""
        return self._state_trace(self._by_cache(cache_key))

    # ------------------------------------------------------------------ running
    def jaxpr_call(self, state_vals: Sequence[Any], *args: Any, **kwargs: Any) -> tuple[tuple[Any, ...], Any]:
        """Run the program purely: ``(new_state_vals, out)``, nothing read from or written to any State.

        ``state_vals`` holds one value per State of :meth:`get_states`, in order. ``new_state_vals`` has one
        entry per State too: its new value if the program returns it (written States, or all States with
        ``return_only_write=False``), else ``None``.
        """
        call = self.split(*args, **kwargs)
        program = self.program_for(call)
        returned, out = super().jaxpr_call(state_vals, *args, **kwargs)  # type: ignore[misc]
        by_state = {id(s): v for s, v in zip(program.returned_states, returned, strict=True)}
        return tuple(by_state.get(id(s)) for s in program.states), out

    def jaxpr_call_auto(self, *args: Any, **kwargs: Any) -> Any:
        """Run the function with the current State values and write the new ones back; return its output."""
        return self(*args, **kwargs)

    # ------------------------------------------------------------------ cache
    def validate_states(self, cache_key: Hashable) -> bool:
        """True if the program for ``cache_key`` exists and every State it uses still holds a value.

        Raises ``ValueError`` naming the State otherwise.
        """
        program = self._by_cache(cache_key)
        for state in program.states:
            try:
                peek_value(state)
            except Exception as err:
                raise ValueError(
                    f"{self.name}: the State {state!r} of this program is no longer usable: {err}"
                ) from err
        return True

    def validate_all_states(self) -> dict[Hashable, bool | str]:
        """``{cache_key: True or the error message}`` for every known program."""
        results: dict[Hashable, bool | str] = {}
        for key in list(self._compat_programs()):
            try:
                results[key] = self.validate_states(key)
            except ValueError as err:
                results[key] = str(err)
        return results

    def clear_cache(self) -> None:
        """Drop every cached program and reset the statistics of :meth:`get_cache_stats`."""
        super().clear_cache()  # type: ignore[misc]
        self._compat_programs().clear()
        stats = self.cache_stats()
        self.__dict__["_compat_stats_base"] = (stats["hits"], stats["misses"])

    def get_cache_stats(self) -> dict[str, dict[str, Any]]:
        """``{'compilation_cache': {'size', 'maxsize', 'hits', 'misses', 'hit_rate'}}`` since the last
        :meth:`clear_cache`; ``hit_rate`` is a percentage."""
        stats = self.cache_stats()
        base_hits, base_misses = self.__dict__.get("_compat_stats_base", (0, 0))
        hits, misses = int(stats["hits"] - base_hits), int(stats["misses"] - base_misses)
        total = hits + misses
        return {
            "compilation_cache": {
                "size": int(stats["size"]),
                "maxsize": int(stats["maxsize"]),
                "hits": hits,
                "misses": misses,
                "hit_rate": 100.0 * hits / total if total else 0.0,
            }
        }
