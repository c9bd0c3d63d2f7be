"""``brainstate.random``: re-export of ``brainstate_state.random``."""

from __future__ import annotations

from brainstate_state.random import *  # noqa: F403
from brainstate_state.random import __all__ as __all__  # noqa: F401
