"""Forms of the supervisor's team screens: reassigning files, covers during an absence (intérim).

They check what was typed and hand clean values to team.services, which decides who may do
what. The choices of people come from the referents of the structures the supervisor encadre today
(`team_referents`), so that no dropdown lists anybody else.
"""

import uuid

from django import forms
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.utils import timezone

from accounts.models import Membership, User
from casework.forms.sharing import DATE_INPUT_FORMATS, BootstrapForm, _date_input, _reason_field
from team.services import supervised_beneficiaries, team_referents


def _name(user: User) -> str:
    return f"{user.last_name} {user.first_name}".strip() or user.username


class MembershipChoiceField(forms.ModelChoiceField):
    """A referent in one structure ("DUPONT Marie – MDS Nord"): the pair a file is given to."""

    def label_from_instance(self, obj: Membership) -> str:
        return f"{_name(obj.user)} – {obj.structure.name}"


class PersonChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: User) -> str:
        return _name(obj)


class PublicIdsField(forms.Field):
    """The public ids of the files ticked in the list (checkboxes named like the field)."""

    widget = forms.MultipleHiddenInput
    default_error_messages = {
        "required": "Cochez au moins un dossier à réaffecter.",
        "invalid": "La sélection de dossiers n'est pas valide : rechargez la page.",
    }

    def to_python(self, value):
        if not value:
            return []
        try:
            return sorted({uuid.UUID(str(item)) for item in value})
        except (TypeError, ValueError, AttributeError):
            raise ValidationError(self.error_messages["invalid"], code="invalid") from None


class ServiceErrorsMixin:
    """Show a ValidationError raised by a service at the field it is about."""

    SERVICE_FIELDS: dict[str, str] = {}

    def add_service_errors(self, error: ValidationError) -> None:
        if not hasattr(error, "error_dict"):
            self.add_error(None, error)
            return
        for key, errors in error.error_dict.items():
            field = None if key == NON_FIELD_ERRORS else self.SERVICE_FIELDS.get(key, key)
            self.add_error(field if field in self.fields else None, errors)


class ReassignFilterForm(BootstrapForm):
    """The list's filter (GET): the files of one current referent."""

    referent = PersonChoiceField(
        label="Référent·e actuel·le",
        queryset=User.objects.none(),
        required=False,
        empty_label="Tous",
        error_messages={"invalid_choice": "Ce choix n'est pas valide : choisissez dans la liste."},
        widget=forms.Select(attrs={"class": "form-select"}),
    )

    def __init__(self, *args, actor: User, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["referent"].queryset = User.objects.filter(
            pk__in=supervised_beneficiaries(actor).values("current_referent")
        ).order_by("last_name", "first_name", "username")


class ReassignForm(ServiceErrorsMixin, BootstrapForm):
    SERVICE_FIELDS = {"beneficiaries": "dossiers", "referent": "referent", "reason": "reason"}

    dossiers = PublicIdsField(label="Dossiers à réaffecter")
    referent = MembershipChoiceField(
        label="Nouveau·elle référent·e",
        queryset=Membership.objects.none(),
        empty_label="— Choisir un·e référent·e —",
        error_messages={
            "required": "Choisissez le ou la nouvel·le référent·e.",
            "invalid_choice": "Ce choix n'est pas valide : choisissez dans la liste.",
        },
        widget=forms.Select(attrs={"class": "form-select"}),
    )
    reason = _reason_field(
        "Motif du changement de référent·e",
        "Il figure dans l'historique de chaque dossier (ex. rééquilibrage des portefeuilles, départ).",
        "Indiquez le motif du changement de référent·e.",
    )

    def __init__(self, *args, actor: User, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["referent"].queryset = team_referents(actor)

    def clean_reason(self):
        reason = self.cleaned_data["reason"].strip()
        if not reason:
            raise ValidationError("Indiquez le motif du changement de référent·e.")
        return reason


class CoverForm(ServiceErrorsMixin, BootstrapForm):
    SERVICE_FIELDS = {
        "absent_referent": "absent",
        "covering_referent": "covering",
        "structure": "absent",
        "starts_on": "starts_on",
        "ends_on": "ends_on",
        "reason": "reason",
    }

    absent = MembershipChoiceField(
        label="Référent·e absent·e",
        queryset=Membership.objects.none(),
        empty_label="— Choisir —",
        error_messages={
            "required": "Choisissez le ou la référent·e absent·e.",
            "invalid_choice": "Ce choix n'est pas valide : choisissez dans la liste.",
        },
        widget=forms.Select(attrs={"class": "form-select"}),
    )
    covering = PersonChoiceField(
        label="Collègue qui assure l'intérim",
        queryset=User.objects.none(),
        empty_label="— Choisir —",
        help_text="Pendant l'intérim, cette personne consulte et fait avancer les dossiers de la personne absente.",
        error_messages={
            "required": "Choisissez le ou la collègue qui assure l'intérim.",
            "invalid_choice": "Ce choix n'est pas valide : choisissez dans la liste.",
        },
        widget=forms.Select(attrs={"class": "form-select"}),
    )
    starts_on = forms.DateField(
        label="Du",
        input_formats=DATE_INPUT_FORMATS,
        help_text="Premier jour de l'intérim.",
        error_messages={
            "required": "Indiquez le premier jour de l'intérim.",
            "invalid": "Saisissez une date valide, par exemple 31/12/2026.",
        },
        widget=_date_input(),
    )
    ends_on = forms.DateField(
        label="Au (inclus)",
        input_formats=DATE_INPUT_FORMATS,
        help_text="Dernier jour de l'intérim : l'accès s'arrête à la fin de ce jour.",
        error_messages={
            "required": "Indiquez le dernier jour de l'intérim.",
            "invalid": "Saisissez une date valide, par exemple 31/12/2026.",
        },
        widget=_date_input(),
    )
    reason = _reason_field(
        "Motif",
        "Restez factuel·le (ex. « congés », « formation ») : pas de raison de santé.",
        "Indiquez le motif de l'intérim.",
    )

    def __init__(self, *args, actor: User, **kwargs):
        super().__init__(*args, **kwargs)
        referents = team_referents(actor)
        self.fields["absent"].queryset = referents
        self.fields["covering"].queryset = User.objects.filter(pk__in=referents.values("user")).order_by(
            "last_name", "first_name", "username"
        )
        self.fields["ends_on"].widget.attrs["min"] = timezone.localdate().isoformat()

    def clean_reason(self):
        reason = self.cleaned_data["reason"].strip()
        if not reason:
            raise ValidationError("Indiquez le motif de l'intérim.")
        return reason

    def clean(self):
        cleaned_data = super().clean()
        starts_on, ends_on = cleaned_data.get("starts_on"), cleaned_data.get("ends_on")
        if starts_on and ends_on and ends_on < starts_on:
            self.add_error("ends_on", "La fin de l'intérim ne peut pas précéder son début.")
        absent, covering = cleaned_data.get("absent"), cleaned_data.get("covering")
        if absent and covering and absent.user_id == covering.pk:
            self.add_error("covering", "Une personne ne peut pas assurer son propre intérim.")
        return cleaned_data

    def cover_arguments(self) -> dict:
        """The keyword arguments of team.services.cover_create, once the form is valid."""
        data = self.cleaned_data
        return {
            "absent_referent": data["absent"].user,
            "covering_referent": data["covering"],
            "structure": data["absent"].structure,
            "starts_on": data["starts_on"],
            "ends_on": data["ends_on"],
            "reason": data["reason"],
        }
