"""How sources name their columns, kept by department admins in the Django admin."""

from django.contrib import admin

from accounts.admin import DepartmentAdminOnly
from imports.models import ImportColumnMapping


@admin.register(ImportColumnMapping)
class ImportColumnMappingAdmin(DepartmentAdminOnly, admin.ModelAdmin):
    """How a source names its columns (imports of CAF/MSA files, docs/imports.md): a JSON object
    {"header as in the file": "canonical column"}, checked against the known columns on save."""

    list_display = ["name", "updated_at", "updated_by"]
    search_fields = ["name"]
    fields = ["name", "mapping", "created_at", "created_by", "updated_at", "updated_by"]
    readonly_fields = ["created_at", "created_by", "updated_at", "updated_by"]

    def save_model(self, request, obj, form, change):
        if not change:
            obj.created_by = request.user
        obj.updated_by = request.user
        super().save_model(request, obj, form, change)
