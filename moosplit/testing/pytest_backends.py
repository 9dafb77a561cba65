"""Pytest classes that run the conformance kit on a backend (needs pytest).

    from moosplit.testing.pytest_backends import BackendConformance, CertificateConformance

    class TestMyBackend(BackendConformance):
        solver = "my_backend"
        options = {"resolution": 0.05}

    class TestMyBackendCertificate(CertificateConformance):  # exact backends
        solver = "my_backend"
        options = {"resolution": 0.05}
"""

from __future__ import annotations

from typing import Any, ClassVar

import pytest

from .conformance import (
    budgeted_instances,
    conformance_instances,
    run_certificate_check,
    run_conformance,
)

DEFAULT_INSTANCES = conformance_instances(60, seed=0) + budgeted_instances(24, seed=0)
SLOW_INSTANCES = conformance_instances(300, seed=1) + budgeted_instances(120, seed=1)
CERTIFICATE_INSTANCES = conformance_instances(20, seed=2, max_nodes=12)
"""Beyond exhaustive's sizes: checked against heuristics, not against exhaustive."""
SLOW_CERTIFICATE_INSTANCES = conformance_instances(150, seed=3, max_nodes=14)


class BackendConformance:
    """Subclass with `solver` (a registered name) and optional constructor `options`."""

    solver: ClassVar[str]
    options: ClassVar[dict[str, Any]] = {}

    @pytest.mark.parametrize("instance", DEFAULT_INSTANCES, ids=repr)
    def test_conforms(self, instance):
        run_conformance(instance, self.solver, **self.options)

    @pytest.mark.slow
    @pytest.mark.parametrize("instance", SLOW_INSTANCES, ids=repr)
    def test_conforms_slow(self, instance):
        run_conformance(instance, self.solver, **self.options)


class CertificateConformance:
    """Subclass with `solver` (an exact backend) and optional `options` (a resolution):
    no heuristic's plan may beat its front beyond its certificate."""

    solver: ClassVar[str]
    options: ClassVar[dict[str, Any]] = {}

    @pytest.mark.parametrize("instance", CERTIFICATE_INSTANCES, ids=repr)
    def test_no_heuristic_beats_its_certificate(self, instance):
        run_certificate_check(instance, self.solver, **self.options)

    @pytest.mark.slow
    @pytest.mark.parametrize("instance", SLOW_CERTIFICATE_INSTANCES, ids=repr)
    def test_no_heuristic_beats_its_certificate_slow(self, instance):
        run_certificate_check(instance, self.solver, **self.options)
