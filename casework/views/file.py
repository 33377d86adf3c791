from django.http import Http404


def file_detail(request, public_id):  # being written (issue 3)
    raise Http404
