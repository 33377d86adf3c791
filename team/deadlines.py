"""The Département's deadlines (CaseworkSettings) and the indicators of the supervisors' dashboard.

The caseload's "alerte" filter (www.filters) and the team's dashboard and alerts (team.supervision) apply
the same conditions, written once here.
"""

import calendar
import datetime
from dataclasses import dataclass
from functools import cached_property

from django.db.models import Exists, F, OuterRef, Q, QuerySet
from django.db.models.functions import Coalesce, TruncDate
from django.utils import timezone

from casework.models import Appointment, Beneficiary, ReferentAssignment
from team.models import CaseworkSettings

# --- Deadlines of the pathway (the caseload's filters, and team.supervision: the team's dashboard) --


def months_before(moment: datetime.datetime, months: int) -> datetime.datetime:
    """The same local day and time `months` calendar months earlier (the 31st becomes the month's last day)."""
    moment = timezone.localtime(moment)
    index = moment.year * 12 + moment.month - 1 - months
    year, month = divmod(index, 12)
    day = min(moment.day, calendar.monthrange(year, month + 1)[1])
    return moment.replace(year=year, month=month + 1, day=day)


@dataclass(frozen=True)
class Deadlines:
    """The Département's deadlines (CaseworkSettings, edited by a department admin) applied at one instant:
    the limits the caseload's filters and the supervisors' dashboard and alerts compare files with."""

    settings: CaseworkSettings
    now: datetime.datetime

    @classmethod
    def current(cls, now: datetime.datetime | None = None) -> "Deadlines":
        return cls(CaseworkSettings.current(), now or timezone.now())

    @cached_property
    def today(self) -> datetime.date:
        return timezone.localdate(self.now)

    @property
    def new_since(self) -> datetime.datetime:
        """A file taken on by its referent at or after this instant is new."""
        return self.now - datetime.timedelta(days=self.settings.new_files_days)

    @property
    def orientation_entered_before(self) -> datetime.date:
        """A file with no orientation that entered the RSA before this day is late."""
        return self.today - datetime.timedelta(days=self.settings.orientation_delay_days)

    @property
    def contract_oriented_before(self) -> datetime.date:
        """A file oriented before this day with no contract since is late."""
        return self.today - datetime.timedelta(days=self.settings.contract_delay_days)

    @property
    def contract_ending_within(self) -> datetime.timedelta:
        return datetime.timedelta(days=self.settings.contract_expiring_days)

    def inactive_since(self, months: int) -> datetime.datetime:
        return months_before(self.now, months)

    @property
    def missed_since(self) -> datetime.datetime:
        return self.now - datetime.timedelta(days=self.settings.missed_appointments_days)


# The indicators of the supervisors' dashboard (team.supervision), one key each: the key is also the
# value of the caseload's "alerte" filter (www.filters), so that a figure and the list behind it
# apply the same condition. All concern files whose support is ongoing.
NEW = "nouveaux"
INACTIVE_WARNING = "sans_activite"
INACTIVE_ALERT = "sans_activite_longue"
AWAITING_ORIENTATION = "attente_orientation"
ORIENTATION_LATE = "orientation_en_retard"
CONTRACT_LATE = "contrat_en_retard"
CONTRACT_EXPIRED = "contrat_echu"
CONTRACT_EXPIRING = "contrat_a_echeance"
MISSED_APPOINTMENT = "rendez_vous_manque"
WARNING_KEYS = (
    NEW,
    INACTIVE_WARNING,
    INACTIVE_ALERT,
    AWAITING_ORIENTATION,
    ORIENTATION_LATE,
    CONTRACT_LATE,
    CONTRACT_EXPIRED,
    CONTRACT_EXPIRING,
    MISSED_APPOINTMENT,
)


def open_assignment() -> QuerySet[ReferentAssignment]:
    """The open assignment of the file at OuterRef("pk") (a unique constraint allows one at most)."""
    return ReferentAssignment.objects.filter(beneficiary=OuterRef("pk"), ended_at__isnull=True)


