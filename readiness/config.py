"""Configuration: defaults, then the environment, read when the app is created."""

import os
import re
import secrets
from pathlib import Path

DEFAULTS = {
    "CHECKLISTS_DIR": None,  # set in load(): <project>/checklists
    "TELEMETRY_DIR": None,  # set in load(): <project>/telemetry (fact sources)
    "AUTO_MIGRATE": True,
    "SESSION_COOKIE_HTTPONLY": True,
    "SESSION_COOKIE_SAMESITE": "Lax",
    "MAX_CONTENT_LENGTH": 2 * 1024 * 1024,
    "PASSWORD_HASH_METHOD": "scrypt",  # a hash method, not a password  # nosec B105
    # SQLite: how long a write waits for another writer before the 503 "busy" answer.
    # Well inside gunicorn's worker timeout (gunicorn.conf.py), so the app answers first.
    "SQLITE_BUSY_TIMEOUT_MS": 10_000,
    # How many entries each list of the dashboard shows before "All N …".
    "DASHBOARD_SHOWN": 10,
}


def load(app, test_config=None):
    """Fill `app.config` from defaults, the environment and `test_config`, in that order."""
    app.config.from_mapping(DEFAULTS)
    app.config["CHECKLISTS_DIR"] = str(Path(app.root_path).parent / "checklists")
    app.config["TELEMETRY_DIR"] = str(Path(app.root_path).parent / "telemetry")
    instance = Path(app.instance_path)
    instance.mkdir(parents=True, exist_ok=True)
    if test_config is not None:
        app.config.from_mapping(test_config)
    if "SQLALCHEMY_DATABASE_URI" not in app.config:
        app.config["SQLALCHEMY_DATABASE_URI"] = database_url(
            os.environ.get("DATABASE_URL"), instance
        )
    if "SQLALCHEMY_ENGINE_OPTIONS" not in app.config:
        app.config["SQLALCHEMY_ENGINE_OPTIONS"] = engine_options(
            app.config["SQLALCHEMY_DATABASE_URI"])
    busy = os.environ.get("SQLITE_BUSY_TIMEOUT_MS")
    if busy is not None and (test_config or {}).get("SQLITE_BUSY_TIMEOUT_MS") is None:
        if not (busy.isascii() and busy.isdigit() and 0 <= int(busy) <= 25_000):
            raise ValueError("SQLITE_BUSY_TIMEOUT_MS is milliseconds, from 0 to 25000 "
                             "(below gunicorn's 30 s worker timeout)")
        app.config["SQLITE_BUSY_TIMEOUT_MS"] = int(busy)
    if os.environ.get("SESSION_COOKIE_SECURE", "").lower() in ("1", "true", "yes"):
        app.config["SESSION_COOKIE_SECURE"] = True
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = os.environ.get("SECRET_KEY") or instance_secret_key(instance)
    if "BASE_URL" not in app.config:  # links in notifications, sent without a request
        app.config["BASE_URL"] = (os.environ.get("BASE_URL")
                                  or "http://127.0.0.1:8000").rstrip("/")
    if "WEBHOOK_ALLOW_PRIVATE" not in app.config:
        app.config["WEBHOOK_ALLOW_PRIVATE"] = os.environ.get(
            "WEBHOOK_ALLOW_PRIVATE", "").lower() in ("1", "true", "yes")
    if "SMTP_URL" not in app.config:  # email notifications (docs/notifications.md)
        app.config["SMTP_URL"] = os.environ.get("SMTP_URL") or None
    if "SMTP_FROM" not in app.config:
        app.config["SMTP_FROM"] = os.environ.get("SMTP_FROM") or "readiness@localhost"
    if "WORKER_LEASE_SECONDS" not in app.config:  # how long a dead worker holds its work
        app.config["WORKER_LEASE_SECONDS"] = int(os.environ.get("WORKER_LEASE_SECONDS", "30"))
    if "HANDOFF_MIN_SELF_MANAGED_DAYS" not in app.config:  # self-managed before a handoff
        days = int(os.environ.get("HANDOFF_MIN_SELF_MANAGED_DAYS", "180"))
        if not 0 <= days <= 3650:
            raise ValueError("HANDOFF_MIN_SELF_MANAGED_DAYS is a number of days from 0 to "
                             "3650")
        app.config["HANDOFF_MIN_SELF_MANAGED_DAYS"] = days
    if "GATE_ENVIRONMENTS" not in app.config:  # docs/lifecycle.md "Gate environments"
        app.config["GATE_ENVIRONMENTS"] = gate_environments(
            os.environ.get("GATE_ENVIRONMENTS", ""))
    if "METRICS_TOKEN" not in app.config:  # GET /metrics for a Prometheus without a user
        app.config["METRICS_TOKEN"] = os.environ.get("METRICS_TOKEN") or None


# A gate environment's name, as the API takes it.
ENVIRONMENT = re.compile(r"[a-z0-9][a-z0-9-]{0,63}")


def gate_environments(text):
    """{environment: "enforce" | "advisory"} from "production=enforce,staging=advisory"
    (production enforces unless said otherwise; names not given are advisory).

    :raise ValueError: for a malformed entry, so a bad setting stops the start."""
    found = {"production": "enforce"}
    for part in filter(None, (p.strip() for p in text.split(","))):
        name, _, mode = part.partition("=")
        name, mode = name.strip(), mode.strip()
        if not ENVIRONMENT.fullmatch(name) or mode not in ("enforce", "advisory"):
            raise ValueError(f"GATE_ENVIRONMENTS: '{part}' is not NAME=enforce or "
                             f"NAME=advisory")
        found[name] = mode
    return found


def database_url(url, instance):
    """The SQLAlchemy URL for `DATABASE_URL`; SQLite under instance/ when unset."""
    if not url:
        return f"sqlite:///{instance / 'readiness.sqlite'}"
    # Hosted PostgreSQL hands out postgres:// URLs; use the psycopg 3 driver for them.
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def engine_options(url):
    """A server's connections to PostgreSQL can be dropped behind its back (a restart, a
    proxy's idle timeout): test each one as it leaves the pool. A SQLite file cannot."""
    return {"pool_pre_ping": True} if url.startswith("postgresql") else {}


def instance_secret_key(instance):
    """A secret key generated once and kept in instance/secret_key (mode 0600)."""
    path = instance / "secret_key"
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        pass
    key = secrets.token_hex(32)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process won the race; use its key
        return path.read_text().strip()
    with os.fdopen(fd, "w") as f:
        f.write(key + "\n")
    return key
