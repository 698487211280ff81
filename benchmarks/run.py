"""Benchmarks: our trial vs HF Trainer vs a plain PyTorch loop; sweep overhead; parity.

    python benchmarks/run.py                 # throughput + memory + sweep overhead
    python benchmarks/run.py --quick         # everything, tiny (CPU smoke test, minutes)
    python benchmarks/run.py --parity        # accuracy parity only (minilm, IMDb subset)
    python benchmarks/run.py --all --out DIR # everything (the GPU run)
    python benchmarks/run.py --render DIR    # docs/benchmarks.md from DIR's JSON files

Sizes grow automatically on a GPU. Every phase writes its JSON into --out as it
goes, and the report is rendered again after each phase.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

import phases
import profiles
import report
from measure import REPO, describe_machine, write_json

PHASES = ("throughput", "overhead", "parity", "lockstep")


def _args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="tiny sizes, all phases (smoke test)")
    p.add_argument("--all", action="store_true", help="all phases: throughput, overhead, parity")
    p.add_argument("--parity", action="store_true", help="only the accuracy-parity phase")
    p.add_argument("--phases", help=f"comma-separated subset of {','.join(PHASES)}")
    p.add_argument("--data-dir", default=str(REPO.parent / "shared" / "data"),
                   help="folder with imdb/ and rte/ (default: ../shared/data from the repo)")
    p.add_argument("--out", help="folder for the JSON results (default: a new temp folder)")
    p.add_argument("--doc", default=str(REPO / "docs" / "benchmarks.md"))
    p.add_argument("--render", metavar="OUT", help="only render --doc from OUT's JSON files")
    p.add_argument("--budget-s", type=float, help="skip runs that would start after this many "
                   "seconds (default: none; use ~420 on a 10-minute GPU lease)")
    p.add_argument("--samples", type=int, help="train rows per throughput run")
    p.add_argument("--max-length", type=int)
    p.add_argument("--batch-size", type=int)
    p.add_argument("--epochs", type=int, help="epochs per throughput run")
    p.add_argument("--repeats", type=int, help="throughput runs per system, interleaved; the "
                   "fastest counts (default 2 on CPU)")
    p.add_argument("--parity-workers", type=int, help="parity runs at once (GPU default 6)")
    p.add_argument("--parity-seeds", help="comma-separated seeds for parity (default 1,2)")
    p.add_argument("--parity-task", choices=["imdb", "rte"],
                   help="parity data: a fixed IMDb subset (default) or GLUE RTE")
    p.add_argument("--parity-systems", help="comma-separated subset of ours,ours_random,"
                   "ours_grouped,hf,hf_grouped (default ours,hf; the others force the order)")
    p.add_argument("--models", help="comma-separated subset of bert_tiny,minilm")
    p.add_argument("--strategies", help="comma-separated subset of full,bitfit,lora")
    p.add_argument("--keep-work", action="store_true", help="keep logs and job folders")
    return p.parse_args(argv)


def _phases(args: argparse.Namespace) -> list[str]:
    if args.phases:
        chosen = [p.strip() for p in args.phases.split(",") if p.strip()]
        unknown = sorted(set(chosen) - set(PHASES))
        if unknown:
            sys.exit(f"run.py: unknown phase {unknown[0]!r} (allowed: {', '.join(PHASES)})")
        return chosen
    if args.parity:
        return ["parity"]
    if args.all or args.quick:
        return list(PHASES)
    return ["throughput", "overhead"]


def _names(text: str | None) -> list[str] | None:
    return [name.strip() for name in text.split(",") if name.strip()] if text else None


def _seeds(text: str | None) -> tuple[int, ...] | None:
    try:
        return tuple(int(seed) for seed in _names(text)) if text else None
    except ValueError:
        sys.exit(f"run.py: --parity-seeds wants integers, got {text!r}")


def _parity_systems(text: str | None) -> tuple[str, ...] | None:
    chosen = _names(text)
    unknown = sorted(set(chosen or []) - set(phases.PARITY_SYSTEMS))
    if unknown:
        sys.exit(f"run.py: unknown parity system {unknown[0]!r} "
                 f"(allowed: {', '.join(phases.PARITY_SYSTEMS)})")
    return tuple(chosen) if chosen else None


def _bench(args: argparse.Namespace, out: Path, work: Path) -> phases.Bench:
    import torch

    sizes = profiles.choose(args.quick, torch.cuda.is_available(), samples=args.samples,
                            max_length=args.max_length, batch_size=args.batch_size,
                            epochs=args.epochs, repeats=args.repeats,
                            parity_workers=args.parity_workers,
                            parity_task=args.parity_task,
                            parity_seeds=_seeds(args.parity_seeds),
                            parity_systems=_parity_systems(args.parity_systems))
    sizes = profiles.restrict(sizes, _names(args.models), _names(args.strategies))
    deadline = time.time() + args.budget_s if args.budget_s else float("inf")
    return phases.Bench(out, work, Path(args.data_dir).resolve(), sizes, deadline)


def _start(b: phases.Bench, chosen: list[str], argv: list[str]) -> dict:
    """machine.json first, so even a run that dies early says where it ran."""
    machine = describe_machine()
    machine.update(sizes=b.sizes.__dict__, phases=chosen,
                   command="python benchmarks/run.py " + " ".join(argv),
                   throughput_data=(f"IMDb from {b.imdb}" if b.imdb else "built-in demo data"))
    write_json(b.out / "machine.json", machine)
    print("preparing (tokenizing once) ...", flush=True)
    prepared = phases.prepare(b)
    machine["prepared"] = prepared.get("rows") or prepared
    write_json(b.out / "machine.json", machine)
    return machine


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = _args(argv)
    if args.render:
        # The out folder may be read-only (files fetched from a GPU lease): no copy there.
        print(report.render(Path(args.render), Path(args.doc), copy=False))
        return 0
    chosen = _phases(args)
    out = Path(args.out or tempfile.mkdtemp(prefix="peftsweep-bench-"))
    out.mkdir(parents=True, exist_ok=True)
    # Logs, specs and job folders stay out of --out (a GPU lease brings back only a few files).
    work = Path(tempfile.mkdtemp(prefix="peftsweep-bench-work-"))
    b = _bench(args, out, work)
    started = time.time()
    machine = _start(b, chosen, argv)
    if "error" in machine["prepared"]:
        print(f"preparing the data failed: {machine['prepared']}", file=sys.stderr)
        return 1
    for phase in chosen:
        # A rerun of one phase into the same --out replaces only that phase's results.
        (out / f"{phase}.json").unlink(missing_ok=True)
        getattr(phases, phase)(b)
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
