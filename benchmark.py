"""Benchmarks whose figures go into the README. Speed is measured here, never in the tests.

    python benchmark.py data    # clip loading: seek-and-decode-the-clip vs decode-everything
    python benchmark.py speed   # cost of a training step of each method; efficiency of each model
    python benchmark.py accuracy --quick   # every method and SKD ablation on the simulated set
    python benchmark.py frames  # the simulated set's own check: one frame must not be enough

Every figure is a ratio measured in one run on one machine, because absolute times on a shared
machine are noisy. Results are printed as a Markdown table and written to results/<name>.json.
"""
import argparse
import contextlib
import hashlib
import json
import multiprocessing
import os
import platform
import signal
import sys
import tempfile
import time
from dataclasses import asdict

import av
import numpy as np
import torch

import data
import train
from cascade import METHODS, S, Distiller, freeze
from models import build_model, count_flops, count_params, cpu_latency
from synthetic import write_video


def _cpu_name():
    try:
        with open("/proc/cpuinfo") as f:
            return next(l.split(":", 1)[1].strip() for l in f if l.startswith("model name"))
    except (OSError, StopIteration):
        return platform.processor() or "unknown CPU"


def _save(name, result):
    os.makedirs("results", exist_ok=True)
    result = dict(result, cpu=_cpu_name(), cores=os.cpu_count(), torch=torch.__version__,
                  pyav=av.__version__)
    with open(os.path.join("results", f"{name}.json"), "w") as f:
        json.dump(result, f, indent=1)
    print(f"wrote results/{name}.json")


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
        frames = read(v.path, data.clip_indices(v.num_frames, clip_len, stride, start))
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
        ucf = [data.Video(p, 0, **data.probe_video(p)) for p in paths]
        u = data.DATASETS["ucf101"]
        sets.append(("UCF101-like (186 x 320x240)", ucf, u["clip_len"], u["frame_stride"],
                     u["resize"], u["crop"]))
        for name, videos, clip_len, stride, resize, crop in sets:
            ours = _time_loader(lambda p, i: data.read_frames(p, i, threads=1), videos,
                                clip_len, stride, resize, crop, args.clips)
            whole = _time_loader(read_whole_video, videos, clip_len, stride, resize, crop,
                                 args.clips)
            rows.append(dict(videos=name, clip=f"{clip_len}x{stride} -> {crop}px",
                             data_py_clips_per_s=round(ours, 1),
                             whole_video_clips_per_s=round(whole, 1),
                             ratio=round(ours / whole, 2)))
    print("\n| videos | clip (T x stride -> crop) | data.py clips/s | decode all + slice "
          "clips/s | ratio |\n|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['videos']} | {r['clip']} | {r['data_py_clips_per_s']} | "
              f"{r['whole_video_clips_per_s']} | {r['ratio']}x |")
    print("(one process, one decoder thread, one torch thread; clips include the train transform)")
    _save("data", dict(rows=rows, clips=args.clips))


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
        cfg = train.Args(epochs=p["epochs"], hybrid=hybrid)
        distiller = Distiller(build_model(archs[-1], K), teacher if method != "ce" else None,
                              method, cfg, T, crop)
        opt = torch.optim.SGD([q for q in distiller.parameters() if q.requires_grad], lr=1e-3)
        steps[name] = (distiller, opt, phase)
    times = {name: [] for name in variants}
    for r in range(args.warmup + args.rounds):
        for name, (distiller, opt, phase) in steps.items():
            t0 = time.perf_counter()
            loss = distiller(x, batch, phase, epoch=0)["loss"]
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
    _save("speed", dict(steps=rows, models=models, rounds=args.rounds))


# -----------------------------------------------------------------------------
# python benchmark.py accuracy

ABLATIONS = {"joint schedule": ["--joint"], "no correlation (Eq. C)": ["--no-corr"],
             "no distribution loss (Eq. D)": ["--no-dist"], "no cascade": ["--no-cascade"],
             "no pseudo-labels": ["--no-pseudo"], "hybrid paths on": ["--hybrid"]}

