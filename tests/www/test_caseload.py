"""The caseload page (*mes dossiers*): who sees which rows, the toggle, pagination, query count."""

import datetime

import pytest
from django.contrib.auth.models import Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.models import Role
from casework.models import Beneficiary, BeneficiaryUserObjectPermission, Contract, Orientation, search_key
from casework.permissions import VIEW_BENEFICIARY
from casework.services import beneficiary_share, emergency_access_open
from casework.services.common import files_refresh_contract_end, files_refresh_orientation
from tests.accounts.factories import DepartmentFactory, StructureFactory, UserFactory, member
from tests.casework.factories import BeneficiaryFactory, ContractFactory, OrientationFactory
from tests.conftest import AUDIT_QUERIES, HEADER_QUERIES, SESSION_QUERIES

pytestmark = pytest.mark.django_db

URL = reverse("casework:caseload")


@pytest.fixture
def world():
    """Two structures of one department; a file followed by the referent, one by a referent of the
    other structure."""
    social = DepartmentFactory(name="Action sociale")
    nord = StructureFactory(name="MDS Nord", department=social)
    sud = StructureFactory(name="MDS Sud", department=social)
    w = type("World", (), {})()
    w.nord, w.sud = nord, sud
    w.referent = member(Role.REFERENT, structure=nord, username="referente")
    w.colleague = member(Role.REFERENT, structure=nord, username="collegue")
    w.other = member(Role.REFERENT, structure=sud, username="autre")
    w.supervisor = member(Role.SUPERVISOR, structure=nord, username="superviseur")
    w.admin = member(Role.DEPARTMENT_ADMIN, structure=nord, username="admin")
    w.auditor = member(Role.AUDITOR, structure=nord, username="dpo")
    w.file = BeneficiaryFactory(referent=w.referent, last_name="Martin", first_name="Aïcha")
    w.other_file = BeneficiaryFactory(referent=w.other, last_name="Durand", first_name="Paul")
    return w


def page(client, user, **params):
    client.force_login(user)
    response = client.get(URL, params)
    assert response.status_code == 200
    return response.content.decode()


def test_referent_sees_the_files_they_follow_by_default(client, world):
    html = page(client, world.referent)
    assert "MARTIN Aïcha" in html
    assert reverse("casework:file_detail", args=[world.file.public_id]) in html
    assert "DURAND" not in html
    assert "1 dossier" in html


def test_referent_toggle_adds_the_files_shared_with_them(client, world):
    beneficiary_share(actor=world.other, beneficiary=world.other_file, user=world.referent, reason="Relais")
    followed = page(client, world.referent)
    assert "DURAND" not in followed
    everything = page(client, world.referent, vue="tous")
    assert "MARTIN Aïcha" in everything and "DURAND Paul" in everything
    assert "2 dossiers" in everything


def test_referent_toggle_shows_emergency_accesses(client, world):
    emergency_access_open(
        actor=world.referent,
        allocataire_number=world.other_file.allocataire_number,
        birth_date=world.other_file.birth_date,
        reason="La personne est à l'accueil.",
    )
    assert "DURAND Paul" in page(client, world.referent, vue="tous")


def test_colleague_of_the_same_structure_sees_nothing(client, world):
    html = page(client, world.colleague)
    assert "MARTIN" not in html
    assert "Vous ne suivez aucun dossier" in html
    html = page(client, world.colleague, vue="tous")
    assert "MARTIN" not in html
    assert "Aucun dossier ne vous est accessible." in html


def test_referent_of_another_structure_does_not_see_the_file(client, world):
    html = page(client, world.other, vue="tous")
    assert "DURAND Paul" in html
    assert "MARTIN" not in html


def test_supervisor_sees_every_file_of_their_structure_by_default(client, world):
    html = page(client, world.supervisor)
    assert "MARTIN Aïcha" in html
    assert "DURAND" not in html
    # The referent column is shown when viewing all files, and there is no "files I follow" toggle.
    assert world.referent.get_full_name() in html
    assert "Dossiers que je suis" not in html


