"""The whole HMDB51 recipe, timed, before the real data and the GPU hours are spent on it.

    python -m experiments.rehearsal --generate-only --workers 14  # the tree, once (1-2 min)
    python -m experiments.rehearsal --device cuda --amp --workers 14  # an epoch per link, projected

Two parts: (1) a tree in HMDB51's official layout and size (51 classes, 3,570 training and 1,530
test videos of 320x240, the split files), written by a generator, so the archive is not needed;
(2) train.py's own entry point on it, with HMDB51's preset (cascade, clips, SGD recipe,
evaluation views), for a few epochs, whose metrics.jsonl is then read back into minutes per epoch,
per evaluation and per pseudo-label refresh of each link, the peak GPU memory, and projected to
the default 30-epoch run. The videos are random textures: accuracy is meaningless, only time
counts. Results: printed as Markdown and written to experiments/results/rehearsal.json.
"""
import sys

if __name__ == "__main__" and not __package__:  # run as a file, not as the package's module
    sys.exit("error: run the lab from the repository's root as: python -m experiments.rehearsal")

import argparse
import contextlib
import dataclasses
import functools
import json
import os
import shutil
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor

import numpy as np
import torch

import data
import train
from cascade import S, cascade_models, distils, evaluates_after, link_schedule, staged_link
from config import parse_args
from synthetic import write_video

from experiments import cpu_name, save_result


# HMDB51's 51 class folders as the official archive names them (sorted: the class indices).
HMDB51_CLASSES = (
    "brush_hair cartwheel catch chew clap climb climb_stairs dive draw_sword dribble drink eat "
    "fall_floor fencing flic_flac golf handstand hit hug jump kick kick_ball kiss laugh pick pour "
    "pullup punch push pushup ride_bike ride_horse run shake_hands shoot_ball shoot_bow shoot_gun "
    "sit situp smile smoke somersault stand swing_baseball sword sword_exercise talk throw turn "
    "walk wave").split()
# In the tree's root: its generator parameters (and the seconds the generation took). Not
# synthetic.json: config.run_key would take the tree for a simulated set.
REHEARSAL_MARKER = "rehearsal.json"
NOISE = 24  # peak-to-peak uniform pixel noise, 0..255 units (sigma ~7, ucf_like_videos' is 6)


@functools.lru_cache(maxsize=1)
def noise_bank(seed, frames, height, width):
    """uint8 (frames, H, W, 3), uniform in [0, NOISE], drawn once per process: every video adds
    its own window of it. Drawing fresh noise would be most of the cost of a video (0.1 s of
    0.15 s at 320x240), and the encoder has as much work with a window of a shared bank."""
    rng = np.random.default_rng([seed, 1 << 20])
    return rng.integers(0, NOISE + 1, (frames, height, width, 3), dtype=np.uint8)


