"""named_scope (a named jit equation per static configuration) and named_call (a name only, no jit)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import brainstate_state as bss
from brainstate_ir import make_jaxpr
from brainstate_jit import JittedFunction, NamedScopeFunction, jit, named_call, named_scope


def _jit_eqns(closed):
    return [e for e in closed.jaxpr.eqns if e.primitive.name in ("jit", "pjit")]


# ------------------------------------------------------------------------------------------- named_scope
def test_named_scope_is_a_named_jit_equation_in_make_jaxpr():
    @named_scope("my_block")
    def block(x):
        return jnp.sin(x) * 2

    jaxpr, states = make_jaxpr(lambda x: block(x) + 1)(jnp.ones(3))
    eqns = _jit_eqns(jaxpr)
    assert len(eqns) == 1
    assert eqns[0].params["name"] == "my_block"
    assert "name=my_block" in str(jaxpr)
    assert states == ()
    np.testing.assert_allclose(block(jnp.ones(3)), jnp.sin(jnp.ones(3)) * 2, rtol=1e-6)


def test_named_scope_tracks_and_writes_states_like_hand_threaded_jax():
    counter = bss.State(jnp.array(0.0), name="counter")

    @named_scope("accumulate")
    def accumulate(x):
        counter.value = counter.value + jnp.sum(x)
        return counter.value * 2

    @jax.jit
    def by_hand(c, x):
        c = c + jnp.sum(x)
        return c * 2, c

    c_ref = jnp.array(0.0)
    for x in (jnp.ones(2), jnp.arange(3.0), jnp.array([5.0, -1.0])):
        out = accumulate(x)
        out_ref, c_ref = by_hand(c_ref, x)
        np.testing.assert_allclose(out, out_ref)
        np.testing.assert_allclose(counter.value, c_ref)
    # Inside an enclosing trace the state flows through the named equation's inputs and outputs.
    jaxpr, states = make_jaxpr(lambda x: accumulate(x))(jnp.ones(2))
    assert states == (counter,)
    (eqn,) = _jit_eqns(jaxpr)
    assert eqn.params["name"] == "accumulate"
    assert len(eqn.invars) == 2 and len(eqn.outvars) == 2


def test_named_scope_static_argnums_and_per_config_jit_cache():
    @named_scope("poly", static_argnums=1)
    def poly(x, degree):
        return sum(x**k for k in range(degree + 1))

    assert isinstance(poly, NamedScopeFunction)
    assert float(poly(jnp.array(2.0), 2)) == 7.0
    assert float(poly(jnp.array(2.0), 3)) == 15.0
    assert len(poly.jit_cache) == 1  # one config, the jit caches the two degrees itself
    (jitted,) = poly.jit_cache.values()
    assert isinstance(jitted, JittedFunction)
    # A negative position is resolved against the call: -1 is `degree` here, the same config.
    neg = named_scope("poly_neg", static_argnums=-1)(poly.origin_fun)
    assert float(neg(jnp.array(2.0), 2)) == 7.0
    assert list(neg.jit_cache) == [((1,), ())]


def test_named_scope_callable_static_specs_depend_on_call_args():
    seen = []

    def static_nums(*args, **kwargs):
        seen.append(len(args))
        return tuple(i for i, a in enumerate(args) if isinstance(a, int))

    @named_scope("mixed", static_argnums=static_nums, static_argnames=lambda *a, **k: ("mode",))
    def mixed(x, n=1, *, mode="add"):
        return x + n if mode == "add" else x * n

    assert float(mixed(jnp.array(3.0), 2, mode="mul")) == 6.0
    assert float(mixed(jnp.array(3.0), mode="add")) == 4.0
    assert seen == [2, 1]
    assert set(mixed.jit_cache) == {((1,), ("mode",)), ((), ("mode",))}
    jaxpr, _ = make_jaxpr(lambda x: mixed(x, 4, mode="mul"))(jnp.array(1.0))
    (eqn,) = _jit_eqns(jaxpr)
    assert eqn.params["name"] == "mixed"
    assert len(eqn.invars) == 1  # `4` and `mode` are static: compiled in, not inputs


def test_named_scope_on_a_method_binds_self():
    class Scaler:
        def __init__(self, k):
            self.k = k

        @named_scope("scale", static_argnums=0)
        def __call__(self, x):
            return x * self.k

    # `self` is static (position 0): it must be hashable, which plain objects are.
    assert float(Scaler(3.0)(jnp.array(2.0))) == 6.0


class Leaky(bss.nn.Module):
    """A module whose methods are named scopes, with a plain attribute and a State."""

    def __init__(self, tau: float, n: int = 2) -> None:
        super().__init__()
        self.tau = tau
        self.v = bss.State(jnp.zeros(n), name="v")

    @named_scope("leaky_step")
    def step(self, x):
        self.v.value = self.v.value + (x - self.v.value) / self.tau
        return self.v.value

    @named_scope("leaky_repeat", static_argnums=2)
    def repeat(self, x, steps):
        for _ in range(steps):  # `steps` must be a concrete int
            self.v.value = self.v.value + (x - self.v.value) / self.tau
        return self.v.value

    @named_scope("leaky_scaled", static_argnames="mode")
    def scaled(self, x, mode="mul"):
        return x * self.tau if mode == "mul" else x + self.tau


def _leaky_reference(v, x, tau, steps=1):
    for _ in range(steps):
        v = v + (x - v) / tau
    return v


def test_named_scope_on_module_methods_binds_self_per_instance():
    for _ in range(2):  # modules (and their States) re-created per trial
        a, b = Leaky(2.0), Leaky(4.0)
        va, vb = np.zeros(2, np.float32), np.zeros(2, np.float32)
        for x in (jnp.ones(2), np.array([2.0, -1.0], np.float32), jnp.array([0.5, 3.0])):
            va, vb = _leaky_reference(va, x, 2.0), _leaky_reference(vb, x, 4.0)
            np.testing.assert_allclose(a.step(x), va, rtol=1e-6)
            np.testing.assert_allclose(b.step(x), vb, rtol=1e-6)
        np.testing.assert_allclose(a.v.value, va, rtol=1e-6)
        np.testing.assert_allclose(b.v.value, vb, rtol=1e-6)
        assert a.step.__self__ is a and a.step.__func__ is Leaky.step
        assert len(a.step.jit_cache) == 1  # one compiled configuration, reused by every call
    assert Leaky.step.jit_cache == {}  # nothing compiled for the unbound function


def test_named_scope_on_methods_with_static_argnums_and_static_argnames():
    m = Leaky(2.0)
    v = np.zeros(2, np.float32)
    for steps in (1, 3, 3, 2):
        v = _leaky_reference(v, np.ones(2, np.float32), 2.0, steps)
        np.testing.assert_allclose(m.repeat(jnp.ones(2), steps), v, rtol=1e-6)
    np.testing.assert_allclose(m.repeat(jnp.ones(2), steps=1), _leaky_reference(v, 1.0, 2.0), rtol=1e-6)
    np.testing.assert_allclose(m.scaled(jnp.ones(2), mode="add"), [3.0, 3.0])
    np.testing.assert_allclose(m.scaled(jnp.ones(2), "mul"), [2.0, 2.0])  # a static name, passed by position


def test_named_scope_method_sees_changed_plain_attributes():
    m = Leaky(2.0)
    np.testing.assert_allclose(m.scaled(jnp.ones(2), mode="mul"), [2.0, 2.0])
    m.tau = 5.0
    np.testing.assert_allclose(m.scaled(jnp.ones(2), mode="mul"), [5.0, 5.0])
    np.testing.assert_allclose(m.step(jnp.ones(2)), [0.2, 0.2], rtol=1e-6)
    m.tau = 2.0
    np.testing.assert_allclose(m.scaled(jnp.ones(2), mode="mul"), [2.0, 2.0])
    np.testing.assert_allclose(m.step(jnp.ones(2)), [0.6, 0.6], rtol=1e-6)
    assert len(m.scaled.jit_cache) == 2  # one compiled program per value of `tau`


def test_named_scope_method_under_jit_is_a_named_equation_and_writes_states():
    m = Leaky(2.0)

    @jit
    def run(x):
        return m.step(x) + m.repeat(x, 2)

    v = np.zeros(2, np.float32)
    for x in (jnp.ones(2), jnp.array([3.0, -1.0])):
        v1 = _leaky_reference(v, np.asarray(x), 2.0)
        v = _leaky_reference(v1, np.asarray(x), 2.0, 2)
        np.testing.assert_allclose(run(x), v1 + v, rtol=1e-6)
        np.testing.assert_allclose(m.v.value, v, rtol=1e-6)
    jaxpr, states = make_jaxpr(lambda x: m.repeat(x, 2))(jnp.ones(2))
    (eqn,) = _jit_eqns(jaxpr)
    assert eqn.params["name"] == "leaky_repeat"
    assert list(states) == [m.v]


def test_named_scope_method_does_not_keep_the_instance_alive():
    import gc
    import weakref

    m = Leaky(2.0)
    m.step(jnp.ones(2))
    ref = weakref.ref(m)
    del m
    gc.collect()
    assert ref() is None


def _tanh_plus_square(v):
    return jnp.tanh(v) + v**2


_scoped_tanh_plus_square = named_scope("f")(_tanh_plus_square)


@settings(max_examples=10, deadline=None)
@given(st.lists(st.floats(-5, 5, width=32), min_size=3, max_size=3))
def test_named_scope_matches_plain_function(values):
    x = jnp.asarray(values, dtype=jnp.float32)
    np.testing.assert_allclose(_scoped_tanh_plus_square(x), _tanh_plus_square(x), rtol=1e-5, atol=1e-6)
    assert len(_scoped_tanh_plus_square.jit_cache) == 1


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"name": 3}, TypeError, "name must be a str, got int"),
        ({"name": ""}, ValueError, "name must be a non-empty str"),
        ({"name": "n", "static_argnums": "x"}, TypeError, "static_argnums must be int"),
        ({"name": "n", "static_argnums": [0, 1.5]}, TypeError, "static_argnums must be int"),
        ({"name": "n", "static_argnames": 3}, TypeError, "static_argnames must be str"),
    ],
)
def test_named_scope_rejects_bad_options(kwargs, error, match):
    with pytest.raises(error, match=match):
        named_scope(**kwargs)


def test_named_scope_rejects_bad_calls_without_changing_states():
    s = bss.State(jnp.array(1.0), name="s")

    @named_scope("f", static_argnums=3)
    def f(x):
        s.value = s.value + x
        return s.value

    with pytest.raises(ValueError, match=r"static_argnums contains 3, but the function was called with 1"):
        f(jnp.array(1.0))
    with pytest.raises(TypeError, match="must decorate a callable, got int"):
        named_scope("g")(5)
    bad = named_scope("h", static_argnums=lambda *a: ["zero"])(lambda x: x)
    with pytest.raises(TypeError, match="static_argnums must be ints, got 'zero'"):
        bad(jnp.array(1.0))
    assert float(s.value) == 1.0


# ------------------------------------------------------------------------------------------- named_call
def test_named_call_adds_a_name_but_no_jit_equation():
    s = bss.State(jnp.array(2.0), name="s")

    @named_call(name="layer1")
    def layer(x):
        s.value = s.value * x
        return jnp.tanh(x)

    jaxpr, states = make_jaxpr(layer)(jnp.array(1.0))
    assert _jit_eqns(jaxpr) == []
    assert states == (s,)
    assert {str(e.source_info.name_stack) for e in jaxpr.jaxpr.eqns} == {"layer1"}
    # Eagerly it is the plain function, writes included.
    np.testing.assert_allclose(layer(jnp.array(3.0)), jnp.tanh(3.0))
    assert float(s.value) == 6.0


def test_named_call_defaults_to_function_name_and_keeps_metadata():
    def my_func(x):
        """Doc."""
        return x + 1

    wrapped = named_call(my_func)
    assert wrapped.__name__ == "my_func" and wrapped.__doc__ == "Doc."
    jaxpr = jax.make_jaxpr(wrapped)(1.0)
    assert str(jaxpr.jaxpr.eqns[0].source_info.name_stack) == "my_func"


def test_named_call_rejects_bad_inputs():
    with pytest.raises(TypeError, match="named_call needs a callable, got int"):
        named_call(3)
    with pytest.raises(TypeError, match="name must be a str, got int"):
        named_call(lambda x: x, name=1)

    class NoName:
        def __call__(self, x):
            return x

    obj = NoName()
    with pytest.raises(ValueError, match="has no __name__; pass name="):
        named_call(obj)
    assert named_call(obj, name="ok")(2) == 2