def test_supervisor_asking_for_followed_files_gets_all(client, world):
    assert "MARTIN Aïcha" in page(client, world.supervisor, vue="suivis")


def test_department_admin_gets_the_empty_state(client, world):
    html = page(client, world.admin)
    assert "Aucun dossier ne vous est accessible." in html
    assert "MARTIN" not in html


def test_auditor_is_refused(client, world):
    client.force_login(world.auditor)
    assert client.get(URL).status_code == 403


def test_user_without_membership_is_refused(client, world):
    client.force_login(UserFactory())
    assert client.get(URL).status_code == 403


def test_anonymous_is_sent_to_the_login_page(client, world):
    response = client.get(URL)
    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


def test_mutations_are_not_allowed(client, world):
    client.force_login(world.referent)
    assert client.post(URL).status_code == 405


def test_nav_links_by_role(client, world):
    html = page(client, world.referent)
    assert reverse("casework:emergency_access") in html
    client.force_login(world.supervisor)
    html = client.get(reverse("home")).content.decode()
    assert URL in html and reverse("casework:emergency_access") not in html
    client.force_login(world.auditor)
    html = client.get(reverse("home")).content.decode()
    assert URL not in html


def test_columns_show_orientation_contract_and_number(client, world):
    OrientationFactory(beneficiary=world.file, track=Orientation.Track.SOCIO_PROFESSIONAL)
    ContractFactory(beneficiary=world.file, expired=True)
    html = page(client, world.referent)
    assert "Socio-professionnelle" in html
    assert world.file.allocataire_number in html
    assert world.file.birth_date.strftime("%d/%m/%Y") in html
    assert "échu" in html


def test_contract_ending_soon_is_flagged(client, world):
    today = timezone.localdate()
    start, end = today - datetime.timedelta(days=150), today + datetime.timedelta(days=10)
    ContractFactory(beneficiary=world.file, start_date=start, end_date=end)
    html = page(client, world.referent)
    assert "bientôt" in html and "échu" not in html


def test_expired_contract_of_an_ended_support_is_not_flagged(client, world):
    world.file.is_active, world.file.support_ended_on = False, timezone.localdate()
    world.file.save()
    ContractFactory(beneficiary=world.file, expired=True)
    html = page(client, world.referent)
    assert "Accompagnement terminé" in html and "échu" not in html


def test_latest_signed_contract_gives_the_end_date(client, world):
    today = timezone.localdate()
    ContractFactory(beneficiary=world.file, expired=True)
    start, end = today - datetime.timedelta(days=20), today + datetime.timedelta(days=200)
    ContractFactory(beneficiary=world.file, start_date=start, end_date=end)
    ContractFactory(
        beneficiary=world.file,
        status=Contract.Status.DRAFT,
        signed_on=None,
        start_date=today,
        end_date=today + datetime.timedelta(days=5),
    )
    html = page(client, world.referent)
    assert (today + datetime.timedelta(200)).strftime("%d/%m/%Y") in html
    assert "échu" not in html and "bientôt" not in html


def test_sensitive_structure_is_named_only_to_its_members(client, world):
    csapa = StructureFactory(name="CSAPA Le Relais", is_sensitive=True, department=world.nord.department)
    worker = member(Role.REFERENT, structure=csapa, username="csapa")
    file = BeneficiaryFactory(referent=worker, last_name="Petit")
    beneficiary_share(actor=worker, beneficiary=file, user=world.other, reason="Relais emploi")
    outsider = page(client, world.other, vue="tous")
    assert "PETIT" in outsider
    assert "CSAPA" not in outsider and "Structure partenaire" in outsider
    insider = page(client, worker, vue="tous")
    assert "CSAPA Le Relais" in insider


