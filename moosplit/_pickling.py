"""Pickling for frozen dataclasses that hold read-only mappings (which do not pickle)."""

from __future__ import annotations

from dataclasses import fields
from types import MappingProxyType
from typing import Any


def _plain(value: Any) -> Any:
    return dict(value) if isinstance(value, MappingProxyType) else value


def _rebuild(cls: type, kwargs: dict[str, Any]) -> Any:
    return cls(**kwargs)


def reduce_through_init(obj: Any) -> tuple:
    """A `__reduce__` result that rebuilds `obj` from its fields, proxies passed as dicts.

    Used by frozen dataclasses whose `__post_init__` wraps mappings in MappingProxyType, so
    problems and profiles travel to worker processes (sweeps on executors).
    """
    kwargs = {f.name: _plain(getattr(obj, f.name)) for f in fields(obj) if f.init}
    return _rebuild, (type(obj), kwargs)


__all__ = ["reduce_through_init"]
