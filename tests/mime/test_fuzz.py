"""Fuzz target for the MIME parser: random mutations of the corpus (fixed seed, so a
failure reproduces) must never make parse_message raise or break the invariants of
the part map."""

from __future__ import annotations

import random

import pytest

from academail.mime import parse_message

from .invariants import check_invariants, corpus_files

# Byte strings that matter to a MIME parser, spliced into messages.
TOKENS = [
    b"\r\n",
    b"\n",
    b"\r",
    b"\r\n\r\n",
    b"\x00",
    b"\xff\xfe",
    b"\xc3",
    b"--",
    b"--b1--\r\n",
    b"=?",
    b"?=",
    b"=?utf-8?b?w6k=?=",
    b"=?x-bad?q?=ZZ?=",
    b"Content-Type: multipart/mixed; boundary=b1\r\n",
    b"Content-Type: message/rfc822\r\n",
    b'Content-Type: multipart/digest; boundary=""\r\n',
    b"Content-Transfer-Encoding: base64\r\n",
    b"Content-Transfer-Encoding: quoted-printable\r\n",
    b"; charset=utf-7",
    b"; filename*0*=x''%ZZ; filename*1*=%C3",
    b"<",
    b">",
    b'"',
    b"(",
    b")",
    b":",
    b";",
    b",",
    b"@",
    b" \t",
    b"<script>",
    b"<!--",
    b"=\r\n",
    b"=C3",
]


def mutate(data: bytes, rng: random.Random) -> bytes:
    buf = bytearray(data)
    for _ in range(rng.randint(1, 6)):
        op = rng.randrange(6)
        pos = rng.randint(0, len(buf))
        if op == 0 and buf:
            buf[min(pos, len(buf) - 1)] = rng.randrange(256)
        elif op == 1:
            buf[pos:pos] = rng.choice(TOKENS)
        elif op == 2:
            del buf[pos : pos + rng.randint(1, 64)]
        elif op == 3 and buf:
            start = rng.randint(0, len(buf) - 1)
            buf[pos:pos] = buf[start : start + rng.randint(1, 200)]
        elif op == 4:
            del buf[pos:]
        else:
            buf[pos:pos] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 16)))
    return bytes(buf)


@pytest.mark.parametrize("path", corpus_files(), ids=lambda p: p.name)
def test_mutations_never_raise(path):
    rng = random.Random(f"academail-mime-{path.name}")
    original = path.read_bytes()
    for _ in range(60):
        raw = mutate(original, rng)
        check_invariants(raw, parse_message(raw))


def test_random_bytes_never_raise():
    rng = random.Random(2045)
    for _ in range(300):
        raw = bytes(rng.randrange(256) for _ in range(rng.randint(0, 400)))
        check_invariants(raw, parse_message(raw))


def test_token_soup_never_raises():
    rng = random.Random(2046)
    for _ in range(300):
        raw = b"".join(rng.choice(TOKENS) for _ in range(rng.randint(0, 80)))
        check_invariants(raw, parse_message(raw))
