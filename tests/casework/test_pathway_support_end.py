"""The end of support (*fin d'accompagnement*), its configurable reasons (data migration 0005, Django
admin for department admins)."""

import importlib

import pytest
from django.apps import apps
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.urls import reverse

from accounts.models import Role
from casework.models import Beneficiary, SupportEndReason
from casework.services.pathway import support_end
from tests.accounts.factories import member
from tests.casework.factories import ContractFactory, NoteFactory
from tests.casework.test_pathway_world import (
    days,
    field_errors,
    file_url,
    messages_of,
    personas_on_a_pathway,  # noqa: F401 (`personas`)
    today,
)

pytestmark = pytest.mark.django_db

DEFAULT_REASONS = [
    ("reprise-emploi", "Reprise d'emploi durable"),
    ("sortie-rsa", "Sortie du RSA (droits clos)"),
    ("demenagement", "Déménagement hors du département"),
    ("autre-organisme", "Orientation vers un autre organisme"),
    ("deces", "Décès"),
    ("autre", "Autre motif"),
]


def reason(code="reprise-emploi") -> SupportEndReason:
    return SupportEndReason.objects.get(code=code)


def end(personas, actor=None, **overrides):
    arguments = {
        "reason": reason(),
        "summary": "CDI de magasinier depuis trois mois ; plus de frein de mobilité.",
        "ended_on": today(),
    }
    arguments.update(overrides)
    return support_end(actor=actor or personas.referent, beneficiary=personas.file, **arguments)


# --- The reasons ----------------------------------------------------------------------------------------


def test_the_migration_provides_the_default_reasons_in_order():
    assert list(SupportEndReason.objects.order_by("position").values_list("code", "label")) == DEFAULT_REASONS
    assert all(SupportEndReason.objects.values_list("is_active", flat=True))


def test_the_data_migration_goes_back_and_forth_and_spares_used_reasons(personas):
    migration = importlib.import_module("casework.migrations.0005_support_end_reasons")
    end(personas, reason=reason("deces"))

    migration.remove_reasons(apps, connection.schema_editor())
    assert list(SupportEndReason.objects.values_list("code", flat=True)) == ["deces"]

    migration.add_reasons(apps, connection.schema_editor())
    migration.add_reasons(apps, connection.schema_editor())
    assert list(SupportEndReason.objects.order_by("position").values_list("code", "label")) == DEFAULT_REASONS


# --- Ending the support ---------------------------------------------------------------------------------


def test_ending_the_support_moves_the_file_to_the_inactive_caseload_and_deletes_nothing(personas):
    contract = ContractFactory(beneficiary=personas.file)
    note = NoteFactory(beneficiary=personas.file, author=personas.referent)

    ended = end(personas, ended_on=days(-2))

    personas.file.refresh_from_db()
    assert not personas.file.is_active
    assert (personas.file.support_ended_on, personas.file.support_end_reason, ended.support_end_summary) == (
        days(-2),
        reason(),
        "CDI de magasinier depuis trois mois ; plus de frein de mobilité.",
    )
    assert personas.file.version == 2
    assert personas.file not in Beneficiary.objects.active()
    assert personas.file.contracts.get() == contract and personas.file.notes.get() == note
    assert personas.file.current_referent == personas.referent


def test_the_support_is_not_ended_twice(personas):
    end(personas)

    with pytest.raises(ValidationError, match="déjà terminé"):
        end(personas, actor=personas.supervisor)


def test_ending_needs_an_offered_reason_a_summary_and_a_date_not_in_the_future(personas):
    retired = SupportEndReason.objects.create(code="ancien", label="Ancien motif", is_active=False)

    with pytest.raises(ValidationError) as excinfo:
        end(personas, reason=retired, summary="  ", ended_on=days(1))

    assert excinfo.value.message_dict == {
        "reason": ["Choisissez un des motifs de fin d'accompagnement proposés."],
        "summary": ["Rédigez la synthèse de fin d'accompagnement."],
        "ended_on": ["La date de fin d'accompagnement ne peut pas être dans le futur."],
    }
    personas.file.refresh_from_db()
    assert personas.file.is_active


def test_the_support_does_not_end_before_the_rsa_entry(personas):
    with pytest.raises(ValidationError) as excinfo:
        end(personas, ended_on=days(-401))

    assert "précéder l'entrée dans le RSA" in excinfo.value.message_dict["ended_on"][0]


@pytest.mark.parametrize("persona", ["recipient", "colleague", "other_supervisor"])
def test_only_who_may_act_on_the_file_ends_the_support(personas, persona):
    with pytest.raises(PermissionDenied):
        end(personas, actor=getattr(personas, persona))


def test_the_supervisor_of_the_structure_may_end_the_support(personas):
    assert not end(personas, actor=personas.supervisor).is_active


def test_the_end_of_support_page(client, personas):
    client.force_login(personas.referent)
    url = reverse("casework:support_end", args=[personas.file.public_id])
    SupportEndReason.objects.filter(code="autre").update(is_active=False)

    response = client.get(url)
    html = response.content.decode()
    assert response.status_code == 200
    assert [r.code for r in response.context["form"].fields["reason"].queryset] == [
        code for code, _ in DEFAULT_REASONS if code != "autre"
    ]
    for name in ("reason", "ended_on", "summary"):
        assert f'for="id_{name}"' in html

    response = client.post(url, {"reason": reason().pk, "ended_on": days(3).isoformat(), "summary": ""})
    assert field_errors(response, "ended_on") == ["La date de fin d'accompagnement ne peut pas être dans le futur."]
    assert field_errors(response, "summary") == ["Rédigez la synthèse de fin d'accompagnement."]

    response = client.post(url, {"reason": reason().pk, "ended_on": today().isoformat(), "summary": "Emploi durable."})
    assert response.status_code == 302 and response["Location"] == file_url(personas.file)
    assert "Accompagnement terminé le" in messages_of(response)[0]

    html = client.get(file_url(personas.file)).content.decode()
    assert "Accompagnement terminé" in html and "Emploi durable." in html
    assert url not in html
    response = client.get(url)
    assert "déjà terminé" in response.content.decode() and 'name="summary"' not in response.content.decode()


# --- The reasons in the admin ---------------------------------------------------------------------------


@pytest.mark.ignore_unknown_template_variables
def test_the_department_admin_keeps_the_list_of_reasons(client):
    client.force_login(member(Role.DEPARTMENT_ADMIN))

    response = client.get(reverse("admin:casework_supportendreason_changelist"))
    assert response.status_code == 200
    assert "Reprise d&#x27;emploi durable" in response.content.decode()
    response = client.post(
        reverse("admin:casework_supportendreason_add"),
        {"label": "Entrée en formation longue", "code": "formation-longue", "position": "70", "is_active": "on"},
    )
    assert response.status_code == 302
    assert SupportEndReason.objects.get(code="formation-longue").label == "Entrée en formation longue"


@pytest.mark.ignore_unknown_template_variables
def test_a_reason_is_never_deleted_in_the_admin(client):
    client.force_login(member(Role.DEPARTMENT_ADMIN))

    response = client.get(reverse("admin:casework_supportendreason_delete", args=[reason().pk]))

    assert response.status_code == 403


@pytest.mark.ignore_unknown_template_variables
@pytest.mark.parametrize("role", [Role.REFERENT, Role.SUPERVISOR, Role.AUDITOR])
def test_other_roles_do_not_reach_the_reasons(client, role):
    client.force_login(member(role))

    response = client.get(reverse("admin:casework_supportendreason_changelist"))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))
