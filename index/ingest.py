"""Turn corpus paths (folders and files) into `Document`s, reporting every bad input as a `Problem`.

Why this module exists on its own: ingestion is where the outside world is hostile (broken encodings,
binary files, symlink loops, half-written JSONL exports), and one bad file must never stop a build or
lose a good document. So nothing here raises for bad *input*: each bad file, line or catalogue entry
becomes a `Problem(path, reason, line)` appended to the caller's list, and the walk goes on.

Offsets contract (what makes verbatim quotes checkable):
- `.txt` / `.md`: `Document.text` is exactly `path.read_bytes().decode("utf-8")` (a BOM is kept, CRLF
  is kept). Markdown front matter stays in `text`; `Document.body_start` says where the body begins.
- `.html` / `.htm`: `Document.text` is the text *extracted* from the markup (one paragraph per block
  element, paragraphs separated by a blank line). Offsets refer to that extracted text, not the HTML.
- `.jsonl` (and `.jsonl.gz`): one document per record; `Document.text` is the record's `text` field.

Identity: a corpus root is each path the caller passes (a file's root is its parent folder).
`source` is the file path relative to its root with "/" separators; `doc_id` is the same for files and
the record's `id`/`_id` for JSONL. `content_hash` (sha256 of the file bytes, or of the record's
line as written: re-serialising it canonically cost more than the rest of reading it, and a record
rewritten with its keys reordered is merely re-indexed) lets the builder skip unchanged documents.

Metadata: a `catalogue.json` in a root or any walked folder maps relative file paths to
{"title", "date", "publisher", "url"}. Values found in the file itself (front matter, HTML meta, JSONL
fields) win over the catalogue.

Problems vs warnings: most Problems mean a bad input (file or JSONL line) was skipped. A few are
notices about inputs that need no fixing: some metadata was ignored while the document itself was
indexed, or a BEIR `queries.jsonl` beside its `corpus.jsonl` was left out (questions are not
documents). Their reason starts with "warning: " and `is_warning(problem)` tells them apart, so a
build summary can count skipped bad inputs honestly.

File names that are not valid UTF-8 (possible on Linux) or contain control characters are kept
readable, storable and harmless to print by writing those bytes as `\\xNN` escapes in
`doc_id`/`source` (and in Problem paths).
"""
from __future__ import annotations

import codecs
import datetime as _dt
import gzip
import hashlib
import json
import os
import re
import stat
import warnings
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from index.model import Document, Problem

DEFAULT_MAX_BYTES = 50 * 1024 * 1024
"""Per-document size limit: a whole file, or one JSONL record (JSONL files are streamed)."""

MAX_LINE_PROBLEMS_PER_FILE = 100
"""After this many bad lines in one JSONL file, the rest are summarised in one Problem (no flood)."""

CATALOGUE_NAME = "catalogue.json"
META_FIELDS = ("title", "date", "publisher", "url")

TEXT_SUFFIXES = {".txt"}
MARKDOWN_SUFFIXES = {".md", ".markdown"}
HTML_SUFFIXES = {".html", ".htm"}
JSONL_SUFFIXES = {".jsonl"}
SUPPORTED = TEXT_SUFFIXES | MARKDOWN_SUFFIXES | HTML_SUFFIXES | JSONL_SUFFIXES

# Files that are obviously not documents: skipped silently while walking a folder. Anything else
# with an unknown type is reported, so a user never wonders why their .pdf is not answered from.
IGNORED_SUFFIXES = {
    ".json", ".yaml", ".yml", ".toml", ".ini", ".cfg", ".lock", ".log",
    ".png", ".jpg", ".jpeg", ".gif", ".webp", ".svg", ".ico", ".bmp", ".tif", ".tiff", ".avif",
    ".mp3", ".wav", ".ogg", ".flac", ".m4a", ".mp4", ".mov", ".avi", ".mkv", ".webm",
    ".zip", ".tar", ".gz", ".tgz", ".bz2", ".xz", ".7z", ".rar", ".zst",
    ".pyc", ".pyo", ".so", ".o", ".a", ".dll", ".exe", ".class", ".jar", ".whl",
    ".db", ".sqlite", ".sqlite3", ".db-journal", ".db-wal", ".db-shm", ".tsv", ".csv",
    ".css", ".js", ".map", ".woff", ".woff2", ".ttf", ".otf", ".eot",
    ".py", ".sh", ".bak", ".tmp", ".swp", ".part",
}


