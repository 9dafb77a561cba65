"""Tools for testing backends: a conformance kit against the exhaustive reference, and
against heuristics beyond exhaustive's sizes; torch models for profiler tests
(:mod:`.torch_models`)."""

from .conformance import (
    ConformanceInstance,
    budgeted_instances,
    check_against_reference,
    conformance_instances,
    run_certificate_check,
)

__all__ = ["ConformanceInstance", "budgeted_instances", "check_against_reference",
           "conformance_instances", "run_certificate_check"]
