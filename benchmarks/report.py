"""docs/benchmarks.md from one out folder's JSON files (a partial run renders too).

Everything above the "## Findings" heading is generated; the findings below it
are written by hand and kept as they are when the numbers are regenerated.
"""

from __future__ import annotations

import json
from pathlib import Path
from statistics import mean, stdev

FINDINGS = "## Findings"
NAMES = {"ours": "ours", "ours_random": "ours, random batches", "hf": "HF Trainer",
         "hf_grouped": "HF Trainer, grouped", "plain": "plain loop"}
# Column -> (numerator, denominator, target) of train samples/s; ours random has no target.
RATIOS = {"ours/HF": ("ours", "hf", 1.3), "ours/HF grouped": ("ours", "hf_grouped", 1.0),
          "ours/plain": ("ours", "plain", 0.9), "ours random/HF": ("ours_random", "hf", None)}
THROUGHPUT_SETUP = (
    "Every system trains the same rows ({data}: {samples} training rows{fewer}), model, "
    "strategy and settings: max_length {max_length}, batch size {batch_size}, {epochs} "
    "epoch(s), AdamW lr {lr:g}, the rest from conf/trainer/default.yaml. Train samples/s "
    "counts the training steps only (ours: `timing.train_samples_per_s` of result.json). "
    "Targets: ours ≥1.3x HF Trainer, ≥1.0x HF Trainer with length grouping, ≥0.9x the plain "
    "loop. `ours` runs its defaults (`trainer.group_by_length=auto`); `ours random` (no "
    "target) takes HF Trainer's random batches, so `ours random/HF` compares the loops "
    "alone. Each figure is the fastest of {repeats} interleaved repeat(s).")
PARITY_SETUP = (
    "The same {parity_train} IMDb training rows at {parity_max_length} tokens; selection on "
    "a seeded 10% of train and one test on the official test split, both capped at "
    "{parity_eval} rows; batch size {batch_size}, epochs {parity_epochs}, lr {parity_lr}. "
    "Both evaluate after each epoch, keep the best epoch and test it once. Target: means "
    "within 1.5 points; `s.e.` is the standard error of the difference from the "
    "seed-to-seed spread.")


def fmt(value, digits: int = 1, suffix: str = "") -> str:
    return "-" if value is None else f"{value:,.{digits}f}{suffix}"


def table(head: list[str], rows: list[list]) -> list[str]:
    return ["| " + " | ".join(head) + " |", "|" + "---|" * len(head),
            *("| " + " | ".join(map(str, row)) + " |" for row in rows)]


def ok(r: dict) -> bool:
    return not r.get("skipped") and not r.get("error") and r.get("exit_code") == 0


def _why(r: dict) -> str:
    return r.get("skipped") or r.get("error") or f"exit code {r.get('exit_code')}"


def failures(records: list[dict]) -> list[str]:
    keys = ("model", "strategy", "seed", "system")
    bad = [f"- {' / '.join(str(r[k]) for k in keys if k in r) or 'all runs'}: {_why(r)}"
           for r in records if not ok(r)]
    return ["**Failed or skipped runs:**", "", *bad, ""] if bad else []


def _fastest(records: list[dict]) -> dict[tuple, dict[str, dict]]:
    """(model, strategy) -> system -> its fastest run that worked (noise only slows)."""
    best: dict[tuple, dict[str, dict]] = {}
    for r in filter(ok, records):
        systems = best.setdefault((r["model"], r["strategy"]), {})
        old = systems.get(r["system"])
        if old is None or r.get("train_samples_per_s", 0) > old.get("train_samples_per_s", 0):
            systems[r["system"]] = r
    return best


def _fewer(model_samples: dict) -> str:
    return "".join(f", {rows} for {model}" for model, rows in model_samples.items())


def _rate(value: float | None) -> str:
    return fmt(value, 1 if value is not None and value < 100 else 0)


