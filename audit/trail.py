"""The audit trail: the one place that writes AuditEvent rows (docs/audit.md).

Views say what a request was about with `audit_annotate(request, ...)`; `AuditMiddleware` writes at
most one event per request for the screens listed in AUDITED_URLS (a read of a file, a list, a search,
a write), and the authentication signals record logins, failed logins and logouts. Each event is
chained: its hash covers its content and the hash of the previous event of its chain (a chain per day
and per shard of actors), so that `verify_audit` finds an event altered or removed behind the app's back.
"""

import datetime
import functools
import hashlib
import json
import uuid

from django.apps import apps
from django.conf import settings
from django.contrib import admin
from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, connections, router, transaction
from django.utils import timezone
from ipware.ip import get_client_ip

from audit.models import AuditEvent
from casework.models import Beneficiary

GENESIS = "0" * 64

# url name -> action, for requests the middleware records (method-specific where it matters).
AUDITED_URLS = {
    ("GET", "casework:file_detail"): AuditEvent.Action.VIEW_FILE,
    ("GET", "casework:caseload"): AuditEvent.Action.VIEW_LIST,
    ("POST", "casework:caseload_search"): AuditEvent.Action.SEARCH,
    ("POST", "casework:share_create"): AuditEvent.Action.SHARE,
    ("POST", "casework:share_end"): AuditEvent.Action.SHARE,
    ("POST", "casework:emergency_access"): AuditEvent.Action.EMERGENCY_ACCESS,
    ("GET", "casework:note_detail"): AuditEvent.Action.VIEW_NOTE,
    # The auditor's own reads of the trail are traces too (who searched what, who exported what).
    ("GET", "audit:events"): AuditEvent.Action.VIEW_AUDIT,
    ("GET", "audit:event_detail"): AuditEvent.Action.VIEW_AUDIT,
    ("GET", "audit:access_report"): AuditEvent.Action.ACCESS_REPORT,
    ("GET", "audit:access_report_export"): AuditEvent.Action.ACCESS_REPORT,
    ("POST", "audit:exports"): AuditEvent.Action.EXPORT,
    ("GET", "audit:export_download"): AuditEvent.Action.DOWNLOAD,
    # Supervision (issue 6): the team's lists of files, and their exports.
    ("GET", "team:dashboard"): AuditEvent.Action.VIEW_LIST,
    ("GET", "team:alerts"): AuditEvent.Action.VIEW_LIST,
    ("GET", "team:dashboard_export"): AuditEvent.Action.EXPORT,
    ("GET", "team:alerts_export"): AuditEvent.Action.EXPORT,
    ("GET", "team:reassign"): AuditEvent.Action.VIEW_LIST,
    # Imports of the CAF/MSA files (issue 7); the refused rows' CSV holds personal data.
    ("POST", "imports:list"): AuditEvent.Action.IMPORT,
    ("POST", "imports:run"): AuditEvent.Action.IMPORT,
    ("GET", "imports:errors_export"): AuditEvent.Action.EXPORT,
}
# Any other successful POST on one of the app's screens is a write (on a file when its URL names one).
WRITE_PREFIXES = ("casework:", "team:", "imports:", "audit:")
# A successful POST in the admin (department admins) that changes people, their memberships and roles
# is a permission change; any other change there (structures, reference lists) a write.
ADMIN_PREFIX = "admin:"
PERMISSION_MODELS = ("accounts_user_", "accounts_membership_", "auth_group_")

