"""The split of issue 26 (`casework` into `audit`, `imports` and `team`) on a database filled before it.

The models moved with their tables: casework's migration 0018 forgets them (state only), the new apps'
0001 take them over (state only) and rename their content types. This proves it on a real upgrade:

1. A PostgreSQL database of its own (parcours_split_<random>, created and dropped here) is migrated and
   filled by the code of the commit before the split (BEFORE_SPLIT, checked out in a temporary git worktree
   and run with this virtualenv's python): `seed_demo`, then what the demo data lacks (FILL_BEFORE_SPLIT):
   logins and pages through the whole stack (audit trail, axes, a live session), a cover and a reassignment
   (notifications), a CAF file simulated then imported (import changes and refused rows), a column mapping,
   an audit export, an admin log entry on a moved model. That code then records SNAPSHOT: the rows of every
   table, the content types and permissions, and for every demo persona the files it may read
   (`visible_beneficiaries`), the notes of each it may read (`visible_notes`) and whether it may change it.
2. This tree's `manage.py migrate` upgrades it, in a subprocess as a deployment would; `verify_audit` must
   pass, and the same SNAPSHOT taken by this tree's code must find the same rows, the same grants, and the
   moved models' content types renamed (same ids, so their permissions and log entries follow), never
   duplicated. A second `migrate` must change nothing.

PostgreSQL only (the demo data and the audit trail's trigger are PostgreSQL's); with CI=true the settings
refuse SQLite, and a missing git history fails the test instead of skipping it. About a minute, most of it
the old tree's `migrate` and `seed_demo`.
"""

import contextlib
import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import NoReturn
from urllib.parse import quote, urlencode

import psycopg
import pytest
from django.conf import settings
from psycopg import sql

# main's last commit before the split (cefda26 is the split).
BEFORE_SPLIT = "5463d612190bb5474d7df6b3bd798694b91ede3f"
REPO = Path(settings.BASE_DIR)
# Each step is a Django process on a few thousand rows: ten minutes means something hangs.
STEP_TIMEOUT = 600
MOVED = {
    "audit": ("auditevent", "auditexport"),
    "imports": ("beneficiaryimport", "importchange", "importcolumnmapping", "importrowerror"),
    "team": ("caseworksettings", "notification"),
}
SPLIT_MIGRATIONS = [
    ["audit", "0001_initial"],
    ["casework", "0018_split_into_apps"],
    ["imports", "0001_initial"],
    ["team", "0001_initial"],
]
LOGIN_PERSONAS = ("referente.nord", "referent.sud", "conseiller.ft", "superviseur.nord", "admin.departement", "dpo")

pytestmark = [
    pytest.mark.skipif(
        settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql",
        reason="migrates a PostgreSQL database filled by the code before the split: run with DATABASE_URL=postgres:///…",
    ),
    # Not for its data: so that pytest-django creates the test database, whose server we use.
    pytest.mark.django_db,
]

