"""The one place where brainstate reaches into JAX beyond its stable public API.

Every module of every brainstate package above ``brainstate_state`` imports JAX internals from here (a
lint rule fails the build on ``jax._src``, ``jax.interpreters`` or deprecated ``jax.core`` names anywhere
else), so a JAX release that moves a name breaks exactly one file. The functions paper over the
differences between the supported JAX releases (0.10.x and 0.11.x): e.g. :func:`jaxpr_and_consts` and
:func:`map_jaxpr` for jaxprs that carry their constants (0.11) or are wrapped in a ``ClosedJaxpr``
(0.10), and :func:`scan_num_consts_carry` for both layouts of a scan's parameters.

This module is public so that the upper layers and extensions can share it; its names follow JAX's
internals and may change with them.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from typing import Any, TypeVar, cast

import jax
from jax._src import config as _config
from jax._src import source_info_util as _source_info_util
from jax._src.core import EvalTrace as _EvalTrace
from jax._src.core import trace_ctx as _trace_ctx
from jax.api_util import shaped_abstractify
from jax.extend.core import (
    ClosedJaxpr,
    DropVar,
    Jaxpr,
    JaxprEqn,
    Literal,
    Primitive,
    Var,
    check_jaxpr,
    jaxpr_as_fun,
    jaxprs_in_params,
    new_jaxpr_eqn,
)

__all__ = [
    "api_boundary",
    "check_jaxpr",
    "ClosedJaxpr",
    "current_source_info",
    "current_trace",
    "disable_jit_enabled",
    "DropVar",
    "eqn_user_location",
    "eval_eqn",
    "has_host_effects",
    "is_closed_jaxpr",
    "is_eager",
    "is_extended_dtype",
    "is_jit_primitive",
    "is_top_level_trace",
    "Jaxpr",
    "jaxpr_and_consts",
    "jaxpr_as_fun",
    "JAXPR_CARRIES_CONSTS",
    "JaxprEqn",
    "jaxprs_in_params",
    "JIT_PRIMITIVE_NAMES",
    "Literal",
    "make_debug_info",
    "map_jaxpr",
    "new_jaxpr_eqn",
    "new_trace_input",
    "new_var",
    "no_reverse_mode",
    "Primitive",
    "scan_num_consts_carry",
    "shaped_abstractify",
    "shard_map",
    "SHARD_MAP_CHECK_KW",
    "Var",
    "wait_for_host_callbacks",
    "wait_for_outputs_and_host_callbacks",
]


def current_trace() -> Any:
    """The innermost active JAX trace object (an ``EvalTrace`` at the top level)."""
    return _trace_ctx.trace


def is_top_level_trace() -> bool:
    """Whether no JAX transformation is tracing right now (operations execute eagerly)."""
    return isinstance(_trace_ctx.trace, _EvalTrace)


_disable_jit_flag = _config.disable_jit


def is_eager() -> bool:
    """Whether operations execute eagerly: no JAX trace is active and ``jax.disable_jit()`` is off.

    One call for the hot path of cached transforms (``is_top_level_trace() and not disable_jit_enabled()``).
    """
    return type(_trace_ctx.trace) is _EvalTrace and not _disable_jit_flag.value


def disable_jit_enabled() -> bool:
    """Whether ``jax.disable_jit()`` is active (cheaper than reading ``jax.config``)."""
    return bool(_disable_jit_flag.value)


def new_trace_input(trace: Any, aval: Any, source_info: Any = None) -> Any:
    """Add a new input variable of abstract value ``aval`` to a jaxpr-building ``trace``; return its tracer.

    This is how a State's value becomes an input of the program in the middle of tracing, so the user
    function is traced only once even though the States it touches are discovered as it runs.
    ``source_info`` (from :func:`current_source_info`) may be shared by many inputs.
    """
    return trace.new_arg(aval, source_info if source_info is not None else _source_info_util.current())


def current_source_info() -> Any:
    """JAX's source information for the current Python location (attached to new jaxpr inputs)."""
    return _source_info_util.current()


# --- names used by the IR tools (optimisation, processing, codegen, drawing) are added below ---

