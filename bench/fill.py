"""Fill a freshly migrated PostgreSQL database with a Département's worth of files, for the benchmark (issue 8).

    from bench.fill import fill, SCALES
    meta = fill("small")  # or "department", "national"

Everything is written with set-based SQL (`INSERT ... SELECT ... FROM generate_series(...)`), never
the ORM row by row, in one transaction; the meta dict is stored last in the table `bench_meta` (key/value
jsonb) with the flag `complete`, so a database holding a complete fill of the same scale is returned as it
is. `fill(scale, refill=True)` empties a database named `parcours_bench_*` first.

The data is deterministic: every "random" choice is a hash of the row's index (`hashint8`), and every date
is an offset from the instant the fill starts (the anchor, stored in the meta): two fills give the same
rows, shifted by the time between them. What the services keep denormalised is written as they would
write it: current referent and structure, `last_activity_at` (the latest entry written), `search_text`
(`casework.models.search_key` of the names), the referent of record's guardian row, the group rows of the
files shared with a structure or a department, the structures' and departments' groups.

Layout (ids are explicit, so that the SQL derives everything from arithmetic on the index):
- structures 1..N (the referents' structures), then the intake structure (`IMPORT_INTAKE_STRUCTURE`), a
  sensitive partner (addiction care) and a PMI centre of the health department;
- users 1..N*R are the referents (R per structure, `ref-s001-01`...), then one supervisor per structure
  (`resp-s001`), then the personas (`resp-10-structures`, `resp-equipe`, `auditeur`...);
- file b follows referent ((b - 1) mod N*R) + 1; one file in 250 waits in the intake queue instead;
- file 1 is the big file (exactly BIG_FILE_ENTRIES timeline items for its referent).
"""

import datetime
import json
import math
import time
from dataclasses import asdict, dataclass

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.db import connection, transaction
from django.utils import timezone

from casework.models import search_key

PASSWORD = "bench-parcours"  # noqa: S105 (every bench user's password, scratch databases only)
META_TABLE = "bench_meta"
REFILL_DATABASE_PREFIX = "parcours_bench_"
BIG_FILE_ID = 1
BIG_FILE_ENTRIES = 500
CASELOAD_PAGE_SIZE = 50  # www.views.caseload.PAGE_SIZE (checked by tests/bench/test_fill.py)
SEARCH_TERM = "moreau"  # a common last name, contained in no other name of the lists
INTAKE_EVERY = 250  # one file in INTAKE_EVERY waits in the intake queue (no referent yet)


@dataclass(frozen=True)
class Scale:
    name: str
    files: int
    structures: int
    referents_per_structure: int
    audit_events: int
    test_only: bool = False

    @property
    def referents(self) -> int:
        return self.structures * self.referents_per_structure


SCALES = {
    "small": Scale("small", files=10_000, structures=40, referents_per_structure=10, audit_events=200_000),
    "department": Scale(
        "department", files=100_000, structures=40, referents_per_structure=10, audit_events=2_000_000
    ),
    "national": Scale(
        "national", files=1_000_000, structures=400, referents_per_structure=10, audit_events=20_000_000
    ),
}
# For tests/bench only: not a benchmark scale.
TEST_SCALES = {
    "tiny": Scale("tiny", files=400, structures=10, referents_per_structure=2, audit_events=3_000, test_only=True),
}

# Tables the fill writes (emptied by a refill). Reference data from migrations stays (content types,
# permissions, support end reasons).
FILLED_TABLES = [
    "accounts_department",
    "accounts_structure",
    "accounts_user",
    "accounts_membership",
    "auth_group",
    "casework_caseworksettings",
    "casework_beneficiary",
    "casework_householdmember",
    "casework_referentassignment",
    "casework_beneficiaryuserobjectpermission",
    "casework_beneficiarygroupobjectpermission",
    "casework_orientation",
    "casework_contract",
    "casework_step",
    "casework_appointment",
    "casework_note",
    "casework_note_shared_with_departments",
    "casework_note_shared_with_structures",
    "casework_note_shared_with_users",
    "casework_share",
    "casework_diagnostic",
    "casework_barrier",
    "casework_objective",
    "casework_action",
    "casework_auditevent",
]
# Emptied by a refill too (the app may have written in them since the fill), not filled.
OTHER_TABLES = [
    "accounts_user_groups",
    "accounts_user_user_permissions",
    "auth_group_permissions",
    "casework_revision",
    "casework_cover",
    "casework_notification",
    "casework_emergencyaccess",
    "casework_reorientationrequest",
    "casework_auditexport",
    "casework_importchange",
    "casework_importrowerror",
    "casework_beneficiaryimport",
    "casework_importcolumnmapping",
    "guardian_userobjectpermission",
    "guardian_groupobjectpermission",
    "django_admin_log",
    "django_session",
    "axes_accessattempt",
    "axes_accesslog",
    "axes_accessfailurelog",
]

# --- Names and places (French, with accents) -------------------------------------------------------

LAST_NAMES = """Martin Bernard Thomas Petit Robert Richard Durand Dubois Moreau Laurent Simon Michel Lefebvre Leroy
Roux David Bertrand Morel Fournier Girard Bonnet Dupont Lambert Fontaine Rousseau Vincent Müller Lefèvre Faure André
Mercier Blanc Guérin Boyer Garnier Chevalier François Legrand Gauthier Garcia Perrin Robin Clément Morin Nicolas
Henry Roussel Mathieu Gautier Masson Marchand Duval Denis Dumont Marie Lemaire Noël Meyer Dufour Meunier Brun
Blanchard Giraud Joly Rivière Lucas Brunet Gaillard Barbier Arnaud Martinez Gérard Roche Renard Schmitt Roy Leroux
Colin Vidal Caron Picard Roger Fabre Aubert Lemoine Renaud Dumas Lacroix Olivier Philippe Bourgeois Pierre Benoît
Rey Leclerc Payet Rolland Leclercq Guillaume Lecomte Lopez Jean Dupuy Guillot Hubert Berger Carpentier Sanchez
Dupuis Moulin Louis Deschamps Huet Vasseur Perez Boucher Fleury Royer Klein Jacquet Adam Paris Poirier Marty Aubry
Guyot Carré Charles Renault Charpentier Ménard Maillard Baron Bertin Bailly Hervé Schneider Fernandez Le_Gall
Collet Léger Bouvier Julien Prévost Millet Perrot Daniel Le_Roux Cousin Germain Breton Besson Langlois Rémy Le_Goff
Pelletier Lévêque Perrier Leblanc Barré Lebrun Marchal Weber Mallet Hamon Boulanger Jacob Monnier Michaud
Rodriguez Guichard Gillet Étienne Grondin Poulain Tessier Chevallier Collin Chauvin Da_Silva Bouchet Gay Lemaître
Bénard Maréchal Humbert Reynaud Antoine Hoarau Perret Barthélemy Cordier Pichon Lejeune Gilbert Lamy Delaunay
Pasquier Carlier Laporte N'Diaye Diallo Traoré""".replace("_", " ").split()
LAST_NAMES = [name.replace("_", " ") for name in LAST_NAMES]
FEMALE_FIRST_NAMES = """Marie Nathalie Isabelle Sylvie Catherine Françoise Valérie Christine Sandrine Véronique Sophie
Céline Stéphanie Aurélie Émilie Julie Laëtitia Camille Léa Manon Chloé Inès Sarah Fatima Aïcha Amandine Mélanie Hélène
Élodie Audrey Jessica Laura Pauline Océane Maëlys Anaïs Virginie Karine Nadia Samira Agnès Brigitte Josiane Mireille
Noémie Zoé Clémence Justine Margaux Gaëlle""".split()
MALE_FIRST_NAMES = """Jean Philippe Michel Alain Patrick Nicolas Christophe Pierre Christian Éric Frédéric Laurent
Stéphane David Olivier Sébastien Julien Thierry Jérôme Franck Mohamed Karim Mehdi Rachid Yannick Cédric Grégory Ludovic
Anthony Kévin Maxime Thomas Lucas Hugo Théo Loïc Jérémy Mathieu Benoît François André René Gérard Hervé Joël Noël
Raphaël Gaël Yoann Bruno""".split()
# (commune, postcode, INSEE code): the Nord.
COMMUNES = [
    ("Lille", "59000", "59350"),
    ("Roubaix", "59100", "59512"),
    ("Tourcoing", "59200", "59599"),
    ("Dunkerque", "59140", "59183"),
    ("Villeneuve-d'Ascq", "59650", "59009"),
    ("Valenciennes", "59300", "59606"),
    ("Douai", "59500", "59178"),
    ("Wattrelos", "59150", "59650"),
    ("Marcq-en-Barœul", "59700", "59378"),
    ("Cambrai", "59400", "59122"),
    ("Maubeuge", "59600", "59392"),
    ("Lambersart", "59130", "59328"),
    ("Armentières", "59280", "59017"),
    ("Hazebrouck", "59190", "59295"),
    ("Denain", "59220", "59172"),
    ("Lens-lès-Nord", "59120", "59002"),
]
STREETS = [
    "rue de la République",
    "rue Victor-Hugo",
    "avenue Jean-Jaurès",
    "rue Pasteur",
    "boulevard Gambetta",
    "rue des Écoles",
    "place de l'Église",
    "rue du Général-de-Gaulle",
    "allée des Tilleuls",
    "rue Émile-Zola",
]
STEP_KINDS = [
    "diagnostic",
    "orientation",
    "contract",
    "training",
    "employment",
    "internship",
    "housing",
    "health",
    "mobility",
    "ep_review",
    "other",
]
STEP_OUTCOMES = [
    "Entretien réalisé, démarches engagées.",
    "Inscription à la formation confirmée.",
    "Dossier de demande de logement social déposé.",
    "Immersion de deux semaines en entreprise, bon retour du tuteur.",
    "Aide à la mobilité accordée (permis de conduire).",
    "Passage en équipe pluridisciplinaire : maintien de l'orientation.",
    "Reprise d'un emploi à temps partiel.",
    "",
]
NOTE_BODIES = [
    "Entretien téléphonique : la personne confirme sa présence au prochain rendez-vous.",
    "Difficultés de garde d'enfants le mercredi, à prendre en compte dans le planning.",
    "A transmis les justificatifs demandés pour le dossier de la CAF.",
    "Souhaite s'orienter vers les métiers de l'aide à la personne ; projet réaliste.",
    "Point sur le budget : dettes de loyer en cours d'apurement avec le bailleur.",
    "Ne s'est pas présenté·e au rendez-vous, courrier de relance envoyé.",
    "Recherche active d'emploi, plusieurs candidatures envoyées cette semaine.",
    "Échange avec la conseillère France Travail sur la formation qualifiante.",
]
SENSITIVE_BODIES = [
    "Suivi médical en cours, arrêt prévu de plusieurs semaines : adapter les démarches.",
    "Accompagnement par le CSAPA, à ne pas évoquer hors de l'équipe.",
]
APPOINTMENT_PURPOSES = [
    "Premier rendez-vous",
    "Point d'étape",
    "Préparation du contrat",
    "Bilan de la formation",
    "Suivi de la recherche d'emploi",
    "",
]
OBJECTIVE_THEMES = ["employment", "training", "housing", "health", "mobility", "family", "finances", "other"]
OBJECTIVE_TITLES = [
    "Retrouver un emploi durable",
    "Obtenir une qualification",
    "Accéder à un logement autonome",
    "Engager un suivi de santé",
    "Passer le permis de conduire",
    "Trouver un mode de garde",
    "Rétablir un budget équilibré",
    "Gagner en autonomie numérique",
]
BARRIER_KINDS = ["housing", "mobility", "health", "childcare", "finances", "language", "digital", "administrative"]
EDUCATION_LEVELS = ["none", "level_3", "level_4", "level_5", "level_6_plus", ""]
USER_AGENTS = [
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0",
    "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
]


