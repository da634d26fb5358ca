"""Arabic words with their clitics: one compiled regex finds every term of every group in one pass.

A term is written bare in ``keywords.yaml`` (روسيا، روس، تعاون); the pattern lets it carry the
proclitics and articles news Arabic glues to it (و ف ب ك ل س، ال، لل، وبال...) and, unless the term ends
in ``!``, the common suffixes (ي يه ين ون ات ان، pronoun endings), always on word boundaries, so
وروسيا، الروسية، للروس، بموسكو match and دروس or فيروس do not. The term alternation is written as a
trie (شركه|شريك -> شر(?:كه|يك)) because Python's ``re`` tries alternatives one by one at every position;
the trie makes a miss cost one character test, which is most of the 5,000 articles/s budget.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Generic, TypeVar

from classifiers.normalize import normalize

#: Proclitics: conjunction (و ف), then a preposition (ب ك ل) or future س, the article (ال; لل after ل).
PROCLITICS = tuple(
    conj + rest for conj in ("", "و", "ف") for rest in ("", "ب", "ك", "ل", "س", "ال", "بال", "كال", "لل")
)
#: Suffixes seen on names, adjectives and nouns: nisba (ي يه يين يون), plurals/duals, pronoun endings.
SUFFIX = r"(?:يتين|يتان|يين|يون|يان|يه|يات|ين|ون|ات|ان|تين|تان|تي|ته|تها|تهم|ها|هم|هما|كم|نا|ه|ي|ا|ك)?"
#: A word character that may continue a word; digits are words too (so "2018" is not glued to a term).
_BOUNDARY_BEFORE = r"(?<![\w])"
#: The same test when the term itself starts with a word character, which every term written in letters does;
#: ``re`` runs ``\b`` a fifth faster than a lookbehind at each of the text's positions.
_WORD_START = r"\b"
_STARTS_WITH_WORD = re.compile(r"\w")
_BOUNDARY_AFTER = r"(?![\w])"
#: Sentence ends in normalised text (؟ and ؛ are folded to ? and ;); a dot followed by a digit is a decimal.
#: Written to start with a character class, which lets ``re`` skip to candidates at C speed.
SENTENCE_END = re.compile(r"[.!?;:\n](?:(?<=\n)|(?=[\s\"]|\Z))\n*")
_ARTICLE = "ال"
T = TypeVar("T")


def core_of(term: str) -> tuple[str, bool]:
    """The normalised form matched for a term, and whether suffixes may follow it."""
    exact = term.endswith("!")
    core = " ".join(normalize(term.rstrip("!")).split())
    # The article is a proclitic, so "الكرملين" is stored as "كرملين" and matches with or without it.
    if core.startswith(_ARTICLE) and len(core) > 4:
        core = core[len(_ARTICLE) :]
    return core, not exact


def trie_pattern(words: Iterable[str]) -> str:
    """A regex matching exactly ``words``, longest alternatives first, factored as a trie."""
    trie: dict[str, dict] = {}
    for word in words:
        node = trie
        for char in word:
            node = node.setdefault(char, {})
        node[""] = {}
    return _render(trie)


def _render(node: dict[str, dict]) -> str:
    ends_here = "" in node
    branches = []
    for char in sorted(key for key in node if key):
        piece = r"\s+" if char == " " else re.escape(char)
        branches.append(piece + _render(node[char]))
    if not branches:
        return ""
    body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
    if ends_here:
        return "(?:" + body + ")?"
    return body


def with_proclitics(core: str) -> tuple[str, ...]:
    """Every spelling of a core with the proclitics of :data:`PROCLITICS` in front of it."""
    return tuple(prefix + core for prefix in PROCLITICS)


def compile_terms(cores: Iterable[str]) -> re.Pattern[str]:
    """One pattern over normalised text: group ``word`` is proclitics plus a core, group ``suffix`` the rest.

    The proclitics are spelled out into one trie instead of written as an optional group in front of
    it, and terms with and without suffixes share that trie (the caller drops a suffixed match of a
    term marked "!"): each alternation makes ``re`` retry the whole trie at every word start, and this
    shape reads a word start once (the Russia scan of every article runs ~25 % faster for it).
    """
    words = sorted({word for core in cores for word in with_proclitics(core)})
    before = _WORD_START if all(_STARTS_WITH_WORD.match(word) for word in words) else _BOUNDARY_BEFORE
    return re.compile(f"{before}(?P<word>{trie_pattern(words)})(?P<suffix>{SUFFIX}){_BOUNDARY_AFTER}")


class TermIndex(Generic[T]):
    """Terms, each with a payload, compiled into one pattern; tells which payloads a match stands on."""

    def __init__(self, terms: Iterable[tuple[str, T]]) -> None:
        # word as matched (proclitics + core) -> (payload, whether the term takes suffixes)
        self._lookup: dict[str, list[tuple[T, bool]]] = {}
        cores = []
        for term, payload in terms:
            core, takes_suffixes = core_of(term)
            cores.append(core)
            for word in with_proclitics(core):
                self._lookup.setdefault(word, []).append((payload, takes_suffixes))
        self.pattern = compile_terms(cores)
        # The answers for a bare and for a suffixed word, worked out once: a lookup per match, no list built.
        lookup = self._lookup
        self._bare = {word: tuple(p for p, _ in entries) for word, entries in lookup.items()}
        self._suffixed = {word: tuple(p for p, takes in entries if takes) for word, entries in lookup.items()}

    def payloads(self, match: re.Match[str]) -> tuple[T, ...]:
        """What the matched word stands for; a term marked "!" only when no suffix follows it."""
        word, suffix = match.groups()
        table = self._suffixed if suffix else self._bare
        found = table.get(word)
        if found is None:
            # a multi-word term across a line break or double space, else a word of no term
            found = table.get(" ".join(word.split()), ()) if not word.isalpha() else ()
        return found

    def flags(self, wanted: Callable[[T], bool]) -> dict[str, tuple[bool, bool]]:
        """For each word, whether a wanted payload stands on it (bare, suffixed): a test without lists."""
        return {
            word: (any(wanted(p) for p, _ in entries), any(wanted(p) for p, takes in entries if takes))
            for word, entries in self._lookup.items()
        }


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of each sentence of a normalised text, blanks around it included, so the spans tile it."""
    ends = [match.end() for match in SENTENCE_END.finditer(text)]
    if not ends or ends[-1] < len(text):
        ends.append(len(text))
    return list(zip([0, *ends[:-1]], ends, strict=True))
