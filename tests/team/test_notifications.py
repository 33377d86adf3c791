"""Notifications (issue 6): the user's own list, marking one read, the e-mail task, the header count."""

import copy
import datetime

import pytest
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from team import services as team
from team.models import Notification
from team.tasks import notification_email_send
from team.views.staffing import NOTIFICATIONS_PAGE_SIZE
from tests.conftest import HEADER_QUERIES

pytestmark = pytest.mark.django_db

URL = reverse("team:notifications")
CONTEXT_PROCESSOR = "team.context_processors.notifications"


@pytest.fixture(autouse=True)
def base_url(settings):
    settings.PARCOURS_BASE_URL = "https://parcours.example.fr"


def templates_with(settings, processors):
    templates = copy.deepcopy(settings.TEMPLATES)
    templates[0]["OPTIONS"]["context_processors"] = processors
    settings.TEMPLATES = templates  # assigned, so that Django rebuilds its template engines


@pytest.fixture
def with_header_count(settings):
    processors = settings.TEMPLATES[0]["OPTIONS"]["context_processors"]
    if CONTEXT_PROCESSOR not in processors:
        templates_with(settings, [*processors, CONTEXT_PROCESSOR])


def notify(user, message="Un dossier vous a été confié par Sam Roux.", *, ago=0, **extra):
    return Notification.objects.create(
        recipient=user,
        kind=extra.pop("kind", Notification.Kind.FILE_ASSIGNED),
        message=message,
        created_at=timezone.now() - datetime.timedelta(minutes=ago),
        **extra,
    )


def read_url(notification):
    return reverse("team:notification_read", args=[notification.public_id])


# --- The list --------------------------------------------------------------------------------------


def test_anonymous_is_sent_to_login(client, personas):
    response = client.get(URL)
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


def test_user_sees_their_own_notifications_newest_first(client, personas):
    notify(personas.referent, "Ancienne notification", ago=60)
    notify(personas.referent, "Récente notification", ago=1)
    notify(personas.colleague, "Celle de quelqu'un d'autre")
    client.force_login(personas.referent)
    html = client.get(URL).content.decode()
    assert html.index("Récente notification") < html.index("Ancienne notification")
    assert "quelqu&#x27;un d&#x27;autre" not in html


def test_unread_notifications_are_marked_in_words(client, personas):
    notify(personas.referent, "Pas encore lue")
    notify(personas.referent, "Déjà lue", read_at=timezone.now())
    client.force_login(personas.referent)
    html = client.get(URL).content.decode()
    assert html.count(">Non lue<") == 1
    assert "Lue le" in html


def test_a_user_without_notifications_is_told_so(client, personas):
    client.force_login(personas.auditor)
    response = client.get(URL)
    assert response.status_code == 200
    assert "Vous n'avez aucune notification." in response.content.decode()


def test_list_is_paginated_with_a_constant_number_of_queries(client, personas, django_assert_max_num_queries):
    for index in range(NOTIFICATIONS_PAGE_SIZE + 5):
        notify(personas.referent, f"Message {index:02d}", ago=index, beneficiary=personas.file)
    client.force_login(personas.referent)
    # Session (read, then its activity stamp written in a savepoint), user, memberships, count, page.
    with django_assert_max_num_queries(10 + HEADER_QUERIES):
        html = client.get(URL).content.decode()
    assert "Message 00" in html and "Message 24" not in html
    html = client.get(URL, {"page": 2}).content.decode()
    assert "Message 24" in html and "Message 00" not in html


def test_the_link_to_a_file_shows_only_while_the_user_may_read_it(client, personas):
    notify(personas.colleague, beneficiary=personas.file)
    client.force_login(personas.colleague)
    html = client.get(URL).content.decode()
    assert reverse("casework:file_detail", args=[personas.file.public_id]) not in html
    # The notification never names the person followed.
    assert "Zidane" not in html and "ZIDANE" not in html


# --- Marking read ----------------------------------------------------------------------------------


