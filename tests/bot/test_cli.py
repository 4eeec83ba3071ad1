"""The egovbot command line, run in-process against a temporary data directory."""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

import pytest
import yaml

from bot.cli import main
from bot.service.settings import PACKAGED_KNOWLEDGE, Settings
from nlu.engine import NluModel
from tests.conftest import prepare_data_dir


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("EGOVBOT_DATA_DIR", str(tmp_path / "var"))
    return tmp_path


@pytest.fixture
def ready(isolated: Path, shipped_model: NluModel, database_template: Path) -> None:
    """The data directory as after a first start: the seeded database and a trained model
    (commands that only read need not migrate, import the catalog and train first)."""
    prepare_data_dir(Settings(data_dir=isolated / "var"), database_template, shipped_model)


@pytest.mark.slow
def test_parse_prints_rasa_json(capsys: pytest.CaptureFixture[str], ready: None) -> None:
    assert main(["nlu", "parse", "lam cccd het bao nhieu tien"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["intent"]["name"] == "procedure_fee"
    assert result["entities"][0]["value"] == "can-cuoc"


@pytest.mark.slow
def test_parse_reads_stdin_lines(capsys: pytest.CaptureFixture[str],
                                 monkeypatch: pytest.MonkeyPatch, ready: None) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("chào bạn\ncho gặp nhân viên\n"))
    assert main(["nlu", "parse"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [json.loads(line)["intent"]["name"] for line in lines] == ["greet", "human_handoff"]


@pytest.mark.slow  # over ~2 s
def test_train_then_test_writes_a_report(tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["nlu", "train"]) == 0
    assert (tmp_path / "var" / "models" / "nlu-current.pkl").exists()
    report_path = tmp_path / "report.json"
    assert main(["nlu", "test", "--report", str(report_path)]) == 0
    out = capsys.readouterr().out
    assert "intent accuracy" in out and "procedure accuracy" in out
    report = json.loads(report_path.read_text("utf-8"))
    assert report["intent"]["accuracy"] > 0.9
    assert {"procedure", "dossier_code", "overall"} <= set(report["entities"])
    assert 0 < report["sentence_accuracy"] <= 1


def test_kb_load_is_idempotent_and_export_round_trips(tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["kb", "load"]) == 0
    assert "added" in capsys.readouterr().out
    assert main(["kb", "load"]) == 0
    assert "added 0, updated 0" in capsys.readouterr().out
    assert main(["kb", "export", str(tmp_path / "out")]) == 0
    assert main(["kb", "load", str(tmp_path / "out")]) == 0
    assert "added 0, updated 0" in capsys.readouterr().out


@pytest.mark.slow  # over ~2 s
def test_kb_load_of_a_bad_file_loads_nothing(tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    kb = tmp_path / "kb"
    shutil.copytree(PACKAGED_KNOWLEDGE, kb)
    good = kb / "procedures" / "khai-tu.yaml"
    data = yaml.safe_load(good.read_text("utf-8"))
    data["name"] = "Khai tử (đã sửa)"
    good.write_text(yaml.safe_dump(data, allow_unicode=True), "utf-8")
    (kb / "procedures" / "ket-hon.yaml").write_text("id: ket-hon\nname: x\n", "utf-8")
    assert main(["kb", "load", str(kb)]) == 2
    err = capsys.readouterr().err
    assert "Nothing was loaded" in err and "ket-hon.yaml" in err and "field steps" in err
    assert main(["kb", "search", "khai tu"]) == 0
    assert "Khai tử (đã sửa)" not in capsys.readouterr().out


def test_kb_search(capsys: pytest.CaptureFixture[str], ready: None) -> None:
    assert main(["kb", "search", "giay phep xay dung"]) == 0
    assert capsys.readouterr().out.splitlines()[0].split()[2] == "gpxd-nha-o"


def test_users_add_list_disable(capsys: pytest.CaptureFixture[str],
                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("mat-khau-rat-dai-1\n"))
    assert main(["users", "add", "lan", "--role", "admin", "--password-stdin"]) == 0
    monkeypatch.setattr("sys.stdin", io.StringIO("ngan\n"))
    assert main(["users", "add", "minh", "--password-stdin"]) == 2
    assert "ít nhất 10 ký tự" in capsys.readouterr().err
    assert main(["users", "list"]) == 0
    assert "lan" in capsys.readouterr().out
    assert main(["users", "disable", "lan"]) == 0
    assert main(["users", "list"]) == 0
    assert "disabled" in capsys.readouterr().out
    assert main(["users", "disable", "khong-co"]) == 2


def test_db_upgrade_and_current(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["db", "current"]) == 0
    assert "database: empty" in capsys.readouterr().out
    assert main(["db", "upgrade"]) == 0
    assert "empty ->" in capsys.readouterr().out
    assert main(["db", "current"]) == 0
    out = capsys.readouterr().out
    code = out.split("code: ")[1].strip()
    assert f"database: {code};" in out
