"""brainstate 0.5.4 code, called as 0.5.4 documents it, runs unchanged and gives the same numbers.

Organised by layer: the state layer (random, util, graph, environ, nn) first; the program-level layers
(ir, mapping, ...) append their own sections below. Pinned numbers come from running the same calls
with brainstate 0.5.4.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import brainstate


def _key_data() -> list[int]:
    return np.asarray(brainstate.random.get_key_data()).tolist()  # type: ignore[no-any-return]


# =============================================================================================== state: random
def test_random_self_assign_multi_keys_and_restore_key() -> None:
    brainstate.random.seed(0)
    brainstate.random.self_assign_multi_keys(3)
    assert np.asarray(jax.random.key_data(brainstate.random.get_key())).tolist() == [
        [1797259609, 2579123966],
        [928981903, 3453687069],
        [4146024105, 2718843009],
    ]
    brainstate.random.restore_key()
    assert _key_data() == [0, 0]


def assert_reference(actual: object, expected: object) -> None:
    """Bit-exact on CPU, where the reference numbers were produced; within a few ulp on GPU and TPU, whose
    log/exp/erf kernels round differently in the last bits."""
    if jax.default_backend() == "cpu":
        np.testing.assert_array_equal(actual, expected)
    else:
        np.testing.assert_allclose(actual, expected, rtol=2e-6, atol=0)


def test_random_check_valid_and_reference_numbers() -> None:
    brainstate.random.seed(0)
    out = brainstate.random.truncated_normal(-1.0, 1.0, 3, 0.5, 2.0, check_valid=True)
    assert_reference(out, np.float32([-0.9820361137390137, -0.9488624334335327, 0.21308255195617676]))
    brainstate.random.seed(0)
    np.testing.assert_array_equal(
        brainstate.random.multinomial(10, [0.2, 0.3, 0.5], check_valid=True), [5, 2, 3]
    )
    brainstate.random.seed(0)
    assert_reference(
        brainstate.random.chisquare(2, 3, check_valid=False),
        np.float32([4.717990398406982, 0.03335854783654213, 0.18513281643390656]),
    )
    brainstate.random.seed(0)
    with pytest.raises(ValueError, match="probability"):
        brainstate.random.bernoulli(1.5, 4)
    assert _key_data() == [0, 0]
    assert brainstate.random.bernoulli(1.5, 4, check_valid=False).all()


def test_random_check_valid_inside_brainstate_transforms() -> None:
    rng = brainstate.random.RandomState(0)

    @brainstate.transform.jit
    def draw(p: jax.Array) -> jax.Array:
        return rng.bernoulli(p, 3)

    assert draw(jnp.float32(0.5)).shape == (3,)
    with pytest.raises(Exception, match="probability"):  # noqa: PT011 - JaxRuntimeError wraps it
        jax.block_until_ready(draw(jnp.float32(1.5)))
    lanes = brainstate.transform.vmap(lambda p: brainstate.random.power(p, check_valid=True))
    assert lanes(jnp.array([1.0, 2.0])).shape == (2,)


def test_random_signatures_of_0_5_4() -> None:
    brainstate.random.seed(0)
    assert_reference(
        brainstate.random.triangular(size=3),
        np.float32([0.06038965284824371, 0.10220368951559067, 0.5425212979316711]),
    )
    rng = brainstate.random.RandomState(0)
    assert rng.randint(0, 10, 4, jnp.int16).dtype == jnp.int16  # dtype before key
    assert rng.rand_like(jnp.zeros(3), jnp.float16).dtype == jnp.float16
    assert brainstate.random.randint(0, 10, 4, None, jnp.int16).dtype == jnp.int16  # key before dtype
    brainstate.random.set_key(seed_or_key=3)
    assert _key_data() == [0, 3]


# =============================================================================================== state: util
def test_util_filter_module_and_mappings() -> None:
    from brainstate.util.filter import OfType

    w = brainstate.ParamState(jnp.ones(2))
    h = brainstate.HiddenState(jnp.zeros(1))
    tree = brainstate.util.NestedDict({"layer": {"w": w}, "h": h})
    assert tree.subset(OfType(brainstate.ParamState)).to_dict() == {"layer": {"w": w}}
    assert isinstance(tree, brainstate.util.PrettyDict)
    snap = tree.treefy_state()
    assert isinstance(snap["layer"]["w"], brainstate.TreefyState)
    assert tree.to_flat().to_dict() == {("h",): h, ("layer", "w"): w}
    flat = brainstate.util.flat_mapping({"a": {"b": 1}}, sep="/")
    assert flat == {"a/b": 1}
    assert brainstate.util.nest_mapping(flat, sep="/") == {"a": {"b": 1}}
    brainstate.util.breakpoint_if(False)


# =============================================================================================== state: environ
def test_environ_env_argument() -> None:
    env = brainstate.environ.EnvironmentState()
    brainstate.environ.set(precision=64, dt=0.1, env=env)
    assert brainstate.environ.dftype(env=env) == jnp.float64
    assert brainstate.environ.dftype() == jnp.float32
    assert brainstate.environ.get_dt(env=env) == 0.1
    with brainstate.environ.context(dt=0.5, env=env):
        assert brainstate.environ.get(brainstate.environ.DT, env=env) == 0.5
    assert brainstate.environ.tolerance(env=env) == 1e-12
    brainstate.environ.register_default_behavior("k", lambda v: None, env=env)
    assert brainstate.environ.list_registered_behaviors(env=env) == ["k"]
    brainstate.environ.unregister_default_behavior("k", env=env)
    brainstate.environ.reset(env=env)
    assert brainstate.environ.all(env=env) == {"precision": 32}


# =============================================================================================== state: nn
class _Leaf(brainstate.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.w = brainstate.ParamState(jnp.ones(2))

    def init_state(self, batch_size: int) -> None:
        self.v = brainstate.HiddenState(jnp.zeros((batch_size, 2)))


class _Net(brainstate.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.leaf = _Leaf()
        self.b = brainstate.ParamState(jnp.zeros(2))

    def init_state(self, batch_size: int) -> None:
        self.h = brainstate.HiddenState(jnp.zeros_like(self.leaf.v.value))  # children first


def test_nn_init_all_states_and_module_iteration() -> None:
    net = brainstate.nn.init_all_states(_Net(), 3)
    assert net.h.value.shape == (3, 2)
    brainstate.nn.init_all_states(net, 5, node_to_exclude=_Leaf)
    assert net.h.value.shape == (3, 2) and net.leaf.v.value.shape == (3, 2)
    assert [n for n, _ in net.named_parameters(prefix="net")] == ["net.b", "net.leaf.w"]
    assert list(net.parameters(recurse=False)) == [net.b]
    assert [n for n, _ in net.named_modules(include_self=False)] == ["leaf"]
    assert list(net.modules(include_self=False)) == [net.leaf]


# =============================================================================================== state: graph
def test_graph_conversions_of_0_5_4() -> None:
    net = _Net()
    pure, _ = brainstate.graph.graph_to_tree([net, net], prefix=0, check_aliasing=True)
    a, b = brainstate.graph.tree_to_graph(pure)
    assert a is b and isinstance(a, _Net)
    with pytest.raises(ValueError, match="aliasing"):
        brainstate.graph.graph_to_tree([net, net], prefix=[0, 1])
    gdef, states = brainstate.graph.flatten(net)
    cache: dict[int, object] = {}
    first = brainstate.graph.unflatten(gdef, states, index_ref=cache)
    assert brainstate.graph.unflatten(gdef, states, index_ref_cache=cache) is first
    net.check_valid_context(lambda: "net is not usable here")


# =============================================================================================== state: trace
def test_state_trace_stack_names_of_0_5_4() -> None:
    a, b = brainstate.State(jnp.ones(1)), brainstate.State(jnp.zeros(1))
    with brainstate.StateTraceStack(name="t") as trace:
        b.value = a.value + 1
    assert trace.been_writen == [False, True]
    written, read = trace.get_state_values(separate=True, replace=True)
    assert read[1] is None and written[0] is None
    assert trace.get_read_states(replace_writen=True) == [a, None]
    fake = brainstate.FakeState(jnp.ones(1), "f", unit="ms")
    assert fake.name == "f" and fake.metadata == {"unit": "ms"}


# ---------------------------------------------------------------------------------------------------
# ir, mapping, control: the 0.5.4 spellings of StatefulFunction, StatefulMapping and ProgressBar
# (expected values are what brainstate 0.5.4 prints for the same program).
# ---------------------------------------------------------------------------------------------------
def test_stateful_function_methods_of_0_5_4() -> None:
    a = brainstate.State(jnp.zeros(2))
    w = brainstate.State(jnp.ones(()))

    def step(x):
        a.value = a.value + w.value * x
        return a.value.sum()

    # 0.5.4's positional order: fun, static_argnums, static_argnames, axis_env, name, return_only_write.
    sf = brainstate.transform.StatefulFunction(step, (), (), None, "step", True)
    assert sf.make_jaxpr(jnp.ones(2)) is sf
    key = sf.get_arg_cache_key(jnp.ones(2))
    assert sf.get_states_by_cache(key) == (a, w)
    assert sf.get_read_states(jnp.ones(2)) == (w,)
    assert sf.get_write_states(jnp.ones(2)) == (a,)
    # A ClosedJaxpr (on jax >= 0.11 that class is Jaxpr itself, which carries its consts).
    assert isinstance(sf.get_jaxpr(jnp.ones(2)), jax.extend.core.ClosedJaxpr)
    assert isinstance(sf.get_jaxpr_by_cache(key), jax.extend.core.ClosedJaxpr)
    (new_a, new_w), out = sf.jaxpr_call([a.value, w.value], jnp.ones(2))
    assert new_w is None and float(out) == 2.0
    np.testing.assert_array_equal(new_a, [1.0, 1.0])
    np.testing.assert_array_equal(a.value, [0.0, 0.0])  # jaxpr_call is pure
    assert float(sf.jaxpr_call_auto(jnp.ones(2))) == 2.0
    np.testing.assert_array_equal(a.value, [1.0, 1.0])  # jaxpr_call_auto writes back
    assert sorted(sf.get_cache_stats()) == ["compilation_cache"]
    out_shape, state_shapes = sf.get_out_shapes(jnp.ones(2))
    assert out_shape.shape == () and state_shapes[0].shape == (2,) and state_shapes[1] is None
    sf.clear_cache()


def test_stateful_mapping_constructor_of_0_5_4() -> None:
    c = brainstate.State(jnp.zeros(3))

    def f(x):
        c.value = c.value + x
        return x * 2

    states = {0: brainstate.util.filter.OfType(brainstate.State)}
    # 0.5.4's positional order: fun, in_axes, out_axes, state_in_axes, state_out_axes,
    # unexpected_out_state_mapping, static_argnums, static_argnames.
    mapped = brainstate.transform.StatefulMapping(f, 0, 0, states, states, "raise", None, ())
    np.testing.assert_array_equal(mapped(jnp.arange(3.0)), [0.0, 2.0, 4.0])
    np.testing.assert_array_equal(c.value, [0.0, 1.0, 2.0])
    assert mapped.static_argnums == () and mapped.static_argnames == ()


def test_progress_bar_print_freq_of_0_5_4() -> None:
    bar = brainstate.transform.ProgressBar(freq=2)
    assert bar.print_freq == 2