def test_marking_read_without_javascript_redirects_to_the_list(client, personas):
    notification = notify(personas.referent)
    client.force_login(personas.referent)
    response = client.post(read_url(notification), {"page": "2"})
    assert response.status_code == 302 and response["Location"] == f"{URL}?page=2"
    notification.refresh_from_db()
    assert notification.read_at is not None


def test_marking_read_with_htmx_swaps_the_item_and_the_count(client, personas):
    notification = notify(personas.referent)
    notify(personas.referent, "Une autre")
    client.force_login(personas.referent)
    response = client.post(read_url(notification), headers={"HX-Request": "true"})
    html = response.content.decode()
    assert response.status_code == 200
    assert f'id="notification-{notification.public_id}"' in html and "Lue le" in html
    assert 'id="notifications-compte" hx-swap-oob="innerHTML"' in html and "1<span" in html


def test_marking_read_twice_keeps_the_first_date(client, personas):
    first = timezone.now() - datetime.timedelta(days=1)
    notification = notify(personas.referent, read_at=first)
    client.force_login(personas.referent)
    client.post(read_url(notification))
    notification.refresh_from_db()
    assert notification.read_at == first


def test_another_users_notification_is_404(client, personas):
    notification = notify(personas.colleague)
    client.force_login(personas.referent)
    assert client.post(read_url(notification)).status_code == 404
    notification.refresh_from_db()
    assert notification.read_at is None


def test_marking_read_is_post_only(client, personas):
    notification = notify(personas.referent)
    client.force_login(personas.referent)
    assert client.get(read_url(notification)).status_code == 405


# --- The e-mail ------------------------------------------------------------------------------------


def test_email_is_sent_once(personas):
    notification = notify(personas.referent, beneficiary=personas.file)
    assert notification_email_send.delay(notification.pk).get() is True
    assert notification_email_send.delay(notification.pk).get() is False
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == [personas.referent.email]
    assert message.body.startswith("Bonjour,\n\nDes dossiers vous ont été confiés dans Parcours : https://parcours")
    for detail in ("Zidane", "Zoé", personas.file.allocataire_number, str(personas.file.public_id)):
        assert detail not in message.body and detail not in message.subject
    notification.refresh_from_db()
    assert notification.emailed_at is not None


def test_a_failed_sending_is_retried_later(personas, monkeypatch):
    notification = notify(personas.referent)

    def broken(*args, **kwargs):
        raise ConnectionRefusedError("SMTP down")

    monkeypatch.setattr(team, "send_mail", broken)
    with pytest.raises(ConnectionRefusedError):
        team.notification_email_send(notification_id=notification.pk)
    notification.refresh_from_db()
    assert notification.emailed_at is None
    monkeypatch.undo()
    assert team.notification_email_send(notification_id=notification.pk) is True
    assert len(mail.outbox) == 1


def test_no_email_for_a_user_without_address(personas):
    personas.colleague.email = ""
    personas.colleague.save()
    notification = notify(personas.colleague)
    assert team.notification_email_send(notification_id=notification.pk) is False
    assert mail.outbox == []


def test_task_is_acknowledged_late_and_retried_with_backoff():
    assert notification_email_send.acks_late is True
    assert notification_email_send.retry_backoff
    assert Exception in notification_email_send.autoretry_for


# --- The header's count ----------------------------------------------------------------------------


def test_header_shows_the_unread_count(client, personas, with_header_count):
    notify(personas.referent)
    notify(personas.referent)
    notify(personas.referent, read_at=timezone.now())
    notify(personas.colleague)  # someone else's
    client.force_login(personas.referent)
    html = client.get(reverse("home")).content.decode()
    assert '2<span class="visually-hidden"> non lues</span>' in html


def test_header_count_costs_one_query(client, personas, with_header_count, settings):
    client.force_login(personas.referent)
    client.get(reverse("home"))

    with CaptureQueriesContext(connection) as with_count:
        client.get(reverse("home"))
    processors = settings.TEMPLATES[0]["OPTIONS"]["context_processors"]
    templates_with(settings, [name for name in processors if name != CONTEXT_PROCESSOR])
    with CaptureQueriesContext(connection) as without_count:
        client.get(reverse("home"))
    assert len(with_count) - len(without_count) == 1
