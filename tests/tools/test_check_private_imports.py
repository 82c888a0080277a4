"""tools/check_private_imports.py: the layer rule import-linter cannot check
(no module uses another module's ``_private`` names). It must find each kind of
use, leave a module's own private names and Django's ``_meta`` alone, and find
nothing in our sources."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _checker():
    spec = importlib.util.spec_from_file_location("check_private_imports", ROOT / "tools" / "check_private_imports.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def _package(tmp_path: Path, files: dict[str, str]) -> Path:
    root = tmp_path / "academail"
    for name, text in {"__init__.py": "", "a/__init__.py": "", "b/__init__.py": "", **files}.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


def test_finds_each_kind_of_use(tmp_path):
    root = _package(tmp_path, {
        "a/views.py": "def _page():\n    pass\n\ndef ok():\n    return _page()\n",
        "b/one.py": "from academail.a.views import _page\n",
        "b/two.py": "from academail.a import views\n\ndef f():\n    return views._page()\n",
        "b/three.py": "import academail.a.views\n\nacademail.a.views._page()\n",
        "b/four.py": "from ..a.views import _page\n",
        "b/five.py": "def f():\n    from academail.a.views import _page\n    return _page\n",
    })
    problems = [p for path in sorted(root.rglob("*.py")) for p in _checker().check_file(path, root)]
    found = sorted(Path(p.split(":")[0]).name for p in problems)
    assert found == ["five.py", "four.py", "one.py", "three.py", "two.py"], problems


def test_own_names_and_django_meta_are_allowed(tmp_path):
    root = _package(tmp_path, {
        "a/models.py": "class Thing:\n    _meta = None\n",
        "a/views.py": "from academail.a.models import Thing\n\ndef _helper():\n    return Thing._meta\n\nx = _helper()\n",
    })
    checker = _checker()
    assert [p for path in sorted(root.rglob("*.py")) for p in checker.check_file(path, root)] == []


def test_our_sources_use_no_private_name_of_another_module():
    # In its own process, as `make lint` runs it: CPython 3.11's ast.parse keeps
    # one recursion counter per interpreter, so a server thread left by an
    # earlier test formatting a traceback (which parses) at the same moment
    # made it raise "AST constructor recursion depth mismatch" (gh-106905).
    run = subprocess.run([sys.executable, str(ROOT / "tools" / "check_private_imports.py"), str(ROOT / "src" / "academail")],
                         capture_output=True, text=True, timeout=300, check=False)
    assert run.returncode == 0, run.stdout + run.stderr
