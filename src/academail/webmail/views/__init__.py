"""The webmail's views, one module per family of pages: ``pages`` (a folder's
list, a conversation, the list's actions, search), ``reading`` (a message, its
frame, its source and attachments), ``writing`` (the compose page and draft
autosave), ``folders`` (create, rename, delete, empty), ``preferences``,
``directory`` (address suggestions) and ``live`` (counters and the event
stream). The frame they share, ``webmail_view`` (sign-in, 404 for another
account's ids, strict headers) and ``render_page`` (render with the folder
pane), is ``academail.web.frame``: other packages' pages import it from there.

Views parse the request, call one service (``store.webmail``,
``store.mailboxes``, ``webmail.sending``, ``webmail.drafts``, ...) and render
``pages/`` or ``partials/``. No service module imports a view.
"""
