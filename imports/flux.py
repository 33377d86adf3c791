"""The CAF/MSA monthly XML "flux bénéficiaires RSA" (schema vrsb0801.xsd), read safely and as a stream.

The flux is a `Racine` holding one `IdentificationFlux`, then one `InfosFoyerRSA` per RSA file
(*dossier*), then a `TransmissionFlux`. Each `InfosFoyerRSA` holds the file's identifiers
(`IdentificationRSA/Organisme`: FONORG = CAF or MSA, MATRICULE = the allocataire number;
`IdentificationRSA/DemandeRSA`: DTDEMRSA), one `Personne` per member of the household (its
`Identification`: NOM, NOMNAI, PRENOM, DTNAI, SEXE; its two `Prestations`: NATPREST, ROLEPERS = DEM for
the applicant, CJT spouse, ENF child, AUT other, TOPCHAPERS dependant; `MontantCalculDroitRSAPersonne/
TOPPERSDRODEVORSA` = subject to rights and duties), the address (`DonneesAdministratives/Adresse`) and
the state of the right (`PrestationRSA/SituationDossierRSA/EtatDossierRSA/ETATDOSRSA`). docs/imports.md
gives the full mapping.

Safety: the parser is defusedxml's (a DTD, an entity declaration or an external reference refuses the
file: no billion laughs, no XXE). Memory: only the `InfosFoyerRSA` being read is held as a tree; each is
dropped once its row is yielded, so a 100 MB flux is read in constant memory.
"""

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from xml.parsers import expat

import defusedxml
import defusedxml.ElementTree as defused_et
from django.utils import timezone

from casework.models import Beneficiary, HouseholdMemberRelationship
from imports.records import ImportedHouseholdMember, ImportFileError, RowError, RowResult
from imports.validation import EARLIEST_BIRTH_DATE, Cell, parse_bool, parse_date, validate_row

ROOT_TAG = "Racine"
FOYER_TAG = "InfosFoyerRSA"
CHUNK_SIZE = 256 * 1024
# The tree pass feeds smaller chunks: the foyers completed within one chunk are held until it is fed.
TREE_CHUNK_SIZE = 32 * 1024

# ETATDOSRSA, as the CAF documents it (and carnet-de-bord's backend/cdb/caf_msa/ reads it):
#   0 new request awaiting the Département's decision, 1 right refused, 2 right open and paid,
#   3 right open and suspended, 4 right open but payment suspended, 5 right closed,
#   6 right closed in an earlier month, with a regularisation in the reference month.
RSA_STATES = {
    "2": Beneficiary.RsaStatus.OPEN.value,
    "3": Beneficiary.RsaStatus.SUSPENDED.value,
    "4": Beneficiary.RsaStatus.SUSPENDED.value,
    "5": Beneficiary.RsaStatus.CLOSED.value,
    "6": Beneficiary.RsaStatus.CLOSED.value,
}
NOT_YET_OPEN_STATES = {
    "0": "demande en attente de décision du Département",
    "1": "droit refusé",
}
# Where the date of each state is.
STATE_DATE_PATHS = {
    "3": ("PrestationRSA/SituationDossierRSA/SuspensionDroit/DDSUSDRORSA",),
    "4": ("PrestationRSA/SituationDossierRSA/SuspensionVersement/DDSUSVERSRSA",),
    "5": ("PrestationRSA/SituationDossierRSA/FinDroit/DTCLORSA",),
    "6": (
        "PrestationRSA/SituationDossierRSA/FinDroitMoisAnterieur/DTCLORSA",
        "PrestationRSA/SituationDossierRSA/FinDroit/DTCLORSA",
    ),
}
ROLES = {
    "CJT": HouseholdMemberRelationship.SPOUSE.value,
    "ENF": HouseholdMemberRelationship.CHILD.value,
}
APPLICANT_ROLE = "DEM"

_FOYER_START = re.compile(rb"<" + FOYER_TAG.encode() + rb"[\s/>]")
_XSD_DATE = re.compile(r"^(\d{4}-\d{2}-\d{2})(?:Z|[+-]\d{2}:\d{2})?$")
_SECURITY_MESSAGE = (
    "Le fichier XML contient une déclaration de type de document (DTD), des entités ou une référence "
    "externe : il est refusé par sécurité. Un flux bénéficiaires RSA n'en contient pas."
)


def _refuse(*args):
    raise defusedxml.DefusedXmlException("DTD, entity or external reference")


