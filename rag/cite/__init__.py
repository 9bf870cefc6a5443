"""Citations for reports: find the paragraphs that support a claim, and format references to them."""

from .formats import (
    FORMAT_LABELS,
    FORMATS,
    Reference,
    all_formats,
    csl_item,
    format_reference,
    reference,
    safe_url,
)
from .sources import SUPPORTED_BELOW, NoSourceError, Source, check_claim, find_sources, supporting_sources

__all__ = [
    "FORMAT_LABELS",
    "FORMATS",
    "NoSourceError",
    "Reference",
    "SUPPORTED_BELOW",
    "Source",
    "all_formats",
    "check_claim",
    "csl_item",
    "find_sources",
    "format_reference",
    "reference",
    "safe_url",
    "supporting_sources",
]
