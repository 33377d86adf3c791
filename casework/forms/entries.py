"""Forms for writing on a file: steps, appointments, notes, their correction and withdrawal.

They check what was typed, show the rules of casework.services.entries at the field before anything is
written, and warn before saving free text that looks like it holds a social-security number, a bank
account number or health words (casework.text_checks): the author rephrases, marks the note sensitive,
or ticks « J'ai relu : enregistrer quand même ».
"""

import datetime

from django import forms
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db.models import Exists, OuterRef, Prefetch, Q
from django.utils import timezone

from accounts.models import Department, Membership, Role, Structure, User
from casework.forms.pickers import PickerFormMixin, SearchPickerMultiple
from casework.forms.sharing import (
    DATE_INPUT_FORMATS,
    LABEL_MEMBERSHIP_FIELDS,
    LABEL_USER_FIELDS,
    PERSON_SEARCH_FIELDS,
    STRUCTURE_SEARCH_FIELDS,
    BootstrapForm,
)
from casework.models import Appointment, Beneficiary, Note, Step
from casework.permissions import FILE_READING_ROLES
from casework.services import entries as services
from casework.text_checks import HEALTH, IBAN, NIR, Finding, find_personal_data, findings_digest

DATETIME_INPUT_FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%d/%m/%Y %H:%M"]
TEXT_MAX_LENGTH = Note.MAX_LENGTH
LINE_MAX_LENGTH = 200
# Who an appointment may be "with": people who follow files.
APPOINTMENT_ROLES = (Role.REFERENT, Role.SUPERVISOR)


def _date_input() -> forms.DateInput:
    return forms.DateInput(attrs={"type": "date", "class": "form-control"}, format="%Y-%m-%d")


def _datetime_input() -> forms.DateTimeInput:
    return forms.DateTimeInput(attrs={"type": "datetime-local", "class": "form-control"}, format="%Y-%m-%dT%H:%M")


def _text_field(label: str, *, required: bool, max_length: int = TEXT_MAX_LENGTH, rows: int = 4, help_text=""):
    return forms.CharField(
        label=label,
        required=required,
        max_length=max_length,
        strip=False,
        help_text=help_text,
        error_messages={"max_length": f"Ce texte ne peut pas dépasser {max_length} caractères."},
        widget=forms.Textarea(attrs={"class": "form-control", "rows": rows}),
    )


def _line_field(label: str) -> forms.CharField:
    return forms.CharField(
        label=label,
        required=False,
        max_length=LINE_MAX_LENGTH,
        error_messages={"max_length": f"Ce texte ne peut pas dépasser {LINE_MAX_LENGTH} caractères."},
        widget=forms.TextInput(attrs={"class": "form-control"}),
    )


def _version_field() -> forms.IntegerField:
    return forms.IntegerField(
        widget=forms.HiddenInput,
        min_value=1,
        error_messages={"required": "Le formulaire est incomplet : rechargez la page et recommencez."},
    )


def person_label(user: User) -> str:
    return f"{user.last_name} {user.first_name}".strip() or user.username


