"""Forms of the pathway screens: contracts, orientation, reorientation requests, objectives and actions,
diagnostic and barriers, end of support. They check what was typed (a date is a date, hours are a
number) and hand clean values to casework.services.pathway, which holds the rules; the errors the
service raises are shown at the field they are about (`add_service_errors`)."""

import datetime

from django import forms
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.utils import timezone

from accounts.models import Structure, User
from casework.forms.sharing import DATE_INPUT_FORMATS, REASON_MAX_LENGTH, BootstrapForm
from casework.models import (
    Action,
    Barrier,
    Beneficiary,
    Contract,
    Diagnostic,
    Objective,
    Orientation,
    SupportEndReason,
    Theme,
)
from casework.services.pathway import (
    AGREEMENT_REQUIRED,
    DEFAULT_WEEKLY_HOURS,
    MAX_WEEKLY_HOURS,
    MIN_WEEKLY_HOURS,
    RENEWAL_WINDOW_DAYS,
    BarrierInput,
    renewal_earliest_start,
    renewal_kind,
)

TEXT_MAX_LENGTH = 5000
TITLE_MAX_LENGTH = 200
INVALID_DATE = "Saisissez une date valide, par exemple 31/12/2026."


class NotInTheFuture:
    """A date field's validator: today at the latest (checked again by the service; here so that every
    error of the form shows at once)."""

    def __init__(self, message: str):
        self.message = message

    def __call__(self, value: datetime.date) -> None:
        if value > timezone.localdate():
            raise ValidationError(self.message, code="future")


class NotInThePast(NotInTheFuture):
    def __call__(self, value: datetime.date) -> None:
        if value < timezone.localdate():
            raise ValidationError(self.message, code="past")


PAST_DUE_DATE = "L'échéance est passée : choisissez aujourd'hui ou une date à venir."


def _date_field(
    label: str,
    *,
    required: bool = True,
    help_text: str = "",
    required_message: str = "",
    future_message: str = "",
    past_message: str = "",
) -> forms.DateField:
    validators = []
    if future_message:
        validators.append(NotInTheFuture(future_message))
    if past_message:
        validators.append(NotInThePast(past_message))
    return forms.DateField(
        label=label,
        required=required,
        input_formats=DATE_INPUT_FORMATS,
        help_text=help_text,
        validators=validators,
        error_messages={"required": required_message or "Indiquez une date.", "invalid": INVALID_DATE},
        # type="date" submits ISO dates; the French format is accepted too for browsers without a picker.
        widget=forms.DateInput(attrs={"type": "date", "class": "form-control"}, format="%Y-%m-%d"),
    )


def _text_field(
    label: str, *, required: bool = False, help_text: str = "", required_message: str = "", rows: int = 4
) -> forms.CharField:
    return forms.CharField(
        label=label,
        required=required,
        max_length=TEXT_MAX_LENGTH,
        help_text=help_text,
        error_messages={
            "required": required_message or "Ce champ est obligatoire.",
            "max_length": f"Ce texte ne peut pas dépasser {TEXT_MAX_LENGTH} caractères.",
        },
        widget=forms.Textarea(attrs={"class": "form-control", "rows": rows}),
    )


def _reason_field(label: str, *, help_text: str = "", required_message: str) -> forms.CharField:
    return forms.CharField(
        label=label,
        max_length=REASON_MAX_LENGTH,
        help_text=help_text,
        error_messages={
            "required": required_message,
            "max_length": f"Le motif ne peut pas dépasser {REASON_MAX_LENGTH} caractères.",
        },
        widget=forms.Textarea(attrs={"class": "form-control", "rows": 3}),
    )


def _title_field(label: str, required_message: str) -> forms.CharField:
    return forms.CharField(
        label=label,
        max_length=TITLE_MAX_LENGTH,
        error_messages={
            "required": required_message,
            "max_length": f"L'intitulé ne peut pas dépasser {TITLE_MAX_LENGTH} caractères.",
        },
        widget=forms.TextInput(attrs={"class": "form-control"}),
    )


def _choice_field(label: str, choices, *, required_message: str, required: bool = True) -> forms.ChoiceField:
    return forms.ChoiceField(
        label=label,
        choices=choices,
        required=required,
        error_messages={"required": required_message, "invalid_choice": "Choisissez une valeur de la liste."},
        widget=forms.Select(attrs={"class": "form-select"}),
    )


