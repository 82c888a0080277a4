"""What the webmail's views share beyond the frame (``academail.web.frame``):
the compose form's reference to the message it answers or forwards."""

from __future__ import annotations

from django.http import Http404

from academail.web.frame import parse_int


def source_reference(reference: str | None) -> tuple[int, int] | None:
    """The ``source`` field of the compose form ("<mailbox id>-<uid>") as a pair;
    None when absent; a malformed one is a 404."""
    if not reference or "-" not in reference:
        return None
    box, _sep, uid = reference.partition("-")
    box_id, uid_number = parse_int(box), parse_int(uid)
    if box_id is None or uid_number is None:
        raise Http404
    return box_id, uid_number
