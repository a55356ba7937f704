"""Verbatim's index: documents in, BM25-ranked chunks with exact character offsets out.

Flow: ingest (files -> Document) -> clean (drop boilerplate) -> chunking (paragraph chunks with
offsets) -> store (SQLite via sqlite-utils) -> ranking (rank-bm25's BM25Okapi scores, precomputed).
"""
