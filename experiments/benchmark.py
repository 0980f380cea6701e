"""Benchmarks whose figures go into the README. Speed is measured here, never in the tests.

    python -m experiments.benchmark data    # clips per core: video.py, prepared copy, alternatives
    python -m experiments.benchmark speed   # a training step's cost per method; each model's cost
    python -m experiments.benchmark frames  # the simulated set's own check: one frame is not enough
    python -m experiments.benchmark throughput --amp  # on a GPU: is training data-bound?

`speed` and `frames` are experiments/cost.py's; HMDB51's whole recipe, timed on a generated
tree of its size, is experiments/rehearsal.py.

Every figure is a ratio measured in one run on one machine, because absolute times on a shared
machine are noisy. Results are printed as Markdown tables and written to
experiments/results/<name>.json. The accuracy of every method is grid.py's.
"""
import sys

if __name__ == "__main__" and not __package__:  # run as a file, not as the package's module
    sys.exit("error: run the lab from the repository's root as: python -m experiments.benchmark")

import argparse
import functools
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
from models import build_model, count_flops
from synthetic import write_video
from video import clip_indices, decode_size, prepare_tree, read_frames

from experiments import cpu_name, save_result


def table(title, header, rows):
    """Print a Markdown table under `title`; header and each row are lists of cells."""
    print(f"\n{title}\n| " + " | ".join(header) + " |\n|" + "---|" * len(header))
    for row in rows:
        print("| " + " | ".join(str(cell) for cell in row) + " |")


def interleaved(loaders, rounds, warmup, clips):
    """{name: fn() that loads one clip, or (fn, R) for fn that loads R} -> {name: (median clips
    per CPU-second, median clips per wall second)}. Round by round, every loader loads `clips`
    clips in turn, so a slow-down of the shared machine hits all alike; the first `warmup`
    rounds are not counted."""
    rates = {n: [] for n in loaders}  # per round: (clips per CPU-second, per wall second)
    for r in range(warmup + rounds):
        for name, load in loaders.items():
            load, per_call = load if isinstance(load, tuple) else (load, 1)  # (fn, clips a call)
            calls = math.ceil(clips / per_call)
            c0, w0 = time.process_time(), time.perf_counter()
            for _ in range(calls):
                load()
            if r >= warmup:
                rates[name].append((calls * per_call / (time.process_time() - c0),
                                    calls * per_call / (time.perf_counter() - w0)))
    return {n: tuple(float(m) for m in np.median(rates[n], axis=0)) for n in loaders}


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