def iter_documents(
    paths: list[Path],
    *,
    problems: list[Problem],
    max_bytes: int = DEFAULT_MAX_BYTES,
    files: dict[str, str | None] | None = None,
    unchanged: Callable[[str, str], bool] | None = None,
) -> Iterator[Document]:
    """Yield every good document under `paths`, in a deterministic order; append bad inputs to `problems`.

    Folders are walked recursively in sorted order, following symlinks; hidden entries (".name")
    are skipped; a symlink back into one of its own ancestors is reported as a loop, and a file
    reached twice (through links, or two overlapping roots) is yielded once. Never raises for bad
    input: every reason a file or line was skipped is in `problems`.

    Incremental builds: every supported regular file visited is recorded in `files` (absolute path
    -> signature of its size, mtime, kind and catalogue metadata; None when reading it reported a
    problem, so it is never taken as unchanged), and a file for which `unchanged(path, signature)`
    answers True is not read at all (its documents are the index's already).
    """
    walker = _Walker(problems=problems, max_bytes=max_bytes, files={} if files is None else files,
                     unchanged=unchanged)
    for given in paths:
        yield from walker.walk_root(Path(given))


WARNING_PREFIX = "warning: "


def is_warning(problem: Problem) -> bool:
    """True for notices that need no fix (ignored metadata, BEIR queries left out), not bad inputs."""
    return problem.reason.startswith(WARNING_PREFIX)


# --------------------------------------------------------------------------------------------
# Walking


