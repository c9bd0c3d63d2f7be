"""``brainstate.nn``: re-export of ``brainstate_state.nn``."""

from __future__ import annotations

from brainstate_state.nn import *  # noqa: F403
from brainstate_state.nn import __all__ as __all__  # noqa: F401
