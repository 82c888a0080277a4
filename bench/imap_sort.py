"""IMAP SORT and THREAD (RFC 5256) over one large INBOX, side by side with
Dovecot in the same run (issue 18 target: SORT by date and subject, and THREAD
REFERENCES, over 100,000 messages under 200 ms).

    .venv/bin/python bench/imap_sort.py                       # 100,000 messages: ~15 min of filling on 2 cores
    .venv/bin/python bench/imap_sort.py --messages 10000 --no-dovecot
    .venv/bin/python bench/imap_sort.py --keep                # then --reuse HOME,DOVECOT_ROOT: no second fill

The INBOX and Dovecot's Maildir are filled as bench/imap_sync.py does, with
conversations (40 % of messages answer an earlier one: In-Reply-To, References,
"Re: " subjects; bench/store.py ``small_message``); both
servers get the same commands from the same raw TLS client, timed as
bench/imap_search.py does (median after a warm-up); the count of numbers in
each answer is printed beside the time so a difference in semantics shows.
THREAD is timed twice: "cold" after a message came and went (no kept answer
can serve: the figure of a first THREAD on a mailbox), then "warm" (the
same command again on an unchanged mailbox: academail's kept answer).
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable

import imap_search
import imap_sync

# Before each "cold" run a small message is appended and expunged (UIDPLUS's
# UID EXPUNGE): the mailbox holds the same messages, but its UIDNEXT moved, so
# academail's kept THREAD answer (imap.threadcache: a flag change would not
# do for ALL, which reads no flag) cannot serve and the answer is computed
# from the index. A "warm" run follows the one before with nothing changed
# (academail answers from the kept text, Dovecot from its thread index as
# always). Dovecot gets the same commands.
APPENDUID = re.compile(rb"\[APPENDUID \d+ (\d+)\]")
PASSING = b"From: bench@ac-demo.fr\r\nSubject: passage\r\nMessage-ID: <passage@ac-demo.fr>\r\n\r\nx\r\n"


def come_and_go(client: imap_sync.Client) -> None:
    appended, _ = client.cmd(b"APPEND INBOX (\\Deleted) {%d+}\r\n%s" % (len(PASSING), PASSING))
    found = APPENDUID.search(appended)
    if found is None:
        raise RuntimeError(f"no APPENDUID: {appended[-120:]!r}")
    client.cmd(b"UID EXPUNGE " + found.group(1))


QUERIES: tuple[tuple[str, bytes] | tuple[str, bytes, Callable[[imap_sync.Client], object]], ...] = (
    ("UID SORT (DATE)", b"UID SORT (DATE) UTF-8 ALL"),
    ("UID SORT (REVERSE DATE)", b"UID SORT (REVERSE DATE) UTF-8 ALL"),
    ("UID SORT (SUBJECT)", b"UID SORT (SUBJECT) UTF-8 ALL"),
    ("UID SORT (FROM)", b"UID SORT (FROM) UTF-8 ALL"),
    ("UID SORT (REVERSE ARRIVAL) UNSEEN", b"UID SORT (REVERSE ARRIVAL) UTF-8 UNSEEN"),
    ("UID THREAD REFERENCES cold", b"UID THREAD REFERENCES UTF-8 ALL", come_and_go),
    ("UID THREAD REFERENCES warm", b"UID THREAD REFERENCES UTF-8 ALL"),
    ("UID THREAD ORDEREDSUBJECT cold", b"UID THREAD ORDEREDSUBJECT UTF-8 ALL", come_and_go),
    ("UID THREAD ORDEREDSUBJECT warm", b"UID THREAD ORDEREDSUBJECT UTF-8 ALL"),
)


def main() -> int:
    return imap_search.main(QUERIES, "SORT and THREAD", __doc__, "imap_sort.py", "", threaded=True)


if __name__ == "__main__":
    sys.exit(main())