def bench_data(args):
    """Clips per CPU-second of one training item with one decoder and one torch thread, i.e. per
    core as in a DataLoader worker: HMDB51's configuration (16 frames, stride 2, short side 128,
    crop 112) on UCF-like AVI and MP4, and on the prepared copy (python data.py --prepare),
    against the ways this could be done instead. An item ("video.py") is what train.py's workers
    do: decode, scale on uint8, crop and flip, hand over the uint8 clip; its conversion to floats
    (clips.to_model_input) runs where the model runs and is not counted here."""
    torch.set_num_threads(1)
    h = data.DATASETS["hmdb51"]
    T, stride, resize, crop = h["clip_len"], h["frame_stride"], h["resize"], h["crop"]
    rng = np.random.default_rng(0)

    def item(videos, read):  # a clip of a random video from a random start, as TrainClips draws
        def load():
            v = videos[int(rng.integers(len(videos)))]
            start = int(rng.integers(0, max(v.num_frames - (T - 1) * stride - 1, 0) + 1))
            frames = read(v, clip_indices(v.num_frames, T, stride, start))  # (T, H, W, 3)
            return clips.train_transform(frames, resize, crop, rng)  # (3, T, crop, crop) uint8
        return load

    def train_clips(videos, R):  # an item of train.py's data set: R clips of a random video
        ds = clips.TrainClips(videos, [0] * len(videos), T, stride, resize, crop, repeat=R)
        return lambda: ds[int(rng.integers(1 << 30))]  # index = a new draw, any video

    fixed_clip = list(range(40, 40 + T * stride, stride))  # a 16x2 clip
    decode = lambda videos, read: lambda: read(videos[int(rng.integers(len(videos)))], fixed_clip)
    ours = lambda v, idx: read_frames(v.path, idx, 1, v.table, decode_size(v, resize))
    source = lambda v, idx: read_frames(v.path, idx, 1, v.table)  # then scaled as floats
    whole = lambda v, idx: read_whole_video(v.path, idx)
    with tempfile.TemporaryDirectory() as tmp:
        print(f"writing {args.videos} UCF101-like videos (186 frames, 320x240) as AVI and MP4 ...")
        paths = ucf_like_videos(tmp, args.videos)
        sets = {ext: probed(ps) for ext, ps in paths.items()}
        t0, prepared = time.process_time(), os.path.join(tmp, "prepared")
        report = prepare_tree(os.path.join(tmp, "avi"), prepared, resize, workers=1,
                              skip=(data.METADATA_FILE,))
        prep_cpu = (time.process_time() - t0) / args.videos  # CPU-seconds per video
        sets["prepared"] = probed([os.path.join(prepared, os.path.basename(p))
                                   for p in paths["avi"]])
        loaders, decode_only = {}, {}  # decode_only: the fixed clip, decoded (and scaled) only
        for name, videos in sets.items():
            loaders[f"{name}: video.py"] = item(videos, ours)
            decode_only[f"{name}: decode only"] = decode(videos, ours)
            if name != "prepared":  # (the prepared copy is at the short side: no scaling)
                loaders[f"{name}: video.py, resize as floats"] = item(videos, source)
                loaders[f"{name}: decode all + slice"] = item(videos, whole)
                decode_only[f"{name}: decode at the source size"] = decode(videos, source)
            for R in REPEATS:  # train.py's data set as it runs: --repeat-clips R
                loaders[f"{name}: TrainClips, R = {R}"] = (train_clips(videos, R), R)
        stages, with_workers = ({f"stage: {k}": f for k, f in d.items()} for d in item_stages(
            ours(sets["avi"][0], fixed_clip), crop, h["batch_size"], rng))
        print(f"timing: {args.warmup} + {args.rounds} interleaved rounds of {args.clips} clips")
        figures = interleaved({**loaders, **decode_only, **stages}, args.rounds, args.warmup,
                              args.clips)
        figures.update(interleaved(with_workers, args.rounds, args.warmup, args.clips))
        disk = {n: sum(os.path.getsize(v.path) for v in vs) / len(vs) for n, vs in sets.items()}
    rows = [dict(loader=n, clips_per_cpu_s=round(c, 1), clips_per_wall_s=round(w, 1))
            for n, (c, w) in figures.items()]
    table(f"One training item ({T}x{stride} frames -> short side {resize} -> crop {crop}, uint8), "
          f"one core; median of {args.rounds} rounds",
          ["videos: loader", "clips / CPU-s", "clips / s (wall)"], [r.values() for r in rows])
    gain = figures["prepared: video.py"][0] / figures["avi: video.py"][0]
    print(f"\nThe prepared copy: {gain:.1f}x the clips per CPU-second of the AVI originals; "
          f"{disk['prepared'] / disk['avi']:.2f}x their disk size; preparing costs "
          f"{prep_cpu:.2f} CPU-s per video ({report['prepared']} prepared)")
    repeat_gain = {n: {R: figures[f"{n}: TrainClips, R = {R}"][0]
                       / figures[f"{n}: TrainClips, R = 1"][0] for R in REPEATS[1:]} for n in sets}
    print("Repeated sampling (--repeat-clips R, R clips per decode): " + "; ".join(
        f"{n}: " + ", ".join(f"R = {R} {g:.2f}x" for R, g in gains.items())
        for n, gains in repeat_gain.items()) + " the clips per CPU-second of R = 1")
    breakdown = item_breakdown(figures, list(sets), crop)
    save_result("data", dict(rows=rows, prepared_gain=gain, prepared_cpu_s_per_video=prep_cpu,
                             repeat_gain=repeat_gain, **breakdown, bytes_per_video=disk,
                             rounds=args.rounds, clips=args.clips, videos=args.videos))


