"""A beneficiary's file and the pathway it holds.

Every object that holds personal data is protected from cascading deletes (on_delete=PROTECT): a
file is closed, withdrawn or anonymised by a service, never removed as a side effect of deleting
something else. Invariants live in the database (check and unique constraints), so that an import,
a script or a bug in a form cannot write an impossible pathway.
"""

import datetime
import re
import unicodedata
import uuid

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.core.serializers.json import DjangoJSONEncoder
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Length
from django.db.models.lookups import LessThanOrEqual
from django.utils import timezone
from guardian.models import GroupObjectPermissionBase, UserObjectPermissionBase

from accounts.models import Department, Structure

postcode_validator = RegexValidator(r"^\d{5}$", "Le code postal comporte cinq chiffres.")
insee_validator = RegexValidator(r"^(\d{5}|2[AB]\d{3})$", "Le code INSEE comporte cinq caractères (ex. 59350, 2A004).")
allocataire_validator = RegexValidator(
    r"^\d{1,13}$", "Le numéro allocataire ne contient que des chiffres (13 au plus)."
)


def choices_check(field: str, choices: type[models.TextChoices], name: str, message: str):
    return models.CheckConstraint(
        condition=Q(**{f"{field}__in": choices.values}), name=name, violation_error_message=message
    )


class TimeStamped(models.Model):
    created_at = models.DateTimeField("créé le", auto_now_add=True)
    updated_at = models.DateTimeField("modifié le", auto_now=True)

    class Meta:
        abstract = True


class PathwayEntry(TimeStamped):
    """An entry of the pathway that people write: versioned for optimistic locking, corrected only by
    its author within ENTRY_CORRECTION_HOURS (each correction keeps the previous version in
    `Revision`), and never deleted: a mistaken entry is withdrawn with a reason and stays visible as
    withdrawn. casework.services.entries holds the rules."""

    public_id = models.UUIDField("identifiant public", default=uuid.uuid4, unique=True, editable=False)
    version = models.PositiveIntegerField("version", default=1)
    corrected_at = models.DateTimeField("corrigé le", null=True, blank=True)
    withdrawn_at = models.DateTimeField("retiré le", null=True, blank=True)
    withdrawn_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="retiré par",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    withdrawal_reason = models.TextField("motif du retrait", blank=True)

    objects = models.Manager()

    class Meta:
        abstract = True
        constraints = [
            models.CheckConstraint(
                condition=Q(withdrawn_at__isnull=True) | (Q(withdrawn_by__isnull=False) & ~Q(withdrawal_reason="")),
                name="%(app_label)s_%(class)s_withdrawal_has_author_and_reason",
                violation_error_message="Un retrait indique qui l'a fait et pourquoi.",
            ),
        ]

    @property
    def is_withdrawn(self) -> bool:
        return self.withdrawn_at is not None


def search_key(*parts: str) -> str:
    """Lower-case, accent-free text for name searches ("Hélène" and "helene" give "helene")."""
    text = " ".join(part for part in parts if part)
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).lower()


class BeneficiaryQuerySet(models.QuerySet):
    def active(self):
        """Files whose support is ongoing (not ended, rights not closed)."""
        return self.filter(is_active=True)

    def followed_by(self, user):
        """Files whose current referent is this user (the denormalised column)."""
        return self.filter(current_referent=user)

    def in_structures(self, structures):
        return self.filter(current_structure__in=structures)

    def visible_to(self, user):
        """The files this user may read: the one access rule (casework.permissions.file_access)."""
        from casework.permissions import file_access  # the rule reads these models

        rule = file_access(user)
        return self.none() if rule is None else self.filter(rule)

    def with_file_page_data(self):
        """What the file page shows of each file beside its own columns, as Django's prefetch bundles: its
        referent, structure and end-of-support reason joined; its household members, assignments,
        orientations, reorientation requests, contracts, objectives with their actions, diagnostics with
        their barriers and shares prefetched (`file.contracts.all()`...), each in the page's order and
        with the people and structures it names: one query per kind, whatever the file holds. The entries
        a file gathers by the hundred (steps, appointments, notes) are read apart, the newest first
        (www.file_page)."""
        return self.select_related("current_referent", "current_structure", "support_end_reason").prefetch_related(
            "household_members",
            models.Prefetch(
                "assignments",
                queryset=ReferentAssignment.objects.select_related("referent", "structure", "assigned_by").order_by(
                    "-started_at", "-pk"
                ),
            ),
            models.Prefetch(
                "orientations", queryset=Orientation.objects.select_related("organisme_referent", "decided_by")
            ),
            models.Prefetch(
                "reorientation_requests",
                queryset=ReorientationRequest.objects.select_related(
                    "proposed_organisme", "requested_by", "decided_by"
                ).order_by("-created_at", "-pk"),
            ),
            models.Prefetch(
                "contracts",
                queryset=Contract.objects.select_related("author", "renews", "withdrawn_by").order_by(
                    "-start_date", "-pk"
                ),
            ),
            models.Prefetch(
                "objectives",
                queryset=Objective.objects.select_related("contract", "author", "withdrawn_by").order_by(
                    "status", "due_date"
                ),
            ),
            models.Prefetch(
                "objectives__actions",
                queryset=Action.objects.select_related("author", "withdrawn_by").order_by("due_date", "pk"),
            ),
            models.Prefetch("diagnostics", queryset=Diagnostic.objects.select_related("author", "withdrawn_by")),
            models.Prefetch("diagnostics__barriers", queryset=Barrier.objects.order_by("kind")),
            models.Prefetch(
                "shares",
                queryset=Share.objects.select_related(
                    "shared_with_user", "shared_with_structure", "shared_with_department", "author", "ended_by"
                ).order_by("-starts_at", "-pk"),
            ),
        )

    # The caseload's columns, filters and search (www.filters, www.views.caseload). Each only narrows or
    # annotates: chain them after `visible_to(user)`, which alone decides what a user may read.

    def with_caseload_data(self):
        """The caseload's columns: the current referent and structure joined, and `contract_end`, the end
        of the latest signed, non-withdrawn contract (the denormalised `signed_contract_end`), on which
        the caseload sorts (www.filters)."""
        return self.select_related("current_referent", "current_structure").annotate(
            contract_end=F("signed_contract_end")
        )

    def awaiting_orientation(self):
        """Files with no orientation in force (none decided yet, or the last one withdrawn)."""
        return self.filter(orientation_track="")

    def with_track(self, track: str):
        """Files whose orientation in force has this track (Orientation.Track)."""
        return self.filter(orientation_track=track)

    def with_contract_state(self, state: str, *, today: datetime.date, ending_within: datetime.timedelta):
        """Files whose latest signed contract is missing (`CONTRACT_NONE`), running (ends after
        `ending_within`), ending (today or within `ending_within`) or expired (ended before today)."""
        soon = today + ending_within
        conditions = {
            CONTRACT_NONE: Q(signed_contract_end__isnull=True),
            CONTRACT_RUNNING: Q(signed_contract_end__gt=soon),
            CONTRACT_ENDING: Q(signed_contract_end__range=(today, soon)),
            CONTRACT_EXPIRED: Q(signed_contract_end__lt=today),
        }
        return self.filter(conditions[state])

    def inactive_since(self, since: datetime.datetime):
        """Files with no activity since this instant; a file with no recorded activity at all counts."""
        return self.filter(Q(last_activity_at__isnull=True) | Q(last_activity_at__lt=since))

    def with_missed_appointment(self, *, since: datetime.datetime, until: datetime.datetime, missed: bool = True):
        """Files with (or, missed=False, without) a missed, non-withdrawn appointment between two instants."""
        missed_appointment = models.Exists(
            Appointment.objects.filter(
                beneficiary=models.OuterRef("pk"),
                status=Appointment.Status.MISSED,
                withdrawn_at__isnull=True,
                scheduled_at__gte=since,
                scheduled_at__lte=until,
            )
        )
        return self.filter(missed_appointment if missed else ~missed_appointment)

    def matching(self, term: str):
        """Files matching a typed term.

        Digits (spaces allowed: a number is often read out in groups): the start of the CAF/MSA number.
        Anything else: a name, accent- and case-insensitive, through the denormalised `search_text` (the
        names as `search_key` writes them): every word of the term must appear in it, anywhere
        (`LIKE '%word%'`, served by the trigram index `benef_search_trgm` on PostgreSQL; the same filter
        scans on SQLite). Punctuation separates words: "jean-pierre" finds "Jean Pierre", "n'diaye" finds
        "N'Diaye". An empty term narrows nothing.
        """
        term = term.strip()
        if not term:
            return self
        if ALLOCATAIRE_TERM.fullmatch(term):
            return self.filter(allocataire_number__startswith="".join(term.split()))
        words = [word for word in WORD_SEPARATORS.split(search_key(term)) if word]
        if not words:
            return self.none()
        queryset = self
        for word in words:
            queryset = queryset.filter(search_text__contains=word)
        return queryset


