"""The English catalogues: in step with the French texts of the sources, fully
translated, without fuzzy guesses, with the same placeholders, and compiled.

French is the source language (the msgids); each app keeps its English
catalogues in ``locale/en/LC_MESSAGES/`` (``django.po`` for Python and
templates, ``djangojs.po`` for scripts) with the compiled ``.mo`` committed
beside them. When a test here fails, run ``make messages``, translate
what it lists, and run it again (see the Makefile).

The sources are extracted with Django's own ``makemessages`` (Debian's gettext
tools), run on a copy of the package so the working tree is never touched.
"""

from __future__ import annotations

import gettext
import os
import re
import shutil
import subprocess
from collections import defaultdict
from pathlib import Path

import pytest
from django.core.management import call_command

import academail

SRC = Path(academail.__file__).resolve().parent
CATALOGUE = Path("locale") / "en" / "LC_MESSAGES"
FIX = "run `make messages`, translate the entries it leaves empty or fuzzy, then run it again"

DOMAINS = ("django", "djangojs")
Key = tuple[str, str, str]  # (msgctxt, msgid, msgid_plural)


def _unquote(text: str) -> str:
    return re.sub(r'\\(["\\nt])', lambda m: {"n": "\n", "t": "\t"}.get(m[1], m[1]), text)


def parse_po(path: Path) -> dict[Key, dict]:
    """Active entries of a PO file (not the header, not obsolete ``#~`` ones):
    key -> {"msgstr": [forms...], "fuzzy": bool}."""
    entries: dict[Key, dict] = {}
    fields: dict[str, str] = {}
    flags: set[str] = set()
    current: str | None = None

    def flush() -> None:
        if "msgid" in fields and fields["msgid"]:
            forms = [v for k, v in sorted(fields.items()) if k.startswith("msgstr")]
            key = (fields.get("msgctxt", ""), fields["msgid"], fields.get("msgid_plural", ""))
            assert key not in entries, f"{path}: {key[1]!r} appears twice"
            entries[key] = {"msgstr": forms, "fuzzy": "fuzzy" in flags}
        fields.clear()
        flags.clear()

    for line in path.read_text(encoding="utf-8").splitlines() + [""]:
        if not line.strip():
            flush()
            current = None
        elif line.startswith("#~"):
            continue
        elif line.startswith("#,"):
            flags.update(flag.strip() for flag in line[2:].split(","))
        elif line.startswith("#"):
            continue
        elif line.startswith('"'):
            assert current is not None, f"{path}: continuation line outside an entry: {line!r}"
            fields[current] += _unquote(line.strip()[1:-1])
        else:
            name, _, rest = line.partition(" ")
            if name.startswith("msgid") and "msgid" in fields and name == "msgid":
                flush()
            current = name
            fields[current] = _unquote(rest.strip()[1:-1])
    return entries


def apps() -> list[Path]:
    return sorted(p for p in SRC.iterdir() if (p / "__init__.py").is_file())


def committed() -> dict[str, Path]:
    """"app/domain" -> the committed catalogue."""
    return {
        f"{app.name}/{domain}": app / CATALOGUE / f"{domain}.po"
        for app in apps() for domain in DOMAINS if (app / CATALOGUE / f"{domain}.po").is_file()
    }


@pytest.fixture(scope="module")
def fresh(tmp_path_factory) -> dict[str, dict[Key, dict]]:
    """What makemessages extracts today from each app's sources: "app/domain" -> entries."""
    assert shutil.which("xgettext") and shutil.which("msgfmt"), (
        "Debian's gettext tools are missing: apt-get install gettext (or make system-deps)"
    )
    root = tmp_path_factory.mktemp("i18n") / "academail"
    shutil.copytree(SRC, root, ignore=shutil.ignore_patterns("__pycache__", "locale", "*.mo"))
    extracted: dict[str, dict[Key, dict]] = {}
    here = os.getcwd()
    try:
        for app in sorted(p for p in root.iterdir() if (p / "__init__.py").is_file()):
            (app / "locale").mkdir()
            os.chdir(app)
            for domain in DOMAINS:
                call_command("makemessages", locale=["en"], domain=domain, no_obsolete=True, verbosity=0)
                po = app / CATALOGUE / f"{domain}.po"
                if po.is_file():
                    extracted[f"{app.name}/{domain}"] = parse_po(po)
    finally:
        os.chdir(here)
    return extracted


