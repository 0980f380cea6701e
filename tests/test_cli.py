"""`--help` of every command-line entry point: what a newcomer types first.

argparse formats each help string with `%`, so a bare "60%" in a help text crashes `--help`
with a traceback (it once did in train.py). Each entry point's help is printed here and checked
for every flag it should list; the flag lists are written out below, not read from the parsers,
so a flag that disappears from the help is noticed; the description above them must be whole. `python train.py --help` also runs as a
real command, exactly as a user types it.
"""
import subprocess
import sys
from dataclasses import fields
from pathlib import Path

import pytest

import config
import data
import models
import train
from experiments import benchmark, grid, lottery, plots, rehearsal

REPO = Path(train.__file__).resolve().parent
GRID = ["--methods", "--epochs", "--teacher-epochs", "--pretrain-epochs", "--max-steps-per-epoch",
        "--jobs", "--videos-per-class", "--regime", "--first-seed", "--skd-variant",
        "--link-variant", "--quick"]
ENTRY_POINTS = {  # id: (main, argv before --help, flags its help must list)
    "train": (train.main, [], ["--" + f.name.replace("_", "-") for f in fields(config.Args)]),
    "grid": (grid.main, [], ["accuracy", "tune"]),
    "grid-accuracy": (grid.main, ["accuracy"], GRID + ["--fractions", "--seeds",
                                                       "--headline-seeds", "--headline-methods",
                                                       "--tuned-only", "--no-ablations",
                                                       "--ablation-fraction", "--set-seed",
                                                       "--tuning", "--check-on-tuning-set",
                                                       "--extra-test"]),
    "grid-tune": (grid.main, ["tune"], GRID + ["--seeds", "--set-seed"]),
    "benchmark": (benchmark.main, [], ["data", "speed", "frames", "throughput"]),
    "benchmark-data": (benchmark.main, ["data"], ["--videos", "--clips", "--rounds", "--warmup"]),
    "benchmark-speed": (benchmark.main, ["speed"], ["--rounds", "--warmup", "--summary"]),
    "benchmark-frames": (benchmark.main, ["frames"], ["--epochs", "--workers"]),
    "benchmark-throughput": (benchmark.main, ["throughput"],
                             ["--workers", "--batch", "--steps", "--warmup", "--amp", "--device",
                              "--cascade", "--clip-len", "--resize", "--crop", "--videos",
                              "--frames", "--peak-tflops"]),
    "data": (data.main, [], ["--make-synthetic", "--classes", "--videos-per-class", "--frames",
                             "--size", "--difficulty", "--seed", "--first-class", "--summary",
                             "--prepare", "--out", "--short-side", "--workers", "--root",
                             "--split-dir"]),
    "lottery": (lottery.main, [], ["--only", "--seeds", "--threads", "--portable", "--jobs",
                                   "--tag", "--data-root"]),
    "models": (models.main, [], ["ARCH"]),
    "plots": (plots.main, [], ["summary", "versus", "results", "curves"]),
    "plots-summary": (plots.main, ["summary"], ["folder"]),
    "plots-versus": (plots.main, ["versus"], ["folder", "--regime", "--set-seed"]),
    "plots-results": (plots.main, ["results"], ["folder"]),
    "plots-curves": (plots.main, ["curves"], ["run", "--out"]),
    "rehearsal": (rehearsal.main, [], ["--root", "--classes", "--train-per-class",
                                       "--test-per-class", "--frames", "--width", "--height",
                                       "--fps", "--seed", "--gen-workers", "--generate-only",
                                       "--epochs", "--max-steps-per-epoch", "--out", "--device",
                                       "--amp", "--workers", "--teacher-weights",
                                       "--label-fraction", "--clip-len", "--resize", "--crop",
                                       "--eval-clips", "--eval-crops", "--pl-clips",
                                       "--batch-size"]),
}


@pytest.mark.parametrize("name", list(ENTRY_POINTS))
def test_help_lists_every_flag(name, capsys):
    main, argv, flags = ENTRY_POINTS[name]
    with pytest.raises(SystemExit) as e:
        main(argv + ["--help"])
    assert e.value.code == 0  # argparse exits 0 after printing the help
    out = capsys.readouterr().out
    assert out.startswith("usage: ")
    missing = [f for f in flags if f not in out]
    assert not missing, f"{name} --help does not list {missing}"
    assert "%%" not in out  # an escaped percent prints as one
    if not argv:  # a whole description: train.py's once stopped mid-sentence ("..., the")
        description = out.split("\n\n")[1]
        assert description[-1] in ".)", f"{name} --help description is cut: {description!r}"


def test_train_help_as_a_command():
    """The newcomer's first command, in its own process: help on stdout, nothing on stderr."""
    p = subprocess.run([sys.executable, "train.py", "--help"], cwd=REPO, capture_output=True,
                       text=True, timeout=120)
    assert (p.returncode, p.stderr) == (0, "")
    assert "--label-fraction" in p.stdout and "60% of the steps" in p.stdout


@pytest.mark.parametrize("module", ["grid", "plots", "benchmark", "rehearsal", "lottery"])
def test_a_lab_module_run_as_a_file_says_how_to_run_it(module):
    """`python experiments/grid.py`, what a newcomer tries first: one error line naming the
    command that works (the lab runs as a package, `python -m experiments.grid`)."""
    p = subprocess.run([sys.executable, f"experiments/{module}.py", "--help"], cwd=REPO,
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 1 and p.stdout == ""
    assert p.stderr == ("error: run the lab from the repository's root as: "
                        f"python -m experiments.{module}\n")
