"""The five style categories and how a style id maps onto its category directory."""

from __future__ import annotations

CATEGORIES: tuple[str, ...] = ("core", "seasonal", "thematic", "instrumental", "vocal")

_PREFIX_TO_CATEGORY = {
    "CORE": "core",
    "SEASON": "seasonal",
    "THEME": "thematic",
    "INST": "instrumental",
    "VOCAL": "vocal",
}

DEFAULT_STYLE = "CORE-01"


def category_for_style(style_id: str | None) -> str:
    """Category directory of a style id such as ``SEASON-02``; unknown or missing styles go to core."""
    if not style_id:
        return "core"
    prefix = style_id.split("-", 1)[0].upper()
    return _PREFIX_TO_CATEGORY.get(prefix, "core")
