"""The diagnostic and its barriers (*freins périphériques*), and lifting a barrier."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from casework.models import Barrier, Diagnostic
from casework.services.pathway import BarrierInput, barrier_resolve, diagnostic_create
from tests.casework.factories import BarrierFactory, DiagnosticFactory
from tests.casework.test_pathway_world import (
    days,
    field_errors,
    file_url,
    messages_of,
    personas_on_a_pathway,  # noqa: F401 (`personas`)
    today,
)

pytestmark = pytest.mark.django_db


def test_a_diagnostic_with_its_barriers(personas):
    diagnostic = diagnostic_create(
        actor=personas.referent,
        beneficiary=personas.file,
        carried_out_on=days(-1),
        situation="Seule avec deux enfants.",
        education_level=Diagnostic.EducationLevel.LEVEL_3,
        qualifications="CAP petite enfance",
        work_experience="Cinq ans d'aide à domicile.",
        barriers=[
            BarrierInput(kind=Barrier.Kind.MOBILITY, severity=Barrier.Severity.HIGH, comment="Pas de permis"),
            BarrierInput(kind=Barrier.Kind.CHILDCARE),
        ],
    )

    assert diagnostic.author == personas.referent
    assert {(b.kind, b.severity, b.comment) for b in diagnostic.barriers.all()} == {
        (Barrier.Kind.MOBILITY, Barrier.Severity.HIGH, "Pas de permis"),
        (Barrier.Kind.CHILDCARE, Barrier.Severity.MEDIUM, ""),
    }


def test_a_diagnostic_is_not_dated_in_the_future_nor_lists_a_barrier_twice(personas):
    with pytest.raises(ValidationError) as excinfo:
        diagnostic_create(actor=personas.referent, beneficiary=personas.file, carried_out_on=days(1))
    assert excinfo.value.message_dict == {"carried_out_on": ["La date du diagnostic ne peut pas être dans le futur."]}

    with pytest.raises(ValidationError, match="Un même frein"):
        diagnostic_create(
            actor=personas.referent,
            beneficiary=personas.file,
            carried_out_on=today(),
            barriers=[BarrierInput(kind=Barrier.Kind.HEALTH), BarrierInput(kind=Barrier.Kind.HEALTH)],
        )
    assert not personas.file.diagnostics.exists()


def test_who_only_reads_the_file_records_no_diagnostic(personas):
    with pytest.raises(PermissionDenied):
        diagnostic_create(actor=personas.recipient, beneficiary=personas.file, carried_out_on=today())


def test_the_diagnostic_form_has_a_labelled_row_per_kind_of_barrier(client, personas):
    client.force_login(personas.referent)

    html = client.get(reverse("casework:diagnostic_create", args=[personas.file.public_id])).content.decode()

    for kind in Barrier.Kind.values:
        for prefix in ("barrier", "severity", "comment"):
            assert f'for="id_{prefix}_{kind}"' in html, (prefix, kind)
    assert 'for="id_carried_out_on"' in html and 'for="id_education_level"' in html


def test_the_diagnostic_form_records_the_ticked_barriers(client, personas):
    client.force_login(personas.referent)

    response = client.post(
        reverse("casework:diagnostic_create", args=[personas.file.public_id]),
        {
            "carried_out_on": today().isoformat(),
            "situation": "Hébergée chez un tiers.",
            "education_level": Diagnostic.EducationLevel.LEVEL_4,
            "barrier_housing": "on",
            "severity_housing": Barrier.Severity.HIGH,
            "comment_housing": "Demande de logement social en cours",
            "barrier_digital": "on",
            "severity_digital": Barrier.Severity.LOW,
            "severity_health": Barrier.Severity.HIGH,
        },
    )

    assert response.status_code == 302 and response["Location"] == file_url(personas.file)
    assert messages_of(response) == [f"Diagnostic du {today():%d/%m/%Y} enregistré (2 freins relevés)."]
    diagnostic = personas.file.diagnostics.get()
    assert dict(diagnostic.barriers.values_list("kind", "severity")) == {
        Barrier.Kind.HOUSING: Barrier.Severity.HIGH,
        Barrier.Kind.DIGITAL: Barrier.Severity.LOW,
    }


def test_the_diagnostic_form_shows_its_errors_at_the_field_and_keeps_the_typing(client, personas):
    client.force_login(personas.referent)

    response = client.post(
        reverse("casework:diagnostic_create", args=[personas.file.public_id]),
        {
            "carried_out_on": days(2).isoformat(),
            "situation": "Texte gardé",
            "comment_mobility": "Commentaire sans case cochée",
        },
    )

    html = response.content.decode()
    assert response.status_code == 200
    assert field_errors(response, "carried_out_on") == ["La date du diagnostic ne peut pas être dans le futur."]
    assert "Cochez ce frein" in field_errors(response, "barrier_mobility")[0]
    assert "Texte gardé" in html and "Commentaire sans case cochée" in html
    assert 'id="id_barrier_mobility_error"' in html
    assert not personas.file.diagnostics.exists()


# --- Lifting a barrier ----------------------------------------------------------------------------------


@pytest.fixture
def barrier(personas):
    diagnostic = DiagnosticFactory(beneficiary=personas.file, author=personas.referent, carried_out_on=days(-60))
    return BarrierFactory(diagnostic=diagnostic, kind=Barrier.Kind.MOBILITY)


def test_a_barrier_is_lifted_on_a_day_between_its_diagnostic_and_today(personas, barrier):
    with pytest.raises(ValidationError) as excinfo:
        barrier_resolve(actor=personas.referent, barrier=barrier, resolved_on=days(1))
    assert excinfo.value.message_dict == {"resolved_on": ["La date de levée du frein ne peut pas être dans le futur."]}
    with pytest.raises(ValidationError) as excinfo:
        barrier_resolve(actor=personas.referent, barrier=barrier, resolved_on=days(-61))
    assert "avant le diagnostic" in excinfo.value.message_dict["resolved_on"][0]

    lifted = barrier_resolve(actor=personas.referent, barrier=barrier, resolved_on=days(-3))

    assert lifted.resolved_on == days(-3)
    with pytest.raises(ValidationError, match="déjà levé"):
        barrier_resolve(actor=personas.supervisor, barrier=barrier, resolved_on=today())


def test_who_only_reads_the_file_lifts_no_barrier(personas, barrier):
    with pytest.raises(PermissionDenied):
        barrier_resolve(actor=personas.recipient, barrier=barrier, resolved_on=today())


def resolve_url(personas, barrier):
    return reverse(
        "casework:barrier_resolve", args=[personas.file.public_id, barrier.diagnostic.public_id, barrier.kind]
    )


def test_the_file_page_lifts_a_barrier_in_one_form(client, personas, barrier):
    client.force_login(personas.referent)
    html = client.get(file_url(personas.file)).content.decode()
    assert f'action="{resolve_url(personas, barrier)}"' in html
    assert f'for="leve-le-{barrier.diagnostic.public_id}-mobility"' in html

    response = client.post(resolve_url(personas, barrier), {"resolved_on": today().isoformat()})

    assert response.status_code == 302 and response["Location"] == file_url(personas.file)
    assert messages_of(response) == [f"Frein « Mobilité » levé le {today():%d/%m/%Y}."]
    html = client.get(file_url(personas.file)).content.decode()
    assert f"levé le {today():%d/%m/%Y}" in html
    assert f'action="{resolve_url(personas, barrier)}"' not in html


def test_a_barrier_lifted_in_the_future_comes_back_with_the_error(client, personas, barrier):
    client.force_login(personas.referent)

    response = client.post(resolve_url(personas, barrier), {"resolved_on": days(5).isoformat()})

    assert response.status_code == 200
    assert field_errors(response, "resolved_on") == ["La date de levée du frein ne peut pas être dans le futur."]
    assert f'value="{days(5).isoformat()}"' in response.content.decode()


def test_a_barrier_of_another_file_or_an_unknown_kind_is_a_404(client, personas, barrier):
    foreign = BarrierFactory(diagnostic=DiagnosticFactory(beneficiary=personas.other_file))
    client.force_login(personas.referent)

    url = reverse("casework:barrier_resolve", args=[personas.file.public_id, foreign.diagnostic.public_id, "mobility"])
    assert client.post(url, {"resolved_on": today().isoformat()}).status_code == 404
    url = reverse("casework:barrier_resolve", args=[personas.file.public_id, barrier.diagnostic.public_id, "health"])
    assert client.get(url).status_code == 404
