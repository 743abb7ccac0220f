"""Configuration from the environment, with defaults that work out of the box.

| variable | default | meaning |
|---|---|---|
| POLYCRM_DATA_DIR | ./polycrm-data | where the embedded SQLite store, the generated secret key and files live |
| POLYCRM_DATABASE_URL | sqlite:///<data dir>/polycrm.db | SQLite or PostgreSQL (postgresql://user@host/db) |
| POLYCRM_SECRET_KEY | generated into <data dir>/secret.key | keys API-key hashes and encrypts stored secrets; comma-separated list rotates (first encrypts) |
| POLYCRM_DEFAULT_CURRENCY | USD | currency of amounts given without one |
| POLYCRM_MAX_BODY_BYTES | 10485760 | largest request body accepted |
| POLYCRM_LOG_LEVEL | info | debug, info, warning, error (PolyCRM's and uvicorn's loggers, docs/logging.md) |
| POLYCRM_LOG_FORMAT | auto | json (a JSON object a line), console (readable); auto: console on a terminal |
| POLYCRM_REMEMBERED_COUNTS | 128 | exact list totals each database connection remembers while the database is unchanged (0: count every time) |
| POLYCRM_PIN_WORKERS | 1 | 1: when `serve --workers` equals the CPUs, each worker process keeps to a CPU of its own (see polycrm.affinity); 0: the OS moves them |
| POLYCRM_WEBHOOK_ALLOW_PRIVATE | 0 | 1: webhooks may reach loopback, private and link-local addresses |
| POLYCRM_WEBHOOK_WORKERS | 1 | delivery workers inside each `polycrm serve` process (0: use `polycrm worker`) |
| POLYCRM_WEBHOOK_CONCURRENCY | 16 | requests one worker has in flight |
| POLYCRM_WEBHOOK_BATCH_SIZE | 50 | most events per EspoCRM webhook request (EspoCRM's webhookBatchSize) |
| POLYCRM_WEBHOOK_POLL_INTERVAL | 0.2 | seconds between looks at the outbox when idle |
| POLYCRM_WEBHOOK_MAX_ATTEMPTS | 8 | attempts per delivery before it fails |
| POLYCRM_WEBHOOK_BACKOFF_BASE | 30 | seconds before the first retry (doubling, with jitter) |
| POLYCRM_WEBHOOK_BACKOFF_MAX | 3600 | longest wait between attempts |
| POLYCRM_WEBHOOK_DISABLE_AFTER | 5 | failed deliveries in a row that disable a subscription |
| POLYCRM_WEBHOOK_RETENTION_DAYS | 7 | how long the delivery log is kept |
| POLYCRM_REDIS_URL | (none) | Redis for rate-limit counters shared by several servers; in memory without it |
| POLYCRM_REDIS_PREFIX | polycrm | prefix of this instance's keys in Redis |
| POLYCRM_INFLOW_RATE_LIMIT | 300/5minutes | InflowCRM API budget per API key and client IP |
| POLYCRM_INFLOW_WEBHOOK_RATE_LIMITS | subscribe=10/hour,list=100/hour,item=50/hour | InflowCRM `/webhooks` budgets per API key and client IP (any subset) |
| POLYCRM_LOGIN_FAILURES_PER_USER | 10/15minutes | failed logins per user name; beyond, its password logins are refused (403) |
| POLYCRM_LOGIN_FAILURES_PER_IP | 50/15minutes | failed logins per client address (an IPv6 address by its /64) |
| POLYCRM_AUTH_TOKEN_MAX_IDLE_HOURS | 48 | an auth token unused this long is refused (EspoCRM's authTokenMaxIdleTime) |
| POLYCRM_AUTH_TOKEN_LIFETIME_HOURS | 720 | an auth token is refused this long after login, however much it is used |
| POLYCRM_AUTH_TOKENS_PER_USER | 20 | auth tokens a user keeps; a new login removes the least recently used beyond it |
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from polycrm.auth.directory import TokenLifetime
from polycrm.auth.secrets import generate_secret_key
from polycrm.events.settings import WebhookSettings
from polycrm.logs import parse_format, parse_level
from polycrm.dialects.inflow.webhooks import DEFAULT_RATES as DEFAULT_WEBHOOK_RATES, parse_webhook_rates
from polycrm.dialects.ratelimit import parse_rate
from polycrm.store.counts import REMEMBERED_COUNTS

# Failed logins allowed per user name and per client address. A person mistypes a few times; a guesser needs
# millions: 10 per user name per quarter hour is ~1000 guesses a day, and an address trying many names is
# cut off at 50. Several users behind one NAT share the address's budget, hence its margin.
LOGIN_FAILURES_PER_USER = "10/15minutes"
LOGIN_FAILURES_PER_IP = "50/15minutes"


@dataclass(frozen=True, slots=True)
class Config:
    data_dir: Path
    database_url: str
    secret_key: str
    default_currency: str = "USD"
    max_body_bytes: int = 10 * 1024 * 1024
    log_level: str = "info"
    log_format: str = "auto"
    pin_workers: bool = True
    remembered_counts: int = REMEMBERED_COUNTS
    webhooks: WebhookSettings = WebhookSettings()
    redis_url: str | None = None
    redis_prefix: str = "polycrm"
    inflow_rate_limit: str = "300/5minutes"
    inflow_webhook_rate_limits: str = DEFAULT_WEBHOOK_RATES
    auth_tokens: TokenLifetime = TokenLifetime()
    login_failures_per_user: str = LOGIN_FAILURES_PER_USER
    login_failures_per_ip: str = LOGIN_FAILURES_PER_IP


def _integer(name: str, default: int, minimum: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    if not raw.isdigit() or int(raw) < minimum:
        raise ValueError(f"{name} must be an integer of at least {minimum}, got {raw!r}")
    return int(raw)


def _positive_int(name: str, default: int) -> int:
    return _integer(name, default, 1)


def _amount(name: str, default: float, unit: str, limit: float) -> float:
    """A positive number below `limit` from the environment (`unit` names it in errors)."""
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"{name} must be a number of {unit}, got {raw!r}") from None
    if not 0 < value < limit:
        raise ValueError(f"{name} must be a positive number of {unit}, got {raw!r}")
    return value


def _seconds(name: str, default: float) -> float:
    return _amount(name, default, "seconds", 10 ** 7)


def _flag(name: str, default: bool = False) -> bool:
    raw = (os.environ.get(name) or ("1" if default else "0")).strip().lower()
    if raw not in {"0", "1", "true", "false", "yes", "no"}:
        raise ValueError(f"{name} must be 1 or 0, got {raw!r}")
    return raw in {"1", "true", "yes"}


def _hours(name: str, default: timedelta) -> timedelta:
    return timedelta(hours=_amount(name, default / timedelta(hours=1), "hours", 10 ** 6))


def token_lifetime() -> TokenLifetime:
    """POLYCRM_AUTH_TOKEN* from the environment."""
    defaults = TokenLifetime()
    return TokenLifetime(max_idle=_hours("POLYCRM_AUTH_TOKEN_MAX_IDLE_HOURS", defaults.max_idle),
                         lifetime=_hours("POLYCRM_AUTH_TOKEN_LIFETIME_HOURS", defaults.lifetime),
                         per_user=_positive_int("POLYCRM_AUTH_TOKENS_PER_USER", defaults.per_user))


def webhook_settings() -> WebhookSettings:
    """POLYCRM_WEBHOOK_* from the environment."""
    defaults = WebhookSettings()
    return WebhookSettings(
        allow_private=_flag("POLYCRM_WEBHOOK_ALLOW_PRIVATE"),
        workers=_integer("POLYCRM_WEBHOOK_WORKERS", defaults.workers, 0),
        concurrency=_positive_int("POLYCRM_WEBHOOK_CONCURRENCY", defaults.concurrency),
        batch_size=_positive_int("POLYCRM_WEBHOOK_BATCH_SIZE", defaults.batch_size),
        poll_interval=_seconds("POLYCRM_WEBHOOK_POLL_INTERVAL", defaults.poll_interval),
        max_attempts=_positive_int("POLYCRM_WEBHOOK_MAX_ATTEMPTS", defaults.max_attempts),
        backoff_base=_seconds("POLYCRM_WEBHOOK_BACKOFF_BASE", defaults.backoff_base),
        backoff_max=_seconds("POLYCRM_WEBHOOK_BACKOFF_MAX", defaults.backoff_max),
        disable_after=_positive_int("POLYCRM_WEBHOOK_DISABLE_AFTER", defaults.disable_after),
        retention_days=_positive_int("POLYCRM_WEBHOOK_RETENTION_DAYS", defaults.retention_days))


def _secret_key(data_dir: Path) -> str:
    configured = os.environ.get("POLYCRM_SECRET_KEY")
    if configured:
        return configured
    path = data_dir / "secret.key"
    if path.exists():
        return path.read_text().strip()
    data_dir.mkdir(parents=True, exist_ok=True)
    key = generate_secret_key()
    # Created with owner-only permissions: it decrypts stored secrets.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(key + "\n")
    return key


def load_config() -> Config:
    """Read configuration from the environment (creating the data directory and secret key if needed)."""
    data_dir = Path(os.environ.get("POLYCRM_DATA_DIR") or "polycrm-data").resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    database_url = os.environ.get("POLYCRM_DATABASE_URL") or f"sqlite:///{data_dir / 'polycrm.db'}"
    currency = os.environ.get("POLYCRM_DEFAULT_CURRENCY") or "USD"
    if len(currency) != 3 or not currency.isalpha() or not currency.isupper():
        raise ValueError(f"POLYCRM_DEFAULT_CURRENCY must be a 3-letter ISO code, got {currency!r}")
    log_level = parse_level(os.environ.get("POLYCRM_LOG_LEVEL"))
    log_format = parse_format(os.environ.get("POLYCRM_LOG_FORMAT"))
    redis_url = os.environ.get("POLYCRM_REDIS_URL") or None
    if redis_url is not None and not redis_url.startswith(("redis://", "rediss://", "redis+unix://")):
        raise ValueError(f"POLYCRM_REDIS_URL must be a redis:// or rediss:// URL, got {redis_url!r}")
    inflow_rate = os.environ.get("POLYCRM_INFLOW_RATE_LIMIT") or "300/5minutes"
    parse_rate(inflow_rate)
    webhook_rates = os.environ.get("POLYCRM_INFLOW_WEBHOOK_RATE_LIMITS") or DEFAULT_WEBHOOK_RATES
    parse_webhook_rates(webhook_rates)
    login_rates = {}
    for name, default in (("POLYCRM_LOGIN_FAILURES_PER_USER", LOGIN_FAILURES_PER_USER),
                          ("POLYCRM_LOGIN_FAILURES_PER_IP", LOGIN_FAILURES_PER_IP)):
        login_rates[name] = os.environ.get(name) or default
        try:
            parse_rate(login_rates[name])
        except ValueError as exc:
            raise ValueError(f"{name}: {exc}") from None
    return Config(data_dir=data_dir, database_url=database_url, secret_key=_secret_key(data_dir),
                  default_currency=currency, max_body_bytes=_positive_int("POLYCRM_MAX_BODY_BYTES", 10 * 1024 * 1024),
                  log_level=log_level, log_format=log_format, pin_workers=_flag("POLYCRM_PIN_WORKERS", default=True),
                  remembered_counts=_integer("POLYCRM_REMEMBERED_COUNTS", REMEMBERED_COUNTS, 0), redis_url=redis_url,
                  redis_prefix=os.environ.get("POLYCRM_REDIS_PREFIX") or "polycrm", inflow_rate_limit=inflow_rate,
                  inflow_webhook_rate_limits=webhook_rates, auth_tokens=token_lifetime(),
                  login_failures_per_user=login_rates["POLYCRM_LOGIN_FAILURES_PER_USER"],
                  login_failures_per_ip=login_rates["POLYCRM_LOGIN_FAILURES_PER_IP"],
                  webhooks=webhook_settings())
