"""What mail clients are told: the public IMAP and submission endpoints
(implicit TLS, RFC 8314) rendered as Thunderbird's clientConfig XML, Outlook's
autodiscover POX answer and Apple's configuration profile, plus the hardened
parser for autodiscover requests.

Nothing public here looks an account up: Thunderbird and Outlook ask with an
address anyone can type, so their answer is the same for every address.
"""

from __future__ import annotations

import plistlib
import uuid
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from urllib.parse import urlsplit
from xml.parsers import expat

from django.conf import settings

from academail.accounts.models import Account

# Login is the identifier (jdupont), not the address, and a public answer cannot
# name it without telling who exists. Thunderbird needs *some* username (it
# stringifies a missing one as "undefined"), so we give a value that can never be
# an identifier and that reads as an instruction when Thunderbird shows it in its
# manual-setup fields after the first failed login. Were authenticate() ever to
# accept addresses, this becomes "%EMAILADDRESS%".
THUNDERBIRD_USERNAME = "(votre identifiant)"

# An autodiscover request is a few hundred bytes; anything larger is not one.
MAX_AUTODISCOVER_REQUEST = 16 * 1024
AUTODISCOVER_RESPONSE_NS = "http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006"
AUTODISCOVER_OUTLOOK_NS = (
    "http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a"
)
PROVIDER_NAME = "Messagerie académique"
PROVIDER_SHORT_NAME = "academail"
# Fixed namespace so an account's profile keeps the same UUIDs: installing it
# again replaces the old one instead of adding a second account on the phone.
_PROFILE_NAMESPACE = uuid.UUID("6f1d2c4e-3b7a-5e8f-9a0b-1c2d3e4f5a6b")


@dataclass(frozen=True)
class Endpoints:
    """The public servers, as a person types them into a client."""

    imap_host: str
    imap_port: int
    smtp_host: str
    smtp_port: int
    domains: tuple[str, ...]
    # CalDAV/CardDAV context path (RFC 6764 §5), e.g. "https://mail.ac-demo.fr/dav/".
    dav_url: str = ""

    @property
    def dav_host(self) -> str:
        return urlsplit(self.dav_url).hostname or ""

    @property
    def dav_ssl(self) -> bool:
        return urlsplit(self.dav_url).scheme == "https"

    @property
    def dav_port(self) -> int:
        parts = urlsplit(self.dav_url)
        return parts.port or (443 if parts.scheme == "https" else 80)


def public_endpoints() -> Endpoints:
    return Endpoints(
        imap_host=settings.PUBLIC_IMAP_HOST,
        imap_port=int(settings.PUBLIC_IMAP_PORT),
        smtp_host=settings.PUBLIC_SMTP_HOST,
        smtp_port=int(settings.PUBLIC_SMTP_PORT),
        domains=tuple(settings.MAIL_DOMAINS),
        dav_url=settings.PUBLIC_URL + "/dav/",
    )


def _sub(parent: ET.Element, tag: str, text: str | int | None = None, **attrs: str) -> ET.Element:
    element = ET.SubElement(parent, tag, attrs)
    if text is not None:
        element.text = str(text)
    return element


def _serialize(root: ET.Element) -> bytes:
    ET.indent(root)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True) + b"\n"


