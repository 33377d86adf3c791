"""The file page's timeline and summary: what appears, in which order, with which markers, for whom;
the kind filter (in the URL, and as an htmx partial); the summary's figures on a crafted file."""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import Role
from casework.models import (
    Appointment,
    Beneficiary,
    Contract,
    Note,
    Objective,
    Orientation,
    ReorientationRequest,
    Step,
    SupportEndReason,
)
from casework.services import beneficiary_assign_referent, beneficiary_share, emergency_access_open, share_end
from casework.services.common import entry_correct, entry_withdraw
from tests.accounts.factories import StructureFactory, member
from tests.casework.factories import (
    ActionFactory,
    AppointmentFactory,
    BarrierFactory,
    BeneficiaryFactory,
    ContractFactory,
    DiagnosticFactory,
    NoteFactory,
    ObjectiveFactory,
    OrientationFactory,
    StepFactory,
)
from www.file_page import file_page_data
from www.timeline import build_summary, build_timeline

pytestmark = pytest.mark.django_db


@pytest.fixture
def personas(personas):
    """The shared personas, and a sensitive structure of the same department with a referent of its own."""
    personas.csapa = StructureFactory(
        name="CSAPA Le Relais", code="csapa-le-relais", is_sensitive=True, department=personas.social
    )
    personas.csapa_worker = member(
        Role.REFERENT, personas.csapa, username="csapa", first_name="Carla", last_name="Soin"
    )
    return personas


def url(file, query=""):
    return reverse("casework:file_detail", args=[file.public_id]) + query


def page(client, user, file, query="", **headers):
    client.force_login(user)
    response = client.get(url(file, query), headers=headers)
    assert response.status_code == 200
    return response.content.decode()


def timeline_of(html: str) -> str:
    """The timeline's list alone (the summary and the side panels repeat some words)."""
    start = html.index('<div id="chronologie-liste">')
    end = html.find('id="orientations"', start)  # the first panel after the timeline on the full page
    return html[start : end if end > 0 else None]


def days_ago(days: int) -> datetime.date:
    return timezone.localdate() - datetime.timedelta(days=days)


def at(days: int, hour: int = 10) -> datetime.datetime:
    """An aware datetime `days` ago (negative: in the future) at `hour`, local time."""
    day = timezone.localdate() - datetime.timedelta(days=days)
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time(hour)))


def backdate(obj, **fields):
    type(obj).objects.filter(pk=obj.pk).update(**fields)


def reorientation(file, by, *, status=ReorientationRequest.Status.PENDING, **fields):
    return ReorientationRequest.objects.create(
        beneficiary=file,
        proposed_track=Orientation.Track.PROFESSIONAL,
        proposed_organisme=fields.pop("organisme"),
        reason=fields.pop("reason", "MOTIF-DEMANDE"),
        requested_by=by,
        status=status,
        **fields,
    )


# --- Who sees it -------------------------------------------------------------------------------


@pytest.mark.parametrize("headers", [{}, {"HX-Request": "true"}])
def test_outsiders_get_a_404_on_the_page_and_on_the_partial(client, personas, headers):
    StepFactory(beneficiary=personas.file, author=personas.referent, outcome="RESULTAT-SECRET")
    for outsider in (personas.colleague, personas.other, personas.csapa_worker):
        client.force_login(outsider)
        response = client.get(url(personas.file, "?type=step"), headers=headers)
        assert response.status_code == 404
        assert "RESULTAT-SECRET" not in response.content.decode()


# --- Order and content -------------------------------------------------------------------------


def test_items_of_every_kind_come_newest_first(client, personas):
    ObjectiveFactory(beneficiary=personas.file, author=personas.referent, title="OBJ-J5")
    backdate(personas.file.objectives.get(), created_at=at(5, 9))
    OrientationFactory(beneficiary=personas.file, organisme_referent=personas.nord, decided_on=days_ago(40))
    ContractFactory(
        beneficiary=personas.file, author=personas.referent, start_date=days_ago(30), objectives="CONTRAT-J30"
    )
    StepFactory(beneficiary=personas.file, author=personas.referent, date=days_ago(20), outcome="ETAPE-J20")
    AppointmentFactory(beneficiary=personas.file, author=personas.referent, scheduled_at=at(10, 14), purpose="RDV-J10")
    AppointmentFactory(
        beneficiary=personas.file, author=personas.referent, scheduled_at=at(-7, 9), purpose="RDV-FUTUR"
    )
    note = NoteFactory(beneficiary=personas.file, author=personas.referent, body="NOTE-J3")
    backdate(note, created_at=at(3, 11))
    request = reorientation(personas.file, personas.referent, organisme=personas.sud, reason="DEMANDE-J2")
    backdate(request, created_at=at(2, 10))
    # The referent's assignment (made by the factory today) is the newest of the past.
    html = timeline_of(page(client, personas.referent, personas.file))
    markers = ["RDV-FUTUR", "Désignation de Rita Ferrand", "DEMANDE-J2", "NOTE-J3", "OBJ-J5", "RDV-J10"]
    markers += ["ETAPE-J20", "CONTRAT-J30", "Orientation sociale"]
    positions = [html.index(marker) for marker in markers]
    assert positions == sorted(positions)
    assert "à venir" in html[: html.index("Désignation de Rita Ferrand")]


