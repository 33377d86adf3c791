"""The caseload's filters, sort orders and free-text search: each narrows the permission scope, never
widens it; structured filters live in the URL, the search term never does."""

import datetime
import html
import re
from urllib.parse import quote, quote_plus

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import Role
from casework.models import Appointment, Beneficiary, Contract, Orientation
from casework.services import beneficiary_share
from tests.accounts.factories import StructureFactory, member
from tests.casework.factories import AppointmentFactory, BeneficiaryFactory, ContractFactory, OrientationFactory
from www.filters import months_before
from www.views.caseload import SEARCH_SESSION_KEY

pytestmark = pytest.mark.django_db

URL = reverse("casework:caseload")
SEARCH_URL = reverse("casework:caseload_search")
HTMX = {"HX-Request": "true"}


@pytest.fixture
def personas(personas):
    """The shared personas, and: a sensitive structure with a referent of its own; three more files followed
    by the referent (who follows the personas' file, ZIDANE Zoé, too) and a fourth that the MDS Sud's referent
    shares with them; files the referent may not read, a colleague's and one of the sensitive structure."""
    p = personas
    p.csapa = StructureFactory(name="CSAPA Le Relais", code="csapa-le-relais", department=p.social, is_sensitive=True)
    p.csapa_worker = member(Role.REFERENT, structure=p.csapa, username="csapa", first_name="Inès", last_name="Roux")
    p.helene = BeneficiaryFactory(
        referent=p.referent, last_name="Dupré", first_name="Hélène", commune="Lille", allocataire_number="1234567"
    )
    p.helene_caps = BeneficiaryFactory(
        referent=p.referent, last_name="MARTIN", first_name="HELENE", commune="Roubaix", sdd=False
    )
    p.paul = BeneficiaryFactory(
        referent=p.referent,
        last_name="Petit",
        first_name="Paul",
        commune="Lille",
        rsa_status=Beneficiary.RsaStatus.SUSPENDED,
    )
    p.shared = BeneficiaryFactory(referent=p.other, last_name="Lefebvre", first_name="Jeanne", commune="Tourcoing")
    beneficiary_share(actor=p.other, beneficiary=p.shared, user=p.referent, reason="Relais")
    # Files the referent may not read: a colleague's, and one in the sensitive structure.
    p.hidden = BeneficiaryFactory(
        referent=p.colleague,
        last_name="Secret",
        first_name="Hélène",
        commune="Wattrelos",
        allocataire_number="1234999",
    )
    p.csapa_file = BeneficiaryFactory(referent=p.csapa_worker, last_name="Caché", first_name="Luc", commune="Halluin")
    return p


def get(client, user, follow_htmx=False, **params):
    client.force_login(user)
    response = client.get(URL, params, headers=HTMX if follow_htmx else {})
    assert response.status_code == 200
    return response.content.decode()


def names(page: str) -> list[str]:
    """The files listed, in order (the row headers' links)."""
    return re.findall(r'<a href="/dossiers/[0-9a-f-]{36}/">([^<]+)</a>', page)


def listed(client, user, **params) -> list[str]:
    return names(get(client, user, **params))


def options(page: str, name: str) -> list[tuple[str, str]]:
    """The (value, label) options of a select."""
    select = re.search(rf'<select name="{name}"[^>]*>(.*?)</select>', page, re.S).group(1)
    found = re.findall(r'<option value="([^"]*)"[^>]*>([^<]*)<', select)
    return [(value, html.unescape(label)) for value, label in found]


def search(client, user, term, **filters):
    client.force_login(user)
    return client.post(SEARCH_URL, {"q": term, **filters})


# --- Each filter --------------------------------------------------------------------------------


def test_rsa_status_filter(client, personas):
    assert listed(client, personas.referent, statut="suspended") == ["PETIT Paul"]
    assert "PETIT Paul" not in listed(client, personas.referent, statut="open")


def test_sdd_filter(client, personas):
    assert listed(client, personas.referent, sdd="non") == ["MARTIN HELENE"]
    assert listed(client, personas.referent, sdd="oui") == ["DUPRÉ Hélène", "PETIT Paul", "ZIDANE Zoé"]


