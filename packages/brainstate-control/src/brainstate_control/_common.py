"""Shared machinery of the control-flow transforms: tracing context, state unions, validation.

Every transform here follows one pattern. Trace each user function once (a ``StatefulFunction``) to learn
which States it reads and writes; split those States into *written* ones, whose values travel through the
JAX primitive (branch outputs, loop carry) and are committed afterwards, and *read-only* ones, which enter
the primitive once as loop-invariant inputs. Inside the primitive, each traced program is replayed with
``TracedProgram.evaluate`` on the values the primitive hands it.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from brainstate_ir import TracedProgram, compat
from brainstate_state import TRACE_CONTEXT, State, contains_tracer, state_error_message

__all__ = [
    "StateUnion",
    "check_branch_outputs",
    "check_leading_sizes",
    "commit",
    "disable_jit_active",
    "function_label",
    "in_trace",
    "is_concrete",
    "promote_weak_carry",
    "slice_spec",
    "to_scalar_pred",
]


def in_trace() -> bool:
    """Whether we run inside a brainstate trace or any non-eager JAX trace (jit, vmap, grad, ...)."""
    return bool(TRACE_CONTEXT.stack) or not compat.is_top_level_trace()


def disable_jit_active() -> bool:
    """Whether ``jax.disable_jit()`` is in effect."""
    return compat.disable_jit_enabled()


def is_concrete(x: Any) -> bool:
    """Whether every leaf of ``x`` is a concrete value (not a JAX tracer)."""
    return not contains_tracer(x)


class StateUnion:
    """The union of the States touched by several traced programs (branches, cond + body).

    ``write_states`` are the States written by any program (first-access order over the programs);
    ``read_states`` are the others. ``values_for(program, write_values, read_values)`` assembles the state
    inputs of one program; ``written_after(program, write_values, new_values)`` gives the value of every
    union-written State after that program ran: its own result where it wrote, the incoming value elsewhere.
    """

    def __init__(self, programs: Sequence[TracedProgram]) -> None:
        states: dict[int, State[Any]] = {}
        written: set[int] = set()
        for program in programs:
            for state, was_written in zip(program.states, program.written, strict=True):
                states.setdefault(id(state), state)
                if was_written:
                    written.add(id(state))
        self.write_states: tuple[State[Any], ...] = tuple(s for k, s in states.items() if k in written)
        self.read_states: tuple[State[Any], ...] = tuple(s for k, s in states.items() if k not in written)

    def current_values(self) -> tuple[list[Any], list[Any]]:
        """Read the States (recorded by any enclosing trace): ``(write_values, read_values)``."""
        return [s.value for s in self.write_states], [s.value for s in self.read_states]

    def values_for(
        self, program: TracedProgram, write_values: Sequence[Any], read_values: Sequence[Any]
    ) -> list[Any]:
        """The state inputs of ``program`` (one per ``program.states``) drawn from the union's values."""
        by_id = {id(s): v for s, v in zip(self.write_states, write_values, strict=True)}
        by_id.update({id(s): v for s, v in zip(self.read_states, read_values, strict=True)})
        return [by_id[id(s)] for s in program.states]

    def written_after(
        self, program: TracedProgram, write_values: Sequence[Any], new_values: Sequence[Any]
    ) -> list[Any]:
        """New values of all union-written States after ``program`` returned ``new_values`` for its own."""
        new_by_id = {id(s): v for s, v in zip(program.write_states, new_values, strict=True)}
        return [new_by_id.get(id(s), old) for s, old in zip(self.write_states, write_values, strict=True)]

    def commit(self, new_values: Sequence[Any]) -> None:
        """Write the final values into the written States (recorded by any enclosing trace)."""
        commit(self.write_states, new_values)

    def check_written_types(self, programs: Sequence[TracedProgram], where: str) -> None:
        """Raise ``TypeError`` if a program writes a State with a different shape or dtype than it holds.

        Branch outputs and loop carries must keep their types; the JAX error would only speak of
        "carry" or "branch outputs" without saying which State.
        """
        incoming = {id(s): jax.tree.leaves(s.value) for s in self.write_states}
        for program in programs:
            n_out = program.out_treedef.num_leaves
            out_avals = program.jaxpr.out_avals[n_out:]
            position = 0
            treedefs = dict(zip(map(id, program.states), program.state_treedefs, strict=True))
            for state in program.returned_states:
                n = treedefs[id(state)].num_leaves
                new_avals = out_avals[position : position + n]
                position += n
                for old, new in zip(incoming[id(state)], new_avals, strict=True):
                    old_shape, old_dtype = np.shape(old), jnp.result_type(old)
                    if tuple(old_shape) != tuple(new.shape) or old_dtype != new.dtype:
                        raise TypeError(
                            state_error_message(
                                f"{where} writes a value of shape {tuple(new.shape)} and dtype {new.dtype} "
                                f"into a State holding shape {tuple(old_shape)} and dtype {old_dtype}; "
                                "inside control flow a State must keep its shape and dtype.",
                                state,
                                "cast the new value to the State's dtype (e.g. `x.astype(state.value.dtype)`) "
                                "or give the State its final dtype/shape before the control-flow call.",
                            )
                        )


