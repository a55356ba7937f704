"""The one tokenizer for chunks and queries.

Chunks and queries must be analysed identically or BM25 silently stops matching, so every term that
enters or queries the index comes from `analyze`. Its behaviour is versioned (`TOKENIZER_VERSION`,
stored in the index meta table): any change here must bump the version so old indexes are rebuilt.

Pipeline: Unicode NFKC -> case folding -> curly quotes/dashes to ASCII -> words (numbers keep
their digits, "1,200" == "1200", "three" == "3") -> possessives dropped ("Gaza's" == "Gaza") -> hyphen compounds
expanded to their parts plus the joined form ("cease-fire" -> cease, fire, ceasefire, so it meets
"ceasefire" and "cease fire") -> stop words removed -> lemma (simplemma: "met" -> meet, "said" -> say, irregular
forms a stemmer cannot join) -> Snowball English stemming (PyStemmer).

The lemmatizer's dictionary takes ~0.3 s to load, so it is loaded lazily (and from a cache file, see
`_lemmatizer`): the index stores every corpus word's term (`surface` and `lexicon` tables) and
queries look words up there first (index.search).
"""
from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

import Stemmer

TOKENIZER_VERSION = "3"

# The classic English stop-word list used by IR toolkits (NLTK's "english" list, the same one
# bm25s and many BM25 baselines use). Kept short on purpose: longer lists such as the 1,300-word
# "stop-words" package drop content words ("act", "added", "10") that people really search for.
STOP_WORDS: frozenset[str] = frozenset("""
a about above after again against ain all am an and any are aren arent as at be because been
before being below between both but by can couldn couldnt d did didn didnt do does doesn doesnt
doing don dont down during each few for from further had hadn hadnt has hasn hasnt have haven
havent having he her here hers herself him himself his how i if in into is isn isnt it its itself
just ll m ma me mightn mightnt more most mustn mustnt my myself needn neednt no nor not now o of
off on once only or other our ours ourselves out over own re s same shan shant she shes should
shouldn shouldnt shouldve so some such t than that thatll the their theirs them themselves then
there these they this those through to too under until up ve very was wasn wasnt we were weren
werent what when where which while who whom why will with won wont wouldn wouldnt y you youd
youll your youre yours yourself yourselves youve
whats wheres whos hows whens whys thats theres heres im ive
""".split())

# Number words equal their digits ("three hostages" == "3 hostages"); larger magnitudes stay words.
NUMBER_WORDS: dict[str, str] = {w: str(i) for i, w in enumerate(
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen "
    "seventeen eighteen nineteen twenty".split())}
NUMBER_WORDS.update({"thirty": "30", "forty": "40", "fifty": "50", "sixty": "60", "seventy": "70",
                     "eighty": "80", "ninety": "90"})

_TRANSLATE = str.maketrans({
    "\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'", "\u2032": "'", "`": "'",
    "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u201f": '"', "\u2033": '"',
    "\u2010": "-", "\u2011": "-", "\u00ad": "",
})

# A word: letters/digits, optionally joined by apostrophes or hyphens ("cease-fire", "o'brien");
# a number may carry thousands separators or a decimal point ("1,200", "3.5").
_WORD = re.compile(r"\d+(?:[.,]\d+)*|[^\W_]+(?:['-][^\W_]+)*'?")
_THOUSANDS = re.compile(r"^\d{1,3}(?:,\d{3})+$")

_stemmer = Stemmer.Stemmer("english")


def normalize(text: str) -> str:
    """NFKC + case folding + ASCII quotes and hyphens: the form every later step relies on."""
    return unicodedata.normalize("NFKC", text).translate(_TRANSLATE).casefold()


def _number(token: str) -> str:
    if _THOUSANDS.match(token):
        return token.replace(",", "")
    return token.replace(",", ".") if token.count(",") == 1 and len(token.split(",")[1]) != 3 else token.replace(",", "")


