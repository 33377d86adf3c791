from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import AdminUserCreationForm

from accounts.models import Department, Membership, Structure, User


class DepartmentAdminOnly:
    """The admin's screens are the department admin's tools, whatever Django model permissions say.

    The site itself is closed to anyone else (accounts.admin_site); these checks keep each screen
    consistent with it. Deleting is off where history must stay: end a membership, deactivate a user.
    """

    allow_delete = True

    def _allowed(self, request) -> bool:
        return request.user.is_active and request.user.is_department_admin

    def has_module_permission(self, request):
        return self._allowed(request)

    def has_view_permission(self, request, obj=None):
        return self._allowed(request)

    def has_add_permission(self, request, *args):
        return self._allowed(request)

    def has_change_permission(self, request, obj=None):
        return self._allowed(request)

    def has_delete_permission(self, request, obj=None):
        return self.allow_delete and self._allowed(request)


class MembershipInline(DepartmentAdminOnly, admin.TabularInline):
    model = Membership
    fk_name = "user"
    extra = 0
    autocomplete_fields = ["structure"]
    fields = ["structure", "role", "start_date", "end_date"]
    allow_delete = False


@admin.register(User)
class UserAdmin(DepartmentAdminOnly, DjangoUserAdmin):
    # Superuser, staff flags and raw permissions are not the department admin's to hand out:
    # rights come from memberships (roles) and from the permission layer.
    fieldsets = (
        (None, {"fields": ("username", "password")}),
        ("Identité", {"fields": ("first_name", "last_name", "email")}),
        ("État", {"fields": ("is_active", "last_login", "date_joined")}),
    )
    add_fieldsets = (
        (
            None,
            {
                "classes": ("wide",),
                "fields": ("username", "first_name", "last_name", "email", "password1", "password2"),
            },
        ),
    )
    add_form = AdminUserCreationForm
    readonly_fields = ["last_login", "date_joined"]
    list_display = ["username", "first_name", "last_name", "email", "is_active"]
    list_filter = ["is_active", "memberships__role", "memberships__structure"]
    search_fields = ["username", "first_name", "last_name", "email"]
    inlines = [MembershipInline]
    allow_delete = False


@admin.register(Department)
class DepartmentAdmin(DepartmentAdminOnly, admin.ModelAdmin):
    list_display = ["name", "code", "kind"]
    search_fields = ["name", "code"]
    prepopulated_fields = {"code": ["name"]}


@admin.register(Structure)
class StructureAdmin(DepartmentAdminOnly, admin.ModelAdmin):
    list_display = ["name", "code", "kind", "department", "commune", "is_sensitive"]
    list_filter = ["kind", "department", "is_sensitive"]
    list_select_related = ["department"]
    search_fields = ["name", "code", "commune"]
    prepopulated_fields = {"code": ["name"]}


@admin.register(Membership)
class MembershipAdmin(DepartmentAdminOnly, admin.ModelAdmin):
    list_display = ["user", "structure", "role", "start_date", "end_date"]
    list_filter = ["role", "structure"]
    list_select_related = ["user", "structure"]
    search_fields = ["user__username", "user__last_name", "structure__name"]
    autocomplete_fields = ["user", "structure"]
    date_hierarchy = "start_date"
    allow_delete = False