@dataclass
class _Walker:
    problems: list[Problem]
    max_bytes: int
    # Files and folders are identified by (st_dev, st_ino): the same file reached through a symlink,
    # a hard link or two overlapping roots is one file, and the key comes free with the stat we do
    # anyway (os.path.realpath per file cost a quarter of the walk time).
    seen_files: set[_FileKey] = field(default_factory=set)
    seen_dirs: set[_FileKey] = field(default_factory=set)
    seen_ids: dict[str, str] = field(default_factory=dict)  # doc_id -> where it was first seen
    catalogue: dict[_FileKey, dict[str, str]] = field(default_factory=dict)  # file -> metadata
    loaded_catalogues: set[_FileKey] = field(default_factory=set)
    files: dict[str, str | None] = field(default_factory=dict)  # see iter_documents
    unchanged: Callable[[str, str], bool] | None = None
    current_file: str | None = None  # absolute path of the file being read (Document.file)

    def problem(self, path: Path | str, reason: str, line: int | None = None) -> None:
        self.problems.append(Problem(_printable(str(path)), reason, line))

    def warning(self, path: Path | str, reason: str, line: int | None = None) -> None:
        self.problem(path, WARNING_PREFIX + reason, line)

    def walk_root(self, root_arg: Path) -> Iterator[Document]:
        try:
            st = root_arg.stat()
        except FileNotFoundError:
            if os.path.islink(root_arg):
                self.problem(root_arg, "broken symlink: its target does not exist")
            else:
                self.problem(root_arg, "path not found")
            return
        except OSError as exc:  # EACCES on a parent folder, ELOOP, ENAMETOOLONG, ...
            self.problem(root_arg, f"unreadable: {_os_reason(exc)}")
            return
        if stat.S_ISDIR(st.st_mode):
            yield from self._walk_dir(root_arg, _key(st))
        else:
            root = root_arg.parent
            try:
                self._load_catalogue(root, _key(root.stat()))
            except OSError:
                pass  # the file itself will report why it cannot be read
            yield from self._file(root_arg, root_arg.name, explicit=True, st=st)

    def _walk_dir(self, root: Path, root_key: _FileKey) -> Iterator[Document]:
        """Depth-first, sorted, with an explicit stack (no recursion limit on deep trees)."""
        if root_key in self.seen_dirs:
            return  # the same folder given twice (or reached before): its files are already in
        self.seen_dirs.add(root_key)
        self._load_catalogue(root, root_key)
        entries = self._list(root)
        if entries is None:
            return
        # Each frame: (folder path, relative prefix, keys of the folder and its ancestors, entries)
        stack: list[tuple[Path, str, tuple[_FileKey, ...], Iterator[str]]] = [(root, "", (root_key,), iter(entries))]
        while stack:
            folder, prefix, ancestors, names = stack[-1]
            name = next(names, None)
            if name is None:
                stack.pop()
                continue
            if name.startswith("."):
                continue
            path = folder / name
            rel = prefix + name
            try:
                st = path.stat()  # follows symlinks
            except FileNotFoundError:
                if path.is_symlink():
                    self.problem(path, "broken symlink: its target does not exist")
                else:
                    self.problem(path, "disappeared while the folder was being read")
                continue
            except OSError as exc:
                # ELOOP from a self-referencing link chain lands here too.
                self.problem(path, f"unreadable: {_os_reason(exc)}")
                continue
            if stat.S_ISDIR(st.st_mode):
                key = _key(st)
                if key in ancestors:
                    self.problem(path, f"symlink loop: points back to its ancestor folder {os.path.realpath(path)}; "
                                       "not followed")
                    continue
                if key in self.seen_dirs:
                    continue  # reached twice through links: its files are indexed once, under the first path
                self.seen_dirs.add(key)
                self._load_catalogue(path, key)
                sub = self._list(path)
                if sub is not None:
                    stack.append((path, rel + "/", ancestors + (key,), iter(sub)))
            else:
                yield from self._file(path, rel, explicit=False, st=st)

    def _list(self, folder: Path) -> list[str] | None:
        try:
            with os.scandir(folder) as it:
                names = sorted(entry.name for entry in it)
        except OSError as exc:
            self.problem(folder, f"unreadable folder: {_os_reason(exc)}")
            return None
        # A BEIR dataset folder holds corpus.jsonl (documents) beside queries.jsonl (questions with
        # the same `_id`/`text` shape): indexing the questions would make them quotable "answers".
        if _BEIR_CORPUS & set(names):
            for name in names:
                if name in _BEIR_QUERIES:
                    self.warning(folder / name, "BEIR queries file beside corpus.jsonl left out: it holds questions, "
                                                "not documents (pass it explicitly to index it)")
            names = [n for n in names if n not in _BEIR_QUERIES]
        return names

    # ----------------------------------------------------------------------------------------
    # One file

    def _file(self, path: Path, rel: str, *, explicit: bool, st: os.stat_result | None = None) -> Iterator[Document]:
        """One file, behind a safety net: a bug or a library failure on one hostile file becomes a
        Problem naming that file, never the end of the build. (KeyboardInterrupt still stops it.)"""
        try:
            yield from self._file_unsafe(path, _printable(rel), explicit=explicit, st=st)
        except Exception as exc:  # noqa: BLE001 - deliberately broad (RecursionError included), see docstring
            self.problem(path, f"could not be read: internal error {type(exc).__name__}: {exc}")

    def _file_unsafe(self, path: Path, rel: str, *, explicit: bool, st: os.stat_result | None) -> Iterator[Document]:
        kind = _kind(path.name)
        if kind is None:
            if path.name == CATALOGUE_NAME:
                return
            suffix = _suffix(path.name)
            if explicit or suffix not in IGNORED_SUFFIXES:
                what = f"'{suffix}'" if suffix else "(no extension)"
                self.problem(path, f"unsupported file type {what}; supported: .txt .md .markdown .html .htm .jsonl .jsonl.gz")
            return
        try:
            st = st or path.stat()
        except OSError as exc:
            self.problem(path, f"unreadable: {_os_reason(exc)}")
            return
        if not stat.S_ISREG(st.st_mode):
            # Reading a FIFO would block the build forever; devices and sockets are never documents.
            self.problem(path, "not a regular file (device, socket or pipe); skipped")
            return
        key = _key(st)
        if key in self.seen_files:
            return  # the same file through another link or root: indexed once
        self.seen_files.add(key)
        meta = self.catalogue.get(key, {})
        absolute = os.path.abspath(path)
        signature = f"{st.st_size}:{st.st_mtime_ns}:{kind}:{json.dumps(meta, sort_keys=True)}"
        if self.unchanged is not None and self.unchanged(absolute, signature):
            self.files[absolute] = signature
            return
        problems_before = len(self.problems)
        self.current_file = absolute
        self.files[absolute] = None  # stays None if reading it fails or reports anything
        yield from self._file_documents(path, rel, kind, meta, st)
        if len(self.problems) == problems_before:
            self.files[absolute] = signature

    def _file_documents(self, path: Path, rel: str, kind: str, meta: dict[str, str],
                        st: os.stat_result) -> Iterator[Document]:
        if kind == "jsonl":
            yield from self._jsonl(path, rel, meta, gz=path.name.lower().endswith(".gz"))
            return
        data = self._read(path, st.st_size)
        if data is None:
            return
        if kind == "html":
            doc = self._html(path, rel, data, meta)
        else:
            text = self._decode(path, data)
            if text is None:
                return
            if kind == "markdown":
                doc = self._markdown(path, rel, data, text, meta)
            else:
                doc = self._plain(path, rel, data, text, meta)
        if doc is not None and self._claim_id(doc.doc_id, path):
            yield doc

    def _read(self, path: Path, size: int) -> bytes | None:
        """Whole file, but never more than the limit (a file can grow after stat, or lie about its size)."""
        if size <= self.max_bytes:
            try:
                with open(path, "rb") as fh:
                    data = fh.read(self.max_bytes + 1)
            except PermissionError:
                self.problem(path, "unreadable: permission denied")
                return None
            except OSError as exc:
                self.problem(path, f"unreadable: {_os_reason(exc)}")
                return None
            if len(data) <= self.max_bytes:
                return data
            size = len(data)
        self.problem(path, f"file too large: {size:,} bytes or more, over the {self.max_bytes:,}-byte limit"
                     if size == self.max_bytes + 1 else
                     f"file too large: {size:,} bytes, over the {self.max_bytes:,}-byte limit")
        return None

    def _decode(self, path: Path, data: bytes) -> str | None:
        """UTF-8 exactly as `read_bytes().decode("utf-8")`, or a Problem that says where it broke."""
        nul = data.find(b"\x00")
        if nul >= 0:
            hint = ""
            if data[:2] in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE):
                hint = " (looks like UTF-16 text: re-save it as UTF-8)"
            self.problem(path, f"binary file: NUL byte at byte offset {nul}{hint}", _line_at(data, nul))
            return None
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            self.problem(path, f"invalid UTF-8 at byte offset {exc.start} ({exc.reason}); re-save the file as UTF-8",
                         _line_at(data, exc.start))
            return None
        if not text.strip():
            self.problem(path, "empty file" if not text else "empty file (only whitespace)")
            return None
        return text

    def _claim_id(self, doc_id: str, where: Path, line: int | None = None) -> bool:
        first = self.seen_ids.get(doc_id)
        if first is not None:
            self.problem(where, f"duplicate document id {_short(doc_id)!r} (first seen in {first}); skipped", line)
            return False
        self.seen_ids[doc_id] = f"{where}:{line}" if line is not None else str(where)
        return True

    # ----------------------------------------------------------------------------------------
    # Formats

    def _plain(self, path: Path, rel: str, data: bytes, text: str, meta: dict[str, str]) -> Document:
        return Document(doc_id=rel, source=rel, text=text, content_hash=_sha256(data),
                        path=os.path.abspath(path), file=self.current_file, **_fields(meta))

    def _markdown(self, path: Path, rel: str, data: bytes, text: str, meta: dict[str, str]) -> Document | None:
        found: dict[str, str] = {}
        body_start = 0
        fm = split_front_matter(text)
        if fm is not None:
            raw, body_start, yaml_line = fm
            found = self._front_matter(path, raw, yaml_line)
            if not text[body_start:].strip():
                self.problem(path, "empty file (nothing after the front matter)")
                return None
        merged = _merge(meta, found)
        if "title" not in merged:
            heading = _MD_HEADING.match(text, body_start)
            if heading:
                merged["title"] = " ".join(heading.group(1).split())
        return Document(doc_id=rel, source=rel, text=text, content_hash=_sha256(data), body_start=body_start,
                        path=os.path.abspath(path), file=self.current_file, **_fields(merged))

    def _front_matter(self, path: Path, raw: str, first_line: int) -> dict[str, str]:
        import yaml  # imported lazily: only Markdown corpora pay for it

        try:
            parsed = yaml.safe_load(raw) if raw.strip() else {}
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            line = first_line + mark.line if mark is not None else first_line
            self.warning(path, f"front matter ignored: not valid YAML ({getattr(exc, 'problem', None) or exc}); document indexed", line)
            return {}
        except Exception as exc:  # noqa: BLE001 - e.g. RecursionError on absurdly nested YAML: keep the document
            self.warning(path, f"front matter ignored: {type(exc).__name__}; document indexed", first_line)
            return {}
        if not isinstance(parsed, dict):
            self.warning(path, "front matter ignored: not a YAML mapping; document indexed", first_line)
            return {}
        return self._meta_values(path, parsed, "front matter", line=first_line)

    def _html(self, path: Path, rel: str, data: bytes, meta: dict[str, str]) -> Document | None:
        nul = data.find(b"\x00", 0, 8192)
        if nul >= 0:
            self.problem(path, f"binary file: NUL byte at byte offset {nul}", _line_at(data, nul))
            return None
        try:
            markup = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            markup = _decode_declared_charset(data)
            if markup is None:
                self.problem(path, f"invalid UTF-8 at byte offset {exc.start} ({exc.reason}) and no usable <meta charset>",
                             _line_at(data, exc.start))
                return None
        page = extract_html(markup)
        if not page.text.strip():
            self.problem(path, "empty file (no text after removing markup)" if markup.strip() else "empty file")
            return None
        found = self._meta_values(path, {"title": page.title, "date": page.date, "url": page.url,
                                         "publisher": page.publisher}, "HTML metadata", strict=False)
        return Document(doc_id=rel, source=rel, text=page.text, content_hash=_sha256(data),
                        file=self.current_file, **_fields(_merge(meta, found)))

    def _jsonl(self, path: Path, rel: str, meta: dict[str, str], *, gz: bool) -> Iterator[Document]:
        """Stream records; a bad line costs that line only. Size limit applies per record."""
        bad_lines = 0
        first_seen: dict[str, int] = {}

        def bad(reason: str, line: int) -> None:
            nonlocal bad_lines
            bad_lines += 1
            if bad_lines <= MAX_LINE_PROBLEMS_PER_FILE:
                self.problem(path, reason, line)

        lineno = 0
        yielded = 0
        try:
            opener = gzip.open if gz else open
            with opener(path, "rb") as fh:
                while True:
                    # Bounded read: a multi-gigabyte line must not be held in memory to be refused.
                    raw = fh.readline(self.max_bytes + 1)
                    if not raw:
                        break
                    lineno += 1
                    if len(raw) > self.max_bytes and not raw.endswith(b"\n"):
                        total = len(raw)
                        while True:
                            more = fh.readline(1 << 20)
                            total += len(more)
                            if not more or more.endswith(b"\n"):
                                break
                        bad(f"record too large: {total:,} bytes, over the {self.max_bytes:,}-byte limit", lineno)
                        continue
                    if b"\x00" in raw:
                        if yielded == 0 and bad_lines == 0:
                            self.problem(path, "binary file: NUL byte in a .jsonl file", lineno)
                            return
                        bad("binary data (NUL byte) in line", lineno)
                        continue
                    try:
                        line = raw.decode("utf-8")
                    except UnicodeDecodeError as exc:
                        bad(f"invalid UTF-8 at byte {exc.start} of the line ({exc.reason})", lineno)
                        continue
                    line = line.rstrip("\r\n")  # the terminator is not part of the record
                    if lineno == 1 and line.startswith("\ufeff"):
                        line = line[1:]  # a BOM is not JSON; tolerated on the first line only
                    if not line.strip():
                        continue
                    doc = self._record(path, rel, line, lineno, meta, bad, first_seen)
                    if doc is not None:
                        yielded += 1
                        yield doc
        except PermissionError:
            self.problem(path, "unreadable: permission denied")
            return
        except (OSError, EOFError, zlib.error) as exc:
            # gzip.BadGzipFile is an OSError; a truncated .gz raises EOFError. Records already yielded stand.
            where = f" after line {lineno}" if lineno else ""
            self.problem(path, f"unreadable{where}: {_os_reason(exc) if isinstance(exc, OSError) else exc}",
                         lineno + 1 if lineno else None)
            return
        if bad_lines > MAX_LINE_PROBLEMS_PER_FILE:
            self.problem(path, f"... and {bad_lines - MAX_LINE_PROBLEMS_PER_FILE} more bad lines not listed "
                               f"({bad_lines} bad lines in all)")
        if yielded == 0 and bad_lines == 0:
            self.problem(path, "empty file (no JSONL records)")

    def _record(self, path: Path, rel: str, line: str, lineno: int, meta: dict[str, str],
                bad: Any, first_seen: dict[str, int]) -> Document | None:
        try:
            rec = json.loads(line)
        except json.JSONDecodeError as exc:
            bad(f"invalid JSON: {exc.msg} at column {exc.colno}", lineno)
            return None
        except RecursionError:
            bad("invalid JSON: nested too deeply", lineno)
            return None
        if not isinstance(rec, dict):
            bad(f"record is a JSON {type(rec).__name__}, not an object", lineno)
            return None
        raw_id = rec.get("id", rec.get("_id"))
        if raw_id is None or isinstance(raw_id, bool) or not isinstance(raw_id, (str, int)) or str(raw_id).strip() == "":
            bad("record has no usable 'id' or '_id' (a non-empty string or integer)", lineno)
            return None
        doc_id = _storable(str(raw_id))
        text = rec.get("text")
        if not isinstance(text, str):
            bad(f"record {_short(doc_id)!r} has no 'text' string", lineno)
            return None
        # "\ud800"-style escapes decode to lone surrogates, which no UTF-8 store can hold.
        text = _storable(text)
        if not text.strip():
            bad(f"record {_short(doc_id)!r} has empty text", lineno)
            return None
        if doc_id in first_seen:
            bad(f"duplicate id {_short(doc_id)!r} (first at line {first_seen[doc_id]}); skipped", lineno)
            return None
        first_seen[doc_id] = lineno
        if not self._claim_id(doc_id, path, lineno):
            return None
        found = self._meta_values(path, {k: rec.get(k) for k in META_FIELDS}, f"record {_short(doc_id)!r}",
                                  line=lineno, strict=False)
        return Document(doc_id=doc_id, source=rel, text=text,
                        content_hash=_sha256(line.encode("utf-8", "surrogatepass")),
                        file=self.current_file, **_fields(_merge(meta, found)))

    # ----------------------------------------------------------------------------------------
    # Metadata

    def _meta_values(self, path: Path | str, values: dict[str, Any], where: str, *,
                     line: int | None = None, strict: bool = True) -> dict[str, str]:
        """Keep the usable title/date/publisher/url values; report unusable ones (never fatal).

        `strict=False` silently drops values of the wrong type (e.g. a BEIR record's empty title),
        but a date that is present and not a date is always reported: a wrong date would mislead.
        """
        out: dict[str, str] = {}
        for key in META_FIELDS:
            value = values.get(key)
            if value is None or value == "":
                continue
            if key == "date":
                date = normalize_date(value)
                if date is None:
                    self.warning(path, f"{where} date {_short(value)!r} ignored: not a YYYY-MM-DD date", line)
                else:
                    out[key] = date
                continue
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                value = str(value)
            if not isinstance(value, str):
                if strict:
                    self.warning(path, f"{where} {key} ignored: expected a string, got {type(value).__name__}", line)
                continue
            value = " ".join(_storable(value).split())
            if value:
                out[key] = value
        return out

    def _load_catalogue(self, folder: Path, folder_key: _FileKey) -> None:
        """Read `folder/catalogue.json` once; its entries apply to the files they name, however reached."""
        path = folder / CATALOGUE_NAME
        if folder_key in self.loaded_catalogues:
            return
        self.loaded_catalogues.add(folder_key)
        try:
            if not os.path.isfile(path):  # os.path.isfile never raises (Path.is_file does on EACCES)
                return
            data = json.loads(path.read_bytes().decode("utf-8"))
        except (OSError, UnicodeDecodeError) as exc:
            self.warning(path, f"catalogue ignored: unreadable ({exc})")
            return
        except json.JSONDecodeError as exc:
            self.warning(path, f"catalogue ignored: invalid JSON ({exc.msg} at column {exc.colno})", exc.lineno)
            return
        if not isinstance(data, dict):
            self.warning(path, "catalogue ignored: expected a JSON object mapping file paths to metadata")
            return
        for key, entry in data.items():
            if key.startswith("_"):
                continue  # room for comments / schema notes ("_comment": ...)
            if not isinstance(entry, dict):
                self.warning(path, f"catalogue entry {key!r} ignored: expected an object with title/date/publisher/url")
                continue
            try:
                target = _key((folder / key).stat())
            except (OSError, ValueError):
                self.warning(path, f"catalogue entry {key!r} ignored: no such file in {_printable(str(folder))}")
                continue
            values = self._meta_values(path, entry, f"catalogue entry {key!r}")
            merged = self.catalogue.setdefault(target, {})
            merged.update(values)  # a deeper catalogue, loaded later, refines a shallower one


