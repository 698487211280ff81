"""Markdown tables for report.py, each built from the raw JSON records."""

from __future__ import annotations

from statistics import mean, stdev

SYSTEM_NAMES = {"ours": "ours", "ours_random": "ours, random batches", "hf": "HF Trainer",
                "hf_grouped": "HF Trainer, grouped", "plain": "plain loop"}


def fmt(value, digits: int = 1, suffix: str = "") -> str:
    if value is None:
        return "-"
    return f"{value:,.{digits}f}{suffix}"


def md_table(head: list[str], rows: list[list]) -> list[str]:
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    return lines + ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]


def _ok(record: dict) -> bool:
    return not record.get("skipped") and not record.get("error") and record.get("exit_code") == 0


def _better(new: dict, old: dict | None) -> bool:
    """Of repeated runs keep the fastest that worked (noise on a shared machine only slows)."""
    if old is None or not _ok(old):
        return True
    return _ok(new) and new.get("train_samples_per_s", 0) > old.get("train_samples_per_s", 0)


def _groups(records: list[dict]) -> dict[tuple, dict[str, dict]]:
    groups: dict[tuple, dict[str, dict]] = {}
    for record in records:
        if "model" in record:
            systems = groups.setdefault((record["model"], record["strategy"]), {})
            if _better(record, systems.get(record["system"])):
                systems[record["system"]] = record
    return groups


def throughput_rows(records: list[dict]) -> list[dict]:
    """One row per (model, strategy): samples/s of each system and ours/peer ratios."""
    rows = []
    for (model, strategy), systems in _groups(records).items():
        row = {"model": model, "strategy": strategy}
        for system, record in systems.items():
            if _ok(record):
                row[system] = record.get("train_samples_per_s")
        for peer in ("hf", "hf_grouped", "plain"):
            if row.get("ours") and row.get(peer):
                row[f"ratio_{peer}"] = row["ours"] / row[peer]
        if row.get("ours_random") and row.get("hf"):
            # Same random batches in both: the loops alone, without length grouping.
            row["ratio_random_hf"] = row["ours_random"] / row["hf"]
        rows.append(row)
    return rows


def process_table(records: list[dict]) -> list[str]:
    head = ["model", "strategy", "system", "train s", "process wall s", "start-up + setup s",
            "checkpoint writes s", "peak RSS MB", "optimizer", "precision"]
    body = []
    for r in (r for systems in _groups(records).values() for r in systems.values()):
        if not _ok(r):
            continue
        # Ours: everything but the trial's own wall; peers: everything but the timed steps.
        inner = r.get("trial_wall_s") if r["system"].startswith("ours") else r.get("train_s")
        rest = r["process_wall_s"] - inner if inner is not None else None
        optimizer = r.get("optimizer", "-")
        body.append([r["model"], r["strategy"], SYSTEM_NAMES[r["system"]], fmt(r.get("train_s"), 2),
                     fmt(r["process_wall_s"], 1), fmt(rest, 1),
                     fmt(r.get("checkpoint_save_s"), 2), fmt(r.get("peak_rss_mb"), 0),
                     optimizer, r.get("precision", "-")])
    return md_table(head, body)


def problems(records: list[dict]) -> list[str]:
    lines = []
    for r in records:
        if _ok(r):
            continue
        what = r.get("skipped") or r.get("error") or f"exit code {r.get('exit_code')}"
        name = " / ".join(str(r.get(k)) for k in ("model", "strategy", "seed", "system") if k in r)
        lines.append(f"- {name or 'all runs'}: {what}")
    return lines


def memory_table(records: list[dict]) -> list[str]:
    head = ["model", "strategy", "trainable params", "AdamW state MB", "ours peak RSS MB",
            "ours GPU peak MB", "HF GPU peak MB", "plain GPU peak MB"]
    body = []
    for (model, strategy), systems in _groups(records).items():
        ours = systems.get("ours", {})
        trainable = next((s["trainable"] for s in systems.values() if s.get("trainable")), None)
        state = trainable * 8 / 2**20 if trainable else None
        body.append([model, strategy, fmt(trainable, 0), fmt(state, 1),
                     fmt(ours.get("peak_rss_mb"), 0), fmt(ours.get("gpu_peak_mb"), 0),
                     fmt(systems.get("hf", {}).get("gpu_peak_mb"), 0),
                     fmt(systems.get("plain", {}).get("gpu_peak_mb"), 0)])
    return md_table(head, body)


# (ours side, HF side, label): the first pair is the target, each tool with its defaults.
PARITY_PAIRS = [("ours", "hf", "defaults"),
                ("ours_random", "hf", "both random"),
                ("ours_grouped", "hf", "ours grouped, HF random"),
                ("ours_grouped", "hf_grouped", "both length-grouped")]


