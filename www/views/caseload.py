"""The caseload (*mes dossiers*): the files a user may read, as a paginated, sorted, filterable table.

Structured filters live in the URL (GET, www.filters.CaseloadFilterSet), so that a filtered list
can be bookmarked. The free-text search (a name, a CAF/MSA number) is personal data, which must not end
up in server logs, browser history or Referer headers: it never appears in a URL. It is posted to
`BeneficiaryQuerySet.matching` and kept in the session, so that pagination, sorting and filter changes keep it until
the user clears it (or the session ends).

htmx requests (a filter changed, a page link followed, a search posted) get the results partial; the
same URLs serve the whole page without JavaScript.
"""

import datetime

from django.core.paginator import Paginator
from django.http import QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.views.decorators.http import require_POST, require_safe

from audit.trail import audit_annotate
from casework.models import Beneficiary, Orientation
from casework.permissions import check_reads_files
from casework.querysets import CASELOAD_COLUMNS
from www.filters import CONTRACT_ENDING_SOON_DAYS, CaseloadFilterSet, CaseloadSearchForm, caseload_scope

PAGE_SIZE = 50

VIEW_PARAM = "vue"
VIEW_FOLLOWED = "suivis"
VIEW_ALL = "tous"

# The search term, kept server-side between requests (never in a URL).
SEARCH_SESSION_KEY = "caseload_search"
# The name of the search form's "clear" button.
CLEAR_SEARCH = "effacer"


def _contract_state(end: datetime.date | None, today: datetime.date) -> str:
    if end is None:
        return ""
    if end < today:
        return "expired"
    if end <= today + datetime.timedelta(days=CONTRACT_ENDING_SOON_DAYS):
        return "ending"
    return "running"


def _wants_partial(request) -> bool:
    # htmx also sends HX-Request when it restores a page missing from its history cache: that needs the page.
    return bool(request.htmx) and not request.htmx.history_restore_request


def _kept_params(data: QueryDict) -> QueryDict:
    """The parameters the caseload's links carry: the view toggle and the structured filters, one value
    each, nothing else (a search term typed into the address bar is not echoed into any link)."""
    params = QueryDict(mutable=True)
    for key in (VIEW_PARAM, *CaseloadFilterSet.base_filters):
        value = data.get(key, "")
        if value:
            params[key] = value
    return params


def _caseload_url(params: QueryDict) -> str:
    query = params.urlencode()
    return reverse("casework:caseload") + (f"?{query}" if query else "")


def _render_caseload(request, params: QueryDict, *, page_number, search_form, from_search=False):
    """The caseload page (or its results partial) for these filters, the session's search term and a page."""
    user = request.user
    # A referent starts from the files they follow; supervisors and admins from all they may read.
    can_follow = user.is_referent
    default_view = VIEW_FOLLOWED if can_follow and not user.is_supervisor else VIEW_ALL
    view = params.get(VIEW_PARAM, default_view)
    if view not in (VIEW_FOLLOWED, VIEW_ALL) or (view == VIEW_FOLLOWED and not can_follow):
        view = default_view
    params[VIEW_PARAM] = view

    files = caseload_scope(request)
    if view == VIEW_FOLLOWED:
        files = files.followed_by(user)
    files = files.with_caseload_data().order_by("last_name", "first_name", "pk")
    search_term = request.session.get(SEARCH_SESSION_KEY, "")
    if search_term:
        files = files.matching(search_term)
    filterset = CaseloadFilterSet(params, queryset=files, request=request, followed_only=view == VIEW_FOLLOWED)
    # Strict, as django-filter's FilterView: an invalid filter shows no file (and says why), rather than
    # silently showing more files than asked for.
    files = filterset.qs if filterset.is_valid() else files.none()

    # A deferred join, in one statement: the page's ids come from the list with only what its conditions
    # and its order need (`WHERE id IN (SELECT id ... ORDER BY ... LIMIT 50 OFFSET n)`), the rows of those
    # ids with the columns the table shows, in the list's order, which the page then holds as its
    # object_list (page_obj is a page of files, as usual). Slicing the list itself would compute
    # every column of every row a deep page skips (page 398 of 24,900 files: 85 -> 180 ms). Only the ids of
    # the user's own list are read, so the rows may start from all files. A column left out of
    # CASELOAD_COLUMNS and read by the template would cost a query per row (the query-count tests say so).
    page = Paginator(files.values_list("pk", flat=True), PAGE_SIZE).get_page(page_number)
    page.object_list = list(
        Beneficiary.objects.filter(pk__in=page.object_list)
        .with_caseload_data()
        .only(*CASELOAD_COLUMNS)
        .order_by(*filterset.current_sort.ordering)
    )
    today = timezone.localdate()
    for beneficiary in page:
        # A file whose support has ended has no contract to renew: its end date is shown, not flagged.
        state = _contract_state(beneficiary.contract_end, today)
        beneficiary.contract_state = "running" if state and not beneficiary.is_active else state
        track = beneficiary.orientation_track
        beneficiary.orientation_label = Orientation.Track(track).label if track else ""

    # The audit trail keeps what was asked and how many files answered, never which (casework/audit.py).
    audit_annotate(request, details={"count": page.paginator.count, "search": search_term, "page": page.number})
    partial = _wants_partial(request)
    context = {
        "page_obj": page,
        "page_range": page.paginator.get_elided_page_range(page.number, on_each_side=2, on_ends=1),
        "view": view,
        "can_follow": can_follow,
        "VIEW_FOLLOWED": VIEW_FOLLOWED,
        "VIEW_ALL": VIEW_ALL,
        "ending_soon_days": CONTRACT_ENDING_SOON_DAYS,
        "filterset": filterset,
        "filters_valid": filterset.is_valid(),
        "narrowed": filterset.narrows or bool(search_term),
        "sort": filterset.current_sort,
        "params": params,
        "search_form": search_form,
        "search_term": search_term,
        "partial": partial,
        "from_search": from_search,
    }
    template = "casework/includes/caseload_results.html" if partial else "casework/caseload.html"
    response = render(request, template, context)
    patch_vary_headers(response, ["HX-Request"])
    return response


@require_safe
def caseload(request):
    check_reads_files(request.user)
    search_form = CaseloadSearchForm(initial={"q": request.session.get(SEARCH_SESSION_KEY, "")})
    return _render_caseload(
        request, _kept_params(request.GET), page_number=request.GET.get("page"), search_form=search_form
    )


@require_POST
def caseload_search(request):
    """Set (or clear) the caseload's search term, kept in the session, then show the first page of
    the results with the filters the form carried (hidden fields, or the filter form with htmx)."""
    check_reads_files(request.user)
    params = _kept_params(request.POST)
    form = CaseloadSearchForm(request.POST)
    if CLEAR_SEARCH in request.POST:
        request.session.pop(SEARCH_SESSION_KEY, None)
        form = CaseloadSearchForm()
    elif form.is_valid():
        term = " ".join(form.cleaned_data["q"].split())
        if term:
            request.session[SEARCH_SESSION_KEY] = term
        else:
            request.session.pop(SEARCH_SESSION_KEY, None)
        form = CaseloadSearchForm(initial={"q": term})
    else:
        # The error is shown at the field; the list stays as it was (the previous term, if any).
        return _render_caseload(request, params, page_number=1, search_form=form, from_search=True)
    if _wants_partial(request):
        response = _render_caseload(request, params, page_number=1, search_form=form, from_search=True)
        # The address bar shows the filters, back on the first page; never the term.
        response["HX-Replace-Url"] = _caseload_url(params)
        return response
    return redirect(_caseload_url(params))
