"""Filters of the audit trail (django-filter), shared by the auditor's search and by the exports.

Applied on top of `visible_audit_events(user)`, they narrow it, never widen it. The same FilterSet
validates the filters of an export when it is asked for (audit.views.exports) and rebuilds
its queryset in the worker (audit.exports), so that the file holds exactly the rows the
auditor saw on the search page.

Dates are days in the Département's time zone, turned into bounds on `occurred_at` (indexed) rather
than a cast of the column to a date, which no index would serve.
"""

import datetime
import re
import uuid

import django_filters
from django import forms
from django.contrib.postgres.fields import ArrayField
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import connections
from django.db.models import F, Func, Q, QuerySet, TextField, Value
from django.http import QueryDict
from django.utils import timezone

from accounts.models import Structure, User
from audit.models import AuditEvent
from casework.models import Beneficiary
from core.search import is_long_enough

# How an event's `actor_structures` joins the names of its actor's structures (audit.trail).
STRUCTURE_SEPARATOR = ", "
# Those names as a list: the expression migration 0016 indexes (written the same, for the planner to match).
STRUCTURE_NAMES = Func(
    F("actor_structures"), Value(STRUCTURE_SEPARATOR), function="string_to_array", output_field=ArrayField(TextField())
)

# How far back and forward "the events around one" looks, on each side.
AROUND_COUNT = 10


def day_start(day: datetime.date) -> datetime.datetime:
    """Midnight of this day in the Département's time zone, as an aware datetime."""
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))


# A CAF/MSA number as the app shows it or as it is read out: "CAF 2620084", "MSA n° 1234567", "262 00 84",
# "2620084". The organism, when given, must be the file's.
ALLOCATAIRE_NUMBER = re.compile(
    r"(?:(?P<organism>caf|msa)\s*)?(?:n\s*[°º˚o]\.?\s*)?(?P<number>\d[\d\s]*)", re.IGNORECASE
)


