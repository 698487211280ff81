"""Peak training memory and step time per strategy, with and without gradient checkpointing (CPU).

    python benchmarks/memory.py [--model bert_base] [--batch-size 16] [--length 128]
                                [--steps 3] [--threads 2] [--strategies full,bitfit,...]

Each (strategy, checkpointing) pair runs in a fresh process, on the model's preset
shape with random weights (nothing is downloaded). The process's peak resident
memory (ru_maxrss) is read once the model exists and again after the training
steps: the difference is what training adds (gradients, optimizer state and the
activations kept for the backward pass), the quantity checkpointing trades for
recomputation. Step time is the mean over the steps after the first; samples/s is
batch size / step time. Batches are random token ids of one fixed length.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import resource
import subprocess
import sys
import time

STRATEGIES = ("full", "bitfit", "head", "lora", "ia3")


def _mib(kib: int) -> float:
    return kib / 1024  # Linux reports ru_maxrss in KiB


def measure(model_name: str, strategy: str, checkpointing: bool, batch: int, length: int,
            steps: int, threads: int) -> dict:
    import torch

    from peftsweep.compose.session import compose_config
    from peftsweep.models.backbone import build_backbone
    from peftsweep.models.checkpointing import enable_gradient_checkpointing
    from peftsweep.spec.families import FAMILIES
    from peftsweep.spec.tasks import TASKS
    from peftsweep.strategies import apply_strategy

    torch.set_num_threads(threads)
    torch.manual_seed(0)
    cfg = compose_config([f"model={model_name}", f"strategy={strategy}"])
    model_cfg = dataclasses.replace(cfg.model, pretrained=False)
    vocab = int(model_cfg.arch["vocab_size"])

    class Vocabulary:  # build_backbone reads only the size and the pad id
        pad_token_id = model_cfg.arch.get("pad_token_id", 0)

        def __len__(self) -> int:
            return vocab

    model = build_backbone(model_cfg, TASKS["imdb"], Vocabulary(), cfg.cache_dir)
    model = apply_strategy(model, cfg.strategy, FAMILIES[model_cfg.family])
    if checkpointing:
        enable_gradient_checkpointing(model)
    model.train()
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-5)
    inputs = torch.randint(5, vocab, (batch, length))
    labels = torch.randint(0, 2, (batch,))
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    times = []
    for _ in range(steps):
        started = time.perf_counter()
        loss = model(input_ids=inputs, attention_mask=torch.ones_like(inputs),
                     labels=labels).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        times.append(time.perf_counter() - started)
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    step_s = sum(times[1:]) / max(len(times) - 1, 1)
    return {"strategy": strategy, "checkpointing": checkpointing,
            "model_mib": round(_mib(before), 1),
            "training_adds_mib": round(_mib(after - before), 1),
            "step_s": round(step_s, 3), "samples_per_s": round(batch / step_s, 2)}


def _table(rows: list[dict]) -> str:
    lines = ["| strategy | checkpointing | model RSS (MiB) | training adds (MiB) | "
             "vs off | step (s) | samples/s |", "|---|---|---:|---:|---:|---:|---:|"]
    plain = {r["strategy"]: r for r in rows if not r["checkpointing"]}
    for r in rows:
        ratio = r["training_adds_mib"] / max(plain[r["strategy"]]["training_adds_mib"], 1e-9)
        lines.append(f"| {r['strategy']} | {'on' if r['checkpointing'] else 'off'} | "
                     f"{r['model_mib']:.0f} | {r['training_adds_mib']:.0f} | {ratio:.2f} | "
                     f"{r['step_s']:.2f} | {r['samples_per_s']:.1f} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="bert_base")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--length", type=int, default=128)
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--strategies", default=",".join(STRATEGIES))
    parser.add_argument("--one", nargs=2, metavar=("STRATEGY", "CHECKPOINTING"),
                        help=argparse.SUPPRESS)  # the per-process measurement
    args = parser.parse_args(argv)
    shape = (args.model, args.batch_size, args.length, args.steps, args.threads)
    if args.one:
        strategy, checkpointing = args.one[0], args.one[1] == "on"
        print(json.dumps(measure(args.model, strategy, checkpointing, *shape[1:])))
        return 0
    rows = []
    for strategy in args.strategies.split(","):
        for checkpointing in ("off", "on"):
            out = subprocess.run(
                [sys.executable, __file__, "--one", strategy, checkpointing,
                 *(f"--{k}={v}" for k, v in (("model", args.model),
                                             ("batch-size", args.batch_size),
                                             ("length", args.length), ("steps", args.steps),
                                             ("threads", args.threads)))],
                capture_output=True, text=True, check=True)
            rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
            print(f"# {strategy} checkpointing={checkpointing}: {rows[-1]}", file=sys.stderr)
    print(f"model={args.model} (random init), batch {args.batch_size} x {args.length} tokens, "
          f"{args.steps} steps, {args.threads} threads\n")
    print(_table(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
