"""The models that were `casework`'s, on their tables of the time (db_table): state only, no SQL.

Their content types (and the permissions and admin log entries that point at them) are renamed from
`casework` to `imports`, so that no permission is lost or granted twice.
"""

import django.db.models.deletion
import django.utils.timezone
import uuid
from django.conf import settings
from django.db import migrations, models


MODELS = ('importcolumnmapping', 'beneficiaryimport', 'importrowerror', 'importchange')


def move_content_types(apps, schema_editor, source="casework", target="imports"):
    ContentType = apps.get_model("contenttypes", "ContentType")
    db = schema_editor.connection.alias
    for model in MODELS:
        # On a new database the content types do not exist yet (post_migrate creates them).
        if not ContentType.objects.using(db).filter(app_label=target, model=model).exists():
            ContentType.objects.using(db).filter(app_label=source, model=model).update(app_label=target)


def move_content_types_back(apps, schema_editor):
    move_content_types(apps, schema_editor, source="imports", target="casework")


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
                    name='BeneficiaryImport',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('public_id', models.UUIDField(default=uuid.uuid4, editable=False, unique=True, verbose_name='identifiant public')),
                        ('uploaded_at', models.DateTimeField(default=django.utils.timezone.now, verbose_name='déposé le')),
                        ('original_name', models.CharField(max_length=255, verbose_name='nom du fichier')),
                        ('file_name', models.CharField(max_length=100, verbose_name='fichier enregistré')),
                        ('file_size', models.PositiveBigIntegerField(verbose_name='taille')),
                        ('sha256', models.CharField(max_length=64, verbose_name='empreinte SHA-256')),
                        ('format', models.CharField(choices=[('csv', 'CSV'), ('xlsx', 'Excel (.xlsx)'), ('xml', 'Flux XML CAF/MSA')], max_length=10, verbose_name='format')),
                        ('default_organism', models.CharField(blank=True, choices=[('caf', 'CAF'), ('msa', 'MSA')], max_length=3, verbose_name='organisme par défaut')),
                        ('mapping_name', models.CharField(blank=True, max_length=100, verbose_name='correspondance de colonnes')),
                        ('mapping', models.JSONField(blank=True, default=dict, verbose_name='correspondance utilisée')),
                        ('dry_run', models.BooleanField(default=True, verbose_name='simulation')),
                        ('status', models.CharField(choices=[('uploaded', 'Déposé'), ('checking', 'Vérification en cours'), ('checked', 'Vérifié (simulation)'), ('queued', 'En attente'), ('running', 'Import en cours'), ('done', 'Importé'), ('failed', 'Échec')], default='queued', max_length=10, verbose_name='état')),
                        ('total_rows', models.PositiveIntegerField(blank=True, null=True, verbose_name='lignes du fichier')),
                        ('rows_processed', models.PositiveIntegerField(default=0, verbose_name='lignes traitées')),
                        ('created_count', models.PositiveIntegerField(default=0, verbose_name='dossiers créés')),
                        ('updated_count', models.PositiveIntegerField(default=0, verbose_name='dossiers mis à jour')),
                        ('closed_count', models.PositiveIntegerField(default=0, verbose_name='accompagnements terminés')),
                        ('unchanged_count', models.PositiveIntegerField(default=0, verbose_name='dossiers inchangés')),
                        ('refused_count', models.PositiveIntegerField(default=0, verbose_name='lignes refusées')),
                        ('field_counts', models.JSONField(blank=True, default=dict, verbose_name='champs mis à jour')),
                        ('attempts', models.PositiveSmallIntegerField(default=0, verbose_name='tentatives')),
                        ('heartbeat_at', models.DateTimeField(blank=True, null=True, verbose_name='dernier signe de vie')),
                        ('started_at', models.DateTimeField(blank=True, null=True, verbose_name='commencé le')),
                        ('finished_at', models.DateTimeField(blank=True, null=True, verbose_name='terminé le')),
                        ('error', models.TextField(blank=True, verbose_name='erreur')),
                        ('dry_run_of', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='imports.beneficiaryimport', verbose_name="simulation d'origine")),
                        ('uploaded_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='imports', to=settings.AUTH_USER_MODEL, verbose_name='déposé par')),
                    ],
                    options={
                        'verbose_name': 'import de bénéficiaires',
                        'verbose_name_plural': 'imports de bénéficiaires',
                        'db_table': 'casework_beneficiaryimport',
                        'ordering': ['-uploaded_at', '-pk'],
                    },
                ),
                migrations.CreateModel(
                    name='ImportChange',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('line', models.PositiveIntegerField(verbose_name='ligne')),
                        ('kind', models.CharField(choices=[('created', 'Dossier créé'), ('updated', 'Mis à jour'), ('closed', "Fin d'accompagnement")], max_length=10, verbose_name='type')),
                        ('field', models.CharField(blank=True, max_length=50, verbose_name='champ')),
                        ('old_value', models.TextField(blank=True, verbose_name='ancienne valeur')),
                        ('new_value', models.TextField(blank=True, verbose_name='nouvelle valeur')),
                        ('created_at', models.DateTimeField(default=django.utils.timezone.now, verbose_name='le')),
                        ('beneficiary', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='import_changes', to='casework.beneficiary', verbose_name='bénéficiaire')),
                        ('beneficiary_import', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='changes', to='imports.beneficiaryimport', verbose_name='import')),
                    ],
                    options={
                        'verbose_name': 'modification par import',
                        'verbose_name_plural': 'modifications par import',
                        'db_table': 'casework_importchange',
                        'ordering': ['beneficiary_import', 'line', 'pk'],
                    },
                ),
                migrations.CreateModel(
                    name='ImportColumnMapping',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('created_at', models.DateTimeField(auto_now_add=True, verbose_name='créé le')),
                        ('updated_at', models.DateTimeField(auto_now=True, verbose_name='modifié le')),
                        ('name', models.CharField(max_length=100, unique=True, verbose_name='source')),
                        ('mapping', models.JSONField(blank=True, default=dict, verbose_name='correspondance des colonnes')),
                        ('created_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='créée par')),
                        ('updated_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='modifiée par')),
                    ],
                    options={
                        'verbose_name': "correspondance de colonnes d'import",
                        'verbose_name_plural': "correspondances de colonnes d'import",
                        'db_table': 'casework_importcolumnmapping',
                        'ordering': ['name'],
                    },
                ),
                migrations.CreateModel(
                    name='ImportRowError',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('line', models.PositiveIntegerField(verbose_name='ligne')),
                        ('column', models.CharField(blank=True, max_length=200, verbose_name='colonne')),
                        ('message', models.CharField(max_length=500, verbose_name='motif')),
                        ('value', models.CharField(blank=True, max_length=500, verbose_name='valeur lue')),
                        ('beneficiary_import', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='row_errors', to='imports.beneficiaryimport', verbose_name='import')),
                    ],
                    options={
                        'verbose_name': 'ligne refusée',
                        'verbose_name_plural': 'lignes refusées',
                        'db_table': 'casework_importrowerror',
                        'ordering': ['beneficiary_import', 'line', 'pk'],
                    },
                ),
                migrations.AddIndex(
                    model_name='beneficiaryimport',
                    index=models.Index(fields=['status', 'heartbeat_at'], name='import_status'),
                ),
                migrations.AddIndex(
                    model_name='beneficiaryimport',
                    index=models.Index(fields=['sha256'], name='import_sha256'),
                ),
                migrations.AddConstraint(
                    model_name='beneficiaryimport',
                    constraint=models.CheckConstraint(condition=models.Q(('format__in', ['csv', 'xlsx', 'xml'])), name='import_format_valid', violation_error_message="Format d'import inconnu."),
                ),
                migrations.AddConstraint(
                    model_name='beneficiaryimport',
                    constraint=models.CheckConstraint(condition=models.Q(('status__in', ['uploaded', 'checking', 'checked', 'queued', 'running', 'done', 'failed'])), name='import_status_valid', violation_error_message="État d'import inconnu."),
                ),
                migrations.AddConstraint(
                    model_name='beneficiaryimport',
                    constraint=models.CheckConstraint(condition=models.Q(('default_organism__in', ['caf', 'msa', ''])), name='import_default_organism_valid', violation_error_message='Organisme payeur inconnu.'),
                ),
                migrations.AddIndex(
                    model_name='importchange',
                    index=models.Index(fields=['beneficiary', 'created_at'], name='import_change_file'),
                ),
                migrations.AddIndex(
                    model_name='importchange',
                    index=models.Index(fields=['beneficiary_import', 'kind'], name='import_change_kind'),
                ),
                migrations.AddConstraint(
                    model_name='importchange',
                    constraint=models.CheckConstraint(condition=models.Q(('kind__in', ['created', 'updated', 'closed'])), name='import_change_kind_valid', violation_error_message='Type de modification inconnu.'),
                ),
                migrations.AddIndex(
                    model_name='importrowerror',
                    index=models.Index(fields=['beneficiary_import', 'line'], name='import_error_line'),
                ),
            ],
            database_operations=[],
        ),
        migrations.RunPython(move_content_types, move_content_types_back, elidable=False),
    ]
