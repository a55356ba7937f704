"""Deterministic synthetic corpora for the benchmark (10k / 100k / 1M paragraphs) and their queries.

Why synthetic: the claim under test is how query cost grows with corpus size, and no real corpus of
a million paragraphs ships with the project. The words and their (Zipfian) frequencies come from
SciFact so posting-list lengths look like real English scientific text, but words are drawn
independently: the corpora measure engine mechanics, not relevance.

Layout of one corpus (under ``tests/bench/work/corpus/synth-<size>/``):
  corpus.jsonl   one ``{"_id", "title", "text"}`` per paragraph (BEIR-style, so every engine and
                 ``python -m index build`` read it as is); ``_id`` is the paragraph number.
  queries.jsonl  1,000 ``{"_id", "text", "source"}``: 3-8 consecutive words of paragraph ``source``.
  df.json        document frequency of every analysed term (our analyzer, with and without stop
                 words), computed exactly while generating, for "postings touched per query".
  manifest.json  parameters and sha256 of the files (a regenerated corpus must match).

Nesting: paragraphs are generated in blocks of 10,000, block b from seed ``[SEED, b]``, so
synth-10k is the first block of synth-100k, which is the first tenth of synth-1M.
"""
from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import re
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
if str(REPO) not in sys.path:  # run as a script from anywhere: `index` must be importable
    sys.path.insert(0, str(REPO))

from index.analyzer import STOP_WORDS, analyze, stem, surface_words  # noqa: E402

SEED = 20261122
BLOCK = 10_000
MIN_WORDS, MAX_WORDS = 60, 120          # words per paragraph, uniform inclusive
MIN_SENT, MAX_SENT = 8, 20              # words per sentence (a period after each)
N_QUERIES = 1_000
MIN_Q, MAX_Q = 3, 8                     # words per query, uniform inclusive
SCIFACT = REPO.parent / "shared" / "data" / "scifact"
WORK = HERE / "work"
_RUN = re.compile(r"[^\W_]+")


def parse_size(text: str) -> int:
    """'10k' -> 10_000, '1M' -> 1_000_000, '2500' -> 2500."""
    t = text.strip().lower()
    mult = 1
    if t.endswith("k"):
        mult, t = 1_000, t[:-1]
    elif t.endswith("m"):
        mult, t = 1_000_000, t[:-1]
    return int(float(t) * mult)


def size_label(n: int) -> str:
    if n % 1_000_000 == 0:
        return f"{n // 1_000_000}M"
    if n % 1_000 == 0:
        return f"{n // 1_000}k"
    return str(n)


def corpus_dir(n: int, work: Path = WORK) -> Path:
    return work / "corpus" / f"synth-{size_label(n)}"


def scifact_vocabulary(path: Path = SCIFACT / "corpus.jsonl.gz") -> tuple[list[str], np.ndarray]:
    """SciFact's word types and counts (title + text, lowercased alphanumeric runs), most frequent first.

    Ties are broken alphabetically so the order, hence every generated corpus, is deterministic.
    """
    counts: dict[str, int] = {}
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        for line in fh:
            doc = json.loads(line)
            for w in _RUN.findall(f"{doc.get('title', '')} {doc.get('text', '')}".lower()):
                counts[w] = counts.get(w, 0) + 1
    items = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    return [w for w, _ in items], np.array([c for _, c in items], dtype=np.int64)


def _term_map(words: list[str], drop_stop: bool) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """(word id, term id) pairs: which analysed terms each vocabulary word yields.

    A paragraph is words separated by spaces and periods, so analysing it equals analysing each
    word alone (no token can span a separator); a word may yield zero terms (stop word) or, after
    NFKC, several.
    """
    term_ids: dict[str, int] = {}
    wi: list[int] = []
    ti: list[int] = []
    for i, w in enumerate(words):
        terms = analyze(w) if drop_stop else [stem(s) for s in surface_words(w)]
        for t in dict.fromkeys(terms):
            wi.append(i)
            ti.append(term_ids.setdefault(t, len(term_ids)))
    return np.array(wi, dtype=np.int64), np.array(ti, dtype=np.int64), list(term_ids)


