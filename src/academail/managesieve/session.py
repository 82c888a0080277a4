"""One ManageSieve session: the commands of RFC 5804 §2, each calling one
service (``accounts.services`` for signing in, ``filters.scripts`` for the
scripts) in the server's thread pool. The state check happens before
dispatch, in ``server.Connection.handle``.

Signing in goes through the one ``check_sign_in`` (throttling, journal,
devices) with protocol ``sieve``, only over TLS (RFC 5804 §2.1 and
RFC 8314: no password in clear text), with PLAIN (RFC 4616) or LOGIN.
"""

from __future__ import annotations

import base64
from typing import TYPE_CHECKING

from academail.accounts.services import check_sign_in, pause_before_refusal
from academail.filters import scripts
from academail.filters.scripts import Reason, ScriptsError
from academail.filters.sieve import SUPPORTED_EXTENSIONS
from academail.managesieve import parsing as P
from academail.managesieve import responses as R
from academail.managesieve.state import State
from academail.server import sasl
from academail.server.lineserver import CommandTable

if TYPE_CHECKING:
    from academail.managesieve.server import Connection

SIGN_IN_PROTOCOL = "sieve"

# RFC 5804 §1.3: the response code for each refusal of filters.scripts.
_CODES: dict[Reason, str] = {
    Reason.NONEXISTENT: R.CODE_NONEXISTENT,
    Reason.ALREADY_EXISTS: R.CODE_ALREADYEXISTS,
    Reason.ACTIVE: R.CODE_ACTIVE,
    Reason.TOO_MANY: R.CODE_QUOTA_MAXSCRIPTS,
    Reason.TOO_BIG: R.CODE_QUOTA_MAXSIZE,
    Reason.INVALID_NAME: "",
    Reason.INVALID_SCRIPT: "",
    Reason.BUSY: R.CODE_TRYLATER,
}


def sieve_capability() -> str:
    """RFC 5804 §1.7 "SIEVE": exactly the extensions our interpreter accepts in
    ``require`` (``filters.sieve``)."""
    return " ".join(sorted(SUPPORTED_EXTENSIONS))


