"""The cache-key half of brainstate 0.5.4's ``StatefulFunction`` API (see ``_stateful_compat``).

Every program ``program_for`` returns is remembered under its call's key (the same bound as the program
cache), so ``get_arg_cache_key`` keys select programs in the ``*_by_cache`` methods and
``validate_states``; ``clear_cache`` forgets them and resets the statistics of ``get_cache_stats``.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable
from typing import TYPE_CHECKING, Any

import jax

from brainstate_state import State, StateTraceStack, peek_value

if TYPE_CHECKING:
    from ._arguments import SplitCall
    from ._program import TracedProgram

__all__ = ["CacheCompat", "returned_shapes", "state_trace"]


def returned_shapes(program: TracedProgram) -> tuple[Any, ...]:
    """One entry per State: the ShapeDtypeStruct tree of its returned value, or None if not returned."""
    avals = program.jaxpr.out_avals[program.out_treedef.num_leaves :]
    shapes: list[Any] = []
    position = 0
    for treedef, written in zip(program.state_treedefs, program.written, strict=True):
        if not (written or program.returns_all_states):
            shapes.append(None)
            continue
        leaves = avals[position : position + treedef.num_leaves]
        position += treedef.num_leaves
        structs = [jax.ShapeDtypeStruct(a.shape, a.dtype, weak_type=a.weak_type) for a in leaves]
        shapes.append(jax.tree.unflatten(treedef, structs))
    return tuple(shapes)


def state_trace(program: TracedProgram, name: str) -> StateTraceStack:
    """An inactive StateTraceStack with the program's States, their writes and their current values."""
    trace = StateTraceStack(name=name)
    for state, written in zip(program.states, program.written, strict=True):
        if written:
            trace.write_its_value(state)
        else:
            trace.read_its_value(state)
    return trace


