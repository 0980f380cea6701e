"""Smoke runs of the real `train.py` on a tiny simulated set (METHOD.md Sec. 1-8, issue 5 "Tests").

The set: 3 classes x 6 videos of 12 frames at 32 x 32 (12 training, 6 test videos), written once
per module in the HMDB51 layout and read with `--dataset hmdb51 --data-root`, the loading path of
the real data. Models are r3d10_w0.125 (0.2 M parameters), clips 4 x 24 x 24, 2 epochs of 2 steps.
Most runs call `train.main(argv)` in this process (the real code path, without 3 s of imports per
run); torchrun and one command-line check run `python train.py` itself, and the SIGKILL resume
test runs `train.main` in a process of its own that kills itself at a fixed training step.

What is checked, and against what:
- the run folder: summary.json has exactly the shape of issue 5, every number finite, accuracies
  in [0, 1], top-5 = 1 with 3 classes, the final video accuracy equal to the trace of the saved
  confusion matrix; metrics.jsonl parses line by line; split.json matches the requested fraction;
- per method, the loss terms in the training log are exactly those of Sec. 6 / 7, and the loaded
  teacher evaluates exactly as it did in the run that trained it;
- SKD's schedule in the log: phases at the steps given by the shares, the balanced substage
  sum equal to the number of active substages at its first step;
- a run killed with SIGKILL mid-epoch and resumed ends with the accuracies, pseudo-labels, weights
  and per-step losses of an uninterrupted run;
- bad arguments stop before any work with the message; a NaN loss stops with the term and step
  and leaves a checkpoint that resumes.
"""
import json
import math
import os
import re
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import torch

import cascade
import config
import data
import losses
import synthetic
import train
from cascade import S, link_phase_shares, phase_at, phase_starts
from models import build_model
from run import nan_stop_message

REPO = Path(train.__file__).resolve().parent
ARCH = "r3d10_w0.125"
CASCADE2, CASCADE3 = ",".join([ARCH] * 2), ",".join([ARCH] * 3)
EPOCHS, STEPS = 2, 2  # per model; 12 training videos / batch 4 = 3 steps, capped at 2
TINY = ["--dataset", "hmdb51", "--clip-len", "4", "--frame-stride", "1", "--resize", "32",
        "--crop-size", "24", "--eval-clips", "2", "--eval-crops", "1", "--pl-clips", "2",
        "--batch-size", "4", "--epochs", str(EPOCHS), "--max-steps-per-epoch", str(STEPS),
        "--workers", "0", "--log-every", "0", "--label-fraction", "0.5",
        "--device", "cpu"]  # the CPU even where CUDA is visible: resume is exact on the CPU
# The SKD run that the other runs share: its teacher (model 0) is their --teacher-weights, and it
# is the uninterrupted twin of the resume test. --pl-threshold 0 keeps pseudo-labels even from
# an untrained teacher, so that the pseudo-label path of the loss runs.
SKD = ["--method", "skd", "--cascade", CASCADE3, "--pl-threshold", "0",
       "--phase-shares", "1,1,1,1,1"]  # equal shares: each phase shows in a 4-step link
META = {"event", "time", "link", "epoch", "step", "phase", "clips_per_s", "epoch_mean"}  # not loss terms
SUMMARY_KEYS = {"dataset", "method", "label_fraction", "seed", "models", "pseudo_labels",
                "wall_seconds"}
MODEL_KEYS = {"role", "arch", "clip_acc", "video_acc", "video_top5", "params", "gflops"}
ACCURACIES = ("clip_acc", "video_acc", "video_top5")


def env1():
    return {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}


@pytest.fixture(scope="module")
def tiny_set(tmp_path_factory):
    root = tmp_path_factory.mktemp("tiny") / "set"
    synthetic.make_synthetic(str(root), classes=3, videos_per_class=6, frames=12, size=32,
                             difficulty=0.3, seed=0, quiet=True)
    return root


def argv(root, out, *extra):
    return TINY + ["--data-root", str(root), "--out", str(out), *map(str, extra)]


def run(root, out, *extra):
    """train.main in this process; returns the run folder."""
    train.main(argv(root, out, *extra))
    return out


@pytest.fixture(scope="module")
def skd_run(tiny_set, tmp_path_factory):
    return run(tiny_set, tmp_path_factory.mktemp("skd") / "run", *SKD)


@pytest.fixture(scope="module")
def teacher_file(skd_run):
    return skd_run / f"model0_{ARCH}.pt"


# ------------------------------------------------------------------------------- reading a run
def summary_of(out):
    return json.loads((out / "summary.json").read_text())


def metrics_of(out):
    return [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]


def train_lines(out, link=None):
    return [m for m in metrics_of(out) if m["event"] == "train" and link in (None, m["link"])]


def terms_of(line):
    return set(line) - META


def finite(x):
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


