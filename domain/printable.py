"""Text made safe to store whatever it held: control characters and lone surrogates escaped,
length bounded. For recording what went wrong, where refusing the text is no option."""

from __future__ import annotations

KEEP = frozenset("\n\t")


def printable(text: str, limit: int = 1000) -> str:
    """`text` with control characters and lone surrogates escaped, cut to `limit`."""
    escaped = "".join(_escape(char) for char in text)
    return escaped if len(escaped) <= limit else escaped[:limit - 1] + "…"


def _escape(char: str) -> str:
    if char.isprintable() or char in KEEP:
        return char
    return f"\\x{ord(char):02x}" if ord(char) < 0x100 else f"\\u{ord(char):04x}"
