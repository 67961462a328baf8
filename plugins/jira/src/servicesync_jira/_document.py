"""An issue's description as text, and its budget line as one paragraph.

A project's description is plain text, but an issue's (a deal's epic in
epic mode) is an Atlassian document: a tree of blocks such as paragraphs,
whose leaves are text nodes and hard breaks. servicesync reads such a
document as lines (one per paragraph or hard break) and keeps the budget
line in a paragraph of its own, so that rewriting it leaves every other
block of the document, and its formatting, as the person who wrote it left
it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from servicesync_sdk.base import BUDGET_PREFIX, with_budget

__all__ = ["document_text", "paragraph", "text_document", "with_budget_paragraph"]

#: The blocks whose children are inline (text, marks, mentions), not lines.
_INLINE_HOLDERS = frozenset({"paragraph", "heading", "codeBlock"})


def text_document(text: str) -> dict[str, Any]:
    """Return a document of one paragraph holding ``text``."""
    return {"type": "doc", "version": 1, "content": [paragraph(text)]}


def paragraph(text: str) -> dict[str, Any]:
    """Return a paragraph block holding ``text`` (none at all when it is empty)."""
    content = [{"type": "text", "text": text}] if text else []
    return {"type": "paragraph", "content": content}


def document_text(document: Any) -> str:
    """Return a document's text, a line per block or hard break.

    Example:
        >>> document_text(text_document("Scope\\n\\nPhase 1"))
        'Scope\\n\\nPhase 1'
    """
    if not isinstance(document, Mapping):
        return ""
    return "\n".join(_text(block) for block in _blocks(document))


def with_budget_paragraph(document: Any, values: Mapping[str, str]) -> dict[str, Any]:
    """Return the document with its budget line set to ``values``.

    The paragraph that holds the line gets the new line in its place; with
    none, a paragraph is added at the end. Every other block is kept as it
    was. A paragraph that holds other lines besides the budget line is
    written again as plain lines, so only that one paragraph can lose its
    formatting.
    """
    blocks = list(_blocks(document)) if isinstance(document, Mapping) else []
    for index, block in enumerate(blocks):
        text = _text(block)
        if block.get("type") != "paragraph" or not _has_budget(text):
            continue
        blocks[index] = _lines_paragraph(with_budget(text, values).splitlines())
        break
    else:
        blocks.append(paragraph(with_budget("", values)))
    base = dict(document) if isinstance(document, Mapping) else {}
    return {**base, "type": "doc", "version": base.get("version", 1), "content": blocks}


def _blocks(document: Mapping[str, Any]) -> list[dict[str, Any]]:
    content = document.get("content")
    if not isinstance(content, list):
        return []
    return [block for block in content if isinstance(block, dict)]


def _text(node: Mapping[str, Any]) -> str:
    """Return the text under ``node``; nested blocks each start a line."""
    kind = node.get("type")
    if kind == "text":
        return str(node.get("text") or "")
    if kind == "hardBreak":
        return "\n"
    children = [c for c in node.get("content") or [] if isinstance(c, dict)]
    joint = "" if kind in _INLINE_HOLDERS else "\n"
    return joint.join(_text(c) for c in children)


def _has_budget(text: str) -> bool:
    return any(line.startswith(BUDGET_PREFIX) for line in text.splitlines())


def _lines_paragraph(lines: list[str]) -> dict[str, Any]:
    content: list[dict[str, Any]] = []
    for number, line in enumerate(lines):
        if number:
            content.append({"type": "hardBreak"})
        if line:
            content.append({"type": "text", "text": line})
    return {"type": "paragraph", "content": content}
