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
from tests.accounts.factories import StructureFactory, UserFactory, member
from tests.casework.factories import BeneficiaryFactory, ContractFactory, OrientationFactory
from tests.conftest import AUDIT_QUERIES, HEADER_QUERIES, SESSION_QUERIES

pytestmark = pytest.mark.django_db

URL = reverse("casework:caseload")


def page(client, user, **params):
    client.force_login(user)
    response = client.get(URL, params)
    assert response.status_code == 200
    return response.content.decode()


def test_referent_sees_the_files_they_follow_by_default(client, personas):
    html = page(client, personas.referent)
    assert "ZIDANE Zoé" in html
    assert reverse("casework:file_detail", args=[personas.file.public_id]) in html
    assert "XAVIER" not in html
    assert "1 dossier" in html


def test_referent_toggle_adds_the_files_shared_with_them(client, personas):
    beneficiary_share(actor=personas.other, beneficiary=personas.other_file, user=personas.referent, reason="Relais")
    followed = page(client, personas.referent)
    assert "XAVIER" not in followed
    everything = page(client, personas.referent, vue="tous")
    assert "ZIDANE Zoé" in everything and "XAVIER Xena" in everything
    assert "2 dossiers" in everything


def test_referent_toggle_shows_emergency_accesses(client, personas):
    emergency_access_open(
        actor=personas.referent,
        allocataire_number=personas.other_file.allocataire_number,
        birth_date=personas.other_file.birth_date,
        reason="La personne est à l'accueil.",
    )
    assert "XAVIER Xena" in page(client, personas.referent, vue="tous")


def test_colleague_of_the_same_structure_sees_nothing(client, personas):
    html = page(client, personas.colleague)
    assert "ZIDANE" not in html
    assert "Vous ne suivez aucun dossier" in html
    html = page(client, personas.colleague, vue="tous")
    assert "ZIDANE" not in html
    assert "Aucun dossier ne vous est accessible." in html


def test_referent_of_another_structure_does_not_see_the_file(client, personas):
    html = page(client, personas.other, vue="tous")
    assert "XAVIER Xena" in html
    assert "ZIDANE" not in html


def test_supervisor_sees_every_file_of_their_structure_by_default(client, personas):
    html = page(client, personas.supervisor)
    assert "ZIDANE Zoé" in html
    assert "XAVIER" not in html
    # The referent column is shown when viewing all files, and there is no "files I follow" toggle.
    assert personas.referent.get_full_name() in html
    assert "Dossiers que je suis" not in html


def test_supervisor_asking_for_followed_files_gets_all(client, personas):
    assert "ZIDANE Zoé" in page(client, personas.supervisor, vue="suivis")


def test_department_admin_gets_the_empty_state(client, personas):
    html = page(client, personas.admin)
    assert "Aucun dossier ne vous est accessible." in html
    assert "ZIDANE" not in html


def test_auditor_is_refused(client, personas):
    client.force_login(personas.auditor)
    assert client.get(URL).status_code == 403


def test_user_without_membership_is_refused(client, personas):
    client.force_login(UserFactory())
    assert client.get(URL).status_code == 403


def test_anonymous_is_sent_to_the_login_page(client, personas):
    response = client.get(URL)
    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


def test_mutations_are_not_allowed(client, personas):
    client.force_login(personas.referent)
    assert client.post(URL).status_code == 405


def test_nav_links_by_role(client, personas):
    html = page(client, personas.referent)
    assert reverse("casework:emergency_access") in html
    client.force_login(personas.supervisor)
    html = client.get(reverse("home")).content.decode()
    assert URL in html and reverse("casework:emergency_access") not in html
    client.force_login(personas.auditor)
    html = client.get(reverse("home")).content.decode()
    assert URL not in html


def test_columns_show_orientation_contract_and_number(client, personas):
    OrientationFactory(beneficiary=personas.file, track=Orientation.Track.SOCIO_PROFESSIONAL)
    ContractFactory(beneficiary=personas.file, expired=True)
    html = page(client, personas.referent)
    assert "Socio-professionnelle" in html
    assert personas.file.allocataire_number in html
    assert personas.file.birth_date.strftime("%d/%m/%Y") in html
    assert "échu" in html