def test_orientation_filter_reads_the_orientation_in_force(client, personas):
    OrientationFactory(beneficiary=personas.helene, track=Orientation.Track.PROFESSIONAL)
    OrientationFactory(beneficiary=personas.paul, track=Orientation.Track.SOCIAL)
    # A former professional orientation of Paul's, superseded, does not count.
    OrientationFactory(
        beneficiary=personas.paul, track=Orientation.Track.PROFESSIONAL, status=Orientation.Status.SUPERSEDED
    )
    assert listed(client, personas.referent, orientation="professional") == ["DUPRÉ Hélène"]
    assert listed(client, personas.referent, orientation="social") == ["PETIT Paul"]
    assert listed(client, personas.referent, orientation="aucune") == ["MARTIN HELENE", "ZIDANE Zoé"]


def test_structure_filter_and_its_choices(client, personas):
    page = get(client, personas.referent, vue="tous", structure=personas.sud.pk)
    assert names(page) == ["LEFEBVRE Jeanne"]
    # Only the structures of files the referent may read are offered.
    assert options(page, "structure") == [
        ("", "Toutes"),
        (str(personas.nord.pk), "MDS Nord"),
        (str(personas.sud.pk), "MDS Sud"),
    ]
    assert f'<option value="{personas.sud.pk}" selected>MDS Sud</option>' in page


def test_a_sensitive_structure_is_offered_under_its_neutral_label(client, personas):
    beneficiary_share(
        actor=personas.csapa_worker, beneficiary=personas.csapa_file, user=personas.referent, reason="Relais"
    )
    page = get(client, personas.referent, vue="tous")
    # Sorted by the label shown, not by its real name (which would hint at it).
    assert options(page, "structure")[1:] == [
        (str(personas.nord.pk), "MDS Nord"),
        (str(personas.sud.pk), "MDS Sud"),
        (str(personas.csapa.pk), "Structure partenaire"),
    ]
    assert "CSAPA" not in page
    assert names(get(client, personas.referent, vue="tous", structure=personas.csapa.pk)) == ["CACHÉ Luc"]
    # Its own people read its name.
    assert (str(personas.csapa.pk), "CSAPA Le Relais") in options(get(client, personas.csapa_worker), "structure")


def test_referent_filter_offers_only_the_referents_of_visible_files(client, personas):
    page = get(client, personas.supervisor)
    # The MDS Sud's referent follows no file the MDS Nord's supervisor may read.
    assert options(page, "referent") == [
        ("", "Tous"),
        (str(personas.referent.pk), "Rita Ferrand"),
        (str(personas.colleague.pk), "Colin Lebon"),
    ]
    assert "Odile" not in page
    assert names(get(client, personas.supervisor, referent=personas.colleague.pk)) == ["SECRET Hélène"]


def test_referent_filter_is_offered_to_a_referent_only_among_all_their_accesses(client, personas):
    assert 'name="referent"' not in get(client, personas.referent)
    page = get(client, personas.referent, vue="tous")
    assert options(page, "referent") == [
        ("", "Tous"),
        (str(personas.referent.pk), "Rita Ferrand"),
        (str(personas.other.pk), "Odile Martin"),
    ]
    assert "Lebon" not in page
    assert names(get(client, personas.referent, vue="tous", referent=personas.other.pk)) == ["LEFEBVRE Jeanne"]


def test_commune_filter_and_its_choices(client, personas):
    page = get(client, personas.referent, vue="tous", commune="Lille")
    assert names(page) == ["DUPRÉ Hélène", "PETIT Paul", "ZIDANE Zoé"]
    assert [value for value, label in options(page, "commune")] == ["", "Lille", "Roubaix", "Tourcoing"]
    # Communes of files the referent may not read are not offered.
    assert "Wattrelos" not in page and "Halluin" not in page


