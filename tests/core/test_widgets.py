"""FastSelect writes the HTML of Django's Select."""

import pytest
from django import forms
from django.test.html import parse_html
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy

from core.widgets import FastSelect

CHOICES = [
    ("", gettext_lazy("Tous")),  # a lazy label
    ("a&b", 'A <b> & "c"'),
    (3, "Trois"),
    ("<i>'x'</i>", mark_safe("<em>déjà sûr</em>")),  # a label marked safe is written as it is  # noqa: S308
    ("Groupe <1>", [(4, "quatre"), (5, "cinq")]),
]


ATTRS = {"class": "form-select", "aria-describedby": 'id-"erreur"', "disabled": True}


@pytest.mark.parametrize("value", [None, "", "a&b", 3, "3", 5, ["3"], "absent"])
@pytest.mark.parametrize("attrs", [None, ATTRS])
def test_the_markup_is_django_select(value, attrs):
    expected = forms.Select(attrs=attrs, choices=CHOICES).render("nom<", value, attrs={"id": "id_nom"})
    rendered = FastSelect(attrs=attrs, choices=CHOICES).render("nom<", value, attrs={"id": "id_nom"})
    assert parse_html(rendered) == parse_html(expected)
    assert "<b>" not in rendered and "<i>" not in rendered  # labels and values are escaped
    assert "<em>déjà sûr</em>" in rendered


def test_the_caseload_filters_use_it_with_their_classes():
    from www.filters import CaseloadFilterForm

    class Form(CaseloadFilterForm):
        choice = forms.ChoiceField(choices=CHOICES[:3])

    field = Form().fields["choice"]
    assert isinstance(field.widget, FastSelect)
    assert field.widget.attrs["class"] == "form-select form-select-sm"
    assert parse_html(str(Form()["choice"])) == parse_html(
        forms.Select(attrs={"class": "form-select form-select-sm"}, choices=CHOICES[:3]).render(
            "choice", None, attrs={"id": "id_choice", "required": True}
        )
    )


@pytest.mark.django_db
@pytest.mark.parametrize("empty_label", [None, "Tous"])
def test_listed_choices_are_djangos_read_with_one_plain_select(empty_label, django_assert_num_queries):
    """ListedModelChoiceIterator gives the choices Django's iterator gives, in the same order, and reads
    them once however many times the form reads them (django-filter's null choice included)."""
    from accounts.models import User
    from core.widgets import ListedFilterChoiceIterator, ListedModelChoiceIterator
    from tests.accounts.factories import UserFactory
    from www.filters import ReferentChoiceField

    UserFactory.create_batch(4)
    queryset = User.objects.order_by("last_name", "pk")

    class Listed(forms.ModelChoiceField):
        iterator = ListedModelChoiceIterator

    expected = list(forms.ModelChoiceField(queryset, empty_label=empty_label).choices)
    field = Listed(queryset, empty_label=empty_label)
    with django_assert_num_queries(1):
        assert list(field.choices) == expected
        assert list(field.choices) == expected and len(field.choices) == len(expected)
    assert issubclass(ReferentChoiceField.iterator, ListedFilterChoiceIterator)
    filtered = ReferentChoiceField(queryset=queryset, empty_label=empty_label, null_label="Sans référent·e")
    choices = list(filtered.choices)
    assert ("null", "Sans référent·e") in choices and choices[-4:] == expected[-4:]


@pytest.mark.parametrize("value", [None, [], ["3"], ["a&b", 5, "absent"], [3, "3"]])
def test_the_multiple_markup_is_django_select_multiple(value):
    from core.widgets import FastSelectMultiple

    attrs = {"class": "form-select", "size": 5}
    expected = forms.SelectMultiple(attrs=attrs, choices=CHOICES).render("noms", value, attrs={"id": "id_noms"})
    rendered = FastSelectMultiple(attrs=attrs, choices=CHOICES).render("noms", value, attrs={"id": "id_noms"})
    assert parse_html(rendered) == parse_html(expected)
    assert FastSelectMultiple().value_from_datadict({"noms": ["1", "2"]}, {}, "noms") == ["1", "2"]


@pytest.mark.django_db
def test_the_audit_search_lists_its_structures_with_it():
    """The auditor's structure filter (every structure of the Département) is a FastSelect: Django's markup,
    the chosen structure selected."""
    from django.http import QueryDict

    from audit.filters import audit_event_filterset
    from audit.models import AuditEvent
    from tests.accounts.factories import StructureFactory

    chosen = StructureFactory.create_batch(3)[1]
    form = audit_event_filterset(QueryDict(f"structure={chosen.pk}"), AuditEvent.objects.all()).form
    field = form.fields["structure"]
    assert isinstance(field.widget, FastSelect)
    rendered = str(form["structure"])
    field.widget = forms.Select(attrs=field.widget.attrs, choices=field.choices)
    assert parse_html(rendered) == parse_html(str(form["structure"]))
    assert f'<option value="{chosen.pk}" selected>{chosen.name}</option>' in rendered
    assert rendered.count("<option") == 4  # "Toutes" and the three structures
