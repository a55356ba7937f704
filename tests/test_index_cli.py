"""`python -m index build|search|stats` end to end: real files, real SQLite, real subprocesses.

The CLI is the contract other tools (the eval scripts, operators, shell pipelines) rely on, so these
tests run it exactly as a user does (`sys.executable -m index ...`) and check what it prints, the
exit status, and that every hit is a verbatim slice of its source.
"""
from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from indexkit import NEWS_CORPUS, run_index, write_corpus  # noqa: E402

HIT_FIELDS = {"doc_id", "source", "chunk_id", "score", "start", "end", "text"}

CORPUS = NEWS_CORPUS


@pytest.fixture()
def corpus(tmp_path: Path) -> Path:
    return write_corpus(tmp_path / "corpus", CORPUS)


@pytest.fixture()
def built(tmp_path: Path, corpus: Path) -> Path:
    db = tmp_path / "index.db"
    out = run_index("build", "--db", str(db), str(corpus))
    assert out.returncode == 0, out.stderr
    return db


def source_text(corpus: Path, source: str) -> str:
    """The text offsets refer to, for plain-text sources: the file exactly as read."""
    return (corpus / source).read_bytes().decode("utf-8")


# ---------------------------------------------------------------------------------------------
# build


def test_build_prints_the_summary_and_exits_0(tmp_path: Path, corpus: Path) -> None:
    db = tmp_path / "index.db"
    out = run_index("build", "--db", str(db), str(corpus))
    assert out.returncode == 0, out.stderr
    assert "Traceback" not in out.stderr and "skipped" not in out.stderr
    line = out.stdout.strip()
    m = re.fullmatch(r"4 documents indexed \((\d+) chunks\); 0 unchanged; 0 removed; 0 skipped; "
                     r"4 documents / (\d+) chunks in the index; (\d+\.\d\d) s", line)
    assert m, line
    assert int(m.group(1)) == int(m.group(2)) >= 4  # every document has at least one chunk
    assert db.exists()

    again = run_index("build", "--db", str(db), str(corpus))
    assert again.returncode == 0
    assert again.stdout.startswith("0 documents indexed (0 chunks); 4 unchanged; 0 removed; 0 skipped; 4 documents")


def test_build_json_report_and_exit_1_when_an_input_is_skipped(tmp_path: Path, corpus: Path) -> None:
    (corpus / "empty.txt").write_bytes(b"")
    out = run_index("build", "--db", str(tmp_path / "index.db"), "--json", str(corpus))
    assert out.returncode == 1, out.stderr
    report = json.loads(out.stdout)
    assert (report["documents_indexed"], report["skipped"], report["warnings"]) == (4, 1, [])
    assert report["problems"] == [{"path": str(corpus / "empty.txt"), "line": None, "reason": "empty file"}]
    assert out.stderr.strip() == f"skipped {corpus / 'empty.txt'}: empty file"


def test_warnings_alone_do_not_fail_the_build(tmp_path: Path, corpus: Path) -> None:
    """A catalogue entry naming a missing file is a warning: reported, counted apart, exit 0."""
    (corpus / "catalogue.json").write_text(json.dumps({"gone.txt": {"title": "Gone"},
                                                       "harbor.txt": {"title": "Harbor news"}}))
    out = run_index("build", "--db", str(tmp_path / "index.db"), str(corpus))
    assert out.returncode == 0, out.stderr
    assert "0 skipped; 1 warning;" in out.stdout
    assert "skipped" not in out.stderr
    assert re.fullmatch(r".*catalogue\.json: warning: catalogue entry 'gone.txt' ignored: .*", out.stderr.strip())


def test_help_documents_the_exit_statuses() -> None:
    out = run_index("build", "--help")
    assert out.returncode == 0
    statuses = re.findall(r"^  (\d+)\s+\S", out.stdout.split("exit status:")[1], flags=re.M)
    assert statuses == ["0", "1", "2", "130"]
    assert "skipped" in out.stdout and "warning" in out.stdout and "intact" in out.stdout
    assert "exit status:" in run_index("--help").stdout


