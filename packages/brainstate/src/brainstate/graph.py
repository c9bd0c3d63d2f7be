"""``brainstate.graph``: re-export of ``brainstate_state.graph``."""

from __future__ import annotations

from brainstate_state.graph import *  # noqa: F403
from brainstate_state.graph import __all__ as __all__  # noqa: F401
