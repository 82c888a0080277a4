"""What every signed-in page of the mail pages shares, whichever package
serves it (webmail, filters, forwarding, and the wave 2 pages): the
``webmail_view`` decorator (sign-in, 404 for another account's ids, strict
CSP, no caching) and ``render_page`` (a ``webmail/pages/`` template with the
folder pane). It sits below every package that has pages, so they can use it
without import cycles (the webmail imports delivery, which runs the filters
and forwards, whose pages use this frame)."""
