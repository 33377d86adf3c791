"""Template context for every page of a signed-in user: the number of their unread notifications.

The count is a callable the template calls only when it renders the header (a full page, not an htmx
partial): one indexed count (`notification_inbox`: recipient, read_at) per page, computed once.
"""

import functools

from team.models import Notification


def notifications(request) -> dict:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}

    @functools.cache
    def unread_notification_count() -> int:
        return Notification.objects.filter(recipient=user, read_at__isnull=True).count()

    return {"unread_notification_count": unread_notification_count}
