"""Covers during an absence (intérim, issue 6): access exactly on the dates, the supervisors' page,
cancelling, the periodic task and the file's timeline."""

import datetime

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.http import Http404
from django.urls import reverse
from django.utils import timezone

from accounts.models import Role
from casework.models import Cover, Note
from casework.permissions import can_change, visible_beneficiaries, visible_notes
from team.models import Notification
from team.services import cover_cancel, cover_create
from team.tasks import covers_update
from tests.accounts.factories import MembershipFactory, member
from tests.casework.factories import BeneficiaryFactory, NoteFactory
from tests.conftest import HEADER_QUERIES

pytestmark = pytest.mark.django_db

URL = reverse("team:covers")
PARIS = timezone.get_default_timezone()


@pytest.fixture(autouse=True)
def base_url(settings):
    settings.PARCOURS_BASE_URL = "https://parcours.example.fr"


def today():
    return timezone.localdate()


def days(n):
    return today() + datetime.timedelta(days=n)


def make_cover(w, starts_on, ends_on, **extra):
    fields = {
        "absent_referent": w.referent,
        "covering_referent": w.colleague,
        "structure": w.nord,
        "starts_on": starts_on,
        "ends_on": ends_on,
        "reason": "Congés",
        "created_by": w.supervisor,
    }
    fields.update(extra)
    return Cover.objects.create(**fields)


def sees(user, beneficiary) -> bool:
    return visible_beneficiaries(fresh(user)).filter(pk=beneficiary.pk).exists()


def fresh(user):
    """The user as a new request loads it (nothing cached from an earlier check)."""
    return type(user).objects.get(pk=user.pk)


# --- Access follows the dates --------------------------------------------------------------------


def test_without_a_cover_the_colleague_gets_nothing(personas):
    assert not sees(personas.colleague, personas.file)
    assert not can_change(personas.colleague, personas.file)


def test_a_cover_starting_today_grants_reading_and_acting(client, personas):
    make_cover(personas, today(), days(5))
    assert sees(personas.colleague, personas.file)
    assert can_change(fresh(personas.colleague), personas.file)
    client.force_login(personas.colleague)
    assert client.get(reverse("casework:file_detail", args=[personas.file.public_id])).status_code == 200
    # Acting: a form that only those who may act on the file open.
    assert client.get(reverse("casework:share_create", args=[personas.file.public_id])).status_code == 200
    assert client.get(reverse("casework:step_create", args=[personas.file.public_id])).status_code == 200


def test_a_cover_ending_today_still_grants_until_the_end_of_the_day(personas, travel):
    make_cover(personas, days(-3), today())
    assert sees(personas.colleague, personas.file)
    last_instant = datetime.datetime.combine(today(), datetime.time(23, 59, 59), tzinfo=PARIS)
    next_day = datetime.datetime.combine(days(1), datetime.time(0, 0), tzinfo=PARIS)
    travel(last_instant)
    assert sees(personas.colleague, personas.file)
    travel(next_day)
    assert not sees(personas.colleague, personas.file)


def test_a_cover_that_ended_yesterday_grants_nothing(client, personas):
    make_cover(personas, days(-5), days(-1))
    assert not sees(personas.colleague, personas.file)
    assert not can_change(fresh(personas.colleague), personas.file)
    client.force_login(personas.colleague)
    assert client.get(reverse("casework:file_detail", args=[personas.file.public_id])).status_code == 404


def test_a_cover_starting_tomorrow_grants_nothing_yet(personas, travel):
    make_cover(personas, days(1), days(3))
    assert not sees(personas.colleague, personas.file)
    first_instant = datetime.datetime.combine(days(1), datetime.time(0, 0), tzinfo=PARIS)
    travel(first_instant)
    assert sees(personas.colleague, personas.file)


def test_a_cancelled_cover_grants_nothing(personas):
    cover = make_cover(personas, days(-1), days(3))
    cover_cancel(actor=personas.supervisor, cover=cover)
    assert not sees(personas.colleague, personas.file)
    assert not can_change(fresh(personas.colleague), personas.file)


