from django.urls import path

from team.views import dashboard, staffing

app_name = "team"

urlpatterns = [
    # The team's dashboard, alerts and their exports (views/dashboard.py).
    path("equipe/", dashboard.team_dashboard, name="dashboard"),
    path("equipe/export/", dashboard.team_dashboard_export, name="dashboard_export"),
    path("equipe/alertes/", dashboard.team_alerts_list, name="alerts"),
    path("equipe/alertes/export/", dashboard.team_alerts_export, name="alerts_export"),
    # Reassignments, covers during an absence and notifications (views/staffing.py).
    path("equipe/reaffecter/", staffing.reassign, name="reassign"),
    path("equipe/interims/", staffing.covers, name="covers"),
    path("equipe/interims/<uuid:cover_id>/annuler/", staffing.cover_cancel, name="cover_cancel"),
    path("notifications/", staffing.notifications, name="notifications"),
    path("notifications/<uuid:notification_id>/lue/", staffing.notification_read, name="notification_read"),
]
