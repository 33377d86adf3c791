"""Demo data for `manage.py seed_demo`: a small fictional Département du Nord (3 departments,
6 structures, 11 staff accounts) and a few hundred fictional RSA beneficiaries, each with a plausible
pathway (orientation, referents, contracts, steps, objectives, appointments, diagnostic, notes).

A handful of files tell the stories the permission rules are about (docs/permissions.md), so that a
demo can show each rule by signing in as the accounts concerned ("Stories" below): files shared with a
structure, a person and a department, a share that ended, files that moved between the MDS Nord and
the MDS Sud, an emergency access of the day, private, shared and sensitive notes, a sensitive
structure. The object permissions are then brought in step with the assignments, shares and emergency
accesses (casework.permissions.sync_grants), in the same transaction.

Everything is drawn from a fixed-seed random generator and dated relative to the day the seed runs,
so that the caseloads look alive whenever a demo is given. The seed is idempotent: departments,
structures and accounts are updated in place from their natural keys (code, username), and a
beneficiary whose (organism, allocataire number) already exists is left as it is, pathway included.

All people are fictional: names are drawn from lists, phone numbers from the range ARCEP keeps for
fiction (06 39 98 xx xx), e-mail addresses use the reserved example.* domains.
"""

import calendar
import datetime
import random
import unicodedata
from contextlib import contextmanager
from dataclasses import dataclass, field

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.db import models, transaction
from django.utils import timezone

from accounts.models import Department, Membership, Role, Structure, User
from casework.models import (
    Action,
    Appointment,
    Barrier,
    Beneficiary,
    Contract,
    Diagnostic,
    EmergencyAccess,
    HouseholdMember,
    Note,
    Objective,
    Orientation,
    ReferentAssignment,
    ReorientationRequest,
    Share,
    Step,
    SupportEndReason,
    Theme,
    search_key,
)
from casework.permissions import GrantDrift, sync_grants
from casework.services.common import files_refresh_contract_end, files_refresh_orientation
from team.models import CaseworkSettings

# Lille's INSEE code: any fixed value would do, this one is easy to recognise.
SEED = 59350

# The first-ever contrat d'engagement (loi pour le plein emploi) replaces the CER and the PPAE.
CONTRAT_ENGAGEMENT_SINCE = datetime.date(2025, 1, 1)


# --- Departments, structures, accounts --------------------------------------------------------


@dataclass(frozen=True)
class DemoDepartment:
    code: str
    name: str
    kind: str


@dataclass(frozen=True)
class DemoStructure:
    code: str
    name: str
    kind: str
    department_code: str | None
    commune: str
    is_sensitive: bool = False


@dataclass(frozen=True)
class DemoAccount:
    username: str
    first_name: str
    last_name: str
    role: str
    structure_code: str
    can_log_in: bool
    caseload: int = 0  # files this referent follows today


DEPARTMENTS = (
    DemoDepartment("insertion", "Direction de l'insertion", Department.Kind.INSERTION),
    DemoDepartment("action-sociale", "Direction de l'action sociale", Department.Kind.SOCIAL_ACTION),
    DemoDepartment("habitat-logement", "Direction de l'habitat et du logement", Department.Kind.HOUSING),
)

STRUCTURES = (
    DemoStructure("mds-nord", "MDS Nord", Structure.Kind.TERRITORIAL_UNIT, "action-sociale", "Roubaix"),
    DemoStructure("mds-sud", "MDS Sud", Structure.Kind.TERRITORIAL_UNIT, "action-sociale", "Douai"),
    DemoStructure("ft-roubaix", "France Travail Agence de Roubaix", Structure.Kind.FRANCE_TRAVAIL, None, "Roubaix"),
    DemoStructure("ccas-tourcoing", "CCAS de Tourcoing", Structure.Kind.CCAS, None, "Tourcoing"),
    # An association that supports people in addiction care: being followed there says something about
    # the person's health, so its name is shown only to its own people (« Structure partenaire » to others).
    DemoStructure(
        "trajectoires-insertion",
        "Association Trajectoires Insertion",
        Structure.Kind.ASSOCIATION,
        None,
        "Lille",
        is_sensitive=True,
    ),
    DemoStructure("service-insertion", "Service insertion", Structure.Kind.DEPARTMENT_SERVICE, "insertion", "Lille"),
)

ACCOUNTS = (
    # The six accounts one signs in with, in the order the summary lists them.
    DemoAccount("referente.nord", "Claire", "Vandamme", Role.REFERENT, "mds-nord", True, caseload=50),
    DemoAccount("referent.sud", "Karim", "Belkacem", Role.REFERENT, "mds-sud", True, caseload=48),
    DemoAccount("conseiller.ft", "Julien", "Lemaire", Role.REFERENT, "ft-roubaix", True, caseload=45),
    DemoAccount("superviseur.nord", "Sophie", "Delattre", Role.SUPERVISOR, "mds-nord", True),
    DemoAccount("admin.departement", "Nathalie", "Dubreucq", Role.DEPARTMENT_ADMIN, "service-insertion", True),
    DemoAccount("dpo", "François", "Leclercq", Role.AUDITOR, "service-insertion", True),
    # Colleagues without a password, so that caseloads and structures look real.
    DemoAccount("demo.referent.1", "Amandine", "Coulon", Role.REFERENT, "mds-nord", False, caseload=42),
    DemoAccount("demo.referent.2", "Mehdi", "Azzouz", Role.REFERENT, "mds-nord", False, caseload=36),
    DemoAccount("demo.referent.3", "Élodie", "Carpentier", Role.REFERENT, "mds-sud", False, caseload=44),
    DemoAccount("demo.referent.4", "Patricia", "Vasseur", Role.REFERENT, "ccas-tourcoing", False, caseload=22),
    DemoAccount(
        "demo.referent.5", "Thomas", "Hennebelle", Role.REFERENT, "trajectoires-insertion", False, caseload=18
    ),
)
LOGIN_ACCOUNTS = tuple(account for account in ACCOUNTS if account.can_log_in)
ACCOUNT_BY_USERNAME = {account.username: account for account in ACCOUNTS}
REFERENT_ACCOUNTS = tuple(account for account in ACCOUNTS if account.caseload)

# New entrants nobody follows yet: no orientation, no referent.
AWAITING_ORIENTATION_COUNT = 15
BENEFICIARY_COUNT = sum(account.caseload for account in ACCOUNTS) + AWAITING_ORIENTATION_COUNT

# New entrants already handed to a referent of the MDS Nord, not oriented yet: the earliest entries
# (past the orientation delay) and the latest (new to their referent). The others stay unassigned.
NEWCOMERS_LATE, NEWCOMERS_RECENT = 3, 2
NEWCOMER_REFERENTS = ("demo.referent.1", "demo.referent.2")
NEWCOMER_REASON = "Nouvel entrant : premier rendez-vous avant la décision d'orientation."

# Files of the MDS Nord oriented longer ago than the Département's contract delay whose first contract is
# still a draft, so that the supervisor's dashboard shows files oriented without a contract whatever the
# day of the seed: the first ordinary file of each of these referents, chosen without the generator. Their
# orientation was decided this many days beyond the delay (counted in days, as the delay is: "two months
# ago" would be 59 days after a February).
LATE_CONTRACT_REFERENTS = ("referente.nord", "demo.referent.2")
LATE_CONTRACT_DAYS_BEYOND = (5, 95)

# How a followed file has gone (the rest are ordinary, ongoing files).
FOLLOWED = "followed"
SUSPENDED = "suspended"  # rights suspended after an EP review
DORMANT_3M = "dormant_3m"  # nothing happened for 3 to 6 months
DORMANT_6M = "dormant_6m"  # nothing happened for more than 6 months
CLOSED = "closed"  # left RSA, support ended
PROFILE_COUNTS = {CLOSED: 12, SUSPENDED: 22, DORMANT_3M: 14, DORMANT_6M: 14}
# Files whose referent changed: within the structure, or with a reorientation to another structure.
COLLEAGUE_HANDOVER_COUNT = 14
REORIENTATION_COUNT = 6


# --- Stories: the permission rules, one file each (docs/permissions.md) ------------------------------
#
# Signed in as referente.nord and as referent.sud, one sees two disjoint caseloads; the only files both
# can open are those shared between them (the first, second and last shares below). superviseur.nord
# sees every file of the MDS Nord, including the emergency access of the day on one of them, but none
# of the sensitive notes. admin.departement reads the one file shared with the Direction de
# l'insertion; dpo reads none.

# The person moved house: (former referent, current referent, reason). The former referent no longer
# sees the file; its assignment history shows both.
TRANSFERS = (
    ("referente.nord", "referent.sud", "Déménagement dans le Douaisis : dossier transmis à la MDS Sud."),
    ("referent.sud", "referente.nord", "Déménagement à Roubaix : dossier transmis à la MDS Nord."),
)


@dataclass(frozen=True)
class StoryNote:
    """A note written on a story's file by the share's author, when the share starts."""

    body: str  # {civ} Mme/M., {nom} last name, {e} feminine agreement
    visibility: str
    is_sensitive: bool = False
    users: tuple[str, ...] = ()  # usernames
    structures: tuple[str, ...] = ()  # structure codes
    departments: tuple[str, ...] = ()  # department codes


@dataclass(frozen=True)
class ShareStory:
    """A file followed by `followed_by`, shared by `author` (its referent or their supervisor), as
    casework.services.beneficiary_share would, with exactly one of a person, a structure or a
    department."""

    followed_by: str
    author: str
    reason: str
    started_days_ago: int
    user: str | None = None
    structure: str | None = None
    department: str | None = None
    ends_in_days: int | None = None  # a planned end (ends_at), still to come
    ended_days_ago: int | None = None  # someone ended the share (ended_at, ended_by = author)
    notes: tuple[StoryNote, ...] = ()


SHARE_STORIES = (
    ShareStory(
        "referente.nord",
        "referente.nord",
        "Suivi conjoint avec la MDS Sud : la personne séjourne plusieurs mois chez sa sœur à Douai.",
        started_days_ago=45,
        structure="mds-sud",
        notes=(
            StoryNote(
                "Information de santé transmise à la MDS Sud avec l'accord de {civ} {nom} : des soins réguliers "
                "à Douai pendant son séjour. Prévoir les rendez-vous en dehors des jours de soins ; ne pas "
                "diffuser au-delà.",
                Note.Visibility.SHARED,
                is_sensitive=True,
                structures=("mds-sud",),
            ),
        ),
    ),
    ShareStory(
        "referente.nord",
        "referente.nord",
        "Relais le temps d'une formation à Douai : M. Belkacem reçoit la personne à la MDS Sud.",
        started_days_ago=10,
        user="referent.sud",
        ends_in_days=50,
        notes=(
            StoryNote(
                "{civ} {nom} m'a confié un suivi psychologique en cours ; information partagée uniquement avec "
                "M. Belkacem, qui assure le relais à Douai, pour adapter le rythme des rendez-vous.",
                Note.Visibility.SHARED,
                is_sensitive=True,
                users=("referent.sud",),
            ),
            StoryNote(
                "À revoir avec M. Belkacem à la fin du relais : reprise des rendez-vous à Roubaix et bilan de la "
                "formation.",
                Note.Visibility.PRIVATE,
            ),
        ),
    ),
    ShareStory(
        "referente.nord",
        "referente.nord",
        "Menace d'expulsion locative : examen de la situation par la Direction de l'habitat et du logement.",
        started_days_ago=20,
        department="habitat-logement",
        notes=(
            StoryNote(
                "Commandement de quitter les lieux reçu par {civ} {nom} le mois dernier (dette de loyer d'environ "
                "2 400 €). Information partagée avec la Direction de l'habitat et du logement pour une saisine du "
                "FSL maintien, avec l'accord de la personne.",
                Note.Visibility.SHARED,
                departments=("habitat-logement",),
            ),
        ),
    ),
    ShareStory(
        "referente.nord",
        "referente.nord",
        "Relais pendant le congé de la référente.",
        started_days_ago=75,
        user="referent.sud",
        ended_days_ago=12,
    ),
    ShareStory(
        "referente.nord",
        "superviseur.nord",
        "Absences répétées : avis de la Direction de l'insertion avant un éventuel passage en équipe "
        "pluridisciplinaire.",
        started_days_ago=6,
        department="insertion",
        ends_in_days=25,
        notes=(
            StoryNote(
                "Éléments transmis à la Direction de l'insertion pour la préparation du passage de {civ} {nom} en "
                "équipe pluridisciplinaire : trois rendez-vous manqués depuis le renouvellement du contrat.",
                Note.Visibility.SHARED,
                departments=("insertion",),
            ),
        ),
    ),
    ShareStory(
        "referent.sud",
        "referent.sud",
        "Avis de la MDS Nord sur un projet de formation à Roubaix, où la personne envisage de s'installer.",
        started_days_ago=30,
        user="referente.nord",
    ),
)


