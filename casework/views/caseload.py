from django.http import Http404


def caseload(request):  # being written (issue 3)
    raise Http404
