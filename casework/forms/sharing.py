"""Forms of the casework screens. They check what was typed and hand clean values to casework.services,
which decide who may do what; no business rule lives here."""

import datetime

from django import forms
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import models
from django.db.models import Exists, OuterRef, Prefetch, Q
from django.utils import timezone

from accounts.models import Department, Membership, Role, Structure, User
from casework.forms.pickers import PickerFormMixin, SearchPicker
from casework.models import allocataire_validator
from casework.services import emergency_reason_check

REASON_MAX_LENGTH = 1000
# Who a file may be shared with, as a person: people who follow files.
SHAREABLE_ROLES = (Role.REFERENT, Role.SUPERVISOR)
DATE_INPUT_FORMATS = ["%Y-%m-%d", "%d/%m/%Y"]


class BootstrapBoundField(forms.BoundField):
    """Adds Bootstrap's `is-invalid` class to a widget whose field has errors. Django itself adds
    `aria-invalid` and points `aria-describedby` at `<id>_helptext` and `<id>_error`."""

    def build_widget_attrs(self, attrs, widget=None):
        attrs = super().build_widget_attrs(attrs, widget)
        widget = widget or self.field.widget
        if self.errors and not widget.is_hidden:
            base = attrs.get("class") or widget.attrs.get("class", "")
            attrs["class"] = f"{base} is-invalid".strip()
        return attrs


class BootstrapForm(forms.Form):
    bound_field_class = BootstrapBoundField


def _date_input() -> forms.DateInput:
    # type="date" submits ISO dates; the French format is accepted too for browsers without a picker.
    return forms.DateInput(attrs={"type": "date", "class": "form-control"}, format="%Y-%m-%d")


# What the lists of people to share with or address a note to show of each: name, role, structure.
LABEL_USER_FIELDS = ("pk", "username", "first_name", "last_name")
LABEL_MEMBERSHIP_FIELDS = ("user_id", "role", "structure__name", "structure__is_sensitive")
# What their pickers search (casework.forms.pickers): the names a person or a structure is known by.
PERSON_SEARCH_FIELDS = ("last_name", "first_name", "username")
STRUCTURE_SEARCH_FIELDS = ("name",)


def _reason_field(label: str, help_text: str, required_message: str) -> forms.CharField:
    return forms.CharField(
        label=label,
        max_length=REASON_MAX_LENGTH,
        help_text=help_text,
        error_messages={
            "required": required_message,
            "max_length": f"Le motif ne peut pas dépasser {REASON_MAX_LENGTH} caractères.",
        },
        widget=forms.Textarea(attrs={"class": "form-control", "rows": 4}),
    )


def end_of_day(day: datetime.date) -> datetime.datetime:
    """The last instant of that day in the Département's time zone (settings.TIME_ZONE, Europe/Paris)."""
    return datetime.datetime.combine(day, datetime.time.max, tzinfo=timezone.get_default_timezone())


class ShareTarget(models.TextChoices):
    # Each value is also the name of the form field that selects that target.
    PERSON = "person", "Une personne"
    STRUCTURE = "structure", "Une structure"
    DEPARTMENT = "department", "Un service du Département"


