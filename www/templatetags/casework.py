"""Template helpers for the casework pages."""

from django import template

register = template.Library()


@register.filter
def structure_label(structure, user) -> str:
    """`{{ structure|structure_label:user }}`: the structure's name, or a neutral label for a sensitive
    structure shown to someone outside it (Structure.label_for). Empty for no structure."""
    if structure is None or structure == "":
        return ""
    return structure.label_for(user)


@register.filter
def person(user) -> str:
    """A professional's name as shown on the pages (full name, or username when it is missing)."""
    if user is None or user == "":
        return ""
    return user.get_full_name() or user.username