def test_contract_ending_soon_is_flagged(client, personas):
    today = timezone.localdate()
    start, end = today - datetime.timedelta(days=150), today + datetime.timedelta(days=10)
    ContractFactory(beneficiary=personas.file, start_date=start, end_date=end)
    html = page(client, personas.referent)
    assert "bientôt" in html and "échu" not in html


def test_expired_contract_of_an_ended_support_is_not_flagged(client, personas):
    personas.file.is_active, personas.file.support_ended_on = False, timezone.localdate()
    personas.file.save()
    ContractFactory(beneficiary=personas.file, expired=True)
    html = page(client, personas.referent)
    assert "Accompagnement terminé" in html and "échu" not in html


def test_latest_signed_contract_gives_the_end_date(client, personas):
    today = timezone.localdate()
    ContractFactory(beneficiary=personas.file, expired=True)
    start, end = today - datetime.timedelta(days=20), today + datetime.timedelta(days=200)
    ContractFactory(beneficiary=personas.file, start_date=start, end_date=end)
    ContractFactory(
        beneficiary=personas.file,
        status=Contract.Status.DRAFT,
        signed_on=None,
        start_date=today,
        end_date=today + datetime.timedelta(days=5),
    )
    html = page(client, personas.referent)
    assert (today + datetime.timedelta(200)).strftime("%d/%m/%Y") in html
    assert "échu" not in html and "bientôt" not in html


def test_sensitive_structure_is_named_only_to_its_members(client, personas):
    csapa = StructureFactory(name="CSAPA Le Relais", is_sensitive=True, department=personas.nord.department)
    worker = member(Role.REFERENT, structure=csapa, username="csapa")
    file = BeneficiaryFactory(referent=worker, last_name="Petit")
    beneficiary_share(actor=worker, beneficiary=file, user=personas.other, reason="Relais emploi")
    outsider = page(client, personas.other, vue="tous")
    assert "PETIT" in outsider
    assert "CSAPA" not in outsider and "Structure partenaire" in outsider
    insider = page(client, worker, vue="tous")
    assert "CSAPA Le Relais" in insider


def test_rows_are_sorted_by_name_and_paginated(client, personas):
    Beneficiary.objects.bulk_create(
        Beneficiary(
            organism=Beneficiary.Organism.CAF,
            allocataire_number=str(5000000 + i),
            first_name=f"Prénom{i:03d}",
            last_name="Zola",
            birth_date=datetime.date(1980, 1, 1),
            rsa_status=Beneficiary.RsaStatus.OPEN,
            current_referent=personas.referent,
            current_structure=personas.nord,
        )
        for i in range(59)
    )
    _grant_all(personas.referent)
    first = page(client, personas.referent)
    assert "60 dossiers" in first and "page 1 sur 2" in first
    assert first.index("ZIDANE Zoé") < first.index("ZOLA Prénom000")
    assert "ZOLA Prénom048" in first and "ZOLA Prénom049" not in first
    second = page(client, personas.referent, page=2)
    assert "ZOLA Prénom049" in second and "ZOLA Prénom058" in second and "ZIDANE" not in second
    # An out-of-range or malformed page number shows a page rather than failing.
    assert "ZOLA Prénom058" in page(client, personas.referent, page=99)
    assert "ZIDANE" in page(client, personas.referent, page="x")


def _grant_all(user):
    """The object permission each of the user's followed files should hold (bulk_create skips the service)."""
    permission = Permission.objects.get(codename=VIEW_BENEFICIARY)
    granted = BeneficiaryUserObjectPermission.objects.filter(user=user).values("content_object")
    BeneficiaryUserObjectPermission.objects.bulk_create(
        BeneficiaryUserObjectPermission(user=user, permission=permission, content_object=file)
        for file in Beneficiary.objects.filter(current_referent=user).exclude(pk__in=granted)
    )


def _many_files(personas, count, start=0):
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
            current_referent=personas.referent,
            current_structure=personas.nord,
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
            organisme_referent=personas.nord,
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
            author=personas.referent,
        )
        for i, file in enumerate(files, start=start)
    )
    written = Beneficiary.objects.filter(pk__in=[file.pk for file in files])
    files_refresh_contract_end(written)  # as bulk writers do
    files_refresh_orientation(written)
    _grant_all(personas.referent)