def check_run(out, method, archs, n_pseudo):
    """Everything a finished run folder must hold; returns the summary."""
    s = summary_of(out)
    assert set(s) == SUMMARY_KEYS
    assert (s["dataset"], s["method"], s["label_fraction"], s["seed"]) == ("hmdb51", method, 0.5, 0)
    assert finite(s["wall_seconds"]) and s["wall_seconds"] >= 0
    # -- models: roles in cascade order, the keys, finite numbers, fractions in [0, 1]
    roles = (["student"] if len(archs) == 1 else
             ["teacher"] + ["assistant"] * (len(archs) - 2) + ["student"])
    assert [m["role"] for m in s["models"]] == roles
    assert [m["arch"] for m in s["models"]] == archs
    n_params = sum(p.numel() for p in build_model(ARCH, 3).parameters())
    for m in s["models"]:
        assert MODEL_KEYS <= set(m)
        assert all(finite(v) for k, v in m.items() if k not in ("role", "arch")), m
        assert all(0 <= m[k] <= 1 for k in ACCURACIES), m
        assert m["video_top5"] == 1.0  # 3 classes: the top 5 hold every class
        assert m["params"] == n_params and 0 < m["gflops"] < 1
    # -- pseudo-labels: one report per refresh, before links 1.. (none without a finished model)
    pls = s["pseudo_labels"]
    assert len(pls) == n_pseudo
    assert [p["link"] for p in pls] == list(range(1, n_pseudo + 1))
    for p in pls:
        assert set(p) == {"link", "coverage", "accuracy"}
        assert finite(p["coverage"]) and 0 <= p["coverage"] <= 1
        if p["coverage"] == 0:
            assert p["accuracy"] is None  # nothing kept: no accuracy to report
        else:
            assert finite(p["accuracy"]) and 0 <= p["accuracy"] <= 1
    # -- metrics.jsonl: one JSON object per line, finite losses, ends with the summary
    lines = metrics_of(out)
    assert lines[0]["event"] == "start" and lines[-1]["event"] == "summary"
    assert lines[-1]["models"] == s["models"]
    for m in lines:
        if m["event"] == "train":
            assert all(finite(m[k]) for k in terms_of(m) | {"clips_per_s"}), m
    evals = [m for m in lines if m["event"] == "eval"]
    assert all(0 <= m[k] <= 1 for m in evals for k in ACCURACIES)
    # -- confusion.json of the final student: its trace is the video accuracy of the summary
    conf = json.loads((out / "confusion.json").read_text())
    assert conf["classes"] == sorted(synthetic.MOTIONS[:3])
    c = torch.tensor(conf["confusion"])
    assert c.shape == (3, 3) and c.sum(1).tolist() == [2, 2, 2]  # 30% of 6 test videos per class
    assert c.trace().item() / c.sum().item() == pytest.approx(s["models"][-1]["video_acc"])
    assert conf["per_class_acc"] == pytest.approx((c.diag() / c.sum(1)).tolist())
    # -- split.json: half of each class labelled (Sec. 1), the true labels kept aside
    split = json.loads((out / "split.json").read_text())
    assert len(split["labelled"]) == len(split["unlabelled"]) == 6
    assert all((g >= 0) == (i in split["labelled"]) for i, g in enumerate(split["given_labels"]))
    assert [split["true_labels"].count(k) for k in range(3)] == [4, 4, 4]
    # -- every model saved, loadable by --teacher-weights
    for j, arch in enumerate(archs):
        assert (out / f"model{j}_{arch}.pt").is_file()
    assert (out / "checkpoint.pt").is_file() and not (out / "checkpoint.pt.tmp").exists()
    return s


# ------------------------------------------------------------------------------- every method
def test_skd_cascade_run_folder_and_schedule(skd_run):
    s = check_run(skd_run, "skd", [ARCH] * 3, n_pseudo=2)
    assert s["pseudo_labels"][0]["coverage"] > 0  # --pl-threshold 0: the class cap alone selects
    # the teacher: cross-entropy only, one phase
    teacher = train_lines(skd_run, 0)
    assert len(teacher) == EPOCHS * STEPS
    assert all(terms_of(m) == {"task", "loss"} and m["phase"] == S + 1 for m in teacher)
    # each distillation link: S + 1 phases over its steps, in equal shares (SKD's flags here)
    total = EPOCHS * STEPS
    starts = [round(k * total / (S + 1)) for k in range(S + 1)]
    for link in (1, 2):
        lines = train_lines(skd_run, link)
        assert [m["step"] for m in lines] == list(range(1, total + 1))
        assert [m["phase"] for m in lines] == [phase_at(t, starts) for t in range(total)]
        for m in lines:
            k = m["phase"]
            if k <= S:  # phase k: the balanced substage losses of 1..k, nothing else
                assert terms_of(m) == {"feat", "loss"} | {f"sub{i}" for i in range(1, k + 1)}
                assert m["loss"] == m["feat"]
            else:
                assert terms_of(m) == {"task", "kd", "feat", "loss"} | {f"sub{i}" for i in
                                                                       range(1, S + 1)}
                assert m["loss"] == pytest.approx(m["task"] + m["kd"] + m["feat"], abs=2e-4)
        assert lines[0]["phase"] == 1 and lines[0]["feat"] == 1.0  # L / L at first sight (Sec. 2c)


BASELINES = {  # method -> (cascade, models trained, the method's own loss terms)
    "alone": (CASCADE2, [ARCH], set()),  # the last model of the cascade, no teacher
    "pseudo": (CASCADE2, [ARCH] * 2, set()),  # the teacher's pseudo-labels, no loss of its own
    "kd": (CASCADE2, [ARCH] * 2, {"kd"}),
    "fitnet": (CASCADE2, [ARCH] * 2, {"fitnet"}),
    "at": (CASCADE2, [ARCH] * 2, {"at"}),
    "sp": (CASCADE2, [ARCH] * 2, {"sp"}),
    "cwd": (CASCADE2, [ARCH] * 2, {"cwd"}),
    "dkd": (CASCADE2, [ARCH] * 2, {"dkd"}),
    "dist": (CASCADE2, [ARCH] * 2, {"dist"}),
    "takd": (CASCADE3, [ARCH] * 3, {"kd"}),
}


def test_every_method_is_smoke_tested():
    assert set(BASELINES) | {"skd"} == set(cascade.METHODS)


@pytest.mark.parametrize("method", sorted(BASELINES))
def test_method_smoke_run(method, tiny_set, skd_run, teacher_file, tmp_path):
    arch_list, archs, own = BASELINES[method]
    weights = [] if method == "alone" else ["--teacher-weights", teacher_file]
    out = run(tiny_set, tmp_path / "run", "--method", method, "--cascade", arch_list, *weights)
    s = check_run(out, method, archs, n_pseudo=len(archs) - 1)
    for link in range(1 if len(archs) > 1 else 0, len(archs)):  # the links trained here
        lines = train_lines(out, link)
        assert len(lines) == EPOCHS * STEPS
        assert all(terms_of(m) == {"task", "loss"} | own and m["phase"] == S + 1 for m in lines)
    if len(archs) > 1:  # a loaded teacher is not trained, and evaluates as in the run it came from
        assert train_lines(out, 0) == []
        assert {k: s["models"][0][k] for k in ACCURACIES} == \
               {k: summary_of(skd_run)["models"][0][k] for k in ACCURACIES}


