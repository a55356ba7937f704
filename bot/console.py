"""Interactive console: a prompt with history (readline), answers rendered like `ask`.

Commands: `:help`, `:sources` (what is indexed), `:more` (next passages for the last question),
`:quit`. History persists in `~/.verbatim_history` when the home directory is writable.
"""
from __future__ import annotations

import sys
from pathlib import Path

from bot.answering import DEFAULT_QUOTES

HELP = """Ask a question in plain words; answers are quotes from the sources, never generated text.
  :sources   list the indexed documents
  :more      more passages for the last question
  :help      this help
  :quit      leave (Ctrl-D works too)"""


def _setup_history() -> None:
    try:
        import atexit
        import readline

        path = Path.home() / ".verbatim_history"
        if path.exists():
            readline.read_history_file(str(path))
        readline.set_history_length(1000)
        atexit.register(lambda: _save(readline, path))
    except (ImportError, OSError):
        pass


def _save(readline, path: Path) -> None:
    try:
        readline.write_history_file(str(path))
    except OSError:
        pass


def run_console(service, k: int = DEFAULT_QUOTES, stdin=None, stdout=None) -> int:
    from bot.cli import _print_answer
    from bot.render_console import visible

    stdin = stdin or sys.stdin
    interactive = stdin.isatty()
    if interactive:
        _setup_history()
        print("Verbatim — answers quoted from your documents. :help for commands, :quit to leave.")
    last, offset, more = None, 0, False
    while True:
        try:
            line = input("verbatim> ") if interactive else stdin.readline()
        except EOFError:
            break
        if not interactive and line == "":
            break
        line = line.strip()
        if not line:
            continue
        if line in (":quit", ":q", ":exit"):
            break
        if line == ":help":
            print(HELP)
            continue
        if line == ":sources":
            for d in service.sources():
                print(visible(f"{d['source']} · {d.get('title') or '(untitled)'} · {d.get('date') or 'date unknown'}"
                              f" · {d.get('n_chunks')} passages"))
            continue
        if line == ":more":
            if last is None:
                print("Ask a question first.")
                continue
            if not more:  # the last page said there is nothing after it: do not ask for a blank page
                print("No more passages for that question.")
                continue
            offset += k
            answer = _ask(service, last, k, offset)
            more = bool(answer and answer.more)
            continue
        if line.startswith(":"):
            # echo the command made visible: a pasted escape sequence must not repaint the terminal
            print(f"Unknown command {visible(line)[:80]}; :help lists them.")
            continue
        last, offset = line, 0
        answer = _ask(service, line, k, 0)
        more = bool(answer and answer.more)
    return 0


def _ask(service, question: str, k: int, offset: int):
    """Ask and print; an unreadable index is a one-line apology, and the prompt keeps running."""
    from bot.cli import _print_answer
    from index.errors import VerbatimError

    try:
        answer = service.ask(question, k=k, offset=offset)
    except VerbatimError as exc:
        print(f"Sorry: {exc}")
        return None
    _print_answer(answer, False)
    return answer
