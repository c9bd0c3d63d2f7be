"""brainstate 0.5.4's ``StatefulFunction`` methods, as a mixin over this package's ``StatefulFunction``.

:class:`StatefulFunctionCompat` adds the names 0.5.4 code calls (``make_jaxpr``,
``get_*(..., compile_if_miss=)`` and their ``*_by_cache`` forms, ``get_arg_cache_key``,
``get_state_trace``, ``get_cache_stats``, ``jaxpr_call`` / ``jaxpr_call_auto``, ``validate_states``,
``clear_cache``) with 0.5.4's parameters and return values. It is built only on ``StatefulFunction``'s
public methods (``split``, ``program_for``, ``get_program``, ``jaxpr_call``, ``clear_cache``,
``cache_stats``, ``__call__``) and on the public attributes of ``TracedProgram``. It redefines some of
``StatefulFunction``'s methods, so it comes *first* among the bases: :class:`StatefulFunction` here is
``class StatefulFunction(StatefulFunctionCompat, StatefulFunction)``.

Where 0.5.4 returns an object this design has no counterpart for, the closest equivalent is returned:

* ``get_arg_cache_key`` returns an opaque hashable key (0.5.4: a ``CacheKey`` named tuple of the static
  and abstract dynamic arguments); equal for calls that share a program, and accepted by every
  ``*_by_cache`` method and ``validate_states``.
* ``get_state_trace`` returns a new, inactive ``StateTraceStack`` holding the program's States in
  first-access order, which of them are written, and their current values (0.5.4: the stack of the trace
  itself, whose original values were abstract).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import jax

from brainstate_state import State, StateTraceStack

from ._stateful import StatefulFunction as _StatefulFunction
from ._stateful_compat_cache import CacheCompat, returned_shapes, state_trace

if TYPE_CHECKING:
    from ._program import TracedProgram

__all__ = ["StatefulFunction", "StatefulFunctionCompat"]


class StatefulFunctionCompat(CacheCompat):
    """brainstate 0.5.4's ``StatefulFunction`` methods, for a class deriving from it and ``StatefulFunction``.

    Examples
    --------
    >>> import jax.numpy as jnp, brainstate_state as bss
    >>> from brainstate_ir import StatefulFunction
    >>> a = bss.State(jnp.zeros(2), name='a')
    >>> def step(x):
    ...     a.value = a.value + x
    ...     return a.value.sum()
    >>> sf = StatefulFunction(step).make_jaxpr(jnp.ones(2))
    >>> sf.get_states_by_cache(sf.get_arg_cache_key(jnp.ones(2))) == (a,)
    True
    """

    if TYPE_CHECKING:  # provided by StatefulFunction

        def get_program(self, *args: Any, **kwargs: Any) -> TracedProgram: ...
        def __call__(self, *args: Any, **kwargs: Any) -> Any: ...

    def make_jaxpr(self, *args: Any, **kwargs: Any) -> Any:
        """Trace the function for these arguments (unless cached) and return ``self``, for chaining.

        Examples
        --------
        >>> from brainstate_ir import StatefulFunction
        >>> sf = StatefulFunction(lambda x: x * 2).make_jaxpr(1.0)
        >>> sf.get_cache_stats()['compilation_cache']['size']
        1
        """
        self.get_program(*args, **kwargs)
        return self

    def get_jaxpr(self, *args: Any, compile_if_miss: bool = True, **kwargs: Any) -> Any:
        """The ``ClosedJaxpr`` for these arguments; with ``compile_if_miss=False`` a missing one is a ValueError.

        Examples
        --------
        >>> from brainstate_ir import StatefulFunction
        >>> sf = StatefulFunction(lambda x: x * 2)
        >>> len(sf.get_jaxpr(1.0).eqns)
        1
        """
        return self._program(args, kwargs, compile_if_miss).jaxpr

    def get_states(self, *args: Any, compile_if_miss: bool = True, **kwargs: Any) -> tuple[State[Any], ...]:
        """Every State the function touches for these arguments, in first-access order.

        Examples
        --------
        >>> import jax.numpy as jnp, brainstate_state as bss
        >>> from brainstate_ir import StatefulFunction
        >>> s = bss.State(jnp.zeros(()))
        >>> StatefulFunction(lambda x: s.value + x).get_states(1.0) == (s,)
        True
        """
        return self._program(args, kwargs, compile_if_miss).states

    def get_read_states(
        self, *args: Any, compile_if_miss: bool = True, **kwargs: Any
    ) -> tuple[State[Any], ...]:
        """The States read but never written.

        Examples
        --------
        >>> import jax.numpy as jnp, brainstate_state as bss
        >>> from brainstate_ir import StatefulFunction
        >>> s = bss.State(jnp.zeros(()))
        >>> StatefulFunction(lambda x: s.value + x).get_read_states(1.0) == (s,)
        True
        """
        return self._program(args, kwargs, compile_if_miss).read_states

    def get_write_states(
        self, *args: Any, compile_if_miss: bool = True, **kwargs: Any
    ) -> tuple[State[Any], ...]:
        """The States written.

        Examples
        --------
        >>> import jax.numpy as jnp, brainstate_state as bss
        >>> from brainstate_ir import StatefulFunction
        >>> s = bss.State(jnp.zeros(()))
        >>> StatefulFunction(lambda x: setattr(s, 'value', x)).get_write_states(1.0) == (s,)
        True
        """
        return self._program(args, kwargs, compile_if_miss).write_states

    def get_out_shapes(self, *args: Any, compile_if_miss: bool = True, **kwargs: Any) -> Any:
        """``(out_shapes, state_shapes)``: the return value as ``jax.ShapeDtypeStruct`` leaves, and one entry
        per State of :meth:`get_states`: the shapes of its value if the program returns it, else ``None``.

        Examples
        --------
        >>> import jax.numpy as jnp, brainstate_state as bss
        >>> from brainstate_ir import StatefulFunction
        >>> a, w = bss.State(jnp.zeros(2)), bss.State(jnp.ones(()))
        >>> def step(x):
        ...     a.value = a.value + x * w.value
        ...     return a.value.sum()
        >>> out, (a_shape, w_shape) = StatefulFunction(step).get_out_shapes(jnp.ones(2))
        >>> out.shape, a_shape.shape, w_shape
        ((), (2,), None)
        """
        program = self._program(args, kwargs, compile_if_miss)
        return program.out_shapes, returned_shapes(program)

    def get_out_treedef(self, *args: Any, compile_if_miss: bool = True, **kwargs: Any) -> Any:
        """The pytree structure of :meth:`get_out_shapes`.

        Examples
        --------
        >>> import jax.numpy as jnp, brainstate_state as bss
        >>> from brainstate_ir import StatefulFunction
        >>> s = bss.State(jnp.zeros(()))
        >>> StatefulFunction(lambda x: (s.value + x, x)).get_out_treedef(1.0)
        PyTreeDef(((*, *), (None,)))
        """
        program = self._program(args, kwargs, compile_if_miss)
        return jax.tree.structure((program.out_shapes, returned_shapes(program)))

    def get_state_trace(self, *args: Any, compile_if_miss: bool = True, **kwargs: Any) -> StateTraceStack:
        """An inactive ``StateTraceStack`` holding the program's States (first-access order), which of them
        are written, and their current values.

        Examples
        --------
        >>> import jax.numpy as jnp, brainstate_state as bss
        >>> from brainstate_ir import StatefulFunction
        >>> a, w = bss.State(jnp.zeros(())), bss.State(jnp.ones(()))
        >>> def step(x):
        ...     a.value = w.value * x
        >>> StatefulFunction(step).get_state_trace(2.0).been_written
        [False, True]
        """
        return state_trace(self._program(args, kwargs, compile_if_miss), self.name)

    def jaxpr_call(self, state_vals: Sequence[Any], *args: Any, **kwargs: Any) -> tuple[tuple[Any, ...], Any]:
        """Run the program purely: ``(new_state_vals, out)``; no State is read or written.

        ``state_vals`` holds one value per State of :meth:`get_states`, in order; so does ``new_state_vals``:
        the State's new value if the program returns it (written States, or all States with
        ``return_only_write=False``), else ``None``.

        Examples
        --------
        >>> import jax.numpy as jnp, brainstate_state as bss
        >>> from brainstate_ir import StatefulFunction
        >>> a, w = bss.State(jnp.zeros(())), bss.State(jnp.ones(()))
        >>> def step(x):
        ...     a.value = a.value + w.value * x
        ...     return a.value * 10
        >>> (new_a, new_w), out = StatefulFunction(step).jaxpr_call([a.value, w.value], 2.0)
        >>> float(new_a), new_w, float(out), float(a.value)
        (2.0, None, 20.0, 0.0)
        """
        call = self.split(*args, **kwargs)
        program = self.program_for(call)
        returned, out = super().jaxpr_call(state_vals, *args, **kwargs)  # type: ignore[misc]
        by_state = {id(s): v for s, v in zip(program.returned_states, returned, strict=True)}
        return tuple(by_state.get(id(s)) for s in program.states), out

    def jaxpr_call_auto(self, *args: Any, **kwargs: Any) -> Any:
        """Run the function with the current State values, write the new values back, return its output.

        Examples
        --------
        >>> import jax.numpy as jnp, brainstate_state as bss
        >>> from brainstate_ir import StatefulFunction
        >>> a = bss.State(jnp.zeros(()))
        >>> def step(x):
        ...     a.value = a.value + x
        ...     return a.value * 10
        >>> float(StatefulFunction(step).jaxpr_call_auto(2.0)), float(a.value)
        (20.0, 2.0)
        """
        return self(*args, **kwargs)


# jaxpr_call returns 0.5.4's one-entry-per-State tuple where the base returns the returned values only.
class StatefulFunction(StatefulFunctionCompat, _StatefulFunction):  # type: ignore[misc]
    __doc__ = _StatefulFunction.__doc__
