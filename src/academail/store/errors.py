"""Store errors. Each carries a French text a user can act on; protocol layers map
the class to their reply code (SMTP ``452 4.2.2`` for ``QuotaExceeded``...)."""


class StoreError(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class QuotaExceeded(StoreError):
    """The account has no room for this message."""


class MailboxNotFound(StoreError):
    pass


class MailboxExists(StoreError):
    pass


class InvalidMailboxName(StoreError):
    pass


class ProtectedMailbox(StoreError):
    """Special folders (Boîte de réception, Envoyés...) cannot be renamed or deleted."""


class MessageNotFound(StoreError):
    pass


class NoPermission(StoreError):
    """The person sees this shared folder but lacks the right for the action
    (RFC 4314; IMAP ``NO [NOPERM]``, RFC 5530)."""
