"""What the statistical reader sees in a message: words reduced to their stems, pairs of neighbouring stems,
the first five letters of each longer word, the category vocabulary they belong to, and the attempt's marketplace,
flow, HTTP status and code.

A message may be Portuguese, Spanish or English (often mixed with English codes). Each message is given one
language by its function words, and its words are stemmed with that language's Snowball stemmer, so that
"inválidos", "invalida" and "invalid" meet. Vocabulary terms are stemmed in all three languages when loaded,
so a term written in any of them is found whatever language the message was given.
Everything here is memoised per word: the same few thousand words come back in every message.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache

import snowballstemmer

from ponte.knowledge.text import fold

LANGUAGES = ("pt", "es", "en")
PREFIX = 5  # letters of a word kept as a language-independent feature
_STEMMER_NAMES = {"pt": "portuguese", "es": "spanish", "en": "english"}


def _set(words: str) -> frozenset[str]:
    return frozenset(words.split())


# Function words that tell the languages apart; "no", "para", "con" are shared and count for both.
_MARKERS: dict[str, frozenset[str]] = {
    "pt": _set(
        "nao o os do da dos das ao aos pelo pela com um uma esta estao foi sao e ja deve ser possui tem voce seu sua "
        "no na nos nas em para ou mais sem pedido produto anuncio envio preco estoque nota"
    ),
    "es": _set(
        "el la los las del al con un una esta estan fue son es ya debe ser tiene usted su no para o mas sin en por "
        "pedido producto publicacion envio precio existencias factura se"
    ),
    "en": _set(
        "the is are was were be been not for to of with this that a an has have must your you and in on by or "
        "cannot could please no without order product listing shipment price stock invoice"
    ),
}
_SUFFIX_HINTS = (("cao", "pt"), ("coes", "pt"), ("cion", "es"), ("ciones", "es"), ("tion", "en"), ("ing", "en"))

# Words that carry no meaning for a category in any of the three languages; negations are kept on purpose.
STOPWORDS = _set(
    "o a os as do da dos das de ao aos pelo pela com um uma e the is are was were be been for to of this that an "
    "and in on by or el la los las del al con un una en por se su sus seu sua seus suas it its at as from y"
)

_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")
_WORD = re.compile(r"[a-z]{2,}")


@lru_cache(maxsize=3)
def _stemmer(language: str) -> snowballstemmer.stemmer:
    return snowballstemmer.stemmer(_STEMMER_NAMES[language])


_stems: dict[tuple[str, str], str] = {}


def stem(word: str, language: str) -> str:
    """The Snowball stem of a folded word in `language`, memoised (a few thousand words recur for ever)."""
    key = (word, language)
    found = _stems.get(key)
    if found is None:
        if len(_stems) > 200_000:  # bound the memo against a flood of random tokens
            _stems.clear()
        found = _stems[key] = (
            _conflate(_stemmer(language).stemWord(_singular(word, language))) if len(word) > 3 else word
        )
    return found


# Portuguese plurals Snowball misses once accents are folded away ("imagens", "configuracoes", "disponiveis").
_PT_PLURALS = (("coes", "cao"), ("oes", "ao"), ("aes", "ao"), ("ens", "em"), ("eis", "el"), ("ais", "al"))


def _singular(word: str, language: str) -> str:
    if language == "pt" and len(word) > 5:
        for plural, singular in _PT_PLURALS:
            if word.endswith(plural):
                return word[: -len(plural)] + singular
    return word


def _conflate(stemmed: str) -> str:
    # Stems still differ by a final vowel across genders and languages ("obrigatori"/"obrigator", "imag"/"image").
    return stemmed.rstrip("aeiou") if len(stemmed) > 4 else stemmed


def words(message: str) -> list[str]:
    """The folded words of a message: CamelCase and snake_case codes split ("QuotaExceeded" -> quota, exceeded)."""
    if any(c.isupper() for c in message):
        message = _CAMEL.sub(" ", message)
    return _WORD.findall(fold(message))


# Machine codes as written: snake_case and dotted ("SELLER_NOT_AUTHORIZED", "item.price.invalid"), kebab with three
# parts or more ("seller-not-authorized"; "e-mail" and "NF-e" are words as they are) and CamelCase ("QuotaExceeded",
# "SKUNotFound"). Read token by token with string tests first: this runs on every message no answer was remembered
# for, and a regular expression tried at every position of a sentence costs more than the classification.
_SEPARATED_CODE = re.compile(r"[A-Za-z][A-Za-z0-9]*(?:[_.-][A-Za-z0-9]+)+")
_CAMEL_CODE = re.compile(r"[A-Z]?[a-z]+(?:[A-Z][a-z]+)+|[A-Z]{2,}(?:[A-Z][a-z]+)+")
_CODE_SEPARATOR = re.compile(r"[_.-]+")


def spell_codes(message: str) -> str:
    """The message's machine codes written as words ("QuotaExceeded: INVALID_SKU" -> "quota exceeded invalid sku"),
    or "" when it has none; what is not a code is left out."""
    found: list[str] = []
    for token in message.split():
        if len(token) < 5:
            continue
        if "_" in token or "." in token.strip(".") or token.count("-") >= 2:
            codes = [c for c in _SEPARATED_CODE.findall(token) if "_" in c or "." in c or c.count("-") >= 2]
        elif not token.islower() and not token.isupper() and not token[1:].islower():
            codes = _CAMEL_CODE.findall(token)
        else:
            continue
        found.extend(_CODE_SEPARATOR.sub(" ", _CAMEL.sub(" ", code)).lower() for code in codes)
    return " ".join(found)


def language_of(tokens: Iterable[str]) -> str:
    """pt, es or en by function words and typical endings; English when nothing tells (codes are English)."""
    score = {"pt": 0.0, "es": 0.0, "en": 0.0}
    for token in tokens:
        for language, markers in _MARKERS.items():
            if token in markers:
                score[language] += 1
        for suffix, language in _SUFFIX_HINTS:
            if token.endswith(suffix):
                score[language] += 0.5
                break
    best = max(score, key=lambda language: (score[language], language == "en"))
    return best if score[best] > 0 else "en"


@dataclass(frozen=True)
class Vocabulary:
    """Terms (one or more stems) that say what each category is about, in Portuguese, Spanish and English."""

    terms: Mapping[tuple[str, ...], frozenset[str]]  # stems -> categories the term speaks of
    first_stems: frozenset[str]  # a cheap test before looking for longer terms
    longest: int

    @classmethod
    def build(cls, by_category: Mapping[str, Iterable[str]]) -> Vocabulary:
        terms: dict[tuple[str, ...], set[str]] = {}
        for category, entries in by_category.items():
            for entry in entries:
                tokens = [t for t in words(entry) if t not in STOPWORDS]
                for language in LANGUAGES:
                    key = tuple(stem(token, language) for token in tokens)
                    if key:
                        terms.setdefault(key, set()).add(category)
        frozen = {key: frozenset(categories) for key, categories in terms.items()}
        return cls(frozen, frozenset(key[0] for key in frozen), max((len(k) for k in frozen), default=0))

    def categories_in(self, stems: list[str]) -> set[str]:
        found: set[str] = set()
        terms, first = self.terms, self.first_stems
        for index, head in enumerate(stems):
            if head not in first:
                continue
            for length in range(1, self.longest + 1):
                hit = terms.get(tuple(stems[index : index + length]))
                if hit:
                    found |= hit
        return found


EMPTY_VOCABULARY = Vocabulary({}, frozenset(), 0)


def features(
    message: str,
    *,
    marketplace: str | None = None,
    flow: str | None = None,
    http_status: int | None = None,
    code: str | None = None,
    vocabulary: Vocabulary = EMPTY_VOCABULARY,
) -> list[str]:
    """The features of one attempt for the linear model; training and classification both call this."""
    tokens = words(f"{code} {message}" if code else message)
    language = language_of(tokens)
    stems = [stem(token, language) for token in tokens if token not in STOPWORDS]
    found = [f"w:{s}" for s in stems]
    found.extend(f"b:{a}_{b}" for a, b in itertools.pairwise(stems))
    found.extend(f"v:{category}" for category in vocabulary.categories_in(stems))
    # The first letters of each longer word, whatever its language: "certificado"/"certificate",
    # "configuração"/"configuration"/"configuración" meet where their stems do not. Unlike character n-grams
    # (which in grouped cross-validation learnt each source's spelling habits and cost 4 points), one prefix per
    # word gained 1.6 points on sources not seen. Tried again in the sixth pass as char_wb 3-5 grams of the folded
    # words, down-weighted (x0.15 and x0.3) beside these features: 77.0-77.1 % against 77.2 % without, for 2.5
    # times the weights and 6 times the training time, so they stay out.
    found.extend(dict.fromkeys(f"p:{t[:PREFIX]}" for t in tokens if len(t) > PREFIX and t not in STOPWORDS))
    if marketplace:
        found.append(f"m:{marketplace}")
    if flow:
        found.append(f"f:{flow}")
    if http_status:
        found.append(f"h:{http_status}")
        found.append(f"h:{http_status // 100}xx")
    if not stems:
        found.append("empty")
    return found