class FillError(RuntimeError):
    pass


# --- Entry point -------------------------------------------------------------------------------------


def all_scales() -> dict[str, Scale]:
    return {**SCALES, **TEST_SCALES}


def stored_meta() -> dict | None:
    """The meta of the complete fill this database holds, or None."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass(%s) IS NOT NULL", [META_TABLE])
        if not cursor.fetchone()[0]:
            return None
        cursor.execute(f"SELECT key, value::text FROM {META_TABLE}")  # noqa: S608 (a constant)
        rows = {key: json.loads(value) for key, value in cursor.fetchall()}
    if rows.get("complete") is not True or "meta" not in rows:
        return None
    return rows["meta"]


def fill(scale: str, *, refill: bool = False) -> dict:
    """Fill this database at `scale` (a key of SCALES, or of TEST_SCALES in tests) and return the meta.

    A database that already holds a complete fill of this scale is returned as it is, unless `refill`.
    """
    if connection.vendor != "postgresql":
        raise FillError("bench.fill writes PostgreSQL-only SQL: set DATABASE_URL=postgres:///...")
    try:
        spec = all_scales()[scale]
    except KeyError:
        raise FillError(f"Unknown scale {scale!r}: choose among {', '.join(all_scales())}.") from None
    spec_check(spec)
    database = connection.settings_dict["NAME"]
    existing = stored_meta()
    if existing is not None and not refill:
        if existing.get("scale") != scale:
            raise FillError(
                f"Database {database} holds a fill of scale {existing.get('scale')!r}, not {scale!r}: "
                "use fill(scale, refill=True) or another database."
            )
        return existing
    if refill:
        if not database.startswith(REFILL_DATABASE_PREFIX):
            raise FillError(
                f"refill=True empties the database: refused for {database!r} (not {REFILL_DATABASE_PREFIX}*)."
            )
        _truncate()
    elif _holds_data():
        raise FillError(
            f"Database {database} is not freshly migrated (it holds users or files): fill(scale, refill=True) "
            f"empties a {REFILL_DATABASE_PREFIX}* database first."
        )
    started = time.monotonic()
    with transaction.atomic():
        meta = _fill(spec, database, started)
    # Statistics for the planner (and the dead rows of the last_activity_at update), outside the transaction
    # when possible (VACUUM cannot run in one; inside a test's transaction ANALYZE alone).
    with connection.cursor() as cursor:
        if connection.in_atomic_block:
            cursor.execute("ANALYZE")
        else:
            cursor.execute("VACUUM ANALYZE")
        # The fill's duration counts its COMMIT, where PostgreSQL checks the deferred foreign keys of every
        # row written (~17 minutes at `national`), and the VACUUM ANALYZE.
        meta["statements_seconds"] = meta["duration_seconds"]
        meta["duration_seconds"] = round(time.monotonic() - started, 1)
        cursor.execute(
            f"UPDATE {META_TABLE} SET value = %s::jsonb WHERE key = 'meta'",  # noqa: S608 (a constant)
            [_json(meta)],
        )
    return meta


def spec_check(spec: Scale) -> None:
    if spec.files % spec.referents:
        raise FillError("files must be a multiple of the number of referents (the audit events' arithmetic).")
    if spec.structures < 4:
        raise FillError("at least 4 structures (the team persona supervises 4).")


def _holds_data() -> bool:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT EXISTS (SELECT 1 FROM accounts_user) OR EXISTS (SELECT 1 FROM casework_beneficiary) "
            "OR EXISTS (SELECT 1 FROM accounts_structure)"
        )
        return cursor.fetchone()[0]


def _truncate() -> None:
    tables = [*FILLED_TABLES, *OTHER_TABLES]
    with connection.cursor() as cursor:
        cursor.execute("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")
        present = {row[0] for row in cursor.fetchall()}
        names = ", ".join(table for table in tables if table in present)
        # TRUNCATE is not refused by the audit trail's trigger (it guards UPDATE and DELETE).
        cursor.execute(f"DROP TABLE IF EXISTS {META_TABLE}")
        cursor.execute(f"TRUNCATE {names} RESTART IDENTITY CASCADE")


# --- The fill ----------------------------------------------------------------------------------------


def _params(spec: Scale, now: datetime.datetime) -> dict:
    n, r = spec.structures, spec.referents_per_structure
    nr = n * r
    extra = nr + n  # personas' ids start after the referents and the structures' supervisors
    females = len(FEMALE_FIRST_NAMES)
    first_names = [*FEMALE_FIRST_NAMES, *MALE_FIRST_NAMES]
    return {
        "now": now,
        "today": timezone.localdate(now),
        "files": spec.files,
        "n": n,
        "r": r,
        "nr": nr,
        "per_ref": spec.files // nr,
        "sup10": extra + 1,
        "sup_team": extra + 2,
        "auditor": extra + 3,
        "admin": extra + 4,
        "intake_ref": extra + 5,
        "intake_sup": extra + 6,
        "csapa_ref": extra + 7,
        "pmi_ref": extra + 8,
        "users": extra + 8,
        "intake_structure": n + 1,
        "csapa": n + 2,
        "pmi": n + 3,
        "dept_insertion": 1,
        "dept_social": 2,
        "dept_health": 3,
        "group_csapa": n + 2,
        "group_dept_health": n + 3 + 3,
        "sup10_structures": min(10, n),
        "intake_every": INTAKE_EVERY,
        "big": BIG_FILE_ID,
        "last_names": LAST_NAMES,
        "last_keys": [search_key(name) for name in LAST_NAMES],
        "n_last": len(LAST_NAMES),
        "first_names": first_names,
        "first_keys": [search_key(name) for name in first_names],
        "n_first": len(first_names),
        "n_female": females,
        "communes": [c[0] for c in COMMUNES],
        "postcodes": [c[1] for c in COMMUNES],
        "insee": [c[2] for c in COMMUNES],
        "n_communes": len(COMMUNES),
        "streets": STREETS,
        "step_kinds": STEP_KINDS,
        "outcomes": STEP_OUTCOMES,
        "bodies": NOTE_BODIES,
        "sensitive_bodies": SENSITIVE_BODIES,
        "purposes": APPOINTMENT_PURPOSES,
        "themes": OBJECTIVE_THEMES,
        "titles": OBJECTIVE_TITLES,
        "barriers": BARRIER_KINDS,
        "levels": EDUCATION_LEVELS,
        "agents": USER_AGENTS,
        "shards": settings.AUDIT_CHAIN_SHARDS,
        "events": spec.audit_events,
        "year_2025": datetime.date(2025, 1, 1),
    }


FUNCTIONS = """
CREATE OR REPLACE FUNCTION pg_temp.rnd(seed bigint) RETURNS float8 LANGUAGE sql IMMUTABLE PARALLEL SAFE AS
$$ SELECT (hashint8(seed)::bigint & 2147483647)::float8 / 2147483648.0 $$;
CREATE OR REPLACE FUNCTION pg_temp.ri(seed bigint, n int) RETURNS int LANGUAGE sql IMMUTABLE PARALLEL SAFE AS
$$ SELECT floor(((hashint8(seed)::bigint & 2147483647)::float8 / 2147483648.0) * n)::int $$;
"""


def _fill(spec: Scale, database: str, started: float) -> dict:
    now = timezone.now()
    p = _params(spec, now)
    p["password"] = make_password(PASSWORD)  # hashed once, copied to every user
    timings = {}
    with connection.cursor() as cursor:
        cursor.execute(FUNCTIONS)
        cursor.execute("SELECT id FROM casework_supportendreason ORDER BY position, id")
        p["reasons"] = [row[0] for row in cursor.fetchall()]
        if not p["reasons"]:
            raise FillError("No support end reason: is the database migrated (casework 0005)?")
        p["n_reasons"] = len(p["reasons"])
        cursor.execute(
            "SELECT p.id FROM auth_permission p JOIN django_content_type ct ON ct.id = p.content_type_id "
            "WHERE ct.app_label = 'casework' AND ct.model = 'beneficiary' AND p.codename = 'view_beneficiary'"
        )
        p["perm"] = cursor.fetchone()[0]
        for name, statements in STEPS:
            step_started = time.monotonic()
            for statement in statements:
                cursor.execute(statement, p)
            timings[name] = round(time.monotonic() - step_started, 2)
        _reset_sequences(cursor)
        meta = _meta(cursor, spec, p, database)
        meta["timings"] = timings
        meta["duration_seconds"] = round(time.monotonic() - started, 1)
        cursor.execute(f"CREATE TABLE IF NOT EXISTS {META_TABLE} (key text PRIMARY KEY, value jsonb NOT NULL)")
        cursor.execute(f"DELETE FROM {META_TABLE}")  # noqa: S608 (a constant)
        for key, value in (("scale", spec.name), ("meta", meta), ("complete", True)):  # the flag last
            cursor.execute(
                f"INSERT INTO {META_TABLE} (key, value) VALUES (%s, %s::jsonb)",  # noqa: S608
                [key, _json(value)],
            )
    return meta


def _json(value) -> str:
    return json.dumps(value, ensure_ascii=False)


def _reset_sequences(cursor) -> None:
    """Explicit ids were inserted: move each identity past them so that the app's inserts work."""
    for table in ["accounts_department", "accounts_structure", "accounts_user", "auth_group", "casework_beneficiary"]:
        next_id = f"(SELECT coalesce(max(id), 0) + 1 FROM {table})"  # noqa: S608 (constant names)
        cursor.execute(f"SELECT setval(pg_get_serial_sequence(%s, 'id'), {next_id}, false)", [table])


