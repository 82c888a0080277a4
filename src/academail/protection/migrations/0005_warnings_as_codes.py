"""Stored phishing warnings become codes and parameters (their words now
come at reading time, in the reader's language: ``protection.texts``).

Rows written before held each warning's French title and detail; the
parameters are read back out of those texts with the patterns of the
sentences that wrote them (frozen here, as they were). A text that does not
match keeps its code with no parameters: it then reads with "…" in place
of the missing values, never fails.
"""

from __future__ import annotations

import re

from django.db import migrations

# code -> pattern of the old French detail (the title's parameters are all in it).
_OLD = {
    "EXTERNAL": r"L'expéditeur, (?P<address>.*?), n'a pas d'adresse de l'académie\.",
    "LOOKALIKE_DOMAIN": r"L'adresse (?P<address>.*?) utilise le domaine (?P<domain>.*?), qui ressemble à (?P<real>.*?) sans",
    "DISPLAY_NAME_SERVICE": r"venant de « (?P<name>.*?) », mais son adresse réelle est (?P<address>.*?), hors",
    "DISPLAY_NAME_ADDRESS": r"mais le message vient de (?P<address>.*)\.$",
    "REPLY_TO": r"Le message vient de (?P<address>.*?), mais si vous répondez, votre réponse ira à (?P<reply>.*?)\. ",
    "AUTH_ACADEMIE": r"Le message affiche l'adresse (?P<address>.*?), de l'académie",
    "AUTH_FAILED": r"Le domaine (?P<domain>.*?) publie des règles",
    "LINK_USERINFO": r"Un lien commence par « (?P<userinfo>.*?)@ » .* qui ouvre en réalité (?P<host>.*)\.$",
    "LINK_IP": r"Un lien mène à (?P<host>.*?), une adresse numérique",
    "LINK_LOOKALIKE": r"Un lien mène à (?P<host>.*?), qui ressemble à (?P<real>.*?) sans l'être",
    "LINK_SHORTENER": r"Un lien passe par (?P<host>.*?), un service",
    "LINK_TEXT_MISMATCH": r"Un lien affiche « (?P<shown>.*?) » mais mène en réalité à (?P<host>.*)\.$",
    "FORM_OUTSIDE": r"les réponses partent vers (?P<host>.*?)\. Ne saisissez",
    "CREDENTIAL_LURE": r"Ce message vous parle de (?P<terms>.*?)(?P<urgent> avec urgence)? et contient",
    "CREDENTIAL_MENTION": r"Ce message venu de l'extérieur parle de (?P<terms>.*?)\. Ne communiquez",
    "ATTACHMENT_RTL": r"extension : « (?P<name>.*) »\.$",
    "ATTACHMENT_DOUBLE_EXTENSION": r"« (?P<name>.*?) » se fait passer pour un document \.(?P<shown>\w+) mais c'est un "
                                   r"programme \(\.(?P<ext>\w+)\)",
    "ATTACHMENT_EXECUTABLE": r"« (?P<name>.*?) » est un programme ou un script \(\.(?P<ext>\w+)\)",
    "ATTACHMENT_MACRO": r"« (?P<name>.*?) » contient des macros",
    "ATTACHMENT_HTML_FORM": r"« (?P<name>.*?) » est une page web",
    "ARCHIVE_ENCRYPTED": r"« (?P<name>.*?) » est chiffrée",
    "ARCHIVE_EXECUTABLE": r"« (?P<name>.*?) » contient (?P<inner>.*?), un programme",
}
_PATTERNS = {code: re.compile(pattern, re.S) for code, pattern in _OLD.items()}


def params_of(code: str, detail: str) -> dict[str, object]:
    pattern = _PATTERNS.get(code)
    found = pattern.search(detail) if pattern is not None else None
    if found is None:
        return {}
    params: dict[str, object] = {k: v for k, v in found.groupdict().items() if v is not None}
    if "terms" in params:
        params["terms"] = re.findall(r"« (.*?) »", str(params["terms"]))
    if code == "CREDENTIAL_LURE":
        params["urgent"] = bool(params.get("urgent"))
    return params


def forwards(apps, schema_editor):
    MessageWarnings = apps.get_model("protection", "MessageWarnings")
    batch = []
    for row in MessageWarnings.objects.only("pk", "data").iterator(chunk_size=2000):
        warnings = row.data.get("warnings", []) if isinstance(row.data, dict) else []
        if not any(isinstance(w, dict) and "params" not in w for w in warnings):
            continue
        row.data["warnings"] = [
            w if "params" in w else {"code": w.get("code", ""), "level": w.get("level", ""),
                                     "params": params_of(str(w.get("code", "")), str(w.get("detail", "")))}
            for w in warnings if isinstance(w, dict)
        ]
        batch.append(row)
        if len(batch) >= 2000:
            MessageWarnings.objects.bulk_update(batch, ["data"])
            batch = []
    if batch:
        MessageWarnings.objects.bulk_update(batch, ["data"])


class Migration(migrations.Migration):
    dependencies = [("protection", "0004_token_counts_index")]

    # Backwards: the rows keep codes and parameters, which the older code
    # shows without words; nothing is lost.
    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
