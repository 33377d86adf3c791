from django.urls import path

from casework.views import (
    audit_exports,
    audit_screens,
    caseload,
    emergency,
    entries,
    file,
    imports,
    pathway,
    sharing,
    supervision,
    team,
)

app_name = "casework"

urlpatterns = [
    path("dossiers/", caseload.caseload, name="caseload"),
    path("dossiers/recherche/", caseload.caseload_search, name="caseload_search"),
    path("dossiers/<uuid:public_id>/", file.file_detail, name="file_detail"),
    path("dossiers/<uuid:public_id>/notes/<uuid:note_id>/", file.note_detail, name="note_detail"),
    path("dossiers/<uuid:public_id>/partager/", sharing.share_create, name="share_create"),
    path("dossiers/<uuid:public_id>/partages/<uuid:share_id>/arreter/", sharing.share_end, name="share_end"),
    path("acces-exceptionnel/", emergency.emergency_access, name="emergency_access"),
    # Writing on a file: steps, appointments, notes, corrections and withdrawals (views/entries.py);
    # contracts, orientation, objectives, diagnostic, end of support (views/pathway.py).
    *entries.urlpatterns,
    *pathway.urlpatterns,
    # The audit trail: auditors' search and access reports (views/audit_screens.py), exports
    # written in the background (views/audit_exports.py).
    *audit_screens.urlpatterns,
    *audit_exports.urlpatterns,
    # Supervision: the team's dashboard, alerts and their exports (views/supervision.py);
    # reassignments, covers during an absence and notifications (views/team.py).
    *supervision.urlpatterns,
    *team.urlpatterns,
    # Imports of the CAF/MSA files (department admins, views/imports.py).
    *imports.urlpatterns,
]
