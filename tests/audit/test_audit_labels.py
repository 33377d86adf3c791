"""The auditor's screens in words (issue 27): actions, screens and answers as French names, never codes."""

import csv
import io

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from audit.models import AuditEvent
from audit.trail import AUDITED_URLS, SCREEN_NAMES, WRITE_PREFIXES, response_label, screen_name
from tests.audit.test_audit_screens import make_event
from tests.test_french import mistakes_in


def _url_names(resolver: URLResolver, namespace: str = ""):
    for pattern in resolver.url_patterns:
        if isinstance(pattern, URLResolver):
            yield from _url_names(pattern, f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace)
        elif isinstance(pattern, URLPattern) and pattern.name:
            yield f"{namespace}{pattern.name}"


def audited_url_names() -> set[str]:
    """The URL names the middleware may record: those listed, and every screen of the namespaces whose
    POSTs are recorded as writes."""
    return {name for _method, name in AUDITED_URLS} | {
        name for name in _url_names(get_resolver()) if name.startswith(WRITE_PREFIXES)
    }


def test_every_audited_screen_has_a_french_name():
    missing = sorted(audited_url_names() - SCREEN_NAMES.keys())
    assert missing == []


def test_no_screen_is_named_for_a_url_that_no_longer_exists():
    assert sorted(SCREEN_NAMES.keys() - audited_url_names()) == []


def test_the_screen_names_read_correctly():
    assert {name: mistakes_in(label) for name, label in SCREEN_NAMES.items() if mistakes_in(label)} == {}
    assert len(set(SCREEN_NAMES.values())) == len(SCREEN_NAMES), "two screens with the same name"


@pytest.mark.parametrize(
    ("url_name", "expected"),
    [
        ("casework:emergency_access", "Accès exceptionnel à un dossier"),
        ("casework:file_detail", "Page du dossier"),
        ("admin:accounts_user_change", "Administration, comptes : modification"),
        ("admin:accounts_membership_add", "Administration, rattachements : ajout"),
        ("admin:index", "Administration"),
        ("casework:a_screen_since_removed", "casework:a_screen_since_removed"),
        ("", "—"),
    ],
)
def test_a_screen_is_named_in_french(db, url_name, expected):
    assert screen_name(url_name) == expected


@pytest.mark.parametrize(
    ("status_code", "expected"),
    [
        (200, "accepté"),
        (204, "accepté"),
        (302, "accepté, redirigé"),
        (400, "refusé : demande invalide (400)"),
        (403, "interdit (403)"),
        (404, "refusé (404)"),
        (410, "refusé : n'existe plus (410)"),
        (418, "refusé (418)"),
        (500, "erreur du serveur (500)"),
        (None, "—"),
    ],
)
def test_an_answer_is_said_in_words(status_code, expected):
    assert response_label(status_code) == expected


@pytest.fixture
def refused_emergency(personas):
    return make_event(
        actor=personas.other,
        beneficiary=personas.file,
        action=AuditEvent.Action.EMERGENCY_ACCESS,
        url_name="casework:emergency_access",
        status_code=404,
        reason="La personne est à l'accueil.",
    )


def test_the_search_shows_actions_screens_and_answers_in_words(client, personas, refused_emergency):
    client.force_login(personas.auditor)

    page = client.get(reverse("audit:events"), {"beneficiaire": "CAF 2345678"}).content.decode()

    assert "Accès exceptionnel à un dossier" in page and "refusé (404)" in page
    assert "casework:emergency_access" not in page and ">404<" not in page and "emergency_access<" not in page


def test_an_event_page_shows_its_action_screen_and_answer_in_words(client, personas, refused_emergency):
    client.force_login(personas.auditor)

    page = client.get(reverse("audit:event_detail", args=[refused_emergency.pk])).content.decode()

    assert "Accès exceptionnel à un dossier" in page and "refusé (404)" in page
    assert "casework:emergency_access" not in page
    assert "<code>emergency_access</code>" not in page


def test_the_access_report_and_its_csv_say_the_screen_and_the_answer_in_words(client, personas, refused_emergency):
    client.force_login(personas.supervisor)

    page = client.get(reverse("audit:access_report", args=[personas.file.public_id])).content.decode()
    response = client.get(reverse("audit:access_report_export", args=[personas.file.public_id]))

    assert "Accès exceptionnel à un dossier" in page and "Refusé (404)" in page
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig")), delimiter=";"))
    refused = next(row for row in rows if row[5] == "Accès exceptionnel")
    assert refused[-2:] == ["refusé (404)", "Accès exceptionnel à un dossier"]