# Contract states of a file (BeneficiaryQuerySet.with_contract_state), from the end date of its latest
# signed, non-withdrawn contract.
CONTRACT_NONE = "none"
CONTRACT_RUNNING = "running"
CONTRACT_ENDING = "ending"
CONTRACT_EXPIRED = "expired"
# A search term made of digits (spaces allowed) is a CAF/MSA number (BeneficiaryQuerySet.matching).
ALLOCATAIRE_TERM = re.compile(r"[\d\s]+")
WORD_SEPARATORS = re.compile(r"\W+")


class BeneficiaryOrganism(models.TextChoices):
    CAF = "caf", "CAF"
    MSA = "msa", "MSA"


class BeneficiarySex(models.TextChoices):
    FEMALE = "F", "Femme"
    MALE = "M", "Homme"


class BeneficiaryRsaStatus(models.TextChoices):
    OPEN = "open", "Droits ouverts"
    SUSPENDED = "suspended", "Droits suspendus"
    CLOSED = "closed", "Droits clos"


class Beneficiary(TimeStamped):
    """A person receiving RSA and followed by the Département (the file, *dossier*)."""

    Organism = BeneficiaryOrganism

    Sex = BeneficiarySex

    RsaStatus = BeneficiaryRsaStatus

    public_id = models.UUIDField("identifiant public", default=uuid.uuid4, unique=True, editable=False)

    # Identity. No NIR: the CAF/MSA number identifies the person (CNIL, délibération 2023-095).
    organism = models.CharField("organisme payeur", max_length=3, choices=Organism.choices)
    allocataire_number = models.CharField("numéro allocataire", max_length=13, validators=[allocataire_validator])
    france_travail_id = models.CharField("identifiant France Travail", max_length=20, blank=True)
    first_name = models.CharField("prénom", max_length=100)
    last_name = models.CharField("nom d'usage", max_length=100)
    birth_name = models.CharField("nom de naissance", max_length=100, blank=True)
    birth_date = models.DateField("date de naissance")
    sex = models.CharField("sexe", max_length=1, choices=Sex.choices, blank=True)

    # Contact.
    address_line = models.CharField("adresse", max_length=250, blank=True)
    postcode = models.CharField("code postal", max_length=5, blank=True, validators=[postcode_validator])
    commune = models.CharField("commune", max_length=100, blank=True)
    insee_code = models.CharField("code INSEE", max_length=5, blank=True, validators=[insee_validator])
    phone = models.CharField("téléphone", max_length=20, blank=True)
    email = models.EmailField("courriel", blank=True)

    # RSA rights, as the CAF/MSA last reported them.
    rsa_status = models.CharField("statut des droits RSA", max_length=10, choices=RsaStatus.choices)
    rsa_status_date = models.DateField("date du statut", null=True, blank=True)
    sdd = models.BooleanField("soumis aux droits et devoirs", default=True)
    rsa_entry_date = models.DateField("entrée dans le RSA", null=True, blank=True)

    # Support (accompagnement): ongoing or ended. Ending it never deletes anything.
    is_active = models.BooleanField("accompagnement en cours", default=True)
    support_ended_on = models.DateField("fin d'accompagnement", null=True, blank=True)
    support_end_reason = models.ForeignKey(
        "SupportEndReason",
        verbose_name="motif de fin d'accompagnement",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    support_end_summary = models.TextField("synthèse de fin d'accompagnement", blank=True)

    # Denormalised for the caseload and the permission layer; kept in step by casework.services
    # (beneficiary_assign_referent, and the pathway writes for last_activity_at), never by hand.
    current_referent = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="référent·e actuel·le",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    current_structure = models.ForeignKey(
        Structure,
        verbose_name="structure référente actuelle",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    last_activity_at = models.DateTimeField("dernière activité", null=True, blank=True)
    # The end of the latest signed, non-withdrawn contract (casework.querysets.latest_signed_contract), read by
    # the caseload, the dashboard and the alerts for every file of a list: kept in step by every write on a
    # contract (casework.services.common.beneficiary_refresh_contract_end), never by hand.
    signed_contract_end = models.DateField("fin du dernier contrat signé", null=True, blank=True, editable=False)
    # The latest end among the signed, non-withdrawn contracts (usually the same day; not when an earlier
    # contract ends after the latest one): whether a contract has run since the orientation in force was
    # decided, which the dashboard and the alerts ask of every file of a team. Kept in step with
    # `signed_contract_end`, by the same calls, never by hand.
    signed_contracts_until = models.DateField(
        "fin la plus tardive des contrats signés", null=True, blank=True, editable=False
    )
    # The track and decision day of the orientation in force (the decided one: one at most), read by the
    # caseload, the dashboard and the alerts for every file of a list: kept in step by every write on an
    # orientation (casework.services.common.beneficiary_refresh_orientation), never by hand. "" and None:
    # no orientation in force.
    orientation_track = models.CharField(
        "parcours de l'orientation en vigueur", max_length=20, blank=True, default="", db_default="", editable=False
    )
    orientation_decided_on = models.DateField(
        "décision de l'orientation en vigueur", null=True, blank=True, editable=False
    )
    # A file created by an import waits for orientation in the queue of this structure (the department's
    # insertion service, settings.IMPORT_INTAKE_STRUCTURE) until a referent is designated: its referents
    # and supervisors see it while it has no current referent (casework.permissions).
    intake_structure = models.ForeignKey(
        Structure,
        verbose_name="file d'attente d'orientation",
        null=True,
        blank=True,
        # A structure holding a queue of files cannot vanish: the files would fall out of every scope.
        on_delete=models.PROTECT,
        related_name="+",
    )
    # Names without accents nor case, for the caseload search; derived in save() (and by bulk writers
    # through search_key): see www.filters. A trigram index covers it on PostgreSQL.
    search_text = models.CharField("texte de recherche", max_length=320, blank=True, editable=False)
    version = models.PositiveIntegerField("version", default=1)

    objects = BeneficiaryQuerySet.as_manager()

    class Meta:
        verbose_name = "bénéficiaire"
        verbose_name_plural = "bénéficiaires"
        ordering = ["last_name", "first_name"]
        constraints = [
            models.UniqueConstraint(
                fields=["allocataire_number", "organism"],
                name="beneficiary_unique_allocataire_per_organism",
                violation_error_message="Ce numéro allocataire existe déjà pour cet organisme.",
            ),
            models.CheckConstraint(
                condition=~Q(allocataire_number=""),
                name="beneficiary_allocataire_number_required",
                violation_error_message="Le numéro allocataire est obligatoire.",
            ),
            choices_check("organism", BeneficiaryOrganism, "beneficiary_organism_valid", "Organisme payeur inconnu."),
            choices_check("rsa_status", BeneficiaryRsaStatus, "beneficiary_rsa_status_valid", "Statut RSA inconnu."),
            models.CheckConstraint(
                condition=Q(sex__in=[*BeneficiarySex.values, ""]),
                name="beneficiary_sex_valid",
                violation_error_message="Sexe inconnu.",
            ),
            models.CheckConstraint(
                condition=Q(is_active=True) | Q(support_ended_on__isnull=False),
                name="beneficiary_inactive_has_end_date",
                violation_error_message="Un accompagnement terminé a une date de fin.",
            ),
            models.CheckConstraint(
                condition=Q(current_referent__isnull=True, current_structure__isnull=True)
                | Q(current_referent__isnull=False, current_structure__isnull=False),
                name="beneficiary_referent_has_structure",
                violation_error_message="Le ou la référent·e actuel·le est rattaché·e à une structure.",
            ),
        ]
        indexes = [
            models.Index(fields=["current_referent", "last_name", "first_name"], name="benef_referent_name"),
            models.Index(fields=["current_structure", "last_name", "first_name"], name="benef_structure_name"),
            models.Index(fields=["rsa_status"], name="benef_rsa_status"),
            models.Index(fields=["last_activity_at"], name="benef_last_activity"),
            models.Index(fields=["last_name", "first_name"], name="benef_name"),
        ]

    def __str__(self):
        return f"{self.last_name.upper()} {self.first_name}"

    def save(self, *args, **kwargs):
        self.search_text = search_key(self.last_name, self.birth_name, self.first_name)
        update_fields = kwargs.get("update_fields")
        if update_fields is not None and {"last_name", "birth_name", "first_name"} & set(update_fields):
            kwargs["update_fields"] = {*update_fields, "search_text"}
        super().save(*args, **kwargs)


class HouseholdMemberRelationship(models.TextChoices):
    SPOUSE = "spouse", "Conjoint·e"
    CHILD = "child", "Enfant"
    OTHER = "other", "Autre personne à charge"


class HouseholdMember(TimeStamped):
    """A member of the beneficiary's household (*foyer*): spouse, child, other dependant."""

    Relationship = HouseholdMemberRelationship

    beneficiary = models.ForeignKey(
        Beneficiary, verbose_name="bénéficiaire", on_delete=models.PROTECT, related_name="household_members"
    )
    relationship = models.CharField("lien", max_length=10, choices=Relationship.choices)
    first_name = models.CharField("prénom", max_length=100)
    last_name = models.CharField("nom", max_length=100)
    birth_date = models.DateField("date de naissance", null=True, blank=True)
    is_dependent = models.BooleanField("à charge", default=False)

    class Meta:
        verbose_name = "membre du foyer"
        verbose_name_plural = "membres du foyer"
        ordering = ["beneficiary", "relationship", "birth_date"]
        constraints = [
            choices_check(
                "relationship", HouseholdMemberRelationship, "household_relationship_valid", "Lien familial inconnu."
            ),
        ]

    def __str__(self):
        return f"{self.first_name} {self.last_name} ({self.get_relationship_display()})"


class ReferentAssignment(TimeStamped):
    """Who followed the file, from when to when, in which structure, and why (history kept)."""

    beneficiary = models.ForeignKey(
        Beneficiary, verbose_name="bénéficiaire", on_delete=models.PROTECT, related_name="assignments"
    )
    referent = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name="référent·e", on_delete=models.PROTECT, related_name="assignments"
    )
    structure = models.ForeignKey(
        Structure, verbose_name="structure", on_delete=models.PROTECT, related_name="assignments"
    )
    started_at = models.DateTimeField("début")
    ended_at = models.DateTimeField("fin", null=True, blank=True)
    reason = models.TextField("motif", blank=True)
    assigned_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="désigné·e par",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )

    class Meta:
        verbose_name = "désignation de référent·e"
        verbose_name_plural = "désignations de référent·e"
        ordering = ["beneficiary", "-started_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(ended_at__isnull=True) | Q(ended_at__gte=F("started_at")),
                name="assignment_ends_after_start",
                violation_error_message="Une désignation ne peut pas se terminer avant de commencer.",
            ),
            models.UniqueConstraint(
                fields=["beneficiary"],
                condition=Q(ended_at__isnull=True),
                name="assignment_one_current_per_beneficiary",
                violation_error_message="Ce dossier a déjà un·e référent·e en cours.",
            ),
        ]
        indexes = [
            models.Index(fields=["referent", "ended_at"], name="assignment_referent"),
            models.Index(fields=["structure", "ended_at"], name="assignment_structure"),
        ]

    def __str__(self):
        return f"{self.referent} → {self.beneficiary} depuis le {self.started_at:%d/%m/%Y}"