# ------------------------------------------------------------------------------- SKD ablations
def test_ablation_joint_hybrid_plain_sum_no_corr_no_cascade(tiny_set, teacher_file, tmp_path):
    out = run(tiny_set, tmp_path / "run", "--method", "skd", "--cascade", CASCADE3,
              "--teacher-weights", teacher_file, "--no-cascade", "--joint", "--hybrid",
              "--plain-sum", "--no-corr")
    check_run(out, "skd", [ARCH] * 2, n_pseudo=1)  # --no-cascade: teacher -> student directly
    lines = train_lines(out, 1)
    assert len(lines) == EPOCHS * STEPS
    for m in lines:  # --joint: one phase, every term from the first step; --hybrid: + 'hyb'
        assert m["phase"] == S + 1
        assert terms_of(m) == {"task", "kd", "feat", "hyb", "loss"} | {f"sub{i}" for i in
                                                                      range(1, S + 1)}
        # --plain-sum: the raw sum of the substage losses, no balancing
        assert m["feat"] == pytest.approx(sum(m[f"sub{i}"] for i in range(1, S + 1)), abs=5e-4)
        assert m["loss"] == pytest.approx(m["task"] + m["kd"] + m["feat"] + m["hyb"], abs=5e-4)


def test_repeat_clips_gives_batches_of_r_clips_per_video_and_the_same_steps(
        tiny_set, teacher_file, tmp_path, monkeypatch):
    seen = []  # (clips, labels) of every training batch
    forward = cascade.Distiller.forward

    def spy(self, x, batch, phase, progress):
        if self.training:
            seen.append((x.shape[0], batch["labels"].tolist(), batch["pl_targets"].clone()))
        return forward(self, x, batch, phase, progress)
    monkeypatch.setattr(cascade.Distiller, "forward", spy)
    out = run(tiny_set, tmp_path / "run", "--method", "kd", "--cascade", CASCADE2,
              "--teacher-weights", teacher_file, "--repeat-clips", "2")
    check_run(out, "kd", [ARCH] * 2, n_pseudo=1)
    assert len(train_lines(out, 1)) == EPOCHS * STEPS  # the same steps as with one clip each
    assert len(seen) == EPOCHS * STEPS
    for clips_in_batch, labels, targets in seen:  # 4 clips: 2 videos x 2 clips, side by side
        assert clips_in_batch == 4
        assert labels[0::2] == labels[1::2] and torch.equal(targets[0::2], targets[1::2])


def test_ablation_no_fdist_no_pseudo(tiny_set, teacher_file, tmp_path):
    out = run(tiny_set, tmp_path / "run", "--method", "skd", "--cascade", CASCADE2,
              "--teacher-weights", teacher_file, "--no-fdist", "--no-pseudo")
    check_run(out, "skd", [ARCH] * 2, n_pseudo=0)
    assert not any(m["event"] == "pseudo_labels" for m in metrics_of(out))
    total = EPOCHS * STEPS
    shares = link_phase_shares(EPOCHS, config.Args().phase_epochs, config.Args().phase_shares)
    assert [m["phase"] for m in train_lines(out, 1)] == [phase_at(t, phase_starts(total, shares))
                                                         for t in range(total)]


def test_ablation_correct_labels_with_noise(tiny_set, teacher_file, tmp_path):
    out = run(tiny_set, tmp_path / "run", "--method", "skd", "--cascade", CASCADE2,
              "--teacher-weights", teacher_file, "--correct-labels", "--label-noise", "0.2")
    check_run(out, "skd", [ARCH] * 2, n_pseudo=1)
    split = json.loads((out / "split.json").read_text())
    assert len(split["noisy"]) == round(0.2 * 6)  # 20% of the 6 labelled videos
    assert all(split["given_labels"][i] != split["true_labels"][i] for i in split["noisy"])
    report = next(m for m in metrics_of(out) if m["event"] == "pseudo_labels")
    assert report["correction"] is True
    assert 0 <= report["corrected_right"] <= report["corrected"] <= 6


# ------------------------------------------------------------------------------- resume
# The killed run: `train.main` in a process of its own that SIGKILLs itself at the start of a
# given training step, so that the kill lands at the same point on every machine, however busy.
KILL_AT_STEP = """
import os, signal, sys
sys.path.insert(0, sys.argv[1])
import cascade, train
steps, forward = [], cascade.Distiller.forward
def forward_or_die(self, *args, **kwargs):  # one call per training step, over every link
    steps.append(1)
    if len(steps) == int(sys.argv[2]):
        os.kill(os.getpid(), signal.SIGKILL)
    return forward(self, *args, **kwargs)
cascade.Distiller.forward = forward_or_die
train.main(sys.argv[3:])
"""


def test_extra_test_videos_change_the_test_split_not_the_training(skd_run, tmp_path):
    """The grid's reported sets add test videos (synthetic extra_test): every weight and every
    pseudo-label of an SKD cascade stays bit for bit that of the set without them; only the
    accuracies, now over more test videos, may differ."""
    root = tmp_path / "set"
    synthetic.make_synthetic(str(root), classes=3, videos_per_class=6, frames=12, size=32,
                             difficulty=0.3, seed=0, extra_test=2, quiet=True)  # tiny_set's twin
    out = run(root, tmp_path / "run", *SKD)
    assert summary_of(out)["pseudo_labels"] == summary_of(skd_run)["pseudo_labels"]
    for j in range(3):
        a = torch.load(skd_run / f"model{j}_{ARCH}.pt", weights_only=True)
        b = torch.load(out / f"model{j}_{ARCH}.pt", weights_only=True)
        assert all(torch.equal(a[k], b[k]) for k in a), j
    test = data.load_dataset("hmdb51", str(root), 1, workers=1)[1]
    assert len(test) == 3 * (2 + 2)  # 30% of 6 and the 2 extra, per class
    for m in summary_of(out)["models"]:  # accuracies over the 12 test videos
        assert abs(m["video_acc"] * 12 - round(m["video_acc"] * 12)) < 1e-6


