"""Settings, read from the environment once, in the composition root."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path

from hub.domain.event_feed import RETENTION_MIN_HOURS, retention_hours


def _secret_repr(value: str | None) -> str:
    return "None" if value is None else "'***'"


@dataclass(frozen=True)
class Settings:
    redis_url: str | None = None
    data_dir: Path = Path("./var")
    # SQL system of record for history; default: SQLite under data_dir.
    database_url: str | None = field(default=None, repr=False)
    public_url: str = "http://127.0.0.1:8000"
    admin_token: str | None = field(default=None, repr=False)
    host: str = "127.0.0.1"
    port: int = 8000
    log_level: str = "info"
    retention_days: int = 90
    correlation_window_days: int = 7
    # How long an activity in a final status keeps its full record in Redis
    # once archived (0: until HUB_RETENTION_DAYS); after that SQL answers for it.
    hot_seconds: float = 3600.0
    appendfsync: str = "everysec"
    twilio_api_base_url: str | None = None
    # TeleSign REST base URL for telesign channels without their own api_base_url.
    telesign_api_base_url: str | None = None
    # Sandbox provider base URL used by channels whose provider is `sandbox`.
    sandbox_url: str | None = None
    # Hosts (`host` or `host:port`) where a tenant's api_base_url may use http
    # and private addresses (HUB_ALLOWED_PROVIDER_HOSTS, comma-separated).
    allowed_provider_hosts: tuple[str, ...] = ()
    workers: int = 4
    worker_batch: int = 100
    # A job that a worker took and has not acknowledged for this long is
    # taken over by another worker (the first one is presumed dead).
    claim_idle_ms: int = 30_000
    send_timeout_s: float = 10.0
    # Attempts at an opt-out confirmation (sent at most once, in process).
    max_send_attempts: int = 5
    # A send the provider could not take (unreachable, 429, 5xx, timeout) is
    # tried again, backing off up to the max delay, for this long after its
    # first attempt; then it ends `failed`. Activities expire at retention,
    # so the window must end before they do.
    send_retry_window_s: float = 86_400.0
    send_retry_max_delay_s: float = 300.0
    # A channel's circuit opens after this many retryable failures in a row
    # and stays open (nothing sent, one probe after) for the cool-down.
    circuit_threshold: int = 5
    circuit_cooldown_s: float = 30.0
    agent_grace_s: float = 30.0
    token_ttl_s: int = 12 * 3600
    # A websocket ticket (POST /v1/agent/ws-ticket) opens one connection within this.
    ws_ticket_ttl_s: float = 30.0
    # Failed sign-ins allowed per email (any address) and per client address
    # (any email) in 15 minutes; see hub.domain.sign_in.
    login_failures_per_email: int = 20
    login_failures_per_address: int = 100
    # Flows: how often every process looks for due schedules, how far behind
    # its time an occurrence counts as late, and the bulk job runners' lease.
    scheduler_interval_s: float = 0.5
    schedule_late_after_s: float = 30.0
    bulk_runners: int = 2
    bulk_lease_ms: int = 30_000
    bulk_window: int = 4
    # How often each process looks at an org nobody announced work for (the
    # background loops' safety net; see hub.services.workboard).
    idle_check_s: float = 30.0
    # Webhooks journaled while Redis is down, per process, before new ones are refused (503).
    journal_max_bytes: int = 1024 * 1024 * 1024
    # The event feed: how long the per-org event log keeps events (at least
    # 24 h: the deliverer retries a failing endpoint for as long as they are
    # kept) and how often a process looks for new events of its endpoints.
    event_retention_hours: int = 72
    event_poll_s: float = 1.0

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        host = env.get("HUB_HOST", cls.host)
        port = int(env.get("HUB_PORT", cls.port))
        return cls(
            redis_url=env.get("REDIS_URL") or None,
            data_dir=Path(env.get("HUB_DATA_DIR", "./var")),
            database_url=env.get("DATABASE_URL") or None,
            public_url=env.get("HUB_PUBLIC_URL") or f"http://{host}:{port}",
            admin_token=env.get("HUB_ADMIN_TOKEN") or None,
            host=host,
            port=port,
            log_level=env.get("HUB_LOG_LEVEL", cls.log_level).lower(),
            retention_days=int(env.get("HUB_RETENTION_DAYS", cls.retention_days)),
            correlation_window_days=int(env.get("HUB_CORRELATION_WINDOW_DAYS", cls.correlation_window_days)),
            hot_seconds=float(env.get("HUB_HOT_SECONDS", cls.hot_seconds)),
            appendfsync=env.get("HUB_REDIS_APPENDFSYNC", cls.appendfsync),
            twilio_api_base_url=env.get("TWILIO_API_BASE_URL") or None,
            telesign_api_base_url=env.get("TELESIGN_API_BASE_URL") or None,
            sandbox_url=env.get("HUB_SANDBOX_URL") or None,
            allowed_provider_hosts=tuple(
                h.strip().lower() for h in env.get("HUB_ALLOWED_PROVIDER_HOSTS", "").split(",") if h.strip()
            ),
            workers=int(env.get("HUB_WORKERS", cls.workers)),
            claim_idle_ms=int(env.get("HUB_CLAIM_IDLE_MS", cls.claim_idle_ms)),
            send_timeout_s=float(env.get("HUB_SEND_TIMEOUT", cls.send_timeout_s)),
            send_retry_window_s=float(env.get("HUB_SEND_RETRY_WINDOW", cls.send_retry_window_s)),
            send_retry_max_delay_s=float(env.get("HUB_SEND_RETRY_MAX_DELAY", cls.send_retry_max_delay_s)),
            circuit_threshold=int(env.get("HUB_CIRCUIT_THRESHOLD", cls.circuit_threshold)),
            circuit_cooldown_s=float(env.get("HUB_CIRCUIT_COOLDOWN", cls.circuit_cooldown_s)),
            agent_grace_s=float(env.get("HUB_AGENT_GRACE_SECONDS", cls.agent_grace_s)),
            scheduler_interval_s=float(env.get("HUB_SCHEDULER_INTERVAL", cls.scheduler_interval_s)),
            schedule_late_after_s=float(env.get("HUB_SCHEDULE_LATE_SECONDS", cls.schedule_late_after_s)),
            bulk_runners=int(env.get("HUB_BULK_RUNNERS", cls.bulk_runners)),
            bulk_lease_ms=int(env.get("HUB_BULK_LEASE_MS", cls.bulk_lease_ms)),
            bulk_window=max(1, int(env.get("HUB_BULK_WINDOW", cls.bulk_window))),
            idle_check_s=float(env.get("HUB_IDLE_CHECK_SECONDS", cls.idle_check_s)),
            ws_ticket_ttl_s=float(env.get("HUB_WS_TICKET_SECONDS", cls.ws_ticket_ttl_s)),
            login_failures_per_email=int(env.get("HUB_LOGIN_FAILURES_PER_EMAIL", cls.login_failures_per_email)),
            login_failures_per_address=int(env.get("HUB_LOGIN_FAILURES_PER_ADDRESS", cls.login_failures_per_address)),
            journal_max_bytes=int(float(env.get("HUB_JOURNAL_MAX_MB", 1024)) * 1024 * 1024),
            event_retention_hours=retention_hours(env.get("HUB_EVENT_RETENTION_HOURS"), cls.event_retention_hours),
            event_poll_s=float(env.get("HUB_EVENT_POLL_SECONDS", cls.event_poll_s)),
        )

    def __post_init__(self) -> None:
        if not 0 <= self.send_retry_window_s < self.retention_s:
            raise ValueError(
                "HUB_SEND_RETRY_WINDOW must be at least 0 and end before HUB_RETENTION_DAYS (activities expire then)"
            )
        if self.send_retry_max_delay_s <= 0 or self.circuit_cooldown_s <= 0:
            raise ValueError("HUB_SEND_RETRY_MAX_DELAY and HUB_CIRCUIT_COOLDOWN must be positive")
        if self.hot_seconds < 0:
            raise ValueError("HUB_HOT_SECONDS must be at least 0")
        if self.circuit_threshold < 1:
            raise ValueError("HUB_CIRCUIT_THRESHOLD must be at least 1")
        if self.idle_check_s <= 0:
            raise ValueError("HUB_IDLE_CHECK_SECONDS must be positive")
        if self.event_retention_hours < RETENTION_MIN_HOURS:
            raise ValueError(f"HUB_EVENT_RETENTION_HOURS must be at least {RETENTION_MIN_HOURS}")
        if self.event_poll_s <= 0:
            raise ValueError("HUB_EVENT_POLL_SECONDS must be positive")

    def with_(self, **changes: object) -> Settings:
        return replace(self, **changes)  # type: ignore[arg-type]

    def __repr__(self) -> str:
        parts = []
        for f in fields(self):
            value = getattr(self, f.name)
            # A database URL may carry a password.
            secret = f.name in ("admin_token", "database_url")
            shown = _secret_repr(value) if secret else repr(value)
            parts.append(f"{f.name}={shown}")
        return f"Settings({', '.join(parts)})"

    @property
    def trusted_provider_urls(self) -> tuple[str, ...]:
        """Base URLs the operator set: a channel may name them whatever they point at."""
        return tuple(u for u in (self.twilio_api_base_url, self.telesign_api_base_url, self.sandbox_url) if u)

    @property
    def sql_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 'hub.sqlite3'}"

    @property
    def retention_s(self) -> int:
        return self.retention_days * 86400

    @property
    def correlation_window_s(self) -> int:
        return self.correlation_window_days * 86400