class OrientationTrack(models.TextChoices):
    PROFESSIONAL = "professional", "Professionnelle"
    SOCIAL = "social", "Sociale"
    SOCIO_PROFESSIONAL = "socio_professional", "Socio-professionnelle"


class OrientationStatus(models.TextChoices):
    PROPOSED = "proposed", "Proposée"
    DECIDED = "decided", "Décidée"
    REFUSED = "refused", "Refusée"
    SUPERSEDED = "superseded", "Remplacée"


class Orientation(TimeStamped):
    """An orientation decision: the track and the *organisme référent*."""

    Track = OrientationTrack

    Status = OrientationStatus

    beneficiary = models.ForeignKey(
        Beneficiary, verbose_name="bénéficiaire", on_delete=models.PROTECT, related_name="orientations"
    )
    track = models.CharField("parcours", max_length=20, choices=Track.choices)
    organisme_referent = models.ForeignKey(
        Structure, verbose_name="organisme référent", on_delete=models.PROTECT, related_name="orientations"
    )
    status = models.CharField("statut", max_length=12, choices=Status.choices, default=Status.PROPOSED)
    decided_on = models.DateField("date de décision", null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="décidée par",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    reason = models.TextField("motif", blank=True)

    class Meta:
        verbose_name = "orientation"
        verbose_name_plural = "orientations"
        ordering = ["beneficiary", "-decided_on", "-created_at"]
        constraints = [
            choices_check("track", OrientationTrack, "orientation_track_valid", "Type de parcours inconnu."),
            choices_check("status", OrientationStatus, "orientation_status_valid", "Statut d'orientation inconnu."),
            models.CheckConstraint(
                condition=~Q(status="decided") | Q(decided_on__isnull=False),
                name="orientation_decided_has_date",
                violation_error_message="Une orientation décidée a une date de décision.",
            ),
            models.UniqueConstraint(
                fields=["beneficiary"],
                condition=Q(status="decided"),
                name="orientation_one_current_per_beneficiary",
                violation_error_message="Ce dossier a déjà une orientation en vigueur.",
            ),
        ]
        indexes = [models.Index(fields=["track", "status"], name="orientation_track_status")]

    def __str__(self):
        return f"Orientation {self.get_track_display().lower()} ({self.get_status_display().lower()})"


class ContractKind(models.TextChoices):
    CER = "cer", "Contrat d'engagement réciproque (CER)"
    PPAE = "ppae", "Projet personnalisé d'accès à l'emploi (PPAE)"
    CONTRAT_ENGAGEMENT = "contrat_engagement", "Contrat d'engagement"


class ContractStatus(models.TextChoices):
    DRAFT = "draft", "Brouillon"
    SIGNED = "signed", "Signé"
    TERMINATED = "terminated", "Résilié"
    CANCELLED = "cancelled", "Annulé"


class Contract(PathwayEntry):
    """A contract of the pathway: CER, PPAE (before 2025) or contrat d'engagement (since 2025)."""

    Kind = ContractKind

    Status = ContractStatus

    beneficiary = models.ForeignKey(
        Beneficiary, verbose_name="bénéficiaire", on_delete=models.PROTECT, related_name="contracts"
    )
    kind = models.CharField("type", max_length=20, choices=Kind.choices)
    status = models.CharField("statut", max_length=12, choices=Status.choices, default=Status.DRAFT)
    start_date = models.DateField("début")
    end_date = models.DateField("fin")
    signed_on = models.DateField("signé le", null=True, blank=True)
    objectives = models.TextField("objectifs", blank=True)
    weekly_hours = models.PositiveSmallIntegerField("heures d'activité par semaine", null=True, blank=True)
    beneficiary_agreed = models.BooleanField("accord du ou de la bénéficiaire", default=False)
    renews = models.OneToOneField(
        "self",
        verbose_name="renouvelle",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="renewed_by",
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name="rédigé par", on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        verbose_name = "contrat"
        verbose_name_plural = "contrats"
        ordering = ["beneficiary", "-start_date"]
        constraints = [
            *PathwayEntry.Meta.constraints,
            choices_check("kind", ContractKind, "contract_kind_valid", "Type de contrat inconnu."),
            choices_check("status", ContractStatus, "contract_status_valid", "Statut de contrat inconnu."),
            models.CheckConstraint(
                condition=Q(end_date__gt=F("start_date")),
                name="contract_ends_after_start",
                violation_error_message="Un contrat ne peut pas se terminer avant de commencer.",
            ),
            models.CheckConstraint(
                condition=Q(status="draft") | Q(status="cancelled") | Q(signed_on__isnull=False),
                name="contract_signed_has_date",
                violation_error_message="Un contrat signé a une date de signature.",
            ),
            models.CheckConstraint(
                condition=Q(weekly_hours__isnull=True) | Q(weekly_hours__lte=60),
                name="contract_weekly_hours_plausible",
                violation_error_message="Le nombre d'heures par semaine ne peut pas dépasser 60.",
            ),
        ]
        indexes = [models.Index(fields=["status", "end_date"], name="contract_status_end")]

    def __str__(self):
        return f"{self.get_kind_display()} du {self.start_date:%d/%m/%Y} au {self.end_date:%d/%m/%Y}"


class StepKind(models.TextChoices):
    FIRST_APPOINTMENT = "first_appointment", "Premier rendez-vous"
    DIAGNOSTIC = "diagnostic", "Diagnostic socio-professionnel"
    ORIENTATION = "orientation", "Décision d'orientation"
    CONTRACT = "contract", "Signature ou renouvellement de contrat"
    TRAINING = "training", "Formation"
    EMPLOYMENT = "employment", "Emploi"
    INTERNSHIP = "internship", "Stage / immersion"
    HOUSING = "housing", "Action logement"
    HEALTH = "health", "Action santé"
    MOBILITY = "mobility", "Action mobilité"
    EP_REVIEW = "ep_review", "Passage en équipe pluridisciplinaire"
    EXIT = "exit", "Sortie du RSA"
    OTHER = "other", "Autre"


class StepStatus(models.TextChoices):
    PLANNED = "planned", "Prévue"
    DONE = "done", "Réalisée"
    CANCELLED = "cancelled", "Annulée"
    MISSED = "missed", "Non honorée"


class Step(PathwayEntry):
    """A dated, typed step of the pathway (*étape*), with its status and outcome."""

    Kind = StepKind

    Status = StepStatus

    beneficiary = models.ForeignKey(
        Beneficiary, verbose_name="bénéficiaire", on_delete=models.PROTECT, related_name="steps"
    )
    kind = models.CharField("type", max_length=20, choices=Kind.choices)
    date = models.DateField("date")
    status = models.CharField("statut", max_length=10, choices=Status.choices, default=Status.PLANNED)
    outcome = models.TextField("résultat", blank=True)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name="saisie par", on_delete=models.PROTECT, related_name="+"
    )
    author_structure = models.ForeignKey(
        Structure, verbose_name="structure", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        verbose_name = "étape"
        verbose_name_plural = "étapes"
        ordering = ["beneficiary", "-date", "-created_at"]
        constraints = [
            *PathwayEntry.Meta.constraints,
            choices_check("kind", StepKind, "step_kind_valid", "Type d'étape inconnu."),
            choices_check("status", StepStatus, "step_status_valid", "Statut d'étape inconnu."),
        ]
        indexes = [models.Index(fields=["beneficiary", "date"], name="step_beneficiary_date")]

    def __str__(self):
        return f"{self.get_kind_display()} – {self.date:%d/%m/%Y}"


class Theme(models.TextChoices):
    EMPLOYMENT = "employment", "Emploi"
    TRAINING = "training", "Formation"
    HOUSING = "housing", "Logement"
    HEALTH = "health", "Santé"
    MOBILITY = "mobility", "Mobilité"
    FAMILY = "family", "Famille"
    FINANCES = "finances", "Budget / finances"
    OTHER = "other", "Autre"


class ObjectiveStatus(models.TextChoices):
    OPEN = "open", "À engager"
    IN_PROGRESS = "in_progress", "En cours"
    ACHIEVED = "achieved", "Atteint"
    ABANDONED = "abandoned", "Abandonné"


class Objective(PathwayEntry):
    """An objective of the pathway, possibly tied to a contract."""

    Status = ObjectiveStatus

    beneficiary = models.ForeignKey(
        Beneficiary, verbose_name="bénéficiaire", on_delete=models.PROTECT, related_name="objectives"
    )
    contract = models.ForeignKey(
        Contract,
        verbose_name="contrat",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="contract_objectives",
    )
    theme = models.CharField("thème", max_length=12, choices=Theme.choices)
    title = models.CharField("intitulé", max_length=200)
    description = models.TextField("description", blank=True)
    status = models.CharField("statut", max_length=12, choices=Status.choices, default=Status.OPEN)
    due_date = models.DateField("échéance", null=True, blank=True)
    beneficiary_agreed = models.BooleanField("accord du ou de la bénéficiaire", default=False)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name="saisi par", on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        verbose_name = "objectif"
        verbose_name_plural = "objectifs"
        ordering = ["beneficiary", "status", "due_date"]
        constraints = [
            *PathwayEntry.Meta.constraints,
            choices_check("theme", Theme, "objective_theme_valid", "Thème inconnu."),
            choices_check("status", ObjectiveStatus, "objective_status_valid", "Statut d'objectif inconnu."),
        ]

    def __str__(self):
        return self.title


class ActionStatus(models.TextChoices):
    PLANNED = "planned", "Prévue"
    IN_PROGRESS = "in_progress", "En cours"
    DONE = "done", "Réalisée"
    CANCELLED = "cancelled", "Annulée"


class Action(PathwayEntry):
    """An action toward an objective."""

    Status = ActionStatus

    objective = models.ForeignKey(Objective, verbose_name="objectif", on_delete=models.PROTECT, related_name="actions")
    title = models.CharField("intitulé", max_length=200)
    status = models.CharField("statut", max_length=12, choices=Status.choices, default=Status.PLANNED)
    due_date = models.DateField("échéance", null=True, blank=True)
    done_on = models.DateField("réalisée le", null=True, blank=True)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name="saisie par", on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        verbose_name = "action"
        verbose_name_plural = "actions"
        ordering = ["objective", "due_date"]
        constraints = [
            *PathwayEntry.Meta.constraints,
            choices_check("status", ActionStatus, "action_status_valid", "Statut d'action inconnu."),
            models.CheckConstraint(
                condition=~Q(status="done") | Q(done_on__isnull=False),
                name="action_done_has_date",
                violation_error_message="Une action réalisée a une date de réalisation.",
            ),
        ]

    def __str__(self):
        return self.title


class AppointmentStatus(models.TextChoices):
    PLANNED = "planned", "Prévu"
    HONOURED = "honoured", "Honoré"
    MISSED = "missed", "Non honoré (absence)"
    CANCELLED = "cancelled", "Annulé"


class Appointment(PathwayEntry):
    """An appointment (*rendez-vous*): planned, then honoured or missed (or cancelled)."""

    Status = AppointmentStatus

    beneficiary = models.ForeignKey(
        Beneficiary, verbose_name="bénéficiaire", on_delete=models.PROTECT, related_name="appointments"
    )
    scheduled_at = models.DateTimeField("date et heure")
    location = models.CharField("lieu", max_length=200, blank=True)
    with_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="avec",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="appointments",
    )
    with_structure = models.ForeignKey(
        Structure, verbose_name="structure", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    purpose = models.CharField("objet", max_length=200, blank=True)
    status = models.CharField("statut", max_length=10, choices=Status.choices, default=Status.PLANNED)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name="saisi par", on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        verbose_name = "rendez-vous"
        verbose_name_plural = "rendez-vous"
        ordering = ["beneficiary", "-scheduled_at"]
        constraints = [
            *PathwayEntry.Meta.constraints,
            choices_check("status", AppointmentStatus, "appointment_status_valid", "Statut de rendez-vous inconnu."),
        ]
        indexes = [
            models.Index(fields=["beneficiary", "scheduled_at"], name="appointment_benef_when"),
            models.Index(fields=["status", "scheduled_at"], name="appointment_status_when"),
        ]

    def __str__(self):
        return f"Rendez-vous du {self.scheduled_at:%d/%m/%Y %H:%M}"


class DiagnosticEducationLevel(models.TextChoices):
    NONE = "none", "Aucun diplôme"
    LEVEL_3 = "level_3", "CAP, BEP (niveau 3)"
    LEVEL_4 = "level_4", "Baccalauréat (niveau 4)"
    LEVEL_5 = "level_5", "Bac +2 (niveau 5)"
    LEVEL_6_PLUS = "level_6_plus", "Bac +3 et au-delà (niveau 6 et plus)"


class Diagnostic(PathwayEntry):
    """The *diagnostic socio-professionnel*: situation, education, experience, and its barriers."""

    EducationLevel = DiagnosticEducationLevel

    beneficiary = models.ForeignKey(
        Beneficiary, verbose_name="bénéficiaire", on_delete=models.PROTECT, related_name="diagnostics"
    )
    carried_out_on = models.DateField("réalisé le")
    situation = models.TextField("situation", blank=True)
    education_level = models.CharField(
        "niveau de formation", max_length=15, choices=EducationLevel.choices, blank=True
    )
    qualifications = models.TextField("qualifications", blank=True)
    work_experience = models.TextField("expérience professionnelle", blank=True)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name="réalisé par", on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        verbose_name = "diagnostic"
        verbose_name_plural = "diagnostics"
        ordering = ["beneficiary", "-carried_out_on"]
        constraints = [
            *PathwayEntry.Meta.constraints,
            models.CheckConstraint(
                condition=Q(education_level__in=[*DiagnosticEducationLevel.values, ""]),
                name="diagnostic_education_level_valid",
                violation_error_message="Niveau de formation inconnu.",
            ),
        ]

    def __str__(self):
        return f"Diagnostic du {self.carried_out_on:%d/%m/%Y}"


class BarrierKind(models.TextChoices):
    HOUSING = "housing", "Logement"
    MOBILITY = "mobility", "Mobilité"
    HEALTH = "health", "Santé"
    CHILDCARE = "childcare", "Garde d'enfants"
    FINANCES = "finances", "Budget / endettement"
    LANGUAGE = "language", "Langue / savoirs de base"
    DIGITAL = "digital", "Numérique"
    ADMINISTRATIVE = "administrative", "Difficultés administratives"


class BarrierSeverity(models.TextChoices):
    LOW = "low", "Faible"
    MEDIUM = "medium", "Modéré"
    HIGH = "high", "Fort"


class Barrier(TimeStamped):
    """A barrier to employment (*frein périphérique*) found by a diagnostic."""

    Kind = BarrierKind

    Severity = BarrierSeverity

    diagnostic = models.ForeignKey(
        Diagnostic, verbose_name="diagnostic", on_delete=models.PROTECT, related_name="barriers"
    )
    kind = models.CharField("frein", max_length=15, choices=Kind.choices)
    severity = models.CharField("intensité", max_length=6, choices=Severity.choices, default=Severity.MEDIUM)
    comment = models.TextField("commentaire", blank=True)
    resolved_on = models.DateField("levé le", null=True, blank=True)

    class Meta:
        verbose_name = "frein périphérique"
        verbose_name_plural = "freins périphériques"
        ordering = ["diagnostic", "kind"]
        constraints = [
            choices_check("kind", BarrierKind, "barrier_kind_valid", "Type de frein inconnu."),
            choices_check("severity", BarrierSeverity, "barrier_severity_valid", "Intensité inconnue."),
            models.UniqueConstraint(
                fields=["diagnostic", "kind"],
                name="barrier_unique_kind_per_diagnostic",
                violation_error_message="Ce frein figure déjà dans ce diagnostic.",
            ),
        ]

    def __str__(self):
        return self.get_kind_display()


NOTE_MAX_LENGTH = 5000


class NoteVisibility(models.TextChoices):
    PRIVATE = "private", "Privée (moi seul·e)"
    SHARED = "shared", "Partagée avec des services ou structures"
    FOLLOWERS = "followers", "Toutes les personnes qui suivent le dossier"


class Note(PathwayEntry):
    """A note written by a professional (*observation*), with who may read it.

    Visibility: private (its author only), shared with the departments and structures listed on it,
    or all who follow the file. A sensitive note (health and the like) is read only by the people of
    the structures and departments named on it, whatever their role (see docs/permissions.md).
    """

    Visibility = NoteVisibility

    MAX_LENGTH = NOTE_MAX_LENGTH

    beneficiary = models.ForeignKey(
        Beneficiary, verbose_name="bénéficiaire", on_delete=models.PROTECT, related_name="notes"
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name="auteur·rice", on_delete=models.PROTECT, related_name="notes"
    )
    author_structure = models.ForeignKey(
        Structure, verbose_name="structure", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    body = models.TextField("texte", max_length=MAX_LENGTH)
    visibility = models.CharField("visibilité", max_length=10, choices=Visibility.choices, default=Visibility.PRIVATE)
    is_sensitive = models.BooleanField("information sensible (santé…)", default=False)
    shared_with_departments = models.ManyToManyField(
        Department, verbose_name="partagée avec les services", blank=True, related_name="shared_notes"
    )
    shared_with_structures = models.ManyToManyField(
        Structure, verbose_name="partagée avec les structures", blank=True, related_name="shared_notes"
    )
    shared_with_users = models.ManyToManyField(
        settings.AUTH_USER_MODEL, verbose_name="partagée avec les personnes", blank=True, related_name="+"
    )

    class Meta:
        verbose_name = "note"
        verbose_name_plural = "notes"
        ordering = ["beneficiary", "-created_at"]
        constraints = [
            *PathwayEntry.Meta.constraints,
            choices_check("visibility", NoteVisibility, "note_visibility_valid", "Visibilité inconnue."),
            models.CheckConstraint(
                condition=~Q(body=""),
                name="note_body_required",
                violation_error_message="Une note ne peut pas être vide.",
            ),
            models.CheckConstraint(
                condition=~Q(is_sensitive=True, visibility="followers"),
                name="note_sensitive_not_for_all_followers",
                violation_error_message=(
                    "Une note sensible n'est lue que par les personnes, structures ou services nommés : "
                    "elle ne peut pas être visible de tous les intervenants du dossier."
                ),
            ),
            models.CheckConstraint(
                condition=LessThanOrEqual(Length("body"), NOTE_MAX_LENGTH),
                name="note_body_max_length",
                violation_error_message=f"Une note ne peut pas dépasser {NOTE_MAX_LENGTH} caractères.",
            ),
        ]
        indexes = [models.Index(fields=["beneficiary", "created_at"], name="note_beneficiary_created")]

    def __str__(self):
        return f"Note de {self.author} du {self.created_at:%d/%m/%Y}"


class ShareQuerySet(models.QuerySet):
    def active(self, at=None):
        """Shares in force at an instant (now by default): started, neither expired nor ended."""
        now = at or timezone.now()
        return self.filter(
            Q(ends_at__isnull=True) | Q(ends_at__gt=now),
            Q(ended_at__isnull=True) | Q(ended_at__gt=now),
            starts_at__lte=now,
        )


class Share(TimeStamped):
    """A file shared with a person, a structure or a department, for a reason, until a date or until
    someone ends it. Grants the right to read the file (casework.permissions)."""

    public_id = models.UUIDField("identifiant public", default=uuid.uuid4, unique=True, editable=False)
    beneficiary = models.ForeignKey(
        Beneficiary, verbose_name="bénéficiaire", on_delete=models.PROTECT, related_name="shares"
    )
    shared_with_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="avec la personne",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="shares_received",
    )
    shared_with_structure = models.ForeignKey(
        Structure, verbose_name="avec la structure", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    shared_with_department = models.ForeignKey(
        Department, verbose_name="avec le service", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    reason = models.TextField("motif")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name="partagé par", on_delete=models.PROTECT, related_name="+"
    )
    starts_at = models.DateTimeField("début")
    ends_at = models.DateTimeField("fin prévue", null=True, blank=True)
    ended_at = models.DateTimeField("arrêté le", null=True, blank=True)
    ended_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="arrêté par",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )

    objects = ShareQuerySet.as_manager()

    class Meta:
        verbose_name = "partage de dossier"
        verbose_name_plural = "partages de dossier"
        ordering = ["beneficiary", "-starts_at"]
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(
                        shared_with_user__isnull=False,
                        shared_with_structure__isnull=True,
                        shared_with_department__isnull=True,
                    )
                    | Q(
                        shared_with_user__isnull=True,
                        shared_with_structure__isnull=False,
                        shared_with_department__isnull=True,
                    )
                    | Q(
                        shared_with_user__isnull=True,
                        shared_with_structure__isnull=True,
                        shared_with_department__isnull=False,
                    )
                ),
                name="share_exactly_one_target",
                violation_error_message="Un partage vise une personne, une structure ou un service, et un seul.",
            ),
            models.CheckConstraint(
                condition=~Q(reason=""),
                name="share_reason_required",
                violation_error_message="Le motif du partage est obligatoire.",
            ),
            models.CheckConstraint(
                condition=Q(ends_at__isnull=True) | Q(ends_at__gt=F("starts_at")),
                name="share_ends_after_start",
                violation_error_message="Un partage ne peut pas se terminer avant de commencer.",
            ),
        ]
        indexes = [models.Index(fields=["beneficiary", "ended_at"], name="share_beneficiary")]

    def __str__(self):
        return f"Partage de {self.beneficiary} avec {self.target}"

    @property
    def target(self):
        return self.shared_with_user or self.shared_with_structure or self.shared_with_department

    def is_active(self, at=None) -> bool:
        now = at or timezone.now()
        return (
            self.starts_at <= now
            and (self.ends_at is None or self.ends_at > now)
            and (self.ended_at is None or self.ended_at > now)
        )


