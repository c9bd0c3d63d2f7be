"""The process-wide default stream ``DEFAULT`` and the module-level functions that act on it.

Every distribution function of :mod:`brainstate_state.random` (``randn``, ``uniform``, ...) is the bound
method of ``DEFAULT``: ``random.randn(3)`` is ``DEFAULT.randn(3)``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import jax
import numpy as np

from ._rng import RandomState

__all__ = [
    "DEFAULT",
    "clone_rng",
    "default_rng",
    "get_key",
    "get_key_data",
    "randint",
    "restore_key",
    "seed",
    "seed_context",
    "self_assign_multi_keys",
    "set_key",
    "split_key",
    "split_keys",
]

DEFAULT = RandomState()
"""The default random stream (seeded from OS entropy; its key is built lazily on first use)."""
DEFAULT.name = "random.DEFAULT"  # error messages then say which RNG is involved


def seed(seed_or_key: Any = None) -> None:
    """Re-seed ``DEFAULT``; an int seed also seeds NumPy's global generator (``numpy.random.seed``).

    Examples
    --------
    >>> from brainstate_state import random
    >>> random.seed(0)
    >>> a = random.randn(2)
    >>> random.seed(0)
    >>> bool((random.randn(2) == a).all())
    True
    """
    DEFAULT.seed(seed_or_key)
    if isinstance(seed_or_key, (int, np.integer)) and not isinstance(seed_or_key, bool):
        np.random.seed(int(seed_or_key) % 2**32)


def get_key() -> jax.Array:
    """The current key of ``DEFAULT`` (a read of the state).

    Examples
    --------
    >>> from brainstate_state import random
    >>> random.get_key().shape
    ()
    """
    return DEFAULT.value  # type: ignore[no-any-return]


def get_key_data() -> jax.Array:
    """The raw ``uint32`` data of the current key of ``DEFAULT``.

    Examples
    --------
    >>> from brainstate_state import random
    >>> random.seed(0)
    >>> random.get_key_data().tolist()
    [0, 0]
    """
    return jax.random.key_data(DEFAULT.value)


def randint(low: Any, high: Any = None, size: Any = None, key: Any = None, dtype: Any = None) -> jax.Array:
    """Integers in ``[low, high)`` (one bound: ``[0, low)``) drawn from ``DEFAULT``.

    Takes ``key`` before ``dtype``, whereas :meth:`RandomState.randint` takes ``dtype`` before ``key``
    (both as in brainstate 0.5.4).

    Examples
    --------
    >>> from brainstate_state import random
    >>> x = random.randint(0, 10, 5)
    >>> bool(((x >= 0) & (x < 10)).all())
    True
    """
    return DEFAULT.randint(low, high, size, dtype=dtype, key=key)


def set_key(seed_or_key: Any) -> None:
    """Replace the key of ``DEFAULT`` (an int seed, a typed key or ``uint32[2]`` key data).

    Unlike :func:`seed`, an int here does not seed NumPy's global generator.

    Examples
    --------
    >>> import jax
    >>> from brainstate_state import random
    >>> random.set_key(jax.random.key(7))
    """
    DEFAULT.set_key(seed_or_key)


def split_key(n: int | None = None, backup: bool = False) -> jax.Array:
    """A fresh key (or ``n`` keys) split from ``DEFAULT``; see :meth:`RandomState.split_key`.

    Examples
    --------
    >>> from brainstate_state import random
    >>> random.split_key(2).shape
    (2,)
    """
    return DEFAULT.split_key(n, backup)


def split_keys(n: int, backup: bool = False) -> jax.Array:
    """``n`` fresh keys split from ``DEFAULT``.

    Examples
    --------
    >>> from brainstate_state import random
    >>> random.split_keys(3).shape
    (3,)
    """
    return DEFAULT.split_keys(n, backup)


def restore_key() -> None:
    """Return ``DEFAULT`` to its backed-up key; see :meth:`RandomState.restore_key`.

    Examples
    --------
    >>> from brainstate_state import random
    >>> random.self_assign_multi_keys(2)
    >>> random.restore_key()
    """
    DEFAULT.restore_key()


def self_assign_multi_keys(n: int, backup: bool = True) -> None:
    """Give ``DEFAULT`` an array of ``n`` keys; see :meth:`RandomState.self_assign_multi_keys`.

    Examples
    --------
    >>> from brainstate_state import random
    >>> random.self_assign_multi_keys(3)
    >>> random.get_key().shape
    (3,)
    >>> random.restore_key()
    """
    DEFAULT.self_assign_multi_keys(n, backup)


@contextlib.contextmanager
def seed_context(seed_or_key: Any) -> Iterator[None]:
    """Seed ``DEFAULT`` inside a ``with`` block and restore its previous key (and backup) on exit.

    Examples
    --------
    >>> from brainstate_state import random
    >>> with random.seed_context(1):
    ...     a = random.rand(2)
    >>> with random.seed_context(1):
    ...     b = random.rand(2)
    >>> bool((a == b).all())
    True
    """
    previous_key, previous_backup = DEFAULT.value, DEFAULT._backup
    DEFAULT.seed(seed_or_key)
    try:
        yield
    finally:
        DEFAULT.value = previous_key
        DEFAULT._backup = previous_backup


def default_rng(seed_or_key: Any = None) -> RandomState:
    """``DEFAULT`` itself when ``seed_or_key`` is ``None``, else a new :class:`RandomState` from it.

    Examples
    --------
    >>> from brainstate_state import random
    >>> random.default_rng() is random.DEFAULT
    True
    >>> random.default_rng(3).randn(2).shape
    (2,)
    """
    return DEFAULT if seed_or_key is None else RandomState(seed_or_key)


def clone_rng(seed_or_key: Any = None, clone: bool = True) -> RandomState:
    """A new :class:`RandomState` from ``seed_or_key``; with ``None``, a clone of ``DEFAULT``
    (``clone=True``, which advances ``DEFAULT``) or ``DEFAULT`` itself (``clone=False``).

    Examples
    --------
    >>> from brainstate_state import random
    >>> random.clone_rng() is random.DEFAULT
    False
    >>> random.clone_rng(clone=False) is random.DEFAULT
    True
    """
    if seed_or_key is None:
        return DEFAULT.clone() if clone else DEFAULT
    return RandomState(seed_or_key)
