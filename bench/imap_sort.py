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
"""

from __future__ import annotations

import sys

import imap_search

QUERIES = (
    ("UID SORT (DATE)", b"UID SORT (DATE) UTF-8 ALL"),
    ("UID SORT (REVERSE DATE)", b"UID SORT (REVERSE DATE) UTF-8 ALL"),
    ("UID SORT (SUBJECT)", b"UID SORT (SUBJECT) UTF-8 ALL"),
    ("UID SORT (FROM)", b"UID SORT (FROM) UTF-8 ALL"),
    ("UID SORT (REVERSE ARRIVAL) UNSEEN", b"UID SORT (REVERSE ARRIVAL) UTF-8 UNSEEN"),
    ("UID THREAD REFERENCES", b"UID THREAD REFERENCES UTF-8 ALL"),
    ("UID THREAD ORDEREDSUBJECT", b"UID THREAD ORDEREDSUBJECT UTF-8 ALL"),
)


def main() -> int:
    return imap_search.main(QUERIES, "SORT and THREAD", __doc__, "imap_sort.py", "", threaded=True)


if __name__ == "__main__":
    sys.exit(main())
