"""Writes of the supervisor's team screens (issue 6): reassigning files, covers during an absence
(*intérim*) and notifications.

A reassignment goes through `beneficiary_assign_referent` file by file (history kept, object
permissions moved in the same transaction). A cover grants nothing by itself: the permission layer
reads it as a query scope (casework.permissions.visible_beneficiaries), so its access starts and stops
on its dates; `covers_update` (run by celery beat) only records that a cover started or ended and
notifies the people concerned. Notifications never hold a beneficiary's personal data: a file is
named only through a link its recipient may open, and e-mails are sent from a task that receives ids.
"""

import datetime
from collections.abc import Iterable
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import Q, QuerySet
from django.http import Http404
from django.urls import reverse
from django.utils import timezone

from accounts.models import Membership, Role, Structure, User
from casework.models import Beneficiary, Cover, ReferentAssignment
from casework.permissions import supervised_structure_ids, visible_beneficiaries
from casework.services import beneficiary_assign_referent
from team import tasks
from team.models import Notification
from team.permissions import SUPERVISORS_ACTION, check_supervises, visible_covers


def _person(user: User) -> str:
    return user.get_full_name() or user.username


def _check_supervisor(actor: User) -> list[int]:
    """The ids of the structures the actor supervises; 403 for anyone who supervises none."""
    return [structure.pk for structure in check_supervises(actor, SUPERVISORS_ACTION)]


def team_referents(actor: User) -> QuerySet[Membership]:
    """The referent memberships in force today in the structures the actor supervises: who may be
    given files, or cover for a colleague, by this supervisor."""
    return (
        Membership.objects.active()
        .filter(role=Role.REFERENT, structure_id__in=supervised_structure_ids(actor), user__is_active=True)
        .select_related("user", "structure")
        .order_by("user__last_name", "user__first_name", "user__username", "structure__name")
    )


def supervised_beneficiaries(actor: User) -> QuerySet[Beneficiary]:
    """The files the actor may reassign: those they read (the permission scope) whose current structure
    they supervise, and the files waiting with no referent in the queue of a structure they supervise
    (imported new entrants: designating their first referent)."""
    structures = supervised_structure_ids(actor)
    return visible_beneficiaries(actor).filter(
        Q(current_structure_id__in=structures) | Q(current_referent__isnull=True, intake_structure_id__in=structures)
    )


def _notify(*, recipient: User, kind: str, message: str, beneficiary=None, cover=None) -> Notification:
    """Record a notification and send its e-mail once the transaction commits (the task gets the id)."""
    notification = Notification(recipient=recipient, kind=kind, message=message, beneficiary=beneficiary, cover=cover)
    notification.full_clean()
    notification.save()
    tasks.notification_email_send.delay_on_commit(notification.pk)
    return notification


# --- Reassignment ------------------------------------------------------------------------------


@dataclass
class Reassignment:
    moved: list[ReferentAssignment]
    unchanged: int
    notification: Notification | None


@transaction.atomic
def beneficiaries_reassign(
    *,
    actor: User,
    beneficiaries: Iterable[Beneficiary],
    referent: User,
    structure: Structure,
    reason: str,
) -> Reassignment:
    """Give these files to `referent` (working in `structure`), all or none.

    Every file must be in the actor's scope as a supervisor (read by them, current structure supervised
    by them): one outside it and the whole request is a 404, nothing moved. The files are locked in a
    fixed order, then each goes through `beneficiary_assign_referent` (history kept, permissions moved
    at once). The new referent gets one notification for the whole move (naming the file, through a
    link, only when there is one) and its e-mail.
    """
    structures = _check_supervisor(actor)
    reason = reason.strip()
    if not reason:
        raise ValidationError({"reason": "Indiquez le motif du changement de référent·e."})
    if structure.pk not in structures:
        raise ValidationError({"referent": "Choisissez un·e référent·e d'une structure que vous encadrez."})
    if not Membership.objects.active().filter(user=referent, structure=structure, role=Role.REFERENT).exists():
        raise ValidationError({"referent": "Cette personne n'est pas référent·e dans cette structure aujourd'hui."})
    if not referent.is_active:
        raise ValidationError({"referent": "Ce compte est désactivé."})
    ids = sorted({beneficiary.pk for beneficiary in beneficiaries})
    if not ids:
        raise ValidationError({"beneficiaries": "Cochez au moins un dossier à réaffecter."})
    locked = list(supervised_beneficiaries(actor).filter(pk__in=ids).order_by("pk").select_for_update(of=("self",)))
    if len(locked) != len(ids):
        raise Http404("Dossier introuvable.")
    moved = []
    for beneficiary in locked:
        if beneficiary.current_referent_id == referent.pk and beneficiary.current_structure_id == structure.pk:
            continue
        moved.append(
            beneficiary_assign_referent(
                actor=actor, beneficiary=beneficiary, referent=referent, structure=structure, reason=reason
            )
        )
    if not moved:
        raise ValidationError({"referent": "Les dossiers choisis sont déjà suivis par cette personne."})
    notification = None
    if referent.pk != actor.pk:
        count = len(moved)
        message = (
            f"Un dossier vous a été confié par {_person(actor)}."
            if count == 1
            else f"{count} dossiers vous ont été confiés par {_person(actor)}."
        )
        notification = _notify(
            recipient=referent,
            kind=Notification.Kind.FILE_ASSIGNED,
            message=message,
            beneficiary=moved[0].beneficiary if count == 1 else None,
        )
    return Reassignment(moved=moved, unchanged=len(locked) - len(moved), notification=notification)


