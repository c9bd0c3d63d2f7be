"""Filters: every kind of filter, their combinators, hashing, reprs and rejected inputs."""

from __future__ import annotations

import jax.numpy as jnp
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import brainstate_state as bss
from brainstate_state.filters import (
    All,
    Any,
    Everything,
    Not,
    Nothing,
    OfType,
    PathContains,
    WithTag,
    to_predicate,
)


@pytest.fixture
def param() -> bss.ParamState[jnp.ndarray]:
    return bss.ParamState(jnp.ones(2), name="w", tag="fast")


@pytest.fixture
def hidden() -> bss.HiddenState[jnp.ndarray]:
    return bss.HiddenState(jnp.zeros(2), name="h", tag={"slow", "rec"})


def test_type_filter_matches_states_by_isinstance(param, hidden) -> None:
    assert to_predicate(bss.ParamState)(("w",), param)
    assert to_predicate(bss.LongTermState)(("w",), param)
    assert to_predicate(bss.State)(("h",), hidden)
    assert not to_predicate(bss.ParamState)(("h",), hidden)


def test_type_filter_matches_snapshots_by_subclass(param, hidden) -> None:
    assert OfType(bss.LongTermState)(("w",), param.to_state_ref())
    assert not OfType(bss.LongTermState)(("h",), hidden.to_state_ref())
    assert not OfType(bss.ParamState)((), jnp.ones(1))


def test_tag_filter_on_states_and_snapshots(param, hidden) -> None:
    assert to_predicate("fast")((), param)
    assert to_predicate("slow")((), hidden) and to_predicate("rec")((), hidden)
    assert not to_predicate("fast")((), hidden)
    assert WithTag("fast")((), param.to_state_ref())
    assert WithTag("slow")((), hidden.to_state_ref())
    assert not WithTag("fast")((), bss.State(jnp.ones(1)).to_state_ref())
    assert not WithTag("fast")((), 3.0)


def test_path_contains() -> None:
    f = PathContains("enc")
    assert f(("enc", "w"), None)
    assert not f(("dec", "w"), None)
    assert PathContains(0)(("layers", 0, "w"), None)


def test_predicate_passes_through(param) -> None:
    def pred(path: tuple, x: object) -> bool:
        return path[-1] == "w"

    assert to_predicate(pred) is pred
    assert to_predicate(pred)(("w",), param)


@pytest.mark.parametrize("f", [..., True, Everything()])
def test_everything(f, param) -> None:
    assert to_predicate(f)((), param)
    assert to_predicate(f)(("x",), 1)
    assert isinstance(to_predicate(f), Everything)


@pytest.mark.parametrize("f", [None, False, Nothing()])
def test_nothing(f, param) -> None:
    assert not to_predicate(f)((), param)
    assert isinstance(to_predicate(f), Nothing)


def test_tuple_and_list_mean_any(param, hidden) -> None:
    for f in ((bss.HiddenState, "fast"), [bss.HiddenState, "fast"]):
        pred = to_predicate(f)
        assert isinstance(pred, Any)
        assert pred((), param) and pred((), hidden)
        assert not pred((), bss.State(jnp.ones(1)))


def test_combinators(param, hidden) -> None:
    assert All(bss.ParamState, "fast")((), param)
    assert not All(bss.ParamState, "slow")((), param)
    assert Any(bss.HiddenState, "zzz")((), hidden)
    assert not Any()((), hidden)
    assert All()((), hidden)
    assert Not(bss.ParamState)((), hidden)
    assert not Not(bss.ParamState)((), param)
    assert (OfType(bss.ParamState) & "fast")((), param)
    assert (OfType(bss.ParamState) | "slow")((), hidden)
    assert (~OfType(bss.ParamState))((), hidden)


def test_filters_hash_and_compare_by_value() -> None:
    assert OfType(bss.ParamState) == OfType(bss.ParamState)
    assert hash(OfType(bss.ParamState)) == hash(OfType(bss.ParamState))
    assert OfType(bss.ParamState) != OfType(bss.State)
    assert WithTag("a") == WithTag("a") != WithTag("b")
    assert PathContains("x") == PathContains("x")
    assert Any(bss.ParamState, "a") == Any(bss.ParamState, "a")
    assert All(bss.ParamState) != Any(bss.ParamState)
    assert Not("a") == Not("a")
    assert Everything() == Everything() and Nothing() == Nothing() and Everything() != Nothing()
    assert len({OfType(bss.ParamState), OfType(bss.ParamState), WithTag("a")}) == 2


def test_reprs() -> None:
    assert repr(OfType(bss.ParamState)) == "OfType(ParamState)"
    assert repr(WithTag("a")) == "WithTag('a')"
    assert repr(PathContains("x")) == "PathContains('x')"
    assert repr(to_predicate((bss.ParamState, "a"))) == "Any(OfType(ParamState), WithTag('a'))"
    assert repr(All(bss.ParamState, Not("a"))) == "All(OfType(ParamState), Not(WithTag('a')))"
    assert repr(Everything()) == "Everything()" and repr(Nothing()) == "Nothing()"


@pytest.mark.parametrize("bad", [3, 2.5, object(), b"tag"])
def test_invalid_filter_rejected(bad) -> None:
    with pytest.raises(TypeError, match="Invalid filter .* A filter is a type, a tag string"):
        to_predicate(bad)


def test_state_as_filter_rejected(param) -> None:
    with pytest.raises(TypeError, match=r"A State \(ParamState 'w'\) is not a filter"):
        to_predicate(param)


def test_nested_invalid_filter_rejected() -> None:
    with pytest.raises(TypeError, match="Invalid filter 3"):
        to_predicate((bss.ParamState, 3))


def test_constructor_arguments_checked() -> None:
    with pytest.raises(TypeError, match="OfType expects a class, but got 'x' of type str"):
        OfType("x")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="WithTag expects a string tag, but got 3 of type int"):
        WithTag(3)  # type: ignore[arg-type]


def test_catch_new_states_excludes_by_filter() -> None:
    with bss.catch_new_states("t", state_to_exclude=bss.ParamState) as catcher:
        p = bss.ParamState(jnp.ones(1))
        s = bss.State(jnp.ones(1))
    assert catcher.get_states() == [s]
    assert p.tag is None and s.tag == "t"


@settings(max_examples=25, deadline=None)
@given(tags=st.sets(st.sampled_from(["a", "b", "c"])), query=st.sampled_from(["a", "b", "c"]))
def test_tag_filter_agrees_with_membership(tags: set[str], query: str) -> None:
    state = bss.State(jnp.zeros(1), tag=tags or None)
    assert WithTag(query)((), state) == (query in tags)
    assert WithTag(query)((), state.to_state_ref()) == (query in tags)
    assert Not(query)((), state) == (query not in tags)