def test_a_dated_step_comes_within_its_day_when_it_was_written(personas):
    step = StepFactory(beneficiary=personas.file, author=personas.referent, date=days_ago(1))
    backdate(step, created_at=at(1, 15))
    note = NoteFactory(beneficiary=personas.file, author=personas.referent)
    backdate(note, created_at=at(1, 10))
    file = file_page_data(personas.referent, personas.file.public_id)
    kinds = [item.kind for item in build_timeline(file, include_emergency_accesses=False)]
    assert kinds.index("step") < kinds.index("note")


def test_each_item_shows_its_author_and_their_structure(client, personas):
    StepFactory(
        beneficiary=personas.file, author=personas.referent, author_structure=personas.nord, kind=Step.Kind.TRAINING
    )
    html = timeline_of(page(client, personas.referent, personas.file))
    assert "Formation" in html and "Étape" in html
    assert "Par Rita Ferrand – MDS Nord" in html


def test_referent_changes_show_who_came_before_and_why(client, personas):
    beneficiary_assign_referent(
        actor=personas.supervisor,
        beneficiary=personas.file,
        referent=personas.colleague,
        structure=personas.nord,
        reason="CONGE",
    )
    html = timeline_of(page(client, personas.supervisor, personas.file))
    change = html[html.index("Désignation de Colin Lebon") : html.index("Désignation de Rita Ferrand")]
    assert "Succède à Rita Ferrand – MDS Nord" in change
    assert "Motif : CONGE" in change and "Par Sam Roux" in change
    assert "Premier·e référent·e du dossier" in html[html.index("Désignation de Rita Ferrand") :]


def test_reorientation_requests_and_their_decisions_appear(client, personas):
    pending = reorientation(personas.file, personas.referent, organisme=personas.sud, reason="DEMANDE-EN-COURS")
    backdate(pending, created_at=at(1))
    refused = reorientation(
        personas.file,
        personas.referent,
        organisme=personas.sud,
        reason="DEMANDE-REFUSEE",
        status=ReorientationRequest.Status.REFUSED,
        decided_by=personas.supervisor,
        decided_at=at(3),
        decision_reason="DECISION-MOTIF",
    )
    backdate(refused, created_at=at(9))
    html = timeline_of(page(client, personas.referent, personas.file))
    assert html.index("DEMANDE-EN-COURS") < html.index("DECISION-MOTIF") < html.index("DEMANDE-REFUSEE")
    assert "Réorientation refusée : orientation professionnelle" in html
    assert "En attente de décision" in html


def test_shares_their_end_and_emergency_accesses_appear_for_those_allowed(client, personas):
    share = beneficiary_share(
        actor=personas.referent, beneficiary=personas.file, user=personas.other, reason="MOTIF-PARTAGE"
    )
    share_end(actor=personas.referent, share=share)
    emergency_access_open(
        actor=personas.csapa_worker,
        allocataire_number=personas.file.allocataire_number,
        birth_date=personas.file.birth_date,
        reason="MOTIF-URGENCE, personne reçue à l'accueil",
    )
    html = timeline_of(page(client, personas.supervisor, personas.file))
    assert "MOTIF-PARTAGE" in html and "Partage arrêté" in html and "Avec Odile Martin" in html
    assert "MOTIF-URGENCE" in html and "Dossier ouvert en accès exceptionnel" in html
    # Whoever opened the file in emergency reads it, but not the list of emergency accesses.
    assert "MOTIF-URGENCE" not in page(client, personas.csapa_worker, personas.file)


def test_the_creation_of_objectives_actions_and_diagnostics_appears(client, personas):
    objective = ObjectiveFactory(beneficiary=personas.file, author=personas.referent, title="OBJECTIF-PERMIS")
    ActionFactory(objective=objective, author=personas.referent, title="ACTION-CODE")
    BarrierFactory(diagnostic=DiagnosticFactory(beneficiary=personas.file, author=personas.referent))
    html = timeline_of(page(client, personas.referent, personas.file))
    assert "OBJECTIF-PERMIS" in html and "ACTION-CODE" in html and "Pour l'objectif « OBJECTIF-PERMIS »" in html
    assert "Diagnostic socio-professionnel" in html and "Mobilité (modéré)" in html


