"""Benchmarks whose figures go into the README. Speed is measured here, never in the tests.

    python -m experiments.benchmark data    # clips per core: video.py, its alternatives, the prepared copy,
                                # the float and the uint8 hand-over
    python -m experiments.benchmark speed   # cost of a training step of each method; efficiency of each model
    python -m experiments.benchmark frames  # the simulated set's own check: one frame must not be enough
    python -m experiments.benchmark throughput --amp  # on a GPU: is training data-bound?

(HMDB51's whole recipe, timed on a generated tree of its size, is rehearsal.py.)

Every figure is a ratio measured in one run on one machine, because absolute times on a shared
machine are noisy. Results are printed as a Markdown table and written to experiments/results/<name>.json.
The accuracy of every method is grid.py's.
"""
import argparse
import functools
import json
import math
import os
import tempfile
import time

import av
import numpy as np
import torch

import clips
import data
from cascade import S, Distiller, freeze
from config import Args
from models import build_model, count_flops, count_params, cpu_latency
from synthetic import write_video
from video import clip_indices, decode_size, prepare_tree, read_frames

from experiments import RESULTS
from experiments.grid import cached_run, cpu_name, save_result


# -----------------------------------------------------------------------------
# python -m experiments.benchmark data

def read_whole_video(path, indices):
    """The baseline: decode every frame to RGB, then slice (what torchvision's read_video did)."""
    with av.open(path) as container:
        stream = container.streams.video[0]
        stream.codec_context.thread_count = 1
        frames = [f.to_ndarray(format="rgb24") for f in container.decode(stream)]
    return torch.from_numpy(np.stack([frames[min(i, len(frames) - 1)] for i in indices]))


