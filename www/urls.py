"""The screens of a file: caseload, file page, writing on the pathway, sharing, emergency access.

The namespace stays `casework` (the audit trail has recorded these URL names since issue 5).
"""

from django.urls import path

from www.views import caseload, emergency, entries, file, pathway, pickers, sharing

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
    # The searches of the note and sharing forms' people and structure pickers (views/pickers.py).
    *pickers.urlpatterns,
]