def test_the_end_of_support_appears_with_its_reason_and_summary(client, personas):
    reason = SupportEndReason.objects.create(code="emploi", label="Reprise d’emploi durable")
    Beneficiary.objects.filter(pk=personas.file.pk).update(
        is_active=False, support_ended_on=days_ago(2), support_end_reason=reason, support_end_summary="SYNTHESE-FIN"
    )
    html = page(client, personas.referent, personas.file)
    assert "SYNTHESE-FIN" in timeline_of(html)
    banner = html[html.index('id="synthese-fin-accompagnement"') :]
    assert f"Accompagnement terminé le {days_ago(2):%d/%m/%Y}</strong> – Reprise d’emploi durable" in banner


# --- Sensitive structures ----------------------------------------------------------------------


def test_sensitive_structures_are_neutral_in_the_timeline_of_outsiders(client, personas):
    file = BeneficiaryFactory(referent=personas.csapa_worker, last_name="Petit")
    OrientationFactory(beneficiary=file, organisme_referent=personas.csapa)
    StepFactory(beneficiary=file, author=personas.csapa_worker, author_structure=personas.csapa)
    AppointmentFactory(beneficiary=file, author=personas.csapa_worker, with_structure=personas.csapa)
    note = NoteFactory(
        beneficiary=file,
        author=personas.csapa_worker,
        author_structure=personas.csapa,
        visibility=Note.Visibility.SHARED,
    )
    note.shared_with_structures.set([personas.csapa, personas.sud])
    reorientation(file, personas.csapa_worker, organisme=personas.csapa)
    beneficiary_share(actor=personas.csapa_worker, beneficiary=file, user=personas.other, reason="Relais emploi")
    beneficiary_share(actor=personas.csapa_worker, beneficiary=file, structure=personas.csapa, reason="Équipe")
    beneficiary_assign_referent(actor=None, beneficiary=file, referent=personas.other, structure=personas.sud)

    outsider = page(client, personas.other, file)
    assert "CSAPA" not in outsider
    assert timeline_of(outsider).count("Structure partenaire") >= 6
    assert "Partagée avec : MDS Sud, Structure partenaire" in outsider
    partial = page(client, personas.other, file, "?type=share&type=note", **{"HX-Request": "true"})
    assert "CSAPA" not in partial and "Structure partenaire" in partial

    # Its own people read its name (the file stays shared with their structure).
    assert "Partagée avec : CSAPA Le Relais, MDS Sud" in page(client, personas.csapa_worker, file)


# --- Notes -------------------------------------------------------------------------------------


def test_notes_others_may_not_read_never_reach_their_timeline(client, personas):
    NoteFactory(beneficiary=personas.file, author=personas.referent, body="NOTE-PRIVEE")
    NoteFactory(
        beneficiary=personas.file,
        author=personas.referent,
        body="NOTE-SENSIBLE",
        visibility=Note.Visibility.SHARED,
        is_sensitive=True,
    ).shared_with_structures.add(personas.sud)
    NoteFactory(beneficiary=personas.file, author=personas.referent, body="NOTE-TOUS", visibility="followers")
    for query, headers in (("", {}), ("?type=note", {}), ("?type=note", {"HX-Request": "true"})):
        html = page(client, personas.supervisor, personas.file, query, **headers)
        assert "NOTE-TOUS" in html
        assert "NOTE-PRIVEE" not in html and "NOTE-SENSIBLE" not in html
    own = timeline_of(page(client, personas.referent, personas.file))
    assert all(marker in own for marker in ("NOTE-PRIVEE", "NOTE-SENSIBLE", "NOTE-TOUS"))
    assert "Note privée" in own and "Note partagée" in own and "Note pour tous les intervenants" in own
    assert ">sensible<" in own


# --- Corrections and withdrawals ---------------------------------------------------------------


def test_a_withdrawn_entry_stays_visible_marked_and_struck_through(client, personas):
    step = StepFactory(beneficiary=personas.file, author=personas.referent, kind=Step.Kind.TRAINING, outcome="ERREUR")
    entry_withdraw(
        actor=personas.referent,
        entry=step,
        beneficiary=personas.file,
        reason="Saisi sur le mauvais dossier",
        expected_version=1,
    )
    html = timeline_of(page(client, personas.supervisor, personas.file))
    assert "<del>Formation</del>" in html and "ERREUR" in html
    assert "Par Rita Ferrand" in html
    assert "par Rita Ferrand : Saisi sur le mauvais dossier" in html
    assert "Retiré le" in html and ">retiré<" in html
    # A withdrawal keeps the last version, but it says what the entry still says: no "previous versions".
    assert "Versions précédentes" not in html