def render_thunderbird(endpoints: Endpoints, *, documentation_url: str = "") -> bytes:
    """Thunderbird's clientConfig v1.1 (the "autoconfig" format): IMAP on
    implicit TLS, submission on implicit TLS (RFC 8314 §3), plain password
    inside TLS. ElementTree does the escaping, so odd host names or domains
    cannot break the document."""
    root = ET.Element("clientConfig", version="1.1")
    provider = _sub(root, "emailProvider", id=endpoints.domains[0])
    for domain in endpoints.domains:
        _sub(provider, "domain", domain)
    _sub(provider, "displayName", PROVIDER_NAME)
    _sub(provider, "displayShortName", PROVIDER_SHORT_NAME)
    for kind, tag, host, port in (
        ("imap", "incomingServer", endpoints.imap_host, endpoints.imap_port),
        ("smtp", "outgoingServer", endpoints.smtp_host, endpoints.smtp_port),
    ):
        server = _sub(provider, tag, type=kind)
        _sub(server, "hostname", host)
        _sub(server, "port", port)
        _sub(server, "socketType", "SSL")
        _sub(server, "authentication", "password-cleartext")
        _sub(server, "username", THUNDERBIRD_USERNAME)
    if endpoints.dav_url:
        # Thunderbird 102+ reads these (its clientConfig "addressBook"/"calendar").
        for tag, kind in (("addressBook", "carddav"), ("calendar", "caldav")):
            dav = _sub(root, tag, type=kind)
            _sub(dav, "username", THUNDERBIRD_USERNAME)
            _sub(dav, "authentication", "http-basic")
            _sub(dav, "serverURL", endpoints.dav_url)
    if documentation_url:
        documentation = _sub(provider, "documentation", url=documentation_url)
        _sub(documentation, "descr", "Configurer mon téléphone ou ma messagerie", lang="fr")
        _sub(documentation, "descr", "Setting up a phone or mail program", lang="en")
    return _serialize(root)


def render_autodiscover(endpoints: Endpoints) -> bytes:
    """Outlook's POX autodiscover answer (the 2006a Outlook response schema):
    an "email" account with IMAP and SMTP, both SSL. No LoginName: it would
    have to come from the address asked about (see ``THUNDERBIRD_USERNAME``);
    Outlook then asks for the user name itself."""
    root = ET.Element("Autodiscover", xmlns=AUTODISCOVER_RESPONSE_NS)
    response = _sub(root, "Response", xmlns=AUTODISCOVER_OUTLOOK_NS)
    account = _sub(response, "Account")
    _sub(account, "AccountType", "email")
    _sub(account, "Action", "settings")
    for kind, host, port in (
        ("IMAP", endpoints.imap_host, endpoints.imap_port),
        ("SMTP", endpoints.smtp_host, endpoints.smtp_port),
    ):
        protocol = _sub(account, "Protocol")
        _sub(protocol, "Type", kind)
        _sub(protocol, "Server", host)
        _sub(protocol, "Port", port)
        _sub(protocol, "DomainRequired", "off")
        _sub(protocol, "SPA", "off")
        _sub(protocol, "SSL", "on")
        _sub(protocol, "AuthRequired", "on")
        if kind == "SMTP":
            _sub(protocol, "UsePOPAuth", "on")
    return _serialize(root)


class AutodiscoverRequestError(ValueError):
    """The body is not an autodiscover request we are willing to read."""


def parse_autodiscover_request(body: bytes) -> str:
    """The ``EMailAddress`` of an Outlook autodiscover request.

    Read with expat directly and refused at the first DOCTYPE: without a DOCTYPE
    there can be no entity declarations, so neither entity expansion (billion
    laughs) nor external entities (XXE) can happen, whatever the expat version.
    Bodies over ``MAX_AUTODISCOVER_REQUEST`` are refused before parsing.
    Raises ``AutodiscoverRequestError``."""
    if len(body) > MAX_AUTODISCOVER_REQUEST:
        raise AutodiscoverRequestError("request too large")
    parser = expat.ParserCreate(namespace_separator="}")
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    stack: list[str] = []
    found: list[str] = []

    def refuse(*_args: object) -> None:
        raise AutodiscoverRequestError("DOCTYPE and entities are not accepted")

    def start(name: str, _attrs: object) -> None:
        stack.append(name.rsplit("}", 1)[-1])
        if stack[-1] == "EMailAddress":
            found.append("")

    def end(_name: str) -> None:
        stack.pop()

    def text(data: str) -> None:
        if stack and stack[-1] == "EMailAddress" and found:
            found[-1] += data

    parser.StartDoctypeDeclHandler = refuse
    parser.EntityDeclHandler = refuse
    parser.ExternalEntityRefHandler = refuse  # type: ignore[assignment]
    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = text
    try:
        parser.Parse(body, True)
    except expat.ExpatError as error:
        raise AutodiscoverRequestError(f"malformed XML: {error}") from None
    address = found[0].strip() if found else ""
    if not address or len(address) > 254 or "@" not in address:
        raise AutodiscoverRequestError("no usable EMailAddress")
    return address


