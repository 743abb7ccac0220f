"""Names made from a record's text (a field's `summaryOf` in its entity definition): a call or a record note
written without a name, as Concord CRM writes them (it has none), is named after the start of its text, so
EspoCRM's lists and global search show something a person recognises rather than nothing.

A summary follows its text: when the text changes and the name was its summary (and the write names none),
the name becomes the new text's summary; a name someone typed is kept.
"""

from __future__ import annotations

import html
import re
from typing import Any, Mapping

from polycrm.meta import Entity

SUMMARY_LENGTH = 100
_BLOCK_TAG = re.compile(r"</?(?:p|div|br|li|ul|ol|h[1-6]|tr|td|th|blockquote|pre)\b[^>]*>", re.IGNORECASE)
_TAG = re.compile(r"<[^>]*>")  # inline tags (<b>, <a>, mentions) join the text around them
_BLANKS = re.compile(r"\s+")


def summary(text: Any) -> str | None:
    """The start of a text (HTML tags dropped, entities decoded, blanks collapsed), cut at a word near
    SUMMARY_LENGTH characters with an ellipsis; None for a text without words."""
    if not isinstance(text, str):
        return None
    plain = _BLANKS.sub(" ", html.unescape(_TAG.sub("", _BLOCK_TAG.sub(" ", text)))).strip()
    if len(plain) <= SUMMARY_LENGTH:
        return plain or None
    cut = plain[:SUMMARY_LENGTH]
    word_end = cut.rfind(" ")
    return (cut[:word_end] if word_end > SUMMARY_LENGTH // 2 else cut).rstrip() + "…"


class SummaryFields:
    """The entity's (name field, text field) pairs."""

    def __init__(self, entity: Entity):
        self.pairs = [(f.name, f.params["summaryOf"]) for f in entity.fields.values() if f.params.get("summaryOf")]

    def __bool__(self) -> bool:
        return bool(self.pairs)

    def fill(self, values: dict[str, Any], given: Mapping[str, Any],
             current: Mapping[str, Any] | None = None) -> None:
        """Complete `values` (a new record's, or an updated record merged with `current`, the stored one) in
        place; `given` is what the write names."""
        for name, source in self.pairs:
            if name in given and given[name] not in (None, ""):
                continue
            if values.get(name) in (None, ""):
                values[name] = summary(values.get(source))
            elif current is not None and source in given and current.get(name) == summary(current.get(source)):
                values[name] = summary(values.get(source)) or current.get(name)


__all__ = ["SUMMARY_LENGTH", "SummaryFields", "summary"]