# The grid's budget: about 130 trainings must fit in 60 minutes on 2 CPU cores. Models trained from
# scratch need several hundred steps before they leave chance on the motion classes, so the grid
# uses a smaller, cleaner simulated set than train.py's default (6 classes, difficulty 0.1) and
# 4-frame clips (stride 3: a 10-frame span) at the default 28 x 28 crop. As on real data, where the
# teacher starts from Kinetics-400 weights, the teacher is pretrained once, with all labels, on a
# second simulated set of the 6 *other* motions (no class in common), then fine-tuned on D_L.
BENCH = dict(classes=6, videos_per_class=140, difficulty=0.1, clip_len=4, frame_stride=3,
             eval_clips=2, pl_clips=2, pretrain_epochs=30, teacher_epochs=10, epochs=10)


def _mean_std(values):
    return (float(np.mean(values)), float(np.std(values))) if values else (float("nan"),) * 2


# -- the run cache. A run folder is reused (or resumed) only when everything that made its results
# is what is asked for now: run_key.json in the folder holds every train.py setting (defaults
# filled in), the content hash of every weight file the run loads, the simulated set's generator
# parameters and the hash of every module train.py runs. A folder made otherwise is set aside
# (renamed, never deleted), the differences are printed, and the run starts again.
REPO = os.path.dirname(os.path.abspath(__file__))
NOT_RESULTS = ("out", "resume", "workers", "log_every")  # settings that change no number


def _sha(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def run_key(flags):
    """What made the results of `train.py flags`: a dict, and its hash under key['hash']."""
    a = train.parse_args(flags + ["--out", os.devnull])  # parsed and checked as train.py does
    info = os.path.join(a.data_root, "synthetic.json")
    if os.path.isfile(info):  # the simulated set is a function of its parameters (and the code)
        with open(info) as f:
            data_key = json.load(f)
    else:  # real data: the file names and sizes under the root
        data_key = hashlib.sha256("\n".join(
            f"{os.path.relpath(os.path.join(d, n), a.data_root)} {os.path.getsize(os.path.join(d, n))}"
            for d, _, names in sorted(os.walk(a.data_root)) for n in sorted(names)).encode()).hexdigest()
    key = dict(config={k: v for k, v in asdict(a).items() if k not in NOT_RESULTS},
               weights=[_sha(w) for w in (a.teacher_weights or "").split(",") if w],
               data=data_key,
               code={f: _sha(os.path.join(REPO, f)) for f in sorted(os.listdir(REPO))
                     if f.endswith(".py") and f != "benchmark.py"})
    key["hash"] = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:16]
    return key


def key_differences(saved, wanted, prefix=""):
    """['config.lr: 0.01 -> 0.02', 'weights[0]: changed', ...]: where two run keys differ."""
    if isinstance(saved, dict) and isinstance(wanted, dict):
        return [d for k in sorted(set(saved) | set(wanted)) if k != "hash"
                for d in key_differences(saved.get(k), wanted.get(k), f"{prefix}{k}.")]
    if isinstance(saved, list) and isinstance(wanted, list) and len(saved) == len(wanted):
        return [d for i, (x, y) in enumerate(zip(saved, wanted))
                for d in key_differences(x, y, f"{prefix[:-1]}[{i}].")]
    if saved == wanted:
        return []
    if prefix.startswith(("code.", "weights")) and saved is not None and wanted is not None:
        return [f"{prefix[:-1]}: changed"]  # two hashes say nothing to a reader
    return [f"{prefix[:-1]}: {saved!r} -> {wanted!r}"]


