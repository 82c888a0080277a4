"""Filters: the Sieve scripts of each account (RFC 5228 and extensions), the
interpreter run at delivery, the rules page of the webmail that writes
scripts for people, and applying a filter to messages already stored.
Owns the scripts table."""
