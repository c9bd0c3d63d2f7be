"""ProgressBar: validation, tqdm output and the text fallback, captured from compiled loops."""

from __future__ import annotations

import re

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import brainstate_state as bss
from brainstate_control import ProgressBar, _progress, checkpointed_for_loop, for_loop, scan


def _step_factory():
    s = bss.State(jnp.zeros(()))

    def step(x):
        s.value = s.value + x
        return s.value

    return s, step


def test_validation():
    with pytest.raises(ValueError, match="either freq or count"):
        ProgressBar(freq=2, count=3)
    for bad in (0, -1, 1.5, True):
        with pytest.raises(ValueError, match="freq"):
            ProgressBar(freq=bad)
        with pytest.raises(ValueError, match="count"):
            ProgressBar(count=bad)
    with pytest.raises(TypeError, match="desc"):
        ProgressBar(desc=("x", "not callable"))
    with pytest.raises(TypeError, match="desc"):
        ProgressBar(desc=3)
    with pytest.raises(ValueError, match="larger than the number of steps 5"):
        ProgressBar(freq=6).init(5)
    with pytest.raises(ValueError, match="count=9"):
        ProgressBar(count=9).init(5)
    assert ProgressBar().init(100).freq == 5
    assert ProgressBar().init(20).freq == 1
    assert ProgressBar(count=4).init(10).freq == 2
    assert "total" not in ProgressBar(total=3, miniters=2, leave=False).tqdm_kwargs
    s, step = _step_factory()
    with pytest.raises(TypeError, match="pbar"):
        for_loop(step, jnp.ones(3), pbar="yes")
    with pytest.raises(ValueError, match="freq=10"):
        for_loop(step, jnp.ones(3), pbar=10)
    assert float(s.value) == 0.0


def test_tqdm_output_with_dynamic_desc(capfd):
    s, step = _step_factory()
    bar = ProgressBar(freq=4, desc=("step {i} sum={y:.0f}", lambda d: {"i": d["i"], "y": d["y"]}))
    ys = for_loop(step, jnp.ones(10), pbar=bar)
    np.testing.assert_allclose(ys, np.arange(1, 11))
    err = capfd.readouterr().err
    assert "10/10" in err
    assert "step 7 sum=8" in err


def test_text_fallback_when_tqdm_missing(capfd, monkeypatch):
    monkeypatch.setattr(_progress, "_import_tqdm", lambda: None)
    s, step = _step_factory()
    checkpointed_for_loop(step, jnp.ones(7), pbar=ProgressBar(freq=3, desc="sim"), base=2)
    lines = [ln for ln in capfd.readouterr().err.splitlines() if ln.strip()]
    assert lines == ["sim: 3/7 (42%)", "sim: 6/7 (85%)", "sim: 7/7 (100%)"]
    assert float(s.value) == 7.0


def test_int_pbar_and_repeat_calls_reopen_the_bar(capfd, monkeypatch):
    monkeypatch.setattr(_progress, "_import_tqdm", lambda: None)
    carry, _ = scan(lambda c, x: (c + x, c), 0.0, jnp.ones(4), pbar=2)
    assert float(carry) == 4.0
    scan(lambda c, x: (c + x, c), 0.0, jnp.ones(4), pbar=2)
    err = capfd.readouterr().err
    assert len(re.findall(r"4/4 \(100%\)", err)) == 2


def test_fallback_respects_disable(capfd, monkeypatch):
    monkeypatch.setattr(_progress, "_import_tqdm", lambda: None)
    s, step = _step_factory()
    for_loop(step, jnp.ones(4), pbar=ProgressBar(freq=2, disable=True))
    assert capfd.readouterr().err == ""
    assert float(s.value) == 4.0


def test_progress_under_vmap_advances_once(capfd, monkeypatch):
    monkeypatch.setattr(_progress, "_import_tqdm", lambda: None)

    def pure(x):
        s = bss.State(x)

        def step(i):
            s.value = s.value + i
            return s.value

        return for_loop(
            step, jnp.arange(6.0), pbar=ProgressBar(freq=3, desc=("v={v:.0f}", lambda d: {"v": d["y"]}))
        )

    ys = jax.vmap(pure)(jnp.arange(2.0))
    np.testing.assert_allclose(ys[1], [1, 2, 4, 7, 11, 16])
    lines = [ln for ln in capfd.readouterr().err.splitlines() if ln.strip()]
    # one bar for both lanes; the description shows the last lane's value
    assert lines == ["v=4: 3/6 (50%)", "v=16: 6/6 (100%)"]


def _tqdm_counts(text: str, n: int) -> list[int]:
    return [int(k) for k in re.findall(rf"(\d+)/{n}\b", text)]


@pytest.mark.parametrize(
    ("n", "options"), [(10, {"freq": 3}), (10, {"freq": 4}), (10, {"count": 3}), (23, {})]
)
@pytest.mark.parametrize("loop", ["for_loop", "scan_reverse", "checkpointed", "jit", "vmap"])
def test_tqdm_ends_exactly_at_n(n, options, loop):
    import io

    pytest.importorskip("tqdm")
    out = io.StringIO()
    bar = ProgressBar(file=out, ascii=True, **options)
    xs = jnp.arange(float(n))
    if loop == "for_loop":
        for_loop(lambda x: x, xs, pbar=bar)
    elif loop == "scan_reverse":
        scan(lambda c, x: (c + x, c), 0.0, xs, reverse=True, pbar=bar)
    elif loop == "checkpointed":
        checkpointed_for_loop(lambda x: x, xs, base=3, pbar=bar)
    elif loop == "jit":
        jax.jit(lambda v: for_loop(lambda x: x, v, pbar=bar))(xs)
    else:
        jax.vmap(lambda v: for_loop(lambda x: x * v, xs, pbar=bar))(jnp.ones(2))
    jax.effects_barrier()
    counts = _tqdm_counts(out.getvalue(), n)
    assert counts, out.getvalue()
    assert counts[-1] == n and max(counts) == n  # no overshoot, no undershoot
    assert counts == sorted(counts)


def test_print_freq_is_an_alias_of_freq(capfd, monkeypatch):
    monkeypatch.setattr(_progress, "_import_tqdm", lambda: None)
    bar = ProgressBar(freq=3)
    assert bar.print_freq == 3 and bar.print_count is None
    bar.print_freq = 4
    assert bar.freq == 4
    for_loop(lambda x: x, jnp.arange(10.0), pbar=bar)
    jax.effects_barrier()
    err = capfd.readouterr().err
    assert re.findall(r"(\d+)/10", err) == ["4", "8", "10"]
    with pytest.raises(ValueError, match="freq"):
        bar.print_freq = 0
    assert bar.print_freq == 4
    counted = ProgressBar(count=4)
    assert counted.print_freq is None and counted.print_count == 4
