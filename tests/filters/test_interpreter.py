"""The interpreter, one table per family: tests, match types, comparators, actions
(RFC 5228, 5230, 5231, 5232, 5260, 5429; RFC 5229 and the RFC examples are in test_rfc_examples.py), and what header tests read."""

from __future__ import annotations

import pytest

from academail.filters.sieve import ScriptError, compile_script, wildcard_match, wildcard_tokens
from tests.filters.conftest import raw_message, run

R = 'require ["fileinto", "mailbox", "imap4flags", "copy", "body", "regex", "envelope", "relational", "reject", "ereject", "comparator-i;unicode-casemap"];\n'

TESTS = [
    # (test, matches the default message?)
    ('header :contains "subject" "conseil"', True),
    ('header :is "subject" "Conseil de classe"', True),
    ('header :is "subject" "Conseil"', False),
    ('header :matches "subject" "Conseil*"', True),
    ('header :matches "subject" "C?nseil de *e"', True),
    ('header :matches "subject" "*x*"', False),
    ('header :regex "subject" "^con[s]eil\\\\s+de"', True),
    ('header :regex "subject" "^classe"', False),
    ('header :contains ["x-absent", "subject"] ["zzz", "classe"]', True),
    ('address :is :domain "from" "college-exemple.fr"', True),
    ('address :is :localpart "from" "direction"', True),
    ('address :is :all "to" "julie.martin@ac-demo.fr"', True),
    ('address :contains "to" "paul"', False),
    ('envelope :is "from" "direction@college-exemple.fr"', True),
    ('envelope :is :domain "to" "ac-demo.fr"', True),
    ('envelope :is "to" "autre@ac-demo.fr"', False),
    ("size :over 100", True),
    ("size :under 100", False),
    ("size :under 1K", True),
    ("size :over 1M", False),
    ('exists "subject"', True),
    ('exists ["subject", "x-absent"]', False),
    ('not exists "x-absent"', True),
    ('allof (exists "subject", header :contains "subject" "classe")', True),
    ('allof (exists "subject", header :contains "subject" "absent")', False),
    ('anyof (false, header :contains "subject" "classe")', True),
    ("anyof (false, false)", False),
    ('body :contains "jeudi"', True),
    ('body :text :contains :comparator "i;unicode-casemap" "REUNION"', True),
    ('header :count "eq" "subject" "1"', True),
    ('header :value "gt" "subject" "B"', True),
    ("true", True),
    ("false", False),
]


@pytest.mark.parametrize(("test", "expected"), TESTS)
def test_tests(test, expected):
    outcome, _ = run(R + f'if {test} {{ fileinto "Oui"; }}')
    assert (outcome.fileinto == ["Oui"]) is expected


COMPARATORS = [
    # (comparator, key, subject, matches)
    ("i;octet", "conseil", "Conseil de classe", False),
    ("i;octet", "Conseil", "Conseil de classe", True),
    ("i;ascii-casemap", "CONSEIL", "Conseil de classe", True),
    ("i;ascii-casemap", "REUNION", "Réunion", False),  # ASCII only
    ("i;ascii-casemap", "RéUNION", "réunion", True),
    ("i;unicode-casemap", "réunion", "REUNION des parents", True),
    ("i;unicode-casemap", "REUNION", "Réunion des parents", True),
    ("i;unicode-casemap", "élève", "ELEVES absents", True),
    ("i;unicode-casemap", "œuvre", "OEUVRE", True),
]


@pytest.mark.parametrize(("comparator", "key", "subject", "expected"), COMPARATORS)
def test_comparators(comparator, key, subject, expected):
    encoded = "".join(f"={b:02X}" for b in subject.encode())
    raw = raw_message(subject=f"=?utf-8?q?{encoded}?=")
    outcome, _ = run(R + f'if header :contains :comparator "{comparator}" "subject" "{key}" {{ fileinto "Oui"; }}', raw)
    assert (outcome.fileinto == ["Oui"]) is expected


