"""Objectives and actions: creating them, changing their status in one click (htmx, and without
JavaScript), optimistic locking with the version."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from django.utils import timezone

from casework.models import Action, Objective, Theme
from casework.services.common import ConcurrentEdit
from casework.services.pathway import action_create, action_set_status, objective_create, objective_set_status
from tests.casework.factories import ActionFactory, ContractFactory, ObjectiveFactory
from tests.casework.test_pathway_world import (
    days,
    field_errors,
    file_url,
    htmx,
    messages_of,
    personas_on_a_pathway,  # noqa: F401 (`personas`)
    today,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def objective(personas):
    return ObjectiveFactory(beneficiary=personas.file, author=personas.referent, title="Passer le permis B")


@pytest.fixture
def action(objective, personas):
    return ActionFactory(objective=objective, author=personas.referent, title="S'inscrire à l'auto-école")


# --- Objectives -----------------------------------------------------------------------------------------


def test_an_objective_tied_to_a_contract_with_the_agreement(personas):
    contract = ContractFactory(beneficiary=personas.file)

    objective = objective_create(
        actor=personas.referent,
        beneficiary=personas.file,
        theme=Theme.MOBILITY,
        title="  Passer le permis B ",
        description="Financement via l'aide à la mobilité.",
        due_date=days(90),
        contract=contract,
        beneficiary_agreed=True,
    )

    assert (objective.title, objective.contract, objective.beneficiary_agreed, objective.status) == (
        "Passer le permis B",
        contract,
        True,
        Objective.Status.OPEN,
    )
    assert objective.author == personas.referent
    personas.file.refresh_from_db()
    assert personas.file.last_activity_at is not None


def test_an_objective_is_tied_only_to_a_contract_of_its_file(personas):
    foreign = ContractFactory(beneficiary=personas.other_file)

    with pytest.raises(ValidationError) as excinfo:
        objective_create(
            actor=personas.referent, beneficiary=personas.file, theme=Theme.HOUSING, title="Logement", contract=foreign
        )

    assert excinfo.value.message_dict == {"contract": ["Ce contrat n'est pas un contrat de ce dossier."]}


def test_an_objective_due_in_the_past_is_refused(personas):
    with pytest.raises(ValidationError) as excinfo:
        objective_create(
            actor=personas.referent, beneficiary=personas.file, theme=Theme.HOUSING, title="X", due_date=days(-1)
        )

    assert "L'échéance est passée" in excinfo.value.message_dict["due_date"][0]


def test_who_only_reads_the_file_sets_no_objective(personas):
    with pytest.raises(PermissionDenied):
        objective_create(actor=personas.recipient, beneficiary=personas.file, theme=Theme.HOUSING, title="Logement")


def test_the_objective_form_offers_the_files_contracts_only(client, personas):
    mine = ContractFactory(beneficiary=personas.file, objectives="MON-CONTRAT")
    foreign = ContractFactory(beneficiary=personas.other_file)
    client.force_login(personas.referent)
    url = reverse("casework:objective_create", args=[personas.file.public_id])

    response = client.get(url)
    choices = list(response.context["form"].fields["contract"].queryset)
    assert choices == [mine]

    response = client.post(url, {"theme": Theme.EMPLOYMENT, "title": "Emploi", "contract": foreign.pk})
    assert field_errors(response, "contract") == ["Choisissez un contrat de ce dossier."]

    response = client.post(url, {"theme": "", "title": "", "due_date": "32/13/2026", "description": "Gardé"})
    assert field_errors(response, "theme") == ["Choisissez le thème."]
    assert field_errors(response, "title") == ["Indiquez l'intitulé de l'objectif."]
    assert field_errors(response, "due_date") == ["Saisissez une date valide, par exemple 31/12/2026."]
    assert "Gardé" in response.content.decode()

    response = client.post(
        url, {"theme": Theme.EMPLOYMENT, "title": "Emploi", "contract": mine.pk, "beneficiary_agreed": "on"}
    )
    assert response.status_code == 302
    assert personas.file.objectives.get().contract == mine
    assert messages_of(response) == ["Objectif « Emploi » enregistré."]


def test_changing_an_objectives_status_keeps_the_version(personas, objective):
    changed = objective_set_status(
        actor=personas.referent, objective=objective, status=Objective.Status.IN_PROGRESS, expected_version=1
    )

    assert (changed.status, changed.version) == (Objective.Status.IN_PROGRESS, 2)
    with pytest.raises(ConcurrentEdit):
        objective_set_status(
            actor=personas.supervisor, objective=objective, status=Objective.Status.ACHIEVED, expected_version=1
        )


def objective_status_url(personas, objective):
    return reverse("casework:objective_status", args=[personas.file.public_id, objective.public_id])


def test_an_htmx_click_changes_the_status_and_answers_the_objectives_fragment(client, personas, objective, action):
    client.force_login(personas.referent)

    response = client.post(
        objective_status_url(personas, objective), {"status": Objective.Status.ACHIEVED, "version": "1"}, **htmx()
    )

    html = response.content.decode()
    assert response.status_code == 200
    assert html.lstrip().startswith(f'<li class="border rounded p-2 mb-2 small" id="objectif-{objective.public_id}">')
    assert "<html" not in html
    assert 'role="status"' in html and "Objectif « Passer le permis B » : atteint." in html
    assert "S&#x27;inscrire à l&#x27;auto-école" in html
    assert 'name="version" value="2"' in html
    objective.refresh_from_db()
    assert objective.status == Objective.Status.ACHIEVED


def test_without_javascript_the_click_redirects_to_the_file(client, personas, objective):
    client.force_login(personas.referent)

    response = client.post(
        objective_status_url(personas, objective), {"status": Objective.Status.IN_PROGRESS, "version": "1"}
    )

    assert response.status_code == 302 and response["Location"] == file_url(personas.file)
    assert messages_of(response) == ["Objectif « Passer le permis B » : en cours."]


def test_a_stale_status_click_shows_the_current_state(client, personas, objective):
    objective_set_status(
        actor=personas.supervisor, objective=objective, status=Objective.Status.ABANDONED, expected_version=1
    )
    client.force_login(personas.referent)

    response = client.post(
        objective_status_url(personas, objective), {"status": Objective.Status.ACHIEVED, "version": "1"}, **htmx()
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert "Quelqu&#x27;un d&#x27;autre a modifié cet objectif" in html
    assert "Abandonné" in html
    objective.refresh_from_db()
    assert objective.status == Objective.Status.ABANDONED

    response = client.post(
        objective_status_url(personas, objective), {"status": Objective.Status.ACHIEVED, "version": "1"}
    )
    assert response.status_code == 200
    assert "Quelqu&#x27;un d&#x27;autre a modifié cet objectif" in response.content.decode()


def test_an_unknown_status_is_refused_in_french(client, personas, objective):
    client.force_login(personas.referent)

    response = client.post(objective_status_url(personas, objective), {"status": "done", "version": "1"}, **htmx())

    assert "Choisissez une valeur de la liste." in response.content.decode()


def test_the_file_page_has_the_one_click_buttons_for_who_may_act(client, personas, objective):
    client.force_login(personas.referent)
    html = client.get(file_url(personas.file)).content.decode()
    assert f'hx-post="{objective_status_url(personas, objective)}"' in html
    assert reverse("casework:action_create", args=[personas.file.public_id, objective.public_id]) in html

    client.force_login(personas.recipient)
    html = client.get(file_url(personas.file)).content.decode()
    assert "Passer le permis B" in html
    assert objective_status_url(personas, objective) not in html


# --- Actions --------------------------------------------------------------------------------------------


def test_an_action_is_added_under_an_open_objective(personas, objective):
    action = action_create(actor=personas.referent, objective=objective, title="Code de la route", due_date=days(30))

    assert (action.objective, action.status, action.author) == (objective, Action.Status.PLANNED, personas.referent)


def test_no_action_is_added_under_a_closed_objective(personas, objective):
    objective_set_status(
        actor=personas.referent, objective=objective, status=Objective.Status.ACHIEVED, expected_version=1
    )

    with pytest.raises(ValidationError, match="Cet objectif est atteint"):
        action_create(actor=personas.referent, objective=objective, title="Code")


def test_the_action_page(client, personas, objective):
    client.force_login(personas.referent)
    url = reverse("casework:action_create", args=[personas.file.public_id, objective.public_id])

    assert "Passer le permis B" in client.get(url).content.decode()
    response = client.post(url, {"title": "", "due_date": days(-2).isoformat()})
    assert field_errors(response, "title") == ["Indiquez l'intitulé de l'action."]

    response = client.post(url, {"title": "Code", "due_date": days(-2).isoformat()})
    assert "L'échéance est passée" in field_errors(response, "due_date")[0]

    response = client.post(url, {"title": "Code", "due_date": days(20).isoformat()})
    assert response.status_code == 302
    assert objective.actions.get().title == "Code"


def test_an_objective_of_another_file_is_a_404(client, personas):
    foreign = ObjectiveFactory(beneficiary=personas.other_file)
    client.force_login(personas.referent)

    assert (
        client.get(reverse("casework:action_create", args=[personas.file.public_id, foreign.public_id])).status_code
        == 404
    )
    response = client.post(
        objective_status_url(personas, foreign), {"status": Objective.Status.ACHIEVED, "version": "1"}
    )
    assert response.status_code == 404


def test_a_done_action_has_its_date_not_in_the_future(personas, action):
    with pytest.raises(ValidationError) as excinfo:
        action_set_status(actor=personas.referent, action=action, status=Action.Status.DONE, expected_version=1)
    assert excinfo.value.message_dict == {"done_on": ["Indiquez la date à laquelle l'action a été réalisée."]}

    with pytest.raises(ValidationError) as excinfo:
        action_set_status(
            actor=personas.referent, action=action, status=Action.Status.DONE, done_on=days(1), expected_version=1
        )
    assert excinfo.value.message_dict == {"done_on": ["La date de réalisation ne peut pas être dans le futur."]}

    done = action_set_status(
        actor=personas.referent, action=action, status=Action.Status.DONE, done_on=days(-2), expected_version=1
    )
    assert (done.status, done.done_on, done.version) == (Action.Status.DONE, days(-2), 2)

    reopened = action_set_status(
        actor=personas.referent, action=action, status=Action.Status.IN_PROGRESS, done_on=days(-2), expected_version=2
    )
    assert (reopened.status, reopened.done_on) == (Action.Status.IN_PROGRESS, None)


def test_the_database_wants_a_date_on_a_done_action(personas, action):
    action.status = Action.Status.DONE

    with pytest.raises(ValidationError) as excinfo:
        action.full_clean()
    assert "Une action réalisée a une date de réalisation." in excinfo.value.messages


def action_status_url(personas, action):
    return reverse("casework:action_status", args=[personas.file.public_id, action.public_id])


def test_an_htmx_click_marks_an_action_done_and_answers_its_fragment(client, personas, action):
    client.force_login(personas.referent)

    response = client.post(
        action_status_url(personas, action),
        {"status": Action.Status.DONE, "done_on": today().isoformat(), "version": "1"},
        **htmx(),
    )

    html = response.content.decode()
    assert response.status_code == 200
    assert html.lstrip().startswith(f'<li id="action-{action.public_id}"')
    assert f"réalisée le {timezone.localdate():%d/%m/%Y}" in html
    assert 'role="status"' in html
    action.refresh_from_db()
    assert (action.status, action.done_on, action.version) == (Action.Status.DONE, today(), 2)


def test_an_htmx_click_with_a_future_date_shows_the_error_and_keeps_the_date(client, personas, action):
    client.force_login(personas.referent)

    response = client.post(
        action_status_url(personas, action),
        {"status": Action.Status.DONE, "done_on": days(3).isoformat(), "version": "1"},
        **htmx(),
    )

    html = response.content.decode()
    assert "La date de réalisation ne peut pas être dans le futur." in html
    assert f'value="{days(3).isoformat()}"' in html
    assert f'aria-describedby="action-{action.public_id}-erreur"' in html
    action.refresh_from_db()
    assert action.status == Action.Status.PLANNED


def test_without_javascript_an_action_status_redirects_or_shows_its_error(client, personas, action):
    client.force_login(personas.referent)

    response = client.post(
        action_status_url(personas, action), {"status": Action.Status.DONE, "done_on": "", "version": "1"}
    )
    assert response.status_code == 200
    assert "Indiquez la date à laquelle l&#x27;action a été réalisée." in response.content.decode()
    assert "Statut de l&#x27;action" in response.content.decode()

    response = client.post(
        action_status_url(personas, action), {"status": Action.Status.CANCELLED, "done_on": "", "version": "1"}
    )
    assert response.status_code == 302 and response["Location"] == file_url(personas.file)
    assert messages_of(response)[-1] == "Action « S'inscrire à l'auto-école » : annulée."


def test_a_stale_action_click_is_refused(client, personas, action):
    action_set_status(actor=personas.supervisor, action=action, status=Action.Status.CANCELLED, expected_version=1)
    client.force_login(personas.referent)

    response = client.post(
        action_status_url(personas, action), {"status": Action.Status.IN_PROGRESS, "version": "1"}, **htmx()
    )

    assert "Quelqu&#x27;un d&#x27;autre a modifié cette action" in response.content.decode()
    action.refresh_from_db()
    assert action.status == Action.Status.CANCELLED


def test_an_action_of_another_file_is_a_404(client, personas):
    foreign = ActionFactory(objective=ObjectiveFactory(beneficiary=personas.other_file))
    client.force_login(personas.referent)

    response = client.post(action_status_url(personas, foreign), {"status": Action.Status.CANCELLED, "version": "1"})

    assert response.status_code == 404
