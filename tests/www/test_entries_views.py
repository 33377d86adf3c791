"""Logging steps and appointments through the web pages, one-click status changes (htmx and plain
POST), the file page's quick-write panel and per-entry actions (casework/views/entries.py)."""

import datetime
import re

import pytest
from django.contrib.messages import get_messages
from django.core.cache import cache
from django.template import Context, Template
from django.template.loader import render_to_string
from django.test import RequestFactory
from django.urls import reverse
from django.utils import timezone

from casework.forms.entries import AppointmentForm, NoteForm, StepForm
from casework.models import Appointment, Step
from casework.services import common
from casework.services import entries as services
from tests.casework.factories import (
    AppointmentFactory,
    BeneficiaryFactory,
    ContractFactory,
    NoteFactory,
    ObjectiveFactory,
    OrientationFactory,
    StepFactory,
)
from tests.casework.test_entries_services import personas_sharing_with_recipient  # noqa: F401 (`personas`)

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


def file_url(personas):
    return reverse("casework:file_detail", args=[personas.file.public_id])


def messages_of(response) -> list[str]:
    return [message.message for message in get_messages(response.wsgi_request)]


def today():
    return timezone.localdate()


def step_data(**overrides):
    data = {"kind": "training", "date": today().isoformat(), "status": "done", "outcome": "Inscrite au CACES."}
    return data | overrides


def local_input(moment: datetime.datetime) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%dT%H:%M")


# --- Logging a step ------------------------------------------------------------------------------


def test_the_step_form_is_labelled_and_in_french(client, personas):
    client.force_login(personas.referent)
    response = client.get(reverse("casework:step_create", args=[personas.file.public_id]))
    html = response.content.decode()
    assert response.status_code == 200
    for name in ("kind", "date", "status", "outcome"):
        assert f'for="id_{name}"' in html
    assert "Consigner une étape du parcours" in html
    assert 'aria-describedby="id_outcome_helptext"' in html


def test_logging_a_step_redirects_to_the_file_with_a_message(client, personas):
    client.force_login(personas.referent)
    response = client.post(reverse("casework:step_create", args=[personas.file.public_id]), step_data())
    assert response.status_code == 302
    assert response["Location"] == file_url(personas)
    step = Step.objects.get()
    assert (step.author, step.kind, step.outcome) == (personas.referent, "training", "Inscrite au CACES.")
    assert messages_of(response) == [f"Étape enregistrée : Formation du {today():%d/%m/%Y} (réalisée)."]
    personas.file.refresh_from_db()
    assert personas.file.last_activity_at is not None


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"kind": ""}, "kind", "Choisissez le type d&#x27;étape."),
        ({"date": ""}, "date", "Indiquez la date de l&#x27;étape."),
        ({"date": "31/02/2026"}, "date", "Saisissez une date valide, par exemple 31/01/2026."),
        (
            {"date": (timezone.localdate() + datetime.timedelta(days=2)).isoformat()},
            "date",
            "Une étape « réalisée » ne peut pas être datée dans le futur.",
        ),
        (
            {"date": (timezone.localdate() + datetime.timedelta(days=400)).isoformat(), "status": "planned"},
            "date",
            "Une étape ne peut pas être datée de plus d&#x27;un an après aujourd&#x27;hui.",
        ),
    ],
)
def test_step_errors_show_at_the_field_and_keep_what_was_typed(client, personas, data, field, message):
    client.force_login(personas.referent)
    response = client.post(reverse("casework:step_create", args=[personas.file.public_id]), step_data(**data))
    html = response.content.decode()
    assert response.status_code == 200
    assert f'<div class="invalid-feedback d-block" id="id_{field}_error"><p class="mb-0">{message}</p>' in html
    assert (
        f'aria-describedby="id_{field}_error"' in html
        or f'aria-describedby="id_{field}_helptext id_{field}_error"' in html
    )
    assert "Inscrite au CACES.</textarea>" in html
    assert not Step.objects.exists()


