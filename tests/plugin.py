"""Loaded before Django (``-p tests.plugin``): each test run gets its own data
directory, so tests never touch ``./var`` (the demo's database, blobs and keys)."""

import atexit
import os
import shutil
import tempfile

if "ACADEMAIL_HOME" not in os.environ:
    _home = tempfile.mkdtemp(prefix="academail-test-")
    os.environ["ACADEMAIL_HOME"] = _home
    atexit.register(shutil.rmtree, _home, True)

# Deliveries parse in the serving process unless a test asks for worker
# processes (tests/delivery/test_workers.py): one pool per MX fixture would
# cost each test a second of start-up, and the results are the same.
os.environ.setdefault("ACADEMAIL_DELIVERY_WORKERS", "0")
