"""The import rules of DESIGN.md, checked by reading every module's imports."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("bot", "nlu", "actions", "knowledge")
# package -> project modules it may import (a prefix match on the dotted name)
ALLOWED: dict[str, tuple[str, ...]] = {
    "nlu": ("nlu",),
    "knowledge": ("knowledge", "nlu.normalize", "nlu.patterns", "nlu.dossier_code"),
    "actions": ("actions", "nlu", "knowledge"),
    "bot": PACKAGES,
}
FORBIDDEN_THIRD_PARTY: dict[str, tuple[str, ...]] = {
    "nlu": ("sqlalchemy", "aiohttp", "telegram"),
    "actions": ("aiohttp.web", "telegram", "sqlalchemy"),
    "knowledge": ("telegram",),
}


def imported_modules(path: Path) -> list[str]:
    """Every absolute module name a file imports."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.extend([node.module] + [f"{node.module}.{a.name}" for a in node.names])
    return names


def modules_of(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


@pytest.mark.parametrize("package", PACKAGES)
def test_project_imports_follow_the_layering(package: str) -> None:
    problems = []
    for path in modules_of(package):
        for name in imported_modules(path):
            top = name.split(".")[0]
            if top in PACKAGES and not any(
                name == allowed or name.startswith(allowed + ".") or allowed.startswith(name)
                for allowed in ALLOWED[package]
            ):
                problems.append(f"{path.relative_to(ROOT)} imports {name}")
            for banned in FORBIDDEN_THIRD_PARTY.get(package, ()):
                if name == banned or name.startswith(banned + "."):
                    problems.append(f"{path.relative_to(ROOT)} imports {name}")
    assert problems == []


@pytest.mark.parametrize("package", PACKAGES)
def test_every_module_has_a_docstring(package: str) -> None:
    missing = [
        str(path.relative_to(ROOT))
        for path in modules_of(package)
        if path.stat().st_size and ast.get_docstring(ast.parse(path.read_text("utf-8"))) is None
    ]
    assert missing == []


def test_only_settings_reads_the_environment() -> None:
    offenders = [
        str(path.relative_to(ROOT))
        for package in PACKAGES
        for path in modules_of(package)
        if "os.environ" in path.read_text("utf-8") or "getenv" in path.read_text("utf-8")
    ]
    assert offenders == []


def test_the_rule_catches_a_forbidden_import(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text('"""x."""\nfrom knowledge.store import KnowledgeStore\n', "utf-8")
    assert "knowledge.store" in imported_modules(sample)
