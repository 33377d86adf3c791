"""The upload form of an import of CAF/MSA files (casework/views/imports.py)."""

from django import forms

from casework.models import Beneficiary
from imports.models import ImportColumnMapping

ACCEPTED_EXTENSIONS = ".csv,.txt,.xlsx,.xml"


class ImportUploadForm(forms.Form):
    file = forms.FileField(
        label="Fichier à importer",
        help_text="CSV (UTF-8 ou Latin-1, séparateur « ; » ou « , »), Excel (.xlsx) ou flux XML CAF/MSA.",
        widget=forms.ClearableFileInput(attrs={"class": "form-control", "accept": ACCEPTED_EXTENSIONS}),
        error_messages={"required": "Choisissez le fichier à importer.", "empty": "Le fichier est vide."},
    )
    default_organism = forms.ChoiceField(
        label="Organisme payeur par défaut",
        help_text="Pour les lignes qui n'indiquent pas l'organisme.",
        choices=[("", "Indiqué dans le fichier"), *Beneficiary.Organism.choices],
        required=False,
        widget=forms.Select(attrs={"class": "form-select"}),
        error_messages={"invalid_choice": "Choisissez la CAF ou la MSA."},
    )
    mapping = forms.ModelChoiceField(
        label="Correspondance de colonnes",
        help_text="Les noms de colonnes habituels sont reconnus sans correspondance.",
        queryset=ImportColumnMapping.objects.order_by("name"),
        required=False,
        empty_label="Aucune (noms de colonnes habituels)",
        widget=forms.Select(attrs={"class": "form-select"}),
        error_messages={"invalid_choice": "Cette correspondance de colonnes n'existe plus."},
    )
    dry_run = forms.BooleanField(
        label="Simulation : vérifier le fichier et montrer ce qui changerait, sans rien enregistrer",
        initial=True,
        required=False,
        widget=forms.CheckboxInput(attrs={"class": "form-check-input"}),
    )
