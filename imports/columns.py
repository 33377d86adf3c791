"""The column set of a CSV or .xlsx import: canonical names, French labels, aliases, header matching.

A file's header is matched to the canonical columns through `normalise_header` (case, accents, spaces,
dashes, underscores, dots and apostrophes do not count), first through the caller's `mapping` (the
department admin's saved correspondence for a source), then through each column's name and aliases.
docs/imports.md lists the columns for the people who prepare the files.
"""

import unicodedata
from dataclasses import dataclass

from imports.records import ImportFileError


@dataclass(frozen=True)
class ImportColumn:
    name: str  # canonical name, as written in docs/imports.md and in saved mappings
    label: str  # French label, for messages and screens
    required: bool
    aliases: tuple[str, ...] = ()


IMPORT_COLUMNS: tuple[ImportColumn, ...] = (
    ImportColumn(
        "organisme",
        "Organisme payeur (CAF/MSA)",
        False,
        ("organisme payeur", "organisme_payeur", "caisse", "fonorg", "org", "caf msa", "caf/msa"),
    ),
    ImportColumn(
        "numero_allocataire",
        "Numéro allocataire",
        True,
        (
            "n° allocataire",
            "no allocataire",
            "num allocataire",
            "num_allocataire",
            "numéro d'allocataire",
            "numero caf",
            "numéro caf",
            "n° caf",
            "numero msa",
            "numéro msa",
            "n° msa",
            "matricule",
            "matricule caf",
            "matricule msa",
            "allocataire",
            "num_caf",
            "caf number",
        ),
    ),
    ImportColumn("nom", "Nom d'usage", True, ("nom d'usage", "nom usage", "nom_usage", "nomusage", "last name")),
    ImportColumn("prenom", "Prénom", True, ("prénom", "prenoms", "prénoms", "first name")),
    ImportColumn(
        "nom_naissance",
        "Nom de naissance",
        False,
        ("nom de naissance", "nom de famille", "nomnai", "nom naissance", "nom de jeune fille"),
    ),
    ImportColumn(
        "date_naissance",
        "Date de naissance",
        True,
        ("date de naissance", "né le", "née le", "ne(e) le", "dtnai", "naissance", "date naiss"),
    ),
    ImportColumn("sexe", "Sexe", False, ("genre", "civilite", "civilité", "qual")),
    ImportColumn("adresse", "Adresse", False, ("adresse postale", "voie", "adresse ligne 1", "rue")),
    ImportColumn("code_postal", "Code postal", False, ("cp", "codepos", "code postale")),
    ImportColumn("commune", "Commune", False, ("ville", "localite", "localité", "nomcom", "nom commune")),
    ImportColumn("code_insee", "Code INSEE", False, ("insee", "code commune", "code insee commune", "numcom", "cog")),
    ImportColumn(
        "telephone",
        "Téléphone",
        False,
        ("téléphone", "tel", "tél", "tél.", "portable", "numero de telephone", "numéro de téléphone", "mobile"),
    ),
    ImportColumn(
        "courriel", "Courriel", False, ("email", "e-mail", "mail", "adresse mail", "adresse électronique", "mél")
    ),
    ImportColumn(
        "statut_droits",
        "Statut des droits RSA",
        True,
        (
            "statut",
            "statut droits",
            "statut des droits",
            "statut rsa",
            "etat du droit",
            "état du droit",
            "etat droit rsa",
            "état des droits",
            "droits rsa",
            "etatdosrsa",
        ),
    ),
    ImportColumn(
        "date_statut",
        "Date du statut",
        False,
        ("date du statut", "date statut droits", "date d'effet", "date etat", "date de l'état"),
    ),
    ImportColumn(
        "sdd",
        "Soumis aux droits et devoirs",
        False,
        (
            "soumis aux droits et devoirs",
            "soumis droits et devoirs",
            "droits et devoirs",
            "toppersdrodevorsa",
        ),
    ),
    ImportColumn(
        "date_entree_rsa",
        "Date d'entrée dans le RSA",
        False,
        (
            "date d'entrée rsa",
            "date entrée rsa",
            "date d'entrée dans le rsa",
            "date d'ouverture des droits",
            "date ouverture droits",
            "date de demande rsa",
            "dtdemrsa",
        ),
    ),
    ImportColumn("foyer", "Membres du foyer", False, ("membres du foyer", "composition du foyer", "foyer rsa")),
)

