"""Reassignments, covers during an absence (intérim) and notifications (issue 6).

- `reassign`: a supervisor moves one or many files of the structures they supervise to a referent of
  those structures, with a reason (team.services.beneficiaries_reassign). A file outside their
  scope, ticked or preselected, is a 404 for the whole request.
- `covers`, `cover_cancel`: the covers of the supervised structures, a form to set one, cancelling one
  (another structure's cover is a 404).
- `notifications`, `notification_read`: a user's own notifications (another's is a 404).

Pages for supervisors answer 403 to everybody else (the check comes before any lookup).
"""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Exists, F, OuterRef, Q
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.utils.http import urlencode
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from audit.trail import audit_annotate
from casework.models import Beneficiary
from casework.permissions import visible_beneficiaries
from team import services
from team.forms import CoverForm, ReassignFilterForm, ReassignForm
from team.models import Notification
from team.permissions import check_supervises, visible_covers

REASSIGN_PAGE_SIZE = 50
COVERS_PAGE_SIZE = 20
NOTIFICATIONS_PAGE_SIZE = 20
PRESELECT_PARAM = "dossier"


def _check_supervisor(user) -> None:
    check_supervises(user)


# --- Reassignment ------------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
def reassign(request):
    user = request.user
    _check_supervisor(user)
    scope = services.supervised_beneficiaries(user)
    files = scope.select_related("current_referent", "current_structure").order_by("last_name", "first_name", "pk")

    preselected = None
    if request.GET.get(PRESELECT_PARAM):
        try:
            preselected = scope.get(public_id=request.GET[PRESELECT_PARAM])
        except (Beneficiary.DoesNotExist, ValidationError, ValueError):
            raise Http404("Dossier introuvable.") from None
        files = files.filter(pk=preselected.pk)
    filter_form = ReassignFilterForm(request.GET, actor=user)
    filters_valid = filter_form.is_valid()
    if not filters_valid:
        files = files.none()
    elif filter_form.cleaned_data["referent"] is not None:
        files = files.filter(current_referent=filter_form.cleaned_data["referent"])

    if request.method == "POST":
        form = ReassignForm(request.POST, actor=user)
        if form.is_valid():
            ids = form.cleaned_data["dossiers"]
            chosen = list(scope.filter(public_id__in=ids))
            if len(chosen) != len(ids):
                raise Http404("Dossier introuvable.")
            membership = form.cleaned_data["referent"]
            try:
                result = services.beneficiaries_reassign(
                    actor=user,
                    beneficiaries=chosen,
                    referent=membership.user,
                    structure=membership.structure,
                    reason=form.cleaned_data["reason"],
                )
            except ValidationError as error:
                form.add_service_errors(error)
            else:
                audit_annotate(request, details={"count": len(result.moved)})
                moved = len(result.moved)
                text = "Le dossier est confié" if moved == 1 else f"{moved} dossiers sont confiés"
                text += f" à {membership.user.get_full_name() or membership.user.username} ({membership.structure})."
                if result.unchanged == 1:
                    text += " Un dossier coché était déjà suivi par cette personne."
                elif result.unchanged:
                    text += f" {result.unchanged} dossiers cochés étaient déjà suivis par cette personne."
                messages.success(request, text)
                if preselected is not None:
                    return redirect("casework:file_detail", public_id=preselected.public_id)
                return redirect(request.get_full_path())
        selected = {str(value) for value in request.POST.getlist("dossiers")}
    else:
        form = ReassignForm(actor=user)
        selected = {str(preselected.public_id)} if preselected else set()

    page = Paginator(files, REASSIGN_PAGE_SIZE).get_page(request.GET.get("page"))
    # Trail data only: how many files the list showed, never which.
    audit_annotate(request, details={"count": page.paginator.count})
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "page_obj": page,
        "page_range": page.paginator.get_elided_page_range(page.number, on_each_side=2, on_ends=1),
        "filter_form": filter_form,
        "filters_valid": filters_valid,
        "form": form,
        "selected": selected,
        "preselected": preselected,
        "query": query.urlencode(),
    }
    return render(request, "team/reassign.html", context)