def test_a_corrected_entry_is_marked_with_its_previous_versions(client, personas):
    note = NoteFactory(beneficiary=personas.file, author=personas.referent, body="PREMIER-JET", visibility="followers")
    note = entry_correct(
        actor=personas.referent,
        entry=note,
        beneficiary=personas.file,
        changes={"body": "DEUXIEME-JET"},
        expected_version=1,
    )
    entry_correct(
        actor=personas.referent,
        entry=note,
        beneficiary=personas.file,
        changes={"body": "VERSION-FINALE"},
        expected_version=2,
    )
    html = timeline_of(page(client, personas.supervisor, personas.file))
    assert "VERSION-FINALE" in html and "Modifié le" in html
    versions = html[html.index("Versions précédentes (2)") : html.index("</details>")]
    assert versions.index("Version 2") < versions.index("DEUXIEME-JET") < versions.index("Version 1")
    assert versions.index("Version 1") < versions.index("PREMIER-JET")
    assert "par Rita Ferrand" in versions and "Texte" in versions


def test_previous_versions_only_list_the_fields_that_changed(personas):
    step = StepFactory(beneficiary=personas.file, author=personas.referent, date=days_ago(3), outcome="Avant")
    entry_correct(
        actor=personas.referent,
        entry=step,
        beneficiary=personas.file,
        changes={"outcome": "Après", "status": Step.Status.MISSED},
        expected_version=1,
    )
    file = file_page_data(personas.referent, personas.file.public_id)
    (item,) = [item for item in build_timeline(file, include_emergency_accesses=False) if item.kind == "step"]
    (version,) = item.previous_versions
    assert [(change.label, change.value) for change in version.changes] == [
        ("Statut", "Réalisée"),
        ("Résultat", "Avant"),
    ]


def test_previous_versions_show_dates_and_times_in_local_time(personas):
    appointment = AppointmentFactory(beneficiary=personas.file, author=personas.referent, scheduled_at=at(-2, 9))
    entry_correct(
        actor=personas.referent,
        entry=appointment,
        beneficiary=personas.file,
        changes={"scheduled_at": at(-2, 14)},
        expected_version=1,
    )
    file = file_page_data(personas.referent, personas.file.public_id)
    (item,) = [item for item in build_timeline(file, include_emergency_accesses=False) if item.kind == "appointment"]
    changes = [(change.label, change.value) for change in item.previous_versions[0].changes]
    assert changes == [("Date et heure", f"{at(-2, 9):%d/%m/%Y} 09:00")]


def test_the_status_badge_of_an_entry_can_be_updated_in_place(client, personas):
    step = StepFactory(beneficiary=personas.file, author=personas.referent, status=Step.Status.PLANNED)
    html = timeline_of(page(client, personas.referent, personas.file))
    assert f'id="entry-status-{step.public_id}">Prévue</span>' in html


def test_previous_versions_of_a_note_are_shown_only_to_who_may_read_it_now(client, personas):
    note = NoteFactory(
        beneficiary=personas.file, author=personas.referent, body="ANCIEN-TEXTE", visibility="followers"
    )
    assert "ANCIEN-TEXTE" in page(client, personas.supervisor, personas.file)
    entry_correct(
        actor=personas.referent,
        entry=note,
        beneficiary=personas.file,
        changes={"body": "TEXTE-PRIVE", "visibility": Note.Visibility.PRIVATE},
        expected_version=1,
    )
    supervisor = page(client, personas.supervisor, personas.file)
    assert "ANCIEN-TEXTE" not in supervisor and "TEXTE-PRIVE" not in supervisor
    author = timeline_of(page(client, personas.referent, personas.file))
    assert "TEXTE-PRIVE" in author and "ANCIEN-TEXTE" in author


# --- The kind filter ---------------------------------------------------------------------------


@pytest.fixture
def mixed(personas):
    StepFactory(beneficiary=personas.file, author=personas.referent, outcome="MARQUEUR-ETAPE")
    NoteFactory(beneficiary=personas.file, author=personas.referent, body="MARQUEUR-NOTE")
    AppointmentFactory(beneficiary=personas.file, author=personas.referent, purpose="MARQUEUR-RDV")
    ContractFactory(beneficiary=personas.file, author=personas.referent, objectives="MARQUEUR-CONTRAT")


def test_without_a_filter_every_kind_is_shown(client, personas, mixed):
    html = timeline_of(page(client, personas.referent, personas.file))
    assert all(m in html for m in ("MARQUEUR-ETAPE", "MARQUEUR-NOTE", "MARQUEUR-RDV", "MARQUEUR-CONTRAT"))