def commit(states: Sequence[State[Any]], values: Sequence[Any]) -> None:
    """Write ``values`` into ``states`` (after the JAX primitive returned, so failures change nothing)."""
    for state, value in zip(states, values, strict=True):
        state.value = value


def to_scalar_pred(pred: Any, what: str = "cond") -> Any:
    """Validate a predicate: a scalar bool or real number (numbers mean ``!= 0``); return a bool scalar."""
    if pred is None or isinstance(pred, (str, bytes, list, tuple, dict, set)):
        raise TypeError(
            f"{what}: the predicate must be a scalar boolean or number, got {type(pred).__name__} "
            f"({pred!r:.60}). Pass a single value such as `x > 0`; for several conditions use "
            "brainstate.transform.ifelse."
        )
    if isinstance(pred, State):
        raise TypeError(f"{what}: the predicate is a State; pass its value (`state.value`), not the State.")
    if not hasattr(pred, "dtype"):
        pred = np.asarray(pred)
    shape = tuple(np.shape(pred))
    dtype = None if compat.is_extended_dtype(pred.dtype) else np.dtype(pred.dtype)
    if shape != ():
        raise TypeError(
            f"{what}: the predicate must be a scalar, got an array of shape {shape}. Reduce it first "
            "(`jnp.any(x)`, `jnp.all(x)`), or use jax.vmap to branch per element."
        )
    if dtype is None or dtype.kind not in "biuf":
        raise TypeError(
            f"{what}: the predicate must be a boolean or a real number, got dtype {pred.dtype}. "
            "Compare it to something first (e.g. `x != 0`, `abs(z) > 0` for complex values)."
        )
    if dtype.kind == "b":
        return pred
    return pred != 0


def check_leading_sizes(xs: Any, length: int | None, what: str) -> int:
    """The common leading size of the leaves of ``xs`` (checked against ``length``); ``ValueError`` if not."""
    leaves = jax.tree.leaves(xs)
    sizes = []
    for leaf in leaves:
        shape = np.shape(leaf)
        if len(shape) == 0:
            raise ValueError(
                f"{what}: every leaf of xs must have a leading axis to loop over, but one is a scalar "
                f"({type(leaf).__name__}). Pass arrays of shape (length, ...)."
            )
        sizes.append(int(shape[0]))
    if length is not None:
        if isinstance(length, bool) or not isinstance(length, (int, np.integer)) or length < 0:
            raise ValueError(f"{what}: length must be a non-negative int, got {length!r}.")
        length = int(length)
    distinct = sorted(set(sizes))
    if len(distinct) > 1 or (distinct and length is not None and distinct[0] != length):
        detail = ", ".join(str(s) for s in sizes)
        extra = f" and length={length}" if length is not None else ""
        raise ValueError(
            f"{what}: the leading axis sizes of xs must all be equal{' to length' if extra else ''}, "
            f"got sizes [{detail}]{extra}. Slice the inputs to a common length."
        )
    if distinct:
        return distinct[0]
    if length is None:
        raise ValueError(f"{what}: length must be given when xs has no arrays (xs={xs!r:.60}).")
    return length


def slice_spec(xs: Any) -> Any:
    """Abstract values of one slice ``x[i]`` of every leaf of ``xs`` (for tracing a loop body once)."""

    def one(x: Any) -> jax.ShapeDtypeStruct:
        aval = compat.shaped_abstractify(x)
        return jax.ShapeDtypeStruct(aval.shape[1:], aval.dtype, weak_type=aval.weak_type)

    return jax.tree.map(one, xs)