# Run by the code of BEFORE_SPLIT (`manage.py shell -c`), after `seed_demo`: what the demo data does not
# write. That code never changes, so neither does this script.
FILL_BEFORE_SPLIT = """
import datetime
import json
import os
from pathlib import Path

from django.conf import settings
from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.contenttypes.models import ContentType
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.models import Membership, Role, User
from casework.audit_exports import audit_export_request
from casework.models import Beneficiary, CaseworkSettings, ImportColumnMapping, Note, Notification
from casework.permissions import visible_beneficiaries
from casework.services.team import beneficiaries_reassign, cover_create, covers_update, notification_mark_read

users = {user.username: user for user in User.objects.all()}

# Through the whole stack: the login signals and the audit middleware write the trail, axes its logs.
for username in json.loads(os.environ["SPLIT_LOGIN_PERSONAS"]):
    client = Client()
    response = client.post(reverse("login"), {"username": username, "password": settings.DEMO_PASSWORD})
    assert response.status_code == 302, (username, response.status_code)
    client.get(reverse("casework:caseload"))
    client.get(reverse("casework:caseload_search"), {"q": "mar"})
    for file in visible_beneficiaries(users[username]).order_by("allocataire_number")[:3]:
        assert client.get(reverse("casework:file_detail", args=[file.public_id])).status_code == 200, username
        note = Note.objects.filter(beneficiary=file, author=users[username]).first()
        if note is not None:
            client.get(reverse("casework:note_detail", args=[file.public_id, note.public_id]))
    if username == "dpo":
        assert client.get(reverse("casework:audit_events")).status_code == 200
    if username == "superviseur.nord":
        assert client.get(reverse("casework:team_dashboard")).status_code == 200
    if username != "referent.sud":  # whose session stays open
        client.post(reverse("logout"))
response = Client().post(reverse("login"), {"username": "referente.nord", "password": "not the password"})
assert response.status_code == 200

# Supervision: a cover from today (its covering referent reads the absent one's files) and a
# reassignment, each with its notifications.
supervisor, absent, covering = users["superviseur.nord"], users["referente.nord"], users["demo.referent.1"]
structure = Membership.objects.get(user=absent, role=Role.REFERENT).structure
today = timezone.localdate()
cover_create(
    actor=supervisor,
    absent_referent=absent,
    covering_referent=covering,
    structure=structure,
    starts_on=today,
    ends_on=today + datetime.timedelta(days=14),
    reason="Congés",
)
covers_update()
moved = Beneficiary.objects.filter(current_referent=users["demo.referent.2"]).order_by("allocataire_number").first()
beneficiaries_reassign(
    actor=supervisor, beneficiaries=[moved], referent=covering, structure=structure, reason="Répartition"
)
notification_mark_read(actor=covering, notification=Notification.objects.filter(recipient=covering).first())

# Imports: a CAF file (two new files, one closed, one refused row), simulated then imported.
admin = users["admin.departement"]
ImportColumnMapping.objects.create(name="MSA", mapping={"numero_allocataire": "num_alloc"}, created_by=admin)
closed = Beneficiary.objects.filter(organism="caf").order_by("allocataire_number").first()
rows = [
    "organisme;numero_allocataire;nom;prenom;date_naissance;statut_droits",
    "CAF;9900001;MIGRATION;Alice;02/01/1980;ouvert",
    "CAF;9900002;MIGRATION;Bruno;15/07/1991;ouvert",
    f"CAF;{closed.allocataire_number};{closed.last_name};{closed.first_name};{closed.birth_date:%d/%m/%Y};radie",
    "CAF;9900003;MIGRATION;Chloé;31/02/1985;ouvert",
]
folder = Path(os.environ["SPLIT_DROP_FOLDER"])
folder.mkdir(parents=True)
(folder / "caf.csv").write_text("\\n".join(rows) + "\\n", encoding="utf-8")
call_command("import_beneficiaries", str(folder), "--dry-run")
call_command("import_beneficiaries", str(folder))

# The auditor's export (written at once: no broker), and an admin log entry on a moved model.
export = audit_export_request(actor=users["dpo"], filters={}, format="csv")
export.refresh_from_db()
assert export.status == "done", export.error
LogEntry.objects.create(
    user=admin,
    content_type=ContentType.objects.get_for_model(CaseworkSettings),
    object_id="1",
    object_repr=str(CaseworkSettings.current()),
    action_flag=CHANGE,
    change_message="[]",
)
"""

# Run by both trees (`manage.py shell -c`); writes JSON to $SPLIT_SNAPSHOT. It uses only what both trees
# have: if this tree renames the permission functions, give its run its own imports.
SNAPSHOT = """
import json
import os

from django.apps import apps
from django.contrib.auth.models import Permission
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.db.models import Q

from accounts.models import User
from casework.permissions import can_change, visible_beneficiaries, visible_notes

with connection.cursor() as cursor:
    cursor.execute("SELECT tablename FROM pg_tables WHERE schemaname = current_schema() ORDER BY tablename")
    counts = {}
    for (table,) in cursor.fetchall():
        cursor.execute(f'SELECT count(*) FROM "{table}"')
        counts[table] = cursor.fetchone()[0]
    cursor.execute("SELECT app, name FROM django_migrations ORDER BY app, name")
    migrations = [list(row) for row in cursor.fetchall()]

personas = {}
for user in User.objects.order_by("username"):
    files = {}
    for file in visible_beneficiaries(user).order_by("public_id"):
        files[str(file.public_id)] = {
            "notes": sorted(str(pk) for pk in visible_notes(user, file).values_list("public_id", flat=True)),
            "can_change": can_change(user, file),
        }
    permissions = Permission.objects.filter(Q(user=user) | Q(group__user=user)).distinct()
    personas[user.username] = {
        "files": files,
        "permissions": sorted(list(row) for row in permissions.values_list("pk", "content_type", "codename")),
    }

snapshot = {
    "counts": counts,
    "migrations": migrations,
    # What the ORM of this tree reads through each model, by model label and table.
    "models": {
        model._meta.label: [model._meta.db_table, model._meta.base_manager.count()]
        for model in apps.get_models()
        if model._meta.managed and not model._meta.proxy
    },
    "content_types": sorted(list(row) for row in ContentType.objects.values_list("pk", "app_label", "model")),
    "permissions": sorted(list(row) for row in Permission.objects.values_list("pk", "content_type", "codename")),
    "personas": personas,
}
with open(os.environ["SPLIT_SNAPSHOT"], "w", encoding="utf-8") as handle:
    json.dump(snapshot, handle)
"""