class CacheCompat:
    """``get_arg_cache_key``, the ``*_by_cache`` accessors, ``validate_states``, ``clear_cache`` and
    ``get_cache_stats`` of brainstate 0.5.4, over ``StatefulFunction``'s public methods."""

    if TYPE_CHECKING:  # provided by StatefulFunction
        name: str

        def split(self, *args: Any, **kwargs: Any) -> SplitCall: ...
        def cache_stats(self) -> dict[str, float]: ...

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

    # ------------------------------------------------------------------ keys
    def get_arg_cache_key(self, *args: Any, compile_if_miss: bool = False, **kwargs: Any) -> Hashable:
        """The hashable key selecting the program for these arguments (traced first if ``compile_if_miss``).

        The key is opaque: equal for calls that share a program, accepted by the ``*_by_cache`` methods and
        :meth:`validate_states`.

        Examples
        --------
        >>> import jax.numpy as jnp
        >>> from brainstate_ir import StatefulFunction
        >>> sf = StatefulFunction(lambda x: x * 2)
        >>> sf.get_arg_cache_key(jnp.ones(2)) == sf.get_arg_cache_key(jnp.zeros(2))
        True
        >>> sf.get_arg_cache_key(jnp.ones(2)) == sf.get_arg_cache_key(jnp.ones(3))
        False
        """
        call = self.split(*args, **kwargs)
        if compile_if_miss:
            self.program_for(call)
        return call.signature

    # ------------------------------------------------------------------ accessors, by key
    def get_jaxpr_by_cache(self, cache_key: Hashable) -> Any:
        """The ``ClosedJaxpr`` traced for a key of :meth:`get_arg_cache_key` (ValueError if never traced).

        Examples
        --------
        >>> from brainstate_ir import StatefulFunction
        >>> sf = StatefulFunction(lambda x: x * 2)
        >>> key = sf.get_arg_cache_key(1.0, compile_if_miss=True)
        >>> sf.get_jaxpr_by_cache(key) is sf.get_jaxpr(1.0)
        True
        """
        return self._by_cache(cache_key).jaxpr

    def get_states_by_cache(self, cache_key: Hashable) -> tuple[State[Any], ...]:
        """Every State the program for ``cache_key`` touches, in first-access order.

        Examples
        --------
        >>> import jax.numpy as jnp, brainstate_state as bss
        >>> from brainstate_ir import StatefulFunction
        >>> s = bss.State(jnp.zeros(()))
        >>> sf = StatefulFunction(lambda x: s.value + x)
        >>> sf.get_states_by_cache(sf.get_arg_cache_key(1.0, compile_if_miss=True)) == (s,)
        True
        """
        return self._by_cache(cache_key).states

    def get_read_states_by_cache(self, cache_key: Hashable) -> tuple[State[Any], ...]:
        """The States the program for ``cache_key`` reads but never writes.

        Examples
        --------
        >>> import jax.numpy as jnp, brainstate_state as bss
        >>> from brainstate_ir import StatefulFunction
        >>> s = bss.State(jnp.zeros(()))
        >>> sf = StatefulFunction(lambda x: s.value + x)
        >>> sf.get_read_states_by_cache(sf.get_arg_cache_key(1.0, compile_if_miss=True)) == (s,)
        True
        """
        return self._by_cache(cache_key).read_states

    def get_write_states_by_cache(self, cache_key: Hashable) -> tuple[State[Any], ...]:
        """The States the program for ``cache_key`` writes.

        Examples
        --------
        >>> import jax.numpy as jnp, brainstate_state as bss
        >>> from brainstate_ir import StatefulFunction
        >>> s = bss.State(jnp.zeros(()))
        >>> sf = StatefulFunction(lambda x: setattr(s, 'value', x))
        >>> sf.get_write_states_by_cache(sf.get_arg_cache_key(1.0, compile_if_miss=True)) == (s,)
        True
        """
        return self._by_cache(cache_key).write_states

    def get_out_shapes_by_cache(self, cache_key: Hashable) -> Any:
        """``(out_shapes, state_shapes)`` of the program for ``cache_key`` (see ``get_out_shapes``).

        Examples
        --------
        >>> from brainstate_ir import StatefulFunction
        >>> sf = StatefulFunction(lambda x: x * 2)
        >>> sf.get_out_shapes_by_cache(sf.get_arg_cache_key(1.0, compile_if_miss=True))[0].shape
        ()
        """
        program = self._by_cache(cache_key)
        return program.out_shapes, returned_shapes(program)

    def get_out_treedef_by_cache(self, cache_key: Hashable) -> Any:
        """The pytree structure of :meth:`get_out_shapes_by_cache`.

        Examples
        --------
        >>> from brainstate_ir import StatefulFunction
        >>> sf = StatefulFunction(lambda x: (x, x * 2))
        >>> sf.get_out_treedef_by_cache(sf.get_arg_cache_key(1.0, compile_if_miss=True))
        PyTreeDef(((*, *), ()))
        """
        program = self._by_cache(cache_key)
        return jax.tree.structure((program.out_shapes, returned_shapes(program)))

    def get_state_trace_by_cache(self, cache_key: Hashable) -> StateTraceStack:
        """An inactive ``StateTraceStack`` of the program for ``cache_key`` (see ``get_state_trace``).

        Examples
        --------
        >>> import jax.numpy as jnp, brainstate_state as bss
        >>> from brainstate_ir import StatefulFunction
        >>> s = bss.State(jnp.zeros(()))
        >>> sf = StatefulFunction(lambda x: setattr(s, 'value', x))
        >>> sf.get_state_trace_by_cache(sf.get_arg_cache_key(1.0, compile_if_miss=True)).been_written
        [True]
        """
        return state_trace(self._by_cache(cache_key), self.name)

    # ------------------------------------------------------------------ cache
    def validate_states(self, cache_key: Hashable) -> bool:
        """True if the program for ``cache_key`` exists and each of its States still holds a value.

        Raises ``ValueError`` naming the key, or the State, otherwise.

        Examples
        --------
        >>> from brainstate_ir import StatefulFunction
        >>> sf = StatefulFunction(lambda x: x * 2)
        >>> sf.validate_states(sf.get_arg_cache_key(1.0, compile_if_miss=True))
        True
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
        """``{cache_key: True or the error message}`` for every known program.

        Examples
        --------
        >>> from brainstate_ir import StatefulFunction
        >>> sf = StatefulFunction(lambda x: x * 2).make_jaxpr(1.0)
        >>> list(sf.validate_all_states().values())
        [True]
        """
        results: dict[Hashable, bool | str] = {}
        for key in list(self._compat_programs()):
            try:
                results[key] = self.validate_states(key)
            except ValueError as err:
                results[key] = str(err)
        return results

    def clear_cache(self) -> None:
        """Drop every cached program (the next call retraces) and reset :meth:`get_cache_stats`.

        Examples
        --------
        >>> from brainstate_ir import StatefulFunction
        >>> sf = StatefulFunction(lambda x: x * 2).make_jaxpr(1.0)
        >>> sf.clear_cache()
        >>> sf.get_cache_stats()['compilation_cache']['size']
        0
        """
        super().clear_cache()  # type: ignore[misc]
        self._compat_programs().clear()
        stats = self.cache_stats()
        self.__dict__["_compat_stats_base"] = (stats["hits"], stats["misses"])

    def get_cache_stats(self) -> dict[str, dict[str, Any]]:
        """``{'compilation_cache': {'size', 'maxsize', 'hits', 'misses', 'hit_rate'}}`` since the last
        :meth:`clear_cache`; ``hit_rate`` is a percentage.

        Examples
        --------
        >>> from brainstate_ir import StatefulFunction
        >>> sf = StatefulFunction(lambda x: x * 2)
        >>> sf.make_jaxpr(1.0).make_jaxpr(2.0).get_cache_stats()['compilation_cache']
        {'size': 1, 'maxsize': 128, 'hits': 1, 'misses': 1, 'hit_rate': 50.0}
        """
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