ORGANISATION = [
    """
INSERT INTO accounts_department (id, name, code, kind, created_at, updated_at) VALUES
  (%(dept_insertion)s, 'Service insertion et emploi', 'insertion', 'insertion', %(now)s - interval '5 years',
   %(now)s - interval '5 years'),
  (%(dept_social)s, 'Direction de l''action sociale territoriale', 'action-sociale', 'social_action',
   %(now)s - interval '5 years', %(now)s - interval '5 years'),
  (%(dept_health)s, 'Santé / PMI', 'sante-pmi', 'health', %(now)s - interval '5 years', %(now)s - interval '5 years')
""",
    """
INSERT INTO accounts_structure (id, name, code, kind, commune, department_id, is_sensitive, created_at, updated_at)
SELECT s,
  CASE kind
    WHEN 'territorial_unit' THEN 'Maison départementale des solidarités de ' || commune || ' (' || s || ')'
    WHEN 'france_travail' THEN 'France Travail ' || commune || ' (' || s || ')'
    WHEN 'ccas' THEN 'CCAS de ' || commune || ' (' || s || ')'
    ELSE 'Mission locale de ' || commune || ' (' || s || ')'
  END,
  's' || lpad(s::text, 3, '0'), kind, commune,
  CASE WHEN kind = 'territorial_unit' THEN %(dept_social)s END, false,
  %(now)s - interval '5 years', %(now)s - interval '5 years'
FROM (
  SELECT s, (%(communes)s::text[])[1 + mod(s - 1, %(n_communes)s)] AS commune,
    CASE WHEN mod(s, 10) BETWEEN 1 AND 6 THEN 'territorial_unit' WHEN mod(s, 10) IN (7, 8) THEN 'france_travail'
         WHEN mod(s, 10) = 9 THEN 'ccas' ELSE 'mission_locale' END AS kind
  FROM generate_series(1, %(n)s) AS s
) AS x
""",
    """
INSERT INTO accounts_structure (id, name, code, kind, commune, department_id, is_sensitive, created_at, updated_at)
VALUES
  (%(intake_structure)s, 'Service insertion – orientation des nouveaux entrants', 'service-insertion',
   'department_service', 'Lille', %(dept_insertion)s, false, %(now)s - interval '5 years',
   %(now)s - interval '5 years'),
  (%(csapa)s, 'CSAPA Le Relais', 'csapa-le-relais', 'association', 'Lille', NULL, true,
   %(now)s - interval '5 years', %(now)s - interval '5 years'),
  (%(pmi)s, 'Centre de PMI de Roubaix', 'pmi-roubaix', 'department_service', 'Roubaix', %(dept_health)s, false,
   %(now)s - interval '5 years', %(now)s - interval '5 years')
""",
    # One group per structure (id = structure id) and per department (after them), as
    # casework.permissions.structure_group / department_group name them.
    """
INSERT INTO auth_group (id, name)
SELECT id, 'structure:' || code FROM accounts_structure
UNION ALL
SELECT %(pmi)s + id, 'department:' || code FROM accounts_department
""",
    "UPDATE accounts_structure SET group_id = id",
    "UPDATE accounts_department SET group_id = %(pmi)s + id",
    """
INSERT INTO casework_caseworksettings (id, created_at, updated_at, orientation_delay_days, contract_delay_days,
  contract_expiring_days, inactivity_warning_months, inactivity_alert_months, missed_appointments_days,
  new_files_days)
VALUES (1, %(now)s, %(now)s, 30, 60, 30, 3, 6, 60, 30)
""",
    # Users: referents 1..nr, one supervisor per structure, then the personas.
    """
INSERT INTO accounts_user (id, password, is_superuser, username, first_name, last_name, email, is_staff, is_active,
  date_joined, created_at, updated_at)
SELECT u.id, %(password)s, false, u.username, fn, ln,
  u.username || '@departement.example.fr', u.is_staff, true,
  %(now)s - interval '4 years', %(now)s - interval '4 years', %(now)s - interval '4 years'
FROM (
  SELECT id,
    CASE
      WHEN id <= %(nr)s THEN 'ref-s' || lpad(((id - 1) / %(r)s + 1)::text, 3, '0') || '-'
                             || lpad((mod(id - 1, %(r)s) + 1)::text, 2, '0')
      WHEN id <= %(nr)s + %(n)s THEN 'resp-s' || lpad((id - %(nr)s)::text, 3, '0')
      WHEN id = %(sup10)s THEN 'resp-10-structures'
      WHEN id = %(sup_team)s THEN 'resp-equipe'
      WHEN id = %(auditor)s THEN 'auditeur'
      WHEN id = %(admin)s THEN 'admin-departement'
      WHEN id = %(intake_ref)s THEN 'ref-insertion'
      WHEN id = %(intake_sup)s THEN 'resp-insertion'
      WHEN id = %(csapa_ref)s THEN 'ref-csapa'
      ELSE 'ref-pmi'
    END AS username,
    id = %(admin)s AS is_staff,
    (%(first_names)s::text[])[1 + pg_temp.ri(id * 7 + 1, %(n_first)s)] AS fn,
    (%(last_names)s::text[])[1 + pg_temp.ri(id * 7 + 2, %(n_last)s)] AS ln
  FROM generate_series(1, %(users)s) AS id
) AS u
""",
    """
INSERT INTO accounts_membership (role, start_date, end_date, created_at, updated_at, user_id, structure_id)
SELECT role, (%(now)s - interval '4 years')::date, NULL, %(now)s - interval '4 years', %(now)s - interval '4 years',
  user_id, structure_id
FROM (
  SELECT 'referent' AS role, id AS user_id, (id - 1) / %(r)s + 1 AS structure_id FROM generate_series(1, %(nr)s) id
  UNION ALL
  SELECT 'supervisor', %(nr)s + s, s FROM generate_series(1, %(n)s) s
  UNION ALL
  SELECT 'supervisor', %(sup10)s, s FROM generate_series(1, %(sup10_structures)s) s
  UNION ALL
  SELECT 'supervisor', %(sup_team)s, s FROM generate_series(1, 4) s
  UNION ALL
  VALUES ('auditor', %(auditor)s, %(intake_structure)s),
         ('department_admin', %(admin)s, %(intake_structure)s),
         ('referent', %(intake_ref)s, %(intake_structure)s),
         ('supervisor', %(intake_sup)s, %(intake_structure)s),
         ('referent', %(csapa_ref)s, %(csapa)s),
         ('referent', %(pmi_ref)s, %(pmi)s)
) AS m
ORDER BY user_id, structure_id
""",
]

