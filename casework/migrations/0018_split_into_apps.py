"""The audit trail, the imports and supervision move to their own apps (audit, imports, team).

Their tables keep their names (db_table), so only Django's state changes here; the new apps' first
migrations take the models over, and rename their content types (and so their permissions).
"""

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('casework', '0017_signed_contracts_until'),
    ]

    operations = [
        # The tables stay where they are, under their names: only Django's state forgets these models.
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.RemoveField(
                    model_name='auditexport',
                    name='requested_by',
                ),
                migrations.RemoveField(
                    model_name='beneficiaryimport',
                    name='dry_run_of',
                ),
                migrations.RemoveField(
                    model_name='beneficiaryimport',
                    name='uploaded_by',
                ),
                migrations.RemoveField(
                    model_name='importchange',
                    name='beneficiary_import',
                ),
                migrations.RemoveField(
                    model_name='importrowerror',
                    name='beneficiary_import',
                ),
                migrations.RemoveField(
                    model_name='caseworksettings',
                    name='updated_by',
                ),
                migrations.RemoveField(
                    model_name='importchange',
                    name='beneficiary',
                ),
                migrations.RemoveField(
                    model_name='importcolumnmapping',
                    name='created_by',
                ),
                migrations.RemoveField(
                    model_name='importcolumnmapping',
                    name='updated_by',
                ),
                migrations.RemoveField(
                    model_name='notification',
                    name='beneficiary',
                ),
                migrations.RemoveField(
                    model_name='notification',
                    name='cover',
                ),
                migrations.RemoveField(
                    model_name='notification',
                    name='recipient',
                ),
                migrations.DeleteModel(
                    name='AuditEvent',
                ),
                migrations.DeleteModel(
                    name='AuditExport',
                ),
                migrations.DeleteModel(
                    name='BeneficiaryImport',
                ),
                migrations.DeleteModel(
                    name='ImportRowError',
                ),
                migrations.DeleteModel(
                    name='CaseworkSettings',
                ),
                migrations.DeleteModel(
                    name='ImportChange',
                ),
                migrations.DeleteModel(
                    name='ImportColumnMapping',
                ),
                migrations.DeleteModel(
                    name='Notification',
                ),
            ],
            database_operations=[],
        ),
    ]