def test_contract_state_filter_reads_the_latest_signed_non_withdrawn_contract(client, personas):
    today = timezone.localdate()
    day = datetime.timedelta(days=1)
    ContractFactory(beneficiary=personas.helene, start_date=today - 100 * day, end_date=today + 10 * day)
    ContractFactory(beneficiary=personas.helene_caps, expired=True)
    ContractFactory(beneficiary=personas.paul, start_date=today - 10 * day, end_date=today + 200 * day)
    # A later contract of Paul's that is only a draft, and one that was withdrawn, do not count.
    ContractFactory(
        beneficiary=personas.paul,
        status=Contract.Status.DRAFT,
        signed_on=None,
        start_date=today,
        end_date=today + 5 * day,
    )
    ContractFactory(
        beneficiary=personas.paul,
        start_date=today - 5 * day,
        end_date=today - day,
        withdrawn_at=timezone.now(),
        withdrawn_by=personas.referent,
        withdrawal_reason="Saisi par erreur",
    )
    assert listed(client, personas.referent, contrat="bientot") == ["DUPRÉ Hélène"]
    assert listed(client, personas.referent, contrat="echu") == ["MARTIN HELENE"]
    assert listed(client, personas.referent, contrat="en_cours") == ["PETIT Paul"]
    assert listed(client, personas.referent, vue="tous", contrat="aucun") == ["LEFEBVRE Jeanne", "ZIDANE Zoé"]


def test_last_activity_filter_counts_no_activity_as_none(client, personas):
    now = timezone.now()
    Beneficiary.objects.filter(pk=personas.helene.pk).update(last_activity_at=now - datetime.timedelta(days=40))
    Beneficiary.objects.filter(pk=personas.helene_caps.pk).update(last_activity_at=months_before(now, 4))
    Beneficiary.objects.filter(pk=personas.paul.pk).update(last_activity_at=months_before(now, 7))
    assert listed(client, personas.referent, vue="tous", inactivite="3mois") == [
        "LEFEBVRE Jeanne",
        "MARTIN HELENE",
        "PETIT Paul",
        "ZIDANE Zoé",
    ]
    assert listed(client, personas.referent, vue="tous", inactivite="6mois") == [
        "LEFEBVRE Jeanne",
        "PETIT Paul",
        "ZIDANE Zoé",
    ]


def test_months_before_keeps_the_day_or_takes_the_last_of_the_month():
    moment = datetime.datetime(2025, 5, 31, 10, 0, tzinfo=timezone.get_current_timezone())
    assert months_before(moment, 3).date() == datetime.date(2025, 2, 28)
    assert months_before(moment, 6).date() == datetime.date(2024, 11, 30)
    assert months_before(moment, 5).date() == datetime.date(2024, 12, 31)


def test_missed_appointment_filter_looks_at_the_last_60_days(client, personas):
    now = timezone.now()
    AppointmentFactory(
        beneficiary=personas.helene, scheduled_at=now - datetime.timedelta(days=10), status=Appointment.Status.MISSED
    )
    # Too old, honoured, or withdrawn: none counts.
    AppointmentFactory(
        beneficiary=personas.helene_caps,
        scheduled_at=now - datetime.timedelta(days=90),
        status=Appointment.Status.MISSED,
    )
    AppointmentFactory(
        beneficiary=personas.paul, scheduled_at=now - datetime.timedelta(days=5), status=Appointment.Status.HONOURED
    )
    AppointmentFactory(
        beneficiary=personas.paul,
        scheduled_at=now - datetime.timedelta(days=5),
        status=Appointment.Status.MISSED,
        withdrawn_at=now,
        withdrawn_by=personas.referent,
        withdrawal_reason="Erreur de saisie",
    )
    assert listed(client, personas.referent, absence="oui") == ["DUPRÉ Hélène"]
    assert listed(client, personas.referent, absence="non") == ["MARTIN HELENE", "PETIT Paul", "ZIDANE Zoé"]


def test_support_filter(client, personas):
    Beneficiary.objects.filter(pk=personas.paul.pk).update(is_active=False, support_ended_on=timezone.localdate())
    assert listed(client, personas.referent, accompagnement="termine") == ["PETIT Paul"]
    assert listed(client, personas.referent, accompagnement="en_cours") == [
        "DUPRÉ Hélène",
        "MARTIN HELENE",
        "ZIDANE Zoé",
    ]


def test_filters_combine(client, personas):
    assert listed(client, personas.referent, vue="tous", commune="Lille", statut="open") == [
        "DUPRÉ Hélène",
        "ZIDANE Zoé",
    ]


