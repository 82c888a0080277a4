"""Reading, continued: a message attached to a message opens as a message
(same sanitising and sandbox, addressed by section path, IDOR-proof), image
and PDF previews (type, disposition, nosniff, CSP; SVG never inline), and
"Toujours afficher les images de cet expéditeur" (exact address, only when
SPF/DMARC did not fail, per account)."""

from __future__ import annotations

import re
from email.message import EmailMessage
from email.policy import SMTP

import pytest
from django.urls import reverse

from academail.webmail.models import TrustedSender
from academail.webmail.render import authentication_failed
from tests.webmail.conftest import deliver

pytestmark = pytest.mark.django_db(transaction=False)

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x00" * 40
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog /OpenAction << /S /JavaScript /JS (app.alert(1)) >> >>\nendobj\n%%EOF\n"
SVG = b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><script>alert(2)</script></svg>'
HOSTILE_INNER_HTML = (
    '<p>Corps joint</p><script>alert("inner")</script><img src="https://pisteur.example/p.gif">'
    '<a href="javascript:alert(1)">clic</a><svg onload=alert(1)></svg>'
)


def inner_message(*, nested: bytes | None = None) -> EmailMessage:
    inner = EmailMessage(policy=SMTP)
    inner["From"] = '"Inspection" <inspection@ac-demo.fr>'
    inner["To"] = "direction@college-exemple.fr"
    inner["Subject"] = "Compte rendu d'inspection"
    inner["Date"] = "Mon, 23 Nov 2026 09:00:00 +0100"
    inner.set_content("Version texte.")
    inner.add_alternative(HOSTILE_INNER_HTML, subtype="html")
    inner.add_attachment(PNG, maintype="image", subtype="png", filename="photo-classe.png")
    if nested is not None:
        deeper = EmailMessage(policy=SMTP)
        deeper["From"] = "origine@ac-demo.fr"
        deeper["Subject"] = "Message d'origine"
        deeper.set_content(nested.decode())
        inner.add_attachment(deeper)
    return inner


def outer_with_attachment(*, nested: bytes | None = None) -> bytes:
    outer = EmailMessage(policy=SMTP)
    outer["From"] = "direction@college-exemple.fr"
    outer["To"] = "julie.martin@ac-demo.fr"
    outer["Subject"] = "TR: Compte rendu"
    outer["Date"] = "Thu, 26 Nov 2026 10:00:00 +0100"
    outer.set_content("Voir le message joint.")
    outer.add_attachment(inner_message(nested=nested))
    outer.add_attachment(PNG, maintype="image", subtype="png", filename="logo.png")
    outer.add_attachment(SVG, maintype="image", subtype="svg+xml", filename="dessin.svg")
    outer.add_attachment(PDF, maintype="application", subtype="pdf", filename="rapport.pdf")
    outer.add_attachment(b"<html><script>alert(1)</script></html>", maintype="image", subtype="png", filename="faux.png")
    return outer.as_bytes()


def _sections(page: str) -> dict[str, str]:
    """file name -> section, from the download links of a page."""
    return {name: section for section, name in re.findall(r'/piece/([\d.]+)/" download>([^<]+)</a>', page)}


# --- message/rfc822 ----------------------------------------------------------------


