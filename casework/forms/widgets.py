"""Widgets rendered in Python where Django's template rendering costs more than the page's SQL."""

import html

from django import forms
from django.forms.utils import flatatt
from django.utils.functional import Promise
from django.utils.html import format_html
from django.utils.safestring import mark_safe


class FastSelect(forms.Select):
    """A `<select>` whose HTML is the same as Django's Select, built in Python.

    Django renders every `<option>` through a template of its own (`django/forms/widgets/select_option.html`
    and `attrs.html`): a list of a hundred referents then takes longer to render than the whole caseload
    takes to read (docs/performance.md). The choices, the selected values and the attributes are
    Django's (`get_context`); only the markup is written here, with the same escaping.
    """

    def render(self, name, value, attrs=None, renderer=None):
        widget = self.get_context(name, value, attrs)["widget"]
        parts = [format_html('<select name="{}"{}>', widget["name"], flatatt(widget["attrs"]))]
        for group_name, options, _index in widget["optgroups"]:
            if group_name:
                parts.append(f'<optgroup label="{_escape(group_name)}">')
            # Each option written with an f-string and the standard library's escape (which Django's
            # `escape` calls): `format_html` per option cost ~11 µs, most of a commune list's rendering.
            parts.extend(
                f'<option value="{_escape(option["value"])}"{flatatt(option["attrs"]) if option["attrs"] else ""}>'
                f"{_escape(option['label'])}</option>"
                for option in options
            )
            if group_name:
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
