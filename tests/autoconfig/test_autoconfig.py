"""Client autoconfiguration: Thunderbird autoconfig, Outlook autodiscover, the
Apple profile and the setup page."""

from __future__ import annotations

import plistlib
import xml.etree.ElementTree as ET
from urllib.parse import urlsplit

import pytest
from django.urls import reverse

from academail.autoconfig import clientconfig

PASSWORD = "Vache-Rouge7!Orage"
AD_NS = "{" + clientconfig.AUTODISCOVER_OUTLOOK_NS + "}"


@pytest.fixture(autouse=True)
def endpoints(settings):
    settings.PUBLIC_IMAP_HOST = "imap.ac-demo.fr"
    settings.PUBLIC_IMAP_PORT = 993
    settings.PUBLIC_SMTP_HOST = "smtp.ac-demo.fr"
    settings.PUBLIC_SMTP_PORT = 465
    settings.MAIL_DOMAINS = ["ac-demo.fr", "ac-exemple.fr"]
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def person(make_account):
    account = make_account("Jean", "Dupont")
    account.set_password(PASSWORD)
    account.save()
    return account


def autodiscover_body(address: str) -> bytes:
    return (
        '<?xml version="1.0" encoding="utf-8"?>'
        '<Autodiscover xmlns="http://schemas.microsoft.com/exchange/autodiscover/outlook/requestschema/2006">'
        f"<Request><EMailAddress>{address}</EMailAddress>"
        "<AcceptableResponseSchema>http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a"
        "</AcceptableResponseSchema></Request></Autodiscover>"
    ).encode()


