"""Retraining the built-in NLU from staff labels inside the running service, and restoring an
older model.

"Huấn luyện lại" starts one background job per service (a second request while one runs is
refused, in this worker by the job itself and across workers by the ``training`` row in
``nlu_models``). The job trains on the shipped training files plus every labelled example, in a
thread so the event loop keeps answering citizens; evaluates the serving model and the new one
on the held-out test file and on the labelled examples; and activates the new model only if it
is not worse on the held-out file (intent accuracy and procedure accuracy each at least the
serving model's). Activating saves ``data_dir/models/nlu-<version>.pkl``, marks the version
active (the previous one is retired), and announces it so every worker loads it
(``bot.reload``). The first retraining also records the shipped model as a version, so it can
be restored. Everything is in the audit log.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy.exc import IntegrityError

from bot.service.composition import Runtime
from bot.service.reload import MODEL_VERSION, Reloader, announce
from bot.storage.staff import StaffStore
from bot.storage.training import (
    STATUS_ACTIVE,
    STATUS_FAILED,
    STATUS_REJECTED,
    STATUS_RETIRED,
    STATUS_TRAINING,
    LabelledExample,
    ModelVersion,
    TrainingBusy,
)
from knowledge.clock import VN_TIME
from nlu.engine import BuiltinNlu, NluEngine, NluModel, train
from nlu.evaluate import predict, report
from nlu.intents import EntityType
from nlu.normalize import normalize
from nlu.rasa_data import (
    AnnotatedEntity,
    Example,
    TrainingData,
    dump_training_data,
    load_training_data,
)
from nlu.rasa_engine import RasaNlu
from nlu.types import Entity

log = logging.getLogger(__name__)

EntityFinder = Callable[[str], Sequence[Entity]]

# What the page says while a job runs.
STAGE_READING = "Đang đọc dữ liệu huấn luyện"
STAGE_TRAINING = "Đang huấn luyện mô hình mới"
STAGE_EVALUATING = "Đang đánh giá mô hình cũ và mô hình mới"
STAGE_ACTIVATING = "Đang áp dụng mô hình mới"
STAGE_DONE = "Đã xong"
# Held-out figures the new model must not lose: (metric, Vietnamese name).
GATES = (("intent_accuracy", "độ chính xác nhận diện ý định"),
         ("procedure_accuracy", "độ chính xác nhận diện thủ tục"))


class RetrainRefused(Exception):
    """A retraining or restore that cannot start; the message says why (in Vietnamese)."""


def builtin_engine(nlu: NluEngine) -> BuiltinNlu:
    """The built-in engine of what serves (with Rasa, its fallback): the one retraining makes."""
    if isinstance(nlu, RasaNlu):
        return nlu.fallback
    assert isinstance(nlu, BuiltinNlu)
    return nlu


def entity_finder(nlu: BuiltinNlu) -> EntityFinder:
    """The NLU's own entity extraction (gazetteers of procedure names and aliases)."""
    return lambda text: nlu.extractor.extract(normalize(text))


def labelled_training_data(examples: Sequence[LabelledExample],
                           find_entities: EntityFinder) -> TrainingData:
    """Staff labels as NLU training data. The procedure is annotated where the NLU finds that
    procedure's name or alias in the text; otherwise the example has no entity."""
    data = TrainingData()
    for labelled in examples:
        text = " ".join(labelled.text.split())  # one line per example in Rasa YAML
        if not text:
            continue
        entities: tuple[AnnotatedEntity, ...] = ()
        if labelled.procedure:
            entities = tuple(
                AnnotatedEntity(EntityType.PROCEDURE, labelled.procedure, e.start, e.end)
                for e in find_entities(text)
                if e.entity == EntityType.PROCEDURE and e.value == labelled.procedure
                and 0 <= e.start < e.end <= len(text))
        data.examples.append(Example(text, labelled.intent, entities))
    return data


def export_yaml(examples: Sequence[LabelledExample], find_entities: EntityFinder) -> str:
    """Labelled examples as a Rasa 3 NLU YAML file."""
    return dump_training_data(labelled_training_data(examples, find_entities))


def figures(nlu: BuiltinNlu, data: TrainingData) -> dict[str, Any] | None:
    """The headline evaluation figures of a model on some data (None without data)."""
    if not data.examples:
        return None
    result = report(predict(nlu.parse, data))
    return {
        "examples": result["examples"],
        "intent_accuracy": result["intent"]["accuracy"],
        "macro_f1": result["intent"]["macro_f1"],
        "procedure_accuracy": result["procedure_accuracy"],
    }


