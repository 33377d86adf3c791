"""The Département's deadlines (CaseworkSettings) and the notifications of supervision.

The tables keep the names they had in `casework` (db_table).
"""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from casework.models import Beneficiary, Cover, TimeStamped, choices_check


class CaseworkSettings(TimeStamped):
    """The Département's deadlines, which the supervisors' dashboard and alerts apply (one row, pk 1).

    Edited by a department admin (casework/admin.py); read with `CaseworkSettings.current()`.
    """

    orientation_delay_days = models.PositiveSmallIntegerField(
        "délai d'orientation d'un nouvel entrant (jours)", default=30
    )
    contract_delay_days = models.PositiveSmallIntegerField(
        "délai de signature d'un contrat après l'orientation (jours)", default=60
    )
    contract_expiring_days = models.PositiveSmallIntegerField(
        "un contrat arrive à échéance dans moins de (jours)", default=30
    )
    inactivity_warning_months = models.PositiveSmallIntegerField(
        "sans activité depuis (mois, premier seuil)", default=3
    )
    inactivity_alert_months = models.PositiveSmallIntegerField("sans activité depuis (mois, second seuil)", default=6)
    missed_appointments_days = models.PositiveSmallIntegerField(
        "rendez-vous manqués sur les derniers (jours)", default=60
    )
    new_files_days = models.PositiveSmallIntegerField("nouveaux dossiers sur les derniers (jours)", default=30)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="modifié par",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )

    class Meta:
        db_table = "casework_caseworksettings"
        verbose_name = "délais du Département"
        verbose_name_plural = "délais du Département"
        constraints = [
            models.CheckConstraint(condition=Q(pk=1), name="casework_settings_single_row"),
            models.CheckConstraint(
                condition=Q(inactivity_warning_months__lt=F("inactivity_alert_months")),
                name="casework_settings_inactivity_order",
                violation_error_message="Le premier seuil d'inactivité doit être plus court que le second.",
            ),
            models.CheckConstraint(
                condition=Q(orientation_delay_days__gt=0)
                & Q(contract_delay_days__gt=0)
                & Q(contract_expiring_days__gt=0)
                & Q(inactivity_warning_months__gt=0)
                & Q(missed_appointments_days__gt=0)
                & Q(new_files_days__gt=0),
                name="casework_settings_positive",
                violation_error_message="Les délais doivent être supérieurs à zéro.",
            ),
        ]

    def __str__(self):
        return "Délais du Département"

    def save(self, *args, **kwargs):
        self.pk = 1
        super().save(*args, **kwargs)

    @classmethod
    def current(cls) -> "CaseworkSettings":
        settings_row, _ = cls.objects.get_or_create(pk=1)
        return settings_row


class NotificationKind(models.TextChoices):
    FILE_ASSIGNED = "file_assigned", "Dossier confié"
    COVER_STARTED = "cover_started", "Début d'intérim"
    COVER_ENDED = "cover_ended", "Fin d'intérim"


class Notification(models.Model):
    """A message for one user, listed in the app (and e-mailed by Celery, without personal data)."""

    Kind = NotificationKind

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name="destinataire", on_delete=models.PROTECT, related_name="notifications"
    )
    kind = models.CharField("type", max_length=20, choices=Kind.choices)
    # The file it is about, if any: the list shows it only while the recipient may still read it.
    beneficiary = models.ForeignKey(
        Beneficiary, verbose_name="bénéficiaire", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    cover = models.ForeignKey(
        Cover, verbose_name="intérim", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    message = models.CharField("message", max_length=300)
    created_at = models.DateTimeField("le", default=timezone.now)
    read_at = models.DateTimeField("lu le", null=True, blank=True)
    emailed_at = models.DateTimeField("envoyé par courriel le", null=True, blank=True)

    class Meta:
        db_table = "casework_notification"
        verbose_name = "notification"
        verbose_name_plural = "notifications"
        ordering = ["-created_at", "-pk"]
        constraints = [
            choices_check("kind", NotificationKind, "notification_kind_valid", "Type de notification inconnu."),
        ]
        indexes = [models.Index(fields=["recipient", "read_at", "created_at"], name="notification_inbox")]

    def __str__(self):
        return self.message