def _public_id(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(value)
    except ValueError:
        return None


def beneficiary_ids_for(value: str) -> list[int] | QuerySet:
    """The files an auditor names: by allocataire number, in the formats the app shows ("CAF 2620084",
    "MSA n° 1234567", a number with spaces), by public id, or by the person's name (every word in the
    names, accents and case aside: `Beneficiary.objects.matching`, the caseload's search)."""
    value = value.strip()
    files = Beneficiary.objects.all()
    if public_id := _public_id(value):
        files = files.filter(public_id=public_id)
    elif number := ALLOCATAIRE_NUMBER.fullmatch(value):
        files = files.filter(allocataire_number="".join(number["number"].split()))
        if number["organism"]:
            files = files.filter(organism=number["organism"].lower())
    elif is_long_enough(value):
        # A name may match many files: their ids as a subquery, not as that many parameters.
        return files.matching(value).values("pk")
    else:
        return []
    return list(files.values_list("pk", flat=True))


class AuditEventFilterForm(forms.Form):
    """Bootstrap classes on every control; a control in error says so and points at its message."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name, field in self.fields.items():
            if isinstance(field.widget, forms.CheckboxSelectMultiple):
                field.widget.attrs["class"] = "form-check-input"
            elif isinstance(field.widget, forms.Select):
                field.widget.attrs["class"] = "form-select form-select-sm"
            else:
                field.widget.attrs["class"] = "form-control form-control-sm"
            if field.help_text:
                field.widget.attrs["aria-describedby"] = f"{self[name].auto_id}-aide"

    def full_clean(self):
        super().full_clean()
        for name in self._errors or ():
            if name in self.fields:
                attrs = self.fields[name].widget.attrs
                attrs["class"] += " is-invalid"
                described_by = [attrs.get("aria-describedby", ""), f"{self[name].auto_id}-erreur"]
                attrs["aria-describedby"] = " ".join(part for part in described_by if part)

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("du"), cleaned.get("au")
        if start and end and start > end:
            self.add_error(
                "au", ValidationError("La date de fin doit être le même jour que la date de début ou après.")
            )
        return cleaned


# The days a period may name: the midnight of 1 January of the year 1 cannot be stored in UTC, and the
# 31 December 9999 has no next day to end the period on (a 500 otherwise, tests/test_hostile_parameters.py).
EARLIEST_DAY = datetime.date(1900, 1, 1)
LATEST_DAY = datetime.date(9998, 12, 31)
DAY_OUT_OF_RANGE = f"Choisissez une date entre le {EARLIEST_DAY:%d/%m/%Y} et le {LATEST_DAY:%d/%m/%Y}."
DAY_VALIDATORS = [MinValueValidator(EARLIEST_DAY, DAY_OUT_OF_RANGE), MaxValueValidator(LATEST_DAY, DAY_OUT_OF_RANGE)]


class AuditPeriodFilterSet(django_filters.FilterSet):
    """The period alone (the days `du` to `au`, both included): the access report's filter."""

    du = django_filters.DateFilter(
        label="Du",
        method="filter_from",
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        validators=DAY_VALIDATORS,
    )
    au = django_filters.DateFilter(
        label="Au (inclus)",
        method="filter_to",
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        validators=DAY_VALIDATORS,
    )

    class Meta:
        model = AuditEvent
        fields = []
        form = AuditEventFilterForm

    def filter_from(self, queryset: QuerySet, name, value):
        return queryset.filter(occurred_at__gte=day_start(value))

    def filter_to(self, queryset: QuerySet, name, value):
        return queryset.filter(occurred_at__lt=day_start(value + datetime.timedelta(days=1)))


class AuditEventFilterSet(AuditPeriodFilterSet):
    utilisateur = django_filters.CharFilter(label="Utilisateur (identifiant)", method="filter_user", max_length=150)
    structure = django_filters.ModelChoiceFilter(
        label="Structure de l'utilisateur",
        # The name is the label and what the filter looks for (Structure.__str__).
        queryset=Structure.objects.only("pk", "name").order_by("name"),
        method="filter_structure",
        empty_label="Toutes",
    )
    beneficiaire = django_filters.CharFilter(
        label="Bénéficiaire (n° allocataire, nom ou identifiant du dossier)",
        method="filter_beneficiary",
        max_length=64,
        help_text="Par exemple « CAF 2620084 », « 262 0084 » ou « Zoé Zidane ».",
    )
    action = django_filters.MultipleChoiceFilter(
        label="Action",
        choices=AuditEvent.Action.choices,
        widget=forms.CheckboxSelectMultiple,
        distinct=False,
        method="filter_action",
    )
    type_objet = django_filters.CharFilter(label="Type d'objet", field_name="object_type", max_length=50)
    objet = django_filters.CharFilter(label="Identifiant de l'objet", field_name="object_id", max_length=64)

    class Meta(AuditPeriodFilterSet.Meta):
        pass

    def filter_user(self, queryset: QuerySet, name, value):
        # Through the user's id, so that the index (actor, occurred_at) serves it; a comparison of the
        # stored username ignoring case would read every row. Users are never deleted (PROTECT).
        user_ids = User.objects.filter(username__iexact=value.strip()).values_list("pk", flat=True)
        return queryset.filter(actor_id__in=list(user_ids))

    def filter_action(self, queryset: QuerySet, name, value):
        # `action IN (...)`, which the index (action, occurred_at) serves as one Index Cond; the default
        # `action = a OR action = b` is a Filter on every entry of that index (66 ms instead of 3 for the
        # bounded count of two actions over 2 million events).
        return queryset.filter(action__in=value)

    def filter_structure(self, queryset: QuerySet, name, value):
        # actor_structures keeps the names of the actor's structures at that moment, ", "-separated. On
        # PostgreSQL, as a list whose index (migration 0016) finds the events that hold the name without
        # reading every event: an element equal to the name is the exact test. A name with a comma of its
        # own is split as the list is, and the regular expression tells it from its parts in other names.
        names = value.name.split(STRUCTURE_SEPARATOR)
        exact = rf"(^|{re.escape(STRUCTURE_SEPARATOR)}){re.escape(value.name)}({re.escape(STRUCTURE_SEPARATOR)}|$)"
        if connections[queryset.db].vendor != "postgresql":
            return queryset.filter(actor_structures__regex=exact)
        queryset = queryset.alias(actor_structure_names=STRUCTURE_NAMES).filter(actor_structure_names__contains=names)
        return queryset.filter(actor_structures__regex=exact) if len(names) > 1 else queryset

    def filter_beneficiary(self, queryset: QuerySet, name, value):
        return queryset.filter(beneficiary_id__in=beneficiary_ids_for(value))

    def filters_used(self) -> dict:
        """The filters in force, as they can be stored (JSON) and given back to this FilterSet."""
        if not self.form.is_bound:
            return {}
        return {
            key: self.data.getlist(key) for key in self.data if key in self.filters and any(self.data.getlist(key))
        }


def audit_event_filterset(data, queryset: QuerySet) -> AuditEventFilterSet:
    """The FilterSet bound to stored filters (an export's `filters`) or to a request's GET."""
    # A QueryDict is a dict too, whose items() give one value per key: keep it as it is.
    if isinstance(data, dict) and not isinstance(data, QueryDict):
        query = QueryDict(mutable=True)
        for key, values in data.items():
            query.setlist(key, values if isinstance(values, list) else [values])
        data = query
    return AuditEventFilterSet(data, queryset=queryset)


def around(event: AuditEvent, queryset: QuerySet) -> tuple[list[AuditEvent], list[AuditEvent]]:
    """The AROUND_COUNT events just before and just after this one in `queryset` (time order)."""
    before = queryset.filter(Q(occurred_at__lt=event.occurred_at) | Q(occurred_at=event.occurred_at, pk__lt=event.pk))
    after = queryset.filter(Q(occurred_at__gt=event.occurred_at) | Q(occurred_at=event.occurred_at, pk__gt=event.pk))
    earlier = list(before.order_by("-occurred_at", "-pk")[:AROUND_COUNT])[::-1]
    later = list(after.order_by("occurred_at", "pk")[:AROUND_COUNT])
    return earlier, later
