"""Widgets rendered in Python where Django's template rendering costs more than the page's SQL."""

import html

import django_filters
from django import forms
from django.forms.utils import flatatt
from django.utils.functional import Promise
from django.utils.html import format_html
from django.utils.safestring import mark_safe


class FastSelect(forms.Select):
    """A `<select>` whose HTML is the same as Django's Select, built in Python.

    Django renders every `<option>` through a template of its own (`django/forms/widgets/select_option.html`
    and `attrs.html`): a list of a hundred referents then takes longer to render than the whole caseload
    takes to read (docs/performance.md). The attributes and values are Django's (`Widget.get_context`), the
    choices the widget's, selected by ChoiceWidget.optgroups' rule; the markup is written here, with the
    same escaping.
    """

    def render(self, name, value, attrs=None, renderer=None):
        # Widget.get_context, not Select's: its `optgroups` builds a dict of a dozen keys per option (most
        # of a few hundred structures' rendering); the options are written from the choices below, as
        # ChoiceWidget.optgroups and create_option would give them (Select's options inherit no attrs).
        widget = forms.Widget.get_context(self, name, value, attrs)["widget"]
        if self.allow_multiple_selected:
            widget["attrs"]["multiple"] = True
        values = set(widget["value"])
        has_selected = False
        parts = [format_html('<select name="{}"{}>', widget["name"], flatatt(widget["attrs"]))]
        for option_value, option_label in self.choices:
            if option_value is None:
                option_value = ""
            grouped = isinstance(option_label, (list, tuple))
            if grouped and option_value:
                parts.append(f'<optgroup label="{_escape(option_value)}">')
            # Each option written with an f-string and the standard library's escape (which Django's
            # `escape` calls): `format_html` per option cost ~11 µs, most of a commune list's rendering.
            for subvalue, sublabel in option_label if grouped else ((option_value, option_label),):
                selected = (not has_selected or self.allow_multiple_selected) and str(subvalue) in values
                has_selected |= selected
                marked = " selected" if selected else ""
                parts.append(f'<option value="{_escape(subvalue)}"{marked}>{_escape(sublabel)}</option>')
            if grouped and option_value:
                parts.append("</optgroup>")
        parts.append("</select>")
        return mark_safe("".join(parts))  # noqa: S308 (every value and label escaped, as conditional_escape does)


def _escape(value) -> str:
    """`django.utils.html.conditional_escape`, without its lazy wrapper and SafeString per value."""
    if isinstance(value, Promise):
        value = str(value)
    if hasattr(value, "__html__"):
        return value.__html__()
    return html.escape(str(value))


class ListedModelChoiceIterator(forms.models.ModelChoiceIterator):
    """A ModelChoiceField's choices read with one plain SELECT.

    Django's iterator reads them through `QuerySet.iterator()`, which on PostgreSQL inside a transaction
    (ATOMIC_REQUESTS) opens a server-side cursor: DECLARE, FETCH and CLOSE, and a plan made for the first
    rows, for lists of a few hundred choices at most (~0.5 ms each on the caseload's filters,
    docs/performance.md). Here the field's queryset is evaluated as a list: the same choices, in the same
    order; read again, the choices come from that list (the field's queryset is the form's own copy)."""

    def __iter__(self):
        if self.field.empty_label is not None:
            yield ("", self.field.empty_label)
        for obj in self.queryset:
            yield self.choice(obj)

    def __len__(self):
        return len(self.queryset) + (1 if self.field.empty_label is not None else 0)


class FastSelectMultiple(FastSelect, forms.SelectMultiple):
    """FastSelect for several values: SelectMultiple's `multiple` attribute and reading of the posted list."""


class ListedFilterChoiceIterator(django_filters.fields.ModelChoiceIterator, ListedModelChoiceIterator):
    """django-filter's choices (its "null" choice included) read with one plain SELECT
    (core.widgets.ListedModelChoiceIterator)."""
