"""The models that were `casework`'s, on their tables of the time (db_table): state only, no SQL.

Their content types (and the permissions and admin log entries that point at them) are renamed from
`casework` to `audit`, so that no permission is lost or granted twice.
"""

import django.core.serializers.json
import django.db.models.deletion
import django.utils.timezone
import uuid
from django.conf import settings
from django.db import migrations, models


MODELS = ('auditevent', 'auditexport')


def move_content_types(apps, schema_editor, source="casework", target="audit"):
    ContentType = apps.get_model("contenttypes", "ContentType")
    db = schema_editor.connection.alias
    for model in MODELS:
        # On a new database the content types do not exist yet (post_migrate creates them).
        if not ContentType.objects.using(db).filter(app_label=target, model=model).exists():
            ContentType.objects.using(db).filter(app_label=source, model=model).update(app_label=target)


def move_content_types_back(apps, schema_editor):
    move_content_types(apps, schema_editor, source="audit", target="casework")


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
                    name='AuditEvent',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('occurred_at', models.DateTimeField(db_index=True, default=django.utils.timezone.now, verbose_name='date et heure')),
                        ('chain_day', models.DateField(verbose_name='jour de la chaîne')),
                        ('chain_shard', models.PositiveSmallIntegerField(verbose_name='chaîne')),
                        ('sequence', models.PositiveIntegerField(verbose_name='rang dans la chaîne')),
                        ('previous_hash', models.CharField(max_length=64, verbose_name='empreinte précédente')),
                        ('hash', models.CharField(max_length=64, verbose_name='empreinte')),
                        ('actor_username', models.CharField(blank=True, max_length=150, verbose_name='identifiant')),
                        ('actor_structures', models.CharField(blank=True, max_length=500, verbose_name='structures')),
                        ('actor_roles', models.CharField(blank=True, max_length=200, verbose_name='rôles')),
                        ('action', models.CharField(choices=[('view_file', "Consultation d'un dossier"), ('view_list', "Consultation d'une liste"), ('search', 'Recherche'), ('write', 'Création ou modification'), ('share', 'Partage'), ('emergency_access', 'Accès exceptionnel'), ('login', 'Connexion'), ('login_failed', 'Échec de connexion'), ('logout', 'Déconnexion'), ('purge', 'Purge de rétention'), ('view_note', "Consultation d'une note"), ('view_audit', "Consultation du journal d'audit"), ('access_report', 'Rapport des accès à un dossier'), ('export', "Demande d'export"), ('download', "Téléchargement d'un export"), ('permission_change', 'Modification des droits'), ('import', 'Import')], max_length=20, verbose_name='action')),
                        ('url_name', models.CharField(blank=True, max_length=100, verbose_name='écran')),
                        ('status_code', models.PositiveSmallIntegerField(blank=True, null=True, verbose_name='réponse')),
                        ('object_type', models.CharField(blank=True, max_length=50, verbose_name="type d'objet")),
                        ('object_id', models.CharField(blank=True, max_length=64, verbose_name='objet')),
                        ('ip_address', models.GenericIPAddressField(blank=True, null=True, verbose_name='adresse IP')),
                        ('user_agent', models.CharField(blank=True, max_length=300, verbose_name='navigateur')),
                        ('request_id', models.CharField(blank=True, max_length=64, verbose_name='requête')),
                        ('reason', models.TextField(blank=True, verbose_name='motif')),
                        ('details', models.JSONField(blank=True, default=dict, encoder=django.core.serializers.json.DjangoJSONEncoder, verbose_name='détails')),
                        ('actor', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='par')),
                        ('beneficiary', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='casework.beneficiary', verbose_name='bénéficiaire')),
                    ],
                    options={
                        'verbose_name': "événement d'audit",
                        'verbose_name_plural': "événements d'audit",
                        'db_table': 'casework_auditevent',
                        'ordering': ['-occurred_at', '-pk'],
                        'indexes': [models.Index(fields=['beneficiary', 'occurred_at'], name='audit_beneficiary_when'), models.Index(fields=['actor', 'occurred_at'], name='audit_actor_when')],
                        'constraints': [models.UniqueConstraint(fields=('chain_day', 'chain_shard', 'sequence'), name='audit_unique_link', violation_error_message="Ce maillon de la chaîne d'audit existe déjà."), models.CheckConstraint(condition=models.Q(('action__in', ['view_file', 'view_list', 'search', 'write', 'share', 'emergency_access', 'login', 'login_failed', 'logout', 'purge', 'view_note', 'view_audit', 'access_report', 'export', 'download', 'permission_change', 'import'])), name='audit_action_valid', violation_error_message='Action inconnue.')],
                    },
                ),
                migrations.CreateModel(
                    name='AuditExport',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('public_id', models.UUIDField(default=uuid.uuid4, editable=False, unique=True)),
                        ('requested_at', models.DateTimeField(default=django.utils.timezone.now, verbose_name='demandé le')),
                        ('format', models.CharField(choices=[('csv', 'CSV'), ('jsonl', 'JSON Lines')], max_length=10, verbose_name='format')),
                        ('filters', models.JSONField(blank=True, default=dict, encoder=django.core.serializers.json.DjangoJSONEncoder, verbose_name='filtres')),
                        ('last_event_id', models.BigIntegerField(default=0, verbose_name='dernier événement inclus')),
                        ('status', models.CharField(choices=[('queued', 'En attente'), ('running', 'En cours'), ('done', 'Prêt'), ('failed', 'Échec'), ('expired', 'Expiré')], default='queued', max_length=10, verbose_name='état')),
                        ('total_rows', models.PositiveIntegerField(blank=True, null=True, verbose_name='lignes à écrire')),
                        ('rows_written', models.PositiveIntegerField(default=0, verbose_name='lignes écrites')),
                        ('attempts', models.PositiveSmallIntegerField(default=0, verbose_name='tentatives')),
                        ('heartbeat_at', models.DateTimeField(blank=True, null=True, verbose_name='dernier signe de vie')),
                        ('started_at', models.DateTimeField(blank=True, null=True, verbose_name='commencé le')),
                        ('finished_at', models.DateTimeField(blank=True, null=True, verbose_name='terminé le')),
                        ('expires_at', models.DateTimeField(blank=True, null=True, verbose_name='expire le')),
                        ('file_name', models.CharField(blank=True, max_length=200, verbose_name='fichier')),
                        ('file_size', models.PositiveBigIntegerField(blank=True, null=True, verbose_name='taille')),
                        ('error', models.TextField(blank=True, verbose_name='erreur')),
                        ('requested_by', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='audit_exports', to=settings.AUTH_USER_MODEL, verbose_name='demandé par')),
                    ],
                    options={
                        'verbose_name': "export du journal d'audit",
                        'verbose_name_plural': "exports du journal d'audit",
                        'db_table': 'casework_auditexport',
                        'ordering': ['-requested_at', '-pk'],
                        'indexes': [models.Index(fields=['requested_by', 'requested_at'], name='audit_export_by_user'), models.Index(fields=['status', 'heartbeat_at'], name='audit_export_status')],
                        'constraints': [models.CheckConstraint(condition=models.Q(('format__in', ['csv', 'jsonl'])), name='audit_export_format_valid'), models.CheckConstraint(condition=models.Q(('status__in', ['queued', 'running', 'done', 'failed', 'expired'])), name='audit_export_status_valid')],
                    },
                ),
            ],
            database_operations=[],
        ),
        migrations.RunPython(move_content_types, move_content_types_back, elidable=False),
    ]
