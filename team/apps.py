from django.apps import AppConfig


class TeamConfig(AppConfig):
    name = "team"
    verbose_name = "Supervision des équipes"
    default_auto_field = "django.db.models.BigAutoField"