REPEATS = (1, 2, 4)  # --repeat-clips of benchmark.py data


def item_stages(frames, crop, batch, rng):
    """The steps of a training item after its decoding, each alone -> ({stage: (fn, clips per
    call)}, the same for the stage with a worker process) for interleaved(). frames: one decoded
    clip, uint8 (T, H, W, 3) with the short side already scaled. In a DataLoader worker: the crop
    and flip, the hand-over's (3, T, S, S) layout, the collation of `batch` clips; in the training
    process: receiving a batch from a worker, pinning it (CUDA only), and clips.to_model_input,
    which runs on the device (timed here on the CPU, the cost a GPU takes over). The stage with
    a worker is timed after the others, so that no worker process runs beside them."""
    _, H, W, _ = frames.shape
    x = frames[:, :crop, :crop]  # (T, S, S, 3) uint8, a view like the random crop
    clip = clips._handed_over(x)  # (3, T, S, S) uint8
    batched = torch.stack([clip] * batch)  # (B, 3, T, S, S)

    def crop_flip():  # as train_transform draws them: the flip on half the clips
        top, left = int(rng.integers(0, H - crop + 1)), int(rng.integers(0, W - crop + 1))
        c = frames[:, top:top + crop, left:left + crop]  # (T, S, S, 3), a view
        return c.flip(2) if rng.random() < 0.5 else c

    def batches():  # batches one worker process collates; this process's CPU time per batch is
        # unpickling it and mapping its shared memory. The worker starts at the first call.
        yield from torch.utils.data.DataLoader([clip] * batch * 1000, batch_size=batch,
                                               num_workers=1)

    stages = {"crop + flip": (crop_flip, 1),
              "the (3, T, S, S) layout": (lambda: clips._handed_over(x), 1),
              "collation": (lambda: torch.stack([clip] * batch), batch)}
    if torch.cuda.is_available():
        stages["pinning a batch"] = (batched.pin_memory, batch)
    stages["to_model_input"] = (lambda: clips.to_model_input(batched), batch)
    return stages, {"receiving a batch": (functools.partial(next, batches()), batch)}


# Where each stage of benchmark.py data's table runs; all but the device's run on CPU cores
STAGE_WHERE = {"crop + flip": "worker", "the (3, T, S, S) layout": "worker", "collation": "worker",
               "receiving a batch": "training process",
               "pinning a batch": "training process (CUDA)",
               "to_model_input": "training process, on the device"}


def item_breakdown(figures, kinds, crop):
    """bench_data's figures -> where a training item's CPU time goes, printed as a table (AVI
    originals) and returned for data.json: dict(stage_ms={stage: CPU ms per clip}, decode_ms=
    {kind: ms to decode and scale}, source_ms={kind: ms to decode at the source size},
    item_ms={kind: ms}: decoding and the stages that run on CPU cores (to_model_input runs on
    the device)."""
    ms = lambda name: 1000 / figures[name][0]  # CPU ms per clip
    stage_ms = {k[len("stage: "):]: ms(k) for k in figures if k.startswith("stage: ")}
    decode_ms = {n: ms(f"{n}: decode only") for n in kinds}
    source_ms = {n: ms(f"{n}: decode at the source size") for n in kinds if n != "prepared"}
    on_cores = {k: t for k, t in stage_ms.items() if "device" not in STAGE_WHERE[k]}
    item_ms = {n: decode_ms[n] + sum(on_cores.values()) for n in kinds}
    share = lambda t: f"{t / item_ms['avi']:.1%}"
    scale = decode_ms["avi"] - source_ms["avi"]
    table(f"Where a training item's CPU time goes, AVI originals (crop {crop}, one core): CPU ms "
          "per clip, and its share of the item's CPU time (to_model_input runs on the device, so "
          "it is not counted)", ["stage", "runs in", "ms / clip", "share of the item"],
          [["decode: seek, decode, RGB at the source size", "worker", f"{source_ms['avi']:.2f}",
            share(source_ms["avi"])],
           ["scale to the short side (uint8, torch)", "worker", f"{scale:.2f}", share(scale)]]
          + [[k, STAGE_WHERE[k], f"{t:.3f}", share(t) if k in on_cores else ""]
             for k, t in stage_ms.items()]
          + [["item, on CPU cores", "", f"{item_ms['avi']:.2f}", "100%"]])
    print("Decoding's share (scaling included) of the item: "
          + "; ".join(f"{n} {decode_ms[n] / item_ms[n]:.0%}" for n in kinds))
    return dict(stage_ms=stage_ms, decode_ms=decode_ms, source_ms=source_ms, item_ms=item_ms)


