"""Mailbox care: the "Espace utilisé" pages (what takes the space, per folder
and the largest messages and attachments, and bulk actions to archive or
delete them for good), over `store.space` and `store.quota`. Owns no table."""