@dataclass(frozen=True)
class EmergencyStory:
    """An emergency access (accès exceptionnel) of the day, as casework.services.emergency_access_open
    records it, to a file of `followed_by`; its supervisors see it on the file."""

    followed_by: str
    user: str
    reason: str
    started_hours_ago: int


EMERGENCY_STORY = EmergencyStory(
    "referente.nord",
    "conseiller.ft",
    "La personne se présente à l'agence pour un entretien d'embauche prévu demain ; sa référente est absente "
    "aujourd'hui et il faut vérifier les engagements de son contrat.",
    started_hours_ago=4,
)
# A story's file has been followed by its referent for at least this long (its shares and notes come after).
STORY_FILE_MIN_AGE = datetime.timedelta(days=120)


# --- Places and people ---------------------------------------------------------------------------


def _names(text: str) -> tuple[str, ...]:
    return tuple(text.split(", "))


@dataclass(frozen=True)
class Commune:
    name: str
    postcode: str
    insee_code: str


LILLE = Commune("Lille", "59000", "59350")
ROUBAIX = Commune("Roubaix", "59100", "59512")
TOURCOING = Commune("Tourcoing", "59200", "59599")
VILLENEUVE_D_ASCQ = Commune("Villeneuve-d'Ascq", "59650", "59009")
WATTRELOS = Commune("Wattrelos", "59150", "59650")
CROIX = Commune("Croix", "59170", "59163")
HEM = Commune("Hem", "59510", "59299")
ARMENTIERES = Commune("Armentières", "59280", "59017")
DUNKERQUE = Commune("Dunkerque", "59140", "59183")
GRANDE_SYNTHE = Commune("Grande-Synthe", "59760", "59271")
DOUAI = Commune("Douai", "59500", "59178")
VALENCIENNES = Commune("Valenciennes", "59300", "59606")
CAMBRAI = Commune("Cambrai", "59400", "59122")
MAUBEUGE = Commune("Maubeuge", "59600", "59392")

COMMUNES_BY_STRUCTURE = {
    "mds-nord": (ROUBAIX, ROUBAIX, TOURCOING, WATTRELOS, CROIX, HEM, ARMENTIERES, DUNKERQUE, GRANDE_SYNTHE),
    "mds-sud": (DOUAI, DOUAI, VALENCIENNES, VALENCIENNES, CAMBRAI, MAUBEUGE),
    "ft-roubaix": (ROUBAIX, ROUBAIX, TOURCOING, WATTRELOS, CROIX, HEM),
    "ccas-tourcoing": (TOURCOING,),
    "trajectoires-insertion": (LILLE, LILLE, VILLENEUVE_D_ASCQ, ARMENTIERES),
}
ALL_COMMUNES = (
    LILLE,
    ROUBAIX,
    TOURCOING,
    VILLENEUVE_D_ASCQ,
    WATTRELOS,
    CROIX,
    HEM,
    ARMENTIERES,
    DUNKERQUE,
    GRANDE_SYNTHE,
    DOUAI,
    VALENCIENNES,
    CAMBRAI,
    MAUBEUGE,
)

STREETS = _names(
    "rue Jean Jaurès, avenue de la République, rue Victor Hugo, rue Pasteur, boulevard Gambetta, "
    "rue du Général de Gaulle, rue Émile Zola, rue de la Gare, rue Roger Salengro, allée des Tilleuls, "
    "rue des Écoles, rue Jules Guesde, place de la Liberté, rue Pierre Brossolette, rue du Moulin, "
    "rue Louise Michel, avenue Jean Lebas, rue de Lannoy, rue des Arts, cité des Mineurs"
)
ADDRESS_COMPLEMENTS = ("", "", "", "", "appartement 12", "bâtiment B, appartement 4", "résidence Les Peupliers")

FEMALE_FIRST_NAMES = _names(
    "Marie, Nathalie, Isabelle, Sylvie, Sandrine, Céline, Aurélie, Émilie, Julie, Camille, Léa, Chloé, "
    "Manon, Inès, Sarah, Hélène, Fatima, Amina, Yasmina, Nadia, Samira, Aïcha, Fatoumata, Mariama, "
    "Océane, Laëtitia, Stéphanie, Virginie, Jessica, Mélanie, Ludivine, Agnieszka, Ana, Ngoc Lan"
)
MALE_FIRST_NAMES = _names(
    "Jean, Pierre, Michel, Philippe, Thierry, Laurent, David, Nicolas, Sébastien, Julien, Kévin, "
    "Anthony, Dylan, Maxime, Lucas, Théo, Jérôme, Benoît, François, Frédéric, Mohamed, Karim, Rachid, "
    "Mehdi, Youssef, Bilal, Mamadou, Moussa, Sofiane, Grégory, Cédric, Loïc, Rémi, Joaquim"
)
CHILD_FIRST_NAMES = {
    Beneficiary.Sex.FEMALE: ("Lina", "Jade", "Louise", "Mila", "Ambre", "Emma", "Nour", "Rose", "Maëlys", "Aya"),
    Beneficiary.Sex.MALE: ("Nolan", "Adam", "Rayan", "Noah", "Gabriel", "Enzo", "Ilyès", "Timéo", "Sacha", "Aylan"),
}
SURNAMES = _names(
    "Martin, Bernard, Dubois, Thomas, Robert, Petit, Durand, Leroy, Moreau, Simon, Laurent, Lefèvre, "
    "Lefebvre, Michel, Garcia, Bertrand, Roux, Fournier, Morel, Girard, Mercier, Dupont, Lambert, "
    "Bonnet, Legrand, Garnier, Rousseau, Guérin, Müller, Roussel, Perrin, Mathieu, Clément, Fontaine, "
    "Chevalier, Masson, Gérard, Nguyen, Denis, Lemaire, Duval, Noël, Meunier, Pérez, Marchand, Dufour, "
    "Barbier, Brûlé, Deprez, Vandenbussche, Vanhoutte, Lecomte, Delcroix, Caron, Desmet, Dewaele, "
    "Delmotte, Lefranc, Wallart, Vercruysse, Benali, Haddad, Bouzid, Meziane, Saïdi, Diallo, Traoré, "
    "Cissé, Mendy, Kowalski, Nowak, Da Silva, Pereira, Ferreira, Yilmaz, Kaya, Tran, Lê, Hoarau, "
    "Sénéchal"
)
FRANCE_TRAVAIL_ID_LETTERS = "ABCDEFGHJKLMNPRSTUVWXYZ"
EMAIL_DOMAINS = ("example.org", "example.com", "example.net")


# --- Words of the pathway --------------------------------------------------------------------------

FIRST_ASSIGNMENT_REASON = "Désignation à la suite de la décision d'orientation."
HANDOVER_REASONS = (
    "Rééquilibrage des portefeuilles de l'équipe.",
    "Départ en congé maternité de la référente ; relais assuré par un·e collègue.",
    "Changement de secteur géographique au sein de l'équipe.",
    "À la demande de la personne accompagnée (changement de référent·e).",
)
REORIENTATION_REASON = "Réorientation après avis de l'équipe pluridisciplinaire."

ORIENTATION_REASONS = {
    Orientation.Track.PROFESSIONAL: "Projet professionnel défini, pas de frein périphérique majeur.",
    Orientation.Track.SOCIAL: "Freins sociaux importants (logement, santé, famille) à lever avant tout emploi.",
    Orientation.Track.SOCIO_PROFESSIONAL: "Projet professionnel à construire en parallèle de la levée des freins.",
}

STEP_DONE_OUTCOMES = {
    Step.Kind.FIRST_APPOINTMENT: (
        "Premier entretien réalisé : présentation de l'accompagnement, des droits et des devoirs.",
        "Entretien d'accueil : situation familiale et ressources faites, dossier complété.",
        "Premier rendez-vous honoré ; la personne est venue avec son dernier courrier de la CAF.",
    ),
    Step.Kind.DIAGNOSTIC: (
        "Diagnostic socio-professionnel réalisé ; freins identifiés et priorisés avec la personne.",
        "Diagnostic réalisé en deux entretiens ; projet professionnel à construire.",
        "Diagnostic partagé avec la personne, qui valide les priorités retenues.",
    ),
    Step.Kind.TRAINING: (
        "Entrée en formation pré-qualifiante « Agent de propreté et d'hygiène » (12 semaines).",
        "CACES R489 obtenu à l'issue de la formation.",
        "Atelier de remise à niveau en français suivi à raison de 6 h par semaine.",
        "Information collective « Assistant·e de vie aux familles » : inscription validée.",
    ),
    Step.Kind.EMPLOYMENT: (
        "Reprise d'emploi : CDD de 6 mois comme agent de quai (24 h par semaine).",
        "Missions d'intérim en préparation de commandes, renouvelées chaque semaine.",
        "Embauche en CDI à temps partiel comme aide à domicile.",
        "Contrat à durée déterminée d'insertion en atelier chantier d'insertion, 26 h par semaine.",
    ),
    Step.Kind.INTERNSHIP: (
        "Immersion professionnelle (PMSMP) de deux semaines en EHPAD, bilan positif.",
        "Stage de découverte en boulangerie : l'intérêt pour le métier se confirme.",
        "PMSMP en entreprise de logistique ; entretien d'embauche proposé à l'issue.",
    ),
    Step.Kind.HOUSING: (
        "Demande de logement social déposée, numéro unique obtenu.",
        "Dossier FSL accès constitué (dépôt de garantie et premier loyer).",
        "Accompagnement à l'installation dans le nouveau logement (ouverture des compteurs).",
    ),
    # Health steps stay factual: details belong in restricted notes.
    Step.Kind.HEALTH: (
        "Bilan de santé réalisé au centre d'examens de santé de la CPAM.",
        "Droits à la complémentaire santé solidaire ouverts.",
        "Démarche de soins engagée ; précisions dans une note restreinte.",
    ),
    Step.Kind.MOBILITY: (
        "Aide au permis de conduire accordée (financement partiel par le Département).",
        "Location d'un scooter par la plateforme mobilité pour trois mois.",
        "Code de la route obtenu à l'auto-école sociale.",
    ),
    Step.Kind.EP_REVIEW: (
        "Avis de l'équipe pluridisciplinaire : maintien de l'orientation, rappel des engagements du contrat.",
    ),
    Step.Kind.OTHER: (
        "Dossier de surendettement déposé auprès de la Banque de France.",
        "Aide au renouvellement du titre de séjour : dossier complet déposé en préfecture.",
        "Ouverture d'un compte bancaire accompagnée (procédure de droit au compte).",
        "Atelier numérique : espace personnel France Travail et messagerie créés.",
    ),
}
STEP_MISSED_OUTCOMES = (
    "Absence non excusée ; courrier de relance envoyé.",
    "La personne ne s'est pas présentée ; appel sans réponse.",
    "Absence ; message laissé, nouveau rendez-vous proposé par courrier.",
)
STEP_CANCELLED_OUTCOMES = (
    "Annulé à la demande de la personne (garde d'enfant).",
    "Reporté à l'initiative de la structure.",
    "Annulé : la personne a repris un emploi entre-temps.",
)
SANCTION_OUTCOME = (
    "Avis de l'équipe pluridisciplinaire : suspension partielle de l'allocation "
    "(engagements du contrat non respectés, absences répétées)."
)
REORIENTATION_EP_OUTCOME = "Avis favorable de l'équipe pluridisciplinaire à une réorientation."
EXIT_OUTCOMES = (
    "Sortie du RSA : reprise d'emploi en CDI à temps plein.",
    "Sortie du RSA : ouverture des droits à l'allocation aux adultes handicapés.",
    "Sortie du RSA : déménagement hors du département, dossier transmis.",
    "Sortie du RSA : ressources du foyer au-dessus du plafond (reprise d'activité du conjoint).",
)
EXTRA_STEP_KINDS = (Step.Kind.TRAINING, Step.Kind.EMPLOYMENT, Step.Kind.INTERNSHIP, Step.Kind.OTHER)

