"""Emergency access (accès exceptionnel) through the web page (issue 3)."""

import datetime
import re

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse
from django.utils import timezone

from accounts.models import Role
from casework.models import Beneficiary, EmergencyAccess
from casework.permissions import visible_beneficiaries
from tests.accounts.factories import member
from tests.casework.factories import BeneficiaryFactory
from www.views.emergency import NO_MATCHING_FILE

pytestmark = pytest.mark.django_db

URL = reverse("casework:emergency_access")
REASON = "La personne est à l'accueil, sa référente est en congé ; elle a besoin de son contrat."
CSRF_VALUES = [
    re.compile(r'(name="csrfmiddlewaretoken" value=")[^"]*(")'),
    re.compile(r'("X-CSRFToken": ")[^"]*(")'),
]


def identifiers(beneficiary, **overrides):
    data = {
        "allocataire_number": beneficiary.allocataire_number,
        "birth_date": beneficiary.birth_date.isoformat(),
        "reason": REASON,
    }
    data.update(overrides)
    return data


def sees(user, beneficiary) -> bool:
    return visible_beneficiaries(user).filter(pk=beneficiary.pk).exists()


def messages_of(response) -> list[str]:
    return [message.message for message in get_messages(response.wsgi_request)]


def without_csrf_tokens(response) -> str:
    html = response.content.decode()
    for pattern in CSRF_VALUES:
        html = pattern.sub(r"\1\2", html)
    return html


def test_page_explains_the_rule(client, personas, settings):
    settings.EMERGENCY_ACCESS_HOURS = 12
    client.force_login(personas.other)
    response = client.get(URL)
    html = response.content.decode()
    assert response.status_code == 200
    assert "en face de vous" in html
    assert "Chaque accès est enregistré" in html
    assert "limité à 12 heures" in html
    assert "responsables du dossier et de son ou sa référent·e" in html
    for field_id in ("id_allocataire_number", "id_birth_date", "id_reason"):
        assert f'<label class="form-label" for="{field_id}">' in html


def test_referent_opens_a_file_in_emergency(client, personas, settings):
    client.force_login(personas.other)
    before = timezone.now()
    response = client.post(URL, identifiers(personas.file))
    assert response.status_code == 302
    assert response.url == reverse("casework:file_detail", args=[personas.file.public_id])
    access = EmergencyAccess.objects.get(beneficiary=personas.file, user=personas.other)
    assert access.reason == REASON
    assert access.user_structure.name == "MDS Sud"
    assert access.expires_at - access.started_at == datetime.timedelta(hours=settings.EMERGENCY_ACCESS_HOURS)
    assert access.started_at >= before
    assert sees(personas.other, personas.file)
    until = timezone.localtime(access.expires_at)
    assert messages_of(response) == [
        f"Accès exceptionnel ouvert jusqu'au {until:%d/%m/%Y à %H:%M}. Il est enregistré et visible des "
        "responsables du dossier."
    ]


def test_identifiers_may_be_typed_with_spaces_and_the_french_date_format(client, personas):
    client.force_login(personas.other)
    response = client.post(URL, identifiers(personas.file, allocataire_number=" 234 56 78 ", birth_date="31/01/1985"))
    assert response.status_code == 302
    assert EmergencyAccess.objects.filter(beneficiary=personas.file, user=personas.other).exists()


def test_a_file_one_already_sees_is_simply_opened(client, personas):
    client.force_login(personas.referent)
    response = client.post(URL, identifiers(personas.file))
    assert response.status_code == 302
    assert response.url == reverse("casework:file_detail", args=[personas.file.public_id])
    assert not EmergencyAccess.objects.exists()
    assert messages_of(response) == []


def test_failures_get_one_answer_that_tells_nothing_about_which_files_exist(client, personas):
    """No such file, a wrong birth date and several matching files (the same number at the CAF and the
    MSA for two people born the same day) give byte-identical pages, apart from the CSRF token."""
    client.force_login(personas.other)
    data = {"allocataire_number": "7654321", "birth_date": "1980-05-17", "reason": REASON}

    no_such_file = client.post(URL, data)

    elsewhere = member(Role.REFERENT, username="ailleurs")
    caf = BeneficiaryFactory(
        referent=elsewhere,
        organism=Beneficiary.Organism.CAF,
        allocataire_number="7654321",
        birth_date=datetime.date(1980, 5, 18),
    )
    wrong_birth_date = client.post(URL, data)

    Beneficiary.objects.filter(pk=caf.pk).update(birth_date=datetime.date(1980, 5, 17))
    BeneficiaryFactory(
        referent=elsewhere,
        organism=Beneficiary.Organism.MSA,
        allocataire_number="7654321",
        birth_date=datetime.date(1980, 5, 17),
    )
    several_files = client.post(URL, data)

    responses = [no_such_file, wrong_birth_date, several_files]
    assert {response.status_code for response in responses} == {200}
    assert NO_MATCHING_FILE in no_such_file.content.decode()
    assert without_csrf_tokens(no_such_file).count(NO_MATCHING_FILE) == 1
    assert without_csrf_tokens(wrong_birth_date) == without_csrf_tokens(no_such_file)
    assert without_csrf_tokens(several_files) == without_csrf_tokens(no_such_file)
    # The same headers, apart from `Expires` (never-cache headers: the moment of the answer, which two
    # requests a second apart do not share).
    assert _headers_but_expires(wrong_birth_date) == _headers_but_expires(no_such_file)
    assert _headers_but_expires(several_files) == _headers_but_expires(no_such_file)
    assert not EmergencyAccess.objects.exists()
    assert not visible_beneficiaries(personas.other).filter(allocataire_number="7654321").exists()