# --- Covers during an absence ------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
def covers(request):
    user = request.user
    _check_supervisor(user)
    if request.method == "POST":
        form = CoverForm(request.POST, actor=user)
        if form.is_valid():
            try:
                cover = services.cover_create(actor=user, **form.cover_arguments())
            except ValidationError as error:
                form.add_service_errors(error)
            else:
                audit_annotate(request, object_type="cover", object_id=str(cover.public_id))
                messages.success(
                    request,
                    f"{cover.covering_referent.get_full_name() or cover.covering_referent.username} assurera "
                    f"l'intérim de {cover.absent_referent.get_full_name() or cover.absent_referent.username} "
                    f"du {cover.starts_on:%d/%m/%Y} au {cover.ends_on:%d/%m/%Y} inclus.",
                )
                return redirect("team:covers")
    else:
        form = CoverForm(actor=user)

    today = timezone.localdate()
    all_covers = visible_covers(user).select_related(
        "absent_referent", "covering_referent", "structure", "created_by", "cancelled_by"
    )
    ongoing = Q(cancelled_at__isnull=True, ends_on__gte=today)
    upcoming = list(all_covers.filter(ongoing).order_by("starts_on", "ends_on", "pk"))
    for cover in upcoming:
        cover.is_current = cover.starts_on <= today
    past = all_covers.exclude(ongoing).order_by("-ends_on", "-pk")
    page = Paginator(past, COVERS_PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "form": form,
        "current_covers": [cover for cover in upcoming if cover.is_current],
        "future_covers": [cover for cover in upcoming if not cover.is_current],
        "page_obj": page,
        "page_range": page.paginator.get_elided_page_range(page.number, on_each_side=2, on_ends=1),
    }
    return render(request, "team/covers.html", context)


@require_POST
def cover_cancel(request, cover_id):
    user = request.user
    _check_supervisor(user)
    cover = get_object_or_404(
        visible_covers(user).select_related("absent_referent", "covering_referent"), public_id=cover_id
    )
    if cover.cancelled_at is not None:
        messages.info(request, "Cet intérim était déjà annulé.")
    else:
        services.cover_cancel(actor=user, cover=cover)
        audit_annotate(request, object_type="cover", object_id=str(cover.public_id))
        messages.success(request, "L'intérim est annulé : il ne donne plus accès aux dossiers.")
    return redirect("team:covers")


# --- Notifications -----------------------------------------------------------------------------


def _notification_link(notification: Notification, user) -> tuple[str, str]:
    """Where a notification leads, and the link's text: a file only while the user may read it."""
    if notification.kind == Notification.Kind.FILE_ASSIGNED:
        if notification.file_public_id and notification.file_visible:
            return reverse("casework:file_detail", args=[notification.file_public_id]), "Ouvrir le dossier"
        if notification.file_public_id is None and user.is_referent:
            return f"{reverse('casework:caseload')}?{urlencode({'vue': 'suivis'})}", "Voir mes dossiers"
        return "", ""
    cover = notification.cover
    if (
        notification.kind == Notification.Kind.COVER_STARTED
        and cover is not None
        and cover.covering_referent_id == user.pk
        and cover.cancelled_at is None
        and cover.starts_on <= timezone.localdate() <= cover.ends_on
    ):
        query = urlencode({"vue": "tous", "referent": cover.absent_referent_id})
        return f"{reverse('casework:caseload')}?{query}", "Voir les dossiers suivis pendant l'intérim"
    return "", ""


def _unread_count(user) -> int:
    return Notification.objects.filter(recipient=user, read_at__isnull=True).count()


def _user_notifications(user):
    readable = visible_beneficiaries(user).filter(pk=OuterRef("beneficiary_id"))
    return (
        Notification.objects.filter(recipient=user)
        .select_related("cover")
        .annotate(file_public_id=F("beneficiary__public_id"), file_visible=Exists(readable))
    )


@require_safe
def notifications(request):
    user = request.user
    page = Paginator(_user_notifications(user).order_by("-created_at", "-pk"), NOTIFICATIONS_PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    for notification in page:
        notification.link, notification.link_label = _notification_link(notification, user)
    context = {
        "page_obj": page,
        "page_range": page.paginator.get_elided_page_range(page.number, on_each_side=2, on_ends=1),
    }
    return render(request, "team/notifications.html", context)


@require_POST
def notification_read(request, notification_id):
    user = request.user
    notification = get_object_or_404(_user_notifications(user), public_id=notification_id)
    services.notification_mark_read(actor=user, notification=notification)
    if request.htmx:
        notification.link, notification.link_label = _notification_link(notification, user)
        response = render(
            request,
            "team/includes/notification.html",
            {"notification": notification, "swap_count": True, "unread_count": _unread_count(user)},
        )
        patch_vary_headers(response, ["HX-Request"])
        return response
    page = request.POST.get("page", "")
    target = reverse("team:notifications")
    return redirect(f"{target}?page={page}" if page.isdigit() else target)