def test_sigkill_mid_epoch_then_resume_equals_an_uninterrupted_run(tiny_set, skd_run, tmp_path):
    out = tmp_path / "run"
    # Killed at step 2 of epoch 2 of link 1: link 0 took EPOCHS x STEPS steps, link 1 one epoch
    # and one step, so the checkpoint on disk is link 1's epoch 1 and the run is past it.
    kill_at = EPOCHS * STEPS + STEPS + 2
    cmd = [sys.executable, "-c", KILL_AT_STEP, str(REPO), str(kill_at), *argv(tiny_set, out, *SKD)]
    p = subprocess.run(cmd, cwd=REPO, env=env1(), capture_output=True, text=True, timeout=600)
    assert p.returncode == -signal.SIGKILL, p.stdout + p.stderr
    assert not (out / "summary.json").exists()
    state = torch.load(out / "checkpoint.pt", map_location="cpu", weights_only=True)  # as --resume
    assert (state["link"], state["epoch"]) == (1, 1)  # mid-cascade, one epoch into link 1
    trained = [(m["link"], m["epoch"]) for m in train_lines(out)]
    assert trained[-1] == (1, 2) and len(trained) == kill_at - 1  # one line per step (log-every 0)

    run(tiny_set, out, *SKD, "--resume")

    ref, got = summary_of(skd_run), summary_of(out)
    assert [{k: m[k] for k in ACCURACIES} for m in got["models"]] == \
           [{k: m[k] for k in ACCURACIES} for m in ref["models"]]
    assert got["pseudo_labels"] == ref["pseudo_labels"]
    # the same weights, bit for bit, and the same loss at every step trained after the resume
    for j in range(3):
        a = torch.load(skd_run / f"model{j}_{ARCH}.pt", weights_only=True)
        b = torch.load(out / f"model{j}_{ARCH}.pt", weights_only=True)
        assert all(torch.equal(a[k], b[k]) for k in a), j
    lines = metrics_of(out)
    resumed_at = next(i for i, m in enumerate(lines) if m["event"] == "resume")
    after = [m for m in lines[resumed_at:] if m["event"] == "train"]
    assert after and all(m["link"] >= 1 for m in after)  # the teacher was not trained again
    ref_steps = {(m["link"], m["step"]): m for m in train_lines(skd_run)}
    for m in after:
        r = ref_steps[(m["link"], m["step"])]
        assert {k: m[k] for k in terms_of(m)} == {k: r[k] for k in terms_of(r)}, (m, r)


def test_resume_a_run_folder_moved_elsewhere(tiny_set, skd_run, tmp_path):
    """A finished run copied to another folder (another disk, another machine) resumes there:
    nothing is left to train, and the summary is written again, identical."""
    out = tmp_path / "moved"
    out.mkdir()
    for name in ("checkpoint.pt", "split.json"):
        shutil.copy(skd_run / name, out / name)
    run(tiny_set, out, *SKD, "--resume")
    got, ref = summary_of(out), summary_of(skd_run)
    assert [{k: m[k] for k in ACCURACIES} for m in got["models"]] == \
           [{k: m[k] for k in ACCURACIES} for m in ref["models"]]
    assert got["pseudo_labels"] == ref["pseudo_labels"]
    assert train_lines(out) == []


