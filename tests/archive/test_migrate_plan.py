"""Where each folder of the old server goes (``archive.imapsource.plan_folders``),
from LIST replies as servers send them: SPECIAL-USE attributes (RFC 6154),
no attributes at all (names then), a Courier-style "INBOX." namespace, "/" or
"." as the separator, virtual folders."""

from __future__ import annotations

from academail.archive.imapsource import plan_folders

NAMES = {"sent": "Envoyés", "drafts": "Brouillons", "trash": "Corbeille", "junk": "Indésirables",
         "archive": "Archives"}


def targets(listed, prefix=""):
    return {p.source_name: (p.target_name, p.special_use, p.selectable, bool(p.skipped))
            for p in plan_folders(listed, prefix, NAMES)}


def test_special_use_attributes_win_over_names():
    planned = targets([
        ((b"\\HasNoChildren",), b"/", "INBOX"),
        ((b"\\Sent",), b"/", "Éléments envoyés"),
        ((b"\\HasNoChildren",), b"/", "Sent"),  # a second "Sent": an ordinary folder
        ((b"\\Junk",), b"/", "Pourriel"),
        ((b"\\HasChildren", b"\\Trash"), b"/", "Deleted Items"),
        ((), b"/", "Deleted Items/2019"),
        ((b"\\All",), b"/", "Tous les messages"),
        ((b"\\Noselect",), b"/", "Projets"),
        ((), b"/", "Projets/Élèves & parents"),
    ])
    assert planned == {
        "INBOX": ("INBOX", "inbox", True, False),
        "Éléments envoyés": ("Envoyés", "sent", True, False),
        "Sent": ("Sent", None, True, False),
        "Pourriel": ("Indésirables", "junk", True, False),
        "Deleted Items": ("Corbeille", "trash", True, False),
        "Deleted Items/2019": ("Corbeille/2019", None, True, False),
        "Tous les messages": ("", None, False, True),
        "Projets": ("Projets", None, False, False),
        "Projets/Élèves & parents": ("Projets/Élèves & parents", None, True, False),
    }


def test_names_without_special_use_and_a_courier_namespace():
    planned = targets([
        ((), b".", "INBOX"),
        ((), b".", "INBOX.Sent Messages"),
        ((), b".", "INBOX.Drafts"),
        ((), b".", "INBOX.Spam"),
        ((), b".", "INBOX.Trash"),
        ((), b".", "INBOX.Archives.2020"),
        ((), b".", "INBOX.Conseil 2024/2025"),
        ((), b".", "INBOX.100% réussite*"),
    ], prefix="INBOX.")
    assert planned["INBOX"][:2] == ("INBOX", "inbox")
    assert planned["INBOX.Sent Messages"][:2] == ("Envoyés", "sent")
    assert planned["INBOX.Drafts"][:2] == ("Brouillons", "drafts")
    assert planned["INBOX.Spam"][:2] == ("Indésirables", "junk")
    assert planned["INBOX.Trash"][:2] == ("Corbeille", "trash")
    assert planned["INBOX.Archives.2020"][:2] == ("Archives/2020", None)
    # "/" is academail's separator, "%" and "*" are LIST wildcards (RFC 3501 §6.3.8).
    assert planned["INBOX.Conseil 2024/2025"][0] == "Conseil 2024-2025"
    assert planned["INBOX.100% réussite*"][0] == "100_ réussite_"
