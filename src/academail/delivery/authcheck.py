"""Inbound sender authentication on the MX: SPF (RFC 7208, pyspf), DKIM
(RFC 6376, dkimpy) and DMARC (RFC 7489, alignment and policy lookup here),
summed up in an ``Authentication-Results`` field (RFC 8601) that the MX puts
in the per-delivery prefix, where the phishing warnings will read it.

Every DNS query goes through the injectable ``Resolver`` (tests use a fake
one); the libraries are synchronous, so the checks run in a worker thread and
reach the resolver through the event loop. The whole check is bounded in time:
a slow DNS gives ``temperror``, never a stuck SMTP session.
"""

from __future__ import annotations

import asyncio
import email.policy
import ipaddress
import logging
import re
from collections.abc import Coroutine
from dataclasses import dataclass
from email.parser import BytesHeaderParser
from typing import Any

from django.conf import settings

from academail.delivery.dns import DNSNotFound, DNSTemporaryError, Resolver
from academail.mime.headers import parse_address_list, split_header

log = logging.getLogger(__name__)

CHECK_TIMEOUT = 20.0


@dataclass(frozen=True)
class Verdict:
    spf: str  # pass, fail, softfail, neutral, none, temperror, permerror
    dkim: str  # pass, fail, none, temperror
    dkim_domain: str
    dmarc: str  # pass, fail, none, temperror
    dmarc_policy: str  # none, quarantine, reject, "" without a record
    from_domain: str
    mail_from: str
    arc: str = "none"  # pass, fail, none, temperror (RFC 8617 chain validation)

    def header(self) -> bytes:
        """RFC 8601 §2.2 field, with our host name as the authserv-id."""
        parts = [f"spf={self.spf} smtp.mailfrom={self.mail_from or '<>'}"]
        parts.append(f"dkim={self.dkim}" + (f" header.d={self.dkim_domain}" if self.dkim_domain else ""))
        dmarc = f"dmarc={self.dmarc}"
        if self.dmarc_policy:
            dmarc += f" (p={self.dmarc_policy})"
        if self.from_domain:
            dmarc += f" header.from={self.from_domain}"
        parts.append(dmarc)
        if self.arc != "none":
            parts.append(f"arc={self.arc}")
        return (f"Authentication-Results: {settings.MAIL_HOSTNAME};\r\n\t" + ";\r\n\t".join(parts) + "\r\n").encode()


class _SyncDNS:
    """The async resolver seen from a worker thread."""

    def __init__(self, resolver: Resolver, loop: asyncio.AbstractEventLoop, timeout: float) -> None:
        self.resolver = resolver
        self.loop = loop
        self.timeout = timeout

    def call(self, coro: Coroutine[Any, Any, Any]) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(self.timeout)

    def txt(self, name: str) -> list[str]:
        try:
            return list(self.call(self.resolver.txt(name)))
        except DNSNotFound:
            return []


def _org_domain(domain: str) -> str:
    # RFC 7489 §3.2: the organizational domain, from the public suffix list.
    try:
        from publicsuffix2 import get_sld

        return str(get_sld(domain) or domain)
    except (ImportError, ValueError, TypeError):  # no list available: the last two labels
        return ".".join(domain.split(".")[-2:])


def prepare_checks() -> None:
    """Load what the checks need once, at start-up: the public suffix list
    (``_org_domain``) is built on its first use, about 0.4 s of CPU that the
    first message would otherwise wait for."""
    _org_domain("example.org")


def _spf(dns: _SyncDNS, ip: str, mail_from: str, helo: str) -> str:
    import spf

    class Query(spf.query):
        def dns(self, name: str, qtype: str, cnames: Any = None, ignore_void: bool = False) -> list[Any]:
            name = name.rstrip(".").lower()
            try:
                if qtype in ("TXT", "SPF"):
                    return [[t.encode()] for t in dns.txt(name)] if qtype == "TXT" else []
                if qtype == "MX":
                    return list(dns.call(dns.resolver.mx(name)))
                if qtype in ("A", "AAAA"):
                    version = 4 if qtype == "A" else 6
                    found = dns.call(dns.resolver.addresses(name))
                    return [a for a in found if ipaddress.ip_address(a).version == version]
                return []  # PTR: the "ptr" mechanism is deprecated (RFC 7208 §5.5)
            except DNSNotFound:
                return []
            except (DNSTemporaryError, TimeoutError) as error:
                raise spf.TempError(f"DNS: {name} {qtype}") from error

    sender = mail_from or f"postmaster@{helo}"  # RFC 7208 §2.4: null sender -> HELO identity
    result = Query(i=ip, s=sender, h=helo, timeout=CHECK_TIMEOUT).check()  # (result, code, explanation)
    return str(result[0])


def _dkim(dns: _SyncDNS, raw: bytes) -> tuple[str, str]:
    import dkim

    if b"dkim-signature:" not in raw[: raw.find(b"\r\n\r\n") + 1 or len(raw)].lower():
        return "none", ""

    def dnsfunc(name: bytes | str, timeout: int = 5) -> bytes:
        text = name.decode() if isinstance(name, bytes) else name
        return "".join(dns.txt(text)).encode()

    verifier = dkim.DKIM(raw)
    try:
        ok = verifier.verify(dnsfunc=dnsfunc)
    except (DNSTemporaryError, TimeoutError):
        return "temperror", ""
    except (dkim.DKIMException, ValueError, KeyError, IndexError):  # malformed signature: a failure
        ok = False
    domain = (verifier.domain or b"").decode("ascii", "replace").lower()
    return ("pass" if ok else "fail"), domain


