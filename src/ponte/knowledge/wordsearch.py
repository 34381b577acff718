"""Word search as a person means it: without accents or case, by word forms, in Portuguese, Spanish and English.

Each integration keeps a `search_text`, written with its message: the message's words folded (lowercase, no
accents) and their Snowball stems in the three languages; Ponte's own message in each language; and its error
category's name in each language. A searched word matches when its shortest stem is inside that text, so
"descricao" finds "descrição", "imagem" finds "Problema com as imagens", and "sin stock" finds "out of stock"
when the words are Ponte's. The databases' trigram indexes serve that substring test (migration 0018).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import cache

import orjson

from ponte.domain.messages import Message
from ponte.i18n import LOCALES, Translator
from ponte.knowledge.articles import categories
from ponte.knowledge.features import LANGUAGES, stem, words
from ponte.knowledge.text import fold

MAX_CHARS = 8000  # a 4,000-character message, folded and stemmed, fits; the column keeps no more


_TOKEN = re.compile(r"[a-z0-9]+")


def _words(text: str) -> list[str]:
    """Folded words and numbers ("TEN-001" -> ten, 001), CamelCase codes also split."""
    return list(dict.fromkeys([*_TOKEN.findall(fold(text)), *words(text)]))


def _tokens(text: str) -> Iterable[str]:
    for word in _words(text):
        yield word
        if word.isalpha():
            for language in LANGUAGES:
                yield stem(word, language)


@cache
def _category_names() -> dict[str, str]:
    """Each category's title in every language, as one text (cached: the knowledge data is read once)."""
    return {c["code"]: " ".join(str(t) for t in (c.get("title") or {}).values()) for c in categories()}


_MEMO: dict[tuple[str | None, bytes | None, str | None], str | None] = {}
_MEMO_SIZE = 4096


def search_text(message: str | None, *, said: Message | None = None, category: str | None = None) -> str | None:
    """What a word search looks in for one integration (None when it says nothing). A batch of thousands of
    attempts mostly says one thing ("sent in feed …"): each distinct text is folded and stemmed once."""
    key = (message, orjson.dumps(said.as_json(), option=orjson.OPT_SORT_KEYS) if said else None, category)
    try:
        return _MEMO[key]
    except KeyError:
        pass
    if len(_MEMO) >= _MEMO_SIZE:
        _MEMO.clear()
    text = _MEMO[key] = _search_text(message, said, category)
    return text


def _search_text(message: str | None, said: Message | None, category: str | None) -> str | None:
    parts = [message or ""]
    if said is not None:
        parts += [Translator(locale).said(said, message) for locale in LOCALES]
    if category:
        parts.append(_category_names().get(category, category.replace("_", " ")))
    seen = dict.fromkeys(token for part in parts for token in _tokens(part))
    text = " ".join(seen)
    return text[:MAX_CHARS] if text else None


def search_terms(query: str) -> list[str]:
    """The substrings a search for `query` needs, one per word: the word's shortest stem across the languages
    (a stem is never cut below three letters, nor is a short word)."""
    terms = []
    for word in _TOKEN.findall(fold(query)):
        if not word.isalpha():
            terms.append(word)
            continue
        stems = [stem(word, language) for language in LANGUAGES]
        shortest = min((s for s in stems if len(s) >= 3), key=len, default=word)
        terms.append(shortest)
    return list(dict.fromkeys(terms))