def throughput(records: list[dict], machine: dict) -> list[str]:
    s = machine["sizes"]
    lines = ["## Training throughput", "", THROUGHPUT_SETUP.format(
        data=machine["throughput_data"], fewer=_fewer(s["model_samples"]), **s), ""]
    rows, missed = [], []
    for (model, strategy), systems in _fastest(records).items():
        rate = {k: r.get("train_samples_per_s") for k, r in systems.items()}
        ratio = {name: rate[a] / rate[b] if rate.get(a) and rate.get(b) else None
                 for name, (a, b, _) in RATIOS.items()}
        missed += [f"- {model} / {strategy}: {name} = {ratio[name]:.2f}x, target {target}x"
                   for name, (_, _, target) in RATIOS.items()
                   if target and ratio[name] is not None and ratio[name] < target]
        rows.append([model, strategy, *(_rate(rate.get(k)) for k in NAMES),
                     *(fmt(v, 2, "x") for v in ratio.values())])
    head = ["model", "strategy", *NAMES.values(), *RATIOS]
    lines += [*table(head, rows), ""]
    lines += ["**Targets missed:**", "", *missed, ""] if missed else ["All targets met.", ""]
    process = [[m, st, NAMES[k], fmt(r.get("train_s"), 2), fmt(r["process_wall_s"]),
                fmt(r.get("peak_rss_mb"), 0),
                r.get("optimizer", "-"), r.get("precision", "-")]
               for (m, st), systems in _fastest(records).items() for k, r in systems.items()]
    head = ["model", "strategy", "system", "train s", "process wall s", "peak RSS MB",
            "optimizer", "precision"]
    return [*lines, "Whole process (a fresh `python` per run, start-up included):", "",
            *table(head, process), "", *failures(records)]


def memory(records: list[dict], machine: dict) -> list[str]:
    rows = []
    for (model, strategy), systems in _fastest(records).items():
        trainable = next((r["trainable"] for r in systems.values() if r.get("trainable")), None)
        gpu = [fmt(systems.get(k, {}).get("gpu_peak_mb"), 0) for k in ("ours", "hf", "plain")]
        rows.append([model, strategy, fmt(trainable, 0),
                     fmt(trainable * 8 / 2**20 if trainable else None),
                     fmt(systems.get("ours", {}).get("peak_rss_mb"), 0), *gpu])
    head = ["model", "strategy", "trainable params", "AdamW state MB", "ours peak RSS MB",
            "ours GPU peak MB", "HF GPU peak MB", "plain GPU peak MB"]
    return ["## Memory per strategy", "",
            "AdamW keeps two fp32 states per trainable parameter, the saving BitFit and LoRA "
            "buy. Peak RSS is the whole process (`os.wait4` on that child); GPU peak is "
            "`torch.cuda.max_memory_allocated`.", "", *table(head, rows), ""]


def overhead(records: list[dict], machine: dict) -> list[str]:
    r = records[-1]
    if not ok(r) or not r["trials"]:
        return ["## Sweep overhead", "", *failures(records)]
    trials = [t for t in r["trials"] if "wall_s" in t]
    outside = mean(t["wall_s"] - t.get("train_s", 0) - t.get("eval_s", 0) for t in trials)
    between = (r["process_wall_s"] - sum(t["wall_s"] for t in trials)) / max(len(trials), 1)
    rows = [["command", f"`python train.py {' '.join(r['args'])}` (empty cache)"],
            ["trials ok / total", f"{sum(t['status'] == 'ok' for t in r['trials'])} / "
                                  f"{len(r['trials'])}"],
            ["sweep process wall", f"{r['process_wall_s']:.1f} s"],
            ["in trials, outside train/eval steps (mean)", f"{outside:.2f} s"],
            ["process start-up and between trials, / N", f"{between:.2f} s"],
            ["**overhead per trial**", f"**{outside + between:.2f} s** (target < 3 s)"],
            ["tokenizations for the whole grid", f"**{r['tokenizations']}** (target 1)"]]
    return ["## Sweep overhead", "", *table(["", ""], rows), ""]