class EmergencyAccess(TimeStamped):
    """An *accès exceptionnel*: a referent opened a file they do not follow, with the person's exact
    identifiers and a written reason, for a limited time. Seen by the file's supervisors."""

    beneficiary = models.ForeignKey(
        Beneficiary, verbose_name="bénéficiaire", on_delete=models.PROTECT, related_name="emergency_accesses"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="demandé par",
        on_delete=models.PROTECT,
        related_name="emergency_accesses",
    )
    user_structure = models.ForeignKey(
        Structure, verbose_name="structure", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    reason = models.TextField("motif")
    started_at = models.DateTimeField("début")
    expires_at = models.DateTimeField("fin")

    class Meta:
        verbose_name = "accès exceptionnel"
        verbose_name_plural = "accès exceptionnels"
        ordering = ["beneficiary", "-started_at"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(reason=""),
                name="emergency_access_reason_required",
                violation_error_message="Le motif de l'accès exceptionnel est obligatoire.",
            ),
            models.CheckConstraint(
                condition=Q(expires_at__gt=F("started_at")),
                name="emergency_access_ends_after_start",
                violation_error_message="Un accès exceptionnel ne peut pas se terminer avant de commencer.",
            ),
        ]
        indexes = [models.Index(fields=["user", "expires_at"], name="emergency_access_user")]

    def __str__(self):
        return f"Accès exceptionnel de {self.user} au dossier {self.beneficiary}"