# --- Sort orders and count ------------------------------------------------------------------------


def test_sort_by_name(client, personas):
    assert listed(client, personas.referent) == ["DUPRÉ Hélène", "MARTIN HELENE", "PETIT Paul", "ZIDANE Zoé"]
    assert listed(client, personas.referent, tri="-nom") == [
        "ZIDANE Zoé",
        "PETIT Paul",
        "MARTIN HELENE",
        "DUPRÉ Hélène",
    ]


def test_sort_by_last_activity_puts_files_never_active_with_the_oldest(client, personas):
    now = timezone.now()
    Beneficiary.objects.filter(pk=personas.helene.pk).update(last_activity_at=now - datetime.timedelta(days=1))
    Beneficiary.objects.filter(pk=personas.paul.pk).update(last_activity_at=now - datetime.timedelta(days=100))
    page = get(client, personas.referent, tri="activite")
    assert names(page) == ["MARTIN HELENE", "ZIDANE Zoé", "PETIT Paul", "DUPRÉ Hélène"]
    assert 'aria-sort="ascending">Dernière activité' in page
    assert listed(client, personas.referent, tri="-activite") == [
        "DUPRÉ Hélène",
        "PETIT Paul",
        "MARTIN HELENE",
        "ZIDANE Zoé",
    ]


def test_sort_by_contract_end_puts_files_without_contract_last(client, personas):
    today = timezone.localdate()
    ContractFactory(beneficiary=personas.helene, start_date=today, end_date=today + datetime.timedelta(days=300))
    ContractFactory(beneficiary=personas.paul, start_date=today, end_date=today + datetime.timedelta(days=20))
    assert listed(client, personas.referent, tri="fin_contrat") == [
        "PETIT Paul",
        "DUPRÉ Hélène",
        "MARTIN HELENE",
        "ZIDANE Zoé",
    ]
    page = get(client, personas.referent, tri="-fin_contrat")
    assert names(page) == ["DUPRÉ Hélène", "PETIT Paul", "MARTIN HELENE", "ZIDANE Zoé"]
    assert 'aria-sort="descending">Fin de contrat' in page


def test_the_count_of_results_is_in_a_polite_live_region(client, personas):
    page = get(client, personas.referent, commune="Lille")
    assert re.search(r'id="nombre-dossiers" role="status" aria-live="polite"[^>]*>3 dossiers correspondent', page)
    assert "1 dossier correspond à vos critères" in get(client, personas.referent, statut="suspended")
    page = get(client, personas.referent, statut="closed")
    assert "0 dossier correspond à vos critères" in page
    assert "Aucun dossier ne correspond à votre recherche ou à vos filtres." in page


def test_every_control_is_labelled(client, personas):
    page = get(client, personas.supervisor)
    for control in re.findall(r"<(?:select|input)\b[^>]*>", page):
        if 'type="hidden"' in control or 'type="submit"' in control:
            continue
        control_id = re.search(r'id="([^"]+)"', control).group(1)
        assert f'for="{control_id}"' in page, control


# --- Filters in the URL: links keep them, invalid values are explained -----------------------------


def test_pagination_and_toggle_keep_the_filters(client, personas):
    Beneficiary.objects.bulk_create(
        Beneficiary(
            organism=Beneficiary.Organism.CAF,
            allocataire_number=str(7000000 + i),
            first_name="Zoé",
            last_name=f"Zed{i:02d}",
            birth_date=datetime.date(1990, 1, 1),
            rsa_status=Beneficiary.RsaStatus.OPEN,
            commune="Lille",
            current_referent=personas.supervisor,
            current_structure=personas.nord,
        )
        for i in range(55)
    )
    page = get(client, personas.supervisor, commune="Lille", tri="-nom")
    assert "page 1 sur 2" in page
    assert 'href="/dossiers/?commune=Lille&amp;tri=-nom&amp;vue=tous&amp;page=2"' in page
    second = get(client, personas.supervisor, commune="Lille", tri="-nom", page=2)
    assert names(second)[-1] == "DUPRÉ Hélène"
    toggle = get(client, personas.referent, vue="tous", commune="Lille", referent=personas.referent.pk)
    assert 'href="/dossiers/?vue=suivis&amp;commune=Lille"' in toggle