# What each screen the trail records is called for the people who read it (the auditor's screens, the
# access report and the exports), by URL name: every name of the audited namespaces, since any POST there
# is recorded as a write (tests/audit/test_audit_labels.py checks that none is missing). The admin's
# screens are named from their model (`screen_name`).
SCREEN_NAMES = {
    # The files (www; namespace `casework`).
    "casework:caseload": "Liste des dossiers",
    "casework:caseload_search": "Recherche de dossiers",
    "casework:file_detail": "Page du dossier",
    "casework:note_detail": "Lecture d'une note",
    "casework:note_create": "Nouvelle note",
    "casework:note_recipients_search": "Recherche des destinataires d'une note",
    "casework:share_create": "Partage du dossier",
    "casework:share_end": "Fin d'un partage",
    "casework:share_target_search": "Recherche des destinataires d'un partage",
    "casework:emergency_access": "Accès exceptionnel à un dossier",
    "casework:step_create": "Nouvelle étape",
    "casework:step_status": "Avancement d'une étape",
    "casework:appointment_create": "Nouveau rendez-vous",
    "casework:appointment_record": "Issue d'un rendez-vous",
    "casework:entry_correct": "Correction d'une saisie",
    "casework:entry_withdraw": "Retrait d'une saisie",
    "casework:contract_create": "Nouveau contrat",
    "casework:contract_sign": "Signature d'un contrat",
    "casework:contract_renew": "Renouvellement d'un contrat",
    "casework:orientation_decide": "Décision d'orientation",
    "casework:reorientation_request": "Demande de réorientation",
    "casework:reorientation_decide": "Décision sur une demande de réorientation",
    "casework:objective_create": "Nouvel objectif",
    "casework:objective_status": "Avancement d'un objectif",
    "casework:action_create": "Nouvelle action d'un objectif",
    "casework:action_status": "Avancement d'une action",
    "casework:diagnostic_create": "Nouveau diagnostic socio-professionnel",
    "casework:barrier_resolve": "Levée d'un frein",
    "casework:support_end": "Fin d'accompagnement",
    # The audit trail.
    "audit:events": "Journal d'audit",
    "audit:event_detail": "Événement du journal d'audit",
    "audit:access_report": "Rapport des accès à un dossier",
    "audit:access_report_export": "Export du rapport des accès à un dossier",
    "audit:exports": "Exports du journal d'audit",
    "audit:export_status": "Suivi d'un export du journal d'audit",
    "audit:export_download": "Téléchargement d'un export du journal d'audit",
    # Supervision.
    "team:dashboard": "Tableau de bord de l'équipe",
    "team:dashboard_export": "Export du tableau de bord de l'équipe",
    "team:alerts": "Alertes de l'équipe",
    "team:alerts_export": "Export des alertes de l'équipe",
    "team:reassign": "Réaffectation de dossiers",
    "team:covers": "Intérims",
    "team:cover_cancel": "Annulation d'un intérim",
    "team:notifications": "Notifications",
    "team:notification_read": "Notification lue",
    # Imports.
    "imports:list": "Imports des flux CAF/MSA",
    "imports:detail": "Suivi d'un import",
    "imports:run": "Lancement d'un import",
    "imports:errors_export": "Export des lignes refusées d'un import",
}
ADMIN_SCREEN = "Administration"
ADMIN_VIEWS = {
    "changelist": "liste",
    "add": "ajout",
    "change": "modification",
    "delete": "suppression",
    "history": "historique",
    "password_change": "changement de mot de passe",
}


@functools.cache
def admin_screen_names() -> dict[str, str]:
    """The admin's screens of each model registered there, named from the model: "Administration,
    comptes : modification" for `admin:accounts_user_change`."""
    return {
        f"{ADMIN_PREFIX}{model._meta.app_label}_{model._meta.model_name}_{view}": (
            f"{ADMIN_SCREEN}, {model._meta.verbose_name_plural} : {label}"
        )
        for model in apps.get_models()
        if admin.site.is_registered(model)
        for view, label in ADMIN_VIEWS.items()
    }


def screen_name(url_name: str) -> str:
    """The screen's French name: "Page du dossier" for `casework:file_detail`, "Administration, comptes :
    modification" for `admin:accounts_user_change`, "Administration" for the admin's other screens; the
    URL name itself when it has none (an event recorded before a screen was renamed), "—" for an event
    without a screen (a login)."""
    if not url_name:
        return "—"
    if url_name in SCREEN_NAMES:
        return SCREEN_NAMES[url_name]
    if url_name.startswith(ADMIN_PREFIX):
        return admin_screen_names().get(url_name, ADMIN_SCREEN)
    return url_name