def promote_weak_carry(init: Any, out_shapes: Any) -> tuple[Any, bool]:
    """Promote the weakly typed leaves of a loop carry to the type the body returns, as ``jax.lax`` does.

    ``while_loop(cond, lambda t: t + jnp.float32(1.5), 0)`` starts from a weakly typed int: the carry is
    converted to ``result_type(init_leaf, body_output)`` (here float32) and the functions are traced again
    at that type. Returns ``(init, changed)``; mismatched structures are left to the loop's own check.
    """
    leaves, treedef = jax.tree.flatten(init)
    out_leaves, out_treedef = jax.tree.flatten(out_shapes)
    if treedef != out_treedef:  # type: ignore[operator]
        return init, False
    changed = False
    promoted = []
    for leaf, out in zip(leaves, out_leaves, strict=True):
        aval = compat.shaped_abstractify(leaf)
        mismatch = tuple(aval.shape) != tuple(out.shape) or aval.dtype != out.dtype
        if getattr(aval, "weak_type", False) and mismatch and not compat.is_extended_dtype(out.dtype):
            leaf = jnp.asarray(leaf).astype(jnp.result_type(leaf, out.dtype))
            changed = True
        promoted.append(leaf)
    return (jax.tree.unflatten(treedef, promoted), True) if changed else (init, False)


def arg_leaves(*args: Any) -> list[Any]:
    """The dynamic leaves of a call ``f(*args)`` in the order ``TracedProgram`` expects them."""
    return jax.tree.leaves((args, {}))


def call_name(fun: Callable[..., Any]) -> str:
    """A readable name of a user function for messages."""
    return str(getattr(fun, "__qualname__", None) or getattr(fun, "__name__", None) or type(fun).__name__)


def function_label(fun: Callable[..., Any]) -> str:
    """```name` (file:line)`` of a user function, for messages (partials and callable objects unwrapped)."""
    target: Any = fun
    while isinstance(target, functools.partial):
        target = target.func
    target = getattr(target, "__func__", target)  # bound methods
    code = getattr(target, "__code__", None)
    if code is None:
        call_method = vars(type(target)).get("__call__")  # a callable object: its __call__'s source
        code = getattr(call_method, "__code__", None)
    where = f" ({code.co_filename}:{code.co_firstlineno})" if code is not None else ""
    return f"`{call_name(fun)}`{where}"


class _TypeText:
    """A leaf of an output structure shown as its type (``float32[3]``)."""

    def __init__(self, shape: Any) -> None:
        self.text = f"{np.dtype(shape.dtype).name}[{','.join(str(d) for d in shape.shape)}]"

    def __repr__(self) -> str:
        return self.text


def _render(out_shapes: Any) -> str:
    return repr(jax.tree.map(_TypeText, out_shapes))


def check_branch_outputs(programs: Sequence[TracedProgram], labels: Sequence[str], what: str) -> None:
    """Raise ``TypeError`` naming the user's functions if branches return different structures or types.

    ``labels[i]`` describes ``programs[i]`` (e.g. "true_fun `f` (file.py:3)"). Weak types are ignored, as in
    ``jax.lax.cond``; shapes, dtypes and the pytree structure must agree.
    """
    first, first_label = programs[0], labels[0]
    for program, label in zip(programs[1:], labels[1:], strict=True):
        if program.out_treedef != first.out_treedef:
            raise TypeError(
                f"{what}: every branch must return the same structure, but {first_label} returns "
                f"{_render(first.out_shapes)} and {label} returns {_render(program.out_shapes)}. Return the "
                "same containers (tuples/lists of the same length, dicts with the same keys) from every branch."
            )
        paths = jax.tree_util.tree_flatten_with_path(first.out_shapes)[0]
        for (path, a), b in zip(paths, jax.tree.leaves(program.out_shapes), strict=True):
            if tuple(a.shape) != tuple(b.shape) or a.dtype != b.dtype:
                where = f"output{jax.tree_util.keystr(path)}" if path else "the output"
                raise TypeError(
                    f"{what}: every branch must return the same output types (shapes and dtypes), but at {where}, "
                    f"{first_label} returns {_TypeText(a)!r} and {label} returns {_TypeText(b)!r}. Make them "
                    f"agree at {where} (e.g. `jnp.broadcast_to(v, shape)` or `v.astype(dtype)`)."
                )
