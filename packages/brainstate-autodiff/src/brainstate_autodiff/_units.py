"""The optional unit-aware path (``unit_aware=True``): brainunit's autograd, imported only when asked for.

brainunit is not a dependency of brainstate-autodiff; it comes with the extra ``[units]``.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

__all__ = ["is_quantity", "unit_transform"]

_INSTALL = "pip install brainstate-autodiff[units]"


def unit_transform(name: str) -> Callable[..., Any]:
    """``brainunit.autograd.<name>`` (``grad``, ``vector_grad``, ``jacrev``, ``jacfwd``, ``hessian``).

    Raises
    ------
    ImportError
        When brainunit is not installed, naming the extra that installs it.

    Examples
    --------
    >>> from brainstate_autodiff._units import unit_transform
    >>> try:
    ...     available = callable(unit_transform('grad'))
    ... except ImportError as err:  # brainunit is not installed: the error names the extra
    ...     available = 'brainstate-autodiff[units]' in str(err)
    >>> available
    True
    """
    try:
        autograd = importlib.import_module("brainunit.autograd")
    except ImportError as err:
        raise ImportError(
            f"unit_aware=True differentiates with brainunit, which is not installed. How to fix: "
            f"`{_INSTALL}` (or pip install brainunit), or use unit_aware=False."
        ) from err
    transform = getattr(autograd, name, None)
    if transform is None:
        raise ImportError(
            f"The installed brainunit has no autograd.{name}, which unit_aware=True needs. How to fix: "
            f"upgrade it with `{_INSTALL}`."
        )
    return transform  # type: ignore[no-any-return]


def is_quantity(x: Any) -> bool:
    """Whether ``x`` is a brainunit (saiunit) ``Quantity``: one value with a unit, a pytree leaf to us.

    Examples
    --------
    >>> from brainstate_autodiff._units import is_quantity
    >>> is_quantity(1.0)
    False
    """
    return type(x).__module__.split(".")[0] in ("brainunit", "saiunit")