def test_beir_corpus_jsonl_indexes_as_is(tmp_path: Path) -> None:
    records = [
        {"_id": "4983", "title": "Microstructural development of white matter",
         "text": "Diffusion tensor imaging measured water diffusion in preterm infants.", "metadata": {}},
        {"_id": "5836", "title": "Induction of myelodysplasia",
         "text": "Haploinsufficiency of a ribosomal gene induces anemia in mice.", "metadata": {}},
        {"_id": "7912", "title": "", "text": "Vitamin D supplementation lowered fracture risk in elderly women."},
    ]
    beir = tmp_path / "scifact"
    write_corpus(beir, {
        "corpus.jsonl": "".join(json.dumps(r) + "\n" for r in records),
        "queries.jsonl": json.dumps({"_id": "1", "text": "does vitamin D prevent fractures"}) + "\n",
    })
    db = tmp_path / "beir.db"
    out = run_index("build", "--db", str(db), str(beir / "corpus.jsonl"))
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("3 documents indexed")
    out = run_index("build", "--db", str(db), str(beir))  # the folder: queries.jsonl is a warning, not a skip
    assert out.returncode == 0, out.stderr
    assert "0 skipped; 1 warning;" in out.stdout and "queries.jsonl: warning:" in out.stderr

    res = run_index("search", "--db", str(db), "--json", "vitamin fracture risk")
    assert res.returncode == 0, res.stderr
    hits = json.loads(res.stdout)["hits"]
    assert hits[0]["doc_id"] == "7912" and hits[0]["source"] == "corpus.jsonl"
    by_id = {r["_id"]: r["text"] for r in records}
    for hit in hits:
        assert by_id[hit["doc_id"]][hit["start"]:hit["end"]] == hit["text"]


# ---------------------------------------------------------------------------------------------
# search


def test_search_json_hits_are_verbatim_slices(built: Path, corpus: Path) -> None:
    out = run_index("search", "--db", str(built), "--json", "-k", "3", "steel cables bridge")
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    assert result["query"] == "steel cables bridge"
    hits = result["hits"]
    assert 1 <= len(hits) <= 3
    assert all(set(h) == HIT_FIELDS for h in hits)
    top = hits[0]
    assert (top["doc_id"], top["source"]) == ("harbor.txt", "harbor.txt")
    assert top["text"] == "Engineers replaced forty steel cables while the bridge was closed to traffic."
    assert source_text(corpus, top["source"])[top["start"]:top["end"]] == top["text"]
    assert [h["score"] for h in hits] == sorted((h["score"] for h in hits), reverse=True)
    assert top["score"] > 0

    nested = json.loads(run_index("search", "--db", str(built), "--json", "comet Jupiter").stdout)["hits"][0]
    assert nested["doc_id"] == "notes/comet.txt"
    assert source_text(corpus, nested["source"])[nested["start"]:nested["end"]] == nested["text"]


def test_search_plain_text_and_no_match(built: Path) -> None:
    out = run_index("search", "--db", str(built), "apple", "harvest")
    assert out.returncode == 0
    assert "orchard.md" in out.stdout and "record harvest" in out.stdout
    none = run_index("search", "--db", str(built), "xylophone")
    assert (none.returncode, none.stdout.strip()) == (0, "no matching passages")
    empty = run_index("search", "--db", str(built))
    assert empty.returncode == 2 and "--jsonl" in empty.stderr and "Traceback" not in empty.stderr


def test_search_jsonl_one_line_per_input_line_in_order(built: Path, corpus: Path) -> None:
    queries = ["harbor bridge repairs", "", "   ", "apple harvest frost", "xylophone quartet", "rare maps archive"]
    out = run_index("search", "--db", str(built), "--jsonl", "-k", "2", stdin="\n".join(queries) + "\n")
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert len(lines) == len(queries)
    results = [json.loads(line) for line in lines]
    assert [r["query"] for r in results] == queries
    assert [r["hits"] for r in results[1:3]] == [[], []]   # blank queries: empty hits, line kept
    assert results[4]["hits"] == []                        # words the corpus never uses
    assert [r["hits"][0]["doc_id"] for r in results if r["hits"]] == ["harbor.txt", "orchard.md", "library.html"]
    for r in results:
        assert len(r["hits"]) <= 2
        for h in r["hits"]:
            assert set(h) == HIT_FIELDS
            if h["source"].endswith((".txt", ".md")):
                assert source_text(corpus, h["source"])[h["start"]:h["end"]] == h["text"]
    html_hit = results[5]["hits"][0]
    assert html_hit["text"] == "Volunteers catalogued ten thousand rare maps from the archive."


