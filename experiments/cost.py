"""What training costs, for experiments.benchmark: `speed` (a training step per method, and each
model of the default cascade: parameters, GFLOPs, CPU latency) and `frames` (the simulated set's
own check: a one-frame model against a clip model of the same budget).

    python -m experiments.benchmark speed
    python -m experiments.benchmark frames
"""
import functools
import json
import os

import torch

import data
from cascade import S, Distiller, freeze
from config import Args
from models import build_model, count_flops, count_params, cpu_latency

from experiments import RESULTS, save_result
from experiments.benchmark import interleaved, labelled_batch, table
from experiments.grid import cached_run


def bench_speed(args):
    """Seconds per training step of the default student, as ratios to a step with the task loss
    only (no teacher: the step of `alone`, of `pseudo` and of a cascade's first model).

    Random clips of the simulated set's shape; each variant runs the real Distiller forward,
    backward and an SGD step. Variants are interleaved round by round (interleaved(), one step
    a round), so that a slow-down of the shared machine hits them all alike; the median of the
    rounds is reported.
    """
    p = data.DATASETS["synthetic"]
    archs = p["cascade"].split(",")
    K, T, crop, B = p["num_classes"], p["clip_len"], p["crop"], p["batch_size"]
    torch.manual_seed(0)
    teacher = freeze(build_model(archs[0], K))
    x, batch = torch.randn(B, 3, T, crop, crop), labelled_batch(B, K)  # x (B, 3, T, S, S)
    variants = {  # name: (method, phase, hybrid)
        "alone": ("alone", S + 1, False), "kd": ("kd", S + 1, False),
        "skd, phase 1": ("skd", 1, False), "skd, last phase": ("skd", S + 1, False),
        "skd, last phase + hybrid": ("skd", S + 1, True)}

    def step(distiller, opt, phase):
        loss = distiller(x, batch, phase, 1.0)["loss"]  # progress: DKD at full weight
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    steps = {}
    for name, (method, phase, hybrid) in variants.items():
        distiller = Distiller(build_model(archs[-1], K), teacher if method != "alone" else None,
                              method, Args(epochs=p["epochs"], hybrid=hybrid), T, crop)
        opt = torch.optim.SGD([q for q in distiller.parameters() if q.requires_grad], lr=1e-3)
        steps[name] = functools.partial(step, distiller, opt, phase)
    med = {n: 1 / wall for n, (_, wall) in interleaved(steps, args.rounds, args.warmup, 1).items()}
    rows = [dict(variant=n, ms_per_step=round(1000 * t, 1), vs_alone=round(t / med["alone"], 2),
                 vs_kd=round(t / med["kd"], 2)) for n, t in med.items()]
    table(f"Training step of the student {archs[-1]} (teacher {archs[0]}), batch {B} x "
          f"{T}x{crop}x{crop}, {torch.get_num_threads()} threads, median of {args.rounds}:",
          ["variant", "ms / step", "x alone", "x kd"], [r.values() for r in rows])

    # Efficiency of every model of the default cascade, with its accuracy when a run is given
    summary = {}
    if args.summary and os.path.isfile(args.summary):
        with open(args.summary) as f:
            summary = {m["arch"]: m for m in json.load(f)["models"]}
    models = [dict(arch=arch, params=count_params(net), gflops=count_flops(net, T, crop, crop),
                   cpu_ms=round(1000 * cpu_latency(net, T, crop, crop, repeats=20), 2),
                   video_acc=summary.get(arch, {}).get("video_acc"))
              for arch, net in ((arch, build_model(arch, K)) for arch in archs)]
    table(f"Models of the default cascade at {T}x{crop}x{crop}"
          + (f" (accuracy from {args.summary})" if summary else "") + ":",
          ["model", "params", "GFLOPs / clip", "CPU ms / clip", "video acc"],
          [[m["arch"], f"{m['params'] / 1e6:.2f}M", f"{m['gflops']:.4f}", m["cpu_ms"],
            f"{m['video_acc']:.3f}" if m["video_acc"] is not None else "-"] for m in models])
    save_result("speed", dict(steps=rows, models=models, rounds=args.rounds))


def bench_frames(args):
    """Sec. 9's claim about the simulated set: classes differ only by motion, so a model that sees
    one frame should sit near chance while a clip model with the same budget does not. Both are
    the teacher architecture trained with cross-entropy on all labels, same epochs and seed."""
    p = data.DATASETS["synthetic"]
    arch = p["cascade"].split(",")[0]
    rows = []
    for clip_len in (1, p["clip_len"]):
        out = os.path.join(RESULTS, "runs", f"frames_{clip_len}")  # reused for the same key
        m = cached_run(out, ["--method", "alone", "--cascade", arch, "--label-fraction", "1.0",
                             "--clip-len", str(clip_len), "--epochs", str(args.epochs),
                             "--workers", str(args.workers), "--log-every", "120"])["models"][-1]
        rows.append(dict(clip_len=clip_len, arch=arch, clip_acc=m["clip_acc"],
                         video_acc=m["video_acc"]))
    table(f"{arch}, cross-entropy on all labels, {args.epochs} epochs; chance "
          f"{1 / p['num_classes']:.3f}", ["frames per clip", "clip acc", "video acc"],
          [[r["clip_len"], f"{r['clip_acc']:.3f}", f"{r['video_acc']:.3f}"] for r in rows])
    save_result("frames", dict(rows=rows, epochs=args.epochs))
