"""The cold `ask` path stays cheap: no lemmatizer dictionary for words the index already knows, and a
cached, verified copy of the dictionary for words it does not.

Timing targets live in tests/bench/bench_answers.py; these tests pin the *mechanisms* (what gets
loaded, what gets cached), which is what breaks silently when someone changes the tokenizer path.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from indexkit import REPO, write_corpus

CORPUS = {
    "talks.txt": "Mediators proposed a six-week cease-fire in mid-January.\n\n"
                 "The counter-proposals were discussed by the negotiators in Doha over seven days.\n",
    "ships.txt": "The harbor reopened to container ships after the storm passed.\n",
}

PROBE = r"""
import json, sys
from bot.service import AnswerService
svc = AnswerService.open(sys.argv[1], [sys.argv[2]])
answer = svc.ask(sys.argv[3])
d = answer.to_dict()
print(json.dumps({"simplemma": "simplemma" in sys.modules, "answered": d["status"] == "answered",
                  "quotes": [q["text"] for q in d["quotes"]]}))
"""


def _probe(tmp_path: Path, question: str, cache: Path) -> dict:
    corpus = write_corpus(tmp_path / "corpus", CORPUS)
    env = dict(os.environ, VERBATIM_CACHE_DIR=str(cache), VERBATIM_QUIET_BUILD="1", PYTHONPATH=str(REPO))
    db = tmp_path / "index.db"
    # the build itself lemmatises every word; the second process is the cold query we inspect
    for _ in range(2):
        out = subprocess.run([sys.executable, "-c", PROBE, str(db), str(corpus), question], env=env, cwd=REPO,
                             capture_output=True, text=True, timeout=120)
        assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def test_known_words_never_load_the_lemmatizer(tmp_path: Path) -> None:
    # hyphen compounds ("six-week", "counter-proposals") are re-tokenised by the answer builder in
    # their joined form too: the index's lexicon must hold those, or the dictionary loads
    got = _probe(tmp_path, "What was proposed by the mediators in mid-January?", tmp_path / "cache")
    assert got["answered"] and any("cease-fire" in q or "counter-proposals" in q for q in got["quotes"])
    assert got["simplemma"] is False


def test_lemma_dictionary_cache_is_written_and_survives_damage(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    got = _probe(tmp_path, "Did the harbor reopen after the storms?", cache)
    files = list(cache.glob("simplemma-en-*.marshal"))
    assert len(files) == 1 and files[0].stat().st_size > 1_000_000
    files[0].write_bytes(b"\x00garbage")  # a damaged cache is ignored and rewritten, never trusted
    env = dict(os.environ, VERBATIM_CACHE_DIR=str(cache), PYTHONPATH=str(REPO))
    code = "from index.analyzer import lemma; print(lemma('geese'), lemma('mice'), lemma('went'))"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert out.stdout.split() == ["goose", "mouse", "go"], out.stderr
    assert files[0].stat().st_size > 1_000_000
    assert got["answered"]


def test_unwritable_cache_still_lemmatises(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where the cache folder should be")
    env = dict(os.environ, VERBATIM_CACHE_DIR=str(blocker / "cache"), PYTHONPATH=str(REPO))
    code = "from index.analyzer import lemma; print(lemma('children'), lemma('said'))"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and out.stdout.split() == ["child", "say"], out.stderr


def test_warm_up_loads_what_the_first_questions_would(tmp_path: Path) -> None:
    """Slack front ends warm the service before connecting, so the first burst after a restart
    does not pay for lazy loading (lemmatizer dictionary, sentence splitter, typo vocabulary)."""
    corpus = write_corpus(tmp_path / "corpus", CORPUS)
    env = dict(os.environ, VERBATIM_CACHE_DIR=str(tmp_path / "cache"), VERBATIM_QUIET_BUILD="1", PYTHONPATH=str(REPO))
    code = ("import json, sys\nfrom bot.service import AnswerService\n"
            f"svc = AnswerService.open({str(tmp_path / 'i.db')!r}, [{str(corpus)!r}])\n"
            "before = {m: m in sys.modules for m in ('simplemma', 'pysbd', 'rapidfuzz')}\n"
            "svc.warm_up()\n"
            "after = {m: m in sys.modules for m in ('simplemma', 'pysbd', 'rapidfuzz')}\n"
            "print(json.dumps([before, after, svc.searcher._surface is not None]))")
    out = subprocess.run([sys.executable, "-c", code], env=env, cwd=REPO, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    before, after, surface = json.loads(out.stdout)
    assert after == {"simplemma": True, "pysbd": True, "rapidfuzz": True} and surface


def test_incremental_build_of_known_words_never_loads_the_lemmatizer(tmp_path: Path) -> None:
    """Adding a page to a big index should cost that page: words the index has seen take their
    term from its lexicon, so the lemmatizer's dictionary is not loaded."""
    corpus = write_corpus(tmp_path / "corpus", CORPUS)
    db = tmp_path / "i.db"
    env = dict(os.environ, VERBATIM_CACHE_DIR=str(tmp_path / "cache"), PYTHONPATH=str(REPO))
    code = ("import json, sys\nfrom pathlib import Path\nfrom index.build import build_index\n"
            f"r = build_index([Path({str(corpus)!r})], Path({str(db)!r}))\n"
            "print(json.dumps([r.documents_indexed, 'simplemma' in sys.modules]))")
    first = subprocess.run([sys.executable, "-c", code], env=env, cwd=REPO, capture_output=True, text=True, timeout=120)
    assert json.loads(first.stdout) == [2, True], first.stderr
    (corpus / "more.txt").write_text("The negotiators proposed a six-week cease-fire to the mediators in Doha.\n")
    second = subprocess.run([sys.executable, "-c", code], env=env, cwd=REPO, capture_output=True, text=True, timeout=120)
    assert json.loads(second.stdout) == [1, False], second.stderr
