"""A user's error inside brainstate transforms shows the user's code, not brainstate's internals.

Each package registers its own directory with JAX's traceback filter, so an exception passing through a
JAX or brainstate API boundary loses brainstate's frames the way it loses JAX's. With filtering turned
off (``JAX_TRACEBACK_FILTERING=off``) every frame is back, which is what a brainstate developer wants.
"""

from __future__ import annotations

import traceback
from collections.abc import Callable, Iterator
from pathlib import Path
from types import TracebackType

import jax
import jax.numpy as jnp
import pytest

import brainstate_autodiff
import brainstate_control
import brainstate_ir
import brainstate_jit
import brainstate_mapping
import brainstate_state
from brainstate_autodiff import grad
from brainstate_control import for_loop
from brainstate_jit import jit
from brainstate_state import ParamState

LIBRARY_DIRS = tuple(
    str(Path(m.__file__).resolve().parent)  # type: ignore[arg-type]
    for m in (
        brainstate_state,
        brainstate_ir,
        brainstate_jit,
        brainstate_autodiff,
        brainstate_control,
        brainstate_mapping,
    )
)
USER_FILE = str(Path(__file__).resolve())


class UserBug(ValueError):
    pass


def _mode() -> object:
    """JAX's traceback filtering mode (``None`` or ``'auto'``: ``quiet_remove_frames`` outside IPython)."""
    return jax.config.jax_traceback_filtering  # type: ignore[attr-defined]


@pytest.fixture
def filtering(request: pytest.FixtureRequest) -> Iterator[None]:
    mode = getattr(request, "param", None)
    previous = _mode()
    if mode is not None:
        jax.config.update("jax_traceback_filtering", mode)
    try:
        yield
    finally:
        jax.config.update("jax_traceback_filtering", previous)


def _library_frames(tb: TracebackType | None) -> list[str]:
    return [
        f"{frame.filename}:{frame.lineno} {frame.name}"
        for frame in traceback.extract_tb(tb)
        if str(Path(frame.filename).resolve()).startswith(LIBRARY_DIRS)
    ]


def _raise_in_loop_body() -> tuple[Callable[[], object], int]:
    w = ParamState(jnp.ones(3))

    def step(i: jax.Array) -> jax.Array:
        if w.value.shape == (3,):
            raise UserBug("the user's step function failed")
        return w.value.sum() * i

    def loss() -> jax.Array:
        out: jax.Array = for_loop(step, jnp.arange(3.0)).sum()
        return out

    line = step.__code__.co_firstlineno + 2
    return jit(grad(loss, grad_states=w)), line


def test_default_filtering_keeps_the_user_line_and_hides_brainstate(filtering: None) -> None:
    assert _mode() in (None, "auto")  # JAX's default: quiet_remove_frames
    f, line = _raise_in_loop_body()
    for _ in range(2):  # a failed trace caches nothing: the second call traces and fails the same way
        with pytest.raises(UserBug, match="step function failed") as info:
            f()
        frames = traceback.extract_tb(info.value.__traceback__)
        assert _library_frames(info.value.__traceback__) == []
        last = frames[-1]
        assert (last.filename, last.lineno, last.name) == (USER_FILE, line, "step")
        assert [fr.name for fr in frames[-2:]] == ["loss", "step"]
        assert len(frames) <= 4


@pytest.mark.parametrize("filtering", ["off"], indirect=True)
def test_unfiltered_mode_shows_brainstate_frames(filtering: None) -> None:
    f, line = _raise_in_loop_body()
    with pytest.raises(UserBug) as info:
        f()
    assert len(_library_frames(info.value.__traceback__)) >= 3
    assert traceback.extract_tb(info.value.__traceback__)[-1].lineno == line


def _eager_calls() -> list[tuple[str, Callable[[], object], int]]:
    """Eager (no outer jit) calls of each transform whose user function raises; with the raising line."""
    w = ParamState(jnp.ones(3))

    def body(x: jax.Array) -> jax.Array:
        if w.value.shape == (3,):
            raise UserBug("the user's step function failed")
        return w.value.sum() * x

    line = body.__code__.co_firstlineno + 2
    xs = jnp.arange(3.0)
    return [
        ("for_loop", lambda: for_loop(body, xs), line),
        ("scan", lambda: brainstate_control.scan(lambda c, x: (c, body(x)), 0.0, xs), line),
        ("cond", lambda: brainstate_control.cond(True, body, body, 1.0), line),
        ("while_loop", lambda: brainstate_control.while_loop(lambda c: c < 1.0, body, 0.0), line),
        ("grad", lambda: grad(lambda: body(1.0), grad_states=w)(), line),
        ("vmap", lambda: brainstate_mapping.vmap(body)(xs), line),
        ("vmap2", lambda: brainstate_mapping.vmap2(body)(xs), line),
    ]


@pytest.mark.parametrize("name", [name for name, _, _ in _eager_calls()])
def test_eager_transforms_hide_brainstate_frames(filtering: None, name: str) -> None:
    (call, line) = next((c, ln) for n, c, ln in _eager_calls() if n == name)
    for _ in range(2):  # the first call and a call that finds a cached executable
        with pytest.raises(UserBug, match="step function failed") as info:
            call()
        assert _library_frames(info.value.__traceback__) == [], name
        last = traceback.extract_tb(info.value.__traceback__)[-1]
        assert (last.filename, last.lineno, last.name) == (USER_FILE, line, "body")
