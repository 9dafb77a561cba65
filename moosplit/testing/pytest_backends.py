"""Pytest classes that run the conformance kit on a backend (needs pytest).

    from moosplit.testing.pytest_backends import BackendConformance

    class TestMyBackend(BackendConformance):
        solver = "my_backend"
        options = {"resolution": 0.05}
"""

from __future__ import annotations

from typing import Any, ClassVar

import pytest

from .conformance import conformance_instances, run_conformance

DEFAULT_INSTANCES = conformance_instances(60, seed=0)
SLOW_INSTANCES = conformance_instances(300, seed=1)


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