# --------------------------------------------------------------------------------------------
# Helpers (public ones are reused by tests and by other index modules)


def split_front_matter(text: str) -> tuple[str, int, int] | None:
    """Find YAML front matter: `---` on the first line, closed by `---` or `...` on its own line.

    Returns (yaml text, offset where the body starts in `text`, 1-based line of the first YAML line),
    or None when the file has no (closed) front matter. A leading BOM is allowed before `---`.
    """
    pos = 1 if text.startswith("\ufeff") else 0
    first_end = text.find("\n", pos)
    if first_end < 0 or text[pos:first_end].rstrip("\r \t") != "---":
        return None
    yaml_start = first_end + 1
    cursor = yaml_start
    while cursor <= len(text):
        nl = text.find("\n", cursor)
        line_end = len(text) if nl < 0 else nl
        if text[cursor:line_end].rstrip("\r \t") in ("---", "..."):
            body_start = len(text) if nl < 0 else nl + 1
            return text[yaml_start:cursor], body_start, 2
        if nl < 0:
            return None
        cursor = nl + 1
    return None


# The first non-blank line of a Markdown body, when it is an ATX heading ("# Title"): the weakest
# title source, used only when neither front matter nor the catalogue gives one.
_MD_HEADING = re.compile(r"\s*#{1,6}[ \t]+([^\n]*?\S)[ \t]*#*[ \t]*(?:\r?\n|$)")

