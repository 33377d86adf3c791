"""An index for the auditor's search by action (issue 8), measured on 2,000,000 audit events.

"Every emergency access", "every download": an action is the DPO's first question, and a rare action was
found by reading the whole table (Parallel Seq Scan, ~370 ms for the page's count, for no row at all).
With (action, occurred_at) the count is an Index Only Scan and the page an Index Scan Backward on that
action's entries, already in time order.

Written as SQL because casework/models.py is not this change's (the model state is left as it is, so
`makemigrations --check` stays quiet). CONCURRENTLY on PostgreSQL: every request writes an audit event,
and a plain CREATE INDEX would hold them all for as long as the build takes (seconds here, minutes on a
larger trail). A concurrent build cannot run in a transaction, hence `atomic = False`; if it fails it
leaves an INVALID index behind: `DROP INDEX audit_action_when;` then migrate again.
"""

from django.db import migrations

INDEXES = {
    "audit_action_when": "casework_auditevent (action, occurred_at)",
}


def create_indexes(apps, schema_editor):
    concurrently = " CONCURRENTLY" if schema_editor.connection.vendor == "postgresql" else ""
    for name, definition in INDEXES.items():
        schema_editor.execute(f"CREATE INDEX{concurrently} {name} ON {definition}")


def drop_indexes(apps, schema_editor):
    concurrently = " CONCURRENTLY" if schema_editor.connection.vendor == "postgresql" else ""
    for name in INDEXES:
        schema_editor.execute(f"DROP INDEX{concurrently} {name}")


class Migration(migrations.Migration):
    atomic = False

    dependencies = [("casework", "0012_dashboard_indexes")]

    operations = [migrations.RunPython(create_indexes, drop_indexes, elidable=False)]
