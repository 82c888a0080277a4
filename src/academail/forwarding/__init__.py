"""Forwarding: a person's forward to another address, confirmed by a link
sent to the target, within the académie's policy (allowed domains, marked
messages kept inside), sent with SRS (so SPF passes downstream) through
`delivery`. Owns the forwards table."""