# django-guardian object permissions on files, in direct foreign-key tables (docs/adr/0003).
# These rows are derived from assignments, shares and emergency accesses by
# casework.permissions.sync_grants; nothing else writes them. They go with the file (CASCADE) because
# they are not personal data of their own, and files are never deleted anyway (PROTECT elsewhere).


class BeneficiaryUserObjectPermission(UserObjectPermissionBase):
    content_object = models.ForeignKey(Beneficiary, on_delete=models.CASCADE, related_name="+")
    expires_at = models.DateTimeField("expire le", null=True, blank=True)

    class Meta(UserObjectPermissionBase.Meta):
        verbose_name = "droit individuel sur un dossier"


class BeneficiaryGroupObjectPermission(GroupObjectPermissionBase):
    content_object = models.ForeignKey(Beneficiary, on_delete=models.CASCADE, related_name="+")
    expires_at = models.DateTimeField("expire le", null=True, blank=True)

    class Meta(GroupObjectPermissionBase.Meta):
        verbose_name = "droit de groupe sur un dossier"


class SupportEndReason(TimeStamped):
    """A reason for ending the support (*fin d'accompagnement*): a list the department admin keeps."""

    code = models.SlugField("code", max_length=50, unique=True)
    label = models.CharField("libellé", max_length=200, unique=True)
    is_active = models.BooleanField("proposé", default=True)
    position = models.PositiveSmallIntegerField("ordre", default=0)

    class Meta:
        verbose_name = "motif de fin d'accompagnement"
        verbose_name_plural = "motifs de fin d'accompagnement"
        ordering = ["position", "label"]

    def __str__(self):
        return self.label