class Session:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.state = State.NOT_AUTHENTICATED
        self.account_id: int | None = None
        self.identifier = ""

    # -- output ---------------------------------------------------------------------
    async def ok(self, text: str = "", code: str = "") -> None:
        await self.conn.write(R.response("OK", text, code))

    async def no(self, text: str, code: str = "") -> None:
        await self.conn.write(R.response("NO", text, code))

    async def refuse(self, exc: ScriptsError) -> None:
        await self.no(exc.message, _CODES[exc.reason])

    def capability_lines(self) -> bytes:
        """RFC 5804 §1.7; SASL mechanisms only over TLS (§2.1: none offered
        where the password would travel in clear text)."""
        lines = [
            (b'"IMPLEMENTATION" ' + R.quote(R.IMPLEMENTATION)),
            b'"SASL" ' + R.quote(" ".join(R.SASL_MECHANISMS) if self.conn.tls else ""),
            b'"SIEVE" ' + R.quote(sieve_capability()),
        ]
        if not self.conn.tls and self.conn.starttls_available:
            lines.append(b'"STARTTLS"')
        lines.append(b'"VERSION" ' + R.quote(R.VERSION))
        lines.append(b'"UNAUTHENTICATE"')  # RFC 5804 §2.14
        if self.state is State.AUTHENTICATED:
            lines.append(b'"OWNER" ' + R.quote(self.identifier))  # §1.7
        return b"".join(line + b"\r\n" for line in lines)

    # -- any state ------------------------------------------------------------------
    async def do_capability(self, command: P.Capability) -> None:
        await self.conn.write(self.capability_lines())
        await self.ok()

    async def do_logout(self, command: P.Logout) -> None:
        await self.ok(R.OK_LOGOUT)  # §2.3: OK, then the server closes
        self.state = State.LOGOUT

    async def do_noop(self, command: P.Noop) -> None:
        if command.tag is not None:  # §2.13: echo the tag in a TAG response code
            await self.conn.write(b"OK (TAG " + R.quote(command.tag) + b") " + R.quote(R.OK_DONE) + b"\r\n")
        else:
            await self.ok(R.OK_DONE)

    # -- not authenticated ----------------------------------------------------------
    async def do_starttls(self, command: P.StartTLS) -> None:
        if self.conn.tls or not self.conn.starttls_available:
            await self.no(R.NO_TLS_ACTIVE)
            return
        await self.conn.start_tls(R.response("OK", R.OK_STARTTLS))
        # §2.2: after the handshake, the capabilities again (now with SASL), then OK.
        await self.conn.write(self.capability_lines())
        await self.ok()

    async def do_authenticate(self, command: P.Authenticate) -> None:
        if not self.conn.tls:
            await self.no(R.NO_ENCRYPT_NEEDED, R.CODE_ENCRYPT_NEEDED)
            return
        if command.mechanism == "PLAIN":
            await self._plain(command.initial)
        elif command.mechanism == "LOGIN":
            await self._login(command.initial)
        else:
            await self.no(R.NO_MECHANISM)

    async def _challenge(self, challenge: bytes) -> bytes | None:
        """Send a SASL challenge (a string, §2.1), return the client's answer,
        still in base64; None after answering NO (cancelled or malformed)."""
        await self.conn.write(R.quote(base64.b64encode(challenge).decode()) + b"\r\n")
        await self.conn.flush()
        data = await self.conn.read_command()
        if data is None:
            return None
        try:
            answer = P.parse_sasl_response(data)
        except P.ParseError:
            await self.no(R.NO_AUTH_BAD_RESPONSE)
            return None
        if answer == b"*":  # §2.1: the client cancels
            await self.no(R.NO_AUTH_CANCELLED)
            return None
        return answer

    async def _plain(self, initial: bytes | None) -> None:
        response = initial if initial is not None else await self._challenge(b"")
        if response is None:
            return  # answered by _challenge
        try:
            plain = sasl.decode_plain(response)
        except sasl.SaslError:
            await self.no(R.NO_AUTH_BAD_RESPONSE)
            return
        if plain.acts_for_another:
            await self.no(R.NO_AUTHZ)  # no proxy authorisation (RFC 4616 §2)
            return
        await self._sign_in(plain.user, plain.password)

    async def _login(self, initial: bytes | None) -> None:
        # draft-murchison-sasl-login: "Username:", then "Password:".
        try:
            response = initial if initial is not None else await self._challenge(b"Username:")
            if response is None:
                return  # answered by _challenge
            user = sasl.decode_login_step(response)
            response = await self._challenge(b"Password:")
            if response is None:
                return
            password = sasl.decode_login_step(response)
        except sasl.SaslError:
            await self.no(R.NO_AUTH_BAD_RESPONSE)
            return
        await self._sign_in(user, password)

    async def _sign_in(self, identifier: str, password: str) -> None:
        result = await self.conn.run(
            check_sign_in, identifier, password, protocol=SIGN_IN_PROTOCOL, remote_addr=self.conn.peer,
            client_name="ManageSieve",
        )
        await pause_before_refusal(result)
        if result.throttled:
            await self.no(R.NO_AUTH_THROTTLED.format(seconds=result.retry_after), R.CODE_TRYLATER)
            return
        account = result.account
        if account is None:
            await self.no(R.NO_AUTH_FAILED)
            return
        self.account_id = account.pk
        self.identifier = account.identifier
        self.state = State.AUTHENTICATED
        await self.ok(R.OK_AUTHENTICATED)

    # -- authenticated --------------------------------------------------------------
    def _account(self) -> int:
        assert self.account_id is not None  # the state table allows these commands only when signed in
        return self.account_id

    async def do_unauthenticate(self, command: P.Unauthenticate) -> None:
        self.account_id = None
        self.identifier = ""
        self.state = State.NOT_AUTHENTICATED
        await self.ok(R.OK_UNAUTHENTICATED)

    async def do_havespace(self, command: P.HaveSpace) -> None:
        try:
            await self.conn.run(scripts.check_space, self._account(), command.script, command.size)
        except ScriptsError as exc:
            await self.refuse(exc)
            return
        await self.ok()

    async def do_listscripts(self, command: P.ListScripts) -> None:
        found = await self.conn.run(scripts.access_scripts, self._account())
        for info in found:
            await self.conn.write(R.quote(info.name) + (b" ACTIVE" if info.active else b"") + b"\r\n")
        await self.ok()

    async def do_getscript(self, command: P.ScriptName) -> None:
        try:
            content = await self.conn.run(scripts.access_script, self._account(), command.script)
        except ScriptsError as exc:
            await self.refuse(exc)
            return
        # §2.9: the script as a literal, CRLF, then OK.
        await self.conn.write(R.literal(content.encode()) + b"\r\n")
        await self.ok()

    def _script_text(self, content: bytes) -> str:
        try:
            return content.decode("utf-8")
        except UnicodeDecodeError:
            raise ScriptsError(Reason.INVALID_SCRIPT, "Le script doit être en UTF-8 (RFC 5228 §2.2).") from None

    async def do_putscript(self, command: P.PutScript) -> None:
        try:
            text = self._script_text(command.content)
            await self.conn.run(
                scripts.check_and_put_script, self._account(), command.script, text, remote_addr=self.conn.peer
            )
        except ScriptsError as exc:
            await self.refuse(exc)
            return
        await self.ok(R.OK_PUT)

    async def do_checkscript(self, command: P.CheckScript) -> None:
        try:
            await self.conn.run(scripts.check_script, self._script_text(command.content))
        except ScriptsError as exc:
            await self.refuse(exc)
            return
        await self.ok(R.OK_SCRIPT_VALID)

    async def do_script_name(self, command: P.ScriptName) -> None:
        """SETACTIVE, GETSCRIPT and DELETESCRIPT share their parsed form."""
        if command.name == "SETACTIVE":
            await self.do_setactive(command)
        elif command.name == "GETSCRIPT":
            await self.do_getscript(command)
        else:
            await self.do_deletescript(command)

    async def do_setactive(self, command: P.ScriptName) -> None:
        try:
            await self.conn.run(scripts.do_set_active, self._account(), command.script, remote_addr=self.conn.peer)
        except ScriptsError as exc:
            await self.refuse(exc)
            return
        await self.ok()

    async def do_deletescript(self, command: P.ScriptName) -> None:
        try:
            await self.conn.run(
                scripts.check_and_delete_script, self._account(), command.script, remote_addr=self.conn.peer
            )
        except ScriptsError as exc:
            await self.refuse(exc)
            return
        await self.ok()

    async def do_renamescript(self, command: P.RenameScript) -> None:
        try:
            await self.conn.run(
                scripts.check_and_rename_script, self._account(), command.old, command.new,
                remote_addr=self.conn.peer,
            )
        except ScriptsError as exc:
            await self.refuse(exc)
            return
        await self.ok()


# The one table from a parsed command's class to its handler (RFC 5804 §2);
# the server checks the state table (``state.ALLOWED``) before dispatching.
HANDLERS: CommandTable[Session] = CommandTable()
HANDLERS.add(P.Capability, Session.do_capability)
HANDLERS.add(P.Logout, Session.do_logout)
HANDLERS.add(P.Noop, Session.do_noop)
HANDLERS.add(P.StartTLS, Session.do_starttls)
HANDLERS.add(P.Authenticate, Session.do_authenticate)
HANDLERS.add(P.Unauthenticate, Session.do_unauthenticate)
HANDLERS.add(P.HaveSpace, Session.do_havespace)
HANDLERS.add(P.ListScripts, Session.do_listscripts)
HANDLERS.add(P.ScriptName, Session.do_script_name)
HANDLERS.add(P.PutScript, Session.do_putscript)
HANDLERS.add(P.CheckScript, Session.do_checkscript)
HANDLERS.add(P.RenameScript, Session.do_renamescript)
