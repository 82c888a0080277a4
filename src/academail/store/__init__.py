"""The mail store: sole owner of mailboxes, messages, flags, UIDs, MODSEQs, quota
usage, the search index and the blobs. Import the API from its modules:
``store.mailboxes``, ``store.messages``, ``store.gc``, ``store.events``."""