class ReorientationRequestStatus(models.TextChoices):
    PENDING = "pending", "En attente de décision"
    ACCEPTED = "accepted", "Acceptée"
    REFUSED = "refused", "Refusée"


class ReorientationRequest(TimeStamped):
    """A referent proposes a new track; a supervisor (or the orientation team) accepts or refuses it
    with a reason. Acceptance supersedes the orientation in force with a new decided one."""

    Status = ReorientationRequestStatus

    public_id = models.UUIDField("identifiant public", default=uuid.uuid4, unique=True, editable=False)
    beneficiary = models.ForeignKey(
        Beneficiary, verbose_name="bénéficiaire", on_delete=models.PROTECT, related_name="reorientation_requests"
    )
    proposed_track = models.CharField("parcours proposé", max_length=20, choices=OrientationTrack.choices)
    proposed_organisme = models.ForeignKey(
        Structure, verbose_name="organisme référent proposé", on_delete=models.PROTECT, related_name="+"
    )
    reason = models.TextField("motif de la demande")
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name="demandée par", on_delete=models.PROTECT, related_name="+"
    )
    status = models.CharField("statut", max_length=10, choices=Status.choices, default=Status.PENDING)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="décidée par",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    decided_at = models.DateTimeField("décidée le", null=True, blank=True)
    decision_reason = models.TextField("motif de la décision", blank=True)
    resulting_orientation = models.OneToOneField(
        Orientation,
        verbose_name="orientation décidée",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="reorientation_request",
    )

    class Meta:
        verbose_name = "demande de réorientation"
        verbose_name_plural = "demandes de réorientation"
        ordering = ["beneficiary", "-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(proposed_track__in=OrientationTrack.values),
                name="reorientation_track_valid",
                violation_error_message="Type de parcours inconnu.",
            ),
            models.CheckConstraint(
                condition=Q(status__in=ReorientationRequestStatus.values),
                name="reorientation_status_valid",
                violation_error_message="Statut de demande inconnu.",
            ),
            models.CheckConstraint(
                condition=~Q(reason=""),
                name="reorientation_reason_required",
                violation_error_message="Le motif de la demande est obligatoire.",
            ),
            models.CheckConstraint(
                condition=Q(status="pending")
                | (Q(decided_by__isnull=False, decided_at__isnull=False) & ~Q(decision_reason="")),
                name="reorientation_decision_complete",
                violation_error_message="Une décision indique qui l'a prise, quand et pourquoi.",
            ),
            models.UniqueConstraint(
                fields=["beneficiary"],
                condition=Q(status="pending"),
                name="reorientation_one_pending_per_beneficiary",
                violation_error_message="Une demande de réorientation est déjà en attente pour ce dossier.",
            ),
        ]

    def __str__(self):
        return f"Réorientation {self.get_proposed_track_display().lower()} ({self.get_status_display().lower()})"


