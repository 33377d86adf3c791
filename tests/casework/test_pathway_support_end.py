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
from tests.casework.test_pathway_world import build_world, days, field_errors, file_url, messages_of, today

pytestmark = pytest.mark.django_db

DEFAULT_REASONS = [
    ("reprise-emploi", "Reprise d'emploi durable"),
    ("sortie-rsa", "Sortie du RSA (droits clos)"),
    ("demenagement", "Déménagement hors du département"),
    ("autre-organisme", "Orientation vers un autre organisme"),
    ("deces", "Décès"),
    ("autre", "Autre motif"),
]


@pytest.fixture
def world():
    return build_world()


def reason(code="reprise-emploi") -> SupportEndReason:
    return SupportEndReason.objects.get(code=code)


def end(world, actor=None, **overrides):
    arguments = {
        "reason": reason(),
        "summary": "CDI de magasinier depuis trois mois ; plus de frein de mobilité.",
        "ended_on": today(),
    }
    arguments.update(overrides)
    return support_end(actor=actor or world.referent, beneficiary=world.file, **arguments)


# --- The reasons ----------------------------------------------------------------------------------------


def test_the_migration_provides_the_default_reasons_in_order():
    assert list(SupportEndReason.objects.order_by("position").values_list("code", "label")) == DEFAULT_REASONS
    assert all(SupportEndReason.objects.values_list("is_active", flat=True))


def test_the_data_migration_goes_back_and_forth_and_spares_used_reasons(world):
    migration = importlib.import_module("casework.migrations.0005_support_end_reasons")
    end(world, reason=reason("deces"))

    migration.remove_reasons(apps, connection.schema_editor())
    assert list(SupportEndReason.objects.values_list("code", flat=True)) == ["deces"]

    migration.add_reasons(apps, connection.schema_editor())
    migration.add_reasons(apps, connection.schema_editor())
    assert list(SupportEndReason.objects.order_by("position").values_list("code", "label")) == DEFAULT_REASONS


# --- Ending the support ---------------------------------------------------------------------------------


def test_ending_the_support_moves_the_file_to_the_inactive_caseload_and_deletes_nothing(world):
    contract = ContractFactory(beneficiary=world.file)
    note = NoteFactory(beneficiary=world.file, author=world.referent)

    ended = end(world, ended_on=days(-2))

    world.file.refresh_from_db()
    assert not world.file.is_active
    assert (world.file.support_ended_on, world.file.support_end_reason, ended.support_end_summary) == (
        days(-2),
        reason(),
        "CDI de magasinier depuis trois mois ; plus de frein de mobilité.",
    )
    assert world.file.version == 2
    assert world.file not in Beneficiary.objects.active()
    assert world.file.contracts.get() == contract and world.file.notes.get() == note
    assert world.file.current_referent == world.referent


def test_the_support_is_not_ended_twice(world):
    end(world)

    with pytest.raises(ValidationError, match="déjà terminé"):
        end(world, actor=world.supervisor)


def test_ending_needs_an_offered_reason_a_summary_and_a_date_not_in_the_future(world):
    retired = SupportEndReason.objects.create(code="ancien", label="Ancien motif", is_active=False)

    with pytest.raises(ValidationError) as excinfo:
        end(world, reason=retired, summary="  ", ended_on=days(1))

    assert excinfo.value.message_dict == {
        "reason": ["Choisissez un des motifs de fin d'accompagnement proposés."],
        "summary": ["Rédigez la synthèse de fin d'accompagnement."],
        "ended_on": ["La date de fin d'accompagnement ne peut pas être dans le futur."],
    }
    world.file.refresh_from_db()
    assert world.file.is_active


def test_the_support_does_not_end_before_the_rsa_entry(world):
    with pytest.raises(ValidationError) as excinfo:
        end(world, ended_on=days(-401))

    assert "précéder l'entrée dans le RSA" in excinfo.value.message_dict["ended_on"][0]


@pytest.mark.parametrize("persona", ["recipient", "colleague", "other_supervisor"])
def test_only_who_may_act_on_the_file_ends_the_support(world, persona):
    with pytest.raises(PermissionDenied):
        end(world, actor=getattr(world, persona))


def test_the_supervisor_of_the_structure_may_end_the_support(world):
    assert not end(world, actor=world.supervisor).is_active


def test_the_end_of_support_page(client, world):
    client.force_login(world.referent)
    url = reverse("casework:support_end", args=[world.file.public_id])
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
    assert response.status_code == 302 and response["Location"] == file_url(world.file)
    assert "Accompagnement terminé le" in messages_of(response)[0]

    html = client.get(file_url(world.file)).content.decode()
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