# ------------------------------------------------------------------------------- DDP
def test_torchrun_two_cpu_processes_write_one_summary(tiny_set, teacher_file, tmp_path):
    out = tmp_path / "ddp"
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node=2", "--standalone",
           "train.py", *argv(tiny_set, out, "--method", "kd", "--cascade", CASCADE2,
                             "--teacher-weights", teacher_file)]
    p = subprocess.run(cmd, cwd=REPO, env=env1(), capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stdout[-3000:] + p.stderr[-3000:]
    assert [f.relative_to(tmp_path) for f in tmp_path.rglob("summary.json")] == \
           [Path("ddp/summary.json")]
    check_run(out, "kd", [ARCH] * 2, n_pseudo=1)
    lines = metrics_of(out)
    assert [m["event"] for m in lines].count("start") == 1  # only rank 0 writes
    assert "x 2" in p.stdout  # the start line names the two processes
    # each process trains its half of the videos: 12 / 2 per process / batch 4 = 2 steps
    assert len(train_lines(out, 1)) == EPOCHS * STEPS


# ------------------------------------------------------------------------------- bad arguments
def fails(root, out, *extra, ok_files=()):
    """Run and expect an exit with a message before any training; returns the message. The
    run folder gains no checkpoint or model (`ok_files`: those the test put there itself)."""
    before = {f: (Path(out) / f).read_bytes() for f in ok_files}
    with pytest.raises(SystemExit) as e:
        run(root, out, *extra)
    msg = str(e.value.code)
    assert e.value.code not in (0, None) and msg.startswith("error: "), msg
    assert {f: (Path(out) / f).read_bytes() for f in ok_files} == before  # left as they were
    if "checkpoint.pt" not in ok_files:
        assert not (Path(out) / "checkpoint.pt").exists()
    assert not list(Path(out).glob("model*.pt"))
    return msg


@pytest.mark.parametrize("extra, expected", [
    (["--dataset", "kinetics"], ["unknown dataset 'kinetics'", "hmdb51", "ucf101", "synthetic"]),
    (["--cascade", f"{ARCH},resnet50"], ["resnet50", "<kind><depth>[_w<width>]", "r3d", "mc3",
                                          "r2plus1d"]),
    (["--label-fraction", "0"], ["--label-fraction", "(0, 1]", "0.0"]),
    (["--label-fraction", "1.5"], ["--label-fraction", "(0, 1]", "1.5"]),
    (["--epochs", "-1"], ["--epochs", ">= 0", "-1"]),
    (["--method", "kd", "--cascade", ARCH], ["--method kd", "at least 2 models", "alone"]),
    (["--method", "pseudo", "--cascade", ARCH], ["--method pseudo", "at least 2 models"]),
    (["--method", "ce"], ["--method ce", "'pseudo'", "'alone'"]),  # the name before 'pseudo' 
    (["--resume"], ["--resume", "no checkpoint"]),
    (["--no-corr", "--no-fdist"], ["--no-corr", "--no-fdist"]),
    (["--phase-shares", "1,1,1,1"], ["--phase-shares", "5"]),
    (["--phase-shares", "0,0,0,0,0"], ["--phase-shares"]),  # no step in any phase
    (["--phase-epochs", "0"], ["--phase-epochs", "> 0"]),
    (["--repeat-clips", "3"], ["--repeat-clips", "divide", "--batch-size (4)"]),
    (["--amp"], ["--amp", "bf16", "CPU", "CUDA"]),  # TINY runs on --device cpu
    (["--at-substages", "1,5"], ["--at-substages", "1..4", "1,5"]),  # a method's own check
    (["--fitnet-weight", "-1"], ["--fitnet-weight", ">= 0", "-1"]),  # a method's own weight
    (["--lr", "-1"], ["--lr", "> 0", "-1"]),  # once torch's ValueError traceback
    (["--tau", "0"], ["--tau", "> 0"]),
    (["--lambda-kd", "nan"], ["--lambda-kd", ">= 0", "nan"]),
    (["--pl-threshold", "2"], ["--pl-threshold", "[0, 1]", "2.0"]),
    (["--pretrain-on", "kinetics"], ["--pretrain-on", "same-motions", "kinetics"]),
], ids=["dataset", "arch", "fraction-0", "fraction-1.5", "epochs", "kd-one-model",
         "pseudo-one-model", "ce-renamed",
        "resume-nothing", "skd-no-loss", "shares-4", "shares-0", "phase-epochs-0",
        "repeat-3-of-4", "amp-on-cpu", "at-substages", "fitnet-weight", "lr", "tau",
        "lambda-nan", "pl-threshold", "pretrain-on"])
def test_bad_arguments_fail_before_any_work(extra, expected, tiny_set, tmp_path):
    out = tmp_path / "run"
    msg = fails(tiny_set, out, *(["--method", "skd", "--cascade", CASCADE2] + extra))
    assert "\n" not in msg  # one line
    assert all(e in msg for e in expected), msg
    assert not out.exists()  # checked before the run folder is made


def test_missing_data_root_gives_the_layout(tiny_set, tmp_path):
    root = tmp_path / "no_such_hmdb51"
    msg = fails(root, tmp_path / "run", "--method", "skd", "--cascade", CASCADE2)
    assert "hmdb51" in msg and "does not exist" in msg and str(root) in msg
    assert "Expected layout" in msg and "testTrainMulti_7030_splits" in msg
    assert "serre-lab" in msg  # where the official archives are


def test_second_run_into_a_folder_with_a_checkpoint_needs_resume(tiny_set, tmp_path):
    out = tmp_path / "run"
    out.mkdir()
    (out / "checkpoint.pt").write_bytes(b"an earlier run")
    with pytest.raises(SystemExit) as e:
        run(tiny_set, out, "--method", "skd", "--cascade", CASCADE2)
    msg = str(e.value.code)
    assert msg.startswith("error: ") and "\n" not in msg
    assert "--resume" in msg and str(out) in msg
    assert (out / "checkpoint.pt").read_bytes() == b"an earlier run"  # nothing overwritten
    assert sorted(p.name for p in out.iterdir()) == ["checkpoint.pt"]


def test_resume_with_another_config_lists_the_differences(tiny_set, skd_run, tmp_path):
    out = tmp_path / "run"
    out.mkdir()
    shutil.copy(skd_run / "checkpoint.pt", out / "checkpoint.pt")
    before = (out / "checkpoint.pt").read_bytes()
    with pytest.raises(SystemExit) as e:
        run(tiny_set, out, *SKD, "--resume", "--lr", "0.02", "--tau", "2")
    msg = str(e.value.code)
    assert msg.startswith("error: ") and "\n" not in msg, msg
    assert "lr: 0.01 vs 0.02" in msg and "tau: 4.0 vs 2.0" in msg
    assert "log_every" not in msg and "workers" not in msg  # allowed to change
    assert (out / "checkpoint.pt").read_bytes() == before
    assert not list(out.glob("model*.pt")) and not (out / "summary.json").exists()


def test_command_line_error_is_one_line_on_stderr(tmp_path):
    p = subprocess.run([sys.executable, "train.py", "--dataset", "kinetics", "--out",
                        str(tmp_path / "run")], cwd=REPO, env=env1(), capture_output=True,
                       text=True, timeout=120)
    assert p.returncode == 1
    assert p.stdout == ""
    assert p.stderr.strip().splitlines() == [p.stderr.strip()]
    assert p.stderr.startswith("error: unknown dataset 'kinetics'")
    assert not (tmp_path / "run").exists()


# ------------------------------------------------------------------------------- NaN
def test_nan_loss_stops_with_term_and_step_and_the_checkpoint_resumes(tiny_set, teacher_file,
                                                                       tmp_path, monkeypatch):
    calls = []
    real_kd = cascade.kd_loss

    def kd_nan_from_step_3(z_s, z_t, tau=4.0):
        calls.append(1)
        value = real_kd(z_s, z_t, tau)
        return value * float("nan") if len(calls) >= EPOCHS * STEPS - 1 else value

    monkeypatch.setattr(cascade, "kd_loss", kd_nan_from_step_3)
    out = tmp_path / "run"
    extra = ["--method", "kd", "--cascade", CASCADE2, "--teacher-weights", teacher_file]
    with pytest.raises(SystemExit) as e:
        run(tiny_set, out, *extra)
    msg = str(e.value.code)
    assert msg.startswith("error: "), msg
    assert re.search(r"'kd' is nan .*epoch 2, step 3\b", msg), msg
    assert "lower --lr" in msg and "autocast" not in msg  # no --amp: autocast is not a suspect
    assert len(calls) == 3  # stopped at the first bad step
    assert not (out / "summary.json").exists()
    # the checkpoint of epoch 1 is intact: it loads, holds finite weights, and resumes
    state = torch.load(out / "checkpoint.pt", map_location="cpu", weights_only=True)  # as --resume
    assert (state["link"], state["epoch"]) == (1, 1)
    assert all(torch.isfinite(v).all() for v in state["distiller"].values()
               if v.is_floating_point())
    assert not (out / "checkpoint.pt.tmp").exists()
    monkeypatch.setattr(cascade, "kd_loss", real_kd)
    run(tiny_set, out, *extra, "--resume")
    check_run(out, "kd", [ARCH] * 2, n_pseudo=1)


def test_nan_stop_under_amp_names_autocast_first():
    terms = dict(loss=torch.tensor(float("nan")), task=torch.tensor(1.0), kd=torch.tensor(float("inf")))
    msg = nan_stop_message(terms, "student r3d10, epoch 1, step 5", "run/checkpoint.pt", True)
    assert msg.startswith("error: loss term 'loss' is nan at student r3d10, epoch 1, step 5")
    assert "\n" not in msg and "run/checkpoint.pt" in msg
    assert "--amp" in msg and "autocast" in msg and "without --amp" in msg
    assert msg.index("autocast") < msg.index("lower --lr")  # autocast first, the lr second


# ------------------------------------------------------------------------------- damaged files
# Every file a user hands to train.py, damaged or of the wrong kind, stops it with one `error:`
# line that names the file, what is wrong and what to do, before any training work.

class Payload:
    """Unpickling this creates the file `path`: a stand-in for code hidden in a checkpoint."""

    def __init__(self, path):
        self.path = str(path)

    def __reduce__(self):
        return open, (self.path, "w")


def copy_run(src, dst, names=("checkpoint.pt", "split.json")):
    dst.mkdir()
    for name in names:
        shutil.copy(src / name, dst / name)
    return dst


def test_truncated_checkpoint_names_the_file_and_the_finished_models(tiny_set, skd_run, tmp_path):
    """A checkpoint.pt cut short (a full disk, a partial copy), killed after link 0: --resume says
    which file is damaged and how to go on from the finished teacher; that advice works."""
    out = copy_run(skd_run, tmp_path / "run", ("split.json", f"model0_{ARCH}.pt"))
    whole = (skd_run / "checkpoint.pt").read_bytes()
    (out / "checkpoint.pt").write_bytes(whole[:len(whole) // 2])
    p = subprocess.run([sys.executable, "train.py", *argv(tiny_set, out, *SKD, "--resume")],
                       cwd=REPO, env=env1(), capture_output=True, text=True, timeout=300)
    assert p.returncode == 1 and "Traceback" not in p.stderr
    msg = p.stderr.strip()
    assert msg.splitlines() == [msg] and msg.startswith("error: "), p.stderr
    assert f"{out / 'checkpoint.pt'} is damaged" in msg and "cannot resume" in msg
    # the advice: a new run from the finished teacher, with the same split
    advice = re.search(r"--teacher-weights (\S+) --split (\S+) --out", msg)
    assert advice and advice[1] == str(out / f"model0_{ARCH}.pt"), msg
    assert advice[2] == str(out / "split.json")
    new = run(tiny_set, tmp_path / "new", *SKD, "--teacher-weights", advice[1], "--split",
              advice[2])
    assert train_lines(new, 0) == []  # the teacher is loaded, not trained again
    assert summary_of(new)["models"][0]["video_acc"] == summary_of(skd_run)["models"][0]["video_acc"]


@pytest.mark.parametrize("content", ["other", "list", "keys"])
def test_checkpoint_that_is_no_resume_state_is_refused(content, tiny_set, skd_run, tmp_path):
    out = copy_run(skd_run, tmp_path / "run", ("split.json",))
    state = torch.load(skd_run / "checkpoint.pt", weights_only=True)
    bad = {"other": {"weights": torch.zeros(2)}, "list": [1, 2],
           "keys": {k: v for k, v in state.items() if k != "config"}}[content]
    torch.save(bad, out / "checkpoint.pt")
    msg = fails(tiny_set, out, *SKD, "--resume", ok_files=("checkpoint.pt",))
    assert "\n" not in msg and str(out / "checkpoint.pt") in msg
    assert "not a resume state of train.py" in msg and "run without --resume" in msg


def test_checkpoint_with_a_pickled_object_is_refused_unrun(tiny_set, skd_run, tmp_path):
    """--resume reads checkpoint.pt with weights_only=True: an object pickled into it is not
    built (its code does not run) and the run stops naming the file."""
    out = copy_run(skd_run, tmp_path / "run", ("split.json",))
    marker = tmp_path / "code_ran"
    state = torch.load(skd_run / "checkpoint.pt", weights_only=True)
    torch.save({**state, "pseudo": Payload(marker)}, out / "checkpoint.pt")
    msg = fails(tiny_set, out, *SKD, "--resume", ok_files=("checkpoint.pt",))
    assert not marker.exists()  # the payload never ran
    assert "\n" not in msg and str(out / "checkpoint.pt") in msg
    assert "pickled Python object" in msg and "could run code" in msg


@pytest.mark.parametrize("kind", ["text", "truncated", "pickled", "no-tensors", "other-arch"])
def test_bad_teacher_weights_are_one_line_before_any_training(kind, tiny_set, teacher_file,
                                                              tmp_path):
    weights = tmp_path / "weights.pt"
    whole = teacher_file.read_bytes()
    if kind == "text":
        weights.write_text("these are not weights\n")
    elif kind == "truncated":
        weights.write_bytes(whole[:len(whole) // 3])
    elif kind == "pickled":
        torch.save({"fc.weight": Payload(tmp_path / "code_ran")}, weights)
    elif kind == "no-tensors":
        torch.save({"epoch": 3, "lr": 0.1}, weights)
    else:
        torch.save(build_model("r3d10_w0.25", 3).state_dict(), weights)
    # model 0 loaded fine, model 1 bad: the check comes before link 0 is even evaluated
    msg = fails(tiny_set, tmp_path / "run", *SKD, "--teacher-weights", f"{teacher_file},{weights}")
    assert "\n" not in msg and msg.startswith("error: --teacher-weights: ") and str(weights) in msg
    assert "weights_only" not in msg  # torch's advice would point at the wrong fix
    assert not (tmp_path / "code_ran").exists()
    expected = {"text": "damaged or is not a file written by torch.save",
                "truncated": "damaged or is not a file written by torch.save",
                "pickled": "pickled Python object", "no-tensors": "holds no state_dict",
                "other-arch": f"tensors do not fit {ARCH}"}[kind]
    assert expected in msg and f"weights of {ARCH}" in msg, msg
    assert not (tmp_path / "run" / "metrics.jsonl").exists()  # stopped before the run started


@pytest.mark.parametrize("damaged", ["teacher-weights", "checkpoint"])
def test_damaged_files_stop_the_run_before_the_data_is_made(damaged, tmp_path):
    """The files a user gives are read first: a damaged one stops the run in seconds, before the
    simulated set is generated (or a real one read) or a teacher pretrained."""
    root, out, bad = tmp_path / "not_made_yet", tmp_path / "run", tmp_path / "bad.pt"
    bad.write_text("these are not weights\n")
    extra = ["--teacher-weights", bad]
    if damaged == "checkpoint":
        out.mkdir()
        shutil.copy(bad, out / "checkpoint.pt")
        extra = ["--resume"]
    with pytest.raises(SystemExit) as e:  # the simulated set: made on first use, at --data-root
        run(root, out, *SKD, *extra, "--dataset", "synthetic")
    assert str(e.value.code).startswith("error: ") and "damaged" in str(e.value.code)
    assert not root.exists() and not (out / "metrics.jsonl").exists()


def test_train_py_teacher_weights_of_another_architecture_has_no_traceback(tiny_set, tmp_path):
    weights = tmp_path / "r3d10_w0.25.pt"
    torch.save(build_model("r3d10_w0.25", 3).state_dict(), weights)
    p = subprocess.run([sys.executable, "train.py", *argv(tiny_set, tmp_path / "run", "--method",
                                                          "kd", "--cascade", CASCADE2,
                                                          "--teacher-weights", weights)],
                       cwd=REPO, env=env1(), capture_output=True, text=True, timeout=300)
    msg = p.stderr.strip()
    assert p.returncode == 1 and msg.splitlines() == [msg], p.stderr
    assert msg.startswith(f"error: --teacher-weights: {weights}: ") and "do not fit" in msg


@pytest.mark.parametrize("kind", ["missing", "cut-short", "not-a-split", "bad-labels",
                                  "other-videos", "fewer-videos"])
def test_bad_split_file_is_one_line(kind, tiny_set, skd_run, tmp_path):
    split = tmp_path / "split.json"
    text = (skd_run / "split.json").read_text()
    good = json.loads(text)
    if kind == "cut-short":
        split.write_text(text[:len(text) // 2])
    elif kind == "not-a-split":
        split.write_text(json.dumps({"labels": [0, 1]}))
    elif kind == "bad-labels":
        split.write_text(json.dumps({**good, "given_labels": [7] * len(good["given_labels"])}))
    elif kind == "other-videos":
        split.write_text(json.dumps({**good, "videos": "0123456789abcdef"}))
    elif kind == "fewer-videos":
        split.write_text(json.dumps({**good, "given_labels": good["given_labels"][:-1]}))
    msg = fails(tiny_set, tmp_path / "run", *SKD, "--split", split)
    assert "\n" not in msg and str(split) in msg, msg
    assert {"missing": "--split: no such file", "cut-short": "damaged or is not JSON",
            "not-a-split": "not a split file of train.py", "bad-labels": "class indices -1..2",
            "other-videos": "another list of training videos",
            "fewer-videos": "another list of training videos"}[kind] in msg
    assert not (tmp_path / "run" / "metrics.jsonl").exists()  # stopped before the run started


@pytest.mark.parametrize("kind", ["root-is-a-file", "damaged-synthetic-json"])
def test_bad_simulated_set_root_is_one_line(kind, tmp_path):
    root = tmp_path / "sim"
    if kind == "root-is-a-file":
        root.write_text("not a folder")
        says = "is a file, not a folder"
    else:
        root.mkdir()
        (root / "synthetic.json").write_text('{"classes": 3, "vid')  # cut short
        says = "synthetic.json is damaged"
    flags = [a for a in TINY if a not in ("--dataset", "hmdb51", "--data-root")]
    for pretrain in ("0", "1"):  # read by the teacher's pretraining, or by the data loading
        with pytest.raises(SystemExit) as e:
            train.main(flags + ["--dataset", "synthetic", "--data-root", str(root), "--method",
                                "kd", "--cascade", CASCADE2, "--pretrain-epochs", pretrain,
                                "--out", str(tmp_path / f"run{pretrain}")])
        msg = str(e.value.code)
        assert msg.startswith("error: ") and "\n" not in msg and str(root) in msg, msg
        assert says in msg and "--data-root" in msg, msg


# ------------------------------------------------------------------------------- epoch means
def test_epoch_mean_of_every_term_and_task_at_chance(skd_run):
    """The last training line of every epoch holds each term's mean over the epoch's steps that
    had it, and `chance`: the task loss a uniform guess would get on the same batches, ln K on
    the labels plus mean(c) ln K on the kept pseudo-labels (losses.task_chance)."""
    for link in (0, 1, 2):
        lines = train_lines(skd_run, link)
        for epoch in range(1, EPOCHS + 1):
            mine = [m for m in lines if m["epoch"] == epoch]
            assert len(mine) == STEPS  # --log-every 0: every step is logged
            assert all("epoch_mean" not in m for m in mine[:-1])
            means = mine[-1]["epoch_mean"]
            had = set().union(*(terms_of(m) for m in mine))
            assert set(means) == had | ({"chance"} if "task" in had else set())
            for k in had:
                values = [m[k] for m in mine if k in m]
                assert means[k] == pytest.approx(sum(values) / len(values), abs=2e-4)
            if "task" in had:  # pseudo-labels on: above ln K, at most 2 ln K
                assert math.log(3) - 1e-4 <= means["chance"] <= 2 * math.log(3) + 1e-4
    K = 3
    uniform = dict(labels=torch.tensor([2, -1, -1, 0]), pl_keep=torch.tensor([False, True, True,
                                                                              False]),
                   pl_weights=torch.tensor([0.0, 0.9, 0.5, 0.0]))
    assert losses.task_chance(uniform, K).item() == pytest.approx(math.log(K) * (1 + 0.7))
    no_labels = dict(uniform, labels=torch.full((4,), -1))
    assert losses.task_chance(no_labels, K).item() == pytest.approx(math.log(K) * 0.7)
    # against the loss itself: uniform logits give exactly that task loss
    from losses import ce_loss, soft_ce_loss
    z = torch.zeros(4, K)
    q = torch.full((4, K), 1 / K)
    task = ce_loss(z, uniform["labels"].clamp(min=0), uniform["labels"] >= 0) + soft_ce_loss(
        z, q, uniform["pl_weights"], uniform["pl_keep"])
    assert task.item() == pytest.approx(losses.task_chance(uniform, K).item(), rel=1e-6)


# ------------------------------------------------------------------------------- the simulated teacher
def test_simulated_teacher_is_pretrained_once_on_the_other_motions(tmp_path, monkeypatch):
    """Sec. 9: with --dataset synthetic and no --teacher-weights, the teacher starts from a model
    trained once, with all labels, on a twin set of the other motions; the pretraining is cached
    under its key (reused across seeds, trained again for other settings)."""
    monkeypatch.chdir(tmp_path)  # runs/ is relative to the working directory
    root = tmp_path / "sim"
    synthetic.make_synthetic(str(root), classes=3, videos_per_class=4, frames=12, size=32,
                             difficulty=0.3, seed=0, quiet=True)
    flags = [a for a in TINY if a not in ("--dataset", "hmdb51")]
    common = ["--dataset", "synthetic", "--data-root", str(root), "--pretrain-epochs", "1",
              "--method", "kd", "--cascade", CASCADE2, *flags]
    train.main(common + ["--out", str(tmp_path / "a")])
    with open(tmp_path / "sim_twin" / "synthetic.json") as f:
        twin = json.load(f)
    assert twin["first_class"] == 3 and twin["classes"] == 3  # motions 3..5: none of the set's
    assert twin["videos_per_class"] == synthetic.TWIN_SCALE * 4  # a larger source set
    pretrain_log = next((tmp_path / "runs").glob("pretrain_*")) / "metrics.jsonl"
    config_of = json.loads(pretrain_log.read_text().splitlines()[0])["config"]
    # its own recipe (the preset's optimizer and batch, --pretrain-lr); the run's clips
    assert (config_of["lr"], config_of["optimizer"]) == (data.DATASETS["synthetic"]["pretrain_lr"],
                                                         data.DATASETS["synthetic"]["optimizer"])
    assert config_of["batch_size"] == data.DATASETS["synthetic"]["batch_size"]
    assert (config_of["clip_len"], config_of["crop_size"]) == (4, 24)
    pretrain = list((tmp_path / "runs").glob("pretrain_*"))
    assert len(pretrain) == 1 and (pretrain[0] / f"backbone_{ARCH}.pt").is_file()
    backbone = torch.load(pretrain[0] / f"backbone_{ARCH}.pt", weights_only=True)
    assert not any(k.startswith("fc.") for k in backbone)  # the other motions' classifier is gone
    events = metrics_of(tmp_path / "a")
    loaded = next(e for e in events if e["event"] == "weights")
    assert loaded["report"]["missing"] == 2  # fc.weight, fc.bias: a new last layer
    assert events[0]["config"]["teacher_weights"].endswith(f"backbone_{ARCH}.pt")
    assert train_lines(tmp_path / "a", 0)  # the teacher is fine-tuned on D_L, then distilled
    stamp = (pretrain[0] / "summary.json").stat().st_mtime_ns

    train.main(common + ["--seed", "1", "--out", str(tmp_path / "b")])  # another seed: reused
    assert list((tmp_path / "runs").glob("pretrain_*")) == pretrain
    assert (pretrain[0] / "summary.json").stat().st_mtime_ns == stamp
    train.main(common + ["--lr", "0.02", "--out", str(tmp_path / "c")])  # the run's lr: reused
    assert list((tmp_path / "runs").glob("pretrain_*")) == pretrain  # (its own recipe)
    train.main(common + ["--pretrain-lr", "0.02", "--out", str(tmp_path / "d")])  # retrained
    assert len(list((tmp_path / "runs").glob("pretrain_*"))) == 2


@pytest.mark.parametrize("classes, flag", [(7, []), (3, ["--pretrain-on", "same-motions"])])
def test_pretraining_on_the_same_motions_in_the_other_look(classes, flag, tmp_path):
    """Regime d: --pretrain-on same-motions, or a set of more than half the motions (no disjoint
    set is left), pretrains the teacher on the same motions in the other look and another seed:
    classes in common, no video and no look (as Kinetics-400 holds most of HMDB51's actions)."""
    root = tmp_path / "sim"
    synthetic.make_synthetic(str(root), classes=classes, videos_per_class=4, frames=4, size=16,
                             seed=3, first_class=2, difficulty=0.4, motion=0.5, quiet=True)
    a = config.parse_args(["--dataset", "synthetic", "--data-root", str(root), "--out",
                           os.devnull] + flag)
    argv, line = train.pretraining_argv(a)
    twin = synthetic.read_params(str(tmp_path / "sim_twin_same"))
    assert (twin["first_class"], twin["classes"]) == (2, classes)  # the same motions
    assert (twin["look"], twin["seed"]) == (1, 1003)  # another look, another seed
    assert (twin["difficulty"], twin["motion"]) == (0.1, 1.0)  # clean, at full motion
    assert twin["videos_per_class"] == synthetic.TWIN_SCALE * 4 and "look 1" in line
    assert argv[argv.index("--data-root") + 1] == str(tmp_path / "sim_twin_same")
    assert not (tmp_path / "sim_twin").exists()
    if classes > 6:  # no disjoint set: other-motions is refused in one line
        a.pretrain_on = "other-motions"
        with pytest.raises(SystemExit) as e:
            train.pretraining_argv(a)
        assert str(e.value).startswith("error: --pretrain-on other-motions") and "\n" not in str(
            e.value)


def test_a_twin_set_of_other_parameters_is_named_with_the_fix(tmp_path, capsys):
    """A twin set made with other parameters (an earlier version's TWIN_SCALE) is never
    overwritten: one error line names it and the fix (delete it: train.py makes it again)."""
    root = tmp_path / "sim"
    synthetic.make_synthetic(str(root), classes=3, videos_per_class=4, frames=12, size=32,
                             difficulty=0.3, seed=0, quiet=True)
    synthetic.make_synthetic(str(tmp_path / "sim_twin"), classes=3, videos_per_class=8, frames=12,
                             size=32, difficulty=0.3, seed=0, first_class=3, quiet=True)
    a = config.parse_args(["--dataset", "synthetic", "--data-root", str(root), "--out", os.devnull])
    with pytest.raises(SystemExit) as e:
        train.pretraining_argv(a)
    message = str(e.value)
    assert message.startswith("error: ") and "\n" not in message
    assert f"delete {tmp_path / 'sim_twin'} and it is made again" in message
    assert "'videos_per_class': (8, 40)" in message  # found, wanted
    (tmp_path / "sim_twin" / "synthetic.json").write_text("{damaged")  # a damaged twin: the same
    with pytest.raises(SystemExit) as e:
        train.pretraining_argv(a)
    assert str(e.value).startswith("error: ") and "\n" not in str(e.value)
    assert f"delete {tmp_path / 'sim_twin'} and it is made again" in str(e.value)
