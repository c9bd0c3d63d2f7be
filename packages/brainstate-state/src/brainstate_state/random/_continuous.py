"""Continuous univariate distributions (methods of :class:`RandomState`).

Every method draws with ``key`` when given, otherwise with a key split from the random state (a write of
the state, see :meth:`RandomState.split_key`). ``dtype`` defaults to ``environ.dftype()``. Signatures follow
``numpy.random``: ``size`` is the output shape, or the broadcast shape of the parameters when ``None``.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax.scipy.special import erfinv, ndtr

from ._common import KeySource, Size, check_param, check_valid_param, float_dtype, out_shape, size_tuple

__all__ = ["ContinuousMixin"]


def _loc_within_two_scales(lower: Any, upper: Any, loc: Any, scale: Any) -> Any:
    lower, upper, loc, scale = (jnp.asarray(v) for v in (lower, upper, loc, scale))
    return (loc >= lower - 2 * scale) & (loc <= upper + 2 * scale)


class ContinuousMixin(KeySource):
    """Continuous distributions; see :class:`brainstate_state.random.RandomState`."""

    # ------------------------------------------------------------------ uniform and normal
    def rand(self, *dn: int, key: Any = None, dtype: Any = None) -> jax.Array:
        """Uniform samples in ``[0, 1)`` with shape ``dn``.

        Examples
        --------
        >>> from brainstate_state.random import RandomState
        >>> RandomState(0).rand(2, 3).shape
        (2, 3)
        """
        dtype = float_dtype(dtype)
        return jax.random.uniform(self._draw_key(key), tuple(dn), dtype)

    def randn(self, *dn: int, key: Any = None, dtype: Any = None) -> jax.Array:
        """Standard normal samples with shape ``dn``.

        Examples
        --------
        >>> from brainstate_state.random import RandomState
        >>> RandomState(0).randn(3).shape
        (3,)
        """
        dtype = float_dtype(dtype)
        return jax.random.normal(self._draw_key(key), tuple(dn), dtype)

    def random(self, size: Size = None, key: Any = None, dtype: Any = None) -> jax.Array:
        """Uniform samples in ``[0, 1)`` with shape ``size`` (``random_sample``, ``ranf``, ``sample`` alias it).

        Examples
        --------
        >>> from brainstate_state.random import RandomState
        >>> float(RandomState(0).random()) < 1.0
        True
        """
        dtype = float_dtype(dtype)
        return jax.random.uniform(self._draw_key(key), size_tuple(size), dtype)

    random_sample = random
    ranf = random
    sample = random

    def uniform(
        self, low: Any = 0.0, high: Any = 1.0, size: Size = None, key: Any = None, dtype: Any = None
    ) -> jax.Array:
        """Uniform samples in ``[low, high)``.

        Examples
        --------
        >>> from brainstate_state.random import RandomState
        >>> x = RandomState(0).uniform(2.0, 3.0, size=100)
        >>> bool((x >= 2).all() and (x < 3).all())
        True
        """
        dtype = float_dtype(dtype)
        shape = out_shape(size, low, high)
        low, high = jnp.asarray(low, dtype), jnp.asarray(high, dtype)
        return jax.random.uniform(self._draw_key(key), shape, dtype, minval=low, maxval=high)

    def normal(
        self, loc: Any = None, scale: Any = None, size: Size = None, key: Any = None, dtype: Any = None
    ) -> jax.Array:
        """Normal samples with mean ``loc`` (default 0) and standard deviation ``scale`` (default 1).

        Examples
        --------
        >>> from brainstate_state.random import RandomState
        >>> RandomState(0).normal(1.0, 0.5, size=(2, 2)).shape
        (2, 2)
        """
        dtype = float_dtype(dtype)
        if scale is not None:
            check_param(lambda: jnp.asarray(scale) >= 0, "scale", scale, "non-negative")
        z = jax.random.normal(self._draw_key(key), out_shape(size, loc, scale), dtype)
        if scale is not None:
            z = z * jnp.asarray(scale, dtype)
        if loc is not None:
            z = z + jnp.asarray(loc, dtype)
        return z

    def standard_normal(self, size: Size = None, key: Any = None, dtype: Any = None) -> jax.Array:
        """Standard normal samples with shape ``size``.

        Examples
        --------
        >>> from brainstate_state.random import RandomState
        >>> RandomState(0).standard_normal(4).shape
        (4,)
        """
        dtype = float_dtype(dtype)
        return jax.random.normal(self._draw_key(key), size_tuple(size), dtype)

    def truncated_normal(
        self,
        lower: Any,
        upper: Any,
        size: Size = None,
        loc: Any = 0.0,
        scale: Any = 1.0,
        key: Any = None,
        dtype: Any = None,
        check_valid: bool = True,
    ) -> jax.Array:
        """Normal(``loc``, ``scale``) samples truncated to ``[lower, upper]`` (bounds in data units).

        Drawn by inverting the normal CDF on a uniform number, as brainstate 0.5.4 does (same numbers).
        With ``check_valid=True`` a ``loc`` more than 2 ``scale`` outside ``[lower, upper]`` raises
        ``ValueError`` (when the program runs, if traced), as do a non-positive concrete ``scale`` and
        concrete bounds with ``lower >= upper``; ``check_valid=False`` skips every check.

        Examples
        --------
        >>> from brainstate_state.random import RandomState
        >>> x = RandomState(0).truncated_normal(-1.0, 1.0, size=50)
        >>> bool((abs(x) <= 1).all())
        True
        """
        dtype = float_dtype(dtype)
        if check_valid:
            check_param(lambda: jnp.asarray(scale) > 0, "scale", scale, "positive")
            check_param(lambda: jnp.asarray(lower) < jnp.asarray(upper), "lower", lower, "smaller than upper")
        check_valid_param(
            lambda: _loc_within_two_scales(lower, upper, loc, scale),
            loc,
            "truncated_normal: loc is more than 2 standard deviations (scale) outside [lower, upper], so the "
            "samples would not follow the distribution",
            check_valid,
        )
        loc, scale = jnp.asarray(loc, dtype), jnp.asarray(scale, dtype)
        a = (jnp.asarray(lower, dtype) - loc) / scale
        b = (jnp.asarray(upper, dtype) - loc) / scale
        u = jax.random.uniform(
            self._draw_key(key),
            out_shape(size, a, b, loc, scale),
            dtype,
            minval=2 * ndtr(a) - 1,
            maxval=2 * ndtr(b) - 1,
        )
        z = jnp.asarray(np.sqrt(2), dtype) * erfinv(u)
        z = jnp.clip(z, jnp.nextafter(a, np.inf), jnp.nextafter(b, -np.inf))
        return z * scale + loc  # type: ignore[no-any-return]

    def lognormal(
        self, mean: Any = None, sigma: Any = None, size: Size = None, key: Any = None, dtype: Any = None
    ) -> jax.Array:
        """``exp`` of Normal(``mean``, ``sigma``) samples.

        Examples
        --------
        >>> from brainstate_state.random import RandomState
        >>> bool((RandomState(0).lognormal(size=10) > 0).all())
        True
        """
        return jnp.exp(self.normal(mean, sigma, size, key=key, dtype=dtype))

    # ------------------------------------------------------------------ gamma family
    def gamma(
        self, shape: Any, scale: Any = None, size: Size = None, key: Any = None, dtype: Any = None
    ) -> jax.Array:
        """Gamma samples with shape ``shape`` and scale ``scale`` (default 1).

        Examples
        --------
        >>> from brainstate_state.random import RandomState
        >>> bool((RandomState(0).gamma(2.0, 3.0, size=5) > 0).all())
        True
        """
        dtype = float_dtype(dtype)
        check_param(lambda: jnp.asarray(shape) > 0, "shape", shape, "positive")
        g = jax.random.gamma(
            self._draw_key(key), jnp.asarray(shape, dtype), out_shape(size, shape, scale), dtype
        )
        return g if scale is None else g * jnp.asarray(scale, dtype)

    def standard_gamma(self, shape: Any, size: Size = None, key: Any = None, dtype: Any = None) -> jax.Array:
        """Gamma samples with scale 1.

        Examples
        --------
        >>> from brainstate_state.random import RandomState
        >>> RandomState(0).standard_gamma(0.5, size=3).shape
        (3,)
        """
        return self.gamma(shape, None, size, key=key, dtype=dtype)

    def loggamma(self, a: Any, size: Size = None, key: Any = None, dtype: Any = None) -> jax.Array:
        """``log`` of Gamma(``a``) samples, accurate for small ``a``.

        Examples
        --------
        >>> from brainstate_state.random import RandomState
        >>> RandomState(0).loggamma(0.1, size=3).shape
        (3,)
        """
        dtype = float_dtype(dtype)
        check_param(lambda: jnp.asarray(a) > 0, "a", a, "positive")
        return jax.random.loggamma(self._draw_key(key), jnp.asarray(a, dtype), out_shape(size, a), dtype)

    def beta(self, a: Any, b: Any, size: Size = None, key: Any = None, dtype: Any = None) -> jax.Array:
        """Beta(``a``, ``b``) samples in ``[0, 1]``.

        Examples
        --------
        >>> from brainstate_state.random import RandomState
        >>> x = RandomState(0).beta(2.0, 5.0, size=10)
        >>> bool(((x >= 0) & (x <= 1)).all())
        True
        """
        dtype = float_dtype(dtype)
        check_param(lambda: (jnp.asarray(a) > 0) & (jnp.asarray(b) > 0), "a, b", (a, b), "positive")
        return jax.random.beta(
            self._draw_key(key), jnp.asarray(a, dtype), jnp.asarray(b, dtype), out_shape(size, a, b), dtype
        )

    def chisquare(
        self, df: Any, size: Size = None, key: Any = None, dtype: Any = None, check_valid: bool = True
    ) -> jax.Array:
        """Chi-square samples with ``df`` degrees of freedom (``2 * gamma(df / 2)``, as brainstate 0.5.4).

        With ``check_valid=True`` a non-positive ``df`` raises ``ValueError`` (when the program runs, if
        traced).

        Examples
        --------
        >>> from brainstate_state.random import RandomState
        >>> RandomState(0).chisquare(3.0, size=4).shape
        (4,)
        """
        dtype = float_dtype(dtype)
        check_valid_param(lambda: jnp.asarray(df) > 0, df, "Parameter 'df' must be positive", check_valid)
        shape = jnp.asarray(df, dtype) / 2
        return 2 * jax.random.gamma(self._draw_key(key), shape, out_shape(size, df), dtype)

    def standard_t(self, df: Any, size: Size = None, key: Any = None, dtype: Any = None) -> jax.Array:
        """Student's t samples with ``df`` degrees of freedom (``t`` is an alias).

        Examples
        --------
        >>> from brainstate_state.random import RandomState
        >>> RandomState(0).standard_t(5.0, size=2).shape
        (2,)
        """
        dtype = float_dtype(dtype)
        check_param(lambda: jnp.asarray(df) > 0, "df", df, "positive")
        return jax.random.t(self._draw_key(key), jnp.asarray(df, dtype), out_shape(size, df), dtype)

    t = standard_t

    def f(self, dfnum: Any, dfden: Any, size: Size = None, key: Any = None, dtype: Any = None) -> jax.Array:
        """F-distribution samples: the ratio of two scaled chi-square draws (as brainstate 0.5.4).

        Examples
        --------
        >>> from brainstate_state.random import RandomState
        >>> bool((RandomState(0).f(3.0, 7.0, size=5) > 0).all())
        True
        """
        dtype = float_dtype(dtype)
        check_param(
            lambda: (jnp.asarray(dfnum) > 0) & (jnp.asarray(dfden) > 0),
            "dfnum, dfden",
            (dfnum, dfden),
            "positive",
        )
        k_num, k_den = jax.random.split(self._draw_key(key))
        shape = out_shape(size, dfnum, dfden)
        dfnum, dfden = jnp.asarray(dfnum, dtype), jnp.asarray(dfden, dtype)
        # (chi2(dfnum) / dfnum) / (chi2(dfden) / dfden), evaluated as num * dfden / (den * dfnum) with
        # num, den the two chi-square draws: this order is what makes the stream bit-equal to 0.5.4's.
        num = 2 * jax.random.gamma(k_num, dfnum / 2, shape, dtype)
        den = 2 * jax.random.gamma(k_den, dfden / 2, shape, dtype)
        return num * dfden / (den * dfnum)  # type: ignore[no-any-return]