def _parity_row(strategy: str, split: str, label: str, ours: dict, hf: dict) -> list:
    seeds = sorted(set(ours) & set(hf))  # means over the seeds both sides ran
    a, b = mean(ours[s] for s in seeds), mean(hf[s] for s in seeds)
    spread = ((stdev(ours[s] for s in seeds) ** 2 + stdev(hf[s] for s in seeds) ** 2)
              / len(seeds)) ** 0.5 if len(seeds) > 1 else None
    return [strategy, split, label, ", ".join(f"{ours[s]:.1f}" for s in seeds),
            ", ".join(f"{hf[s]:.1f}" for s in seeds),
            f"{sum(ours[s] == hf[s] for s in seeds)} of {len(seeds)}", fmt(a), fmt(b),
            fmt(a - b, 1, " pts"), fmt(spread), "yes" if abs(a - b) <= 1.5 else "**no**"]


def parity(records: list[dict], machine: dict) -> list[str]:
    s = machine["sizes"]
    lines = ["## Accuracy parity (IMDb, minilm)", "", PARITY_SETUP.format(**s), ""]
    found: dict[tuple, dict] = {}
    for r in filter(ok, records):
        for split in ("validation", "test"):
            if r.get(f"{split}_accuracy") is not None:  # float32 vs float64: rounded
                found.setdefault((r["strategy"], split, r["system"]), {})[r["seed"]] = round(
                    100 * r[f"{split}_accuracy"], 4)
    pairs = [("ours", "hf", "defaults (ours auto, HF random)"), ("ours_random", "hf", "both "
             "random"), ("ours_grouped", "hf", "ours grouped, HF random"),
             ("ours_grouped", "hf_grouped", "both grouped")]
    cells = dict.fromkeys((strategy, split) for strategy, split, _ in found)
    rows = [_parity_row(st, sp, label, found[(st, sp, a)], found[(st, sp, b)])
            for a, b, label in pairs for st, sp in cells
            if (st, sp, a) in found and (st, sp, b) in found]
    head = ["strategy", "accuracy on", "batches", "ours (per seed)", "HF Trainer (per seed)",
            "seeds equal", "ours mean", "HF mean", "difference", "s.e.", "within 1.5?"]
    return [*lines, *table(head, rows), "", *failures(records)]


METHODS_SETUP = (
    "Each PEFT method peftsweep trains, our trial against the plain loop on the same PEFT "
    "model (built by the trial's own code, so only the loop differs; AdaLoRA's rank "
    "allocator stepped by both): {data}, {rows}; max_length {max_length}, batch size "
    "{batch_size}, {epochs} epoch(s), AdamW lr {lr:g}. Train samples/s counts the training "
    "steps only; peak RSS is the whole process. Each figure is the fastest of {repeats} "
    "repeat(s). Measured on {cpu} ({cores} cores), {gpu}, started {started_at}, load average "
    "{load_low}-{load_high} before the runs, command `{command}`.")


