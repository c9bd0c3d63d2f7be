"""Every test of this package runs under leak checks: no State may be left holding a tracer, and JAX's own
leak checker (``jax.checking_leaks``) is on."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from brainstate_ir import compat
from brainstate_state.testing import leak_checks


@pytest.fixture(autouse=True)
def _no_leaked_tracers(request: pytest.FixtureRequest) -> Iterator[None]:
    # A test module that only inspects jaxprs op by op may opt out of JAX's (slow) leak checker with
    # ``JAX_LEAK_CHECKS = False``; the State leak check always runs.
    with leak_checks(jax_leaks=getattr(request.module, "JAX_LEAK_CHECKS", True)):
        yield


@pytest.fixture(autouse=True)
def _host_callbacks_finish_in_their_test() -> Iterator[None]:
    # On GPU and TPU a raw jax.jit returns before its host callbacks ran: a failed check would surface in
    # whichever test synchronises next. Waiting here makes it fail the test that dispatched it.
    yield
    try:
        compat.wait_for_host_callbacks()
    except Exception as e:  # pragma: no cover - only where dispatch is asynchronous (GPU, TPU)
        pytest.fail(f"a host callback dispatched by this test failed after the test returned: {e}")