def test_rows_are_sorted_by_name_and_paginated(client, world):
    Beneficiary.objects.bulk_create(
        Beneficiary(
            organism=Beneficiary.Organism.CAF,
            allocataire_number=str(5000000 + i),
            first_name=f"Prénom{i:03d}",
            last_name="Zed",
            birth_date=datetime.date(1980, 1, 1),
            rsa_status=Beneficiary.RsaStatus.OPEN,
            current_referent=world.referent,
            current_structure=world.nord,
        )
        for i in range(59)
    )
    _grant_all(world.referent)
    first = page(client, world.referent)
    assert "60 dossiers" in first and "page 1 sur 2" in first
    assert first.index("MARTIN Aïcha") < first.index("ZED Prénom000")
    assert "ZED Prénom048" in first and "ZED Prénom049" not in first
    second = page(client, world.referent, page=2)
    assert "ZED Prénom049" in second and "ZED Prénom058" in second and "MARTIN" not in second
    # An out-of-range or malformed page number shows a page rather than failing.
    assert "ZED Prénom058" in page(client, world.referent, page=99)
    assert "MARTIN" in page(client, world.referent, page="x")


def _grant_all(user):
    """The object permission each of the user's followed files should hold (bulk_create skips the service)."""
    permission = Permission.objects.get(codename=VIEW_BENEFICIARY)
    granted = BeneficiaryUserObjectPermission.objects.filter(user=user).values("content_object")
    BeneficiaryUserObjectPermission.objects.bulk_create(
        BeneficiaryUserObjectPermission(user=user, permission=permission, content_object=file)
        for file in Beneficiary.objects.filter(current_referent=user).exclude(pk__in=granted)
    )


def _many_files(world, count, start=0):
    files = Beneficiary.objects.bulk_create(
        Beneficiary(
            organism=Beneficiary.Organism.CAF,
            allocataire_number=str(6000000 + i),
            first_name=f"Prénom{i}",
            last_name=f"Nom{i:04d}",
            search_text=search_key(f"Nom{i:04d}", f"Prénom{i}"),  # as save() would (bulk_create skips it)
            birth_date=datetime.date(1980, 1, 1) + datetime.timedelta(days=i),
            rsa_status=Beneficiary.RsaStatus.OPEN,
            commune="Lille",
            current_referent=world.referent,
            current_structure=world.nord,
            # Every other file has had no activity for a year.
            last_activity_at=timezone.now() - datetime.timedelta(days=365 * (i % 2)),
        )
        for i in range(start, start + count)
    )
    today = timezone.localdate()
    Orientation.objects.bulk_create(
        Orientation(
            beneficiary=file,
            track=Orientation.Track.SOCIAL,
            organisme_referent=world.nord,
            status=Orientation.Status.DECIDED,
            decided_on=today,
        )
        for file in files
    )
    Contract.objects.bulk_create(
        Contract(
            beneficiary=file,
            kind=Contract.Kind.CONTRAT_ENGAGEMENT,
            status=Contract.Status.SIGNED,
            start_date=today - datetime.timedelta(days=100),
            end_date=today + datetime.timedelta(days=i % 60),
            signed_on=today - datetime.timedelta(days=100),
            author=world.referent,
        )
        for i, file in enumerate(files, start=start)
    )
    written = Beneficiary.objects.filter(pk__in=[file.pk for file in files])
    files_refresh_contract_end(written)  # as bulk writers do
    files_refresh_orientation(written)
    _grant_all(world.referent)


@pytest.mark.parametrize("count", [50, 500])
@pytest.mark.parametrize(("persona", "view"), [("referent", "suivis"), ("referent", "tous"), ("supervisor", "tous")])
def test_caseload_runs_a_constant_number_of_queries(
    client, world, django_assert_max_num_queries, count, persona, view
):
    _many_files(world, count)
    client.force_login(getattr(world, persona))
    # User, BEGIN, memberships, the count, the page's rows, the filters' choices (structures, communes,
    # and referents when viewing all files), COMMIT, then the session's save.
    with django_assert_max_num_queries(
        (8 if view == "suivis" else 9) + SESSION_QUERIES + AUDIT_QUERIES + HEADER_QUERIES
    ):
        response = client.get(URL, {"vue": view})
    assert response.status_code == 200
    assert f"{count + 1} dossiers" in response.content.decode()


