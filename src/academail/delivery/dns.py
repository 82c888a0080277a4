"""DNS for mail: MX, address and TXT lookups behind a small interface, so the
outbound queue and the inbound checks (SPF, DKIM, DMARC) can run against a fake
resolver in tests (``FakeResolver``) and against dnspython with timeouts in
production (``DnsPythonResolver``).

Answers are plain Python values; failures are two exceptions, because mail only
needs to tell "this name has no such record" (permanent) from "ask again later"
(temporary, RFC 5321 §4.5.4.1 / RFC 7208 §2.6.6 temperror).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Protocol

DEFAULT_TIMEOUT = 10.0


class DNSNotFound(Exception):
    """NXDOMAIN, or the name exists without records of that type."""


class DNSTemporaryError(Exception):
    """Timeout, SERVFAIL, no server reachable: try again later."""


class Resolver(Protocol):
    async def mx(self, domain: str) -> list[tuple[int, str]]:
        """(preference, host) pairs; host "." is a null MX (RFC 7505)."""
        ...

    async def addresses(self, host: str) -> list[str]:
        """IPv4 and IPv6 addresses of ``host``."""
        ...

    async def txt(self, name: str) -> list[str]:
        """TXT records, each with its strings joined (RFC 7208 §3.3)."""
        ...


class DnsPythonResolver:
    """The real resolver (dnspython's asyncio resolver, system configuration)."""

    def __init__(self, timeout: float = DEFAULT_TIMEOUT) -> None:
        import dns.asyncresolver
        import dns.resolver

        self._resolver = dns.asyncresolver.Resolver()
        self._resolver.lifetime = timeout
        # Answers (negative ones too) are kept for their TTL: an MX sees the
        # same sender domains all day, and a lookup per message would bound
        # inbound throughput by the resolver's latency (bench/deliver.py).
        self._resolver.cache = dns.resolver.LRUCache(100_000)

    async def _query(self, name: str, rdtype: str) -> list:
        import dns.exception
        import dns.resolver

        try:
            answer = await self._resolver.resolve(name, rdtype)
        except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer) as error:
            raise DNSNotFound(f"{name} {rdtype}") from error
        except dns.exception.DNSException as error:  # timeout, SERVFAIL, no nameserver
            raise DNSTemporaryError(f"{name} {rdtype}: {error}") from error
        return list(answer)

    async def mx(self, domain: str) -> list[tuple[int, str]]:
        return [(r.preference, r.exchange.to_text(omit_final_dot=True) or ".") for r in await self._query(domain, "MX")]

    async def addresses(self, host: str) -> list[str]:
        found: list[str] = []
        for rdtype in ("A", "AAAA"):
            try:
                found.extend(r.address for r in await self._query(host, rdtype))
            except DNSNotFound:
                continue
        if not found:
            raise DNSNotFound(host)
        return found

    async def txt(self, name: str) -> list[str]:
        return [b"".join(r.strings).decode("utf-8", "replace") for r in await self._query(name, "TXT")]


class FakeResolver:
    """A resolver from dictionaries, for tests and the demo (mox ``dns.MockResolver``).

    Names are matched case-insensitively without a final dot; a name listed in
    ``fail`` raises DNSTemporaryError, one listed nowhere DNSNotFound."""

    def __init__(
        self,
        *,
        mx: Mapping[str, Iterable[tuple[int, str]]] | None = None,
        a: Mapping[str, Iterable[str]] | None = None,
        txt: Mapping[str, Iterable[str]] | None = None,
        fail: Iterable[str] = (),
    ) -> None:
        def norm(name: str) -> str:
            return name.lower().rstrip(".")

        self._norm = norm
        self.mx_records = {norm(k): list(v) for k, v in (mx or {}).items()}
        self.a_records = {norm(k): list(v) for k, v in (a or {}).items()}
        self.txt_records = {norm(k): list(v) for k, v in (txt or {}).items()}
        self.fail = {norm(n) for n in fail}

    def _lookup(self, table: dict, name: str) -> list:
        key = self._norm(name)
        if key in self.fail:
            raise DNSTemporaryError(name)
        if key not in table or not table[key]:
            raise DNSNotFound(name)
        return list(table[key])

    async def mx(self, domain: str) -> list[tuple[int, str]]:
        return self._lookup(self.mx_records, domain)

    async def addresses(self, host: str) -> list[str]:
        return self._lookup(self.a_records, host)

    async def txt(self, name: str) -> list[str]:
        return self._lookup(self.txt_records, name)

    def txt_sync(self, name: str) -> list[str]:
        return self._lookup(self.txt_records, name)
