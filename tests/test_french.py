"""The French of the screens: elisions and agreements a reader trips on (issue 27).

A scan of the templates and of the string literals of the code for a word that must elide before a vowel
("que administrateur", "de utilisateur", "le accès", "la orientation", "ne a"...), and of the pages some
personas render, where a label fills a sentence ("En tant que {{ label }}"). A new mistake fails CI; a
true exception goes in ALLOWED with its reason.
"""

import ast
import html as html_module
import re
from pathlib import Path

import pytest
from django.apps import apps
from django.contrib import admin
from django.urls import reverse

ROOT = Path(__file__).resolve().parent.parent
TEMPLATES = ROOT / "templates"
CODE_APPS = ("accounts", "audit", "casework", "core", "config", "demo", "imports", "team", "www")

# A word that elides (que → qu', de → d', le/la → l', ne → n', se → s', je → j', me → m', te → t') followed
# by a word beginning with a vowel (or a mute h: "de hébergement" is "d'hébergement"). Not after a letter,
# an apostrophe, a hyphen or a middle dot ("actuel·le est" is a word that ends in "le").
ELISION = re.compile(
    r"(?<![\w'’·-])(que|lorsque|puisque|jusque|de|le|la|ne|se|je|me|te)\s+([aeiouàâäéèêëîïôöùûüh][\w·'’-]*)",
    re.IGNORECASE,
)
# "si il" is "s'il" (only before il/ils).
SI_IL = re.compile(r"(?<![\w'’·-])si\s+ils?\b", re.IGNORECASE)
# A masculine noun before an orientation's label, which agrees with "orientation" ("Socio-professionnelle").
PARCOURS_TRACK = re.compile(r"parcours(\s+proposé\s*:)?[\s\w<>=\"'-]*\{\{[^}]*track_display", re.IGNORECASE)

# Words after which no elision is due, with the reason.
ALLOWED_NEXT_WORDS = {
    "ou": "the inclusive pair « le ou la référent·e » (and « du ou de la bénéficiaire »)",
    "onze": "numbers do not elide (« le onze »)",
    "oui": "« le oui » does not elide",
    "handicap": "aspirated h (« le handicap »)",
    "haut": "aspirated h (« de haut en bas »)",
    "hauteur": "aspirated h (« la hauteur »)",
    "hors": "aspirated h (« de hors »)",
    "html": "a file format read as letters (« de HTML »)",
}


def mistakes_in(text: str) -> list[str]:
    found = [
        match.group(0)
        for match in ELISION.finditer(text)
        if match.group(2).lower().rstrip("'’-·") not in ALLOWED_NEXT_WORDS
    ]
    found += [match.group(0) for match in SI_IL.finditer(text)]
    return found


def page_text(html: str) -> str:
    """What a reader reads of a page: no scripts, styles or tags, entities decoded."""
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.DOTALL | re.IGNORECASE)
    return html_module.unescape(re.sub(r"<[^>]+>", " ", html))


def _template_text(path: Path) -> str:
    """A template without its comments (written in English, for developers)."""
    text = path.read_text()
    text = re.sub(r"\{#.*?#\}", " ", text, flags=re.DOTALL)
    return re.sub(r"\{%\s*comment\s*%\}.*?\{%\s*endcomment\s*%\}", " ", text, flags=re.DOTALL)


def _code_strings(path: Path):
    """The string literals of a module (docstrings included: they are English and carry none of these)."""
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            yield node.lineno, node.value


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("En tant que administrateur·rice", ["que administrateur·rice"]),
        ("Ajout de utilisateur·rice", ["de utilisateur·rice"]),
        ("Consultation de une note", ["de une"]),
        ("la orientation et le accès", ["la orientation", "le accès"]),
        ("Elle ne a pas", ["ne a"]),
        ("si il le faut, si elle le veut", ["si il"]),
        ("le ou la référent·e actuel·le est là, d'une note, qu'un accès", []),
        ("Le handicap de la personne", []),
    ],
)
def test_the_scan_finds_the_elisions_a_reader_trips_on(text, expected):
    assert mistakes_in(text) == expected


def test_no_template_misses_an_elision():
    found = {
        str(path.relative_to(ROOT)): mistakes
        for path in sorted(TEMPLATES.rglob("*.html"))
        if (mistakes := mistakes_in(_template_text(path)))
    }
    assert found == {}


def test_no_template_puts_an_orientation_label_after_the_word_parcours():
    """« parcours socio-professionnelle »: the labels agree with « orientation », a feminine noun."""
    found = [
        str(path.relative_to(ROOT)) for path in TEMPLATES.rglob("*.html") if PARCOURS_TRACK.search(path.read_text())
    ]
    assert found == []


def test_no_french_string_of_the_code_misses_an_elision():
    found = {}
    for app in CODE_APPS:
        for path in sorted((ROOT / app).rglob("*.py")):
            if "migrations" in path.parts:
                continue
            for line, value in _code_strings(path):
                if mistakes := mistakes_in(value):
                    found[f"{path.relative_to(ROOT)}:{line}"] = mistakes
    assert found == {}


def test_no_verbose_name_reads_wrong_in_the_admin_titles():
    """Django's French admin writes « Ajout de %s », « Modification de %s », « Affichage de %s ».

    Our models: django-axes registers its own (« échec d'accès »), which no department admin reaches (they
    hold no Django permission on them, accounts/admin.py) and whose names are not ours to choose."""
    found = {}
    for model in apps.get_models():
        if not admin.site.is_registered(model) or model._meta.app_label not in CODE_APPS:
            continue
        name = str(model._meta.verbose_name)
        for title in (f"Ajout de {name}", f"Modification de {name}", f"Affichage de {name}"):
            if mistakes := mistakes_in(title):
                found[model._meta.label] = mistakes
    assert found == {}


@pytest.mark.django_db
@pytest.mark.ignore_unknown_template_variables
def test_the_admin_pages_titles_read_correctly(client, personas):
    client.force_login(personas.admin)
    for model in apps.get_models():
        if not admin.site.is_registered(model):
            continue
        opts = model._meta
        response = client.get(reverse(f"admin:{opts.app_label}_{opts.model_name}_add"))
        if response.status_code == 403:  # a model whose rows the admin may not add (the settings' single row)
            continue
        text = page_text(response.content.decode())
        assert f"Ajout de {opts.verbose_name}" in text
        assert mistakes_in(text) == [], opts.label


def test_the_user_account_is_added_as_a_compte_in_the_admin(client, db, personas):
    client.force_login(personas.admin)
    html = client.get(reverse("admin:accounts_user_add")).content.decode()
    assert "<title>Ajout de compte" in html
    assert "Ajout de utilisateur" not in html


@pytest.mark.django_db
@pytest.mark.parametrize("persona", ["referent", "supervisor", "admin", "auditor"])
def test_the_home_page_of_each_role_reads_correctly(client, personas, persona):
    client.force_login(getattr(personas, persona))
    text = page_text(client.get(reverse("home")).content.decode())
    assert mistakes_in(text) == []
    assert "En tant que" in text or "En tant qu'" in text


def test_the_home_page_elides_before_the_roles_that_begin_with_a_vowel(client, db, personas):
    client.force_login(personas.admin)
    assert "En tant qu'administrateur·rice départemental·e" in page_text(client.get(reverse("home")).content.decode())
    client.force_login(personas.auditor)
    text = page_text(client.get(reverse("home")).content.decode())
    assert "En tant qu'auditeur·rice ou DPO" in text
    assert "auditeur·rice / dpo" not in text
