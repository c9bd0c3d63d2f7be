"""StateFinder and eval_shape."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
import pytest

import brainstate_state as bss
from brainstate_ir import StateFinder, eval_shape


def make_step():
    w = bss.ParamState(jnp.ones(2), name="w")
    h = bss.State(jnp.zeros(2), name="h")
    q = bss.State(jnp.zeros(()), name="q")

    def step(x):
        h.value = w.value * x
        q.value = h.value.sum()
        return q.value

    return w, h, q, step


def test_usages_and_return_types() -> None:
    w, h, q, step = make_step()
    assert StateFinder(step)(1.0) == {0: w, 1: h, 2: q}
    assert StateFinder(step, usage="read", return_type="list")(1.0) == [w]
    assert StateFinder(step, usage="write", return_type="tuple")(1.0) == (h, q)
    assert StateFinder(step, usage="both", return_type="list")(1.0) == {"read": [w], "write": [h, q]}
    assert StateFinder(step, key_fn=lambda i, s: s.name).find(1.0) == {"w": w, "h": h, "q": q}


def test_filter_by_type() -> None:
    w, h, q, step = make_step()
    assert StateFinder(step, filter=bss.ParamState, return_type="list")(1.0) == [w]


def test_bad_arguments() -> None:
    _, _, _, step = make_step()
    with pytest.raises(ValueError, match="usage must be"):
        StateFinder(step, usage="sometimes")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="return_type must be"):
        StateFinder(step, return_type="set")  # type: ignore[arg-type]


def named_states() -> tuple[list[bss.State], object]:
    states = [
        bss.State(jnp.zeros(()), name="x"),
        bss.State(jnp.zeros(()), name="x"),
        bss.State(jnp.zeros(()), name="x_1"),
        bss.State(jnp.zeros(()), name="x"),
        bss.State(jnp.zeros(())),
    ]

    def step():
        for s in states:
            s.value = s.value + 1.0

    return states, step


def keyed(finder_result: dict[object, bss.State], states: list[bss.State]) -> dict[object, int]:
    return {key: states.index(state) for key, state in finder_result.items()}


def test_key_fn_returning_none_falls_back_to_the_name_with_suffixes_for_duplicates() -> None:
    states, step = named_states()
    found = StateFinder(step, key_fn=lambda i, s: None)()
    assert keyed(found, states) == {"x": 0, "x_1": 1, "x_1_1": 2, "x_2": 3, "state_4": 4}
    # A name-based key_fn: an unnamed State falls back to its position.
    found = StateFinder(step, key_fn=lambda i, s: s.name)()
    assert keyed(found, states) == {"x": 0, "x_1": 1, "x_1_1": 2, "x_2": 3, "state_4": 4}
    w, h, q, lif = make_step()
    both = StateFinder(lif, usage="both", key_fn=lambda i, s: None)(1.0)
    assert both == {"read": {"w": w}, "write": {"h": h, "q": q}}


def test_duplicate_keys_fall_back_to_the_state_name() -> None:
    states, step = named_states()
    found = StateFinder(step, key_fn=lambda i, s: 0)()
    assert keyed(found, states) == {0: 0, "x": 1, "x_1": 2, "x_2": 3, "state_4": 4}
    found = StateFinder(step, key_fn=lambda i, s: "state_4" if i == 0 else None)()
    assert keyed(found, states) == {"state_4": 0, "x": 1, "x_1": 2, "x_2": 3, "state_4_1": 4}
    w, h, q, lif = make_step()
    assert StateFinder(lif, key_fn=lambda i, s: "same")(1.0) == {"same": w, "h": h, "q": q}
    assert StateFinder(lif, key_fn=lambda i, s: i // 2)(1.0) == {0: w, "h": h, 1: q}


def test_unhashable_keys_become_strings() -> None:
    w, h, q, lif = make_step()
    assert StateFinder(lif, key_fn=lambda i, s: [i])(1.0) == {"[0]": w, "[1]": h, "[2]": q}
    assert StateFinder(lif, key_fn=lambda i, s: (s.name, [i]))(1.0) == {
        "('w', [0])": w,
        "('h', [1])": h,
        "('q', [2])": q,
    }
    # Unhashable keys that print the same are duplicates: the later States fall back to their names.
    assert StateFinder(lif, key_fn=lambda i, s: {"a": 1})(1.0) == {"{'a': 1}": w, "h": h, "q": q}


def test_finder_does_not_change_states() -> None:
    w, h, q, step = make_step()
    StateFinder(step)(3.0)
    np.testing.assert_array_equal(h.value, [0.0, 0.0])


def test_eval_shape_existing_states_unchanged() -> None:
    s = bss.State(jnp.zeros(3))

    def grow(x):
        s.value = jnp.concatenate([s.value, x])
        return {"sum": s.value.sum(), "all": s.value}

    shapes, out = eval_shape(grow, jnp.ones(2), return_state_shapes=True)
    assert shapes[s].shape == (5,)
    assert out["all"].shape == (5,) and out["sum"].shape == ()
    assert s.value.shape == (3,)


def test_eval_shape_of_module_constructor() -> None:
    class Linear:
        def __init__(self, din: int, dout: int) -> None:
            self.weight = bss.ParamState(jnp.ones((din, dout)))
            self.bias = bss.ParamState(jnp.zeros(dout))

    lin = eval_shape(lambda: Linear(3, 4))
    assert isinstance(lin, Linear)
    assert lin.weight.value.shape == (3, 4) and lin.bias.value.shape == (4,)
    assert lin.weight.stack_level == 0