def test_failure_message_is_shown_as_an_alert(client, personas):
    client.force_login(personas.other)
    response = client.post(URL, identifiers(personas.file, birth_date="1900-01-01"))
    html = response.content.decode()
    assert response.status_code == 200
    assert re.search(rf'<div class="alert alert-danger" role="alert">\s*<p class="mb-0">{NO_MATCHING_FILE}</p>', html)
    assert not sees(personas.other, personas.file)


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"reason": "  "}, "reason", "Indiquez le motif de l'accès exceptionnel."),
        ({"reason": "x" * 1001}, "reason", "Le motif ne peut pas dépasser 1000 caractères."),
        (
            {"birth_date": "31/02/1985"},
            "birth_date",
            "Saisissez une date de naissance valide, par exemple 31/01/1985.",
        ),
        ({"birth_date": ""}, "birth_date", "Saisissez la date de naissance de la personne."),
        (
            {"allocataire_number": "12AB"},
            "allocataire_number",
            "Le numéro allocataire ne contient que des chiffres (13 au plus).",
        ),
    ],
)
def test_invalid_input_is_shown_at_the_field_in_french(client, personas, overrides, field, message):
    client.force_login(personas.other)
    response = client.post(URL, identifiers(personas.file, **overrides))
    html = response.content.decode().replace("&#x27;", "'")
    assert response.status_code == 200
    assert response.context["form"].errors == {field: [message]}
    assert f'<div class="invalid-feedback d-block" id="id_{field}_error">' in html
    assert f'aria-describedby="{"id_reason_helptext " if field == "reason" else ""}id_{field}_error"' in html
    assert NO_MATCHING_FILE not in html
    assert not EmergencyAccess.objects.exists()


def test_birth_date_in_the_future_is_refused(client, personas):
    client.force_login(personas.other)
    tomorrow = timezone.localdate() + datetime.timedelta(days=1)
    response = client.post(URL, identifiers(personas.file, birth_date=tomorrow.isoformat()))
    assert response.context["form"].errors == {"birth_date": ["La date de naissance ne peut pas être dans le futur."]}


@pytest.mark.parametrize("role", [Role.SUPERVISOR, Role.DEPARTMENT_ADMIN, Role.AUDITOR])
def test_only_referents_may_ask(client, personas, role):
    client.force_login(member(role))
    assert client.get(URL).status_code == 403
    assert client.post(URL, identifiers(personas.file)).status_code == 403
    assert not EmergencyAccess.objects.exists()


def test_a_referent_whose_membership_ended_may_not_ask(client, personas):
    personas.other.memberships.update(end_date=timezone.localdate() - datetime.timedelta(days=1))
    client.force_login(personas.other)
    assert client.get(URL).status_code == 403
    assert client.post(URL, identifiers(personas.file)).status_code == 403
    assert not EmergencyAccess.objects.exists()


def test_anonymous_visitor_is_sent_to_login(client, personas):
    response = client.get(URL)
    assert response.status_code == 302
    assert response.url == f"{reverse('login')}?next={URL}"
    response = client.post(URL, identifiers(personas.file))
    assert response.status_code == 302
    assert not EmergencyAccess.objects.exists()


def test_page_is_get_and_post_only(client, personas):
    client.force_login(personas.other)
    assert client.put(URL).status_code == 405


def test_a_number_typed_with_leading_zeros_finds_the_file(client):
    """Imports store allocataire numbers without leading zeros (docs/imports.md): a referent who types
    them, as printed on a CAF letter, still reaches the file."""
    referent = member(Role.REFERENT)
    file = BeneficiaryFactory(referent=member(Role.REFERENT), allocataire_number="123456")
    client.force_login(referent)

    response = client.post(
        reverse("casework:emergency_access"),
        {
            "allocataire_number": "000123456",
            "birth_date": file.birth_date.isoformat(),
            "reason": "Personne à l'accueil.",
        },
    )

    assert response.status_code == 302
    assert response["Location"] == reverse("casework:file_detail", args=[file.public_id])


def _headers_but_expires(response) -> dict:
    return {name: value for name, value in response.headers.items() if name != "Expires"}