def test_encoded_subject_is_decoded_before_matching():
    raw = raw_message(subject="=?utf-8?q?R=C3=A9union_p=C3=A9dagogique?=")
    outcome, _ = run(R + 'if header :is :comparator "i;unicode-casemap" "subject" "REUNION PEDAGOGIQUE" { keep; }', raw)
    assert outcome.keep


def test_regex_with_unicode_casemap_ignores_accents():
    outcome, _ = run(R + 'if header :regex :comparator "i;unicode-casemap" "subject" "^r.union$" { fileinto "X"; }',
                     raw_message("Réunion"))
    assert outcome.fileinto == ["X"]


@pytest.mark.parametrize(
    ("pattern", "text", "expected"),
    [("*", "", True), ("a*b", "axxb", True), ("a*b", "axxbc", False), ("?", "é", True),
     ("a\\*", "a*", True), ("a\\*", "ab", False), ("*a*a*a*a*a*b", "a" * 2000, False), ("", "", True)],
)
def test_wildcards(pattern, text, expected):
    assert wildcard_match(wildcard_tokens(pattern), text) is expected


ACTIONS = [
    # (actions, mailbox, discard, keep_copy, redirects, flags)
    ("keep;", None, False, False, (), set()),
    ('fileinto "Réunions";', "Réunions", False, False, (), set()),
    ('fileinto :create "A/B";', "A/B", False, False, (), set()),
    ('fileinto :copy "A";', "A", False, True, (), set()),
    ('fileinto "A"; keep;', "A", False, True, (), set()),
    ('fileinto "INBOX";', None, False, False, (), set()),
    ("discard;", None, True, False, (), set()),
    ("discard; keep;", None, False, False, (), set()),
    ('redirect "x@ac-demo.fr";', None, True, False, ("x@ac-demo.fr",), set()),
    ('redirect :copy "x@ac-demo.fr";', None, False, True, ("x@ac-demo.fr",), set()),
    ('addflag "\\\\Seen"; fileinto "A";', "A", False, False, (), {"\\Seen"}),
    ('addflag ["\\\\Seen", "\\\\Flagged urgent"];', None, False, False, (), {"\\Seen", "\\Flagged", "urgent"}),
    ('addflag "a"; setflag "b";', None, False, False, (), {"b"}),
    ('addflag ["a", "b"]; removeflag "a";', None, False, False, (), {"b"}),
    ('fileinto :flags "\\\\Seen" "A";', "A", False, False, (), {"\\Seen"}),
    ('fileinto "A"; stop; fileinto "B";', "A", False, False, (), set()),
    ('fileinto "A"; fileinto "B";', "A", False, False, (), set()),  # one copy: first wins
]


@pytest.mark.parametrize(("actions", "mailbox", "discard", "keep_copy", "redirects", "flags"), ACTIONS)
def test_actions(actions, mailbox, discard, keep_copy, redirects, flags):
    _, decision = run(R + actions)
    assert decision.mailbox == mailbox
    assert decision.discard is discard
    assert decision.keep_copy is keep_copy
    assert decision.redirects == redirects
    assert decision.flags == frozenset(flags)
    assert decision.error is None


def test_no_action_is_implicit_keep():
    _, decision = run(R + 'if header :contains "subject" "absent" { discard; }')
    assert decision.local_mailboxes == [None]


@pytest.mark.parametrize("command", ['reject "Non merci";', 'ereject "Non merci";'])
def test_reject_is_discard_with_error(command):
    _, decision = run(R + command)
    assert decision.discard and decision.error and "Non merci" in decision.error


def test_elsif_else():
    script = R + 'if header :is "subject" "x" { fileinto "A"; } elsif header :contains "subject" "classe" { fileinto "B"; } else { fileinto "C"; }'
    assert run(script)[0].fileinto == ["B"]
    assert run(script, raw_message("autre"))[0].fileinto == ["C"]


def test_rfc5228_example():
    # RFC 5228 §7, trimmed to what it exercises here.
    script = """require "fileinto";
if header :is "Sender" "owner-ietf-mtgs@ietf.org" { fileinto "meetings"; }
elsif address :domain :is ["From", "To"] "college-exemple.fr" { fileinto "examples"; }
elsif anyof (not exists ["From", "Date"], header :contains "from" "owner-foo") { discard; }
else { keep; }
"""
    assert run(script)[0].fileinto == ["examples"]


