"""www.templatetags.entries.entry_actions: the actions block of each timeline item, written in Python,
is the markup `templates/casework/includes/entry_actions.html` wrote until it was moved out of the
template (docs/performance.md): the reference below is that template, rendered by Django's engine (which
escapes every text) with the same rights, and compared, whitespace between tags aside."""

import datetime
import re

import pytest
from django.template import engines
from django.utils import timezone

from accounts.models import Role
from casework.models import Appointment, Step
from tests.accounts.factories import member
from tests.casework.factories import (
    ActionFactory,
    AppointmentFactory,
    BeneficiaryFactory,
    ContractFactory,
    DiagnosticFactory,
    NoteFactory,
    ObjectiveFactory,
    StepFactory,
)
from www.templatetags.entries import entry_rights_for

pytestmark = pytest.mark.django_db

# The template as it was, but for its first tag (`{% entry_rights as rights %}`): the test gives `rights`.
REFERENCE = """{% if rights %}
<div class="entry-actions mt-2" id="{{ rights.dom_id }}"
     hx-on:htmx:before-swap="if (event.detail.xhr.status === 409) { event.detail.shouldSwap = true; event.detail.isError = false; }">
  {% if item_message %}
  <p class="alert alert-{{ item_level|default:'info' }} small py-1 px-2 mb-2" role="{% if item_level == 'success' %}status{% else %}alert{% endif %}">{{ item_message }}</p>
  {% endif %}
  {% if rights.any %}
  <div class="d-flex flex-wrap align-items-center gap-2 small">
    {% if rights.quick_statuses %}
    <form method="post" action="{{ rights.status_url }}" class="d-flex flex-wrap align-items-center gap-1 mb-0"
          hx-post="{{ rights.status_url }}" hx-target="#{{ rights.dom_id }}" hx-swap="outerHTML">
      {% csrf_token %}
      <input type="hidden" name="version" value="{{ entry.version }}">
      <span class="text-body-secondary" aria-hidden="true">Marquer :</span>
      {% for value, label, style in rights.quick_statuses %}
      <button type="submit" name="status" value="{{ value }}" class="btn btn-sm {{ style }}">{{ label }}<span class="visually-hidden"> : {{ rights.label }}</span></button>
      {% endfor %}
    </form>
    {% endif %}
    {% if rights.status_url %}
    <a class="btn btn-sm btn-link px-1" href="{{ rights.status_url }}">{{ rights.status_link_label }}<span class="visually-hidden"> : {{ rights.label }}</span></a>
    {% endif %}
    {% if rights.correct_url %}
    <a class="btn btn-sm btn-outline-secondary" href="{{ rights.correct_url }}" title="Corrigeable jusqu'au {{ rights.correction_deadline|date:'d/m/Y à H:i' }}">Corriger<span class="visually-hidden"> : {{ rights.label }}</span></a>
    {% endif %}
    {% if rights.withdraw_url %}
    <a class="btn btn-sm btn-outline-danger" href="{{ rights.withdraw_url }}">Retirer<span class="visually-hidden"> : {{ rights.label }}</span></a>
    {% endif %}
  </div>
  {% endif %}
</div>
{% endif %}"""  # noqa: E501 (the template as it was)

TAG = "{% load entries %}{% entry_actions entry entry_kind %}"


def normalised(markup: str) -> str:
    return re.sub(r">\s+<", "><", re.sub(r"\s+", " ", str(markup))).strip()


def render_both(context: dict) -> tuple[str, str]:
    engine = engines["django"]
    rights = entry_rights_for(
        context.get("user"), context["entry"], context["entry_kind"], context["file"], bool(context.get("can_change"))
    )
    return engine.from_string(TAG).render(context), engine.from_string(REFERENCE).render(context | {"rights": rights})


