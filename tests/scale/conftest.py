"""The scale-out tests' marker (their fixtures, a throwaway PostgreSQL database and a private
Redis, are in tests/conftest.py, shared with the worker tests).

Every test here is marked ``scale`` (select with ``-m scale``, skip with ``-m 'not scale'``).
They need the machine's PostgreSQL on 127.0.0.1:5432 (user postgres, trust auth) and the
``redis-server`` binary; they start their own workers, simulator and Redis on loopback ports.
"""

from __future__ import annotations

import pytest


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "scale: multi-process tests on PostgreSQL and Redis "
                                       "(tests/scale; minutes)")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/scale/" in str(item.fspath).replace("\\", "/"):
            item.add_marker(pytest.mark.scale)