# The files' skeleton: one row per file with what every later insert derives from.
SKELETON = [
    "DROP TABLE IF EXISTS pg_temp.bf",
    """
CREATE TEMP TABLE bf AS
WITH base AS (
  SELECT b AS id,
    (b <> %(big)s AND mod(b, %(intake_every)s) = %(intake_every)s / 2) AS intake,
    mod(b - 1, %(nr)s) + 1 AS ref,
    mod(b - 1, %(nr)s) / %(r)s + 1 AS struct,
    pg_temp.rnd(b::bigint * 100 + 1) AS r_age,
    pg_temp.rnd(b::bigint * 100 + 2) AS r_closed,
    pg_temp.rnd(b::bigint * 100 + 3) AS r_idle,
    pg_temp.rnd(b::bigint * 100 + 4) AS r_len,
    pg_temp.rnd(b::bigint * 100 + 5) AS r_track
  FROM generate_series(1, %(files)s) AS b
), dated AS (
  SELECT *,
    CASE WHEN intake THEN %(now)s - interval '1 day' * (1 + r_age * 25)
         ELSE %(now)s - interval '1 day' * (60 + r_age * 1035) END AS created,
    (NOT intake AND id <> %(big)s AND r_closed < 0.10) AS closed,
    (NOT intake AND id <> %(big)s AND r_closed >= 0.10 AND r_idle < 0.15) AS idle
  FROM base
)
SELECT id, intake, ref, struct, created, closed, idle,
  %(nr)s + struct AS sup,
  (struct - 1) * %(r)s + mod(ref - (struct - 1) * %(r)s, %(r)s) + 1 AS colleague,
  (NOT intake AND id <> %(big)s AND mod(id, 12) = 5) AS awaiting,
  CASE WHEN r_track < 0.5 THEN 'professional' WHEN r_track < 0.8 THEN 'social' ELSE 'socio_professional' END AS track,
  CASE
    WHEN closed THEN created + (%(now)s - created) * (0.55 + 0.4 * r_len)
    WHEN idle THEN greatest(created + interval '1 day', %(now)s - interval '1 day' * (95 + r_len * 300))
    ELSE %(now)s
  END AS horizon,
  NOT (closed OR idle OR intake) AS future
FROM dated
""",
    "ALTER TABLE bf ADD PRIMARY KEY (id)",
]

BENEFICIARIES = [
    """
INSERT INTO casework_beneficiary (id, created_at, updated_at, public_id, organism, allocataire_number,
  france_travail_id, first_name, last_name, birth_name, birth_date, sex, address_line, postcode, commune, insee_code,
  phone, email, rsa_status, rsa_status_date, sdd, rsa_entry_date, is_active, support_ended_on, last_activity_at,
  current_referent_id, current_structure_id, search_text, support_end_summary, version, support_end_reason_id,
  intake_structure_id)
SELECT f.id, f.created, f.created, md5('beneficiary:' || f.id)::uuid,
  CASE WHEN mod(f.id, 20) = 3 THEN 'msa' ELSE 'caf' END,
  (1000000 + f.id)::text,
  CASE WHEN mod(f.id, 3) = 0 THEN '' ELSE lpad((mod(f.id::bigint * 7919, 10000000))::text, 7, '0') || 'F' END,
  (%(first_names)s::text[])[n.fi], (%(last_names)s::text[])[n.li],
  CASE WHEN n.bi > 0 THEN (%(last_names)s::text[])[n.bi] ELSE '' END,
  (%(now)s - interval '1 day' * (6600 + pg_temp.ri(f.id::bigint * 100 + 14, 16000)))::date,
  CASE WHEN n.fi <= %(n_female)s THEN 'F' ELSE 'M' END,
  (1 + pg_temp.ri(f.id::bigint * 100 + 15, 180)) || ' '
    || (%(streets)s::text[])[1 + pg_temp.ri(f.id::bigint * 100 + 16, 10)],
  (%(postcodes)s::text[])[n.ci], (%(communes)s::text[])[n.ci], (%(insee)s::text[])[n.ci],
  '06' || lpad(mod(f.id::bigint * 104729, 100000000)::text, 8, '0'),
  CASE WHEN mod(f.id, 4) = 0 THEN ''
       ELSE regexp_replace((%(first_keys)s::text[])[n.fi], '[^a-z]', '', 'g') || '.'
            || regexp_replace((%(last_keys)s::text[])[n.li], '[^a-z]', '', 'g') || f.id || '@exemple.fr' END,
  CASE WHEN f.closed AND n.reason = 2 THEN 'closed' WHEN NOT f.closed AND pg_temp.rnd(f.id::bigint * 100 + 17) < 0.07
       THEN 'suspended' ELSE 'open' END,
  f.created::date,
  mod(f.id, 10) <> 4,
  f.created::date - pg_temp.ri(f.id::bigint * 100 + 18, 200),
  NOT f.closed,
  CASE WHEN f.closed THEN f.horizon::date END,
  NULL,
  CASE WHEN f.intake THEN NULL ELSE f.ref END,
  CASE WHEN f.intake THEN NULL ELSE f.struct END,
  (%(last_keys)s::text[])[n.li] || CASE WHEN n.bi > 0 THEN ' ' || (%(last_keys)s::text[])[n.bi] ELSE '' END
    || ' ' || (%(first_keys)s::text[])[n.fi],
  CASE WHEN f.closed THEN 'Fin d''accompagnement : objectifs du contrat atteints ou situation changée.' ELSE '' END,
  1,
  CASE WHEN f.closed THEN (%(reasons)s::bigint[])[n.reason] END,
  CASE WHEN f.intake THEN %(intake_structure)s END
FROM bf f
CROSS JOIN LATERAL (
  SELECT 1 + pg_temp.ri(f.id::bigint * 100 + 10, %(n_last)s) AS li,
    1 + pg_temp.ri(f.id::bigint * 100 + 11, %(n_first)s) AS fi,
    CASE WHEN pg_temp.rnd(f.id::bigint * 100 + 12) < 0.12 THEN 1 + pg_temp.ri(f.id::bigint * 100 + 19, %(n_last)s)
         ELSE 0 END AS bi,
    1 + pg_temp.ri(f.id::bigint * 100 + 13, %(n_communes)s) AS ci,
    1 + pg_temp.ri(f.id::bigint * 100 + 20, %(n_reasons)s) AS reason
) AS n
ORDER BY f.id
""",
]

ASSIGNMENTS = [
    # A former referent (a colleague) for one file in five, then the referent of record.
    """
INSERT INTO casework_referentassignment (created_at, updated_at, started_at, ended_at, reason, assigned_by_id,
  beneficiary_id, referent_id, structure_id)
SELECT x.started, x.started, x.started, x.ended, x.reason, f.sup, f.id, x.referent, f.struct
FROM bf f
CROSS JOIN LATERAL (
  SELECT f.created AS started, f.created + (f.horizon - f.created) * 0.3 AS ended, f.colleague AS referent,
    'Première désignation' AS reason
  WHERE mod(f.id, 5) = 2
  UNION ALL
  SELECT CASE WHEN mod(f.id, 5) = 2 THEN f.created + (f.horizon - f.created) * 0.3 ELSE f.created END, NULL, f.ref,
    CASE WHEN mod(f.id, 5) = 2 THEN 'Réorganisation du secteur' ELSE '' END
) AS x
WHERE NOT f.intake
ORDER BY f.id, x.started
""",
    # The referent of record's grant (casework.permissions.sync_grants).
    """
INSERT INTO casework_beneficiaryuserobjectpermission (expires_at, content_object_id, permission_id, user_id)
SELECT NULL, f.id, %(perm)s, f.ref FROM bf f WHERE NOT f.intake ORDER BY f.id
""",
]

ORIENTATIONS = [
    """
INSERT INTO casework_orientation (created_at, updated_at, track, status, decided_on, reason, beneficiary_id,
  decided_by_id, organisme_referent_id)
SELECT f.created + interval '2 days', f.created + interval '2 days', f.track,
  CASE WHEN f.awaiting THEN 'proposed' ELSE 'decided' END,
  CASE WHEN f.awaiting THEN NULL
       ELSE least(%(today)s, (f.created + interval '1 day' * (10 + pg_temp.ri(f.id::bigint * 100 + 21, 30)))::date)
  END,
  '', f.id,
  CASE WHEN f.awaiting THEN NULL ELSE f.sup END,
  f.struct
FROM bf f WHERE NOT f.intake ORDER BY f.id
""",
]

