"""The one settings object: read once from the environment (prefix ``EGOVBOT_``) at start."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from knowledge.office_hours import DEFAULT_SCHEDULE, OfficeSchedule, ScheduleError

PROJECT_ROOT = Path(__file__).resolve().parents[2]
PACKAGED_KNOWLEDGE = PROJECT_ROOT / "knowledge" / "data"
PACKAGED_NLU_DATA = PROJECT_ROOT / "nlu" / "data"


class Settings(BaseSettings):
    """Every setting of the service, with embedded defaults that need no other service."""

    model_config = SettingsConfigDict(env_prefix="EGOVBOT_", extra="ignore")

    host: str = Field(default="127.0.0.1", description="where the HTTP server listens")
    port: int = Field(default=8080, ge=1, le=65535)
    shutdown_timeout: float = Field(default=30.0, gt=0, description="seconds to finish work")
    header_timeout: float = Field(default=15.0, gt=0, le=3600, description="seconds a "
                                  "connection may take to send a complete request head (also "
                                  "how long an idle keep-alive connection stays open)")
    body_timeout: float = Field(default=60.0, gt=0, le=3600, description="seconds a client may "
                                "take to send a request body; slower ones get 408")
    trusted_proxies: list[str] = Field(
        default=[], description='reverse proxies in front, e.g. ["127.0.0.1"]: requests must '
        "then come through one of them, and its X-Forwarded-For/-Proto/-Host are believed "
        "(client address in logs, Secure cookies behind HTTPS); /healthz, /readyz and /metrics "
        "may also be asked directly")
    log_format: str = Field(default="text", pattern="^(text|json)$",
                            description="log lines: 'text', or 'json' (one object per line, "
                            "with the conversation id; see bot/service/logs.py)")

    data_dir: Path = Field(default=Path("var"), description="where the SQLite file and models go")
    database_url: str = Field(default="", description="SQLAlchemy async URL; SQLite by default")
    database_pool_size: int = Field(
        default=20, ge=5, le=500, description="database connections each worker opens at "
        "most (on PostgreSQL, workers x this must stay under the server's max_connections)")
    redis_url: str = Field(default="", description="Redis URL for scale-out (locks, rate limits, "
                           "reload signal); empty: one process, in-memory")
    lock_ttl: float = Field(default=30.0, ge=1, le=600, description="seconds a conversation "
                            "lock lives unless renewed (a dead worker's lock frees itself)")
    knowledge_dir: Path = Field(default=PACKAGED_KNOWLEDGE,
                                description="YAML seeded into an empty database")
    nlu_train_files: list[Path] = Field(default=[PACKAGED_NLU_DATA / "nlu.yml"])
    nlu_test_file: Path = Field(default=PACKAGED_NLU_DATA / "test" / "test.yml")
    nlu_engine: str = Field(default="builtin", pattern="^(builtin|rasa)$")
    nlu_oos_threshold: float = Field(default=0.25, ge=0.0, le=1.0)
    text_cache: int = Field(
        default=1024, ge=0, le=100_000, description="short messages without digits whose "
        "parse and FAQ search are kept for the next time they are sent (0: none)")

    # Rasa (EGOVBOT_NLU_ENGINE=rasa; see nlu/rasa_engine.py and `egovbot rasa export`)
    rasa_url: str = Field(default="", description="Rasa server base URL, e.g. "
                          "http://127.0.0.1:5005 (rasa run --enable-api)")
    rasa_timeout: float = Field(default=1.0, gt=0, le=30, description="seconds per parse "
                                "before the built-in engine answers instead")
    rasa_text_form: str = Field(default="plain", pattern="^(raw|normalized|plain)$",
                                description="text the Rasa model was trained on: 'plain' or "
                                "'normalized' for `egovbot rasa export`, 'raw' for your own")
    rasa_token: str = Field(default="", description="Rasa --auth-token, if it has one")

    dossier_api_url: str = Field(default="", description="status API base URL; empty: simulator")
    dossier_api_token: str = Field(default="simulator-token")
    dossier_api_timeout: float = Field(default=1.5, gt=0, le=30)
    dossier_api_deadline: float = Field(default=4.0, gt=0, le=30)
    dossier_api_circuit_reset: float = Field(
        default=30.0, ge=1, le=600, description="seconds the status API is left alone after "
        "5 failures in a row before one lookup tries it again")
    dossier_lookups_per_hour: int = Field(default=10, ge=1, le=1000)
    dossier_lookups_per_address: int = Field(
        default=30, ge=1, le=100_000, description="dossier lookups per hour from one client "
        "address on the web chat, whatever the sender ids (a kiosk or an office shares one)")
    dossier_lookups_per_minute: int = Field(
        default=120, ge=1, le=1_000_000, description="dossier lookups per minute from all "
        "citizens together (every worker), so rotating sender ids or addresses cannot "
        "enumerate dossier codes")

    # Following dossiers (bot/follow/; issue 13)
    follow_enabled: bool = Field(default=True, description="citizens may follow dossiers; "
                                 "this worker polls the status API and sends the notices")
    follow_poll_interval: float = Field(
        default=900.0, ge=1, description="seconds between two polls of one followed dossier "
        "(spread over time; a pushed event tells sooner)")
    follow_requests_per_second: float = Field(
        default=5.0, gt=0, description="status-API requests per second for polling, shared "
        "by every worker (through Redis when configured)")
    follow_retry_after: float = Field(default=30.0, gt=0, description="seconds before a failed "
                                      "poll is tried again (doubling, up to the interval)")
    follow_tick: float = Field(default=1.0, gt=0, le=60,
                               description="seconds between two looks for due polls and notices")
    follow_max_per_citizen: int = Field(default=5, ge=1, le=100)
    follow_days: int = Field(default=90, ge=1, le=3650, description="a follow ends after this")
    dossier_events_secret: str = Field(
        default="", description="HMAC-SHA256 key of POST /api/dossier-events (one-stop-shop "
        "systems pushing changes); empty: the endpoint answers 404")
    dossier_events_window: float = Field(
        default=300.0, gt=0, description="seconds a pushed event's timestamp may be off (replay "
        "window)")
    simulator_host: str = "127.0.0.1"
    simulator_port: int = Field(default=8099, ge=1, le=65535, description="port of the "
                                "simulator `egovbot serve` embeds; when not set and 8099 is "
                                "taken, it takes a free port (serve prints its URL)")

    retention_days: int = Field(default=365, ge=1, description="conversations untouched this "
                                "long, with their transcripts, notes and inbox rows, are deleted")
    retention_interval: float = Field(default=3600.0, gt=0, description="seconds between two "
                                      "runs of the deletion of what is past retention")
    reload_interval: float = Field(default=2.0, gt=0, description="seconds between checks for "
                                   "published knowledge or a new model")
    state_ttl_minutes: float = Field(default=30.0, gt=0)
    state_cache_size: int = Field(default=10_000, ge=0,
                                  description="conversation states kept in memory (one process)")
    office_hours_schedule: str = Field(
        default=DEFAULT_SCHEDULE, description="when officers answer, Vietnam time: day groups "
        "separated by ';', e.g. 'mon-fri 07:30-11:30,13:30-17:00; sat 07:30-11:30'")
    office_holidays: str = Field(default="", description="days off: dates or ranges, e.g. "
                                 "'2026-01-01, 2026-02-16..2026-02-20'")

    # Web chat (bot/channels/web/channel.py)
    web_allow_unsigned_senders: bool = Field(
        default=False, description="true: POST /api/chat also takes sender ids the client "
        "chose (Rasa REST front ends), so whoever knows an id acts in that conversation; "
        "false: only ids issued and signed by POST /api/chat/session (the widget's)")

    # Telegram (Bot API through python-telegram-bot; see docs in bot/channels/telegram/channel.py)
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

    # Zalo (Official Account API v3, OAuth v4; see docs in bot/channels/zalo/channel.py)
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
    zalo_window_hours: float = Field(
        default=48.0, gt=0, description="Zalo's free reply window after the citizen's last "
        "message; a dossier notice outside it is held for their next message, or sent as a "
        "transaction message when zalo_transaction_notices is on")
    zalo_transaction_notices: bool = Field(
        default=False, description="the OA may send transaction messages (its quota): dossier "
        "notices outside the reply window go out as one")
    zalo_transaction_template: str = Field(default="transaction_order",
                                           pattern="^transaction_[a-z]+$")
    zalo_timeout: float = Field(default=5.0, gt=0, le=60, description="seconds per API call")
    zalo_attempts: int = Field(default=3, ge=1, le=10, description="tries per API call")
    zalo_retry_backoff: float = Field(default=0.5, ge=0, le=30, description="first retry delay")
    zalo_token_margin: float = Field(default=300.0, ge=0, description="refresh this early (s)")
    zalo_token_check_interval: float = Field(default=3600.0, gt=0,
                                             description="seconds between token checks")
    zalo_image_hosts: list[str] = Field(
        default=["zdn.vn", "zadn.vn", "zalo.me"],
        description="hosts (and their subdomains) Zalo image URLs are downloaded from; "
                    "an image elsewhere is not fetched")
    # Receipt photos (issue 13): checked before decoding, never kept beyond the request
    receipt_max_bytes: int = Field(default=10 * 1024 * 1024, ge=1024,
                                   description="largest image file read (bytes)")
    receipt_max_pixels: int = Field(default=40_000_000, ge=10_000,
                                    description="most pixels an image may have (bombs)")
    receipt_download_timeout: float = Field(default=10.0, gt=0, le=60,
                                            description="seconds to download one image")

    @field_validator("office_hours_schedule", "office_holidays")
    @classmethod
    def _readable_office_hours(cls, value: str, info: ValidationInfo) -> str:
        """Refuse an office-hours setting that cannot be read, saying what is wrong."""
        try:
            if info.field_name == "office_holidays":
                OfficeSchedule.parse(DEFAULT_SCHEDULE, value)
            else:
                OfficeSchedule.parse(value)
        except ScheduleError as exc:
            raise ValueError(str(exc)) from exc
        return value

    @property
    def office_schedule(self) -> OfficeSchedule:
        """When officers answer (the one source of office hours and their wording)."""
        return OfficeSchedule.parse(self.office_hours_schedule, self.office_holidays)

    @property
    def office_hours(self) -> str:
        """The office hours in words, for messages."""
        return self.office_schedule.describe()

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
