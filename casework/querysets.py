"""Named read bundles for the screens: what each page fetches, in a constant number of queries.

These take a queryset (or a file) that the permission layer has already scoped
(`casework.permissions.visible_beneficiaries` / `get_beneficiary_or_404`); they never widen it.
"""

import datetime
import re

from django.db.models import (
    Exists,
    F,
    OuterRef,
    Q,
    QuerySet,
)

from casework.models import Appointment, Beneficiary, Contract, Orientation, search_key


def with_caseload_data(queryset: QuerySet[Beneficiary]) -> QuerySet[Beneficiary]:
    """The caseload's columns: the track of the orientation in force (a subquery: no query per row), the
    end of the latest signed, non-withdrawn contract (the file's `signed_contract_end`) and the current
    referent and structure. The caseload's sort by contract end (www.filters) relies on the
    `contract_end` annotation."""
    return queryset.select_related("current_referent", "current_structure").annotate(
        contract_end=F("signed_contract_end"),
    )


# What the caseload's rows show (templates/casework/includes/caseload_results.html, views/caseload.py).
CASELOAD_COLUMNS = (
    "public_id",
    "last_name",
    "first_name",
    "birth_date",
    "organism",
    "allocataire_number",
    "commune",
    "is_active",
    "orientation_track",
    "signed_contract_end",
    "last_activity_at",
    "current_referent__first_name",
    "current_referent__last_name",
    "current_referent__username",
    "current_structure__name",
    "current_structure__is_sensitive",
)


# --- The caseload's filters and search (www.filters, www.views.caseload) -------------------
# Each takes a queryset already scoped by casework.permissions.visible_beneficiaries and only narrows it.


def orientation_in_force() -> QuerySet[Orientation]:
    """The orientation in force of the file at OuterRef("pk"): the decided one (a unique constraint
    allows one at most)."""
    return Orientation.objects.filter(beneficiary=OuterRef("pk"), status=Orientation.Status.DECIDED).order_by(
        "-decided_on", "-created_at"
    )


def latest_signed_contract() -> QuerySet[Contract]:
    """The signed contracts of the file at OuterRef("pk") that were not withdrawn, latest first."""
    return Contract.objects.filter(
        beneficiary=OuterRef("pk"), status=Contract.Status.SIGNED, withdrawn_at__isnull=True
    ).order_by("-start_date", "-end_date", "-pk")


def caseload_with_track(queryset: QuerySet[Beneficiary], track: str | None) -> QuerySet[Beneficiary]:
    """Files whose orientation in force has this track; with None, files with no orientation in force."""
    return queryset.filter(orientation_track=track or "")


# Contract states of a file, from the end date of its latest signed, non-withdrawn contract.
CONTRACT_NONE = "none"
CONTRACT_RUNNING = "running"
CONTRACT_ENDING = "ending"
CONTRACT_EXPIRED = "expired"


def caseload_with_contract_state(
    queryset: QuerySet[Beneficiary], state: str, *, today: datetime.date, ending_within: datetime.timedelta
) -> QuerySet[Beneficiary]:
    """Files whose latest signed contract is missing, running (ends after `ending_within`), ending
    (today or within `ending_within`) or expired (ended before today)."""
    soon = today + ending_within
    conditions = {
        CONTRACT_NONE: Q(latest_contract_end__isnull=True),
        CONTRACT_RUNNING: Q(latest_contract_end__gt=soon),
        CONTRACT_ENDING: Q(latest_contract_end__range=(today, soon)),  # BETWEEN: the subquery runs once
        CONTRACT_EXPIRED: Q(latest_contract_end__lt=today),
    }
    return queryset.alias(latest_contract_end=F("signed_contract_end")).filter(conditions[state])


def caseload_inactive_since(queryset: QuerySet[Beneficiary], since: datetime.datetime) -> QuerySet[Beneficiary]:
    """Files with no activity since this instant; a file with no recorded activity at all counts."""
    return queryset.filter(Q(last_activity_at__isnull=True) | Q(last_activity_at__lt=since))


def caseload_with_missed_appointment(
    queryset: QuerySet[Beneficiary], *, since: datetime.datetime, until: datetime.datetime, missed: bool = True
) -> QuerySet[Beneficiary]:
    """Files with (or, missed=False, without) a missed, non-withdrawn appointment between two instants."""
    missed_appointment = Exists(
        Appointment.objects.filter(
            beneficiary=OuterRef("pk"),
            status=Appointment.Status.MISSED,
            withdrawn_at__isnull=True,
            scheduled_at__gte=since,
            scheduled_at__lte=until,
        )
    )
    return queryset.filter(missed_appointment if missed else ~missed_appointment)


# A term made of digits (spaces allowed: a number is often read out in groups) is a CAF/MSA number.
ALLOCATAIRE_TERM = re.compile(r"[\d\s]+")
_WORD_SEPARATORS = re.compile(r"\W+")


def caseload_search(queryset: QuerySet[Beneficiary], term: str) -> QuerySet[Beneficiary]:
    """Files matching a typed term.

    Digits: the start of the CAF/MSA number. Anything else: a name, accent- and case-insensitive,
    through the denormalised `search_text` (the names as `search_key` writes them): every word of the
    term must appear in it, anywhere (`LIKE '%word%'`, served by the trigram index `benef_search_trgm`
    on PostgreSQL; the same filter scans on SQLite). Punctuation separates words: "jean-pierre" finds
    "Jean Pierre", "n'diaye" finds "N'Diaye".
    """
    term = term.strip()
    if not term:
        return queryset
    if ALLOCATAIRE_TERM.fullmatch(term):
        return queryset.filter(allocataire_number__startswith="".join(term.split()))
    words = [word for word in _WORD_SEPARATORS.split(search_key(term)) if word]
    if not words:
        return queryset.none()
    for word in words:
        queryset = queryset.filter(search_text__contains=word)
    return queryset


# The caseload's "accompagnement" filter (www.filters), linked to from the team's screens.
SUPPORT_ONGOING, SUPPORT_ENDED = "en_cours", "termine"