def test_the_parser_reads_what_makemessages_writes(fresh):
    # Guards the checks below: the sources do have texts, plural forms included.
    assert sum(len(entries) for entries in fresh.values()) > 100
    assert any(key[2] for entries in fresh.values() for key in entries)
    base = {key[1] for key in fresh["config/django"]}
    assert "Se connecter" in base and "Aller au contenu" in base


def test_every_app_with_french_texts_has_an_english_catalogue(fresh):
    missing = sorted(set(fresh) - set(committed()))
    assert not missing, f"translatable texts but no English catalogue: {missing}; {FIX}"


def test_catalogues_hold_exactly_the_texts_of_the_sources(fresh):
    problems = []
    for app, path in committed().items():
        have = set(parse_po(path))
        want = set(fresh.get(app, {}))
        for key in sorted(want - have):
            problems.append(f"{app}: not in the catalogue yet: {key[1]!r}")
        for key in sorted(have - want):
            problems.append(f"{app}: no longer in the sources: {key[1]!r}")
    assert not problems, f"{FIX}:\n" + "\n".join(problems)


def test_every_entry_is_translated_and_none_is_fuzzy():
    problems = []
    for app, path in committed().items():
        for key, entry in parse_po(path).items():
            if entry["fuzzy"]:
                problems.append(f"{app}: fuzzy (check the guess, then remove the flag): {key[1]!r}")
            elif not all(form.strip() for form in entry["msgstr"]):
                problems.append(f"{app}: untranslated: {key[1]!r}")
    assert committed(), "no catalogue found"
    assert not problems, f"{FIX}:\n" + "\n".join(problems)


def test_placeholders_match_and_catalogues_compile():
    # msgfmt --check: the same %(name)s placeholders in msgid and msgstr, a valid header.
    for path in committed().values():
        result = subprocess.run(
            ["msgfmt", "--check", "-o", os.devnull, str(path)], capture_output=True, text=True
        )
        assert result.returncode == 0, f"{path}:\n{result.stderr}"


def test_compiled_catalogues_are_the_committed_po(tmp_path):
    # The .mo is what Django reads: it must say what the .po says.
    for app, path in committed().items():
        mo = path.with_suffix(".mo")
        assert mo.is_file(), f"{app}: {mo} is missing; {FIX}"
        fresh_mo = tmp_path / f"{app.replace('/', '-')}.mo"
        subprocess.run(["msgfmt", "-o", str(fresh_mo), str(path)], check=True)
        with mo.open("rb") as shipped, fresh_mo.open("rb") as expected:
            assert gettext.GNUTranslations(shipped)._catalog == gettext.GNUTranslations(expected)._catalog, (
                f"{app}: {mo} is older than its .po; {FIX}"
            )


def test_one_french_text_has_one_english_translation():
    # Django merges every app's catalogue of a domain into one: the same msgid
    # translated two ways would show the first app's choice everywhere.
    seen: dict[tuple[str, Key], dict[tuple[str, ...], list[str]]] = defaultdict(lambda: defaultdict(list))
    for name, path in committed().items():
        for key, entry in parse_po(path).items():
            seen[(path.stem, key)][tuple(entry["msgstr"])].append(name)
    clashes = [f"{key[1][1]!r}: {dict(t)}" for key, t in seen.items() if len(t) > 1]
    assert not clashes, "translate the same French text the same way in every app (or give it a context):\n" + "\n".join(clashes)


def test_scripts_texts_are_extracted_too(tmp_path):
    # The djangojs half of the pipeline, on a throw-away app: gettext() in a
    # script lands in djangojs.po, as `make messages` would write it.
    app = tmp_path / "essai"
    (app / "static" / "essai").mkdir(parents=True)
    (app / "locale").mkdir()
    (app / "static" / "essai" / "essai.js").write_text(
        'button.textContent = gettext("Afficher");\n'
        'status.textContent = interpolate(ngettext("%s message", "%s messages", n), [n]);\n',
        encoding="utf-8",
    )
    here = os.getcwd()
    try:
        os.chdir(app)
        call_command("makemessages", locale=["en"], domain="djangojs", no_obsolete=True, verbosity=0)
    finally:
        os.chdir(here)
    keys = set(parse_po(app / CATALOGUE / "djangojs.po"))
    assert ("", "Afficher", "") in keys and ("", "%s message", "%s messages") in keys
