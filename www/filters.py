"""The caseload's filters (django-filter), applied on top of `visible_beneficiaries(user)`: they narrow
the permission scope, never widen it.

Choices that name people or places (structures, referents, communes) come only from the files the
user may read, so that a dropdown never tells anyone what they may not know. Structured filters are
read from the URL (a filtered list can be bookmarked); the free-text search is not a filter: it is
personal data, posted and kept in the session (www.views.caseload, CaseloadSearchForm).
"""

import datetime
import functools
from dataclasses import dataclass

import django_filters
from django import forms
from django.db.models import Case, CharField, F, Q, QuerySet, Value, When
from django.utils import timezone

from accounts.models import Structure, User
from casework.models import (
    CONTRACT_ENDING,
    CONTRACT_EXPIRED,
    CONTRACT_NONE,
    CONTRACT_RUNNING,
    Beneficiary,
    Orientation,
)
from casework.permissions import visible_beneficiaries
from casework.querysets import SUPPORT_ENDED, SUPPORT_ONGOING
from team.deadlines import Deadlines, caseload_with_warning, months_before
from team.supervision import WARNINGS

# A signed contract ending within this many days is "ending" (flagged on the caseload, and a filter).
CONTRACT_ENDING_SOON_DAYS = 30
# "Appointment missed" looks this many days back.
MISSED_APPOINTMENT_DAYS = 60
SEARCH_MAX_LENGTH = 100

INVALID_CHOICE = "Ce choix n'est pas valide : choisissez une valeur de la liste."
NO_ORIENTATION = "aucune"
YES, NO = "oui", "non"
INACTIVE_MONTHS = {"3mois": 3, "6mois": 6}
CONTRACT_STATES = {
    "aucun": CONTRACT_NONE,
    "en_cours": CONTRACT_RUNNING,
    "bientot": CONTRACT_ENDING,
    "echu": CONTRACT_EXPIRED,
}


class Sort:
    """A sort order of the caseload: its label, the column it sorts and the ORDER BY it applies."""

    def __init__(self, label: str, column: str, descending: bool, *ordering):
        self.label, self.column, self.descending, self.ordering = label, column, descending, ordering


NAME_ASC = ("last_name", "first_name", "pk")
NAME_DESC = ("-last_name", "-first_name", "-pk")
SORTS = {
    "nom": Sort("Nom (A → Z)", "nom", False, *NAME_ASC),
    "-nom": Sort("Nom (Z → A)", "nom", True, *NAME_DESC),
    # Files never active come first when looking for the oldest activity, last when looking for the latest.
    "activite": Sort(
        "Dernière activité (la plus ancienne d'abord)",
        "activite",
        False,
        F("last_activity_at").asc(nulls_first=True),
        *NAME_ASC,
    ),
    "-activite": Sort(
        "Dernière activité (la plus récente d'abord)",
        "activite",
        True,
        F("last_activity_at").desc(nulls_last=True),
        *NAME_ASC,
    ),
    # Files without a signed contract come last either way. `contract_end` is BeneficiaryQuerySet.with_caseload_data's.
    "fin_contrat": Sort(
        "Fin de contrat (la plus proche d'abord)",
        "fin_contrat",
        False,
        F("contract_end").asc(nulls_last=True),
        *NAME_ASC,
    ),
    "-fin_contrat": Sort(
        "Fin de contrat (la plus lointaine d'abord)",
        "fin_contrat",
        True,
        F("contract_end").desc(nulls_last=True),
        *NAME_ASC,
    ),
}
DEFAULT_SORT = "nom"


__all__ = ["months_before"]  # defined in casework.querysets; the caseload's tests import it from here


# --- Choices limited to what the user may see ----------------------------------------------------


@dataclass(frozen=True)
class ScopeChoices:
    structures: frozenset[int]
    referents: frozenset[int]
    communes: tuple[str, ...]


