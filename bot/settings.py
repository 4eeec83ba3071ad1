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

    reload_interval: float = Field(default=2.0, gt=0, description="seconds between checks for "
                                   "published knowledge or a new model")
    state_ttl_minutes: float = Field(default=30.0, gt=0)
    state_cache_size: int = Field(default=10_000, ge=0,
                                  description="conversation states kept in memory (one process)")
    office_hours: str = "Thứ Hai đến Thứ Sáu, 7:30–11:30 và 13:30–17:00"

    # Telegram (Bot API through python-telegram-bot; see docs in bot/channels/telegram.py)
    telegram_token: str = Field(default="", description="bot token; empty: the channel is off")
    telegram_webhook_secret: str = Field(
        default="", pattern=r"^[A-Za-z0-9_-]{0,256}$",
        description="X-Telegram-Bot-Api-Secret-Token; webhook mode refuses every update without")
    telegram_api_url: str = Field(
        default="https://api.telegram.org/bot",
        description="Bot API base; the token is appended (or replaces '{token}')")
    telegram_mode: str = Field(default="webhook", pattern="^(webhook|polling)$")
    telegram_poll_timeout: float = Field(default=10.0, ge=0, le=50,
                                         description="getUpdates long-poll seconds")
    telegram_messages_per_second: float = Field(
        default=30.0, ge=0, description="sends per second for the whole bot; 0: no limit")
    telegram_chat_messages_per_second: float = Field(
        default=1.0, ge=0, description="sends per second to one chat (bursts of 3); 0: no limit")
    telegram_attempts: int = Field(default=4, ge=1, le=10, description="tries per API call")
    telegram_retry_backoff: float = Field(default=0.25, ge=0, le=30,
                                          description="first retry delay after a network error")
    telegram_max_retry_after: float = Field(
        default=60.0, ge=0, description="give up rather than wait longer after a 429")

    # Zalo (Official Account API v3, OAuth v4; see docs in bot/channels/zalo.py)
    zalo_app_id: str = Field(default="", description="Zalo app id; empty: the Zalo channel is off")
    zalo_oa_secret: str = Field(default="", description="OA secret key (webhook signatures)")
    zalo_app_secret: str = Field(default="", description="app secret key (token refresh)")
    zalo_refresh_token: str = Field(
        default="", description="first refresh token; used when none is stored, or when changed")
    zalo_api_url: str = "https://openapi.zalo.me"
    zalo_oauth_url: str = "https://oauth.zaloapp.com"
    # Unconfirmed facts (reference channels.md section 5), hence settings:
    zalo_signature_scheme: str = Field(
        default="sha256-concat", pattern="^(sha256-concat|hmac-sha256)$",
        description="sha256-concat: SHA-256(app_id + body + timestamp + key); "
                    "hmac-sha256: HMAC-SHA256(key, body)")
    zalo_signature_key: str = Field(default="oa_secret", pattern="^(oa_secret|app_secret)$")
    zalo_signature_header: str = "X-ZEvent-Signature"
    zalo_signature_timestamp_header: str = Field(
        default="", description="header holding the signed timestamp; empty: the body's")
    zalo_signature_enforce: bool = Field(
        default=True, description="false: log bad signatures but still process (trial only)")
    zalo_recipient: str = Field(
        default="user_id", pattern="^(user_id|message_id)$",
        description="address replies to the user, or to the message being answered")
    zalo_max_text_chars: int = Field(default=2000, ge=200, le=2000)
    zalo_max_buttons: int = Field(default=5, ge=1, le=5)
    zalo_token_error_codes: list[int] = Field(default=[-216, -220])
    zalo_window_error_codes: list[int] = Field(default=[-230, -232, -213])
    zalo_rate_limit_error_codes: list[int] = Field(default=[-32])
    zalo_timeout: float = Field(default=5.0, gt=0, le=60, description="seconds per API call")
    zalo_attempts: int = Field(default=3, ge=1, le=10, description="tries per API call")
    zalo_retry_backoff: float = Field(default=0.5, ge=0, le=30, description="first retry delay")
    zalo_token_margin: float = Field(default=300.0, ge=0, description="refresh this early (s)")
    zalo_token_check_interval: float = Field(default=3600.0, gt=0,
                                             description="seconds between token checks")

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
