"""The demo académie: a cast of French staff and the realistic mail they hold.

`corpus` generates people and message bytes (pure Python, deterministic);
`seed` writes them through the account and store services for `academail demo`.
"""
