"""brainstate-control: state-aware control flow over JAX.

Conditionals (``cond``, ``switch``, ``ifelse``), while loops (``while_loop``, ``bounded_while_loop``), scans
and for loops (``scan``, ``for_loop`` and their ``checkpointed_`` variants) and a ``ProgressBar`` for
compiled loops. The user functions may read and write any ``State``: written States flow through the JAX
primitive and hold their new values afterwards, read-only States enter the compiled program once as
inputs. Calls made outside any trace run the user functions' Python again (so they see the current
attributes and globals) and reuse one compiled executable per distinct program (see ``eager_cache_info``).
"""

from __future__ import annotations

from brainstate_state import register_library_dir

from ._checkpointed import checkpointed_for_loop, checkpointed_scan
from ._conditionals import cond, ifelse, switch
from ._eager_cache import eager_cache_clear, eager_cache_info
from ._progress import ProgressBar
from ._scan import for_loop, scan
from ._while import bounded_while_loop, while_loop

register_library_dir(__file__)

__version__ = "0.6.0"

__all__: list[str] = [
    "ProgressBar",
    "bounded_while_loop",
    "checkpointed_for_loop",
    "checkpointed_scan",
    "cond",
    "eager_cache_clear",
    "eager_cache_info",
    "for_loop",
    "ifelse",
    "scan",
    "switch",
    "while_loop",
]