def _xml_error(error: expat.ExpatError | ET.ParseError) -> ImportFileError:
    line, column = getattr(error, "position", None) or (getattr(error, "lineno", "?"), getattr(error, "offset", "?"))
    return ImportFileError(
        f"Le fichier XML est mal formé ou mal encodé (ligne {line}, colonne {column}) : il ne peut pas être lu. "
        f"Vérifiez qu'il s'agit bien du flux transmis par la CAF ou la MSA, complet."
    )


@dataclass(frozen=True)
class FluxSummary:
    foyers: int  # how many InfosFoyerRSA the file holds (counted on the bytes: for progress)


def check_flux(path: Path) -> FluxSummary:
    """Read the whole file once with expat (fast: no tree) to refuse it before any row is read: not
    well-formed, wrongly encoded, with a DTD or entities, not a `Racine` flux, or holding no foyer."""
    parser = expat.ParserCreate()
    root: list[str] = []

    def first_element(name, attributes):
        root.append(name)
        parser.StartElementHandler = None

    parser.StartElementHandler = first_element
    parser.StartDoctypeDeclHandler = _refuse
    parser.EntityDeclHandler = _refuse
    parser.UnparsedEntityDeclHandler = _refuse
    parser.ExternalEntityRefHandler = _refuse
    count = 0
    tail = b""
    wide = False
    try:
        with path.open("rb") as stream:
            head = stream.read(4)
            wide = head[:2] in (b"\xff\xfe", b"\xfe\xff") or b"\x00" in head
            stream.seek(0)
            while chunk := stream.read(CHUNK_SIZE):
                parser.Parse(chunk, False)
                if not wide:
                    window = tail + chunk
                    count += len(_FOYER_START.findall(window))
                    # Keep the end of the chunk, minus anything already counted, for a tag cut in two.
                    cut = max(len(window) - len(FOYER_TAG) - 1, window.rfind(b"<" + FOYER_TAG.encode()) + 1, 0)
                    tail = window[cut:]
            parser.Parse(b"", True)
    except defusedxml.DefusedXmlException as error:
        raise ImportFileError(_SECURITY_MESSAGE) from error
    except expat.ExpatError as error:
        raise _xml_error(error) from error
    except RecursionError as error:  # pragma: no cover - expat does not recurse; kept as a guard
        raise ImportFileError("Le fichier XML est trop profondément imbriqué.") from error
    if not root:
        raise ImportFileError("Le fichier XML ne contient aucun élément.")
    if root[0] != ROOT_TAG:
        raise ImportFileError(
            f"Ce fichier XML n'est pas un flux bénéficiaires RSA de la CAF ou de la MSA : son élément racine est "
            f"« {root[0][:50]} », le flux commence par « {ROOT_TAG} »."
        )
    if wide:
        count = _count_foyers_slowly(path)
    if count == 0:
        raise ImportFileError(f"Le flux ne contient aucun dossier (aucun élément « {FOYER_TAG} »).")
    return FluxSummary(foyers=count)


def _count_foyers_slowly(path: Path) -> int:
    """Count the foyers of a UTF-16 flux (rare), where the bytes cannot be searched."""
    parser = expat.ParserCreate()
    depth = [0, 0]

    def start(name, attributes):
        depth[0] += 1
        if depth[0] == 2 and name == FOYER_TAG:
            depth[1] += 1

    def end(name):
        depth[0] -= 1

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.StartDoctypeDeclHandler = _refuse
    parser.EntityDeclHandler = _refuse
    with path.open("rb") as stream:
        parser.ParseFile(stream)
    return depth[1]


class _FoyerCollector:
    """Parser target keeping, of the whole document, only the `InfosFoyerRSA` being read (as a small
    tree) and the line it starts on."""

    def __init__(self):
        self.expat = None  # the expat parser under the defusedxml parser, for line numbers
        self.depth = 0
        self.builder: ET.TreeBuilder | None = None
        self.line = 0
        self.done: list[tuple[int, ET.Element]] = []

    def start(self, tag, attrib):
        self.depth += 1
        if self.builder is not None:
            self.builder.start(tag, attrib)
        elif self.depth == 2 and tag == FOYER_TAG:
            self.line = self.expat.CurrentLineNumber
            self.builder = ET.TreeBuilder()
            self.builder.start(tag, attrib)

    def end(self, tag):
        if self.builder is not None:
            self.builder.end(tag)
            if self.depth == 2:
                self.done.append((self.line, self.builder.close()))
                self.builder = None
        self.depth -= 1

    def data(self, data):
        if self.builder is not None:
            self.builder.data(data)

    def close(self):
        return None