def test_attached_message_opens_as_a_message(web, person):
    message = deliver(person, outer_with_attachment())
    page = web.get(reverse("webmail:message", args=[message.mailbox_id, message.uid])).content.decode()
    link = re.search(r'href="(/courrier/message/\d+/\d+/joint/(\d[\d.]*)/)">Ouvrir comme message', page)
    assert link is not None
    sub = web.get(link.group(1))
    assert sub.status_code == 200
    html = sub.content.decode()
    assert "Compte rendu d&#x27;inspection" in html
    assert "inspection@ac-demo.fr" in html
    assert "lundi 23 novembre 2026" in html
    assert "photo-classe.png" in html
    assert "alert(" not in html
    assert "Version texte." not in html  # the HTML alternative is the one shown, in the frame
    assert "Les images distantes de ce message sont bloquées" in html
    frame_url = re.search(r'<iframe class="wm-frame"[^>]*src="([^"]+)"', html, re.S).group(1)
    frame = web.get(frame_url.replace("&amp;", "&"))
    assert frame.status_code == 200
    assert "default-src 'none'" in frame["Content-Security-Policy"]
    assert "https:" not in frame["Content-Security-Policy"]
    body = frame.content.decode()
    assert "Corps joint" in body
    for hostile in ("<script", "javascript:", "pisteur.example", "<svg", "onload"):
        assert hostile not in body
    assert 'sandbox="allow-popups allow-popups-to-escape-sandbox"' in html
    # Its attachment downloads from the sub-view, as an attachment.
    inner_section = _sections(html)["photo-classe.png"]
    download = web.get(f"{link.group(1)}piece/{inner_section}/")
    assert download.status_code == 200
    assert download.content == PNG
    assert download["Content-Disposition"].startswith("attachment;")


def test_message_attached_to_an_attached_message(web, person):
    message = deliver(person, outer_with_attachment(nested=b"Tout au fond."))
    base = reverse("webmail:message", args=[message.mailbox_id, message.uid])
    first = web.get(base).content.decode()
    outer_path = re.search(r"/joint/([\d.]+)/\">Ouvrir comme message", first).group(1)
    sub = web.get(f"{base}joint/{outer_path}/").content.decode()
    nested = re.search(r'href="(/courrier/message/\d+/\d+/joint/([\d.]+-[\d.]+)/)">Ouvrir comme message', sub)
    assert nested is not None
    deep = web.get(nested.group(1)).content.decode()
    assert "Message d&#x27;origine" in deep
    assert "Tout au fond." in deep


def test_section_paths_cannot_reach_other_parts_or_accounts(web, person, other):
    mine = deliver(person, outer_with_attachment())
    theirs = deliver(other, outer_with_attachment())
    page = web.get(reverse("webmail:message", args=[mine.mailbox_id, mine.uid])).content.decode()
    path = re.search(r"/joint/([\d.]+)/\">Ouvrir comme message", page).group(1)
    # The same section path on another account's message: 404 everywhere.
    for name in ("embedded", "embedded_frame"):
        assert web.get(reverse(f"webmail:{name}", args=[theirs.mailbox_id, theirs.uid, path])).status_code == 404
    assert web.get(reverse("webmail:embedded_attachment", args=[theirs.mailbox_id, theirs.uid, path, "2"])).status_code == 404
    assert web.get(reverse("webmail:preview", args=[theirs.mailbox_id, theirs.uid, "3"])).status_code == 404
    # My message, but paths that are not an attached message.
    sections = _sections(page)
    for bad in (sections["logo.png"], "1", "0", "99", "1.1.1.1", f"{path}-{path}-{path}", "x", f"{path}-9"):
        response = web.get(reverse("webmail:embedded", args=[mine.mailbox_id, mine.uid, bad]))
        assert response.status_code == 404, bad


def test_forwarded_rfc822_in_base64_opens_too(web, person):
    inner = inner_message().as_bytes()
    outer = EmailMessage(policy=SMTP)
    outer["From"] = "direction@college-exemple.fr"
    outer["To"] = "julie.martin@ac-demo.fr"
    outer["Subject"] = "TR: base64"
    outer.set_content("Voir.")
    outer.add_attachment(inner, maintype="message", subtype="rfc822", cte="base64", filename="joint.eml")
    message = deliver(person, outer.as_bytes())
    page = web.get(reverse("webmail:message", args=[message.mailbox_id, message.uid])).content.decode()
    link = re.search(r'href="(/courrier/message/\d+/\d+/joint/[\d.]+/)">Ouvrir comme message', page).group(1)
    assert "Compte rendu d&#x27;inspection" in web.get(link).content.decode()