def test_an_outcome_with_a_nir_is_warned_about_before_saving(client, personas):
    client.force_login(personas.referent)
    url = reverse("casework:step_create", args=[personas.file.public_id])
    data = step_data(outcome="NIR 1 85 05 78 006 084 91 transmis")
    response = client.post(url, data)
    html = response.content.decode()
    assert response.status_code == 200
    assert "numéro de sécurité sociale (NIR)" in html
    assert "J&#x27;ai relu : enregistrer quand même" in html
    assert not Step.objects.exists()
    digest = response.context["form"].personal_data_digest
    response = client.post(url, data | {"confirm_personal_data": "on", "personal_data_reviewed": digest})
    assert response.status_code == 302
    assert Step.objects.get().outcome == "NIR 1 85 05 78 006 084 91 transmis"


def test_health_words_in_an_outcome_suggest_a_sensitive_note(client, personas):
    client.force_login(personas.referent)
    response = client.post(
        reverse("casework:step_create", args=[personas.file.public_id]), step_data(kind="health", outcome="Suivi MDPH")
    )
    assert "consignez-le dans une note sensible" in response.content.decode()
    assert not Step.objects.exists()


def test_an_outsider_gets_a_404_and_a_reader_a_403_on_the_step_form(client, personas):
    url = reverse("casework:step_create", args=[personas.file.public_id])
    for persona, status in (("other", 404), ("colleague", 404), ("auditor", 404), ("recipient", 403)):
        client.force_login(getattr(personas, persona))
        assert client.get(url).status_code == status, persona
        assert client.post(url, step_data()).status_code == status, persona
    assert not Step.objects.exists()


# --- Changing a step's status --------------------------------------------------------------------


@pytest.fixture
def planned_step(personas):
    return services.step_log(
        actor=personas.referent, beneficiary=personas.file, kind="training", date=today(), status="planned", outcome=""
    )


def status_url(personas, step):
    return reverse("casework:step_status", args=[personas.file.public_id, step.public_id])


def test_one_click_status_change_with_htmx_returns_the_updated_item(client, personas, planned_step):
    client.force_login(personas.referent)
    response = client.post(status_url(personas, planned_step), {"status": "done", "version": 1}, **HTMX)
    html = response.content.decode()
    assert response.status_code == 200
    assert "Étape « Formation » : réalisée." in html
    assert f'id="actions-step-{planned_step.public_id}"' in html
    assert "Réalisée" not in html.split("réalisée.")[1]  # the one-click buttons are gone
    assert "Marquer" not in html  # no longer planned: no one-click buttons
    planned_step.refresh_from_db()
    assert (planned_step.status, planned_step.version) == ("done", 2)
    assert messages_of(response) == []


def test_the_same_status_change_without_javascript_redirects(client, personas, planned_step):
    client.force_login(personas.referent)
    response = client.post(status_url(personas, planned_step), {"status": "missed", "version": 1})
    assert response.status_code == 302
    assert response["Location"] == file_url(personas)
    assert messages_of(response) == ["Étape « Formation » : non honorée."]
    planned_step.refresh_from_db()
    assert planned_step.status == "missed"


def test_the_status_page_changes_the_outcome_too(client, personas, planned_step):
    client.force_login(personas.referent)
    page = client.get(status_url(personas, planned_step))
    assert page.status_code == 200
    assert 'name="version" value="1"' in page.content.decode()
    client.post(status_url(personas, planned_step), {"status": "done", "outcome": "Attestation reçue", "version": 1})
    planned_step.refresh_from_db()
    assert planned_step.outcome == "Attestation reçue"


def test_a_stale_status_change_with_htmx_is_a_409_with_the_current_state(client, personas, planned_step):
    client.force_login(personas.referent)
    services.step_set_status(actor=personas.supervisor, step=planned_step, status="cancelled", expected_version=1)
    response = client.post(status_url(personas, planned_step), {"status": "done", "version": 1}, **HTMX)
    html = response.content.decode()
    assert response.status_code == 409
    assert "Cette saisie a été modifiée par Sam Roux le" in html
    assert "pendant que vous la modifiiez" in html
    assert "Marquer" not in html  # cancelled meanwhile: the one-click buttons of a planned step are gone
    planned_step.refresh_from_db()
    assert planned_step.status == "cancelled"