def test_a_cover_grants_only_the_files_of_its_structure(personas):
    MembershipFactory(user=personas.referent, structure=personas.sud, role=Role.REFERENT)
    sud_file = BeneficiaryFactory()
    from casework.services import beneficiary_assign_referent

    beneficiary_assign_referent(actor=None, beneficiary=sud_file, referent=personas.referent, structure=personas.sud)
    make_cover(personas, today(), days(2))
    assert sees(personas.colleague, personas.file)
    assert not sees(personas.colleague, sud_file)


def test_a_file_given_to_someone_else_leaves_the_cover(personas):
    make_cover(personas, today(), days(2))
    from casework.services import beneficiary_assign_referent

    beneficiary_assign_referent(actor=None, beneficiary=personas.file, referent=personas.other, structure=personas.sud)
    assert not sees(personas.colleague, personas.file)


def test_notes_follow_the_usual_rules(personas):
    make_cover(personas, today(), days(2))
    private = NoteFactory(beneficiary=personas.file, author=personas.referent, visibility=Note.Visibility.PRIVATE)
    shared = NoteFactory(beneficiary=personas.file, author=personas.referent, visibility=Note.Visibility.FOLLOWERS)
    readable = set(visible_notes(personas.colleague, personas.file))
    assert shared in readable and private not in readable


def test_someone_else_is_not_let_in_by_the_cover(personas):
    make_cover(personas, today(), days(2))
    for user in (personas.other, personas.other_supervisor, personas.admin, personas.auditor):
        assert not sees(user, personas.file)


# --- The supervisors' page -----------------------------------------------------------------------


@pytest.mark.parametrize("persona", ["referent", "colleague", "admin", "auditor"])
def test_only_supervisors_open_the_covers_page(client, personas, persona):
    client.force_login(getattr(personas, persona))
    assert client.get(URL).status_code == 403


def test_anonymous_is_sent_to_login(client, personas):
    response = client.get(URL)
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


def test_supervisor_sees_current_future_and_past_covers_of_their_structures(client, personas):
    make_cover(personas, today(), days(2), reason="Formation")
    make_cover(personas, days(10), days(12), reason="Congés d'été")
    make_cover(personas, days(-10), days(-8), reason="Séminaire")
    sud_colleague = member(Role.REFERENT, structure=personas.sud, username="sud2")
    Cover.objects.create(
        absent_referent=personas.other,
        covering_referent=sud_colleague,
        structure=personas.sud,
        starts_on=today(),
        ends_on=days(1),
        reason="Motif du sud",
        created_by=personas.other_supervisor,
    )
    client.force_login(personas.supervisor)
    html = client.get(URL).content.decode()
    assert "En cours (1)" in html and "À venir (1)" in html and "Terminés ou annulés (1)" in html
    assert "Formation" in html and "Congés d&#x27;été" in html and "Séminaire" in html
    assert "Motif du sud" not in html


def test_covers_page_runs_a_constant_number_of_queries(client, personas, django_assert_max_num_queries):
    for index in range(15):
        make_cover(personas, days(-30 + index * 5), days(-28 + index * 5))
    client.force_login(personas.supervisor)
    # Session (read and stamped), user, memberships, the form's two lists of people, current and future
    # covers, the past ones (count and page).
    with django_assert_max_num_queries(13 + HEADER_QUERIES):
        assert client.get(URL).status_code == 200


def cover_data(w, **overrides):
    absent_membership = w.referent.memberships.get(structure=w.nord)
    data = {
        "absent": absent_membership.pk,
        "covering": w.colleague.pk,
        "starts_on": today().isoformat(),
        "ends_on": days(4).isoformat(),
        "reason": "Congés",
    }
    data.update(overrides)
    return data


