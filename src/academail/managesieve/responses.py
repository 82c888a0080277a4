"""What the ManageSieve server says: response codes (RFC 5804 §1.3), named
texts, and the encoding of strings on the wire (§4: quoted when short and on
one line, else a literal)."""

from __future__ import annotations

# Response codes (RFC 5804 §1.3). Protocol tokens: never translated.
CODE_AUTH_TOO_WEAK = "AUTH-TOO-WEAK"
CODE_ENCRYPT_NEEDED = "ENCRYPT-NEEDED"
CODE_QUOTA = "QUOTA"
CODE_QUOTA_MAXSCRIPTS = "QUOTA/MAXSCRIPTS"
CODE_QUOTA_MAXSIZE = "QUOTA/MAXSIZE"
CODE_SASL = "SASL"
CODE_TRYLATER = "TRYLATER"
CODE_ACTIVE = "ACTIVE"
CODE_NONEXISTENT = "NONEXISTENT"
CODE_ALREADYEXISTS = "ALREADYEXISTS"
CODE_WARNINGS = "WARNINGS"

IMPLEMENTATION = "academail"
VERSION = "1.0"
SASL_MECHANISMS = ("PLAIN", "LOGIN")

# Texts: English for the protocol log, French for the person reading a client's error box.
GREETING = "academail ManageSieve ready / serveur de filtres academail prêt"
OK_DONE = "Done / fait"
OK_LOGOUT = "Logout completed / déconnexion"
OK_STARTTLS = "Begin TLS negotiation now / début de la négociation TLS"
OK_AUTHENTICATED = "Authenticated / connecté"
OK_UNAUTHENTICATED = "Unauthenticated / déconnecté du compte"
OK_SCRIPT_VALID = "Script is valid / le script est valide"
OK_PUT = "Script stored / script enregistré"
NO_UNKNOWN_COMMAND = "Unknown command / commande inconnue"
NO_NOT_ALLOWED_NOT_AUTH = "Sign in first (AUTHENTICATE) / connectez-vous d'abord"
NO_NOT_ALLOWED_AUTH = "Already signed in / déjà connecté"
NO_TLS_ACTIVE = "TLS is already active / TLS est déjà actif"
NO_ENCRYPT_NEEDED = (
    "Use STARTTLS before signing in / utilisez STARTTLS avant de vous connecter : "
    "le mot de passe ne circule jamais en clair"
)
NO_MECHANISM = "Unsupported SASL mechanism; use PLAIN / mécanisme non pris en charge, utilisez PLAIN"
NO_AUTH_CANCELLED = "Authentication cancelled / connexion annulée"
NO_AUTH_BAD_RESPONSE = "Invalid SASL response / réponse SASL invalide"
NO_AUTH_FAILED = (
    "Authentication failed / identifiant ou mot de passe incorrect "
    "(avec un mot de passe d'application si votre compte l'exige)"
)
NO_AUTH_THROTTLED = "Too many failed attempts, try again in {seconds} s / trop d'échecs : réessayez dans {seconds} s"
NO_AUTHZ = "Cannot act as another user / impossible d'agir au nom d'un autre compte"
NO_LITERAL_TOO_BIG = "Literal too big / donnée trop grosse"
NO_LINE_TOO_LONG = "Line too long / ligne trop longue"
NO_SERVER_ERROR = "Internal error, try again later / erreur interne : réessayez plus tard"
NO_SYNTAX = "Syntax error / erreur de syntaxe : {detail}"
BYE_TIMEOUT = "Idle for too long / déconnexion après une longue inactivité"
BYE_TOO_LONG = "Command too long / commande trop longue"
BYE_TOO_MANY_FROM_ADDRESS = "Too many connections from your address / trop de connexions depuis votre adresse"


def quote(text: str) -> bytes:
    """A string as RFC 5804 §4 sends it: quoted when it fits (1024 octets, no
    CR or LF), else a literal ``{n}``."""
    data = text.encode()
    if len(data) <= 1024 and b"\r" not in data and b"\n" not in data and b"\x00" not in data:
        return b'"' + data.replace(b"\\", b"\\\\").replace(b'"', b'\\"') + b'"'
    return literal(data)


def literal(data: bytes) -> bytes:
    return b"{%d}\r\n" % len(data) + data


def response(status: str, text: str = "", code: str = "") -> bytes:
    """``OK``/``NO``/``BYE`` [``(code)``] [text] CRLF (RFC 5804 §1.3, §4)."""
    out = status.encode()
    if code:
        out += b" (" + code.encode() + b")"
    if text:
        out += b" " + quote(text)
    return out + b"\r\n"
