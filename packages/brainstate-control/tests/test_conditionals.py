"""cond / switch / ifelse against jax.lax with the state threaded by hand."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import brainstate_state as bss
from brainstate_control import cond, for_loop, ifelse, switch

_A = bss.State(jnp.zeros(2), name="a")
_B = bss.State(jnp.zeros(2), name="b")
_K = bss.ParamState(jnp.array([1.0, 2.0]), name="k")  # read only


def _t(x):
    _A.value = _A.value + x * _K.value
    return x.sum()


def _f(x):
    _B.value = _B.value - x + _A.value  # reads a, which only _t writes
    return -x.sum()


def _two_state_branches():
    """Module-level branches (so eager calls hit the cache across examples) with freshly reset States."""
    _A.value = jnp.zeros(2)
    _B.value = jnp.zeros(2)
    return _A, _B, _K, _t, _f


@settings(max_examples=6, deadline=None)
@given(pred=st.booleans(), x=st.floats(-5, 5, width=32))
def test_cond_matches_lax(pred, x):
    a, b, k, t, f = _two_state_branches()
    xs = jnp.full(2, x)
    out = cond(pred, t, f, xs)

    def ref_t(ab, x):
        av, bv = ab
        return (av + x * k.value, bv), x.sum()

    def ref_f(ab, x):
        av, bv = ab
        return (av, bv - x + av), -x.sum()

    (a_ref, b_ref), out_ref = jax.lax.cond(pred, ref_t, ref_f, (jnp.zeros(2), jnp.zeros(2)), xs)
    np.testing.assert_allclose(out, out_ref)
    np.testing.assert_allclose(a.value, a_ref)
    np.testing.assert_allclose(b.value, b_ref)
    np.testing.assert_allclose(k.value, [1.0, 2.0])


def test_cond_written_in_one_branch_only_changes_on_that_branch():
    a, b, _, t, f = _two_state_branches()
    cond(True, t, f, jnp.ones(2))
    np.testing.assert_allclose(a.value, [1, 2])
    np.testing.assert_allclose(b.value, [0, 0])
    cond(jnp.array(0), t, f, jnp.ones(2))  # numbers mean != 0
    np.testing.assert_allclose(a.value, [1, 2])
    np.testing.assert_allclose(b.value, [0, 1])


def test_cond_under_enclosing_jit_and_vmap_pure():
    from brainstate_jit import jit

    a, b, _, t, f = _two_state_branches()
    step = jit(lambda p, x: cond(p, t, f, x))
    step(True, jnp.ones(2))
    step(False, jnp.ones(2))
    np.testing.assert_allclose(a.value, [1, 2])
    np.testing.assert_allclose(b.value, [0, 1])

    def pure(p, x):
        s = bss.State(x)

        def grow():
            s.value = s.value * 2

        cond(p, grow, lambda: None)
        return s.value

    out = jax.vmap(pure)(jnp.array([True, False, True]), jnp.arange(3.0))
    np.testing.assert_allclose(out, [0.0, 1.0, 4.0])


@pytest.mark.parametrize("pred", [None, [True], (1, 0), jnp.ones(2, bool), 1 + 2j, jnp.array(1j), "yes"])
def test_cond_rejects_bad_predicates(pred):
    a, b, _, t, f = _two_state_branches()
    with pytest.raises(TypeError, match="predicate"):
        cond(pred, t, f, jnp.ones(2))
    np.testing.assert_allclose(a.value, [0, 0])
    np.testing.assert_allclose(b.value, [0, 0])


def test_cond_disable_jit_runs_only_chosen_branch():
    calls = []
    with jax.disable_jit():
        out = cond(True, lambda: calls.append("t") or 1, lambda: calls.append("f") or 2)
    assert out == 1 and calls == ["t"]


def test_cond_branch_type_errors_name_the_state():
    s = bss.State(jnp.zeros(()), name="mystate")

    def bad():
        s.value = jnp.zeros(3)

    with pytest.raises(TypeError, match="mystate"):
        cond(True, bad, lambda: None)
    assert s.value.shape == ()


_S = bss.State(jnp.zeros(()), name="s")


def _b0(x):
    _S.value = _S.value + x
    return x


_BRANCHES = [_b0, lambda x: x * 10, lambda x: -x]


@settings(max_examples=6, deadline=None)
@given(index=st.integers(-3, 6))
def test_switch_matches_lax_and_clamps(index):
    _S.value = jnp.zeros(())
    out = switch(index, _BRANCHES, 2.0)
    clamped = min(max(index, 0), 2)
    ref = jax.lax.switch(clamped, [lambda x: x, lambda x: x * 10, lambda x: -x], 2.0)
    assert float(out) == float(ref)
    assert float(_S.value) == (2.0 if clamped == 0 else 0.0)


def test_switch_errors_and_single_branch():
    with pytest.raises(ValueError, match="empty"):
        switch(0, [], 1.0)
    for bad in (1.5, True, None, jnp.array([0, 1]), "0"):
        with pytest.raises(TypeError, match="index"):
            switch(bad, [lambda: 1, lambda: 2])
    with pytest.raises(TypeError, match=r"branches\[1\]"):
        switch(0, [lambda: 1, 2])
    s = bss.State(jnp.zeros(()))

    def only():
        s.value = s.value + 1
        return s.value

    assert float(switch(5, [only])) == 1.0
    with jax.disable_jit():
        assert float(switch(7, [lambda: 1.0, only])) == 2.0


def test_ifelse_picks_branch_and_checks():
    s = bss.State(jnp.zeros(()), name="s")

    def pos():
        s.value = s.value + 1
        return 1

    branches = [pos, lambda: -1, lambda: 0]

    def sign(x):
        return ifelse([x > 0, x < 0, x == 0], branches)

    assert [int(sign(v)) for v in (2.0, -3.0, 0.0)] == [1, -1, 0]
    assert float(s.value) == 1.0
    with pytest.raises(ValueError, match="exactly one condition"):
        ifelse([True, True], [lambda: 1, lambda: 2])
    assert int(ifelse([True, True], [lambda: 1, lambda: 2], check_cond=False)) == 1
    assert int(ifelse([False, False], [lambda: 1, lambda: 2], check_cond=False)) == 2
    with pytest.raises(ValueError, match="2 condition"):
        ifelse([True, False], [lambda: 1])
    with pytest.raises(ValueError, match="empty"):
        ifelse([], [])
    with pytest.raises(TypeError, match="conditions"):
        ifelse(True, [lambda: 1])
    assert float(s.value) == 1.0


def test_ifelse_runtime_check_under_jit():
    from brainstate_jit import jit

    f = jit(lambda x: ifelse([x > 0, x > 1], [lambda: 1, lambda: 2]))
    assert int(f(0.5)) == 1
    with pytest.raises(Exception, match="exactly one condition"):
        jax.block_until_ready(f(2.0))


def test_nested_loops_in_conds_in_loops():
    """for_loop -> cond -> for_loop, compared with the hand-threaded lax program."""
    acc = bss.State(jnp.zeros(()), name="acc")
    hits = bss.State(jnp.zeros((), jnp.int32), name="hits")

    def inner(x):
        acc.value = acc.value + x
        return acc.value

    def outer(i):
        def when_even():
            hits.value = hits.value + 1
            return for_loop(inner, jnp.arange(3.0) + i).sum()

        return cond(i % 2 == 0, when_even, lambda: acc.value)

    ys = for_loop(outer, jnp.arange(4))

    def ref_outer(carry, i):
        a, h = carry

        def even(c):
            a, h = c
            (a2), ys = jax.lax.scan(lambda a, x: (a + x, a + x), a, jnp.arange(3.0) + i)
            return (a2, h + 1), ys.sum()

        return jax.lax.cond(i % 2 == 0, even, lambda c: (c, c[0]), (a, h))

    (a_ref, h_ref), ys_ref = jax.lax.scan(ref_outer, (jnp.zeros(()), jnp.zeros((), jnp.int32)), jnp.arange(4))
    np.testing.assert_allclose(ys, ys_ref)
    np.testing.assert_allclose(acc.value, a_ref)
    assert int(hits.value) == int(h_ref) == 2
