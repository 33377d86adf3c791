from django.http import Http404


def share_create(request, public_id):  # being written (issue 3)
    raise Http404


def share_end(request, public_id, share_id):  # being written (issue 3)
    raise Http404
