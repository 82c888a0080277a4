"""Django settings, all read from the environment (see ``academail.env``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import dj_database_url

from academail.env import (
    ConfigurationError,
    env_bool,
    env_float,
    env_int,
    env_list,
    env_str,
    is_production,
    private_file,
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
# Threads that run web requests' synchronous code (config.asgi), each keeping
# its database connection: the most requests one process runs at once, and
# its database connections for the web.
WEB_THREADS = env_int("ACADEMAIL_WEB_THREADS", 8)
SMTP_PORT = env_int("ACADEMAIL_SMTP_PORT", 2525)
IMAP_PORT = env_int("ACADEMAIL_IMAP_PORT", 1143)  # STARTTLS
IMAPS_PORT = env_int("ACADEMAIL_IMAPS_PORT", 1993)  # implicit TLS
MANAGESIEVE_PORT = env_int("ACADEMAIL_MANAGESIEVE_PORT", 4190 if PRODUCTION else 14190)  # STARTTLS (RFC 5804)

TLS_CERT_FILE = env_str("ACADEMAIL_TLS_CERT", str(VAR_DIR / "tls" / "cert.pem"))
TLS_KEY_FILE = env_str("ACADEMAIL_TLS_KEY", str(VAR_DIR / "tls" / "key.pem"))

BLOB_DIR = Path(env_str("ACADEMAIL_BLOB_DIR", str(VAR_DIR / "blobs")))
# Blobs in S3-compatible object storage (store.s3blobs) instead of BLOB_DIR:
# "s3://bucket/prefix". The endpoint is empty for AWS itself; the key pair may
# be left empty to use boto3's own chain (AWS_* variables, instance role).
BLOB_URL = env_str("ACADEMAIL_BLOB_URL", "")
S3_ENDPOINT_URL = env_str("ACADEMAIL_S3_ENDPOINT_URL", "")
S3_REGION = env_str("ACADEMAIL_S3_REGION", "us-east-1")
S3_ACCESS_KEY_ID = env_str("ACADEMAIL_S3_ACCESS_KEY_ID", "")
S3_SECRET_ACCESS_KEY = env_str("ACADEMAIL_S3_SECRET_ACCESS_KEY", "")
# "path" (bucket in the URL path: MinIO, Garage, Ceph RGW without wildcard DNS) or "virtual".
S3_ADDRESSING_STYLE = env_str("ACADEMAIL_S3_ADDRESSING_STYLE", "path")
S3_TIMEOUT = env_float("ACADEMAIL_S3_TIMEOUT", 10.0)  # seconds, connect and each read
S3_ATTEMPTS = env_int("ACADEMAIL_S3_ATTEMPTS", 3)  # then the delivery answers 451 4.3.0
# A local copy of the blobs read from object storage, bounded in size.
BLOB_CACHE_DIR = Path(env_str("ACADEMAIL_BLOB_CACHE_DIR", str(VAR_DIR / "blob-cache")))
BLOB_CACHE_BYTES = env_int("ACADEMAIL_BLOB_CACHE_BYTES", 512 * 1024 * 1024)

# Mail the platform itself sends (activation codes, alerts...) goes through
# delivery.route.do_send_platform_mail: local recipients through the one door,
# others to the outbound queue (or the outbound capture, OUTBOUND_CAPTURE).
EMAIL_BACKEND = "academail.delivery.mailbackend.PlatformEmailBackend"
DEFAULT_FROM_EMAIL = env_str("ACADEMAIL_FROM", f"ne-pas-repondre@{MAIL_DOMAINS[0]}")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

MAX_MESSAGE_SIZE = env_int("ACADEMAIL_MAX_MESSAGE_SIZE", 25 * 1024 * 1024)
DEFAULT_QUOTA = env_int("ACADEMAIL_DEFAULT_QUOTA", 2 * 1024 * 1024 * 1024)
# A message may take a mailbox over its quota by this share of the quota, as long
# as the mailbox was under quota before (Dovecot's quota_grace): a circular is not
# refused to a colleague at 99.9 %.
QUOTA_GRACE_PERCENT = env_int("ACADEMAIL_QUOTA_GRACE_PERCENT", 10)
# SPF/DKIM/DMARC on the MX need DNS; an isolated installation (or one behind a
# filtering relay that already checked) can turn them off.
INBOUND_CHECKS = env_bool("ACADEMAIL_INBOUND_CHECKS", True)
# Spam verdicts (protection/): points at and above which a message goes to
# Indésirables, and at and above which mail that also fails authentication is
# refused at SMTP time (550 5.7.1).
# Delivery worker processes for the CPU work of a delivery (parse, spam look,
# phishing warnings: delivery/workers.py); -1: from the cores and
# SERVE_PROCESSES, 0: none (all in the serving process).
DELIVERY_WORKERS = env_int("ACADEMAIL_DELIVERY_WORKERS", -1)
# How many ``serve`` processes share this machine's cores (several
# ``--only smtp`` behind SO_REUSEPORT): each takes its share of the cores for
# its default delivery workers, so two MX processes on 2 cores start none
# instead of one each (4 busy processes on 2 cores).
SERVE_PROCESSES = max(1, env_int("ACADEMAIL_SERVE_PROCESSES", 1))
# PostgreSQL: the delivery writer's connection prepares each statement it has
# run this many times (delivery/batcher.py); -1: none, for a PgBouncer older
# than 1.21 in transaction mode between the MX and PostgreSQL.
DB_PREPARE_THRESHOLD = env_int("ACADEMAIL_DB_PREPARE_THRESHOLD", 5)
SPAM_FILTER = env_bool("ACADEMAIL_SPAM_FILTER", True)  # off: no verdicts at all (benchmarks, a relay that filters)
SPAM_JUNK_SCORE = env_float("ACADEMAIL_SPAM_JUNK_SCORE", 5.0)
SPAM_REJECT_SCORE = env_float("ACADEMAIL_SPAM_REJECT_SCORE", 15.0)
# rspamd as the spam engine (protection/rspamd.py): its normal worker (/checkv2)
# and controller (/learnspam, /learnham); unset: the built-in engine.
RSPAMD_URL = env_str("ACADEMAIL_RSPAMD_URL", "")
RSPAMD_CONTROLLER_URL = env_str("ACADEMAIL_RSPAMD_CONTROLLER_URL", "")
RSPAMD_PASSWORD = env_str("ACADEMAIL_RSPAMD_PASSWORD", "")
RSPAMD_TIMEOUT = env_float("ACADEMAIL_RSPAMD_TIMEOUT", 10.0)
# Where "Signaler un hameçonnage" sends the reported message (message/rfc822).
PHISHING_REPORT_ADDRESS = env_str("ACADEMAIL_PHISHING_REPORT_ADDRESS", f"securite@{MAIL_DOMAINS[0]}")
# Domains whose look-alikes get a phishing warning, besides the académie's own.
PROTECTION_TRUSTED_DOMAINS = [
    d.lower() for d in env_list("ACADEMAIL_TRUSTED_DOMAINS", ["education.gouv.fr", "ac-paris.fr", "ac-versailles.fr"])
]
# Where filters may redirect mail besides the académie's own domains (the
# académie's rule: sensitive information does not leave public education).
FORWARD_ALLOWED_DOMAINS = [d.lower() for d in env_list("ACADEMAIL_FORWARD_ALLOWED_DOMAINS", [])]
# Forwarding policy (academail.forwarding.policy): outside the académie's domains
# and FORWARD_ALLOWED_DOMAINS, forwards are refused ("refuse") or each message
# waits for an administrator ("hold"). Sensitive mail (a subject tag, compared
# without case or accents; or a "Name: value" header, "Name" alone for any
# value) never leaves the académie's own domains.
# Issue 19: the address of an établissement's functional mailbox, from its
# UAI code ("{uai}", lower-cased) and the first mail domain ("{domain}").
FUNCTIONAL_ADDRESS_PATTERN = env_str("ACADEMAIL_FUNCTIONAL_ADDRESS", "ce.{uai}@{domain}")
FORWARD_OUTSIDE = env_str("ACADEMAIL_FORWARD_OUTSIDE", "refuse").strip().lower()
if FORWARD_OUTSIDE not in ("refuse", "hold"):
    raise ConfigurationError(f"ACADEMAIL_FORWARD_OUTSIDE must be 'refuse' or 'hold', got {FORWARD_OUTSIDE!r}")
SENSITIVE_SUBJECT_TAGS = env_list("ACADEMAIL_SENSITIVE_SUBJECT_TAGS", ["[DIFFUSION RESTREINTE]"])
SENSITIVE_HEADERS = env_list(
    "ACADEMAIL_SENSITIVE_HEADER", ["X-Academail-Sensitivity: restricted", "Sensitivity: Company-Confidential"]
)
FORWARD_CONFIRM_TTL = env_int("ACADEMAIL_FORWARD_CONFIRM_TTL", 48 * 3600)  # confirmation link (s)
# SRS (academail.forwarding.srs): the key signing rewritten envelope senders
# (same on every node), older keys still accepted during a rotation, and how
# many days a bounce to an SRS address is accepted.
SRS_SECRET = secret("ACADEMAIL_SRS_SECRET", "srs_secret", 32)
SRS_OLD_SECRETS = env_list("ACADEMAIL_SRS_OLD_SECRETS", [])
SRS_MAX_AGE_DAYS = env_int("ACADEMAIL_SRS_MAX_AGE_DAYS", 21)

# Distribution lists (academail.lists): an outside member whose address bounced
# this many times (failed DSNs, no more than LISTS_BOUNCE_RESET_DAYS apart) is
# disabled; a list's moderators and managers see it.
LISTS_BOUNCE_THRESHOLD = env_int("ACADEMAIL_LISTS_BOUNCE_THRESHOLD", 3)
# How long a one-click unsubscribe link (RFC 8058) in a list copy stays valid.
LISTS_UNSUBSCRIBE_DAYS = env_int("ACADEMAIL_LISTS_UNSUBSCRIBE_DAYS", 60)
# The hour (Europe/Paris) after which the day's list digests go out.
LISTS_DIGEST_HOUR = env_int("ACADEMAIL_LISTS_DIGEST_HOUR", 17)
LISTS_BOUNCE_RESET_DAYS = env_int("ACADEMAIL_LISTS_BOUNCE_RESET_DAYS", 10)
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
    "academail.webmail",
    "academail.autoconfig",
    "academail.filters",
    "academail.jobs",
    "academail.forwarding",
    "academail.help",
    "academail.calendar",
    "academail.archive",
    "academail.protection",
    "academail.assistance",
    "academail.sharing",
    "academail.lists",
]

# Under ASGI (``serve``), these run in the event loop, before the request's
# one thread hop (config.asgi): nothing here touches the database or blocks.
EDGE_MIDDLEWARE = [
    # The web latency histogram (/metrics), less the throttling delay below.
    "academail.operations.metrics.RequestLatencyMiddleware",
    # Waits out the address ceiling's delay without holding a thread.
    "academail.accounts.slowdown.SlowDownMiddleware",
    # The client address and scheme, from ACADEMAIL_TRUSTED_PROXIES only.
    "academail.config.proxies.TrustedProxyMiddleware",
    # Django's SecurityMiddleware (HTTPS redirect, HSTS, nosniff, ...) and our
    # CSP, on every answer, static files included.
    "django.middleware.security.SecurityMiddleware",
    "academail.config.security.StrictHeadersMiddleware",
    # Static files (hashed names, compressed, cached for a year): before
    # sessions, so an asset request touches no database.
    "servestatic.middleware.ServeStaticMiddleware",
]
# The request's thread: sessions, language, CSRF, the signed-in person, the view.
MIDDLEWARE = [
    *EDGE_MIDDLEWARE,
    "django.contrib.sessions.middleware.SessionMiddleware",
    # After sessions, before anything that renders: French unless chosen otherwise.
    "academail.config.language.ChosenLanguageMiddleware",
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
                "academail.config.navigation.main_navigation",
                "academail.config.notices.out_of_office",
            ],
            "builtins": ["academail.config.sizes"],
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
        if config.get("NAME") and str(config["NAME"]) != ":memory:":
            private_file(Path(config["NAME"]))  # 0600, and so its -wal and -shm
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
# The password policy lives in one validator (accounts.passwords): every form,
# the admin and set-password paths go through it.
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "academail.accounts.passwords.PasswordPolicyValidator"},
]

# French for everyone, whatever the browser asks: English is an explicit choice
# (the footer's selector, Django's set_language view), remembered in the
# language cookie by config.language.ChosenLanguageMiddleware, never taken from
# Accept-Language (a headless or foreign-set browser would otherwise get English
# dates in a French product). Catalogues live in each app's locale/ folder.
LANGUAGE_CODE = "fr"
LANGUAGES = [("fr", "Français"), ("en", "English")]
# Django admin's French where it agrees with a model name it cannot know (config/admin_locale).
LOCALE_PATHS = [BASE_DIR / "config" / "admin_locale"]
LANGUAGE_COOKIE_NAME = "academail_language"
LANGUAGE_COOKIE_AGE = 400 * 24 * 3600  # the longest browsers keep a cookie
LANGUAGE_COOKIE_SAMESITE = "Lax"
LANGUAGE_COOKIE_HTTPONLY = True
LANGUAGE_COOKIE_SECURE = PRODUCTION
TIME_ZONE = env_str("ACADEMAIL_TIME_ZONE", "Europe/Paris")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
# ServeStatic (the ASGI-capable fork of WhiteNoise: it streams files with an
# async iterator under uvicorn) serves what `collectstatic` put in STATIC_ROOT (`academail serve`
# runs it when the manifest is missing; `make run` every time): names carry a
# content hash, so they are cached for a year (immutable), with gzip copies.
# Anything else under /static/ (a traversal attempt, an unknown file) is a 404.
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "servestatic.storage.CompressedManifestStaticFilesStorage"},
}

LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "webmail:index"

# Sessions live in the database (django.contrib.sessions), each linked to its
# account by accounts.WebSession so people can list and close them.
SESSION_ENGINE = "django.contrib.sessions.backends.db"
SESSION_COOKIE_AGE = env_int("ACADEMAIL_SESSION_AGE", 12 * 3600)
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_SECURE = PRODUCTION
CSRF_COOKIE_SECURE = PRODUCTION
SESSION_COOKIE_HTTPONLY = True
SECURE_CONTENT_TYPE_NOSNIFF = True

# --- HTTPS behind the TLS reverse proxy (config.proxies) ---------------------------
# Addresses or networks of the reverse proxies whose X-Forwarded-For and
# X-Forwarded-Proto are believed; empty: none (the TCP peer is the client).
TRUSTED_PROXIES = env_list("ACADEMAIL_TRUSTED_PROXIES", [])
# The IMAP, ManageSieve and SMTP listeners (plain and STARTTLS ports) expect a
# PROXY protocol header (v1 or v2) on every connection, from a trusted proxy
# only (server.proxyproto): on for a deployment behind HAProxy's send-proxy.
PROXY_PROTOCOL = env_bool("ACADEMAIL_PROXY_PROTOCOL", False)
# Dropped by config.proxies unless a trusted proxy sent it.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# Production: plain HTTP is redirected to HTTPS (not /healthz, for load
# balancers), and browsers are told to use HTTPS only for a year (HSTS,
# RFC 6797), this host and its subdomains. Preload is the académie's decision
# for its apex domain, not this host's: off, and its deploy check silenced.
SECURE_SSL_REDIRECT = env_bool("ACADEMAIL_SSL_REDIRECT", PRODUCTION)
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
SECURE_HSTS_SECONDS = env_int("ACADEMAIL_HSTS_SECONDS", 365 * 24 * 3600 if PRODUCTION else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("ACADEMAIL_HSTS_INCLUDE_SUBDOMAINS", True)
SECURE_HSTS_PRELOAD = env_bool("ACADEMAIL_HSTS_PRELOAD", False)
SILENCED_SYSTEM_CHECKS = [] if SECURE_HSTS_PRELOAD else ["security.W021"]
X_FRAME_OPTIONS = "DENY"
# A refused form explains itself in French (instead of Django's raw 403 page).
CSRF_FAILURE_VIEW = "academail.config.views.csrf_failure"

# --- identity and access (academail.accounts) -----------------------------------
# Base of the links put in e-mails sent outside a web request (IMAP/SMTP
# new-device alerts); web flows use the request's own host.
PUBLIC_URL = env_str("ACADEMAIL_PUBLIC_URL", f"http://{MAIL_HOSTNAME}:{WEB_PORT}").rstrip("/")
# Throttling (CNIL 2022-100, case 2): failures allowed before delays start, the
# first delay (doubling with each further failure) and its cap, failures allowed
# per 24 h per account, and the quiet time after which consecutive failures
# are forgotten.
THROTTLE_FREE_FAILURES = env_int("ACADEMAIL_THROTTLE_FREE_FAILURES", 5)
THROTTLE_BASE_DELAY = env_int("ACADEMAIL_THROTTLE_BASE_DELAY", 2)
THROTTLE_MAX_DELAY = env_int("ACADEMAIL_THROTTLE_MAX_DELAY", 900)
THROTTLE_DAILY_FAILURES = env_int("ACADEMAIL_THROTTLE_DAILY_FAILURES", 25)
THROTTLE_FORGET_AFTER = env_int("ACADEMAIL_THROTTLE_FORGET_AFTER", 3600)
# The address ceiling (one public address may hide a whole school): beyond this
# many failures within 24 h from one network, every refusal from it is answered
# after a delay (this base, doubling every further as many failures, up to the
# cap, in seconds). It never refuses: a right password is answered at once.
THROTTLE_ADDRESS_FREE_FAILURES = env_int("ACADEMAIL_THROTTLE_ADDRESS_FREE_FAILURES", 50)
THROTTLE_ADDRESS_BASE_DELAY = env_int("ACADEMAIL_THROTTLE_ADDRESS_BASE_DELAY", 1)
THROTTLE_ADDRESS_MAX_DELAY = env_int("ACADEMAIL_THROTTLE_ADDRESS_MAX_DELAY", 10)
# Password policy: minimum length, zxcvbn score, how many past passwords may
# not come back.
PASSWORD_MIN_LENGTH = env_int("ACADEMAIL_PASSWORD_MIN_LENGTH", 12)
PASSWORD_MIN_SCORE = env_int("ACADEMAIL_PASSWORD_MIN_SCORE", 3)
PASSWORD_HISTORY = env_int("ACADEMAIL_PASSWORD_HISTORY", 5)
# Lifetimes (seconds): reset link, e-mailed codes, a first-connection or
# recovery flow in progress; activity journal in days.
PASSWORD_RESET_TTL = env_int("ACADEMAIL_PASSWORD_RESET_TTL", 3600)
VERIFICATION_CODE_TTL = env_int("ACADEMAIL_VERIFICATION_CODE_TTL", 900)
JOURNAL_RETENTION_DAYS = env_int("ACADEMAIL_JOURNAL_RETENTION_DAYS", 365)

# The helpdesk (``assistance``): its mail address (the MX routes mail to it,
# and to its +tag addresses, into tickets), the SLA in working hours (French
# public holidays excluded), how long a requester's follow-up link works, the
# signed-out form's rate limit (per contact address and per network address,
# per hour), the largest attachment, the highest quota an agent may give.
ASSISTANCE_ADDRESS = env_str("ACADEMAIL_ASSISTANCE_ADDRESS", f"assistance@{MAIL_DOMAINS[0]}").strip().lower()
ASSISTANCE_SLA_HOURS = env_int("ACADEMAIL_ASSISTANCE_SLA_HOURS", 48)
# Shown on the "Contacter l'assistance" page when set (none by default).
ASSISTANCE_PHONE = env_str("ACADEMAIL_ASSISTANCE_PHONE", "").strip()
ASSISTANCE_HOURS = env_str("ACADEMAIL_ASSISTANCE_HOURS", "").strip()
ASSISTANCE_LINK_TTL = env_int("ACADEMAIL_ASSISTANCE_LINK_TTL", 30 * 24 * 3600)
ASSISTANCE_PER_HOUR = env_int("ACADEMAIL_ASSISTANCE_PER_HOUR", 5)
ASSISTANCE_MAIL_PER_HOUR = env_int("ACADEMAIL_ASSISTANCE_MAIL_PER_HOUR", 10)
ASSISTANCE_MAX_ATTACHMENT = env_int("ACADEMAIL_ASSISTANCE_MAX_ATTACHMENT", 10 * 1024 * 1024)
ASSISTANCE_MAX_QUOTA_MB = env_int("ACADEMAIL_ASSISTANCE_MAX_QUOTA_MB", 20 * 1024)
# The secretariat's departures: a departed person's account is disabled at
# once and deleted, mail included, after this many days.
DEPARTURE_KEEP_DAYS = env_int("ACADEMAIL_DEPARTURE_KEEP_DAYS", 90)
# Expunge tombstones (QRESYNC VANISHED) older than this are purged daily; a client
# resyncing from before them gets every missing UID as VANISHED instead.
EXPUNGED_KEEP_DAYS = env_int("ACADEMAIL_EXPUNGED_KEEP_DAYS", 90)
# Corbeille and Indésirables: messages that arrived there more than this many days
# ago are purged by the daily job (store.retention). 0 turns the purge off.
RETENTION_DAYS = env_int("ACADEMAIL_RETENTION_DAYS", 30)
# Exports (archive.export): where the files are written, how long they stay.
EXPORT_DIR = Path(env_str("ACADEMAIL_EXPORT_DIR", str(VAR_DIR / "exports")))
EXPORT_KEEP_DAYS = env_int("ACADEMAIL_EXPORT_KEEP_DAYS", 7)
# Imports are uploaded in pieces of this size by the page's script (archive.uploads).
IMPORT_CHUNK_BYTES = env_int("ACADEMAIL_IMPORT_CHUNK_BYTES", 8 * 1024 * 1024)
# Migrations started from a page (archive.migration_jobs): the old servers a person
# or the secretariat may name (empty: any server on a public address; a listed name
# is allowed whatever its address, e.g. the old platform on the private network),
# the CA of their certificates (empty: the system's), and how long the old password
# may wait, sealed, for its job (it is deleted as soon as the job ends).
MIGRATION_ALLOWED_HOSTS = [h.lower() for h in env_list("ACADEMAIL_MIGRATION_ALLOWED_HOSTS", [])]
MIGRATION_CA_FILE = env_str("ACADEMAIL_MIGRATION_CA_FILE", "")
MIGRATION_CREDENTIAL_HOURS = env_int("ACADEMAIL_MIGRATION_CREDENTIAL_HOURS", 24)
# How often the worker looks for quota notices to send (store.quota).
QUOTA_NOTICE_INTERVAL = env_int("ACADEMAIL_QUOTA_NOTICE_INTERVAL", 300)
# The browser's device cookie (signed, long-lived; Chromium caps cookies at 400 days).
DEVICE_COOKIE_NAME = "academail_appareil"
DEVICE_COOKIE_AGE = env_int("ACADEMAIL_DEVICE_COOKIE_AGE", 400 * 24 * 3600)
# App passwords: when on, IMAP and SMTP submission accept only app passwords
# (one per phone or mail program, made in "Sécurité du compte"), never the
# account password; the web sign-in never accepts app passwords.
REQUIRE_APP_PASSWORDS = env_bool("ACADEMAIL_REQUIRE_APP_PASSWORDS", False)
# --- end of identity and access ---------------------------------------------------

# "json": one JSON object a line (time, level, logger, pid, message, exc_info);
# token links are redacted before formatting, as in plain lines.
LOG_FORMAT = env_str("ACADEMAIL_LOG_FORMAT", "plain")
if LOG_FORMAT not in {"plain", "json"}:
    raise ConfigurationError(f"ACADEMAIL_LOG_FORMAT must be plain or json, got {LOG_FORMAT!r}")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"},
        # One JSON object a line (python-json-logger), for a log collector.
        "json": {"()": "pythonjsonlogger.json.JsonFormatter",
                 "format": "%(asctime)s %(levelname)s %(name)s %(process)d %(message)s",
                 "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger", "process": "pid"}},
    },
    # Token links (reset, "ce n'était pas moi", forward confirmation...) are
    # masked in every line: academail.redaction, where each feature registers its links.
    "filters": {"redact_tokens": {"()": "academail.redaction.RedactTokens"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "filters": ["redact_tokens"],
                             "formatter": "json" if LOG_FORMAT == "json" else "plain"}},
    "root": {"handlers": ["console"], "level": env_str("ACADEMAIL_LOG_LEVEL", "INFO")},
    # aiosmtpd logs every command line at INFO: addresses of every message.
    # botocore logs request headers and bodies (message bytes) at DEBUG.
    "loggers": {"mail.log": {"level": "WARNING"}, "botocore": {"level": "WARNING"},
                "boto3": {"level": "WARNING"}, "urllib3": {"level": "WARNING"}},
}


# --- submission and outbound queue (academail.smtp.submission, academail.delivery.queue) ---
# Submission listeners (RFC 6409): STARTTLS port, AUTH refused before TLS
# (538 5.7.11), and implicit-TLS port (RFC 8314). Production: 587 and 465.
SUBMISSION_PORT = env_int("ACADEMAIL_SUBMISSION_PORT", 1587)
SUBMISSIONS_PORT = env_int("ACADEMAIL_SUBMISSIONS_PORT", 1465)
# Remote mail goes to this smarthost ("host" or "host:port") instead of the
# recipients' MX; empty: MX lookup (RFC 5321 §5.1).
RELAY_HOST = env_str("ACADEMAIL_RELAY_HOST", "")
# Port of remote MX hosts (25; a test or a lab may change it).
OUTBOUND_SMTP_PORT = env_int("ACADEMAIL_OUTBOUND_SMTP_PORT", 25)
# Seconds before each retry; the last one repeats (RFC 5321 §4.5.4.1: at least
# 30 minutes between retries once the first ones failed, give up after 4-5 days).
QUEUE_RETRY_SCHEDULE = [
    int(s) for s in env_list("ACADEMAIL_QUEUE_RETRY_SCHEDULE", ["300", "900", "1800", "3600", "7200", "14400"])
]
QUEUE_MAX_LIFETIME = env_int("ACADEMAIL_QUEUE_MAX_LIFETIME", 5 * 24 * 3600)  # then bounce
QUEUE_DELAY_NOTICE = env_int("ACADEMAIL_QUEUE_DELAY_NOTICE", 4 * 3600)  # "delayed" DSN after
QUEUE_CONNECT_TIMEOUT = env_int("ACADEMAIL_QUEUE_TIMEOUT", 300)  # per SMTP reply (RFC 5321 §4.5.3.2)
# Capture mode: outbound mail is kept in CapturedMessage (admin page "Courrier
# sortant retenu") instead of leaving the machine. On by default outside production.
OUTBOUND_CAPTURE = env_bool("ACADEMAIL_OUTBOUND_CAPTURE", not PRODUCTION)
# DKIM signing (RFC 6376): keys made by `academail dkim-keygen DOMAIN` as
# <DKIM_KEY_DIR>/<domain>.<selector>.key; a domain without a key is not signed.
# Prometheus /metrics (operations.metrics): off unless a bearer token or an
# allow-list of client addresses (exact IPs or networks) is set.
METRICS_TOKEN = env_str("ACADEMAIL_METRICS_TOKEN", "")
METRICS_ALLOW = env_list("ACADEMAIL_METRICS_ALLOW", [])
# A process without the web listener (serve --only smtp/imap/worker) serves
# GET /metrics on this port (0: none); give each process its own.
METRICS_PORT = env_int("ACADEMAIL_METRICS_PORT", 0)
DKIM_SELECTOR = env_str("ACADEMAIL_DKIM_SELECTOR", "academail")
DKIM_KEY_DIR = Path(env_str("ACADEMAIL_DKIM_KEY_DIR", str(VAR_DIR / "dkim")))
# Sending limits per account (delivery.limits), in recipients (local and remote
# alike) over the last minute, hour and day; 0 disables a limit. Over a soft
# limit the message is accepted but held for an administrator; over a hard one
# it is refused for now (SMTP 450 4.7.1, a French message in the webmail).
SEND_LIMIT_SOFT_MINUTE = env_int("ACADEMAIL_SEND_LIMIT_SOFT_MINUTE", 0)
SEND_LIMIT_SOFT_HOUR = env_int("ACADEMAIL_SEND_LIMIT_SOFT_HOUR", 100)
SEND_LIMIT_SOFT_DAY = env_int("ACADEMAIL_SEND_LIMIT_SOFT_DAY", 300)
SEND_LIMIT_HARD_MINUTE = env_int("ACADEMAIL_SEND_LIMIT_HARD_MINUTE", 30)
SEND_LIMIT_HARD_HOUR = env_int("ACADEMAIL_SEND_LIMIT_HARD_HOUR", 200)
SEND_LIMIT_HARD_DAY = env_int("ACADEMAIL_SEND_LIMIT_HARD_DAY", 1000)
# Administrators hear about an account over its limits at most once per this many seconds.
SEND_LIMIT_NOTIFY_EVERY = env_int("ACADEMAIL_SEND_LIMIT_NOTIFY_EVERY", 3600)
# --- end of submission and outbound queue ---------------------------------------------


# --- automatic configuration of mail clients (academail.autoconfig) ----------------
# What Thunderbird autoconfig, Outlook autodiscover, the Apple profile and the page
# "Configurer mon téléphone" tell clients: the public names and implicit-TLS ports
# (RFC 8314), which differ from the listeners' when a load balancer or NAT sits in
# front. Production defaults to the standard 993 and 465.
PUBLIC_IMAP_HOST = env_str("ACADEMAIL_PUBLIC_IMAP_HOST", MAIL_HOSTNAME)
PUBLIC_IMAP_PORT = env_int("ACADEMAIL_PUBLIC_IMAP_PORT", 993 if PRODUCTION else IMAPS_PORT)
PUBLIC_SMTP_HOST = env_str("ACADEMAIL_PUBLIC_SMTP_HOST", MAIL_HOSTNAME)
PUBLIC_SMTP_PORT = env_int("ACADEMAIL_PUBLIC_SMTP_PORT", 465 if PRODUCTION else SUBMISSIONS_PORT)
# --- end of automatic configuration ------------------------------------------------


# --- calendar: CalDAV/CardDAV through Radicale (academail.calendar) ----------------
# Radicale's storage (one folder per calendar or address book, one file per event
# or card); on the shared storage when several web processes run.
DAV_DIR = Path(env_str("ACADEMAIL_DAV_DIR", str(VAR_DIR / "dav")))
# One event or card, and one DAV request body (a calendar uploaded whole).
DAV_MAX_RESOURCE_BYTES = env_int("ACADEMAIL_DAV_MAX_RESOURCE_BYTES", 2 * 1024 * 1024)
DAV_MAX_REQUEST_BYTES = env_int("ACADEMAIL_DAV_MAX_REQUEST_BYTES", 20 * 1024 * 1024)
# A DAV client's successful sign-in is remembered this long (see calendar.davauth).
DAV_LOGIN_CACHE_SECONDS = env_int("ACADEMAIL_DAV_LOGIN_CACHE_SECONDS", 60)
# A mail client's successful account-password check is remembered this long,
# for at most this many accounts (accounts.authcache, like Dovecot's auth_cache_ttl
# and auth_cache_size); 0 seconds turns the cache off. Argon2 checks run in a pool
# of AUTH_HASH_WORKERS threads (0: one per core), which bounds their memory.
AUTH_CACHE_SECONDS = env_int("ACADEMAIL_AUTH_CACHE_SECONDS", 300)
AUTH_CACHE_SIZE = env_int("ACADEMAIL_AUTH_CACHE_SIZE", 10_000)
AUTH_HASH_WORKERS = env_int("ACADEMAIL_AUTH_HASH_WORKERS", 0)
# Appointment booking by parents (calendar.appointments): booking requests per
# address and per network address per hour, and how long a confirmation link lives.
BOOKINGS_PER_ADDRESS_HOUR = env_int("ACADEMAIL_BOOKINGS_PER_ADDRESS_HOUR", 3)
BOOKINGS_PER_IP_HOUR = env_int("ACADEMAIL_BOOKINGS_PER_IP_HOUR", 10)
BOOKING_CONFIRM_SECONDS = env_int("ACADEMAIL_BOOKING_CONFIRM_SECONDS", 2 * 3600)
# A seat freed on a full page is held this long for the first waiter of its waiting list.
BOOKING_OFFER_SECONDS = env_int("ACADEMAIL_BOOKING_OFFER_SECONDS", 24 * 3600)
# --- end of calendar ------------------------------------------------------------
