"""Widgets rendered in Python where Django's template rendering costs more than the page's SQL."""

from django import forms
from django.forms.utils import flatatt
from django.utils.html import conditional_escape, format_html, format_html_join
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
                parts.append(format_html('<optgroup label="{}">', group_name))
            parts.append(
                format_html_join(
                    "",
                    '<option value="{}"{}>{}</option>',
                    ((str(option["value"]), flatatt(option["attrs"]), option["label"]) for option in options),
                )
            )
            if group_name:
                parts.append(mark_safe("</optgroup>"))  # noqa: S308 (a constant)
        parts.append(mark_safe("</select>"))  # noqa: S308 (a constant)
        return mark_safe("".join(conditional_escape(part) for part in parts))  # noqa: S308 (each part escaped)
