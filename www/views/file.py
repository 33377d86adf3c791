"""The file page (*dossier*): a summary of where the pathway stands, the timeline of everything that
happened on the file (filterable by kind, the newest first, older items a page at a time), and the
person's identity, household, rights, referents and shares beside them. Read-only: the writing forms
are in views/entries.py and views/pathway.py."""

from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.views.decorators.http import require_safe

from audit.trail import audit_annotate
from casework.models import Beneficiary
from casework.permissions import can_change, can_see_emergency_accesses, get_beneficiary_or_404
from www.file_page import file_page_data, note_with_page_data
from www.timeline import (
    TimelineItem,
    build_summary,
    build_timeline,
    filter_choices,
    filter_timeline,
    kind_counts,
    note_item,
    selected_filters,
    shown_count,
)

# Items of the timeline shown at once (the newest: a month or two of an active file); older ones come with
# "Afficher les événements plus anciens" (htmx appends them). Rendering an item costs about 0.5 ms of
# template time, which decided the size (docs/performance.md).
TIMELINE_PAGE_SIZE = 30
# Pages of the timeline one may ask for (a higher number is this one): far beyond any file's history.
MAX_TIMELINE_PAGE = 10_000

TIMELINE_PARTIAL = "casework/includes/timeline.html"
TIMELINE_ITEMS_PARTIAL = "casework/includes/timeline/items.html"
# The element that "Afficher les événements plus anciens" replaces with the next items (htmx).
TIMELINE_MORE_TARGET = "chronologie-suite"


def _page_number(value: str | None) -> int:
    """The timeline page asked for: 1 unless a whole number, at most MAX_TIMELINE_PAGE."""
    try:
        number = int(value or 1)
    except ValueError:
        return 1
    return min(max(number, 1), MAX_TIMELINE_PAGE)


class _NewestItems:
    """The timeline's items, of which only the newest were built (www.file_page.file_page_data
    reads the newest steps, appointments and notes only): as long as the whole timeline, for the
    paginator, and readable as far as the items built reach, which covers every page up to the one asked
    for."""

    def __init__(self, built: list[TimelineItem], total: int) -> None:
        self.built, self.total = built, total

    def __len__(self) -> int:
        return self.total

    def __getitem__(self, index: slice) -> list[TimelineItem]:
        items = self.built[index]
        expected = len(range(*index.indices(self.total)))
        if len(items) != expected:
            raise RuntimeError("Page de la chronologie au-delà des événements lus.")
        return items


def _timeline_context(
    request, beneficiary: Beneficiary, *, include_emergency_accesses: bool, now, page_number
) -> dict:
    timeline = build_timeline(beneficiary, include_emergency_accesses=include_emergency_accesses, now=now)
    counts = kind_counts(beneficiary, timeline)
    selected = selected_filters(request.GET.getlist("type"))
    shown = filter_timeline(timeline, selected)
    count = shown_count(counts, selected)
    page = Paginator(_NewestItems(shown, count), TIMELINE_PAGE_SIZE).get_page(page_number)
    query = request.GET.copy()
    query.pop("page", None)
    query.setlist("type", selected)
    newer = query.copy()
    if page.has_previous() and page.previous_page_number() > 1:
        newer["page"] = page.previous_page_number()
    older = query.copy()
    if page.has_next():
        older["page"] = page.next_page_number()
    return {
        "timeline": page.object_list,
        "timeline_page": page,
        "timeline_count": count,
        "timeline_total": sum(counts.values()),
        "timeline_older": count - page.end_index(),
        "timeline_filters": filter_choices(counts, selected),
        "timeline_filtered": bool(selected),
        "timeline_url": reverse("casework:file_detail", args=[beneficiary.public_id]),
        "timeline_newer_query": newer.urlencode(),
        "timeline_older_query": older.urlencode(),
    }


@require_safe
def file_detail(request, public_id):
    user = request.user
    now = timezone.now()
    # The page of the timeline asked for, and so how many of the newest entries of each kind to read.
    page_number = _page_number(request.GET.get("page"))
    beneficiary = file_page_data(user, public_id, newest=page_number * TIMELINE_PAGE_SIZE, now=now)
    audit_annotate(request, beneficiary=beneficiary)  # the trail needs no lookup of its own
    may_change = can_change(user, beneficiary)
    show_emergency_accesses = can_see_emergency_accesses(user, beneficiary)
    timeline = _timeline_context(
        request, beneficiary, include_emergency_accesses=show_emergency_accesses, now=now, page_number=page_number
    )
    context = {
        "file": beneficiary,
        "can_change": may_change,
        "show_emergency_accesses": show_emergency_accesses,
        "now": now,
        **timeline,
    }
    # The notes this response shows (the timeline's page): the trail says which notes were read.
    shown_notes = [str(item.obj.public_id) for item in context["timeline"] if item.kind == "note"]
    if shown_notes:
        audit_annotate(request, details={"notes": shown_notes})

    # htmx swaps the timeline alone when the kind filter changes, and appends the next items for
    # "Afficher les événements plus anciens"; a history restore (the back button after such a swap,
    # htmx keeping no copy of the page) wants the whole page.
    if request.htmx and not request.htmx.history_restore_request:
        if request.htmx.target == TIMELINE_MORE_TARGET:
            response = render(request, TIMELINE_ITEMS_PARTIAL, {**context, "appending": True})
        else:
            response = render(request, TIMELINE_PARTIAL, {**context, "swap_count": True, "appending": False})
    else:
        shares = list(beneficiary.shares.all())
        for share in shares:
            share.active_now = share.is_active(at=now)
            share.may_end = share.active_now and (may_change or share.author_id == user.pk)
        shares.sort(key=lambda share: not share.active_now)  # active shares first, each group newest first
        context |= {
            "shares": shares,
            "summary": build_summary(beneficiary, now=now),
            "swap_count": False,
            "appending": False,
        }
        response = render(request, "casework/file_detail.html", context)
    patch_vary_headers(response, ["HX-Request", "HX-Target"])
    return response


@require_safe
def note_detail(request, public_id, note_id):
    """One note on its own page (a link to give a colleague who may read it), with its previous
    versions. A note the user may not read is a 404, like a file they may not read."""
    user = request.user
    beneficiary = get_beneficiary_or_404(user, public_id)
    # Before the note is looked up, so that a refused attempt names the note it was after.
    audit_annotate(request, beneficiary=beneficiary, object_type="note", object_id=note_id)
    note = note_with_page_data(user, beneficiary, note_id)
    if note is None:
        raise Http404("Note introuvable.")
    context = {
        "file": beneficiary,
        "note": note,
        "item": note_item(note),
        "can_change": can_change(user, beneficiary),
    }
    return render(request, "casework/note_detail.html", context)
