"""Transcript pages benchmark: p50/p95 page time with 100,000 conversations and 1,000,000 turns.

For SQLite (a file in a temporary folder) and PostgreSQL (127.0.0.1:5432, database ``test``, in
a schema of its own that is dropped at the end), it:

1. builds the real service (``bot.server.create_app``) on that database and serves it on a
   loopback port;
2. seeds conversations and their turns with bulk inserts (SQLite: executemany in large
   transactions; PostgreSQL: COPY), with realistic Vietnamese messages from a small generator:
   several channels, intents and procedures, dates over 90 days, summary columns exactly as
   ``ConversationStore.save`` keeps them;
3. logs in as a staff account with an HTTP client and times the admin pages: the first page of
   the list, a deep page (after following "Trang sau" 50 times), each filter, text search, one
   conversation, and the CSV export;
4. prints one table per database with the machine, against the target p95 <= 300 ms.

``--conversations 2000`` makes a quick run. ``--proposed-indexes`` also times the pages after
adding the index the report proposes (PostgreSQL: a pg_trgm index on ``search_text``; in the
bench's own schema, dropped with it).
Everything it starts is on loopback and stops by itself.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import io
import json
import random
import shutil
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import aiohttp
from aiohttp import web
from sqlalchemy import insert, text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from bench.machine import describe
from bot.admin.web import STAFF_STORE
from bot.core.brain import build_lexicon
from bot.service.app import create_app
from bot.service.appkeys import ADMIN_APP, RUNTIME
from bot.service.settings import Settings
from bot.storage.staff import Role
from bot.storage.tables import ConversationRow, TurnRow
from knowledge.files import load_directory
from nlu.engine import train
from nlu.normalize import fold, strip_diacritics
from nlu.rasa_data import load_training_data

PG_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
TARGET_P95_MS = 300.0
USERNAME = "bench-hotro"
PASSWORD = "mat-khau-bench-rat-dai"
DAY = 86_400.0
SEARCH_TEXT_CHARS = 2000

# ---------------------------------------------------------------------------------------------
# The generator of conversations.

QUESTIONS: dict[str, tuple[str, ...]] = {
    "procedure_overview": ("thủ tục {p} như thế nào", "hướng dẫn làm {p}",
                           "muốn {p} thì phải làm sao", "các bước {p} ạ"),
    "procedure_documents": ("làm {p} cần giấy tờ gì", "hồ sơ {p} gồm những gì",
                            "{p} cần mang theo gì vậy", "cho hỏi {p} cần chuẩn bị gì"),
    "procedure_fee": ("{p} hết bao nhiêu tiền", "lệ phí {p} là bao nhiêu",
                      "làm {p} có mất phí không", "{p} bao nhiêu tiền ạ"),
    "procedure_duration": ("{p} mất bao lâu", "bao lâu thì có kết quả {p}",
                           "{p} mấy ngày thì xong", "nộp {p} rồi bao giờ nhận"),
    "procedure_location": ("nộp hồ sơ {p} ở đâu", "{p} làm ở phường nào",
                           "làm {p} ở đâu tại Hải Phòng", "{p} nộp ở chỗ nào"),
    "procedure_online": ("{p} làm online được không", "có nộp {p} qua mạng được không",
                         "link {p} trực tuyến", "{p} nộp trên cổng dịch vụ công được không"),
}
SMALL_TALK: dict[str, tuple[str, ...]] = {
    "greet": ("chào bạn", "xin chào", "alo", "chào ad", "em chào anh chị"),
    "thank": ("cảm ơn bạn", "cám ơn nhiều", "ok cảm ơn", "cảm ơn ạ"),
    "goodbye": ("tạm biệt", "bye", "chào nhé"),
    "help": ("bạn giúp được gì", "bot làm được gì", "hỏi gì được"),
    "human_handoff": ("cho tôi gặp nhân viên", "gặp người thật được không",
                      "tôi muốn nói chuyện với cán bộ", "gọi tổng đài viên giúp tôi"),
    "out_of_scope": ("giá vàng hôm nay", "thời tiết Hải Phòng mai thế nào",
                     "xe buýt số 3 chạy mấy giờ", "mua bảo hiểm xe máy ở đâu",
                     "số tôi là [số điện thoại …45] gọi lại giúp", "sao trả lời chậm thế",
                     "tôi bị phạt nguội thì tra ở đâu", "điểm thi vào lớp 10 năm nay"),
}
REPLIES: dict[str, str] = {
    "procedure_overview": "Các bước thực hiện {name}:\n1. Chuẩn bị hồ sơ theo hướng dẫn.\n"
                          "2. Nộp hồ sơ tại bộ phận một cửa hoặc trên Cổng dịch vụ công.\n"
                          "3. Nhận giấy hẹn và nộp lệ phí (nếu có).\n4. Nhận kết quả.",
    "procedure_documents": "Giấy tờ cần chuẩn bị cho {name}:\n- Tờ khai theo mẫu.\n"
                           "- Căn cước của người đề nghị.\n- Giấy tờ chứng minh liên quan.\n"
                           "Vui lòng kiểm tra lại tại nơi nộp hồ sơ.",
    "procedure_fee": "Lệ phí {name}: theo biểu phí hiện hành của Bộ Tài chính. Nộp trực tuyến "
                     "có thể được giảm lệ phí.",
    "procedure_duration": "Thời gian giải quyết {name}: khoảng 5 đến 15 ngày làm việc kể từ "
                          "khi nhận đủ hồ sơ hợp lệ.",
    "procedure_location": "Nơi nộp hồ sơ {name}: Trung tâm Phục vụ hành chính công của phường, "
                          "xã nơi bạn cư trú, giờ làm việc 7h30–17h từ thứ Hai đến thứ Sáu.",
    "procedure_online": "{name} có thể nộp hồ sơ trực tuyến tại https://dichvucong.gov.vn, "
                        "bạn cần tài khoản định danh điện tử mức 2.",
    "dossier_status": "Hồ sơ {code}: đang xử lý, dự kiến trả kết quả ngày 12/11/2025.",
    "greet": "Xin chào! Tôi là trợ lý thủ tục hành chính của Hải Phòng. Bạn cần hỏi về thủ tục "
             "nào ạ?",
    "thank": "Rất vui được giúp bạn. Bạn cần hỏi thêm gì cứ nhắn nhé!",
    "goodbye": "Cảm ơn bạn đã liên hệ. Chúc bạn một ngày tốt lành!",
    "help": "Tôi có thể hướng dẫn các bước, giấy tờ, lệ phí, thời gian, nơi nộp của 21 thủ tục "
            "thường gặp, và tra cứu tình trạng hồ sơ.",
    "human_handoff": "Tôi đã chuyển yêu cầu của bạn đến nhân viên hỗ trợ, vui lòng chờ trong "
                     "giây lát.",
    "out_of_scope": "Xin lỗi, tôi chưa hiểu câu hỏi. Tôi chỉ trả lời về thủ tục hành chính. "
                    "Bạn có thể hỏi như: \"làm căn cước cần giấy tờ gì\".",
}
OFFICER_REPLIES = ("Chào bạn, tôi là cán bộ hỗ trợ, bạn cần giúp gì ạ?",
                   "Bạn vui lòng mang theo bản gốc căn cước khi đến nộp nhé.",
                   "Hồ sơ của bạn đã được chuyển bộ phận chuyên môn, bạn chờ thêm 2 ngày.")
TAGS = ("khieu-nai", "can-goi-lai", "gop-y", "loi-bot")
OFFICERS = ("hotro1", "hotro2", "hotro3")
CHANNELS = (("web", 0.45), ("zalo", 0.35), ("telegram", 0.20))
CONVERSATION_COLUMNS = ("id", "channel", "user_id", "state", "status", "unreachable",
                        "created_at", "updated_at", "messages", "intents", "procedures",
                        "fallbacks", "min_confidence", "handoff", "feedback_up", "feedback_down",
                        "rating", "tags", "search_text", "handoff_at", "assigned_to")
TURN_COLUMNS = ("conversation_id", "at", "channel", "direction", "text", "intent", "confidence",
                "entities", "procedure", "action", "latency_ms", "misunderstood", "feedback",
                "folded", "reviewed", "sender")


@dataclass
class Generator:
    """Conversations with the shape and the words of real ones, reproducibly."""

    procedures: dict[str, tuple[str, list[str]]]  # id -> (name, phrases citizens use)
    now: float
    rng: random.Random = field(default_factory=lambda: random.Random(20250501))
    _folded: dict[str, str] = field(default_factory=dict)

    def _fold(self, message: str) -> str:
        found = self._folded.get(message)
        if found is None:
            found = fold(message)[:500]
            if len(self._folded) < 200_000:
                self._folded[message] = found
        return found

    def _typed(self, message: str) -> str:
        """Many citizens type without diacritics."""
        return strip_diacritics(message) if self.rng.random() < 0.35 else message

    def conversation(self, number: int) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        """One conversation row and its turns (about 10 on average)."""
        rng = self.rng
        channel = rng.choices([c for c, _ in CHANNELS], [w for _, w in CHANNELS])[0]
        user_id = {"web": f"w{number:07d}{rng.randrange(16**6):06x}",
                   "zalo": str(4_000_000_000_000_000_000 + number * 7919),
                   "telegram": str(100_000_000 + number * 13)}[channel]
        conversation_id = f"{channel}:{user_id}"
        procedure = rng.choice(list(self.procedures))
        name, phrases = self.procedures[procedure]
        asked = rng.randint(1, 9)  # citizen messages
        plan: list[str] = []
        if rng.random() < 0.3:
            plan.append("greet")
        while len(plan) < asked:
            roll = rng.random()
            if roll < 0.70:
                plan.append(rng.choice(list(QUESTIONS)))
            elif roll < 0.78:
                plan.append("dossier_status")
            elif roll < 0.88:
                plan.append("out_of_scope")
            elif roll < 0.91:
                plan.append("human_handoff")
            elif roll < 0.95:
                plan.append("help")
            else:
                plan.append("thank")
        plan = plan[:asked]
        at = self.now - rng.uniform(0, 90 * DAY)
        turns: list[dict[str, Any]] = []
        intents: set[str] = set()
        procedures: set[str] = set()
        confidences: list[float] = []
        folded_in: list[str] = []
        fallbacks = feedback_up = feedback_down = 0
        handoff_at: float | None = None
        for intent in plan:
            entities: list[dict[str, Any]] = []
            about: str | None = None
            code = ""
            if intent in QUESTIONS:
                message = rng.choice(QUESTIONS[intent]).format(p=rng.choice(phrases))
                about = procedure
                entities.append({"entity": "procedure", "value": procedure, "confidence": 1.0})
            elif intent == "dossier_status":
                code = (f"000.00.{rng.randint(10, 99)}.H31-25{rng.randint(1, 12):02d}"
                        f"{rng.randint(1, 28):02d}-{rng.randint(1, 9999):04d}")
                message = rng.choice(("tra cứu hồ sơ {c}", "hồ sơ mã {c} đến đâu rồi",
                                      "kiểm tra hồ sơ {c} giúp tôi")).format(c=code)
                entities.append({"entity": "dossier_code", "value": code, "confidence": 1.0})
            else:
                message = rng.choice(SMALL_TALK[intent])
            message = self._typed(message)
            confidence = round(rng.uniform(0.2, 0.45) if rng.random() < 0.1
                               else rng.uniform(0.55, 0.99), 4)
            if intent == "out_of_scope":
                confidence = round(rng.uniform(0.3, 0.7), 4)
            missed = intent == "out_of_scope" or confidence < 0.45
            fallbacks += missed
            intents.add(intent)
            if about:
                procedures.add(about)
            confidences.append(confidence)
            folded = self._fold(message)
            folded_in.append(folded)
            turns.append({
                "conversation_id": conversation_id, "at": at, "channel": channel,
                "direction": "in", "text": message, "intent": intent,
                "confidence": confidence, "entities": entities, "procedure": about,
                "action": None, "latency_ms": None, "misunderstood": missed, "feedback": None,
                "folded": folded, "reviewed": False, "sender": "bot"})
            at += rng.uniform(1, 4)
            reply_intent = "out_of_scope" if missed else intent
            reply = REPLIES[reply_intent].format(name=name, code=code)
            vote = rng.random()
            feedback = 1 if vote < 0.03 else -1 if vote < 0.05 else None
            feedback_up += feedback == 1
            feedback_down += feedback == -1
            turns.append({
                "conversation_id": conversation_id, "at": at, "channel": channel,
                "direction": "out", "text": reply, "intent": None, "confidence": None,
                "entities": [], "procedure": None,
                "action": "clarify" if missed else reply_intent,
                "latency_ms": round(rng.uniform(4, 60), 1), "misunderstood": False,
                "feedback": feedback, "folded": "", "reviewed": False, "sender": "bot"})
            if intent == "human_handoff" and handoff_at is None:
                handoff_at = at
                officer = rng.choice(OFFICERS)
                for reply in rng.sample(OFFICER_REPLIES, rng.randint(1, 2)):
                    at += rng.uniform(30, 600)
                    turns.append({**turns[-1], "at": at, "text": reply, "action": None,
                                  "latency_ms": None, "feedback": None, "sender": officer})
            at += rng.uniform(10, 180)
        updated = min(turns[-1]["at"], self.now)
        waiting = handoff_at is not None and self.now - updated < DAY and rng.random() < 0.5
        search_text = " ".join(folded_in)[:SEARCH_TEXT_CHARS]
        row = {
            "id": conversation_id, "channel": channel, "user_id": user_id,
            "state": {"procedure": procedure, "turns": len(plan)},
            "status": "waiting" if waiting else "bot", "unreachable": None,
            "created_at": turns[0]["at"], "updated_at": updated, "messages": len(plan),
            "intents": " " + "".join(f"{i} " for i in sorted(intents)),
            "procedures": " " + "".join(f"{p} " for p in sorted(procedures)),
            "fallbacks": fallbacks, "min_confidence": min(confidences),
            "handoff": handoff_at is not None, "feedback_up": feedback_up,
            "feedback_down": feedback_down,
            "rating": rng.randint(1, 5) if handoff_at and rng.random() < 0.5 else None,
            "tags": (" " + " ".join(rng.sample(TAGS, rng.randint(1, 2))) + " "
                     if rng.random() < 0.01 else " "),
            "search_text": search_text, "handoff_at": handoff_at,
            "assigned_to": None if handoff_at is None or waiting else rng.choice(OFFICERS),
        }
        return row, turns


def _as_datetime(value: float | None) -> Any:
    import datetime as dt

    return None if value is None else dt.datetime.fromtimestamp(value, dt.UTC)


def _dated(row: dict[str, Any], names: tuple[str, ...]) -> dict[str, Any]:
    return {**row, **{name: _as_datetime(row[name]) for name in names}}


async def seed(engine: AsyncEngine, generator: Generator, conversations: int,
               postgres: bool, batch: int = 5000) -> tuple[int, list[str]]:
    """Insert the conversations and turns in bulk; returns the number of turns and a sample
    of conversation ids (for the one-conversation page)."""
    turns_total = 0
    sample: list[str] = []
    for start in range(0, conversations, batch):
        rows: list[dict[str, Any]] = []
        turns: list[dict[str, Any]] = []
        for number in range(start, min(conversations, start + batch)):
            row, its_turns = generator.conversation(number)
            rows.append(_dated(row, ("created_at", "updated_at", "handoff_at")))
            turns.extend(_dated(turn, ("at",)) for turn in its_turns)
            if number % max(1, conversations // 200) == 0:
                sample.append(row["id"])
        turns_total += len(turns)
        async with engine.begin() as connection:
            if postgres:
                raw = await connection.get_raw_connection()
                driver = raw.driver_connection
                assert driver is not None
                await driver.copy_records_to_table(
                    "conversations", columns=CONVERSATION_COLUMNS,
                    records=[tuple(json.dumps(r[c], ensure_ascii=False) if c == "state"
                                   else r[c] for c in CONVERSATION_COLUMNS) for r in rows])
                await driver.copy_records_to_table(
                    "turns", columns=TURN_COLUMNS,
                    records=[tuple(json.dumps(t[c], ensure_ascii=False) if c == "entities"
                                   else t[c] for c in TURN_COLUMNS) for t in turns])
            else:
                await connection.execute(insert(ConversationRow), rows)
                await connection.execute(insert(TurnRow), turns)
        done = min(conversations, start + batch)
        if done % (batch * 4) == 0 or done == conversations:
            print(f"  seeded {done:,} conversations, {turns_total:,} turns", flush=True)
    return turns_total, sample


# ---------------------------------------------------------------------------------------------
# Timing the pages.


def percentile(samples: list[float], share: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


@dataclass
class Result:
    """The timings of one scenario."""

    name: str
    samples: list[float]
    note: str = ""

    @property
    def p50(self) -> float:
        return statistics.median(self.samples)

    @property
    def p95(self) -> float:
        return percentile(self.samples, 0.95)


class Client:
    """A logged-in browser-like HTTP client."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.session = aiohttp.ClientSession(
            cookie_jar=aiohttp.CookieJar(unsafe=True),  # cookies from 127.0.0.1
            timeout=aiohttp.ClientTimeout(total=120))

    async def login(self) -> None:
        page = await self.text("/admin/login")
        token = page.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
        async with self.session.post(f"{self.base}/admin/login", data={
                "username": USERNAME, "password": PASSWORD, "csrf_token": token,
                "next": "/admin/conversations"}, allow_redirects=False) as response:
            assert response.status == 303, await response.text()

    async def text(self, path: str) -> str:
        async with self.session.get(f"{self.base}{path}") as response:
            body = await response.text()
            assert response.status == 200, (path, response.status, body[:500])
            return body

    async def timed(self, path: str) -> tuple[float, str]:
        started = time.perf_counter()
        body = await self.text(path)
        return (time.perf_counter() - started) * 1000, body

    async def close(self) -> None:
        await self.session.close()


