from django.db import migrations, models

# The latest end among each file's signed, non-withdrawn contracts, as
# casework.services.common.files_refresh_contract_end sets it (one statement; the same SQL on PostgreSQL
# and SQLite).
BACKFILL = """
UPDATE casework_beneficiary SET signed_contracts_until = (
    SELECT MAX(c.end_date) FROM casework_contract c
    WHERE c.beneficiary_id = casework_beneficiary.id AND c.status = 'signed' AND c.withdrawn_at IS NULL
)
"""


class Migration(migrations.Migration):

    dependencies = [
        ("casework", "0016_audit_structure_names_index"),
    ]

    operations = [
        migrations.AddField(
            model_name="beneficiary",
            name="signed_contracts_until",
            field=models.DateField(
                blank=True, editable=False, null=True, verbose_name="fin la plus tardive des contrats signés"
            ),
        ),
        migrations.RunSQL(BACKFILL, migrations.RunSQL.noop),
    ]
