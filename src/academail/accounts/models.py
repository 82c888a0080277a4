"""Identity records: the Account (login identifier, names, addresses, NUMEN,
secondary address, role, status, quota limit, alert preferences) and its
aliases; and what the access life cycle keeps about an account: its recent
password hashes, sign-in throttles, activity journal, recognised devices, web
sessions, one-time codes, reset links and helpdesk requests.

Identifiers and addresses are stored lower-cased, so the unique indexes make them
case-insensitive on every database. The NUMEN is never stored in clear: an
AES-GCM ciphertext for the rare person allowed to read it, and a keyed hash
(HMAC-SHA-256) for lookups and uniqueness (see ``accounts.secrets``).
"""

from __future__ import annotations

from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.core.validators import RegexValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from academail.accounts.naming import name_key


class Role(models.TextChoices):
    STAFF = "staff", _("Personnel")
    SECRETARIAT = "secretariat", _("Secrétariat")
    SUPPORT = "support", _("Agent d'assistance")
    SECURITY = "security", _("Équipe sécurité")
    ADMIN = "admin", _("Administrateur")


# An établissement's UAI (ex-RNE) code: seven digits, the first three being
# the département, and a check letter (0341234X). One rule: the model
# validates it (admin forms); ``services.clean_uai`` (imports, lists) and
# ``sharing.functional`` (functional mailboxes' addresses) use it.
UAI_PATTERN = r"[0-9]{7}[A-Z]"


class Function(models.TextChoices):
    """What a person does in their établissement, as the directory says: the
    directory-fed distribution lists select on it (``lists.members``)."""

    NONE = "", _("Non renseignée")
    TEACHER = "teacher", _("Enseignant")
    PRINCIPAL = "principal", _("Chef d'établissement")
    DEPUTY = "deputy", _("Adjoint")
    CPE = "cpe", _("Conseiller principal d'éducation")
    ADMINISTRATIVE = "administrative", _("Personnel administratif")


class Status(models.TextChoices):
    PENDING = "pending", _("En attente d'activation")
    ACTIVE = "active", _("Actif")
    SUSPENDED = "suspended", _("Suspendu")
    DISABLED = "disabled", _("Désactivé")


class Kind(models.TextChoices):
    PERSON = "person", _("Compte personnel")
    # A functional mailbox (issue 19): an établissement's or service's
    # address, read by its members with their own passwords; it has none.
    FUNCTIONAL = "functional", _("Boîte fonctionnelle")


class AccountManager(BaseUserManager["Account"]):
    use_in_migrations = True

    def get_by_natural_key(self, username: str | None) -> Account:
        return self.get(identifier=(username or "").strip().lower())

    def create_user(self, identifier: str, password: str | None = None, **fields: object) -> Account:
        account = self.model(identifier=identifier.strip().lower(), **fields)
        account.set_password(password)
        account.save(using=self._db)
        return account

    def create_superuser(self, identifier: str, password: str | None = None, **fields: object) -> Account:
        fields.setdefault("role", Role.ADMIN)
        fields.setdefault("status", Status.ACTIVE)
        fields.setdefault("is_superuser", True)
        return self.create_user(identifier, password, **fields)


