"""The IMAP server (RFC 3501 IMAP4rev1 and the extensions phones rely on).

``parsing/`` turns bytes into typed commands and nothing else; ``state`` says which
command is allowed in which connection state; ``view`` keeps a selected mailbox's
sequence numbers; ``render`` writes FETCH data from the store's part map;
``session`` runs commands through store and accounts services; ``server`` owns
sockets, TLS, framing, limits and timers.
"""
