from django.apps import AppConfig


class ImportsConfig(AppConfig):
    name = "imports"
    verbose_name = "Imports CAF/MSA"
    default_auto_field = "django.db.models.BigAutoField"