#: Names the jit primitive has carried: ``pjit`` on older JAX releases, ``jit`` on newer ones.
JIT_PRIMITIVE_NAMES: frozenset[str] = frozenset({"pjit", "jit"})


def is_jit_primitive(primitive: Primitive) -> bool:
    """Whether ``primitive`` is JAX's jit primitive (named ``pjit`` or ``jit`` depending on the release)."""
    return primitive.name in JIT_PRIMITIVE_NAMES


def new_var(aval: object) -> Var:
    """A fresh jaxpr variable of type ``aval`` (``Var(aval)`` on jax 0.8 to 0.10)."""
    return Var(aval)  # type: ignore[arg-type]


def scan_num_consts_carry(params: dict[str, object]) -> tuple[int, int]:
    """``(num_consts, num_carry)`` of a scan equation's params.

    The operands of a scan are its loop invariants (consts), then its carry, then its scanned inputs (xs).
    Up to jax 0.10 the params count them in ``num_consts`` and ``num_carry``; from jax 0.11 on they hold
    ``ft_in``, a flat tree of three groups (consts, carry, xs) whose sizes are the counts.
    """
    if "ft_in" in params:  # jax >= 0.11
        consts, carry, _ = params["ft_in"].unpack()  # type: ignore[attr-defined]
        return len(consts), len(carry)
    return int(params["num_consts"]), int(params["num_carry"])  # type: ignore[call-overload]


def is_extended_dtype(dtype: object) -> bool:
    """Whether ``dtype`` is an extended dtype such as a typed PRNG key (``key<fry>``)."""
    return dtype is not None and bool(jax.numpy.issubdtype(dtype, jax.dtypes.extended))  # type: ignore[arg-type]


# --- closed jaxprs: up to jax 0.10 a ClosedJaxpr wraps a Jaxpr and its consts; from jax 0.11 on the two
# classes are one (ClosedJaxpr is an alias of Jaxpr, ``j.jaxpr is j``) and a jaxpr carries its consts,
# bound to its ``constvars`` (which exist only when consts are bound: others are plain ``invars``) ---

#: Whether this JAX release has a single jaxpr class that carries its consts (jax >= 0.11).
JAXPR_CARRIES_CONSTS: bool = ClosedJaxpr is Jaxpr  # type: ignore[comparison-overlap]

_JaxprT = TypeVar("_JaxprT", Jaxpr, ClosedJaxpr)


def is_closed_jaxpr(jaxpr: object) -> bool:
    """Whether ``jaxpr`` is a closed jaxpr (one that may carry consts).

    A ``ClosedJaxpr`` up to jax 0.10; any jaxpr from jax 0.11 on, where every jaxpr carries its consts
    (possibly none).
    """
    return isinstance(jaxpr, ClosedJaxpr)


def jaxpr_and_consts(jaxpr: Jaxpr | ClosedJaxpr) -> tuple[Jaxpr, list[Any]]:
    """``(body, consts)``: the jaxpr whose ``eqns``, ``constvars``, ``invars`` and ``outvars`` to read, and
    the values bound to its constvars (``[]`` for an open jaxpr, whose constvars are then parameters).

    ``jaxpr.jaxpr`` and ``jaxpr.consts`` of a ``ClosedJaxpr`` up to jax 0.10; the jaxpr itself and its
    consts from jax 0.11 on.
    """
    if isinstance(jaxpr, ClosedJaxpr):
        return jaxpr.jaxpr, list(jaxpr.consts)
    return jaxpr, []


def map_jaxpr(jaxpr: _JaxprT, fn: Callable[[Jaxpr], Jaxpr]) -> _JaxprT:
    """``fn`` applied to the body of ``jaxpr`` (see :func:`jaxpr_and_consts`); the result keeps its consts.

    ``fn`` must keep the body's inputs (constvars and invars, in order). A ``ClosedJaxpr`` gives a
    ``ClosedJaxpr`` and a ``Jaxpr`` a ``Jaxpr`` up to jax 0.10; from jax 0.11 on the consts are bound
    again to the result's leading inputs, whether or not ``fn`` kept them (``Jaxpr.replace`` does, a
    ``Jaxpr(...)`` built anew does not).
    """
    if JAXPR_CARRIES_CONSTS:
        body: Any = jaxpr  # one class: the jaxpr is its own body
        consts = list(body.consts)
        return cast(_JaxprT, ClosedJaxpr(fn(body), consts) if consts else fn(body))
    if isinstance(jaxpr, ClosedJaxpr):
        return ClosedJaxpr(fn(jaxpr.jaxpr), jaxpr.consts)
    return fn(jaxpr)


