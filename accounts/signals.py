import time

from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver

from accounts.middleware import SESSION_LOGIN_AT


@receiver(user_logged_in, dispatch_uid="accounts_record_login_time")
def record_login_time(sender, request, user, **kwargs):
    # Read by SessionLifetimeMiddleware to end the session after SESSION_MAX_HOURS.
    if request is not None and hasattr(request, "session"):
        request.session[SESSION_LOGIN_AT] = time.time()