@pytest.mark.parametrize(
    ("script", "fragment"),
    [
        ('if header :contains "subject" {\n keep;', "Ligne"),
        ('fileinto "A";', "fileinto"),
        ("frobnicate;", "commande inconnue"),
        ('require "fileinto";\nif true { fileinto "A" }', "Ligne 2"),
        ('require "regex";\nif header :regex "subject" "(" { keep; }', "Expression régulière invalide"),
    ],
)
def test_invalid_scripts_explain_in_french(script, fragment):
    with pytest.raises(ScriptError) as caught:
        compile_script(script)
    assert fragment in caught.value.message


def test_invalid_folder_name_is_a_script_error():
    with pytest.raises(ScriptError):
        compile_script('require "fileinto"; fileinto "a//b";')


def test_store_flags():
    _, decision = run(R + 'addflag ["\\\\Seen \\\\Flagged", "urgent", "bad(kw"];')
    assert decision.store_flags() == (1 | 4, "urgent")


# --- what header tests read ----------------------------------------------------------


def _counting_view(message: bytes, **sources):
    from academail.filters.engine import ParsedView
    from academail.mime.parse import parse_message
    from tests.filters.conftest import NOW

    return ParsedView(parse_message(message), envelope_from="direction@college-exemple.fr",
                      envelope_to="julie.martin@ac-demo.fr", size=len(message), now=NOW, **sources)


def test_parsed_headers_never_read_the_message():
    raw = raw_message(extra="X-Classe: 6eB\r\n")
    calls = []
    view = _counting_view(raw, raw=lambda: calls.append("raw") or raw)
    script = R + ('if anyof (header :contains "subject" "zzz", header :contains "from" "zzz", '
                  'header :contains ["to", "cc", "bcc", "reply-to"] "zzz", header :contains "message-id" "zzz", '
                  'header :contains "date" "zzz", address :is "from" "zzz") { discard; }')
    assert not compile_script(script).run(view).discard
    assert calls == []
    assert view.header("from") == ["Direction <direction@college-exemple.fr>"]
    assert view.header("message-id") == ["<m1@college-exemple.fr>"]
    assert compile_script(R + 'if header :is "x-classe" "6eB" { discard; }').run(view).discard
    assert calls == ["raw"]  # once, whatever the number of other fields read
    assert view.header("x-absent") == [] and calls == ["raw"]


def test_other_headers_come_from_the_header_section_only():
    # A "field" in the body is not a header field.
    raw = raw_message(body="X-Fake: yes\r\n")
    assert _counting_view(raw, raw=raw).header("x-fake") == []
    end = raw.index(b"\r\n\r\n") + 4
    calls = []
    view = _counting_view(raw, raw=None, header=lambda: calls.append("header") or raw[:end])
    assert view.header("mime-version") == ["1.0"] and calls == ["header"]


def test_variables_cost_nothing_without_require():
    # The fast path: no variables state is touched by a script that does not require them.
    view = _counting_view(raw_message(), raw=None)
    compile_script(R + 'if header :matches "subject" "Conseil*" { fileinto "${1}"; }').run(view)
    assert view.match == [] and view.variables == {}


def test_flag_variables_computed_names_are_bounded():
    script = ('require ["variables", "imap4flags"];\n'
              'set "i" "";\n' + "".join(f'setflag "${{i}}v{n}" "a";\n' for n in range(130)))
    with pytest.raises(ScriptError):
        compile_script(script).run(_counting_view(raw_message(), raw=None))


def test_script_over_the_length_limit_says_ko():
    """The limit is written in the platform's one size format ("512,0 Ko"), not "Kio"."""
    with pytest.raises(ScriptError) as caught:
        compile_script("# " + "x" * (512 * 1024) + "\nkeep;\n")
    assert "512,0\xa0Ko au plus" in str(caught.value) and "Kio" not in str(caught.value)
