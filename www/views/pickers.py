"""The searches behind the people and structure pickers of the note and sharing forms
(casework/forms/pickers.py), asked by htmx as the user types.

Each answers for the form of the file named in the URL: the file is looked up in the user's scope first
(404 out of scope), with the rule of the form itself (anyone who may read the file writes a note; sharing
it is for who may act on it: 403 otherwise). The results are the choices of the form's own field (the
queryset it validates against), narrowed by the term: up to MAX_RESULTS staff names or structures, never
anything about a beneficiary. Without JavaScript the forms search by posting themselves (a search round).

Not recorded in the audit trail (audit.trail.AUDITED_URLS): a search reads the names of staff and
structures, the same for every file, and nothing of the file itself; the form page it serves is not
recorded either, and what the form writes is.
"""

from django.http import HttpResponse, HttpResponseBadRequest
from django.urls import path, reverse
from django.views.decorators.http import require_safe

from casework.forms.entries import NoteForm
from casework.forms.sharing import ShareForm
from casework.permissions import check_can_change, get_beneficiary_or_404

# The query parameter that names the picker searched (its field's name in the form).
FIELD_PARAMETER = "champ"


def note_recipients_url(beneficiary) -> str:
    return reverse("casework:note_recipients_search", args=[beneficiary.public_id])


def share_targets_url(beneficiary) -> str:
    return reverse("casework:share_target_search", args=[beneficiary.public_id])


def _answer(request, form) -> HttpResponse:
    name = request.GET.get(FIELD_PARAMETER, "")
    if name not in form.picker_names:
        return HttpResponseBadRequest("Recherche inconnue.", content_type="text/plain; charset=utf-8")
    return HttpResponse(form.picker_answer(name, request.GET))


@require_safe
def note_recipients_search(request, public_id):
    """The structures and people a note on this file may be shared with (NoteForm's pickers)."""
    beneficiary = get_beneficiary_or_404(request.user, public_id)
    return _answer(request, NoteForm(actor=request.user, search_url=note_recipients_url(beneficiary)))


@require_safe
def share_target_search(request, public_id):
    """The people and structures this file may be shared with (ShareForm's pickers)."""
    beneficiary = get_beneficiary_or_404(request.user, public_id)
    check_can_change(request.user, beneficiary)
    return _answer(request, ShareForm(actor=request.user, search_url=share_targets_url(beneficiary)))


urlpatterns = [
    path("dossiers/<uuid:public_id>/notes/destinataires/", note_recipients_search, name="note_recipients_search"),
    path("dossiers/<uuid:public_id>/partager/destinataires/", share_target_search, name="share_target_search"),
]
