"""NestedDict / FlattedDict: round trips, sorted order, split/filter/merge, pytree behaviour, errors."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import brainstate_state as bss
from brainstate_state.containers import FlattedDict, NestedDict, flat_mapping, nest_mapping, sort_key


def _tree() -> NestedDict:
    return NestedDict(
        {
            "w": bss.ParamState(jnp.ones(2), name="w"),
            "sub": {
                "h": bss.HiddenState(jnp.zeros(3), name="h"),
                "b": bss.ParamState(jnp.zeros(1), name="b"),
            },
        }
    )


def test_exported_at_top_level() -> None:
    assert bss.NestedDict is NestedDict and bss.FlattedDict is FlattedDict


def test_inner_dicts_become_nested_dicts() -> None:
    tree = _tree()
    assert isinstance(tree["sub"], NestedDict)


def test_to_flat_sorted_and_round_trip() -> None:
    tree = _tree()
    flat = tree.to_flat()
    assert isinstance(flat, FlattedDict)
    assert list(flat) == [("sub", "b"), ("sub", "h"), ("w",)]
    back = flat.to_nest()
    assert isinstance(back, NestedDict)
    assert back == tree
    assert NestedDict.from_flat(flat) == tree
    assert FlattedDict.from_nest(tree) == flat


def test_mixed_key_types_sort_deterministically() -> None:
    flat = flat_mapping({"layers": {1: "b", 0: "a"}, 2: "c"})
    assert list(flat) == [(2,), ("layers", 0), ("layers", 1)]
    assert sorted(["b", 1, (1,), "a", 0.5], key=sort_key) == [0.5, 1, "a", "b", (1,)]


def test_split_exhaustive_and_single() -> None:
    tree = _tree()
    params, hidden = tree.split(bss.ParamState, bss.HiddenState)
    assert list(params.to_flat()) == [("sub", "b"), ("w",)]
    assert list(hidden.to_flat()) == [("sub", "h")]
    everything = tree.split(...)
    assert isinstance(everything, NestedDict) and everything == tree


def test_split_unmatched_raises_with_listing() -> None:
    tree = _tree()
    with pytest.raises(
        ValueError, match=r"do not match every state; unmatched: \('sub', 'h'\): HiddenState 'h'"
    ):
        tree.split(bss.ParamState)
    with pytest.raises(ValueError, match="end the filters with `...`"):
        tree.to_flat().split(bss.ParamState)


def test_filter_drops_unmatched() -> None:
    tree = _tree()
    params = tree.filter(bss.ParamState)
    assert list(params.to_flat()) == [("sub", "b"), ("w",)]
    params2, fast = tree.filter(bss.ParamState, "fast")
    assert len(fast) == 0 and params2 == params
    flat = tree.to_flat()
    assert list(flat.filter(bss.HiddenState)) == [("sub", "h")]
    p, h = flat.split(bss.ParamState, ...)
    assert list(p) == [("sub", "b"), ("w",)] and list(h) == [("sub", "h")]


def test_merge_or_and_sub() -> None:
    tree = _tree()
    params, hidden = tree.split(bss.ParamState, ...)
    merged = NestedDict.merge(params, hidden)
    assert merged == tree
    assert (params | hidden) == tree
    assert (tree - hidden) == params
    assert (tree - {"sub": {"h": 0}}) == params
    flat = tree.to_flat()
    fp, fh = flat.split(bss.ParamState, ...)
    assert FlattedDict.merge(fh, fp) == flat
    assert list(FlattedDict.merge(fh, fp)) == list(flat)
    assert (fp | fh) == flat
    assert (flat - fh) == fp
    assert NestedDict.merge({"a": 1}, {"a": 2}) == {"a": 2}


def test_pure_dict_round_trip_on_snapshots() -> None:
    snap = NestedDict({"w": bss.ParamState(jnp.ones(2)).to_state_ref(), "sub": {"x": 5}})
    pure = snap.to_pure_dict()
    assert type(pure) is dict and type(pure["sub"]) is dict
    np.testing.assert_array_equal(pure["w"], jnp.ones(2))
    snap.replace_by_pure_dict({"w": jnp.zeros(2), "sub": {"x": 7}})
    assert isinstance(snap["w"], bss.TreefyState) and snap["w"].type is bss.ParamState
    np.testing.assert_array_equal(snap["w"].value, jnp.zeros(2))
    assert snap["sub"]["x"] == 7


def test_replace_by_pure_dict_writes_live_states() -> None:
    tree = _tree()
    tree.replace_by_pure_dict({"sub": {"b": jnp.full(1, 4.0)}})
    np.testing.assert_array_equal(tree["sub"]["b"].value, [4.0])


def test_replace_by_pure_dict_unknown_path() -> None:
    tree = _tree()
    with pytest.raises(KeyError, match=r"the path \('sub', 'zz'\) does not exist"):
        tree.replace_by_pure_dict({"sub": {"zz": 1}})
    with pytest.raises(KeyError, match=r"the path \('nope', 'x'\) does not exist"):
        tree.replace_by_pure_dict({"nope": {"x": 1}})


def test_flatted_dict_values_assignment() -> None:
    flat = _tree().to_flat()
    values = flat.to_dict_values()
    np.testing.assert_array_equal(values[("w",)], jnp.ones(2))
    flat.assign_dict_values({("w",): jnp.full(2, 3.0)})
    np.testing.assert_array_equal(flat[("w",)].value, [3.0, 3.0])
    snaps = FlattedDict({("a",): bss.State(jnp.ones(1)).to_state_ref(), ("n",): 1})
    snaps.assign_dict_values({("a",): jnp.zeros(1), ("n",): 2})
    np.testing.assert_array_equal(snaps[("a",)].value, [0.0])
    assert snaps[("n",)] == 2


def test_assign_dict_values_unknown_path_changes_nothing() -> None:
    flat = _tree().to_flat()
    with pytest.raises(KeyError, match=r"the paths \[\('zz',\)\] are not in this FlattedDict"):
        flat.assign_dict_values({("w",): jnp.zeros(2), ("zz",): 1})
    np.testing.assert_array_equal(flat[("w",)].value, jnp.ones(2))


def test_nest_mapping_rejects_bad_keys() -> None:
    with pytest.raises(ValueError, match="non-empty path tuples, but got the key 'a'"):
        nest_mapping({"a": 1})
    with pytest.raises(
        ValueError, match=r"Cannot nest the path \('a', 'b'\): the prefix \('a',\) holds a leaf"
    ):
        nest_mapping({("a",): 1, ("a", "b"): 2})


def test_pytree_behaviour_nested() -> None:
    tree = NestedDict({"b": jnp.ones(2), "a": {"y": jnp.zeros(1), "x": jnp.ones(1)}})
    leaves = jax.tree.leaves(tree)
    assert [leaf.shape for leaf in leaves] == [(1,), (1,), (2,)]  # a.x, a.y, b
    doubled = jax.tree.map(lambda v: v * 2 + 1, tree)
    assert isinstance(doubled, NestedDict) and isinstance(doubled["a"], NestedDict)
    np.testing.assert_array_equal(doubled["b"], [3.0, 3.0])
    assert list(doubled) == ["a", "b"]
    paths = [jax.tree_util.keystr(p) for p, _ in jax.tree_util.tree_flatten_with_path(tree)[0]]
    assert paths == ["['a']['x']", "['a']['y']", "['b']"]


def test_pytree_behaviour_flat_and_jit() -> None:
    flat = FlattedDict({("w",): jnp.ones(2), ("b",): jnp.zeros(2)})
    out = jax.jit(lambda d: jax.tree.map(lambda v: v + 1, d))(flat)
    assert isinstance(out, FlattedDict)
    assert list(out) == [("b",), ("w",)]
    np.testing.assert_array_equal(out[("b",)], [1.0, 1.0])
    grads = jax.grad(lambda d: jnp.sum(d[("w",)] * 3) + jnp.sum(d[("b",)]))(flat)
    np.testing.assert_array_equal(grads[("w",)], [3.0, 3.0])


def test_snapshots_inside_containers_are_differentiable() -> None:
    tree = NestedDict({"w": bss.ParamState(jnp.array(2.0)).to_state_ref()})
    g = jax.grad(lambda t: t["w"].value ** 2)(tree)
    assert isinstance(g["w"], bss.TreefyState)
    assert float(g["w"].value) == 4.0


def test_reprs() -> None:
    assert repr(NestedDict({"a": {"b": 1}})) == "NestedDict({'a': {'b': 1}})"
    assert repr(FlattedDict({("a",): 1})) == "FlattedDict({('a',): 1})"


_keys = st.text(alphabet="abcxyz", min_size=1, max_size=3)
_nested = st.recursive(
    st.integers(-5, 5),
    lambda children: st.dictionaries(_keys, children, min_size=1, max_size=3),
    max_leaves=8,
)


@settings(max_examples=30, deadline=None)
@given(d=st.dictionaries(_keys, _nested, min_size=1, max_size=4))
def test_flat_nest_round_trip_property(d: dict) -> None:
    nested = NestedDict(d)
    flat = nested.to_flat()
    assert list(flat) == sorted(flat, key=sort_key)
    assert flat.to_nest().to_flat() == flat
    assert jax.tree.leaves(nested) == [flat[p] for p in flat]
    rebuilt = jax.tree.unflatten(jax.tree.structure(nested), jax.tree.leaves(nested))
    assert rebuilt == nested