class Account(AbstractBaseUser, PermissionsMixin):
    identifier = models.CharField(
        _("identifiant"), max_length=64, unique=True,
        help_text=_("Initiale du prénom et nom, en minuscules (ex. jdupont)."),
    )
    first_name = models.CharField(_("prénom"), max_length=150)
    last_name = models.CharField(_("nom"), max_length=150)
    # naming.name_key of the two names (without accents, case, spaces or
    # hyphens), kept by save(): the phishing check looks up a display name
    # such as "Helene MARTIN" among 60,000 staff in one indexed query.
    name_key = models.CharField(max_length=301, default="", blank=True, editable=False)
    address = models.CharField(_("adresse principale"), max_length=254, unique=True)
    numen_ciphertext = models.BinaryField(_("NUMEN chiffré"), null=True, editable=False)
    numen_hash = models.CharField(max_length=64, unique=True, null=True, editable=False)
    secondary_address = models.CharField(_("adresse de secours"), max_length=254, blank=True)
    secondary_verified = models.BooleanField(_("adresse de secours vérifiée"), default=False)
    role = models.CharField(_("rôle"), max_length=16, choices=Role.choices, default=Role.STAFF)
    status = models.CharField(
        _("statut"), max_length=16, choices=Status.choices, default=Status.PENDING, db_index=True
    )
    establishment = models.CharField(_("établissement"), max_length=200, blank=True)
    kind = models.CharField(_("type de compte"), max_length=16, choices=Kind.choices, default=Kind.PERSON)
    # The directory's view of the person: their établissement's UAI code
    # (7 digits and a letter; its first three characters are the département)
    # and their function. Directory lists select on both (index below).
    uai = models.CharField(
        _("code UAI de l'établissement"), max_length=8, blank=True,
        validators=[RegexValidator(f"^{UAI_PATTERN}$", _("Un code UAI : sept chiffres et une lettre (ex. 0341234X)."))],
    )
    function = models.CharField(_("fonction"), max_length=16, choices=Function.choices, blank=True, default="")
    quota_bytes = models.BigIntegerField(_("quota (octets)"))
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)
    # New-device alerts: on by default (the guide asks staff to keep them on);
    # the copy to the secondary address is opt-in, it leaves the académie.
    alert_new_device = models.BooleanField(_("alerte de connexion depuis un nouvel appareil"), default=True)
    alert_copy_secondary = models.BooleanField(
        _("copie des alertes à l'adresse de secours"), default=False
    )
    # A departure (secretariat): the disabled account and its mail are
    # deleted after this date (``helpdesk.do_purge_departed``).
    delete_after = models.DateTimeField(_("supprimé après le"), null=True, blank=True)

    objects = AccountManager()

    USERNAME_FIELD = "identifier"
    EMAIL_FIELD = "address"
    REQUIRED_FIELDS = ["first_name", "last_name", "address", "quota_bytes"]

    class Meta:
        verbose_name = _("compte")
        verbose_name_plural = _("comptes")
        indexes = [
            models.Index(fields=["last_name", "first_name"]),
            models.Index(fields=["name_key"], name="accounts_name_key_idx"),
            # Directory lists (active accounts only): "every teacher of 0341234X"
            # and "every principal of département 034" (a UAI range) use the
            # first; "everyone of 0341234X" (or of 034) the second. Equality
            # columns first, the range last, so SQLite's planner prefers them
            # to the status index even without statistics.
            models.Index(fields=["function", "status", "uai"], name="accounts_directory_idx"),
            models.Index(fields=["status", "uai"], name="accounts_directory_all_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.identifier} ({self.first_name} {self.last_name})"

    @property
    def is_staff(self) -> bool:
        """Django admin access: administrators only."""
        return self.role == Role.ADMIN and self.is_active

    @property
    def is_active(self) -> bool:
        return self.status == Status.ACTIVE

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()

    def normalize_stored_fields(self) -> None:
        """What every row holds: identifier and addresses lower-cased, the UAI
        code upper-cased, ``name_key`` in step with the names. ``save`` calls
        it; a bulk insert (``services.do_create_accounts``) must call it too."""
        self.identifier = self.identifier.strip().lower()
        self.address = self.address.strip().lower()
        self.secondary_address = self.secondary_address.strip().lower()
        self.uai = self.uai.strip().upper()
        self.name_key = name_key(self.first_name, self.last_name)

    def save(self, *args: object, **kwargs: object) -> None:
        self.normalize_stored_fields()
        fields = kwargs.get("update_fields")
        if fields is not None and {"first_name", "last_name"} & set(fields):  # type: ignore[call-overload]
            kwargs["update_fields"] = [*fields, "name_key"]  # type: ignore[misc]
        super().save(*args, **kwargs)


class Alias(models.Model):
    """Another address delivered to the same account (RFC 5321 §2.4: we treat
    local parts case-insensitively, as every institutional system does)."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="aliases")
    address = models.CharField(_("adresse"), max_length=254, unique=True)

    class Meta:
        verbose_name = _("alias")
        verbose_name_plural = _("alias")

    def __str__(self) -> str:
        return self.address

    def save(self, *args: object, **kwargs: object) -> None:
        self.address = self.address.strip().lower()
        super().save(*args, **kwargs)


# --- access life cycle ---------------------------------------------------------------


class PasswordHistory(models.Model):
    """The hashes of an account's recent passwords (the current one included),
    so that a new password can be refused when it repeats one of the last
    ``settings.PASSWORD_HISTORY``. Written by ``passwords.PasswordPolicyValidator
    .password_changed``, i.e. every time ``Account.save()`` follows
    ``set_password()``."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="password_history")
    password = models.CharField(max_length=128)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["account", "-id"])]


