"""ASGI entry point: uvicorn serves this inside ``academail serve``'s event loop.

Static files (the admin's CSS) are served by the app itself, so one process is a
whole platform; behind a reverse proxy at scale they can be served by it instead.
"""

import os

from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler
from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "academail.config.settings")
application = ASGIStaticFilesHandler(get_asgi_application())