@dataclass
class Upgrade:
    before: dict
    after: dict
    again: dict
    verify_before: subprocess.CompletedProcess
    verify_after: subprocess.CompletedProcess
    migrate_again: subprocess.CompletedProcess
    seconds: dict[str, float] = field(default_factory=dict)


def unavailable(reason: str) -> NoReturn:
    """Skip here, fail in CI: there the test must run."""
    if getattr(settings, "CI", False):
        pytest.fail(f"CI=true: {reason}")
    pytest.skip(reason)


def connection_params(settings_dict: dict, name: str) -> dict:
    params = {
        "dbname": name,
        "host": settings_dict.get("HOST"),
        "port": settings_dict.get("PORT"),
        "user": settings_dict.get("USER"),
        "password": settings_dict.get("PASSWORD"),
        **{key: value for key, value in (settings_dict.get("OPTIONS") or {}).items() if isinstance(value, str)},
    }
    return {key: value for key, value in params.items() if value}


def database_url(settings_dict: dict, name: str) -> str:
    """The DATABASE_URL of database `name` on the test database's server, for the subprocesses."""
    user = quote(settings_dict.get("USER") or "", safe="")
    password = quote(settings_dict.get("PASSWORD") or "", safe="")
    credentials = f"{user}:{password}@" if password else (f"{user}@" if user else "")
    host = quote(settings_dict.get("HOST") or "", safe="")  # a socket directory travels percent-encoded
    port = f":{settings_dict['PORT']}" if settings_dict.get("PORT") else ""
    options = {key: value for key, value in (settings_dict.get("OPTIONS") or {}).items() if isinstance(value, str)}
    query = f"?{urlencode(options)}" if options else ""
    return f"postgres://{credentials}{host}{port}/{quote(name, safe='')}{query}"


