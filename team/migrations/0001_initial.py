"""The models that were `casework`'s, on their tables of the time (db_table): state only, no SQL.

Their content types (and the permissions and admin log entries that point at them) are renamed from
`casework` to `team`, so that no permission is lost or granted twice.
"""

import django.db.models.deletion
import django.utils.timezone
import uuid
from django.conf import settings
from django.db import migrations, models


MODELS = ('caseworksettings', 'notification')


def move_content_types(apps, schema_editor, source="casework", target="team"):
    ContentType = apps.get_model("contenttypes", "ContentType")
    db = schema_editor.connection.alias
    for model in MODELS:
        # On a new database the content types do not exist yet (post_migrate creates them).
        if not ContentType.objects.using(db).filter(app_label=target, model=model).exists():
            ContentType.objects.using(db).filter(app_label=source, model=model).update(app_label=target)


def move_content_types_back(apps, schema_editor):
    move_content_types(apps, schema_editor, source="team", target="casework")


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('contenttypes', '0002_remove_content_type_name'),
        ('casework', '0018_split_into_apps'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        # The tables exist already (created by casework's migrations): only Django's state moves.
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name='CaseworkSettings',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('created_at', models.DateTimeField(auto_now_add=True, verbose_name='créé le')),
                        ('updated_at', models.DateTimeField(auto_now=True, verbose_name='modifié le')),
                        ('orientation_delay_days', models.PositiveSmallIntegerField(default=30, verbose_name="délai d'orientation d'un nouvel entrant (jours)")),
                        ('contract_delay_days', models.PositiveSmallIntegerField(default=60, verbose_name="délai de signature d'un contrat après l'orientation (jours)")),
                        ('contract_expiring_days', models.PositiveSmallIntegerField(default=30, verbose_name='un contrat arrive à échéance dans moins de (jours)')),
                        ('inactivity_warning_months', models.PositiveSmallIntegerField(default=3, verbose_name='sans activité depuis (mois, premier seuil)')),
                        ('inactivity_alert_months', models.PositiveSmallIntegerField(default=6, verbose_name='sans activité depuis (mois, second seuil)')),
                        ('missed_appointments_days', models.PositiveSmallIntegerField(default=60, verbose_name='rendez-vous manqués sur les derniers (jours)')),
                        ('new_files_days', models.PositiveSmallIntegerField(default=30, verbose_name='nouveaux dossiers sur les derniers (jours)')),
                        ('updated_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='modifié par')),
                    ],
                    options={
                        'verbose_name': 'délais du Département',
                        'verbose_name_plural': 'délais du Département',
                        'db_table': 'casework_caseworksettings',
                        'constraints': [models.CheckConstraint(condition=models.Q(('pk', 1)), name='casework_settings_single_row'), models.CheckConstraint(condition=models.Q(('inactivity_warning_months__lt', models.F('inactivity_alert_months'))), name='casework_settings_inactivity_order', violation_error_message="Le premier seuil d'inactivité doit être plus court que le second."), models.CheckConstraint(condition=models.Q(('orientation_delay_days__gt', 0), ('contract_delay_days__gt', 0), ('contract_expiring_days__gt', 0), ('inactivity_warning_months__gt', 0), ('missed_appointments_days__gt', 0), ('new_files_days__gt', 0)), name='casework_settings_positive', violation_error_message='Les délais doivent être supérieurs à zéro.')],
                    },
                ),
                migrations.CreateModel(
                    name='Notification',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('public_id', models.UUIDField(default=uuid.uuid4, editable=False, unique=True)),
                        ('kind', models.CharField(choices=[('file_assigned', 'Dossier confié'), ('cover_started', "Début d'intérim"), ('cover_ended', "Fin d'intérim")], max_length=20, verbose_name='type')),
                        ('message', models.CharField(max_length=300, verbose_name='message')),
                        ('created_at', models.DateTimeField(default=django.utils.timezone.now, verbose_name='le')),
                        ('read_at', models.DateTimeField(blank=True, null=True, verbose_name='lu le')),
                        ('emailed_at', models.DateTimeField(blank=True, null=True, verbose_name='envoyé par courriel le')),
                        ('beneficiary', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='casework.beneficiary', verbose_name='bénéficiaire')),
                        ('cover', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='casework.cover', verbose_name='intérim')),
                        ('recipient', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='notifications', to=settings.AUTH_USER_MODEL, verbose_name='destinataire')),
                    ],
                    options={
                        'verbose_name': 'notification',
                        'verbose_name_plural': 'notifications',
                        'db_table': 'casework_notification',
                        'ordering': ['-created_at', '-pk'],
                        'indexes': [models.Index(fields=['recipient', 'read_at', 'created_at'], name='notification_inbox')],
                        'constraints': [models.CheckConstraint(condition=models.Q(('kind__in', ['file_assigned', 'cover_started', 'cover_ended'])), name='notification_kind_valid', violation_error_message='Type de notification inconnu.')],
                    },
                ),
            ],
            database_operations=[],
        ),
        migrations.RunPython(move_content_types, move_content_types_back, elidable=False),
    ]