try:  # public on jax >= 0.9
    from jax.extend.core import DebugInfo as _DebugInfo
except ImportError:  # jax 0.8
    from jax._src.core import DebugInfo as _DebugInfo


def make_debug_info(name: str, num_inputs: int, num_outputs: int) -> Any:
    """A ``DebugInfo`` for a jaxpr built by hand (avoids JAX's "missing DebugInfo" deprecation warning)."""
    return _DebugInfo(
        name,
        f"<{name}>",
        tuple(f"arg{i}" for i in range(num_inputs)),
        tuple(f"result{i}" for i in range(num_outputs)),
    )


# --- added by the brainstate-jit debug helper (debug_nan): eqn-by-eqn evaluation and source locations ---


def eval_eqn(eqn: JaxprEqn, invals: list[Any]) -> list[Any]:
    """Evaluate one jaxpr equation on concrete (or traced) inputs; always return a list of outputs.

    ``Primitive.get_bind_params`` returned ``(subfuns, params)`` on older JAX releases and returns the
    params alone on newer ones; both are handled here.
    """
    bound = eqn.primitive.get_bind_params(eqn.params)
    if isinstance(bound, tuple) and len(bound) == 2 and isinstance(bound[1], dict):
        subfuns, params = bound
    else:
        subfuns, params = [], bound
    with _source_info_util.user_context(eqn.source_info.traceback, name_stack=eqn.source_info.name_stack):
        out = eqn.primitive.bind(*subfuns, *invals, **params)
    return list(out) if eqn.primitive.multiple_results else [out]


def eqn_user_location(eqn: JaxprEqn, exclude_dirs: tuple[str, ...] = ()) -> str | None:
    """``"file:line (function)"`` of the innermost user frame that created ``eqn`` (``None`` if unknown).

    JAX's own frames are skipped by JAX; frames in ``exclude_dirs`` (brainstate's package directories)
    are skipped too, so the location is the user's line even for operations emitted by brainstate.
    """
    for frame in _frames_inside_trace(eqn.source_info.traceback):
        if exclude_dirs and frame.file_name.startswith(exclude_dirs):
            continue
        return f"{frame.file_name}:{frame.start_line} ({frame.function_name})"
    return None


_TRACE_ENTRY_FILE = os.path.join("interpreters", "partial_eval.py")


def _frames_inside_trace(traceback: Any) -> Iterator[Any]:
    """The user frames of ``traceback`` (innermost first) that lie inside the trace that recorded it.

    jax < 0.9: an equation's traceback is the whole Python stack, including the frames of whoever started
    tracing (e.g. the line that called ``debug_nan``); newer JAX roots it at the enclosing trace
    (``TracebackScope``). Stopping at the innermost ``partial_eval.trace_to_*`` frame gives the newer
    behaviour on every supported release (on newer JAX that frame is never in the traceback: a no-op).
    """
    code, lasti = traceback.raw_frames() if traceback is not None else ([], [])
    for c, i in zip(code, lasti, strict=True):
        if c.co_name.startswith("trace_to_") and c.co_filename.endswith(_TRACE_ENTRY_FILE):
            return
        if _source_info_util.is_user_filename(c.co_filename):
            yield _source_info_util.raw_frame_to_frame(c, i)


# --- shard_map (added by brainstate-mapping): `jax.shard_map(check_vma=...)` on new JAX, else the
# experimental one with `check_rep=...` ---
if hasattr(jax, "shard_map"):
    _shard_map_impl: Any = jax.shard_map
    SHARD_MAP_CHECK_KW = "check_vma"
else:  # pragma: no cover - jax releases without the public shard_map
    from jax.experimental.shard_map import shard_map as _shard_map_impl

    SHARD_MAP_CHECK_KW = "check_rep"


