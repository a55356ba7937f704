"""`python -m bot ask|console|socket|http`: thin shells over AnswerService and the Slack runners.

Configuration errors and other named errors print one line and exit 2 — never a traceback.
"""
from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

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
        print(answer.to_json())
        return
    from bot.render_console import render_plain, render_rich

    if sys.stdout.isatty():
        from rich.console import Console

        Console().print(render_rich(answer), end="")
    else:
        sys.stdout.write(render_plain(answer))


def cmd_ask(args: argparse.Namespace) -> int:
    service = _service(args)
    if args.jsonl:
        out = sys.stdout
        for line in sys.stdin:
            question = line.rstrip("\r\n")
            out.write(service.ask(question, k=args.k).to_json() + "\n")
            out.flush()
        return 0
    question = " ".join(args.question)
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

    settings = load_settings(mode)  # raises ConfigError naming the missing variable
    service = _service(args)
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
    c.add_argument("-k", type=int, default=DEFAULT_QUOTES)
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
