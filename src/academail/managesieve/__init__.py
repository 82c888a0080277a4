"""ManageSieve (RFC 5804): the protocol mail programs (Thunderbird's Sieve
add-on, sieve-connect, Roundcube's managesieve plugin) use to edit the filter
scripts the webmail page edits too. ``parsing`` turns bytes into typed
commands (pure), ``state`` says which command runs in which state,
``session`` runs them through ``filters.scripts`` and ``accounts.services``,
``server`` frames the bytes on an asyncio stream with STARTTLS and limits.
"""
