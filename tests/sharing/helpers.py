"""Helpers of the sharing tests: a signed-in Django test client, and a page's text."""

from __future__ import annotations

import html

from django.test import Client


def client_for(account) -> Client:
    client = Client()
    client.force_login(account)
    return client


def text(response) -> str:
    return html.unescape(response.content.decode())
