"""Background jobs: long work a page starts and the worker finishes (for
example applying a filter to existing messages), with progress a person can
follow. Owns the jobs table and the runner that claims and runs jobs."""
