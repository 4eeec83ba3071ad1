"""Finding a dossier code in what a QR code or barcode holds: the code itself, or a lookup
link that carries it (in its path or query, possibly percent-encoded)."""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import unquote_plus

from nlu.dossier_code import find_dossier_codes


def dossier_code_in(decoded: Iterable[str]) -> str | None:
    """The first dossier code in the decoded texts, canonicalised, or None."""
    for text in decoded:
        for candidate in (text, unquote_plus(text)):
            found = find_dossier_codes(candidate)
            if found:
                return found[0].code
    return None