def iter_foyers(path: Path) -> Iterator[tuple[int, ET.Element]]:
    """Each `InfosFoyerRSA` with its line, in file order, holding one at a time in memory."""
    collector = _FoyerCollector()
    parser = defused_et.DefusedXMLParser(target=collector, forbid_dtd=True)
    collector.expat = parser.parser
    try:
        with path.open("rb") as stream:
            while chunk := stream.read(TREE_CHUNK_SIZE):
                parser.feed(chunk)
                yield from collector.done
                collector.done.clear()
            parser.close()
            yield from collector.done
    except defusedxml.DefusedXmlException as error:
        raise ImportFileError(_SECURITY_MESSAGE) from error
    except ET.ParseError as error:
        raise _xml_error(error) from error


def _text(element: ET.Element | None, path: str) -> str:
    if element is None:
        return ""
    found = element.findtext(path)
    return found.strip() if found else ""


def _xsd_date(value: str) -> str:
    """An xsd:date may carry a time zone (2024-01-31+01:00): the date is what counts."""
    match = _XSD_DATE.match(value)
    return match.group(1) if match else value


def _rsa_role(personne: ET.Element) -> tuple[str, bool]:
    """The person's role (ROLEPERS) and dependant flag (TOPCHAPERS) for the RSA benefit."""
    chosen = None
    for prestations in personne.findall("Prestations"):
        if _text(prestations, "NATPREST").upper() == "RSA":
            chosen = prestations
            break
        chosen = chosen if chosen is not None else prestations
    if chosen is None:
        return "", False
    return _text(chosen, "ROLEPERS").upper(), bool(parse_bool(_text(chosen, "TOPCHAPERS")))


def _address(foyer: ET.Element) -> dict[str, str]:
    """The current French address: the `Adresse` of rank 01 (RGADR), or the first one."""
    addresses = foyer.findall("DonneesAdministratives/Adresse")
    current = None
    for address in addresses:
        rank = _text(address, "TroncCommunAdresse/RGADR")
        if rank.lstrip("0") == "1":
            current = address
            break
    if current is None and addresses:
        current = addresses[0]
    detail = current.find("AdresseDetailleeFrance") if current is not None else None
    if detail is None:
        return {}
    street = " ".join(part for part in (_text(detail, name) for name in ("NUMVOIE", "LIBTYPEVOIE", "NOMVOIE")) if part)
    complements = [_text(detail, name) for name in ("COMPLIDEADR", "COMPLADR", "LIEUDIST")]
    line = ", ".join(part for part in (*complements[:2], street, complements[2]) if part)
    return {
        "adresse": line,
        "code_postal": _text(detail, "CODEPOS"),
        "commune": _text(detail, "NOMCOM"),
        "code_insee": _text(detail, "NUMCOM"),
    }


def _member(line: int, personne: ET.Element, role: str, dependant: bool):
    """A household member, or the RowError that prevents reading it."""
    last_name = _text(personne, "Identification/NOM") or _text(personne, "Identification/NOMNAI")
    first_name = _text(personne, "Identification/PRENOM")
    if not last_name or not first_name:
        return RowError(
            line=line,
            column="Personne/Identification",
            message="Un membre du foyer n'a pas de nom ou de prénom (NOM/NOMNAI, PRENOM).",
            value=f"{last_name} {first_name}".strip(),
        )
    if len(last_name) > 100 or len(first_name) > 100:
        return RowError(line, "Personne/Identification", "Nom ou prénom d'un membre du foyer trop long.", last_name)
    raw_date = _text(personne, "Identification/DTNAI")
    birth_date = None
    if raw_date:
        try:
            birth_date = parse_date(_xsd_date(raw_date))
        except ValueError:
            birth_date = None
        if birth_date is None or not EARLIEST_BIRTH_DATE <= birth_date <= timezone.localdate():
            return RowError(
                line,
                "DTNAI",
                f"Date de naissance invalide pour le membre du foyer {first_name} {last_name}.",
                raw_date,
            )
    return ImportedHouseholdMember(
        relationship=ROLES.get(role, HouseholdMemberRelationship.OTHER.value),
        first_name=first_name,
        last_name=last_name,
        birth_date=birth_date,
        is_dependent=dependant,
    )