def shard_map(f: Any, mesh: Any, in_specs: Any, out_specs: Any, check: bool = True) -> Any:
    """``shard_map(f, mesh=..., in_specs=..., out_specs=...)`` with the replication check flag ``check``."""
    return _shard_map_impl(
        f, mesh=mesh, in_specs=in_specs, out_specs=out_specs, **{SHARD_MAP_CHECK_KW: check}
    )


# --- added by brainstate-control: an identity whose reverse-mode derivative is an error with a message ---
from jax.interpreters import ad as _ad  # noqa: E402
from jax.interpreters import batching as _batching  # noqa: E402
from jax.interpreters import mlir as _mlir  # noqa: E402

_no_reverse_mode_p = Primitive("no_reverse_mode")
_no_reverse_mode_p.def_impl(lambda x, *, message: x)
_no_reverse_mode_p.def_abstract_eval(lambda x, *, message: x)
_mlir.register_lowering(_no_reverse_mode_p, lambda ctx, x, *, message: [x])
_batching.defvectorized(_no_reverse_mode_p)


def _no_reverse_mode_transpose(ct: Any, x: Any, *, message: str) -> Any:
    raise ValueError(message)


_ad.deflinear2(_no_reverse_mode_p, _no_reverse_mode_transpose)


def no_reverse_mode(x: Any, message: str) -> Any:
    """``x`` unchanged, forward-mode differentiable; reverse-mode differentiation raises ``ValueError(message)``.

    Put after a computation JAX can only differentiate forward (``lax.while_loop``) so that ``jax.grad``
    fails with a message that says what to use instead (its transpose runs before the loop's own).
    """
    return _no_reverse_mode_p.bind(x, message=message)


# --- traceback filtering: a brainstate entry point is a boundary below which library frames are hidden ---
from jax._src.traceback_util import api_boundary as _api_boundary  # noqa: E402

_F = TypeVar("_F", bound=Callable[..., Any])


def api_boundary(fun: _F) -> _F:
    """``fun``, marked as an API boundary: an exception leaving it loses the frames of JAX and brainstate.

    The frames hidden are those of the directories given to ``brainstate_state.register_library_dir``
    (every brainstate package registers its own); ``JAX_TRACEBACK_FILTERING=off`` shows them again.
    """
    return _api_boundary(fun)


# --- host callbacks: their errors are raised by the call that ran them, on every backend ---
from jax._src import dispatch as _dispatch  # noqa: E402


def has_host_effects(jaxpr: Any) -> bool:
    """Whether running ``jaxpr`` (open or closed) calls back into Python or has other side effects.

    True for effects (``jax.debug.callback``, ``io_callback``, prints, checks) and for ``pure_callback``,
    which has no effect but runs Python on the host all the same (and, on GPU, after the call returned).
    """
    if getattr(jaxpr, "effects", None):
        return True
    body = getattr(jaxpr, "jaxpr", jaxpr)
    for eqn in getattr(body, "eqns", ()):
        if "callback" in eqn.params or any(has_host_effects(sub) for sub in jaxprs_in_params(eqn.params)):
            return True
    return False


def wait_for_host_callbacks() -> None:
    """Wait until the host callbacks of the programs dispatched so far have run; raise the first error.

    On CPU a host callback runs while its program executes, so an exception it raises (a failed
    ``jit_error_if``) is raised by the call. On GPU and TPU programs are dispatched asynchronously: the
    error would surface at some later synchronisation point instead (``jax.effects_barrier``,
    ``block_until_ready``, a later program with effects), in another call or even another test, and JAX
    would raise it again at every later synchronisation. Calling this right after a program with effects
    makes the error the call's own, on every backend; once raised, the failed token is forgotten.
    """
    try:
        _dispatch.runtime_tokens.block_until_ready()
    except BaseException:
        _dispatch.runtime_tokens.clear()
        raise


def wait_for_outputs_and_host_callbacks(outputs: Any) -> None:
    """Wait until ``outputs`` are computed and every host callback dispatched so far has run.

    A ``pure_callback`` that raises poisons the outputs that depend on it (raised when they are read); an
    effectful callback raises through the runtime tokens (:func:`wait_for_host_callbacks`). Both surface
    here, so the call that ran the program raises, on every backend.
    """
    jax.block_until_ready(outputs)
    wait_for_host_callbacks()