def worse_on(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    """The held-out figures on which the new model is worse (empty: it may serve)."""
    return [name for key, name in GATES if float(after[key]) < float(before[key])]


def model_identity(model: NluModel) -> dict[str, Any]:
    """What tells a model apart from another one trained on other data or at another time."""
    return {"trained_at": model.trained_at, "data_hash": model.data_hash}


@dataclass
class RetrainJob:
    """A retraining in this worker, as the models page shows it."""

    version: str
    username: str
    started_at: dt.datetime
    stage: str = STAGE_READING
    status: str = "training"  # then active, rejected or failed
    message: str = ""
    metrics: dict[str, Any] = field(default_factory=dict)

    @property
    def running(self) -> bool:
        """Not finished yet."""
        return self.status == "training"

    def to_dict(self) -> dict[str, Any]:
        """JSON for the progress endpoint."""
        return {"version": self.version, "username": self.username,
                "started_at": self.started_at.isoformat(), "stage": self.stage,
                "status": self.status, "running": self.running, "message": self.message,
                "metrics": self.metrics}


class Retrainer:
    """Runs retraining jobs and restores in one service worker."""

    def __init__(self, runtime: Runtime, reloader: Reloader, staff: StaffStore) -> None:
        self.runtime = runtime
        self.reloader = reloader
        self.staff = staff
        self.training = runtime.stores.training
        self.job: RetrainJob | None = None
        self._task: asyncio.Task[None] | None = None

    @property
    def models_dir(self) -> Path:
        """Where model versions are saved."""
        return self.runtime.settings.data_dir / "models"

    def model_path(self, version: str) -> Path:
        """The file of one version."""
        return (self.models_dir / f"nlu-{version}.pkl").resolve()

    @property
    def running(self) -> bool:
        """A job of this worker is running."""
        return self._task is not None and not self._task.done()

    def serving(self) -> dict[str, Any]:
        """The identity of the model this worker serves."""
        return model_identity(self.runtime.pipeline.brain.nlu.model)

    async def start(self, username: str) -> RetrainJob:
        """Start retraining in the background; raises RetrainRefused while one runs."""
        if self.running and self.job is not None:
            raise RetrainRefused(self._busy_message(self.job.username, self.job.started_at))
        examples = await self.training.examples()
        version = dt.datetime.now(VN_TIME).strftime("%Y%m%d-%H%M%S")
        path = self.model_path(version)
        try:
            row = await self.training.start_model(version, str(path), username, len(examples))
        except TrainingBusy as busy:
            raise RetrainRefused(self._busy_message(busy.running.username,
                                                    busy.running.created_at)) from None
        except IntegrityError:
            raise RetrainRefused("Vừa có người bấm huấn luyện lại. Vui lòng chờ kết quả.") \
                from None
        await self.staff.audit(username, "model", version, "retrain", None,
                               {"labelled_examples": len(examples)},
                               f"Bắt đầu huấn luyện lại với {len(examples)} câu đã gán nhãn")
        self.job = RetrainJob(version, username, row.created_at)
        self._task = asyncio.create_task(self._run(self.job, examples, path))
        return self.job

    @staticmethod
    def _busy_message(username: str, since: dt.datetime) -> str:
        local = since.astimezone(VN_TIME)
        return (f"Đang có một lần huấn luyện lại chạy (do {username} bắt đầu lúc "
                f"{local:%H:%M}). Vui lòng chờ xong rồi thử lại.")

    async def close(self) -> None:
        """Stop waiting for a job when the service stops (its row is marked failed)."""
        if self.running and self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def _run(self, job: RetrainJob, examples: list[LabelledExample], path: Path) -> None:
        try:
            await self._retrain(job, examples, path)
        except asyncio.CancelledError:
            await self._fail(job, "Máy chủ dừng trong khi đang huấn luyện.")
            raise
        except Exception as exc:  # any failure ends the job with a message, never silently
            log.exception("retraining %s failed", job.version)
            await self._fail(job, f"Huấn luyện thất bại: {type(exc).__name__}: {exc}")

    async def _fail(self, job: RetrainJob, message: str) -> None:
        job.status, job.message, job.stage = STATUS_FAILED, message, STAGE_DONE
        try:
            await self.training.finish_model(job.version, STATUS_FAILED, job.metrics, message)
            await self.staff.audit(job.username, "model", job.version, "fail", None, None,
                                   message)
        except Exception:
            log.exception("cannot record that retraining %s failed", job.version)

    async def _retrain(self, job: RetrainJob, examples: list[LabelledExample],
                       path: Path) -> None:
        settings = self.runtime.settings
        current = builtin_engine(self.runtime.pipeline.brain.nlu)
        loop = asyncio.get_running_loop()
        shipped = await loop.run_in_executor(None, load_training_data,
                                             settings.nlu_train_files)
        held_out = await loop.run_in_executor(None, load_training_data,
                                              [settings.nlu_test_file])
        labelled = labelled_training_data(examples, entity_finder(current))
        data = shipped.merge(labelled)

        job.stage = STAGE_TRAINING
        model = await loop.run_in_executor(None, train, data, current.lexicon)
        candidate = current.with_model(model)

        job.stage = STAGE_EVALUATING
        before_test = await loop.run_in_executor(None, figures, current, held_out)
        after_test = await loop.run_in_executor(None, figures, candidate, held_out)
        before_labelled = await loop.run_in_executor(None, figures, current, labelled)
        after_labelled = await loop.run_in_executor(None, figures, candidate, labelled)
        if before_test is None or after_test is None:
            raise ValueError(f"the held-out file {settings.nlu_test_file} has no examples")

        previous = await self.training.active_model()
        if previous is None:
            previous = await self._record_shipped_model(current, before_test, before_labelled)
        worse = worse_on(before_test, after_test)
        job.metrics = {
            **model_identity(model),
            "train_examples": len(data.examples),
            "labelled_examples": len(labelled.examples),
            "train_seconds": model.train_seconds,
            "test_file": str(settings.nlu_test_file),
            "test": after_test,
            "labelled": after_labelled,
            "before": {"version": previous.version, "test": before_test,
                       "labelled": before_labelled},
            "worse": worse,
        }
        before = {"version": previous.version, "test": before_test}
        after = {"version": job.version, "test": after_test}
        if worse:
            job.status, job.stage = STATUS_REJECTED, STAGE_DONE
            job.message = ("Không áp dụng mô hình mới vì kém hơn mô hình đang dùng về "
                           + " và ".join(worse) + " trên bộ câu kiểm tra.")
            await self.training.finish_model(job.version, STATUS_REJECTED, job.metrics,
                                             job.message)
            await self.staff.audit(job.username, "model", job.version, "reject", before,
                                   after, job.message)
            return

        job.stage = STAGE_ACTIVATING
        await loop.run_in_executor(None, model.save, path)
        job.message = "Đã áp dụng mô hình mới: không kém hơn mô hình cũ trên bộ câu kiểm tra."
        await self.training.finish_model(job.version, STATUS_TRAINING, job.metrics,
                                         job.message, str(path))
        await self._activate(job.version, str(path))
        job.status, job.stage = STATUS_ACTIVE, STAGE_DONE
        await self.staff.audit(job.username, "model", job.version, "activate", before, after,
                               job.message)

    async def _record_shipped_model(self, current: BuiltinNlu, test: dict[str, Any],
                                    labelled: dict[str, Any] | None) -> ModelVersion:
        """The model that served before any retraining, saved so it can be restored."""
        version = f"goc-{current.model.data_hash}"
        path = self.model_path(version)
        await asyncio.get_running_loop().run_in_executor(None, current.model.save, path)
        try:
            trained = dt.datetime.fromisoformat(current.model.trained_at)
        except ValueError:
            trained = None
        return await self.training.add_model(
            version, str(path), "hệ thống", current.model.examples, STATUS_ACTIVE,
            {"baseline": True, **model_identity(current.model), "test": test,
             "labelled": labelled, "train_examples": current.model.examples,
             "train_seconds": current.model.train_seconds},
            "Mô hình huấn luyện từ dữ liệu đi kèm phần mềm", created_at=trained)

    async def _activate(self, version: str, path: str) -> None:
        """Serve a version in every worker: mark it active, announce it, load it here now."""
        await self.training.activate(version)
        await announce(self.reloader.key_values, MODEL_VERSION,
                       {"version": version, "path": path}, self.reloader.runtime.redis)
        await self.reloader.check()

    async def restore(self, version: str, username: str) -> ModelVersion:
        """Serve an older version again; raises RetrainRefused when it cannot."""
        if self.running or any(m.status == STATUS_TRAINING and not m.stale
                               for m in await self.training.models(limit=10)):
            raise RetrainRefused("Đang huấn luyện lại. Vui lòng chờ xong rồi khôi phục.")
        wanted = await self.training.model(version)
        if wanted is None:
            raise RetrainRefused("Không có phiên bản mô hình này.")
        if wanted.status == STATUS_ACTIVE:
            raise RetrainRefused("Phiên bản này đang được dùng.")
        if wanted.status != STATUS_RETIRED:
            raise RetrainRefused("Chỉ khôi phục được phiên bản đã từng được dùng.")
        try:
            await asyncio.get_running_loop().run_in_executor(None, NluModel.load,
                                                             Path(wanted.path))
        except (OSError, ValueError, EOFError, AttributeError, ImportError) as exc:
            log.warning("cannot restore model %s from %s: %s", version, wanted.path, exc)
            raise RetrainRefused("Không đọc được tệp của phiên bản này, không thể khôi phục.") \
                from None
        previous = await self.training.active_model()
        await self._activate(version, wanted.path)
        summary = f"Khôi phục mô hình {version}"
        await self.staff.audit(username, "model", version, "restore",
                               {"version": previous.version} if previous else None,
                               {"version": version}, summary)
        restored = await self.training.model(version)
        assert restored is not None
        return restored
