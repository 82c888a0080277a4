"""TLS material: a self-signed certificate made on first run for a local
platform, or the operator's certificate and key in production.

The certificate names the configured host name, ``localhost`` and ``127.0.0.1``
both in its CN and SANs: mail clients such as isync match names, not IP
addresses, and some still read the CN.
"""

from __future__ import annotations

import asyncio
import datetime
import ipaddress
import os
import ssl
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from django.conf import settings

from academail.env import ConfigurationError


def ensure_certificate() -> tuple[Path, Path]:
    """Return (certificate, key) paths, creating a self-signed pair if absent
    (refused in production, where the operator provides them)."""
    cert, key = Path(settings.TLS_CERT_FILE), Path(settings.TLS_KEY_FILE)
    if cert.exists() and key.exists():
        return cert, key
    if settings.PRODUCTION:
        raise ConfigurationError(
            f"TLS certificate or key missing ({cert}, {key}): set ACADEMAIL_TLS_CERT and ACADEMAIL_TLS_KEY."
        )
    cert.parent.mkdir(parents=True, exist_ok=True)
    private = ec.generate_private_key(ec.SECP256R1())
    hostname = settings.MAIL_HOSTNAME
    names: list[x509.GeneralName] = [x509.DNSName(hostname)]
    if hostname != "localhost":
        names.append(x509.DNSName("localhost"))
    names.append(x509.IPAddress(ipaddress.ip_address("127.0.0.1")))
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hostname),
                         x509.NameAttribute(NameOID.ORGANIZATION_NAME, "academail (certificat local)")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(private.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=825))
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(private, hashes.SHA256())
    )
    fd = os.open(key, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(
            private.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
    cert.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    return cert, key


def server_context() -> ssl.SSLContext:
    cert, key = ensure_certificate()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(cert, key)
    return context


async def start_tls_after(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, reply: bytes, context: ssl.SSLContext
) -> None:
    """STARTTLS for a line protocol (IMAP, ManageSieve): send ``reply`` (the OK)
    and upgrade the connection at once. Anything the client pipelined after its
    STARTTLS came in clear text and is thrown away, never taken as coming over
    TLS (the CVE-2011-0411 class of bugs). No await between the OK and the
    upgrade: the ClientHello must reach the TLS layer, not the plain reader.
    Raises ssl.SSLError, ConnectionError or TimeoutError if the handshake fails."""
    buffered = getattr(reader, "_buffer", None)
    if buffered:
        buffered.clear()
    writer.write(reply)
    await writer.start_tls(context, ssl_handshake_timeout=30)