# The answer to an audited request, in words (the status code in brackets when it is not a plain success).
RESPONSE_LABELS = {
    301: "accepté, redirigé",
    302: "accepté, redirigé",
    303: "accepté, redirigé",
    304: "accepté",
    400: "refusé : demande invalide (400)",
    401: "refusé : non connecté (401)",
    403: "interdit (403)",
    404: "refusé (404)",
    405: "refusé : méthode non permise (405)",
    410: "refusé : n'existe plus (410)",
    429: "refusé : trop de tentatives (429)",
}


def response_label(status_code: int | None) -> str:
    """ "accepté" for 200, "refusé (404)", "interdit (403)", "erreur du serveur (500)"; "—" when none."""
    if status_code is None:
        return "—"
    if status_code in RESPONSE_LABELS:
        return RESPONSE_LABELS[status_code]
    if 200 <= status_code < 300:
        return "accepté"
    if status_code >= 500:
        return f"erreur du serveur ({status_code})"
    if status_code >= 400:
        return f"refusé ({status_code})"
    return f"réponse {status_code}"


# The fields the hash covers, in this order (never reorder: old events would stop verifying).
HASHED_FIELDS = (
    "occurred_at",
    "chain_day",
    "chain_shard",
    "sequence",
    "previous_hash",
    "actor_id",
    "actor_username",
    "actor_structures",
    "actor_roles",
    "action",
    "url_name",
    "status_code",
    "beneficiary_id",
    "object_type",
    "object_id",
    "ip_address",
    "user_agent",
    "request_id",
    "reason",
    "details",
)


