from django.conf import settings
from django.http import HttpResponseServerError
from django.shortcuts import render
from django.template import loader
from django.views.decorators.csrf import requires_csrf_token
from django.views.decorators.http import require_safe

from accounts.models import Role

# What each role can do in Parcours, shown on the home page under its heading ("En tant que" elided by hand:
# a role's label begins with a vowel or not). Keep in step with docs/permissions.md.
ROLE_HEADINGS = {
    Role.REFERENT: "En tant que référent·e insertion",
    Role.SUPERVISOR: "En tant que responsable d'équipe",
    Role.DEPARTMENT_ADMIN: "En tant qu'administrateur·rice départemental·e",
    Role.AUDITOR: "En tant qu'auditeur·rice ou DPO",
}
ROLE_CAPABILITIES = {
    Role.REFERENT: [
        "Suivre les dossiers dont vous êtes le ou la référent·e et ceux qui vous sont partagés.",
        "Consigner les étapes du parcours, les rendez-vous, les contrats et les notes.",
        "Demander un accès exceptionnel à un dossier, avec un motif, lorsque la personne est devant vous.",
    ],
    Role.SUPERVISOR: [
        "Consulter les dossiers suivis dans les structures que vous encadrez.",
        "Revoir la charge de l'équipe, les retards et les contrats échus ; réaffecter des dossiers.",
    ],
    Role.DEPARTMENT_ADMIN: [
        "Gérer les comptes, les structures, les services et les rattachements (administration).",
        "Lancer et suivre les imports des flux CAF/MSA.",
        "Vous ne lisez pas les dossiers, sauf s'ils vous sont partagés comme à toute autre personne.",
    ],
    Role.AUDITOR: [
        "Consulter et exporter le journal des accès pour répondre aux demandes RGPD.",
        "Vous ne lisez pas le contenu des dossiers.",
    ],
}


@require_safe
def home(request):
    memberships = request.user.active_memberships
    roles = sorted({membership.role for membership in memberships}, key=list(Role.values).index)
    capabilities = [(ROLE_HEADINGS[Role(role)], ROLE_CAPABILITIES[Role(role)]) for role in roles]
    return render(request, "accounts/home.html", {"memberships": memberships, "capabilities": capabilities})


def bad_request(request, exception=None):
    return render(request, "errors/400.html", status=400)


@requires_csrf_token
def permission_denied(request, exception=None):
    return render(request, "errors/403.html", status=403)


def page_not_found(request, exception=None):
    return render(request, "errors/404.html", status=404)


def server_error(request):
    # Rendered without the request's context processors: the error may come from them, or from the
    # database they would query.
    context = {"departement_name": settings.PARCOURS_DEPARTEMENT_NAME}
    return HttpResponseServerError(loader.get_template("errors/500.html").render(context))


def locked_out(request, original_response=None, credentials=None):
    """django-axes' answer once a username/address pair has failed too often (HTTP 429).

    The same page whether the username exists or not: the lock is on the pair, not on an account.
    """
    cooloff_minutes = int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)
    return render(request, "registration/locked_out.html", {"cooloff_minutes": cooloff_minutes}, status=429)
