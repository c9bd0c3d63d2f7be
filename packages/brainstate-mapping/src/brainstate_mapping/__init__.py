"""brainstate-mapping: state-aware ``vmap``, ``vmap2``, ``pmap2``, ``shard_map``, ``map`` and vectorised State creation.

``vmap``/``vmap2`` trace the user function per lane on every eager call (only mapped values are traced;
unmapped arguments and States stay concrete, as with ``jax.vmap``), decide which States enter and leave
the mapped program on which axis, and run the compiled ``jax.vmap`` of the traced program from the shared
``brainstate_ir`` compiled-program cache. See :mod:`brainstate_mapping._plan` for the engine.
"""

from __future__ import annotations

from brainstate_ir import unvmap
from brainstate_state import register_library_dir

from ._map import map
from ._module_states import pmap2_new_states, vmap2_new_states
from ._new_states import in_new_state_probe, vmap_new_states
from ._pmap import pmap2
from ._shard_map import shard_map
from ._vmap import vmap
from ._vmap2 import StatefulMapping, vmap2

register_library_dir(__file__)

__version__ = "0.6.0"

__all__ = [
    "StatefulMapping",
    "in_new_state_probe",
    "map",
    "pmap2",
    "pmap2_new_states",
    "shard_map",
    "unvmap",
    "vmap",
    "vmap2",
    "vmap2_new_states",
    "vmap_new_states",
]
