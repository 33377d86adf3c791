"""The default reasons for ending the support (*fin d'accompagnement*). The department admin keeps the
list afterwards (Django admin): adds reasons, reorders them, stops offering one (never deletes a reason a
file points at). Reversible: going back removes the reasons of this list that no file uses."""

from django.db import migrations

REASONS = [
    ("reprise-emploi", "Reprise d'emploi durable", 10),
    ("sortie-rsa", "Sortie du RSA (droits clos)", 20),
    ("demenagement", "Déménagement hors du département", 30),
    ("autre-organisme", "Orientation vers un autre organisme", 40),
    ("deces", "Décès", 50),
    ("autre", "Autre motif", 60),
]


def add_reasons(apps, schema_editor):
    SupportEndReason = apps.get_model("casework", "SupportEndReason")
    for code, label, position in REASONS:
        # A reason the admin already created (same code or same label) is left as it is.
        if SupportEndReason.objects.filter(code=code).exists() or SupportEndReason.objects.filter(label=label).exists():
            continue
        SupportEndReason.objects.create(code=code, label=label, position=position, is_active=True)


def remove_reasons(apps, schema_editor):
    SupportEndReason = apps.get_model("casework", "SupportEndReason")
    Beneficiary = apps.get_model("casework", "Beneficiary")
    used = Beneficiary.objects.filter(support_end_reason__isnull=False).values("support_end_reason")
    SupportEndReason.objects.filter(code__in=[code for code, _, _ in REASONS]).exclude(pk__in=used).delete()


class Migration(migrations.Migration):
    dependencies = [("casework", "0004_search_text")]

    operations = [migrations.RunPython(add_reasons, remove_reasons)]
