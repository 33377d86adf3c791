"""The audit trail (AuditEvent) and the exports auditors ask for (AuditExport).

The tables keep the names they had in `casework` (db_table): the append-only trigger (casework migration
0008), the raw-SQL indexes and the benchmark's fill name them.
"""

import uuid

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.db.models import Q
from django.utils import timezone

from casework.models import Beneficiary


class AuditAction(models.TextChoices):
    VIEW_FILE = "view_file", "Consultation d'un dossier"
    VIEW_LIST = "view_list", "Consultation d'une liste"
    SEARCH = "search", "Recherche"
    WRITE = "write", "Création ou modification"
    SHARE = "share", "Partage"
    EMERGENCY_ACCESS = "emergency_access", "Accès exceptionnel"
    LOGIN = "login", "Connexion"
    LOGIN_FAILED = "login_failed", "Échec de connexion"
    LOGOUT = "logout", "Déconnexion"
    PURGE = "purge", "Purge de rétention"
    VIEW_NOTE = "view_note", "Consultation d'une note"
    VIEW_AUDIT = "view_audit", "Consultation du journal d'audit"
    ACCESS_REPORT = "access_report", "Rapport des accès à un dossier"
    EXPORT = "export", "Demande d'export"
    DOWNLOAD = "download", "Téléchargement d'un export"
    PERMISSION_CHANGE = "permission_change", "Modification des droits"
    IMPORT = "import", "Import"


class AuditEvent(models.Model):
    """One entry of the audit trail: who did what, on which file, from where, and why.

    Append-only: written by audit.trail only; on PostgreSQL a trigger refuses UPDATE and DELETE
    (migration 0008) except inside the retention purge. Each event carries the hash of the previous
    event of its chain (one chain per day and shard, so that concurrent writers do not all wait on one
    row) and its own hash over its content: `manage.py verify_audit` finds the first broken link.
    """

    Action = AuditAction

    occurred_at = models.DateTimeField("date et heure", default=timezone.now, db_index=True)
    chain_day = models.DateField("jour de la chaîne")
    chain_shard = models.PositiveSmallIntegerField("chaîne")
    sequence = models.PositiveIntegerField("rang dans la chaîne")
    previous_hash = models.CharField("empreinte précédente", max_length=64)
    hash = models.CharField("empreinte", max_length=64)
    # Who, as they were at that moment (a name or a role can change later; the trace must not).
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name="par", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    actor_username = models.CharField("identifiant", max_length=150, blank=True)
    actor_structures = models.CharField("structures", max_length=500, blank=True)
    actor_roles = models.CharField("rôles", max_length=200, blank=True)
    action = models.CharField("action", max_length=20, choices=Action.choices)
    url_name = models.CharField("écran", max_length=100, blank=True)
    status_code = models.PositiveSmallIntegerField("réponse", null=True, blank=True)
    beneficiary = models.ForeignKey(
        Beneficiary, verbose_name="bénéficiaire", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    object_type = models.CharField("type d'objet", max_length=50, blank=True)
    object_id = models.CharField("objet", max_length=64, blank=True)
    ip_address = models.GenericIPAddressField("adresse IP", null=True, blank=True)
    user_agent = models.CharField("navigateur", max_length=300, blank=True)
    request_id = models.CharField("requête", max_length=64, blank=True)
    reason = models.TextField("motif", blank=True)
    details = models.JSONField("détails", default=dict, blank=True, encoder=DjangoJSONEncoder)

    class Meta:
        db_table = "casework_auditevent"
        verbose_name = "événement d'audit"
        verbose_name_plural = "événements d'audit"
        ordering = ["-occurred_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["chain_day", "chain_shard", "sequence"],
                name="audit_unique_link",
                violation_error_message="Ce maillon de la chaîne d'audit existe déjà.",
            ),
            models.CheckConstraint(
                condition=Q(action__in=AuditAction.values),
                name="audit_action_valid",
                violation_error_message="Action inconnue.",
            ),
        ]
        indexes = [
            models.Index(fields=["beneficiary", "occurred_at"], name="audit_beneficiary_when"),
            models.Index(fields=["actor", "occurred_at"], name="audit_actor_when"),
        ]

    def __str__(self):
        return (
            f"{self.get_action_display()} par {self.actor_username or 'anonyme'} le {self.occurred_at:%d/%m/%Y %H:%M}"
        )


class AuditExport(models.Model):
    """An export of audit events asked for by an auditor, written in the background (audit.exports).

    Carries ids and filters only: the Celery message names the export's primary key, never personal data.
    The rows exported are those matching `filters` among the events up to `last_event_id` (fixed when
    the export is asked for), so that a retry or a re-run writes exactly the same rows. The file lives
    under PRIVATE_MEDIA_ROOT (outside the web root), is served only to `requested_by`, and is deleted
    at `expires_at` by a periodic task.
    """

    class Format(models.TextChoices):
        CSV = "csv", "CSV"
        JSONL = "jsonl", "JSON Lines"

    class Status(models.TextChoices):
        QUEUED = "queued", "En attente"
        RUNNING = "running", "En cours"
        DONE = "done", "Prêt"
        FAILED = "failed", "Échec"
        EXPIRED = "expired", "Expiré"

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name="demandé par", on_delete=models.PROTECT, related_name="audit_exports"
    )
    requested_at = models.DateTimeField("demandé le", default=timezone.now)
    format = models.CharField("format", max_length=10, choices=Format.choices)
    filters = models.JSONField("filtres", default=dict, blank=True, encoder=DjangoJSONEncoder)
    last_event_id = models.BigIntegerField("dernier événement inclus", default=0)
    status = models.CharField("état", max_length=10, choices=Status.choices, default=Status.QUEUED)
    total_rows = models.PositiveIntegerField("lignes à écrire", null=True, blank=True)
    rows_written = models.PositiveIntegerField("lignes écrites", default=0)
    attempts = models.PositiveSmallIntegerField("tentatives", default=0)
    # Set by the worker at each progress step: a running export whose heartbeat is too old has lost
    # its worker, and the sweeper enqueues it again.
    heartbeat_at = models.DateTimeField("dernier signe de vie", null=True, blank=True)
    started_at = models.DateTimeField("commencé le", null=True, blank=True)
    finished_at = models.DateTimeField("terminé le", null=True, blank=True)
    expires_at = models.DateTimeField("expire le", null=True, blank=True)
    file_name = models.CharField("fichier", max_length=200, blank=True)
    file_size = models.PositiveBigIntegerField("taille", null=True, blank=True)
    error = models.TextField("erreur", blank=True)

    class Meta:
        db_table = "casework_auditexport"
        verbose_name = "export du journal d'audit"
        verbose_name_plural = "exports du journal d'audit"
        ordering = ["-requested_at", "-pk"]
        constraints = [
            models.CheckConstraint(condition=Q(format__in=["csv", "jsonl"]), name="audit_export_format_valid"),
            models.CheckConstraint(
                condition=Q(status__in=["queued", "running", "done", "failed", "expired"]),
                name="audit_export_status_valid",
            ),
        ]
        indexes = [
            models.Index(fields=["requested_by", "requested_at"], name="audit_export_by_user"),
            models.Index(fields=["status", "heartbeat_at"], name="audit_export_status"),
        ]

    def __str__(self):
        return f"Export {self.get_format_display()} du {self.requested_at:%d/%m/%Y %H:%M}"
