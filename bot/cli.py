"""`python -m bot ask|console|socket|http`: thin shells over AnswerService and the Slack runners.

Configuration errors and other named errors print one line and exit 2 — never a traceback.
"""
from __future__ import annotations

import argparse
import json
import os
import logging
import sys
from pathlib import Path
from typing import Iterator

from bot.answer import Answer
from bot.answering import DEFAULT_QUOTES, MAX_QUOTES
from index.errors import VerbatimError

EXIT_ERROR = 2


def _service(args: argparse.Namespace):
    from bot.service import AnswerService

    corpus = [Path(p) for p in args.corpus] if args.corpus else None
    return AnswerService.open(args.db, corpus)


def _print_answer(answer: Answer, as_json: bool) -> None:
    if as_json:
        print(json_line(answer))
        return
    from bot.render_console import render_plain, render_rich

    if sys.stdout.isatty():
        from rich.console import Console

        Console().print(render_rich(answer), end="")
    else:
        sys.stdout.write(render_plain(answer))


MAX_LINE_BYTES = 64 * 1024  # one --jsonl input line; the rest of a longer line is read and discarded


def as_text(text: str) -> str:
    """A str that can be printed as UTF-8: undecodable argv bytes (which Python keeps as lone
    surrogates) become U+FFFD, so the echoed question never makes the output invalid UTF-8."""
    try:
        return text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    except UnicodeEncodeError:  # a surrogate that did not come from a byte (e.g. JSON "\\ud800")
        return text.encode("utf-8", "replace").decode("utf-8")


# Characters str.splitlines() treats as line breaks that json.dumps(ensure_ascii=False) leaves raw.
# A question or source containing them would split one JSON answer into two "lines" for any reader
# that uses splitlines() (score.py does), so they are written as JSON escapes: same value, one line.
_LINE_BREAKS = str.maketrans({"\u2028": "\\u2028", "\u2029": "\\u2029", "\x85": "\\u0085"})


def json_line(answer: Answer) -> str:
    """The Answer as exactly one line of JSON, whatever its text contains."""
    return answer.to_json().translate(_LINE_BREAKS)


def _utf8_stdout() -> None:
    """JSON is UTF-8 (RFC 8259) whatever the locale says; a Latin-1 terminal must not crash it."""
    if hasattr(sys.stdout, "reconfigure"):
        sys.stdout.reconfigure(encoding="utf-8", errors="replace")


def stdin_lines(stream) -> Iterator[str]:
    """Questions from a binary stream, one per b"\\n"-terminated line, whatever the locale.

    Lines split on "\\n" only (a bare "\\r", U+2028 or NEL inside a line stays in that question, so
    one input line is always one answer); invalid UTF-8 becomes U+FFFD instead of an exception;
    a line longer than MAX_LINE_BYTES is cut there and its remainder skipped, so a runaway paste
    cannot exhaust memory and still gets exactly one answer.
    """
    while True:
        raw = stream.readline(MAX_LINE_BYTES)
        if not raw:
            return
        if not raw.endswith(b"\n") and len(raw) == MAX_LINE_BYTES:
            while True:  # discard the rest of an over-long line
                rest = stream.readline(MAX_LINE_BYTES)
                if not rest or rest.endswith(b"\n"):
                    break
        yield raw.rstrip(b"\r\n").decode("utf-8", "replace")


def cmd_ask(args: argparse.Namespace) -> int:
    service = _service(args)
    if args.json or args.jsonl:
        _utf8_stdout()
    if args.jsonl:
        out = sys.stdout
        for question in stdin_lines(getattr(sys.stdin, "buffer", sys.stdin)):
            try:
                answer = service.ask(question, k=args.k)
            except VerbatimError as exc:  # one line per question, always: a clear no-answer, logged
                answer = Answer.no_answer(question, str(exc))
            out.write(json_line(answer) + "\n")
            out.flush()
        return 0
    question = as_text(" ".join(args.question))
    if not question.strip():
        print("ask: give a QUESTION, or --jsonl to read questions from stdin", file=sys.stderr)
        return EXIT_ERROR
    _print_answer(service.ask(question, k=args.k), args.json)
    return 0


def cmd_console(args: argparse.Namespace) -> int:
    from bot.console import run_console

    return run_console(_service(args), k=args.k)


def _slack(args: argparse.Namespace, mode: str) -> int:
    from bot.slack_runner import run_http, run_socket_mode
    from bot.slack_settings import load_settings

    env = dict(os.environ)
    if args.db:  # the Slack state file lives beside the index the flag names, as with VERBATIM_DB
        env["VERBATIM_DB"] = str(args.db)
    settings = load_settings(mode, env)  # raises ConfigError naming the missing variable
    service = _service(args)
    service.warm_up()  # before connecting: the first mentions should not pay for lazy loading
    (run_http if mode == "http" else run_socket_mode)(settings, service)
    return 0


def make_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--db", type=Path, default=None, help="index file (default: $VERBATIM_DB or .verbatim/index.db)")
    common.add_argument("--corpus", action="append", default=None,
                        help="folder or file to index (repeatable; default: $VERBATIM_CORPUS or seeds/)")
    common.add_argument("-v", "--verbose", action="store_true", help="log what the service does")

    parser = argparse.ArgumentParser(prog="python -m bot", description="Verbatim: answers quoted from your documents.")
    sub = parser.add_subparsers(dest="command", required=True)
    a = sub.add_parser("ask", parents=[common], help="answer one question (or --jsonl: one per stdin line)")
    a.add_argument("question", nargs="*")
    a.add_argument("-k", type=int, default=DEFAULT_QUOTES, choices=range(1, MAX_QUOTES + 1), metavar=f"1..{MAX_QUOTES}",
                   help=f"quotes per answer (default {DEFAULT_QUOTES}; dated lists may show up to {MAX_QUOTES})")
    fmt = a.add_mutually_exclusive_group()
    fmt.add_argument("--json", action="store_true", help="print the Answer as JSON")
    fmt.add_argument("--jsonl", action="store_true", help="one question per stdin line -> one JSON answer per line")
    a.set_defaults(func=cmd_ask)

    c = sub.add_parser("console", parents=[common], help="interactive prompt (:help, :sources, :quit)")
    c.add_argument("-k", type=int, default=DEFAULT_QUOTES, choices=range(1, MAX_QUOTES + 1), metavar=f"1..{MAX_QUOTES}",
                   help=f"quotes per page (default {DEFAULT_QUOTES}); :more pages by this many")
    c.set_defaults(func=cmd_console)

    s = sub.add_parser("socket", parents=[common], help="run in Slack Socket Mode (SLACK_BOT_TOKEN, SLACK_APP_TOKEN)")
    s.set_defaults(func=lambda args: _slack(args, "socket"))
    h = sub.add_parser("http", parents=[common], help="serve Slack's Events API on $PORT (SLACK_BOT_TOKEN, SLACK_SIGNING_SECRET)")
    h.set_defaults(func=lambda args: _slack(args, "http"))
    return parser


def main(argv: list[str] | None = None) -> int:
    args = make_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, stream=sys.stderr,
                        format="%(levelname)s %(name)s: %(message)s")
    try:
        return args.func(args)
    except VerbatimError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0
