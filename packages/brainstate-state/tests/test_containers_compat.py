"""The container helpers brainstate 0.5.4 code calls: ``PrettyDict``, ``to_dict``, ``subset``,
``treefy_state``, and ``flat_mapping``/``nest_mapping`` with their ``sep``/``keep_empty_nodes``/``is_leaf``
options."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import brainstate_state as bss
from brainstate_state.containers import FlattedDict, NestedDict, PrettyDict, flat_mapping, nest_mapping


def _tree() -> tuple[NestedDict, bss.ParamState[jax.Array], bss.HiddenState[jax.Array]]:
    w = bss.ParamState(jnp.ones(2), name="w")
    h = bss.HiddenState(jnp.zeros(1), name="h")
    return NestedDict({"layer": {"w": w}, "h": h}), w, h


def test_both_containers_are_pretty_dicts() -> None:
    nested, _, _ = _tree()
    assert isinstance(nested, PrettyDict) and isinstance(nested.to_flat(), PrettyDict)
    assert isinstance(nested, dict)


def test_to_dict_gives_plain_dicts_holding_the_same_states() -> None:
    nested, w, h = _tree()
    plain = nested.to_dict()
    assert type(plain) is dict and type(plain["layer"]) is dict
    assert plain["layer"]["w"] is w and plain["h"] is h
    flat = nested.to_flat().to_dict()
    assert type(flat) is dict and flat == {("h",): h, ("layer", "w"): w}


def test_subset_keeps_matching_leaves_and_drops_the_rest() -> None:
    nested, w, h = _tree()
    params = nested.subset(bss.ParamState)
    assert type(params) is NestedDict and params.to_flat() == {("layer", "w"): w}
    params, hidden = nested.subset(bss.ParamState, bss.HiddenState)
    assert hidden.to_flat() == {("h",): h}
    assert nested.subset(bss.BatchState) == {}
    flat_params = nested.to_flat().subset(bss.ParamState)
    assert type(flat_params) is FlattedDict and flat_params == {("layer", "w"): w}


def test_treefy_state_snapshots_every_state() -> None:
    nested, w, h = _tree()
    snap = nested.treefy_state()
    assert type(snap) is NestedDict
    leaf = snap["layer"]["w"]
    assert isinstance(leaf, bss.TreefyState) and leaf.type is bss.ParamState and leaf.name == "w"
    np.testing.assert_array_equal(leaf.value, w.value)
    w.value = jnp.full(2, 5.0)  # a snapshot, not a view
    np.testing.assert_array_equal(leaf.value, jnp.ones(2))
    flat = nested.to_flat().treefy_state()
    assert type(flat) is FlattedDict and flat[("h",)].type is bss.HiddenState
    assert jax.tree.leaves(flat)[0].shape == (1,)  # snapshots are pytrees of their values


def test_flat_mapping_options() -> None:
    nested = {"a": {"b": 1, "c": {"d": 2}}, "e": 3}
    assert flat_mapping(nested) == {("a", "b"): 1, ("a", "c", "d"): 2, ("e",): 3}
    assert flat_mapping(xs=nested, sep="/") == {"a/b": 1, "a/c/d": 2, "e": 3}
    with_empty = flat_mapping({"a": {"b": 1, "c": {}}}, keep_empty_nodes=True)
    assert list(with_empty) == [("a", "b"), ("a", "c")]
    assert nest_mapping(with_empty) == {"a": {"b": 1, "c": {}}}
    assert flat_mapping({"a": {"b": 1, "c": {}}}) == {("a", "b"): 1}
    stop_at_a = flat_mapping(nested, is_leaf=lambda path, value: path == ("a",))
    assert stop_at_a == {("a",): {"b": 1, "c": {"d": 2}}, ("e",): 3}


def test_nest_mapping_options() -> None:
    assert nest_mapping({("a", "b"): 1, ("a", "c"): 2, ("e",): 3}) == {"a": {"b": 1, "c": 2}, "e": 3}
    assert nest_mapping(xs={"a/b": 1, "a/c": 2}, sep="/") == {"a": {"b": 1, "c": 2}}
    with pytest.raises(ValueError, match="non-empty path tuples"):
        nest_mapping({"a/b": 1})
