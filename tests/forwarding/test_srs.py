"""SRS (libsrs2/postsrsd compatible): round trips, a tampered hash, expiry,
local parts lower-cased by a relay, SRS1 for mail already rewritten, and the
null sender."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re

import pytest

from academail.forwarding import srs

DAY = 86400
NOW = 1_795_000_000.0  # a fixed moment (2026-11-18)


@pytest.fixture(autouse=True)
def _secret(settings):
    settings.SRS_SECRET = "un secret de test"
    settings.SRS_OLD_SECRETS = []
    settings.SRS_MAX_AGE_DAYS = 21


def test_srs0_shape_and_round_trip():
    rewritten = srs.forward("Jean.Dupont@exemple.org", "ac-demo.fr", now=NOW)
    assert re.fullmatch(r"SRS0=[A-Za-z0-9+/]{4}=[A-Z2-7]{2}=exemple\.org=Jean\.Dupont@ac-demo\.fr", rewritten)
    assert srs.reverse(rewritten, now=NOW) == "Jean.Dupont@exemple.org"
    assert srs.reverse(f"<{rewritten}>", now=NOW + 21 * DAY) == "Jean.Dupont@exemple.org"


def test_hash_is_libsrs2s():
    """HMAC-SHA1 over the lower-cased timestamp, domain and local part, base64, 4 characters."""
    rewritten = srs.forward("Jean.Dupont@exemple.org", "ac-demo.fr", now=NOW)
    stamp = rewritten.split("=")[2]
    day = int(NOW // DAY)
    assert stamp == "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"[(day >> 5) & 31] + "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"[day & 31]
    mac = hmac.new(b"un secret de test", (stamp + "exemple.org" + "jean.dupont").lower().encode(), hashlib.sha1)
    assert rewritten.split("=")[1] == base64.b64encode(mac.digest()).decode()[:4]


def test_tampered_hash_or_address_is_refused():
    rewritten = srs.forward("jean@exemple.org", "ac-demo.fr", now=NOW)
    hash_ = rewritten.split("=")[1]
    other = "AAAA" if hash_.upper() != "AAAA" else "BBBB"
    with pytest.raises(srs.SRSError):
        srs.reverse(rewritten.replace(hash_, other, 1), now=NOW)
    with pytest.raises(srs.SRSError):
        srs.reverse(rewritten.replace("=jean@", "=paul@"), now=NOW)  # an open relay to anyone: no
    with pytest.raises(srs.SRSError):
        srs.reverse(rewritten.replace("exemple.org", "autre.example"), now=NOW)


def test_other_secret_is_refused_and_old_secret_still_verifies(settings):
    rewritten = srs.forward("jean@exemple.org", "ac-demo.fr", now=NOW)
    settings.SRS_SECRET = "une nouvelle clé"
    with pytest.raises(srs.SRSError):
        srs.reverse(rewritten, now=NOW)
    settings.SRS_OLD_SECRETS = ["un secret de test"]
    assert srs.reverse(rewritten, now=NOW) == "jean@exemple.org"


def test_expired_after_max_age_and_future_stamps_refused():
    rewritten = srs.forward("jean@exemple.org", "ac-demo.fr", now=NOW)
    assert srs.reverse(rewritten, now=NOW + 21 * DAY) == "jean@exemple.org"
    with pytest.raises(srs.SRSError, match="out of date"):
        srs.reverse(rewritten, now=NOW + 22 * DAY)
    with pytest.raises(srs.SRSError, match="out of date"):
        srs.reverse(rewritten, now=NOW - 2 * DAY)  # from the future: as old as 1,022 days


def test_stamp_survives_the_1024_day_wrap():
    day = 1023 * DAY * 2 + 1023 * DAY  # the last day of a slot cycle
    rewritten = srs.forward("jean@exemple.org", "ac-demo.fr", now=day)
    assert srs.reverse(rewritten, now=day + 5 * DAY) == "jean@exemple.org"


def test_case_folded_by_a_relay_still_verifies():
    rewritten = srs.forward("Jean.Dupont@Exemple.ORG", "ac-demo.fr", now=NOW)
    assert srs.reverse(rewritten.lower(), now=NOW) == "jean.dupont@exemple.org"
    assert srs.reverse(rewritten.upper(), now=NOW).lower() == "jean.dupont@exemple.org"


def test_srs0_of_another_forwarder_becomes_srs1_and_reverses_to_it():
    theirs = "SRS0=abcd=TT=exemple.org=jean@relais.example"
    ours = srs.forward(theirs, "ac-demo.fr", now=NOW)
    assert ours.startswith("SRS1=") and ours.endswith("=relais.example==abcd=TT=exemple.org=jean@ac-demo.fr")
    assert srs.reverse(ours, now=NOW) == theirs
    again = srs.forward(ours.replace("@ac-demo.fr", "@relais2.example"), "ac-demo.fr", now=NOW)
    assert again.count("SRS1") == 1 and srs.reverse(again) == theirs  # never nested


def test_null_sender_and_non_srs_addresses():
    assert srs.forward("", "ac-demo.fr") == ""
    assert srs.forward("<>", "ac-demo.fr") == ""
    assert not srs.is_srs("jean@ac-demo.fr") and not srs.is_srs("SRS0@ac-demo.fr")
    for bad in ("jean@ac-demo.fr", "SRS0=abcd@ac-demo.fr", "SRS0=abcd=AA=@ac-demo.fr", "SRS0=ab=A!=x.org=j@ac-demo.fr",
                "SRS1=abcd=@ac-demo.fr", "SRS0===x=y@ac-demo.fr"):
        with pytest.raises(srs.SRSError):
            srs.reverse(bad, now=NOW)
