"""What happens to an undeclared State written with a per-lane (batched) value.

The policy is ``unexpected_out_state_mapping``: ``'raise'`` raises :class:`BatchAxisError`; ``'auto'``
and ``'warn'`` store the value with a new leading batch axis (``'warn'`` says so); ``'ignore'`` drops the
write. Under ``'auto'``/``'warn'`` a State whose leading size already equals the batch size and whose
per-lane write has its full shape (it would grow another axis on every call) is *promoted*: the engine
maps it in on axis 0 and traces again. A State this mapping batched before whose leading size no longer
matches the batch size gets a one-time ``UserWarning``.
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
    """Applies the policy for one mapping; remembers which States it batched (for the size warning)."""

    def __init__(self, policy: Policy, rules: StateAxisRules, name: str) -> None:
        if policy not in POLICIES:
            raise ValueError(
                f"unexpected_out_state_mapping must be one of {', '.join(map(repr, POLICIES))}; got {policy!r}."
            )
        self.policy: Policy = policy
        self.rules = rules
        self.name = name
        self.scattered: weakref.WeakSet[State[Any]] = weakref.WeakSet()
        self._warned: weakref.WeakSet[State[Any]] = weakref.WeakSet()

    def resolve(
        self,
        state: State[Any],
        lane_avals: list[Any],
        size: int,
        in_axis: int | None,
        new_promotions: set[int],
    ) -> Any:
        """The output axis (or ``DISCARD``) of the undeclared ``state`` written with a batched value.

        ``lane_avals`` are the per-lane written leaves and ``in_axis`` the State's input axis. A State
        that already carries the batch axis is added to ``new_promotions`` (policies auto and warn).
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
            warnings.warn(
                state_error_message(
                    f"{self.name} wrote a batched value into a State not covered by {self.rules.out_hint}; "
                    "it is stored with a new leading batch axis (axis 0).",
                    state,
                    f"declare it in {self.rules.out_hint} (and {self.rules.in_hint} if it is read) to silence "
                    "this warning.",
                ),
                UserWarning,
                stacklevel=4,
            )
        full = [leaf for leaf in jax.tree.leaves(peek_value(state))]
        grows = len(full) == len(lane_avals) and all(
            tuple(getattr(leaf, "shape", ())) == tuple(aval.shape)
            for leaf, aval in zip(full, lane_avals, strict=True)
        )
        if grows and in_axis is None and full:
            leading = {tuple(getattr(leaf, "shape", ()))[:1] for leaf in full}
            if leading == {(size,)}:
                new_promotions.add(id(state))
            elif state in self.scattered and state not in self._warned:
                self._warned.add(state)
                warnings.warn(
                    state_error_message(
                        f"{self.name} batched this State on an earlier call, but its leading size is now "
                        f"{sorted(leading)} while the batch size is {size}; it gains another batch axis.",
                        state,
                        f"declare it in {self.rules.in_hint} and {self.rules.out_hint}, or keep the batch size "
                        "constant.",
                    ),
                    UserWarning,
                    stacklevel=4,
                )
        return 0
