from django.urls import path

from imports import views

app_name = "imports"

urlpatterns = [
    path("imports/", views.imports, name="list"),
    path("imports/<uuid:import_id>/", views.import_detail, name="detail"),
    path("imports/<uuid:import_id>/lancer/", views.import_run, name="run"),
    path("imports/<uuid:import_id>/rapport-lignes.csv", views.import_errors_export, name="errors_export"),
]