def foyer_result(line: int, foyer: ET.Element, *, default_organism: str | None = None) -> RowResult:
    """One `InfosFoyerRSA` as a row: the applicant (ROLEPERS DEM) is the beneficiary, the other
    `Personne` elements are the household."""
    people = [(personne, *_rsa_role(personne)) for personne in foyer.findall("Personne")]
    applicant = next((entry for entry in people if entry[1] == APPLICANT_ROLE), people[0] if people else None)
    if applicant is None:
        return RowResult(
            line=line,
            errors=(RowError(line, "Personne", "Le dossier ne décrit aucune personne (élément « Personne »)."),),
        )
    personne = applicant[0]
    extra_errors: list[RowError] = []
    household: list[ImportedHouseholdMember] = []
    for other, role, dependant in people:
        if other is personne:
            continue
        member = _member(line, other, role, dependant)
        if isinstance(member, RowError):
            extra_errors.append(member)
        else:
            household.append(member)

    state = _text(foyer, "PrestationRSA/SituationDossierRSA/EtatDossierRSA/ETATDOSRSA")
    if state in NOT_YET_OPEN_STATES:
        extra_errors.append(
            RowError(
                line,
                "ETATDOSRSA",
                f"Dossier à l'état {state} ({NOT_YET_OPEN_STATES[state]}) : aucun droit ouvert, il n'est pas importé.",
                state,
            )
        )
    elif state and state not in RSA_STATES:
        extra_errors.append(RowError(line, "ETATDOSRSA", f"État du dossier RSA inconnu : « {state} ».", state))
    state_date = ""
    for date_path in STATE_DATE_PATHS.get(state, ()):
        state_date = _text(foyer, date_path)
        if state_date:
            state_element = date_path.rsplit("/", 1)[1]
            break
    else:
        state_element = "DTETATDOSRSA"

    sdd = _text(personne, "MontantCalculDroitRSAPersonne/TOPPERSDRODEVORSA")
    if not sdd:
        sdd = _text(foyer, "PrestationRSA/DetailDroitRSA/TroncCommunDroitRSA/TOPFOYDRODEVORSA")
    matricule = _text(foyer, "IdentificationRSA/Organisme/MATRICULE")
    if matricule.isascii() and matricule.isdigit():
        # xsd:integer: leading zeros (a 15-digit zero-padded MATRICULE) carry no meaning.
        matricule = matricule.lstrip("0") or "0"
    organism = _text(foyer, "IdentificationRSA/Organisme/FONORG")
    last_name = _text(personne, "Identification/NOM") or _text(personne, "Identification/NOMUSAGE")
    birth_name = _text(personne, "Identification/NOMNAI")

    cells = {
        "numero_allocataire": Cell("MATRICULE", matricule),
        "nom": Cell("NOM", last_name or birth_name),
        "prenom": Cell("PRENOM", _text(personne, "Identification/PRENOM")),
        "nom_naissance": Cell("NOMNAI", birth_name),
        "date_naissance": Cell("DTNAI", _xsd_date(_text(personne, "Identification/DTNAI"))),
        "sexe": Cell("SEXE", _text(personne, "Identification/SEXE")),
        # A state that is not a right (0, 1) or unknown already has its own error: the placeholder only
        # keeps validate_row from adding a second one.
        "statut_droits": Cell("ETATDOSRSA", RSA_STATES.get(state, Beneficiary.RsaStatus.OPEN.value if state else "")),
        "date_statut": Cell(state_element, _xsd_date(state_date)),
        "date_entree_rsa": Cell("DTDEMRSA", _xsd_date(_text(foyer, "IdentificationRSA/DemandeRSA/DTDEMRSA"))),
        "sdd": Cell("TOPPERSDRODEVORSA", sdd),
    }
    if organism:
        cells["organisme"] = Cell("FONORG", organism)
    address = _address(foyer)
    for name, element in (
        ("adresse", "NOMVOIE"),
        ("code_postal", "CODEPOS"),
        ("commune", "NOMCOM"),
        ("code_insee", "NUMCOM"),
    ):
        if address.get(name):
            cells[name] = Cell(element, address[name])
    record, errors = validate_row(
        line,
        cells,
        default_organism=default_organism,
        household=tuple(household),
        extra_errors=tuple(extra_errors),
    )
    return RowResult(line=line, record=record, errors=errors)


def read_flux(
    path: Path, *, default_organism: str | None = None
) -> Iterator[tuple[RowResult, tuple[str, str] | None]]:
    """Each foyer of a flux already accepted by check_flux, with its key (organism, number) when readable."""
    for line, foyer in iter_foyers(path):
        result = foyer_result(line, foyer, default_organism=default_organism)
        yield result, _key(foyer, result, default_organism)


def _key(foyer: ET.Element, result: RowResult, default_organism: str | None) -> tuple[str, str] | None:
    if result.record is not None:
        return result.record.key
    number = _text(foyer, "IdentificationRSA/Organisme/MATRICULE")
    if not (number.isascii() and number.isdigit()):
        return None
    number = number.lstrip("0") or "0"
    organism = _text(foyer, "IdentificationRSA/Organisme/FONORG").lower() or default_organism or "caf"
    return (organism, number) if len(number) <= 13 else None