# Contracts: about 78 % of the oriented files; 20 % of them expired, 10 % ending within 30 days, the rest
# running, a third of those renewing an earlier contract. Closed files' contracts have expired.
CONTRACTS = [
    "DROP TABLE IF EXISTS pg_temp.bc",
    """
CREATE TEMP TABLE bc AS
SELECT f.id, f.ref, f.track, f.created, x.end_date,
  CASE WHEN x.end_date - 365 >= f.created::date THEN x.end_date - 365 ELSE x.end_date - 120 END AS start_date,
  (x.state = 'running' AND pg_temp.rnd(f.id::bigint * 100 + 24) < 0.35) AS renews
FROM bf f
CROSS JOIN LATERAL (
  SELECT CASE WHEN f.closed OR pg_temp.rnd(f.id::bigint * 100 + 22) < 0.2 THEN 'expired'
              WHEN pg_temp.rnd(f.id::bigint * 100 + 22) < 0.3 THEN 'ending' ELSE 'running' END AS state
) AS s
CROSS JOIN LATERAL (
  SELECT s.state, CASE s.state
    WHEN 'expired' THEN least(%(today)s - 1 - pg_temp.ri(f.id::bigint * 100 + 23, 300),
                              CASE WHEN f.closed THEN f.horizon::date ELSE %(today)s END)
    WHEN 'ending' THEN %(today)s + pg_temp.ri(f.id::bigint * 100 + 23, 30)
    ELSE %(today)s + 31 + pg_temp.ri(f.id::bigint * 100 + 23, 330) END AS end_date
) AS x
WHERE NOT f.intake AND NOT f.awaiting AND f.id <> %(big)s AND pg_temp.rnd(f.id::bigint * 100 + 25) < 0.78
""",
    # The earlier contracts that the renewals renew.
    """
INSERT INTO casework_contract (created_at, updated_at, kind, status, start_date, end_date, signed_on, objectives,
  weekly_hours, beneficiary_agreed, author_id, beneficiary_id, renews_id, public_id, version, withdrawal_reason)
SELECT w, w, k.kind, 'signed', c.start_date - 365, c.start_date, c.start_date - 365,
  'Objectifs du contrat : recherche d''emploi, levée des freins périphériques.',
  CASE WHEN k.kind = 'contrat_engagement' THEN 15 END, true, c.ref, c.id, NULL, md5('contract-old:' || c.id)::uuid,
  1, ''
FROM bc c
CROSS JOIN LATERAL (SELECT least(%(now)s, (c.start_date - 365)::timestamptz + interval '10 hours') AS w) AS t
CROSS JOIN LATERAL (
  SELECT CASE WHEN c.start_date - 365 >= %(year_2025)s THEN 'contrat_engagement'
              WHEN c.track = 'professional' THEN 'ppae' ELSE 'cer' END AS kind
) AS k
WHERE c.renews
ORDER BY c.id
""",
    """
INSERT INTO casework_contract (created_at, updated_at, kind, status, start_date, end_date, signed_on, objectives,
  weekly_hours, beneficiary_agreed, author_id, beneficiary_id, renews_id, public_id, version, withdrawal_reason)
SELECT w, w, k.kind, 'signed', c.start_date, c.end_date, c.start_date,
  'Objectifs du contrat : recherche d''emploi, levée des freins périphériques.',
  CASE WHEN k.kind = 'contrat_engagement' THEN 15 END, true, c.ref, c.id, old.id, md5('contract:' || c.id)::uuid,
  1, ''
FROM bc c
LEFT JOIN casework_contract old ON c.renews AND old.public_id = md5('contract-old:' || c.id)::uuid
CROSS JOIN LATERAL (SELECT least(%(now)s, greatest(c.created, c.start_date::timestamptz + interval '10 hours')) AS w) t
CROSS JOIN LATERAL (
  SELECT CASE WHEN c.start_date >= %(year_2025)s THEN 'contrat_engagement'
              WHEN c.track = 'professional' THEN 'ppae' ELSE 'cer' END AS kind
) AS k
ORDER BY c.id
""",
]

# Steps, appointments and notes: 3 to 7 of each per file (15 on average), between the file's creation and
# its horizon (now, the end of support, or months ago for an idle file); the last one may lie ahead.
_ENTRY_SERIES = """
FROM bf f
CROSS JOIN LATERAL generate_series(1, 3 + pg_temp.ri(f.id::bigint * 100 + {salt}, 5)) AS g
CROSS JOIN LATERAL (SELECT (f.id::bigint * 64 + g) * 100 + {salt} * 10 AS seed) AS s
CROSS JOIN LATERAL (
  SELECT CASE
    WHEN {future} AND f.future AND g = 3 + pg_temp.ri(f.id::bigint * 100 + {salt}, 5) AND pg_temp.rnd(s.seed + 1) < 0.6
      THEN %(now)s + interval '1 day' * (1 + 44 * pg_temp.rnd(s.seed + 2))
    ELSE f.created + (f.horizon - f.created) * pg_temp.rnd(s.seed) END AS at
) AS t
"""
_ENTRY_WHERE = "WHERE NOT f.intake AND f.id <> %(big)s"

ENTRIES = [
    f"""
INSERT INTO casework_step (created_at, updated_at, kind, date, status, outcome, author_id, author_structure_id,
  beneficiary_id, public_id, version, withdrawal_reason, withdrawn_at, withdrawn_by_id)
SELECT w.wrote, w.wrote,
  CASE WHEN g = 1 THEN 'first_appointment' ELSE (%(step_kinds)s::text[])[1 + pg_temp.ri(s.seed + 3, 11)] END,
  (t.at AT TIME ZONE 'Europe/Paris')::date,
  w.status,
  CASE WHEN w.status = 'done' THEN (%(outcomes)s::text[])[1 + pg_temp.ri(s.seed + 4, 8)] ELSE '' END,
  w.author, f.struct, f.id, md5('step:' || s.seed)::uuid, 1,
  CASE WHEN w.withdrawn THEN 'Saisie en double' ELSE '' END,
  CASE WHEN w.withdrawn THEN w.wrote + interval '1 hour' END,
  CASE WHEN w.withdrawn THEN w.author END
{_ENTRY_SERIES.format(salt=30, future="true")}
CROSS JOIN LATERAL (
  SELECT CASE WHEN t.at > %(now)s
              THEN greatest(f.created, %(now)s - interval '1 day' * (1 + 20 * pg_temp.rnd(s.seed + 5)))
              ELSE t.at END AS wrote,
    CASE WHEN t.at > %(now)s THEN 'planned'
         WHEN pg_temp.rnd(s.seed + 6) < 0.8 THEN 'done' WHEN pg_temp.rnd(s.seed + 6) < 0.9 THEN 'missed'
         ELSE 'cancelled' END AS status,
    CASE WHEN pg_temp.rnd(s.seed + 7) < 0.1 THEN f.sup ELSE f.ref END AS author,
    t.at <= %(now)s - interval '2 days' AND pg_temp.rnd(s.seed + 8) < 0.005 AS withdrawn
) AS w
{_ENTRY_WHERE}
ORDER BY f.id, g
""",
    f"""
INSERT INTO casework_appointment (created_at, updated_at, scheduled_at, location, purpose, status, author_id,
  with_structure_id, with_user_id, beneficiary_id, public_id, version, withdrawal_reason)
SELECT w.wrote, w.wrote, w.scheduled, 'Dans les locaux de la structure',
  CASE WHEN g = 1 THEN 'Premier rendez-vous' ELSE (%(purposes)s::text[])[1 + pg_temp.ri(s.seed + 3, 6)] END,
  CASE WHEN w.scheduled > %(now)s THEN 'planned'
       WHEN pg_temp.rnd(s.seed + 6) < 0.75 THEN 'honoured' WHEN pg_temp.rnd(s.seed + 6) < 0.9 THEN 'missed'
       ELSE 'cancelled' END,
  f.ref, f.struct, f.ref, f.id, md5('appointment:' || s.seed)::uuid, 1, ''
{_ENTRY_SERIES.format(salt=31, future="true")}
CROSS JOIN LATERAL (
  SELECT date_trunc('day', t.at) + interval '7 hours' + interval '30 minutes' * pg_temp.ri(s.seed + 4, 20) AS scheduled
) AS a
CROSS JOIN LATERAL (
  SELECT a.scheduled,
    least(%(now)s, greatest(f.created, a.scheduled - interval '1 day' * (1 + 20 * pg_temp.rnd(s.seed + 5)))) AS wrote
) AS w
{_ENTRY_WHERE}
ORDER BY f.id, g
""",
    # Notes: 20 % private, 55 % for all who follow the file, 25 % shared with named people, structures or
    # departments; 6 % of the private and shared ones are sensitive (never "all who follow").
    f"""
INSERT INTO casework_note (created_at, updated_at, body, visibility, is_sensitive, author_id, author_structure_id,
  beneficiary_id, public_id, version, withdrawal_reason)
SELECT t.at, t.at,
  CASE WHEN v.sensitive THEN (%(sensitive_bodies)s::text[])[1 + pg_temp.ri(s.seed + 3, 2)]
       ELSE (%(bodies)s::text[])[1 + pg_temp.ri(s.seed + 3, 8)] END,
  v.visibility, v.sensitive,
  CASE WHEN pg_temp.rnd(s.seed + 4) < 0.85 THEN f.ref WHEN pg_temp.rnd(s.seed + 4) < 0.95 THEN f.colleague
       ELSE f.sup END,
  f.struct, f.id, md5('note:' || s.seed)::uuid, 1, ''
{_ENTRY_SERIES.format(salt=32, future="false")}
CROSS JOIN LATERAL (
  SELECT x.visibility, x.visibility <> 'followers' AND pg_temp.rnd(s.seed + 6) < 0.06 AS sensitive
  FROM (SELECT CASE WHEN pg_temp.rnd(s.seed + 5) < 0.2 THEN 'private' WHEN pg_temp.rnd(s.seed + 5) < 0.75
                    THEN 'followers' ELSE 'shared' END AS visibility) AS x
) AS v
{_ENTRY_WHERE}
ORDER BY f.id, g
""",  # noqa: S608 (constant fragments only)
    # Who the shared notes are shared with: a sensitive one with the addiction care centre, the others with
    # the social action department or with the PMI centre's referent.
    """
INSERT INTO casework_note_shared_with_structures (note_id, structure_id)
SELECT id, %(csapa)s FROM casework_note WHERE visibility = 'shared' AND is_sensitive ORDER BY id
""",
    """
INSERT INTO casework_note_shared_with_departments (note_id, department_id)
SELECT id, %(dept_social)s FROM casework_note WHERE visibility = 'shared' AND NOT is_sensitive AND mod(id, 2) = 0
ORDER BY id
""",
    """
INSERT INTO casework_note_shared_with_users (note_id, user_id)
SELECT id, %(pmi_ref)s FROM casework_note WHERE visibility = 'shared' AND NOT is_sensitive AND mod(id, 2) = 1
ORDER BY id
""",
]