# --- Covers during an absence ------------------------------------------------------------------


def cover_create(
    *,
    actor: User,
    absent_referent: User,
    covering_referent: User,
    structure: Structure,
    starts_on: datetime.date,
    ends_on: datetime.date,
    reason: str,
) -> Cover:
    """Let `covering_referent` follow the files `absent_referent` holds in `structure`, from `starts_on`
    to `ends_on` inclusive. Both must be referents, today, of structures the actor supervises (the
    absent one in `structure`); access follows the dates by itself (casework.permissions)."""
    structures = _check_supervisor(actor)
    today = timezone.localdate()
    errors: dict[str, str] = {}
    referents = Membership.objects.active().filter(role=Role.REFERENT, user__is_active=True)
    if structure.pk not in structures or not referents.filter(user=absent_referent, structure=structure).exists():
        errors["absent_referent"] = "Choisissez un·e référent·e d'une structure que vous encadrez."
    if not referents.filter(user=covering_referent, structure_id__in=structures).exists():
        errors["covering_referent"] = "Choisissez un·e référent·e d'une structure que vous encadrez."
    elif covering_referent.pk == absent_referent.pk:
        errors["covering_referent"] = "Une personne ne peut pas assurer son propre intérim."
    if ends_on < starts_on:
        errors["ends_on"] = "La fin de l'intérim ne peut pas précéder son début."
    elif ends_on < today:
        errors["ends_on"] = "Cette date est passée : un intérim se termine aujourd'hui ou plus tard."
    elif (ends_on - starts_on).days + 1 > settings.COVER_MAX_DAYS:
        errors["ends_on"] = (
            f"Un intérim dure au plus {settings.COVER_MAX_DAYS} jours : au-delà, désignez un·e nouveau·elle "
            "référent·e (réaffectation des dossiers)."
        )
    if errors:
        raise ValidationError(errors)
    overlapping = Cover.objects.filter(
        cancelled_at__isnull=True,
        absent_referent=absent_referent,
        covering_referent=covering_referent,
        structure=structure,
        starts_on__lte=ends_on,
        ends_on__gte=starts_on,
    )
    if overlapping.exists():
        raise ValidationError({"starts_on": "Un intérim entre ces deux personnes couvre déjà ces dates."})
    cover = Cover(
        absent_referent=absent_referent,
        covering_referent=covering_referent,
        structure=structure,
        starts_on=starts_on,
        ends_on=ends_on,
        reason=reason.strip(),
        created_by=actor,
    )
    cover.full_clean()
    cover.save()
    return cover


def _notify_cover_ended(cover: Cover) -> None:
    period = f"du {cover.starts_on:%d/%m/%Y} au {cover.ends_on:%d/%m/%Y}"
    what = f", prévu {period}, a été annulé" if cover.cancelled_at else f" {period} est terminé"
    _notify(
        recipient=cover.covering_referent,
        kind=Notification.Kind.COVER_ENDED,
        message=f"L'intérim de {_person(cover.absent_referent)}{what} : ses dossiers ne vous sont plus accessibles.",
        cover=cover,
    )
    _notify(
        recipient=cover.absent_referent,
        kind=Notification.Kind.COVER_ENDED,
        message=f"L'intérim assuré par {_person(cover.covering_referent)}{what}.",
        cover=cover,
    )


@transaction.atomic
def cover_cancel(*, actor: User, cover: Cover) -> Cover:
    """Cancel a cover: it grants nothing from now on. A cover that had started ends now, and both
    referents are told; one that had not started simply never will. Only the supervisors of its
    structure may (another cover is a 404 for them: look it up in `visible_covers`)."""
    _check_supervisor(actor)
    locked = visible_covers(actor).select_for_update(of=("self",)).filter(pk=cover.pk).first()
    if locked is None:
        raise Http404("Intérim introuvable.")
    cover = locked
    if cover.cancelled_at is not None:
        return cover
    now = timezone.now()
    cover.cancelled_at = now
    cover.cancelled_by = actor
    fields = ["cancelled_at", "cancelled_by", "updated_at"]
    if cover.started_at is not None and cover.ended_at is None:
        cover.ended_at = now
        fields.append("ended_at")
    cover.full_clean()
    cover.save(update_fields=fields)
    if "ended_at" in fields:
        _notify_cover_ended(cover)
    return cover


