"""Pickers: a person or a structure chosen by searching for it, rather than from a list of all of them.

A picker is the widget of a ModelChoiceField or ModelMultipleChoiceField. It renders the chosen values as
checked boxes (radios for one value), a search input and its « Rechercher » button; the field, its scoped
queryset and its validation are unchanged, so the form posts the same values as a `<select>` did.

- With JavaScript, htmx asks the search URL of the page (www.views.pickers) while the user types; the
  answer lists up to MAX_RESULTS matching choices of the field's own queryset as boxes to tick, and keeps
  the boxes ticked so far (they are sent along with the term).
- Without JavaScript, « Rechercher » posts the form: a search round. The form comes back as typed, with the
  results of every picker whose search box holds a term, and without errors (it is not checked until it
  is sent for good).

Like django.contrib.admin's autocomplete widget, a picker reads only its chosen values to render; the
search reads the field's queryset narrowed by the term, so the results are the choices the form accepts.
"""

from django import forms
from django.forms.models import ModelChoiceIterator

from core import search

# The name of the « Rechercher » buttons: a POST that holds it is a search round, not a submission.
SEARCH_BUTTON = "rechercher"
# At most this many results are shown; more means the term should be more precise.
MAX_RESULTS = 20
# Database ids are positive 64-bit integers; anything else posted as a choice is ignored when rendering.
MAX_ID = 2**63 - 1


def search_input_name(html_name: str) -> str:
    return f"recherche_{html_name}"


def _ids(values) -> list[int]:
    ids = []
    for value in values:
        try:
            number = int(value)
        except (TypeError, ValueError):
            continue
        if 0 < number <= MAX_ID:
            ids.append(number)
    return ids


class PickerMixin:
    """What the single and multiple pickers share. `search_fields` are the columns the term is looked for
    in; `noun` and `plural` name what is picked, in French (feminine nouns: « personne », « structure »)."""

    template_name = "casework/pickers/picker.html"
    # What a search answers: the chosen values and the results, and the status message out of band.
    answer_template_name = "casework/pickers/picker_answer.html"
    # The label of the field names the search input (BoundField.id_for_label): no <fieldset> around it.
    use_fieldset = False

    def __init__(self, *, search_fields: tuple[str, ...], noun: str, plural: str, attrs=None):
        super().__init__(attrs)
        self.search_fields = search_fields
        self.noun, self.plural = noun, plural
        # Set per form (PickerFormMixin): where htmx searches, what was typed, whether to search now.
        self.search_url = ""
        self.term = ""
        self.show_results = False

    def id_for_label(self, id_, index=None):
        if index is None:
            return f"{id_}_recherche" if id_ else ""
        return super().id_for_label(id_, index)

    def optgroups(self, name, value, attrs=None):
        """The chosen values only, read from the field's queryset (never the whole list)."""
        option_attrs = {"id": attrs["id"]} if attrs and attrs.get("id") else {}
        options = []
        chosen = self.chosen_choices(value)
        if not self.allow_multiple_selected:
            empty = f"Aucune {self.noun}"
            options.append(self.create_option(name, "", empty, not chosen, "aucune", attrs=option_attrs))
        for option_value, label in chosen:
            options.append(self.create_option(name, option_value, label, True, option_value, attrs=option_attrs))
        return [(None, options, 0)]

    def _iterator(self) -> ModelChoiceIterator:
        if not isinstance(self.choices, ModelChoiceIterator):
            raise TypeError("A picker is the widget of a ModelChoiceField or a ModelMultipleChoiceField.")
        return self.choices

    def chosen_choices(self, value) -> list:
        ids = _ids(value)
        if not self.allow_multiple_selected:
            ids = ids[:1]
        if not ids:
            return []
        iterator = self._iterator()
        return [iterator.choice(obj) for obj in iterator.queryset.filter(pk__in=ids)]

    def find(self, term: str, exclude: list) -> tuple[list, bool]:
        """Up to MAX_RESULTS choices matching the term, the chosen ones left out; and whether there are more."""
        iterator = self._iterator()
        queryset = search.matching_words(iterator.queryset, term, self.search_fields).exclude(pk__in=_ids(exclude))
        found = list(queryset[: MAX_RESULTS + 1])
        return [iterator.choice(obj) for obj in found[:MAX_RESULTS]], len(found) > MAX_RESULTS

    def status(self, term: str, count: int, more: bool) -> str:
        if not search.is_long_enough(term):
            return f"Tapez au moins {search.MIN_LENGTH} lettres du nom pour chercher."
        if not count:
            return f"Aucune {self.noun} ne correspond à « {term} »."
        if more:
            return (
                f"Plus de {MAX_RESULTS} {self.plural} correspondent à « {term} » : les {MAX_RESULTS} premières "
                "sont affichées, précisez la recherche."
            )
        if count == 1:
            return f"Une {self.noun} correspond à « {term} »."
        return f"{count} {self.plural} correspondent à « {term} »."

    def get_context(self, name, value, attrs):
        context = super().get_context(name, value, attrs)
        widget = context["widget"]
        base_id = widget["attrs"].get("id") or name
        term = self.term[: search.MAX_LENGTH]
        results, status = None, ""
        if self.show_results:
            results = []
            if search.is_long_enough(term):
                chosen = [str(option["value"]) for _, options, _ in widget["optgroups"] for option in options]
                found, more = self.find(term, [chosen_id for chosen_id in chosen if chosen_id])
                option_attrs = {"id": base_id}
                results = [
                    self.create_option(name, option_value, label, False, option_value, attrs=option_attrs)
                    for option_value, label in found
                ]
                status = self.status(term, len(results), more)
            else:
                status = self.status(term, 0, False)
        if self.allow_multiple_selected:
            help_text = f"Tapez au moins {search.MIN_LENGTH} lettres du nom, puis cochez les {self.plural} à ajouter."
        else:
            help_text = f"Tapez au moins {search.MIN_LENGTH} lettres du nom, puis choisissez la {self.noun}."
        widget["picker"] = {
            "id": base_id,
            "input_id": self.id_for_label(base_id),
            "input_name": search_input_name(name),
            "term": term,
            "url": self.search_url,
            "button": SEARCH_BUTTON,
            "results": results,
            "status": status,
            "help": help_text,
            "chosen_title": (
                f"{self.plural.capitalize()} choisies"
                if self.allow_multiple_selected
                else f"{self.noun.capitalize()} choisie"
            ),
            # What Django and BootstrapBoundField put on the field's control: here, the search input.
            "invalid": "aria-invalid" in widget["attrs"],
            "describedby": widget["attrs"].get("aria-describedby", ""),
        }
        return context


