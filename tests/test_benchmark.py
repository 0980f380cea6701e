"""Smoke test of `python benchmark.py speed`: it runs and its figures are sane. The speed goals
themselves are measured by the benchmark, never asserted here (shared machines are noisy)."""
import json
import os
import subprocess
import sys

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