class RevisionAction(models.TextChoices):
    CORRECTED = "corrected", "Corrigé"
    STATUS_CHANGED = "status", "Statut modifié"
    WITHDRAWN = "withdrawn", "Retiré"


class Revision(models.Model):
    """A previous version of a pathway entry, kept when it was corrected or withdrawn (who, when,
    what it said). Append-only: written by casework.services.entries, never updated."""

    Action = RevisionAction

    content_type = models.ForeignKey(ContentType, on_delete=models.PROTECT, related_name="+")
    object_id = models.PositiveBigIntegerField()
    beneficiary = models.ForeignKey(
        Beneficiary, verbose_name="bénéficiaire", on_delete=models.PROTECT, related_name="revisions"
    )
    version = models.PositiveIntegerField("version remplacée")
    data = models.JSONField("contenu de cette version", encoder=DjangoJSONEncoder)
    action = models.CharField("action", max_length=10, choices=Action.choices)
    reason = models.TextField("motif", blank=True)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name="par", on_delete=models.PROTECT, related_name="+"
    )
    changed_at = models.DateTimeField("le")

    class Meta:
        verbose_name = "version antérieure"
        verbose_name_plural = "versions antérieures"
        ordering = ["content_type", "object_id", "-version"]
        constraints = [
            models.UniqueConstraint(
                fields=["content_type", "object_id", "version"],
                name="revision_unique_version",
                violation_error_message="Cette version est déjà conservée.",
            ),
            models.CheckConstraint(
                condition=Q(action__in=RevisionAction.values),
                name="revision_action_valid",
                violation_error_message="Action inconnue.",
            ),
        ]

    def __str__(self):
        return f"Version {self.version} ({self.get_action_display().lower()})"


