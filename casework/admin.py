"""The casework models in the Django admin: reference lists only.

The admin bypasses the permission layer (casework.permissions), so no model holding personal data is
registered here (tests/accounts/test_admin.py checks it); only the lists a department admin keeps.
"""

from django.contrib import admin

from accounts.admin import DepartmentAdminOnly
from casework.models import SupportEndReason


@admin.register(SupportEndReason)
class SupportEndReasonAdmin(DepartmentAdminOnly, admin.ModelAdmin):
    list_display = ["label", "code", "position", "is_active"]
    list_editable = ["position", "is_active"]
    list_filter = ["is_active"]
    search_fields = ["label", "code"]
    prepopulated_fields = {"code": ["label"]}
    # Files point at their reason (PROTECT): a reason no longer offered is unticked, never deleted.
    allow_delete = False