def test_the_filter_in_the_url_keeps_the_kinds_asked_for(client, personas, mixed):
    html = page(client, personas.referent, personas.file, "?type=step&type=note&type=inconnu")
    listed = timeline_of(html)
    assert "MARQUEUR-ETAPE" in listed and "MARQUEUR-NOTE" in listed
    assert "MARQUEUR-RDV" not in listed and "MARQUEUR-CONTRAT" not in listed
    assert "2 événements sur 5" in html
    # The choices keep their state, so the form works as a plain GET form without JavaScript.
    assert 'name="type" value="step" id="filtre-step" autocomplete="off" checked' in html
    assert 'name="type" value="appointment" id="filtre-appointment" autocomplete="off">' in html
    assert 'method="get"' in html and 'hx-get="' in html and 'hx-push-url="true"' in html


def test_htmx_gets_the_timeline_alone_with_its_count(client, personas, mixed):
    client.force_login(personas.referent)
    response = client.get(url(personas.file, "?type=appointment"), headers={"HX-Request": "true"})
    html = response.content.decode()
    assert [t.name for t in response.templates][0] == "casework/includes/timeline.html"
    assert "<html" not in html and "Où en est le parcours" not in html
    assert "MARQUEUR-RDV" in html and "MARQUEUR-ETAPE" not in html
    assert 'id="chronologie-compte" hx-swap-oob="innerHTML">1 événement sur 5<' in html
    assert "HX-Request" in response["Vary"]


def test_an_htmx_history_restore_gets_the_whole_page(client, personas, mixed):
    html = page(
        client,
        personas.referent,
        personas.file,
        "?type=note",
        **{"HX-Request": "true", "HX-History-Restore-Request": "true"},
    )
    assert "<html" in html and "Où en est le parcours" in html


def test_an_empty_filter_says_so(client, personas, mixed):
    html = page(client, personas.referent, personas.file, "?type=diagnostic")
    assert "Aucun événement de ce type dans le dossier." in html


# --- The summary -------------------------------------------------------------------------------


@pytest.fixture
def crafted(personas):
    """A file with something for each figure of the summary, and withdrawn entries that must not count."""
    file, by, today = personas.file, personas.referent, timezone.localdate()
    OrientationFactory(
        beneficiary=file, organisme_referent=personas.nord, status=Orientation.Status.SUPERSEDED, decided_on=None
    )
    OrientationFactory(beneficiary=file, track=Orientation.Track.PROFESSIONAL, organisme_referent=personas.sud)
    # Two contracts in force: a CER ending in 10 days, a contrat d'engagement running; an older one expired;
    # a withdrawn one that would end tomorrow.
    ContractFactory(beneficiary=file, author=by, expired=True)
    ContractFactory(
        beneficiary=file,
        author=by,
        kind=Contract.Kind.CER,
        start_date=today - datetime.timedelta(days=170),
        end_date=today + datetime.timedelta(days=10),
    )
    ContractFactory(beneficiary=file, author=by, end_date=today + datetime.timedelta(days=120))
    wrong = ContractFactory(
        beneficiary=file, author=by, kind=Contract.Kind.PPAE, end_date=today + datetime.timedelta(1)
    )
    entry_withdraw(actor=by, entry=wrong, beneficiary=file, reason="Doublon", expected_version=1)
    # Appointments: the next planned one is in 3 days; one in 1 day was withdrawn, one cancelled.
    AppointmentFactory(beneficiary=file, author=by, scheduled_at=at(-3, 14), purpose="RDV-SUIVANT")
    AppointmentFactory(beneficiary=file, author=by, scheduled_at=at(-8, 14), purpose="RDV-PLUS-TARD")
    cancelled = AppointmentFactory(beneficiary=file, author=by, scheduled_at=at(-1), status="cancelled")
    withdrawn = AppointmentFactory(beneficiary=file, author=by, scheduled_at=at(-1, 9), purpose="RDV-RETIRE")
    entry_withdraw(actor=by, entry=withdrawn, beneficiary=file, reason="Erreur", expected_version=1)
    AppointmentFactory(beneficiary=file, author=by, scheduled_at=at(2), purpose="RDV-PASSE")
    assert cancelled.status == Appointment.Status.CANCELLED
    # Objectives: two open, one achieved, one withdrawn.
    ObjectiveFactory(beneficiary=file, author=by, title="OBJ-PERMIS", status=Objective.Status.IN_PROGRESS)
    ObjectiveFactory(beneficiary=file, author=by, title="OBJ-LOGEMENT")
    ObjectiveFactory(beneficiary=file, author=by, title="OBJ-ATTEINT", status=Objective.Status.ACHIEVED)
    gone = ObjectiveFactory(beneficiary=file, author=by, title="OBJ-RETIRE")
    entry_withdraw(actor=by, entry=gone, beneficiary=file, reason="Erreur", expected_version=1)
    # Diagnostics: the latest valid one has a barrier lifted and two to lift; a later one was withdrawn.
    old = DiagnosticFactory(beneficiary=file, author=by, carried_out_on=days_ago(400))
    BarrierFactory(diagnostic=old, kind="language")
    latest = DiagnosticFactory(beneficiary=file, author=by, carried_out_on=days_ago(60))
    BarrierFactory(diagnostic=latest, kind="housing", severity="high")
    BarrierFactory(diagnostic=latest, kind="childcare")
    BarrierFactory(diagnostic=latest, kind="mobility", resolved_on=days_ago(5))
    mistaken = DiagnosticFactory(beneficiary=file, author=by, carried_out_on=days_ago(1))
    BarrierFactory(diagnostic=mistaken, kind="digital")
    entry_withdraw(actor=by, entry=mistaken, beneficiary=file, reason="Autre personne", expected_version=1)
    reorientation(file, by, organisme=personas.sud, reason="Projet professionnel")
    return file


