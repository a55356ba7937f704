"""SciFact study of tokenizer, chunking and BM25-variant choices, outside the CLI.

Why it exists: `scifact.py` measures what the shipped CLI does; this script measures what the
alternatives WOULD do, so changes to `index/analyzer.py` or to chunking are argued from numbers.
It scores with rank-bm25's exact formulas (BM25Okapi / BM25L / BM25Plus, checked against
rank-bm25's own `get_scores` at start-up), vectorised over posting lists so a full k1 x b grid on
the 809 train queries takes seconds. Every choice is made on train; test is printed beside it
only for the setting train chose.

    .venv/bin/python tests/eval/tokenizer_study.py [--only NAME ...]
"""
from __future__ import annotations

import argparse
import itertools
import math
import re
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import numpy as np
import rank_bm25
import Stemmer

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
import scifact  # noqa: E402
from index import analyzer  # noqa: E402

K1S = (0.6, 0.9, 1.2, 1.5)
BS = (0.3, 0.4, 0.6, 0.75)


class Postings:
    """Term -> (doc indices, term frequencies), lengths and rank-bm25's IDFs for one tokenised corpus."""

    def __init__(self, docs: list[list[str]], variant: str = "okapi", epsilon: float = 0.25):
        self.variant = variant
        self.n = len(docs)
        self.dl = np.array([len(d) for d in docs], dtype=float)
        self.avgdl = self.dl.sum() / self.n
        acc: dict[str, tuple[list[int], list[int]]] = {}
        for i, d in enumerate(docs):
            for t, c in Counter(d).items():
                ids, tfs = acc.setdefault(t, ([], []))
                ids.append(i)
                tfs.append(c)
        self.post = {t: (np.array(ids), np.array(tfs, dtype=float)) for t, (ids, tfs) in acc.items()}
        n = self.n
        if variant == "okapi":
            idf = {t: math.log(n - len(p[0]) + 0.5) - math.log(len(p[0]) + 0.5) for t, p in self.post.items()}
            floor = epsilon * sum(idf.values()) / len(idf)
            self.idf = {t: (v if v >= 0 else floor) for t, v in idf.items()}
        elif variant == "bm25l":
            self.idf = {t: math.log(n + 1) - math.log(len(p[0]) + 0.5) for t, p in self.post.items()}
        elif variant == "bm25plus":
            self.idf = {t: math.log((n + 1) / len(p[0])) for t, p in self.post.items()}
        else:
            raise ValueError(variant)

    def scores(self, query: list[str], k1: float, b: float, delta: float | None = None) -> np.ndarray:
        s = np.zeros(self.n)
        norm = 1 - b + b * self.dl / self.avgdl
        for q in query:
            if q not in self.post:
                continue
            ids, tf = self.post[q]
            idf = self.idf[q]
            if self.variant == "okapi":
                s[ids] += idf * tf * (k1 + 1) / (tf + k1 * norm[ids])
            elif self.variant == "bm25l":
                d = 0.5 if delta is None else delta
                ctd = tf / norm[ids]
                s[ids] += idf * tf * (k1 + 1) * (ctd + d) / (k1 + ctd + d)
            else:
                d = 1.0 if delta is None else delta
                s += idf * d  # rank-bm25 adds delta to every document, matched or not
                s[ids] += idf * tf * (k1 + 1) / (k1 * norm[ids] + tf)
        return s


def parity_check(docs: list[list[str]], queries: list[list[str]]) -> float:
    """Max |ours - rank-bm25| over a few queries for each variant: the study must score like rank-bm25."""
    worst = 0.0
    for variant, cls in (("okapi", rank_bm25.BM25Okapi), ("bm25l", rank_bm25.BM25L),
                         ("bm25plus", rank_bm25.BM25Plus)):
        ref = cls(docs, k1=0.9, b=0.4)
        ours = Postings(docs, variant)
        for q in queries:
            worst = max(worst, float(np.abs(ref.get_scores(q) - ours.scores(q, 0.9, 0.4)).max()))
    return worst


