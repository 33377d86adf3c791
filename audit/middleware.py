"""One audit event per audited request, written after the response (docs/audit.md)."""

from audit.models import AuditEvent
from audit.trail import ADMIN_PREFIX, AUDITED_URLS, PERMISSION_MODELS, WRITE_PREFIXES, audit_record


class AuditMiddleware:
    """Writes at most one audit event per request, after the response, for the audited screens.

    Reads of a file, lists and searches are recorded with the filters used and the number of results
    (never the results); out-of-scope attempts (404) are recorded too, with their status code.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        match = getattr(request, "resolver_match", None)
        user = getattr(request, "user", None)
        if match is None or user is None or not user.is_authenticated:
            return response
        url_name = match.view_name
        action = AUDITED_URLS.get((request.method, url_name))
        annotations = getattr(request, "_audit", {})
        if action is None and request.method == "POST" and url_name.startswith(WRITE_PREFIXES):
            if response.status_code >= 400 or (response.status_code == 200 and not request.htmx):
                return response  # a form shown again with its errors wrote nothing
            action = AuditEvent.Action.WRITE
        elif action is None and request.method == "POST" and url_name.startswith(ADMIN_PREFIX):
            if response.status_code not in (301, 302, 303):
                return response  # the admin redirects after a change; anything else changed nothing
            model = url_name.removeprefix(ADMIN_PREFIX)
            is_permission = model.startswith(PERMISSION_MODELS)
            action = AuditEvent.Action.PERMISSION_CHANGE if is_permission else AuditEvent.Action.WRITE
            annotations = {"object_type": model.rsplit("_", 1)[0], "object_id": match.kwargs.get("object_id", "")}
        if action is None:
            return response
        details = dict(annotations.get("details", {}))
        if request.method == "GET" and request.GET:
            details.setdefault("filters", {key: request.GET.getlist(key) for key in request.GET})
        audit_record(
            action=action,
            user=user,
            request=request,
            beneficiary=annotations.get("beneficiary"),
            beneficiary_public_id=None if "beneficiary" in annotations else match.kwargs.get("public_id"),
            object_type=annotations.get("object_type", ""),
            object_id=annotations.get("object_id", ""),
            reason=annotations.get("reason", ""),
            details=details,
            url_name=url_name,
            status_code=response.status_code,
        )
        return response
