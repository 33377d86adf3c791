"""Template helpers for the casework pages."""

from django import template
from django.utils.html import conditional_escape
from django.utils.safestring import mark_safe

from core.paths import path_to

register = template.Library()


@register.filter
def structure_label(structure, user) -> str:
    """`{{ structure|structure_label:user }}`: the structure's name, or a neutral label for a sensitive
    structure shown to someone outside it (Structure.label_for). Empty for no structure."""
    if structure is None or structure == "":
        return ""
    return structure.label_for(user)


@register.filter
def person(user) -> str:
    """A professional's name as shown on the pages (full name, or username when it is missing)."""
    if user is None or user == "":
        return ""
    return user.get_full_name() or user.username


def csrf_input(context) -> str:
    """What `{% csrf_token %}` writes, for the tags that write a form in Python."""
    token = context.get("csrf_token")
    if not token or token == "NOTPROVIDED":  # noqa: S105 (Django's mark of a page without a token)
        return ""
    return f'<input type="hidden" name="csrfmiddlewaretoken" value="{conditional_escape(token)}">'


# The main menu's links: (URL name, label, the pages it is current on, text-nowrap), by who sees them.
_MENU = (
    ("home", "Accueil", {"home"}, False, lambda user: True),
    (
        "casework:caseload",
        "Mes dossiers",
        {"caseload"},
        True,
        lambda user: user.is_referent or user.is_supervisor or user.is_department_admin,
    ),
    (
        "team:dashboard",
        "Mon équipe",
        {"team_dashboard", "team_alerts"},
        True,
        lambda user: user.is_supervisor,
    ),
    ("casework:emergency_access", "Accès exceptionnel", {"emergency_access"}, True, lambda user: user.is_referent),
    ("team:reassign", "Réaffectations", {"reassign", "covers"}, True, lambda user: user.is_supervisor),
    ("team:notifications", "Notifications", {"notifications"}, True, lambda user: True),
    ("imports:list", "Imports", {"imports", "import_detail"}, False, lambda user: user.is_department_admin),
    ("admin:index", "Administration", set(), False, lambda user: user.is_department_admin),
    ("audit:events", "Journal d'audit", {"audit_events"}, True, lambda user: user.is_auditor),
    ("audit:exports", "Exports", {"audit_exports"}, False, lambda user: user.is_auditor),
)


@register.simple_tag(takes_context=True)
def main_menu(context) -> str:
    """`{% main_menu %}`: the header's menu of a signed-in user (the pages their roles open, the current
    one marked, the unread notifications), who they are and the logout button; nothing for others.

    Written in Python rather than as template nodes: every page shows it, and its ~60 nodes and ten
    `{% url %}` cost ~1.5 ms a page (docs/performance.md); tests/accounts/test_navigation.py compares it with the
    template it replaced, for every role and page."""
    user, request = context.get("user"), context.get("request")
    if user is None or not user.is_authenticated:
        return ""
    match = getattr(request, "resolver_match", None)
    current = match.url_name if match is not None else None
    items = []
    for name, label, pages, nowrap, shown in _MENU:
        if not shown(user):
            continue
        aria = ' aria-current="page"' if current in pages else ""
        text = label
        if name == "team:notifications":
            count = context.get("unread_notification_count")
            count = count() if callable(count) else count
            badge = ""
            if count:
                plural = "s" if count != 1 else ""
                badge = (
                    f' <span class="badge rounded-pill text-bg-light">{conditional_escape(count)}'
                    f'<span class="visually-hidden"> non lue{plural}</span></span>'
                )
            text = f'{label}<span id="notifications-compte">{badge}</span>'
        css = "nav-link text-nowrap" if nowrap else "nav-link"
        items.append(f'<li class="nav-item"><a class="{css}" href="{path_to(name)}"{aria}>{text}</a></li>')
    memberships = user.active_memberships
    who = f'<span class="fw-bold">{conditional_escape(user.get_full_name() or user.username)}</span>'
    if memberships:
        first = memberships[0]
        role = conditional_escape(f"{first.get_role_display()} – {first.structure.name}")
        who += (
            '\n<br class="d-none d-lg-inline"><span class="d-inline-block text-truncate align-bottom" '
            f'style="max-width: 18rem" title="{role}">{role}</span>'
        )
        if len(memberships) > 1:
            who += f"\n<span> (+{len(memberships) - 1})</span>"
    return mark_safe(  # noqa: S308 (every text escaped; labels and URLs are ours)
        '<button class="navbar-toggler border-white" type="button" data-bs-toggle="collapse" '
        'data-bs-target="#menu"\n aria-controls="menu" aria-expanded="false" aria-label="Ouvrir le menu">\n'
        '<span class="navbar-toggler-icon" style="filter: invert(1)"></span>\n</button>\n'
        '<div class="collapse navbar-collapse" id="menu">\n<ul class="navbar-nav me-auto">\n'
        + "\n".join(items)
        + '\n</ul>\n<div class="d-flex flex-column flex-lg-row align-items-lg-center gap-2">\n'
        f'<p class="mb-0 small text-nowrap" id="utilisateur">\n{who}\n</p>\n'
        f'<form method="post" action="{path_to("logout")}" class="mb-0">\n{csrf_input(context)}\n'
        '<button type="submit" class="btn btn-sm btn-light">Se déconnecter</button>\n</form>\n</div>\n</div>'
    )
