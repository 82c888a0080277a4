"""Distribution lists (issue 19 §3): lists fed from the directory (every
teacher of an établissement, every principal of a département, resolved at
post time) and hand-managed lists; who may post, moderation, RFC 2369/2919
headers, expansion through the one route (one stored copy for the local
members, the queue with SRS bounce addresses for the others), bounce counting,
and each list's archive. Owns the lists' tables."""
