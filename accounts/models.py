"""Users, the Département's departments (services), the structures where referents work, and who
works where with which role (memberships, dated)."""

import datetime
from functools import cached_property

from django.contrib.auth.models import AbstractUser, Group, UserManager
from django.db import models
from django.db.models import Q
from django.utils import timezone


class Role(models.TextChoices):
    REFERENT = "referent", "Référent·e insertion"
    SUPERVISOR = "supervisor", "Responsable d'équipe"
    DEPARTMENT_ADMIN = "department_admin", "Administrateur·rice départemental·e"
    AUDITOR = "auditor", "Auditeur·rice / DPO"


class User(AbstractUser):
    """A professional who signs in. Roles come from memberships, never from flags on the user."""

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = UserManager()

    class Meta:
        # "compte": the admin's titles put it after "de" ("Ajout de compte", "Modification de compte");
        # a name beginning with a vowel would read "Ajout de utilisateur·rice".
        verbose_name = "compte"
        verbose_name_plural = "comptes"
        ordering = ["last_name", "first_name", "username"]

    def __str__(self):
        return self.get_full_name() or self.username

    @cached_property
    def active_memberships(self) -> list["Membership"]:
        """Memberships in force today, with their structure and its department: one query, cached on the
        user object (the request's user) for the request."""
        if not self.pk:
            return []
        return list(Membership.objects.active().filter(user=self).select_related("structure__department"))

    def has_role(self, role: str) -> bool:
        return any(membership.role == role for membership in self.active_memberships)

    @property
    def is_referent(self) -> bool:
        return self.has_role(Role.REFERENT)

    @property
    def is_supervisor(self) -> bool:
        return self.has_role(Role.SUPERVISOR)

    @property
    def is_department_admin(self) -> bool:
        return self.has_role(Role.DEPARTMENT_ADMIN)

    @property
    def is_auditor(self) -> bool:
        return self.has_role(Role.AUDITOR)


class DepartmentKind(models.TextChoices):
    INSERTION = "insertion", "Insertion"
    SOCIAL_ACTION = "social_action", "Action sociale"
    HOUSING = "housing", "Logement"
    HEALTH = "health", "Santé / PMI"
    CHILD_WELFARE = "child_welfare", "Aide sociale à l'enfance"
    OTHER = "other", "Autre"


class Department(models.Model):
    """A service of the Conseil départemental (insertion, social action, housing, health/PMI...)."""

    Kind = DepartmentKind

    name = models.CharField("nom", max_length=200, unique=True)
    code = models.SlugField("code", max_length=50, unique=True)
    kind = models.CharField("type", max_length=20, choices=Kind.choices)
    # The group that files are shared with when they are shared with the whole department
    # (created on first use by casework.permissions; membership of it is read from Membership).
    group = models.OneToOneField(
        Group, null=True, blank=True, editable=False, on_delete=models.PROTECT, related_name="department"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "service du Département"
        verbose_name_plural = "services du Département"
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind__in=DepartmentKind.values),
                name="department_kind_valid",
                violation_error_message="Type de service inconnu.",
            ),
        ]

    def __str__(self):
        return self.name


class StructureKind(models.TextChoices):
    TERRITORIAL_UNIT = "territorial_unit", "Unité territoriale du Département"
    DEPARTMENT_SERVICE = "department_service", "Service du Département"
    FRANCE_TRAVAIL = "france_travail", "Agence France Travail"
    CAP_EMPLOI = "cap_emploi", "Cap emploi"
    MISSION_LOCALE = "mission_locale", "Mission locale"
    CCAS = "ccas", "CCAS / CIAS"
    ASSOCIATION = "association", "Association"
    OTHER = "other", "Autre"


class Structure(models.Model):
    """A place where referents work: a territorial unit of the Département, a France Travail
    agency, a CCAS, an association... It belongs to a department of the Département, or is an
    external partner (no department)."""

    Kind = StructureKind

    name = models.CharField("nom", max_length=200, unique=True)
    code = models.SlugField("code", max_length=50, unique=True)
    kind = models.CharField("type", max_length=30, choices=Kind.choices)
    department = models.ForeignKey(
        Department,
        verbose_name="service de rattachement",
        null=True,
        blank=True,
        # A department holding structures cannot vanish: referents' history points at them.
        on_delete=models.PROTECT,
        related_name="structures",
        help_text="Vide pour un partenaire extérieur au Département.",
    )
    commune = models.CharField("commune", max_length=100, blank=True)
    is_sensitive = models.BooleanField(
        "structure sensible",
        default=False,
        help_text=(
            "Son nom révèle quelque chose de la personne suivie (ex. centre de soins en addictologie) : "
            "hors de la structure, il est remplacé par « Structure partenaire »."
        ),
    )
    group = models.OneToOneField(
        Group, null=True, blank=True, editable=False, on_delete=models.PROTECT, related_name="structure"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    NEUTRAL_LABEL = "Structure partenaire"

    class Meta:
        verbose_name = "structure"
        verbose_name_plural = "structures"
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind__in=StructureKind.values),
                name="structure_kind_valid",
                violation_error_message="Type de structure inconnu.",
            ),
        ]

    def __str__(self):
        return self.name

    @property
    def is_external_partner(self) -> bool:
        return self.department_id is None

    def label_for(self, user) -> str:
        """The name to show this user: a sensitive structure's name only reaches its own people."""
        if not self.is_sensitive:
            return self.name
        if any(membership.structure_id == self.pk for membership in getattr(user, "active_memberships", [])):
            return self.name
        return self.NEUTRAL_LABEL


class MembershipQuerySet(models.QuerySet):
    def active(self, on: datetime.date | None = None):
        """Memberships in force on a day (today by default): started, not ended."""
        day = on or timezone.localdate()
        return self.filter(Q(end_date__isnull=True) | Q(end_date__gte=day), start_date__lte=day)

    def with_role(self, role: str):
        return self.filter(role=role)


class Membership(models.Model):
    """A user works in a structure with a role, from a date, until a date (or still)."""

    user = models.ForeignKey(
        User,
        verbose_name="utilisateur·rice",
        # History of who worked where stays; deactivate a user, never delete them.
        on_delete=models.PROTECT,
        related_name="memberships",
    )
    structure = models.ForeignKey(
        Structure, verbose_name="structure", on_delete=models.PROTECT, related_name="memberships"
    )
    role = models.CharField("rôle", max_length=20, choices=Role.choices)
    start_date = models.DateField("début", default=timezone.localdate)
    end_date = models.DateField("fin", null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = MembershipQuerySet.as_manager()

    class Meta:
        verbose_name = "rattachement"
        verbose_name_plural = "rattachements"
        ordering = ["structure__name", "role"]
        constraints = [
            models.CheckConstraint(
                condition=Q(role__in=Role.values),
                name="membership_role_valid",
                violation_error_message="Rôle inconnu.",
            ),
            models.CheckConstraint(
                condition=Q(end_date__isnull=True) | Q(end_date__gte=models.F("start_date")),
                name="membership_ends_after_start",
                violation_error_message="La fin du rattachement ne peut pas précéder son début.",
            ),
            models.UniqueConstraint(
                fields=["user", "structure", "role"],
                condition=Q(end_date__isnull=True),
                name="membership_unique_open_per_role",
                violation_error_message="Cette personne a déjà ce rôle dans cette structure.",
            ),
        ]
        indexes = [models.Index(fields=["structure", "role"], name="membership_structure_role")]

    def __str__(self):
        return f"{self.user} – {self.get_role_display()} – {self.structure}"
