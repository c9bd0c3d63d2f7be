"""``RandomState``: a State holding a typed JAX PRNG key, with numpy-like distribution methods.

The stream advances by splitting (bit-compatible with brainstate 0.5.4):
``keys = jax.random.split(key, 2)``; the state keeps ``keys[0]`` and the draw uses ``keys[1]``. Splitting is
a *write* of the state, so inside brainstate transforms a RandomState that is drawn from is a written
state: its key enters the compiled program as an input and the advanced key comes out as an output.

Laziness: a RandomState created from an int seed or raw numpy key data keeps that description and only
builds the JAX key on first access, so creating the module-level ``DEFAULT`` (at import) does not start a
JAX backend. The key is built eagerly even when first accessed inside a trace
(``jax.ensure_compile_time_eval``), so no tracer is ever cached.
"""

from __future__ import annotations

import os
import threading
from typing import Any

import jax
import numpy as np

from .._errors import state_error_message
from .._jax_compat import Tracer
from .._state import State
from ._common import as_key, is_typed_key
from ._continuous import ContinuousMixin
from ._discrete import DiscreteMixin
from ._location_scale import LocationScaleMixin
from ._multivariate import MultivariateMixin
from ._power_law import PowerLawMixin

__all__ = ["RandomState"]

# One lock for every RandomState: splitting reads and writes the key, and two threads drawing from the same
# state (typically DEFAULT) must not both use the same key. Reentrant, since draws can nest (clone -> split).
_SPLIT_LOCK = threading.RLock()


class _PendingKey:
    """A key not built yet: an int seed or raw ``uint32[2]`` numpy key data."""

    __slots__ = ("data",)

    def __init__(self, data: int | np.ndarray) -> None:
        self.data = data

    def build(self) -> jax.Array:
        with jax.ensure_compile_time_eval():
            if isinstance(self.data, int):
                return jax.random.key(self.data)
            data = jax.numpy.asarray(self.data, jax.numpy.uint32)
            return jax.random.wrap_key_data(data)  # type: ignore[no-any-return]

    def __repr__(self) -> str:
        return f"<key not built yet: {self.data!r}>"


def _entropy_seed() -> np.ndarray:
    return np.frombuffer(os.urandom(8), dtype=np.uint32).copy()


def _to_key_or_pending(seed_or_key: Any) -> Any:
    """A typed key, a key tracer, or a :class:`_PendingKey`, from any accepted seed/key form."""
    if seed_or_key is None:
        return _PendingKey(_entropy_seed())
    if isinstance(seed_or_key, (bool, np.bool_)):
        raise TypeError("seed_or_key must be an int seed, a JAX key or uint32[2] key data, not a bool.")
    if isinstance(seed_or_key, (int, np.integer)):
        seed = int(seed_or_key)
        if not -(2**63) <= seed < 2**64:
            raise ValueError(f"An int seed must fit in 64 bits, got {seed}.")
        return _PendingKey(seed)
    if is_typed_key(seed_or_key):
        if seed_or_key.shape != ():
            raise ValueError(
                f"RandomState holds a single key, got a key array of shape {seed_or_key.shape}. "
                "How to fix: pass one key (keys[0]), or use self_assign_multi_keys() for per-lane keys."
            )
        return seed_or_key
    if isinstance(seed_or_key, np.ndarray) and seed_or_key.shape == (2,) and seed_or_key.dtype == np.uint32:
        return _PendingKey(seed_or_key.copy())
    if hasattr(seed_or_key, "shape") and hasattr(seed_or_key, "dtype"):
        shape, dtype = tuple(seed_or_key.shape), np.dtype(seed_or_key.dtype)
        if shape == () and np.issubdtype(dtype, np.integer):
            if isinstance(seed_or_key, Tracer):
                return jax.random.key(seed_or_key)
            return _PendingKey(int(seed_or_key))
        if shape == (2,) and dtype == np.uint32:
            return as_key(seed_or_key)
    raise TypeError(
        "seed_or_key must be None, an int seed, a typed JAX key (jax.random.key(seed)) or uint32[2] key data "
        f"(jax.random.PRNGKey(seed)); got {type(seed_or_key).__name__} "
        f"{getattr(seed_or_key, 'shape', '')} {getattr(seed_or_key, 'dtype', '')}".rstrip()
        + "."
    )


