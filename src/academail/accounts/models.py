"""Identity records: the Account (login identifier, names, addresses, NUMEN,
secondary address, role, status, quota limit) and its aliases.

Identifiers and addresses are stored lower-cased, so the unique indexes make them
case-insensitive on every database. The NUMEN is never stored in clear: an
AES-GCM ciphertext for the rare person allowed to read it, and a keyed hash
(HMAC-SHA-256) for lookups and uniqueness (see ``accounts.secrets``).
"""

from __future__ import annotations

from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    STAFF = "staff", _("Personnel")
    SECRETARIAT = "secretariat", _("Secrétariat")
    SUPPORT = "support", _("Agent d'assistance")
    ADMIN = "admin", _("Administrateur")


class Status(models.TextChoices):
    PENDING = "pending", _("En attente d'activation")
    ACTIVE = "active", _("Actif")
    SUSPENDED = "suspended", _("Suspendu")
    DISABLED = "disabled", _("Désactivé")


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
    quota_bytes = models.BigIntegerField(_("quota (octets)"))
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    objects = AccountManager()

    USERNAME_FIELD = "identifier"
    EMAIL_FIELD = "address"
    REQUIRED_FIELDS = ["first_name", "last_name", "address", "quota_bytes"]

    class Meta:
        verbose_name = _("compte")
        verbose_name_plural = _("comptes")
        indexes = [models.Index(fields=["last_name", "first_name"])]

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

    def save(self, *args: object, **kwargs: object) -> None:
        self.identifier = self.identifier.strip().lower()
        self.address = self.address.strip().lower()
        self.secondary_address = self.secondary_address.strip().lower()
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