APPOINTMENT_PURPOSES = (
    "Entretien de suivi",
    "Entretien de suivi",
    "Point sur la recherche d'emploi",
    "Point sur le budget",
    "Bilan d'étape du contrat",
    "Préparation d'une immersion",
)

EDUCATION_LEVELS = (
    Diagnostic.EducationLevel.NONE,
    Diagnostic.EducationLevel.NONE,
    Diagnostic.EducationLevel.LEVEL_3,
    Diagnostic.EducationLevel.LEVEL_3,
    Diagnostic.EducationLevel.LEVEL_4,
    Diagnostic.EducationLevel.LEVEL_5,
    Diagnostic.EducationLevel.LEVEL_6_PLUS,
)
SITUATIONS = (
    "Personne seule, hébergée chez un tiers depuis une séparation ; sans véhicule.",
    "Parent isolé de deux enfants en logement social ; recherche un emploi compatible avec les horaires d'école.",
    "Couple avec trois enfants ; le conjoint travaille en intérim de façon irrégulière.",
    "Ancien·ne salarié·e du bâtiment après un arrêt prolongé ; souhaite une reconversion.",
    "Arrivée récente dans le département ; démarches administratives à reprendre.",
    "Jeune parent sorti du système scolaire sans diplôme.",
    "Plus de 55 ans, longue période sans emploi après un licenciement économique.",
    "Sortie récente d'un emploi saisonnier ; pas de droits au chômage ouverts.",
)
QUALIFICATIONS = (
    "",
    "",
    "CAP cuisine",
    "BEP vente",
    "Bac professionnel logistique",
    "CACES 1, 3 et 5 (à recycler)",
    "Titre professionnel agent·e de propreté et d'hygiène",
    "BTS assistant de manager",
    "Diplôme étranger non reconnu (licence en gestion)",
)
WORK_EXPERIENCES = (
    "Dix ans de préparation de commandes en intérim.",
    "Aide à domicile pendant quatre ans ; emploi perdu après un déménagement.",
    "Service en restauration rapide, contrats courts.",
    "Ouvrier·e du textile jusqu'à la fermeture de l'usine.",
    "Aucune expérience professionnelle déclarée.",
    "Agent·e d'entretien en collectivité, en contrats aidés.",
    "Caissier·e en grande surface pendant six ans.",
)
BARRIER_COMMENTS = {
    Barrier.Kind.HOUSING: ("Hébergement chez un tiers.", "Impayés de loyer depuis trois mois.", "Logement suroccupé."),
    Barrier.Kind.MOBILITY: ("Pas de permis de conduire.", "Commune mal desservie.", "Pas de véhicule."),
    Barrier.Kind.HEALTH: ("Limitations physiques (précisions en note restreinte).", "Suivi de soins en cours."),
    Barrier.Kind.CHILDCARE: ("Deux enfants de moins de trois ans, pas de mode de garde.", "En attente d'une crèche."),
    Barrier.Kind.FINANCES: ("Dettes de loyer et d'énergie.", "Dossier de surendettement à constituer."),
    Barrier.Kind.LANGUAGE: ("Français oral correct, difficultés à l'écrit.", "Besoin d'un parcours de français."),
    Barrier.Kind.DIGITAL: ("Pas d'ordinateur ni d'adresse électronique.", "Démarches en ligne difficiles."),
    Barrier.Kind.ADMINISTRATIVE: ("Titre de séjour à renouveler.", "Déclarations trimestrielles non faites."),
}
THEME_OF_BARRIER = {
    Barrier.Kind.HOUSING: Theme.HOUSING,
    Barrier.Kind.MOBILITY: Theme.MOBILITY,
    Barrier.Kind.HEALTH: Theme.HEALTH,
    Barrier.Kind.CHILDCARE: Theme.FAMILY,
    Barrier.Kind.FINANCES: Theme.FINANCES,
    Barrier.Kind.LANGUAGE: Theme.TRAINING,
    Barrier.Kind.DIGITAL: Theme.OTHER,
    Barrier.Kind.ADMINISTRATIVE: Theme.OTHER,
}
STEP_KIND_OF_BARRIER = {
    Barrier.Kind.HOUSING: Step.Kind.HOUSING,
    Barrier.Kind.HEALTH: Step.Kind.HEALTH,
    Barrier.Kind.MOBILITY: Step.Kind.MOBILITY,
}
OBJECTIVES = {
    Theme.EMPLOYMENT: (
        (
            "Retrouver un emploi dans la logistique",
            ("Mettre à jour le CV", "Postuler à cinq offres par mois", "Participer au job dating du Département"),
        ),
        (
            "Accéder à un emploi dans l'aide à domicile",
            ("Faire une immersion en structure d'aide à domicile", "Candidater auprès de trois employeurs"),
        ),
        (
            "Reprendre une activité en structure d'insertion",
            ("Rencontrer le chantier d'insertion", "Faire valider l'éligibilité à l'IAE"),
        ),
    ),
    Theme.TRAINING: (
        (
            "Obtenir un titre professionnel",
            ("Assister à l'information collective de l'organisme de formation", "Monter le dossier de financement"),
        ),
        ("Améliorer la maîtrise du français écrit", ("Suivre l'atelier sociolinguistique deux fois par semaine",)),
    ),
    Theme.HOUSING: (
        ("Accéder à un logement autonome", ("Déposer une demande de logement social", "Constituer le dossier FSL")),
        (
            "Résorber la dette de loyer",
            ("Négocier un plan d'apurement avec le bailleur", "Solliciter le FSL maintien"),
        ),
    ),
    Theme.HEALTH: (
        (
            "Engager une démarche de soins",
            ("Prendre rendez-vous au centre d'examens de santé", "Demander la complémentaire santé solidaire"),
        ),
    ),
    Theme.MOBILITY: (
        ("Obtenir le permis de conduire", ("S'inscrire à l'auto-école sociale", "Demander l'aide au permis")),
        ("Se déplacer vers les zones d'emploi", ("Obtenir la carte de transport solidaire",)),
    ),
    Theme.FAMILY: (
        (
            "Trouver un mode de garde",
            ("Demander une place en crèche à vocation d'insertion", "Rencontrer le relais petite enfance"),
        ),
    ),
    Theme.FINANCES: (
        (
            "Stabiliser le budget du foyer",
            ("Participer à l'atelier budget", "Constituer le dossier de surendettement"),
        ),
    ),
    Theme.OTHER: (
        (
            "Régulariser la situation administrative",
            ("Renouveler la pièce d'identité", "Mettre à jour la déclaration trimestrielle de ressources"),
        ),
        ("Gagner en autonomie numérique", ("Suivre l'atelier numérique", "Créer une adresse électronique")),
    ),
}

# Notes: {civ} Mme/M., {nom} last name, {e} feminine agreement.
FOLLOWER_NOTES = (
    "Entretien de suivi avec {civ} {nom} : les démarches prévues au contrat avancent. CV mis à jour ensemble, "
    "deux candidatures envoyées cette semaine.",
    "{civ} {nom} a participé à l'information collective sur les métiers de l'aide à la personne. Intérêt confirmé ; "
    "une immersion lui sera proposée.",
    "Point téléphonique : {civ} {nom} attend la réponse de l'organisme de formation. Prochain rendez-vous fixé pour "
    "faire le point.",
    "Contrat relu avec {civ} {nom} ; les objectifs restent d'actualité. La mobilité reste le principal obstacle à la "
    "reprise d'un emploi.",
    "{civ} {nom} signale un changement d'adresse ; la déclaration a été faite auprès de la CAF pendant l'entretien.",
    "Bilan intermédiaire : {civ} {nom} vient régulièrement aux rendez-vous et a passé trois entretiens d'embauche "
    "ce mois-ci.",
    "Relance par courrier après deux absences. {civ} {nom} a rappelé et explique des difficultés de garde ; nouveau "
    "rendez-vous proposé en fin de matinée.",
    "Atelier numérique : {civ} {nom} a créé son espace personnel France Travail avec l'aide de la médiatrice.",
    "{civ} {nom} est satisfait{e} de l'immersion réalisée ; l'employeur envisage un contrat à la rentrée.",
)
PRIVATE_NOTES = (
    "À préparer pour le prochain entretien : simulation des droits en cas de reprise à temps partiel (prime "
    "d'activité).",
    "Penser à vérifier la date de fin du contrat et à proposer le renouvellement avant l'échéance.",
    "{civ} {nom} m'a paru découragé{e} lors de l'entretien ; à reprendre avec tact la prochaine fois.",
    "Me renseigner sur les places disponibles en chantier d'insertion sur le secteur avant le prochain rendez-vous.",
)
DEPARTMENT_NOTES = {
    "habitat-logement": (
        "Logement : {civ} {nom} est hébergé{e} chez un tiers depuis plusieurs mois. Demande de logement social "
        "déposée ; information partagée pour un examen en commission.",
        "Dette de loyer d'environ 1 800 € ; un plan d'apurement est à négocier avec le bailleur. Information "
        "partagée en vue d'une aide du FSL maintien.",
    ),
    "action-sociale": (
        "Situation familiale fragile depuis une séparation récente ; une évaluation par l'assistante sociale de "
        "secteur est souhaitée, avec l'accord de {civ} {nom}.",
    ),
    "insertion": (
        "Éléments transmis à la Direction de l'insertion pour la préparation du passage de {civ} {nom} en équipe "
        "pluridisciplinaire.",
    ),
}
STRUCTURE_NOTES = {
    Structure.Kind.FRANCE_TRAVAIL: (
        "Échange avec le conseiller France Travail : la candidature de {civ} {nom} à la formation est validée, "
        "financement en cours.",
    ),
    Structure.Kind.CCAS: (
        "Aide facultative demandée au CCAS pour une facture d'énergie ; dossier transmis avec l'accord de "
        "{civ} {nom}.",
    ),
    Structure.Kind.ASSOCIATION: (
        "{civ} {nom} est orienté{e} vers l'association pour l'atelier de remobilisation ; éléments utiles transmis.",
    ),
    Structure.Kind.TERRITORIAL_UNIT: (
        "Coordination avec la MDS : un accompagnement budgétaire par la conseillère en économie sociale et familiale "
        "est proposé à {civ} {nom}.",
    ),
}
SENSITIVE_NOTES = (
    "Information de santé confiée par {civ} {nom}, avec son accord pour la partager avec l'équipe : suivi médical "
    "en cours qui limite les efforts physiques. À prendre en compte dans le choix des offres ; ne pas diffuser "
    "au-delà.",
    "{civ} {nom} évoque un suivi en centre médico-psychologique. Les rendez-vous de soins priment sur les démarches "
    "d'insertion pendant cette période.",
    "Demande de reconnaissance de la qualité de travailleur handicapé en cours d'instruction à la MDPH ; une "
    "orientation vers Cap emploi sera envisagée à la décision.",
    "Hospitalisation signalée par la famille ; rendez-vous suspendus jusqu'au retour de {civ} {nom}.",
)
SUPERVISOR_NOTES = (
    "Dossier évoqué en réunion d'équipe : le parcours avance, renouvellement du contrat à préparer.",
    "Point en réunion d'équipe : peu de contacts ces dernières semaines, relance à prévoir.",
)