_BEIR_CORPUS = {"corpus.jsonl", "corpus.jsonl.gz"}
_BEIR_QUERIES = {"queries.jsonl", "queries.jsonl.gz"}

_DATE_PREFIX = re.compile(r"^\s*(\d{4})-(\d{2})-(\d{2})(?:$|[T\s])")


def normalize_date(value: Any) -> str | None:
    """ISO "YYYY-MM-DD" from a date, datetime or ISO-8601 string (time part dropped); else None."""
    if isinstance(value, _dt.datetime):
        return value.date().isoformat()
    if isinstance(value, _dt.date):
        return value.isoformat()
    if not isinstance(value, str):
        return None
    m = _DATE_PREFIX.match(value)
    if not m:
        return None
    try:
        return _dt.date(int(m.group(1)), int(m.group(2)), int(m.group(3))).isoformat()
    except ValueError:
        return None


_FileKey = tuple[int, int]


def _key(st: os.stat_result) -> _FileKey:
    return (st.st_dev, st.st_ino)


def _kind(name: str) -> str | None:
    lower = name.lower()
    if lower.endswith(".jsonl.gz") or lower.endswith(".jsonl"):
        return "jsonl"
    suffix = _suffix(name)
    if suffix in TEXT_SUFFIXES:
        return "text"
    if suffix in MARKDOWN_SUFFIXES:
        return "markdown"
    if suffix in HTML_SUFFIXES:
        return "html"
    return None


