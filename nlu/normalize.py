"""Vietnamese text normalisation: the one function used for training, parsing and searching.

``normalize(text)`` splits a message into word tokens and gives each token two forms:

* ``text``: lower case, Unicode NFC, tone marks placed one canonical way ("hoà" and "hòa" both
  become "hòa"), abbreviations and teencode expanded ("ko" -> "không", "cccd" -> "căn cước
  công dân");
* ``plain``: the same with every diacritic removed and "đ" -> "d", plus leftover Telex
  doubling folded ("khoong" -> "khong").

Every token keeps the character span of the original text it came from, so entity offsets can
be reported against what the citizen typed. ``fold(text)`` is the accent-insensitive search key
built from the same steps.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

from nlu.abbreviations import ABBREVIATIONS

TONE_MARKS = frozenset("\u0300\u0301\u0303\u0309\u0323")  # huyền, sắc, ngã, hỏi, nặng
VOWELS = frozenset("aăâeêioôơuưy")
SHAPED_VOWELS = frozenset("ăâêôơư")
WORD_PATTERN = re.compile(r"[^\W_]+", re.UNICODE)
TELEX_DOUBLES = re.compile(r"(aa|ee|oo|dd)")
MAX_INPUT_CHARS = 4000


@dataclass(frozen=True, slots=True)
class Token:
    """One word of a message, in its normalised forms, with its span in the original text."""

    text: str
    plain: str
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class NormalizedText:
    """A message after normalisation."""

    original: str
    tokens: tuple[Token, ...]

    @property
    def text(self) -> str:
        """The normalised text with diacritics."""
        return " ".join(token.text for token in self.tokens)

    @property
    def plain(self) -> str:
        """The normalised text without diacritics."""
        return " ".join(token.plain for token in self.tokens)


def normalize(text: str) -> NormalizedText:
    """Normalise a citizen's message (see the module docstring)."""
    # NFC can lengthen a text (composition exclusions such as U+FB44 decompose): cut again
    original = unicodedata.normalize("NFC", text[:MAX_INPUT_CHARS])[:MAX_INPUT_CHARS]
    tokens = []
    for match in WORD_PATTERN.finditer(original):
        word = _canonical_word(match.group().lower())
        expanded = ABBREVIATIONS.get(word, word)
        tokens.append(Token(expanded, plain_word(expanded), match.start(), match.end()))
    return NormalizedText(original, tuple(tokens))


def plain_words(text: str) -> list[str]:
    """The plain forms of a text's words, in order, as ``normalize(text).plain.split()`` gives
    them, without building tokens: for long texts indexed at start-up (the catalog's bodies)."""
    original = unicodedata.normalize("NFC", text[:MAX_INPUT_CHARS])[:MAX_INPUT_CHARS]
    return [plain for raw in WORD_PATTERN.findall(original) for plain in _plain_of(raw)]


@lru_cache(maxsize=65536)
def _plain_of(raw: str) -> tuple[str, ...]:
    """The plain words one word of a text stands for (an abbreviation may stand for several)."""
    word = _canonical_word(raw.lower())
    return tuple(plain_word(ABBREVIATIONS.get(word, word)).split())


@lru_cache(maxsize=65536)
def fold(text: str) -> str:
    """The accent-insensitive key of a text: its normalised plain form (cached: the
    knowledge base folds the same names at every reload)."""
    return normalize(text).plain


def has_diacritics(text: str) -> bool:
    """Whether a text carries any Vietnamese diacritic ("đ" included): whether
    ``strip_diacritics`` would change it, without building the stripped text (a text its
    decomposition changes always loses or changes a character)."""
    if text.isascii():
        return False
    if unicodedata.normalize("NFD", text) != text:
        return True
    return "đ" in text or "Đ" in text or any(unicodedata.combining(ch) for ch in text)


def strip_diacritics(text: str) -> str:
    """Remove every Vietnamese diacritic, keeping case ("Đăng ký" -> "Dang ky")."""
    decomposed = unicodedata.normalize("NFD", text)
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return stripped.replace("đ", "d").replace("Đ", "D")


@lru_cache(maxsize=65536)
def plain_word(word: str) -> str:
    """The plain form of one already-lowercased word (or expansion)."""
    plain = strip_diacritics(word)
    if not plain.isdigit():
        plain = TELEX_DOUBLES.sub(lambda m: m.group()[0], plain)
    return plain


@lru_cache(maxsize=65536)
def _canonical_word(word: str) -> str:
    """Place the tone mark of a lower-case Vietnamese syllable in one canonical position."""
    decomposed = unicodedata.normalize("NFD", word)
    tones = [ch for ch in decomposed if ch in TONE_MARKS]
    if not tones:
        return unicodedata.normalize("NFC", word)
    base = unicodedata.normalize(
        "NFC", "".join(ch for ch in decomposed if ch not in TONE_MARKS)
    )
    target = _tone_position(base)
    if target is None:
        return unicodedata.normalize("NFC", word)
    marked = base[: target + 1] + tones[-1] + base[target + 1 :]
    return unicodedata.normalize("NFC", marked)


def _tone_position(syllable: str) -> int | None:
    """Index of the vowel that carries the tone, by the traditional placement rules."""
    start = 0
    consonant_vowel = syllable.startswith("gi") and len(syllable) > 2 and syllable[2] in VOWELS
    if syllable.startswith("qu") or consonant_vowel:
        start = 2
    first = next((i for i in range(start, len(syllable)) if syllable[i] in VOWELS), None)
    if first is None:
        return None
    last = first
    while last + 1 < len(syllable) and syllable[last + 1] in VOWELS:
        last += 1
    cluster = range(first, last + 1)
    shaped = [i for i in cluster if syllable[i] in SHAPED_VOWELS]
    if shaped:
        return shaped[-1]
    if last + 1 < len(syllable):  # a final consonant follows: the last vowel
        return last
    if last == first:
        return first
    return last - 1  # open syllable: the vowel before the last one ("hòa", "mùa", "ngoài")