# -----------------------------------------------------------------------------
# python -m experiments.benchmark speed

def labelled_batch(B, K, device="cpu"):
    """What Distiller takes beside the clips: B random labels, no pseudo-labels."""
    zeros = functools.partial(torch.zeros, device=device)
    return dict(labels=torch.randint(0, K, (B,), device=device), pl_targets=zeros(B, K),
                pl_weights=zeros(B), pl_keep=zeros(B, dtype=torch.bool))


# -----------------------------------------------------------------------------
# python -m experiments.benchmark throughput

# dense bf16 tensor-core peaks of the data sheets, TFLOP/s; --peak-tflops for another device
BF16_PEAK_TFLOPS = {"H200": 989.0, "H100": 989.0, "A100": 312.0}


def bench_throughput(args):
    """Is training data-bound? Three figures, in clips per second, for the real configuration:
      loader  the DataLoader of train.py (clips.TrainClips, --workers processes), UCF-like videos
              (AVI originals, and their copy prepared by python data.py --prepare);
      step    SKD's last-phase training step (teacher forward, student forward and backward, SGD)
              on a batch of uint8 clips in host memory, copied to the device and turned into the
              model input there (clips.to_model_input) as part of the step;
      both    the loader feeding the step, as train.py runs it.
    Then the levers of the step (each kept in train.py only if faster, with logits within bf16's
    tolerance), and torch.profiler of 'both' on the AVI originals. On CUDA the models are the
    HMDB51 cascade's teacher and student; on a CPU the simulated cascade's small ones (and the
    figures say little about a GPU run)."""
    if args.device == "cuda" and not torch.cuda.is_available():
        raise SystemExit("error: --device cuda, but no CUDA device is visible: run on a GPU, or "
                         "pass --device cpu")
    cuda = torch.cuda.is_available() and args.device != "cpu"
    if args.amp and not cuda:
        raise SystemExit("error: --amp (bf16 autocast) is for CUDA: drop it on the CPU")
    device = torch.device("cuda" if cuda else "cpu")
    sync = torch.cuda.synchronize if cuda else lambda: None  # wait for the device's queue
    cascade = (args.cascade or data.DATASETS["hmdb51" if cuda else "synthetic"]["cascade"]).split(",")
    h = data.DATASETS["hmdb51"]
    T, stride, resize, crop, B = args.clip_len, h["frame_stride"], args.resize, args.crop, args.batch
    K = h["num_classes"]
    labels = labelled_batch(B, K, device)
    fixed = torch.randint(0, 256, (B, 3, T, crop, crop), dtype=torch.uint8)  # (B, 3, T, S, S)

    def make_step(channels_last=cuda, compiled=False):
        """One training step on uint8 clips x (B, 3, T, S, S) as train.py runs it (models and
        clips channels_last_3d on CUDA), or with one lever changed; the models are built from
        seed 0 each time. -> (step, the teacher's and the student's logits on `fixed` before
        any step, float32, for the levers' agreement check)."""
        torch.manual_seed(0)
        fmt = torch.channels_last_3d if channels_last else torch.contiguous_format
        teacher = freeze(build_model(cascade[0], K)).to(device, memory_format=fmt)
        student = build_model(cascade[-1], K).to(device, memory_format=fmt)
        if compiled:  # the frozen teacher's forward, which Distiller calls, compiled once
            teacher.forward_substages = torch.compile(teacher.forward_substages)
        distiller = Distiller(student, teacher, "skd", Args(), T, crop).to(device)
        opt = torch.optim.SGD([q for q in distiller.parameters() if q.requires_grad], lr=1e-3,
                              momentum=0.9)
        model_input = lambda x: clips.to_model_input(  # float (B, 3, T, S, S), on the device
            x.to(device, non_blocking=True)).contiguous(memory_format=fmt)

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

    def timed(batches, run):  # clips per second over `args.steps` batches after the warm-up
        for i, x in enumerate(batches):
            if i == args.warmup:
                sync()
                t0 = time.perf_counter()
            if i == args.warmup + args.steps:
                break
            run(x)
        sync()
        return args.steps * B / (time.perf_counter() - t0)

    def loader(videos):  # train.py's DataLoader: batches of uint8 clips (B, 3, T, S, S)
        ds = clips.TrainClips(videos, [0] * len(videos), T, stride, resize, crop)
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
    forever = lambda: (fixed for _ in iter(int, 1))  # the same batch, again and again
    rows = [dict(what="step", clips_per_s=timed(forever(), step))]
    for what, lever in levers.items():
        torch.backends.cudnn.benchmark = lever.pop("benchmark", cuda)
        other, logits = make_step(**lever)
        # agreement: the largest logit difference from train.py's step, relative to the largest
        # logit, teacher and student; bf16 keeps 8 significant bits (2^-8 = 0.4%)
        rows.append(dict(what=what, clips_per_s=timed(forever(), other),
                         logit_rel_diff=max(float((a - b).abs().max() / b.abs().max())
                                            for a, b in zip(logits, reference))))
    torch.backends.cudnn.benchmark = cuda
    with tempfile.TemporaryDirectory() as tmp:
        paths = ucf_like_videos(tmp, args.videos, frames=args.frames)["avi"]
        prepare_tree(os.path.join(tmp, "avi"), os.path.join(tmp, "prepared"), resize,
                     skip=(data.METADATA_FILE,))
        kinds = {"AVI originals": probed(paths), "prepared copy": probed(
            [os.path.join(tmp, "prepared", os.path.basename(p)) for p in paths])}
        for kind, videos in kinds.items():
            rows.append(dict(what=f"loader, {kind}",
                             clips_per_s=timed(loader(videos), lambda x: None)))
            rows.append(dict(what=f"both, {kind}", clips_per_s=timed(loader(videos), step)))
        # 'both' on the AVI originals once more, under torch.profiler: the share of the wall time
        # the GPU was busy, and where a step's time goes
        busy, profile = profiled(loader(kinds["AVI originals"]), step, args.warmup, args.steps,
                                 cuda, sync)
    for r in rows:
        r["tflops"] = r["clips_per_s"] * flop_per_clip / 1e12 if "loader" not in r["what"] else None
    name = torch.cuda.get_device_name() if cuda else f"CPU ({cpu_name()})"
    speed = {r["what"]: r["clips_per_s"] for r in rows}
    flops = lambda r: (  # TFLOP/s and, when known, the share of the bf16 peak; none for a loader
        [""] * (1 + bool(peak)) if r["tflops"] is None else
        [f"{r['tflops']:.2f}"] + ([f"{r['tflops'] / peak:.1%}"] if peak else []))
    table(f"{name}; {cascade[0]} -> {cascade[-1]}, batch {B} x {T}x{crop}x{crop}"
          f"{', bf16 autocast' if args.amp else ''}; {args.workers} loader workers; {args.steps} "
          f"batches after {args.warmup}; {flop_per_clip / 1e9:.1f} GFLOP per clip and step",
          ["", "clips / s", "TFLOP/s"] + (["of bf16 peak"] if peak else []),
          [[r["what"], f"{r['clips_per_s']:.1f}", *flops(r)] for r in rows])
    table("Levers of the step (the same step, one setting changed; logits of the teacher and the "
          "student before training, largest difference relative to the largest logit)",
          ["lever", "clips / s", "vs train.py's step", "logit difference"],
          [[r["what"], f"{r['clips_per_s']:.1f}", f"{r['clips_per_s'] / speed['step']:.2f}x",
            f"{r['logit_rel_diff']:.1e}"] for r in rows if "logit_rel_diff" in r])
    busy_text = f"the GPU was busy {busy:.1%} of the wall time" if busy is not None else "no GPU"
    table(f"torch.profiler, {args.steps} steps of 'both, AVI originals': {busy_text}",
          ["op", "self time, ms", "calls"],
          [[r["op"], f"{r['self_ms']:.1f}", r["calls"]] for r in profile])
    for kind in kinds:
        ratio = speed[f"loader, {kind}"] / speed["step"]
        print(f"{kind}: {'data-bound' if ratio < 1 else 'compute-bound'} (the loader gives "
              f"{ratio:.2f}x the clips the step takes)")
    # the aim: loader and step together near the step alone
    both_share = {kind: speed[f"both, {kind}"] / speed["step"] for kind in kinds}
    print("Loader and step together, as a share of the step alone: " + ", ".join(
        f"{share:.0%} ({kind})" for kind, share in both_share.items()))
    save_result("throughput", dict(rows=rows, device=name, cascade=cascade, batch=B, clip_len=T,
                                   crop=crop, workers=args.workers, amp=args.amp, gmacs=gmacs,
                                   gflop_per_clip_step=flop_per_clip / 1e9, bf16_peak_tflops=peak,
                                   gpu_busy_share=busy, profile=profile, both_share=both_share))


