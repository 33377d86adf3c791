"""FastSelect writes the HTML of Django's Select."""

import pytest
from django import forms
from django.test.html import parse_html
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy

from casework.forms.widgets import FastSelect

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
    from casework.filters import CaseloadFilterForm

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
