"""The shipped knowledge base as an in-memory snapshot, shared by every action test."""

from __future__ import annotations

import pytest

from actions.base import Services
from knowledge.files import DEFAULT_DATA_DIR, load_directory
from knowledge.schema import PublishStatus
from knowledge.snapshot import KnowledgeSnapshot
from tests.actions.support import make_services


@pytest.fixture(scope="session")
def knowledge() -> KnowledgeSnapshot:
    """What the bot answers from after seeding the shipped YAML: the published entries."""
    bundle = load_directory(DEFAULT_DATA_DIR)
    return KnowledgeSnapshot.build(
        bundle.city,
        [p for p in bundle.procedures if p.status == PublishStatus.PUBLISHED],
        bundle.offices,
        [f for f in bundle.faqs if f.status == PublishStatus.PUBLISHED])


@pytest.fixture
def services(knowledge: KnowledgeSnapshot) -> Services:
    """Services with the in-process dossiers and a fresh rate limiter."""
    return make_services(knowledge)
