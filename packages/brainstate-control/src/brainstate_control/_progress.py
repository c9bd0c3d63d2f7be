"""``ProgressBar``: a host-side progress bar driven from inside compiled loops.

The loop body calls the runner with the step index; ordered ``jax.debug.callback`` calls, each guarded by
a ``lax.cond`` so they only fire when needed, open the bar at step 0, advance it every ``freq`` steps and
close it after the last step. The bar is ``tqdm.auto.tqdm`` when tqdm is installed (the ``[progress]``
extra) and a small text bar on stderr otherwise.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp

__all__ = ["ProgressBar", "ProgressBarRunner"]

DescFn = Callable[[dict[str, Any]], dict[str, Any]]
_DROPPED_TQDM_KWARGS = ("total", "mininterval", "maxinterval", "miniters")


def _import_tqdm() -> Any:
    """``tqdm.auto.tqdm``, or ``None`` when tqdm is not installed."""
    try:
        from tqdm.auto import tqdm  # type: ignore[import-untyped,unused-ignore]
    except ImportError:
        return None
    return tqdm


class _TextBar:
    """The fallback bar: one line per update on stderr, ``desc: 40/100 (40%)``."""

    def __init__(
        self, total: int, desc: str | None = None, file: Any = None, disable: bool = False, **_: Any
    ) -> None:
        self.total = total
        self.n = 0
        self.desc = desc or ""
        self.file = file if file is not None else sys.stderr
        self.disable = disable

    def set_description(self, desc: str, refresh: bool = True) -> None:
        self.desc = desc

    def update(self, n: int) -> None:
        self.n += n
        if self.disable:
            return
        percent = 100 * self.n // self.total if self.total else 100
        prefix = f"{self.desc}: " if self.desc else ""
        print(f"{prefix}{self.n}/{self.total} ({percent}%)", file=self.file, flush=True)

    def close(self) -> None:
        if not self.disable:
            print(file=self.file, flush=True)


def _validate_positive_int(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValueError(f"ProgressBar: {name} must be a positive int, got {value!r}.")
    return value


class ProgressBar:
    """A progress bar for loops that run inside compiled code (``scan``, ``for_loop`` and friends).

    Parameters
    ----------
    freq
        Advance the bar every ``freq`` steps. Default: ``n // 20`` for loops longer than 20 steps, else 1. Also
        readable and settable as ``print_freq`` (``count`` as ``print_count``).
    count
        Advance the bar ``count`` times in total (``freq = n // count``). Exclusive with ``freq``.
    desc
        A fixed description string, or ``(format_string, fn)`` where ``fn(dict(i=step, carry=carry, y=y))``
        returns a dict used as ``format_string.format(**that_dict)`` at every update.
    **tqdm_kwargs
        Passed to ``tqdm`` (``total``, ``mininterval``, ``maxinterval`` and ``miniters`` are managed here
        and dropped).

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> import brainstate_state as bss
    >>> from brainstate_control import ProgressBar, for_loop
    >>> total = bss.State(jnp.array(0.0))
    >>> def step(x):
    ...     total.value = total.value + x
    ...     return total.value
    >>> ys = for_loop(step, jnp.arange(10.0), pbar=ProgressBar(freq=5, desc='summing', disable=True))
    >>> float(total.value)
    45.0
    >>> ProgressBar(freq=5).print_freq
    5
    """

    def __init__(
        self,
        freq: int | None = None,
        count: int | None = None,
        desc: str | tuple[str, DescFn] | None = None,
        **tqdm_kwargs: Any,
    ) -> None:
        if freq is not None and count is not None:
            raise ValueError("ProgressBar: give either freq or count, not both.")
        self.freq = None if freq is None else _validate_positive_int(freq, "freq")
        self.count = None if count is None else _validate_positive_int(count, "count")
        valid_desc = desc is None or isinstance(desc, str)
        valid_desc = valid_desc or (
            isinstance(desc, tuple) and len(desc) == 2 and isinstance(desc[0], str) and callable(desc[1])
        )
        if not valid_desc:
            raise TypeError(
                "ProgressBar: desc must be a string or a tuple (format_string, fn) where "
                f"fn(dict(i=..., carry=..., y=...)) returns a dict; got {desc!r:.80}."
            )
        self.desc = desc
        self.tqdm_kwargs = {k: v for k, v in tqdm_kwargs.items() if k not in _DROPPED_TQDM_KWARGS}

    def __repr__(self) -> str:
        return f"ProgressBar(freq={self.freq}, count={self.count}, desc={self.desc!r})"

    @property
    def print_freq(self) -> int | None:
        """``freq`` under its earlier name (advance the bar every ``print_freq`` steps); settable."""
        return self.freq

    @print_freq.setter
    def print_freq(self, value: int | None) -> None:
        self.freq = None if value is None else _validate_positive_int(value, "print_freq (freq)")

    @property
    def print_count(self) -> int | None:
        """``count`` under its earlier name; settable."""
        return self.count

    @print_count.setter
    def print_count(self, value: int | None) -> None:
        self.count = None if value is None else _validate_positive_int(value, "print_count (count)")

    def init(self, n: int) -> ProgressBarRunner:
        """The runner for a loop of ``n`` steps (validates ``freq``/``count`` against ``n``)."""
        if self.freq is not None:
            if self.freq > n:
                raise ValueError(f"ProgressBar: freq={self.freq} is larger than the number of steps {n}.")
            freq = self.freq
        elif self.count is not None:
            if self.count > n:
                raise ValueError(f"ProgressBar: count={self.count} is larger than the number of steps {n}.")
            freq = n // self.count
        else:
            freq = n // 20 if n > 20 else 1
        return ProgressBarRunner(n, freq, self.desc, self.tqdm_kwargs)


class ProgressBarRunner:
    """The per-loop part of a :class:`ProgressBar`: call it once per step from the traced loop body."""

    def __init__(
        self, n: int, freq: int, desc: str | tuple[str, DescFn] | None, kwargs: dict[str, Any]
    ) -> None:
        self.n = n
        self.freq = freq
        self.desc = desc
        self.kwargs = kwargs
        self._bar: Any = None

    # ---- host side (run by the ordered callbacks)
    def _open(self) -> None:
        tqdm = _import_tqdm()
        desc = self.desc if isinstance(self.desc, str) else None
        if tqdm is None:
            self._bar = _TextBar(self.n, desc=desc, **self.kwargs)
        else:
            # Updates already arrive only every ``freq`` steps: show each of them.
            self._bar = tqdm(total=self.n, desc=desc, miniters=1, mininterval=0.0, **self.kwargs)

    def _describe(self, values: Any) -> None:
        if self._bar is None:
            self._open()
        assert isinstance(self.desc, tuple)
        self._bar.set_description(self.desc[0].format(**values), refresh=False)

    def _update(self, amount: Any) -> None:
        if self._bar is None:
            self._open()
        self._bar.update(int(amount))

    def _close(self, amount: Any) -> None:
        if int(amount) > 0:
            self._update(amount)
        if self._bar is not None:
            self._bar.close()
            self._bar = None

    # ---- traced side
    def _desc_values(self, i: Any, carry: Any, y: Any) -> Any:
        assert isinstance(self.desc, tuple)
        values = self.desc[1](dict(i=i, carry=carry, y=y))
        if not isinstance(values, dict):
            raise TypeError(
                f"ProgressBar: the desc function must return a dict of format values, got "
                f"{type(values).__name__}."
            )
        return values

    def __call__(self, i: Any, carry: Any = None, y: Any = None) -> None:
        """Record step ``i`` (0-based count of executed steps) of the loop.

        The step counter is the same in every ``vmap`` lane, so the bar opens, advances and closes once.
        Description values may differ per lane: under ``vmap`` the description callback runs once per
        lane and the last lane's values are shown.
        """
        freq, n = self.freq, self.n
        remainder = n % freq
        dynamic = isinstance(self.desc, tuple)
        values = self._desc_values(i, carry, y) if dynamic else None

        def callbacks(*calls: tuple[Callable[..., None], tuple[Any, ...]]) -> Callable[[], None]:
            def run() -> None:
                for fn, args in calls:
                    jax.debug.callback(fn, *args, ordered=True)

            return run

        def skip() -> None:
            return None

        describe = ((self._describe, (values,)),) if dynamic else ()
        jax.lax.cond(i == 0, callbacks((self._open, ())), skip)
        update = callbacks(*describe, (self._update, (jnp.asarray(freq),)))
        jax.lax.cond(((i + 1) % freq == 0) & (i < n), update, skip)
        jax.lax.cond(i == n - 1, callbacks(*describe, (self._close, (jnp.asarray(remainder),))), skip)
