"""The calendar: CalDAV/CardDAV through Radicale mounted under ``/dav/``, the
académie directory address book, and the webmail agenda (``/agenda/``).

Named ``academail.calendar``; inside this package, ``import calendar`` still
means the standard library's module (absolute imports), which we do not use.
The Django app label is ``agenda``.
"""