# The big file: exactly BIG_FILE_ENTRIES items on its referent's timeline: its assignment, its decided
# orientation, two contracts (one renewing the other), and steps, appointments and notes (all written by
# its referent, so that all are readable by them) for the rest.
BIG_FILE = [
    """
INSERT INTO casework_contract (created_at, updated_at, kind, status, start_date, end_date, signed_on, objectives,
  weekly_hours, beneficiary_agreed, author_id, beneficiary_id, renews_id, public_id, version, withdrawal_reason)
VALUES (%(now)s - interval '500 days', %(now)s - interval '500 days', 'cer', 'signed', %(today)s - 500,
  %(today)s - 135, %(today)s - 500, 'Premier contrat.', NULL, true, 1, %(big)s, NULL,
  md5('contract-old:' || %(big)s)::uuid, 1, '')
""",
    """
INSERT INTO casework_contract (created_at, updated_at, kind, status, start_date, end_date, signed_on, objectives,
  weekly_hours, beneficiary_agreed, author_id, beneficiary_id, renews_id, public_id, version, withdrawal_reason)
SELECT %(now)s - interval '135 days', %(now)s - interval '135 days', 'contrat_engagement', 'signed',
  %(today)s - 135, %(today)s + 230, %(today)s - 135, 'Renouvellement.', 15, true, 1, %(big)s, id,
  md5('contract:' || %(big)s)::uuid, 1, ''
FROM casework_contract WHERE public_id = md5('contract-old:' || %(big)s)::uuid
""",
    """
INSERT INTO casework_step (created_at, updated_at, kind, date, status, outcome, author_id, author_structure_id,
  beneficiary_id, public_id, version, withdrawal_reason)
SELECT at, at, (%(step_kinds)s::text[])[1 + mod(g, 11)], (at AT TIME ZONE 'Europe/Paris')::date,
  CASE WHEN mod(g, 10) = 0 THEN 'missed' ELSE 'done' END, 'Étape réalisée.', 1, 1, %(big)s,
  md5('big-step:' || g)::uuid, 1, ''
FROM (SELECT g, %(now)s - interval '1 day' * (3 * g + 1) AS at FROM generate_series(1, 166) g) x
""",
    """
INSERT INTO casework_appointment (created_at, updated_at, scheduled_at, location, purpose, status, author_id,
  with_structure_id, with_user_id, beneficiary_id, public_id, version, withdrawal_reason)
SELECT at - interval '7 days', at - interval '7 days', at, 'Dans les locaux de la structure', 'Point d''étape',
  CASE WHEN mod(g, 8) = 0 THEN 'missed' ELSE 'honoured' END, 1, 1, 1, %(big)s, md5('big-appointment:' || g)::uuid,
  1, ''
FROM (SELECT g, date_trunc('day', %(now)s) - interval '1 day' * (3 * g + 2) + interval '9 hours' AS at
      FROM generate_series(1, 165) g) x
""",
    """
INSERT INTO casework_note (created_at, updated_at, body, visibility, is_sensitive, author_id, author_structure_id,
  beneficiary_id, public_id, version, withdrawal_reason)
SELECT at, at, (%(bodies)s::text[])[1 + mod(g, 8)],
  CASE mod(g, 4) WHEN 0 THEN 'private' WHEN 1 THEN 'shared' ELSE 'followers' END,
  mod(g, 20) = 0, 1, 1, %(big)s, md5('big-note:' || g)::uuid, 1, ''
FROM (SELECT g, %(now)s - interval '1 day' * (3 * g) - interval '3 hours' AS at FROM generate_series(1, 165) g) x
""",
    """
INSERT INTO casework_note_shared_with_departments (note_id, department_id)
SELECT id, %(dept_social)s FROM casework_note WHERE beneficiary_id = %(big)s AND visibility = 'shared'
""",
]

# Shares: 2 % of the files with the addiction care centre (a structure's group), 2 % with the health
# department (a department's group), 1 % with the PMI centre's referent until a date, 1 % ended shares.
# Never with the referents' own structures: the personas see exactly their structures' files.
SHARES = [
    """
INSERT INTO casework_share (created_at, updated_at, public_id, reason, starts_at, ends_at, ended_at, author_id,
  beneficiary_id, ended_by_id, shared_with_department_id, shared_with_structure_id, shared_with_user_id)
SELECT x.starts, x.starts, md5('share:' || f.id)::uuid, x.reason, x.starts,
  CASE WHEN x.kind = 'user' THEN %(now)s + interval '30 days' END,
  CASE WHEN x.kind = 'ended' THEN x.starts + interval '10 days' END,
  f.ref, f.id,
  CASE WHEN x.kind = 'ended' THEN f.ref END,
  CASE WHEN x.kind = 'department' THEN %(dept_health)s WHEN x.kind = 'ended' THEN %(dept_social)s END,
  CASE WHEN x.kind = 'structure' THEN %(csapa)s END,
  CASE WHEN x.kind = 'user' THEN %(pmi_ref)s END
FROM bf f
CROSS JOIN LATERAL (
  SELECT CASE WHEN mod(f.id, 50) = 3 THEN 'structure' WHEN mod(f.id, 50) = 29 THEN 'department'
              WHEN mod(f.id, 100) = 57 THEN 'user' WHEN mod(f.id, 100) = 77 THEN 'ended' END AS kind,
    greatest(f.created, %(now)s - interval '1 day' * (11 + pg_temp.ri(f.id::bigint * 100 + 40, 200))) AS starts,
    'Coordination de l''accompagnement avec le partenaire.' AS reason
) AS x
WHERE NOT f.intake AND f.id <> %(big)s AND x.kind IS NOT NULL
ORDER BY f.id
""",
    """
INSERT INTO casework_beneficiarygroupobjectpermission (expires_at, content_object_id, group_id, permission_id)
SELECT s.ends_at, s.beneficiary_id, coalesce(st.group_id, d.group_id), %(perm)s
FROM casework_share s
LEFT JOIN accounts_structure st ON st.id = s.shared_with_structure_id
LEFT JOIN accounts_department d ON d.id = s.shared_with_department_id
WHERE s.ended_at IS NULL AND s.shared_with_user_id IS NULL
ORDER BY s.beneficiary_id
""",
    """
INSERT INTO casework_beneficiaryuserobjectpermission (expires_at, content_object_id, permission_id, user_id)
SELECT s.ends_at, s.beneficiary_id, %(perm)s, s.shared_with_user_id
FROM casework_share s WHERE s.ended_at IS NULL AND s.shared_with_user_id IS NOT NULL
ORDER BY s.beneficiary_id
""",
]

