"""Several small reads of one delivery in one statement.

Screening a message from outside reads a handful of rows from tables that
other modules own (a staff member's name, the sender domain's history, the
classifiers' totals, the recipients' lists and correspondents). Each owner
keeps its query (``*_query``) and the reading of its rows (``*_in``); this
module sends them together as one ``UNION ALL``, so a delivery pays one
statement's overhead instead of one per read (bench/README.md, issue 13).
Every column comes back as text (PostgreSQL wants one type per column of a
union); the owners' ``*_in`` functions read text as well as typed values.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from django.db import connection

WIDTH = 4  # columns of the widest part

# A part: (SQL selecting columns named c1..cN, its parameters, N).
Part = tuple[str, Sequence[object], int]


def select_together(parts: Mapping[str, Part]) -> dict[str, list[tuple[str | None, ...]]]:
    """The rows of each part (each a tuple of its N columns, as text or
    None), in one statement for all of them; no statement when ``parts`` is
    empty. Needs no transaction."""
    names = list(parts)
    found: dict[str, list[tuple[str | None, ...]]] = {name: [] for name in names}
    pieces: list[str] = []
    params: list[object] = []
    for index, (sql, args, width) in enumerate(parts.values()):
        assert 0 < width <= WIDTH, "a part has 1 to WIDTH columns"
        columns = [f"CAST(q.c{i} AS TEXT)" for i in range(1, width + 1)] + ["CAST(NULL AS TEXT)"] * (WIDTH - width)
        pieces.append(f"SELECT {index}, {', '.join(columns)} FROM ({sql}) q")  # noqa: S608 (our own queries, values as parameters)
        params.extend(args)
    if not pieces:
        return found
    with connection.cursor() as cursor:
        cursor.execute(" UNION ALL ".join(pieces), params)
        for part, *values in cursor.fetchall():
            name = names[int(part)]
            found[name].append(tuple(values[:parts[name][2]]))
    return found
