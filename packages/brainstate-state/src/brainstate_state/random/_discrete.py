"""Discrete distributions, sampling from arrays, and permutations (methods of :class:`RandomState`).

Integer results use ``dtype`` or ``environ.ditype()``. Signatures follow ``numpy.random``.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from .._jax_compat import Tracer
from ._common import (
    KeySource,
    Size,
    check_param,
    check_valid_param,
    concrete,
    int_dtype,
    out_shape,
    size_tuple,
)

__all__ = ["DiscreteMixin"]

_PROBABILITY = "Parameter 'p' must be a probability in [0, 1]"


def _is_probability(p: Any) -> Any:
    p = jnp.asarray(p)
    return (p >= 0) & (p <= 1)


class DiscreteMixin(KeySource):
    """Discrete distributions; see :class:`brainstate_state.random.RandomState`."""

    # ------------------------------------------------------------------ integers
    def randint(
        self, low: Any, high: Any = None, size: Size = None, dtype: Any = None, key: Any = None
    ) -> jax.Array:
        """Integers in ``[low, high)``; with one bound, in ``[0, low)``.

        The method takes ``dtype`` before ``key``; the module-level ``random.randint`` takes ``key`` before
        ``dtype`` (both orders as in brainstate 0.5.4).

        Examples
        --------
        >>> from brainstate_state.random import RandomState
        >>> x = RandomState(0).randint(5, size=20)
        >>> bool(((x >= 0) & (x < 5)).all())
        True
        """
        if high is None:
            low, high = 0, low
        check_param(lambda: jnp.asarray(low) < jnp.asarray(high), "low", low, f"smaller than high={high!r}")
        dtype = int_dtype(dtype)
        return jax.random.randint(self._draw_key(key), out_shape(size, low, high), low, high, dtype)

    def random_integers(
        self, low: Any, high: Any = None, size: Size = None, key: Any = None, dtype: Any = None
    ) -> jax.Array:
        """Integers in the closed interval ``[low, high]``; with one bound, in ``[1, low]``.

        Examples
        --------
        >>> from brainstate_state.random import RandomState
        >>> x = RandomState(0).random_integers(3, size=20)
        >>> bool(((x >= 1) & (x <= 3)).all())
        True
        """
        if high is None:
            low, high = 1, low
        return self.randint(low, jnp.asarray(high) + 1, size, key=key, dtype=dtype)

    # ------------------------------------------------------------------ sampling from data
    def choice(
        self, a: Any, size: Size = None, replace: bool = True, p: Any = None, key: Any = None
    ) -> jax.Array:
        """Samples from ``a`` (an array, or ``arange(a)`` for an int), optionally weighted by ``p``.

        Examples
        --------
        >>> from brainstate_state.random import RandomState
        >>> sorted(RandomState(0).choice(3, size=3, replace=False).tolist())
        [0, 1, 2]
        """
        if p is not None:
            check_param(
                lambda: (jnp.asarray(p) >= 0).all() & jnp.isclose(jnp.asarray(p).sum(), 1.0, atol=1e-5),
                "p",
                p,
                "non-negative probabilities summing to 1",
            )
            p = jnp.asarray(p)
        return jax.random.choice(self._draw_key(key), a, size_tuple(size), replace, p)

    def permutation(self, x: Any, axis: int = 0, independent: bool = False, key: Any = None) -> jax.Array:
        """A permuted copy of ``x`` along ``axis`` (or of ``arange(x)`` for an int).

        Examples
        --------
        >>> from brainstate_state.random import RandomState
        >>> sorted(RandomState(0).permutation(4).tolist())
        [0, 1, 2, 3]
        """
        return jax.random.permutation(self._draw_key(key), x, axis, independent)

    def shuffle(self, x: Any, axis: int = 0, key: Any = None) -> jax.Array:
        """A shuffled copy of ``x`` along ``axis`` (JAX arrays are immutable: ``x`` itself is unchanged).

        Examples
        --------
        >>> import jax.numpy as jnp
        >>> from brainstate_state.random import RandomState
        >>> sorted(RandomState(0).shuffle(jnp.arange(4)).tolist())
        [0, 1, 2, 3]
        """
        return jax.random.permutation(self._draw_key(key), x, axis)

    def categorical(self, logits: Any, axis: int = -1, size: Size = None, key: Any = None) -> jax.Array:
        """Category indices drawn from unnormalised log-probabilities ``logits`` along ``axis``.

        Examples
        --------
        >>> import jax.numpy as jnp
        >>> from brainstate_state.random import RandomState
        >>> RandomState(0).categorical(jnp.log(jnp.array([0.0, 1.0, 0.0])), size=3).tolist()
        [1, 1, 1]
        """
        shape = None if size is None else size_tuple(size)
        return jax.random.categorical(self._draw_key(key), logits, axis, shape)

    # ------------------------------------------------------------------ counting distributions
    def bernoulli(
        self, p: Any = 0.5, size: Size = None, key: Any = None, check_valid: bool = True
    ) -> jax.Array:
        """Boolean samples that are ``True`` with probability ``p``.

        With ``check_valid=True`` a ``p`` outside ``[0, 1]`` raises ``ValueError`` (a traced ``p`` when the
        compiled program runs).

        Examples
        --------
        >>> from brainstate_state.random import RandomState
        >>> RandomState(0).bernoulli(1.0, size=3).tolist()
        [True, True, True]
        """
        check_valid_param(lambda: _is_probability(p), p, _PROBABILITY, check_valid)
        p = jnp.asarray(p)
        return jax.random.bernoulli(self._draw_key(key), p, out_shape(size, p))

    def binomial(
        self, n: Any, p: Any, size: Size = None, key: Any = None, dtype: Any = None, check_valid: bool = True
    ) -> jax.Array:
        """Number of successes in ``n`` trials of probability ``p``.

        With ``check_valid=True`` a ``p`` outside ``[0, 1]`` or a negative concrete ``n`` raises
        ``ValueError``; ``check_valid=False`` skips both checks.

        Examples
        --------
        >>> from brainstate_state.random import RandomState
        >>> x = RandomState(0).binomial(10, 0.5, size=5)
        >>> bool(((x >= 0) & (x <= 10)).all())
        True
        """
        check_valid_param(lambda: _is_probability(p), p, _PROBABILITY, check_valid)
        if check_valid:
            check_param(lambda: jnp.asarray(n) >= 0, "n", n, "non-negative")
        dtype = int_dtype(dtype)
        draws = jax.random.binomial(
            self._draw_key(key),
            jnp.asarray(n, jnp.float32),
            jnp.asarray(p, jnp.float32),
            out_shape(size, n, p),
        )
        return draws.astype(dtype)

    def poisson(self, lam: Any = 1.0, size: Size = None, key: Any = None, dtype: Any = None) -> jax.Array:
        """Poisson samples with rate ``lam``.

        Examples
        --------
        >>> from brainstate_state.random import RandomState
        >>> bool((RandomState(0).poisson(3.0, size=5) >= 0).all())
        True
        """
        check_param(lambda: jnp.asarray(lam) >= 0, "lam", lam, "non-negative")
        dtype = int_dtype(dtype)
        return jax.random.poisson(self._draw_key(key), lam, out_shape(size, lam), dtype)

    def geometric(self, p: Any, size: Size = None, key: Any = None, dtype: Any = None) -> jax.Array:
        """Number of trials up to and including the first success (support ``1, 2, ...``).

        Examples
        --------
        >>> from brainstate_state.random import RandomState
        >>> bool((RandomState(0).geometric(0.3, size=5) >= 1).all())
        True
        """
        check_param(lambda: (jnp.asarray(p) > 0) & (jnp.asarray(p) <= 1), "p", p, "a probability in (0, 1]")
        dtype = int_dtype(dtype)
        u = jax.random.uniform(self._draw_key(key), out_shape(size, p))
        return jnp.ceil(jnp.log1p(-u) / jnp.log1p(-jnp.asarray(p, u.dtype))).astype(dtype)

    def negative_binomial(
        self, n: Any, p: Any, size: Size = None, key: Any = None, dtype: Any = None
    ) -> jax.Array:
        """Number of failures before the ``n``-th success (a Gamma-Poisson mixture).

        Examples
        --------
        >>> from brainstate_state.random import RandomState
        >>> bool((RandomState(0).negative_binomial(3, 0.5, size=5) >= 0).all())
        True
        """
        check_param(lambda: jnp.asarray(n) > 0, "n", n, "positive")
        check_param(lambda: (jnp.asarray(p) > 0) & (jnp.asarray(p) <= 1), "p", p, "a probability in (0, 1]")
        dtype = int_dtype(dtype)
        k1, k2 = self._draw_keys(key, 2)
        shape = out_shape(size, n, p)
        p = jnp.asarray(p, jnp.float32)
        rate = jax.random.gamma(k1, jnp.asarray(n, jnp.float32), shape) * (1 - p) / p
        return jax.random.poisson(k2, rate, shape, dtype)

    def multinomial(
        self,
        n: Any,
        pvals: Any,
        size: Size = None,
        key: Any = None,
        dtype: Any = None,
        check_valid: bool = True,
    ) -> jax.Array:
        """Counts of ``n`` draws over ``k = pvals.shape[-1]`` categories; the result has shape
        ``size + (k,)`` (``size`` defaults to ``pvals.shape[:-1]``).

        Each of the ``n`` draws picks the first category whose cumulative probability reaches a uniform
        number, as brainstate 0.5.4 does (same numbers); when ``pvals`` sums to less than 1, draws beyond
        the total are not counted. With ``check_valid=True`` a sum of ``pvals[..., :-1]`` above 1 (checked
        when the program runs if ``pvals`` is traced) or a negative concrete entry raises ``ValueError``.
        A traced or array ``n`` is drawn with ``jax.random.multinomial`` instead.

        Examples
        --------
        >>> from brainstate_state.random import RandomState
        >>> int(RandomState(0).multinomial(10, [0.2, 0.3, 0.5]).sum())
        10
        """
        pvals = jnp.asarray(pvals, jnp.float32)
        if check_valid:
            check_param(lambda: (pvals >= 0).all(), "pvals", pvals, "non-negative")
        check_valid_param(
            lambda: jnp.sum(pvals[..., :-1], axis=-1) <= 1,
            pvals,
            "The sum of pvals[..., :-1] must be at most 1 for every distribution",
            check_valid,
        )
        dtype = int_dtype(dtype)
        k = pvals.shape[-1]
        if isinstance(n, Tracer) or np.ndim(n) != 0:
            shape = None if size is None else (*size_tuple(size), k)
            counts = jax.random.multinomial(
                self._draw_key(key), jnp.asarray(n, jnp.float32), pvals, shape=shape
            )
            return counts.astype(dtype)  # type: ignore[no-any-return]
        if int(n) < 0:
            raise ValueError(f"Parameter 'n' must be a non-negative number of draws, got {n!r}.")
        batch = pvals.shape[:-1] if size is None else jnp.broadcast_shapes(size_tuple(size), pvals.shape[:-1])
        u = jax.random.uniform(self._draw_key(key), (int(n), *batch))
        picked = jnp.sum(jnp.cumsum(pvals, axis=-1) < u[..., None], axis=-1)
        return jax.nn.one_hot(picked, k, dtype=dtype).sum(axis=0, dtype=dtype)

    def hypergeometric(
        self, ngood: Any, nbad: Any, nsample: Any, size: Size = None, key: Any = None, dtype: Any = None
    ) -> jax.Array:
        """Number of good items among ``nsample`` drawn without replacement from ``ngood + nbad`` items.

        Drawn item by item (a loop of ``max(nsample)`` steps), so it suits moderate ``nsample``.

        Examples
        --------
        >>> from brainstate_state.random import RandomState
        >>> x = RandomState(0).hypergeometric(5, 5, 4, size=10)
        >>> bool(((x >= 0) & (x <= 4)).all())
        True
        """
        check_param(
            lambda: (jnp.asarray(ngood) >= 0) & (jnp.asarray(nbad) >= 0) & (jnp.asarray(nsample) >= 0),
            "ngood, nbad, nsample",
            (ngood, nbad, nsample),
            "non-negative",
        )
        check_param(
            lambda: jnp.asarray(nsample) <= jnp.asarray(ngood) + jnp.asarray(nbad),
            "nsample",
            nsample,
            "at most ngood + nbad",
        )
        # A concrete number of steps gives a fixed-length loop; a traced one a while loop.
        steps = int(np.max(np.asarray(nsample))) if concrete(nsample) else jnp.max(jnp.asarray(nsample))
        ngood, nbad, nsample = (jnp.asarray(v, jnp.int32) for v in (ngood, nbad, nsample))
        shape = out_shape(size, ngood, nbad, nsample)
        good, bad, todo = (jnp.broadcast_to(v, shape) for v in (ngood, nbad, nsample))
        dtype = int_dtype(dtype)
        base = self._draw_key(key)

        def step(i: Any, carry: tuple[Any, Any, Any]) -> tuple[Any, Any, Any]:
            good_left, bad_left, taken = carry
            u = jax.random.uniform(jax.random.fold_in(base, i), shape)
            active = i < todo
            pick_good = active & (u * (good_left + bad_left) < good_left)
            pick_bad = active & ~pick_good
            return good_left - pick_good, bad_left - pick_bad, taken + pick_good

        _, _, taken = jax.lax.fori_loop(0, steps, step, (good, bad, jnp.zeros(shape, jnp.int32)))
        return taken.astype(dtype)  # type: ignore[no-any-return]

    def logseries(self, p: Any, size: Size = None, key: Any = None, dtype: Any = None) -> jax.Array:
        """Logarithmic-series samples (support ``1, 2, ...``), by Kemp's second accelerated generator.

        Examples
        --------
        >>> from brainstate_state.random import RandomState
        >>> bool((RandomState(0).logseries(0.6, size=5) >= 1).all())
        True
        """
        check_param(lambda: (jnp.asarray(p) > 0) & (jnp.asarray(p) < 1), "p", p, "in (0, 1)")
        shape = out_shape(size, p)
        dtype = int_dtype(dtype)
        k1, k2 = jax.random.split(self._draw_key(key))
        p = jnp.asarray(p, jnp.float32)
        v = jax.random.uniform(k1, shape, minval=float(np.finfo(np.float32).tiny))
        u = jax.random.uniform(k2, shape)
        q = 1.0 - jnp.exp(jnp.log1p(-p) * u)
        many = jnp.floor(1.0 + jnp.log(v) / jnp.log(q))
        result = jnp.where(
            v >= p, 1.0, jnp.where(v <= q * q, jnp.maximum(many, 1.0), jnp.where(v >= q, 1.0, 2.0))
        )
        return result.astype(dtype)

    def zipf(self, a: Any, size: Size = None, key: Any = None, dtype: Any = None) -> jax.Array:
        """Zipf (zeta) samples with exponent ``a > 1``, by rejection sampling (Devroye).

        Examples
        --------
        >>> from brainstate_state.random import RandomState
        >>> bool((RandomState(0).zipf(2.0, size=5) >= 1).all())
        True
        """
        check_param(lambda: jnp.asarray(a) > 1, "a", a, "greater than 1")
        shape = out_shape(size, a)
        am1 = jnp.broadcast_to(jnp.asarray(a, jnp.float32) - 1.0, shape)
        b = jnp.power(2.0, am1)
        dtype = int_dtype(dtype)
        base = self._draw_key(key)

        def cond(carry: tuple[Any, Any, Any]) -> Any:
            return ~carry[1].all()

        def body(carry: tuple[Any, Any, Any]) -> tuple[Any, Any, Any]:
            i, done, out = carry[0], carry[1], carry[2]
            ku, kv = jax.random.split(jax.random.fold_in(base, i))
            u = 1.0 - jax.random.uniform(ku, shape)
            v = jax.random.uniform(kv, shape)
            x = jnp.floor(jnp.power(u, -1.0 / am1))
            t = jnp.power(1.0 + 1.0 / x, am1)
            accept = (x >= 1) & (v * x * (t - 1.0) / (b - 1.0) <= t / b) & (x < np.iinfo(np.int32).max)
            new = ~done & accept
            return (i + 1, done | accept, jnp.where(new, x, out))

        _, _, out = jax.lax.while_loop(cond, body, (0, jnp.zeros(shape, bool), jnp.ones(shape)))
        return out.astype(dtype)
