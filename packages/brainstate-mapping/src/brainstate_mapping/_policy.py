"""What happens to an undeclared State written with a per-lane (batched) value.

The policy is ``unexpected_out_state_mapping``: ``'raise'`` raises :class:`BatchAxisError`; ``'auto'``
and ``'warn'`` store the value with a new leading batch axis (``'warn'`` says so); ``'ignore'`` drops the
write. Under ``'auto'``/``'warn'`` a State whose leading size already equals the batch size and whose
per-lane write has its full shape (it would grow another axis on every call) is *promoted*: the engine
maps it in on axis 0 and traces again. Under ``'auto'``, a State scattered although its per-lane write has
its full shape (a read-modify-write buffer whose leading size is not the batch size) gets a one-time
``UserWarning``; ``'warn'`` warns once per State whenever it scatters.
"""

from __future__ import annotations

import warnings
import weakref
from typing import Any, Literal

import jax

from brainstate_state import BatchAxisError, State, peek_value, state_error_message

from ._state_axes import StateAxisRules

__all__ = ["DISCARD", "POLICIES", "Policy", "UndeclaredWrites"]

Policy = Literal["auto", "raise", "warn", "ignore"]
POLICIES = ("auto", "raise", "warn", "ignore")

#: Output axis of a write that is dropped (random keys, policy ``'ignore'``).
DISCARD: Any = object()


class UndeclaredWrites:
    """Applies the policy for one mapping; remembers which States it warned about (each warns once)."""

    def __init__(self, policy: Policy, rules: StateAxisRules, name: str) -> None:
        if policy not in POLICIES:
            raise ValueError(
                f"unexpected_out_state_mapping must be one of {', '.join(map(repr, POLICIES))}; got {policy!r}."
            )
        self.policy: Policy = policy
        self.rules = rules
        self.name = name
        self._warned: weakref.WeakSet[State[Any]] = weakref.WeakSet()

    @staticmethod
    def _grows(state: State[Any], lane_avals: list[Any]) -> bool:
        """Whether the per-lane write has the State's full shape (scattering it adds a new axis)."""
        full = jax.tree.leaves(peek_value(state))
        return (
            bool(full)
            and len(full) == len(lane_avals)
            and all(
                tuple(getattr(leaf, "shape", ())) == tuple(aval.shape)
                for leaf, aval in zip(full, lane_avals, strict=True)
            )
        )

    def promotes(self, state: State[Any], lane_avals: list[Any], size: int) -> bool:
        """Whether the undeclared ``state``, written with a batched value, should be mapped in on axis 0.

        It already carries the batch axis: its leading size is ``size`` and the per-lane write has its
        full shape (policies ``'auto'`` and ``'warn'``).
        """
        if self.policy not in ("auto", "warn") or not self._grows(state, lane_avals):
            return False
        leading = {tuple(getattr(leaf, "shape", ()))[:1] for leaf in jax.tree.leaves(peek_value(state))}
        return leading == {(size,)}

    def _warn_once(self, state: State[Any], message: str, fix: str) -> None:
        if state in self._warned:
            return
        self._warned.add(state)
        warnings.warn(state_error_message(message, state, fix), UserWarning, stacklevel=5)

    def resolve(self, state: State[Any], lane_avals: list[Any], size: int, promoted: bool = False) -> Any:
        """The output axis (or ``DISCARD``) of the undeclared ``state`` written with a batched value.

        ``lane_avals`` are the per-lane written leaves; ``promoted`` says the State was mapped in on axis 0.
        """
        if self.policy == "raise":
            raise BatchAxisError(
                state_error_message(
                    f"{self.name} wrote a batched value (different in each lane, batch axis 0) into a State "
                    f"that is not covered by {self.rules.out_hint}; its new value would be ambiguous.",
                    state,
                    f"declare the State as batched (e.g. {self.rules.out_hint}={{0: state}} or "
                    f"{self.rules.in_hint}=state for a per-lane State), or write a value that is the same for "
                    "every lane.",
                )
            )
        if self.policy == "ignore":
            return DISCARD
        if self.policy == "warn":
            self._warn_once(
                state,
                f"{self.name} wrote a batched value into a State not covered by {self.rules.out_hint}; "
                "it is stored with a leading batch axis (axis 0).",
                f"declare it in {self.rules.out_hint} (and {self.rules.in_hint} if it is read) to silence "
                "this warning.",
            )
        elif not promoted and self._grows(state, lane_avals):
            leading = sorted(
                {tuple(getattr(leaf, "shape", ()))[:1] for leaf in jax.tree.leaves(peek_value(state))}
            )
            current = (
                "none (a scalar)"
                if leading == [()]
                else ", ".join(str(s[0]) if s else "none" for s in leading)
            )
            self._warn_once(
                state,
                f"{self.name} wrote a batched value into a State not covered by {self.rules.in_hint}/"
                f"{self.rules.out_hint} under the 'auto' policy, and the State's current leading size "
                f"({current}) does not match the mapped size ({size}); it is scattered, which adds a new "
                "leading batch axis.",
                f"if it is a per-lane buffer, give it the mapped size as its leading axis, or declare it in "
                f"{self.rules.in_hint}/{self.rules.out_hint} to make the intent explicit.",
            )
        return 0
