"""``vmap`` (declaration-based): differential tests against ``jax.vmap`` with state threaded by hand."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from brainstate_jit import jit
from brainstate_mapping import vmap
from brainstate_state import BatchAxisError, HiddenState, ParamState, State

KEY = jax.random.key(0)


def test_counter_in_states_matches_seed_semantics() -> None:
    counter = State(jnp.zeros(3))

    @vmap(in_states=counter)
    def tick(x: jax.Array) -> jax.Array:
        counter.value = counter.value + x
        return counter.value * 2

    out = tick(jnp.array([1.0, 2.0, 3.0]))
    np.testing.assert_allclose(out, [2.0, 4.0, 6.0])
    np.testing.assert_allclose(counter.value, [1.0, 2.0, 3.0])


def test_essentials_counter_example() -> None:
    # brainstate 0.5.4: vmap(in_states=counter, out_states=counter) gives counter.value == [1, 2, 3].
    counter = State(jnp.array([0, 1, 2]))

    def inc() -> None:
        counter.value = counter.value + 1

    vmap(inc, in_states=counter, out_states=counter, axis_size=3)()
    np.testing.assert_array_equal(counter.value, [1, 2, 3])


def test_essentials_predict_batch() -> None:
    """Seed 002: ``predict_batch = vmap(predict_one)`` over 64 rows of a linear model."""
    w = ParamState(jax.random.normal(KEY, (3, 1)) * 0.1)
    b = ParamState(jnp.zeros(1))

    def model(x: jax.Array) -> jax.Array:
        return x @ w.value + b.value

    def predict_one(x_row: jax.Array) -> jax.Array:
        return jnp.tanh(model(x_row[None, :]))[0]

    x = jax.random.normal(jax.random.key(1), (64, 3))
    predict_batch = vmap(predict_one)
    out = predict_batch(x)
    assert out.shape == (64, 1)
    expected = jax.vmap(lambda r, wv, bv: jnp.tanh(r[None, :] @ wv + bv)[0], in_axes=(0, None, None))(
        x, w.value, b.value
    )
    np.testing.assert_allclose(out, expected, rtol=1e-6)


def test_ensemble_of_64_models_matches_hand_threaded_jax_vmap() -> None:
    n = 64
    w = ParamState(jax.random.normal(KEY, (n, 4, 3)))
    h = HiddenState(jnp.zeros((n, 3)))
    w0, h0 = w.value, h.value

    def step(x: jax.Array) -> jax.Array:
        h.value = jnp.tanh(x @ w.value + h.value)
        return h.value.sum()

    def pure(wv: jax.Array, hv: jax.Array, x: jax.Array) -> tuple[jax.Array, jax.Array]:
        new_h = jnp.tanh(x @ wv + hv)
        return new_h.sum(), new_h

    x = jnp.linspace(-1, 1, 4)
    ens = vmap(step, in_axes=None, in_states={0: {"w": w, "h": h}})
    out1 = ens(x)
    out2 = ens(x)
    ref1, hr = jax.vmap(pure, in_axes=(0, 0, None))(w0, h0, x)
    ref2, hr = jax.vmap(pure, in_axes=(0, 0, None))(w0, hr, x)
    np.testing.assert_allclose(out1, ref1, rtol=1e-6)
    np.testing.assert_allclose(out2, ref2, rtol=1e-6)
    np.testing.assert_allclose(h.value, hr, rtol=1e-6)
    np.testing.assert_array_equal(w.value, w0)


def test_declared_axis_one_and_out_states_only() -> None:
    acc = State(jnp.zeros((2, 5)))  # batch axis 1
    log = State(jnp.zeros(5))  # written per lane, read never

    def f(x: jax.Array) -> jax.Array:
        acc.value = acc.value + x
        log.value = x[0] * 10
        return x.sum()

    xs = jnp.arange(10.0).reshape(5, 2)
    out = vmap(f, in_states={1: acc}, out_states={0: log})(xs)
    np.testing.assert_allclose(out, xs.sum(1))
    np.testing.assert_allclose(acc.value, xs.T)
    np.testing.assert_allclose(log.value, xs[:, 0] * 10)


def test_unbatched_write_to_undeclared_state_is_written_once() -> None:
    total = State(jnp.zeros(()))
    seen = State(jnp.zeros(()))

    def f(x: jax.Array) -> jax.Array:
        total.value = jax.lax.psum(x, "batch")
        seen.value = jnp.asarray(1.0)
        return x - total.value

    out = vmap(f, axis_name="batch")(jnp.arange(4.0))
    np.testing.assert_allclose(total.value, 6.0)
    np.testing.assert_allclose(seen.value, 1.0)
    np.testing.assert_allclose(out, jnp.arange(4.0) - 6.0)


def test_read_only_states_are_broadcast() -> None:
    scale = State(jnp.asarray(3.0))
    out = vmap(lambda x: x * scale.value)(jnp.arange(3.0))
    np.testing.assert_allclose(out, [0.0, 3.0, 6.0])


def test_in_axes_pytree_and_out_axes() -> None:
    def f(p: dict[str, jax.Array], y: jax.Array) -> tuple[jax.Array, jax.Array]:
        return p["a"] * y, p["b"] + y

    p = {"a": jnp.arange(6.0).reshape(2, 3), "b": jnp.ones(3)}
    y = jnp.arange(3.0)
    in_axes = ({"a": 1, "b": None}, 0)
    out = vmap(f, in_axes=in_axes, out_axes=(0, 1))(p, y)
    ref = jax.vmap(f, in_axes=in_axes, out_axes=(0, 1))(p, y)
    for a, r in zip(out, ref, strict=True):
        np.testing.assert_allclose(a, r)


def test_undeclared_batched_write_raises_and_changes_nothing() -> None:
    g = State(jnp.ones(()), name="gain")

    def f(x: jax.Array) -> jax.Array:
        g.value = x * 2
        return x

    with pytest.raises(BatchAxisError) as info:
        vmap(f)(jnp.arange(3.0))
    message = str(info.value)
    assert "gain" in message and "out_states" in message and "How to fix" in message
    assert "test_vmap.py" in message  # where the State was created
    np.testing.assert_array_equal(g.value, 1.0)


def test_conflicting_declared_axes_raise() -> None:
    s = State(jnp.zeros((3, 3)), name="s")
    with pytest.raises(BatchAxisError, match="'s'"):
        vmap(lambda x: x, in_states={0: s}, out_states={1: s})
    with pytest.raises(BatchAxisError, match="two different axes"):
        vmap(lambda x: x, in_states={0: s, 1: [s]})


def test_keyword_arguments_raise_not_implemented() -> None:
    f = vmap(lambda x, y=1.0: x * y)
    with pytest.raises(NotImplementedError, match="keyword"):
        f(jnp.ones(3), y=jnp.ones(3))


def test_size_mismatch_raises_with_every_source_listed() -> None:
    s = State(jnp.zeros(4), name="per_lane")
    f = vmap(lambda x: x + s.value, in_states=s)
    with pytest.raises(ValueError, match="different sizes") as info:
        f(jnp.zeros(3))
    assert "per_lane" in str(info.value)
    np.testing.assert_array_equal(s.value, jnp.zeros(4))
    with pytest.raises(ValueError, match="axis_size"):
        vmap(lambda x: x, axis_size=5)(jnp.zeros(3))


def test_bad_in_axes_raise() -> None:
    with pytest.raises(ValueError, match="in_axes has 1 entries"):
        vmap(lambda x, y: x, in_axes=(0,))(jnp.zeros(3), jnp.zeros(3))
    with pytest.raises(ValueError, match="rank"):
        vmap(lambda x: x, in_axes=2)(jnp.zeros(3))
    with pytest.raises(ValueError, match="only arrays can be mapped"):
        vmap(lambda x: x)(1.0)
    with pytest.raises(ValueError, match="axis_size"):
        vmap(lambda: 1.0)()


def test_eager_calls_run_the_body_each_time_without_recompiling() -> None:
    from brainstate_ir import COMPILED_PROGRAMS

    calls = []
    s = State(jnp.zeros(5))

    def f(x: jax.Array) -> jax.Array:
        calls.append(1)
        s.value = s.value + x
        return s.value

    g = vmap(f, in_states=s)
    g(jnp.ones(5))
    assert len(calls) == 1  # declared States are known up front: one trace
    g(jnp.ones(5))  # the program's second sighting: compiled
    compiled = COMPILED_PROGRAMS.stats()["compiled"]
    for _ in range(3):
        g(jnp.ones(5))
    assert len(calls) == 5  # an eager call always sees the current Python: traced every call
    assert COMPILED_PROGRAMS.stats()["compiled"] == compiled  # ... but not compiled again
    np.testing.assert_allclose(s.value, 5.0)
    jitted = jit(lambda x: g(x))
    jitted(jnp.ones(5))
    jitted(jnp.ones(5))
    assert len(calls) == 6  # under jit: traced once


def test_retraces_when_a_state_changes_shape() -> None:
    s = State(jnp.zeros(3))
    g = vmap(lambda x: x + s.value.sum(), in_axes=0)
    np.testing.assert_allclose(g(jnp.ones(2)), [1.0, 1.0])
    s.value = jnp.ones(4)  # a new shape: the cached plan is stale
    np.testing.assert_allclose(g(jnp.ones(2)), [5.0, 5.0])


def test_decorator_form_and_nested_vmap() -> None:
    @vmap(in_axes=(0, None))
    def outer(x: jax.Array, y: jax.Array) -> jax.Array:
        return vmap(lambda a: a * y)(x)

    x = jnp.arange(6.0).reshape(2, 3)
    np.testing.assert_allclose(outer(x, 2.0), x * 2)


def test_in_states_accepts_a_module_and_its_state_dict() -> None:
    from brainstate_state import nn

    class Cell(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.w = ParamState(jnp.arange(6.0).reshape(3, 2))
            self.h = HiddenState(jnp.zeros((3, 2)))

        def __call__(self, x: jax.Array) -> jax.Array:
            self.h.value = self.h.value + x * self.w.value
            return self.h.value.sum()

    cell = Cell()
    out = vmap(cell, in_axes=None, in_states=cell)(jnp.asarray(2.0))
    np.testing.assert_allclose(out, (2 * cell.w.value).sum(axis=1))
    vmap(cell, in_axes=None, in_states={0: cell.states()})(jnp.asarray(1.0))
    np.testing.assert_allclose(cell.h.value, 3 * cell.w.value)
    with pytest.raises(TypeError, match="in_states must be"):
        vmap(cell, in_states=3.0)


def test_new_batch_size_gives_the_same_numbers() -> None:
    calls = []
    scale = State(jnp.asarray(2.0))

    def f(x: jax.Array) -> jax.Array:
        calls.append(1)
        return x * scale.value

    g = vmap(f)
    np.testing.assert_allclose(g(jnp.arange(3.0)), jnp.arange(3.0) * 2)
    np.testing.assert_allclose(g(jnp.arange(5.0)), jnp.arange(5.0) * 2)
    scale.value = jnp.asarray(3.0)
    np.testing.assert_allclose(g(jnp.arange(5.0)), jnp.arange(5.0) * 3)
    assert len(calls) == 3
