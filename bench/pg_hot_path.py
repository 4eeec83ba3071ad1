"""A worker's storage per message on PostgreSQL: through SQLAlchemy against straight through
asyncpg (``bot/storage/postgres.py``), alternating in one run on one database.

Each message does what a worker's storage does for it: the inbox insert, the conversation's
unfinished rows with its state, the turn (transcript, state, inbox row answered) and the done
mark. ``--concurrency`` conversations run at once, each message after the previous one of its
conversation. Rounds alternate between the two paths (the machine's speed moves); printed: CPU
per message of this process and of the database's PostgreSQL backends, and wall time per
message, for each path, and the direct path's share of the SQLAlchemy path's.

    python bench/pg_hot_path.py --messages 2000 --rounds 3
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from actions.base import Reply
from bench.machine import describe, no_gc_pauses
from bench.server_cpu import ServerCpu
from bot.core.messages import IncomingMessage
from bot.storage.batch import WriteBatcher
from bot.storage.conversations import ConversationStore, TurnRecord
from bot.storage.db import make_engine, make_sessionmaker
from bot.storage.inbox import Inbox
from bot.storage.turns import AnsweredTurn, TurnTransaction
from knowledge.clock import utcnow
from tests.scale.harness import PostgresDatabase


async def one_message(inbox: Inbox, conversations: ConversationStore, chat: str,
                      serial: str) -> None:
    message = IncomingMessage("telegram", chat, "lệ phí làm hộ chiếu bao nhiêu", serial,
                              utcnow())
    inbox_id = await inbox.accept(message)
    assert inbox_id is not None
    items, state = await inbox.unfinished_for("telegram", chat)
    turn = AnsweredTurn(message, {"procedure": "ho-chieu", "n": serial}, "bot", [
        TurnRecord("in", message.text, intent="procedure_fee", confidence=0.8,
                   procedure="ho-chieu"),
        TurnRecord("out", "Lệ phí làm hộ chiếu là 200.000 đồng.")], [Reply("Lệ phí ...")])
    await TurnTransaction(conversations, items[0].id, state).commit(turn)
    await inbox.done(inbox_id, message.text)


async def measure(inbox: Inbox, conversations: ConversationStore, database: str, tag: str,
                  messages: int, concurrency: int) -> tuple[float, float, float]:
    """CPU ms per message of this process and of PostgreSQL, and wall ms per message."""
    servers = ServerCpu(database, None)
    per_chat = max(1, messages // concurrency)

    async def conversation(index: int) -> None:
        for k in range(per_chat):
            await one_message(inbox, conversations, f"{tag}-{index}", f"{tag}-{index}-{k}")

    await servers.start()
    cpu, started = time.process_time(), time.perf_counter()
    await asyncio.gather(*(conversation(i) for i in range(concurrency)))
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu
    await servers.stop()
    total = per_chat * concurrency
    return cpu / total * 1000, servers.postgres / total * 1000, wall / total * 1000


async def run(messages: int, rounds: int, concurrency: int) -> None:
    database = PostgresDatabase()
    await database.create()
    try:
        engine = make_engine(database.url)
        sessions = make_sessionmaker(engine)
        batcher = WriteBatcher(engine)
        direct = batcher.postgres
        paths = {"SQLAlchemy": (Inbox(sessions, batcher), ConversationStore(sessions, 0, batcher))}
        # the same stores without the asyncpg pool: the path every statement took before
        for store in paths["SQLAlchemy"]:
            store.postgres = None
        paths["asyncpg"] = (Inbox(sessions, batcher), ConversationStore(sessions, 0, batcher))
        assert direct is not None and paths["asyncpg"][0].postgres is direct
        figures: dict[str, list[tuple[float, float, float]]] = {name: [] for name in paths}
        with no_gc_pauses():
            for name, (inbox, conversations) in paths.items():  # warm up both
                await measure(inbox, conversations, database.name, f"warm-{name}", 100, 10)
            for n in range(rounds):
                for name, (inbox, conversations) in (paths.items() if n % 2 == 0
                                                     else reversed(paths.items())):
                    figures[name].append(await measure(inbox, conversations, database.name,
                                                       f"r{n}-{name}", messages, concurrency))
        await batcher.close()
        await engine.dispose()
    finally:
        await database.drop()
    print(f"machine: {describe()}")
    print(f"storage of one message on PostgreSQL (inbox insert, unfinished rows + state, turn, "
          f"done mark), {messages} messages a round over {concurrency} conversations, "
          f"{rounds} rounds alternating; medians")
    print("| path | CPU/msg, this process | CPU/msg, PostgreSQL | wall/msg |")
    print("| --- | --: | --: | --: |")
    medians = {name: [statistics.median(f[i] for f in rows) for i in range(3)]
               for name, rows in figures.items()}
    for name, (client, server, wall) in medians.items():
        print(f"| {name} | {client:.3f} ms | {server:.3f} ms | {wall:.3f} ms |")
    old, new = medians["SQLAlchemy"], medians["asyncpg"]
    print(f"asyncpg / SQLAlchemy: process CPU {new[0] / old[0]:.2f}x, PostgreSQL CPU "
          f"{new[1] / old[1]:.2f}x, wall {new[2] / old[2]:.2f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=2000, help="per round and path")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=20)
    args = parser.parse_args()
    asyncio.run(run(args.messages, args.rounds, args.concurrency))


if __name__ == "__main__":
    main()
