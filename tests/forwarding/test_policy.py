"""The forwarding policy as a table: target domain x message marks x the
FORWARD_OUTSIDE setting -> verdict, and the French reasons people read."""

from __future__ import annotations

import pytest

from academail.forwarding.policy import MessageMarks, Verdict, decide, fold, sensitivity

ME = "julie.martin@ac-demo.fr"
PLAIN = MessageMarks("Conseil de classe")
TAGGED = MessageMarks("Tr: [Diffusion restreinte] Sujets du brevet")
ACCENTED_TAG = MessageMarks("[DIFFUSION RESTREÏNTE]  sujets")  # accents and spaces ignored
HEADER = MessageMarks("Sujets", (("x-academail-sensitivity", "Restricted"),))
OUTLOOK = MessageMarks("Sujets", (("sensitivity", "Company-Confidential"),))
PRIVATE = MessageMarks("Sujets", (("sensitivity", "Private"),))


@pytest.fixture(autouse=True)
def _domains(settings):
    settings.MAIL_DOMAINS = ["ac-demo.fr", "ac-demo2.fr"]
    settings.FORWARD_ALLOWED_DOMAINS = ["education.gouv.fr"]
    settings.FORWARD_OUTSIDE = "refuse"


@pytest.mark.parametrize(
    ("target", "message", "outside", "verdict"),
    [
        ("paul.durand@ac-demo.fr", None, "refuse", Verdict.ALLOW),
        ("paul.durand@AC-DEMO2.FR", PLAIN, "refuse", Verdict.ALLOW),
        ("paul.durand@ac-demo.fr", TAGGED, "refuse", Verdict.ALLOW),  # sensitive stays inside: fine
        ("paul.durand@ac-demo.fr", HEADER, "refuse", Verdict.ALLOW),
        ("jean.dupont@education.gouv.fr", None, "refuse", Verdict.ALLOW),
        ("jean.dupont@education.gouv.fr", PLAIN, "refuse", Verdict.ALLOW),
        ("jean.dupont@education.gouv.fr", TAGGED, "refuse", Verdict.REFUSE),
        ("jean.dupont@education.gouv.fr", ACCENTED_TAG, "hold", Verdict.REFUSE),
        ("jean.dupont@education.gouv.fr", HEADER, "refuse", Verdict.REFUSE),
        ("jean.dupont@education.gouv.fr", OUTLOOK, "refuse", Verdict.REFUSE),
        ("jean.dupont@education.gouv.fr", PRIVATE, "refuse", Verdict.ALLOW),
        ("jean.dupont@sub.education.gouv.fr", PLAIN, "refuse", Verdict.REFUSE),  # exact names only
        ("julie@gmail.example", None, "refuse", Verdict.REFUSE),
        ("julie@gmail.example", PLAIN, "refuse", Verdict.REFUSE),
        ("julie@gmail.example", None, "hold", Verdict.HOLD),
        ("julie@gmail.example", PLAIN, "hold", Verdict.HOLD),
        ("julie@gmail.example", TAGGED, "hold", Verdict.REFUSE),  # sensitive: never held, never sent
        ("julie@ac-demo.fr.gmail.example", PLAIN, "refuse", Verdict.REFUSE),
        (ME, None, "refuse", Verdict.REFUSE),  # its own address
        ("JULIE.MARTIN@ac-demo.fr", None, "refuse", Verdict.REFUSE),
        ("pas une adresse", None, "refuse", Verdict.REFUSE),
        ("a@b@ac-demo.fr", None, "refuse", Verdict.REFUSE),
        ("x@ac-demo.fr\r\nBcc: y@gmail.example", None, "refuse", Verdict.REFUSE),
        ("", None, "refuse", Verdict.REFUSE),
    ],
)
def test_policy_table(settings, target, message, outside, verdict):
    settings.FORWARD_OUTSIDE = outside
    decision = decide(ME, target, message)
    assert decision.verdict is verdict, decision.reason
    assert bool(decision.reason) == (verdict is not Verdict.ALLOW)


def test_refusal_explains_in_french_which_domains_are_allowed():
    reason = decide(ME, "julie@gmail.example").reason
    assert "n'est pas autorisé" in reason
    assert "ac-demo.fr, ac-demo2.fr, education.gouv.fr" in reason
    assert "environnement académique" in reason


def test_sensitive_refusal_says_the_message_stays():
    reason = decide(ME, "jean.dupont@education.gouv.fr", TAGGED).reason
    assert "[DIFFUSION RESTREINTE]" in reason and "reste dans votre boîte" in reason


def test_settings_change_the_tags_and_headers(settings):
    settings.SENSITIVE_SUBJECT_TAGS = ["[CONFIDENTIEL]"]
    settings.SENSITIVE_HEADERS = ["X-Classification"]  # a name alone: any value
    assert sensitivity(MessageMarks("[confidentiel] notes")) is not None
    assert sensitivity(TAGGED) is None
    assert sensitivity(MessageMarks("x", (("x-classification", "anything"),))) is not None
    assert sensitivity(HEADER) is None


def test_fold():
    assert fold("  [Diffusion   RESTREINTE] ") == "[diffusion restreinte]"
    assert fold("Réunion") == fold("REUNION")