# --- previews -------------------------------------------------------------------------


def test_image_preview_headers_and_thumbnail(web, person):
    message = deliver(person, outer_with_attachment())
    page = web.get(reverse("webmail:message", args=[message.mailbox_id, message.uid])).content.decode()
    sections = _sections(page)
    preview_url = reverse("webmail:preview", args=[message.mailbox_id, message.uid, sections["logo.png"]])
    assert f'<img class="wm-thumb" src="{preview_url}"' in page
    response = web.get(preview_url)
    assert response.status_code == 200
    assert response.content == PNG
    assert response["Content-Type"] == "image/png"
    assert response["Content-Disposition"].startswith("inline;")
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Security-Policy"].startswith("default-src 'none'")


def test_svg_and_disguised_files_are_never_inline(web, person):
    message = deliver(person, outer_with_attachment())
    page = web.get(reverse("webmail:message", args=[message.mailbox_id, message.uid])).content.decode()
    sections = _sections(page)
    for name in ("dessin.svg", "faux.png"):
        preview_url = reverse("webmail:preview", args=[message.mailbox_id, message.uid, sections[name]])
        assert web.get(preview_url).status_code == 404, name
        download = web.get(reverse("webmail:attachment", args=[message.mailbox_id, message.uid, sections[name]]))
        assert download["Content-Disposition"].startswith("attachment;")
        assert download["X-Content-Type-Options"] == "nosniff"
    svg_download = web.get(reverse("webmail:attachment", args=[message.mailbox_id, message.uid, sections["dessin.svg"]]))
    assert svg_download["Content-Type"] == "application/octet-stream"
    assert f'src="{reverse("webmail:preview", args=[message.mailbox_id, message.uid, sections["dessin.svg"]])}"' not in page


def test_pdf_preview_is_sandboxed(web, person):
    message = deliver(person, outer_with_attachment())
    page = web.get(reverse("webmail:message", args=[message.mailbox_id, message.uid])).content.decode()
    url = reverse("webmail:preview", args=[message.mailbox_id, message.uid, _sections(page)["rapport.pdf"]])
    assert f'href="{url}" target="_blank" rel="noopener">Aperçu' in page
    response = web.get(url)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"].startswith("inline;")
    assert "rapport.pdf" in response["Content-Disposition"]
    assert response["Content-Security-Policy"] == "sandbox"
    assert response["X-Content-Type-Options"] == "nosniff"


# --- trusted senders ---------------------------------------------------------------------

REMOTE_HTML = '<p>Lettre</p><img src="https://images.example/logo.png" alt="logo">'


def remote_message(sender: str = '"Rectorat" <communication@ac-demo.fr>') -> bytes:
    return (
        f"From: {sender}\r\nTo: julie.martin@ac-demo.fr\r\nSubject: Lettre d'information\r\n"
        "Date: Thu, 26 Nov 2026 10:00:00 +0100\r\nMIME-Version: 1.0\r\n"
        "Content-Type: text/html; charset=utf-8\r\n\r\n" + REMOTE_HTML
    ).encode()


def auth_prefix(verdict: str, *, authserv: str = "localhost") -> bytes:
    return (
        f"Authentication-Results: {authserv};\r\n\tspf=pass smtp.mailfrom=ac-demo.fr;\r\n"
        f"\tdkim=none;\r\n\tdmarc={verdict} header.from=ac-demo.fr\r\n"
    ).encode()


def deliver_with_prefix(account, raw: bytes, prefix: bytes):
    from academail.delivery.route import deliver as door_deliver
    from academail.store.models import Message

    (outcome,) = door_deliver(raw, [account.address], prefix=prefix)
    assert outcome.delivered, outcome
    return Message.objects.select_related("content").get(mailbox__account=account, mailbox__special_use="inbox", uid=outcome.uid)


def _frame_csp(web, message) -> str:
    return web.get(reverse("webmail:message_frame", args=[message.mailbox_id, message.uid]))["Content-Security-Policy"]


