"""Test setup for brainstate-mapping: 8 virtual CPU devices for the pmap2 / shard_map tests.

XLA reads ``--xla_force_host_platform_device_count`` when JAX initialises its backend, so the flag is set
here, before any test module imports jax. This package's tests run in their own process (nox session /
``pytest packages/brainstate-mapping/tests``), so no other package is affected.
"""

from __future__ import annotations

import os

_FLAG = "--xla_force_host_platform_device_count=8"
if "xla_force_host_platform_device_count" not in os.environ.get("XLA_FLAGS", ""):
    os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") + " " + _FLAG).strip()