@pytest.mark.parametrize(
    ("param", "value"),
    [
        ("statut", "inconnu"),
        ("sdd", "peut-etre"),
        ("orientation", "spatiale"),
        ("structure", "abc"),
        ("structure", "999999"),
        ("referent", "-1"),
        ("commune", "Atlantis"),
        ("contrat", "eternel"),
        ("inactivite", "12mois"),
        ("absence", "jamais"),
        ("accompagnement", "suspendu"),
        ("tri", "taille"),
    ],
)
def test_an_invalid_filter_value_is_explained_in_french_and_shows_no_file(client, personas, param, value):
    page = get(client, personas.supervisor, **{param: value})
    assert names(page) == []
    assert "Ce choix n&#x27;est pas valide : choisissez une valeur de la liste." in page
    assert f'aria-describedby="id_{param}-erreur"' in page and f'id="id_{param}-erreur"' in page
    assert "Un filtre n'est pas valide" in page


def test_a_structure_or_referent_out_of_scope_is_refused_and_not_named(client, personas):
    page = get(client, personas.referent, vue="tous", structure=personas.csapa.pk)
    assert names(page) == [] and "CSAPA" not in page
    page = get(client, personas.referent, vue="tous", referent=personas.colleague.pk)
    assert names(page) == [] and "Lebon" not in page and "pas valide" in page


def test_htmx_filter_change_gets_the_results_partial(client, personas):
    page = get(client, personas.referent, follow_htmx=True, commune="Lille")
    assert "<html" not in page and "<table" in page
    assert names(page) == ["DUPRÉ Hélène", "PETIT Paul", "ZIDANE Zoé"]
    # The count is updated in the live region, and the search form's hidden filters follow the list's.
    assert '<p id="nombre-dossiers" hx-swap-oob="innerHTML">3 dossiers correspondent' in page
    assert '<div id="recherche-filtres" hx-swap-oob="true"><input type="hidden" name="commune" value="Lille">' in page


def test_htmx_partial_explains_an_invalid_filter(client, personas):
    page = get(client, personas.referent, follow_htmx=True, statut="inconnu")
    assert "<html" not in page and "Un filtre n'est pas valide" in page


def test_htmx_history_restore_gets_the_whole_page(client, personas):
    client.force_login(personas.referent)
    response = client.get(URL, {"commune": "Lille"}, headers={**HTMX, "HX-History-Restore-Request": "true"})
    assert "<html" in response.content.decode()
    assert "HX-Request" in response["Vary"]


def test_the_filter_form_works_with_and_without_javascript(client, personas):
    page = get(client, personas.referent)
    form = re.search(r'<form id="filtres-dossiers"[^>]*>', page).group(0)
    assert 'method="get" action="/dossiers/"' in form
    assert 'hx-get="/dossiers/"' in form and 'hx-push-url="true"' in form and 'hx-target="#resultats-dossiers"' in form
    assert 'hx-history="false"' in page


# --- The free-text search ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("term", "expected"),
    [
        ("Hélène", ["DUPRÉ Hélène", "MARTIN HELENE"]),
        ("helene", ["DUPRÉ Hélène", "MARTIN HELENE"]),
        ("HÉLÈNE", ["DUPRÉ Hélène", "MARTIN HELENE"]),
        ("hel", ["DUPRÉ Hélène", "MARTIN HELENE"]),
        ("dupre helene", ["DUPRÉ Hélène"]),
        ("Hélène  DUPRE", ["DUPRÉ Hélène"]),
        ("helene-martin", ["MARTIN HELENE"]),
        ("helene zorro", []),
        ("---", []),
    ],
)
def test_name_search_ignores_accents_and_case_and_needs_every_word(client, personas, term, expected):
    search(client, personas.referent, term)
    assert listed(client, personas.referent) == expected


def test_search_finds_lower_case_names_typed_with_accents(client, personas):
    BeneficiaryFactory(referent=personas.referent, last_name="leroy", first_name="helene")
    search(client, personas.referent, "Hélène Leroy")
    assert listed(client, personas.referent) == ["LEROY helene"]


