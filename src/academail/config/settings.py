"""Django settings, all read from the environment (see ``config.env``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import dj_database_url

from academail.config.env import (
    env_bool,
    env_int,
    env_list,
    env_str,
    is_production,
    secret,
    var_dir,
)

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = var_dir()

SECRET_KEY = secret("ACADEMAIL_SECRET_KEY", "secret_key", 50)
# Key material for the NUMEN: encryption at rest and the keyed lookup hash.
NUMEN_KEY = secret("ACADEMAIL_NUMEN_KEY", "numen_key", 32)

DEBUG = env_bool("ACADEMAIL_DEBUG", False)
PRODUCTION = is_production()

# The académie's mail domain(s); the first is where new addresses are made.
MAIL_DOMAINS = [d.lower() for d in env_list("ACADEMAIL_DOMAINS", ["ac-demo.fr"])]
# The host name this node announces (SMTP banner, Received headers, TLS SAN).
MAIL_HOSTNAME = env_str("ACADEMAIL_HOSTNAME", "localhost")

ALLOWED_HOSTS = env_list("ACADEMAIL_ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]", MAIL_HOSTNAME])
CSRF_TRUSTED_ORIGINS = env_list("ACADEMAIL_CSRF_TRUSTED_ORIGINS", [])

# Listeners: local-run defaults (production uses the standard ports).
BIND_ADDRESS = env_str("ACADEMAIL_BIND", "127.0.0.1")
WEB_PORT = env_int("ACADEMAIL_WEB_PORT", 8000)
SMTP_PORT = env_int("ACADEMAIL_SMTP_PORT", 2525)
IMAP_PORT = env_int("ACADEMAIL_IMAP_PORT", 1143)  # STARTTLS
IMAPS_PORT = env_int("ACADEMAIL_IMAPS_PORT", 1993)  # implicit TLS

TLS_CERT_FILE = env_str("ACADEMAIL_TLS_CERT", str(VAR_DIR / "tls" / "cert.pem"))
TLS_KEY_FILE = env_str("ACADEMAIL_TLS_KEY", str(VAR_DIR / "tls" / "key.pem"))

BLOB_DIR = Path(env_str("ACADEMAIL_BLOB_DIR", str(VAR_DIR / "blobs")))

# Mail the platform itself sends (activation codes, alerts...) goes through
# delivery.outbound: local recipients through the one door, others to the
# outbound capture until the outbound queue exists.
EMAIL_BACKEND = "academail.delivery.mailbackend.PlatformEmailBackend"
DEFAULT_FROM_EMAIL = env_str("ACADEMAIL_FROM", f"ne-pas-repondre@{MAIL_DOMAINS[0]}")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

MAX_MESSAGE_SIZE = env_int("ACADEMAIL_MAX_MESSAGE_SIZE", 25 * 1024 * 1024)
DEFAULT_QUOTA = env_int("ACADEMAIL_DEFAULT_QUOTA", 2 * 1024 * 1024 * 1024)
# A message may take a mailbox over its quota by this share of the quota, as long
# as the mailbox was under quota before (Dovecot's quota_grace): a circular is not
# refused to a colleague at 99.9 %.
QUOTA_GRACE_PERCENT = env_int("ACADEMAIL_QUOTA_GRACE_PERCENT", 10)
SMTP_MAX_RECIPIENTS = env_int("ACADEMAIL_SMTP_MAX_RECIPIENTS", 10000)
SMTP_MAX_CONNECTIONS_PER_IP = env_int("ACADEMAIL_SMTP_MAX_CONNECTIONS_PER_IP", 20)

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "academail.config",
    "academail.accounts",
    "academail.store",
    "academail.delivery",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "academail.config.urls"
ASGI_APPLICATION = "academail.config.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]


def _database() -> dict[str, Any]:
    url = env_str("DATABASE_URL", f"sqlite:///{VAR_DIR / 'academail.sqlite3'}")
    # Long-lived services keep their connections (reconnecting to PostgreSQL costs
    # more than a commit) and check them before reuse after an error.
    config: dict[str, Any] = dict(
        dj_database_url.parse(
            url, conn_max_age=env_int("ACADEMAIL_DB_CONN_MAX_AGE", 300), conn_health_checks=True
        )
    )
    if config["ENGINE"] == "django.db.backends.sqlite3":
        # WAL lets readers run beside the writer; IMMEDIATE transactions take the
        # write lock up front so concurrent writers wait (busy timeout) instead of
        # failing with "database is locked" on lock upgrade; synchronous=FULL makes
        # a commit durable before SMTP answers 250.
        config["OPTIONS"] = {
            "transaction_mode": "IMMEDIATE",
            "timeout": 30,
            "init_command": (
                "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; "
                "PRAGMA foreign_keys=ON; PRAGMA busy_timeout=30000;"
            ),
        }
        config.setdefault("TEST", {})["NAME"] = str(VAR_DIR / "test.sqlite3")
    return config


DATABASES = {"default": _database()}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.Account"

PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "fr"
LANGUAGES = [("fr", "Français"), ("en", "English")]
TIME_ZONE = env_str("ACADEMAIL_TIME_ZONE", "Europe/Paris")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"

SESSION_COOKIE_SECURE = PRODUCTION
CSRF_COOKIE_SECURE = PRODUCTION
SESSION_COOKIE_HTTPONLY = True
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("ACADEMAIL_LOG_LEVEL", "INFO")},
    # aiosmtpd logs every command line at INFO: addresses of every message.
    "loggers": {"mail.log": {"level": "WARNING"}},
}