# ---------------------------------------------------------------- tokenizers

def plain(text: str) -> list[str]:
    return re.findall(r"\w+", text.lower())


def plain_split(text: str) -> list[str]:
    return text.lower().split()


_porter = Stemmer.Stemmer("porter")


def analyzer_with(*, stem: str | None = "english", stop: bool = True, compound: str = "both",
                  numbers: bool = True, lemma: bool = True, number_words: bool = True
                  ) -> Callable[[str], list[str]]:
    """`index.analyzer` with one step changed, to see what each step is worth."""
    stemmer = Stemmer.Stemmer(stem) if stem else None
    lemmatize = getattr(analyzer, "lemma", None) if lemma else None

    def analyze(text: str) -> list[str]:
        if compound == "both" and numbers and number_words:
            words = analyzer.surface_words(text)
        else:
            words = _words_variant(text, compound, numbers, number_words)
        out = [w for w in words if not (stop and w in analyzer.STOP_WORDS)]
        if lemmatize:
            out = [b if (b := lemmatize(w)) not in analyzer.STOP_WORDS or b == w else w for w in out]
        return stemmer.stemWords(out) if stemmer else out
    return analyze


def _words_variant(text: str, compound: str, numbers: bool, number_words: bool) -> list[str]:
    number_map = getattr(analyzer, "NUMBER_WORDS", {}) if number_words else {}
    out: list[str] = []
    for m in analyzer._WORD.finditer(analyzer.normalize(text)):
        tok = m.group()
        if tok[0].isdigit():
            out.extend([analyzer._number(tok)] if numbers else re.findall(r"\d+", tok))
            continue
        if tok.endswith("'s"):
            tok = tok[:-2]
        tok = tok.strip("'")
        if "-" in tok:
            parts = [p.replace("'", "") for p in tok.split("-") if p]
            if compound in ("both", "parts"):
                out.extend(parts)
            if compound in ("both", "joined") and len(parts) > 1:
                out.append("".join(parts))
            continue
        tok = tok.replace("'", "")
        if tok:
            out.append(number_map.get(tok, tok))
    return out


TOKENIZERS: dict[str, Callable[[str], list[str]]] = {
    "analyzer": analyzer.analyze,
    "plain-\\w+": plain,
    "plain-split": plain_split,
    "same-as-analyzer (self-check)": analyzer_with(),
    "no-lemma": analyzer_with(lemma=False),
    "no-number-words": analyzer_with(number_words=False),
    "no-lemma, no-number-words": analyzer_with(lemma=False, number_words=False),
    "no-stem": analyzer_with(stem=None),
    "porter": analyzer_with(stem="porter"),
    "no-stop": analyzer_with(stop=False),
    "compound-parts-only": analyzer_with(compound="parts"),
    "compound-joined-only": analyzer_with(compound="joined"),
    "numbers-split": analyzer_with(numbers=False),
}


# ---------------------------------------------------------------- chunking

_SENT = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9(\[])")


def chunks_of(title: str, text: str, max_chars: int | None, title_mode: str) -> list[str]:
    """Split an abstract at sentence boundaries into pieces of at most max_chars (greedy packing).

    title_mode: "concat" title + text as one field (the Anserini 'flat' baseline), "first" title only
    in the first chunk, "every" title prefixed to every chunk, "none" title dropped, "separate" title
    as its own chunk.
    """
    pieces: list[str] = []
    if max_chars is None or len(text) <= max_chars:
        pieces = [text]
    else:
        cur = ""
        for s in _SENT.split(text):
            if cur and len(cur) + 1 + len(s) > max_chars:
                pieces.append(cur)
                cur = s
            else:
                cur = f"{cur} {s}" if cur else s
        if cur:
            pieces.append(cur)
    if title_mode == "concat" or title_mode == "first":
        pieces[0] = f"{title} {pieces[0]}"
    elif title_mode == "every":
        pieces = [f"{title} {p}" for p in pieces]
    elif title_mode == "separate":
        pieces = [title, *pieces]
    return pieces


# ---------------------------------------------------------------- evaluation

