"""``vmap2`` / ``StatefulMapping``: filters, policies, keyword arguments, sizes, call counts, jit."""

from __future__ import annotations

import warnings

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from brainstate_jit import jit
from brainstate_mapping import StatefulMapping, vmap2
from brainstate_state import BatchAxisError, HiddenState, ParamState, ShortTermState, State


class Counter:
    def __init__(self, fn):  # type: ignore[no-untyped-def]
        self.fn = fn
        self.calls = 0

    def __call__(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        self.calls += 1
        return self.fn(*args, **kwargs)


def _ensemble(n: int = 64) -> tuple[ParamState[jax.Array], HiddenState[jax.Array]]:
    w = ParamState(jax.random.normal(jax.random.key(3), (n, 5, 4)) * 0.5, name="w")
    h = HiddenState(jnp.zeros((n, 4)), name="h")
    return w, h


def _pure_step(wv: jax.Array, hv: jax.Array, x: jax.Array) -> tuple[jax.Array, jax.Array]:
    new_h = jnp.tanh(x @ wv + hv)
    return new_h.mean(), new_h


def test_ensemble_with_type_filters_matches_jax_vmap_and_runs_user_fn_once() -> None:
    w, h = _ensemble()
    w0, h0 = w.value, h.value

    def step(x: jax.Array) -> jax.Array:
        h.value = jnp.tanh(x @ w.value + h.value)
        return h.value.mean()

    counted = Counter(step)
    ens = vmap2(counted, in_axes=None, state_in_axes={0: (ParamState, HiddenState)})
    x = jnp.linspace(-1.0, 1.0, 5)
    ref = jax.jit(jax.vmap(_pure_step, in_axes=(0, 0, None)))
    hv = h0
    for _ in range(3):
        out = ens(x)
        r, hv = ref(w0, hv, x)
        np.testing.assert_allclose(out, r, rtol=1e-5)
    np.testing.assert_allclose(h.value, hv, rtol=1e-5)
    # Cold: one trace finds the filtered States, one traces with them; then one trace per eager call.
    assert counted.calls == 2 + 2


def test_ensemble_inside_brainstate_jit() -> None:
    w, h = _ensemble(8)
    w0, h0 = w.value, h.value

    def step(x: jax.Array) -> jax.Array:
        h.value = jnp.tanh(x @ w.value + h.value)
        return h.value.mean()

    counted = Counter(step)
    ens = vmap2(counted, in_axes=None, state_in_axes=(ParamState, HiddenState))
    f = jit(lambda x: ens(x))
    x = jnp.ones(5)
    out1, out2 = f(x), f(x)
    r1, hv = jax.vmap(_pure_step, in_axes=(0, 0, None))(w0, h0, x)
    r2, hv = jax.vmap(_pure_step, in_axes=(0, 0, None))(w0, hv, x)
    np.testing.assert_allclose(out1, r1, rtol=1e-5)
    np.testing.assert_allclose(out2, r2, rtol=1e-5)
    np.testing.assert_allclose(h.value, hv, rtol=1e-5)
    assert counted.calls == 2  # traced once by jit (the filtered States need one extra trace)


def test_state_instance_and_tag_filters() -> None:
    a = State(jnp.arange(3.0), tag="lanes")
    b = State(jnp.arange(3.0) * 10)
    out = vmap2(lambda: a.value + b.value, state_in_axes={0: ["unused-tag", "lanes"]}, in_axes=None)
    # 'lanes' tag maps `a`; `b` is broadcast: every lane sees all of b.
    assert out().shape == (3, 3)
    out2 = vmap2(lambda: a.value + b.value, state_in_axes=[a, b], in_axes=None)()
    np.testing.assert_allclose(out2, a.value + b.value)


def test_state_out_axes_puts_batch_on_requested_axis() -> None:
    trace = State(jnp.zeros((2, 4)), name="trace")

    def f(x: jax.Array) -> jax.Array:
        trace.value = jnp.stack([x, -x])
        return x

    vmap2(f, state_out_axes={0: "never-matches", 1: lambda path, s: s is trace})(jnp.arange(4.0))
    assert trace.value.shape == (2, 4)  # lane value shape (2,), batch of 4 on axis 1
    np.testing.assert_allclose(trace.value, jnp.stack([jnp.arange(4.0), -jnp.arange(4.0)]))


def test_keyword_arguments_are_mapped_on_axis_0() -> None:
    def f(x: jax.Array, *, scale: jax.Array) -> jax.Array:
        return x * scale

    out = vmap2(f, in_axes=None)(jnp.asarray(2.0), scale=jnp.arange(4.0))
    np.testing.assert_allclose(out, [0.0, 2.0, 4.0, 6.0])


def test_auto_policy_scatters_then_promotes_without_growing() -> None:
    c = State(jnp.zeros(()), name="acc")

    def f(x: jax.Array) -> jax.Array:
        c.value = c.value + x
        return c.value

    counted = Counter(f)
    m = vmap2(counted)
    x = jnp.arange(3.0)
    with pytest.warns(UserWarning, match="leading size"):
        m(x)
    np.testing.assert_allclose(c.value, x)
    m(x)  # the state now carries the batch axis: mapped in on axis 0, not grown to (3, 3)
    np.testing.assert_allclose(c.value, 2 * x)
    assert counted.calls == 3  # cold: 1; then the promotion needs one more trace
    m(x)
    assert counted.calls == 4  # promoted States are remembered: one trace per eager call
    np.testing.assert_allclose(c.value, 3 * x)


def test_auto_policy_warns_once_on_a_mismatched_size_write() -> None:
    c = State(jnp.zeros(5), name="buffer")

    def f(x: jax.Array) -> jax.Array:
        c.value = c.value + x  # a read-modify-write buffer whose leading size (5) is not the batch size
        return x

    m = vmap2(f)
    with pytest.warns(
        UserWarning, match=r"leading size \(5\) does not match the mapped size \(3\)"
    ) as record:
        m(jnp.arange(3.0))
    assert len([w for w in record if "leading size" in str(w.message)]) == 1
    assert "buffer" in str(record[0].message)
    expected = jax.vmap(lambda v: jnp.zeros(5) + v)(jnp.arange(3.0))
    np.testing.assert_allclose(c.value, expected)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        m(jnp.arange(3.0))  # now (3, 5): promoted, no warning
        m(jnp.arange(4.0))  # another size: scattered again, but the warning was given once
    assert c.value.shape == (4, 3, 5)


def test_auto_policy_does_not_warn_when_the_write_has_another_shape() -> None:
    c = State(jnp.zeros(()), name="last")

    def f(x: jax.Array) -> jax.Array:
        c.value = jnp.stack([x, x])  # per-lane (2,), the State holds a scalar: no read-modify-write
        return x

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        vmap2(f)(jnp.arange(3.0))
    np.testing.assert_allclose(c.value, jax.vmap(lambda v: jnp.stack([v, v]))(jnp.arange(3.0)))


@pytest.mark.parametrize("policy", ["raise", "warn", "ignore"])
def test_other_policies(policy: str) -> None:
    c = State(jnp.ones(()), name="undeclared")

    def f(x: jax.Array) -> jax.Array:
        c.value = x
        return x

    m = vmap2(f, unexpected_out_state_mapping=policy)  # type: ignore[arg-type]
    if policy == "raise":
        with pytest.raises(BatchAxisError, match="undeclared") as info:
            m(jnp.arange(3.0))
        assert "state_out_axes" in str(info.value)
        np.testing.assert_array_equal(c.value, 1.0)
    elif policy == "warn":
        with pytest.warns(UserWarning, match="undeclared"):
            m(jnp.arange(3.0))
        np.testing.assert_allclose(c.value, [0.0, 1.0, 2.0])
    else:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            m(jnp.arange(3.0))
        np.testing.assert_array_equal(c.value, 1.0)


def test_invalid_policy_and_axis_size() -> None:
    with pytest.raises(ValueError, match="unexpected_out_state_mapping"):
        vmap2(lambda x: x, unexpected_out_state_mapping="sometimes")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="axis_size"):
        vmap2(lambda x: x, axis_size=0)
    with pytest.raises(TypeError, match="filter"):
        vmap2(lambda x: x, state_in_axes={0: 3.5})


