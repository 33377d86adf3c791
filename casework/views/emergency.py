from django.http import Http404


def emergency_access(request):  # being written (issue 3)
    raise Http404
