"""The previous platform's IMAP server, as the migration reads it: connect
(implicit TLS, STARTTLS or, on a private network only, plain), sign in as the
mailbox's owner or as a master user on the owner's behalf, list the folders
and decide where each one goes in academail.

The IMAP client is imapclient (docs/design.md, issue 15): it parses FETCH
responses and literals, decodes modified UTF-7 folder names (RFC 3501 §5.1.3),
returns INTERNALDATE as an aware datetime and speaks SASL PLAIN with an
authorization identity (RFC 4616 §2), which Dovecot's master users need.

Nothing here touches the database: ``plan_folders`` is a pure function of what
the server listed, so the mapping is tested on its own.
"""

from __future__ import annotations

import logging
import ssl
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientError, LoginError

log = logging.getLogger(__name__)

# RFC 6154 §2 special-use attributes -> academail's special folders.
SPECIAL_USE_FLAGS = {
    b"\\sent": "sent",
    b"\\drafts": "drafts",
    b"\\trash": "trash",
    b"\\junk": "junk",
    b"\\archive": "archive",
}
# Virtual folders (RFC 6154 §2: \All, \Flagged) show messages stored in other
# folders: copying them would duplicate every message.
VIRTUAL_FLAGS = {b"\\all", b"\\flagged"}
UNSELECTABLE_FLAGS = {b"\\noselect", b"\\nonexistent"}  # RFC 3501 §7.2.2, RFC 5258 §3

# Names by which servers without SPECIAL-USE (and older clients) call the
# special folders, top level only, compared case- and accent-insensitively.
SPECIAL_NAMES = {
    "sent": ("sent", "sent items", "sent messages", "sent mail", "envoyes", "elements envoyes", "messages envoyes"),
    "drafts": ("drafts", "draft", "brouillons", "brouillon"),
    "trash": ("trash", "deleted items", "deleted messages", "bin", "corbeille", "elements supprimes"),
    "junk": ("junk", "spam", "junk e-mail", "junk email", "indesirables", "courrier indesirable", "pourriel",
             "pourriels"),
    "archive": ("archive", "archives"),
}


class SourceError(Exception):
    """The old server cannot be used as asked; ``message`` is French and says
    what to check."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class Source:
    """Where and as whom to read one mailbox. ``password`` is only ever held
    in memory (never stored, never logged: ``__repr__`` hides it)."""

    host: str
    port: int
    tls: str  # "implicit" (RFC 8314 §3.3), "starttls" (RFC 3501 §6.2.1) or "none"
    login: str  # the mailbox's owner on the old server
    password: str
    master_user: str = ""  # sign in as this master user on the owner's behalf
    master_method: str = "plain"  # "plain": SASL PLAIN authzid; "login": LOGIN owner*master (Dovecot)
    master_separator: str = "*"
    ca_file: str = ""
    verify: bool = True
    timeout: float = 60.0
    # Connect to these IP addresses, each tried in turn (resolved and checked
    # by the caller, ``migration_jobs.check_reachable``) rather than resolving
    # ``host`` again, which DNS rebinding could send elsewhere between the
    # check and the connection; TLS still checks the certificate against ``host``.
    addresses: tuple[str, ...] = ()

    def __repr__(self) -> str:
        return f"Source({self.host}:{self.port} {self.tls} {self.login} master={self.master_user or '-'})"

    @property
    def key(self) -> str:
        """What identifies this source mailbox across runs (no secret in it)."""
        return f"{self.host.lower()}:{self.port}/{self.login}"


class _NamedContext(ssl.SSLContext):
    """A client context that checks the certificate against ``name`` (SNI
    too) whatever the connection was opened to: IMAPClient hands the address
    it connected to (one of ``Source.addresses``) as the server's name."""

    name = ""

    def wrap_socket(self, sock: Any, *args: Any, **kwargs: Any) -> Any:
        kwargs["server_hostname"] = self.name
        return super().wrap_socket(sock, *args, **kwargs)


def _context(source: Source) -> ssl.SSLContext:
    context: ssl.SSLContext
    if source.addresses:
        named = _NamedContext(ssl.PROTOCOL_TLS_CLIENT)  # as create_default_context: verifies, checks the name
        named.name = source.host
        if source.ca_file:
            named.load_verify_locations(cafile=source.ca_file)
        else:
            named.load_default_certs()
        context = named
    else:
        context = ssl.create_default_context(cafile=source.ca_file or None)
    if not source.verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


def _unknown_certificate(source: Source, error: ssl.SSLCertVerificationError) -> SourceError:
    return SourceError(
        f"Le certificat de {source.host} n'est pas reconnu ({error.verify_message}). Vérifiez le nom du "
        "serveur ; s'il est juste, l'administrateur de la messagerie peut déclarer l'autorité de ce certificat "
        "(academail migrate-imap --ca-file) ou, sur un réseau de confiance seulement, s'en passer (--insecure)."
    )


def _abandon(client: IMAPClient) -> None:
    """Close a client whose connection may be half gone (a failed STARTTLS
    handshake leaves its socket closed: shutting it down raises)."""
    try:
        client.shutdown()
    except OSError:
        pass


def _open(source: Source) -> IMAPClient:
    """A connection to the first of ``source.addresses`` that answers, in
    their order (the checked addresses, IPv6 first: RFC 8305 §4's fallback
    without the racing), or to ``host`` when none were given. A certificate
    that fails is final: another address would present the same name."""
    error: OSError | None = None
    for address in source.addresses or (source.host,):
        try:
            return IMAPClient(
                address, port=source.port, ssl=source.tls == "implicit",
                ssl_context=_context(source) if source.tls == "implicit" else None, timeout=source.timeout,
            )
        except ssl.SSLCertVerificationError as refused:
            raise _unknown_certificate(source, refused) from None
        except OSError as failed:
            log.info("migration: %s:%s unreachable at %s (%s)", source.host, source.port, address, failed)
            error = failed
    raise SourceError(f"Impossible de joindre {source.host}:{source.port} ({error}) : vérifiez l'adresse, "
                      "le port et le mode TLS.")


