"""``brainstate.environ``: re-export of ``brainstate_state.environ``."""

from __future__ import annotations

from brainstate_state.environ import *  # noqa: F403
from brainstate_state.environ import __all__ as __all__  # noqa: F401
