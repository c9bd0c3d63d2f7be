"""Host callbacks in the shared compiled-program cache: one executable, each call runs its own callbacks.

A traced program that calls back into Python (``jax.debug.callback``, ``jax.pure_callback``,
``io_callback``: what a progress bar or a logging hook stages) gets a fresh callback object on every
trace. Two such programs that only differ in those objects must share one XLA executable, and each call
must still run the callbacks of its own program, never those of the program that was compiled first.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax.experimental import io_callback

from brainstate_ir import CompiledProgramCache, StatefulFunction, jaxpr_key
from brainstate_state import State
from brainstate_state.testing import count_compiles

# JAX's tracer-leak checker disables JAX's own caches of eager operations, which would then compile on
# every call and hide what these tests count. The State leak check still runs.
JAX_LEAK_CHECKS = False


def _logging_program(log: list[tuple[str, float]], tag: str) -> Any:
    def f(x: jax.Array) -> jax.Array:
        jax.debug.callback(lambda v: log.append((tag, float(v))), x)  # a fresh callback per trace
        return x * 2.0

    return jax.make_jaxpr(f)(1.0)


def test_programs_that_differ_only_in_their_callbacks_share_one_executable() -> None:
    cache = CompiledProgramCache(compile_after=1)
    log: list[tuple[str, float]] = []
    results = []
    with count_compiles() as compiles:
        for i in range(4):
            results.append(cache.call_jaxpr(_logging_program(log, f"call{i}"), [float(i)])[0])
    assert len(compiles) == 1
    assert cache.stats()["size"] == 1
    assert log == [("call0", 0.0), ("call1", 1.0), ("call2", 2.0), ("call3", 3.0)]
    np.testing.assert_allclose(results, [0.0, 2.0, 4.0, 6.0])


def test_a_callback_inside_a_loop_body_runs_the_current_call_callback() -> None:
    cache = CompiledProgramCache(compile_after=2)  # the first sighting runs op by op, then compiled
    sinks: list[list[float]] = []

    def program(sink: list[float]) -> Any:
        def body(c: jax.Array, x: jax.Array) -> tuple[jax.Array, jax.Array]:
            jax.lax.cond(x > 1.0, lambda: jax.debug.callback(sink.append, x, ordered=True), lambda: None)
            return c + x, c

        return jax.make_jaxpr(lambda xs: jax.lax.scan(body, jnp.zeros(()), xs))(jnp.arange(4.0))

    xs = jnp.arange(4.0)

    def run() -> None:
        sinks.append([])
        carry, _ = cache.call_jaxpr(program(sinks[-1]), [xs])
        assert float(carry) == 6.0

    run()  # first sighting: op by op
    run()  # second sighting: compiled
    with count_compiles() as compiles:
        for _ in range(3):
            run()
    assert compiles == []
    assert [[float(v) for v in sink] for sink in sinks] == [[2.0, 3.0]] * 5
    assert cache.stats()["compiled"] == 1


def test_pure_and_io_callbacks_return_the_current_call_values() -> None:
    cache = CompiledProgramCache(compile_after=1)
    calls: list[str] = []

    def program(offset: float, tag: str) -> Any:
        def host(v: Any) -> Any:
            calls.append(tag)
            return np.asarray(v + offset, np.float32)

        def f(x: jax.Array) -> jax.Array:
            shape = jax.ShapeDtypeStruct((), jnp.float32)
            out: jax.Array = jax.pure_callback(host, shape, x) + io_callback(host, shape, x, ordered=True)
            return out

        return jax.make_jaxpr(f)(1.0)

    outs = [float(cache.call_jaxpr(program(0.0, "p0"), [1.0])[0])]  # compiled (compile_after=1)
    with count_compiles() as compiles:
        outs += [float(cache.call_jaxpr(program(10.0 * i, f"p{i}"), [1.0])[0]) for i in (1, 2)]
    assert compiles == []
    assert outs == [2.0, 22.0, 42.0]
    assert calls == ["p0", "p0", "p1", "p1", "p2", "p2"]
    assert cache.stats()["size"] == 1


def test_callbacks_of_different_structure_do_not_share() -> None:
    cache = CompiledProgramCache(compile_after=1)
    seen: list[Any] = []

    def program(n_callbacks: int) -> Any:
        def f(x: jax.Array) -> jax.Array:
            for k in range(n_callbacks):
                jax.debug.callback(lambda v, k=k: seen.append((n_callbacks, k)), x, ordered=True)
            return x + 1.0

        return jax.make_jaxpr(f)(1.0)

    for n in (1, 2, 1, 2):
        cache.call_jaxpr(program(n), [1.0])
    assert cache.stats()["size"] == 2
    assert seen == [(1, 0), (2, 0), (2, 1), (1, 0), (2, 0), (2, 1)]


def test_jaxpr_key_stays_exact_for_callbacks() -> None:
    # The public key still tells callback objects apart: transforms that build their own executable from
    # a program (a gradient, a compiled switch) must not run another program's callback.
    log: list[tuple[str, float]] = []
    assert jaxpr_key(_logging_program(log, "a")) != jaxpr_key(_logging_program(log, "b"))
    same = _logging_program(log, "a")
    assert jaxpr_key(same) == jaxpr_key(same)


def test_stateful_function_with_a_fresh_hook_per_call_compiles_once() -> None:
    total = State(jnp.zeros(()), name="total")

    def make_step(hook: Callable[[Any], None]) -> Callable[[jax.Array], jax.Array]:
        def step(x: jax.Array) -> jax.Array:
            total.value = total.value + x
            jax.debug.callback(hook, total.value)
            return total.value

        return step

    logs: list[list[float]] = []
    StatefulFunction(make_step(lambda v: None))(1.0)  # first sighting: op by op
    with count_compiles() as compiles:
        for _ in range(4):
            log: list[float] = []
            logs.append(log)

            def hook(v: Any, log: list[float] = log) -> None:
                log.append(float(v))

            StatefulFunction(make_step(hook))(1.0)
    assert len(compiles) <= 1
    assert logs == [[2.0], [3.0], [4.0], [5.0]]
    assert float(total.value) == 5.0


def test_concurrent_calls_each_run_their_own_callbacks() -> None:
    cache = CompiledProgramCache(compile_after=1)
    logs: dict[str, list[tuple[str, float]]] = {}

    def worker(name: str) -> None:
        for i in range(5):
            log = logs.setdefault(f"{name}{i}", [])
            out = cache.call_jaxpr(_logging_program(log, f"{name}{i}"), [float(i)])[0]
            assert float(out) == 2.0 * i

    threads = [threading.Thread(target=worker, args=(name,)) for name in ("a", "b", "c")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert logs == {f"{n}{i}": [(f"{n}{i}", float(i))] for n in "abc" for i in range(5)}
    assert cache.stats()["size"] == 1
