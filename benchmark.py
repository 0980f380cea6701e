"""Benchmarks whose figures go into the README. Speed is measured here, never in the tests.

    python benchmark.py data    # clip loading: seek-and-decode-the-clip vs decode-everything
    python benchmark.py speed   # cost of a training step of each method; efficiency of each model
    python benchmark.py frames  # the simulated set's own check: one frame must not be enough

Every figure is a ratio measured in one run on one machine, because absolute times on a shared
machine are noisy. Results are printed as a Markdown table and written to results/<name>.json.
The accuracy of every method is grid.py's.
"""
import argparse
import json
import os
import tempfile
import time

import av
import numpy as np
import torch

import data
from cascade import S, Distiller, freeze
from config import Args
from grid import cached_run, save_result
from models import build_model, count_flops, count_params, cpu_latency
from synthetic import write_video
from video import clip_indices, probe_video, read_frames


# -----------------------------------------------------------------------------
# python benchmark.py data

def read_whole_video(path, indices):
    """The baseline: decode every frame to RGB, then slice (what torchvision's read_video did)."""
    with av.open(path) as container:
        stream = container.streams.video[0]
        stream.codec_context.thread_count = 1
        frames = [f.to_ndarray(format="rgb24") for f in container.decode(stream)]
    return torch.from_numpy(np.stack([frames[min(i, len(frames) - 1)] for i in indices]))


