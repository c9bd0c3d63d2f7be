"""Test setup for brainstate-mapping: 8 virtual CPU devices for the pmap2 / shard_map tests.

XLA reads ``--xla_force_host_platform_device_count`` when JAX initialises its backend, so the flag is set
here, before any test module imports jax. This package's tests run in their own process (nox session /
``pytest packages/brainstate-mapping/tests``), so no other package is affected.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

_FLAG = "--xla_force_host_platform_device_count=8"
if "xla_force_host_platform_device_count" not in os.environ.get("XLA_FLAGS", ""):
    os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") + " " + _FLAG).strip()

from brainstate_state.testing import leak_checks  # noqa: E402 - after XLA_FLAGS is set


@pytest.fixture(autouse=True)
def _no_leaked_tracers(request: pytest.FixtureRequest) -> Iterator[None]:
    # A test module that only inspects jaxprs op by op may opt out of JAX's (slow) leak checker with
    # ``JAX_LEAK_CHECKS = False``; the State leak check always runs.
    with leak_checks(jax_leaks=getattr(request.module, "JAX_LEAK_CHECKS", True)):
        yield
