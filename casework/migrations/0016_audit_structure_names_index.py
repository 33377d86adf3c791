"""An index for the auditor's search by structure (issue 8), measured on 2,000,000 audit events.

An event keeps the names of its actor's structures at that moment, ", "-separated (`actor_structures`).
The search by structure matched them with a regular expression on every event (a sequential scan: ~0.9 s
for the page's bounded count, ~3.5 s with an object type as well). This GIN index of the list of names
(`string_to_array(actor_structures, ', ')`) finds the events whose list holds the structure's name; the
search keeps the regular expression as the exact test (casework.audit_filters).

PostgreSQL only (SQLite has no such index and keeps its scan). CONCURRENTLY, as migration 0013 and for
the same reason: every request writes an audit event. If the build fails it leaves an INVALID index
behind: `DROP INDEX audit_structure_names;` then migrate again.
"""

from django.db import migrations

NAME = "audit_structure_names"


def create_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            f"CREATE INDEX CONCURRENTLY {NAME} ON casework_auditevent USING gin (string_to_array(actor_structures, ', '))"
        )


def drop_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP INDEX CONCURRENTLY {NAME}")


class Migration(migrations.Migration):
    atomic = False

    dependencies = [("casework", "0015_beneficiary_orientation_in_force")]

    operations = [migrations.RunPython(create_index, drop_index, elidable=False)]