def _suffix(name: str) -> str:
    dot = name.rfind(".")
    return name[dot:].lower() if dot > 0 else ""


def _merge(catalogue: dict[str, str], found: dict[str, str]) -> dict[str, str]:
    """Values found in the file itself win over the catalogue's."""
    return {**catalogue, **found}


def _fields(meta: dict[str, str]) -> dict[str, str | None]:
    return {key: meta.get(key) for key in META_FIELDS}


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _line_at(data: bytes, offset: int) -> int:
    return data.count(b"\n", 0, offset) + 1


def _os_reason(exc: OSError) -> str:
    return exc.strerror.lower() if exc.strerror else str(exc)


def _printable(name: str) -> str:
    """A path string that can be printed and stored: undecodable bytes and control characters become \\xNN.

    Why: a file name is attacker-controlled text that ends up in terminals, logs and Slack. A name
    with ESC sequences or newlines must not repaint a terminal or forge extra report lines.
    """
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        name = name.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", name)


_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")


def _storable(text: str) -> str:
    """Replace lone surrogates (from JSON "\\udXXX" escapes) with U+FFFD so the text can be stored as UTF-8."""
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        return _SURROGATE.sub("\ufffd", text)


# json.loads already joins valid surrogate pairs, so any surrogate left in a str is a lone one.
_SURROGATE = re.compile("[\ud800-\udfff]")