class EntryForm(BootstrapForm):
    """A form whose free text is checked for personal data before it is saved.

    `checked_fields` are the text fields looked at. When something is found, the form is invalid until
    the author ticks `confirm_personal_data` for exactly what was found (`personal_data_reviewed`
    carries its fingerprint, so that a number typed after the warning is warned about again).
    """

    checked_fields: tuple[str, ...] = ()
    # Who reads the text: "note" (its own readers, and a sensitive flag), or "file" (all who follow it).
    audience = "file"
    # Errors of the service for fields the form does not have go to the top of the form.
    SERVICE_FIELDS: dict[str, str | None] = {}

    confirm_personal_data = forms.BooleanField(label="J'ai relu : enregistrer quand même", required=False)
    personal_data_reviewed = forms.CharField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.personal_data_findings: list[Finding] = []
        self.personal_data_digest = ""

    def check_rules(self, cleaned_data: dict) -> None:
        """The business rules (casework.services.entries), at the field, once every field is valid."""

    def checks_health(self, cleaned_data: dict) -> bool:
        return True

    def clean(self):
        cleaned_data = super().clean()
        if self.errors:
            return cleaned_data
        try:
            self.check_rules(cleaned_data)
        except ValidationError as error:
            self.add_service_errors(error)
            return cleaned_data
        text = "\n".join(cleaned_data.get(name) or "" for name in self.checked_fields)
        findings = find_personal_data(text, health=self.checks_health(cleaned_data))
        if not findings:
            return cleaned_data
        digest = findings_digest(findings)
        if cleaned_data.get("confirm_personal_data") and cleaned_data.get("personal_data_reviewed") == digest:
            return cleaned_data
        self.personal_data_findings = findings
        self.personal_data_digest = digest
        self.add_error(
            "confirm_personal_data",
            "Relisez le texte avant de l'enregistrer : corrigez-le, ou cochez « J'ai relu : enregistrer quand "
            "même » pour le garder tel quel.",
        )
        return cleaned_data

    @property
    def personal_data_warnings(self) -> list[str]:
        """One French sentence per kind of thing found, saying what to do about it."""
        warnings = []
        by_kind: dict[str, list[str]] = {}
        for finding in self.personal_data_findings:
            by_kind.setdefault(finding.kind, []).append(f"« {finding.masked} »")
        if NIR in by_kind:
            warnings.append(
                f"Le texte semble contenir un numéro de sécurité sociale (NIR) : {', '.join(by_kind[NIR])}. "
                "Supprimez-le : le référentiel de la CNIL pour l'accompagnement social ne permet pas de "
                "l'enregistrer, le numéro allocataire suffit à identifier la personne."
            )
        if IBAN in by_kind:
            warnings.append(
                f"Le texte semble contenir des coordonnées bancaires (IBAN) : {', '.join(by_kind[IBAN])}. "
                "Supprimez-les : elles n'ont pas leur place dans le dossier."
            )
        if HEALTH in by_kind:
            words = ", ".join(by_kind[HEALTH])
            if self.audience == "note":
                warnings.append(
                    f"Le texte contient des informations de santé ({words}). Cochez « Information sensible » "
                    "pour que la note ne soit lue que par les personnes, structures ou services nommés, ou "
                    "reformulez sans le détail médical."
                )
            else:
                warnings.append(
                    f"Le texte contient des informations de santé ({words}). Il sera lu par toutes les "
                    "personnes qui suivent le dossier : reformulez sans le détail médical, ou consignez-le "
                    "dans une note sensible."
                )
        return warnings

    def add_service_errors(self, error: ValidationError) -> None:
        """Show a ValidationError of the service at the field it is about (at the top otherwise)."""
        if not hasattr(error, "error_dict"):
            self.add_error(None, error)
            return
        for key, errors in error.error_dict.items():
            field = self.SERVICE_FIELDS.get(key, key)
            if field == NON_FIELD_ERRORS or field not in self.fields:
                field = None
            self.add_error(field, errors)


class VersionedForm(EntryForm):
    """A form that changes an existing entry: it carries the version it was shown at."""

    version = _version_field()


# --- Steps ---------------------------------------------------------------------------------------


class StepForm(EntryForm):
    """Log a step (or correct one: StepCorrectForm)."""

    checked_fields = ("outcome",)

    kind = forms.ChoiceField(
        label="Type d'étape",
        choices=[("", "— Choisir —"), *Step.Kind.choices],
        error_messages={"required": "Choisissez le type d'étape.", "invalid_choice": "Type d'étape inconnu."},
        widget=forms.Select(attrs={"class": "form-select"}),
    )
    date = forms.DateField(
        label="Date",
        input_formats=DATE_INPUT_FORMATS,
        error_messages={
            "required": "Indiquez la date de l'étape.",
            "invalid": "Saisissez une date valide, par exemple 31/01/2026.",
        },
        widget=_date_input(),
    )
    status = forms.ChoiceField(
        label="Statut",
        choices=Step.Status.choices,
        initial=Step.Status.DONE,
        error_messages={"required": "Choisissez le statut de l'étape.", "invalid_choice": "Statut inconnu."},
        widget=forms.Select(attrs={"class": "form-select"}),
    )
    outcome = _text_field(
        "Résultat (facultatif)",
        required=False,
        help_text="Lu par toutes les personnes qui suivent le dossier : pas de détail médical ici.",
    )

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("initial", {}).setdefault("date", timezone.localdate())
        super().__init__(*args, **kwargs)
        self.fields["date"].widget.attrs["max"] = (
            timezone.localdate() + datetime.timedelta(days=services.MAX_DAYS_AHEAD)
        ).isoformat()

    def check_rules(self, cleaned_data):
        services.step_check(date=cleaned_data["date"], status=cleaned_data["status"])

    def step_arguments(self) -> dict:
        data = self.cleaned_data
        return {"kind": data["kind"], "date": data["date"], "status": data["status"], "outcome": data["outcome"]}

    @classmethod
    def initial_for(cls, step: Step) -> dict:
        return {
            "kind": step.kind,
            "date": step.date,
            "status": step.status,
            "outcome": step.outcome,
            "version": step.version,
        }


