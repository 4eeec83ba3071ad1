"""The import rules of DESIGN.md and the layout, checked by reading every module's imports.

Each rule is a function of a source tree, so the tests run it twice: on the project, where it
must find nothing, and on a small tree with a planted violation, where it must find exactly
that one (a rule that cannot fail is no rule).
"""

from __future__ import annotations

import ast
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("bot", "nlu", "actions", "knowledge")
CHANNELS_SHARED = ("bot.channels.base", "bot.channels.http", "bot.channels.text",
                   "bot.channels.images")

# folder (dotted prefix) -> project modules it may import (prefix match); the longest prefix
# that names a module's folder decides.
ALLOWED: dict[str, tuple[str, ...]] = {
    "nlu": ("nlu",),
    # the knowledge base folds text as the NLU does, and caches searches only of the texts
    # the NLU's personal-data rule lets it keep
    "knowledge": ("knowledge", "nlu.normalize", "nlu.patterns"),
    "actions": ("actions", "nlu", "knowledge"),
    "bot": PACKAGES,
    # persistence knows the tables and what it stores (messages, replies, the conversation
    # status), and nothing of channels, the rest of the core or the web
    "bot.storage": ("bot.storage", "knowledge", "nlu", "actions.base", "bot.core.messages"),
    # the status API's client and simulator: its contract (in actions) and code patterns
    "bot.dossier_api": ("bot.dossier_api", "actions.dossier_source", "nlu.dossier_code",
                        "knowledge.clock"),
    # reading a receipt photo: pure decoding, the dossier-code patterns and nothing else
    "bot.receipts": ("bot.receipts", "nlu.dossier_code"),
}
# folder -> third-party modules it must not import
FORBIDDEN_THIRD_PARTY: dict[str, tuple[str, ...]] = {
    "nlu": ("sqlalchemy", "aiohttp.web", "telegram", "redis"),
    "actions": ("aiohttp", "telegram", "sqlalchemy", "redis"),
    "knowledge": ("aiohttp", "telegram", "redis"),
    "bot.storage": ("aiohttp", "telegram", "redis"),
    "bot.core": ("aiohttp", "telegram", "redis", "sqlalchemy"),
    "bot.receipts": ("aiohttp", "telegram", "redis", "sqlalchemy"),
}
# folder -> project modules it must not import although its package may
FORBIDDEN_PROJECT: dict[str, tuple[str, ...]] = {
    "bot.core": ("bot.channels", "bot.admin", "bot.cli", "bot.service.app",
                 "bot.service.composition"),
    "bot.channels": ("bot.admin", "bot.cli", "bot.service.app", "bot.service.composition"),
}


def module_name(root: Path, path: Path) -> str:
    """The dotted name of a source file below ``root``."""
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def source_files(root: Path) -> Iterator[Path]:
    """Every module of the project's packages below ``root``."""
    for package in PACKAGES:
        if (root / package).is_dir():
            yield from sorted((root / package).rglob("*.py"))