# Household members (about 45 % of the files), diagnostics with two barriers (30 %), an objective with an
# action (20 %).
PATHWAY = [
    """
INSERT INTO casework_householdmember (created_at, updated_at, relationship, first_name, last_name, birth_date,
  is_dependent, beneficiary_id)
SELECT f.created, f.created,
  CASE WHEN g = 1 AND pg_temp.rnd(f.id::bigint * 100 + 51) < 0.5 THEN 'spouse'
       WHEN pg_temp.rnd(f.id::bigint * 100 + 52 + g) < 0.05 THEN 'other' ELSE 'child' END AS relationship,
  (%(first_names)s::text[])[1 + pg_temp.ri(f.id::bigint * 1000 + 60 + g, %(n_first)s)],
  (%(last_names)s::text[])[1 + pg_temp.ri(f.id::bigint * 100 + 10, %(n_last)s)],
  (%(now)s - interval '1 day' * (300 + pg_temp.ri(f.id::bigint * 1000 + 70 + g, 6000)))::date,
  true, f.id
FROM bf f
CROSS JOIN LATERAL generate_series(1, 1 + pg_temp.ri(f.id::bigint * 100 + 53, 3)) AS g
WHERE f.id <> %(big)s AND pg_temp.rnd(f.id::bigint * 100 + 50) < 0.45
ORDER BY f.id, g
""",
    """
INSERT INTO casework_diagnostic (created_at, updated_at, carried_out_on, situation, education_level, qualifications,
  work_experience, author_id, beneficiary_id, public_id, version, withdrawal_reason)
SELECT w, w, (w AT TIME ZONE 'Europe/Paris')::date, 'Situation familiale et professionnelle examinée.',
  (%(levels)s::text[])[1 + pg_temp.ri(f.id::bigint * 100 + 55, 6)], '',
  'Expériences en restauration et en logistique.',
  f.ref, f.id, md5('diagnostic:' || f.id)::uuid, 1, ''
FROM bf f
CROSS JOIN LATERAL (SELECT least(f.horizon, f.created + interval '20 days') AS w) AS t
WHERE NOT f.intake AND f.id <> %(big)s AND pg_temp.rnd(f.id::bigint * 100 + 54) < 0.3
ORDER BY f.id
""",
    """
INSERT INTO casework_barrier (created_at, updated_at, kind, severity, comment, resolved_on, diagnostic_id)
SELECT d.created_at, d.created_at, (%(barriers)s::text[])[1 + k.kind],
  (ARRAY['low', 'medium', 'high'])[1 + mod(d.id + g, 3)],
  '', CASE WHEN g = 2 AND mod(d.id, 3) = 0 THEN d.carried_out_on + 90 END, d.id
FROM casework_diagnostic d
CROSS JOIN generate_series(1, 2) AS g
CROSS JOIN LATERAL (
  SELECT CASE WHEN g = 1 THEN pg_temp.ri(d.beneficiary_id * 100 + 56, 8)
              ELSE mod(pg_temp.ri(d.beneficiary_id * 100 + 56, 8) + 1 + pg_temp.ri(d.beneficiary_id * 100 + 57, 7), 8)
         END AS kind
) AS k
ORDER BY d.id, g
""",
    """
INSERT INTO casework_objective (created_at, updated_at, theme, title, description, status, due_date, author_id,
  beneficiary_id, contract_id, beneficiary_agreed, public_id, version, withdrawal_reason)
SELECT w, w, (%(themes)s::text[])[1 + o.i], (%(titles)s::text[])[1 + o.i], '',
  (ARRAY['open', 'in_progress', 'achieved', 'abandoned'])[1 + pg_temp.ri(f.id::bigint * 100 + 59, 4)],
  (w + interval '180 days')::date, f.ref, f.id, NULL, true, md5('objective:' || f.id)::uuid, 1, ''
FROM bf f
CROSS JOIN LATERAL (SELECT least(f.horizon, f.created + interval '30 days') AS w) AS t
CROSS JOIN LATERAL (SELECT pg_temp.ri(f.id::bigint * 100 + 60, 8) AS i) AS o
WHERE NOT f.intake AND f.id <> %(big)s AND pg_temp.rnd(f.id::bigint * 100 + 58) < 0.2
ORDER BY f.id
""",
    """
INSERT INTO casework_action (created_at, updated_at, title, status, due_date, done_on, author_id, objective_id,
  public_id, version, withdrawal_reason)
SELECT o.created_at, o.created_at, 'Première démarche : ' || lower(o.title),
  CASE WHEN o.status = 'achieved' THEN 'done' WHEN o.status = 'abandoned' THEN 'cancelled' ELSE 'in_progress' END,
  o.due_date, CASE WHEN o.status = 'achieved' THEN (o.created_at AT TIME ZONE 'Europe/Paris')::date + 30 END,
  o.author_id, o.id, md5('action:' || o.id)::uuid, 1, ''
FROM casework_objective o ORDER BY o.id
""",
]

# last_activity_at: the latest entry written on the file (casework.services.common.beneficiary_touch).
ACTIVITY = [
    """
UPDATE casework_beneficiary b SET last_activity_at = m.at
FROM (
  SELECT beneficiary_id, max(at) AS at FROM (
    SELECT beneficiary_id, max(created_at) AS at FROM casework_step GROUP BY 1
    UNION ALL SELECT beneficiary_id, max(created_at) FROM casework_appointment GROUP BY 1
    UNION ALL SELECT beneficiary_id, max(created_at) FROM casework_note GROUP BY 1
    UNION ALL SELECT beneficiary_id, max(created_at) FROM casework_contract GROUP BY 1
  ) AS x GROUP BY beneficiary_id
) AS m
WHERE b.id = m.beneficiary_id
""",
]

# The audit trail: events spread over the last 12 months, in working hours (Europe/Paris), by the users
# with their usernames, structures and roles as audit.trail writes them. Each (day, shard) chain is
# numbered 1, 2, 3... in time order and links to its previous hash (the hashes are not the content's: the
# trail does not verify, but audit.trail.audit_record appends after the last link as it would).
AUDIT = [
    "DROP TABLE IF EXISTS pg_temp.ba",
    """
CREATE TEMP TABLE ba AS
SELECT u.id, u.username,
  left((SELECT string_agg(name, ', ' ORDER BY name) FROM (
          SELECT DISTINCT s.name COLLATE "C" AS name FROM accounts_membership m
          JOIN accounts_structure s ON s.id = m.structure_id WHERE m.user_id = u.id) AS x), 500) AS structures,
  left((SELECT string_agg(role, ', ' ORDER BY role) FROM (
          SELECT DISTINCT m.role COLLATE "C" AS role FROM accounts_membership m WHERE m.user_id = u.id) AS y), 200)
    AS roles
FROM accounts_user u
""",
    "ALTER TABLE ba ADD PRIMARY KEY (id)",
    """
INSERT INTO casework_auditevent (occurred_at, chain_day, chain_shard, sequence, previous_hash, hash, actor_id,
  actor_username, actor_structures, actor_roles, action, url_name, status_code, beneficiary_id, object_type,
  object_id, ip_address, user_agent, request_id, reason, details)
SELECT at, day, shard, row_number() OVER w, coalesce(lag(hash) OVER w, repeat('0', 64)), hash, actor,
  username, structures, roles, action, url_name, status_code, beneficiary_id, object_type, object_id, ip_address,
  user_agent, request_id, '', details
FROM (
  SELECT e, a.at, (a.at AT TIME ZONE 'Europe/Paris')::date AS day, mod(c.actor, %(shards)s) AS shard,
    md5('audit:' || e) || md5('audit-hash:' || e) AS hash, c.actor, ba.username, ba.structures, ba.roles,
    k.action,
    CASE k.action
      WHEN 'view_file' THEN 'casework:file_detail'
      WHEN 'view_list' THEN CASE WHEN c.kind = 'supervisor' AND mod(e, 3) = 0 THEN 'team:dashboard'
                                 ELSE 'casework:caseload' END
      WHEN 'search' THEN 'casework:caseload_search'
      WHEN 'write' THEN CASE WHEN c.kind = 'admin' THEN 'admin:accounts_structure_change'
                             ELSE (ARRAY['casework:step_create', 'casework:note_create', 'casework:appointment_create',
                                         'casework:appointment_record'])[1 + mod(e, 4)] END
      WHEN 'view_note' THEN 'casework:note_detail'
      WHEN 'share' THEN 'casework:share_create'
      WHEN 'export' THEN CASE WHEN c.kind = 'auditor' THEN 'audit:exports'
                              ELSE 'team:dashboard_export' END
      WHEN 'view_audit' THEN 'audit:events'
      WHEN 'access_report' THEN 'audit:access_report'
      WHEN 'download' THEN 'audit:export_download'
      WHEN 'permission_change' THEN 'admin:accounts_membership_change'
      WHEN 'import' THEN 'imports:list'
      ELSE '' END AS url_name,
    CASE WHEN k.action IN ('login', 'login_failed', 'logout') THEN NULL
         WHEN k.action IN ('write', 'share', 'permission_change', 'import', 'export') THEN 302
         WHEN k.action = 'view_file' AND mod(e, 100) = 42 THEN 404 ELSE 200 END AS status_code,
    CASE WHEN k.action IN ('view_file', 'write', 'view_note', 'share')
              AND NOT (k.action = 'view_file' AND mod(e, 100) = 42) THEN c.file
         WHEN k.action = 'access_report' THEN 1 + pg_temp.ri(e::bigint * 10 + 5, %(files)s) END AS beneficiary_id,
    CASE k.action WHEN 'view_note' THEN 'note' WHEN 'write' THEN 'step' WHEN 'share' THEN 'share' ELSE '' END
      AS object_type,
    CASE WHEN k.action IN ('view_note', 'write', 'share') THEN md5('object:' || e)::uuid::text ELSE '' END
      AS object_id,
    ('10.' || mod(c.actor, 200) || '.' || mod(c.actor / 200, 250) || '.' || (1 + mod(c.actor, 7)))::inet AS ip_address,
    (%(agents)s::text[])[1 + mod(c.actor, 3)] AS user_agent,
    md5('request:' || e) AS request_id,
    CASE k.action
      WHEN 'view_list' THEN jsonb_build_object('filters', jsonb_build_object('statut', jsonb_build_array('open')),
                                               'count', 20 + mod(e, 230))
      WHEN 'search' THEN jsonb_build_object('count', mod(e, 12))
      WHEN 'view_audit' THEN jsonb_build_object(
        'filters', jsonb_build_object('action', jsonb_build_array('view_file')), 'count', 50)
      ELSE '{}'::jsonb END AS details
  FROM generate_series(1, %(events)s) AS e
  CROSS JOIN LATERAL (SELECT (e - 1 + pg_temp.rnd(e::bigint * 10 + 1)) / %(events)s * 365 AS pos) AS p
  CROSS JOIN LATERAL (
    SELECT least(%(now)s - interval '1 second',
      date_trunc('day', %(now)s AT TIME ZONE 'Europe/Paris') AT TIME ZONE 'Europe/Paris' - interval '365 days'
      + interval '1 day' * floor(p.pos) + interval '7 hours 30 minutes' + interval '11 hours' * (p.pos - floor(p.pos))
    ) AS at
  ) AS a
  CROSS JOIN LATERAL (SELECT pg_temp.rnd(e::bigint * 10 + 2) AS r, pg_temp.rnd(e::bigint * 10 + 3) AS r2,
                             pg_temp.ri(e::bigint * 10 + 4, %(per_ref)s) AS k_file) AS h
  CROSS JOIN LATERAL (
    SELECT CASE WHEN h.r < 0.85 THEN 'referent' WHEN h.r < 0.97 THEN 'supervisor' WHEN h.r < 0.985 THEN 'auditor'
                ELSE 'admin' END AS kind,
      CASE WHEN h.r < 0.85 THEN 1 + pg_temp.ri(e::bigint * 10 + 6, %(nr)s)
           WHEN h.r < 0.95 THEN %(nr)s + 1 + pg_temp.ri(e::bigint * 10 + 6, %(n)s)
           WHEN h.r < 0.96 THEN %(sup10)s
           WHEN h.r < 0.97 THEN %(sup_team)s
           WHEN h.r < 0.985 THEN %(auditor)s
           ELSE %(admin)s END AS actor
  ) AS c0
  CROSS JOIN LATERAL (
    SELECT c0.kind, c0.actor,
      CASE WHEN c0.kind = 'referent' THEN c0.actor + %(nr)s * h.k_file
           WHEN c0.actor <= %(nr)s + %(n)s THEN (c0.actor - %(nr)s - 1) * %(r)s + 1
                + pg_temp.ri(e::bigint * 10 + 7, %(r)s) + %(nr)s * h.k_file
           ELSE 1 + pg_temp.ri(e::bigint * 10 + 7, 4 * %(r)s) + %(nr)s * h.k_file END AS file
  ) AS c
  JOIN ba ON ba.id = c.actor
  CROSS JOIN LATERAL (
    SELECT CASE c.kind
      WHEN 'auditor' THEN CASE WHEN h.r2 < 0.7 THEN 'view_audit' WHEN h.r2 < 0.9 THEN 'access_report'
                               WHEN h.r2 < 0.97 THEN 'export' ELSE 'download' END
      WHEN 'admin' THEN CASE WHEN h.r2 < 0.4 THEN 'write' WHEN h.r2 < 0.6 THEN 'permission_change'
                             WHEN h.r2 < 0.8 THEN 'import' ELSE 'login' END
      ELSE CASE WHEN h.r2 < 0.55 THEN 'view_file' WHEN h.r2 < 0.68 THEN 'view_list' WHEN h.r2 < 0.76 THEN 'search'
                WHEN h.r2 < 0.88 THEN 'write' WHEN h.r2 < 0.93 THEN 'view_note' WHEN h.r2 < 0.94 THEN 'share'
                WHEN h.r2 < 0.97 THEN 'login' WHEN h.r2 < 0.99 THEN 'logout'
                WHEN c.kind = 'supervisor' THEN 'export' ELSE 'login_failed' END
    END AS action
  ) AS k
) AS x
WINDOW w AS (PARTITION BY day, shard ORDER BY at, e)
ORDER BY at, e
""",
]