def test_axis_size_validated_against_states_and_args() -> None:
    w = ParamState(jnp.zeros((4, 2)), name="weights")
    m = vmap2(lambda x: x + w.value, state_in_axes=ParamState, axis_size=3, in_axes=None)
    with pytest.raises(ValueError, match="different sizes") as info:
        m(jnp.ones(2))
    assert "weights" in str(info.value) and "axis_size" in str(info.value)
    np.testing.assert_array_equal(w.value, jnp.zeros((4, 2)))


def test_declared_unbatched_state_written_per_lane_raises() -> None:
    s = ShortTermState(jnp.zeros(()), name="shared")
    m = vmap2(lambda x: setattr(s, "value", x), state_out_axes={None: ShortTermState})
    with pytest.raises(BatchAxisError, match="declared unbatched"):
        m(jnp.arange(3.0))
    np.testing.assert_array_equal(s.value, 0.0)


def test_axis_name_collectives_match_jax() -> None:
    stats = State(jnp.zeros(()), name="mean")

    def f(x: jax.Array) -> jax.Array:
        stats.value = jax.lax.pmean(x, "i")
        return x - jax.lax.pmean(x, "i") + jax.lax.axis_index("i")

    x = jnp.arange(5.0)
    out = vmap2(f, axis_name="i")(x)
    ref = jax.vmap(lambda v: v - jax.lax.pmean(v, "i") + jax.lax.axis_index("i"), axis_name="i")(x)
    np.testing.assert_allclose(out, ref)
    np.testing.assert_allclose(stats.value, 2.0)