@contextlib.contextmanager
def scratch_database(settings_dict: dict):
    """A new, empty database on the test database's server, dropped afterwards."""
    name = f"parcours_split_{secrets.token_hex(4)}"
    server = connection_params(settings_dict, settings_dict["NAME"])
    with psycopg.connect(**server, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield name
    finally:
        with psycopg.connect(**server, autocommit=True) as admin:
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


@contextlib.contextmanager
def checkout(commit: str, path: Path):
    """The tree of `commit` in a temporary git worktree of this repository, removed afterwards."""
    git = shutil.which("git")
    if git is None:
        unavailable("git is not installed: the test checks out the commit before the split")
    found = subprocess.run(  # noqa: S603 (fixed command, no shell)
        [git, "-C", str(REPO), "cat-file", "-e", f"{commit}^{{commit}}"], capture_output=True, check=False
    )
    if found.returncode != 0:
        unavailable(f"commit {commit[:7]} is not in this clone (shallow? `git fetch --unshallow`)")
    added = subprocess.run(  # noqa: S603
        [git, "-C", str(REPO), "worktree", "add", "--detach", "--quiet", str(path), commit],
        capture_output=True,
        text=True,
        check=False,
    )
    if added.returncode != 0:
        pytest.fail(f"git worktree add {commit[:7]} failed:\n{added.stderr}")
    try:
        yield path
    finally:
        subprocess.run(  # noqa: S603
            [git, "-C", str(REPO), "worktree", "remove", "--force", str(path)], capture_output=True, check=False
        )


def environment(database: str, work: Path) -> dict[str, str]:
    """Everything the subprocesses see: no broker (tasks run at once), files under `work`."""
    env = {name: value for name, value in os.environ.items() if name.startswith("PG")}  # libpq's own
    env.update(
        PATH=os.environ.get("PATH", "/usr/bin:/bin"),
        HOME=os.environ.get("HOME", str(work)),
        PYTHONUTF8="1",
        PYTHONDONTWRITEBYTECODE="1",
        DJANGO_SETTINGS_MODULE="config.settings.dev",
        PARCOURS_ENV="development",
        DATABASE_URL=database,
        CELERY_BROKER_URL="",
        EMAIL_BACKEND="django.core.mail.backends.dummy.EmailBackend",
        PRIVATE_MEDIA_ROOT=str(work / "private"),
        SPLIT_DROP_FOLDER=str(work / "drop"),
        SPLIT_LOGIN_PERSONAS=json.dumps(LOGIN_PERSONAS),
    )
    return env


def tail(text: str, lines: int = 40) -> str:
    return "\n".join(text.splitlines()[-lines:])


def manage(tree: Path, *args: str, env: dict[str, str], check: bool = True) -> subprocess.CompletedProcess:
    result = subprocess.run(  # noqa: S603
        [sys.executable, "manage.py", *args],
        cwd=tree,
        env=env,
        capture_output=True,
        text=True,
        timeout=STEP_TIMEOUT,
        check=False,
    )
    if check and result.returncode != 0:
        what = "shell -c <script>" if args[0] == "shell" else " ".join(args)
        output = f"{tail(result.stdout)}\n{tail(result.stderr)}"
        pytest.fail(f"`manage.py {what}` in {tree} exited with {result.returncode}:\n{output}")
    return result


def snapshot(tree: Path, env: dict[str, str], path: Path) -> dict:
    manage(tree, "shell", "-c", SNAPSHOT, env={**env, "SPLIT_SNAPSHOT": str(path)})
    return json.loads(path.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def upgrade(django_db_setup, tmp_path_factory) -> Upgrade:
    """The database filled before the split, then upgraded by this tree (once per module: about a minute)."""
    work = tmp_path_factory.mktemp("split")
    settings_dict = settings.DATABASES["default"]  # the test database, created by django_db_setup
    seconds = {}
    started = time.monotonic()

    def lap(step: str) -> None:
        nonlocal started
        now = time.monotonic()
        seconds[step] = round(now - started, 1)
        started = now

    with checkout(BEFORE_SPLIT, work / "before") as old, scratch_database(settings_dict) as name:
        env = environment(database_url(settings_dict, name), work)
        lap("checkout and database")
        manage(old, "migrate", "--no-input", env=env)
        lap("migrate before the split")
        manage(old, "seed_demo", env=env)
        lap("seed_demo")
        manage(old, "shell", "-c", FILL_BEFORE_SPLIT, env=env)
        lap("fill")
        verify_before = manage(old, "verify_audit", env=env, check=False)
        before = snapshot(old, env, work / "before.json")
        lap("verify_audit and snapshot before")
        manage(REPO, "migrate", "--no-input", env=env)
        lap("migrate")
        verify_after = manage(REPO, "verify_audit", env=env, check=False)
        after = snapshot(REPO, env, work / "after.json")
        lap("verify_audit and snapshot after")
        migrate_again = manage(REPO, "migrate", "--no-input", env=env)
        again = snapshot(REPO, env, work / "again.json")
        lap("migrate again and snapshot")
    lap("cleanup")
    seconds["total"] = round(sum(seconds.values()), 1)
    print(f"Split migration test, seconds per step: {seconds}")  # shown with -rP or -s
    return Upgrade(before, after, again, verify_before, verify_after, migrate_again, seconds)


def moved_content_types(snapshot: dict) -> dict[int, tuple[str, str]]:
    models = {model for names in MOVED.values() for model in names}
    return {pk: (app, model) for pk, app, model in snapshot["content_types"] if model in models}


def first_differences(before: dict, after: dict, limit: int = 20) -> list[str]:
    """What a persona reads differently, file by file (a readable failure instead of a dict diff)."""
    found = []
    for username in sorted(set(before) | set(after)):
        files_before = before.get(username, {}).get("files", {})
        files_after = after.get(username, {}).get("files", {})
        for public_id in sorted(set(files_before) | set(files_after)):
            was, now = files_before.get(public_id), files_after.get(public_id)
            if was != now:
                found.append(f"{username} / file {public_id}: before {was}, after {now}")
        if before.get(username, {}).get("permissions") != after.get(username, {}).get("permissions"):
            found.append(f"{username}: global permissions differ")
    return found[:limit]


def test_the_fill_before_the_split_holds_every_kind_of_row(upgrade):
    counts = upgrade.before["counts"]
    moved_tables = [f"casework_{model}" for names in MOVED.values() for model in names]
    assert [table for table in moved_tables if not counts.get(table)] == []
    for table in ("casework_beneficiary", "casework_note", "casework_share", "casework_emergencyaccess",
                  "casework_cover", "casework_beneficiaryuserobjectpermission", "django_admin_log",
                  "django_session", "axes_accesslog", "axes_accessattempt"):  # fmt: skip
        assert counts.get(table), table
    assert upgrade.verify_before.returncode == 0, upgrade.verify_before.stderr
    personas = upgrade.before["personas"]
    assert set(LOGIN_PERSONAS) <= set(personas)
    # The referents read files and notes; the DPO reads none (docs/permissions.md).
    assert all(personas[name]["files"] for name in ("referente.nord", "referent.sud", "superviseur.nord"))
    assert any(file["notes"] for file in personas["referente.nord"]["files"].values())
    assert personas["dpo"]["files"] == {}
    # The cover: the covering referent reads at least every file the absent one reads as referent.
    assert len(personas["demo.referent.1"]["files"]) > len(personas["referente.nord"]["files"])


def test_the_split_is_applied_and_every_table_keeps_its_rows(upgrade):
    before, after = upgrade.before, upgrade.after
    added = [row for row in after["migrations"] if row not in before["migrations"]]
    # This tree migrates to its latest state: the split's migrations, then those written since (issue 27's
    # imports.0002, accounts.0003...), which are not the split's business.
    assert [row for row in added if row in SPLIT_MIGRATIONS] == SPLIT_MIGRATIONS
    assert set(after["counts"]) == set(before["counts"]), "no table is created or dropped"
    changed = {
        table: (before["counts"][table], after["counts"][table])
        for table in before["counts"]
        if before["counts"][table] != after["counts"][table] and table != "django_migrations"
    }
    assert changed == {}
    assert after["counts"]["django_migrations"] == before["counts"]["django_migrations"] + len(added)


def test_this_tree_reads_every_row_of_the_moved_tables_through_the_new_apps(upgrade):
    after = upgrade.after
    for app, names in MOVED.items():
        labels = {label.lower(): table for label, (table, _) in after["models"].items() if label.startswith(f"{app}.")}
        for model in names:
            assert labels.get(f"{app}.{model}") == f"casework_{model}", (app, model)
    left = {f"casework.{model}" for names in MOVED.values() for model in names}
    assert [label for label in after["models"] if label.lower() in left] == []
    unread = {
        label: (count, after["counts"][table])
        for label, (table, count) in after["models"].items()
        if count != after["counts"][table]
    }
    assert unread == {}


def test_the_audit_chain_still_verifies_after_the_split(upgrade):
    result = upgrade.verify_after
    assert result.returncode == 0, f"{result.stdout}\n{result.stderr}"
    checked = re.match(r"(\d+) événement", result.stdout)
    assert checked is not None, result.stdout
    assert int(checked.group(1)) == upgrade.before["counts"]["casework_auditevent"] > 0


def test_the_moved_models_content_types_are_renamed_never_duplicated(upgrade):
    before, after = upgrade.before, upgrade.after
    # Same rows, same ids: the permissions and admin log entries that point at them follow.
    assert len(after["content_types"]) == len(before["content_types"])
    expected = {
        pk: (app, model)
        for app, names in MOVED.items()
        for model in names
        for pk, old_app, old_model in before["content_types"]
        if (old_app, old_model) == ("casework", model)
    }
    assert len(expected) == sum(len(names) for names in MOVED.values())
    assert moved_content_types(after) == expected
    unchanged = [row for row in before["content_types"] if row[0] not in expected]
    assert [row for row in after["content_types"] if row[0] not in expected] == unchanged
    # The permissions are the same rows; each moved model keeps its own, on its renamed content type.
    assert after["permissions"] == before["permissions"]
    for pk, (_, model) in expected.items():
        codenames = {codename for _, content_type, codename in after["permissions"] if content_type == pk}
        assert {f"{action}_{model}" for action in ("add", "change", "delete", "view")} <= codenames, model


def test_every_persona_reads_the_same_files_and_notes_after_the_split(upgrade):
    before, after = upgrade.before["personas"], upgrade.after["personas"]
    assert set(after) == set(before)
    assert first_differences(before, after) == []


def test_a_second_migrate_changes_nothing(upgrade):
    assert "No migrations to apply." in upgrade.migrate_again.stdout
    assert upgrade.again == upgrade.after
