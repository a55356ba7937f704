"""`python -m index build|search|stats`: thin shells over build_index and Searcher.

Named errors (`VerbatimError`) become one line on stderr and exit status 2; build problems (bad
files) are listed but never fail the build. Exit statuses are in EXIT_STATUSES (shown by --help).
"""
from __future__ import annotations

import argparse
import json
import sqlite3
import sys
from dataclasses import asdict
from pathlib import Path

from index.config import default_corpus, default_db_path
from index.errors import IndexCorruptError, VerbatimError

EXIT_OK, EXIT_SKIPPED, EXIT_ERROR, EXIT_INTERRUPTED = 0, 1, 2, 130

EXIT_STATUSES = """exit status:
  0    success; for build: every input was indexed (warnings, e.g. ignored metadata, are allowed)
  1    build only: the index was updated, but some inputs were skipped (each is listed on stderr
       as "skipped PATH[:LINE]: REASON")
  2    error, reported as one line on stderr: no index (run build), unreadable or outdated index
       (rebuild it), another build is writing, the index file cannot be written (disk full,
       read-only folder); a failed build leaves the previous index intact
  130  interrupted (Ctrl-C); the previous index is intact"""


def _hit_json(hit) -> dict:
    return {"doc_id": hit.doc_id, "source": hit.source, "chunk_id": hit.chunk_id, "score": round(hit.score, 6),
            "start": hit.start, "end": hit.end, "text": hit.text}


def cmd_build(args: argparse.Namespace) -> int:
    from index.build import BuildParams, build_index

    paths = [Path(p) for p in args.paths] or default_corpus()
    params = BuildParams(k1=args.k1, b=args.b, max_chars=args.max_chars, title_terms=args.title_terms)
    report = build_index(paths, args.db, params=params, progress=not args.quiet, full=args.full)
    args.build_finished = True  # from here on, a Ctrl-C no longer means "rolled back"
    for problem in report.skipped_problems:
        print(f"skipped {problem}", file=sys.stderr)
    for problem in report.warnings:
        print(str(problem), file=sys.stderr)  # the reason already starts with "warning: "
    if args.json:
        print(json.dumps(report.to_dict(), ensure_ascii=False))
    elif not args.quiet:
        print(report.summary())
    return EXIT_SKIPPED if report.skipped else EXIT_OK


def cmd_search(args: argparse.Namespace) -> int:
    from index.search import Searcher

    searcher = Searcher.open(args.db)
    if args.jsonl:
        out = sys.stdout
        for line in sys.stdin:
            query = line.rstrip("\n")
            hits = searcher.search(query, args.k) if query.strip() else []
            out.write(json.dumps({"query": query, "hits": [_hit_json(h) for h in hits]}, ensure_ascii=False) + "\n")
        out.flush()
        return EXIT_OK
    query = " ".join(args.query)
    if not query.strip():
        print("search: give a QUERY, or --jsonl to read queries from stdin", file=sys.stderr)
        return EXIT_ERROR
    hits = searcher.search(query, args.k)
    if args.json:
        print(json.dumps({"query": query, "hits": [_hit_json(h) for h in hits]}, ensure_ascii=False))
        return EXIT_OK
    if not hits:
        print("no matching passages")
    for rank, h in enumerate(hits, 1):
        print(f"{rank:>2}. {h.score:7.3f}  {h.source} ¶{h.paragraph} [{h.start}:{h.end}]")
        print(f"    {h.text[:300]}")
    return EXIT_OK


def cmd_stats(args: argparse.Namespace) -> int:
    from index.search import Searcher

    stats = Searcher.open(args.db).stats_dict()
    if args.json:
        print(json.dumps(stats, ensure_ascii=False))
    else:
        for key, value in stats.items():
            print(f"{key:>18}: {value}")
    return EXIT_OK


def make_parser() -> argparse.ArgumentParser:
    from index.chunking import DEFAULT_MAX_CHARS
    from index.ranking import DEFAULT_B, DEFAULT_K1

    parser = argparse.ArgumentParser(prog="python -m index", description="Build and query Verbatim's BM25 index.",
                                     epilog=EXIT_STATUSES, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", type=Path, default=None,
                        help="index file (default: $VERBATIM_DB or .verbatim/index.db)")
    sub = parser.add_subparsers(dest="command", required=True)

    b = sub.add_parser("build", help="index folders and files (default: the bundled seeds/)",
                       epilog=EXIT_STATUSES, formatter_class=argparse.RawDescriptionHelpFormatter)
    b.add_argument("paths", nargs="*", help="folders, .txt, .md, .html, .jsonl files")
    b.add_argument("--db", type=Path, default=argparse.SUPPRESS)
    b.add_argument("--k1", type=float, default=DEFAULT_K1, help=f"BM25 k1 (default {DEFAULT_K1})")
    b.add_argument("--b", type=float, default=DEFAULT_B, help=f"BM25 b (default {DEFAULT_B})")
    b.add_argument("--max-chars", type=int, default=DEFAULT_MAX_CHARS,
                   help=f"longest chunk before a paragraph is split at sentences (default {DEFAULT_MAX_CHARS})")
    b.add_argument("--title-terms", action=argparse.BooleanOptionalAction, default=True,
                   help="index each document's title words with each of its chunks (default on)")
    b.add_argument("--full", action="store_true", help="rebuild everything instead of updating incrementally")
    b.add_argument("--quiet", "-q", action="store_true", help="no progress bar or summary")
    b.add_argument("--json", action="store_true", help="print the build report as JSON")
    b.set_defaults(func=cmd_build)

    s = sub.add_parser("search", help="rank passages for a query")
    s.add_argument("query", nargs="*")
    s.add_argument("--db", type=Path, default=argparse.SUPPRESS)
    s.add_argument("-k", type=int, default=10, help="number of hits (default 10)")
    fmt = s.add_mutually_exclusive_group()
    fmt.add_argument("--json", action="store_true", help="print one JSON object")
    fmt.add_argument("--jsonl", action="store_true", help="read one query per stdin line, print one JSON line each")
    s.set_defaults(func=cmd_search)

    st = sub.add_parser("stats", help="what is indexed, with which parameters")
    st.add_argument("--db", type=Path, default=argparse.SUPPRESS)
    st.add_argument("--json", action="store_true")
    st.set_defaults(func=cmd_stats)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = make_parser().parse_args(argv)
    if args.db is None:
        args.db = default_db_path()
    try:
        return args.func(args)
    except VerbatimError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except sqlite3.DatabaseError as exc:
        # damage a reader meets only on the pages a query touches (opening checked the rest)
        print(f"error: {IndexCorruptError(str(args.db), str(exc))}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        if getattr(args, "build_finished", False):
            print("interrupted after the build was committed: the index is up to date", file=sys.stderr)
        else:
            print("interrupted: the previous index is intact", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        return EXIT_OK