def connect(source: Source) -> IMAPClient:
    """A signed-in client, or SourceError (French). INTERNALDATE values come
    back as aware datetimes (``normalise_times`` off)."""
    client = _open(source)
    client.normalise_times = False
    try:
        if source.tls == "starttls":
            client.starttls(_context(source))
        if source.master_user and source.master_method == "plain":
            # RFC 4616 §2: authzid = the mailbox's owner, authcid = the master user.
            client.plain_login(source.master_user, source.password, authorization_identity=source.login)
        elif source.master_user:
            client.login(f"{source.login}{source.master_separator}{source.master_user}", source.password)
        else:
            client.login(source.login, source.password)
    except ssl.SSLCertVerificationError as error:  # STARTTLS's handshake
        _abandon(client)
        raise _unknown_certificate(source, error) from None
    except LoginError:
        client.shutdown()
        who = f"maître {source.master_user} pour {source.login}" if source.master_user else source.login
        raise SourceError(f"L'ancien serveur refuse l'identification ({who}) : vérifiez l'identifiant et le "
                          "mot de passe.") from None
    except (IMAPClientError, OSError) as error:
        client.shutdown()
        raise SourceError(f"L'ancien serveur a coupé la connexion pendant l'identification ({error}).") from None
    return client


@dataclass(frozen=True)
class FolderPlan:
    """One source folder: its name on the old server (decoded), the academail
    folder it goes to (a path with "/"), the special use that folder has, and
    whether it holds messages to copy."""

    source_name: str
    target_name: str
    special_use: str | None
    selectable: bool
    skipped: str = ""  # why not copied at all (virtual folder), French


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).strip()


def _clean_part(part: str) -> str:
    """One level of a folder name made acceptable to ``store.check_mailbox_name``:
    "/" is our separator, "%" and "*" are IMAP wildcards (RFC 3501 §6.3.8)."""
    part = "".join(ch for ch in part if unicodedata.category(ch) not in {"Cc", "Cf", "Cs", "Co"})
    part = part.replace("/", "-").replace("%", "_").replace("*", "_").strip()
    return part if part not in ("", ".", "..") else "_"


def plan_folders(
    listed: Sequence[tuple[Sequence[bytes], bytes | str | None, str]],
    personal_prefix: str,
    special_names: dict[str, str],
) -> list[FolderPlan]:
    """Where each listed folder goes. ``listed``: LIST replies (attributes,
    delimiter, decoded name); ``personal_prefix``: the personal namespace's
    prefix (RFC 2342, "INBOX." on Courier-style servers), removed;
    ``special_names``: academail's folder name per special use.

    Special folders go by their SPECIAL-USE attribute first (RFC 6154 §2),
    then by a known name at the top level; their sub-folders follow them
    ("Sent.2019" -> "Envoyés/2019"). Everything else keeps its name, with
    "/" as the separator."""
    entries = []
    for flags, delimiter, name in listed:
        attributes = {bytes(f).lower() for f in flags}
        sep = delimiter.decode() if isinstance(delimiter, bytes) else (delimiter or "")
        relative = name[len(personal_prefix):] if personal_prefix and name.startswith(personal_prefix) else name
        parts = relative.split(sep) if sep else [relative]
        entries.append((name, attributes, parts))
    # Special uses: attributes first, then names; the first source folder of a use wins.
    owner: dict[str, str] = {}  # special use -> source top-level name
    for _name, attributes, parts in entries:
        for flag, use in SPECIAL_USE_FLAGS.items():
            if flag in attributes and use not in owner and len(parts) == 1:
                owner[use] = parts[0]
    for _name, _attributes, parts in entries:
        if len(parts) != 1:
            continue
        for use, names in SPECIAL_NAMES.items():
            if use not in owner and _fold(parts[0]) in names and parts[0] not in owner.values():
                owner[use] = parts[0]
    top_use = {top: use for use, top in owner.items()}
    plans = []
    for name, attributes, parts in entries:
        if attributes & VIRTUAL_FLAGS:
            plans.append(FolderPlan(name, "", None, False, "dossier virtuel (il montre des messages d'autres "
                                                             "dossiers) : non copié"))
            continue
        special: str | None = None
        if parts[0].upper() == "INBOX":
            head, special = "INBOX", ("inbox" if len(parts) == 1 else None)
        elif parts[0] in top_use:
            head = special_names[top_use[parts[0]]]
            special = top_use[parts[0]] if len(parts) == 1 else None
        else:
            head = _clean_part(parts[0])
        target = "/".join([head, *(_clean_part(p) for p in parts[1:])])
        plans.append(FolderPlan(name, unicodedata.normalize("NFC", target), special,
                                not attributes & UNSELECTABLE_FLAGS))
    return plans


def list_plan(client: IMAPClient, special_names: dict[str, str]) -> list[FolderPlan]:
    """Ask the server for its folders and its personal namespace, and plan."""
    prefix = ""
    if client.has_capability("NAMESPACE"):
        personal = client.namespace().personal or ()
        if personal:
            prefix = personal[0][0] or ""
    return plan_folders(client.list_folders(), prefix, special_names)


__all__ = ["FolderPlan", "Source", "SourceError", "connect", "list_plan", "plan_folders"]