# --- Dates -------------------------------------------------------------------------------------------


def _at(day: datetime.date, hour: int, minute: int = 0) -> datetime.datetime:
    """An aware datetime in the project's time zone (zoneinfo handles summer time)."""
    return datetime.datetime.combine(day, datetime.time(hour, minute), tzinfo=timezone.get_current_timezone())


def _add_months(day: datetime.date, months: int) -> datetime.date:
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return day.replace(year=year, month=month, day=min(day.day, calendar.monthrange(year, month)[1]))


def _workday(day: datetime.date, *, latest: datetime.date | None = None) -> datetime.date:
    """The day, or the next Monday for a weekend day (the previous Friday if that passes `latest`)."""
    if day.weekday() < 5:
        return day
    monday = day + datetime.timedelta(days=7 - day.weekday())
    if latest is None or monday <= latest:
        return monday
    return day - datetime.timedelta(days=day.weekday() - 4)


def _ascii(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()


def _note_words(beneficiary: Beneficiary) -> dict[str, str]:
    """The words a note template leaves open: {civ} Mme/M., {nom} last name, {e} feminine agreement."""
    female = beneficiary.sex == Beneficiary.Sex.FEMALE
    return {"civ": "Mme" if female else "M.", "nom": beneficiary.last_name, "e": "e" if female else ""}


# --- The plan: unsaved objects, grouped by file ----------------------------------------------------


@dataclass
class _Move:
    """The file was followed by someone else before its current referent."""

    referent: User
    structure: Structure
    track: str
    reorientation: bool
    reason: str


@dataclass
class _File:
    """One beneficiary and everything their file holds, not saved yet."""

    beneficiary: Beneficiary
    created_at: datetime.datetime
    profile: str = FOLLOWED
    assignments: list[ReferentAssignment] = field(default_factory=list)  # oldest first
    household: list[HouseholdMember] = field(default_factory=list)
    orientations: list[Orientation] = field(default_factory=list)
    contracts: list[Contract] = field(default_factory=list)  # in chain order: a renewal after what it renews
    diagnostics: list[Diagnostic] = field(default_factory=list)
    barriers: list[Barrier] = field(default_factory=list)
    objectives: list[Objective] = field(default_factory=list)
    actions: list[Action] = field(default_factory=list)
    steps: list[Step] = field(default_factory=list)
    appointments: list[Appointment] = field(default_factory=list)
    notes: list[Note] = field(default_factory=list)
    note_departments: list[tuple[Note, Department]] = field(default_factory=list)
    note_structures: list[tuple[Note, Structure]] = field(default_factory=list)
    note_users: list[tuple[Note, User]] = field(default_factory=list)
    shares: list[Share] = field(default_factory=list)
    emergency_accesses: list[EmergencyAccess] = field(default_factory=list)
    late_contract: bool = False  # oriented longer ago than the contract delay, first contract still a draft
    # When each object was entered: created_at is backdated after the bulk inserts.
    entered_at: list[tuple[models.Model, datetime.datetime]] = field(default_factory=list)
    last_activity: datetime.datetime | None = None

    def touch(self, when: datetime.datetime) -> None:
        if self.last_activity is None or when > self.last_activity:
            self.last_activity = when


class _Planner:
    """Draws the whole data set from one random generator, in a fixed order, so that a rerun draws
    the same people (the database is only read for the accounts, the structures and the Département's
    contract delay)."""

    def __init__(
        self, *, structures: dict[str, Structure], departments: dict[str, Department], users: dict[str, User]
    ):
        self.rng = random.Random(SEED)  # noqa: S311 - demo data, not security
        self.now = timezone.now()
        self.today = timezone.localdate()
        self.yesterday = self.today - datetime.timedelta(days=1)
        self.contract_delay_days = CaseworkSettings.current().contract_delay_days
        self.structures = structures
        self.departments = departments
        self.users = users
        # The files' natural keys come first from the generator: a rerun checks them before planning.
        numbers = self.rng.sample(range(1_000_000, 10_000_000), BENEFICIARY_COUNT)
        self.keys = [
            (Beneficiary.Organism.MSA if self.rng.random() < 0.08 else Beneficiary.Organism.CAF, str(number))
            for number in numbers
        ]
        self.decider = users["admin.departement"]
        self.supervisor = users["superviseur.nord"]
        self.decider_structure = structures["service-insertion"]

    # Helpers on the generator.

    def _days_ago(self, low: int, high: int) -> datetime.date:
        return self.today - datetime.timedelta(days=self.rng.randint(low, high))

    def _between(self, start: datetime.date, end: datetime.date) -> datetime.date:
        if end <= start:
            return start
        return start + datetime.timedelta(days=self.rng.randint(0, (end - start).days))

    def _office_time(self, day: datetime.date) -> datetime.datetime:
        return _at(day, self.rng.choice((9, 10, 11, 14, 15, 16)), self.rng.choice((0, 30)))

    def _entered(self, file: _File, obj: models.Model, when: datetime.datetime) -> None:
        file.entered_at.append((obj, min(when, self.now)))

    # The data set.

    def plan(self) -> list[_File]:
        rng = self.rng
        slots = [
            (self.users[account.username], self.structures[account.structure_code])
            for account in REFERENT_ACCOUNTS
            for _ in range(account.caseload)
        ]
        rng.shuffle(slots)
        profiles = [profile for profile, count in PROFILE_COUNTS.items() for _ in range(count)]
        profiles += [FOLLOWED] * (len(slots) - len(profiles))
        rng.shuffle(profiles)
        moves = self._plan_moves(slots, profiles)
        late_contracts = self._plan_late_contracts(slots, profiles, moves)

        files = [
            self._followed_file(
                self.keys[index], referent, structure, profiles[index], moves.get(index), index in late_contracts
            )
            for index, (referent, structure) in enumerate(slots)
        ]
        self._plan_stories(files)
        files += [self._awaiting_file(key) for key in self.keys[len(slots) :]]
        self._plan_newcomers(files[len(slots) :])
        return files

    def _plan_newcomers(self, awaiting: list[_File]) -> None:
        """A few new entrants were handed by the MDS Nord's supervisor to a referent for a first meeting
        before the orientation decision: the supervisor's dashboard shows files new to their referent and
        files awaiting orientation, some past the Département's delay. Chosen by entry date, without the
        generator, so that the rest of the data set stays as it was."""
        by_entry = sorted(
            awaiting, key=lambda file: (file.beneficiary.rsa_entry_date, file.beneficiary.allocataire_number)
        )
        chosen = by_entry[:NEWCOMERS_LATE] + by_entry[len(by_entry) - NEWCOMERS_RECENT :]
        for position, file in enumerate(chosen):
            referent = self.users[NEWCOMER_REFERENTS[position % len(NEWCOMER_REFERENTS)]]
            when = min(file.created_at + datetime.timedelta(days=1), self.now - datetime.timedelta(hours=1))
            self._assign(file, referent, self.structures["mds-nord"], when, NEWCOMER_REASON, self.supervisor)

    def _plan_late_contracts(self, slots, profiles, moves: dict[int, _Move]) -> set[int]:
        """The files oriented without a contract past the delay (LATE_CONTRACT_REFERENTS): the first
        ordinary file (followed, never moved) of each referent in the plan's order."""
        late = set()
        for username in LATE_CONTRACT_REFERENTS:
            late.add(
                next(
                    index
                    for index, (referent, _) in enumerate(slots)
                    if referent.username == username and profiles[index] == FOLLOWED and index not in moves
                )
            )
        return late

    def _plan_moves(self, slots, profiles) -> dict[int, _Move]:
        """Pick the files whose referent changed, and who followed them before."""
        rng = self.rng
        moves: dict[int, _Move] = {}
        colleagues: dict[str, list[User]] = {}
        for account in REFERENT_ACCOUNTS:
            colleagues.setdefault(account.structure_code, []).append(self.users[account.username])

        handovers = [
            index
            for index, (_, structure) in enumerate(slots)
            if structure.code in ("mds-nord", "mds-sud") and profiles[index] != CLOSED
        ]
        for index in rng.sample(handovers, COLLEAGUE_HANDOVER_COUNT):
            referent, structure = slots[index]
            previous = rng.choice([user for user in colleagues[structure.code] if user != referent])
            moves[index] = _Move(previous, structure, "", reorientation=False, reason=rng.choice(HANDOVER_REASONS))

        reorientations = [
            index
            for index, (_, structure) in enumerate(slots)
            if structure.code in ("mds-nord", "ft-roubaix") and profiles[index] != CLOSED and index not in moves
        ]
        for index in rng.sample(reorientations, REORIENTATION_COUNT):
            _, structure = slots[index]
            if structure.code == "ft-roubaix":
                # Followed socially by the MDS, then ready for a job search with France Travail.
                previous = rng.choice(colleagues["mds-nord"])
                moves[index] = _Move(
                    previous, self.structures["mds-nord"], Orientation.Track.SOCIAL, True, REORIENTATION_REASON
                )
            else:
                # Followed by France Travail, then social barriers came first.
                moves[index] = _Move(
                    self.users["conseiller.ft"],
                    self.structures["ft-roubaix"],
                    Orientation.Track.PROFESSIONAL,
                    True,
                    REORIENTATION_REASON,
                )

        # The person moved house: the file went from one named referent's MDS to the other's.
        for previous, current, reason in TRANSFERS:
            index = rng.choice(
                [
                    index
                    for index, (referent, _) in enumerate(slots)
                    if referent.username == current and profiles[index] == FOLLOWED and index not in moves
                ]
            )
            previous_structure = self.structures[ACCOUNT_BY_USERNAME[previous].structure_code]
            moves[index] = _Move(self.users[previous], previous_structure, "", reorientation=False, reason=reason)
        return moves

    # Identity.

    def _person(self, key: tuple[str, str], commune: Commune) -> Beneficiary:
        rng = self.rng
        sex = Beneficiary.Sex.FEMALE if rng.random() < 0.56 else Beneficiary.Sex.MALE
        first_name = rng.choice(FEMALE_FIRST_NAMES if sex == Beneficiary.Sex.FEMALE else MALE_FIRST_NAMES)
        last_name = rng.choice(SURNAMES)
        if rng.random() < 0.1:
            age_days = rng.randint(18 * 365 + 5, 25 * 365)
        else:
            age_days = rng.randint(25 * 365, 64 * 365 - 5)
        email = ""
        if rng.random() < 0.45:
            local = _ascii(f"{first_name}.{last_name}").lower().replace(" ", "").replace("'", "")
            email = f"{local}{rng.choice(('', '', rng.randint(1, 99)))}@{rng.choice(EMAIL_DOMAINS)}"
        complement = rng.choice(ADDRESS_COMPLEMENTS)
        address = f"{rng.randint(1, 180)} {rng.choice(STREETS)}" + (f", {complement}" if complement else "")
        return Beneficiary(
            organism=key[0],
            allocataire_number=key[1],
            first_name=first_name,
            last_name=last_name,
            birth_date=self.today - datetime.timedelta(days=age_days),
            sex=sex,
            address_line=address,
            postcode=commune.postcode,
            commune=commune.name,
            insee_code=commune.insee_code,
            phone=f"06 39 98 {rng.randint(0, 99):02d} {rng.randint(0, 99):02d}" if rng.random() < 0.9 else "",
            email=email,
            rsa_status=Beneficiary.RsaStatus.OPEN,
            sdd=True,
        )

    def _france_travail_id(self) -> str:
        return f"{self.rng.randint(1_000_000, 9_999_999)}{self.rng.choice(FRANCE_TRAVAIL_ID_LETTERS)}"

    def _household(self, file: _File) -> None:
        rng = self.rng
        beneficiary = file.beneficiary
        if rng.random() >= 0.4:
            return
        age = (self.today - beneficiary.birth_date).days // 365
        members = []
        if age >= 20 and rng.random() < 0.5:
            spouse_sex = Beneficiary.Sex.MALE if beneficiary.sex == Beneficiary.Sex.FEMALE else Beneficiary.Sex.FEMALE
            members.append(
                HouseholdMember(
                    beneficiary=beneficiary,
                    relationship=HouseholdMember.Relationship.SPOUSE,
                    first_name=rng.choice(
                        FEMALE_FIRST_NAMES if spouse_sex == Beneficiary.Sex.FEMALE else MALE_FIRST_NAMES
                    ),
                    last_name=beneficiary.last_name,
                    birth_date=beneficiary.birth_date + datetime.timedelta(days=rng.randint(-2000, 2000)),
                    is_dependent=False,
                )
            )
            if beneficiary.sex == Beneficiary.Sex.FEMALE and rng.random() < 0.4:
                beneficiary.birth_name = rng.choice(SURNAMES)
        # Children born when the parent was 18 or older, at most 20 years ago.
        oldest_child_days = min(20 * 365, (age - 18) * 365)
        children = rng.randint(1 if not members else 0, 3) if oldest_child_days > 200 else 0
        for _ in range(children):
            child_sex = rng.choice((Beneficiary.Sex.FEMALE, Beneficiary.Sex.MALE))
            members.append(
                HouseholdMember(
                    beneficiary=beneficiary,
                    relationship=HouseholdMember.Relationship.CHILD,
                    first_name=rng.choice(CHILD_FIRST_NAMES[child_sex]),
                    last_name=beneficiary.last_name,
                    birth_date=self.today - datetime.timedelta(days=rng.randint(60, oldest_child_days)),
                    is_dependent=True,
                )
            )
        if rng.random() < 0.05:
            members.append(
                HouseholdMember(
                    beneficiary=beneficiary,
                    relationship=HouseholdMember.Relationship.OTHER,
                    first_name=rng.choice(MALE_FIRST_NAMES),
                    last_name=rng.choice(SURNAMES),
                    birth_date=self.today - datetime.timedelta(days=rng.randint(16 * 365, 19 * 365)),
                    is_dependent=True,
                )
            )
        file.household.extend(members)

    # Files.

    def _awaiting_file(self, key: tuple[str, str]) -> _File:
        """A new entrant: rights open, nobody has oriented or met them yet."""
        rng = self.rng
        beneficiary = self._person(key, rng.choice(ALL_COMMUNES))
        entry = self._days_ago(5, 50)
        beneficiary.rsa_entry_date = beneficiary.rsa_status_date = entry
        if rng.random() < 0.6:
            beneficiary.france_travail_id = self._france_travail_id()
        created_at = min(_at(entry + datetime.timedelta(days=rng.randint(2, 4)), 6), self.now)
        file = _File(beneficiary, created_at)
        self._household(file)
        return file

    def _followed_file(
        self,
        key: tuple[str, str],
        referent: User,
        structure: Structure,
        profile: str,
        move: _Move | None,
        late_contract: bool = False,
    ) -> _File:
        rng = self.rng
        today = self.today
        beneficiary = self._person(key, rng.choice(COMMUNES_BY_STRUCTURE[structure.code]))

        # When the story happens: entry into RSA, and the last day anything happened (past_end).
        cutoff = None
        if profile == CLOSED:
            exit_offset = rng.randint(20, 500)
            past_end = today - datetime.timedelta(days=exit_offset)
            entry = self._days_ago(exit_offset + 150, 1460)
        elif profile in (DORMANT_3M, DORMANT_6M):
            cutoff_offset = rng.randint(95, 170) if profile == DORMANT_3M else rng.randint(185, 400)
            cutoff = past_end = today - datetime.timedelta(days=cutoff_offset)
            entry = self._days_ago(cutoff_offset + 150, 1460)
        elif late_contract:
            # Decided 15 to 45 days after the entry (below): between 5 and 95 days (LATE_CONTRACT_DAYS_BEYOND)
            # beyond the delay, strictly before the day the dashboard counts from.
            past_end = self.yesterday
            low, high = LATE_CONTRACT_DAYS_BEYOND
            entry = self._days_ago(self.contract_delay_days + low + 45, self.contract_delay_days + high + 15)
        else:
            past_end = self.yesterday
            entry = self._days_ago(300 if move or profile == SUSPENDED else 60, 1460)
        ongoing = profile in (FOLLOWED, SUSPENDED)  # has a future: planned steps and appointments

        beneficiary.rsa_entry_date = beneficiary.rsa_status_date = entry
        beneficiary.sdd = rng.random() < 0.92 or late_contract
        # The file arrives with the CAF/MSA monthly import, a few days after entering RSA.
        file = _File(
            beneficiary,
            _at(entry + datetime.timedelta(days=rng.randint(2, 12)), 6),
            profile=profile,
            late_contract=late_contract,
        )
        self._household(file)

        decided_on = entry + datetime.timedelta(days=rng.randint(15, 45))
        assigned_on = decided_on + datetime.timedelta(days=rng.randint(0, 10))
        first_meeting = _workday(assigned_on + datetime.timedelta(days=rng.randint(7, 21)))
        if not ongoing:
            first_meeting = min(first_meeting, past_end)

        # Who followed the file: one referent, or a colleague (or another structure) before them.
        actor = self.supervisor if structure.code == "mds-nord" else self.decider
        track = self._track_for(structure)
        handover_on = None
        if move:
            handover_on = self._between(
                first_meeting + datetime.timedelta(days=30), past_end - datetime.timedelta(days=20)
            )
            self._assign(file, move.referent, move.structure, _at(assigned_on, 9), FIRST_ASSIGNMENT_REASON, actor)
            self._assign(file, referent, structure, _at(handover_on, 9), move.reason, actor)
        else:
            self._assign(file, referent, structure, _at(assigned_on, 9), FIRST_ASSIGNMENT_REASON, actor)

        def holder(day: datetime.date) -> tuple[User, Structure]:
            if move and day < handover_on:
                return move.referent, move.structure
            return referent, structure

        def track_on(day: datetime.date) -> str:
            if move and move.reorientation and day < handover_on:
                return move.track
            return track

        # Orientation (and the reorientation that superseded it).
        if move and move.reorientation:
            reoriented_on = handover_on - datetime.timedelta(days=rng.randint(1, 7))
            self._orientation(file, move.track, move.structure, decided_on, Orientation.Status.SUPERSEDED)
            self._orientation(file, track, structure, reoriented_on, Orientation.Status.DECIDED)
            ep_day = _workday(reoriented_on - datetime.timedelta(days=rng.randint(7, 21)))
            self._step(file, Step.Kind.EP_REVIEW, ep_day, Step.Status.DONE, REORIENTATION_EP_OUTCOME, *holder(ep_day))
        elif move and move.structure != structure:
            # A move between territorial units: same track, the new unit becomes the organisme référent.
            self._orientation(file, track, move.structure, decided_on, Orientation.Status.SUPERSEDED)
            transferred_on = handover_on - datetime.timedelta(days=rng.randint(1, 7))
            self._orientation(file, track, structure, transferred_on, Orientation.Status.DECIDED)
        else:
            self._orientation(file, track, structure, decided_on, Orientation.Status.DECIDED)
        if track == Orientation.Track.PROFESSIONAL or rng.random() < 0.5:
            beneficiary.france_travail_id = self._france_travail_id()

        # First meeting (sometimes missed once), then the diagnostic.
        if first_meeting <= past_end:
            missed_day = _workday(first_meeting - datetime.timedelta(days=14))
            if rng.random() < 0.15 and missed_day > assigned_on:
                self._meeting(file, missed_day, Appointment.Status.MISSED, "Premier entretien", *holder(missed_day))
                self._step(
                    file, Step.Kind.FIRST_APPOINTMENT, missed_day, Step.Status.MISSED, None, *holder(missed_day)
                )
            self._meeting(
                file, first_meeting, Appointment.Status.HONOURED, "Premier entretien", *holder(first_meeting)
            )
            self._step(
                file, Step.Kind.FIRST_APPOINTMENT, first_meeting, Step.Status.DONE, None, *holder(first_meeting)
            )
        else:
            first_meeting = _workday(max(first_meeting, today + datetime.timedelta(days=1)))
            self._meeting(file, first_meeting, Appointment.Status.PLANNED, "Premier entretien", referent, structure)
            self._step(file, Step.Kind.FIRST_APPOINTMENT, first_meeting, Step.Status.PLANNED, "", referent, structure)
            file.beneficiary.last_activity_at = file.last_activity
            return file

        diagnostic_on = min(first_meeting + datetime.timedelta(days=rng.choice((0, 0, 7, 14))), past_end)
        barriers = self._diagnostic(file, diagnostic_on, past_end, holder(diagnostic_on)[0])
        self._step(file, Step.Kind.DIAGNOSTIC, diagnostic_on, Step.Status.DONE, None, *holder(diagnostic_on))

        # Contracts, with their objectives and actions.
        first_start = diagnostic_on + datetime.timedelta(days=rng.randint(7, 30))
        if late_contract:
            # The first contract is still being drafted, its signature planned in the coming weeks.
            first_start = max(first_start, self.today + datetime.timedelta(days=14))
        self._contracts(file, profile, first_start, past_end, cutoff, holder, track_on, barriers, ongoing)

        # Other steps of the pathway.
        self._extra_steps(file, barriers, first_meeting, past_end, holder, ongoing)
        if profile == SUSPENDED:
            suspended_on = self._between(
                max(first_meeting + datetime.timedelta(days=60), today - datetime.timedelta(days=120)),
                today - datetime.timedelta(days=10),
            )
            ep_day = _workday(suspended_on - datetime.timedelta(days=rng.randint(10, 30)))
            self._step(file, Step.Kind.EP_REVIEW, ep_day, Step.Status.DONE, SANCTION_OUTCOME, *holder(ep_day))
            beneficiary.rsa_status = Beneficiary.RsaStatus.SUSPENDED
            beneficiary.rsa_status_date = suspended_on
        elif profile == FOLLOWED and rng.random() < 0.05:
            ep_day = _workday(today + datetime.timedelta(days=rng.randint(5, 40)))
            self._step(file, Step.Kind.EP_REVIEW, ep_day, Step.Status.PLANNED, "", referent, structure)
        if profile == CLOSED:
            self._step(file, Step.Kind.EXIT, past_end, Step.Status.DONE, rng.choice(EXIT_OUTCOMES), *holder(past_end))
            beneficiary.rsa_status = Beneficiary.RsaStatus.CLOSED
            beneficiary.rsa_status_date = past_end
            beneficiary.is_active = False
            beneficiary.support_ended_on = past_end

        # Appointments and notes over the whole follow-up.
        self._follow_up_meetings(file, profile, first_meeting, past_end, holder, ongoing)
        self._notes(file, first_meeting, past_end, holder, barriers)
        beneficiary.last_activity_at = file.last_activity
        return file

    def _assign(
        self,
        file: _File,
        referent: User,
        structure: Structure,
        when: datetime.datetime,
        reason: str,
        actor: User,
    ) -> None:
        """What beneficiary_assign_referent does, in memory: end the open assignment at the same
        instant, open the new one, keep the file's denormalised referent and structure in step."""
        if file.assignments:
            file.assignments[-1].ended_at = when
            file.assignments[-1].updated_at = when
        assignment = ReferentAssignment(
            beneficiary=file.beneficiary,
            referent=referent,
            structure=structure,
            started_at=when,
            reason=reason,
            assigned_by=actor,
            created_at=when,
            updated_at=when,
        )
        file.assignments.append(assignment)
        file.beneficiary.current_referent = referent
        file.beneficiary.current_structure = structure

    def _track_for(self, structure: Structure) -> str:
        if structure.kind == Structure.Kind.FRANCE_TRAVAIL:
            return Orientation.Track.PROFESSIONAL
        if structure.kind == Structure.Kind.CCAS:
            return Orientation.Track.SOCIAL
        if self.rng.random() < 0.55:
            return Orientation.Track.SOCIAL
        return Orientation.Track.SOCIO_PROFESSIONAL

    # Pathway objects.

    def _orientation(self, file: _File, track: str, structure: Structure, decided_on: datetime.date, status: str):
        orientation = Orientation(
            beneficiary=file.beneficiary,
            track=track,
            organisme_referent=structure,
            status=status,
            decided_on=decided_on,
            decided_by=self.decider,
            reason=ORIENTATION_REASONS[track],
        )
        file.orientations.append(orientation)
        self._entered(file, orientation, _at(decided_on, 11))
        outcome = f"Orientation {Orientation.Track(track).label.lower()} ; organisme référent : {structure.name}."
        self._step(
            file, Step.Kind.ORIENTATION, decided_on, Step.Status.DONE, outcome, self.decider, self.decider_structure
        )

    def _step(
        self,
        file: _File,
        kind: str,
        day: datetime.date,
        status: str,
        outcome: str | None,
        author: User,
        structure: Structure | None,
    ) -> Step:
        """A step; `outcome=None` draws one that fits the kind and status."""
        if outcome is None:
            if status == Step.Status.MISSED:
                outcome = self.rng.choice(STEP_MISSED_OUTCOMES)
            elif status == Step.Status.CANCELLED:
                outcome = self.rng.choice(STEP_CANCELLED_OUTCOMES)
            elif status == Step.Status.DONE:
                outcome = self.rng.choice(STEP_DONE_OUTCOMES[kind])
            else:
                outcome = ""
        step = Step(
            beneficiary=file.beneficiary,
            kind=kind,
            date=day,
            status=status,
            outcome=outcome,
            author=author,
            author_structure=structure,
        )
        file.steps.append(step)
        if status == Step.Status.PLANNED:
            self._entered(file, step, self.now - datetime.timedelta(days=self.rng.randint(1, 20)))
        else:
            file.touch(_at(day, 17))
            self._entered(file, step, _at(day, 17))
        return step

    def _meeting(
        self, file: _File, day: datetime.date, status: str, purpose: str, with_user: User, structure: Structure
    ) -> Appointment:
        rng = self.rng
        when = self._office_time(day)
        location = rng.choice(
            (
                f"{structure.name}, bureau {rng.randint(1, 12)}",
                f"{structure.name}, bureau {rng.randint(1, 12)}",
                "Entretien téléphonique",
                f"Permanence en mairie de {file.beneficiary.commune}",
            )
        )
        appointment = Appointment(
            beneficiary=file.beneficiary,
            scheduled_at=when,
            location=location,
            with_user=with_user,
            with_structure=structure,
            purpose=purpose,
            status=status,
            author=with_user,
        )
        file.appointments.append(appointment)
        self._entered(file, appointment, when - datetime.timedelta(days=rng.randint(7, 21)))
        if status != Appointment.Status.PLANNED:
            file.touch(when)
        return appointment

    def _diagnostic(self, file: _File, day: datetime.date, past_end: datetime.date, author: User) -> list[str]:
        rng = self.rng
        diagnostic = Diagnostic(
            beneficiary=file.beneficiary,
            carried_out_on=day,
            situation=rng.choice(SITUATIONS),
            education_level=rng.choice(EDUCATION_LEVELS),
            qualifications=rng.choice(QUALIFICATIONS),
            work_experience=rng.choice(WORK_EXPERIENCES),
            author=author,
        )
        file.diagnostics.append(diagnostic)
        self._entered(file, diagnostic, _at(day, 16))
        kinds = rng.sample(list(Barrier.Kind.values), rng.randint(1, 4))
        for kind in kinds:
            resolved = rng.random() < 0.25 and (self.today - day).days > 90
            barrier = Barrier(
                diagnostic=diagnostic,
                kind=kind,
                severity=rng.choice(Barrier.Severity.values),
                comment=rng.choice(BARRIER_COMMENTS[kind]),
                resolved_on=min(day + datetime.timedelta(days=rng.randint(30, 90)), past_end) if resolved else None,
            )
            file.barriers.append(barrier)
            self._entered(file, barrier, _at(day, 16))
        return kinds

    def _contracts(self, file, profile, first_start, past_end, cutoff, holder, track_on, barriers, ongoing):
        """A chain of contracts, each renewing the previous one, ending as the profile says."""
        rng = self.rng
        today = self.today
        horizon = {CLOSED: past_end, DORMANT_3M: cutoff, DORMANT_6M: cutoff}.get(profile, today)
        periods: list[list[datetime.date]] = []
        start = first_start
        while start <= past_end:
            end = _add_months(start, rng.choice((6, 6, 12))) - datetime.timedelta(days=1)
            periods.append([start, end])
            if end >= horizon:
                break
            start = end + datetime.timedelta(days=1)

        scenario = "current"
        if profile == FOLLOWED:
            scenario = rng.choices(("current", "expired", "expiring", "renewal_draft"), (70, 12, 11, 7))[0]
        elif profile == SUSPENDED:
            scenario = rng.choice(("current", "expired"))
        if periods and periods[-1][1] >= today:
            if scenario == "expired" and len(periods) >= 2:
                periods.pop()  # the renewal never happened
            elif scenario in ("expiring", "renewal_draft"):
                ends_on = today + datetime.timedelta(
                    days=rng.randint(3, 28) if scenario == "expiring" else rng.randint(5, 40)
                )
                if (ends_on - periods[-1][0]).days < 120 and len(periods) >= 2:
                    periods.pop()  # rather one longer contract than a seven-week one
                periods[-1][1] = ends_on

        previous = None
        for start, end in periods:
            contract = self._contract(file, start, end, previous, holder, track_on, past_end)
            if profile == CLOSED and end > past_end:
                contract.status = Contract.Status.TERMINATED
            previous = contract

        if previous is None and ongoing and first_start > past_end:
            # Diagnostic done recently: the first contract is being drafted.
            self._draft(file, first_start, None, holder, track_on)
        elif scenario == "renewal_draft" and previous is not None and previous.end_date >= today:
            self._draft(file, previous.end_date + datetime.timedelta(days=1), previous, holder, track_on)
        elif previous is not None and rng.random() < 0.04:
            # A duplicate entered by mistake, then cancelled.
            cancelled = Contract(
                beneficiary=file.beneficiary,
                kind=previous.kind,
                status=Contract.Status.CANCELLED,
                start_date=previous.start_date,
                end_date=previous.end_date,
                weekly_hours=previous.weekly_hours,
                objectives="Saisi en double par erreur ; remplacé par le contrat signé.",
                author=previous.author,
            )
            file.contracts.append(cancelled)
            self._entered(file, cancelled, _at(previous.signed_on, 10))

        self._objectives(file, barriers, past_end, holder, ongoing)

    def _contract_kind(self, start: datetime.date, track: str) -> str:
        if start >= CONTRAT_ENGAGEMENT_SINCE:
            return Contract.Kind.CONTRAT_ENGAGEMENT
        if track == Orientation.Track.PROFESSIONAL:
            return Contract.Kind.PPAE
        return Contract.Kind.CER

    def _weekly_hours(self, kind: str) -> int | None:
        if kind != Contract.Kind.CONTRAT_ENGAGEMENT:
            return None
        return self.rng.choice((15, 15, 15, 15, 15, 12, 10, 18, 20))

    def _contract(self, file, start, end, previous, holder, track_on, past_end) -> Contract:
        rng = self.rng
        kind = self._contract_kind(start, track_on(start))
        signed_on = start if previous is None else start - datetime.timedelta(days=rng.randint(0, 12))
        signed_on = min(signed_on, past_end)
        author, structure = holder(signed_on)
        contract = Contract(
            beneficiary=file.beneficiary,
            kind=kind,
            status=Contract.Status.SIGNED,
            start_date=start,
            end_date=end,
            signed_on=signed_on,
            weekly_hours=self._weekly_hours(kind),
            beneficiary_agreed=True,
            renews=previous,
            author=author,
        )
        file.contracts.append(contract)
        self._entered(file, contract, _at(signed_on, 11))
        label = Contract.Kind(kind).label
        hours = f", {contract.weekly_hours} h d'activité par semaine" if contract.weekly_hours else ""
        period = f"du {start:%d/%m/%Y} au {end:%d/%m/%Y}{hours}"
        outcome = f"Renouvellement : {label} {period}." if previous else f"Signature : {label} {period}."
        self._step(file, Step.Kind.CONTRACT, signed_on, Step.Status.DONE, outcome, author, structure)
        return contract

    def _draft(self, file, start, previous, holder, track_on) -> Contract:
        kind = self._contract_kind(start, track_on(start))
        author, structure = holder(self.today)
        contract = Contract(
            beneficiary=file.beneficiary,
            kind=kind,
            status=Contract.Status.DRAFT,
            start_date=start,
            end_date=_add_months(start, 6) - datetime.timedelta(days=1),
            weekly_hours=self._weekly_hours(kind),
            renews=previous,
            author=author,
        )
        file.contracts.append(contract)
        self._entered(file, contract, self.now - datetime.timedelta(days=self.rng.randint(1, 10)))
        signing = _workday(max(start - datetime.timedelta(days=3), self.today + datetime.timedelta(days=1)))
        label = Contract.Kind(kind).label
        self._step(
            file, Step.Kind.CONTRACT, signing, Step.Status.PLANNED, f"Signature prévue : {label}.", author, structure
        )
        return contract

    def _objectives(self, file, barriers, past_end, holder, ongoing) -> None:
        """Objectives of the last signed contract and one of the contract before; drafts get an open one;
        a file without a contract yet gets one of its own."""
        rng = self.rng
        themes = list(dict.fromkeys([THEME_OF_BARRIER[kind] for kind in barriers] + [Theme.EMPLOYMENT]))
        rng.shuffle(themes)
        signed = [c for c in file.contracts if c.status in (Contract.Status.SIGNED, Contract.Status.TERMINATED)]
        drafts = [c for c in file.contracts if c.status == Contract.Status.DRAFT]
        if signed:
            latest = signed[-1]
            if latest.end_date < self.today or not ongoing:
                statuses = (Objective.Status.ACHIEVED, Objective.Status.ABANDONED, Objective.Status.IN_PROGRESS)
            else:
                statuses = (Objective.Status.IN_PROGRESS,) * 5 + (Objective.Status.OPEN,) * 2
                statuses += (Objective.Status.ACHIEVED,)
            for theme in themes[: rng.randint(1, 3)]:
                self._objective(file, theme, latest, rng.choice(statuses), past_end, holder, ongoing)
            if len(signed) >= 2:
                status = rng.choice((Objective.Status.ACHIEVED, Objective.Status.ACHIEVED, Objective.Status.ABANDONED))
                self._objective(file, rng.choice(themes), signed[-2], status, past_end, holder, ongoing)
        for draft in drafts:
            self._objective(file, rng.choice(themes), draft, Objective.Status.OPEN, past_end, holder, ongoing)
        if not signed and not drafts:
            status = rng.choice((Objective.Status.OPEN, Objective.Status.IN_PROGRESS))
            self._objective(file, rng.choice(themes), None, status, past_end, holder, ongoing)
        for contract in file.contracts:
            if not contract.objectives:  # older contracts: their objectives are only in the text
                titles = [rng.choice(OBJECTIVES[theme])[0] for theme in themes[: rng.randint(1, 2)]]
                contract.objectives = "\n".join(f"– {title}" for title in titles)

    def _objective(self, file, theme, contract, status, past_end, holder, ongoing) -> None:
        rng = self.rng
        title, action_titles = rng.choice(OBJECTIVES[theme])
        start = contract.start_date if contract else file.diagnostics[0].carried_out_on
        entered_on = min(start, past_end) if contract is None or contract.signed_on else self.today
        author, _ = holder(entered_on)
        objective = Objective(
            beneficiary=file.beneficiary,
            contract=contract,
            theme=theme,
            title=title,
            status=status,
            due_date=contract.end_date if contract else start + datetime.timedelta(days=180),
            author=author,
        )
        file.objectives.append(objective)
        self._entered(file, objective, _at(entered_on, 11))
        if contract is not None:
            contract.objectives = f"{contract.objectives}\n– {title}".strip()
        window_end = min(past_end, contract.end_date if contract else past_end)
        for action_title in rng.sample(action_titles, rng.randint(1, len(action_titles))):
            action = Action(objective=objective, title=action_title, author=author)
            if status == Objective.Status.ACHIEVED and start <= window_end:
                action.status = Action.Status.DONE
            elif status == Objective.Status.ABANDONED:
                action.status = rng.choice((Action.Status.CANCELLED, Action.Status.DONE))
            elif status == Objective.Status.IN_PROGRESS and start <= window_end:
                action.status = rng.choice((Action.Status.DONE, Action.Status.IN_PROGRESS, Action.Status.PLANNED))
            else:
                action.status = Action.Status.PLANNED
            if action.status == Action.Status.DONE and start > window_end:
                action.status = Action.Status.CANCELLED
            if action.status == Action.Status.DONE:
                action.done_on = self._between(start, window_end)
                action.due_date = action.done_on + datetime.timedelta(days=rng.randint(0, 20))
            elif action.status == Action.Status.PLANNED and ongoing:
                action.due_date = self.today + datetime.timedelta(days=rng.randint(10, 90))
            else:
                action.due_date = objective.due_date
            file.actions.append(action)
            self._entered(file, action, _at(entered_on, 11))

    def _extra_steps(self, file, barriers, first_meeting, past_end, holder, ongoing) -> None:
        rng = self.rng
        kinds = list(EXTRA_STEP_KINDS) + [
            STEP_KIND_OF_BARRIER[kind] for kind in barriers if kind in STEP_KIND_OF_BARRIER
        ]
        window_start = first_meeting + datetime.timedelta(days=7)
        for _ in range(rng.randint(1, 4)):
            kind = rng.choice(kinds)
            if ongoing and rng.random() < 0.2:
                day = _workday(self.today + datetime.timedelta(days=rng.randint(1, 60)))
                self._step(file, kind, day, Step.Status.PLANNED, "", *holder(self.today))
                continue
            if window_start > past_end:
                continue
            day = _workday(self._between(window_start, past_end), latest=past_end)
            status = rng.choices((Step.Status.DONE, Step.Status.CANCELLED, Step.Status.MISSED), (75, 12, 13))[0]
            self._step(file, kind, day, status, None, *holder(day))

    def _follow_up_meetings(self, file, profile, first_meeting, past_end, holder, ongoing) -> None:
        rng = self.rng
        missed_weight = 35 if profile == SUSPENDED else 14
        day = first_meeting + datetime.timedelta(days=rng.randint(30, 90))
        while day <= past_end:
            meeting_day = _workday(day, latest=past_end)
            status = rng.choices(
                (Appointment.Status.HONOURED, Appointment.Status.MISSED, Appointment.Status.CANCELLED),
                (86 - missed_weight, missed_weight, 8),
            )[0]
            self._meeting(file, meeting_day, status, rng.choice(APPOINTMENT_PURPOSES), *holder(meeting_day))
            day += datetime.timedelta(days=rng.randint(30, 90))
        if profile == FOLLOWED and rng.random() < 0.1:
            # A recent absence a supervisor should notice.
            missed_day = _workday(self._days_ago(3, 55), latest=self.yesterday)
            if missed_day > first_meeting:
                self._meeting(file, missed_day, Appointment.Status.MISSED, "Entretien de suivi", *holder(missed_day))
        if ongoing and (profile == SUSPENDED or rng.random() < 0.75):
            next_day = _workday(self.today + datetime.timedelta(days=rng.randint(1, 35)))
            purpose = "Élaboration du contrat d'engagement" if not file.contracts else rng.choice(APPOINTMENT_PURPOSES)
            self._meeting(file, next_day, Appointment.Status.PLANNED, purpose, *holder(self.today))

    def _notes(self, file, first_meeting, past_end, holder, barriers) -> None:
        rng = self.rng
        beneficiary = file.beneficiary
        words = _note_words(beneficiary)
        months = max(0, (past_end - first_meeting).days) // 30
        sensitive_weight = 22 if Barrier.Kind.HEALTH in barriers else 4
        for _ in range(min(8, 1 + months // 6 + rng.randint(0, 2))):
            day = self._between(first_meeting, past_end)
            author, structure = holder(day)
            category = rng.choices(
                ("followers", "private", "department", "structure", "sensitive"), (45, 20, 13, 10, sensitive_weight)
            )[0]
            note = Note(beneficiary=beneficiary, author=author, author_structure=structure, is_sensitive=False)
            if category == "followers":
                note.visibility = Note.Visibility.FOLLOWERS
                note.body = rng.choice(FOLLOWER_NOTES)
            elif category == "private":
                note.visibility = Note.Visibility.PRIVATE
                note.body = rng.choice(PRIVATE_NOTES)
            elif category == "department":
                code = rng.choice(tuple(DEPARTMENT_NOTES))
                if structure.department_id == self.departments[code].pk:
                    code = "habitat-logement"
                note.visibility = Note.Visibility.SHARED
                note.body = rng.choice(DEPARTMENT_NOTES[code])
                file.note_departments.append((note, self.departments[code]))
            elif category == "structure":
                partner = self._partner_of(structure)
                note.visibility = Note.Visibility.SHARED
                note.body = rng.choice(STRUCTURE_NOTES[partner.kind])
                file.note_structures.append((note, partner))
            else:
                # Health: shared with the author's own structure only, or kept private.
                note.is_sensitive = True
                note.body = rng.choice(SENSITIVE_NOTES)
                if rng.random() < 0.7:
                    note.visibility = Note.Visibility.SHARED
                    file.note_structures.append((note, structure))
                else:
                    note.visibility = Note.Visibility.PRIVATE
            note.body = note.body.format(**words)
            self._add_note(file, note, self._office_time(day))
        current_structure = file.assignments[-1].structure
        if current_structure.code == "mds-nord" and rng.random() < 0.15:
            # The team's supervisor reviewed the file in a team meeting.
            note = Note(
                beneficiary=beneficiary,
                author=self.supervisor,
                author_structure=current_structure,
                body=rng.choice(SUPERVISOR_NOTES),
                visibility=Note.Visibility.FOLLOWERS,
            )
            self._add_note(file, note, _at(self._between(first_meeting, past_end), 12))

    def _add_note(self, file: _File, note: Note, when: datetime.datetime) -> None:
        file.notes.append(note)
        file.touch(when)
        self._entered(file, note, when)

    def _partner_of(self, structure: Structure) -> Structure:
        if structure.kind == Structure.Kind.FRANCE_TRAVAIL:
            return self.structures[self.rng.choice(("mds-nord", "ccas-tourcoing"))]
        if structure.kind == Structure.Kind.CCAS:
            return self.structures["mds-nord"]
        if structure.kind == Structure.Kind.ASSOCIATION:
            return self.structures["ft-roubaix"]
        return self.structures[self.rng.choice(("ft-roubaix", "ccas-tourcoing", "trajectoires-insertion"))]

    # Stories.

    def _plan_stories(self, files: list[_File]) -> None:
        """The shares (with their notes) and the emergency access of the stories, each on a file of its
        own drawn from the caseload it names: an ordinary ongoing file, followed by the same referent for
        months, so that what the story adds comes after everything else."""
        taken: set[int] = set()

        def story_file(username: str) -> _File:
            referent = self.users[username]
            candidates = [
                index
                for index, file in enumerate(files)
                if index not in taken
                and file.profile == FOLLOWED
                and not file.late_contract
                and len(file.assignments) == 1
                and file.assignments[0].referent == referent
                and file.assignments[0].started_at < self.now - STORY_FILE_MIN_AGE
            ]
            index = self.rng.choice(candidates)
            taken.add(index)
            return files[index]

        for story in SHARE_STORIES:
            file = story_file(story.followed_by)
            author = self.users[story.author]
            starts_at = _at(self.today - datetime.timedelta(days=story.started_days_ago), 10)
            share = Share(
                beneficiary=file.beneficiary,
                shared_with_user=self.users[story.user] if story.user else None,
                shared_with_structure=self.structures[story.structure] if story.structure else None,
                shared_with_department=self.departments[story.department] if story.department else None,
                reason=story.reason,
                author=author,
                starts_at=starts_at,
                created_at=starts_at,
                updated_at=starts_at,
            )
            if story.ends_in_days is not None:
                share.ends_at = _at(self.today + datetime.timedelta(days=story.ends_in_days), 18)
            if story.ended_days_ago is not None:
                share.ended_at = share.updated_at = _at(self.today - datetime.timedelta(days=story.ended_days_ago), 17)
                share.ended_by = author
            file.shares.append(share)
            author_structure = self.structures[ACCOUNT_BY_USERNAME[story.author].structure_code]
            for position, story_note in enumerate(story.notes, start=1):
                note = Note(
                    beneficiary=file.beneficiary,
                    author=author,
                    author_structure=author_structure,
                    body=story_note.body.format(**_note_words(file.beneficiary)),
                    visibility=story_note.visibility,
                    is_sensitive=story_note.is_sensitive,
                )
                file.note_users += [(note, self.users[username]) for username in story_note.users]
                file.note_structures += [(note, self.structures[code]) for code in story_note.structures]
                file.note_departments += [(note, self.departments[code]) for code in story_note.departments]
                self._add_note(file, note, starts_at + datetime.timedelta(minutes=20 * position))
            file.beneficiary.last_activity_at = file.last_activity

        story = EMERGENCY_STORY
        file = story_file(story.followed_by)
        started_at = self.now - datetime.timedelta(hours=story.started_hours_ago)
        file.emergency_accesses.append(
            EmergencyAccess(
                beneficiary=file.beneficiary,
                user=self.users[story.user],
                user_structure=self.structures[ACCOUNT_BY_USERNAME[story.user].structure_code],
                reason=story.reason,
                started_at=started_at,
                expires_at=started_at + datetime.timedelta(hours=settings.EMERGENCY_ACCESS_HOURS),
                created_at=started_at,
                updated_at=started_at,
            )
        )


# --- Writing ---------------------------------------------------------------------------------------


@dataclass
class SeedReport:
    """What the seed did, for the command's summary."""

    created_beneficiaries: int
    created: dict[str, int]  # the rest of the files, by model's verbose name (plural)
    existing_beneficiaries: int
    awaiting_orientation: int
    accounts: list[tuple[DemoAccount, User, Structure]]
    # What the object permissions of the demo files lacked (or held too much) before the seed synced them:
    # everything for new files, nothing on a rerun.
    grants: GrantDrift = field(default_factory=GrantDrift)


def _seed_departments() -> dict[str, Department]:
    departments = {}
    for demo in DEPARTMENTS:
        departments[demo.code], _ = Department.objects.update_or_create(
            code=demo.code, defaults={"name": demo.name, "kind": demo.kind}
        )
    return departments


def _seed_structures(departments: dict[str, Department]) -> dict[str, Structure]:
    structures = {}
    for demo in STRUCTURES:
        structures[demo.code], _ = Structure.objects.update_or_create(
            code=demo.code,
            defaults={
                "name": demo.name,
                "kind": demo.kind,
                "department": departments[demo.department_code] if demo.department_code else None,
                "commune": demo.commune,
                "is_sensitive": demo.is_sensitive,
            },
        )
    return structures


def _seed_accounts(structures: dict[str, Structure]) -> dict[str, User]:
    """The demo accounts, reset on every run: names, flags, password, one open membership each.

    The demo password is set without the password validators on purpose (it is a known, short
    password for a demo that never runs in production); it is hashed once for all six accounts.
    """
    password_hash = make_password(settings.DEMO_PASSWORD)
    since = timezone.localdate() - datetime.timedelta(days=5 * 365)
    users = {}
    for account in ACCOUNTS:
        user, _ = User.objects.update_or_create(
            username=account.username,
            defaults={
                "first_name": account.first_name,
                "last_name": account.last_name,
                "email": f"{account.username}@example.org",
                "is_active": True,
                "is_staff": False,
                "is_superuser": False,
            },
        )
        if account.can_log_in:
            user.password = password_hash
        else:
            user.set_unusable_password()
        user.save(update_fields=["password"])
        Membership.objects.get_or_create(
            user=user,
            structure=structures[account.structure_code],
            role=account.role,
            end_date=None,
            defaults={"start_date": since},
        )
        users[account.username] = user
    return users


TIMESTAMPED_MODELS = (
    Beneficiary,
    HouseholdMember,
    ReferentAssignment,
    Orientation,
    Contract,
    Diagnostic,
    Barrier,
    Objective,
    Action,
    Step,
    Appointment,
    Note,
    Share,
    EmergencyAccess,
)


@contextmanager
def _timestamps_as_given(models_: tuple[type[models.Model], ...]):
    """Let bulk_create keep the created_at/updated_at set on the objects instead of stamping "now".

    A note has no date but its creation time, and a file's history only reads true if what was
    entered two years ago says so. Updating the timestamps after the inserts (bulk_update) takes
    ten seconds on SQLite; switching auto_now off for the duration of the inserts costs nothing.
    The flags are process-wide: this runs only in the seed command, and restores them whatever
    happens.
    """
    fields = [(model._meta.get_field("created_at"), model._meta.get_field("updated_at")) for model in models_]
    for created_at, updated_at in fields:
        created_at.auto_now_add = updated_at.auto_now = False
    try:
        yield
    finally:
        for created_at, updated_at in fields:
            created_at.auto_now_add = updated_at.auto_now = True


def _write(files: list[_File]) -> dict[str, int]:
    def gather(attribute: str) -> list:
        return [obj for file in files for obj in getattr(file, attribute)]

    for file in files:
        # bulk_create skips save(), which derives the search column.
        b = file.beneficiary
        file.beneficiary.search_text = search_key(b.last_name, b.birth_name, b.first_name)
        file.beneficiary.created_at = file.created_at
        file.beneficiary.updated_at = max(file.created_at, file.last_activity or file.created_at)
        for member in file.household:
            member.created_at = member.updated_at = file.created_at
        for obj, when in file.entered_at:
            obj.created_at = obj.updated_at = when

    with _timestamps_as_given(TIMESTAMPED_MODELS):
        Beneficiary.objects.bulk_create([file.beneficiary for file in files], batch_size=500)
        HouseholdMember.objects.bulk_create(gather("household"), batch_size=500)
        # Built as beneficiary_assign_referent would (see _Planner._assign): calling it for each file
        # costs about 30 ms (full_clean runs every constraint as a query), 10 s for the data set.
        ReferentAssignment.objects.bulk_create(gather("assignments"), batch_size=500)
        Orientation.objects.bulk_create(gather("orientations"), batch_size=500)
        # A renewal points at the contract it renews: insert the chains one link at a time.
        link = 0
        while links := [file.contracts[link] for file in files if len(file.contracts) > link]:
            Contract.objects.bulk_create(links, batch_size=500)
            link += 1
        written = Beneficiary.objects.filter(pk__in=[file.beneficiary.pk for file in files])
        files_refresh_contract_end(written)
        files_refresh_orientation(written)
        Diagnostic.objects.bulk_create(gather("diagnostics"), batch_size=500)
        Barrier.objects.bulk_create(gather("barriers"), batch_size=500)
        Objective.objects.bulk_create(gather("objectives"), batch_size=500)
        Action.objects.bulk_create(gather("actions"), batch_size=500)
        Step.objects.bulk_create(gather("steps"), batch_size=500)
        Appointment.objects.bulk_create(gather("appointments"), batch_size=500)
        Note.objects.bulk_create(gather("notes"), batch_size=500)
        # As beneficiary_share and emergency_access_open would record them; the object permissions they
        # call for are derived afterwards, with everyone else's (seed_demo).
        Share.objects.bulk_create(gather("shares"), batch_size=500)
        EmergencyAccess.objects.bulk_create(gather("emergency_accesses"), batch_size=500)
    Note.shared_with_departments.through.objects.bulk_create(
        [
            Note.shared_with_departments.through(note_id=note.pk, department_id=department.pk)
            for note, department in gather("note_departments")
        ],
        batch_size=500,
    )
    Note.shared_with_structures.through.objects.bulk_create(
        [
            Note.shared_with_structures.through(note_id=note.pk, structure_id=structure.pk)
            for note, structure in gather("note_structures")
        ],
        batch_size=500,
    )
    Note.shared_with_users.through.objects.bulk_create(
        [Note.shared_with_users.through(note_id=note.pk, user_id=user.pk) for note, user in gather("note_users")],
        batch_size=500,
    )

    created = {}
    for model, attribute in (
        (ReferentAssignment, "assignments"),
        (HouseholdMember, "household"),
        (Orientation, "orientations"),
        (Contract, "contracts"),
        (Diagnostic, "diagnostics"),
        (Barrier, "barriers"),
        (Objective, "objectives"),
        (Action, "actions"),
        (Step, "steps"),
        (Appointment, "appointments"),
        (Note, "notes"),
        (Share, "shares"),
        (EmergencyAccess, "emergency_accesses"),
    ):
        created[str(model._meta.verbose_name_plural)] = len(gather(attribute))
    return created


# Files whose object permissions are synced in one go (as manage.py check_permissions does).
GRANT_SYNC_CHUNK = 2000


def _sync_grants(allocataire_numbers: list[str]) -> GrantDrift:
    """Derive the object permissions of the demo files from their assignments, shares and emergency
    accesses: the inserts above bypass the services, which would have done it file by file. On a
    rerun this also repairs a database seeded before grants existed, or whose grants drifted."""
    ids = list(
        Beneficiary.objects.filter(allocataire_number__in=allocataire_numbers)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    drift = GrantDrift()
    for start in range(0, len(ids), GRANT_SYNC_CHUNK):
        drift += sync_grants(ids[start : start + GRANT_SYNC_CHUNK])
    return drift


def seed_demo() -> SeedReport:
    """Create (or complete) the demo data set, in one transaction. Never call it in production."""
    with transaction.atomic():
        departments = _seed_departments()
        structures = _seed_structures(departments)
        users = _seed_accounts(structures)
        planner = _Planner(structures=structures, departments=departments, users=users)
        existing = set(
            Beneficiary.objects.filter(allocataire_number__in=[number for _, number in planner.keys]).values_list(
                "organism", "allocataire_number"
            )
        )
        missing = []
        if not existing.issuperset(planner.keys):
            missing = [
                file
                for file in planner.plan()
                if (file.beneficiary.organism, file.beneficiary.allocataire_number) not in existing
            ]
        created = _write(missing) if missing else {}
        grants = _sync_grants([number for _, number in planner.keys])
        if created:
            created["droits d'accès aux dossiers"] = grants.created
        created.update(_seed_pathway_stories([number for _, number in planner.keys], users, structures))
    return SeedReport(
        created_beneficiaries=len(missing),
        created=created,
        existing_beneficiaries=len(planner.keys) - len(missing),
        awaiting_orientation=sum(1 for file in missing if not file.assignments),
        accounts=[
            (account, users[account.username], structures[account.structure_code]) for account in LOGIN_ACCOUNTS
        ],
        grants=grants,
    )


# --- Pathway stories: reorientation requests waiting for a decision, an ended support -----------------

# (referent, days ago, reason): a request each, on an ongoing file of theirs oriented toward the social
# or socio-professional track; each proposes the professional track with France Travail.
REORIENTATION_STORIES = (
    (
        "referente.nord",
        3,
        "La personne a obtenu son permis et trouvé une solution de garde : elle souhaite chercher un emploi "
        "dans la logistique. Les freins sociaux sont levés.",
    ),
    (
        "referente.nord",
        9,
        "Logement stabilisé depuis deux mois ; projet de formation d'aide-soignante à construire avec France Travail.",
    ),
    (
        "referent.sud",
        5,
        "Sortie du dispositif d'hébergement ; la personne est disponible pour un emploi à temps plein.",
    ),
)
SUPPORT_END_STORY = (
    "referente.nord",
    "reprise-emploi",
    "CDI de préparateur de commandes depuis trois mois, à temps plein. Plus de frein de mobilité (permis "
    "obtenu). La personne sait qu'elle peut revenir vers la MDS si sa situation change.",
)


def _story_files(numbers: list[str], referent: User, exclude: set[int]):
    """Ongoing demo files of this referent with nothing of a permission story on them (no share, no
    emergency access, never reassigned), in a fixed order."""
    return (
        Beneficiary.objects.filter(
            allocataire_number__in=numbers,
            current_referent=referent,
            rsa_status=Beneficiary.RsaStatus.OPEN,
            shares__isnull=True,
            emergency_accesses__isnull=True,
        )
        .exclude(pk__in=exclude)
        .annotate(assignment_count=models.Count("assignments", distinct=True))
        .filter(assignment_count=1)
        .order_by("allocataire_number")
    )


def _seed_pathway_stories(numbers: list[str], users: dict[str, User], structures: dict[str, Structure]) -> dict:
    """A few reorientation requests waiting for a supervisor's decision, and one file whose support ended
    with a reason and a closing summary. Idempotent: nothing is added once the demo files hold such a
    request or an ended support with a reason. Written as the services would (casework.services.pathway)
    but without moving the files' last activity, which the demo derives from steps, appointments and
    notes."""
    created = {}
    now = timezone.now()
    today = timezone.localdate()
    demo_files = Beneficiary.objects.filter(allocataire_number__in=numbers)
    used: set[int] = set()
    if not ReorientationRequest.objects.filter(beneficiary__in=demo_files).exists():
        requests = []
        for username, days_ago, reason in REORIENTATION_STORIES:
            referent = users[username]
            file = (
                _story_files(numbers, referent, used)
                .filter(
                    orientations__status=Orientation.Status.DECIDED,
                    orientations__track__in=[Orientation.Track.SOCIAL, Orientation.Track.SOCIO_PROFESSIONAL],
                )
                .first()
            )
            if file is None:
                continue
            used.add(file.pk)
            when = now - datetime.timedelta(days=days_ago, hours=2)
            request = ReorientationRequest(
                beneficiary=file,
                proposed_track=Orientation.Track.PROFESSIONAL,
                proposed_organisme=structures["ft-roubaix"],
                reason=reason,
                requested_by=referent,
            )
            request.full_clean()
            request.save()
            requests.append(request.pk)
            ReorientationRequest.objects.filter(pk=request.pk).update(created_at=when, updated_at=when)
        created["demandes de réorientation en attente"] = len(requests)
    if not demo_files.filter(support_end_reason__isnull=False).exists():
        username, code, summary = SUPPORT_END_STORY
        reason, _ = SupportEndReason.objects.get_or_create(
            code=code, defaults={"label": "Reprise d'emploi durable", "position": 10}
        )
        planned = Appointment.objects.filter(status=Appointment.Status.PLANNED)
        file = (
            _story_files(numbers, users[username], used)
            .filter(is_active=True)
            .exclude(appointments__in=planned)
            .exclude(steps__status=Step.Status.PLANNED)
            .filter(last_activity_at__isnull=False)
            .first()
        )
        if file is not None:
            ended_on = max(timezone.localdate(file.last_activity_at), today - datetime.timedelta(days=7))
            file.is_active = False
            file.support_ended_on = min(ended_on, today)
            file.support_end_reason = reason
            file.support_end_summary = summary
            file.version += 1
            file.full_clean()
            file.save(
                update_fields=[
                    "is_active",
                    "support_ended_on",
                    "support_end_reason",
                    "support_end_summary",
                    "version",
                    "updated_at",
                ]
            )
            created["fins d'accompagnement"] = 1
    return created
