"""The one settings object: read once from the environment (prefix ``EGOVBOT_``) at start."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent
PACKAGED_KNOWLEDGE = PROJECT_ROOT / "knowledge" / "data"
PACKAGED_NLU_DATA = PROJECT_ROOT / "nlu" / "data"


class Settings(BaseSettings):
    """Every setting of the service, with embedded defaults that need no other service."""

    model_config = SettingsConfigDict(env_prefix="EGOVBOT_", extra="ignore")

    host: str = Field(default="127.0.0.1", description="where the HTTP server listens")
    port: int = Field(default=8080, ge=1, le=65535)
    shutdown_timeout: float = Field(default=30.0, gt=0, description="seconds to finish work")

    data_dir: Path = Field(default=Path("var"), description="where the SQLite file and models go")
    database_url: str = Field(default="", description="SQLAlchemy async URL; SQLite by default")
    knowledge_dir: Path = Field(default=PACKAGED_KNOWLEDGE,
                                description="YAML seeded into an empty database")
    nlu_train_files: list[Path] = Field(default=[PACKAGED_NLU_DATA / "nlu.yml"])
    nlu_test_file: Path = Field(default=PACKAGED_NLU_DATA / "test" / "test.yml")
    nlu_engine: str = Field(default="builtin", pattern="^(builtin|rasa)$")
    nlu_oos_threshold: float = Field(default=0.25, ge=0.0, le=1.0)

    dossier_api_url: str = Field(default="", description="status API base URL; empty: simulator")
    dossier_api_token: str = Field(default="simulator-token")
    dossier_api_timeout: float = Field(default=1.5, gt=0, le=30)
    dossier_api_deadline: float = Field(default=4.0, gt=0, le=30)
    dossier_lookups_per_hour: int = Field(default=10, ge=1, le=1000)
    simulator_host: str = "127.0.0.1"
    simulator_port: int = Field(default=8099, ge=1, le=65535)

    state_ttl_minutes: float = Field(default=30.0, gt=0)
    state_cache_size: int = Field(default=10_000, ge=0,
                                  description="conversation states kept in memory (one process)")
    office_hours: str = "Thứ Hai đến Thứ Sáu, 7:30–11:30 và 13:30–17:00"

    @property
    def effective_database_url(self) -> str:
        """The configured database URL, or the SQLite file in the data directory."""
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.data_dir / 'egovbot.db').resolve()}"

    @property
    def model_path(self) -> Path:
        """Where the current built-in NLU model is kept."""
        return self.data_dir / "models" / "nlu-current.pkl"