def _ucf_like_videos(folder, count, frames=186, width=320, height=240, gop=12, seed=0):
    """Videos of UCF101's typical length and size (186 frames at 320x240, 25 fps), a keyframe
    every `gop` frames: a smooth random texture panning, plus noise, so the codec has work."""
    rng = np.random.default_rng(seed)
    paths = []
    for k in range(count):
        texture = rng.uniform(0, 255, (height // 8, (width + 2 * frames) // 8 + 1, 3))
        texture = np.kron(texture, np.ones((8, 8, 1)))  # (H, W + 2 * frames, 3), blocky texture
        video = np.stack([texture[:, 2 * t:2 * t + width] for t in range(frames)])  # (n, H, W, 3)
        video = (video + rng.normal(0, 6, video.shape)).clip(0, 255).astype(np.uint8)
        paths.append(os.path.join(folder, f"ucf_like_{k}.avi"))
        write_video(paths[-1], video, gop=gop)
    return paths


def _time_loader(read, videos, clip_len, stride, resize, crop, clips, seed=0):
    """Clips per second (one process, one decoder thread) of `read` + the training transform."""
    rng = np.random.default_rng(seed)
    span = (clip_len - 1) * stride + 1
    t0 = time.perf_counter()
    for _ in range(clips):
        v = videos[int(rng.integers(len(videos)))]
        start = int(rng.integers(0, max(v.num_frames - span, 0) + 1))
        frames = read(v.path, clip_indices(v.num_frames, clip_len, stride, start))
        clip = data.train_transform(frames, resize, crop, rng)  # (3, T, S, S)
    assert clip.shape == (3, clip_len, crop, crop)
    return clips / (time.perf_counter() - t0)


def bench_data(args):
    torch.set_num_threads(1)  # one core per loader, as in a DataLoader worker
    rows = []
    cfg = data.DATASETS["synthetic"]
    train, _, _ = data.load_dataset("synthetic", args.data_root, fold=1)
    sets = [("simulated (default set)", train, cfg["clip_len"], cfg["frame_stride"],
             cfg["resize"], cfg["crop"])]
    with tempfile.TemporaryDirectory() as tmp:
        print(f"writing {args.videos} UCF101-like videos (186 frames, 320x240, GOP 12) ...")
        paths = _ucf_like_videos(tmp, args.videos)
        ucf = [data.Video(p, 0, **probe_video(p)) for p in paths]
        u = data.DATASETS["ucf101"]
        sets.append(("UCF101-like (186 x 320x240)", ucf, u["clip_len"], u["frame_stride"],
                     u["resize"], u["crop"]))
        for name, videos, clip_len, stride, resize, crop in sets:
            ours = _time_loader(lambda p, i: read_frames(p, i, threads=1), videos,
                                clip_len, stride, resize, crop, args.clips)
            whole = _time_loader(read_whole_video, videos, clip_len, stride, resize, crop,
                                 args.clips)
            rows.append(dict(videos=name, clip=f"{clip_len}x{stride} -> {crop}px",
                             data_py_clips_per_s=round(ours, 1),
                             whole_video_clips_per_s=round(whole, 1),
                             ratio=round(ours / whole, 2)))
    print("\n| videos | clip (T x stride -> crop) | video.py clips/s | decode all + slice "
          "clips/s | ratio |\n|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['videos']} | {r['clip']} | {r['data_py_clips_per_s']} | "
              f"{r['whole_video_clips_per_s']} | {r['ratio']}x |")
    print("(one process, one decoder thread, one torch thread; clips include the train transform)")
    save_result("data", dict(rows=rows, clips=args.clips))


# -----------------------------------------------------------------------------
# python benchmark.py speed

def bench_speed(args):
    """Seconds per training step of the default student, as ratios to a cross-entropy step.

    Random clips of the simulated set's shape; each variant runs the real Distiller forward,
    backward and an SGD step. Variants are interleaved round by round, so that a slow-down of
    the shared machine hits them all alike; the median of the rounds is reported.
    """
    p = data.DATASETS["synthetic"]
    archs = p["cascade"].split(",")
    K, T, crop, B = p["num_classes"], p["clip_len"], p["crop"], p["batch_size"]
    torch.manual_seed(0)
    teacher = freeze(build_model(archs[0], K))
    x = torch.randn(B, 3, T, crop, crop)  # (B, 3, T, S, S)
    batch = dict(labels=torch.randint(0, K, (B,)), pl_targets=torch.zeros(B, K),
                 pl_weights=torch.zeros(B), pl_keep=torch.zeros(B, dtype=torch.bool))
    variants = {  # name: (method, phase, hybrid)
        "ce": ("ce", S + 1, False), "kd": ("kd", S + 1, False),
        "skd, phase 1": ("skd", 1, False), "skd, last phase": ("skd", S + 1, False),
        "skd, last phase + hybrid": ("skd", S + 1, True)}
    steps = {}
    for name, (method, phase, hybrid) in variants.items():
        cfg = Args(epochs=p["epochs"], hybrid=hybrid)
        distiller = Distiller(build_model(archs[-1], K), teacher if method != "ce" else None,
                              method, cfg, T, crop)
        opt = torch.optim.SGD([q for q in distiller.parameters() if q.requires_grad], lr=1e-3)
        steps[name] = (distiller, opt, phase)
    times = {name: [] for name in variants}
    for r in range(args.warmup + args.rounds):
        for name, (distiller, opt, phase) in steps.items():
            t0 = time.perf_counter()
            loss = distiller(x, batch, phase, 1.0)["loss"]  # progress: DKD at full weight
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            if r >= args.warmup:
                times[name].append(time.perf_counter() - t0)
    med = {name: float(np.median(t)) for name, t in times.items()}
    rows = [dict(variant=n, ms_per_step=round(1000 * t, 1), vs_ce=round(t / med["ce"], 2),
                 vs_kd=round(t / med["kd"], 2)) for n, t in med.items()]
    print(f"\nTraining step of the student {archs[-1]} (teacher {archs[0]}), batch {B} x "
          f"{T}x{crop}x{crop}, {torch.get_num_threads()} threads, median of {args.rounds}:")
    print("| variant | ms / step | x ce | x kd |\n|---|---|---|---|")
    for r in rows:
        print(f"| {r['variant']} | {r['ms_per_step']} | {r['vs_ce']} | {r['vs_kd']} |")

    # Efficiency of every model of the default cascade, with its accuracy when a run is given
    summary = {}
    if args.summary and os.path.isfile(args.summary):
        with open(args.summary) as f:
            summary = {m["arch"]: m for m in json.load(f)["models"]}
    models = []
    for arch in archs:
        net = build_model(arch, K)
        models.append(dict(arch=arch, params=count_params(net), gflops=count_flops(net, T, crop, crop),
                           cpu_ms=round(1000 * cpu_latency(net, T, crop, crop, repeats=20), 2),
                           video_acc=summary.get(arch, {}).get("video_acc")))
    print(f"\nModels of the default cascade at {T}x{crop}x{crop}"
          + (f" (accuracy from {args.summary})" if summary else "") + ":")
    print("| model | params | GFLOPs / clip | CPU ms / clip | video acc |\n|---|---|---|---|---|")
    for m in models:
        acc = f"{m['video_acc']:.3f}" if m["video_acc"] is not None else "-"
        print(f"| {m['arch']} | {m['params'] / 1e6:.2f}M | {m['gflops']:.4f} | {m['cpu_ms']} | {acc} |")
    save_result("speed", dict(steps=rows, models=models, rounds=args.rounds))


# -----------------------------------------------------------------------------
# python benchmark.py frames

def bench_frames(args):
    """Sec. 9's claim about the simulated set: classes differ only by motion, so a model that sees
    one frame should sit near chance while a clip model with the same budget does not. Both are
    the teacher architecture trained with cross-entropy on all labels, same epochs and seed."""
    p = data.DATASETS["synthetic"]
    arch = p["cascade"].split(",")[0]
    rows = []
    for clip_len in (1, p["clip_len"]):
        out = os.path.join("results", "runs", f"frames_{clip_len}")  # reused for the same key
        m = cached_run(out, ["--method", "ce", "--cascade", arch, "--label-fraction", "1.0",
                             "--clip-len", str(clip_len), "--epochs", str(args.epochs),
                             "--workers", str(args.workers), "--log-every", "120"])["models"][-1]
        rows.append(dict(clip_len=clip_len, arch=arch, clip_acc=m["clip_acc"],
                         video_acc=m["video_acc"]))
    print(f"\n{arch}, cross-entropy on all labels, {args.epochs} epochs; chance "
          f"{1 / p['num_classes']:.3f}\n| frames per clip | clip acc | video acc |\n|---|---|---|")
    for r in rows:
        print(f"| {r['clip_len']} | {r['clip_acc']:.3f} | {r['video_acc']:.3f} |")
    save_result("frames", dict(rows=rows, epochs=args.epochs))


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="benchmark", required=True)
    d = sub.add_parser("data", help="clip loading speed against whole-video decoding")
    d.add_argument("--data-root", default=data.DATASETS["synthetic"]["root"],
                   help="the simulated set (generated there on first use)")
    d.add_argument("--videos", type=int, default=8, help="UCF101-like videos to generate")
    d.add_argument("--clips", type=int, default=200, help="clips timed per loader and video set")
    sp = sub.add_parser("speed", help="training-step cost per method; efficiency per model")
    sp.add_argument("--rounds", type=int, default=20, help="timed steps per variant")
    sp.add_argument("--warmup", type=int, default=3, help="untimed steps per variant")
    sp.add_argument("--summary", default="runs/synthetic_skd_p0.2_s0/summary.json",
                    help="summary.json of a run, for the accuracy column (that of `python train.py`)")
    f = sub.add_parser("frames", help="single-frame model against a clip model, same budget")
    f.add_argument("--epochs", type=int, default=data.DATASETS["synthetic"]["epochs"])
    f.add_argument("--workers", type=int, default=2)
    args = p.parse_args()
    {"data": bench_data, "speed": bench_speed, "frames": bench_frames}[args.benchmark](args)


if __name__ == "__main__":
    main()