# The file's end of its latest signed contract and the latest end of its signed contracts, once every
# contract is written (the big file's too), as casework.services.common.files_refresh_contract_end does.
CONTRACT_ENDS = [
    """
UPDATE casework_beneficiary b SET signed_contract_end = (
  SELECT c.end_date FROM casework_contract c
  WHERE c.beneficiary_id = b.id AND c.status = 'signed' AND c.withdrawn_at IS NULL
  ORDER BY c.start_date DESC, c.end_date DESC, c.id DESC LIMIT 1
), signed_contracts_until = (
  SELECT MAX(c.end_date) FROM casework_contract c
  WHERE c.beneficiary_id = b.id AND c.status = 'signed' AND c.withdrawn_at IS NULL
)
""",
]

# The track and decision day of each file's orientation in force, as
# casework.services.common.files_refresh_orientation does.
ORIENTATIONS_IN_FORCE = [
    """
UPDATE casework_beneficiary b SET orientation_track = o.track, orientation_decided_on = o.decided_on
FROM casework_orientation o
WHERE o.beneficiary_id = b.id AND o.status = 'decided'
""",
]

STEPS = [
    ("organisation", ORGANISATION),
    ("skeleton", SKELETON),
    ("beneficiaries", BENEFICIARIES),
    ("assignments", ASSIGNMENTS),
    ("orientations", ORIENTATIONS),
    ("contracts", CONTRACTS),
    ("entries", ENTRIES),
    ("big_file", BIG_FILE),
    ("contract_ends", CONTRACT_ENDS),
    ("orientations_in_force", ORIENTATIONS_IN_FORCE),
    ("shares", SHARES),
    ("pathway", PATHWAY),
    ("activity", ACTIVITY),
    ("audit", AUDIT),
]


# --- What the benchmark needs to know ----------------------------------------------------------------


def _one(cursor, sql: str, params=None):
    cursor.execute(sql, params)
    return cursor.fetchone()[0]


def _usernames(cursor, ids: list[int]) -> list[str]:
    cursor.execute("SELECT id, username FROM accounts_user WHERE id = ANY(%s)", [ids])
    names = dict(cursor.fetchall())
    return [names[i] for i in ids]


def _meta(cursor, spec: Scale, p: dict, database: str) -> dict:
    n, r, nr = p["n"], p["r"], p["nr"]
    sup10_structures = list(range(1, p["sup10_structures"] + 1))
    referent_count = _one(cursor, "SELECT count(*) FROM casework_beneficiary WHERE current_referent_id = 1")
    sup10_count = _one(
        cursor, "SELECT count(*) FROM casework_beneficiary WHERE current_structure_id = ANY(%s)", [sup10_structures]
    )
    like = f"%{SEARCH_TERM}%"
    search_referent = _one(
        cursor,
        "SELECT count(*) FROM casework_beneficiary WHERE current_referent_id = 1 AND search_text LIKE %s",
        [like],
    )
    search_sup10 = _one(
        cursor,
        "SELECT count(*) FROM casework_beneficiary WHERE current_structure_id = ANY(%s) AND search_text LIKE %s",
        [sup10_structures, like],
    )
    filters = {"statut": "open", "orientation": "professional", "contrat": "echu"}
    filters_count = _one(
        cursor,
        """
        SELECT count(*) FROM casework_beneficiary b
        WHERE b.current_structure_id = ANY(%s) AND b.rsa_status = 'open'
          AND EXISTS (SELECT 1 FROM casework_orientation o WHERE o.beneficiary_id = b.id AND o.status = 'decided'
                      AND o.track = 'professional')
          AND (SELECT c.end_date FROM casework_contract c WHERE c.beneficiary_id = b.id AND c.status = 'signed'
               AND c.withdrawn_at IS NULL ORDER BY c.start_date DESC, c.end_date DESC, c.id DESC LIMIT 1) < %s
        """,
        [sup10_structures, p["today"]],
    )
    pages = max(1, math.ceil(sup10_count / CASELOAD_PAGE_SIZE))
    counts = {}
    for table in FILLED_TABLES:
        counts[table] = _one(cursor, f"SELECT count(*) FROM {table}")  # noqa: S608 (constant names)
    referent_ids = [(i % n) * r + (i // n) % r + 1 for i in range(min(50, nr))]
    supervisor_ids = [nr + s for s in range(1, min(10, n) + 1)]
    team = list(range(1, 5))
    return {
        "scale": spec.name,
        "database": database,
        "anchor": p["now"].isoformat(),
        "password": PASSWORD,
        "spec": asdict(spec),
        "personas": {
            "referent": _usernames(cursor, [1])[0],
            "supervisor10": _usernames(cursor, [p["sup10"]])[0],
            "supervisor_team": _usernames(cursor, [p["sup_team"]])[0],
            "auditor": _usernames(cursor, [p["auditor"]])[0],
            "department_admin": _usernames(cursor, [p["admin"]])[0],
            "referents": _usernames(cursor, referent_ids),
            "supervisors": _usernames(cursor, supervisor_ids),
        },
        "referent_files": referent_count,
        "supervisor10_structures": _structure_codes(cursor, sup10_structures),
        "supervisor10_files": sup10_count,
        "supervisor_team_structures": _structure_codes(cursor, team),
        "supervisor_team_referents": len(team) * r,
        "big_file": str(_one(cursor, "SELECT public_id FROM casework_beneficiary WHERE id = %s", [p["big"]])),
        "big_file_entries": BIG_FILE_ENTRIES,
        "search_term": {"term": SEARCH_TERM, "referent": search_referent, "supervisor10": search_sup10},
        "deep_page": max(1, int(pages * 0.8)),
        "supervisor10_pages": pages,
        "filters": filters,
        "filters_count": filters_count,
        "counts": counts,
    }


def _structure_codes(cursor, ids: list[int]) -> list[str]:
    cursor.execute("SELECT code FROM accounts_structure WHERE id = ANY(%s) ORDER BY id", [ids])
    return [row[0] for row in cursor.fetchall()]
