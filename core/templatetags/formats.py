"""Template filters for quantities written the French way (core.formats)."""

from django import template

from core.formats import file_size as format_file_size

register = template.Library()


@register.filter
def file_size(size: int | None) -> str:
    """{{ export.file_size|file_size }}: "1,5 Mo" where Django's filesizeformat writes "1,5 Mio"."""
    return format_file_size(size)
