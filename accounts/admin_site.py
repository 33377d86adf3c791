def restrict_admin_site(site):
    """Only department admins reach the Django admin.

    is_staff alone is not enough: the admin is for the people who hold the department admin role
    today (an active membership), and for nobody else, superusers included.
    """

    def has_permission(request):
        user = request.user
        return user.is_active and user.is_authenticated and user.is_department_admin

    site.has_permission = has_permission
    site.site_header = "Parcours – administration"
    site.site_title = "Parcours – administration"
    site.index_title = "Comptes, structures et rattachements"
    return site