class StepCorrectForm(StepForm, VersionedForm):
    pass


class StepStatusForm(VersionedForm):
    """Change a step's status; the outcome is changed only when the field was sent (the one-click
    buttons of the file page send the status alone)."""

    checked_fields = ("outcome",)

    status = forms.ChoiceField(
        label="Nouveau statut",
        choices=Step.Status.choices,
        error_messages={"required": "Choisissez le statut de l'étape.", "invalid_choice": "Statut inconnu."},
        widget=forms.Select(attrs={"class": "form-select"}),
    )
    outcome = _text_field(
        "Résultat (facultatif)",
        required=False,
        help_text="Lu par toutes les personnes qui suivent le dossier : pas de détail médical ici.",
    )

    def __init__(self, *args, step: Step, **kwargs):
        super().__init__(*args, **kwargs)
        self.step = step

    def check_rules(self, cleaned_data):
        services.step_check(date=self.step.date, status=cleaned_data["status"], field="status")

    def status_arguments(self) -> dict:
        outcome = self.cleaned_data["outcome"] if "outcome" in self.data else None
        data = self.cleaned_data
        return {"status": data["status"], "outcome": outcome, "expected_version": data["version"]}

    @classmethod
    def initial_for(cls, step: Step) -> dict:
        return {"status": step.status, "outcome": step.outcome, "version": step.version}


# --- Appointments --------------------------------------------------------------------------------


class AppointmentForm(EntryForm):
    """Plan an appointment (or correct one: AppointmentCorrectForm)."""

    checked_fields = ("purpose", "location")

    scheduled_at = forms.DateTimeField(
        label="Date et heure",
        input_formats=DATETIME_INPUT_FORMATS,
        error_messages={
            "required": "Indiquez la date et l'heure du rendez-vous.",
            "invalid": "Saisissez une date et une heure valides, par exemple 31/01/2026 14:30.",
        },
        widget=_datetime_input(),
    )
    location = _line_field("Lieu (facultatif)")
    purpose = _line_field("Objet (facultatif)")
    with_user = forms.ModelChoiceField(
        label="Avec",
        queryset=User.objects.none(),
        required=False,
        empty_label="— Personne en particulier —",
        error_messages={"invalid_choice": "Choisissez une personne de la liste."},
        widget=forms.Select(attrs={"class": "form-select"}),
    )

    def __init__(self, *args, actor: User, beneficiary: Beneficiary, **kwargs):
        kwargs.setdefault("initial", {}).setdefault("with_user", actor.pk)
        super().__init__(*args, **kwargs)
        self.actor = actor
        structures = {membership.structure_id for membership in actor.active_memberships}
        if beneficiary.current_structure_id:
            structures.add(beneficiary.current_structure_id)
        colleagues = Membership.objects.active().filter(role__in=APPOINTMENT_ROLES, structure__in=structures)
        self.fields["with_user"].queryset = User.objects.filter(
            Exists(colleagues.filter(user=OuterRef("pk"))), is_active=True
        ).order_by("last_name", "first_name", "username")
        self.fields["with_user"].label_from_instance = person_label
        self.fields["scheduled_at"].widget.attrs["min"] = timezone.localtime().strftime("%Y-%m-%dT%H:%M")

    def check_rules(self, cleaned_data):
        services.appointment_plan_check(scheduled_at=cleaned_data["scheduled_at"])

    def appointment_arguments(self) -> dict:
        data = self.cleaned_data
        return {
            "scheduled_at": data["scheduled_at"],
            "location": data["location"],
            "purpose": data["purpose"],
            "with_user": data["with_user"],
        }

    @classmethod
    def initial_for(cls, appointment: Appointment) -> dict:
        return {
            "scheduled_at": timezone.localtime(appointment.scheduled_at),
            "location": appointment.location,
            "purpose": appointment.purpose,
            "with_user": appointment.with_user_id,
            "version": appointment.version,
        }


