"""Rasa's own in-process parse latency, for ``bench/compare_rasa.py``.

Runs with ``.venv-rasa``'s Python 3.10 (it imports nothing of ours):
``python bench/rasa_inprocess.py MODEL.tar.gz TEXTS.json ROUNDS`` loads the model with
``rasa.core.agent.Agent`` and times ``Agent.parse_message`` on every text, one at a time; the
last line it prints is JSON ``{"samples_ms": [...]}``.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time


async def measure(model: str, texts_file: str, rounds: int) -> list[float]:
    from rasa.core.agent import Agent

    agent = Agent.load(model)
    with open(texts_file, encoding="utf-8") as source:
        texts = json.load(source)
    for text in texts[:20]:
        await agent.parse_message(text)  # warm up
    samples = []
    for _ in range(rounds):
        for text in texts:
            begin = time.perf_counter()
            await agent.parse_message(text)
            samples.append((time.perf_counter() - begin) * 1000)
    return samples


def main() -> int:
    model, texts_file, rounds = sys.argv[1], sys.argv[2], int(sys.argv[3])
    samples = asyncio.run(measure(model, texts_file, rounds))
    print(json.dumps({"samples_ms": samples}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
