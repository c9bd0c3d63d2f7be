"""``nn.Module``: the base class of stateful models (the base only; no layer zoo).

A Module is a graph :class:`~brainstate_state.graph.Node`: its States and sub-modules are found by walking
its attributes. Calling a module calls its :meth:`Module.update`. The brainstate transforms take modules
as plain callables (``jit(model)``).

Examples
--------
>>> import jax.numpy as jnp
>>> import brainstate_state as bss
>>> class Linear(bss.nn.Module):
...     def __init__(self, din, dout):
...         super().__init__()
...         self.w = bss.ParamState(jnp.ones((din, dout)))
...         self.b = bss.ParamState(jnp.zeros(dout))
...     def update(self, x):
...         return x @ self.w.value + self.b.value
>>> model = Linear(3, 1)
>>> model(jnp.ones((2, 3)))
Array([[3.],
       [3.]], dtype=float32)
>>> list(model.states(bss.ParamState))
[('b',), ('w',)]
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from ._state import ParamState
from ._trace import NewStateCatcher, catch_new_states
from .containers import Path
from .filters import Filter
from .graph import Node, iter_leaf, iter_node, nodes, states
from .graph._query import Hierarchy

__all__ = ["Module", "init_all_states", "reset_all_states"]

_ALL: Hierarchy = (0, 2**31 - 1)


def _dotted(path: Path) -> str:
    return ".".join(str(k) for k in path)


class Module(Node):
    """Base class of stateful models.

    Parameters
    ----------
    name
        An optional name, shown in reprs.

    Notes
    -----
    Subclasses define :meth:`update` (what calling the module does), and optionally :meth:`init_state`
    and :meth:`reset_state` for states that depend on a batch size or must be reset between trials.

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> import brainstate_state as bss
    >>> class Counter(bss.nn.Module):
    ...     def __init__(self):
    ...         super().__init__()
    ...         self.n = bss.State(jnp.array(0))
    ...     def update(self):
    ...         self.n.value += 1
    ...         return self.n.value
    >>> counter = Counter()
    >>> counter(), counter()
    (Array(1, dtype=int32, weak_type=True), Array(2, dtype=int32, weak_type=True))
    """

    def __init__(self, name: str | None = None) -> None:
        if name is not None and not isinstance(name, str):
            raise TypeError(
                f"Module name must be a string or None, but got {name!r} of type {type(name).__name__}."
            )
        self._name = name

    @property
    def name(self) -> str | None:
        """The module's name, or ``None``."""
        return self.__dict__.get("_name")

    @name.setter
    def name(self, name: str | None) -> None:
        self._name = name

    # ------------------------------------------------------------------ calling
    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """Call :meth:`update` with the same arguments."""
        return self.update(*args, **kwargs)

    def update(self, *args: Any, **kwargs: Any) -> Any:
        """What calling the module does; subclasses must define it (or override ``__call__``).

        Raises
        ------
        NotImplementedError
            Always, in the base class.
        """
        raise NotImplementedError(
            f"{type(self).__name__}.update() is not implemented: calling a Module calls its update() method. "
            f"How to fix: define `def update(self, ...)` in {type(self).__name__} (or override __call__)."
        )

    # ------------------------------------------------------------------ states and sub-modules
    def states(self, *filters: Filter, allowed_hierarchy: Hierarchy = _ALL) -> Any:
        """The live States of this module and its sub-modules, keyed by path tuples (sorted).

        See :func:`brainstate_state.graph.states`; with several filters, a tuple of FlattedDicts.
        """
        return states(self, *filters, allowed_hierarchy=allowed_hierarchy)

    def state_trees(self, *filters: Filter) -> Any:
        """The live States as NestedDicts (one per filter; one NestedDict without filters).

        Examples
        --------
        >>> import jax.numpy as jnp
        >>> import brainstate_state as bss
        >>> class M(bss.nn.Module):
        ...     def __init__(self):
        ...         super().__init__()
        ...         self.w = bss.ParamState(jnp.ones(1))
        >>> list(M().state_trees())
        ['w']
        """
        found = states(self, *filters)
        if isinstance(found, tuple):
            return tuple(flat.to_nest() for flat in found)
        return found.to_nest()

    def nodes(self, *filters: Filter, allowed_hierarchy: Hierarchy = _ALL) -> Any:
        """The graph nodes under this module (itself at path ``()``), keyed by path tuples."""
        return nodes(self, *filters, allowed_hierarchy=allowed_hierarchy)

    def named_children(self) -> Iterator[tuple[str, Module]]:
        """Yield ``(name, module)`` for the direct sub-modules (names like ``'encoder'`` or ``'layers.0'``).

        Examples
        --------
        >>> import brainstate_state as bss
        >>> class Net(bss.nn.Module):
        ...     def __init__(self):
        ...         super().__init__()
        ...         self.layers = [bss.nn.Module(), bss.nn.Module()]
        >>> [name for name, _ in Net().named_children()]
        ['layers.0', 'layers.1']
        """
        for path, node in iter_node(self, (1, 1)):
            if isinstance(node, Module):
                yield _dotted(path), node

    def children(self) -> Iterator[Module]:
        """Yield the direct sub-modules."""
        for _, child in self.named_children():
            yield child

    def named_modules(self) -> Iterator[tuple[str, Module]]:
        """Yield ``(name, module)`` for this module (name ``''``) and every sub-module, each once."""
        for path, node in iter_node(self):
            if isinstance(node, Module):
                yield _dotted(path), node

    def modules(self) -> Iterator[Module]:
        """Yield this module and every sub-module, each once (pre-order, sorted attribute order)."""
        for _, module in self.named_modules():
            yield module

    def named_parameters(self) -> Iterator[tuple[str, ParamState[Any]]]:
        """Yield ``(name, state)`` for every :class:`ParamState` (names like ``'layer.w'``).

        Examples
        --------
        >>> import jax.numpy as jnp
        >>> import brainstate_state as bss
        >>> class M(bss.nn.Module):
        ...     def __init__(self):
        ...         super().__init__()
        ...         self.w = bss.ParamState(jnp.ones(1))
        ...         self.h = bss.HiddenState(jnp.ones(1))
        >>> [name for name, _ in M().named_parameters()]
        ['w']
        """
        for path, state in iter_leaf(self):
            if isinstance(state, ParamState):
                yield _dotted(path), state

    def parameters(self) -> Iterator[ParamState[Any]]:
        """Yield every :class:`ParamState`, each once."""
        for _, state in self.named_parameters():
            yield state

    # ------------------------------------------------------------------ state initialisation
    def init_state(self, *args: Any, **kwargs: Any) -> None:
        """Create this module's own batch-dependent states (default: nothing)."""

    def reset_state(self, *args: Any, **kwargs: Any) -> None:
        """Reset this module's own states, e.g. between trials (default: nothing)."""

    def init_all_states(self, *args: Any, state_tag: str | None = None, **kwargs: Any) -> NewStateCatcher:
        """Call :meth:`init_state` on this module and every sub-module; see :func:`init_all_states`."""
        return init_all_states(self, *args, state_tag=state_tag, **kwargs)

    def reset_all_states(self, *args: Any, **kwargs: Any) -> None:
        """Call :meth:`reset_state` on this module and every sub-module; see :func:`reset_all_states`."""
        reset_all_states(self, *args, **kwargs)

    def _repr_fields(self) -> list[str]:
        return [f"name={self.name!r}"] if self.name is not None else []


