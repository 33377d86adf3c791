import time

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.shortcuts import redirect
from django.utils.cache import add_never_cache_headers

SESSION_LOGIN_AT = "parcours_login_at"


class SessionLifetimeMiddleware:
    """Ends a session SESSION_MAX_HOURS after login, whatever the activity.

    Inactivity is handled by the session cookie itself (SESSION_COOKIE_AGE, renewed on each
    request); this adds the absolute limit that a busy day must not extend.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            login_at = request.session.get(SESSION_LOGIN_AT)
            max_age = settings.SESSION_MAX_HOURS * 3600
            if login_at is None or time.time() - login_at > max_age:
                logout(request)
                messages.info(request, "Votre session a expiré : reconnectez-vous.")
                return redirect(settings.LOGIN_URL)
        return self.get_response(request)


class NoStoreForAuthenticatedMiddleware:
    """Pages seen by a signed-in user may hold personal data: no browser or proxy keeps a copy."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and not request.path.startswith(settings.STATIC_URL):
            add_never_cache_headers(response)
            response["Cache-Control"] = "no-store, no-cache, must-revalidate, max-age=0, private"
        return response
