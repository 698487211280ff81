"""The files a search keeps in its sweep folder, which the sweep writes and the report reads.

Grids and searches share the job folders and ``result.json``; a search adds ``.search/``:
its spec (settings, space, launch time, the reference config; rewritten by every launch), the
trials told to the study (one JSON line each), Optuna's parameter importances (written when it
ends), the seconds each launch spent asking for trials (``search.timeout`` counts them all)
and the lock under which workers ask for trials.
"""

from __future__ import annotations

from pathlib import Path

SEARCH_DIR = Path(".search")
SEARCH_SPEC = SEARCH_DIR / "spec.json"
SEARCH_TOLD = SEARCH_DIR / "told.jsonl"
SEARCH_IMPORTANCES = SEARCH_DIR / "importances.json"
SEARCH_ASK_LOCK = SEARCH_DIR / "ask.lock"
SEARCH_CLOCK = SEARCH_DIR / "clock.json"
SEARCH_DONE = SEARCH_DIR / "done.json"  # the budget is spent: told trials are all there are