def _train(out, flags):
    """train.main into `out`, unless a run with the same key finished there (then its summary is
    reused; an interrupted one is resumed). Returns the summary, with the run's key hash."""
    key, key_path = run_key(flags), os.path.join(out, "run_key.json")
    saved = None
    if os.path.isfile(key_path):
        with open(key_path) as f:
            saved = json.load(f)
    if os.path.isdir(out) and os.listdir(out) and saved != key:
        n = 1
        while os.path.exists(f"{out}.stale{n}"):
            n += 1
        os.rename(out, f"{out}.stale{n}")
        why = (", ".join(key_differences(saved, key)[:6]) if saved else "no run_key.json")
        print(f"{out} was made by another configuration ({why}): set aside as {out}.stale{n}, "
              "training again", flush=True)
    if not os.path.isfile(os.path.join(out, "summary.json")):
        os.makedirs(out, exist_ok=True)
        with open(key_path, "w") as f:
            json.dump(key, f, indent=1)
        again = ["--resume"] if os.path.isfile(os.path.join(out, "checkpoint.pt")) else []
        train.main(flags + again + ["--out", out])
    with open(os.path.join(out, "summary.json")) as f:
        return dict(json.load(f), run_key=key["hash"])


def _jobs(args, fraction):
    """(name, is ablation, train.py flags) of every student run at one label fraction."""
    jobs = [(m, False, ["--method", m]) for m in args.methods]
    if fraction == args.ablation_fraction:
        jobs += [(f"skd, {n}", True, ["--method", "skd"] + flags) for n, flags in ABLATIONS.items()]
    return jobs


def _common(root, args):
    flags = ["--data-root", root, "--workers", "0", "--log-every", "120"]
    for k in ("clip_len", "frame_stride", "eval_clips", "pl_clips"):
        flags += ["--" + k.replace("_", "-"), str(BENCH[k])]
    if args.max_steps_per_epoch:
        flags += ["--max-steps-per-epoch", str(args.max_steps_per_epoch)]
    return flags


def _group(args, root, pretrained, fraction, seed, threads):
    """Teacher, both assistants and every student run of one (label fraction, seed) -> records.

    Runs in a worker process of its own, with `threads` torch threads and its output in log.txt
    beside the runs (train.py prints progress lines that would interleave)."""
    torch.set_num_threads(threads)
    folder = os.path.join("results", "runs", os.path.basename(root), f"p{fraction:g}_s{seed}")
    os.makedirs(folder, exist_ok=True)
    teacher_arch, assistant_arch, _ = data.DATASETS["synthetic"]["cascade"].split(",")
    common = _common(root, args) + ["--label-fraction", str(fraction), "--seed", str(seed)]
    short = ["--epochs", str(args.epochs), "--eval-every", str(args.epochs)]  # evaluate once
    runs = []
    with open(os.path.join(folder, "log.txt"), "a") as log, \
            contextlib.redirect_stdout(log), contextlib.redirect_stderr(log):
        def record(name, kind, summary):
            m = summary["models"][-1]  # the model this run trained
            runs.append(dict(name=name, kind=kind, fraction=fraction, seed=seed, arch=m["arch"],
                             gflops=m["gflops"], video_acc=m["video_acc"], clip_acc=m["clip_acc"],
                             seconds=summary["wall_seconds"], run_key=summary["run_key"],
                             models=[{k: r[k] for k in ("role", "arch", "video_acc", "clip_acc")}
                                     for r in summary["models"]]))  # loaded ones included

        teacher = os.path.join(folder, "teacher", f"model0_{teacher_arch}.pt")
        record("teacher (ce)", "cascade", _train(os.path.dirname(teacher), common + [  # eval once
            "--method", "ce", "--cascade", teacher_arch, "--teacher-weights", pretrained,
            "--teacher-epochs", str(args.teacher_epochs), "--eval-every", "1000"]))
        assistants = {}  # method -> its assistant, distilled from the teacher with that method
        for method, name in (("kd", "assistant"), ("skd", "assistant_skd")):  # takd's, skd's
            assistants[method] = os.path.join(folder, name, f"model1_{assistant_arch}.pt")
            record(f"assistant ({method})", "cascade", _train(os.path.dirname(
                assistants[method]), common + short + ["--method", method, "--cascade",
                                                       f"{teacher_arch},{assistant_arch}",
                                                       "--teacher-weights", teacher]))
        for name, ablation, flags in _jobs(args, fraction):
            out = os.path.join(folder, name.replace(", ", "_").replace(" ", "-"))
            through = flags[1] in ("takd", "skd") and "--no-cascade" not in flags
            weights = teacher
            if through:  # takd: the KD-trained assistant; skd and its ablations: SKD's own
                weights += "," + assistants["kd" if flags[1] == "takd" else "skd"]
            record(name, "ablation" if ablation else "method",
                   _train(out, common + short + flags + ["--teacher-weights", weights]))
    return runs


