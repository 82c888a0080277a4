# academail — the two commands: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | sha1sum | cut -c1-12)

.PHONY: install system-deps node-deps dsfr migrate demo static run test lint unit clean messages test-s3

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

install: $(STAMP)

# Third-party clients the end-to-end tests drive (Debian packages; root needed once).
# gettext: `make messages` and the test that keeps the translation catalogues in sync.
# fonts-dejavu-core: the secretariat's activation letters (PDF); poppler-utils: their test reads them.
SYSTEM_PACKAGES := swaks chromium chromium-driver isync gettext sieve-connect vdirsyncer fonts-dejavu-core poppler-utils postgresql-client-15 rspamd redis-server haproxy dovecot-imapd dovecot-lmtpd
system-deps:
	@missing=""; for p in $(SYSTEM_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	  else echo "missing Debian packages:$$missing (sudo apt-get install$$missing)"; exit 1; fi; fi

# axe-core for the accessibility browser tests, pinned by its lock file (npm ci).
AXE := tests/e2e/axe/node_modules/axe-core/axe.min.js
$(AXE): tests/e2e/axe/package.json tests/e2e/axe/package-lock.json
	@command -v npm >/dev/null || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq npm >/dev/null; \
	  else echo "npm is missing (sudo apt-get install npm)"; exit 1; fi; }
	cd tests/e2e/axe && npm ci --no-audit --no-fund --loglevel=error
	touch $(AXE)

node-deps: $(AXE)

# The official DSFR, from the npm package pinned by assets/dsfr/package-lock.json
# (--ignore-scripts: nothing of the package runs here), copied into
# config/static/dsfr by tools/vendor_dsfr.py. The copy is committed: run this
# after changing the pinned version, and commit the result.
dsfr:
	@command -v npm >/dev/null || { echo "npm is missing (sudo apt-get install npm)"; exit 1; }
	cd assets/dsfr && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
	$(BIN)/python tools/vendor_dsfr.py

migrate: install
	$(BIN)/academail migrate

# The demo domain's DKIM key (kept if it exists): mail leaves signed from the first run.
demo: migrate
	$(BIN)/academail demo
	$(BIN)/academail dkim-keygen ac-demo.fr

# Static files under hashed names for ServeStatic (serve also collects them when missing).
static: install
	$(BIN)/academail manage collectstatic --noinput -v 0

# Demo helpdesk phone and hours (a number of the range ARCEP keeps for fiction), unless set.
run: demo static
	ACADEMAIL_ASSISTANCE_PHONE="$${ACADEMAIL_ASSISTANCE_PHONE-01 99 00 12 34}" \
	ACADEMAIL_ASSISTANCE_HOURS="$${ACADEMAIL_ASSISTANCE_HOURS-du lundi au vendredi, de 8 h à 18 h}" \
	$(BIN)/academail serve

# Layer rules (docs/design.md, "Layer rules"): import-linter's contracts in
# pyproject.toml, and no module using another module's private (_x) names.
lint: install
	$(BIN)/ruff check src tests bench tools
	$(BIN)/mypy
	$(BIN)/lint-imports
	$(BIN)/python tools/check_private_imports.py

# Python must be able to write bytecode for the tests to start quickly: with
# PYTHONDONTWRITEBYTECODE set (some shells and images set it), pytest rewrites
# the assertions of every test module again at each run, which was most of
# the 29 s that collection took.
unexport PYTHONDONTWRITEBYTECODE

# The fast loop: every test that needs no browser and no third-party program
# (the `e2e` marker, set in tests/conftest.py). Run it while you work.
unit: install
	$(BIN)/pytest -m "not e2e"

# The rest: browsers (Chromium + axe-core) and third-party clients (swaks,
# mbsync, sieve-connect, vdirsyncer), and tests that drive the platform from outside.
e2e: install system-deps node-deps
	$(BIN)/pytest -m e2e

# Everything in one run (unit + e2e).
suite: install system-deps node-deps
	$(BIN)/pytest

test: lint suite

# The delivery, store and IMAP FETCH tests again, with blobs in moto's S3
# server instead of files (tests/conftest.py, ACADEMAIL_TEST_BLOBS).
test-s3: install
	ACADEMAIL_TEST_BLOBS=s3 $(BIN)/pytest tests/store/test_messages.py tests/delivery/test_door.py \
		tests/delivery/test_filters_at_delivery.py tests/smtp/test_mx.py tests/imap/test_fetch.py

# Translation catalogues, for maintainers (the compiled .mo files are committed,
# so `make run` needs no gettext). French is the source language; each app keeps
# its English catalogues in its own locale/en/LC_MESSAGES/: django.po for Python
# and templates, djangojs.po for scripts (gettext() from /i18n/js/). After this,
# translate the new or changed entries (no empty msgstr, no "fuzzy" flag) and run
# it again to compile; tests/i18n fails while a catalogue is behind the sources.
I18N_ENV := ACADEMAIL_HOME=$(CURDIR)/var DJANGO_SETTINGS_MODULE=academail.config.settings
messages: install
	@command -v msgfmt >/dev/null || { echo "gettext is missing (sudo apt-get install gettext)"; exit 1; }
	@for app in src/academail/*/; do app=$${app%/}; \
	  test -f $$app/__init__.py || continue; mkdir -p $$app/locale; \
	  for domain in django djangojs; do \
	    (cd $$app && $(I18N_ENV) $(CURDIR)/$(BIN)/django-admin makemessages --locale en --domain $$domain \
	      --no-obsolete --add-location file --verbosity 0) || exit 1; \
	  done; \
	  find $$app/locale -type d -empty -delete; \
	  if [ -d $$app/locale ]; then \
	    (cd $$app && $(I18N_ENV) $(CURDIR)/$(BIN)/django-admin compilemessages --verbosity 0) || exit 1; \
	    for po in $$app/locale/en/LC_MESSAGES/*.po; do \
	      msgfmt --statistics -o /dev/null $$po 2>&1 | sed "s|^|$$po: |"; done; \
	  fi; \
	done

clean:
	rm -rf $(VENV) var