@dataclass
class CoverUpdate:
    started: int
    ended: int


def covers_update(*, now: datetime.datetime | None = None) -> CoverUpdate:
    """Record the covers that started or ended (a day in Europe/Paris) and notify both referents.

    Access does not wait for this (the permission layer reads the dates); this only tells people.
    Idempotent: each cover is claimed by a conditional UPDATE (`started_at`/`ended_at` still empty), so
    a second run, or two workers at once, notify once.
    """
    moment = now or timezone.now()
    today = timezone.localdate(moment)
    started = ended = 0
    starting = Cover.objects.filter(
        cancelled_at__isnull=True, started_at__isnull=True, starts_on__lte=today, ends_on__gte=today
    ).values_list("pk", flat=True)
    for pk in list(starting):
        with transaction.atomic():
            if not Cover.objects.filter(pk=pk, started_at__isnull=True, cancelled_at__isnull=True).update(
                started_at=moment, updated_at=moment
            ):
                continue
            cover = Cover.objects.select_related("absent_referent", "covering_referent").get(pk=pk)
            period = f"du {cover.starts_on:%d/%m/%Y} au {cover.ends_on:%d/%m/%Y} inclus"
            _notify(
                recipient=cover.covering_referent,
                kind=Notification.Kind.COVER_STARTED,
                message=(
                    f"Vous assurez l'intérim de {_person(cover.absent_referent)} {period} : "
                    "ses dossiers vous sont accessibles."
                ),
                cover=cover,
            )
            _notify(
                recipient=cover.absent_referent,
                kind=Notification.Kind.COVER_STARTED,
                message=f"{_person(cover.covering_referent)} assure votre intérim {period}.",
                cover=cover,
            )
            started += 1
    ending = Cover.objects.filter(started_at__isnull=False, ended_at__isnull=True, ends_on__lt=today).values_list(
        "pk", flat=True
    )
    for pk in list(ending):
        with transaction.atomic():
            if not Cover.objects.filter(pk=pk, ended_at__isnull=True).update(ended_at=moment, updated_at=moment):
                continue
            _notify_cover_ended(Cover.objects.select_related("absent_referent", "covering_referent").get(pk=pk))
            ended += 1
    return CoverUpdate(started=started, ended=ended)


# --- Notifications -----------------------------------------------------------------------------


@transaction.atomic
def notification_mark_read(*, actor: User, notification: Notification) -> Notification:
    """Mark one of the actor's notifications read (another user's is a 404 for them)."""
    if notification.recipient_id != actor.pk:
        raise Http404("Notification introuvable.")
    if notification.read_at is None:
        notification.read_at = timezone.now()
        notification.save(update_fields=["read_at"])
    return notification


def site_url(path: str) -> str:
    """An absolute address of the app for e-mails (settings.PARCOURS_BASE_URL, e.g. https://parcours.example.fr)."""
    base = getattr(settings, "PARCOURS_BASE_URL", "")
    if not base:
        raise ImproperlyConfigured("PARCOURS_BASE_URL is required to send e-mails with links to Parcours.")
    return base.rstrip("/") + path


# What the e-mail says for each kind: never the beneficiary, never the message (which names colleagues
# only, but the e-mail travels outside the app): a short notice and a link to sign in.
EMAIL_TEXTS = {
    Notification.Kind.FILE_ASSIGNED: (
        "Parcours : des dossiers vous ont été confiés",
        "Des dossiers vous ont été confiés dans Parcours",
    ),
    Notification.Kind.COVER_STARTED: (
        "Parcours : début d'un intérim",
        "Un intérim vous concernant commence dans Parcours",
    ),
    Notification.Kind.COVER_ENDED: (
        "Parcours : fin d'un intérim",
        "Un intérim vous concernant se termine dans Parcours",
    ),
}


def notification_email_send(*, notification_id: int) -> bool:
    """Send a notification's e-mail once; return whether one was sent now.

    The row is locked (skip_locked: a duplicate delivery running at the same time gives up) and
    `emailed_at` set in the same transaction as the sending: a failure to send rolls it back and the
    task is retried; a message delivered again after success finds `emailed_at` set and does nothing.
    """
    with transaction.atomic():
        notification = (
            Notification.objects.select_for_update(of=("self",), skip_locked=True)
            .select_related("recipient")
            .filter(pk=notification_id, emailed_at__isnull=True)
            .first()
        )
        if notification is None or not notification.recipient.email or not notification.recipient.is_active:
            return False
        subject, intro = EMAIL_TEXTS[Notification.Kind(notification.kind)]
        link = site_url(reverse("team:notifications"))
        body = (
            f"Bonjour,\n\n{intro} : {link}\n\n"
            "Ce message ne contient aucune information sur les personnes suivies : "
            "connectez-vous pour les consulter.\n"
        )
        send_mail(subject, body, None, [notification.recipient.email])
        notification.emailed_at = timezone.now()
        notification.save(update_fields=["emailed_at"])
    return True
