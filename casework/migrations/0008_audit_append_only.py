"""On PostgreSQL, the audit table refuses UPDATE and DELETE of its rows, whoever sends them.

TRUNCATE is left to the table's owner (the test suite's flush uses it); revoke it from the
application's role in production (docs/audit.md).

The only exception is the retention purge, which sets `parcours.audit_purge = 'on'` for its own
transaction (SET LOCAL) before deleting whole expired days. SQLite (the laptop default) has no such
guard: there the hash chain (verify_audit) is the only protection.
"""

from django.db import migrations

CREATE = """
CREATE OR REPLACE FUNCTION casework_audit_append_only() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'DELETE' AND coalesce(current_setting('parcours.audit_purge', true), '') = 'on' THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION 'casework_auditevent is append-only (%% refused)', TG_OP;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER casework_audit_append_only
    BEFORE UPDATE OR DELETE ON casework_auditevent
    FOR EACH ROW EXECUTE FUNCTION casework_audit_append_only();
"""

DROP = """
DROP TRIGGER IF EXISTS casework_audit_append_only ON casework_auditevent;
DROP FUNCTION IF EXISTS casework_audit_append_only();
"""


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE)


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)


class Migration(migrations.Migration):
    dependencies = [("casework", "0007_audit_trail")]

    operations = [migrations.RunPython(create, drop)]