def _block(b: int, cdf: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Paragraph b*BLOCK.. of the corpus: (word ids, paragraph start offsets, sentence-end mask)."""
    rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence([SEED, b])))
    lengths = rng.integers(MIN_WORDS, MAX_WORDS + 1, size=BLOCK)
    starts = np.zeros(BLOCK + 1, dtype=np.int64)
    np.cumsum(lengths, out=starts[1:])
    total = int(starts[-1])
    ids = np.searchsorted(cdf, rng.random(total), side="right").astype(np.int32)
    ids = np.minimum(ids, len(cdf) - 1)
    # Sentence ends: cumulative sentence lengths inside each paragraph, cut at its length.
    max_sent = MAX_WORDS // MIN_SENT + 1
    ends = np.cumsum(rng.integers(MIN_SENT, MAX_SENT + 1, size=(BLOCK, max_sent)), axis=1)
    inside = ends < lengths[:, None]
    end_mask = np.zeros(total, dtype=bool)
    end_mask[(starts[:-1, None] + ends - 1)[inside]] = True
    end_mask[starts[1:] - 1] = True            # every paragraph ends with a period
    return ids, starts, end_mask


def _query_plan(n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Candidate (paragraph, window length, window position in [0,1)) triples, 3x oversampled.

    Candidates whose window has fewer than two content words are dropped later, in order, so
    the first 1,000 survivors are the queries.
    """
    rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence([SEED, 1, n])))
    m = 3 * N_QUERIES
    return rng.integers(0, n, size=m), rng.integers(MIN_Q, MAX_Q + 1, size=m), rng.random(m)