def event_hash(event: AuditEvent) -> str:
    values = {}
    for name in HASHED_FIELDS:
        value = getattr(event, name)
        if name == "occurred_at":
            value = value.astimezone(datetime.UTC).isoformat(timespec="microseconds")
        values[name] = value
    payload = json.dumps(values, cls=DjangoJSONEncoder, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(payload.encode()).hexdigest()


def audit_annotate(request, **fields) -> None:
    """Let the middleware know what this request was about (beneficiary, object, reason, details)."""
    annotations = getattr(request, "_audit", {})
    annotations.update(fields)
    request._audit = annotations


def _actor_fields(user) -> dict:
    if user is None or not user.is_authenticated:
        return {"actor": None, "actor_username": ""}
    memberships = user.active_memberships
    return {
        "actor": user,
        "actor_username": user.get_username(),
        "actor_structures": ", ".join(sorted({m.structure.name for m in memberships}))[:500],
        "actor_roles": ", ".join(sorted({m.role for m in memberships}))[:200],
    }


def client_address(request) -> str | None:
    """The client's address as django-axes reads it for the lockout: the same django-ipware call with the
    same settings (config/settings/base.py, AXES_PROXY_COUNT), so that a client cannot choose the address
    recorded by forging X-Forwarded-For, and the trail and the lockout name the same address."""
    address, _routable = get_client_ip(
        request,
        # The setting, as the literal django-ipware's signature names.
        proxy_order="right-most" if settings.AXES_IPWARE_PROXY_ORDER == "right-most" else "left-most",
        proxy_count=settings.AXES_IPWARE_PROXY_COUNT,
        proxy_trusted_ips=settings.AXES_IPWARE_PROXY_TRUSTED_IPS,
        request_header_order=settings.AXES_IPWARE_META_PRECEDENCE_ORDER,
    )
    return address


def _storable(value):
    """The value with each NUL character replaced by U+FFFD (the replacement character), in every string
    of it (dict keys included): PostgreSQL stores no NUL, in text or in jsonb, and a request may carry
    one (`?page=%00`): the trail keeps the rest of what was asked."""
    if isinstance(value, str):
        return value.replace("\x00", "\ufffd")
    if isinstance(value, dict):
        return {_storable(key): _storable(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_storable(item) for item in value]
    return value


def _client_fields(request) -> dict:
    if request is None:
        return {}
    return {
        "ip_address": client_address(request),
        "user_agent": _storable(request.META.get("HTTP_USER_AGENT", "")[:300]),
        "request_id": _storable(request.META.get("HTTP_X_REQUEST_ID", "")[:64]) or uuid.uuid4().hex,
    }


def audit_record(
    *,
    action: str,
    user=None,
    request=None,
    beneficiary: Beneficiary | None = None,
    beneficiary_public_id=None,
    object_type: str = "",
    object_id: str = "",
    reason: str = "",
    details: dict | None = None,
    url_name: str = "",
    status_code: int | None = None,
) -> AuditEvent:
    """Append one event to its chain. Concurrent writers of the same chain retry on the unique link."""
    now = timezone.now()
    shard_count = settings.AUDIT_CHAIN_SHARDS
    event = AuditEvent(
        occurred_at=now,
        chain_day=timezone.localdate(now),
        chain_shard=(user.pk if user is not None and user.pk else 0) % shard_count,
        action=action,
        url_name=url_name,
        status_code=status_code,
        object_type=_storable(object_type),
        object_id=_storable(str(object_id or "")[:64]),
        reason=_storable(reason),
        # As it will be stored and read back (a date becomes its ISO text, say), so that the hash taken
        # now is the one `verify_chains` takes of the stored row.
        details=_storable(json.loads(json.dumps(details or {}, cls=DjangoJSONEncoder))),
        **_actor_fields(user),
        **_client_fields(request),
    )
    if beneficiary is not None:
        event.beneficiary = beneficiary
    elif beneficiary_public_id is not None:
        found = Beneficiary.objects.filter(public_id=beneficiary_public_id).values_list("pk", flat=True).first()
        event.beneficiary_id = found
    using = router.db_for_write(AuditEvent)
    for _attempt in range(5):
        last = _last_link(using, event.chain_day, event.chain_shard)
        event.sequence, event.previous_hash = (last[0] + 1, last[1]) if last else (1, GENESIS)
        event.hash = event_hash(event)
        try:
            # Outside a transaction (the middleware runs after ATOMIC_REQUESTS' block) the INSERT is all
            # it costs; inside one, a savepoint keeps a lost race from breaking the transaction.
            if connections[using].in_atomic_block:
                with transaction.atomic(using=using):
                    event.save(force_insert=True, using=using)
            else:
                event.save(force_insert=True, using=using)
            return event
        except IntegrityError:
            # Another writer took this link (the unique (chain_day, chain_shard, sequence)): chain after it.
            event.pk = None
    raise RuntimeError("Could not append to the audit chain after 5 attempts.")


def _last_link(using: str, chain_day: datetime.date, chain_shard: int) -> tuple[int, str] | None:
    """(sequence, hash) of the chain's last event, or None for a new chain (an index scan of the unique
    constraint's index, backwards)."""
    return (
        AuditEvent.objects.using(using)
        .filter(chain_day=chain_day, chain_shard=chain_shard)
        .order_by("-sequence")
        .values_list("sequence", "hash")
        .first()
    )


def verify_chains(queryset=None):
    """Walk every chain in order; return (events checked, first broken event or None, why)."""
    events = (queryset or AuditEvent.objects.all()).order_by("chain_day", "chain_shard", "sequence")
    checked = 0
    expected_previous: dict[tuple, tuple[int, str]] = {}
    for event in events.iterator(chunk_size=2000):
        checked += 1
        key = (event.chain_day, event.chain_shard)
        previous = expected_previous.get(key)
        if previous is None:
            # Retention removes whole days, so every chain still starts at its first link.
            if event.sequence != 1 or event.previous_hash != GENESIS:
                return checked, event, "le premier maillon de la chaîne manque"
        elif event.sequence != previous[0] + 1:
            return checked, event, f"maillon {previous[0] + 1} manquant"
        elif event.previous_hash != previous[1]:
            return checked, event, "l'empreinte précédente ne correspond pas"
        if event_hash(event) != event.hash:
            return checked, event, "le contenu ne correspond pas à son empreinte"
        expected_previous[key] = (event.sequence, event.hash)
    return checked, None, ""