def _group_star(job):
    return _group(*job)


def bench_accuracy(args):
    """Every --method, then SKD with each part removed, with the same budget, data and labels.

    Per seed and label fraction, the teacher is fine-tuned once (cross-entropy on D_L) and each
    assistant trained once from it: by KD (TAKD's teacher assistant) and by SKD (SKD's first link,
    shared by SKD's ablations, which thus change the last link only); every method loads them with
    --teacher-weights, so the tables compare the distillation into the student alone.
    The (fraction, seed) groups run in --jobs processes of 2 / jobs threads each (small models use
    two single-threaded processes better than one two-threaded one). Each run is the real
    train.py; its folder is results/runs/<simulated set>/p<fraction>_s<seed>/<name>.
    """
    t0 = time.time()
    root = os.path.join("data", f"synthetic_bench_v{args.videos_per_class}_s{args.set_seed}")
    params = dict(classes=BENCH["classes"], seed=args.set_seed, difficulty=BENCH["difficulty"],
                  videos_per_class=args.videos_per_class)
    data.ensure_synthetic(root, **params)
    data.ensure_synthetic(root + "_pretrain", **params, first_class=BENCH["classes"])
    teacher_arch = data.DATASETS["synthetic"]["cascade"].split(",")[0]
    pretrained = os.path.join("results", "runs", os.path.basename(root), "pretrain",
                              f"model0_{teacher_arch}.pt")
    other = data.MOTIONS[BENCH["classes"]:2 * BENCH["classes"]]
    print(f"pretraining the teacher on {root}_pretrain: {', '.join(other)}", flush=True)
    _train(os.path.dirname(pretrained), _common(root + "_pretrain", args) + [
        "--method", "ce", "--cascade", teacher_arch, "--label-fraction", "1.0",
        "--epochs", str(args.pretrain_epochs), "--eval-every", "1000"])
    # without its last layer (those classes are not the target's): the teacher gets a new one
    backbone = pretrained.replace("model0_", "backbone_")
    state = torch.load(pretrained, map_location="cpu", weights_only=True)
    torch.save({k: v for k, v in state.items() if not k.startswith("fc.")}, backbone)
    groups = sorted(((f, s) for f in args.fractions for s in range(args.seeds)),
                    key=lambda g: -len(_jobs(args, g[0])))  # the longest first
    threads = max(1, (os.cpu_count() or 1) // args.jobs)
    runs = []
    if args.jobs == 1:
        for f, s in groups:
            runs += _group(args, root, backbone, f, s, threads)
    else:
        # a Pool, not a ProcessPoolExecutor: leaving the `with` block on any exception (Ctrl-C,
        # or SIGTERM turned into SystemExit below) terminates the workers instead of orphaning them
        signal.signal(signal.SIGTERM, lambda *_: sys.exit("benchmark.py: terminated"))
        jobs = [(args, root, backbone, f, s, threads) for f, s in groups]
        with multiprocessing.get_context("spawn").Pool(args.jobs, maxtasksperchild=1) as pool:
            for group in pool.imap_unordered(_group_star, jobs):
                runs += group
                print(f"labels {group[0]['fraction']:g}, seed {group[0]['seed']}: done after "
                      f"{(time.time() - t0) / 60:.1f} min", flush=True)
    rows = []
    for name in dict.fromkeys(r["name"] for r in runs):
        for fraction in args.fractions:
            rs = [r for r in runs if r["name"] == name and r["fraction"] == fraction]
            if rs:
                (va, vs), (ca, cs) = (_mean_std([r[k] for r in rs])
                                      for k in ("video_acc", "clip_acc"))
                rows.append(dict(name=name, kind=rs[0]["kind"], fraction=fraction, seeds=len(rs),
                                 arch=rs[0]["arch"], gflops=rs[0]["gflops"], video_acc=va,
                                 video_std=vs, clip_acc=ca, clip_std=cs,
                                 minutes=_mean_std([r["seconds"] / 60 for r in rs])[0]))

    def cell(r, key):
        return f"{r[key]:.3f} +- {r[key.replace('acc', 'std')]:.3f}" if r else "-"

    fractions = [f"{f:g}" for f in args.fractions]
    for key, what in (("video_acc", "video"), ("clip_acc", "clip")):
        print(f"\nStudent {what} accuracy (teacher and assistants: their own), mean +- std over "
              f"{args.seeds} seed(s); columns: label fraction\n| method | "
              + " | ".join(fractions) + " | min / run |\n|---|" + "---|" * (len(fractions) + 1))
        for name in dict.fromkeys(r["name"] for r in rows if r["kind"] != "ablation"):
            mine = {r["fraction"]: r for r in rows if r["name"] == name}
            cells = [cell(mine.get(f), key) for f in args.fractions]
            minutes = np.mean([r["minutes"] for r in mine.values()])
            print(f"| {name} | " + " | ".join(cells) + f" | {minutes:.2f} |")
    print(f"\nSKD with one part removed (or added), {args.ablation_fraction:g} of the labels\n"
          "| variant | video acc | clip acc | min / run |\n|---|---|---|---|")
    for r in rows:
        if r["kind"] == "ablation" or (r["name"], r["fraction"]) == ("skd", args.ablation_fraction):
            print(f"| {r['name']} | {cell(r, 'video_acc')} | {cell(r, 'clip_acc')} | "
                  f"{r['minutes']:.2f} |")
    minutes = (time.time() - t0) / 60
    trained = sum(r["seconds"] for r in runs) / 60
    print(f"\nwall time of this call {minutes:.1f} min (finished runs in results/runs are reused); "
          f"the {len(runs)} runs took {trained:.0f} process-minutes in all, {args.jobs} at a time")
    _save("accuracy", dict(rows=rows, runs=runs, args=vars(args), bench=BENCH, minutes=minutes,
                           run_minutes=trained))
    _plot_accuracy(rows, args.ablation_fraction)


def _plot_accuracy(rows, fraction):
    """results/accuracy.png and results/efficiency.png, when matplotlib is importable."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib is not installed: no plots (pip install matplotlib)")
        return
    fig, ax = plt.subplots(figsize=(6, 4))
    for name in dict.fromkeys(r["name"] for r in rows if r["kind"] == "method"):
        rs = sorted((r for r in rows if r["name"] == name), key=lambda r: r["fraction"])
        x, y = [r["fraction"] for r in rs], np.array([r["video_acc"] for r in rs])
        sd = np.array([r["video_std"] for r in rs])
        line, = ax.plot(x, y, "o-", label=name, lw=2.5 if name == "skd" else 1)
        ax.fill_between(x, y - sd, y + sd, color=line.get_color(), alpha=0.12)
    rs = sorted((r for r in rows if r["name"] == "teacher (ce)"), key=lambda r: r["fraction"])
    ax.plot([r["fraction"] for r in rs], [r["video_acc"] for r in rs], "k--x", label="teacher")
    ax.set(xscale="log", xlabel="label fraction p", ylabel="student video accuracy")
    ax.set_xticks([r["fraction"] for r in rs], [f"{r['fraction']:g}" for r in rs])
    ax.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    fig.savefig(os.path.join("results", "accuracy.png"), dpi=120)
    if not any(r["fraction"] == fraction for r in rows):  # no ablation table in this grid
        fraction = min(r["fraction"] for r in rows)
    fig, ax = plt.subplots(figsize=(6, 4))
    for r in rows:
        if r["fraction"] == fraction and (r["kind"] == "cascade" or r["name"] in ("kd", "skd")):
            ax.errorbar(r["gflops"], r["video_acc"], yerr=r["video_std"], fmt="o", capsize=3)
            ax.annotate(f"{r['arch']}, {r['name']}", (r["gflops"], r["video_acc"]), fontsize=7,
                        xytext=(4, 4), textcoords="offset points")
    ax.set(xscale="log", xlabel="GFLOPs per clip", ylabel="video accuracy",
           title=f"models of the cascade, {fraction:g} of the labels")
    fig.tight_layout()
    fig.savefig(os.path.join("results", "efficiency.png"), dpi=120)
    print("wrote results/accuracy.png and results/efficiency.png")


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
        out = os.path.join("results", "runs", f"frames_{clip_len}")
        if not os.path.isfile(os.path.join(out, "summary.json")):
            again = ["--resume"] if os.path.isfile(os.path.join(out, "checkpoint.pt")) else []
            train.main(again + ["--method", "ce", "--cascade", arch, "--label-fraction", "1.0",
                                "--clip-len", str(clip_len), "--epochs", str(args.epochs),
                                "--workers", str(args.workers), "--log-every", "120",
                                "--out", out])
        with open(os.path.join(out, "summary.json")) as f:
            m = json.load(f)["models"][-1]
        rows.append(dict(clip_len=clip_len, arch=arch, clip_acc=m["clip_acc"],
                         video_acc=m["video_acc"]))
    print(f"\n{arch}, cross-entropy on all labels, {args.epochs} epochs; chance "
          f"{1 / p['num_classes']:.3f}\n| frames per clip | clip acc | video acc |\n|---|---|---|")
    for r in rows:
        print(f"| {r['clip_len']} | {r['clip_acc']:.3f} | {r['video_acc']:.3f} |")
    _save("frames", dict(rows=rows, epochs=args.epochs))


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
    a = sub.add_parser("accuracy", help="every method and SKD ablation, over seeds and fractions")
    a.add_argument("--fractions", type=float, nargs="+", default=[0.1, 0.2, 1.0])
    a.add_argument("--seeds", type=int, default=3)
    a.add_argument("--methods", nargs="+", default=list(METHODS), choices=METHODS)
    a.add_argument("--ablation-fraction", type=float, default=0.2,
                   help="label fraction of the ablation table")
    a.add_argument("--epochs", type=int, default=BENCH["epochs"], help="per student/assistant")
    a.add_argument("--teacher-epochs", type=int, default=BENCH["teacher_epochs"],
                   help="fine-tuning of the pretrained teacher on D_L")
    a.add_argument("--pretrain-epochs", type=int, default=BENCH["pretrain_epochs"])
    a.add_argument("--set-seed", type=int, default=0,
                   help="seed of the simulated set; SKD was tuned on --set-seed 1, report 0")
    a.add_argument("--max-steps-per-epoch", type=int, default=None)
    a.add_argument("--jobs", type=int, default=2, help="(fraction, seed) groups run in parallel")
    a.add_argument("--videos-per-class", type=int, default=BENCH["videos_per_class"])
    a.add_argument("--quick", action="store_true",
                   help="one seed, 20%% labels, 2 epochs of 10 steps per model: a smoke test")
    f = sub.add_parser("frames", help="single-frame model against a clip model, same budget")
    f.add_argument("--epochs", type=int, default=data.DATASETS["synthetic"]["epochs"])
    f.add_argument("--workers", type=int, default=2)
    args = p.parse_args()
    if args.benchmark == "accuracy" and args.quick:
        args.fractions, args.seeds, args.max_steps_per_epoch = [0.2], 1, 10
        args.epochs, args.teacher_epochs, args.pretrain_epochs = 2, 2, 2
    {"data": bench_data, "speed": bench_speed, "accuracy": bench_accuracy,
     "frames": bench_frames}[args.benchmark](args)


if __name__ == "__main__":
    main()