def methods(records: list[dict], machine: dict) -> list[str]:
    s, good = machine["sizes"], [r for r in records if ok(r)]
    loads = [r["load_before"] for r in records if "load_before" in r] or [0.0]
    rows_text = ", ".join(f"{n} rows for {m}" for m, n in s["method_samples"].items()
                          if m in s["models"])
    setup = METHODS_SETUP.format(
        data=machine["throughput_data"], rows=rows_text, repeats=s["repeats"],
        cpu=machine["cpu"], cores=machine["cores"], gpu=machine.get("gpu") or "no GPU",
        started_at=machine["started_at"], load_low=min(loads), load_high=max(loads),
        command=machine["command"], **{k: s[k] for k in ("max_length", "batch_size",
                                                         "epochs", "lr")})
    rows = []
    for (model, strategy), systems in _fastest(good).items():
        ours, plain = systems.get("ours", {}), systems.get("plain", {})
        a, b = ours.get("train_samples_per_s"), plain.get("train_samples_per_s")
        rows.append([model, strategy, fmt(ours.get("trainable") or plain.get("trainable"), 0),
                     _rate(a), _rate(b), fmt(a / b if a and b else None, 2, "x"),
                     fmt(ours.get("peak_rss_mb"), 0), fmt(plain.get("peak_rss_mb"), 0),
                     fmt(ours.get("gpu_peak_mb"), 0), fmt(plain.get("gpu_peak_mb"), 0)])
    head = ["model", "method", "trainable params", "ours samples/s", "plain PEFT loop "
            "samples/s", "ours/plain", "ours peak RSS MB", "plain peak RSS MB",
            "ours GPU peak MB", "plain GPU peak MB"]
    return ["## Speed and memory per PEFT method", "", setup, "", *table(head, rows), "",
            *failures(records)]


SECTIONS = {"throughput": [throughput, memory], "overhead": [overhead], "parity": [parity],
            "methods": [methods]}
# Phases whose numbers the header's machine table describes; `methods` names its own.
HEADER_PHASES = ("throughput", "overhead", "parity")


def _header(machine: dict) -> list[str]:
    rows = [["CPU", f"{machine['cpu']} ({machine['cores']} cores, {machine['memory_gb']} GB, "
                    f"{machine['torch_threads']} torch threads)"],
            ["GPU", machine.get("gpu") or "none"],
            ["load average at start", " / ".join(map(str, machine["load_average"]))],
            ["versions", ", ".join(f"{k} {v}" for k, v in machine["versions"].items())],
            ["profile", machine["sizes"]["name"]], ["started", machine["started_at"]],
            ["command", f"`{machine['command']}`"]]
    return ["# Benchmarks", "", "Generated by `python benchmarks/run.py` (benchmarks/README.md); "
            "`python benchmarks/run.py --render OUT` renders it again from a run's JSON files.",
            "", "## Machine", "", *table(["", ""], rows), ""]


def _split(text: str) -> tuple[list[str], dict[str, list[str]]]:
    """The lines before the first section, and each ``## `` section's lines by heading."""
    lead, sections, current = [], {}, None
    for line in text.splitlines():
        if line.startswith("## "):
            current = sections.setdefault(line, [])
        (lead if current is None else current).append(line)
    return lead, sections


def _trimmed(lines: list[str]) -> list[str]:
    while lines and not lines[-1].strip():
        lines = lines[:-1]
    return lines


def render(out: Path, doc: Path) -> str:
    """Regenerate the sections of the phases OUT holds; keep every other section of
    ``doc`` (the header too, unless OUT holds a phase the header describes)."""
    machine = json.loads((out / "machine.json").read_text())
    new: dict[str, list[str]] = {}
    for phase, renderers in SECTIONS.items():
        path = out / f"{phase}.json"
        records = json.loads(path.read_text()) if path.exists() else []
        for renderer in renderers if records else []:
            _, parts = _split("\n".join(renderer(records, machine)))
            new.update(parts)
    if set(machine.get("phases") or HEADER_PHASES) & set(HEADER_PHASES):
        _, header = _split("\n".join(_header(machine)))
        new.update(header)
    old = doc.read_text() if doc.exists() else ""
    old_lead, old_sections = _split(old)
    lead = old_lead or _header(machine)[:4]
    findings = old_sections.pop(FINDINGS, None) or [FINDINGS, "", "_None yet._"]
    merged = {heading: new.pop(heading, lines) for heading, lines in old_sections.items()}
    merged.update(new)  # sections new to the document go last, before the findings
    body = [line for lines in merged.values() for line in (*_trimmed(lines), "")]
    text = "\n".join([*lead, *body, *findings]).rstrip("\n") + "\n"
    doc.write_text(text)
    return text
