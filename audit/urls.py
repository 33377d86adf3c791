from django.urls import path

from audit.views import exports, screens

app_name = "audit"

urlpatterns = [
    # The auditors' search of the trail and a file's access report (views/screens.py).
    path("audit/evenements/", screens.audit_events, name="events"),
    path("audit/evenements/<int:event_id>/", screens.audit_event_detail, name="event_detail"),
    path("dossiers/<uuid:public_id>/acces/", screens.access_report, name="access_report"),
    path("dossiers/<uuid:public_id>/acces/export.csv", screens.access_report_export, name="access_report_export"),
    # Exports of the trail, written in the background (views/exports.py).
    path("audit/exports/", exports.audit_exports, name="exports"),
    path("audit/exports/<uuid:export_id>/", exports.audit_export_status, name="export_status"),
    path("audit/exports/<uuid:export_id>/telecharger/", exports.audit_export_download, name="export_download"),
]
