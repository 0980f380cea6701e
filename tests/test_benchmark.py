"""Smoke tests of `python benchmark.py speed`, `throughput` and `data`: they run and their
figures are sane and consistent with each other. The speed goals themselves are measured by the
benchmark, never asserted here (shared machines are noisy)."""
import json
import os
import subprocess
import sys

import pytest
import torch

from experiments import benchmark


REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_speed_benchmark_runs_and_reports_every_variant(tmp_path):
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=REPO)
    out = subprocess.run([sys.executable, "-m", "experiments.benchmark", "speed", "--rounds",
                          "1", "--warmup", "0", "--summary", "none"], cwd=tmp_path, env=env,
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    with open(tmp_path / "experiments" / "results" / "speed.json") as f:
        result = json.load(f)
    names = [r["variant"] for r in result["steps"]]
    assert names == ["alone", "kd", "skd, phase 1", "skd, last phase", "skd, last phase + hybrid"]
    assert all(r["ms_per_step"] > 0 for r in result["steps"])
    assert result["steps"][0]["vs_alone"] == 1.0 and result["steps"][1]["vs_kd"] == 1.0
    gflops = [m["gflops"] for m in result["models"]]
    assert gflops == sorted(gflops, reverse=True) and gflops[-1] > 0  # teacher first, cheapest last
    assert all(m["video_acc"] is None for m in result["models"])  # no run summary was given


def run_benchmark(tmp_path, *args):
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=REPO)
    out = subprocess.run([sys.executable, "-m", "experiments.benchmark", *args], cwd=tmp_path,
                         env=env, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr
    return out.stdout


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the refusal where no GPU is")
def test_throughput_on_cuda_without_a_gpu_is_one_error_line(capsys):
    with pytest.raises(SystemExit) as e:
        benchmark.main(["throughput", "--device", "cuda"])
    assert str(e.value).startswith("error: --device cuda") and "\n" not in str(e.value)


def test_throughput_benchmark_reports_loader_step_and_both_for_each_kind_of_video_on_the_cpu(
        tmp_path):
    out = run_benchmark(tmp_path, "throughput", "--workers", "1", "--batch", "2", "--steps", "2",
                        "--warmup", "1", "--clip-len", "4", "--resize", "36", "--crop", "32",
                        "--videos", "2", "--frames", "30", "--device", "cpu", "--compile")
    with open(tmp_path / "experiments" / "results" / "throughput.json") as f:
        result = json.load(f)
    names = [r["what"] for r in result["rows"]]
    kinds = ("AVI originals", "prepared copy")
    loaders = [f"{what}, {kind}" for kind in kinds for what in ("loader", "both")]
    assert names == ["step", "step, channels_last_3d",
                     "step, teacher compiled (torch.compile)"] + loaders
    speed = dict(zip(names, (r["clips_per_s"] for r in result["rows"])))
    assert result["both_share"] == pytest.approx(
        {kind: speed[f"both, {kind}"] / speed["step"] for kind in kinds})
    assert "Loader and step together, as a share of the step alone: " in out
    # the levers: the same models (seed 0), so the logits agree to float32 rounding on the CPU
    levers = [r for r in result["rows"] if "logit_rel_diff" in r]
    assert len(levers) == 2 and all(0 <= r["logit_rel_diff"] < 1e-4 for r in levers), levers
    assert "| step, channels_last_3d | " in out and "| lever | clips / s |" in out
    assert all(r["clips_per_s"] > 0 for r in result["rows"])
    assert result["device"].startswith("CPU") and not result["amp"]
    assert out.count("-bound (the loader gives") == 2  # a verdict per kind of video
    # the arithmetic: TFLOP/s of every row with a step, from the models' multiply-adds
    assert result["gflop_per_clip_step"] == pytest.approx(
        2 * (result["gmacs"]["teacher"] + 3 * result["gmacs"]["student"]))
    for r in result["rows"]:
        if r["what"].startswith("loader"):
            assert r["tflops"] is None
        else:
            assert r["tflops"] == pytest.approx(r["clips_per_s"] * result["gflop_per_clip_step"]
                                                / 1e3)
    # torch.profiler of train.py's path: the ops of most CPU time here (no GPU, no busy share)
    assert result["gpu_busy_share"] is None and result["bf16_peak_tflops"] is None
    ops = [r["op"] for r in result["profile"]]
    assert 0 < len(ops) <= 12 and any("conv" in op for op in ops), ops
    assert all(r["self_ms"] >= 0 and r["calls"] >= 1 for r in result["profile"])
    assert "| op | self time, ms | calls |" in out


def test_data_benchmark_times_every_loader(tmp_path):
    run_benchmark(tmp_path, "data", "--videos", "1", "--clips", "1", "--rounds", "1",
                  "--warmup", "0")
    with open(tmp_path / "experiments" / "results" / "data.json") as f:
        result = json.load(f)
    loaders = {r["loader"] for r in result["rows"]}
    for kind in ("avi", "mp4"):
        assert {f"{kind}: video.py", f"{kind}: video.py, resize as floats",
                f"{kind}: decode all + slice", f"{kind}: decode only",
                f"{kind}: decode at the source size"} <= loaders
    assert {"prepared: video.py", "prepared: decode only"} <= loaders
    assert all(r["clips_per_cpu_s"] > 0 and r["clips_per_wall_s"] > 0 for r in result["rows"])
    assert result["prepared_gain"] > 0 and result["prepared_cpu_s_per_video"] > 0
    # train.py's data set with --repeat-clips 1, 2, 4, and the gain of R clips per decode
    assert {f"{kind}: TrainClips, R = {R}" for kind in ("avi", "mp4", "prepared")
            for R in (1, 2, 4)} <= loaders
    assert {k: sorted(v) for k, v in result["repeat_gain"].items()} == {
        k: ["2", "4"] for k in ("avi", "mp4", "prepared")}
    # where a training item's CPU time goes: each stage timed alone, and the item the sum of
    # decoding and the stages that run on CPU cores (written out here by hand)
    stage = result["stage_ms"]
    assert all(t > 0 for t in stage.values()) and all(
        t > 0 for t in result["decode_ms"].values())
    on_cores = ["crop + flip", "the (3, T, S, S) layout", "collation", "receiving a batch"]
    if torch.cuda.is_available():  # the pinned copy of a batch, in the training process
        on_cores.append("pinning a batch")
    assert set(stage) == set(on_cores) | {"to_model_input"}  # to_model_input: on the device
    for kind in ("avi", "mp4", "prepared"):
        assert result["item_ms"][kind] == pytest.approx(
            result["decode_ms"][kind] + sum(stage[s] for s in on_cores))
