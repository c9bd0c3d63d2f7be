"""Every entry of the bad-input catalogue raises the documented error and leaves its State unchanged."""

from __future__ import annotations

import re

import jax
import pytest

from bad_inputs import CATALOGUE, BadInput, first_line, run_entry


@pytest.mark.parametrize("entry", CATALOGUE, ids=[e.id for e in CATALOGUE])
def test_bad_input(entry: BadInput) -> None:
    err = run_entry(entry)  # checks type, message and the watched State
    assert isinstance(err, entry.error)
    assert re.search(entry.match, str(err), re.S)
    assert first_line(err)
    if entry.state is not None:
        assert not any(isinstance(v, jax.core.Tracer) for v in jax.tree.leaves(entry.state.value))


def test_catalogue_covers_the_layers() -> None:
    functions = {e.function for e in CATALOGUE}
    for name in (
        "State.value",
        "HiddenState",
        "graph.treefy_split",
        "transform.StatefulFunction",
        "transform.make_jaxpr",
        "transform.StateFinder",
        "transform.unvmap",
        "transform.jit",
        "transform.named_scope",
        "transform.remat",
        "transform.jit_error_if",
        "transform.checkify",
        "transform.debug_nan",
        "random.normal",
        "environ.get",
        "transform.grad",
        "transform.cond",
        "transform.for_loop",
        "transform.while_loop",
        "transform.vmap",
        "transform.vmap2",
    ):
        assert name in functions, name
    assert len({e.id for e in CATALOGUE}) == len(CATALOGUE), "catalogue ids must be unique"


def test_run_entry_detects_a_wrong_catalogue_entry() -> None:
    wrong = BadInput("demo", "no error at all", lambda: None, ValueError, "x")
    with pytest.raises(AssertionError, match="no error was raised"):
        run_entry(wrong)
    wrong_type = BadInput("demo", "wrong type", lambda: int("x"), TypeError, "x")
    with pytest.raises(AssertionError, match="expected TypeError, got ValueError"):
        run_entry(wrong_type)
