"""Template helpers for the pathway's write buttons on the file page (`{% load pathway %}`).

They read what the file page has already fetched (www.file_page.file_page_data: the file's
orientations and reorientation requests are prefetched) and add no query.
"""

from django import template

from casework.models import Orientation, ReorientationRequest
from casework.permissions import may_decide_orientation as _may_decide_orientation

register = template.Library()


@register.filter
def renewed_contract_ids(contracts) -> set[int]:
    """`{% with renewed=file.contracts.all|renewed_contract_ids %}`: the ids of the contracts that a
    contract of the list renews (one pass over the list, instead of a query per contract)."""
    return {contract.renews_id for contract in contracts if contract.renews_id}


@register.filter
def orientation_in_force(beneficiary):
    """The decided orientation of the file, from its prefetched orientations."""
    return next((o for o in beneficiary.orientations.all() if o.status == Orientation.Status.DECIDED), None)


@register.filter
def pending_reorientation(beneficiary):
    """The reorientation request waiting for a decision on this file, if any, from its prefetched
    reorientation requests."""
    return next(
        (r for r in beneficiary.reorientation_requests.all() if r.status == ReorientationRequest.Status.PENDING), None
    )


@register.filter
def may_decide_orientation(user, beneficiary) -> bool:
    """`{% if user|may_decide_orientation:file %}`: supervisors of the file's structure."""
    return _may_decide_orientation(user, beneficiary)