def _checkbox(label: str, help_text: str = "") -> forms.BooleanField:
    return forms.BooleanField(
        label=label,
        required=False,
        help_text=help_text,
        widget=forms.CheckboxInput(attrs={"class": "form-check-input"}),
    )


def _version_field() -> forms.IntegerField:
    return forms.IntegerField(
        min_value=1,
        widget=forms.HiddenInput,
        error_messages={"required": "Version manquante : rechargez la page.", "invalid": "Version invalide."},
    )


def _today_max(field: forms.Field) -> None:
    """Browsers with a date picker offer no day after today."""
    field.widget.attrs["max"] = timezone.localdate().isoformat()


def _today_min(field: forms.Field) -> None:
    field.widget.attrs["min"] = timezone.localdate().isoformat()


class PathwayForm(BootstrapForm):
    """A form whose service errors are shown at the field they are about."""

    # The service's error keys that are named differently in the form (model field names).
    SERVICE_FIELDS: dict[str, str] = {}

    def add_service_errors(self, error: ValidationError) -> None:
        if not hasattr(error, "error_dict"):
            self.add_error(None, error)
            return
        for key, errors in error.error_dict.items():
            name = self.SERVICE_FIELDS.get(key, key)
            self.add_error(name if name in self.fields else None, errors)


def organisme_choices(actor: User, beneficiary: Beneficiary) -> forms.ModelChoiceField:
    """The structures an orientation may name. A sensitive structure the actor does not work in would
    show as « Structure partenaire »: it is offered only when it is the file's current organisme."""
    own = [membership.structure_id for membership in actor.active_memberships]
    current = beneficiary.orientations.filter(status=Orientation.Status.DECIDED).values("organisme_referent")
    field = forms.ModelChoiceField(
        label="Organisme référent",
        queryset=Structure.objects.filter(Q(is_sensitive=False) | Q(pk__in=own) | Q(pk__in=current)).order_by("name"),
        empty_label="— Choisir un organisme —",
        help_text="France Travail, Cap emploi, Mission locale pour un parcours professionnel ; service social, "
        "CCAS ou association pour un parcours social.",
        error_messages={
            "required": "Choisissez l'organisme référent.",
            "invalid_choice": "Choisissez un organisme de la liste.",
        },
        widget=forms.Select(attrs={"class": "form-select"}),
    )
    field.label_from_instance = lambda structure: f"{structure.label_for(actor)} ({structure.get_kind_display()})"
    return field


# --- Contracts ------------------------------------------------------------------------------------

KIND_HELP = (
    "CER ou PPAE pour un contrat qui commence avant le 1er janvier 2025 ; contrat d'engagement (loi pour le "
    "plein emploi) pour un contrat qui commence à partir de cette date."
)


