"""Imports of the CAF/MSA monthly files (docs/imports.md): the file, its refused rows, what it changed.

The tables keep the names they had in `casework` (db_table).
"""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from casework.models import Beneficiary, BeneficiaryOrganism, TimeStamped, choices_check


class ImportColumnMapping(TimeStamped):
    """How one source names its columns: normalised file header -> canonical column name
    (imports.readers.IMPORT_COLUMNS). Kept by the department admins (Django admin), chosen when
    a file is uploaded; the import keeps a copy of the mapping it used."""

    name = models.CharField("source", max_length=100, unique=True)
    mapping = models.JSONField("correspondance des colonnes", default=dict, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="créée par",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="modifiée par",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )

    class Meta:
        db_table = "casework_importcolumnmapping"
        verbose_name = "correspondance de colonnes d'import"
        verbose_name_plural = "correspondances de colonnes d'import"
        ordering = ["name"]

    def __str__(self):
        return self.name

    def clean(self):
        from django.core.exceptions import ValidationError

        from imports.readers import IMPORT_COLUMNS, normalise_header

        if not isinstance(self.mapping, dict):
            raise ValidationError(
                {"mapping": 'La correspondance est un objet JSON : {"colonne du fichier": "colonne"}.'}
            )
        names = [getattr(column, "name", column) for column in IMPORT_COLUMNS]
        cleaned, errors = {}, []
        for header, column in self.mapping.items():
            if not isinstance(header, str) or not isinstance(column, str) or not normalise_header(header):
                errors.append(f"« {header} » : l'en-tête est un texte non vide, la colonne un texte.")
            elif column and column not in names:
                errors.append(
                    f"« {header} » : colonne « {column} » inconnue. Colonnes possibles : {', '.join(names)} "
                    f'(ou "" pour ignorer la colonne du fichier).'
                )
            else:
                cleaned[normalise_header(header)] = column
        if errors:
            raise ValidationError({"mapping": errors})
        self.mapping = cleaned


class ImportFormat(models.TextChoices):
    CSV = "csv", "CSV"
    XLSX = "xlsx", "Excel (.xlsx)"
    XML = "xml", "Flux XML CAF/MSA"


class ImportStatus(models.TextChoices):
    UPLOADED = "uploaded", "Déposé"
    CHECKING = "checking", "Vérification en cours"
    CHECKED = "checked", "Vérifié (simulation)"
    QUEUED = "queued", "En attente"
    RUNNING = "running", "Import en cours"
    DONE = "done", "Importé"
    FAILED = "failed", "Échec"


class BeneficiaryImport(models.Model):
    """One file of the CAF/MSA (or a spreadsheet) imported, or checked in a dry run, in the background
    (imports.services). The Celery message names its primary key only. The file is stored under
    PRIVATE_MEDIA_ROOT/imports/ (outside the web root) as `file_name`; a real import launched from a dry
    run reads the same stored file (`dry_run_of`)."""

    Format = ImportFormat
    Status = ImportStatus

    public_id = models.UUIDField("identifiant public", default=uuid.uuid4, unique=True, editable=False)
    # None for a scheduled import from the drop folder (manage.py import_beneficiaries).
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="déposé par",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="imports",
    )
    uploaded_at = models.DateTimeField("déposé le", default=timezone.now)
    original_name = models.CharField("nom du fichier", max_length=255)
    file_name = models.CharField("fichier enregistré", max_length=100)
    file_size = models.PositiveBigIntegerField("taille")
    sha256 = models.CharField("empreinte SHA-256", max_length=64)
    format = models.CharField("format", max_length=10, choices=Format.choices)
    default_organism = models.CharField(
        "organisme par défaut", max_length=3, choices=BeneficiaryOrganism.choices, blank=True
    )
    mapping_name = models.CharField("correspondance de colonnes", max_length=100, blank=True)
    mapping = models.JSONField("correspondance utilisée", default=dict, blank=True)
    dry_run = models.BooleanField("simulation", default=True)
    dry_run_of = models.ForeignKey(
        "self",
        verbose_name="simulation d'origine",
        null=True,
        blank=True,
        # The real import keeps pointing at the dry run that checked its file.
        on_delete=models.PROTECT,
        related_name="+",
    )
    status = models.CharField("état", max_length=10, choices=Status.choices, default=Status.QUEUED)
    total_rows = models.PositiveIntegerField("lignes du fichier", null=True, blank=True)
    rows_processed = models.PositiveIntegerField("lignes traitées", default=0)
    created_count = models.PositiveIntegerField("dossiers créés", default=0)
    updated_count = models.PositiveIntegerField("dossiers mis à jour", default=0)
    closed_count = models.PositiveIntegerField("accompagnements terminés", default=0)
    unchanged_count = models.PositiveIntegerField("dossiers inchangés", default=0)
    refused_count = models.PositiveIntegerField("lignes refusées", default=0)
    # Rows imported without one of their values (an invalid phone...) or with a value to check.
    warning_count = models.PositiveIntegerField("lignes avec avertissement", default=0)
    # {field name: files whose field changed (or would change, in a dry run)}.
    field_counts = models.JSONField("champs mis à jour", default=dict, blank=True)
    attempts = models.PositiveSmallIntegerField("tentatives", default=0)
    # Written with each batch: a running import whose heartbeat is too old has lost its worker.
    heartbeat_at = models.DateTimeField("dernier signe de vie", null=True, blank=True)
    started_at = models.DateTimeField("commencé le", null=True, blank=True)
    finished_at = models.DateTimeField("terminé le", null=True, blank=True)
    error = models.TextField("erreur", blank=True)

    class Meta:
        db_table = "casework_beneficiaryimport"
        verbose_name = "import de bénéficiaires"
        verbose_name_plural = "imports de bénéficiaires"
        ordering = ["-uploaded_at", "-pk"]
        constraints = [
            choices_check("format", ImportFormat, "import_format_valid", "Format d'import inconnu."),
            choices_check("status", ImportStatus, "import_status_valid", "État d'import inconnu."),
            models.CheckConstraint(
                condition=Q(default_organism__in=[*BeneficiaryOrganism.values, ""]),
                name="import_default_organism_valid",
                violation_error_message="Organisme payeur inconnu.",
            ),
        ]
        indexes = [
            models.Index(fields=["status", "heartbeat_at"], name="import_status"),
            models.Index(fields=["sha256"], name="import_sha256"),
        ]

    def __str__(self):
        kind = "Simulation d'import" if self.dry_run else "Import"
        return f"{kind} du {timezone.localtime(self.uploaded_at):%d/%m/%Y %H:%M} ({self.original_name})"


