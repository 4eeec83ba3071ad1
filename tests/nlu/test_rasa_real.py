"""The real Rasa, end to end (marked ``rasa``: ``make rasa-test``, not ``make test``).

Exports our data with ``egovbot rasa export``, trains it with ``rasa train nlu`` from
``.venv-rasa``, starts ``rasa run --enable-api`` on a loopback port, and runs the held-out test
file through the bot with ``EGOVBOT_NLU_ENGINE=rasa``: every message must be parsed by Rasa
(no fallback), procedure entity values must be procedure ids, and the accuracy must be far
above chance. Takes several minutes (training DIET on two cores).
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bench.compare_rasa import QUIET_ENV, RASA, Server, free_port, run_measured
from bot.service.app import RUNTIME, create_app
from bot.service.settings import Settings
from nlu.engine import NluModel
from nlu.evaluate import Prediction, report
from nlu.intents import EntityType
from nlu.rasa_data import load_training_data
from nlu.rasa_engine import RasaNlu

pytestmark = pytest.mark.rasa
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def rasa_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Our data exported and trained by the real Rasa."""
    if not RASA.exists():
        pytest.skip(f"{RASA} not found: run `make rasa` first")
    work = tmp_path_factory.mktemp("rasa")
    env = {**os.environ, **QUIET_ENV, "EGOVBOT_DATA_DIR": str(work / "var")}
    subprocess.run([sys.executable, "-m", "bot.cli", "rasa", "export", str(work / "project")],
                   cwd=ROOT, env=env, check=True)
    run_measured([str(RASA), "data", "validate", "--domain", "domain.yml", "--data", "data",
                  "--config", "config.yml"], work / "validate.log", cwd=work / "project")
    run_measured([str(RASA), "train", "nlu", "--config", "config.yml", "--domain",
                  "domain.yml", "--nlu", "data", "--out", "models", "--fixed-model-name",
                  "nlu"], work / "train.log", cwd=work / "project")
    return work / "project" / "models" / "nlu.tar.gz"


@pytest.fixture
async def rasa_url(rasa_model: Path, tmp_path: Path) -> AsyncIterator[str]:
    port = free_port()
    command = [str(RASA), "run", "--enable-api", "-m", str(rasa_model), "-i", "127.0.0.1",
               "-p", str(port)]
    async with Server(command, port, tmp_path / "rasa-run.log", "/") as server:
        yield server.url


async def test_the_bot_understands_the_held_out_file_through_rasa(
        rasa_url: str, tmp_path: Path, shipped_model: NluModel, simulator: str,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EGOVBOT_NLU_ENGINE", "rasa")
    monkeypatch.setenv("EGOVBOT_RASA_URL", rasa_url)
    monkeypatch.setenv("EGOVBOT_RASA_TIMEOUT", "10")
    settings = Settings(data_dir=tmp_path / "var", dossier_api_token="test-token")
    shipped_model.save(settings.model_path)
    client: TestClient[Any, Any] = TestClient(TestServer(await create_app(settings, simulator),
                                                         host="127.0.0.1"))
    await client.start_server()
    try:
        nlu = client.app[RUNTIME].pipeline.brain.nlu
        assert isinstance(nlu, RasaNlu)
        answer = await client.post("/api/chat", json={"sender": "real",
                                                      "message": "lam cccd het bao nhieu tien"})
        assert "Lệ phí thủ tục Cấp thẻ căn cước" in (await answer.json())[0]["text"]

        test = load_training_data([settings.nlu_test_file])
        predictions = [Prediction(e, await nlu.aparse(e.text)) for e in test.examples]
        assert nlu.stats.fallback_total == 0, nlu.stats.as_dict()
        assert {p.result.engine for p in predictions} == {"rasa"}
        ids = set(nlu.lexicon.procedures)
        values = [v for p in predictions for v in p.result.entity_values(EntityType.PROCEDURE)]
        assert values and set(values) <= ids
        figures = report(predictions)
        chance = 1 / len(test.intents)
        assert figures["intent"]["accuracy"] >= max(0.7, 5 * chance), figures["intent"]
        assert figures["procedure_accuracy"] >= 0.6
    finally:
        await client.close()
