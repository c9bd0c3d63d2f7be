"""Location-scale continuous distributions (methods of :class:`RandomState`): Gumbel, Laplace, logistic,
Cauchy, exponential.

Every method draws with ``key`` when given, otherwise with a key split from the random state. ``dtype``
defaults to ``environ.dftype()``; signatures follow ``numpy.random``.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from ._common import KeySource, Size, check_param, float_dtype, out_shape, size_tuple

__all__ = ["LocationScaleMixin"]


class LocationScaleMixin(KeySource):
    """Location-scale distributions; see :class:`brainstate_state.random.RandomState`."""

    # ------------------------------------------------------------------ location-scale families
    def _loc_scale(self, sampler: Any, loc: Any, scale: Any, size: Size, key: Any, dtype: Any) -> jax.Array:
        dtype = float_dtype(dtype)
        if scale is not None:
            check_param(lambda: jnp.asarray(scale) > 0, "scale", scale, "positive")
        x = sampler(self._draw_key(key), out_shape(size, loc, scale), dtype)
        if scale is not None:
            x = x * jnp.asarray(scale, dtype)
        if loc is not None:
            x = x + jnp.asarray(loc, dtype)
        return x  # type: ignore[no-any-return]

    def gumbel(
        self, loc: Any = None, scale: Any = None, size: Size = None, key: Any = None, dtype: Any = None
    ) -> jax.Array:
        """Gumbel samples (location ``loc``, scale ``scale``).

        Examples
        --------
        >>> from brainstate_state.random import RandomState
        >>> RandomState(0).gumbel(size=3).shape
        (3,)
        """
        return self._loc_scale(jax.random.gumbel, loc, scale, size, key, dtype)

    def laplace(
        self, loc: Any = None, scale: Any = None, size: Size = None, key: Any = None, dtype: Any = None
    ) -> jax.Array:
        """Laplace (double exponential) samples.

        Examples
        --------
        >>> from brainstate_state.random import RandomState
        >>> RandomState(0).laplace(0.0, 2.0, size=3).shape
        (3,)
        """
        return self._loc_scale(jax.random.laplace, loc, scale, size, key, dtype)

    def logistic(
        self, loc: Any = None, scale: Any = None, size: Size = None, key: Any = None, dtype: Any = None
    ) -> jax.Array:
        """Logistic samples.

        Examples
        --------
        >>> from brainstate_state.random import RandomState
        >>> RandomState(0).logistic(size=(2, 2)).shape
        (2, 2)
        """
        return self._loc_scale(jax.random.logistic, loc, scale, size, key, dtype)

    def standard_cauchy(self, size: Size = None, key: Any = None, dtype: Any = None) -> jax.Array:
        """Standard Cauchy samples.

        Examples
        --------
        >>> from brainstate_state.random import RandomState
        >>> RandomState(0).standard_cauchy(3).shape
        (3,)
        """
        dtype = float_dtype(dtype)
        return jax.random.cauchy(self._draw_key(key), size_tuple(size), dtype)

    def exponential(
        self, scale: Any = None, size: Size = None, key: Any = None, dtype: Any = None
    ) -> jax.Array:
        """Exponential samples with scale ``scale`` (mean; default 1).

        Examples
        --------
        >>> from brainstate_state.random import RandomState
        >>> bool((RandomState(0).exponential(2.0, size=5) >= 0).all())
        True
        """
        return self._loc_scale(jax.random.exponential, None, scale, size, key, dtype)

    def standard_exponential(self, size: Size = None, key: Any = None, dtype: Any = None) -> jax.Array:
        """Exponential samples with scale 1.

        Examples
        --------
        >>> from brainstate_state.random import RandomState
        >>> RandomState(0).standard_exponential(2).shape
        (2,)
        """
        dtype = float_dtype(dtype)
        return jax.random.exponential(self._draw_key(key), size_tuple(size), dtype)