def _arc(dns: _SyncDNS, raw: bytes) -> str:
    """ARC chain validation (RFC 8617 §5.2): what forwarders and lists that
    broke DKIM vouch for. Reported, not acted upon."""
    import dkim

    if b"arc-seal:" not in raw[: raw.find(b"\r\n\r\n") + 1 or len(raw)].lower():
        return "none"

    def dnsfunc(name: bytes | str, timeout: int = 5) -> bytes:
        text = name.decode() if isinstance(name, bytes) else name
        return "".join(dns.txt(text)).encode()

    try:
        chain, _, _ = dkim.arc_verify(raw, dnsfunc=dnsfunc)
    except (DNSTemporaryError, TimeoutError):
        return "temperror"
    except (dkim.DKIMException, ValueError, KeyError, IndexError):
        return "fail"
    value = chain.decode() if isinstance(chain, bytes) else str(chain)
    return value if value in {"pass", "fail", "none"} else "fail"


def _dmarc(dns: _SyncDNS, from_domain: str, spf_result: str, mail_from: str, dkim_result: str, dkim_domain: str) -> tuple[str, str]:
    if not from_domain:
        return "none", ""
    record = ""
    try:
        for name in (f"_dmarc.{from_domain}", f"_dmarc.{_org_domain(from_domain)}"):
            found = [t for t in dns.txt(name) if t.lower().startswith("v=dmarc1")]
            if found:
                record = found[0]
                break
    except (DNSTemporaryError, TimeoutError):
        return "temperror", ""
    if not record:
        return "none", ""
    tags = dict(
        (k.strip().lower(), v.strip()) for k, _, v in (item.partition("=") for item in record.split(";")) if k.strip()
    )
    policy = tags.get("p", "none").lower()
    org = _org_domain(from_domain)

    def aligned(domain: str, mode: str) -> bool:  # RFC 7489 §3.1
        domain = domain.lower()
        return domain == from_domain if mode == "s" else _org_domain(domain) == org

    spf_domain = mail_from.rpartition("@")[2].lower()
    passed = (spf_result == "pass" and spf_domain and aligned(spf_domain, tags.get("aspf", "r"))) or (
        dkim_result == "pass" and dkim_domain and aligned(dkim_domain, tags.get("adkim", "r"))
    )
    return ("pass" if passed else "fail"), policy


def _from_domain(raw: bytes) -> str:
    """The domain of the message's one From address (RFC 7489 §6.6.1: none
    when it names several), from the header block alone: the whole message
    is parsed once, later, by the delivery (this used to parse it all)."""
    block = split_header(raw, 0, len(raw))
    authors = [a for a in parse_address_list(block.get("from")) if a.group is None]
    return authors[0].host.lower() if len(authors) == 1 else ""


def check_sync(dns: _SyncDNS, raw: bytes, *, ip: str, helo: str, mail_from: str) -> Verdict:
    try:
        spf_result = _spf(dns, ip, mail_from, helo)
    except Exception:
        log.exception("SPF check failed")
        spf_result = "temperror"
    dkim_result, dkim_domain = _dkim(dns, raw)
    from_domain = _from_domain(raw)
    dmarc_result, policy = _dmarc(dns, from_domain, spf_result, mail_from, dkim_result, dkim_domain)
    return Verdict(
        spf_result, dkim_result, dkim_domain, dmarc_result, policy, from_domain, mail_from, _arc(dns, raw)
    )


async def check_inbound(raw: bytes, *, ip: str, helo: str, mail_from: str, resolver: Resolver) -> Verdict:
    """SPF, DKIM and DMARC for a message the MX received; never raises."""
    loop = asyncio.get_running_loop()
    dns = _SyncDNS(resolver, loop, timeout=CHECK_TIMEOUT / 2)
    try:
        return await asyncio.wait_for(
            loop.run_in_executor(None, lambda: check_sync(dns, raw, ip=ip, helo=helo, mail_from=mail_from)),
            CHECK_TIMEOUT,
        )
    except Exception:
        log.exception("inbound authentication checks failed")
        return Verdict("temperror", "temperror", "", "temperror", "", "", mail_from)


# --- reading our own verdict back (webmail warnings, iMIP at delivery) ---

_AUTH_RESULT = re.compile(r"\b(spf|dmarc)\s*=\s*([a-z]+)", re.IGNORECASE)


def authentication_failed(prefix: bytes, authserv_id: str) -> bool:
    """Whether our MX found SPF or DMARC failing for this delivery.

    Reads only the per-delivery prefix (what our MX wrote, never the sender's
    own headers) and only Authentication-Results fields whose authserv-id is
    ours (RFC 8601 §5). No such field (mail from inside the académie, checks
    turned off) is not a failure."""
    headers = BytesHeaderParser(policy=email.policy.default).parsebytes(bytes(prefix) + b"\r\n")
    for value in headers.get_all("Authentication-Results") or []:
        text = re.sub(r"\s+", " ", str(value))
        served_by, _sep, results = text.partition(";")
        if served_by.strip().lower() != authserv_id.lower():
            continue
        for method, verdict in _AUTH_RESULT.findall(results):
            if verdict.lower() in ("fail", "softfail") and method.lower() in ("spf", "dmarc"):
                return True
    return False
