"""The Département's deadlines in the Django admin (department admins)."""

from django.contrib import admin
from django.http import HttpResponseRedirect
from django.urls import reverse

from accounts.admin import DepartmentAdminOnly
from team.models import CaseworkSettings


@admin.register(CaseworkSettings)
class CaseworkSettingsAdmin(DepartmentAdminOnly, admin.ModelAdmin):
    """The Département's deadlines, which the supervisors' dashboard and alerts apply: one row (pk 1),
    changed in place; never deleted, and added only while it does not exist yet."""

    list_display = [
        "__str__",
        "orientation_delay_days",
        "contract_delay_days",
        "contract_expiring_days",
        "inactivity_warning_months",
        "inactivity_alert_months",
        "missed_appointments_days",
        "new_files_days",
        "updated_at",
    ]
    fieldsets = (
        (
            "Orientation et contrat",
            {"fields": ["orientation_delay_days", "contract_delay_days", "contract_expiring_days"]},
        ),
        ("Suivi", {"fields": ["inactivity_warning_months", "inactivity_alert_months", "missed_appointments_days"]}),
        ("Tableau de bord", {"fields": ["new_files_days"]}),
        ("Dernière modification", {"fields": ["updated_at", "updated_by"]}),
    )
    readonly_fields = ["updated_at", "updated_by"]
    allow_delete = False

    def has_add_permission(self, request, *args):
        return super().has_add_permission(request, *args) and not CaseworkSettings.objects.exists()

    def changelist_view(self, request, extra_context=None):
        # One row: the list opens it (created with the defaults the first time).
        if self.has_change_permission(request):
            settings_row = CaseworkSettings.current()
            return HttpResponseRedirect(reverse("admin:team_caseworksettings_change", args=[settings_row.pk]))
        return super().changelist_view(request, extra_context)

    def save_model(self, request, obj, form, change):
        obj.updated_by = request.user
        super().save_model(request, obj, form, change)