def test_collective_over_filter_batched_states_needs_axis_size() -> None:
    w = ParamState(jnp.arange(4.0))
    with pytest.raises(ValueError, match="axis_size"):
        vmap2(lambda: jax.lax.psum(w.value, "e"), in_axes=None, state_in_axes=ParamState, axis_name="e")()
    out = vmap2(
        lambda: jax.lax.psum(w.value, "e"), in_axes=None, state_in_axes=ParamState, axis_name="e", axis_size=4
    )()
    np.testing.assert_allclose(out, jnp.full(4, 6.0))


@settings(max_examples=8, deadline=None)
@given(
    n=st.integers(1, 4),
    axis_a=st.sampled_from([0, 1, None]),
    axis_b=st.sampled_from([0, None]),
    out_axis=st.sampled_from([0, 1]),
)
def test_in_axes_pytrees_match_jax_vmap(
    n: int, axis_a: int | None, axis_b: int | None, out_axis: int
) -> None:
    base = jnp.arange(2.0 * 3 * n).reshape((n, 2, 3))
    a = base[0] if axis_a is None else jnp.moveaxis(base, 0, axis_a)
    b = jnp.arange(3.0 * n).reshape((n, 3)) if axis_b == 0 else jnp.arange(3.0)
    if axis_a is None and axis_b is None:
        return
    offset = State(jnp.asarray(0.5))

    def f(tree: dict[str, jax.Array]) -> jax.Array:
        return (tree["a"].sum(0) + tree["b"] + offset.value)[None].repeat(2, 0)

    def pure(tree: dict[str, jax.Array]) -> jax.Array:
        return (tree["a"].sum(0) + tree["b"] + 0.5)[None].repeat(2, 0)

    in_axes = ({"a": axis_a, "b": axis_b},)
    out = vmap2(f, in_axes=in_axes, out_axes=out_axis)({"a": a, "b": b})
    ref = jax.vmap(pure, in_axes=in_axes, out_axes=out_axis)({"a": a, "b": b})
    np.testing.assert_allclose(out, ref)