COLUMNS_BY_NAME = {column.name: column for column in IMPORT_COLUMNS}
REQUIRED_COLUMNS = tuple(column.name for column in IMPORT_COLUMNS if column.required)
# A mapping value that tells the reader to ignore a column of the file.
IGNORED = ""

_SEPARATORS = frozenset(" \t\r\n-_.'’`\"/\\()[]{}:;,°º*#")


def normalise_header(name: str) -> str:
    """The key a header is matched on: lower case, no accents, no spaces, dashes, underscores or other
    punctuation ("N° Allocataire", "n_allocataire" and "N-ALLOCATAIRE" all give "nallocataire")."""
    decomposed = unicodedata.normalize("NFKD", str(name))
    kept = []
    for char in decomposed:
        if unicodedata.combining(char) or char in _SEPARATORS or char.isspace():
            continue
        kept.append(char.lower())
    return "".join(kept)


def _alias_index() -> dict[str, str]:
    index: dict[str, str] = {}
    for column in IMPORT_COLUMNS:
        for alias in (column.name, column.label, *column.aliases):
            key = normalise_header(alias)
            owner = index.setdefault(key, column.name)
            if owner != column.name:  # pragma: no cover - caught by tests/imports/test_readers.py
                raise AssertionError(f"Alias {alias!r} of {column.name} already names {owner}")
    return index


ALIASES: dict[str, str] = _alias_index()


def check_mapping(mapping: dict[str, str] | None) -> dict[str, str]:
    """The caller's mapping with normalised keys; refuses a mapping naming an unknown column."""
    if not mapping:
        return {}
    checked = {}
    for header, target in mapping.items():
        if target != IGNORED and target not in COLUMNS_BY_NAME:
            raise ImportFileError(
                f"La correspondance de colonnes enregistrée pour cette source désigne une colonne inconnue "
                f"« {target} » (pour l'en-tête « {header} »). Colonnes possibles : {', '.join(COLUMNS_BY_NAME)}."
            )
        checked[normalise_header(header)] = target
    return checked


@dataclass(frozen=True)
class HeaderMatch:
    """How the header row of a file was understood."""

    positions: dict[str, int]  # canonical column name -> index of the cell in a row
    labels: dict[str, str]  # canonical column name -> header as written in the file
    unknown: tuple[str, ...]  # headers matched to no column (ignored)
    found: tuple[str, ...]  # every non-empty header, as written


def match_header(cells: list[str], mapping: dict[str, str]) -> HeaderMatch:
    """Match a header row to the canonical columns; refuses a file missing a required column or naming
    one column twice. `mapping` must come from check_mapping."""
    positions: dict[str, int] = {}
    labels: dict[str, str] = {}
    unknown: list[str] = []
    found: list[str] = []
    for index, raw in enumerate(cells):
        header = raw.strip()
        if not header:
            continue
        found.append(header)
        key = normalise_header(header)
        target = mapping[key] if key in mapping else ALIASES.get(key)
        if target is None:
            unknown.append(header)
            continue
        if target == IGNORED:
            continue
        if target in positions:
            raise ImportFileError(
                f"Les colonnes « {labels[target]} » et « {header} » désignent toutes deux "
                f"« {COLUMNS_BY_NAME[target].label} » : gardez-en une seule ou corrigez la correspondance "
                f"de colonnes."
            )
        positions[target] = index
        labels[target] = header
    missing = [name for name in REQUIRED_COLUMNS if name not in positions]
    if missing:
        names = ", ".join(f"« {name} » ({COLUMNS_BY_NAME[name].label})" for name in missing)
        plural = "s" if len(missing) > 1 else ""
        listed = ", ".join(f"« {header} »" for header in found) or "aucune"
        raise ImportFileError(
            f"Colonne{plural} obligatoire{plural} absente{plural} : {names}. Colonnes trouvées dans le fichier : "
            f"{listed}. Renommez les colonnes ou enregistrez une correspondance de colonnes pour cette source."
        )
    return HeaderMatch(positions=positions, labels=labels, unknown=tuple(unknown), found=tuple(found))
