"""Smoke test of `python benchmark.py speed`: it runs and its figures are sane. The speed goals
themselves are measured by the benchmark, never asserted here (shared machines are noisy)."""
import json
import os
import shutil
import subprocess
import sys

import torch

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_speed_benchmark_runs_and_reports_every_variant(tmp_path):
    env = dict(os.environ, OMP_NUM_THREADS="1")
    out = subprocess.run([sys.executable, os.path.join(REPO, "benchmark.py"), "speed", "--rounds",
                          "1", "--warmup", "0", "--summary", "none"], cwd=tmp_path, env=env,
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    with open(tmp_path / "results" / "speed.json") as f:
        result = json.load(f)
    names = [r["variant"] for r in result["steps"]]
    assert names == ["ce", "kd", "skd, phase 1", "skd, last phase", "skd, last phase + hybrid"]
    assert all(r["ms_per_step"] > 0 for r in result["steps"])
    assert result["steps"][0]["vs_ce"] == 1.0 and result["steps"][1]["vs_kd"] == 1.0
    gflops = [m["gflops"] for m in result["models"]]
    assert gflops == sorted(gflops, reverse=True) and gflops[-1] > 0  # teacher first, cheapest last
    assert all(m["video_acc"] is None for m in result["models"])  # no run summary was given


def test_accuracy_benchmark_runs_the_grid_and_reuses_finished_runs(tmp_path):
    """The accuracy grid end to end on a tiny simulated set: pretrained and shared teacher, the
    two shared assistants, every requested method, the six SKD ablations at the ablation
    fraction, tables and JSON; a second call (in worker processes) reuses every finished run."""
    env = dict(os.environ, OMP_NUM_THREADS="1")
    cmd = [sys.executable, os.path.join(REPO, "benchmark.py"), "accuracy", "--quick",
           "--videos-per-class", "5", "--methods", "ce", "skd", "--jobs", "1"]
    out = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    with open(tmp_path / "results" / "accuracy.json") as f:
        result = json.load(f)
    rows = {(r["kind"], r["name"]): r for r in result["rows"]}
    ablations = ["joint schedule", "no correlation (Eq. C)", "no distribution loss (Eq. D)",
                 "no cascade", "no pseudo-labels", "hybrid paths on"]
    assert sorted(rows) == sorted([("cascade", "teacher (ce)"), ("cascade", "assistant (kd)"),
                                   ("cascade", "assistant (skd)"), ("method", "ce"),
                                   ("method", "skd")]
                                  + [("ablation", f"skd, {n}") for n in ablations])
    for r in result["rows"]:
        assert r["fraction"] == 0.2 and r["seeds"] == 1 and r["video_std"] == 0.0
        assert 0 <= r["video_acc"] <= 1 and 0 <= r["clip_acc"] <= 1 and r["minutes"] > 0
    # the student of every method is the cascade's last model; teacher and assistant are shared
    archs = {r["name"]: r["arch"] for r in result["rows"]}
    assert archs.pop("teacher (ce)") == "r3d18_w0.25"
    assert archs.pop("assistant (kd)") == archs.pop("assistant (skd)") == "r3d10_w0.25"
    assert set(archs.values()) == {"r3d10_w0.125"}
    assert "| method | 0.2 | min / run |" in out.stdout and "| skd, no cascade | 0." in out.stdout
    group = tmp_path / "results" / "runs" / "synthetic_bench_v5_s0" / "p0.2_s0"
    def loaded(name):  # the --teacher-weights of a run, and how many models it loaded
        with open(group / name / "metrics.jsonl") as f:
            events = [json.loads(line) for line in f]
        files = events[0]["config"]["teacher_weights"].split(",")
        assert sum(e["event"] == "weights" for e in events) == len(files)
        return [os.path.relpath(tmp_path / p, group) for p in files]

    teacher = os.path.join("teacher", "model0_r3d18_w0.25.pt")
    assert loaded("skd") == [teacher, os.path.join("assistant_skd", "model1_r3d10_w0.25.pt")]
    assert loaded("skd_joint-schedule") == loaded("skd")  # SKD's ablations share its assistant
    assert loaded("skd_no-cascade") == loaded("ce") == [teacher]
    stamps = {p: p.stat().st_mtime_ns for p in group.glob("*/summary.json")}
    assert len(stamps) == 3 + 2 + 6
    again = subprocess.run(cmd[:-1] + ["2"], cwd=tmp_path, env=env, capture_output=True,
                           text=True, timeout=600)  # --jobs 2: the worker pool, nothing to train
    assert again.returncode == 0, again.stderr[-3000:]
    assert {p: p.stat().st_mtime_ns for p in group.glob("*/summary.json")} == stamps
    with open(tmp_path / "results" / "accuracy.json") as f:
        assert json.load(f)["rows"] == result["rows"]


# ------------------------------------------------------------------------------- the run cache
TINY = ["--dataset", "hmdb51", "--clip-len", "4", "--frame-stride", "1", "--resize", "32",
        "--crop-size", "24", "--eval-clips", "1", "--eval-crops", "1", "--pl-clips", "1",
        "--batch-size", "4", "--epochs", "1", "--max-steps-per-epoch", "2", "--workers", "0",
        "--log-every", "1000", "--label-fraction", "0.5", "--device", "cpu"]
ARCH = "r3d10_w0.125"


def test_run_cache_reuses_only_a_run_of_the_same_key(tmp_path, monkeypatch, capsys):
    """The same folder name is reused only for the same settings, the same weight file contents
    and the same code; otherwise the old folder is set aside (kept) and the run trained again."""
    import benchmark
    import synthetic
    import train
    root = tmp_path / "set"
    synthetic.make_synthetic(str(root), classes=3, videos_per_class=4, frames=8, size=32,
                             difficulty=0.3, seed=0, quiet=True)
    common = TINY + ["--data-root", str(root)]
    teacher = benchmark._train(str(tmp_path / "teacher"), common + ["--method", "ce",
                                                                    "--cascade", ARCH])
    weights = tmp_path / "teacher.pt"  # the file the student loads: its content will change
    shutil.copy(tmp_path / "teacher" / f"model0_{ARCH}.pt", weights)
    student = common + ["--method", "kd", "--cascade", f"{ARCH},{ARCH}", "--teacher-weights",
                        str(weights)]
    out = tmp_path / "student"
    first = benchmark._train(str(out), student)
    assert first["run_key"] != teacher["run_key"]
    with open(out / "run_key.json") as f:
        key = json.load(f)
    assert key["hash"] == first["run_key"] and key["config"]["lr"] == 0.01
    assert "out" not in key["config"] and len(key["weights"]) == 1 and "losses.py" in key["code"]

    trained = []
    real_main = train.main
    monkeypatch.setattr(train, "main", lambda argv: trained.append(argv) or real_main(argv))
    assert benchmark._train(str(out), student) == first  # same key: reused, nothing trained
    assert trained == []

    # same folder name, same flags, another --teacher-weights content: not reused
    state = torch.load(weights, weights_only=True)
    torch.save({k: v + 0.01 if v.is_floating_point() else v for k, v in state.items()}, weights)
    second = benchmark._train(str(out), student)
    assert len(trained) == 1 and second["run_key"] != first["run_key"]
    msg = capsys.readouterr().out
    assert "weights[0]: changed" in msg and "set aside" in msg and f"{out}.stale1" in msg
    with open(tmp_path / "student.stale1" / "summary.json") as f:  # the old run is kept
        assert json.load(f)["models"] == first["models"]

    # another flag: the difference is named
    benchmark._train(str(out), student + ["--lr", "0.02"])
    assert "config.lr: 0.01 -> 0.02" in capsys.readouterr().out
    assert (tmp_path / "student.stale2" / "summary.json").is_file() and len(trained) == 2


def test_key_differences_names_each_change():
    import benchmark
    a = dict(config=dict(lr=0.01, tau=4.0), weights=["aa", "bb"], code={"losses.py": "1"}, hash="x")
    b = dict(config=dict(lr=0.01, tau=2.0), weights=["aa", "cc"], code={"losses.py": "2"}, hash="y")
    assert benchmark.key_differences(a, b) == ["code.losses.py: changed", "config.tau: 4.0 -> 2.0",
                                               "weights[1]: changed"]
    assert benchmark.key_differences(a, a) == []