@pytest.mark.parametrize("count", [50, 500])
@pytest.mark.parametrize(("persona", "view"), [("referent", "suivis"), ("referent", "tous"), ("supervisor", "tous")])
def test_caseload_runs_a_constant_number_of_queries(
    client, personas, django_assert_max_num_queries, count, persona, view
):
    _many_files(personas, count)
    client.force_login(getattr(personas, persona))
    # User, BEGIN, memberships, the count, the page's rows, the filters' choices (structures, communes,
    # and referents when viewing all files), COMMIT, then the session's save.
    with django_assert_max_num_queries(
        (8 if view == "suivis" else 9) + SESSION_QUERIES + AUDIT_QUERIES + HEADER_QUERIES
    ):
        response = client.get(URL, {"vue": view})
    assert response.status_code == 200
    assert f"{count + 1} dossiers" in response.content.decode()


def _filters(personas):
    """Every filter at once, each keeping some of _many_files's files, and a sort."""
    return {
        "statut": "open",
        "sdd": "oui",
        "orientation": "social",
        "structure": personas.nord.pk,
        "referent": personas.referent.pk,
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
    client, personas, django_assert_max_num_queries, count, persona, view, htmx
):
    _many_files(personas, count)
    user = getattr(personas, persona)
    client.force_login(user)
    # Two words, one with an accent: every file of _many_files matches, personas.file does not.
    client.post(reverse("casework:caseload_search"), {"q": "prénom NOM"})
    headers = {"HX-Request": "true"} if htmx else {}
    # As above, plus checking the chosen structure and referent (the chosen commune is checked against the
    # list of communes, read once for the page). The htmx partial renders no dropdown, but still checks the
    # chosen structure, referent and commune: 2 queries fewer.
    with django_assert_max_num_queries((11 if htmx else 13 + HEADER_QUERIES) + SESSION_QUERIES + AUDIT_QUERIES):
        response = client.get(URL, {"vue": view, **_filters(personas)}, headers=headers)
    assert response.status_code == 200
    html = response.content.decode()
    matches = _expected_matches(count)
    assert f"{matches} dossiers correspondent à vos critères" in html
    assert min(matches, 50) == html.count('<th scope="row">')


def test_the_number_of_queries_does_not_depend_on_the_number_of_rows(client, personas):
    """The same queries, one for one, with 50 and with 500 files."""
    client.force_login(personas.supervisor)
    client.post(reverse("casework:caseload_search"), {"q": "prénom NOM"})

    def queries():
        with CaptureQueriesContext(connection) as context:
            assert client.get(URL, _filters(personas)).status_code == 200
        return len(context)

    _many_files(personas, 50)
    with_50 = queries()
    _many_files(personas, 450, start=50)
    assert queries() == with_50


def test_rows_escape_their_texts_and_show_local_dates(client, personas):
    """Names that need escaping; an activity late at night (UTC) is shown on Paris's day; a file with no
    referent (an intake queue) says so; the user's own files are marked."""
    today = timezone.localdate()
    BeneficiaryFactory(referent=personas.supervisor, last_name="<b>Dupont</b>", first_name="Zoé & Léa", commune="")
    BeneficiaryFactory(intake_structure=personas.nord, last_name="Attente")
    late = datetime.datetime.combine(today - datetime.timedelta(days=2), datetime.time(23, 30), tzinfo=datetime.UTC)
    Beneficiary.objects.filter(pk=personas.file.pk).update(last_activity_at=late)
    html = page(client, personas.supervisor, vue="tous")
    assert "&lt;B&gt;DUPONT&lt;/B&gt; Zoé &amp; Léa" in html and "<B>DUPONT" not in html
    assert f"{timezone.localtime(late):%d/%m/%Y}" in html and f"{late:%d/%m/%Y}" not in html
    assert "Sans référent·e" in html
    assert '<span class="badge text-bg-light border">vous</span>' in html


@pytest.mark.parametrize("number", ["99999999999999999999", "abc", "-1", "0", "1.5", "", "2", "1e3"])
def test_a_hostile_page_number_shows_a_page(client, personas, number):
    html = page(client, personas.referent, page=number)
    assert "ZIDANE Zoé" in html