def ucf_like_videos(folder, count, frames=186, width=320, height=240, seed=0):
    """UCF101's typical video (186 frames, 320x240, 25 fps, 600 kbit/s, GOP 12) as MPEG-4 Part 2
    AVI with B-frames (XviD's usual setting) and as H.264 MP4: a blocky random texture panning
    2 px per frame, plus noise, so the codecs have work. -> {"avi": [paths], "mp4": [paths]}."""
    rng = np.random.default_rng(seed)
    paths = {"avi": [], "mp4": []}
    for k in range(count):
        texture = rng.uniform(0, 255, (height // 8, (width + 2 * frames) // 8 + 1, 3))
        texture = np.kron(texture, np.ones((8, 8, 1)))  # (H, W + 2 * frames, 3)
        clip = np.stack([texture[:, 2 * t:2 * t + width] for t in range(frames)])  # (n, H, W, 3)
        clip = (clip + rng.normal(0, 6, clip.shape)).clip(0, 255).astype(np.uint8)
        for ext, codec, options in (("avi", "mpeg4", {"bf": "2"}), ("mp4", "libx264", {})):
            os.makedirs(os.path.join(folder, ext), exist_ok=True)
            paths[ext].append(os.path.join(folder, ext, f"ucf_like_{k}.{ext}"))
            write_video(paths[ext][-1], clip, codec=codec, gop=12, bit_rate=600_000,
                        options=options)
    return paths


def probed(paths):
    """data.Video of each file, probed as the data sets do (metadata cached beside them)."""
    return data.scan_videos([data.Video(p, 0) for p in paths], os.path.dirname(paths[0]),
                            workers=1)


def interleaved(loaders, rounds, warmup, clips):
    """{name: fn() that loads one clip, or (fn, R) for fn that loads R} -> {name: (median clips
    per CPU-second, median clips per wall second)}. Round by round, every loader loads `clips` clips in turn, so a slow-down of the
    shared machine hits all alike; the first `warmup` rounds are not counted."""
    per_cpu = {n: [] for n in loaders}
    per_wall = {n: [] for n in loaders}
    for r in range(warmup + rounds):
        for name, load in loaders.items():
            load, per_call = load if isinstance(load, tuple) else (load, 1)  # (fn, clips a call)
            c0, w0 = time.process_time(), time.perf_counter()
            for _ in range(math.ceil(clips / per_call)):
                load()
            if r >= warmup:
                n = math.ceil(clips / per_call) * per_call
                per_cpu[name].append(n / (time.process_time() - c0))
                per_wall[name].append(n / (time.perf_counter() - w0))
    return {n: (float(np.median(per_cpu[n])), float(np.median(per_wall[n]))) for n in loaders}


def bench_data(args):
    """Clips per CPU-second of one training item (decode + scale + crop + normalise) with one
    decoder and one torch thread, i.e. per core as in a DataLoader worker: HMDB51's configuration
    (16 frames, stride 2, short side 128, crop 112) on UCF-like AVI and MP4, and on the prepared
    copy (python data.py --prepare), against the ways this could be done instead. The worker
    hands over a normalised float clip ("video.py") or, as train.py does, the uint8 clip ("video.py,
    uint8 hand-over"), whose conversion to floats (clips.to_model_input) then runs where the model
    runs and is not counted here."""
    torch.set_num_threads(1)
    h = data.DATASETS["hmdb51"]
    T, stride, resize, crop = h["clip_len"], h["frame_stride"], h["resize"], h["crop"]
    rng = np.random.default_rng(0)

    def item(videos, read, uint8=False):
        def load():
            v = videos[int(rng.integers(len(videos)))]
            start = int(rng.integers(0, max(v.num_frames - (T - 1) * stride - 1, 0) + 1))
            frames = read(v, clip_indices(v.num_frames, T, stride, start))
            return clips.train_transform(frames, resize, crop, rng,
                                         uint8=uint8)  # (3, T, crop, crop) float or uint8
        return load

    def train_clips(videos, R):  # an item of train.py's data set: R clips of a random video
        ds = clips.TrainClips(videos, [0] * len(videos), T, stride, resize, crop, uint8=True,
                              repeat=R)
        return lambda: ds[int(rng.integers(1 << 30))]  # index = a new draw, any video

    fixed_clip = list(range(40, 40 + T * stride, stride))  # a 16x2 clip

    def decode(videos, read):  # that clip of a random video, decoded (and scaled) only
        return lambda: read(videos[int(rng.integers(len(videos)))], fixed_clip)

    ours = lambda v, idx: read_frames(v.path, idx, 1, v.table, decode_size(v, resize))
    ffmpeg = lambda v, idx: read_frames(v.path, idx, 1, v.table, decode_size(v, resize),
                                        scaler="ffmpeg")  # before: FFmpeg's scaler
    float_resize = lambda v, idx: read_frames(v.path, idx, 1, v.table)  # then scaled as floats
    whole = lambda v, idx: read_whole_video(v.path, idx)
    with tempfile.TemporaryDirectory() as tmp:
        print(f"writing {args.videos} UCF101-like videos (186 frames, 320x240) as AVI and MP4 ...")
        paths = ucf_like_videos(tmp, args.videos)
        sets = {ext: probed(ps) for ext, ps in paths.items()}
        t0 = time.process_time()
        prepared = os.path.join(tmp, "prepared")
        report = prepare_tree(os.path.join(tmp, "avi"), prepared, resize, workers=1,
                              skip=(data.METADATA_FILE,))
        prep_cpu = (time.process_time() - t0) / args.videos  # CPU-seconds per video
        sets["prepared"] = probed([os.path.join(prepared, os.path.basename(p))
                                   for p in paths["avi"]])
        loaders = {}
        for name, videos in sets.items():
            loaders[f"{name}: video.py"] = item(videos, ours)  # float hand-over
            loaders[f"{name}: video.py, uint8 hand-over"] = item(videos, ours, uint8=True)
            if name != "prepared":  # (the prepared copy is at the short side: no scaling)
                loaders[f"{name}: video.py, uint8 hand-over, FFmpeg's scaler"] = item(
                    videos, ffmpeg, uint8=True)
                loaders[f"{name}: video.py, resize as floats"] = item(videos, float_resize)
                loaders[f"{name}: decode all + slice"] = item(videos, whole)
            for R in REPEATS:  # train.py's data set as it runs: --repeat-clips R
                loaders[f"{name}: TrainClips, uint8, R = {R}"] = (train_clips(videos, R), R)
        decode_only = {f"{n}: decode only": decode(vs, ours) for n, vs in sets.items()}
        for n, vs in sets.items():
            if n != "prepared":
                decode_only[f"{n}: decode at the source size"] = decode(vs, float_resize)
                decode_only[f"{n}: decode only, FFmpeg's scaler"] = decode(vs, ffmpeg)
        stages, with_workers = ({f"stage: {k}": f for k, f in d.items()} for d in item_stages(
            ours(sets["avi"][0], fixed_clip), crop, h["batch_size"], rng))
        print(f"timing: {args.warmup} + {args.rounds} interleaved rounds of {args.clips} clips")
        figures = interleaved({**loaders, **decode_only, **stages}, args.rounds, args.warmup,
                              args.clips)
        figures.update(interleaved(with_workers, args.rounds, args.warmup, args.clips))
        disk = {n: sum(os.path.getsize(v.path) for v in vs) / len(vs) for n, vs in sets.items()}
    rows = [dict(loader=n, clips_per_cpu_s=round(c, 1), clips_per_wall_s=round(w, 1))
            for n, (c, w) in figures.items()]
    print(f"\nOne training item ({T}x{stride} frames -> short side {resize} -> crop {crop}, "
          f"normalised), one core; median of {args.rounds} rounds\n"
          "| videos: loader | clips / CPU-s | clips / s (wall) |\n|---|---|---|")
    for r in rows:
        print(f"| {r['loader']} | {r['clips_per_cpu_s']} | {r['clips_per_wall_s']} |")
    gain = figures["prepared: video.py"][0] / figures["avi: video.py"][0]
    print(f"\nThe prepared copy: {gain:.1f}x the clips per CPU-second of the AVI originals; "
          f"{disk['prepared'] / disk['avi']:.2f}x their disk size; preparing costs "
          f"{prep_cpu:.2f} CPU-s per video ({report['prepared']} prepared)")
    uint8_gain = {n: figures[f"{n}: video.py, uint8 hand-over"][0] / figures[f"{n}: video.py"][0]
                  for n in sets}  # new / old clips per CPU-second, same videos, same rounds
    print("The uint8 hand-over: " + ", ".join(f"{g:.2f}x ({n})" for n, g in uint8_gain.items())
          + " the clips per CPU-second of the float hand-over, and 4x fewer bytes per clip")
    scaler_gain = {n: figures[f"{n}: video.py, uint8 hand-over"][0]
                   / figures[f"{n}: video.py, uint8 hand-over, FFmpeg's scaler"][0]
                   for n in sets if n != "prepared"}
    print("Scaling on uint8 with torch: " + ", ".join(f"{g:.2f}x ({n})" for n, g in
                                                      scaler_gain.items())
          + " the clips per CPU-second of FFmpeg's scaler (uint8 hand-over)")
    repeat_gain = {n: {R: figures[f"{n}: TrainClips, uint8, R = {R}"][0]
                       / figures[f"{n}: TrainClips, uint8, R = 1"][0] for R in REPEATS[1:]}
                   for n in sets}
    print("Repeated sampling (--repeat-clips R, R clips per decode): " + "; ".join(
        f"{n}: " + ", ".join(f"R = {R} {g:.2f}x" for R, g in gains.items())
        for n, gains in repeat_gain.items()) + " the clips per CPU-second of R = 1")
    breakdown = item_breakdown(figures, list(sets), crop)
    save_result("data", dict(rows=rows, prepared_gain=gain, prepared_cpu_s_per_video=prep_cpu,
                             uint8_gain=uint8_gain, scaler_gain=scaler_gain,
                             repeat_gain=repeat_gain, **breakdown,
                             bytes_per_video=disk, rounds=args.rounds, clips=args.clips,
                             videos=args.videos))


REPEATS = (1, 2, 4)  # --repeat-clips of benchmark.py data


def item_stages(frames, crop, batch, rng):
    """The steps of a training item after its decoding, each alone -> ({stage: (fn, clips per
    call)}, the same for the stages with a worker process) for interleaved(). frames: one decoded
    clip, uint8 (T, H, W, 3) with the short side already scaled. In a DataLoader worker: the crop
    and flip, then the float hand-over (clips._normalise, timed in its two parts) or the uint8 one
    (the (3, T, S, S) layout), then the collation of `batch` clips; in the training process:
    receiving a batch from a worker, pinning it (CUDA only), and for the uint8 hand-over
    clips.to_model_input, which runs on the device (timed here on the CPU, the cost a GPU takes
    over). The stages with a worker are timed after the others, so that no worker process runs
    beside them."""
    _, H, W, _ = frames.shape
    x = frames[:, :crop, :crop]  # (T, S, S, 3) uint8, a view like the random crop
    handed = {"float": clips._handed_over(x, False), "uint8": clips._handed_over(x, True)}
    in01 = x.permute(3, 0, 1, 2).float().div_(255)  # (3, T, S, S) in [0, 1], for normalise

    def crop_flip():  # as train_transform draws them: the flip on half the clips
        top, left = int(rng.integers(0, H - crop + 1)), int(rng.integers(0, W - crop + 1))
        c = frames[:, top:top + crop, left:left + crop]  # (T, S, S, 3), a view
        return c.flip(2) if rng.random() < 0.5 else c

    def received(clip):  # batches one worker process collates; this process's CPU time per
        # batch is unpickling it and mapping its shared memory. The worker starts at the first call.
        def batches():
            yield from torch.utils.data.DataLoader([clip] * batch * 1000, batch_size=batch,
                                                   num_workers=1)
        return functools.partial(next, batches())

    to_01 = lambda: x.permute(3, 0, 1, 2).float().div_(255)  # (3, T, S, S) in [0, 1]
    normalise = lambda: ((in01 - clips._MEAN) / clips._STD).contiguous()  # (3, T, S, S)
    layout = lambda: x.permute(3, 0, 1, 2).contiguous()  # (3, T, S, S) uint8
    stages = {"crop + flip": (crop_flip, 1), "float hand-over: to floats in [0, 1]": (to_01, 1),
              "float hand-over: normalisation": (normalise, 1),
              "uint8 hand-over: the (3, T, S, S) layout": (layout, 1)}
    with_workers = {}
    for kind, clip in handed.items():
        stacked = torch.stack([clip] * batch)  # (B, 3, T, S, S)
        stages[f"collation, {kind}"] = (lambda c=clip: torch.stack([c] * batch), batch)
        if torch.cuda.is_available():
            stages[f"pinning a batch, {kind}"] = (lambda b=stacked: b.pin_memory(), batch)
        with_workers[f"receiving a batch, {kind}"] = (received(clip), batch)
    stages["to_model_input"] = (lambda b=torch.stack([handed["uint8"]] * batch):
                                clips.to_model_input(b), batch)
    return stages, with_workers


def item_breakdown(figures, kinds, crop):
    """bench_data's figures -> where a training item's CPU time goes, printed as a table (AVI
    originals) and returned for data.json: dict(stage_ms={stage: CPU ms per clip}, decode_ms=
    {kind: ms to decode and scale}, source_ms={kind: ms to decode at the source size},
    item_ms={kind: {"float": ms, "uint8": ms}}: decoding and the stages on each hand-over's path
    that run on CPU cores (to_model_input runs on the device)."""
    ms = lambda name: 1000 / figures[name][0]  # CPU ms per clip
    stage_ms = {k[len("stage: "):]: ms(k) for k in figures if k.startswith("stage: ")}
    decode_ms = {n: ms(f"{n}: decode only") for n in kinds}
    source_ms = {n: ms(f"{n}: decode at the source size") for n in kinds if n != "prepared"}
    paths = ("float", "uint8")  # the hand-overs
    item_ms = {n: {p: decode_ms[n] + sum(t for k, t in stage_ms.items() if p in STAGE_PATHS[k][1])
                   for p in paths} for n in kinds}
    print(f"\nWhere a training item's CPU time goes, AVI originals (crop {crop}, one core): CPU ms "
          "per clip, and its share of the item's CPU time on each path (to_model_input runs on "
          "the device, so it is not counted)\n"
          "| stage | runs in | ms / clip | share, float hand-over | share, uint8 hand-over |\n"
          "|---|---|---|---|---|")
    shares = lambda t, on=paths: " | ".join(
        f"{t / item_ms['avi'][p]:.1%}" if p in on else "" for p in paths)
    scale = decode_ms["avi"] - source_ms["avi"]
    print(f"| decode: seek, decode, RGB at the source size | worker | {source_ms['avi']:.2f} | "
          f"{shares(source_ms['avi'])} |\n"
          f"| scale to the short side (uint8, torch) | worker | {scale:.2f} | {shares(scale)} |")
    for k, t in stage_ms.items():
        where, on = STAGE_PATHS[k]
        print(f"| {k} | {where} | {t:.3f} | {shares(t, on)} |")
    print("| item, on CPU cores | | " + " / ".join(f"{item_ms['avi'][p]:.2f}" for p in paths)
          + " | 100% | 100% |")
    old = ms("avi: decode only, FFmpeg's scaler") - source_ms["avi"]
    print(f"FFmpeg's scaler (before) spent {old:.2f} ms per clip scaling the AVIs' frames (the "
          f"difference from decoding at the source size), torch on uint8 {scale:.2f}. Decoding's "
          "share (scaling included) of the item, float / uint8 hand-over: " + "; ".join(
              f"{n} {decode_ms[n] / item_ms[n]['float']:.0%} / "
              f"{decode_ms[n] / item_ms[n]['uint8']:.0%}" for n in kinds))
    return dict(stage_ms=stage_ms, decode_ms=decode_ms, source_ms=source_ms, item_ms=item_ms)


# Where each stage runs, and the hand-overs whose path it is on (a row of benchmark.py data's table)
STAGE_PATHS = {"crop + flip": ("worker", ("float", "uint8")),
               "float hand-over: to floats in [0, 1]": ("worker", ("float",)),
               "float hand-over: normalisation": ("worker", ("float",)),
               "uint8 hand-over: the (3, T, S, S) layout": ("worker", ("uint8",)),
               "collation, float": ("worker", ("float",)),
               "collation, uint8": ("worker", ("uint8",)),
               "receiving a batch, float": ("training process", ("float",)),
               "receiving a batch, uint8": ("training process", ("uint8",)),
               "pinning a batch, float": ("training process (CUDA)", ("float",)),
               "pinning a batch, uint8": ("training process (CUDA)", ("uint8",)),
               "to_model_input": ("training process, on the device", ())}


# -----------------------------------------------------------------------------
# python -m experiments.benchmark speed

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
# python -m experiments.benchmark throughput

def bench_throughput(args):
    """Is training data-bound? Three figures, in clips per second, for the real configuration:
      loader  the DataLoader of train.py (clips.TrainClips, --workers processes), UCF-like videos
              (AVI originals, and their copy prepared by python data.py --prepare);
      step    SKD's last-phase training step (teacher forward, student forward and backward, SGD)
              on a batch in host memory (copied to the device as part of the step);
      both    the loader feeding the step, as train.py runs it.
    Each for the float hand-over (workers normalise) and for the uint8 hand-over of train.py
    (workers hand over uint8 clips; clips.to_model_input runs in the step, on the device), and
    on the originals for the path of before (float hand-over, FFmpeg's scaler; BEFORE).
    On CUDA the models are the HMDB51 cascade's teacher and student; on a CPU the simulated
    cascade's small ones (and the figures say little about a GPU run)."""
    if args.device == "cuda" and not torch.cuda.is_available():
        raise SystemExit("error: --device cuda, but no CUDA device is visible: run on a GPU, or "
                         "pass --device cpu")
    cuda = torch.cuda.is_available() and args.device != "cpu"
    if args.amp and not cuda:
        raise SystemExit("error: --amp (bf16 autocast) is for CUDA: drop it on the CPU")
    device = torch.device("cuda" if cuda else "cpu")
    cascade = (args.cascade or data.DATASETS["hmdb51" if cuda else "synthetic"]["cascade"]).split(",")
    h = data.DATASETS["hmdb51"]
    T, stride, resize, crop, B = args.clip_len, h["frame_stride"], args.resize, args.crop, args.batch
    K = h["num_classes"]
    labels = dict(labels=torch.randint(0, K, (B,)), pl_targets=torch.zeros(B, K),
                  pl_weights=torch.zeros(B), pl_keep=torch.zeros(B, dtype=torch.bool))
    labels = {k: v.to(device) for k, v in labels.items()}
    fixed = torch.randn(B, 3, T, crop, crop)  # (B, 3, T, S, S)
    fixed8 = torch.randint(0, 256, (B, 3, T, crop, crop), dtype=torch.uint8)  # (B, 3, T, S, S)

    def make_step(channels_last=cuda, compiled=False):
        """One training step on clips x (B, 3, T, S, S), float or uint8, as train.py runs it
        (models and clips channels_last_3d on CUDA), or with one lever changed; the models are
        built from seed 0 each time. -> (step, the teacher's and the student's logits on `fixed`
        before any step, float32, for the levers' agreement check)."""
        torch.manual_seed(0)
        fmt = torch.channels_last_3d if channels_last else torch.contiguous_format
        teacher = freeze(build_model(cascade[0], K)).to(device, memory_format=fmt)
        student = build_model(cascade[-1], K).to(device, memory_format=fmt)
        if compiled:  # the frozen teacher's forward, which Distiller calls, compiled once
            teacher.forward_substages = torch.compile(teacher.forward_substages)
        distiller = Distiller(student, teacher, "skd", Args(), T, crop).to(device)
        opt = torch.optim.SGD([q for q in distiller.parameters() if q.requires_grad], lr=1e-3,
                              momentum=0.9)

        def model_input(x):
            x = x.to(device, non_blocking=True)
            if x.dtype == torch.uint8:  # the uint8 hand-over: the model input made on the device
                x = clips.to_model_input(x)
            return x.contiguous(memory_format=fmt)

        def step(x):
            with torch.autocast(device.type, torch.bfloat16, enabled=args.amp):
                loss = distiller(model_input(x), labels, S + 1, 1.0)["loss"]
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()

        student.eval()  # the logits without updating BatchNorm's running statistics
        with torch.no_grad(), torch.autocast(device.type, torch.bfloat16, enabled=args.amp):
            x = model_input(fixed)
            logits = [teacher(x).float(), student(x).float()]  # teacher(x): its forward_substages
        student.train()
        return step, logits

    # train.py's step (cudnn.benchmark on CUDA, as train.py sets it), then the same step with one
    # lever changed: each kept in train.py only if faster with logits within bf16's tolerance
    torch.backends.cudnn.benchmark = cuda
    step, reference = make_step()
    levers = {"step, contiguous (no channels_last_3d)" if cuda else "step, channels_last_3d":
              dict(channels_last=not cuda)}  # the other memory format than train.py's
    if cuda:
        levers["step, cudnn.benchmark off"] = dict(benchmark=False)
    if args.compile:
        levers["step, teacher compiled (torch.compile)"] = dict(compiled=True)

    def timed(batches, run):  # clips per second over `args.steps` batches after the warm-up
        for i, x in enumerate(batches):
            if i == args.warmup:
                if cuda:
                    torch.cuda.synchronize()
                t0 = time.perf_counter()
            if i == args.warmup + args.steps:
                break
            run(x)
        if cuda:
            torch.cuda.synchronize()
        return args.steps * B / (time.perf_counter() - t0)

    def loader(videos, uint8, scaler="torch"):
        ds = clips.TrainClips(videos, [0] * len(videos), T, stride, resize, crop, uint8=uint8,
                              scaler=scaler)
        order = torch.utils.data.RandomSampler(ds, replacement=True,
                                               num_samples=(args.warmup + args.steps + 1) * B)
        return (x for x, *_ in torch.utils.data.DataLoader(
            ds, batch_size=B, sampler=order, num_workers=args.workers, pin_memory=cuda))

    # The arithmetic of one step, per clip: the teacher's forward, and the student's forward and
    # backward (about twice the forward: gradients of activations and of weights); a
    # multiply-accumulate is 2 FLOPs; connectors and losses are left out (under 1%).
    gmacs = {role: count_flops(build_model(arch, K), T, crop, crop)
             for role, arch in (("teacher", cascade[0]), ("student", cascade[-1]))}
    flop_per_clip = 2e9 * (gmacs["teacher"] + 3 * gmacs["student"])
    peak = args.peak_tflops or next((v for k, v in BF16_PEAK_TFLOPS.items()
                                     if cuda and k in torch.cuda.get_device_name()), None)

    rows = [dict(what="step", clips_per_s=timed((fixed for _ in iter(int, 1)), step)),
            dict(what="step, uint8 input", clips_per_s=timed((fixed8 for _ in iter(int, 1)),
                                                               step))]
    for what, lever in levers.items():
        torch.backends.cudnn.benchmark = lever.pop("benchmark", cuda)
        other, logits = make_step(**lever)
        # agreement: the largest logit difference from train.py's step, relative to the largest
        # logit, teacher and student; bf16 keeps 8 significant bits (2^-8 = 0.4%)
        rows.append(dict(what=what, clips_per_s=timed((fixed for _ in iter(int, 1)), other),
                         logit_rel_diff=max(float((a - b).abs().max() / b.abs().max())
                                            for a, b in zip(logits, reference))))
    torch.backends.cudnn.benchmark = cuda
    handovers = {"": False, ", uint8 hand-over": True}  # row name suffix: uint8
    with tempfile.TemporaryDirectory() as tmp:
        paths = ucf_like_videos(tmp, args.videos, frames=args.frames)["avi"]
        prepare_tree(os.path.join(tmp, "avi"), os.path.join(tmp, "prepared"), resize,
                     skip=(data.METADATA_FILE,))
        kinds = {"AVI originals": probed(paths), "prepared copy": probed(
            [os.path.join(tmp, "prepared", os.path.basename(p)) for p in paths])}
        for kind, videos in kinds.items():
            for suffix, uint8 in handovers.items():
                rows.append(dict(what=f"loader, {kind}{suffix}",
                                 clips_per_s=timed(loader(videos, uint8), lambda x: None)))
                rows.append(dict(what=f"both, {kind}{suffix}",
                                 clips_per_s=timed(loader(videos, uint8), step)))
        # the originals' path of before: float hand-over, frames scaled by FFmpeg's scaler
        for what, run in (("loader", lambda x: None), ("both", step)):
            rows.append(dict(what=f"{what}, {BEFORE}", clips_per_s=timed(
                loader(kinds["AVI originals"], False, "ffmpeg"), run)))
        # train.py's path (AVI originals, uint8 hand-over) once more, under torch.profiler: the
        # share of the wall time the GPU was busy, and where a step's time goes
        busy, profile = profiled(loader(kinds["AVI originals"], True), step, args.warmup,
                                 args.steps, cuda)
    for r in rows:
        r["tflops"] = r["clips_per_s"] * flop_per_clip / 1e12 if "loader" not in r["what"] else None
    name = torch.cuda.get_device_name() if cuda else f"CPU ({cpu_name()})"
    print(f"\n{name}; {cascade[0]} -> {cascade[-1]}, batch {B} x {T}x{crop}x{crop}"
          f"{', bf16 autocast' if args.amp else ''}; {args.workers} loader workers; "
          f"{args.steps} batches after {args.warmup}; {flop_per_clip / 1e9:.1f} GFLOP per clip "
          "and step\n| | clips / s | TFLOP/s |" + (" of bf16 peak |" if peak else "")
          + "\n|---|---|---|" + ("---|" if peak else ""))
    for r in rows:
        flops = f"{r['tflops']:.2f}" if r["tflops"] is not None else ""
        share = f" {r['tflops'] / peak:.1%} |" if peak and r["tflops"] is not None else (
            " |" if peak else "")
        print(f"| {r['what']} | {r['clips_per_s']:.1f} | {flops} |{share}")
    print("\nLevers of the step (the same step, one setting changed; logits of the teacher and the "
          "student before training, largest difference relative to the largest logit)\n"
          "| lever | clips / s | vs train.py's step | logit difference |\n|---|---|---|---|")
    for r in rows:
        if "logit_rel_diff" in r:
            print(f"| {r['what']} | {r['clips_per_s']:.1f} | "
                  f"{r['clips_per_s'] / rows[0]['clips_per_s']:.2f}x | {r['logit_rel_diff']:.1e} |")
    print(f"\ntorch.profiler, {args.steps} steps of 'both, AVI originals, uint8 hand-over': the GPU "
          f"was busy {busy:.1%} of the wall time" if busy is not None else
          f"\ntorch.profiler, {args.steps} steps of 'both, AVI originals, uint8 hand-over' "
          "(no GPU: no busy share)")
    print("| op | self time, ms | calls |\n|---|---|---|")
    for r in profile:
        print(f"| {r['op']} | {r['self_ms']:.1f} | {r['calls']} |")
    speed = {r["what"]: r["clips_per_s"] for r in rows}
    for kind in kinds:
        for suffix, uint8 in handovers.items():
            load = speed[f"loader, {kind}{suffix}"]
            take = speed["step, uint8 input" if uint8 else "step"]  # the step it feeds
            verdict = "data-bound" if load < take else "compute-bound"
            print(f"{kind}{suffix}: {verdict} (the loader gives {load / take:.2f}x the clips the "
                  "step takes)")
    # the aim: loader and step together near the step alone (train.py's path against before)
    both_share = {"train.py": speed["both, AVI originals, uint8 hand-over"]
                  / speed["step, uint8 input"], "before": speed[f"both, {BEFORE}"] / speed["step"]}
    print(f"Loader and step together, AVI originals: {both_share['train.py']:.0%} of the step "
          f"alone on train.py's path, {both_share['before']:.0%} as before")
    save_result("throughput", dict(rows=rows, device=name, cascade=cascade, batch=B, clip_len=T,
                                   crop=crop, workers=args.workers, amp=args.amp, gmacs=gmacs,
                                   gflop_per_clip_step=flop_per_clip / 1e9, bf16_peak_tflops=peak,
                                   gpu_busy_share=busy, profile=profile, both_share=both_share))


BEFORE = "AVI originals, as before (float hand-over, FFmpeg's scaler)"  # a throughput row

# dense bf16 tensor-core peaks of the data sheets, TFLOP/s; --peak-tflops for another device
BF16_PEAK_TFLOPS = {"H200": 989.0, "H100": 989.0, "A100": 312.0}


def profiled(batches, run, warmup, steps, cuda):
    """`warmup` batches of `batches` through `run`, then `steps` under torch.profiler -> (share of the wall
    time in which at least one CUDA kernel or copy ran, or None without CUDA; the 12 ops of most
    self time on the device, or on the CPU without CUDA: [dict(op, self_ms, calls)])."""
    from torch.profiler import ProfilerActivity, profile
    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if cuda else [])
    batches = iter(batches)
    for _ in range(warmup):  # the workers' start and the first allocations: not profiled
        run(next(batches))
    if cuda:
        torch.cuda.synchronize()
    with profile(activities=activities) as prof:
        t0 = time.perf_counter()
        for _ in range(steps):
            run(next(batches))
        if cuda:
            torch.cuda.synchronize()
        wall = time.perf_counter() - t0
    busy = None
    if cuda:  # the union of the device's intervals: overlapping kernels counted once
        spans = sorted((e.time_range.start, e.time_range.end) for e in prof.events()
                       if e.device_type == torch.autograd.DeviceType.CUDA)
        covered, end = 0.0, float("-inf")
        for a, b in spans:
            covered += max(0.0, b - max(a, end))
            end = max(end, b)
        busy = min(covered / 1e6 / wall, 1.0)  # microseconds -> seconds
    key = "self_device_time_total" if cuda else "self_cpu_time_total"
    ops = sorted(prof.key_averages(), key=lambda e: -getattr(e, key))[:12]
    return busy, [dict(op=e.key, self_ms=getattr(e, key) / 1e3, calls=e.count) for e in ops]


# -----------------------------------------------------------------------------
# python -m experiments.benchmark frames

def bench_frames(args):
    """Sec. 9's claim about the simulated set: classes differ only by motion, so a model that sees
    one frame should sit near chance while a clip model with the same budget does not. Both are
    the teacher architecture trained with cross-entropy on all labels, same epochs and seed."""
    p = data.DATASETS["synthetic"]
    arch = p["cascade"].split(",")[0]
    rows = []
    for clip_len in (1, p["clip_len"]):
        out = os.path.join(RESULTS, "runs", f"frames_{clip_len}")  # reused for the same key
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


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m experiments.benchmark", description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="benchmark", required=True)
    d = sub.add_parser("data", help="clips per CPU-second of the loader, and of alternatives")
    d.add_argument("--videos", type=int, default=6, help="UCF101-like videos of each container")
    d.add_argument("--clips", type=int, default=10, help="clips per loader per round")
    d.add_argument("--rounds", type=int, default=7, help="timed rounds (the median is reported)")
    d.add_argument("--warmup", type=int, default=1, help="untimed rounds")
    sp = sub.add_parser("speed", help="training-step cost per method; efficiency per model")
    sp.add_argument("--rounds", type=int, default=20, help="timed steps per variant")
    sp.add_argument("--warmup", type=int, default=3, help="untimed steps per variant")
    sp.add_argument("--summary", default="runs/synthetic_skd_p0.2_s0/summary.json",
                    help="summary.json of a run, for the accuracy column (that of `python train.py`)")
    f = sub.add_parser("frames", help="single-frame model against a clip model, same budget")
    f.add_argument("--epochs", type=int, default=10,
                   help="epochs of each model (experiments/results/frames.json: 10, the simulated set's "
                        "budget when it was made)")
    f.add_argument("--workers", type=int, default=2)
    h = data.DATASETS["hmdb51"]
    t = sub.add_parser("throughput", help="loader, training step and both, in clips/s (GPU)")
    t.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="loader processes")
    t.add_argument("--batch", type=int, default=h["batch_size"])
    t.add_argument("--steps", type=int, default=20, help="timed batches")
    t.add_argument("--warmup", type=int, default=3, help="untimed batches")
    t.add_argument("--amp", action="store_true", help="bf16 autocast (CUDA only)")
    t.add_argument("--compile", action="store_true",
                   help="also time the step with the frozen teacher under torch.compile (its "
                        "first steps compile, for a minute or more)")
    t.add_argument("--peak-tflops", type=float, help="the device's dense bf16 peak, TFLOP/s "
                   "(default: the data sheet's for H100, H200, A100)")
    t.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"],
                   help="auto: CUDA when one is visible, else the CPU")
    t.add_argument("--cascade", help="teacher,...,student (default: HMDB51's on CUDA, the "
                                     "simulated set's on a CPU)")
    t.add_argument("--clip-len", type=int, default=h["clip_len"])
    t.add_argument("--resize", type=int, default=h["resize"])
    t.add_argument("--crop", type=int, default=h["crop"])
    t.add_argument("--videos", type=int, default=8, help="UCF101-like videos to generate")
    t.add_argument("--frames", type=int, default=186, help="frames per generated video")
    args = p.parse_args(argv)
    {"data": bench_data, "speed": bench_speed, "frames": bench_frames,
     "throughput": bench_throughput}[args.benchmark](args)


if __name__ == "__main__":
    main()