class Cover(TimeStamped):
    """A colleague follows an absent referent's files for a period (*intérim*), set by a supervisor.

    From `starts_on` to `ends_on` (days, inclusive, Europe/Paris) the covering referent reads and acts on
    the files whose current referent is the absent one (casework.permissions); `started_at`/`ended_at`
    say when the periodic task saw the cover start and end (notifications, timeline).
    """

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    absent_referent = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="référent·e absent·e",
        on_delete=models.PROTECT,
        related_name="covers_absent",
    )
    covering_referent = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name="remplaçant·e", on_delete=models.PROTECT, related_name="covers_given"
    )
    structure = models.ForeignKey(Structure, verbose_name="structure", on_delete=models.PROTECT, related_name="covers")
    starts_on = models.DateField("du")
    ends_on = models.DateField("au (inclus)")
    reason = models.TextField("motif", max_length=500)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name="décidé par", on_delete=models.PROTECT, related_name="+"
    )
    cancelled_at = models.DateTimeField("annulé le", null=True, blank=True)
    cancelled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="annulé par",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    started_at = models.DateTimeField("commencé le", null=True, blank=True)
    ended_at = models.DateTimeField("terminé le", null=True, blank=True)

    class Meta:
        verbose_name = "intérim"
        verbose_name_plural = "intérims"
        ordering = ["-starts_on", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_on__gte=F("starts_on")),
                name="cover_ends_after_start",
                violation_error_message="La fin de l'intérim ne peut pas précéder son début.",
            ),
            models.CheckConstraint(
                condition=~Q(absent_referent=F("covering_referent")),
                name="cover_not_self",
                violation_error_message="Une personne ne peut pas assurer son propre intérim.",
            ),
            models.CheckConstraint(
                condition=~Q(reason=""),
                name="cover_reason_required",
                violation_error_message="Indiquez le motif de l'intérim.",
            ),
        ]
        indexes = [
            models.Index(fields=["covering_referent", "starts_on", "ends_on"], name="cover_covering"),
            models.Index(fields=["absent_referent", "starts_on", "ends_on"], name="cover_absent"),
        ]

    def __str__(self):
        return f"Intérim du {self.starts_on:%d/%m/%Y} au {self.ends_on:%d/%m/%Y}"
