from django.apps import AppConfig


class WwwConfig(AppConfig):
    name = "www"
    verbose_name = "Écrans des dossiers"
    default_auto_field = "django.db.models.BigAutoField"