def write_rehearsal_video(job):
    """One video of the rehearsal tree, as ucf_like_videos makes them (a blocky random texture
    panning sideways, 1-3 px per frame, plus noise: the codec has work; no class in the pixels):
    frames +- 25% frames of W x H at `fps`, MPEG-4 Part 2 AVI with 2 B-frames, a keyframe every
    12 frames, 600 kbit/s (about HMDB51's 300 KB per video). Written under a temporary name and
    renamed, so a file with its final name is whole: an interrupted generation resumes from the
    others. job = (path, seed, class index, video index, frames, W, H, fps)."""
    path, seed, c, k, frames, W, H, fps = job
    if os.path.isfile(path):
        return  # written whole by an interrupted generation
    rng = np.random.default_rng([seed, c, k])  # per video: the same tree in any order
    n = int(rng.integers(frames - frames // 4, frames + frames // 4 + 1))  # frames of this video
    speed = int(rng.integers(1, 4))  # pixels per frame
    blocks = rng.integers(0, 256 - NOISE, (H // 8 + 1, (W + speed * n) // 8 + 1, 3),
                          dtype=np.uint8)  # values leave room for the noise: no overflow below
    texture = np.repeat(np.repeat(blocks, 8, 0), 8, 1)[:H]  # (H, > W + speed * n, 3), 8x8 blocks
    s0, s1, s2 = texture.strides
    pan = np.lib.stride_tricks.as_strided(texture, (n, H, W, 3), (speed * s1, s0, s1, s2))
    # pan: (n, H, W, 3), a view; frame t is texture[:, speed * t : speed * t + W]
    bank = noise_bank(seed, frames + frames // 4 + 32, H, W)  # (n_max + 32, H, W, 3)
    start = int(rng.integers(0, len(bank) - n + 1))
    clip = pan + bank[start:start + n]  # (n, H, W, 3) uint8, at most 255
    tmp = path[:-len(".avi")] + ".partial.avi"  # PyAV picks the container by the extension
    write_video(tmp, clip, fps=fps, gop=12, bit_rate=600_000, options={"bf": "2"})
    os.replace(tmp, path)


def rehearsal_params(a):
    """The generator parameters of the tree: the marker's content, compared on reuse."""
    return dict(classes=a.classes, train_per_class=a.train_per_class,
                test_per_class=a.test_per_class, frames=a.frames, width=a.width,
                height=a.height, fps=a.fps, seed=a.seed, version=1)


def read_marker(path):
    """The marker of a tree (rehearsal_tree's dict), or one error line when it is damaged."""
    try:
        with open(path) as f:
            marker = json.load(f)
        if isinstance(marker, dict) and isinstance(marker.get("params"), dict):
            return marker
    except (OSError, ValueError):
        pass
    raise SystemExit(f"error: {path} is damaged (not the JSON of rehearsal.py): "
                     f"delete {os.path.dirname(path)} to generate the tree again")


def write_json(obj, path):
    with open(path + ".tmp", "w") as f:
        json.dump(obj, f, indent=1)
    os.replace(path + ".tmp", path)


def rehearsal_tree(a):
    """The HMDB51-sized tree of `a` in a.root: generated when absent, else checked and reused ->
    the marker (params, seconds the generation took, reused: whether it was there already).

    HMDB51's official layout, as data.list_hmdb51 reads it: <root>/<class>/<video>.avi and
    <root>/testTrainMulti_7030_splits/<class>_test_split{1,2,3}.txt of lines "<video>.avi <tag> "
    (1 = train, 2 = test; the official files also have 0 = unused, none here). In fold 1 (and in
    2 and 3, with other draws) test_per_class videos of each class are tagged 2, the rest 1.
    The tree is written into <root>.partial and renamed to <root> when whole, marker last: a
    <root> with its marker is complete; an interrupted generation resumes from its whole files."""
    params = rehearsal_params(a)
    root = os.path.normpath(a.root)
    classes = HMDB51_CLASSES[:a.classes]
    per_class = a.train_per_class + a.test_per_class
    # HMDB51's naming: <source>_<class>_<body part>_<camera>_<people>_<view>_<quality>_<clip>
    names = {c: [f"rehearsal{k:03d}_{c}_u_nm_np1_fr_med_0.avi" for k in range(per_class)]
             for c in classes}
    if os.path.isfile(os.path.join(root, REHEARSAL_MARKER)):
        found = read_marker(os.path.join(root, REHEARSAL_MARKER))
        if found["params"] != params:
            diff = {k: (found["params"].get(k), v) for k, v in params.items()
                    if found["params"].get(k) != v}
            raise SystemExit(f"error: {root} holds a rehearsal tree made with other parameters "
                             f"(found, wanted): {diff}; delete it or pass another --root")
        missing = [os.path.join(c, n) for c, ns in names.items() for n in ns
                   if not os.path.isfile(os.path.join(root, c, n))]
        if missing:
            raise SystemExit(f"error: {root} lacks {len(missing)} of its videos (e.g. "
                             f"{missing[0]}); delete it to generate the tree again")
        print(f"reusing the rehearsal tree in {root} (generated in {found['seconds']:.0f} s)")
        return dict(found, reused=True)
    if os.path.exists(root) and (not os.path.isdir(root) or os.listdir(root)):
        raise SystemExit(f"error: {root} exists and is not a rehearsal tree (no "
                         f"{REHEARSAL_MARKER}); pass another --root (nothing was overwritten)")
    partial = root + ".partial"
    if os.path.isdir(partial):  # an interrupted generation: ours if it holds our marker
        found = read_marker(os.path.join(partial, REHEARSAL_MARKER)) if os.path.isfile(
            os.path.join(partial, REHEARSAL_MARKER)) else None
        if found is None:
            raise SystemExit(f"error: {partial} exists and is not a rehearsal tree in the "
                             "making; move it away or pass another --root")
        if found["params"] != params:
            print(f"discarding {partial}: an interrupted generation with other parameters")
            shutil.rmtree(partial)
        else:
            print(f"resuming the interrupted generation in {partial}")
    split_dir = os.path.join(partial, "testTrainMulti_7030_splits")
    os.makedirs(split_dir, exist_ok=True)
    write_json(dict(params=params, seconds=None), os.path.join(partial, REHEARSAL_MARKER))
    jobs = []
    for c, cls in enumerate(classes):
        os.makedirs(os.path.join(partial, cls), exist_ok=True)
        jobs += [(os.path.join(partial, cls, name), a.seed, c, k, a.frames, a.width, a.height,
                  a.fps) for k, name in enumerate(names[cls])]
    print(f"generating {len(jobs)} videos ({a.classes} classes x {per_class}, about {a.frames} "
          f"frames of {a.width}x{a.height} at {a.fps} fps, MPEG-4 AVI) into {partial}, "
          f"{a.gen_workers} processes ...", flush=True)
    t0 = time.time()
    with (ProcessPoolExecutor(a.gen_workers) if a.gen_workers > 1 else
          contextlib.nullcontext()) as pool:  # None: one process, this one
        done = (pool.map(write_rehearsal_video, jobs, chunksize=8) if pool else
                map(write_rehearsal_video, jobs))
        for i, _ in enumerate(done, 1):  # progress every tenth of the videos
            if i % max(1, len(jobs) // 10) == 0 or i == len(jobs):
                print(f"  {i}/{len(jobs)} videos, {time.time() - t0:.0f} s", flush=True)
    for c, cls in enumerate(classes):
        for fold in (1, 2, 3):  # test videos: a draw per class and fold
            test = set(np.random.default_rng([a.seed, c, 1000 + fold]).permutation(per_class)
                       [:a.test_per_class].tolist())
            with open(os.path.join(split_dir, f"{cls}_test_split{fold}.txt"), "w") as f:
                f.writelines(f"{name} {2 if k in test else 1} \n"
                             for k, name in enumerate(names[cls]))
    seconds = time.time() - t0
    marker = dict(params=params, seconds=round(seconds, 1),
                  bytes=sum(os.path.getsize(j[0]) for j in jobs))
    write_json(marker, os.path.join(partial, REHEARSAL_MARKER))  # last: the tree is whole
    if os.path.isdir(root):
        os.rmdir(root)  # empty (checked above)
    os.replace(partial, root)
    print(f"generated {len(jobs)} videos ({marker['bytes'] / 2 ** 30:.2f} GiB) in {seconds:.0f} s"
          f" into {root}")
    return dict(marker, reused=False)


def rehearsal_timings(events):
    """The metrics.jsonl of the rehearsal's run (train.py's events, in order: start, [cache],
    then per link [weights] [pseudo_labels] link train... eval..., and summary last) -> (seconds
    of set-up, {link: its timings}, seconds of the end), from the events' "time" (seconds since
    train.main started, taken after the event's work, 0.01 s resolution). A link's timings:
      steady  [(phase, seconds)] of every training step that is not the first of its epoch: the
              time between two consecutive "train" events of one epoch (--log-every 0 logs every
              step, and a log line waits for its step to finish, on a GPU too)
      first   [(epoch, phase, seconds)] of every epoch's first step, from the event before it: it
              also holds the DataLoader's start (workers, first batches), after epoch 1 the
              checkpoint of the epoch before, and in epoch 1 on CUDA cuDNN's autotuning
      eval    [seconds] of every "eval" event less the "train" event before it: train_link
              evaluates right after logging the epoch's last step, so this is evaluate() alone
      start   seconds from the link before's last event (or the set-up's) to this link's "link"
              event: the link before's last checkpoints, this model's building, pseudo-labels
      pseudo  seconds from the event before "pseudo_labels" to it: the refresh of Sec. 5 (with
              the link before's last checkpoints, written just before it); None for link 0
    set-up: the time of "start" (or "cache"): data listing, probing (the first run on a tree
    only: the probe is cached), memory cache, split. end: from the last eval to "summary"."""
    def new():
        return dict(steady=[], first=[], eval=[], pseudo=None)
    per_link, last, set_up, end_of_link, links = {}, None, 0.0, None, 0
    for e in events:
        kind, t = e["event"], e["time"]
        if kind in ("start", "cache"):
            set_up = t
        elif kind == "link":  # the j-th "link" event (it has no link field) starts link j
            per_link.setdefault(links, new())["start"] = t - (
                end_of_link if end_of_link is not None else set_up)
            links += 1
        elif kind == "pseudo_labels":
            per_link.setdefault(e["link"], new())["pseudo"] = t - last["time"]
        elif kind == "train":
            cur = per_link[e["link"]]
            if last["event"] == "train" and (last["link"], last["epoch"]) == (e["link"],
                                                                             e["epoch"]):
                cur["steady"].append((e["phase"], (t - last["time"]) / (e["step"] - last["step"])))
            else:  # the epoch's first step (logged: --log-every 0 logs every step)
                cur["first"].append((e["epoch"], e["phase"], t - last["time"]))
            end_of_link = t
        elif kind == "eval":
            assert last["event"] == "train", "an eval event follows its epoch's last step"
            per_link[e["link"]]["eval"].append(t - last["time"])
            end_of_link = t
        last = e
    end = events[-1]["time"] - end_of_link if events[-1]["event"] == "summary" else 0.0
    return set_up, per_link, end


def link_schedule_of(a, num_videos, link):
    """(steps per epoch, steps in all, the first step of each phase) of link `link` in a run
    with the (filled-in) arguments `a`, as train_link makes them (one process)."""
    uses_teacher = link > 0 and distils(a.method)  # as train_link
    staged = staged_link(a.method, uses_teacher, a.joint)  # as Distiller.staged
    _, steps, total, starts = link_schedule(a, num_videos, 1, a.epochs, staged)
    return steps, total, starts


def evaluations(a, num_videos, link):
    """How many times train_link evaluates link `link` of a run with the arguments `a`
    (cascade.evaluates_after: every --eval-every epochs once the head trains, and after the last)."""
    steps, _, starts = link_schedule_of(a, num_videos, link)
    return sum(evaluates_after(epoch, a.epochs, steps, starts, a.eval_every)
               for epoch in range(a.epochs))


def link_figures(t, rehearsed, default, num_videos, link):
    """A link's timings (rehearsal_timings) -> its figures and its part of the default run.

    Seconds per step are measured per phase of the staged schedule (Sec. 3), because phases
    1..4 run only the first substages and cost less than the last, and the rehearsal's short
    link gives them a larger share of its steps (40% at up to 10 epochs) than the default run
    (4 of 30 epochs). A phase's rate is the mean of its steady steps (an epoch lasts the sum of
    its steps, stalls for data included: not the median, which would drop the stalls); a phase
    not rehearsed is charged the next later phase's rate (an upper bound: it runs more
    substages). Training minutes of the default run = sum over phases of its steps in the phase x
    the phase's rate, + epochs x the epoch's start-up (its first step less a steady step of its
    phase, from first steps in phases that were timed where there are; from epochs 2.. when
    rehearsed: epoch 1 also holds cuDNN's autotuning, paid once per link, not per epoch)."""
    last_phase = S + 1
    rates = {}
    for phase in range(last_phase, 0, -1):  # the last phase first: the fallback of the others
        seconds = [s for p, s in t["steady"] if p == phase]
        rates[phase] = dict(s_per_step=float(np.mean(seconds)) if seconds else None,
                            steps_timed=len(seconds))
    last_timed = rates[last_phase]["steps_timed"] > 0
    if not last_timed:  # one step per epoch: its first steps, start-up included, are all there is
        rates[last_phase]["s_per_step"] = float(np.mean([s for _, _, s in t["first"]]))
    for phase in range(last_phase - 1, 0, -1):
        if rates[phase]["s_per_step"] is None:
            rates[phase]["s_per_step"] = rates[phase + 1]["s_per_step"]
    steady = [s for _, s in t["steady"]]
    firsts = [(e, p, s) for e, p, s in t["first"] if rates[p]["steps_timed"]] or t["first"]
    firsts = [(p, s) for e, p, s in firsts if e > 1] or [(p, s) for _, p, s in firsts]
    start_up = max(0.0, float(np.median([s - rates[p]["s_per_step"] for p, s in firsts]))) \
        if last_timed else 0.0  # else the start-up is inside the rate already
    steps, total, starts = link_schedule_of(default, num_videos, link)
    bounds = [0] * (last_phase - len(starts)) + starts + [total]  # unstaged: all in the last
    for phase in range(1, last_phase + 1):
        rates[phase]["default_steps"] = bounds[phase] - bounds[phase - 1]
    train_min = (sum(r["default_steps"] * r["s_per_step"] for r in rates.values())
                 + default.epochs * start_up) / 60
    eval_min = float(np.median(t["eval"])) / 60 if t["eval"] else 0.0
    evals = evaluations(default, num_videos, link)
    return dict(
        s_per_step=rates[last_phase]["s_per_step"],  # the last phase: most of the default run
        s_per_step_all=float(np.mean(steady)) if steady else None,
        s_per_step_median=float(np.median(steady)) if steady else None, steps_timed=len(steady),
        timed_from="steady steps" if last_timed else "first steps (with the epoch's start-up)",
        phases={str(p): r for p, r in sorted(rates.items())  # those run or rehearsed
                if r["default_steps"] or r["steps_timed"]}, epoch_start_up_s=start_up,
        steps_per_epoch=steps,
        min_per_epoch=(steps * rates[last_phase]["s_per_step"] + start_up) / 60,
        eval_min=eval_min, evaluations_logged=len(t["eval"]),
        evaluations_predicted=evaluations(rehearsed, num_videos, link),  # checks `evaluations`
        pseudo_label_min=t["pseudo"] / 60 if t["pseudo"] is not None else None,
        link_start_min=t["start"] / 60,
        projected=dict(epochs=default.epochs, train_min=train_min, evaluations=evals,
                       eval_min=eval_min, link_start_min=t["start"] / 60,
                       total_min=train_min + evals * eval_min + t["start"] / 60))


def bench_rehearsal(a):
    """The whole HMDB51 recipe on an HMDB51-sized tree, timed (the module docstring).

    Runs train.main in this process (so that on CUDA the peak memory of each link can be read:
    train.train_link is wrapped for it) with --dataset hmdb51 --data-root <the tree> and
    HMDB51's preset, --epochs E per link, --log-every 0. Reports per link the seconds per step
    (per phase), steps per full epoch (ceil(train videos / batch)), minutes per full epoch, per
    evaluation and per pseudo-label refresh, and the peak GPU memory; then the default run
    projected (link_figures): per link its training + its evaluations x minutes per evaluation
    + its start (pseudo-labels included), plus the run's set-up and end.
    -> experiments/results/rehearsal.json
    """
    for name, low in (("classes", 2), ("train_per_class", 1), ("test_per_class", 1),
                      ("frames", 4), ("width", 16), ("height", 16), ("fps", 1), ("epochs", 1),
                      ("gen_workers", 1), ("max_steps_per_epoch", 1)):
        value = getattr(a, name)
        if value is not None and value < low:
            raise SystemExit(f"error: --{name.replace('_', '-')} must be >= {low}, got {value}")
    if a.classes > len(HMDB51_CLASSES):
        raise SystemExit(f"error: --classes must be at most {len(HMDB51_CLASSES)} (HMDB51's), "
                         f"got {a.classes}")
    if a.width % 2 or a.height % 2:
        raise SystemExit(f"error: --width and --height must be even (yuv420p), got "
                         f"{a.width}x{a.height}")
    preset = data.DATASETS["hmdb51"]
    root = os.path.normpath(a.root)
    flags = ["--dataset", "hmdb51", "--data-root", root, "--epochs", str(a.epochs),
             "--log-every", "0", "--device", a.device]
    for flag, value in (("--max-steps-per-epoch", a.max_steps_per_epoch),
                        ("--workers", a.workers), ("--teacher-weights", a.teacher_weights),
                        ("--label-fraction", a.label_fraction), ("--clip-len", a.clip_len),
                        ("--resize", a.resize), ("--crop-size", a.crop),
                        ("--eval-clips", a.eval_clips), ("--eval-crops", a.eval_crops),
                        ("--pl-clips", a.pl_clips), ("--batch-size", a.batch_size)):
        if value is not None:
            flags += [flag, str(value)]
    flags += ["--amp"] if a.amp else []
    # every check of train.py (one error line each), before minutes of generation
    rehearsed = parse_args(flags + ["--out", a.out or os.devnull])
    print("The rehearsal's videos are random textures: accuracy is meaningless, only time counts.")
    tree = rehearsal_tree(a)
    # train.py's first start on a data set probes every video (a full decode) and caches the
    # result in <root>/skd_metadata.json; the run's set-up below holds that only when no cache is
    # there yet. --generate-only probes now, so that a GPU session can spend its time on training.
    probe_cached = os.path.isfile(os.path.join(root, data.METADATA_FILE))
    if a.generate_only:
        t0 = time.time()
        data.load_dataset("hmdb51", root, 1, workers=a.workers or os.cpu_count() or 1)
        print(f"probed the tree in {time.time() - t0:.0f} s ("
              + ("cached already" if probe_cached else f"now cached in {data.METADATA_FILE}")
              + "; a first run on a new data set pays this once, in its set-up)")
        return
    train_videos, test_videos, _ = data.list_hmdb51(root, 1)  # what train.py uses: fold 1
    N = len(train_videos)
    archs = cascade_models(rehearsed.method, rehearsed.cascade.split(","), rehearsed.no_cascade)
    if not a.teacher_weights:
        print(f"No --teacher-weights (Kinetics-400's are not available offline): the teacher "
              f"{archs[0]} is trained from scratch by the first link, for as many steps as a "
              "loaded one would be fine-tuned (its last layer is new for 51 classes).")

    # ------------------------------------------------------------------ the run
    cuda = a.device != "cpu" and torch.cuda.is_available()
    out = a.out or tempfile.mkdtemp(prefix="rehearsal_")
    peaks, whole = [], [0.0]  # GiB: per link, and the largest before each reset
    plain_link = train.train_link

    def measured_link(*args, **kwargs):  # train_link, with the peak GPU memory of its link
        if cuda:
            whole[0] = max(whole[0], torch.cuda.max_memory_allocated() / 2 ** 30)
            torch.cuda.reset_peak_memory_stats()
        result = plain_link(*args, **kwargs)
        peaks.append(torch.cuda.max_memory_allocated() / 2 ** 30 if cuda else None)
        return result

    train.train_link = measured_link
    t0 = time.time()
    try:
        if cuda:
            torch.cuda.reset_peak_memory_stats()
        train.main(flags + ["--out", out])
        with open(os.path.join(out, "metrics.jsonl")) as f:
            events = [json.loads(line) for line in f]
        if cuda:  # the end of the run (pseudo-labels are outside the links) counts too
            whole[0] = max(whole[0], torch.cuda.max_memory_allocated() / 2 ** 30)
    finally:
        train.train_link = plain_link
        if not a.out:
            shutil.rmtree(out, ignore_errors=True)  # the temporary run folder and checkpoints
    wall = time.time() - t0
    peak = max([whole[0]] + peaks) if cuda else None

    # ------------------------------------------------------------------ the figures
    set_up, per_link, end = rehearsal_timings(events)
    if sorted(per_link) != list(range(len(archs))) or not all(
            per_link[j]["first"] for j in per_link):
        raise SystemExit("error: a link of the cascade trained no step (a --teacher-weights "
                         "file with a 51-way last layer is not fine-tuned): the rehearsal times "
                         "training; pass Kinetics-400 weights or none")
    default = dataclasses.replace(rehearsed, epochs=preset["epochs"], max_steps_per_epoch=None)
    rows = [dict(link=j, role=role, arch=arch, peak_gib=peaks[j] if cuda else None,
                 **link_figures(per_link[j], rehearsed, default, N, j))
            for j, (role, arch) in enumerate(zip(train.roles_of(archs), archs))]
    total_min = set_up / 60 + sum(r["projected"]["total_min"] for r in rows) + end / 60
    projection = dict(set_up_min=set_up / 60, end_min=end / 60, total_min=total_min,
                      total_h=total_min / 60, epochs=default.epochs, eval_every=default.eval_every)
    device = torch.cuda.get_device_name() if cuda else f"CPU ({cpu_name()})"

    # ------------------------------------------------------------------ the report
    def num(x):  # minutes, seconds and GiB, 3 significant digits; "-" for none
        return "-" if x is None else f"{x:.3g}"
    print(f"\n{device}; {N} training and {len(test_videos)} test videos ({a.classes} classes, "
          f"{a.width}x{a.height}, ~{a.frames} frames); {rehearsed.clip_len}x{rehearsed.crop_size}"
          f"x{rehearsed.crop_size} clips, batch {rehearsed.batch_size}, {rehearsed.eval_clips} x "
          f"{rehearsed.eval_crops} views per test video{', bf16 autocast' if a.amp else ''}; "
          f"{rehearsed.workers} loader workers; rehearsed {a.epochs} epoch(s) per link"
          + (f", at most {a.max_steps_per_epoch} steps each" if a.max_steps_per_epoch else "")
          + f", in {wall / 60:.1f} min")
    print("| link | model | s / step, last phase (steps) | s / step, all: mean, median | "
          "steps / epoch | epoch start-up, s | min / epoch | min / evaluation | "
          "pseudo-labels, min | peak GPU GiB |\n|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        last = r["phases"][str(S + 1)]
        print(f"| {r['role']} | {r['arch']} | {last['s_per_step']:.3f} ({last['steps_timed']}) | "
              f"{num(r['s_per_step_all'])}, {num(r['s_per_step_median'])} | "
              f"{r['steps_per_epoch']} | {r['epoch_start_up_s']:.1f} | {num(r['min_per_epoch'])} "
              f"| {num(r['eval_min'])} | {num(r['pseudo_label_min'])} | {num(r['peak_gib'])} |")
    print(f"\nThe default run projected ({default.epochs} epochs per link, an evaluation every "
          f"{default.eval_every} epoch(s) once the head trains), minutes:\n"
          "| link | training | evaluations x min | link start (pseudo-labels) | total |\n"
          "|---|---|---|---|---|")
    for r in rows:
        p = r["projected"]
        print(f"| {r['role']} | {num(p['train_min'])} | {p['evaluations']} x {num(p['eval_min'])}"
              f" | {num(p['link_start_min'])} | {num(p['total_min'])} |")
    print(f"| set-up (listing, {'probe cached' if probe_cached else 'probing'}, split) + end "
          "(summary) | | | | "
          f"{num(set_up / 60)} + {num(end / 60)} |")
    print(f"\nProjected wall time of the default run: {total_min:.0f} min ({total_min / 60:.1f} h)"
          + (f"; peak GPU memory {peak:.1f} GiB" if cuda else "")
          + ". Accuracy is meaningless here (random textures); only time counts.")
    if any(r["timed_from"] != "steady steps" for r in rows):
        print("Note: one step per epoch was rehearsed, so the seconds per step include each "
              "epoch's start-up (an overestimate); rehearse 2 or more steps per epoch.")
    save_result("rehearsal", dict(
        device=device, tree=dict(tree, root=root, train_videos=N, test_videos=len(test_videos),
                                 probe_cached=probe_cached),
        epochs=a.epochs, max_steps_per_epoch=a.max_steps_per_epoch, train_argv=flags,
        config=dataclasses.asdict(rehearsed), wall_s=wall, peak_gib=peak, links=rows,
        projection=projection, note="random-texture videos: accuracy is meaningless"))


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m experiments.rehearsal",
                                description=__doc__.split("\n\n")[0])
    h = data.DATASETS["hmdb51"]
    p.add_argument("--root", default="data/hmdb51_rehearsal",
                   help="the tree (HMDB51's layout): generated once, then reused")
    p.add_argument("--classes", type=int, default=h["num_classes"],
                   help="class folders, HMDB51's names (at most 51)")
    p.add_argument("--train-per-class", type=int, default=70,
                   help="training videos per class (HMDB51: 70)")
    p.add_argument("--test-per-class", type=int, default=30,
                   help="test videos per class (HMDB51: 30)")
    p.add_argument("--frames", type=int, default=90,
                   help="mean frames per video, each +-25 percent (HMDB51's clips: a few seconds)")
    p.add_argument("--width", type=int, default=320, help="frame width in pixels (HMDB51: 320)")
    p.add_argument("--height", type=int, default=240, help="frame height in pixels (HMDB51: 240)")
    p.add_argument("--fps", type=int, default=30, help="frames per second (HMDB51: 30)")
    p.add_argument("--seed", type=int, default=0, help="the generator's seed")
    p.add_argument("--gen-workers", type=int, default=os.cpu_count() or 1,
                   help="processes writing videos")
    p.add_argument("--generate-only", action="store_true",
                   help="write (or check) the tree, probe its videos, and stop: no training")
    p.add_argument("--epochs", type=int, default=1, help="epochs rehearsed per link")
    p.add_argument("--max-steps-per-epoch", type=int,
                   help="cap the rehearsed steps of an epoch (default: full epochs); evaluation "
                        "and pseudo-labels always see every video")
    p.add_argument("--out", help="run folder kept afterwards (default: a temporary one, removed)")
    p.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    p.add_argument("--amp", action="store_true", help="bf16 autocast (CUDA only)")
    p.add_argument("--workers", type=int, help="DataLoader processes (default: train.py's)")
    p.add_argument("--teacher-weights",
                   help="Kinetics-400 weights of the teacher (default: none, trained from scratch)")
    p.add_argument("--label-fraction", type=float, help="default: HMDB51's (1, all labels)")
    p.add_argument("--clip-len", type=int, help="frames per clip (default: HMDB51's)")
    p.add_argument("--resize", type=int, help="short side (default: HMDB51's)")
    p.add_argument("--crop", type=int, help="crop size, train.py's --crop-size (default: HMDB51's)")
    p.add_argument("--eval-clips", type=int, help="default: HMDB51's")
    p.add_argument("--eval-crops", type=int, help="default: HMDB51's")
    p.add_argument("--pl-clips", type=int, help="clips per video of the pseudo-labels (default: "
                                                "HMDB51's)")
    p.add_argument("--batch-size", type=int, help="default: HMDB51's")
    bench_rehearsal(p.parse_args(argv))


if __name__ == "__main__":
    main()
