"""Power-law, extreme-value and bounded continuous distributions (methods of :class:`RandomState`):
Pareto, power, Rayleigh, Weibull, Maxwell, triangular.

Every method draws with ``key`` when given, otherwise with a key split from the random state. ``dtype``
defaults to ``environ.dftype()``; signatures follow ``numpy.random``.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from ._common import KeySource, Size, check_param, check_valid_param, float_dtype, out_shape, size_tuple

__all__ = ["PowerLawMixin"]


class PowerLawMixin(KeySource):
    """Power-law and extreme-value distributions; see :class:`brainstate_state.random.RandomState`."""

    # ------------------------------------------------------------------ power-law and extreme-value families
    def pareto(self, a: Any, size: Size = None, key: Any = None, dtype: Any = None) -> jax.Array:
        """Pareto samples with shape ``a`` and support ``[1, inf)`` (``jax.random.pareto``, as brainstate
        0.5.4; ``numpy.random.pareto`` draws the Lomax distribution, which is this minus 1).

        Examples
        --------
        >>> from brainstate_state.random import RandomState
        >>> bool((RandomState(0).pareto(3.0, size=5) >= 1).all())
        True
        """
        dtype = float_dtype(dtype)
        check_param(lambda: jnp.asarray(a) > 0, "a", a, "positive")
        return jax.random.pareto(self._draw_key(key), jnp.asarray(a, dtype), out_shape(size, a), dtype)

    def power(
        self, a: Any, size: Size = None, key: Any = None, dtype: Any = None, check_valid: bool = True
    ) -> jax.Array:
        """Samples in ``[0, 1]`` with density ``a x**(a-1)``.

        With ``check_valid=True`` a non-positive ``a`` raises ``ValueError`` (when the program runs, if
        traced).

        Examples
        --------
        >>> from brainstate_state.random import RandomState
        >>> x = RandomState(0).power(2.0, size=5)
        >>> bool(((x >= 0) & (x <= 1)).all())
        True
        """
        dtype = float_dtype(dtype)
        check_valid_param(lambda: jnp.asarray(a) > 0, a, "Parameter 'a' must be positive", check_valid)
        u = jax.random.uniform(self._draw_key(key), out_shape(size, a), dtype)
        return jnp.power(u, 1.0 / jnp.asarray(a, dtype))

    def rayleigh(self, scale: Any = 1.0, size: Size = None, key: Any = None, dtype: Any = None) -> jax.Array:
        """Rayleigh samples with scale ``scale``.

        Examples
        --------
        >>> from brainstate_state.random import RandomState
        >>> bool((RandomState(0).rayleigh(size=5) >= 0).all())
        True
        """
        dtype = float_dtype(dtype)
        check_param(lambda: jnp.asarray(scale) > 0, "scale", scale, "positive")
        return jax.random.rayleigh(
            self._draw_key(key), jnp.asarray(scale, dtype), out_shape(size, scale), dtype
        )

    def weibull(self, a: Any, size: Size = None, key: Any = None, dtype: Any = None) -> jax.Array:
        """Weibull samples with shape ``a`` and scale 1, as ``numpy.random.weibull``.

        Examples
        --------
        >>> from brainstate_state.random import RandomState
        >>> RandomState(0).weibull(1.5, size=3).shape
        (3,)
        """
        return self.weibull_min(a, None, size, key=key, dtype=dtype)

    def weibull_min(
        self, a: Any, scale: Any = None, size: Size = None, key: Any = None, dtype: Any = None
    ) -> jax.Array:
        """Weibull samples with shape (concentration) ``a`` and scale ``scale`` (default 1).

        Examples
        --------
        >>> from brainstate_state.random import RandomState
        >>> bool((RandomState(0).weibull_min(2.0, 3.0, size=5) >= 0).all())
        True
        """
        dtype = float_dtype(dtype)
        check_param(lambda: jnp.asarray(a) > 0, "a", a, "positive")
        scale = 1.0 if scale is None else scale
        check_param(lambda: jnp.asarray(scale) > 0, "scale", scale, "positive")
        return jax.random.weibull_min(
            self._draw_key(key),
            jnp.asarray(scale, dtype),
            jnp.asarray(a, dtype),
            out_shape(size, a, scale),
            dtype,
        )

    def maxwell(self, size: Size = None, key: Any = None, dtype: Any = None) -> jax.Array:
        """Maxwell-Boltzmann samples (scale 1).

        Examples
        --------
        >>> from brainstate_state.random import RandomState
        >>> RandomState(0).maxwell(3).shape
        (3,)
        """
        dtype = float_dtype(dtype)
        return jax.random.maxwell(self._draw_key(key), size_tuple(size), dtype)

    def triangular(
        self,
        left: Any = 0.0,
        mode: Any = 0.5,
        right: Any = 1.0,
        size: Size = None,
        key: Any = None,
        dtype: Any = None,
    ) -> jax.Array:
        """Triangular samples on ``[left, right]`` with peak at ``mode``.

        Examples
        --------
        >>> from brainstate_state.random import RandomState
        >>> x = RandomState(0).triangular(0.0, 0.5, 1.0, size=10)
        >>> bool(((x >= 0) & (x <= 1)).all())
        True
        """
        dtype = float_dtype(dtype)
        check_param(
            lambda: (
                (jnp.asarray(left) <= jnp.asarray(mode))
                & (jnp.asarray(mode) <= jnp.asarray(right))
                & (jnp.asarray(left) < jnp.asarray(right))
            ),
            "left, mode, right",
            (left, mode, right),
            "ordered as left <= mode <= right with left < right",
        )
        return jax.random.triangular(
            self._draw_key(key),
            jnp.asarray(left, dtype),
            jnp.asarray(mode, dtype),
            jnp.asarray(right, dtype),
            out_shape(size, left, mode, right),
            dtype,
        )