class AppointmentCorrectForm(AppointmentForm, VersionedForm):
    def __init__(self, *args, appointment: Appointment, **kwargs):
        super().__init__(*args, **kwargs)
        self.appointment = appointment
        # A past appointment is corrected too (its place, its purpose): no lower bound on the picker.
        del self.fields["scheduled_at"].widget.attrs["min"]

    def check_rules(self, cleaned_data):
        """The new time follows the status (services.appointment_correct checks it again)."""
        scheduled_at = cleaned_data["scheduled_at"]
        stored = self.appointment.scheduled_at
        if scheduled_at.replace(second=0, microsecond=0) == stored.replace(second=0, microsecond=0):
            # The picker shows minutes: the same minute is the time as it was, seconds included.
            cleaned_data["scheduled_at"] = stored
            return
        services.appointment_reschedule_check(appointment=self.appointment, scheduled_at=scheduled_at)


class AppointmentRecordForm(VersionedForm):
    """Record how an appointment went."""

    STATUSES = (Appointment.Status.HONOURED, Appointment.Status.MISSED, Appointment.Status.CANCELLED)

    status = forms.ChoiceField(
        label="Le rendez-vous a été",
        choices=[(status.value, status.label) for status in STATUSES],
        error_messages={
            "required": "Choisissez : honoré, non honoré (absence) ou annulé.",
            "invalid_choice": "Choisissez : honoré, non honoré (absence) ou annulé.",
        },
        widget=forms.RadioSelect(attrs={"class": "form-check-input"}),
    )

    def __init__(self, *args, appointment: Appointment, **kwargs):
        super().__init__(*args, **kwargs)
        self.appointment = appointment

    def check_rules(self, cleaned_data):
        services.appointment_record_check(scheduled_at=self.appointment.scheduled_at, status=cleaned_data["status"])

    @classmethod
    def initial_for(cls, appointment: Appointment) -> dict:
        status = appointment.status if appointment.status in cls.STATUSES else None
        return {"status": status, "version": appointment.version}


# --- Notes ---------------------------------------------------------------------------------------