class Throttle(models.Model):
    """Failure counters of one throttling bucket (see ``accounts.throttle``):
    ``addr:<network>``, ``pair:<network>:<identifier>``, ``id:<identifier>``,
    ``dev:<account>:<device key>`` or ``totp:<account>``."""

    key = models.CharField(_("clé"), max_length=200, unique=True)
    failures = models.PositiveIntegerField(_("échecs consécutifs"), default=0)
    window_start = models.DateTimeField(_("début de la fenêtre de 24 h"), null=True)
    window_failures = models.PositiveIntegerField(_("échecs sur 24 h"), default=0)
    refused = models.PositiveIntegerField(_("tentatives refusées pendant un délai"), default=0)
    last_failure_at = models.DateTimeField(_("dernier échec"), null=True, db_index=True)
    blocked_until = models.DateTimeField(_("bloqué jusqu'à"), null=True)

    class Meta:
        verbose_name = _("limitation de connexion")
        verbose_name_plural = _("limitations de connexion")

    def __str__(self) -> str:
        return self.key


class EventKind(models.TextChoices):
    SIGNIN = "signin", _("Connexion réussie")
    SIGNIN_FAILED = "signin_failed", _("Échec de connexion")
    NEW_DEVICE = "new_device", _("Connexion depuis un nouvel appareil")
    ACTIVATED = "activated", _("Compte activé")
    PASSWORD_CHANGED = "password_changed", _("Mot de passe modifié")
    PASSWORD_RESET = "password_reset", _("Mot de passe réinitialisé")
    RESET_REQUESTED = "reset_requested", _("Demande de réinitialisation du mot de passe")
    SECONDARY_CHANGED = "secondary_changed", _("Adresse de secours modifiée")
    SIGNED_OUT = "signed_out", _("Déconnexion")
    SESSION_REVOKED = "session_revoked", _("Session fermée à distance")
    ALL_SESSIONS_REVOKED = "all_sessions_revoked", _("Toutes les sessions fermées")
    DEVICE_FORGOTTEN = "device_forgotten", _("Appareil oublié")
    ALERTS_CHANGED = "alerts_changed", _("Réglage des alertes modifié")
    NOT_ME = "not_me", _("Signalement « Ce n'était pas moi »")
    FILTER_CHANGED = "filter_changed", _("Filtre modifié")
    FILTER_ERROR = "filter_error", _("Erreur de filtre (message gardé dans la boîte de réception)")
    FORWARDING_CHANGED = "forwarding_changed", _("Transfert modifié")
    APP_PASSWORD_CREATED = "app_password_created", _("Mot de passe d'application créé")
    APP_PASSWORD_REVOKED = "app_password_revoked", _("Mot de passe d'application révoqué")
    TOTP_ENABLED = "totp_enabled", _("Double authentification activée")
    TOTP_DISABLED = "totp_disabled", _("Double authentification désactivée")
    TOTP_RESET = "totp_reset", _("Double authentification réinitialisée par un administrateur")
    TOTP_FAILED = "totp_failed", _("Code de double authentification refusé")
    RECOVERY_CODE_USED = "recovery_code_used", _("Code de secours utilisé")
    PHISHING_REPORTED = "phishing_reported", _("Hameçonnage signalé")
    PHISHING_REMOVED = "phishing_removed", _("Message d'hameçonnage retiré par l'équipe sécurité")
    STAFF_ACTION = "staff_action", _("Action de l'assistance ou du secrétariat")
    NUMEN_SHOWN = "numen_shown", _("NUMEN affiché par le secrétariat")
    EXPORT_READY = "export_ready", _("Export de messages prêt")
    EXPORT_DOWNLOADED = "export_downloaded", _("Export de messages téléchargé")
    SHARED_USE = "shared_use", _("Action dans une boîte partagée")
    SHARING_CHANGED = "sharing_changed", _("Partage ou délégation modifié")
    SENT_FOR = "sent_for", _("Message envoyé pour une autre boîte")
    ATTACHMENTS_REMOVED = "attachments_removed", _("Pièces jointes retirées d'anciens messages")
    MIGRATION = "migration", _("Migration depuis l'ancienne messagerie")


