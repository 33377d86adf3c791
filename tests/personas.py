"""The personas the tests share (STYLE.md, "Tests"): one world of people and files, built by
`build_personas()` and given to a test by the `personas` fixture of tests/conftest.py.

Two structures of the social department, the MDS Nord and the MDS Sud; the Service logement of the
housing department; the CCAS de Tourcoing, an outside partner (no department). In them:

- `referent` (MDS Nord) follows `file`;
- `colleague`, a referent of the same structure, does not see it;
- `other`, a referent of the MDS Sud, follows `other_file` and does not see `file`;
- `housing_worker`, a referent of the Service logement (another department), sees neither;
- `supervisor` supervises the MDS Nord (`file`), `other_supervisor` the MDS Sud (`other_file`);
- `admin`, a department admin of the MDS Nord, and `auditor` (DPO), in the MDS Nord, read no file;
- `recipient`, a referent of the CCAS, is whom a file is shared with when a test shares it
  (`share_with_recipient`): the world itself shares nothing.

Every name is given, none is drawn by Faker: a test may assert that a name is absent from a page. The
file's last name, "Zidane", is one no persona and no factory wears. What a module needs beyond this
world it adds on top (a fixture that takes `personas`), never as a second world.
"""

import datetime
from types import SimpleNamespace

from accounts.models import Department, Role, Structure
from casework.models import Share
from casework.services import beneficiary_share
from tests.accounts.factories import DepartmentFactory, StructureFactory, member
from tests.casework.factories import BeneficiaryFactory


class Personas(SimpleNamespace):
    """The shared world: its departments, structures, people and files, as attributes."""


def build_personas() -> Personas:
    """Write the shared world to the database and return it. A plain function: the `personas` fixture
    calls it for each test, the module-scoped fixtures once for their module (with django_db_blocker)."""
    p = Personas()
    p.social = DepartmentFactory(name="Action sociale", code="action-sociale", kind=Department.Kind.SOCIAL_ACTION)
    p.housing = DepartmentFactory(name="Habitat", code="habitat", kind=Department.Kind.HOUSING)
    p.nord = StructureFactory(name="MDS Nord", code="mds-nord", department=p.social)
    p.sud = StructureFactory(name="MDS Sud", code="mds-sud", department=p.social)
    p.habitat = StructureFactory(name="Service logement", code="service-logement", department=p.housing)
    p.ccas = StructureFactory(
        name="CCAS de Tourcoing", code="ccas-tourcoing", kind=Structure.Kind.CCAS, department=None
    )

    p.referent = member(Role.REFERENT, p.nord, username="referente", first_name="Rita", last_name="Ferrand")
    p.colleague = member(Role.REFERENT, p.nord, username="collegue", first_name="Colin", last_name="Lebon")
    p.other = member(Role.REFERENT, p.sud, username="referent-sud", first_name="Odile", last_name="Martin")
    p.housing_worker = member(Role.REFERENT, p.habitat, username="logement", first_name="Hugo", last_name="Morel")
    p.supervisor = member(Role.SUPERVISOR, p.nord, username="superviseur", first_name="Sam", last_name="Roux")
    p.other_supervisor = member(
        Role.SUPERVISOR, p.sud, username="superviseur-sud", first_name="Yves", last_name="Lemaire"
    )
    p.admin = member(Role.DEPARTMENT_ADMIN, p.nord, username="departement", first_name="Agnès", last_name="Delmas")
    p.auditor = member(Role.AUDITOR, p.nord, username="dpo", first_name="Dora", last_name="Petit")
    p.recipient = member(Role.REFERENT, p.ccas, username="ccas", first_name="Cécile", last_name="Cas")

    p.file = BeneficiaryFactory(
        referent=p.referent,
        last_name="Zidane",
        first_name="Zoé",
        allocataire_number="2345678",
        birth_date=datetime.date(1985, 1, 31),
        phone="06 39 98 00 01",
        france_travail_id="FT123",
    )
    p.other_file = BeneficiaryFactory(
        referent=p.other, last_name="Xavier", first_name="Xena", allocataire_number="1112223"
    )
    return p


def share_with_recipient(personas: Personas) -> Share:
    """The referent shares the file with the CCAS's referent, personally: `personas.share`. The recipient
    then reads the file without being able to act on it."""
    personas.share = beneficiary_share(
        actor=personas.referent, beneficiary=personas.file, user=personas.recipient, reason="Relais CCAS"
    )
    personas.file.refresh_from_db()
    return personas.share