class Setup:
    """One corpus representation (tokenizer + chunking), scored under every k1/b and variant."""

    def __init__(self, corpus: dict, queries: dict, tokenize: Callable[[str], list[str]],
                 max_chars: int | None = None, title_mode: str = "concat"):
        self.chunk_doc: list[str] = []
        docs: list[list[str]] = []
        for did, d in corpus.items():
            for piece in chunks_of(d["title"], d["text"], max_chars, title_mode):
                self.chunk_doc.append(did)
                docs.append(tokenize(piece))
        self.docs = docs
        self.doc_of = np.array(self.chunk_doc)
        self.qtok = {q: tokenize(t) for q, t in queries.items()}
        self._post: dict[str, Postings] = {}

    def postings(self, variant: str) -> Postings:
        if variant not in self._post:
            self._post[variant] = Postings(self.docs, variant)
        return self._post[variant]

    def run(self, qrels: dict, variant: str, k1: float, b: float) -> dict:
        p = self.postings(variant)
        run = {}
        for q in qrels:
            s = p.scores(self.qtok[q], k1, b)
            top = np.argpartition(-s, min(400, len(s) - 1))[:400]
            hits = [(self.doc_of[i], float(s[i])) for i in top if s[i] > 0]
            run[q] = scifact.top_docs(hits)
        return run

    def grid(self, train: dict, test: dict, variants=("okapi",)) -> dict:
        best = None
        for variant, k1, b in itertools.product(variants, K1S, BS):
            r = scifact.evaluate(self.run(train, variant, k1, b), train)
            if best is None or r["ndcg_cut_10"] > best[0]["ndcg_cut_10"]:
                best = (r, variant, k1, b)
        r_train, variant, k1, b = best
        r_test = scifact.evaluate(self.run(test, variant, k1, b), test)
        return {"variant": variant, "k1": k1, "b": b, "train_ndcg": r_train["ndcg_cut_10"],
                "test_ndcg": r_test["ndcg_cut_10"], "test_r100": r_test["recall_100"],
                "chunks": len(self.docs)}


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--only", nargs="*", help="experiment names to run (default: all)")
    args = ap.parse_args()
    corpus, queries = scifact.load_corpus(), scifact.load_queries()
    train, test = scifact.load_qrels("train"), scifact.load_qrels("test")

    def report(name: str, setup: Setup, variants=("okapi",)) -> None:
        t0 = time.perf_counter()
        r = setup.grid(train, test, variants)
        print(f"| {name} | {r['variant']} | {r['k1']:g} | {r['b']:g} | {r['chunks']} | {r['train_ndcg']:.4f} | "
              f"{r['test_ndcg']:.4f} | {r['test_r100']:.4f} | {time.perf_counter() - t0:.0f} |", flush=True)

    want = set(args.only or [])
    print("| experiment | variant | k1 | b | chunks | train nDCG@10 | test nDCG@10 | test R@100 | s |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    base = Setup(corpus, queries, analyzer.analyze)
    sample = [base.qtok[q] for q in list(test)[:15]]
    diff = parity_check(base.docs[:800], sample)
    print(f"<!-- parity with rank-bm25 get_scores on 800 docs x 15 queries: max abs diff {diff:.2e} -->")
    if not want or "variants" in want:
        for variant in ("okapi", "bm25l", "bm25plus"):
            report("analyzer, whole doc (title+text)", base, (variant,))
    for name, tok in TOKENIZERS.items():
        if name == "analyzer" or (want and "tokenizers" not in want and name not in want):
            continue
        report(f"tokenizer {name}, whole doc", Setup(corpus, queries, tok))
    if not want or "chunking" in want:
        for max_chars, mode in itertools.product((900, 1200, 1500, 2000, 3000), ("every", "first")):
            report(f"analyzer, chunks <= {max_chars} chars, title {mode}",
                   Setup(corpus, queries, analyzer.analyze, max_chars, mode))
        report("analyzer, whole doc, no title", Setup(corpus, queries, analyzer.analyze, None, "none"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