class ShareForm(PickerFormMixin, BootstrapForm):
    """Share a file with one person, one structure or one department of the Département. The person and
    the structure are searched for (casework.forms.pickers), among the choices their querysets hold."""

    # The field of the service's errors that each form field answers for.
    SERVICE_FIELDS = {
        "shared_with_user": "person",
        "shared_with_structure": "structure",
        "shared_with_department": "department",
        "reason": "reason",
        "ends_at": "ends_on",
    }

    target_kind = forms.ChoiceField(
        label="Avec qui partager le dossier ?",
        choices=ShareTarget.choices,
        widget=forms.RadioSelect(attrs={"class": "form-check-input"}),
        error_messages={"required": "Choisissez avec qui partager le dossier."},
    )
    person = forms.ModelChoiceField(
        label="Personne",
        queryset=User.objects.none(),
        required=False,
        error_messages={"invalid_choice": "Choisissez une personne parmi celles que la recherche propose."},
        widget=SearchPicker(search_fields=PERSON_SEARCH_FIELDS, noun="personne", plural="personnes"),
    )
    structure = forms.ModelChoiceField(
        label="Structure",
        queryset=Structure.objects.none(),
        required=False,
        error_messages={"invalid_choice": "Choisissez une structure parmi celles que la recherche propose."},
        widget=SearchPicker(search_fields=STRUCTURE_SEARCH_FIELDS, noun="structure", plural="structures"),
    )
    department = forms.ModelChoiceField(
        label="Service du Département",
        queryset=Department.objects.none(),
        required=False,
        empty_label="— Choisir un service —",
        widget=forms.Select(attrs={"class": "form-select"}),
    )
    reason = _reason_field(
        "Motif du partage",
        (
            "Ne partagez que ce qui est strictement nécessaire à l'évaluation de la situation ou à "
            "l'accompagnement (CASF, art. L.121-6-2), et informez-en la personne suivie."
        ),
        "Indiquez pourquoi ce partage est nécessaire.",
    )
    ends_on = forms.DateField(
        label="Fin du partage (facultatif)",
        required=False,
        input_formats=DATE_INPUT_FORMATS,
        help_text="Le partage s'arrête à la fin de ce jour. Sans date, il dure jusqu'à ce qu'on l'arrête.",
        error_messages={"invalid": "Saisissez une date valide, par exemple 31/12/2026."},
        widget=_date_input(),
    )

    def __init__(self, *args, actor: User, **kwargs):
        super().__init__(*args, **kwargs)
        self.actor = actor
        own_structures = [membership.structure_id for membership in actor.active_memberships]

        shareable = Membership.objects.active().filter(role__in=SHAREABLE_ROLES)
        self.fields["person"].queryset = (
            User.objects.filter(Exists(shareable.filter(user=OuterRef("pk"))), is_active=True)
            .exclude(pk=actor.pk)
            .prefetch_related(
                Prefetch(
                    "memberships",
                    queryset=shareable.select_related("structure")
                    .only(*LABEL_MEMBERSHIP_FIELDS)
                    .order_by("role", "pk"),
                    to_attr="shareable_memberships",
                )
            )
            # The columns of the labels: the picker reads the chosen people and twenty results at most.
            .only(*LABEL_USER_FIELDS)
            .order_by("last_name", "first_name", "username")
        )
        self.fields["person"].label_from_instance = self._person_label
        # A sensitive structure the actor does not work in would show as « Structure partenaire »: a
        # file is not shared with a structure one cannot name (share with one of its people instead).
        self.fields["structure"].queryset = Structure.objects.filter(
            Q(is_sensitive=False) | Q(pk__in=own_structures)
        ).order_by("name")
        self.fields["structure"].label_from_instance = lambda structure: structure.label_for(actor)
        self.fields["department"].queryset = Department.objects.order_by("name")
        self.fields["ends_on"].widget.attrs["min"] = timezone.localdate().isoformat()

    def _person_label(self, user: User) -> str:
        name = f"{user.last_name} {user.first_name}".strip() or user.username
        roles = " ; ".join(
            f"{membership.get_role_display()} – {membership.structure.label_for(self.actor)}"
            for membership in user.shareable_memberships
        )
        return f"{name} – {roles}"

    @property
    def target_groups(self):
        """Each target radio with the field it selects, for the template."""
        return [(radio, self[radio.data["value"]]) for radio in self["target_kind"]]

    def clean_ends_on(self):
        day = self.cleaned_data["ends_on"]
        if day is not None and day < timezone.localdate():
            raise ValidationError("La date de fin est passée : choisissez aujourd'hui ou une date à venir.")
        return day

    def clean(self):
        cleaned_data = super().clean()
        kind = cleaned_data.get("target_kind")
        if not kind:
            return cleaned_data
        missing = {
            ShareTarget.PERSON: "Choisissez la personne avec qui partager le dossier.",
            ShareTarget.STRUCTURE: "Choisissez la structure avec qui partager le dossier.",
            ShareTarget.DEPARTMENT: "Choisissez le service avec qui partager le dossier.",
        }
        for name in ShareTarget.values:
            if name == kind:
                if cleaned_data.get(name) is None and name not in self.errors:
                    self.add_error(name, missing[name])
            elif cleaned_data.get(name) is not None:
                # Exactly one target: never guess which of two filled choices was meant.
                label = ShareTarget(kind).label
                self.add_error(name, f"Vous partagez avec {label[0].lower()}{label[1:]} : laissez ce choix vide.")
        return cleaned_data

    def share_arguments(self) -> dict:
        """The keyword arguments of casework.services.beneficiary_share, once the form is valid."""
        data = self.cleaned_data
        kind = data["target_kind"]
        return {
            "reason": data["reason"],
            "user": data["person"] if kind == ShareTarget.PERSON else None,
            "structure": data["structure"] if kind == ShareTarget.STRUCTURE else None,
            "department": data["department"] if kind == ShareTarget.DEPARTMENT else None,
            "ends_at": end_of_day(data["ends_on"]) if data["ends_on"] else None,
        }

    def add_service_errors(self, error: ValidationError) -> None:
        """Show a ValidationError raised by the service at the field it is about."""
        if not hasattr(error, "error_dict"):
            self.add_error(None, error)
            return
        for key, errors in error.error_dict.items():
            field = None if key == NON_FIELD_ERRORS else self.SERVICE_FIELDS.get(key)
            self.add_error(field, errors)


class AllocataireNumberField(forms.CharField):
    """A CAF/MSA number as typed, spaces removed (`12 345 67` is `1234567`)."""

    def to_python(self, value):
        return "".join(super().to_python(value).split())


class EmergencyAccessForm(BootstrapForm):
    """Ask for an emergency access (accès exceptionnel) to a file, with the person in front of you."""

    allocataire_number = AllocataireNumberField(
        label="Numéro allocataire CAF ou MSA",
        validators=[allocataire_validator],
        error_messages={"required": "Saisissez le numéro allocataire de la personne."},
        widget=forms.TextInput(
            attrs={"class": "form-control", "inputmode": "numeric", "autocomplete": "off", "spellcheck": "false"}
        ),
    )
    birth_date = forms.DateField(
        label="Date de naissance",
        input_formats=DATE_INPUT_FORMATS,
        error_messages={
            "required": "Saisissez la date de naissance de la personne.",
            "invalid": "Saisissez une date de naissance valide, par exemple 31/01/1985.",
        },
        widget=_date_input(),
    )
    reason = _reason_field(
        "Motif de l'accès",
        "Pourquoi devez-vous consulter ce dossier maintenant ? Ce motif est enregistré et visible des "
        "responsables du dossier.",
        "Indiquez le motif de l'accès exceptionnel.",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["birth_date"].widget.attrs["max"] = timezone.localdate().isoformat()

    def clean_birth_date(self):
        day = self.cleaned_data["birth_date"]
        if day > timezone.localdate():
            raise ValidationError("La date de naissance ne peut pas être dans le futur.")
        return day

    def clean_reason(self):
        reason = self.cleaned_data["reason"]
        try:
            emergency_reason_check(reason)
        except ValidationError as error:
            raise ValidationError(error.message_dict["reason"]) from None
        return reason
