from django.apps import AppConfig


class CaseworkConfig(AppConfig):
    name = "casework"
    verbose_name = "Suivi des parcours"
    default_auto_field = "django.db.models.BigAutoField"
