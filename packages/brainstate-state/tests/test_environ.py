"""brainstate_state.environ: global settings, thread-local contexts, precision and dtypes, dt, behaviours."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from typing import Any

import jax
import jax.numpy as jnp
import pytest

from brainstate_state import environ

CONFIG: Any = jax.config  # flag attributes are not in jax's type stubs


@pytest.fixture(autouse=True)
def clean_environment() -> Iterator[None]:
    saved_flags = os.environ.get("XLA_FLAGS")
    environ.reset()
    yield
    environ.reset()
    if saved_flags is None:
        os.environ.pop("XLA_FLAGS", None)
    else:
        os.environ["XLA_FLAGS"] = saved_flags


def test_defaults() -> None:
    assert environ.all() == {"precision": 32}
    assert environ.get_precision() == 32
    assert environ.dftype() == jnp.float32
    assert environ.ditype() == jnp.int32
    assert environ.dutype() == jnp.uint32
    assert environ.dctype() == jnp.complex64


def test_set_get_pop() -> None:
    environ.set(dt=0.1, my_flag=True, env={"with space": 3})
    assert environ.get("dt") == 0.1
    assert environ.get("my_flag") is True
    assert environ.get("with space") == 3
    assert environ.all() == {"precision": 32, "dt": 0.1, "my_flag": True, "with space": 3}
    assert environ.pop("my_flag") is True
    assert environ.pop("my_flag", "gone") == "gone"
    with pytest.raises(KeyError, match="'my_flag' is not set"):
        environ.pop("my_flag")
    assert environ.get("my_flag", None) is None
    assert environ.get("x", env={"x": 5}) == 5
    assert environ.get("y", 7, env={"x": 5}) == 7


def test_missing_key_error_lists_known_keys_and_desc() -> None:
    environ.set(dt=0.1)
    with pytest.raises(KeyError) as info:
        environ.get("nonexistent", desc="what the flag controls")
    message = str(info.value)
    assert "'nonexistent' is not set" in message
    assert "['dt', 'precision']" in message
    assert "what the flag controls" in message
    assert "brainstate.environ.set(nonexistent=...)" in message


def test_pop_of_a_default_restores_it() -> None:
    environ.set(precision=16)
    assert environ.pop("precision") == 16
    assert environ.get_precision() == 32


def test_context_nests_and_restores() -> None:
    environ.set(dt=0.1)
    with environ.context(dt=0.2, extra=1) as merged:
        assert merged["dt"] == 0.2 and merged["extra"] == 1
        assert environ.get("dt") == 0.2
        with environ.context(dt=0.3):
            assert environ.get_dt() == 0.3
            assert environ.get("extra") == 1
        assert environ.get_dt() == 0.2
    assert environ.get_dt() == 0.1
    assert environ.get("extra", None) is None
    with pytest.raises(RuntimeError), environ.context(dt=0.5):
        raise RuntimeError("inside")
    assert environ.get_dt() == 0.1


def test_context_is_thread_local() -> None:
    environ.set(dt=0.1)
    inside, release = threading.Event(), threading.Event()
    seen: dict[str, object] = {}

    def worker() -> None:
        with environ.context(dt=0.5, precision=64):
            inside.set()
            release.wait(10)
            seen["worker_dt"] = environ.get_dt()
            seen["worker_float"] = environ.dftype()

    thread = threading.Thread(target=worker)
    thread.start()
    assert inside.wait(10)
    seen["main_dt"] = environ.get_dt()
    seen["main_float"] = environ.dftype()
    seen["main_x64"] = jnp.ones(1, float).dtype
    release.set()
    thread.join()
    assert seen == {
        "main_dt": 0.1,
        "main_float": jnp.float32,
        "main_x64": jnp.float32,
        "worker_dt": 0.5,
        "worker_float": jnp.float64,
    }


def test_set_is_process_wide() -> None:
    def worker() -> None:
        environ.set(from_thread=1)

    thread = threading.Thread(target=worker)
    thread.start()
    thread.join()
    assert environ.get("from_thread") == 1


@pytest.mark.parametrize(
    ("precision", "floating", "integer", "unsigned", "complex_"),
    [
        (8, jnp.float8_e5m2, jnp.int8, jnp.uint8, jnp.complex64),
        (16, jnp.float16, jnp.int16, jnp.uint16, jnp.complex64),
        (32, jnp.float32, jnp.int32, jnp.uint32, jnp.complex64),
        (64, jnp.float64, jnp.int64, jnp.uint64, jnp.complex128),
        ("bf16", jnp.bfloat16, jnp.int16, jnp.uint16, jnp.complex64),
    ],
)
def test_precision_dtypes(
    precision: int | str, floating: object, integer: object, unsigned: object, complex_: object
) -> None:
    with environ.context(precision=precision):
        assert environ.get_precision() == precision
        assert (environ.dftype(), environ.ditype(), environ.dutype(), environ.dctype()) == (
            floating,
            integer,
            unsigned,
            complex_,
        )
    environ.set_precision(precision)
    assert environ.dftype() == floating


def test_precision_64_toggles_x64() -> None:
    with environ.context(precision=64):
        assert jnp.ones(1, float).dtype == jnp.float64
    assert jnp.ones(1, float).dtype == jnp.float32
    environ.set_precision(64)
    assert CONFIG.jax_enable_x64
    assert jnp.zeros(1, environ.dftype()).dtype == jnp.float64
    environ.set_precision(32)
    assert not CONFIG.jax_enable_x64


@pytest.mark.parametrize("bad", [12, "fp32", True, None, 64.5])
def test_rejected_precision(bad: object) -> None:
    with pytest.raises(ValueError, match=r"precision must be one of \[8, 16, 32, 64, 'bf16'\]"):
        environ.set_precision(bad)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="precision must be one of"), environ.context(precision=bad):
        pass
    assert environ.get_precision() == 32


def test_rejected_set_changes_nothing() -> None:
    environ.set(dt=0.1)
    with pytest.raises(ValueError, match="dt must be a positive time step, got -1"):
        environ.set(dt=-1, other=2)
    assert environ.get_dt() == 0.1
    assert environ.get("other", None) is None
    with pytest.raises(TypeError, match="env must be an EnvironmentState or a mapping"):
        environ.set(env=[("a", 1)])  # type: ignore[arg-type]


def test_dt() -> None:
    with pytest.raises(KeyError, match="numerical integration time step"):
        environ.get_dt()
    environ.set_dt(0.05)
    assert environ.get_dt() == 0.05
    environ.set(dt=0.01)
    assert environ.get("dt") == 0.01
    for bad in (0, -0.1):
        with pytest.raises(ValueError, match="positive time step"):
            environ.set_dt(bad)
    assert environ.get_dt() == 0.01


def test_platform_and_host_device_count() -> None:
    previous = CONFIG.jax_platforms
    try:
        environ.set_platform("cpu")
        assert environ.get("platform") == "cpu"
        assert CONFIG.jax_platforms == "cpu"
    finally:
        jax.config.update("jax_platforms", previous)
    with pytest.raises(ValueError, match=r"platform must be one of \['cpu', 'gpu', 'tpu'\]"):
        environ.set_platform("quantum")
    os.environ["XLA_FLAGS"] = "--xla_dump_to=/tmp/x --xla_force_host_platform_device_count=2"
    environ.set_host_device_count(4)
    assert os.environ["XLA_FLAGS"] == "--xla_dump_to=/tmp/x --xla_force_host_platform_device_count=4"
    assert environ.get("host_device_count") == 4
    for bad in (0, 1.5, True):
        with pytest.raises(ValueError, match="host_device_count must be a positive integer"):
            environ.set_host_device_count(bad)  # type: ignore[arg-type]
    with (
        pytest.raises(ValueError, match="cannot be changed inside environ.context"),
        environ.context(platform="cpu"),
    ):
        pass


def test_register_default_behavior() -> None:
    calls: list[object] = []
    environ.register_default_behavior("verbosity_test", calls.append, replace_if_exist=True)
    environ.set(verbosity_test=1)
    with environ.context(verbosity_test=2):
        assert calls == [1, 2]
    assert calls == [1, 2, 1]
    with pytest.raises(ValueError, match="already registered.*replace_if_exist=True"):
        environ.register_default_behavior("verbosity_test", calls.append)
    with pytest.raises(TypeError, match="behavior must be callable"):
        environ.register_default_behavior("other", 3)  # type: ignore[arg-type]


def test_reset() -> None:
    environ.set(dt=1.0, precision=64, custom="x")
    environ.reset()
    assert environ.all() == {"precision": 32}
    assert not CONFIG.jax_enable_x64


# ---------------------------------------------------------------------------------------------- env=
def test_a_separate_environment_is_independent_and_leaves_jax_alone() -> None:
    env = environ.EnvironmentState()
    environ.set(precision=64, dt=0.5, env=env)
    assert environ.get_precision(env=env) == 64 and environ.get_precision() == 32
    assert environ.dftype(env=env) == jnp.float64 and environ.dftype() == jnp.float32
    assert environ.ditype(env=env) == jnp.int64 and environ.dutype(env=env) == jnp.uint64
    assert environ.dctype(env=env) == jnp.complex128
    assert environ.tolerance(env=env) == 1e-12 and environ.tolerance() == 1e-5
    assert not CONFIG.jax_enable_x64  # only the default environment reconfigures JAX
    assert environ.get_dt(env=env) == 0.5
    with pytest.raises(KeyError, match="numerical integration time step"):
        environ.get_dt()
    with environ.context(dt=0.1, env=env) as merged:
        assert merged["dt"] == 0.1 and environ.get("dt", env=env) == 0.1
        assert environ.get("dt", None) is None
        assert not CONFIG.jax_enable_x64
    assert environ.all(env=env) == {"precision": 64, "dt": 0.5}
    assert environ.pop("dt", env=env) == 0.5 and environ.pop("dt", None, env=env) is None
    environ.set_precision(16, env=env)
    environ.set_dt(0.2, env=env)
    assert environ.all(env=env) == {"precision": 16, "dt": 0.2}
    environ.reset(env=env)
    assert environ.all(env=env) == {"precision": 32}
    assert environ.all() == {"precision": 32}


def test_behaviours_of_a_separate_environment() -> None:
    env = environ.EnvironmentState()
    seen: list[object] = []
    environ.register_default_behavior("level", seen.append, env=env)
    assert environ.list_registered_behaviors(env=env) == ["level"]
    assert "level" not in environ.list_registered_behaviors()
    environ.set(level=1, env=env)
    environ.set(level=9)  # the default environment has no behaviour for it
    with environ.context(level=2, env=env):
        pass
    assert seen == [1, 2, 1]
    assert environ.unregister_default_behavior("level", env=env) is True
    assert environ.unregister_default_behavior("level", env=env) is False
    environ.set(level=3, env=env)
    assert seen == [1, 2, 1]


def test_constants_and_platform_queries() -> None:
    assert (environ.DT, environ.I, environ.T, environ.PRECISION) == ("dt", "i", "t", "precision")
    assert environ.SUPPORTED_PRECISIONS == (8, 16, 32, 64, "bf16")
    assert environ.SUPPORTED_PLATFORMS == ("cpu", "gpu", "tpu")
    assert environ.DEFAULT_PRECISION == 32
    assert environ.get_platform() == jax.default_backend()
    os.environ["XLA_FLAGS"] = "--xla_force_host_platform_device_count=3"
    assert environ.get_host_device_count() == 3
    os.environ.pop("XLA_FLAGS")
    assert environ.get_host_device_count() == 1


def test_env_must_be_an_environment_or_a_mapping() -> None:
    for call in (
        lambda: environ.get("dt", env=3),  # type: ignore[arg-type]
        lambda: environ.dftype(env="env"),  # type: ignore[arg-type]
        lambda: environ.all(env=[1]),  # type: ignore[arg-type]
    ):
        with pytest.raises(TypeError, match="env must be an EnvironmentState"):
            call()
    assert environ.all() == {"precision": 32}
