"""Tools for testing backends: a conformance kit against the exhaustive reference."""

from .conformance import (
    ConformanceInstance,
    check_against_reference,
    conformance_instances,
)

__all__ = ["ConformanceInstance", "check_against_reference", "conformance_instances"]