def test_summary_figures_on_a_crafted_file(personas, crafted):
    file = file_page_data(personas.referent, crafted.public_id)
    summary = build_summary(file)
    assert summary.orientation.track == Orientation.Track.PROFESSIONAL
    assert [(c.contract.kind, c.state, c.days_left) for c in summary.contracts] == [
        (Contract.Kind.CER, "ending", 10),
        (Contract.Kind.CONTRAT_ENGAGEMENT, "running", 120),
    ]
    assert summary.next_appointment.purpose == "RDV-SUIVANT"
    assert [o.title for o in summary.open_objectives] == ["OBJ-PERMIS", "OBJ-LOGEMENT"]
    assert summary.latest_diagnostic.carried_out_on == days_ago(60)
    assert [b.kind for b in summary.open_barriers] == ["childcare", "housing"]
    assert summary.pending_reorientation.reason == "Projet professionnel"


def test_summary_is_shown_at_the_top_of_the_page(client, personas, crafted):
    html = page(client, personas.referent, crafted)
    summary = html[html.index("Où en est le parcours") : html.index("Agir sur le dossier")]
    for marker in (
        "Rita Ferrand",
        "MDS Nord",
        "Orientation professionnelle",
        "MDS Sud",
        "Contrats",
        f"se termine le {(timezone.localdate() + datetime.timedelta(days=10)):%d/%m/%Y}",
        "dans 10 jours",
        "RDV-SUIVANT",
        "Objectifs en cours : 2",
        "OBJ-PERMIS",
        "OBJ-LOGEMENT",
        "Logement",
        "Garde d&#x27;enfants",
        "Réorientation demandée",
    ):
        assert marker in summary, marker
    for absent in ("RDV-RETIRE", "OBJ-RETIRE", "OBJ-ATTEINT", "Numérique", "Langue", "expiré", "PPAE"):
        assert absent not in summary, absent


def test_an_expired_contract_with_no_renewal_is_flagged(client, personas):
    ContractFactory(beneficiary=personas.file, author=personas.referent, expired=True)
    html = page(client, personas.referent, personas.file)
    summary = html[html.index("Où en est le parcours") : html.index("Agir sur le dossier")]
    assert f"expiré le {days_ago(35):%d/%m/%Y}" in summary and "non renouvelé" in summary


def test_a_contract_ending_soon_but_renewed_is_not_flagged(personas):
    today = timezone.localdate()
    ending = ContractFactory(
        beneficiary=personas.file,
        author=personas.referent,
        start_date=today - datetime.timedelta(days=170),
        end_date=today + datetime.timedelta(days=5),
    )
    ContractFactory(
        beneficiary=personas.file,
        author=personas.referent,
        renews=ending,
        start_date=ending.end_date,
        end_date=ending.end_date + datetime.timedelta(days=180),
    )
    file = file_page_data(personas.referent, personas.file.public_id)
    assert [c.state for c in build_summary(file).contracts] == ["running", "upcoming"]


def test_summary_of_an_empty_file(client, personas):
    html = page(client, personas.referent, personas.file)
    for marker in (
        "Pas d'orientation en vigueur",
        "Aucun contrat signé",
        "Aucun rendez-vous prévu",
        "Aucun objectif en cours",
        "Pas encore de diagnostic",
    ):
        assert marker in html, marker
    assert "Réorientation demandée" not in html and 'id="synthese-fin-accompagnement"' not in html


# --- Older items, a page at a time -------------------------------------------------------------


@pytest.fixture
def long_timeline(personas, monkeypatch):
    """Seven steps (one a day, the newest yesterday) and the assignment of today; pages of three."""
    monkeypatch.setattr("www.views.file.TIMELINE_PAGE_SIZE", 3)
    for day in range(1, 8):
        StepFactory(beneficiary=personas.file, author=personas.referent, date=days_ago(day), outcome=f"ETAPE-J{day}")


