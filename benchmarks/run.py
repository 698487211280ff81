"""Benchmarks: our trial against HF Trainer and a plain PyTorch loop; writes docs/benchmarks.md.

    python benchmarks/run.py                  # throughput + memory + sweep overhead (make bench)
    python benchmarks/run.py --parity         # accuracy parity with HF Trainer (make bench-parity)
    python benchmarks/run.py --quick --all    # every phase at tiny sizes (a smoke test)
    python benchmarks/run.py --render OUT     # docs/benchmarks.md again from OUT's JSON files

Sizes follow the machine (the GPU profile when CUDA is there). Every phase
appends its records to OUT/<phase>.json as it goes, and the document is
rendered again after each phase.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import report
from bench import REPO, STRATEGIES, Bench, choose_sizes, describe_machine, write_json
from phases import PARITY_SYSTEMS, PHASES, prepare


def _names(text: str | None) -> list[str] | None:
    return [name.strip() for name in text.split(",") if name.strip()] if text else None


def _checked(text: str | None, allowed, what: str) -> list[str] | None:
    names = _names(text)
    unknown = sorted(set(names or ()) - set(allowed))
    if unknown:
        sys.exit(f"run.py: unknown {what} {unknown[0]!r} (allowed: {', '.join(allowed)})")
    return names


def _relative(arg: str) -> str:
    """A path in the recorded command, relative to the repository (the document is shared)."""
    key, _, value = arg.rpartition("=")
    if value.startswith("/"):
        value = os.path.relpath(value, REPO)
    return f"{key}={value}" if key else value


def _args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="tiny sizes (smoke test)")
    p.add_argument("--all", action="store_true", help=f"every phase: {', '.join(PHASES)}")
    p.add_argument("--parity", action="store_true", help="only the accuracy-parity phase")
    p.add_argument("--phases", help=f"comma-separated subset of {','.join(PHASES)}")
    p.add_argument("--data-dir", default=str(REPO.parent / "shared" / "data"),
                   help="folder with imdb/ (default: ../shared/data from the repository); "
                        "without it throughput uses the built-in demo data")
    p.add_argument("--out", help="folder for the JSON results (default: a new temp folder)")
    p.add_argument("--doc", default=str(REPO / "docs" / "benchmarks.md"))
    p.add_argument("--render", metavar="OUT", help="only render --doc from OUT's JSON files")
    p.add_argument("--models", help="comma-separated subset of bert_tiny,minilm")
    p.add_argument("--strategies", help=f"comma-separated subset of {','.join(STRATEGIES)}")
    p.add_argument("--samples", type=int, help="training rows per throughput run")
    p.add_argument("--repeats", type=int, help="throughput runs per system (fastest counts)")
    p.add_argument("--parity-seeds", help="comma-separated seeds (default 1,2)")
    p.add_argument("--parity-systems", help=f"comma-separated subset of "
                   f"{','.join(PARITY_SYSTEMS)} (default ours,hf)")
    p.add_argument("--keep-work", action="store_true", help="keep the logs and job folders")
    return p.parse_args(argv)


def _phases(args: argparse.Namespace) -> list[str]:
    if args.phases:
        return _checked(args.phases, PHASES, "phase")
    if args.parity:
        return ["parity"]
    return list(PHASES) if args.all else ["throughput", "overhead"]


def _bench(args: argparse.Namespace, out: Path, work: Path) -> Bench:
    import torch

    profile = "quick" if args.quick else "gpu" if torch.cuda.is_available() else "cpu"
    seeds = _names(args.parity_seeds)
    systems = _checked(args.parity_systems, PARITY_SYSTEMS, "parity system")
    sizes = choose_sizes(profile, _checked(args.models, ("bert_tiny", "minilm"), "model"),
                         _checked(args.strategies, STRATEGIES, "strategy"),
                         samples=args.samples, repeats=args.repeats,
                         parity_seeds=tuple(map(int, seeds)) if seeds else None,
                         parity_systems=tuple(systems) if systems else None)
    return Bench(out, work, Path(args.data_dir).resolve(), sizes)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = _args(argv)
    if args.render:
        print(report.render(Path(args.render), Path(args.doc)))
        return 0
    chosen = _phases(args)
    out = Path(args.out or tempfile.mkdtemp(prefix="peftsweep-bench-"))
    out.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="peftsweep-bench-work-"))
    b = _bench(args, out, work)
    # machine.json first, so that even a run that dies early says where it ran.
    machine = {**describe_machine(), "sizes": b.sizes.__dict__, "phases": chosen,
               "command": " ".join(["python benchmarks/run.py", *map(_relative, argv)]),
               "throughput_data": "IMDb" if b.imdb else "the built-in demo data"}
    write_json(out / "machine.json", machine)
    print("preparing (tokenizing once) ...", flush=True)
    prepared = prepare(b)
    if "error" in prepared:
        print(f"preparing the data failed: {prepared}", file=sys.stderr)
        return 1
    started = time.time()
    for phase in chosen:
        (out / f"{phase}.json").unlink(missing_ok=True)  # a rerun replaces only this phase
        PHASES[phase](b)
        report.render(out, Path(args.doc))
        print(f"{phase} done at {time.time() - started:.0f} s", flush=True)
    if args.keep_work:
        print(f"logs and job folders kept in {work}")
    else:
        shutil.rmtree(work, ignore_errors=True)
    print(f"results in {out}; report in {args.doc}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