_SCOPE_CHOICES = "_caseload_scope_choices"
_SCOPE = "_caseload_scope"


def caseload_scope(request) -> QuerySet[Beneficiary]:
    """`visible_beneficiaries(request.user)`, built once per request for the caseload's list and its
    filters' choices (~2.5 ms to build at department scale): both read the memberships the request has
    loaded, so they are the same scope. Only clones of it are evaluated."""
    scope = getattr(request, _SCOPE, None)
    if scope is None:
        scope = visible_beneficiaries(request.user)
        setattr(request, _SCOPE, scope)
    return scope


def scope_choices(request) -> ScopeChoices:
    """The current structures, current referents and communes of the files the user may read.

    One statement for the three lists (`SELECT DISTINCT` of the three columns over the user's scope),
    read once per request: three `IN (SELECT ... FROM <scope>)` would each make the database walk the
    scope again, and a supervisor's scope is tens of thousands of files (docs/performance.md).
    """
    cached = getattr(request, _SCOPE_CHOICES, None)
    if cached is None:
        rows = (
            caseload_scope(request)
            .order_by("commune")
            .values_list("current_structure_id", "current_referent_id", "commune")
            .distinct()
        )
        structures, referents, communes = set(), set(), {}
        for structure_id, referent_id, commune in rows:
            structures.add(structure_id)
            referents.add(referent_id)
            if commune:
                communes[commune] = None  # in the database's order (its collation)
        structures.discard(None)
        referents.discard(None)
        cached = ScopeChoices(frozenset(structures), frozenset(referents), tuple(communes))
        setattr(request, _SCOPE_CHOICES, cached)
    return cached


def visible_structures(request) -> QuerySet[Structure]:
    """The current structures of the files the user may read, ordered by the name they are shown
    (a sensitive structure sorts as « Structure partenaire » for outsiders: its place in the list
    does not hint at its real name)."""
    user = request.user
    own = [membership.structure_id for membership in user.active_memberships]
    shown_name = Case(
        When(Q(is_sensitive=True) & ~Q(pk__in=own), then=Value(Structure.NEUTRAL_LABEL)),
        default=F("name"),
        output_field=CharField(),
    )
    return (
        Structure.objects.filter(pk__in=scope_choices(request).structures)
        .only("name", "is_sensitive")  # what Structure.label_for reads
        .alias(shown_name=shown_name)
        .order_by("shown_name", "pk")
    )


def visible_referents(request) -> QuerySet[User]:
    """The current referents of the files the user may read."""
    referents = scope_choices(request).referents
    # Only what the option's label shows (ReferentChoiceField): a hundred users' timestamps are ~400
    # datetimes to convert for nothing.
    return (
        User.objects.filter(pk__in=referents)
        .only("first_name", "last_name", "username")
        .order_by("last_name", "first_name", "username")
    )


class StructureChoiceField(django_filters.fields.ModelChoiceField):
    """Structures labelled as this user may see them (`Structure.label_for`)."""

    def __init__(self, *args, viewer=None, **kwargs):
        self.viewer = viewer
        super().__init__(*args, **kwargs)

    def label_from_instance(self, obj):
        return obj.label_for(self.viewer)


class ReferentChoiceField(django_filters.fields.ModelChoiceField):
    def label_from_instance(self, obj):
        return obj.get_full_name() or obj.username


class StructureFilter(django_filters.ModelChoiceFilter):
    field_class = StructureChoiceField

    @property
    def field(self):
        self.extra["viewer"] = self.get_request().user
        return super().field


class ReferentFilter(django_filters.ModelChoiceFilter):
    field_class = ReferentChoiceField


# --- The forms --------------------------------------------------------------------------------------