def test_search_jsonl_matches_search_json(built: Path) -> None:
    """The two output modes are one search: same hits, same order, same scores."""
    query = "bridge closed traffic weekends"
    single = json.loads(run_index("search", "--db", str(built), "--json", query).stdout)
    batch = json.loads(run_index("search", "--db", str(built), "--jsonl", stdin=query + "\n").stdout)
    assert single == batch


# ---------------------------------------------------------------------------------------------
# stats


def test_stats_text_and_json(built: Path) -> None:
    out = run_index("stats", "--db", str(built))
    assert out.returncode == 0, out.stderr
    fields = dict(re.findall(r"^\s*(\w+): (.*)$", out.stdout, flags=re.M))
    assert fields["documents"] == "4" and int(fields["chunks"]) >= 4
    stats = json.loads(run_index("stats", "--db", str(built), "--json").stdout)
    assert stats["documents"] == 4 and stats["chunks"] == int(fields["chunks"])
    from index.analyzer import TOKENIZER_VERSION
    from index.ranking import DEFAULT_B, DEFAULT_K1
    assert (stats["k1"], stats["b"], stats["tokenizer_version"]) == (DEFAULT_K1, DEFAULT_B, TOKENIZER_VERSION)
    assert stats["problems"] == 0 and stats["built_at"]


# ---------------------------------------------------------------------------------------------
# where the index lives


@pytest.mark.parametrize("command", [["search", "harbor"], ["search", "--jsonl"], ["stats"]])
def test_missing_index_is_one_line_naming_the_fix(tmp_path: Path, command: list[str]) -> None:
    db = tmp_path / "nowhere" / "index.db"
    out = run_index(command[0], "--db", str(db), *command[1:], stdin="harbor\n")
    assert out.returncode == 2
    assert out.stdout == ""
    assert "Traceback" not in out.stderr
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1
    assert str(db) in lines[0] and "python -m index build" in lines[0]
    assert not db.exists() and not db.parent.exists()  # reading never creates an index


def test_db_flag_and_verbatim_db_are_both_honoured(tmp_path: Path, corpus: Path) -> None:
    env_db = tmp_path / "from-env" / "index.db"
    flag_db = tmp_path / "from-flag" / "index.db"
    env = {"VERBATIM_DB": str(env_db)}
    assert run_index("build", str(corpus), env=env).returncode == 0
    assert env_db.exists() and not flag_db.exists()
    hits = json.loads(run_index("search", "--json", "comet", env=env).stdout)["hits"]
    assert hits and hits[0]["doc_id"] == "notes/comet.txt"

    # --db wins over VERBATIM_DB, before or after the subcommand
    only_harbor = tmp_path / "one"
    write_corpus(only_harbor, {"harbor.txt": CORPUS["harbor.txt"]})
    assert run_index("--db", str(flag_db), "build", str(only_harbor), env=env).returncode == 0
    assert json.loads(run_index("stats", "--json", "--db", str(flag_db), env=env).stdout)["documents"] == 1
    assert json.loads(run_index("stats", "--json", env=env).stdout)["documents"] == 4
    missing = run_index("search", "comet", env={"VERBATIM_DB": str(tmp_path / "none.db")})
    assert missing.returncode == 2 and str(tmp_path / "none.db") in missing.stderr


def test_default_location_is_under_the_working_directory(tmp_path: Path, corpus: Path) -> None:
    work = tmp_path / "work"
    work.mkdir()
    out = run_index("build", str(corpus), cwd=work)
    assert out.returncode == 0, out.stderr
    assert (work / ".verbatim" / "index.db").exists()
    assert json.loads(run_index("stats", "--json", cwd=work).stdout)["documents"] == 4