class JournalEntry(models.Model):
    """One line of an account's activity journal (kept 12 months)."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="journal", verbose_name=_("compte"))
    at = models.DateTimeField(_("date"), default=timezone.now, db_index=True)
    kind = models.CharField(_("événement"), max_length=32, choices=EventKind.choices)
    protocol = models.CharField(_("protocole"), max_length=8, blank=True)
    remote_addr = models.GenericIPAddressField(_("adresse IP"), null=True, blank=True)
    device = models.CharField(_("appareil ou logiciel"), max_length=200, blank=True)
    detail = models.CharField(_("détail"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("entrée du journal")
        verbose_name_plural = _("entrées du journal")
        # Keyset pagination: newest first by id within one account.
        indexes = [models.Index(fields=["account", "-id"])]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.kind}"


class Device(models.Model):
    """A device or mail program that has signed in to an account: a browser
    (key from its signed cookie) or an IMAP/SMTP client (key from its name and
    network). Only a hash of the key is stored."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="devices", verbose_name=_("compte"))
    key = models.CharField(max_length=80)
    protocol = models.CharField(_("protocole"), max_length=8)
    label = models.CharField(_("appareil"), max_length=200, blank=True)
    first_seen = models.DateTimeField(_("première connexion"), default=timezone.now)
    last_seen = models.DateTimeField(_("dernière connexion"), default=timezone.now)
    last_addr = models.GenericIPAddressField(_("dernière adresse IP"), null=True, blank=True)

    class Meta:
        verbose_name = _("appareil")
        verbose_name_plural = _("appareils")
        constraints = [models.UniqueConstraint(fields=["account", "key"], name="device_account_key")]

    def __str__(self) -> str:
        return self.label or self.key[:12]


class WebSession(models.Model):
    """Links a Django database session to its account, so a person can list
    their sessions and close one or all (the session row itself belongs to
    ``django.contrib.sessions``)."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="web_sessions")
    session_key = models.CharField(max_length=40, unique=True)
    device = models.ForeignKey(Device, on_delete=models.SET_NULL, null=True, blank=True)
    label = models.CharField(max_length=200, blank=True)
    remote_addr = models.GenericIPAddressField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("session web")
        verbose_name_plural = _("sessions web")


class CodePurpose(models.TextChoices):
    ACTIVATION = "activation", _("Vérification de l'adresse de secours (activation)")
    SECONDARY = "secondary", _("Vérification d'une nouvelle adresse de secours")


class VerificationCode(models.Model):
    """A 6-digit code sent to a secondary address, stored as a keyed hash."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="codes")
    purpose = models.CharField(max_length=16, choices=CodePurpose.choices)
    address = models.CharField(max_length=254)
    code_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    attempts = models.PositiveSmallIntegerField(default=0)
    used_at = models.DateTimeField(null=True)

    class Meta:
        indexes = [models.Index(fields=["account", "purpose", "-id"])]


class ResetToken(models.Model):
    """A single-use password-reset link; only the SHA-256 of its secret is kept."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="reset_tokens")
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True)


# --- app passwords and second factor ----------------------------------------------------


class AppPassword(models.Model):
    """A password generated for one phone or mail program, valid for IMAP and
    SMTP only (see ``accounts.apppasswords``). Only a keyed hash is kept."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="app_passwords")
    name = models.CharField(_("nom"), max_length=80)
    salt = models.CharField(max_length=32)
    digest = models.CharField(max_length=64)
    created_at = models.DateTimeField(_("créé le"), default=timezone.now)
    last_used_at = models.DateTimeField(_("dernière utilisation"), null=True, blank=True)
    last_used_protocol = models.CharField(_("protocole"), max_length=8, blank=True)
    last_used_addr = models.GenericIPAddressField(_("dernière adresse IP"), null=True, blank=True)

    class Meta:
        verbose_name = _("mot de passe d'application")
        verbose_name_plural = _("mots de passe d'application")
        indexes = [models.Index(fields=["account", "-id"])]

    def __str__(self) -> str:
        return self.name


class TotpDevice(models.Model):
    """The confirmed authenticator app of an account (RFC 6238, see
    ``accounts.totp``). The secret is stored AES-GCM encrypted;
    ``last_counter`` is the last time step accepted, so a code is never
    accepted twice."""

    account = models.OneToOneField(Account, on_delete=models.CASCADE, related_name="totp")
    secret_ciphertext = models.BinaryField(editable=False)
    last_counter = models.BigIntegerField(default=-1)
    created_at = models.DateTimeField(_("activée le"), default=timezone.now)
    last_used_at = models.DateTimeField(_("dernière utilisation"), null=True, blank=True)

    class Meta:
        verbose_name = _("double authentification")
        verbose_name_plural = _("doubles authentifications")


class RecoveryCode(models.Model):
    """A single-use code that replaces the authenticator app once (keyed hash)."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="recovery_codes")
    digest = models.CharField(max_length=64)
    used_at = models.DateTimeField(null=True)