def profiled(batches, run, warmup, steps, cuda, sync):
    """`warmup` batches of `batches` through `run`, then `steps` under torch.profiler -> (share
    of the wall time in which at least one CUDA kernel or copy ran, or None without CUDA; the 12
    ops of most self time on the device, or on the CPU without CUDA: [dict(op, self_ms, calls)])."""
    from torch.profiler import ProfilerActivity, profile
    batches = iter(batches)
    for _ in range(warmup):  # the workers' start and the first allocations: not profiled
        run(next(batches))
    sync()
    with profile(activities=[ProfilerActivity.CPU] + [ProfilerActivity.CUDA] * cuda) as prof:
        t0 = time.perf_counter()
        for _ in range(steps):
            run(next(batches))
        sync()
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


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m experiments.benchmark",
                                description=__doc__.split("\n\n")[0])
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
    f.add_argument("--epochs", type=int, default=10, help="epochs of each model (experiments/"
                   "results/frames.json: 10, the simulated set's budget when it was made)")
    f.add_argument("--workers", type=int, default=2)
    h = data.DATASETS["hmdb51"]
    t = sub.add_parser("throughput", help="loader, training step and both, in clips/s (GPU)")
    t.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="loader processes")
    t.add_argument("--batch", type=int, default=h["batch_size"])
    t.add_argument("--steps", type=int, default=20, help="timed batches")
    t.add_argument("--warmup", type=int, default=3, help="untimed batches")
    t.add_argument("--amp", action="store_true", help="bf16 autocast (CUDA only)")
    t.add_argument("--compile", action="store_true", help="also time the step with the frozen "
                   "teacher under torch.compile (its first steps compile, for a minute or more)")
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
    from experiments.cost import bench_frames, bench_speed  # which import this module's helpers
    {"data": bench_data, "speed": bench_speed, "frames": bench_frames,
     "throughput": bench_throughput}[args.benchmark](args)


if __name__ == "__main__":
    main()