def surface_words(text: str, joined: bool = True) -> list[str]:
    """Normalised words before stop-word removal and stemming, compounds expanded.

    The search layer needs this level (not stems) to correct typos against the index's
    vocabulary and to join adjacent query words that the corpus writes as one compound.
    `joined=False` leaves out the joined form of hyphen compounds: the words as written, which is
    what the index's vocabulary of surface words counts.
    """
    out: list[str] = []
    append = out.append
    numbers = NUMBER_WORDS
    for token in _WORD.findall(normalize(text)):
        if token.isalpha():  # the common case: a plain word (hot path of every build)
            append(numbers.get(token, token))
            continue
        if token[0].isdigit():
            append(_number(token))
            continue
        if token.endswith("'s"):
            token = token[:-2]
        token = token.strip("'")
        if "-" in token:
            parts = [p.replace("'", "") for p in token.split("-") if p]
            out.extend(parts)
            if joined and len(parts) > 1:
                append("".join(parts))
            continue
        token = token.replace("'", "")
        if token:
            append(numbers.get(token, token))
    return out


@lru_cache(maxsize=200_000)
def stem(word: str) -> str:
    return _stemmer.stemWord(word)


@lru_cache(maxsize=500_000)
def lemma(word: str) -> str:
    if not word.isalpha():
        return word
    return _lemmatize(word).casefold()  # simplemma capitalises proper nouns ("Gaza")


@lru_cache(maxsize=1)
def _lemmatizer():
    """simplemma's default English lemmatizer, with its dictionary kept in a cache file.

    Decoding the dictionary shipped with simplemma takes 0.15-0.3 s, paid by every cold process
    whose question has a word the index has never seen (`ask` is one process per question); the
    decoded mapping, written once with `marshal` (plain data, never code), loads in ~0.04 s. Same
    strategy and data as `simplemma.lemmatize(word, lang="en")`; on any surprise in simplemma's
    internals the plain function is used."""
    import simplemma
    try:
        from simplemma.strategies import DefaultStrategy
        from simplemma.strategies.dictionaries import dictionary_factory as factories
    except ImportError:
        return lambda word: simplemma.lemmatize(word, lang="en")

    class CachedFactory(factories.DefaultDictionaryFactory):
        def _get_dictionary_uncached(self, lang: str):
            return factories.MappingStrToByteString(_cached_dictionary(lang, factories))

    lemmatizer = simplemma.Lemmatizer(lemmatization_strategy=DefaultStrategy(greedy=False,
                                                                             dictionary_factory=CachedFactory()))
    return lambda word: lemmatizer.lemmatize(word, "en")


def _cached_dictionary(lang: str, factories) -> dict[bytes, bytes]:
    import marshal
    import os

    from index.config import cache_dir

    source = factories.DATA_FOLDER / f"{lang}.plzma"
    st = source.stat()
    path = cache_dir() / f"simplemma-{lang}-{st.st_size}-{st.st_mtime_ns}.marshal"
    try:
        data = marshal.loads(path.read_bytes())
        if isinstance(data, dict) and data:
            return data
    except (OSError, ValueError, EOFError, TypeError):
        pass
    data = factories._load_dictionary_from_disk(lang)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
        tmp.write_bytes(marshal.dumps(data))
        os.replace(tmp, path)
    except OSError:
        pass  # a read-only home: every cold process decodes the shipped file, as simplemma does
    return data


def _lemmatize(word: str) -> str:
    try:
        return _lemmatizer()(word)
    except AttributeError:  # simplemma's internals moved: its public function is the definition
        import simplemma

        return simplemma.lemmatize(word, lang="en")


_TERM_MEMO: dict[str, str | None] = {}
_UNSET = object()


def word_term(word: str) -> str | None:
    """The index term of one normalised surface word, or None for a stop word (memoised)."""
    term = _TERM_MEMO.get(word, _UNSET)
    if term is _UNSET:
        if len(_TERM_MEMO) > 1_000_000:
            _TERM_MEMO.clear()
        term = _TERM_MEMO[word] = _word_term(word)
    return term  # type: ignore[return-value]


def _word_term(word: str) -> str | None:
    if word in STOP_WORDS:
        return None
    base = lemma(word)
    if base in STOP_WORDS and base != word:
        base = word  # "left" may lemmatise to a stop word in odd cases; keep the word itself
    return stem(base)


def is_stop_word(word: str) -> bool:
    return word in STOP_WORDS


def terms_from_words(words: list[str]) -> list[str]:
    """Stop words out, lemma stems in: the terms the index stores and the query is scored with."""
    memo = _TERM_MEMO
    out = []
    for w in words:
        t = memo.get(w, _UNSET)
        if t is _UNSET:
            t = word_term(w)
        if t is not None:
            out.append(t)
    return out


def analyze(text: str) -> list[str]:
    """Text -> index terms (with repeats, in order). The single entry point for chunks and queries."""
    return terms_from_words(surface_words(text))
