"""Settings, read from the environment once, in `create_app` or the command line."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from pydantic import AliasChoices, Field

from handoff.ranking import ScoreWeights
from handoff.rates import RateWeights
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="HOTLINE_", env_file=".env", extra="ignore")

    database_url: str | None = Field(
        default=None, validation_alias=AliasChoices("DATABASE_URL", "HOTLINE_DATABASE_URL")
    )
    data_dir: Path = Path("data")
    host: str = "127.0.0.1"
    port: int = 8000
    # Longer than a load balancer's idle timeout (60 s on the common ones), so that the balancer, not
    # us, closes an idle connection: else it may send a request down one we are closing.
    keep_alive_seconds: int = 75
    timezone: str = "Asia/Shanghai"
    jurisdiction: str = "110000"
    max_message_chars: int = 2000
    intake_batch_size: int = 64  # messages a process writes in one transaction at most, under load
    run_workers: bool = True
    auto_migrate: bool = True
    idle_close_hours: float = 24.0
    outbox_keep_days: float = 7.0  # delivered outbox entries kept this long (the messages stay)
    nlu_model_dir: Path | None = None
    # Assessment weights (docs/assessment.md): satisfaction levels, and the composite score.
    weight_satisfied: float = 1.0
    weight_basically_satisfied: float = 0.8
    weight_unsatisfied: float = 0.0
    weight_response: float = 0.10
    weight_resolution: float = 0.45
    weight_satisfaction: float = 0.45
    survey_delay_minutes: float = 0.0  # 回访: how long after closing the citizen is asked
    survey_retry_hours: float = 24.0  # asked again after this long without an answer
    survey_max_asks: int = 3  # then recorded as unreachable
    session_idle_hours: float = 8.0
    session_absolute_hours: float = 24.0
    cookie_secure: bool = False  # set true behind HTTPS
    log_level: str = "INFO"
    log_format: str = "text"  # text or json
    # Telegram: the channel is on when a bot token is set.
    telegram_token: str | None = None
    telegram_webhook_secret: str | None = None  # required with the webhook; 1-256 of A-Z a-z 0-9 _ -
    telegram_api_url: str = "https://api.telegram.org"
    telegram_rate_overall: float = 30.0  # messages a second, all chats together; 0 turns it off
    telegram_rate_per_chat: float = 1.0  # messages a second to one chat; 0 turns it off
    # WeChat Official Account: the channel is on when the app id and the callback token are set.
    wechat_app_id: str | None = None
    wechat_app_secret: str | None = None  # for pushes (customer-service and template messages)
    wechat_token: str | None = None  # the callback signature token set in the Official Account
    wechat_aes_key: str | None = None  # EncodingAESKey (43 characters), for compatible and safe modes
    wechat_api_url: str = "https://api.weixin.qq.com"
    wechat_template_id: str | None = None  # pushes after the 48-hour window; needs a {{content.DATA}} field
    public_url: str | None = None  # https://… where the platforms reach this server
    channel_timeout: float = 10.0  # seconds for one call to the Telegram or WeChat API
    # Production mode: Redis carries live-chat events between processes and the task queue (arq).
    redis_url: str | None = Field(default=None, validation_alias=AliasChoices("REDIS_URL", "HOTLINE_REDIS_URL"))
    redis_namespace: str = "hotline"  # prefix of every Redis key and channel; one per deployment
    # Abuse limits: inbound messages a minute per citizen and per client address (0 turns one off).
    rate_per_citizen: int = 30
    rate_per_ip: int = 600
    max_body_bytes: int = 1024 * 1024  # larger request bodies get 413 before they are read
    delivery_lease_seconds: float = 60.0  # a send not recorded by then (worker died) is tried again

    @property
    def telegram_enabled(self) -> bool:
        return bool(self.telegram_token)

    @property
    def wechat_enabled(self) -> bool:
        return bool(self.wechat_app_id and self.wechat_token)

    @property
    def db_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'hotline.db').resolve()}"

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def rate_weights(self) -> RateWeights:
        return RateWeights(self.weight_satisfied, self.weight_basically_satisfied, self.weight_unsatisfied)

    @property
    def score_weights(self) -> ScoreWeights:
        return ScoreWeights(self.weight_response, self.weight_resolution, self.weight_satisfaction)

    @property
    def session_idle(self) -> timedelta:
        return timedelta(hours=self.session_idle_hours)

    @property
    def session_absolute(self) -> timedelta:
        return timedelta(hours=self.session_absolute_hours)

    @property
    def idle_close(self) -> timedelta:
        return timedelta(hours=self.idle_close_hours)
