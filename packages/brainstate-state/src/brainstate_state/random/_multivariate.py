"""Multivariate and composite distributions, and the ``*_like`` helpers (methods of :class:`RandomState`)."""

from __future__ import annotations

import math
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from ._common import KeySource, Size, check_param, float_dtype, int_dtype, out_shape, size_tuple

__all__ = ["MultivariateMixin"]


class MultivariateMixin(KeySource):
    """Multivariate and composite distributions; see :class:`brainstate_state.random.RandomState`."""

    def multivariate_normal(
        self,
        mean: Any,
        cov: Any,
        size: Size = None,
        method: str = "cholesky",
        key: Any = None,
        dtype: Any = None,
    ) -> jax.Array:
        """Samples of a multivariate normal; the result has shape ``size + mean.shape[-1:]``.

        ``method`` is ``'cholesky'``, ``'eigh'`` or ``'svd'`` (how ``cov`` is factorised).

        Examples
        --------
        >>> import jax.numpy as jnp
        >>> from brainstate_state.random import RandomState
        >>> RandomState(0).multivariate_normal(jnp.zeros(2), jnp.eye(2), size=5).shape
        (5, 2)
        """
        if method not in ("cholesky", "eigh", "svd"):
            raise ValueError(f"method must be one of ['cholesky', 'eigh', 'svd'], got {method!r}.")
        dtype = float_dtype(dtype)
        mean, cov = jnp.asarray(mean, dtype), jnp.asarray(cov, dtype)
        if mean.ndim < 1 or cov.shape[-2:] != (mean.shape[-1], mean.shape[-1]):
            raise ValueError(
                f"cov must have shape (..., {mean.shape[-1:]}, {mean.shape[-1:]}) matching mean {mean.shape}, "
                f"got {cov.shape}."
            )
        shape = None if size is None else size_tuple(size)
        return jax.random.multivariate_normal(self._draw_key(key), mean, cov, shape, dtype, method)

    def dirichlet(self, alpha: Any, size: Size = None, key: Any = None, dtype: Any = None) -> jax.Array:
        """Dirichlet samples (probability vectors) with concentration ``alpha``; shape ``size + (k,)``.

        Examples
        --------
        >>> from brainstate_state.random import RandomState
        >>> x = RandomState(0).dirichlet([1.0, 2.0, 3.0], size=4)
        >>> x.shape, bool(abs(x.sum(-1) - 1).max() < 1e-5)
        ((4, 3), True)
        """
        dtype = float_dtype(dtype)
        check_param(lambda: jnp.asarray(alpha) > 0, "alpha", alpha, "positive")
        alpha = jnp.asarray(alpha, dtype)
        shape = None if size is None else size_tuple(size)
        return jax.random.dirichlet(self._draw_key(key), alpha, shape, dtype)

    def orthogonal(self, n: int, size: Size = None, key: Any = None, dtype: Any = None) -> jax.Array:
        """Random ``n x n`` orthogonal matrices (Haar distributed); shape ``size + (n, n)``.

        Examples
        --------
        >>> import jax.numpy as jnp
        >>> from brainstate_state.random import RandomState
        >>> q = RandomState(0).orthogonal(3)
        >>> bool(jnp.allclose(q @ q.T, jnp.eye(3), atol=1e-5))
        True
        """
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise ValueError(f"n must be a positive int, got {n!r}.")
        dtype = float_dtype(dtype)
        return jax.random.orthogonal(self._draw_key(key), n, size_tuple(size), dtype)

    def noncentral_chisquare(
        self, df: Any, nonc: Any, size: Size = None, key: Any = None, dtype: Any = None
    ) -> jax.Array:
        """Noncentral chi-square samples (numpy's method: a central chi-square plus a squared shifted normal
        where ``df > 1``, a Poisson mixture of central chi-squares elsewhere).

        Examples
        --------
        >>> from brainstate_state.random import RandomState
        >>> bool((RandomState(0).noncentral_chisquare(3.0, 2.0, size=5) >= 0).all())
        True
        """
        dtype = float_dtype(dtype)
        check_param(lambda: jnp.asarray(df) > 0, "df", df, "positive")
        check_param(lambda: jnp.asarray(nonc) >= 0, "nonc", nonc, "non-negative")
        shape = out_shape(size, df, nonc)
        k_poisson, k_normal, k_gamma = self._draw_keys(key, 3)
        df_a, nonc_a = jnp.asarray(df, dtype), jnp.asarray(nonc, dtype)
        i = jax.random.poisson(k_poisson, nonc_a / 2, shape)
        mixture = 2 * jax.random.gamma(k_gamma, df_a / 2 + i, shape, dtype)
        shifted = jax.random.normal(k_normal, shape, dtype) + jnp.sqrt(nonc_a)
        large_df = 2 * jax.random.gamma(k_gamma, (df_a - 1) / 2, shape, dtype) + shifted * shifted
        return jnp.where(df_a > 1, large_df, mixture)

    def noncentral_f(
        self, dfnum: Any, dfden: Any, nonc: Any, size: Size = None, key: Any = None, dtype: Any = None
    ) -> jax.Array:
        """Noncentral F samples.

        Examples
        --------
        >>> from brainstate_state.random import RandomState
        >>> bool((RandomState(0).noncentral_f(3.0, 5.0, 1.0, size=5) >= 0).all())
        True
        """
        dtype = float_dtype(dtype)
        check_param(lambda: jnp.asarray(dfden) > 0, "dfden", dfden, "positive")
        shape = out_shape(size, dfnum, dfden, nonc)
        k1, k2 = jax.random.split(self._draw_key(key))
        num = self.noncentral_chisquare(dfnum, nonc, shape, key=k1, dtype=dtype) / jnp.asarray(dfnum, dtype)
        den = jax.random.chisquare(k2, jnp.asarray(dfden, dtype), shape, dtype) / jnp.asarray(dfden, dtype)
        return num / den

    def wald(self, mean: Any, scale: Any, size: Size = None, key: Any = None, dtype: Any = None) -> jax.Array:
        """Wald (inverse Gaussian) samples with mean ``mean`` and shape ``scale``, as ``numpy.random.wald``.

        Examples
        --------
        >>> from brainstate_state.random import RandomState
        >>> bool((RandomState(0).wald(1.0, 2.0, size=5) > 0).all())
        True
        """
        dtype = float_dtype(dtype)
        check_param(
            lambda: (jnp.asarray(mean) > 0) & (jnp.asarray(scale) > 0),
            "mean, scale",
            (mean, scale),
            "positive",
        )
        shape = out_shape(size, mean, scale)
        k1, k2 = jax.random.split(self._draw_key(key))
        mu, lam = jnp.asarray(mean, dtype), jnp.asarray(scale, dtype)
        y = jnp.square(jax.random.normal(k1, shape, dtype))
        u = jax.random.uniform(k2, shape, dtype)
        # The smaller root x = mu + mu*w*(1 - sqrt(2/w + 1)), w = mu*y / (2*lam), rewritten without the
        # cancellation for large w: x = mu * sqrt1pm1(2/w) / (1 + sqrt(2/w + 1)); x -> mu where 2/w overflows.
        two_over_w = 4 * lam / (mu * y)
        finite = two_over_w < np.inf
        safe = jnp.where(finite, two_over_w, 1.0)
        ratio = jnp.expm1(0.5 * jnp.log1p(safe)) / (1.0 + jnp.sqrt(safe + 1.0))
        x = mu * jnp.where(finite, ratio, 1.0)
        return jnp.where(u <= mu / (mu + x), x, jnp.square(mu) / x)

    def vonmises(
        self, mu: Any, kappa: Any, size: Size = None, key: Any = None, dtype: Any = None
    ) -> jax.Array:
        """Von Mises samples on ``[-pi, pi)`` with mode ``mu`` and concentration ``kappa``
        (Best and Fisher's rejection algorithm).

        Examples
        --------
        >>> import math
        >>> from brainstate_state.random import RandomState
        >>> x = RandomState(0).vonmises(0.0, 4.0, size=10)
        >>> bool(((x >= -math.pi) & (x < math.pi)).all())
        True
        """
        dtype = float_dtype(dtype)
        check_param(lambda: jnp.asarray(kappa) >= 0, "kappa", kappa, "non-negative")
        shape = out_shape(size, mu, kappa)
        kappa_a = jnp.broadcast_to(jnp.asarray(kappa, jnp.float32), shape)
        tiny = kappa_a < 1e-6
        k = jnp.where(tiny, 1.0, kappa_a)
        tau = 1 + jnp.sqrt(1 + 4 * k * k)
        rho = (tau - jnp.sqrt(2 * tau)) / (2 * k)
        r = (1 + rho * rho) / (2 * rho)
        base, flat_key = jax.random.split(self._draw_key(key))

        def body(carry: tuple[Any, Any, Any]) -> tuple[Any, Any, Any]:
            i, done, out = carry
            k1, k2, k3 = jax.random.split(jax.random.fold_in(base, i), 3)
            z = jnp.cos(math.pi * jax.random.uniform(k1, shape))
            f = (1 + r * z) / (r + z)
            c = k * (r - f)
            u2 = jax.random.uniform(k2, shape, minval=float(np.finfo(np.float32).tiny))
            accept = (c * (2 - c) - u2 > 0) | (jnp.log(c / u2) + 1 - c >= 0)
            sign = jnp.where(jax.random.uniform(k3, shape) < 0.5, -1.0, 1.0)
            theta = sign * jnp.arccos(jnp.clip(f, -1.0, 1.0))
            new = ~done & accept
            return i + 1, done | accept, jnp.where(new, theta, out)

        _, _, theta = jax.lax.while_loop(
            lambda c: ~c[1].all(), body, (0, jnp.zeros(shape, bool), jnp.zeros(shape))
        )
        uniform = jax.random.uniform(flat_key, shape, minval=-math.pi, maxval=math.pi)
        theta = jnp.where(tiny, uniform, theta) + jnp.asarray(mu, jnp.float32)
        return (jnp.mod(theta + math.pi, 2 * math.pi) - math.pi).astype(dtype)

    # ------------------------------------------------------------------ *_like
    def rand_like(self, input: Any, dtype: Any = None, key: Any = None) -> jax.Array:  # noqa: A002
        """Uniform ``[0, 1)`` samples with the shape of ``input`` (dtype: ``dtype``, else ``input``'s if
        floating, else the default float).

        Examples
        --------
        >>> import jax.numpy as jnp
        >>> from brainstate_state.random import RandomState
        >>> RandomState(0).rand_like(jnp.zeros((2, 3))).shape
        (2, 3)
        """
        dtype = _like_float(input, dtype)
        return jax.random.uniform(self._draw_key(key), jnp.shape(input), dtype)

    def randn_like(self, input: Any, dtype: Any = None, key: Any = None) -> jax.Array:  # noqa: A002
        """Standard normal samples with the shape of ``input`` (dtype as in :meth:`rand_like`).

        Examples
        --------
        >>> import jax.numpy as jnp
        >>> from brainstate_state.random import RandomState
        >>> RandomState(0).randn_like(jnp.zeros(4)).shape
        (4,)
        """
        dtype = _like_float(input, dtype)
        return jax.random.normal(self._draw_key(key), jnp.shape(input), dtype)

    def randint_like(
        self,
        input: Any,
        low: Any = 0,
        high: Any = None,
        dtype: Any = None,
        key: Any = None,
    ) -> jax.Array:
        """Integers in ``[low, high)`` (one bound: ``[0, low)``) with the shape of ``input``.

        The dtype is ``dtype``, else ``input``'s (a floating ``input`` gives whole numbers of its float
        dtype, as ``torch.randint_like`` and brainstate 0.5.4 do), else the default int.

        Examples
        --------
        >>> import jax.numpy as jnp
        >>> from brainstate_state.random import RandomState
        >>> x = RandomState(0).randint_like(jnp.zeros(5, jnp.int32), 3)
        >>> x.shape, bool((x < 3).all())
        ((5,), True)
        """
        if high is None:
            low, high = 0, low
        check_param(lambda: jnp.asarray(low) < jnp.asarray(high), "low", low, f"smaller than high={high!r}")
        out_dtype = None
        if dtype is None:
            in_dtype = jnp.result_type(input)
            if jnp.issubdtype(in_dtype, jnp.integer):
                dtype = in_dtype
            elif jnp.issubdtype(in_dtype, jnp.floating):
                out_dtype = in_dtype
        dtype = int_dtype(dtype)
        draws = jax.random.randint(self._draw_key(key), jnp.shape(input), low, high, dtype)
        return draws if out_dtype is None else draws.astype(out_dtype)


def _like_float(input: Any, dtype: Any) -> Any:  # noqa: A002
    if dtype is None:
        in_dtype = jnp.result_type(input)
        if jnp.issubdtype(in_dtype, jnp.floating):
            return in_dtype
    return float_dtype(dtype)
