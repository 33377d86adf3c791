"""The file page (*dossier*): everything the user may read about one beneficiary, read-only."""

from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_safe

from casework.models import Beneficiary
from casework.permissions import can_change, can_see_emergency_accesses, get_beneficiary_or_404
from casework.querysets import with_file_page_data


@require_safe
def file_detail(request, public_id):
    user = request.user
    beneficiary = get_beneficiary_or_404(
        user, public_id, queryset=Beneficiary.objects.select_related("current_referent", "current_structure")
    )
    with_file_page_data(user, beneficiary)
    may_change = can_change(user, beneficiary)
    now = timezone.now()
    shares = list(beneficiary.shares.all())
    for share in shares:
        share.active_now = share.is_active(at=now)
        share.may_end = share.active_now and (may_change or share.author_id == user.pk)
    shares.sort(key=lambda share: not share.active_now)  # active shares first, each group newest first
    return render(
        request,
        "casework/file_detail.html",
        {
            "file": beneficiary,
            "can_change": may_change,
            "shares": shares,
            "show_emergency_accesses": can_see_emergency_accesses(user, beneficiary),
            "now": now,
        },
    )
