"""The caseload (*mes dossiers*): the files a user may read, as a paginated, sorted table."""

import datetime

from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_safe

from casework.models import Orientation
from casework.permissions import reads_files, visible_beneficiaries
from casework.querysets import with_caseload_data

PAGE_SIZE = 50
# A signed contract ending within this many days is flagged on the caseload.
CONTRACT_ENDING_SOON_DAYS = 30

VIEW_FOLLOWED = "suivis"
VIEW_ALL = "tous"


def _contract_state(end: datetime.date | None, today: datetime.date) -> str:
    if end is None:
        return ""
    if end < today:
        return "expired"
    if end <= today + datetime.timedelta(days=CONTRACT_ENDING_SOON_DAYS):
        return "ending"
    return "running"


@require_safe
def caseload(request):
    user = request.user
    if not reads_files(user):
        # Auditors (and people with no membership in force) read no files at all.
        raise PermissionDenied("Votre rôle ne donne accès à aucun dossier.")

    # A referent starts from the files they follow; supervisors and admins from all they may read.
    can_follow = user.is_referent
    default_view = VIEW_FOLLOWED if can_follow and not user.is_supervisor else VIEW_ALL
    view = request.GET.get("vue", default_view)
    if view not in (VIEW_FOLLOWED, VIEW_ALL) or (view == VIEW_FOLLOWED and not can_follow):
        view = default_view

    files = visible_beneficiaries(user)
    if view == VIEW_FOLLOWED:
        files = files.followed_by(user)
    files = with_caseload_data(files).order_by("last_name", "first_name", "pk")

    page = Paginator(files, PAGE_SIZE).get_page(request.GET.get("page"))
    today = timezone.localdate()
    for beneficiary in page:
        # A file whose support has ended has no contract to renew: its end date is shown, not flagged.
        state = _contract_state(beneficiary.contract_end, today)
        beneficiary.contract_state = "running" if state and not beneficiary.is_active else state
        track = beneficiary.orientation_track
        beneficiary.orientation_label = Orientation.Track(track).label if track else ""

    return render(
        request,
        "casework/caseload.html",
        {
            "page_obj": page,
            "page_range": page.paginator.get_elided_page_range(page.number, on_each_side=2, on_ends=1),
            "view": view,
            "can_follow": can_follow,
            "VIEW_FOLLOWED": VIEW_FOLLOWED,
            "VIEW_ALL": VIEW_ALL,
            "ending_soon_days": CONTRACT_ENDING_SOON_DAYS,
        },
    )
