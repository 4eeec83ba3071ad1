"""The held-out dialogue set (``bench/data/dialogues_heldout.yaml``) is well formed and big
enough, and names only procedures the shipped knowledge has: checked without running the bot,
so a broken set fails fast instead of skewing the benchmark's figure."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest
import yaml

from bench.dialogues import DATA, KINDS, Dialogue, read_dialogues, without_diacritics
from knowledge.catalog.convert import codes_in, procedure_id, variant_key
from knowledge.catalog.importer import CATALOG_FILE
from nlu.dossier_code import find_dossier_codes

KNOWLEDGE = Path(__file__).resolve().parents[2] / "knowledge" / "data"


def shipped_procedure_ids() -> set[str]:
    """The ids the shipped knowledge answers as: curated procedures, and national records
    no curated procedure covers (by code, or as the same procedure at another level)."""
    curated = [yaml.safe_load(path.read_text(encoding="utf-8"))
               for path in sorted((KNOWLEDGE / "procedures").glob("*.yaml"))]
    covered = set().union(*(codes_in(str(p.get("code") or "")) for p in curated))
    with gzip.open(KNOWLEDGE / CATALOG_FILE, "rt", encoding="utf-8") as lines:
        records = [json.loads(line) for line in lines if line.strip()]
    variants = {variant_key(r["name"]) for r in records if r["code"] in covered}
    national = {procedure_id(r["code"]) for r in records
                if r["code"] not in covered and variant_key(r["name"]) not in variants}
    return {str(p["id"]) for p in curated} | national


@pytest.fixture(scope="module")
def dialogues() -> list[Dialogue]:
    return read_dialogues()


def test_the_set_is_big_enough(dialogues: list[Dialogue]) -> None:
    assert len(dialogues) >= 60
    assert sum(len(d.turns) for d in dialogues) >= 180
    assert all(2 <= len(d.turns) <= 5 for d in dialogues), [
        d.id for d in dialogues if not 2 <= len(d.turns) <= 5]
    ids = [d.id for d in dialogues]
    assert len(ids) == len(set(ids)), "dialogue ids repeat"


def test_every_kind_is_covered(dialogues: list[Dialogue]) -> None:
    seen = {turn.kind for d in dialogues for turn in d.turns}
    assert seen == set(KINDS)


def test_every_procedure_exists_in_the_shipped_knowledge(dialogues: list[Dialogue]) -> None:
    known = shipped_procedure_ids()
    unknown = {(d.id, p) for d in dialogues for turn in d.turns
               for p in turn.procedures or () if p is not None and p not in known}
    assert not unknown


def test_many_messages_are_written_without_diacritics(dialogues: list[Dialogue]) -> None:
    turns = [turn.say for d in dialogues for turn in d.turns]
    assert sum(without_diacritics(t) for t in turns) >= 0.45 * len(turns)


def test_dossier_codes_are_the_simulator_s_or_meant_to_be_unknown() -> None:
    from bot.dossier_api.simulator import seeded_by_code

    seeded = seeded_by_code()
    codes = {m.code for d in read_dialogues() for turn in d.turns
             for m in find_dossier_codes(turn.say)}
    assert len(codes & set(seeded)) >= 6
    assert len(codes - set(seeded)) <= 2  # the deliberately wrong ones


def test_the_file_documents_its_format() -> None:
    header = DATA.read_text(encoding="utf-8").split("\ndialogues:", 1)[0]
    for word in ("HELD OUT", "action", "procedure", "expect", "reject", "Kinds"):
        assert word in header
