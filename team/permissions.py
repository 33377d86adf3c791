"""Who may use the team's screens and act on its covers: the supervisors of the structures concerned
(docs/permissions.md, "Supervising the team"). The files themselves follow casework.permissions."""

from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet

from accounts.models import Role, Structure, User
from casework.models import Cover
from casework.permissions import supervised_structure_ids

SUPERVISORS_PAGE = "Cette page est réservée aux responsables d'équipe."
SUPERVISORS_DASHBOARD = "Ce tableau de bord est réservé aux responsables d'équipe."
SUPERVISORS_ACTION = "Cette action est réservée aux responsables d'équipe."


def supervised_structures(user: User) -> list[Structure]:
    """The structures this user supervises today (from the memberships cached on the user)."""
    structures = {m.structure_id: m.structure for m in user.active_memberships if m.role == Role.SUPERVISOR}
    return sorted(structures.values(), key=lambda structure: (structure.name, structure.pk))


def check_supervises(user: User, message: str = SUPERVISORS_PAGE) -> list[Structure]:
    """The supervised structures; 403 for anyone who supervises none today."""
    structures = supervised_structures(user)
    if not structures:
        raise PermissionDenied(message)
    return structures


def visible_covers(user: User) -> QuerySet[Cover]:
    """The covers of the structures the user supervises (none for anybody else): another structure's
    cover is a 404."""
    return Cover.objects.filter(structure_id__in=supervised_structure_ids(user))