def test_a_term_of_digits_searches_the_allocataire_number_prefix(client, personas):
    search(client, personas.referent, "12 34")
    assert listed(client, personas.referent) == ["DUPRÉ Hélène"]
    search(client, personas.referent, "567")
    assert listed(client, personas.referent) == []


def test_searching_a_file_one_may_not_read_finds_nothing(client, personas):
    search(client, personas.referent, "Secret")
    page = get(client, personas.referent, vue="tous")
    assert names(page) == [] and "SECRET" not in page
    search(client, personas.referent, "1234999")
    assert listed(client, personas.referent, vue="tous") == []
    search(client, personas.referent, "Caché")
    assert listed(client, personas.referent, vue="tous") == []


def test_search_posts_redirect_to_the_list_with_the_filters_and_without_the_term(client, personas):
    response = search(client, personas.referent, "Hélène", vue="tous", commune="Lille", page="3", q2="x")
    assert response.status_code == 302
    assert response["Location"] == "/dossiers/?vue=tous&commune=Lille"
    assert client.session[SEARCH_SESSION_KEY] == "Hélène"
    assert names(client.get(response["Location"]).content.decode()) == ["DUPRÉ Hélène"]


def test_search_is_kept_through_pagination_sorting_and_filter_changes(client, personas):
    search(client, personas.referent, "helene")
    assert listed(client, personas.referent, tri="-nom") == ["MARTIN HELENE", "DUPRÉ Hélène"]
    assert listed(client, personas.referent, commune="Roubaix") == ["MARTIN HELENE"]
    assert listed(client, personas.referent, page=1, vue="tous") == ["DUPRÉ Hélène", "MARTIN HELENE"]
    page = get(client, personas.referent)
    assert 'value="helene"' in page and "Effacer la recherche" in page


def test_the_clear_button_forgets_the_term(client, personas):
    search(client, personas.referent, "helene")
    response = client.post(SEARCH_URL, {"q": "helene", "effacer": "1", "vue": "suivis"})
    assert response.status_code == 302
    assert SEARCH_SESSION_KEY not in client.session
    page = get(client, personas.referent)
    assert names(page) == ["DUPRÉ Hélène", "MARTIN HELENE", "PETIT Paul", "ZIDANE Zoé"]
    assert "Effacer la recherche" not in page and 'value="helene"' not in page


def test_an_empty_term_clears_the_search(client, personas):
    search(client, personas.referent, "helene")
    search(client, personas.referent, "   ")
    assert SEARCH_SESSION_KEY not in client.session


def test_a_too_long_term_is_refused_in_french_at_the_field(client, personas):
    response = search(client, personas.referent, "x" * 101)
    assert response.status_code == 200
    page = response.content.decode()
    assert "La recherche ne peut pas dépasser 100 caractères." in page
    assert 'aria-invalid="true"' in page and 'id="recherche-erreur"' in page
    assert SEARCH_SESSION_KEY not in client.session


def test_a_term_in_the_address_is_neither_used_nor_echoed(client, personas):
    page = get(client, personas.referent, q="Hélène", commune="Lille")
    assert names(page) == ["DUPRÉ Hélène", "PETIT Paul", "ZIDANE Zoé"]
    assert "q=" not in " ".join(_urls(page))


def _urls(page: str) -> list[str]:
    """Every URL of a page: links, form actions, htmx attributes."""
    attributes = r'(?:href|src|action|hx-get|hx-post|hx-put|hx-delete|hx-push-url|hx-replace-url|hx-vals)="([^"]*)"'
    return [html.unescape(url) for url in re.findall(attributes, page)]


def _assert_term_in_no_url(response, term):
    forms = {term, term.lower(), quote(term), quote_plus(term), quote(term.lower())}
    page = response.content.decode()
    urls = _urls(page)
    urls += [response.get(header, "") for header in ("Location", "HX-Push-Url", "HX-Replace-Url", "HX-Redirect")]
    for url in urls:
        for form in forms:
            assert form not in url, url