def test_supervisor_sets_a_cover(client, personas):
    client.force_login(personas.supervisor)
    response = client.post(URL, cover_data(personas))
    assert response.status_code == 302
    cover = Cover.objects.get()
    assert (cover.absent_referent, cover.covering_referent, cover.structure) == (
        personas.referent,
        personas.colleague,
        personas.nord,
    )
    assert cover.created_by == personas.supervisor
    assert sees(personas.colleague, personas.file)


@pytest.mark.parametrize(
    ("overrides", "error"),
    [
        ({"reason": " "}, "Indiquez le motif de l&#x27;intérim."),
        ({"starts_on": ""}, "Indiquez le premier jour de l&#x27;intérim."),
        ({"ends_on": "31/02/2026"}, "Saisissez une date valide"),
        (
            {"starts_on": "2030-01-10", "ends_on": "2030-01-05"},
            "La fin de l&#x27;intérim ne peut pas précéder son début.",
        ),
        ({"starts_on": "2020-01-01", "ends_on": "2020-01-05"}, "Cette date est passée"),
    ],
)
def test_cover_form_errors_are_french_and_at_the_field(client, personas, overrides, error):
    client.force_login(personas.supervisor)
    response = client.post(URL, cover_data(personas, **overrides))
    assert response.status_code == 200
    assert error in response.content.decode()
    assert not Cover.objects.exists()


def test_nobody_covers_for_themselves(client, personas):
    client.force_login(personas.supervisor)
    response = client.post(URL, cover_data(personas, covering=personas.referent.pk))
    assert "Une personne ne peut pas assurer son propre intérim." in response.content.decode()
    assert not Cover.objects.exists()


def test_people_outside_the_team_are_not_choices(client, personas):
    client.force_login(personas.supervisor)
    response = client.post(URL, cover_data(personas, covering=personas.other.pk))
    assert "Ce choix n&#x27;est pas valide" in response.content.decode()
    other_membership = personas.other.memberships.get()
    response = client.post(URL, cover_data(personas, absent=other_membership.pk))
    assert "Ce choix n&#x27;est pas valide" in response.content.decode()
    assert not Cover.objects.exists()


def test_the_service_refuses_a_cover_outside_the_supervisors_structures(personas):
    with pytest.raises(ValidationError) as error:
        cover_create(
            actor=personas.other_supervisor,
            absent_referent=personas.referent,
            covering_referent=personas.colleague,
            structure=personas.nord,
            starts_on=today(),
            ends_on=days(1),
            reason="x",
        )
    assert "absent_referent" in error.value.error_dict


def test_overlapping_cover_between_the_same_people_is_refused(personas):
    make_cover(personas, today(), days(4))
    with pytest.raises(ValidationError):
        cover_create(
            actor=personas.supervisor,
            absent_referent=personas.referent,
            covering_referent=personas.colleague,
            structure=personas.nord,
            starts_on=days(2),
            ends_on=days(6),
            reason="x",
        )


# --- Cancelling ------------------------------------------------------------------------------------


def cancel_url(cover):
    return reverse("team:cover_cancel", args=[cover.public_id])


def test_supervisor_cancels_a_started_cover_and_both_are_told(client, personas, django_capture_on_commit_callbacks):
    cover = make_cover(personas, days(-1), days(3), started_at=timezone.now())
    client.force_login(personas.supervisor)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(cancel_url(cover))
    assert response.status_code == 302
    cover.refresh_from_db()
    assert cover.cancelled_at and cover.cancelled_by == personas.supervisor and cover.ended_at
    assert not sees(personas.colleague, personas.file)
    kinds = sorted(Notification.objects.values_list("recipient__username", "kind"))
    assert kinds == [("collegue", "cover_ended"), ("referente", "cover_ended")]
    assert len(mail.outbox) == 2


def test_other_supervisor_gets_404_when_cancelling(client, personas):
    cover = make_cover(personas, today(), days(3))
    client.force_login(personas.other_supervisor)
    assert client.post(cancel_url(cover)).status_code == 404
    with pytest.raises(Http404):
        cover_cancel(actor=personas.other_supervisor, cover=cover)
    cover.refresh_from_db()
    assert cover.cancelled_at is None