def _check_module(module: Any, what: str) -> None:
    if not isinstance(module, Node):
        raise TypeError(f"{what} expects an nn.Module (or graph Node), but got {type(module).__name__}.")


def init_all_states(module: Any, *args: Any, state_tag: str | None = None, **kwargs: Any) -> NewStateCatcher:
    """Call ``init_state(*args, **kwargs)`` on every module of the graph, root first, each once.

    Every State created meanwhile is caught (and tagged with ``state_tag``).

    Returns
    -------
    NewStateCatcher
        The States created by the ``init_state`` calls.

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> import brainstate_state as bss
    >>> class Cell(bss.nn.Module):
    ...     def init_state(self, batch_size):
    ...         self.v = bss.HiddenState(jnp.zeros((batch_size, 2)))
    >>> cell = Cell()
    >>> catcher = init_all_states(cell, 4, state_tag='hidden')
    >>> len(catcher), cell.v.value.shape, cell.v.tag
    (1, (4, 2), 'hidden')
    """
    _check_module(module, "init_all_states")
    targets = [node for _, node in iter_node(module) if isinstance(node, Module)]
    with catch_new_states(state_tag) as catcher:
        for target in targets:
            target.init_state(*args, **kwargs)
    return catcher


def reset_all_states(module: Any, *args: Any, **kwargs: Any) -> None:
    """Call ``reset_state(*args, **kwargs)`` on every module of the graph, root first, each once.

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> import brainstate_state as bss
    >>> class Cell(bss.nn.Module):
    ...     def __init__(self):
    ...         super().__init__()
    ...         self.v = bss.HiddenState(jnp.ones(2))
    ...     def reset_state(self):
    ...         self.v.value = jnp.zeros(2)
    >>> cell = Cell()
    >>> reset_all_states(cell)
    >>> cell.v.value
    Array([0., 0.], dtype=float32)
    """
    _check_module(module, "reset_all_states")
    targets = [node for _, node in iter_node(module) if isinstance(node, Module)]
    for target in targets:
        target.reset_state(*args, **kwargs)