def generate(n: int, work: Path = WORK, *, force: bool = False, log=print) -> Path:
    """Write synth-<n> (corpus, queries, df, manifest) unless a complete one is there. Returns its dir."""
    if n % BLOCK:
        raise ValueError(f"size must be a multiple of {BLOCK}")
    out = corpus_dir(n, work)
    if (out / "manifest.json").exists() and not force:
        ensure_df(n, work, log=log)
        return out
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    words, counts = scifact_vocabulary()
    cdf = np.cumsum(counts) / counts.sum()
    plain = np.array(words, dtype=object)
    dotted = np.array([w + "." for w in words], dtype=object)
    q_doc, q_len, q_pos = _query_plan(n)
    q_text: dict[int, str] = {}
    stop = STOP_WORDS
    tmp = out / "corpus.jsonl.tmp"
    n_tokens = 0
    with tmp.open("w", encoding="utf-8", newline="\n") as fh:
        for b in range(n // BLOCK):
            ids, starts, end_mask = _block(b, cdf)
            n_tokens += len(ids)
            toks = np.where(end_mask, dotted[ids], plain[ids])
            base = b * BLOCK
            lines = []
            for j in range(BLOCK):
                text = " ".join(toks[starts[j]:starts[j + 1]].tolist())
                lines.append(f'{{"_id": "{base + j}", "title": "", "text": "{text}"}}\n')
            fh.write("".join(lines))
            # query windows whose paragraph is in this block
            for c in np.nonzero((q_doc >= base) & (q_doc < base + BLOCK))[0]:
                j = int(q_doc[c]) - base
                length = int(starts[j + 1] - starts[j])
                ql = int(q_len[c])
                off = int(q_pos[c] * (length - ql + 1))
                qwords = [words[i] for i in ids[starts[j] + off:starts[j] + off + ql]]
                if sum(1 for w in qwords if len(w) >= 2 and w not in stop) >= 2:
                    q_text[int(c)] = " ".join(qwords)
            if b % 10 == 9:
                log(f"  synth-{size_label(n)}: {base + BLOCK:,} paragraphs, {time.perf_counter() - t0:.0f} s")
    tmp.replace(out / "corpus.jsonl")

    chosen = sorted(q_text)[:N_QUERIES]
    if len(chosen) < N_QUERIES:
        raise RuntimeError("too few queries with two content words; raise the oversampling")
    with (out / "queries.jsonl").open("w", encoding="utf-8", newline="\n") as fh:
        for qi, c in enumerate(chosen):
            fh.write(json.dumps({"_id": f"q{qi}", "text": q_text[c], "source": str(int(q_doc[c]))}) + "\n")
    manifest = {
        "name": f"synth-{size_label(n)}", "paragraphs": n, "tokens": n_tokens, "seed": SEED,
        "block": BLOCK, "words_per_paragraph": [MIN_WORDS, MAX_WORDS],
        "words_per_sentence": [MIN_SENT, MAX_SENT], "query_words": [MIN_Q, MAX_Q],
        "queries": N_QUERIES, "vocabulary_types": len(words), "vocabulary_tokens": int(counts.sum()),
        "seconds": round(time.perf_counter() - t0, 1),
        "sha256": {name: _sha256(out / name) for name in ("corpus.jsonl", "queries.jsonl")},
    }
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    log(f"  synth-{size_label(n)}: done in {manifest['seconds']} s -> {out}")
    ensure_df(n, work, log=log)
    return out


def ensure_df(n: int, work: Path = WORK, *, log=print) -> Path:
    """df.json: exact document frequency of every analysed term, for "postings touched per query".

    Keyed by the analyzer's TOKENIZER_VERSION and recomputed when it changes (the corpus itself
    does not depend on the analyzer). Regenerates each block's word ids (cheap, deterministic)
    instead of re-reading the JSONL: a paragraph is words separated by spaces and periods, so its
    terms are the union of its words' terms.
    """
    from index.analyzer import TOKENIZER_VERSION
    path = corpus_dir(n, work) / "df.json"
    if path.exists():
        with path.open(encoding="utf-8") as fh:
            if json.load(fh).get("tokenizer_version") == TOKENIZER_VERSION:
                return path
    t0 = time.perf_counter()
    words, counts = scifact_vocabulary()
    cdf = np.cumsum(counts) / counts.sum()
    maps = {key: _term_map(words, key == "stop") for key in ("stop", "nostop")}
    df = {key: np.zeros(len(m[2]), dtype=np.int64) for key, m in maps.items()}
    csr = {}  # word -> terms as CSR, to turn (paragraph, word) pairs into (paragraph, term) pairs
    for key, (wi, ti, _) in maps.items():
        ptr = np.zeros(len(words) + 1, dtype=np.int64)
        np.cumsum(np.bincount(wi, minlength=len(words)), out=ptr[1:])
        csr[key] = (ptr, ti)
    for b in range(n // BLOCK):
        ids, starts, _ = _block(b, cdf)
        doc_of = np.repeat(np.arange(BLOCK, dtype=np.int64), np.diff(starts))
        pairs = np.unique(doc_of * len(words) + ids)
        p_doc, p_word = pairs // len(words), pairs % len(words)
        for key, (ptr, ti) in csr.items():
            n_terms = len(maps[key][2])
            reps = ptr[p_word + 1] - ptr[p_word]
            idx = np.repeat(ptr[p_word], reps) + (np.arange(reps.sum()) - np.repeat(np.cumsum(reps) - reps, reps))
            t_pairs = np.unique(np.repeat(p_doc, reps) * n_terms + ti[idx])
            df[key] += np.bincount(t_pairs % n_terms, minlength=n_terms)
    tmp = path.with_suffix(".tmp")
    with tmp.open("w", encoding="utf-8") as fh:
        json.dump({"tokenizer_version": TOKENIZER_VERSION,
                   **{key: {t: int(d) for t, d in zip(maps[key][2], df[key]) if d} for key in maps}}, fh)
    tmp.replace(path)
    log(f"  synth-{size_label(n)}: df for tokenizer {TOKENIZER_VERSION} in {time.perf_counter() - t0:.0f} s")
    return path


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 22), b""):
            h.update(chunk)
    return h.hexdigest()


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="10k,100k", help="comma list, e.g. 10k,100k,1M")
    ap.add_argument("--force", action="store_true", help="regenerate even if present")
    ap.add_argument("--work", type=Path, default=WORK)
    args = ap.parse_args(argv)
    for s in args.sizes.split(","):
        generate(parse_size(s), args.work, force=args.force)


if __name__ == "__main__":
    main()