def _short(value: Any, limit: int = 80) -> str:
    """Values quoted in a reason stay one readable line, even when the input is a 3 MB id."""
    text = value if isinstance(value, str) else repr(value)
    return text if len(text) <= limit else text[:limit] + "…"


_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?([A-Za-z0-9_.:-]+)""", re.IGNORECASE)


def _decode_declared_charset(data: bytes) -> str | None:
    """Old pages declare Latin-1/Windows-1252; HTML offsets refer to extracted text, so honour it."""
    m = _CHARSET.search(data[:4096])
    if not m:
        return None
    try:
        codec = codecs.lookup(m.group(1).decode("ascii"))
    except LookupError:
        return None
    if codec.name == "utf-8":
        return None
    try:
        return data.decode(codec.name)
    except UnicodeDecodeError:
        return None


# --------------------------------------------------------------------------------------------
# HTML → text


@dataclass(frozen=True)
class HtmlPage:
    text: str
    title: str | None = None
    date: str | None = None
    url: str | None = None
    publisher: str | None = None


# Never content: page chrome, code, forms. Removed with everything inside them.
_DROP_TAGS = {"script", "style", "nav", "header", "footer", "aside", "form", "noscript", "template",
              "svg", "iframe", "head", "title", "button", "select", "textarea", "object", "embed", "canvas"}
# Elements that start a new paragraph: their text never runs into a neighbour's.
_BLOCK_TAGS = {"address", "article", "blockquote", "body", "caption", "dd", "details", "dialog", "div",
               "dl", "dt", "fieldset", "figcaption", "figure", "h1", "h2", "h3", "h4", "h5", "h6", "hgroup",
               "hr", "html", "li", "main", "ol", "p", "pre", "section", "summary", "table", "tbody", "td",
               "tfoot", "th", "thead", "tr", "ul"}


def extract_html(markup: str) -> HtmlPage:
    """Readable text of a page: one paragraph per block element, paragraphs separated by a blank line.

    Why not `soup.get_text()`: it runs adjacent blocks together ("...end.Next heading") and keeps
    menus and scripts, which would become quotable "answers". Whitespace inside a paragraph is
    collapsed the way a browser renders it; `<br>` becomes a line break; `<pre>` keeps its lines.
    """
    from bs4 import BeautifulSoup, MarkupResemblesLocatorWarning, XMLParsedAsHTMLWarning  # lazily: HTML only
    from bs4.element import NavigableString, Tag

    with warnings.catch_warnings():
        # bs4 warns when a short page "looks like a URL/file name" or is XHTML; for us it is just a page.
        warnings.simplefilter("ignore", MarkupResemblesLocatorWarning)
        warnings.simplefilter("ignore", XMLParsedAsHTMLWarning)
        soup = BeautifulSoup(markup, "html.parser")
    title = _meta_content(soup, property="og:title") or _tag_text(soup.find("title"))
    date = (_meta_content(soup, property="article:published_time")
            or _meta_content(soup, itemprop="datePublished")
            or _meta_content(soup, name="date"))
    if not date:
        time_tag = soup.find("time", attrs={"datetime": True})
        date = time_tag.get("datetime") if isinstance(time_tag, Tag) else None
    url = _meta_content(soup, property="og:url")
    if not url:
        link = soup.find("link", rel="canonical", href=True)
        url = link.get("href") if isinstance(link, Tag) else None
    publisher = _meta_content(soup, property="og:site_name")

    paragraphs: list[str] = []
    current: list[str] = []

    def flush() -> None:
        joined = "".join(current)
        lines = [" ".join(part.split()) for part in joined.split("\n")]
        para = "\n".join(line for line in lines if line)
        if para:
            paragraphs.append(para)
        current.clear()

    # Iterative walk (explicit stack): hostile pages nest thousands of elements deep, which would
    # overflow Python's recursion limit in a recursive walk.
    stack: list[tuple[Iterator[Any], bool]] = [(iter(soup.children), False)]
    while stack:
        children, is_block = stack[-1]
        child = next(children, None)
        if child is None:
            stack.pop()
            if is_block:
                flush()
            continue
        if isinstance(child, Tag):
            name = (child.name or "").lower()
            if name in _DROP_TAGS or child.has_attr("hidden"):
                continue
            if name == "br":
                current.append("\n")
                continue
            block = name in _BLOCK_TAGS
            if block:
                flush()
            if name == "pre":
                # keep the lines of preformatted text as separate lines of one paragraph
                current.append(child.get_text())
                flush()
                continue
            stack.append((iter(child.children), block))
        elif type(child) is NavigableString:  # not Comment, Doctype, CData, ProcessingInstruction
            current.append(str(child))
    flush()
    return HtmlPage(text="\n\n".join(paragraphs), title=title, date=date, url=url, publisher=publisher)


def _meta_content(soup: Any, **attrs: str) -> str | None:
    from bs4.element import Tag

    tag = soup.find("meta", attrs=attrs)
    if isinstance(tag, Tag):
        content = tag.get("content")
        if isinstance(content, str) and content.strip():
            return content.strip()
    return None


def _tag_text(tag: Any) -> str | None:
    if tag is None:
        return None
    text = " ".join(tag.get_text().split())
    return text or None