def test_the_newest_page_comes_first_with_a_way_to_the_older_ones(client, personas, long_timeline):
    html = page(client, personas.referent, personas.file)
    listed = timeline_of(html)
    assert "Désignation de Rita Ferrand" in listed and "ETAPE-J2" in listed and "ETAPE-J3" not in listed
    assert "8 événements" in html
    more = listed[listed.index('id="chronologie-suite"') :]
    assert "Afficher les événements plus anciens (5)" in more
    assert 'href="' + url(personas.file, "?page=2#chronologie") + '"' in more
    assert 'hx-get="' + url(personas.file, "?page=2") + '"' in more


def test_htmx_appends_the_next_page_in_place_of_the_button(client, personas, long_timeline):
    client.force_login(personas.referent)
    headers = {"HX-Request": "true", "HX-Target": "chronologie-suite"}
    response = client.get(url(personas.file, "?type=step&page=2"), headers=headers)
    html = response.content.decode()
    assert response.templates[0].name == "casework/includes/timeline/items.html"
    assert 'id="chronologie-liste"' not in html and "hx-swap-oob" not in html
    assert html.strip().startswith('<li class="mb-2" id="evenement-step-')
    assert 'tabindex="-1" autofocus' in html  # the first new item takes the focus from the button
    assert "ETAPE-J4" in html and "ETAPE-J6" in html and "ETAPE-J3" not in html and "ETAPE-J7" not in html
    assert 'hx-get="' + url(personas.file, "?type=step&amp;page=3") + '"' in html


def test_without_javascript_an_older_page_links_back_to_the_newest(client, personas, long_timeline):
    listed = timeline_of(page(client, personas.referent, personas.file, "?page=3&type=step"))
    assert "ETAPE-J7" in listed and "ETAPE-J6" not in listed
    assert "Afficher les événements plus récents" in listed
    assert url(personas.file, "?type=step&amp;page=2#chronologie") in listed
    assert "chronologie-suite" not in listed


# --- Only the newest entries are read (issue 8) ------------------------------------------------


@pytest.fixture
def crowded(personas, monkeypatch):
    """Pages of four, on a file with steps, appointments (some to come) and notes interleaved over
    forty days, several on the same day; among the notes, private notes of a colleague that the
    referent may not read."""
    monkeypatch.setattr("www.views.file.TIMELINE_PAGE_SIZE", 4)
    file = personas.file
    for day in range(40):
        if day % 3 == 0:
            StepFactory(beneficiary=file, author=personas.referent, date=days_ago(day), outcome=f"ETAPE-{day}")
        if day % 4 == 1:
            StepFactory(beneficiary=file, author=personas.referent, date=days_ago(day), outcome=f"ETAPE-BIS-{day}")
        if day % 2 == 0:
            AppointmentFactory(
                beneficiary=file, author=personas.referent, scheduled_at=at(day - 6, hour=9), purpose=f"RDV-{day}"
            )
        if day % 5 == 0:
            note = NoteFactory(beneficiary=file, author=personas.referent, body=f"NOTE-{day}")
            backdate(note, created_at=at(day, hour=15))
        if day % 7 == 0:
            hidden = NoteFactory(
                beneficiary=file, author=personas.colleague, body=f"PRIVEE-{day}", visibility=Note.Visibility.PRIVATE
            )
            backdate(hidden, created_at=at(day, hour=16))
    ContractFactory(beneficiary=file, author=personas.referent)
    return file


def _full_timeline(personas, file, kinds=None, user=None):
    """Every item of the timeline, read without the window, as the anchors the page gives them."""
    loaded = file_page_data(user or personas.referent, file.public_id)
    items = build_timeline(loaded, include_emergency_accesses=False)
    return [item.anchor for item in items if kinds is None or item.kind in kinds]