def build_mobileconfig(account: Account, endpoints: Endpoints) -> bytes:
    """An unsigned Apple configuration profile with one ``com.apple.mail.managed``
    payload for ``account``: the identifier as user name for IMAP and SMTP, both
    over SSL. No password: the device asks for it when the profile is installed."""
    domain = endpoints.domains[0]
    reverse_domain = ".".join(reversed(domain.split(".")))
    base_id = f"{reverse_domain}.academail.{account.identifier}"
    mail_payload = {
        "PayloadType": "com.apple.mail.managed",
        "PayloadVersion": 1,
        "PayloadIdentifier": f"{base_id}.mail",
        "PayloadUUID": str(uuid.uuid5(_PROFILE_NAMESPACE, f"{base_id}.mail")).upper(),
        "PayloadDisplayName": PROVIDER_NAME,
        "EmailAccountDescription": f"{PROVIDER_NAME} ({account.address})",
        "EmailAccountName": account.full_name,
        "EmailAccountType": "EmailTypeIMAP",
        "EmailAddress": account.address,
        "IncomingMailServerAuthentication": "EmailAuthPassword",
        "IncomingMailServerHostName": endpoints.imap_host,
        "IncomingMailServerPortNumber": endpoints.imap_port,
        "IncomingMailServerUseSSL": True,
        "IncomingMailServerUsername": account.identifier,
        "OutgoingMailServerAuthentication": "EmailAuthPassword",
        "OutgoingMailServerHostName": endpoints.smtp_host,
        "OutgoingMailServerPortNumber": endpoints.smtp_port,
        "OutgoingMailServerUseSSL": True,
        "OutgoingMailServerUsername": account.identifier,
        "OutgoingPasswordSameAsIncomingPassword": True,
        "SMIMEEnabled": False,
    }
    dav_payloads = []
    if endpoints.dav_url:
        # Apple's CalDAV and CardDAV account payloads: the principal URL is the
        # account's home under /dav/ (calendar.dav); the password is asked on install.
        principal = f"{endpoints.dav_url}{account.identifier}/"
        for kind, prefix, label in (("caldav", "CalDAV", "Agenda"), ("carddav", "CardDAV", "Contacts")):
            dav_payloads.append({
                "PayloadType": f"com.apple.{kind}.account",
                "PayloadVersion": 1,
                "PayloadIdentifier": f"{base_id}.{kind}",
                "PayloadUUID": str(uuid.uuid5(_PROFILE_NAMESPACE, f"{base_id}.{kind}")).upper(),
                "PayloadDisplayName": f"{PROVIDER_NAME} — {label}",
                f"{prefix}AccountDescription": f"{PROVIDER_NAME} — {label}",
                f"{prefix}HostName": endpoints.dav_host,
                f"{prefix}Port": endpoints.dav_port,
                f"{prefix}UseSSL": endpoints.dav_ssl,
                f"{prefix}PrincipalURL": principal,
                f"{prefix}Username": account.identifier,
            })
    profile = {
        "PayloadType": "Configuration",
        "PayloadVersion": 1,
        "PayloadIdentifier": base_id,
        "PayloadUUID": str(uuid.uuid5(_PROFILE_NAMESPACE, base_id)).upper(),
        "PayloadDisplayName": f"{PROVIDER_NAME} — {account.identifier}",
        "PayloadDescription": (
            f"Configure la messagerie de l'académie pour {account.address}. "
            "Votre mot de passe vous sera demandé à l'installation."
        ),
        "PayloadOrganization": PROVIDER_NAME,
        "PayloadRemovalDisallowed": False,
        "PayloadContent": [mail_payload, *dav_payloads],
    }
    return plistlib.dumps(profile, fmt=plistlib.FMT_XML)