def _defaults_label(records: list[dict], strategy: str) -> str:
    """Which order `auto` chose for our default runs (it depends on the data)."""
    orders = {r.get("batches") for r in records
              if r.get("system") == "ours" and r.get("strategy") == strategy and _ok(r)}
    orders.discard(None)
    return f"defaults: ours {'/'.join(sorted(orders))} (auto), HF random" if orders else "defaults"


def _parity_row(strategy: str, split: str, label: str, ours: dict, hf: dict) -> list:
    seeds = sorted(set(ours) & set(hf))  # means over the seeds both sides ran
    a = mean(ours[s] for s in seeds) if seeds else None
    b = mean(hf[s] for s in seeds) if seeds else None
    diff = a - b if a is not None and b is not None else None
    verdict = "-" if diff is None else ("yes" if abs(diff) <= 1.5 else
                                        f"**no** (by {abs(diff) - 1.5:.1f} points)")
    same = sum(ours[s] == hf[s] for s in seeds)
    return [strategy, split, label, ", ".join(f"{ours[s]:.1f}" for s in seeds),
            ", ".join(f"{hf[s]:.1f}" for s in seeds), f"{same} of {len(seeds)}", fmt(a), fmt(b),
            fmt(diff, 1, " pts"),
            fmt(_standard_error([ours[s] for s in seeds], [hf[s] for s in seeds]), 1), verdict]


def _standard_error(ours: list[float], hf: list[float]) -> float | None:
    """Of the difference of the two means, from the seed-to-seed spread of each side."""
    if len(ours) < 2 or len(hf) < 2:
        return None
    return (stdev(ours) ** 2 / len(ours) + stdev(hf) ** 2 / len(hf)) ** 0.5


def parity_table(records: list[dict]) -> list[str]:
    """Accuracy (%) per seed and the means, per pair of systems; selection and test rows."""
    found: dict[tuple, dict] = {}
    for r in records:
        for split in ("validation", "test"):
            value = r.get(f"{split}_accuracy")
            if _ok(r) and value is not None:
                # Rounded: ours reads float32 metrics, HF Trainer's come as float64.
                found.setdefault((r["strategy"], split, r["system"]), {})[r["seed"]] = round(
                    100 * value, 4)
    head = ["strategy", "accuracy on", "batches", "ours (per seed)", "HF Trainer (per seed)",
            "seeds equal", "ours mean", "HF mean", "difference", "its s.e.", "within 1.5?"]
    cells = dict.fromkeys((strategy, split) for strategy, split, _ in found)
    body = [_parity_row(strategy, split,
                        _defaults_label(records, strategy) if label == "defaults" else label,
                        found[(strategy, split, a)], found[(strategy, split, b)])
            for a, b, label in PARITY_PAIRS for strategy, split in cells
            if (strategy, split, a) in found and (strategy, split, b) in found]
    lines = md_table(head, body)
    bad = problems(records)
    return lines + (["", "**Failed or skipped runs:**", "", *bad] if bad else [])


def notes() -> list[str]:
    return [
        "## What is identical and what is not", "",
        "- Model, strategy (LoRA through PEFT), random init (same seed), tokenized rows (read "
        "from peftsweep's cache: one tokenization, before any timed run), batch size, "
        "max_length, epochs, AdamW groups (no decay on biases/LayerNorm), lr schedule, "
        "gradient clipping, precision (bf16-mixed on a bf16 GPU, fp32 on CPU), padding to "
        "a multiple of 8 on GPU. With random batches (ours random, and ours by default where "
        "`auto` does not group) also the batch order and the dropout draws: ours then "
        "repeats HF Trainer's run for the seed.",
        "- Each system keeps its own defaults where they are part of what is compared: "
        "ours logs to TensorBoard + CSV every 10 steps and checks the loss for NaN; HF "
        "Trainer logs every 10 steps and uses its default `adamw_torch_fused`; the plain loop "
        "does no logging and uses fused AdamW. The `optimizer` column says which ran.",
        "- Ours' train_s runs from each epoch's start (or the first batch after a "
        "validation) to the next validation or the epoch's end; validation and the checkpoint "
        "writes (best + last) fall outside it and count as per-trial overhead (column "
        "`checkpoint writes s`). The peers' clocks start at HF's "
        "`on_train_begin` (after the dataloader and optimizer exist) or at the plain loop's "
        "first batch, and stop after the last step (GPU synchronized).",
        "- Peak RSS comes from `os.wait4` on that one child process, so runs never mix.", ""]
