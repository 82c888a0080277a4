"""The webmail: the mail pages of academail (read, write, organise, search)."""
