"""The report's note on what the numbers show, written from the results themselves."""

from __future__ import annotations

from peftsweep.cli.report import main
from peftsweep.report import build_tables, collect
from peftsweep.report.findings import findings
from peftsweep.spec.results import write_result

from helpers import make_result

# (strategy, lr) -> test accuracy for seeds 1 and 2; validation follows test here.
TEST = {
    ("full", 1e-4): (0.95, 0.96), ("full", 1e-3): (0.50, 0.52),
    ("bitfit", 1e-4): (0.80, 0.82), ("bitfit", 1e-3): (0.94, 0.95),
    ("head", 1e-4): (0.60, 0.62), ("head", 1e-3): (0.70, 0.72),
}
TRAINABLE = {"full": None, "bitfit": 3_074, "head": 130}


def write_sweep(root):
    for index, ((strategy, lr), scores) in enumerate(TEST.items()):
        for seed, score in zip((1, 2), scores, strict=True):
            result = make_result(strategy, lr, 32, seed, val=score, test=score,
                                 trainable=TRAINABLE[strategy])
            write_result(root / f"trial{index}_{seed}", result)


def test_note_names_the_winner_the_gaps_and_the_cheap_contender(tmp_path):
    write_sweep(tmp_path)
    (paragraph,) = findings(build_tables(collect([tmp_path])))
    assert paragraph.startswith("On demo with tiny (pretrained), full fine-tuning scored best: "
                                "test accuracy 0.955 ± 0.007 over 2 seeds at lr 1e-4, with "
                                "4,386,178 trainable parameters")
    assert "BitFit: 0.945 ± 0.007 (-0.010), 3,074 trainable parameters, 0.0701% of" in paragraph
    assert "The linear probe (head only): 0.710 ± 0.014 (-0.245), 130 trainable" in paragraph
    assert "BitFit came within the seeds' spread of the best with 1,427x fewer" in paragraph
    assert "(full fine-tuning 1e-4, BitFit 1e-3, the linear probe (head only) 1e-3)" in paragraph
    assert "one seed only" not in paragraph


def test_report_leads_with_the_note(tmp_path, capsys):
    write_sweep(tmp_path)
    assert main([str(tmp_path), "--no-plots"]) == 0
    report = (tmp_path / "report" / "report.md").read_text()
    assert report.startswith("## What the numbers show\n\nOn demo with tiny (pretrained), full")
    assert "full fine-tuning scored best" in capsys.readouterr().out
