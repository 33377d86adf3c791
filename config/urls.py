from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from accounts.admin_site import restrict_admin_site
from accounts.forms import LoginForm

restrict_admin_site(admin.site)

urlpatterns = [
    path("", include("accounts.urls")),
    path("", include("www.urls")),
    path("", include("audit.urls")),
    path("", include("team.urls")),
    path("", include("imports.urls")),
    path(
        "connexion/",
        auth_views.LoginView.as_view(authentication_form=LoginForm, redirect_authenticated_user=True),
        name="login",
    ),
    path("deconnexion/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
]

handler400 = "accounts.views.bad_request"
handler403 = "accounts.views.permission_denied"
handler404 = "accounts.views.page_not_found"
handler500 = "accounts.views.server_error"