def test_a_stale_status_change_without_javascript_shows_the_form_again(client, personas, planned_step):
    client.force_login(personas.referent)
    form_page = client.get(status_url(personas, planned_step))
    assert form_page.context["form"].initial["version"] == 1
    services.step_set_status(actor=personas.supervisor, step=planned_step, status="cancelled", expected_version=1)
    response = client.post(status_url(personas, planned_step), {"status": "done", "outcome": "Fait", "version": 1})
    html = response.content.decode()
    assert response.status_code == 409
    assert "Cette saisie a été modifiée par Sam Roux" in html
    assert "Statut actuel : <strong>Annulée</strong>" in html
    assert 'name="version" value="2"' in html
    planned_step.refresh_from_db()
    assert (planned_step.status, planned_step.outcome) == ("cancelled", "")


def test_marking_a_future_step_done_with_htmx_shows_the_error_in_place(client, personas):
    step = StepFactory(
        beneficiary=personas.file,
        author=personas.referent,
        status="planned",
        date=today() + datetime.timedelta(days=5),
    )
    client.force_login(personas.referent)
    response = client.post(status_url(personas, step), {"status": "done", "version": 1}, **HTMX)
    assert response.status_code == 200
    assert "elle ne peut pas encore être « réalisée »" in response.content.decode()
    step.refresh_from_db()
    assert step.status == "planned"


def test_status_change_access(client, personas, planned_step):
    url = status_url(personas, planned_step)
    for persona, status in (("other", 404), ("colleague", 404), ("recipient", 403)):
        client.force_login(getattr(personas, persona))
        assert client.get(url).status_code == status, persona
        assert client.post(url, {"status": "done", "version": 1}, **HTMX).status_code == status, persona
    planned_step.refresh_from_db()
    assert planned_step.status == "planned"


def test_a_step_of_another_file_is_a_404(client, personas):
    foreign = StepFactory(status="planned")
    client.force_login(personas.referent)
    url = reverse("casework:step_status", args=[personas.file.public_id, foreign.public_id])
    assert client.post(url, {"status": "done", "version": 1}).status_code == 404


# --- Appointments --------------------------------------------------------------------------------


def test_planning_an_appointment_through_the_form(client, personas):
    client.force_login(personas.referent)
    url = reverse("casework:appointment_create", args=[personas.file.public_id])
    page = client.get(url)
    html = page.content.decode()
    for name in ("scheduled_at", "with_user", "location", "purpose"):
        assert f'for="id_{name}"' in html
    assert "Martin Odile" not in html  # the with-whom list stays within the structures concerned
    when = timezone.now() + datetime.timedelta(days=3)
    response = client.post(
        url,
        {"scheduled_at": local_input(when), "with_user": personas.colleague.pk, "location": "MDS", "purpose": "Bilan"},
    )
    assert response.status_code == 302
    appointment = Appointment.objects.get()
    assert (appointment.with_user, appointment.purpose) == (personas.colleague, "Bilan")
    assert messages_of(response)[0].startswith("Rendez-vous planifié le ")