def imported_modules(path: Path, root: Path = ROOT) -> list[str]:
    """Every absolute module name a file imports (anywhere in it): for ``from X import y``,
    ``X.y`` when y is a module below ``root``, else ``X``."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            folder = root.joinpath(*node.module.split("."))
            for alias in node.names:
                submodule = (folder / f"{alias.name}.py").exists() or (folder / alias.name).is_dir()
                names.append(f"{node.module}.{alias.name}" if submodule else node.module)
    return list(dict.fromkeys(names))


def _within(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def _rule_for(rules: dict[str, tuple[str, ...]], module: str) -> tuple[str, ...] | None:
    folders = [folder for folder in rules if _within(module, folder)]
    return rules[max(folders, key=len)] if folders else None


def layering_problems(root: Path) -> list[str]:
    """Imports that break the package and folder rules above."""
    problems = []
    for path in source_files(root):
        module = module_name(root, path)
        allowed = _rule_for(ALLOWED, module) or ()
        banned_party = _rule_for(FORBIDDEN_THIRD_PARTY, module) or ()
        banned_project = _rule_for(FORBIDDEN_PROJECT, module) or ()
        for name in imported_modules(path, root):
            where = f"{path.relative_to(root)} imports {name}"
            if name.split(".")[0] in PACKAGES:
                permitted = any(_within(name, a) or a.startswith(name + ".") for a in allowed)
                if not permitted or any(_within(name, b) for b in banned_project):
                    problems.append(where)
            elif any(_within(name, banned) for banned in banned_party):
                problems.append(where)
    return sorted(set(problems))


def channel_problems(root: Path) -> list[str]:
    """A channel that imports another channel (shared pieces live in bot/channels/*.py)."""
    problems = []
    for path in source_files(root):
        module = module_name(root, path)
        if not _within(module, "bot.channels") or module.count(".") < 3:
            continue
        own = ".".join(module.split(".")[:3])
        for name in imported_modules(path, root):
            if (_within(name, "bot.channels") and name.count(".") >= 2
                    and not _within(name, own)
                    and not any(_within(name, shared) for shared in CHANNELS_SHARED)):
                problems.append(f"{path.relative_to(root)} imports {name}")
    return sorted(set(problems))


def import_graph(root: Path) -> dict[str, set[str]]:
    """Module -> the project modules it imports (a package's import counts as its __init__)."""
    files = {module_name(root, path): path for path in source_files(root)}
    graph: dict[str, set[str]] = {}
    for module, path in files.items():
        targets = set()
        for name in imported_modules(path, root):
            if name in files and name != module:
                targets.add(name)
        graph[module] = targets
    return graph


def import_circles(root: Path) -> list[list[str]]:
    """Every strongly connected group of modules (a module that imports, directly or through
    others, one that imports it), by Tarjan's algorithm."""
    graph = import_graph(root)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    circles: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph[node]):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                circles.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return circles


RULES: dict[str, Callable[[Path], list[Any]]] = {
    "layering": layering_problems,
    "channels": channel_problems,
    "circles": import_circles,
}


@pytest.mark.parametrize("rule", RULES)
def test_the_project_keeps_the_rule(rule: str) -> None:
    assert RULES[rule](ROOT) == []


def _planted_tree(tmp_path: Path, files: dict[str, str]) -> Path:
    """A copy of the project's packages with extra files planted in it."""
    for package in PACKAGES:
        shutil.copytree(ROOT / package, tmp_path / package,
                        ignore=shutil.ignore_patterns("data", "static", "templates",
                                                      "__pycache__"))
    for name, text in files.items():
        (tmp_path / name).write_text(f'"""planted."""\n{text}\n', "utf-8")
    return tmp_path


@pytest.mark.parametrize(("rule", "planted", "expected"), [
    ("layering", {"knowledge/planted.py": "from bot.core.messages import IncomingMessage"},
     "knowledge/planted.py imports bot.core.messages"),
    ("layering", {"knowledge/planted.py": "import aiohttp"},
     "knowledge/planted.py imports aiohttp"),
    ("layering", {"nlu/planted.py": "from knowledge.schema import Procedure"},
     "nlu/planted.py imports knowledge.schema"),
    ("layering", {"actions/planted.py": "from bot.core import pipeline"},
     "actions/planted.py imports bot.core.pipeline"),
    ("layering", {"bot/storage/planted.py": "from bot.channels.web.channel import WebChannel"},
     "bot/storage/planted.py imports bot.channels.web.channel"),
    ("layering", {"bot/core/planted.py": "from bot.channels.base import Channel"},
     "bot/core/planted.py imports bot.channels.base"),
    ("channels", {"bot/channels/zalo/planted.py":
                  "from bot.channels.telegram.channel import TelegramChannel"},
     "bot/channels/zalo/planted.py imports bot.channels.telegram.channel"),
])
def test_a_planted_violation_is_caught(tmp_path: Path, rule: str, planted: dict[str, str],
                                       expected: str) -> None:
    found = RULES[rule](_planted_tree(tmp_path, planted))
    assert found == [expected]


def test_a_planted_circle_is_caught(tmp_path: Path) -> None:
    root = _planted_tree(tmp_path, {
        "knowledge/planted_a.py": "from knowledge.planted_b import B\nA = 1",
        "knowledge/planted_b.py": "from knowledge.planted_c import C\nB = 1",
        "knowledge/planted_c.py": "import knowledge.planted_a\nC = 1",
    })
    assert import_circles(root) == [["knowledge.planted_a", "knowledge.planted_b",
                                     "knowledge.planted_c"]]


@pytest.mark.parametrize("package", PACKAGES)
def test_every_module_has_a_docstring(package: str) -> None:
    missing = [
        str(path.relative_to(ROOT))
        for path in sorted((ROOT / package).rglob("*.py"))
        if path.stat().st_size and ast.get_docstring(ast.parse(path.read_text("utf-8"))) is None
    ]
    assert missing == []


def test_only_settings_reads_the_environment() -> None:
    offenders = [
        str(path.relative_to(ROOT))
        for path in source_files(ROOT)
        if "os.environ" in path.read_text("utf-8") or "getenv" in path.read_text("utf-8")
    ]
    assert offenders == []
