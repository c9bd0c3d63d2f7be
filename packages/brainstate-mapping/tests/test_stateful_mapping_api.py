"""``StatefulMapping`` takes brainstate 0.5.4's constructor parameters, in 0.5.4's order, and attributes."""

from __future__ import annotations

import functools
import inspect

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from brainstate_mapping import StatefulMapping, vmap2
from brainstate_state import ParamState, State

_054_PARAMETERS = [
    "fun",
    "in_axes",
    "out_axes",
    "state_in_axes",
    "state_out_axes",
    "unexpected_out_state_mapping",
    "static_argnums",
    "static_argnames",
    "axis_env",
    "return_only_write",
    "axis_size",
    "axis_name",
    "name",
    "mapping_fn",
    "mapping_kwargs",
]


def test_constructor_parameters_in_054_order() -> None:
    assert list(inspect.signature(StatefulMapping).parameters) == _054_PARAMETERS


def test_positional_construction_as_054_code_writes_it() -> None:
    w = ParamState(jnp.arange(3.0))

    def f(x: jax.Array, n: int) -> jax.Array:
        return x * w.value * len(range(n))

    # fun, in_axes, out_axes, state_in_axes, state_out_axes, policy, static_argnums
    m = StatefulMapping(f, (0, None), 0, {0: ParamState}, None, "auto", 1)
    np.testing.assert_allclose(m(jnp.ones(3), 2), jax.vmap(lambda x, wi: x * wi * 2)(jnp.ones(3), w.value))
    assert m.static_argnums == (1,)
    assert m.static_argnames == ()


def test_attributes() -> None:
    fun = lambda x: x  # noqa: E731
    m = StatefulMapping(fun, in_axes=(0,), state_in_axes={0: ParamState}, static_argnames="mode", name="m")
    assert m.origin_fun is fun
    assert m.in_axes == (0,)
    assert m.out_axes == 0
    assert set(m.state_in_axes) == {0}
    assert m.state_out_axes == {}
    assert m.unexpected_out_state_mapping == "auto"
    assert m.static_argnums == ()
    assert m.static_argnames == ("mode",)
    assert m.axis_env is None
    assert m.return_only_write is True
    assert m.axis_size is None and m.axis_name is None
    assert m.name == "m"
    assert m.mapping_fn is jax.vmap
    assert m.mapping_kwargs == {}


def test_static_argnums_none_and_int() -> None:
    m = StatefulMapping(lambda x: x + 1.0, static_argnums=None, static_argnames=None)
    assert m.static_argnums == () and m.static_argnames == ()
    np.testing.assert_allclose(m(jnp.arange(2.0)), [1.0, 2.0])
    m2 = StatefulMapping(lambda x, k: x * k, in_axes=(0, None), static_argnums=1)
    np.testing.assert_allclose(m2(jnp.arange(3.0), 4), jax.vmap(lambda x: x * 4)(jnp.arange(3.0)))


def test_mapping_fn_and_mapping_kwargs_are_called_as_jax_vmap() -> None:
    seen: list[list[str]] = []

    def my_vmap(f, **kwargs):  # type: ignore[no-untyped-def]
        seen.append(sorted(kwargs))
        return jax.vmap(f, **kwargs)

    m = StatefulMapping(lambda x: x * 2.0, mapping_fn=my_vmap, mapping_kwargs={"spmd_axis_name": None})
    for _ in range(2):
        np.testing.assert_allclose(m(jnp.arange(3.0)), [0.0, 2.0, 4.0])
    assert seen and seen[0] == ["axis_name", "axis_size", "in_axes", "out_axes", "spmd_axis_name"]
    m2 = StatefulMapping(
        lambda x: x * 2.0, mapping_fn=functools.partial(jax.vmap, spmd_axis_name=None), mapping_kwargs=None
    )
    np.testing.assert_allclose(m2(jnp.arange(3.0)), [0.0, 2.0, 4.0])
    assert m2.mapping_kwargs == {}


def test_axis_env_names_an_extra_axis_for_collectives() -> None:
    m = StatefulMapping(lambda x: jax.lax.psum(x, "j"), axis_env=[("j", 3)], axis_name="j")
    np.testing.assert_allclose(
        m(jnp.arange(3.0)), jax.vmap(lambda x: jax.lax.psum(x, "j"), axis_name="j")(jnp.arange(3.0))
    )


def test_return_only_write_false_gives_the_same_results() -> None:
    s = State(jnp.zeros(3), name="acc")

    def f(x: jax.Array) -> jax.Array:
        s.value = s.value + x
        return s.value * 2

    m = StatefulMapping(f, state_in_axes={0: lambda path, st: st is s}, return_only_write=False)
    np.testing.assert_allclose(m(jnp.arange(3.0)), 2 * jnp.arange(3.0))
    np.testing.assert_allclose(s.value, jnp.arange(3.0))


def test_vmap2_returns_a_stateful_mapping_with_054_attributes() -> None:
    m = vmap2(lambda x: x, spmd_axis_name=None)
    assert isinstance(m, StatefulMapping)
    assert m.mapping_kwargs == {} or m.mapping_kwargs == {"spmd_axis_name": None}
    assert m.static_argnums == ()


def test_invalid_static_argnums_raise() -> None:
    # The exception types jax.jit raises for the same static_argnums: ValueError for a negative number,
    # TypeError for something that is not an int.
    with pytest.raises(ValueError, match="static_argnums"):
        StatefulMapping(lambda x: x, static_argnums=-1)
    with pytest.raises(TypeError, match="static_argnums"):
        StatefulMapping(lambda x: x, static_argnums="0")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="static_argnums"):
        StatefulMapping(lambda x: x, static_argnums=(0, 1.5))  # type: ignore[arg-type]