def test_a_past_appointment_is_not_planned(client, personas):
    client.force_login(personas.referent)
    response = client.post(
        reverse("casework:appointment_create", args=[personas.file.public_id]),
        {"scheduled_at": local_input(timezone.now() - datetime.timedelta(days=1)), "purpose": "Bilan"},
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert 'id="id_scheduled_at_error"' in html
    assert "Un rendez-vous planifié est dans le futur" in html
    assert 'value="Bilan"' in html
    assert not Appointment.objects.exists()


def test_an_outsider_gets_a_404_and_a_reader_a_403_on_the_appointment_form(client, personas):
    url = reverse("casework:appointment_create", args=[personas.file.public_id])
    for persona, status in (("other", 404), ("recipient", 403)):
        client.force_login(getattr(personas, persona))
        assert client.get(url).status_code == status
        assert client.post(url, {"scheduled_at": local_input(timezone.now())}).status_code == status


@pytest.fixture
def past_appointment(personas):
    return AppointmentFactory(
        beneficiary=personas.file, author=personas.referent, scheduled_at=timezone.now() - datetime.timedelta(hours=3)
    )


def record_url(personas, appointment):
    return reverse("casework:appointment_record", args=[personas.file.public_id, appointment.public_id])


def test_recording_a_missed_appointment_in_one_click(client, personas, past_appointment):
    client.force_login(personas.referent)
    response = client.post(record_url(personas, past_appointment), {"status": "missed", "version": 1}, **HTMX)
    assert response.status_code == 200
    assert "non honoré (absence)" in response.content.decode()
    past_appointment.refresh_from_db()
    assert past_appointment.status == "missed"


def test_recording_without_javascript(client, personas, past_appointment):
    client.force_login(personas.referent)
    page = client.get(record_url(personas, past_appointment))
    assert page.status_code == 200
    assert 'for="id_status_0"' in page.content.decode()
    response = client.post(record_url(personas, past_appointment), {"status": "honoured", "version": 1})
    assert response.status_code == 302
    past_appointment.refresh_from_db()
    assert past_appointment.status == "honoured"


def test_a_future_appointment_cannot_be_recorded_missed(client, personas):
    appointment = AppointmentFactory(beneficiary=personas.file, author=personas.referent)
    client.force_login(personas.referent)
    response = client.post(record_url(personas, appointment), {"status": "missed", "version": 1})
    html = response.content.decode()
    assert response.status_code == 200
    assert "qu&#x27;une fois passé" in html
    assert 'id="id_status_error"' in html


def test_a_stale_record_is_a_409(client, personas, past_appointment):
    client.force_login(personas.referent)
    services.appointment_record(
        actor=personas.supervisor, appointment=past_appointment, status="honoured", expected_version=1
    )
    response = client.post(record_url(personas, past_appointment), {"status": "missed", "version": 1}, **HTMX)
    assert response.status_code == 409
    assert "modifiée par Sam Roux" in response.content.decode()
    response = client.post(record_url(personas, past_appointment), {"status": "missed", "version": 1})
    assert response.status_code == 409
    assert 'name="version" value="2"' in response.content.decode()
    past_appointment.refresh_from_db()
    assert past_appointment.status == "honoured"


def test_record_access(client, personas, past_appointment):
    url = record_url(personas, past_appointment)
    for persona, status in (("other", 404), ("recipient", 403)):
        client.force_login(getattr(personas, persona))
        assert client.post(url, {"status": "missed", "version": 1}, **HTMX).status_code == status
        assert client.get(url).status_code == status


# --- The file page's panel and per-entry actions --------------------------------------------------


def render_include(name, user, **context):
    request = RequestFactory().get("/")
    request.user = user
    return render_to_string(f"casework/includes/{name}", {"user": user, **context}, request=request)


def test_the_one_click_buttons_of_a_planned_step(personas, planned_step, django_assert_num_queries):
    user = personas.referent
    user.active_memberships  # noqa: B018 (cached for the request, as on the file page)
    with django_assert_num_queries(0):
        html = render_include(
            "entries_item.html", user, file=personas.file, entry=planned_step, entry_kind="step", can_change=True
        )
    assert (
        f'hx-post="{reverse("casework:step_status", args=[personas.file.public_id, planned_step.public_id])}"' in html
    )
    for value in ("done", "missed", "cancelled"):
        assert f'name="status" value="{value}"' in html
    assert "Corriger" in html and "Retirer" in html
    assert f'Réalisée<span class="visually-hidden"> : Formation du {today():%d/%m/%Y}</span>' in html


def test_a_future_step_offers_only_cancellation_in_one_click(personas):
    step = StepFactory(
        beneficiary=personas.file,
        author=personas.referent,
        status="planned",
        date=today() + datetime.timedelta(days=4),
    )
    html = render_include(
        "entries_item.html", personas.referent, file=personas.file, entry=step, entry_kind="step", can_change=True
    )
    assert 'value="cancelled"' in html
    assert 'value="done"' not in html


def test_a_reader_sees_no_action_on_a_step(personas, planned_step):
    html = render_include(
        "entries_item.html",
        personas.recipient,
        file=personas.file,
        entry=planned_step,
        entry_kind="step",
        can_change=False,
    )
    assert "<form" not in html
    assert "Corriger" not in html
    assert "Retirer" not in html


def test_past_appointments_are_recorded_in_one_click(personas, past_appointment):
    html = render_include(
        "entries_item.html",
        personas.referent,
        file=personas.file,
        entry=past_appointment,
        entry_kind="appointment",
        can_change=True,
    )
    for value in ("honoured", "missed", "cancelled"):
        assert f'value="{value}"' in html


def test_a_withdrawn_entry_has_no_action(personas, planned_step):
    common.entry_withdraw(
        actor=personas.referent, entry=planned_step, beneficiary=personas.file, reason="Doublon", expected_version=1
    )
    planned_step.refresh_from_db()
    html = render_include(
        "entries_item.html",
        personas.referent,
        file=personas.file,
        entry=planned_step,
        entry_kind="step",
        can_change=True,
    )
    assert "<form" not in html and "Retirer" not in html


def test_contracts_get_the_withdraw_link_and_other_kinds_nothing(personas):
    contract = ContractFactory(beneficiary=personas.file, author=personas.referent)
    html = render_include(
        "entries_item.html",
        personas.referent,
        file=personas.file,
        entry=contract,
        entry_kind="contract",
        can_change=True,
    )
    assert reverse("casework:entry_withdraw", args=[personas.file.public_id, "contrat", contract.public_id]) in html
    assert "Corriger" not in html
    orientation = OrientationFactory(beneficiary=personas.file)
    html = render_include(
        "entries_item.html",
        personas.referent,
        file=personas.file,
        entry=orientation,
        entry_kind="orientation",
        can_change=True,
    )
    assert html.strip() == ""


def test_every_text_of_the_actions_is_escaped_and_the_buttons_post_the_version(personas, planned_step):
    tricky = 'Trouver <b>un</b> "emploi" & s\'y tenir'
    objective = ObjectiveFactory(beneficiary=personas.file, author=personas.referent, title=tricky)
    html = render_include(
        "entries_item.html",
        personas.referent,
        file=personas.file,
        entry=objective,
        entry_kind="objective",
        can_change=True,
        item_message="Modifiée <entre-temps>",
        item_level="warning",
    )
    assert "<b>" not in html and "Trouver &lt;b&gt;un&lt;/b&gt; &quot;emploi&quot; &amp; s&#x27;y tenir" in html
    assert 'role="alert">Modifiée &lt;entre-temps&gt;</p>' in html
    html = render_include(
        "entries_item.html",
        personas.referent,
        file=personas.file,
        entry=planned_step,
        entry_kind="step",
        can_change=True,
    )
    assert f'name="version" value="{planned_step.version}"' in html and html.count('type="submit"') == 3
    assert 'name="csrfmiddlewaretoken"' in html
    assert f'id="actions-step-{planned_step.public_id}"' in html
    assert f'hx-target="#actions-step-{planned_step.public_id}"' in html


def test_a_note_is_corrected_by_its_author_only(personas):
    note = NoteFactory(beneficiary=personas.file, author=personas.recipient, visibility="followers")
    mine = render_include(
        "entries_item.html", personas.recipient, file=personas.file, entry=note, entry_kind="note", can_change=False
    )
    theirs = render_include(
        "entries_item.html", personas.referent, file=personas.file, entry=note, entry_kind="note", can_change=True
    )
    assert "Corriger" in mine and "Retirer" in mine
    assert "Corriger" not in theirs and "Retirer" in theirs  # the referent may withdraw it, not correct it


def test_the_quick_write_panel_for_who_may_act(personas, django_assert_num_queries):
    user = personas.referent
    user.active_memberships  # noqa: B018
    with django_assert_num_queries(0):
        html = render_include("write_entries.html", user, file=personas.file, can_change=True)
    assert reverse("casework:step_create", args=[personas.file.public_id]) in html
    assert reverse("casework:appointment_create", args=[personas.file.public_id]) in html
    assert f'hx-post="{reverse("casework:note_create", args=[personas.file.public_id])}"' in html
    for field_id in ("quick-step-kind", "quick-step-date", "quick-appointment-scheduled_at", "quick-note-body"):
        assert f'for="{field_id}"' in html
    assert 'value="shared"' not in html  # a shared note goes through the full form


def test_the_quick_write_panel_for_a_reader_offers_a_note_only(personas):
    html = render_include("write_entries.html", personas.recipient, file=personas.file, can_change=False)
    assert reverse("casework:step_create", args=[personas.file.public_id]) not in html
    assert "quick-note-body" in html


def test_the_quick_step_form_posts_like_the_full_one(client, personas):
    client.force_login(personas.referent)
    html = render_include("write_entries.html", personas.referent, file=personas.file, can_change=True)
    assert 'name="kind"' in html and 'name="outcome"' in html
    response = client.post(reverse("casework:step_create", args=[personas.file.public_id]), step_data(outcome=""))
    assert response.status_code == 302


def test_the_quick_appointment_form_plans_it_with_the_author(client, personas):
    client.force_login(personas.referent)
    when = timezone.now() + datetime.timedelta(days=1)
    response = client.post(
        reverse("casework:appointment_create", args=[personas.file.public_id]),
        {"scheduled_at": local_input(when), "with_user": personas.referent.pk, "location": "", "purpose": ""},
    )
    assert response.status_code == 302
    assert Appointment.objects.get().with_user == personas.referent


def test_the_filters_tell_who_may_correct_and_withdraw_without_a_query(
    personas, planned_step, django_assert_num_queries
):
    step = personas.file.steps.get()  # as the file page loads it: its file is cached on it
    step.beneficiary = personas.file
    template = Template(
        "{% load entries %}{% if step|correctable_by:user %}corriger{% endif %} "
        "{% if step|withdrawable_by:user %}retirer{% endif %} {{ kind|entry_slug }}"
    )
    for user, expected in ((personas.referent, "corriger retirer etape"), (personas.supervisor, " retirer etape")):
        user.active_memberships  # noqa: B018
        with django_assert_num_queries(0):
            assert template.render(Context({"step": step, "user": user, "kind": "step"})) == expected
    assert template.render(Context({"step": step, "user": personas.recipient, "kind": "step"})) == "  etape"


def _without_token_and_file(html: str, file) -> str:
    html = re.sub(r'name="csrfmiddlewaretoken" value="[^"]*"', "", html)
    return html.replace(str(file.public_id), "<dossier>")


def test_the_quick_panel_keeps_the_step_and_appointment_fields_in_the_cache(personas, monkeypatch):
    """The fields of the quick step, appointment and note forms are the same for every user and file on
    the same day and in the same minute: the panel renders them once, then reads them from the cache
    without building any form; what it shows is what the forms render."""
    instant = timezone.now()
    monkeypatch.setattr(timezone, "now", lambda: instant)  # one minute for the whole test
    cache.clear()
    fresh = render_include("write_entries.html", personas.referent, file=personas.file, can_change=True)
    now = timezone.localtime()
    assert f'min="{now:%Y-%m-%dT%H:}' in fresh and f'value="{now:%Y-%m-%d}"' in fresh  # this minute, today
    built = []
    for form in (StepForm, AppointmentForm, NoteForm):

        def counted(self, *args, _form=form, _init=form.__init__, **kwargs):
            built.append(_form)
            _init(self, *args, **kwargs)

        monkeypatch.setattr(form, "__init__", counted)
    cached = render_include("write_entries.html", personas.referent, file=personas.file, can_change=True)
    assert built == []
    assert _without_token_and_file(cached, personas.file) == _without_token_and_file(fresh, personas.file)
    other = BeneficiaryFactory(referent=personas.referent)
    for_other = render_include("write_entries.html", personas.referent, file=other, can_change=True)
    assert _without_token_and_file(for_other, other) == _without_token_and_file(fresh, personas.file)
    reader = render_include("write_entries.html", personas.recipient, file=personas.file, can_change=False)
    assert built == [] and reader.count("quick-note-body") >= 2 and "quick-step-kind" not in reader
    # The next minute, the appointment's fields are rendered again (its earliest time changed).
    monkeypatch.setattr(timezone, "now", lambda: instant + datetime.timedelta(minutes=1))
    later = render_include("write_entries.html", personas.referent, file=personas.file, can_change=True)
    assert built == [AppointmentForm]
    assert f'min="{timezone.localtime():%Y-%m-%dT%H:%M}"' in later
