"""Colour helpers for the Département's theme.

The theme colours are settings (each Département has its own); RGAA asks for a contrast ratio of at
least 4.5:1 between text and its background, so a colour that would make the header unreadable is
refused at start-up rather than shipped.
"""

import re

from django.core.exceptions import ImproperlyConfigured

HEX_COLOR = re.compile(r"^#[0-9a-fA-F]{6}$")
MIN_CONTRAST = 4.5


def _channel(value: int) -> float:
    c = value / 255
    return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4


def relative_luminance(color: str) -> float:
    r, g, b = (int(color[i : i + 2], 16) for i in (1, 3, 5))
    return 0.2126 * _channel(r) + 0.7152 * _channel(g) + 0.0722 * _channel(b)


def contrast_ratio(first: str, second: str) -> float:
    lighter, darker = sorted((relative_luminance(first), relative_luminance(second)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def checked_color(name: str, value: str, *, text_color: str = "#ffffff") -> str:
    if not HEX_COLOR.match(value):
        raise ImproperlyConfigured(f"{name} must be a colour written #rrggbb, not {value!r}.")
    ratio = contrast_ratio(value, text_color)
    if ratio < MIN_CONTRAST:
        raise ImproperlyConfigured(
            f"{name}={value} gives a contrast of {ratio:.2f}:1 with {text_color} text; RGAA asks for "
            f"at least {MIN_CONTRAST}:1. Choose a darker colour."
        )
    return value.lower()