@pytest.mark.parametrize(
    ("query", "kinds"),
    [("", None), ("type=step", {"step"}), ("type=note&type=appointment", {"note", "appointment"})],
)
def test_every_page_of_the_timeline_is_that_of_the_whole_timeline(client, personas, crowded, query, kinds):
    expected = _full_timeline(personas, crowded, kinds)
    assert len(expected) > 12  # several pages, each kind on several of them
    client.force_login(personas.referent)
    seen = []
    for number in range(1, -(-len(expected) // 4) + 1):
        html = client.get(url(crowded, f"?{query}&page={number}")).content.decode()
        listed = timeline_of(html)
        anchors = [part.split('"', 1)[0] for part in listed.split('<li class="mb-2" id="')[1:]]
        seen.extend(anchors)
        assert f"{len(expected)} événement" in html
        older = len(expected) - min(4 * number, len(expected))
        assert (f"Afficher les événements plus anciens ({older})" in html) is bool(older)
    assert seen == expected
    assert "PRIVEE-" not in "".join(seen)


def test_the_filter_counts_every_entry_of_each_kind_and_no_note_one_may_not_read(client, personas, crowded):
    html = page(client, personas.referent, crowded)
    steps, appointments, notes = (
        len(_full_timeline(personas, crowded, {kind})) for kind in ("step", "appointment", "note")
    )
    assert (steps, appointments, notes) == (14 + 10, 20, 8)
    for code, count in (("step", steps), ("appointment", appointments), ("note", notes)):
        label = html[html.index(f'for="filtre-{code}"') :]
        assert label[: label.index("</label>")].endswith(
            f'<span class="visually-hidden">(</span>{count}<span class="visually-hidden">)</span></span>'
        )
    total = steps + appointments + notes + 2  # the contract and the referent's assignment
    assert f"{total} événements" in html
    # The colleague's private notes are neither shown nor counted for the referent (the count does not
    # betray them), but they are for the colleague, once the file is shared with them.
    beneficiary_share(actor=personas.referent, beneficiary=crowded, user=personas.colleague, reason="Relais")
    theirs = _full_timeline(personas, crowded, user=personas.colleague)
    assert len([anchor for anchor in theirs if anchor.startswith("evenement-note-")]) == 6  # private notes
    assert f"{len(theirs)} événements" in page(client, personas.colleague, crowded)


def test_a_page_beyond_the_last_shows_the_last_and_a_wrong_number_the_first(client, personas, crowded):
    expected = _full_timeline(personas, crowded)
    last = -(-len(expected) // 4)
    for query, first_anchor in (
        ("?page=999999999", expected[(last - 1) * 4]),
        ("?page=abc", expected[0]),
        ("?page=0", expected[0]),
        ("?page=-3", expected[0]),
    ):
        listed = timeline_of(page(client, personas.referent, crowded, query))
        assert listed.split('<li class="mb-2" id="')[1].startswith(first_anchor + '"'), query


def test_the_next_appointment_is_found_beyond_the_newest_entries(personas):
    """Thirty-five appointments to come: the page reads the latest ones, the summary wants the earliest."""
    for day in range(1, 36):
        AppointmentFactory(
            beneficiary=personas.file, author=personas.referent, scheduled_at=at(-day), purpose=f"RDV+{day}"
        )
    withdrawn = AppointmentFactory(beneficiary=personas.file, author=personas.referent, scheduled_at=at(-1, hour=0))
    entry_withdraw(
        actor=personas.referent,
        entry=withdrawn,
        beneficiary=personas.file,
        reason="Erreur de saisie",
        expected_version=1,
    )
    file = file_page_data(personas.referent, personas.file.public_id, newest=5)
    assert len(file.appointment_list) == 5 and file.timeline_counts["appointment"] == 36
    assert build_summary(file).next_appointment.purpose == "RDV+1"


# --- The items' frame (templates/casework/includes/timeline/item.html) ------------------------------


def test_an_items_frame_escapes_its_texts_and_shows_local_times(client, personas):
    """Its date and time in Paris (an appointment at 23:30 UTC is the next day there), its title and
    the texts of its previous versions and withdrawal escaped, its heading labelling the article."""
    tricky = 'Trouver <b>un</b> "emploi"\nsur deux lignes'
    late = timezone.make_aware(datetime.datetime.combine(days_ago(3), datetime.time(23, 30)), datetime.UTC)
    appointment = AppointmentFactory(beneficiary=personas.file, author=personas.referent, scheduled_at=late)
    ObjectiveFactory(beneficiary=personas.file, author=personas.referent, title="Objectif <i>")
    step = StepFactory(beneficiary=personas.file, author=personas.referent, outcome=tricky)
    entry_correct(
        actor=personas.referent,
        entry=step,
        beneficiary=personas.file,
        changes={"outcome": "Après"},
        expected_version=1,
    )
    withdrawn = StepFactory(beneficiary=personas.file, author=personas.referent)
    entry_withdraw(
        actor=personas.referent,
        entry=withdrawn,
        beneficiary=personas.file,
        reason="Erreur <de> dossier",
        expected_version=1,
    )
    html = timeline_of(page(client, personas.referent, personas.file))
    local = timezone.localtime(late)
    assert (
        f'<time class="fw-semibold text-nowrap" datetime="{local.isoformat()}">{local:%d/%m/%Y %H:%M}</time>' in html
    )
    assert local.date() != late.date()  # the day shown is Paris's
    anchor = f"evenement-appointment-{appointment.pk}"
    assert f'aria-labelledby="{anchor}-titre"' in html and f'id="{anchor}-titre"' in html
    assert "Objectif &lt;i&gt;" in html and "<i>" not in html
    assert "Trouver &lt;b&gt;un&lt;/b&gt; &quot;emploi&quot;<br>sur deux lignes" in html  # a previous version
    assert "<b>" not in html
    assert ": Erreur &lt;de&gt; dossier</p>" in html