class RandomState(
    State[Any], ContinuousMixin, LocationScaleMixin, PowerLawMixin, DiscreteMixin, MultivariateMixin
):
    """A pseudo-random number stream stored as a State (a typed JAX key).

    Parameters
    ----------
    seed_or_key
        An int seed, a typed key (``jax.random.key(seed)``), raw ``uint32[2]`` key data
        (``jax.random.PRNGKey(seed)``), or ``None`` for a seed from the operating system's entropy.

    Notes
    -----
    Each draw (``randn``, ``uniform``, ...) uses its ``key=`` argument if given, otherwise a key split from
    this state (:meth:`split_key`), which advances the stream. Drawing is thread-safe.

    Examples
    --------
    >>> from brainstate_state.random import RandomState
    >>> rng = RandomState(42)
    >>> a = rng.randn(3)
    >>> rng.seed(42)
    >>> bool((rng.randn(3) == a).all())
    True
    """

    # Class-level default so that instances rebuilt without __init__ (TreefyState.to_state) have it too.
    _backup: Any = None

    def __init__(self, seed_or_key: Any = None) -> None:
        super().__init__(_to_key_or_pending(seed_or_key))

    # The base State reads and writes ``self._value``; here it is a property whose backing slot is the
    # instance dict entry of the same name, so that the key is built on first access.
    @property
    def _value(self) -> Any:
        raw = self.__dict__["_value"]
        if type(raw) is _PendingKey:
            with _SPLIT_LOCK:
                raw = self.__dict__["_value"]
                if type(raw) is _PendingKey:
                    raw = raw.build()
                    self.__dict__["_value"] = raw
        return raw

    @_value.setter
    def _value(self, value: Any) -> None:
        self.__dict__["_value"] = value

    # ------------------------------------------------------------------ seeding and keys
    def seed(self, seed_or_key: Any = None) -> None:
        """Restart the stream from ``seed_or_key`` (``None``: fresh entropy). This is a write of the state.

        Examples
        --------
        >>> from brainstate_state.random import RandomState
        >>> rng = RandomState(0)
        >>> rng.seed(1)
        >>> rng.value.dtype
        key<fry>
        """
        new = _to_key_or_pending(seed_or_key)
        self.value = new.build() if type(new) is _PendingKey else new

    def set_key(self, seed_or_key: Any) -> None:
        """Replace the key (an int seed, a typed key or ``uint32[2]`` key data). This is a write of the state.

        Examples
        --------
        >>> import jax
        >>> from brainstate_state.random import RandomState
        >>> rng = RandomState(0)
        >>> rng.set_key(jax.random.key(3))
        >>> bool((jax.random.key_data(rng.value) == jax.random.key_data(jax.random.key(3))).all())
        True
        """
        if isinstance(seed_or_key, (int, np.integer)) and not isinstance(seed_or_key, bool):
            self.seed(seed_or_key)
            return
        try:
            self.value = as_key(seed_or_key)
        except TypeError as exc:
            raise TypeError(state_error_message(str(exc), self)) from None

    def split_key(self, n: int | None = None, backup: bool = False) -> jax.Array:
        """Advance the stream and return one fresh key (``n=None``) or an array of ``n`` keys.

        ``keys = jax.random.split(key, 2 if n is None else n + 1)``; the state keeps ``keys[0]``. With
        ``backup=True`` the current key is saved first (see :meth:`backup_key`).

        Examples
        --------
        >>> from brainstate_state.random import RandomState
        >>> rng = RandomState(0)
        >>> rng.split_key().shape, rng.split_key(3).shape
        ((), (3,))
        """
        if n is not None and (isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1):
            raise ValueError(f"n must be None or a positive int (the number of keys), got {n!r}.")
        with _SPLIT_LOCK:
            if backup:
                self.backup_key()
            keys = jax.random.split(self.value, 2 if n is None else int(n) + 1)
            self.value = keys[0]
        return keys[1] if n is None else keys[1:]

    def split_keys(self, n: int, backup: bool = False) -> jax.Array:
        """``n`` fresh keys (an array of shape ``(n,)``); see :meth:`split_key`.

        Examples
        --------
        >>> from brainstate_state.random import RandomState
        >>> RandomState(0).split_keys(4).shape
        (4,)
        """
        return self.split_key(n, backup)

    def backup_key(self) -> None:
        """Save the current key so that :meth:`restore_key` can return to it.

        Raises
        ------
        ValueError
            If a backup is already saved and not restored yet.

        Examples
        --------
        >>> from brainstate_state.random import RandomState
        >>> rng = RandomState(0)
        >>> rng.backup_key(); a = rng.randn(2); rng.restore_key()
        >>> bool((rng.randn(2) == a).all())
        True
        """
        if self._backup is not None:
            raise ValueError(
                state_error_message(
                    "backup_key() was called while a previous backup is still saved.",
                    self,
                    "call restore_key() before taking another backup.",
                )
            )
        self._backup = self.value

    def restore_key(self) -> None:
        """Go back to the key saved by :meth:`backup_key` (or :meth:`self_assign_multi_keys`) and forget it.

        Raises
        ------
        ValueError
            If no backup is saved.

        Examples
        --------
        >>> from brainstate_state.random import RandomState
        >>> rng = RandomState(0)
        >>> rng.split_key(backup=True).shape
        ()
        >>> rng.restore_key()
        """
        if self._backup is None:
            raise ValueError(
                state_error_message(
                    "restore_key() was called but no key was backed up.",
                    self,
                    "call backup_key() (or split_key(backup=True)) first.",
                )
            )
        backup, self._backup = self._backup, None
        self.value = backup

    def self_assign_multi_keys(self, n: int, backup: bool = True) -> None:
        """Replace the key by ``jax.random.split(key, n)``, an array of ``n`` keys (e.g. one per vmap lane).

        With ``backup=True`` the current key is saved first, and :meth:`restore_key` returns the state to
        it afterwards (the stream then continues as if the call had not happened).

        Examples
        --------
        >>> from brainstate_state.random import RandomState
        >>> rng = RandomState(0)
        >>> rng.self_assign_multi_keys(4)
        >>> rng.value.shape
        (4,)
        >>> rng.restore_key(); rng.value.shape
        ()
        """
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
            raise ValueError(f"n must be a positive int (the number of keys), got {n!r}.")
        with _SPLIT_LOCK:
            if backup:
                if self._backup is not None:
                    raise ValueError(
                        state_error_message(
                            "self_assign_multi_keys(backup=True) found a backup already saved.",
                            self,
                            "call restore_key() first.",
                        )
                    )
                self._backup = self.value
            self.value = jax.random.split(self.value, int(n))

    def clone(self) -> RandomState:
        """An independent RandomState seeded from a key split off this one (advances this stream).

        Examples
        --------
        >>> from brainstate_state.random import RandomState
        >>> rng = RandomState(0)
        >>> other = rng.clone()
        >>> other is rng
        False
        """
        return type(self)(self.split_key())

    def __repr__(self) -> str:
        raw = self.__dict__.get("_value")
        shown = raw if type(raw) is _PendingKey else self._value
        name = f", name={self.name!r}" if self.name is not None else ""
        return f"{type(self).__name__}({shown!r}{name})"


RandomState.__module__ = "brainstate_state.random"