def test_stateful_mapping_class_and_clear_cache() -> None:
    s = State(jnp.zeros(3))

    def f(x: jax.Array) -> jax.Array:
        s.value = s.value + x
        return s.value

    counted = Counter(f)
    m = StatefulMapping(counted, state_in_axes={0: lambda path, x: x is s}, name="acc")
    m(jnp.ones(3))
    assert counted.calls == 2  # cold: the filtered State is found, then traced as an input
    m(jnp.ones(3))
    assert counted.calls == 3
    m.clear_cache()
    m(jnp.ones(3))
    assert counted.calls == 5  # cold again
    np.testing.assert_allclose(s.value, 3.0)
    assert "acc" in repr(m)


def test_failure_inside_mapped_function_changes_no_state() -> None:
    s = State(jnp.zeros(3), name="s")

    def f(x: jax.Array) -> jax.Array:
        s.value = s.value + x
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        vmap2(f, state_in_axes={0: lambda p, x: x is s})(jnp.ones(3))
    np.testing.assert_array_equal(s.value, jnp.zeros(3))


def test_nested_vmap2_with_outer_collective_matches_jax() -> None:
    def inner(y: jax.Array) -> jax.Array:
        return y + jax.lax.psum(y, "outer")

    x = jnp.arange(6.0).reshape(2, 3)
    out = vmap2(lambda row: vmap2(inner)(row), axis_name="outer")(x)
    ref = jax.vmap(lambda row: jax.vmap(inner)(row), axis_name="outer")(x)
    np.testing.assert_allclose(out, ref)


def test_jax_grad_through_vmap2_with_read_only_batched_state() -> None:
    w = ParamState(jnp.arange(12.0).reshape(4, 3))

    def loss(x: jax.Array) -> jax.Array:
        per_lane = vmap2(lambda xi: jnp.sin(xi * w.value).sum(), state_in_axes=ParamState)(x)
        return per_lane.sum()

    x = jnp.linspace(0.1, 0.4, 4)
    ref = jax.grad(lambda v: jax.vmap(lambda xi, wi: jnp.sin(xi * wi).sum())(v, w.value).sum())(x)
    np.testing.assert_allclose(jax.grad(loss)(x), ref, rtol=1e-5)


def test_stateful_mapping_static_arguments() -> None:
    calls = []

    def f(x: jax.Array, power: int, *, mode: str = "add") -> jax.Array:
        calls.append((power, mode))
        return x**power + (1.0 if mode == "add" else -1.0)

    m = StatefulMapping(f, in_axes=(0, None), static_argnums=1, static_argnames="mode")
    x = jnp.arange(3.0)
    np.testing.assert_allclose(m(x, 2), x**2 + 1)
    np.testing.assert_allclose(m(x, 2, mode="sub"), x**2 - 1)
    np.testing.assert_allclose(m(x, 3), x**3 + 1)
    m(x, 2)
    assert calls == [(2, "add"), (2, "sub"), (3, "add"), (2, "add")]
    with pytest.raises(TypeError, match="unhashable"):
        m(x, {2})  # a set is not hashable


def test_ensemble_step_inside_for_loop_matches_lax_scan() -> None:
    from brainstate_control import for_loop

    w, h = _ensemble(8)
    w0, h0 = w.value, h.value

    def step(x: jax.Array) -> jax.Array:
        h.value = jnp.tanh(x @ w.value + h.value)
        return h.value.mean()

    counted = Counter(step)
    ens = vmap2(counted, in_axes=None, state_in_axes={0: (ParamState, HiddenState)})
    xs = jnp.linspace(-1.0, 1.0, 20).reshape(4, 5)
    out = for_loop(lambda x: ens(x), xs)

    def body(hv: jax.Array, x: jax.Array) -> tuple[jax.Array, jax.Array]:
        o, nh = jax.vmap(_pure_step, in_axes=(0, 0, None))(w0, hv, x)
        return nh, o

    h_ref, out_ref = jax.lax.scan(body, h0, xs)
    np.testing.assert_allclose(out, out_ref, rtol=1e-5)
    np.testing.assert_allclose(h.value, h_ref, rtol=1e-5)
    assert counted.calls == 2  # the loop body is traced once; the filtered States need one more trace