def next_link(page: str) -> str | None:
    marker = 'id="next-page" href="'
    if marker not in page:
        return None
    return page.split(marker, 1)[1].split('"', 1)[0].replace("&amp;", "&")


def list_path(**query: str) -> str:
    return "/admin/conversations" + (f"?{urlencode(query)}" if query else "")


async def repeat(client: Client, name: str, path: str, samples: int) -> Result:
    await client.timed(path)  # warm-up
    times = [(await client.timed(path))[0] for _ in range(samples)]
    rows = (await client.text(path)).count("<tr>") - 1
    return Result(name, times, f"{max(rows, 0)} dòng")


async def follow(client: Client, name: str, path: str, hops: int,
                 samples: int) -> list[Result]:
    """Follow "Trang sau" ``hops`` times (timing each), then time the last page again."""
    hop_times: list[float] = []
    page = await client.text(path)
    for _ in range(hops):
        link = next_link(page)
        if link is None:
            break
        elapsed, page = await client.timed(link)
        hop_times.append(elapsed)
        path = link
    results = [Result(f"{name}: trang 2–{len(hop_times) + 1}", hop_times)] if hop_times else []
    results.append(await repeat(client, f"{name}: trang {len(hop_times) + 1}", path, samples))
    return results


async def measure(client: Client, samples: int, sample_ids: list[str],
                  today: str, week_ago: str) -> list[Result]:
    results = [await repeat(client, "danh sách, trang đầu", list_path(), samples)]
    results += await follow(client, "danh sách", list_path(), 50, samples)
    filters: list[tuple[str, dict[str, str]]] = [
        ("lọc kênh (zalo)", {"channel": "zalo"}),
        ("lọc 7 ngày gần nhất", {"from": week_ago, "to": today}),
        ("lọc ý định (lệ phí)", {"intent": "procedure_fee"}),
        ("lọc thủ tục (hộ chiếu)", {"procedure": "ho-chieu"}),
        ("lọc độ tin cậy < 45%", {"confidence": "0.45"}),
        ("lọc có câu không hiểu", {"fallback": "1"}),
        ("lọc gặp nhân viên", {"handoff": "1"}),
        ("lọc có 👎", {"negative": "1"}),
        ("lọc nhãn (khieu-nai, hiếm)", {"tag": "khieu-nai"}),
        ("lọc kết hợp (telegram + khai sinh + 👎)",
         {"channel": "telegram", "procedure": "khai-sinh", "negative": "1"}),
        ("tìm “ho chieu” (thường gặp)", {"q": "hộ chiếu"}),
        ("tìm “bao hiem xe may”", {"q": "bao hiem xe may"}),
        ("tìm “0042” (số cuối mã hồ sơ)", {"q": "0042"}),
        ("tìm “khong co chu nay” (không có)", {"q": "không có chữ này"}),
        ("tìm + lọc kênh + 7 ngày", {"q": "ho chieu", "channel": "web", "from": week_ago}),
    ]
    for name, query in filters:
        results.append(await repeat(client, name, list_path(**query), samples))
    results += await follow(client, "lọc thủ tục (hộ chiếu)", list_path(procedure="ho-chieu"),
                            20, samples)
    times = []
    for conversation_id in (sample_ids * (1 + samples // max(1, len(sample_ids))))[:samples]:
        times.append((await client.timed(
            f"/admin/conversations/{quote(conversation_id, safe='')}"))[0])
    results.append(Result("một hội thoại", times))
    return results


async def time_export(client: Client, path: str) -> tuple[float, int, int]:
    started = time.perf_counter()
    async with client.session.get(f"{client.base}{path}") as response:
        body = await response.read()
    elapsed = time.perf_counter() - started
    rows = sum(1 for _ in csv.reader(io.StringIO(body.decode("utf-8-sig")))) - 1
    return elapsed, len(body), rows


# What the report proposes (they need a migration, so the service never creates them): a
# trigram index lets PostgreSQL answer a rare or absent search from the index instead of a
# scan. SQLite has no trigram index (FTS5 would be a new table), and needs none at this size.
PROPOSED_INDEXES: dict[str, tuple[str, ...]] = {
    "postgresql": ("CREATE EXTENSION IF NOT EXISTS pg_trgm",
                   "CREATE INDEX ix_conversations_search_trgm ON conversations "
                   "USING gin (search_text {trgm_schema}.gin_trgm_ops)",
                   "ANALYZE conversations"),
    "sqlite": (),
}


def print_table(title: str, results: list[Result], extra: list[str]) -> None:
    print()
    print(title)
    print(f"machine: {describe()}")
    width = max(len(r.name) for r in results) + 2
    print(f"{'trang':<{width}}{'p50 ms':>9}{'p95 ms':>9}{'max ms':>9}{'n':>5}  mục tiêu p95 ≤ "
          f"{TARGET_P95_MS:.0f} ms")
    for r in results:
        verdict = "đạt" if r.p95 <= TARGET_P95_MS else "KHÔNG ĐẠT"
        print(f"{r.name:<{width}}{r.p50:>9.1f}{r.p95:>9.1f}{max(r.samples):>9.1f}"
              f"{len(r.samples):>5}  {verdict}  {r.note}")
    for line in extra:
        print(line)


async def run_database(kind: str, conversations: int, samples: int, model_dir: Path,
                       proposed: bool) -> None:
    import datetime as dt

    postgres = kind == "postgresql"
    folder = Path(tempfile.mkdtemp(prefix="egovbot-bench-admin-"))
    schema = f"bench_admin_{int(time.time())}_{random.randrange(10**6)}"
    admin_engine: AsyncEngine | None = None
    runner: web.AppRunner | None = None
    client: Client | None = None
    try:
        if postgres:
            admin_engine = create_async_engine(PG_URL)
            async with admin_engine.begin() as connection:
                await connection.execute(text(f'CREATE SCHEMA "{schema}"'))
            # Tables go to the bench's schema; public stays readable for extensions.
            dsn = f"postgresql://postgres@127.0.0.1:5432/test?search_path={schema},public"
            url = f"{PG_URL}?dsn={quote(dsn, safe='')}"
        else:
            url = f"sqlite+aiosqlite:///{folder / 'egovbot.db'}"
        settings = Settings(data_dir=folder / "var", database_url=url)
        settings.model_path.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(model_dir / "model.pkl", settings.model_path)
        app = await create_app(settings)
        runtime = app[RUNTIME]
        bundle = load_directory(settings.knowledge_dir)
        generator = Generator({p.id: (p.name, [a for a in p.aliases if a] or [p.name])
                               for p in bundle.procedures}, time.time())
        print(f"{kind}: seeding {conversations:,} conversations …", flush=True)
        started = time.perf_counter()
        turns, sample_ids = await seed(runtime.engine, generator, conversations, postgres)
        if postgres:
            async with runtime.engine.connect() as connection:
                await connection.execution_options(isolation_level="AUTOCOMMIT")
                await connection.execute(text("VACUUM ANALYZE conversations"))
                await connection.execute(text("VACUUM ANALYZE turns"))
        seeded = time.perf_counter() - started
        await app[ADMIN_APP][STAFF_STORE].add_user(USERNAME, PASSWORD, Role.STAFF)

        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        host, port = runner.addresses[0][:2]
        client = Client(f"http://{host}:{port}")
        await client.login()
        vn = dt.timezone(dt.timedelta(hours=7))
        today = dt.datetime.now(vn).date()
        week_ago = (today - dt.timedelta(days=6)).isoformat()
        results = await measure(client, samples, sample_ids, today.isoformat(), week_ago)
        export = await time_export(client, "/admin/conversations.csv")
        export_turns = await time_export(client, "/admin/conversations/turns.csv")
        title = (f"{'PostgreSQL' if postgres else 'SQLite'}: {conversations:,} hội thoại, "
                 f"{turns:,} tin nhắn (nạp dữ liệu {seeded:.0f} s)")
        extra = [f"CSV hội thoại: {export[2]:,} dòng, {export[1] / 1e6:.1f} MB trong "
                 f"{export[0]:.1f} s; CSV tin nhắn: {export_turns[2]:,} dòng, "
                 f"{export_turns[1] / 1e6:.1f} MB trong {export_turns[0]:.1f} s"]
        print_table(title, results, extra)
        statements = PROPOSED_INDEXES[kind]
        if proposed and statements:
            executed: list[str] = []
            async with runtime.engine.begin() as connection:
                for statement in statements:
                    if "{trgm_schema}" in statement:  # wherever the extension lives
                        where = await connection.scalar(text(
                            "SELECT extnamespace::regnamespace::text FROM pg_extension "
                            "WHERE extname = 'pg_trgm'"))
                        statement = statement.format(trgm_schema=where)
                    await connection.execute(text(statement))
                    executed.append(statement)
            again = await measure(client, samples, sample_ids, today.isoformat(), week_ago)
            print_table(f"{title}, với các chỉ mục đề xuất", again,
                        [f"  {s}" for s in executed])
    finally:
        if client is not None:
            await client.close()
        if runner is not None:
            await runner.cleanup()
        if admin_engine is not None:
            async with admin_engine.begin() as connection:
                await connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
            await admin_engine.dispose()
        shutil.rmtree(folder, ignore_errors=True)


def train_model(folder: Path) -> None:
    settings = Settings()
    bundle = load_directory(settings.knowledge_dir)
    lexicon = build_lexicon(bundle.procedures, bundle.offices)
    train(load_training_data(settings.nlu_train_files), lexicon).save(folder / "model.pkl")


async def run(databases: list[str], conversations: int, samples: int, proposed: bool) -> None:
    with tempfile.TemporaryDirectory(prefix="egovbot-bench-model-") as model_dir:
        train_model(Path(model_dir))
        for kind in databases:
            await run_database(kind, conversations, samples, Path(model_dir), proposed)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--conversations", type=int, default=100_000)
    parser.add_argument("--samples", type=int, default=20, help="timed requests per page")
    parser.add_argument("--databases", default="sqlite,postgresql",
                        help="comma-separated: sqlite, postgresql")
    parser.add_argument("--proposed-indexes", action="store_true",
                        help="time again after adding the proposed indexes")
    args = parser.parse_args()
    databases = [d.strip() for d in args.databases.split(",") if d.strip()]
    unknown = set(databases) - {"sqlite", "postgresql"}
    if unknown:
        parser.error(f"unknown database: {', '.join(sorted(unknown))}")
    asyncio.run(run(databases, args.conversations, args.samples, args.proposed_indexes))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