def missed_appointments(deadlines: Deadlines) -> QuerySet[Appointment]:
    """The missed, non-withdrawn appointments of the file at OuterRef("pk") in the Département's window."""
    return Appointment.objects.filter(
        beneficiary=OuterRef("pk"),
        status=Appointment.Status.MISSED,
        withdrawn_at__isnull=True,
        scheduled_at__gte=deadlines.missed_since,
        scheduled_at__lte=deadlines.now,
    )


def warning_aliases() -> dict:
    """The per-file values the conditions compare (subqueries: no query per file).

    - `last_seen_at`: the last activity, or (none yet) the file's arrival;
    - `entered_on`: the day the person entered the RSA, or (unknown) the day the file arrived;
    - `oriented_on`: the decision day of the orientation in force (None: not oriented;
      `orientation_decided_on`);
    - `latest_contract_end`: the end of the latest signed, non-withdrawn contract (`signed_contract_end`);
    - `contracts_until`: the latest end among the signed, non-withdrawn contracts (`signed_contracts_until`).
    """
    return {
        "last_seen_at": Coalesce("last_activity_at", "created_at"),
        "entered_on": Coalesce("rsa_entry_date", TruncDate("created_at")),
        "oriented_on": F("orientation_decided_on"),
        "latest_contract_end": F("signed_contract_end"),
        "contracts_until": F("signed_contracts_until"),
    }


def _inactive(since: datetime.datetime) -> Q:
    # A file with no recorded activity yet counts from its arrival (a file that came in yesterday is not
    # "without activity for months"): the `last_seen_at` alias of warning_aliases.
    return Q(last_seen_at__lt=since)


def warning_conditions(deadlines: Deadlines) -> dict[str, Q]:
    """Each indicator as a condition on files carrying `warning_aliases`.

    - new: its current referent took it on within `new_files_days` (the open assignment started then:
      a file handed over by a colleague is new to whoever receives it);
    - without activity for `inactivity_warning_months` / `inactivity_alert_months` (`last_activity_at`, or
      the file's arrival when nothing was recorded yet);
    - awaiting orientation: no orientation in force; late when, for a person subject to the rights and
      duties (SDD), the RSA entry is more than `orientation_delay_days` old;
    - oriented without a contract (SDD): the orientation in force was decided more than
      `contract_delay_days` ago and no signed contract has run since that decision;
    - contract expired: the latest signed contract ended before today; expiring: it ends today or
      within `contract_expiring_days`;
    - missed appointment: at least one in the last `missed_appointments_days`.
    """
    settings = deadlines.settings
    today = deadlines.today
    not_oriented = Q(oriented_on__isnull=True)
    expiring_until = today + deadlines.contract_ending_within
    return {
        NEW: Q(Exists(open_assignment().filter(started_at__gte=deadlines.new_since))),
        INACTIVE_WARNING: _inactive(deadlines.inactive_since(settings.inactivity_warning_months)),
        INACTIVE_ALERT: _inactive(deadlines.inactive_since(settings.inactivity_alert_months)),
        AWAITING_ORIENTATION: not_oriented,
        ORIENTATION_LATE: not_oriented & Q(sdd=True, entered_on__lt=deadlines.orientation_entered_before),
        # No signed contract ran on or after the decision day: none ends on that day or later.
        CONTRACT_LATE: Q(sdd=True, oriented_on__lt=deadlines.contract_oriented_before)
        & (Q(contracts_until__isnull=True) | Q(contracts_until__lt=F("oriented_on"))),
        CONTRACT_EXPIRED: Q(latest_contract_end__lt=today),
        CONTRACT_EXPIRING: Q(latest_contract_end__range=(today, expiring_until)),  # BETWEEN: one subquery
        MISSED_APPOINTMENT: Q(Exists(missed_appointments(deadlines))),
    }


def caseload_with_warning(queryset: QuerySet[Beneficiary], key: str, deadlines: Deadlines) -> QuerySet[Beneficiary]:
    """Files with support ongoing that meet one indicator of the supervisors' dashboard."""
    return queryset.filter(is_active=True).alias(**warning_aliases()).filter(warning_conditions(deadlines)[key])