def _filters(world):
    """Every filter at once, each keeping some of _many_files's files, and a sort."""
    return {
        "statut": "open",
        "sdd": "oui",
        "orientation": "social",
        "structure": world.nord.pk,
        "referent": world.referent.pk,
        "commune": "Lille",
        "contrat": "bientot",
        "inactivite": "3mois",
        "absence": "non",
        "accompagnement": "en_cours",
        "tri": "-fin_contrat",
    }


def _expected_matches(count):
    # _many_files: no activity for a year on odd files; contracts end within 30 days when i % 60 <= 30.
    return sum(1 for i in range(count) if i % 2 and i % 60 <= 30)


@pytest.mark.parametrize("htmx", [False, True])
@pytest.mark.parametrize("count", [50, 500])
@pytest.mark.parametrize(("persona", "view"), [("referent", "suivis"), ("referent", "tous"), ("supervisor", "tous")])
def test_filtered_and_searched_caseload_runs_a_constant_number_of_queries(
    client, world, django_assert_max_num_queries, count, persona, view, htmx
):
    _many_files(world, count)
    user = getattr(world, persona)
    client.force_login(user)
    # Two words, one with an accent: every file of _many_files matches, world.file does not.
    client.post(reverse("casework:caseload_search"), {"q": "prénom NOM"})
    headers = {"HX-Request": "true"} if htmx else {}
    # As above, plus checking the chosen structure and referent (the chosen commune is checked against the
    # list of communes, read once for the page). The htmx partial renders no dropdown, but still checks the
    # chosen structure, referent and commune: 2 queries fewer.
    with django_assert_max_num_queries((11 if htmx else 13 + HEADER_QUERIES) + SESSION_QUERIES + AUDIT_QUERIES):
        response = client.get(URL, {"vue": view, **_filters(world)}, headers=headers)
    assert response.status_code == 200
    html = response.content.decode()
    matches = _expected_matches(count)
    assert f"{matches} dossiers correspondent à vos critères" in html
    assert min(matches, 50) == html.count('<th scope="row">')


def test_the_number_of_queries_does_not_depend_on_the_number_of_rows(client, world):
    """The same queries, one for one, with 50 and with 500 files."""
    client.force_login(world.supervisor)
    client.post(reverse("casework:caseload_search"), {"q": "prénom NOM"})

    def queries():
        with CaptureQueriesContext(connection) as context:
            assert client.get(URL, _filters(world)).status_code == 200
        return len(context)

    _many_files(world, 50)
    with_50 = queries()
    _many_files(world, 450, start=50)
    assert queries() == with_50


def test_rows_escape_their_texts_and_show_local_dates(client, world):
    """Names that need escaping; an activity late at night (UTC) is shown on Paris's day; a file with no
    referent (an intake queue) says so; the user's own files are marked."""
    today = timezone.localdate()
    BeneficiaryFactory(referent=world.supervisor, last_name="<b>Dupont</b>", first_name="Zoé & Léa", commune="")
    BeneficiaryFactory(intake_structure=world.nord, last_name="Attente")
    late = datetime.datetime.combine(today - datetime.timedelta(days=2), datetime.time(23, 30), tzinfo=datetime.UTC)
    Beneficiary.objects.filter(pk=world.file.pk).update(last_activity_at=late)
    html = page(client, world.supervisor, vue="tous")
    assert "&lt;B&gt;DUPONT&lt;/B&gt; Zoé &amp; Léa" in html and "<B>DUPONT" not in html
    assert f"{timezone.localtime(late):%d/%m/%Y}" in html and f"{late:%d/%m/%Y}" not in html
    assert "Sans référent·e" in html
    assert '<span class="badge text-bg-light border">vous</span>' in html


@pytest.mark.parametrize("number", ["99999999999999999999", "abc", "-1", "0", "1.5", "", "2", "1e3"])
def test_a_hostile_page_number_shows_a_page(client, world, number):
    html = page(client, world.referent, page=number)
    assert "MARTIN Aïcha" in html
