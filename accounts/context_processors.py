from django.conf import settings


def parcours(request):
    """The Département's theme, on every page."""
    return {
        "departement_name": settings.PARCOURS_DEPARTEMENT_NAME,
        "departement_logo": settings.PARCOURS_LOGO,
        "theme_primary": settings.PARCOURS_PRIMARY_COLOR,
        "theme_secondary": settings.PARCOURS_SECONDARY_COLOR,
    }
