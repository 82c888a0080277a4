"""Read back the sender authentication our MX computed (``delivery.authcheck``):
the ``Authentication-Results`` field (RFC 8601) at the top of the per-delivery
prefix, under our own authserv-id. A field of that name inside the sender's
bytes is never trusted (RFC 8601 §5: only our own authserv-id counts, and the
blob is not read at all)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.conf import settings

_FIELD = re.compile(rb"^Authentication-Results:[ \t]*([^\r\n]*(?:\r?\n[ \t][^\r\n]*)*)", re.I | re.M)
_METHOD = re.compile(r"\b(spf|dkim|dmarc|arc)=([a-z]+)")
_POLICY = re.compile(r"dmarc=[a-z]+ \(p=([a-z]+)\)")
_HEADER_FROM = re.compile(r"header\.from=([^\s;]+)")


@dataclass(frozen=True)
class Auth:
    present: bool = False  # False: the message did not come through our MX checks
    spf: str = "none"
    dkim: str = "none"
    dmarc: str = "none"
    dmarc_policy: str = ""
    from_domain: str = ""

    @property
    def failing(self) -> bool:
        """Authentication failed, as opposed to absent: DMARC fail, or an SPF
        fail with no DKIM pass."""
        return self.dmarc == "fail" or (self.spf == "fail" and self.dkim != "pass")

    @property
    def passing(self) -> bool:
        return self.dmarc == "pass" or (self.dmarc == "none" and (self.dkim == "pass" or self.spf == "pass"))


def read_auth(prefix: bytes) -> Auth:
    """The results of our own field in ``prefix``; ``Auth()`` when there is none."""
    own = settings.MAIL_HOSTNAME.lower()
    for match in _FIELD.finditer(prefix[:8192]):
        text = re.sub(r"\s+", " ", match.group(1).decode("utf-8", "replace")).strip()
        authserv, _, rest = text.partition(";")
        if authserv.strip().lower() != own:
            continue
        results = {m.group(1): m.group(2) for m in _METHOD.finditer(rest.lower())}
        policy = _POLICY.search(rest.lower())
        header_from = _HEADER_FROM.search(rest.lower())
        return Auth(
            present=True,
            spf=results.get("spf", "none"),
            dkim=results.get("dkim", "none"),
            dmarc=results.get("dmarc", "none"),
            dmarc_policy=policy.group(1) if policy else "",
            from_domain=header_from.group(1) if header_from else "",
        )
    return Auth()