@pytest.mark.parametrize("persona", ["referent", "colleague", "admin", "auditor"])
def test_non_supervisors_get_403_when_cancelling(client, personas, persona):
    cover = make_cover(personas, today(), days(3))
    client.force_login(getattr(personas, persona))
    assert client.post(cancel_url(cover)).status_code == 403
    cover.refresh_from_db()
    assert cover.cancelled_at is None


def test_cancelling_is_post_only(client, personas):
    cover = make_cover(personas, today(), days(3))
    client.force_login(personas.supervisor)
    assert client.get(cancel_url(cover)).status_code == 405


# --- The periodic task -----------------------------------------------------------------------------


def test_periodic_task_notifies_the_start_and_the_end_once(personas, django_capture_on_commit_callbacks):
    cover = make_cover(personas, today(), days(2))
    with django_capture_on_commit_callbacks(execute=True):
        assert covers_update() == {"started": 1, "ended": 0}
    with django_capture_on_commit_callbacks(execute=True):
        assert covers_update() == {"started": 0, "ended": 0}
    cover.refresh_from_db()
    assert cover.started_at is not None and cover.ended_at is None
    started = Notification.objects.filter(kind=Notification.Kind.COVER_STARTED)
    assert sorted(started.values_list("recipient__username", flat=True)) == ["collegue", "referente"]
    covering_notice = started.get(recipient=personas.colleague)
    assert "Vous assurez l'intérim de Rita Ferrand" in covering_notice.message
    assert len(mail.outbox) == 2
    assert all(personas.file.last_name not in message.body for message in mail.outbox)

    # Days later, the cover is over: told once as well.
    Cover.objects.filter(pk=cover.pk).update(starts_on=days(-5), ends_on=days(-1))
    with django_capture_on_commit_callbacks(execute=True):
        assert covers_update() == {"started": 0, "ended": 1}
    with django_capture_on_commit_callbacks(execute=True):
        assert covers_update() == {"started": 0, "ended": 0}
    assert Notification.objects.filter(kind=Notification.Kind.COVER_ENDED).count() == 2
    assert len(mail.outbox) == 4


def test_periodic_task_ignores_cancelled_and_future_covers(personas):
    make_cover(personas, days(1), days(2))
    make_cover(personas, today(), days(2), cancelled_at=timezone.now(), cancelled_by=personas.supervisor)
    assert covers_update() == {"started": 0, "ended": 0}
    assert not Notification.objects.exists()


# --- The file's timeline ---------------------------------------------------------------------------


def test_timeline_shows_who_covered_the_file(client, personas):
    make_cover(personas, days(-3), days(2))
    make_cover(personas, days(5), days(6), cancelled_at=timezone.now(), cancelled_by=personas.supervisor)
    client.force_login(personas.referent)
    html = client.get(reverse("casework:file_detail", args=[personas.file.public_id])).content.decode()
    expected = (
        f"Suivi par Colin Lebon pendant l&#x27;absence de Rita Ferrand, du {days(-3):%d/%m/%Y} au {days(2):%d/%m/%Y}"
    )
    assert expected in html
    # Cancelled before its first day: it covered nothing, the file does not mention it.
    assert f"du {days(5):%d/%m/%Y}" not in html
    # The reason of a colleague's absence is not the file's business.
    assert "Congés" not in html


def test_timeline_leaves_out_covers_from_before_the_file_was_theirs(client, personas):
    old = Cover.objects.create(
        absent_referent=personas.referent,
        covering_referent=personas.colleague,
        structure=personas.nord,
        starts_on=days(-400),
        ends_on=days(-390),
        reason="Congés",
        created_by=personas.supervisor,
    )
    client.force_login(personas.referent)
    html = client.get(reverse("casework:file_detail", args=[personas.file.public_id])).content.decode()
    assert f"du {old.starts_on:%d/%m/%Y}" not in html