class ImportRowLevel(models.TextChoices):
    REFUSED = "refused", "Ligne refusée"
    WARNING = "warning", "Ligne importée, avec avertissement"


class ImportRowError(models.Model):
    """One entry of an import's row report: a row the import refused, or a warning on a row it imported
    (a value dropped or to check). Its line in the file, the column, why (in French), the value read."""

    Level = ImportRowLevel

    beneficiary_import = models.ForeignKey(
        BeneficiaryImport,
        verbose_name="import",
        # The report of an import goes with it, never on its own.
        on_delete=models.PROTECT,
        related_name="row_errors",
    )
    line = models.PositiveIntegerField("ligne")
    level = models.CharField("effet", max_length=10, choices=Level.choices, default=Level.REFUSED)
    column = models.CharField("colonne", max_length=200, blank=True)
    message = models.CharField("motif", max_length=500)
    value = models.CharField("valeur lue", max_length=500, blank=True)

    class Meta:
        db_table = "casework_importrowerror"
        verbose_name = "ligne signalée"
        verbose_name_plural = "lignes signalées"
        ordering = ["beneficiary_import", "line", "pk"]
        constraints = [
            choices_check("level", ImportRowLevel, "import_row_level_valid", "Effet inconnu."),
        ]
        indexes = [models.Index(fields=["beneficiary_import", "line"], name="import_error_line")]

    def __str__(self):
        return f"Ligne {self.line} : {self.message}"


class ImportChangeKind(models.TextChoices):
    CREATED = "created", "Dossier créé"
    UPDATED = "updated", "Mis à jour"
    CLOSED = "closed", "Fin d'accompagnement"


class ImportChange(models.Model):
    """One change an import made to a file: which import, which row, which field, the old and the new
    value (as text: ISO dates, "true"/"false"; the household as a readable summary). Shown on the file's
    timeline, inside the file page only."""

    Kind = ImportChangeKind

    beneficiary_import = models.ForeignKey(
        BeneficiaryImport, verbose_name="import", on_delete=models.PROTECT, related_name="changes"
    )
    beneficiary = models.ForeignKey(
        Beneficiary,
        verbose_name="bénéficiaire",
        # The trace of what an import changed stays with the file.
        on_delete=models.PROTECT,
        related_name="import_changes",
    )
    line = models.PositiveIntegerField("ligne")
    kind = models.CharField("type", max_length=10, choices=Kind.choices)
    field = models.CharField("champ", max_length=50, blank=True)
    old_value = models.TextField("ancienne valeur", blank=True)
    new_value = models.TextField("nouvelle valeur", blank=True)
    created_at = models.DateTimeField("le", default=timezone.now)

    class Meta:
        db_table = "casework_importchange"
        verbose_name = "modification par import"
        verbose_name_plural = "modifications par import"
        ordering = ["beneficiary_import", "line", "pk"]
        constraints = [
            choices_check("kind", ImportChangeKind, "import_change_kind_valid", "Type de modification inconnu."),
        ]
        indexes = [
            models.Index(fields=["beneficiary", "created_at"], name="import_change_file"),
            models.Index(fields=["beneficiary_import", "kind"], name="import_change_kind"),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} {self.field} (ligne {self.line})"