class CaseloadFilterForm(forms.Form):
    """Bootstrap classes on every control; a control in error says so and points at its message."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            field.widget.attrs["class"] = "form-select form-select-sm"

    def full_clean(self):
        super().full_clean()
        for name in self._errors or ():
            if name in self.fields:
                attrs = self.fields[name].widget.attrs
                attrs["class"] += " is-invalid"
                attrs["aria-describedby"] = f"{self[name].auto_id}-erreur"


class CaseloadSearchForm(forms.Form):
    """The free-text search: a name or a CAF/MSA number. Posted, never put in a URL."""

    q = forms.CharField(
        label="Nom ou numéro allocataire",
        required=False,
        max_length=SEARCH_MAX_LENGTH,
        error_messages={"max_length": f"La recherche ne peut pas dépasser {SEARCH_MAX_LENGTH} caractères."},
    )


def _yes_no(value: str) -> bool:
    return value == YES


class CaseloadFilterSet(django_filters.FilterSet):
    """The caseload's structured filters and sort order, as URL parameters (French names).

    Expects a queryset from `visible_beneficiaries` passed through `.with_caseload_data()`, and the
    request (choices are limited to the user's files). `followed_only`: the list holds only the files
    the user follows, so there is no referent to choose.
    """

    statut = django_filters.ChoiceFilter(
        field_name="rsa_status",
        lookup_expr="exact",
        label="Droits RSA",
        choices=Beneficiary.RsaStatus.choices,
        empty_label="Tous",
        error_messages={"invalid_choice": INVALID_CHOICE},
    )
    sdd = django_filters.TypedChoiceFilter(
        field_name="sdd",
        lookup_expr="exact",
        label="Soumis aux droits et devoirs",
        choices=[("", "Tous"), (YES, "Oui"), (NO, "Non")],
        coerce=_yes_no,
        error_messages={"invalid_choice": INVALID_CHOICE},
    )
    orientation = django_filters.ChoiceFilter(
        method="filter_orientation",
        label="Orientation en vigueur",
        choices=[*Orientation.Track.choices, (NO_ORIENTATION, "Non orienté·e")],
        empty_label="Toutes",
        error_messages={"invalid_choice": INVALID_CHOICE},
    )
    structure = StructureFilter(
        field_name="current_structure",
        lookup_expr="exact",
        label="Structure référente",
        queryset=visible_structures,
        empty_label="Toutes",
        error_messages={"invalid_choice": INVALID_CHOICE},
    )
    referent = ReferentFilter(
        field_name="current_referent",
        lookup_expr="exact",
        label="Référent·e",
        queryset=visible_referents,
        empty_label="Tous",
        error_messages={"invalid_choice": INVALID_CHOICE},
    )
    commune = django_filters.ChoiceFilter(
        field_name="commune",
        lookup_expr="exact",
        label="Commune",
        choices=[],  # the communes of the user's files, set per request in __init__
        empty_label="Toutes",
        error_messages={"invalid_choice": INVALID_CHOICE},
    )
    contrat = django_filters.ChoiceFilter(
        method="filter_contract",
        label="Contrat",
        choices=[
            ("aucun", "Aucun contrat signé"),
            ("en_cours", f"En cours, fin dans plus de {CONTRACT_ENDING_SOON_DAYS} jours"),
            ("bientot", f"Fin dans les {CONTRACT_ENDING_SOON_DAYS} jours"),
            ("echu", "Échu"),
        ],
        empty_label="Tous",
        error_messages={"invalid_choice": INVALID_CHOICE},
    )
    inactivite = django_filters.ChoiceFilter(
        method="filter_inactive",
        label="Dernière activité",
        choices=[(key, f"Aucune depuis {months} mois") for key, months in INACTIVE_MONTHS.items()],
        empty_label="Indifférente",
        error_messages={"invalid_choice": INVALID_CHOICE},
    )
    absence = django_filters.ChoiceFilter(
        method="filter_missed_appointment",
        label=f"Rendez-vous manqué ({MISSED_APPOINTMENT_DAYS} derniers jours)",
        choices=[(YES, "Au moins un"), (NO, "Aucun")],
        empty_label="Indifférent",
        error_messages={"invalid_choice": INVALID_CHOICE},
    )
    # The supervisors' dashboard (team.supervision) links here with one of its indicators, which apply
    # the Département's deadlines (CaseworkSettings). Offered only when set: the referent's list reads no
    # settings, and the choice names the deadline as it is today.
    alerte = django_filters.ChoiceFilter(
        method="filter_warning",
        label="Indicateur du tableau de bord",
        choices=[],  # set per request in __init__, from the Département's deadlines
        empty_label="Aucun",
        error_messages={"invalid_choice": INVALID_CHOICE},
    )
    accompagnement = django_filters.TypedChoiceFilter(
        field_name="is_active",
        lookup_expr="exact",
        label="Accompagnement",
        choices=[("", "Tous"), (SUPPORT_ONGOING, "En cours"), (SUPPORT_ENDED, "Terminé")],
        coerce=lambda value: value == SUPPORT_ONGOING,
        error_messages={"invalid_choice": INVALID_CHOICE},
    )
    tri = django_filters.ChoiceFilter(
        method="sort",
        label="Trier par",
        choices=[(key, sort.label) for key, sort in SORTS.items()],
        empty_label=None,
        error_messages={"invalid_choice": INVALID_CHOICE},
    )

    class Meta:
        model = Beneficiary
        fields = []
        form = CaseloadFilterForm

    def __init__(self, data=None, queryset=None, *, request, followed_only: bool = False, **kwargs):
        super().__init__(data, queryset, request=request, **kwargs)
        if followed_only:
            del self.filters["referent"]
        self.filters["commune"].extra["choices"] = functools.cache(lambda: self._communes(request))
        if data is not None and data.get("alerte"):
            self.filters["alerte"].extra["choices"] = functools.cache(self._warning_choices)
        else:
            del self.filters["alerte"]

    @functools.cached_property
    def deadlines(self) -> Deadlines:
        """The Département's deadlines, now (one query, read only when the "alerte" filter is set)."""
        return Deadlines.current()

    def _warning_choices(self) -> list[tuple[str, str]]:
        return [(warning.key, warning.label(self.deadlines.settings)) for warning in WARNINGS.values()]

    @staticmethod
    def _communes(request) -> list[tuple[str, str]]:
        """The communes of the user's files (read with the other lists' values, scope_choices)."""
        return [(commune, commune) for commune in scope_choices(request).communes]

    # --- Domain filters -----------------------------------------------------------------------------

    def filter_orientation(self, queryset, name, value):
        return queryset.awaiting_orientation() if value == NO_ORIENTATION else queryset.with_track(value)

    def filter_contract(self, queryset, name, value):
        return queryset.with_contract_state(
            CONTRACT_STATES[value],
            today=timezone.localdate(),
            ending_within=datetime.timedelta(days=CONTRACT_ENDING_SOON_DAYS),
        )

    def filter_inactive(self, queryset, name, value):
        return queryset.inactive_since(months_before(timezone.now(), INACTIVE_MONTHS[value]))

    def filter_missed_appointment(self, queryset, name, value):
        now = timezone.now()
        return queryset.with_missed_appointment(
            since=now - datetime.timedelta(days=MISSED_APPOINTMENT_DAYS), until=now, missed=value == YES
        )

    def filter_warning(self, queryset, name, value):
        return caseload_with_warning(queryset, value, self.deadlines)

    def sort(self, queryset, name, value):
        return queryset.order_by(*SORTS[value].ordering)

    # --- For the page -------------------------------------------------------------------------------

    @property
    def current_sort(self) -> Sort:
        value = self.form.cleaned_data.get("tri") if self.is_valid() else ""
        return SORTS[value or DEFAULT_SORT]

    @property
    def narrows(self) -> bool:
        """Is any filter (other than the sort order) set?"""
        return any(self.data.get(name) for name in self.filters if name != "tri")