class SearchPicker(PickerMixin, forms.RadioSelect):
    """One value (ModelChoiceField): the chosen one as a checked radio, beside « Aucune … »."""


class SearchPickerMultiple(PickerMixin, forms.CheckboxSelectMultiple):
    """Several values (ModelMultipleChoiceField): the chosen ones as checked boxes."""


class PickerFormMixin:
    """A form with pickers. `search_url` is where htmx searches (the view gives it: the URL names the file).

    A POST holding SEARCH_BUTTON is a search round: the form is then unbound, with what was typed as its
    initial values, so that it shows again as typed, with results and without errors, and `is_valid()`
    is False (nothing is written).
    """

    def __init__(self, *args, search_url: str = "", **kwargs):
        super().__init__(*args, **kwargs)
        self.search_round = self.is_bound and SEARCH_BUTTON in self.data
        for name, field in self.fields.items():
            widget = field.widget
            if not isinstance(widget, PickerMixin):
                continue
            widget.search_url = search_url
            if self.is_bound:
                html_name = self.add_prefix(name)
                term = self.data.get(search_input_name(html_name)) or ""
                widget.term = term if isinstance(term, str) else ""
                widget.show_results = self.search_round and (
                    bool(widget.term.strip()) or self.data.get(SEARCH_BUTTON) == html_name
                )
        if self.search_round:
            typed = {
                name: field.widget.value_from_datadict(self.data, self.files, self.add_prefix(name))
                for name, field in self.fields.items()
            }
            self.initial = {**self.initial, **typed}
            self.is_bound = False

    @property
    def picker_names(self) -> list[str]:
        return [self.add_prefix(name) for name, field in self.fields.items() if isinstance(field.widget, PickerMixin)]

    def picker_answer(self, html_name: str, data) -> str:
        """One picker's chosen values and results for the term in `data` (a search's query: its term and
        the values ticked so far), what htmx swaps in (www.views.pickers). The form is not bound: nothing is
        validated, the chosen values out of the field's queryset are left out. `html_name` is one of
        `picker_names`."""
        bound = self[html_name.removeprefix(f"{self.prefix}-") if self.prefix else html_name]
        widget = bound.field.widget
        term = data.get(search_input_name(html_name)) or ""
        widget.term = term if isinstance(term, str) else ""
        widget.show_results = True
        widget.template_name = widget.answer_template_name
        value = widget.value_from_datadict(data, {}, html_name)
        return widget.render(html_name, value, attrs={"id": bound.auto_id}, renderer=self.renderer)