def test_the_search_term_never_appears_in_a_url(client, personas):
    Beneficiary.objects.bulk_create(
        Beneficiary(
            organism=Beneficiary.Organism.CAF,
            allocataire_number=str(7100000 + i),
            first_name="Hélène",
            last_name=f"Dupré{i:02d}",
            search_text=f"dupre{i:02d} helene",
            birth_date=datetime.date(1990, 1, 1),
            rsa_status=Beneficiary.RsaStatus.OPEN,
            commune="Lille",
            current_referent=personas.supervisor,
            current_structure=personas.nord,
        )
        for i in range(60)
    )
    term = "Hélène"
    redirect = search(client, personas.supervisor, term, commune="Lille", vue="tous")
    _assert_term_in_no_url(redirect, term)
    assert redirect["Location"] == "/dossiers/?vue=tous&commune=Lille"
    for params in ({"commune": "Lille"}, {"page": 2}, {"tri": "-nom"}, {"commune": "Lille", "page": 2}):
        response = client.get(URL, params)
        page = response.content.decode()
        assert "sur 2" in page  # two pages of results, so there are pagination links to check
        assert 'value="Hélène"' in page  # the term is kept, in the search form's body only
        _assert_term_in_no_url(response, term)
        _assert_term_in_no_url(client.get(URL, params, headers=HTMX), term)
    htmx_search = client.post(SEARCH_URL, {"q": term, "vue": "tous"}, headers=HTMX)
    _assert_term_in_no_url(htmx_search, term)


def test_htmx_search_gets_the_partial_and_the_address_without_the_term(client, personas):
    client.force_login(personas.referent)
    response = client.post(SEARCH_URL, {"q": "helene", "vue": "suivis", "sdd": "oui"}, headers=HTMX)
    assert response.status_code == 200
    page = response.content.decode()
    assert "<html" not in page and names(page) == ["DUPRÉ Hélène"]
    assert response["HX-Replace-Url"] == "/dossiers/?vue=suivis&sdd=oui"
    # The search form comes back (with its clear button) in place, out of band.
    assert '<form id="recherche-dossiers"' in page and 'hx-swap-oob="true"' in page
    assert "Effacer la recherche" in page
    cleared = client.post(SEARCH_URL, {"effacer": "1", "vue": "suivis"}, headers=HTMX).content.decode()
    assert names(cleared) == ["DUPRÉ Hélène", "MARTIN HELENE", "PETIT Paul", "ZIDANE Zoé"]


def test_the_search_form_posts_with_a_csrf_token_and_is_labelled(client, personas):
    page = get(client, personas.referent)
    form = page[page.index('<form id="recherche-dossiers"') :]
    form = form[: form.index("</form>")]
    assert 'method="post" action="/dossiers/recherche/"' in form and 'hx-post="/dossiers/recherche/"' in form
    assert 'name="csrfmiddlewaretoken"' in form
    assert '<label for="id_q"' in form and 'autocomplete="off"' in form


def test_search_and_filters_combine(client, personas):
    search(client, personas.referent, "helene")
    assert listed(client, personas.referent, commune="Lille") == ["DUPRÉ Hélène"]
    assert listed(client, personas.referent, statut="suspended") == []


def test_search_url_is_post_only_and_for_file_readers(client, personas):
    assert client.post(SEARCH_URL, {"q": "x"}).status_code == 302  # anonymous: to the login page
    assert client.post(SEARCH_URL, {"q": "x"})["Location"].startswith(reverse("login"))
    client.force_login(personas.referent)
    assert client.get(SEARCH_URL).status_code == 405
    client.force_login(personas.auditor)
    assert client.post(SEARCH_URL, {"q": "x"}).status_code == 403


def test_htmx_search_with_a_too_long_term_shows_the_error_in_place(client, personas):
    client.force_login(personas.referent)
    response = client.post(SEARCH_URL, {"q": "x" * 101, "vue": "suivis"}, headers=HTMX)
    assert response.status_code == 200
    page = response.content.decode()
    assert "<html" not in page and 'hx-swap-oob="true"' in page
    assert "La recherche ne peut pas dépasser 100 caractères." in page
    assert "HX-Replace-Url" not in response