def test_trusting_a_sender_shows_their_images(web, person, settings):
    settings.MAIL_HOSTNAME = "localhost"
    first = deliver_with_prefix(person, remote_message(), auth_prefix("pass"))
    url = reverse("webmail:message", args=[first.mailbox_id, first.uid])
    page = web.get(url).content.decode()
    assert "Toujours afficher les images de cet expéditeur" in page
    assert "https:" not in _frame_csp(web, first)
    response = web.post(reverse("webmail:trust_sender", args=[first.mailbox_id, first.uid]))
    assert response.status_code == 302
    assert list(TrustedSender.objects.filter(account=person).values_list("address", flat=True)) == [
        "communication@ac-demo.fr"
    ]
    later = deliver_with_prefix(person, remote_message('"RECTORAT" <Communication@AC-DEMO.fr>'), auth_prefix("pass"))
    page = web.get(reverse("webmail:message", args=[later.mailbox_id, later.uid])).content.decode()
    assert "Les images distantes de ce message sont bloquées" not in page
    assert "vous faites confiance à" in page
    assert "https:" in _frame_csp(web, later)


def test_trust_needs_non_failing_authentication(web, person, settings):
    settings.MAIL_HOSTNAME = "localhost"
    TrustedSender.objects.create(account=person, address="communication@ac-demo.fr")
    forged = deliver_with_prefix(person, remote_message(), auth_prefix("fail"))
    page = web.get(reverse("webmail:message", args=[forged.mailbox_id, forged.uid])).content.decode()
    assert "Les images distantes de ce message sont bloquées" in page
    assert "Toujours afficher les images de cet expéditeur" not in page
    assert "https:" not in _frame_csp(web, forged)
    web.post(reverse("webmail:trust_sender", args=[forged.mailbox_id, forged.uid]))
    assert TrustedSender.objects.filter(account=person).count() == 1
    # A "pass" from another authserv-id does not outweigh our own "fail".
    both = auth_prefix("pass", authserv="mx.ailleurs.example") + auth_prefix("fail")
    mixed = deliver_with_prefix(person, remote_message(), both)
    assert "https:" not in _frame_csp(web, mixed)


def test_trust_is_by_exact_address_not_display_name(web, person):
    TrustedSender.objects.create(account=person, address="communication@ac-demo.fr")
    spoof = deliver(person, remote_message('"communication@ac-demo.fr" <pirate@example.net>'))
    assert "https:" not in _frame_csp(web, spoof)


def test_without_authentication_results_a_trusted_sender_is_shown(web, person):
    TrustedSender.objects.create(account=person, address="communication@ac-demo.fr")
    local = deliver(person, remote_message())
    assert "https:" in _frame_csp(web, local)


def test_trust_is_per_account(web, person, other, client):
    TrustedSender.objects.create(account=other, address="communication@ac-demo.fr")
    mine = deliver(person, remote_message())
    assert "https:" not in _frame_csp(web, mine)


def test_trusting_another_accounts_message_is_404(web, other):
    theirs = deliver(other, remote_message())
    response = web.post(reverse("webmail:trust_sender", args=[theirs.mailbox_id, theirs.uid]))
    assert response.status_code == 404
    assert not TrustedSender.objects.exists()


def test_authentication_failed_reads_only_our_fields():
    assert authentication_failed(auth_prefix("fail"), "localhost")
    assert authentication_failed(auth_prefix("fail").replace(b"dmarc=fail", b"dmarc=pass").replace(b"spf=pass", b"spf=fail"), "localhost")
    assert not authentication_failed(auth_prefix("pass"), "localhost")
    assert not authentication_failed(auth_prefix("fail", authserv="other.example"), "localhost")
    assert not authentication_failed(b"Received: from x by y; Thu, 26 Nov 2026 10:00:00 +0100\r\n", "localhost")
    assert not authentication_failed(b"", "localhost")