# --- Thunderbird ------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/.well-known/autoconfig/mail/config-v1.1.xml", "/mail/config-v1.1.xml"])
def test_thunderbird_config_names_the_servers(client, db, path):
    response = client.get(path, {"emailaddress": "jean.dupont@ac-demo.fr"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/xml")
    root = ET.fromstring(response.content)
    assert root.tag == "clientConfig" and root.get("version") == "1.1"
    provider = root.find("emailProvider")
    assert provider.get("id") == "ac-demo.fr"
    assert [d.text for d in provider.findall("domain")] == ["ac-demo.fr", "ac-exemple.fr"]
    incoming = provider.find("incomingServer")
    assert incoming.get("type") == "imap"
    assert incoming.findtext("hostname") == "imap.ac-demo.fr"
    assert incoming.findtext("port") == "993"
    assert incoming.findtext("socketType") == "SSL"
    assert incoming.findtext("authentication") == "password-cleartext"
    assert incoming.findtext("username") == clientconfig.THUNDERBIRD_USERNAME
    outgoing = provider.find("outgoingServer")
    assert outgoing.get("type") == "smtp"
    assert outgoing.findtext("hostname") == "smtp.ac-demo.fr"
    assert outgoing.findtext("port") == "465"
    assert outgoing.findtext("socketType") == "SSL"
    assert provider.find("documentation").get("url").endswith("/compte/configuration/")


def test_thunderbird_config_names_the_agenda_and_address_book(client, db, settings):
    root = ET.fromstring(client.get("/mail/config-v1.1.xml").content)
    for tag, kind in (("calendar", "caldav"), ("addressBook", "carddav")):
        element = root.find(tag)
        assert element.get("type") == kind
        assert element.findtext("serverURL") == settings.PUBLIC_URL + "/dav/"
        assert element.findtext("authentication") == "http-basic"


def test_thunderbird_answer_is_the_same_for_known_and_unknown_addresses(client, person):
    url = "/.well-known/autoconfig/mail/config-v1.1.xml"
    known = client.get(url, {"emailaddress": person.address})
    unknown = client.get(url, {"emailaddress": "personne.inconnue@ac-demo.fr"})
    nothing = client.get(url)
    assert known.content == unknown.content == nothing.content
    assert person.identifier.encode() not in known.content


def test_thunderbird_escapes_odd_settings(client, db, settings):
    settings.PUBLIC_IMAP_HOST = 'imap<&>".ac-demo.fr'
    root = ET.fromstring(client.get("/mail/config-v1.1.xml").content)
    assert root.find("emailProvider/incomingServer/hostname").text == 'imap<&>".ac-demo.fr'


# --- Outlook autodiscover -----------------------------------------------------------


@pytest.mark.parametrize("path", ["/autodiscover/autodiscover.xml", "/Autodiscover/Autodiscover.xml"])
def test_autodiscover_post_answers_imap_and_smtp(client, db, path):
    response = client.post(path, autodiscover_body("jean.dupont@ac-demo.fr"), content_type="text/xml")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/xml")
    root = ET.fromstring(response.content)
    account = root.find(f"{AD_NS}Response/{AD_NS}Account")
    assert account.findtext(f"{AD_NS}AccountType") == "email"
    protocols = {p.findtext(f"{AD_NS}Type"): p for p in account.findall(f"{AD_NS}Protocol")}
    assert protocols["IMAP"].findtext(f"{AD_NS}Server") == "imap.ac-demo.fr"
    assert protocols["IMAP"].findtext(f"{AD_NS}Port") == "993"
    assert protocols["IMAP"].findtext(f"{AD_NS}SSL") == "on"
    assert protocols["SMTP"].findtext(f"{AD_NS}Server") == "smtp.ac-demo.fr"
    assert protocols["SMTP"].findtext(f"{AD_NS}Port") == "465"
    assert protocols["SMTP"].findtext(f"{AD_NS}SSL") == "on"


def test_autodiscover_get_answers_too(client, db):
    response = client.get("/autodiscover/autodiscover.xml")
    assert response.status_code == 200
    ET.fromstring(response.content)


def test_autodiscover_answer_is_the_same_for_known_and_unknown_addresses(client, person):
    url = "/autodiscover/autodiscover.xml"
    known = client.post(url, autodiscover_body(person.address), content_type="text/xml")
    unknown = client.post(url, autodiscover_body("x.inconnu@ac-demo.fr"), content_type="text/xml")
    assert known.status_code == unknown.status_code == 200
    assert known.content == unknown.content


def test_parser_reads_the_address_with_or_without_namespace():
    assert clientconfig.parse_autodiscover_request(autodiscover_body("a.b@ac-demo.fr")) == "a.b@ac-demo.fr"
    bare = b"<Autodiscover><Request><EMailAddress> c@d.fr </EMailAddress></Request></Autodiscover>"
    assert clientconfig.parse_autodiscover_request(bare) == "c@d.fr"


# --- Outlook autodiscover: attacks (XXE, billion laughs, size) ---------------------

BILLION_LAUGHS = (
    b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
    b'<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">'
    b'<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>'
    b"<Autodiscover><Request><EMailAddress>&lol3;@x.fr</EMailAddress></Request></Autodiscover>"
)
XXE = (
    b'<?xml version="1.0"?><!DOCTYPE a [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
    b"<Autodiscover><Request><EMailAddress>&x;</EMailAddress></Request></Autodiscover>"
)
UTF16_DOCTYPE = '<?xml version="1.0" encoding="utf-16"?><!DOCTYPE a><Autodiscover/>'.encode("utf-16")


@pytest.mark.parametrize("body", [BILLION_LAUGHS, XXE, UTF16_DOCTYPE], ids=["laughs", "xxe", "utf16"])
def test_autodiscover_refuses_doctype(client, db, body):
    response = client.post("/autodiscover/autodiscover.xml", body, content_type="text/xml")
    assert response.status_code == 400
    with pytest.raises(clientconfig.AutodiscoverRequestError):
        clientconfig.parse_autodiscover_request(body)


@pytest.mark.parametrize("body", [b"", b"<not xml", b"<Autodiscover/>",
                                  autodiscover_body("pas-une-adresse")])
def test_autodiscover_refuses_malformed_requests(client, db, body):
    response = client.post("/autodiscover/autodiscover.xml", body, content_type="text/xml")
    assert response.status_code == 400


def test_autodiscover_refuses_huge_bodies(client, db):
    padding = b" " * (clientconfig.MAX_AUTODISCOVER_REQUEST + 1)
    body = autodiscover_body("a@ac-demo.fr").replace(b"<Request>", b"<Request>" + padding)
    response = client.post("/autodiscover/autodiscover.xml", body, content_type="text/xml")
    assert response.status_code == 413
    with pytest.raises(clientconfig.AutodiscoverRequestError):
        clientconfig.parse_autodiscover_request(body)


# --- Apple profile -------------------------------------------------------------------


def test_mobileconfig_requires_sign_in(client, db):
    url = reverse("autoconfig:mobileconfig")
    response = client.get(url)
    assert response.status_code == 302
    assert reverse("accounts:login") in response["Location"]


def test_mobileconfig_is_a_mail_profile_without_password(client, person, settings):
    client.force_login(person)
    response = client.get("/compte/configuration/profil.mobileconfig")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/x-apple-aspen-config"
    assert "attachment" in response["Content-Disposition"]
    assert f"academail-{person.identifier}.mobileconfig" in response["Content-Disposition"]
    profile = plistlib.loads(response.content)
    assert profile["PayloadType"] == "Configuration"
    mail, caldav, carddav = profile["PayloadContent"]
    assert mail["PayloadType"] == "com.apple.mail.managed"
    assert mail["EmailAccountType"] == "EmailTypeIMAP"
    assert mail["EmailAddress"] == person.address
    assert mail["EmailAccountName"] == "Jean Dupont"
    assert mail["IncomingMailServerHostName"] == "imap.ac-demo.fr"
    assert mail["IncomingMailServerPortNumber"] == 993
    assert mail["IncomingMailServerUseSSL"] is True
    assert mail["IncomingMailServerUsername"] == person.identifier
    assert mail["OutgoingMailServerHostName"] == "smtp.ac-demo.fr"
    assert mail["OutgoingMailServerPortNumber"] == 465
    assert mail["OutgoingMailServerUseSSL"] is True
    assert mail["OutgoingMailServerUsername"] == person.identifier
    assert not any("Password" in key and key != "OutgoingPasswordSameAsIncomingPassword" for key in mail)
    # The agenda and the contacts (CalDAV, CardDAV) of the same account, over /dav/.
    assert caldav["PayloadType"] == "com.apple.caldav.account"
    assert caldav["CalDAVUsername"] == person.identifier
    assert caldav["CalDAVPrincipalURL"] == f"{settings.PUBLIC_URL}/dav/{person.identifier}/"
    assert caldav["CalDAVHostName"] == urlsplit(settings.PUBLIC_URL).hostname
    assert carddav["PayloadType"] == "com.apple.carddav.account"
    assert carddav["CardDAVUsername"] == person.identifier
    assert carddav["CardDAVPrincipalURL"] == f"{settings.PUBLIC_URL}/dav/{person.identifier}/"
    assert not any("Password" in key for key in (*caldav, *carddav))
    assert PASSWORD.encode() not in response.content
    assert person.password.encode() not in response.content


def test_mobileconfig_keeps_its_uuids(client, person):
    client.force_login(person)
    first = plistlib.loads(client.get(reverse("autoconfig:mobileconfig")).content)
    second = plistlib.loads(client.get(reverse("autoconfig:mobileconfig")).content)
    assert first["PayloadUUID"] == second["PayloadUUID"]


# --- the setup page --------------------------------------------------------------------


def test_setup_page_requires_sign_in(client, db):
    response = client.get("/compte/configuration/")
    assert response.status_code == 302


def test_setup_page_shows_the_settings_and_qr_code(client, person):
    client.force_login(person)
    response = client.get("/compte/configuration/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "Configurer mon téléphone ou ma messagerie" in html
    assert f"<code>{person.identifier}</code>" in html
    assert person.address in html
    assert "imap.ac-demo.fr" in html and "smtp.ac-demo.fr" in html
    assert "993" in html and "465" in html and "SSL/TLS" in html
    assert '<svg role="img"' in html and "<path" in html
    assert "http://testserver/compte/configuration/profil.mobileconfig" in html
    assert response["Cache-Control"] == "no-store"
    assert "Content-Security-Policy" in response


def test_setup_page_qr_uses_public_url_in_production(client, person, settings):
    settings.PRODUCTION = True
    settings.PUBLIC_URL = "https://messagerie.ac-demo.fr"
    client.force_login(person)
    html = client.get("/compte/configuration/").content.decode()
    assert "https://messagerie.ac-demo.fr/compte/configuration/profil.mobileconfig" in html