class ContractForm(PathwayForm):
    """Create a contract: a draft without a signature date, a signed contract with one."""

    kind = _choice_field("Type de contrat", Contract.Kind.choices, required_message="Choisissez le type de contrat.")
    start_date = _date_field("Début", required_message="Indiquez la date de début du contrat.")
    end_date = _date_field("Fin", required_message="Indiquez la date de fin du contrat.")
    weekly_hours = forms.IntegerField(
        label="Heures d'activité par semaine",
        required=False,
        min_value=MIN_WEEKLY_HOURS,
        max_value=MAX_WEEKLY_HOURS,
        help_text=(
            f"Entre {MIN_WEEKLY_HOURS} et {MAX_WEEKLY_HOURS} heures, adaptées à la personne. Laissé vide, un "
            f"contrat d'engagement compte {DEFAULT_WEEKLY_HOURS} heures par semaine."
        ),
        error_messages={
            "invalid": "Saisissez un nombre entier d'heures.",
            "min_value": f"Indiquez au moins {MIN_WEEKLY_HOURS} heure par semaine.",
            "max_value": f"Indiquez au plus {MAX_WEEKLY_HOURS} heures par semaine.",
        },
        widget=forms.NumberInput(attrs={"class": "form-control", "min": MIN_WEEKLY_HOURS, "max": MAX_WEEKLY_HOURS}),
    )
    objectives = _text_field(
        "Objectifs du contrat", required=True, required_message="Indiquez les objectifs du contrat."
    )
    signed_on = _date_field(
        "Signé le (facultatif)",
        required=False,
        future_message="La date de signature ne peut pas être dans le futur.",
        help_text="Laissez vide tant que le contrat n'est pas signé : il est enregistré comme brouillon.",
    )
    beneficiary_agreed = _checkbox(
        "La personne a donné son accord sur ce contrat",
        "Obligatoire pour un contrat signé.",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["kind"].help_text = KIND_HELP
        _today_max(self.fields["signed_on"])
        if not self.is_bound and "kind" not in self.initial:
            self.initial["kind"] = Contract.Kind.CONTRAT_ENGAGEMENT
            self.initial["weekly_hours"] = DEFAULT_WEEKLY_HOURS

    def clean(self):
        cleaned_data = super().clean()
        start, end = cleaned_data.get("start_date"), cleaned_data.get("end_date")
        if start and end and end <= start:
            self.add_error("end_date", "La fin du contrat doit être postérieure à son début.")
        if cleaned_data.get("signed_on") and not cleaned_data.get("beneficiary_agreed"):
            self.add_error("beneficiary_agreed", AGREEMENT_REQUIRED)
        return cleaned_data

    def service_arguments(self) -> dict:
        data = self.cleaned_data
        return {name: data[name] for name in self.fields}


class ContractRenewForm(ContractForm):
    """Renew a signed contract; the form starts from the renewed contract's kind, length and objectives."""

    def __init__(self, *args, contract: Contract, **kwargs):
        self.contract = contract
        earliest = renewal_earliest_start(contract)
        start = max(earliest, contract.end_date + datetime.timedelta(days=1))
        length = contract.end_date - contract.start_date
        kind = renewal_kind(contract, start)
        initial = {
            "kind": kind,
            "start_date": start,
            "end_date": start + length,
            "objectives": contract.objectives,
            "weekly_hours": contract.weekly_hours if kind == contract.kind else DEFAULT_WEEKLY_HOURS,
        }
        initial.update(kwargs.pop("initial", None) or {})
        super().__init__(*args, initial=initial, **kwargs)
        self.fields["start_date"].help_text = (
            f"Un renouvellement commence après le début du contrat renouvelé ({contract.start_date:%d/%m/%Y}) "
            f"et au plus tôt {RENEWAL_WINDOW_DAYS} jours avant sa fin ({contract.end_date:%d/%m/%Y}) : "
            f"à partir du {earliest:%d/%m/%Y}."
        )
        self.fields["start_date"].widget.attrs["min"] = earliest.isoformat()


class ContractSignForm(PathwayForm):
    signed_on = _date_field(
        "Signé le",
        required_message="Indiquez la date de signature.",
        future_message="La date de signature ne peut pas être dans le futur.",
    )
    beneficiary_agreed = _checkbox("La personne a donné son accord sur ce contrat", "Obligatoire pour signer.")
    version = _version_field()

    def __init__(self, *args, contract: Contract, **kwargs):
        kwargs.setdefault("initial", {})
        kwargs["initial"] = {"version": contract.version, "signed_on": timezone.localdate(), **kwargs["initial"]}
        super().__init__(*args, **kwargs)
        _today_max(self.fields["signed_on"])
        ends = f"{contract.end_date:%d/%m/%Y}"
        self.fields["signed_on"].help_text = f"Pas dans le futur, ni après la fin du contrat ({ends})."

    def clean(self):
        cleaned_data = super().clean()
        if not cleaned_data.get("beneficiary_agreed"):
            self.add_error("beneficiary_agreed", AGREEMENT_REQUIRED)
        return cleaned_data


# --- Orientation ----------------------------------------------------------------------------------


class OrientationDecisionForm(PathwayForm):
    track = _choice_field(
        "Type d'orientation", Orientation.Track.choices, required_message="Choisissez le type d'orientation."
    )
    organisme_referent = forms.ModelChoiceField(queryset=Structure.objects.none())
    decided_on = _date_field(
        "Date de la décision",
        required_message="Indiquez la date de la décision.",
        future_message="La date de décision ne peut pas être dans le futur.",
    )
    reason = _reason_field("Motif de la décision", required_message="Indiquez le motif de la décision d'orientation.")

    def __init__(self, *args, actor: User, beneficiary: Beneficiary, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["organisme_referent"] = organisme_choices(actor, beneficiary)
        _today_max(self.fields["decided_on"])
        if not self.is_bound:
            self.initial.setdefault("decided_on", timezone.localdate())


class ReorientationRequestForm(PathwayForm):
    SERVICE_FIELDS = {"proposed_track": "track", "proposed_organisme": "organisme_referent"}

    track = _choice_field(
        "Orientation proposée", Orientation.Track.choices, required_message="Choisissez l'orientation proposée."
    )
    organisme_referent = forms.ModelChoiceField(queryset=Structure.objects.none())
    reason = _reason_field(
        "Motif de la demande",
        help_text="Ce qui a changé dans la situation de la personne et justifie un autre parcours.",
        required_message="Indiquez pourquoi une réorientation est nécessaire.",
    )

    def __init__(self, *args, actor: User, beneficiary: Beneficiary, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["organisme_referent"] = organisme_choices(actor, beneficiary)
        self.fields["organisme_referent"].label = "Organisme référent proposé"


class ReorientationDecision:
    ACCEPT = "accept"
    REFUSE = "refuse"


class ReorientationDecisionForm(PathwayForm):
    SERVICE_FIELDS = {"decision_reason": "reason"}

    # Sent by the button pressed (« Accepter » or « Refuser »).
    decision = forms.ChoiceField(
        choices=[(ReorientationDecision.ACCEPT, "Accepter"), (ReorientationDecision.REFUSE, "Refuser")],
        error_messages={
            "required": "Choisissez d'accepter ou de refuser la demande.",
            "invalid_choice": "Choisissez d'accepter ou de refuser la demande.",
        },
        widget=forms.HiddenInput,
    )
    reason = _reason_field(
        "Motif de la décision",
        help_text="Il est conservé avec la décision et visible de la personne qui a fait la demande.",
        required_message="Indiquez le motif de la décision.",
    )

    @property
    def accept(self) -> bool:
        return self.cleaned_data["decision"] == ReorientationDecision.ACCEPT


# --- Objectives and actions -----------------------------------------------------------------------


class ObjectiveForm(PathwayForm):
    theme = _choice_field(
        "Thème", [("", "— Choisir un thème —"), *Theme.choices], required_message="Choisissez le thème."
    )
    title = _title_field("Intitulé", "Indiquez l'intitulé de l'objectif.")
    description = _text_field("Description (facultatif)", rows=3)
    due_date = _date_field("Échéance (facultatif)", required=False, past_message=PAST_DUE_DATE)
    contract = forms.ModelChoiceField(
        label="Contrat (facultatif)",
        queryset=Contract.objects.none(),
        required=False,
        empty_label="— Aucun contrat —",
        help_text="Le contrat de ce dossier dont l'objectif fait partie.",
        error_messages={"invalid_choice": "Choisissez un contrat de ce dossier."},
        widget=forms.Select(attrs={"class": "form-select"}),
    )
    beneficiary_agreed = _checkbox("La personne a donné son accord sur cet objectif")

    def __init__(self, *args, beneficiary: Beneficiary, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["contract"].queryset = beneficiary.contracts.filter(withdrawn_at__isnull=True).order_by(
            "-start_date", "-pk"
        )
        _today_min(self.fields["due_date"])

    def service_arguments(self) -> dict:
        return {name: self.cleaned_data[name] for name in self.fields}


class ObjectiveStatusForm(PathwayForm):
    status = _choice_field("Statut", Objective.Status.choices, required_message="Choisissez le statut.")
    version = _version_field()


class ActionForm(PathwayForm):
    title = _title_field("Intitulé de l'action", "Indiquez l'intitulé de l'action.")
    due_date = _date_field("Échéance (facultatif)", required=False, past_message=PAST_DUE_DATE)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        _today_min(self.fields["due_date"])


class ActionStatusForm(PathwayForm):
    status = _choice_field("Statut", Action.Status.choices, required_message="Choisissez le statut.")
    done_on = _date_field(
        "Réalisée le",
        required=False,
        help_text="Pour une action réalisée.",
        future_message="La date de réalisation ne peut pas être dans le futur.",
    )
    version = _version_field()

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        _today_max(self.fields["done_on"])

    def clean(self):
        cleaned_data = super().clean()
        if cleaned_data.get("status") == Action.Status.DONE and not cleaned_data.get("done_on"):
            if "done_on" not in self.errors:
                self.add_error("done_on", "Indiquez la date à laquelle l'action a été réalisée.")
        return cleaned_data


# --- Diagnostic and barriers ----------------------------------------------------------------------


class DiagnosticForm(PathwayForm):
    """The diagnostic and, for each kind of barrier, a checkbox, a severity and a comment."""

    carried_out_on = _date_field(
        "Réalisé le",
        required_message="Indiquez la date du diagnostic.",
        future_message="La date du diagnostic ne peut pas être dans le futur.",
    )
    situation = _text_field(
        "Situation", help_text="Situation familiale, ressources, logement, santé (sans détail médical)."
    )
    education_level = _choice_field(
        "Niveau de formation",
        [("", "— Non renseigné —"), *Diagnostic.EducationLevel.choices],
        required=False,
        required_message="",
    )
    qualifications = _text_field("Qualifications", rows=2)
    work_experience = _text_field("Expérience professionnelle", rows=3)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        _today_max(self.fields["carried_out_on"])
        if not self.is_bound:
            self.initial.setdefault("carried_out_on", timezone.localdate())
        for kind, label in Barrier.Kind.choices:
            self.fields[f"barrier_{kind}"] = _checkbox(label)
            self.fields[f"severity_{kind}"] = _choice_field(
                f"Intensité du frein « {label} »",
                Barrier.Severity.choices,
                required=False,
                required_message="",
            )
            self.fields[f"comment_{kind}"] = forms.CharField(
                label=f"Commentaire sur le frein « {label} »",
                required=False,
                max_length=REASON_MAX_LENGTH,
                error_messages={"max_length": f"Le commentaire ne peut pas dépasser {REASON_MAX_LENGTH} caractères."},
                widget=forms.TextInput(attrs={"class": "form-control form-control-sm"}),
            )
            self.initial.setdefault(f"severity_{kind}", Barrier.Severity.MEDIUM)

    @property
    def main_fields(self):
        return [
            self[name]
            for name in ("carried_out_on", "situation", "education_level", "qualifications", "work_experience")
        ]

    @property
    def barrier_rows(self):
        """(label, checkbox, severity, comment) for each kind of barrier, for the template's table."""
        return [
            (label, self[f"barrier_{kind}"], self[f"severity_{kind}"], self[f"comment_{kind}"])
            for kind, label in Barrier.Kind.choices
        ]

    def clean(self):
        cleaned_data = super().clean()
        for kind, _label in Barrier.Kind.choices:
            if not cleaned_data.get(f"barrier_{kind}") and cleaned_data.get(f"comment_{kind}", "").strip():
                self.add_error(
                    f"barrier_{kind}", "Cochez ce frein pour enregistrer son commentaire, ou effacez ce dernier."
                )
        return cleaned_data

    def service_arguments(self) -> dict:
        data = self.cleaned_data
        return {
            "carried_out_on": data["carried_out_on"],
            "situation": data["situation"],
            "education_level": data["education_level"],
            "qualifications": data["qualifications"],
            "work_experience": data["work_experience"],
            "barriers": [
                BarrierInput(
                    kind=kind,
                    severity=data[f"severity_{kind}"] or Barrier.Severity.MEDIUM,
                    comment=data[f"comment_{kind}"],
                )
                for kind in Barrier.Kind.values
                if data.get(f"barrier_{kind}")
            ],
        }


class BarrierResolveForm(PathwayForm):
    resolved_on = _date_field(
        "Levé le",
        required_message="Indiquez la date à laquelle le frein a été levé.",
        future_message="La date de levée du frein ne peut pas être dans le futur.",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        _today_max(self.fields["resolved_on"])
        if not self.is_bound:
            self.initial.setdefault("resolved_on", timezone.localdate())


# --- End of support -------------------------------------------------------------------------------


class SupportEndForm(PathwayForm):
    reason = forms.ModelChoiceField(
        label="Motif de fin d'accompagnement",
        queryset=SupportEndReason.objects.none(),
        empty_label="— Choisir un motif —",
        error_messages={
            "required": "Choisissez le motif de fin d'accompagnement.",
            "invalid_choice": "Choisissez un motif de la liste.",
        },
        widget=forms.Select(attrs={"class": "form-select"}),
    )
    ended_on = _date_field(
        "Fin de l'accompagnement le",
        required_message="Indiquez la date de fin d'accompagnement.",
        future_message="La date de fin d'accompagnement ne peut pas être dans le futur.",
    )
    summary = _text_field(
        "Synthèse de fin d'accompagnement",
        required=True,
        required_message="Rédigez la synthèse de fin d'accompagnement.",
        help_text="Ce qui a été fait, où en est la personne, ce qui reste à suivre. Elle reste dans le dossier.",
        rows=6,
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["reason"].queryset = SupportEndReason.objects.filter(is_active=True).order_by("position", "label")
        _today_max(self.fields["ended_on"])
        if not self.is_bound:
            self.initial.setdefault("ended_on", timezone.localdate())
