"""Template context for every page of a signed-in user: the number of their unread notifications.

The count is a callable the template calls only when it renders the header (a full page, not an htmx
partial): one indexed count (`notification_inbox`: recipient, read_at) per page, computed once, through a
statement compiled once per process and prepared on the connection (core.db_bundle: the count of a
part read with `first=0`), as every page pays it.
"""

import functools

from core.db_bundle import BundleTemplate, fetch_bundle
from team.models import Notification

_UNREAD = BundleTemplate(
    lambda user_id: {
        "unread": Notification.objects.filter(recipient=user_id, read_at__isnull=True).only("pk").order_by()
    }
)


def notifications(request) -> dict:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}

    @functools.cache
    def unread_notification_count() -> int:
        return fetch_bundle(_UNREAD.bind(user.pk), first={"unread": 0}).counts["unread"]

    return {"unread_notification_count": unread_notification_count}
