"""Configuration from the environment, with defaults that work out of the box.

| variable | default | meaning |
|---|---|---|
| POLYCRM_DATA_DIR | $XDG_DATA_HOME/polycrm, else ~/.local/share/polycrm | where the embedded SQLite store, the generated secret key and files live (the same whatever the current folder) |
| POLYCRM_DATABASE_URL | sqlite:///<data dir>/polycrm.db | SQLite or PostgreSQL (postgresql://user@host/db) |
| POLYCRM_SECRET_KEY | generated into <data dir>/secret.key | keys API-key hashes and encrypts stored secrets; comma-separated list rotates (first encrypts) |
| POLYCRM_DEFAULT_CURRENCY | USD | currency of amounts given without one |
| POLYCRM_MAX_BODY_BYTES | 10485760 | largest request body accepted |
| POLYCRM_MAX_UPLOAD_BYTES | 26214400 | largest file a Concord media upload takes (Concord's MEDIA_MAX_SIZE default, 25 MB) |
| POLYCRM_LOG_LEVEL | info | debug, info, warning, error (PolyCRM's and uvicorn's loggers, docs/logging.md) |
| POLYCRM_LOG_FORMAT | auto | json (a JSON object a line), console (readable); auto: console on a terminal |
| POLYCRM_TRUSTED_PROXIES | (none) | comma-separated addresses or CIDRs of reverse proxies whose X-Forwarded-For/-Proto `serve` believes |
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

import dataclasses
import ipaddress
import os
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from polycrm.auth.directory import TokenLifetime
from polycrm.auth.secrets import generate_secret_key
from polycrm.events.settings import WebhookSettings
from polycrm.logs import parse_format, parse_level
from polycrm.store.counts import REMEMBERED_COUNTS

# Failed logins allowed per user name and per client address. A person mistypes a few times; a guesser needs
# millions: 10 per user name per quarter hour is ~1000 guesses a day, and an address trying many names is
# cut off at 50. Several users behind one NAT share the address's budget, hence its margin.
LOGIN_FAILURES_PER_USER = "10/15minutes"
LOGIN_FAILURES_PER_IP = "50/15minutes"
MAX_UPLOAD_BYTES = 25 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class Config:
    data_dir: Path
    database_url: str
    secret_key: str
    default_currency: str = "USD"
    max_body_bytes: int = 10 * 1024 * 1024
    max_upload_bytes: int = MAX_UPLOAD_BYTES
    log_level: str = "info"
    log_format: str = "auto"
    pin_workers: bool = True
    remembered_counts: int = REMEMBERED_COUNTS
    webhooks: WebhookSettings = WebhookSettings()
    redis_url: str | None = None
    redis_prefix: str = "polycrm"
    inflow_rate_limit: str = "300/5minutes"
    inflow_webhook_rate_limits: str = ""  # "": the InflowCRM dialect's defaults
    concord_rate_limit: str = "90/minute"  # per user, as Concord CRM's `api` limiter
    concord_token_rate_limit: str = "90/minute"  # `POST /api/token`, per client address
    auth_tokens: TokenLifetime = TokenLifetime()
    login_failures_per_user: str = LOGIN_FAILURES_PER_USER
    login_failures_per_ip: str = LOGIN_FAILURES_PER_IP
    trusted_proxies: tuple[str, ...] = ()


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


class MissingStore(ValueError):
    """A command other than `init` or `serve` found no store where the configuration points."""

    def __init__(self, where: Path | str):
        super().__init__(f"no PolyCRM store at {where}: run 'polycrm init' first (or set POLYCRM_DATA_DIR)")


def data_dir() -> Path:
    """POLYCRM_DATA_DIR, else `polycrm` in the user's XDG data directory (~/.local/share). Never relative to the
    current folder: every command, run from anywhere, acts on the same store."""
    configured = os.environ.get("POLYCRM_DATA_DIR")
    if configured:
        return Path(configured).expanduser().resolve()
    xdg = os.environ.get("XDG_DATA_HOME")
    if xdg and Path(xdg).is_absolute():  # the XDG specification ignores a relative one
        return Path(xdg).resolve() / "polycrm"
    try:
        return Path.home().resolve() / ".local" / "share" / "polycrm"
    except RuntimeError:  # no HOME and no passwd entry (some service managers)
        raise ValueError("no home directory to keep the store in: set POLYCRM_DATA_DIR") from None


def database_url(directory: Path) -> str:
    """POLYCRM_DATABASE_URL, else the SQLite file in the data directory."""
    return os.environ.get("POLYCRM_DATABASE_URL") or f"sqlite:///{directory / 'polycrm.db'}"


def make_private_dir(path: Path) -> None:
    """Create `path` (and missing parents) readable by its owner only; tighten it if it exists wider."""
    try:
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
        if path.stat().st_mode & 0o077:
            path.chmod(0o700)
    except OSError as exc:
        raise ValueError(f"cannot make the data directory {path} (owner-only): {exc.strerror}") from None


def _secret_key(data_dir: Path, create: bool) -> str:
    configured = os.environ.get("POLYCRM_SECRET_KEY")
    if configured:
        return configured
    path = data_dir / "secret.key"
    if path.exists():
        return path.read_text().strip()
    if not create:
        raise MissingStore(data_dir)
    key = generate_secret_key()
    # Created with owner-only permissions: it decrypts stored secrets.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(key + "\n")
    return key


def trusted_proxies() -> tuple[str, ...]:
    """POLYCRM_TRUSTED_PROXIES: addresses and networks whose X-Forwarded-For is believed (none by default)."""
    raw = os.environ.get("POLYCRM_TRUSTED_PROXIES") or ""
    proxies = tuple(item.strip() for item in raw.split(",") if item.strip())
    for item in proxies:
        try:
            ipaddress.ip_network(item, strict=False)
        except ValueError:
            raise ValueError(f"POLYCRM_TRUSTED_PROXIES must list IP addresses or CIDRs (e.g. 127.0.0.1,10.0.0.0/8), "
                             f"got {item!r}") from None
    return proxies


RATE_DEFAULTS = {"POLYCRM_INFLOW_RATE_LIMIT": "300/5minutes", "POLYCRM_INFLOW_WEBHOOK_RATE_LIMITS": "",
                 "POLYCRM_CONCORD_RATE_LIMIT": "90/minute", "POLYCRM_CONCORD_TOKEN_RATE_LIMIT": "90/minute",
                 "POLYCRM_LOGIN_FAILURES_PER_USER": LOGIN_FAILURES_PER_USER,
                 "POLYCRM_LOGIN_FAILURES_PER_IP": LOGIN_FAILURES_PER_IP}


def rate_settings() -> dict[str, str]:
    """The rate limits, by variable name. Only those set are parsed: their parsers live in the dialects, which
    a command that serves nothing should not have to load (the defaults are valid)."""
    rates = dict(RATE_DEFAULTS)
    for name in rates:
        value = os.environ.get(name)
        if not value:
            continue
        from polycrm.dialects.inflow.webhooks import parse_webhook_rates
        from polycrm.dialects.ratelimit import parse_rate

        try:
            (parse_webhook_rates if name == "POLYCRM_INFLOW_WEBHOOK_RATE_LIMITS" else parse_rate)(value)
        except ValueError as exc:
            raise ValueError(f"{name}: {exc}") from None
        rates[name] = value
    return rates


def load_config(*, create: bool = False) -> Config:
    """Read configuration from the environment. With `create` (`polycrm init` and `serve`), make the data
    directory (owner-only) and the secret key if they are missing; without, a missing key is MissingStore."""
    directory = data_dir()
    url = database_url(directory)
    currency = os.environ.get("POLYCRM_DEFAULT_CURRENCY") or "USD"
    if len(currency) != 3 or not currency.isalpha() or not currency.isupper():
        raise ValueError(f"POLYCRM_DEFAULT_CURRENCY must be a 3-letter ISO code, got {currency!r}")
    log_level = parse_level(os.environ.get("POLYCRM_LOG_LEVEL"))
    log_format = parse_format(os.environ.get("POLYCRM_LOG_FORMAT"))
    redis_url = os.environ.get("POLYCRM_REDIS_URL") or None
    if redis_url is not None and not redis_url.startswith(("redis://", "rediss://", "redis+unix://")):
        raise ValueError(f"POLYCRM_REDIS_URL must be a redis:// or rediss:// URL, got {redis_url!r}")
    config = Config(
        data_dir=directory, database_url=url, secret_key="", default_currency=currency,
        max_body_bytes=_positive_int("POLYCRM_MAX_BODY_BYTES", 10 * 1024 * 1024), log_level=log_level,
        max_upload_bytes=_positive_int("POLYCRM_MAX_UPLOAD_BYTES", MAX_UPLOAD_BYTES),
        log_format=log_format, pin_workers=_flag("POLYCRM_PIN_WORKERS", default=True),
        remembered_counts=_integer("POLYCRM_REMEMBERED_COUNTS", REMEMBERED_COUNTS, 0), redis_url=redis_url,
        redis_prefix=os.environ.get("POLYCRM_REDIS_PREFIX") or "polycrm", auth_tokens=token_lifetime(),
        webhooks=webhook_settings(), trusted_proxies=trusted_proxies(), **_rate_fields(rate_settings()))
    # Every setting is checked before anything is made or the store is looked for.
    if create:
        make_private_dir(directory)
    return dataclasses.replace(config, secret_key=_secret_key(directory, create))


def _rate_fields(rates: dict[str, str]) -> dict[str, str]:
    return {"inflow_rate_limit": rates["POLYCRM_INFLOW_RATE_LIMIT"],
            "inflow_webhook_rate_limits": rates["POLYCRM_INFLOW_WEBHOOK_RATE_LIMITS"],
            "concord_rate_limit": rates["POLYCRM_CONCORD_RATE_LIMIT"],
            "concord_token_rate_limit": rates["POLYCRM_CONCORD_TOKEN_RATE_LIMIT"],
            "login_failures_per_user": rates["POLYCRM_LOGIN_FAILURES_PER_USER"],
            "login_failures_per_ip": rates["POLYCRM_LOGIN_FAILURES_PER_IP"]}
