"""Template helpers for the links to the audit screens."""

from django import template

from casework.permissions import supervises

register = template.Library()


@register.filter
def reads_access_report_of(user, beneficiary) -> bool:
    """Does the file page offer this user its access report? Its supervisors' (no query: memberships
    are cached for the request). Auditors open it from the audit trail; they read no file page."""
    return supervises(user, beneficiary)
