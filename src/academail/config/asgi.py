"""ASGI entry point: uvicorn serves this inside ``academail serve``'s event loop.

Static files are served by ServeStatic (an async middleware, see ``settings``), so one
process is a whole platform; behind a reverse proxy at scale they can be served
by it instead, from ``STATIC_ROOT``.
"""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "academail.config.settings")
application = get_asgi_application()
