import time

from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver

from accounts.middleware import SESSION_LOGIN_AT


@receiver(user_logged_in, dispatch_uid="accounts_record_login_time")
def record_login_time(sender, request, user, **kwargs):
    # Read by SessionLifetimeMiddleware to end the session after SESSION_MAX_HOURS.
    if request is not None and hasattr(request, "session"):
        request.session[SESSION_LOGIN_AT] = time.time()


@receiver(user_logged_in, dispatch_uid="accounts_audit_login")
def audit_login(sender, request, user, **kwargs):
    from casework.audit import audit_record
    from casework.models import AuditEvent

    audit_record(action=AuditEvent.Action.LOGIN, user=user, request=request)


@receiver(user_logged_out, dispatch_uid="accounts_audit_logout")
def audit_logout(sender, request, user, **kwargs):
    from casework.audit import audit_record
    from casework.models import AuditEvent

    if user is not None:
        audit_record(action=AuditEvent.Action.LOGOUT, user=user, request=request)


@receiver(user_login_failed, dispatch_uid="accounts_audit_login_failed")
def audit_login_failed(sender, credentials, request=None, **kwargs):
    from casework.audit import audit_record
    from casework.models import AuditEvent

    # The username typed is kept (it may not exist); never the password.
    username = str((credentials or {}).get("username", ""))[:150]
    audit_record(action=AuditEvent.Action.LOGIN_FAILED, request=request, details={"username": username})
