"""Demo data for mailbox care: one teacher whose mailbox is at 95 % because
of three messages with videos (the issue's "Done when" story): the quota
banner, the notice mail and "Espace utilisé" have something to show."""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime

from django.db import transaction

from academail.accounts.models import Account
from academail.delivery.route import send_notice
from academail.store.messages import Placement, inbox_ids, prepare_content, quota_usage
from academail.store.quota import do_quota_notices

VIDEO_BYTES = 3 * 1024 * 1024
TARGET_PERCENT = 95


def _video_message(to: str, index: int, when: datetime, rng: random.Random) -> bytes:
    message = EmailMessage(policy=SMTP)
    message["From"] = "Atelier vidéo <atelier.video@college-jean-moulin.ac-demo.fr>"
    message["To"] = to
    message["Subject"] = f"Vidéo de la sortie au musée ({index}/3)"
    message["Date"] = format_datetime(when)
    message["Message-ID"] = f"<demo-video-{index}-{rng.randrange(10**9)}@ac-demo.fr>"
    message.set_content(f"Bonjour,\n\nVoici la vidéo de la sortie, partie {index}.\n\nBonne journée.\n")
    message.add_attachment(rng.randbytes(VIDEO_BYTES), maintype="video", subtype="mp4",
                           filename=f"sortie-musee-partie-{index}.mp4")
    return message.as_bytes()


def seed_full_mailbox(accounts: list[Account], now: datetime) -> Account | None:
    """Give the first active teacher three video messages and a quota they
    fill to 95 %, then send the quota notice as the worker would."""
    teacher = next((a for a in accounts if a.role == "staff" and a.status == "active"), None)
    if teacher is None:
        return None
    rng = random.Random(15)
    box = inbox_ids([teacher.pk])[teacher.pk]
    from academail.store.messages import do_store

    for index in range(1, 4):
        prepared = prepare_content(_video_message(teacher.address, index, now - timedelta(days=200 + index), rng))
        with transaction.atomic():
            do_store(prepared, [Placement(teacher.pk, box)], internaldate=now - timedelta(days=200 + index))
    used, _limit = quota_usage(teacher.pk)
    Account.objects.filter(pk=teacher.pk).update(quota_bytes=used * 100 // TARGET_PERCENT)
    do_quota_notices(now, send_notice)
    return teacher