@pytest.fixture
def world():
    file = BeneficiaryFactory()
    w = type("World", (), {"file": file})()
    w.referent = member(Role.REFERENT, username="referente")
    w.other = member(Role.REFERENT, username="autre")
    now, today = timezone.now(), timezone.localdate()
    tricky = 'Trouver <b>un</b> "emploi" & s\'y tenir'
    w.entries = [
        ("step", StepFactory(beneficiary=file, author=w.referent, status=Step.Status.PLANNED, date=today)),
        (
            "step",
            StepFactory(
                beneficiary=file,
                author=w.referent,
                status=Step.Status.PLANNED,
                date=today + datetime.timedelta(days=3),
            ),
        ),
        ("step", StepFactory(beneficiary=file, author=w.other, status=Step.Status.DONE)),
        (
            "step",
            StepFactory(
                beneficiary=file,
                author=w.referent,
                withdrawn_at=now,
                withdrawn_by=w.referent,
                withdrawal_reason="Erreur",
            ),
        ),
        (
            "appointment",
            AppointmentFactory(beneficiary=file, author=w.referent, scheduled_at=now - datetime.timedelta(hours=2)),
        ),
        ("appointment", AppointmentFactory(beneficiary=file, author=w.other)),
        ("appointment", AppointmentFactory(beneficiary=file, author=w.other, status=Appointment.Status.HONOURED)),
        ("note", NoteFactory(beneficiary=file, author=w.referent)),
        ("note", NoteFactory(beneficiary=file, author=w.other)),
        ("contract", ContractFactory(beneficiary=file, author=w.referent)),
        ("objective", ObjectiveFactory(beneficiary=file, author=w.referent, title=tricky)),
        ("action", ActionFactory(objective__beneficiary=file, author=w.other, title=tricky)),
        ("diagnostic", DiagnosticFactory(beneficiary=file, author=w.referent)),
        ("orientation", None),
    ]
    old = NoteFactory(beneficiary=file, author=w.referent)
    type(old).objects.filter(pk=old.pk).update(created_at=now - datetime.timedelta(days=30))
    old.refresh_from_db()
    w.entries.append(("note", old))
    return w


@pytest.mark.parametrize("as_author", [True, False])
@pytest.mark.parametrize("can_change", [True, False])
@pytest.mark.parametrize(
    ("message", "level"),
    [("", None), ("Étape marquée réalisée.", "success"), ("Modifiée <entre-temps> par X", "warning"), ("Info", "")],
)
@pytest.mark.parametrize("csrf_token", ["jeton<&>", ""])  # NOTPROVIDED: Django warns (format_html)
def test_the_actions_are_the_templates_markup(world, as_author, can_change, message, level, csrf_token):
    user = world.referent if as_author else world.other
    shown = 0
    for kind, entry in world.entries:
        context = {
            "user": user,
            "file": world.file,
            "can_change": can_change,
            "entry": entry,
            "entry_kind": kind,
            "csrf_token": csrf_token,
            "item_message": message,
            "item_level": level,
        }
        ours, reference = render_both(context)
        assert normalised(ours) == normalised(reference), (kind, entry)
        shown += bool(reference.strip())
    assert shown >= 10


def test_every_text_is_escaped_and_the_buttons_post_the_version(world):
    kind, entry = world.entries[10]  # the objective with the tricky title
    html = (
        engines["django"]
        .from_string(TAG)
        .render({"user": world.referent, "file": world.file, "can_change": True, "entry": entry, "entry_kind": kind})
    )
    assert "<b>" not in html and "Trouver &lt;b&gt;un&lt;/b&gt; &quot;emploi&quot; &amp; s&#x27;y tenir" in html
    kind, step = world.entries[0]
    html = (
        engines["django"]
        .from_string(TAG)
        .render(
            {
                "user": world.referent,
                "file": world.file,
                "can_change": True,
                "entry": step,
                "entry_kind": kind,
                "csrf_token": "t",
            }
        )
    )
    assert f'name="version" value="{step.version}"' in html and html.count('type="submit"') == 3
    assert 'name="csrfmiddlewaretoken" value="t"' in html