class NoteForm(PickerFormMixin, EntryForm):
    """Write a note (or correct one: NoteCorrectForm), private by default. The structures and people it
    is shared with are searched for (casework.forms.pickers), among the choices their querysets hold."""

    checked_fields = ("body",)
    audience = "note"
    TARGET_FIELDS = ("shared_with_departments", "shared_with_structures", "shared_with_users")
    SERVICE_FIELDS = {"shared_with_users": "shared_with_users"}

    body = forms.CharField(
        label="Texte de la note",
        max_length=Note.MAX_LENGTH,
        help_text=(
            f"{Note.MAX_LENGTH} caractères au plus. N'écrivez que ce qui est utile à l'accompagnement : "
            "la personne peut demander à lire ce qui est écrit sur elle."
        ),
        error_messages={
            "required": "Écrivez le texte de la note.",
            "max_length": f"Une note ne peut pas dépasser {Note.MAX_LENGTH} caractères.",
        },
        widget=forms.Textarea(attrs={"class": "form-control", "rows": 5, "maxlength": Note.MAX_LENGTH}),
    )
    visibility = forms.ChoiceField(
        label="Qui pourra lire cette note ?",
        choices=Note.Visibility.choices,
        initial=Note.Visibility.PRIVATE,
        error_messages={
            "required": "Choisissez qui pourra lire la note.",
            "invalid_choice": "Choisissez qui pourra lire la note.",
        },
        widget=forms.RadioSelect(attrs={"class": "form-check-input"}),
    )
    is_sensitive = forms.BooleanField(
        label="Information sensible (santé, vie privée…)",
        required=False,
        help_text=(
            "Une note sensible n'est lue que par vous et les personnes, structures ou services nommés, "
            "responsables compris."
        ),
        widget=forms.CheckboxInput(attrs={"class": "form-check-input"}),
    )
    shared_with_departments = forms.ModelMultipleChoiceField(
        label="Services du Département",
        queryset=Department.objects.none(),
        required=False,
        error_messages={"invalid_choice": "Choisissez des services de la liste."},
        widget=forms.SelectMultiple(attrs={"class": "form-select", "size": 4}),
    )
    shared_with_structures = forms.ModelMultipleChoiceField(
        label="Structures",
        queryset=Structure.objects.none(),
        required=False,
        error_messages={"invalid_choice": "Choisissez des structures parmi celles que la recherche propose."},
        widget=SearchPickerMultiple(search_fields=STRUCTURE_SEARCH_FIELDS, noun="structure", plural="structures"),
    )
    shared_with_users = forms.ModelMultipleChoiceField(
        label="Personnes",
        queryset=User.objects.none(),
        required=False,
        error_messages={"invalid_choice": "Choisissez des personnes parmi celles que la recherche propose."},
        widget=SearchPickerMultiple(search_fields=PERSON_SEARCH_FIELDS, noun="personne", plural="personnes"),
    )

    def __init__(self, *args, actor: User, **kwargs):
        super().__init__(*args, **kwargs)
        self.actor = actor
        own_structures = [membership.structure_id for membership in actor.active_memberships]
        readers = Membership.objects.active().filter(role__in=FILE_READING_ROLES)
        self.fields["shared_with_departments"].queryset = Department.objects.order_by("name")
        # A sensitive structure the author does not work in would show as « Structure partenaire »: a
        # note is not addressed to a structure one cannot name (address it to one of its people).
        self.fields["shared_with_structures"].queryset = Structure.objects.filter(
            Q(is_sensitive=False) | Q(pk__in=own_structures)
        ).order_by("name")
        self.fields["shared_with_structures"].label_from_instance = lambda structure: structure.label_for(actor)
        self.fields["shared_with_users"].queryset = (
            User.objects.filter(Exists(readers.filter(user=OuterRef("pk"))), is_active=True)
            .exclude(pk=actor.pk)
            .prefetch_related(
                Prefetch(
                    "memberships",
                    queryset=readers.select_related("structure").only(*LABEL_MEMBERSHIP_FIELDS).order_by("role", "pk"),
                    to_attr="reading_memberships",
                )
            )
            # The columns of the labels: the picker reads the chosen people and twenty results at most.
            .only(*LABEL_USER_FIELDS)
            .order_by("last_name", "first_name", "username")
        )
        self.fields["shared_with_users"].label_from_instance = self._person_label

    def _person_label(self, user: User) -> str:
        roles = " ; ".join(
            f"{membership.get_role_display()} – {membership.structure.label_for(self.actor)}"
            for membership in user.reading_memberships
        )
        return f"{person_label(user)} – {roles}"

    def checks_health(self, cleaned_data) -> bool:
        # Health words in a note marked sensitive are where they belong.
        return not cleaned_data.get("is_sensitive")

    def check_rules(self, cleaned_data):
        services.note_check(**self._note_values(cleaned_data))

    def _note_values(self, data: dict) -> dict:
        # Readers picked before switching to « Privée » or « Toutes les personnes… » are dropped, not
        # an error: only a shared note names its readers.
        shared = data["visibility"] == Note.Visibility.SHARED
        return {
            "body": data["body"],
            "visibility": data["visibility"],
            "is_sensitive": data["is_sensitive"],
            "departments": list(data.get("shared_with_departments") or ()) if shared else [],
            "structures": list(data.get("shared_with_structures") or ()) if shared else [],
            "users": list(data.get("shared_with_users") or ()) if shared else [],
        }

    def note_arguments(self) -> dict:
        return self._note_values(self.cleaned_data)

    @classmethod
    def initial_for(cls, note: Note) -> dict:
        return {
            "body": note.body,
            "visibility": note.visibility,
            "is_sensitive": note.is_sensitive,
            "shared_with_departments": [department.pk for department in note.shared_with_departments.all()],
            "shared_with_structures": [structure.pk for structure in note.shared_with_structures.all()],
            "shared_with_users": [user.pk for user in note.shared_with_users.all()],
            "version": note.version,
        }


class NoteCorrectForm(NoteForm, VersionedForm):
    pass


# --- Withdrawal ----------------------------------------------------------------------------------


class WithdrawForm(BootstrapForm):
    """Withdraw a mistaken entry, with a reason: it stays on the file, marked withdrawn."""

    withdrawal_reason = forms.CharField(
        label="Motif du retrait",
        max_length=1000,
        help_text="Pourquoi cette saisie est-elle erronée ? Le motif reste affiché avec la saisie retirée.",
        error_messages={
            "required": "Indiquez pourquoi cette saisie est retirée.",
            "max_length": "Le motif ne peut pas dépasser 1000 caractères.",
        },
        widget=forms.Textarea(attrs={"class": "form-control", "rows": 3}),
    )
    version = _version_field()

    def add_service_errors(self, error: ValidationError) -> None:
        if not hasattr(error, "error_dict"):
            self.add_error(None, error)
            return
        for key, errors in error.error_dict.items():
            self.add_error(key if key in self.fields else None, errors)
