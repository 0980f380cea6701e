"""Train and evaluate: the whole method of METHOD.md, end to end.

    python train.py                                   # SKD cascade on the simulated set, 20% labels
    python train.py --method kd                        # a baseline on the same data and labels
    python train.py --dataset hmdb51 --teacher-weights r2plus1d_18-91a641e6.pth --device cuda --amp
    torchrun --nproc_per_node=2 train.py ...           # DistributedDataParallel

The run folder (--out) receives: split.json (the weak-supervision split, Sec. 1), metrics.jsonl
(every log line, evaluation and pseudo-label report), checkpoint.pt (after every epoch; --resume
continues from it), model<j>_<arch>.pt (each finished model, loadable with --teacher-weights),
confusion.json (the final student's per-class accuracy and confusion matrix) and summary.json.
"""
import argparse
import json
import math
import os
import sys
import time
from dataclasses import asdict, dataclass, field, fields

import numpy as np
import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch.utils.data import DataLoader

import data
from cascade import (METHODS, S, Distiller, cascade_models, freeze, lr_at,
                     phase_at, phase_span, phase_starts)
from models import build_model, count_flops, count_params, cpu_latency, load_pretrained, parse_arch
from pseudolabel import format_report, predict_videos, refresh


def arg(default, help):
    return field(default=default, metadata={"help": help})


@dataclass
class Args:
    # -- data (None = the data set's default from data.DATASETS)
    dataset: str = arg("synthetic", "synthetic, hmdb51 or ucf101")
    data_root: str = arg(None, "data set root (default data/<dataset>)")
    split_dir: str = arg(None, "folder of the official split files, if not the default")
    fold: int = arg(1, "official train/test fold, 1..3")
    clip_len: int = arg(None, "frames per clip (T)")
    frame_stride: int = arg(None, "take every n-th frame")
    resize: int = arg(None, "short side in pixels before cropping")
    crop_size: int = arg(None, "square crop in pixels (H = W)")
    eval_clips: int = arg(None, "K clips per video for video accuracy (Sec. 8)")
    eval_crops: int = arg(None, "1 = centre crop, 3 = three crops along the long side")
    # -- weak supervision (Sec. 1)
    label_fraction: float = arg(None, "p: fraction of each class that keeps its label, in (0, 1]")
    label_noise: float = arg(0.0, "r: fraction of the kept labels replaced by another class")
    split: str = arg(None, "reuse a split.json written by an earlier run")
    # -- method
    method: str = arg("skd", "ce, kd, fitnet, at, sp, cwd, dkd, dist, takd or skd")
    cascade: str = arg(None, "architectures, teacher first, student last, comma-separated")
    teacher_weights: str = arg(None, "weights of the first model(s) of the cascade, comma-separated "
                               "(torchvision K400 files or model<j>_*.pt of an earlier run)")
    teacher_epochs: int = arg(None, "epochs for a loaded teacher: default 0, or --epochs when its "
                              "last layer had to be re-initialised for a new number of classes")
    tau: float = arg(4.0, "logit temperature of KD (Sec. 6)")
    tau_f: float = arg(4.0, "feature temperature of Eq. D")
    gamma: float = arg(1.0, "weight of Eq. C inside L_sub (Sec. 2c)")
    lambda_kd: float = arg(1.0, "weight of the KD term (Sec. 6)")
    lambda_feat: float = arg(1.0, "weight of the balanced substage losses (Sec. 6)")
    lambda_hyb: float = arg(1.0, "weight of the hybrid-path KD term (Sec. 3)")
    phase_shares: str = arg("1,1,1,1,6", "relative length of the S + 1 phases of a staged link (the "
                            "last, with every loss, gets 60% of the steps: tuned on a held-out "
                            "simulated set, see README)")
    # -- ablations of SKD (Sec. 3-5); each switches one part off (or on)
    joint: bool = arg(False, "one phase with every loss from the first step (no staged schedule)")
    freeze_earlier: bool = arg(False, "phases 1..S train only the newest substage")
    no_corr: bool = arg(False, "drop the correlation loss, Eq. C")
    no_dist: bool = arg(False, "drop the feature-distribution loss, Eq. D")
    plain_sum: bool = arg(False, "sum the substage losses without the running-mean balancing")
    no_cascade: bool = arg(False, "distil the student straight from the teacher")
    no_pseudo: bool = arg(False, "no pseudo-labels for the unlabelled videos (Sec. 5)")
    hybrid: bool = arg(False, "add the hybrid-path KD term in the last phase (Sec. 3)")
    # -- pseudo-labels (Sec. 5)
    pl_clips: int = arg(4, "K clips per video (and their flips) for the pseudo-labels")
    pl_temperature: float = arg(0.5, "sharpening temperature T_s")
    pl_threshold: float = arg(0.8, "confidence threshold tau_conf")
    pl_rho: float = arg(1.0, "class cap: at most ceil(rho * n_k) videos per predicted class")
    correct_labels: bool = arg(False, "correct given labels the ensemble contradicts (noisy labels)")
    # -- optimisation
    epochs: int = arg(None, "epochs per model of the cascade")
    batch_size: int = arg(None, "clips per step (per process)")
    lr: float = arg(None, "peak learning rate (warm-up 10% of each phase, then cosine)")
    optimizer: str = arg(None, "sgd (momentum 0.9, Nesterov) or adamw")
    weight_decay: float = arg(None, "decoupled for adamw, L2 for sgd")
    max_steps_per_epoch: int = arg(None, "cap the steps of an epoch (quick runs)")
    # -- machine and run
    device: str = arg("auto", "auto, cpu or cuda")
    amp: bool = arg(False, "bf16 autocast on CUDA (refused on the CPU, see fill_defaults)")
    workers: int = arg(2, "DataLoader worker processes")
    memory_cache_gb: float = arg(2.0, "decode every video once into memory when all fit in this "
                                 "many GiB (the simulated set: about 0.1); 0 = always decode clips")
    seed: int = arg(0, "seeds the split, initialisation, clips and dropout")
    out: str = arg(None, "run folder (default runs/<dataset>_<method>_p<fraction>_s<seed>)")
    resume: bool = arg(False, "continue the run in --out from its checkpoint")
    log_every: float = arg(10.0, "seconds between progress lines")
    eval_every: int = arg(1, "evaluate every n epochs (and always after the last)")


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    for f in fields(Args):
        name = "--" + f.name.replace("_", "-")
        if f.type is bool:
            p.add_argument(name, action="store_true", help=f.metadata["help"])
        else:
            p.add_argument(name, type=f.type, default=f.default, help=f.metadata["help"])
    a = Args(**vars(p.parse_args(argv)))
    return fill_defaults(a)


def fill_defaults(a):
    """Unset values from the data set's preset, then every check that can fail before any work."""
    def fail(msg):
        sys.exit(f"error: {msg}")
    if a.dataset not in data.DATASETS:
        fail(f"unknown dataset '{a.dataset}'; choose one of {', '.join(data.DATASETS)}")
    preset = data.DATASETS[a.dataset]
    for name, key in [("data_root", "root"), ("clip_len", "clip_len"), ("resize", "resize"),
                      ("frame_stride", "frame_stride"), ("crop_size", "crop"),
                      ("eval_clips", "eval_clips"), ("eval_crops", "eval_crops"),
                      ("label_fraction", "label_fraction"), ("cascade", "cascade"),
                      ("epochs", "epochs"), ("batch_size", "batch_size"), ("lr", "lr"),
                      ("optimizer", "optimizer"), ("weight_decay", "weight_decay")]:
        if getattr(a, name) is None:
            setattr(a, name, preset[key])
    if a.method not in METHODS:
        fail(f"unknown method '{a.method}'; choose one of {', '.join(METHODS)}")
    archs = a.cascade.split(",")
    for arch in archs:
        try:
            parse_arch(arch)
        except ValueError as e:
            fail(str(e))
    if a.method != "ce" and len(archs) < 2:
        fail(f"--method {a.method} distils: --cascade needs at least 2 models (teacher, student)")
    if not 0 < a.label_fraction <= 1:
        fail(f"--label-fraction must be in (0, 1], got {a.label_fraction}")
    if not 0 <= a.label_noise < 1:
        fail(f"--label-noise must be in [0, 1), got {a.label_noise}")
    for name in ("epochs", "teacher_epochs", "max_steps_per_epoch", "workers",
                 "memory_cache_gb"):
        if getattr(a, name) is not None and getattr(a, name) < 0:
            fail(f"--{name.replace('_', '-')} must be >= 0, got {getattr(a, name)}")
    for name in ("batch_size", "clip_len", "frame_stride", "crop_size", "eval_clips", "pl_clips",
                 "eval_every"):
        if getattr(a, name) < 1:
            fail(f"--{name.replace('_', '-')} must be >= 1, got {getattr(a, name)}")
    if a.crop_size > a.resize:
        fail(f"--crop-size {a.crop_size} is larger than --resize {a.resize}")
    if a.eval_crops not in (1, 3):
        fail(f"--eval-crops must be 1 or 3, got {a.eval_crops}")
    if a.optimizer not in ("sgd", "adamw"):
        fail(f"--optimizer must be sgd or adamw, got {a.optimizer}")
    if a.fold not in (1, 2, 3):
        fail(f"--fold must be 1, 2 or 3, got {a.fold}")
    if a.device not in ("auto", "cpu", "cuda"):
        fail(f"--device must be auto, cpu or cuda, got {a.device}")
    if a.device == "cuda" and not torch.cuda.is_available():
        fail("--device cuda, but no CUDA device is visible")
    # bf16 is a CUDA feature here: on the CPU, torch 2.13's bf16 convolution weight gradient
    # (oneDNN) returns random NaN on CPUs with avx512_bf16, and CPUs without it emulate bf16
    # slower than float32. So --amp on the CPU is refused before any work, not warned about.
    if a.amp and (a.device == "cpu" or a.device == "auto" and not torch.cuda.is_available()):
        fail("--amp turns on bf16 autocast, which is for CUDA; on the CPU it is refused, because "
             "CPU bf16 training is unreliable (random NaN gradients on CPUs with avx512_bf16, "
             "torch 2.13) and no faster: drop --amp, or run on a GPU with --device cuda")
    shares = a.phase_shares.split(",")
    if (len(shares) != S + 1 or any(not s.replace(".", "", 1).isdigit() for s in shares)
            or sum(float(s) for s in shares) <= 0):
        fail(f"--phase-shares needs {S + 1} non-negative numbers, at least one > 0, "
             f"got '{a.phase_shares}'")
    if a.method == "skd" and a.no_corr and a.no_dist:
        fail("--no-corr with --no-dist leaves SKD no substage loss; use --method kd instead")
    for path in (a.teacher_weights or "").split(","):
        if path and not os.path.isfile(path):
            fail(f"--teacher-weights: no such file {path}")
    a.out = a.out or f"runs/{a.dataset}_{a.method}_p{a.label_fraction:g}_s{a.seed}"
    ckpt = os.path.join(a.out, "checkpoint.pt")
    if a.resume and not os.path.isfile(ckpt):
        fail(f"--resume: no checkpoint at {ckpt}; run without --resume to start")
    if not a.resume and os.path.isfile(ckpt):
        fail(f"{a.out} holds a checkpoint of an earlier run: pass --resume to continue it, or "
             "--out to start a new run elsewhere (nothing was overwritten)")
    return a


# -----------------------------------------------------------------------------
# Distributed helpers: without torchrun, world = 1 and these do nothing

def world_info():
    return int(os.environ.get("RANK", 0)), int(os.environ.get("WORLD_SIZE", 1))


def all_sum(t):
    """Sum a tensor over processes (each fills its own rows, zeros elsewhere)."""
    if dist.is_initialized():
        dist.all_reduce(t)
    return t


# -----------------------------------------------------------------------------
# Evaluation (Sec. 8): clip accuracy and video accuracy, reported separately

@torch.no_grad()
def evaluate(model, videos, a, device, num_classes, rank, world, cache=None):
    """Clip accuracy (one centre clip, centre crop) and video accuracy (softmax averaged over
    eval_clips x eval_crops views, top-1 and top-5), per-class accuracy and confusion matrix."""
    model.eval()
    ds = data.EvalVideos(videos, a.clip_len, a.frame_stride, a.resize, a.crop_size, a.eval_clips,
                         a.eval_crops, centre_view=True, cache=cache)  # one pass, both accuracies
    V = a.eval_clips * a.eval_crops + 1  # views per video, the centre clip last
    loader = DataLoader(ds, batch_size=max(1, a.batch_size // V), num_workers=a.workers,
                        sampler=list(range(rank, len(videos), world)),
                        pin_memory=device.type == "cuda")
    probs = torch.zeros(2, len(videos), num_classes)  # [clip, video] x (N, K), own rows only
    for x, _, idx in loader:
        B = x.shape[0]
        x = x.flatten(0, 1).to(device, non_blocking=True)  # (B*V, 3, T, S, S)
        with torch.autocast(device.type, torch.bfloat16, enabled=a.amp):
            logits = model(x)  # (B*V, K)
        p = F.softmax(logits.float(), 1).view(B, V, -1).cpu()  # (B, V, K)
        probs[0, idx] = p[:, -1]  # the centre clip alone: clip accuracy
        probs[1, idx] = p[:, :-1].mean(1)  # the K x crops views: video accuracy
    clip_p, video_p = all_sum(probs.to(device)).cpu()  # (N, K) each
    labels = torch.tensor([v.label for v in videos])  # (N,)
    pred = video_p.argmax(1)
    top5 = video_p.topk(min(5, num_classes), 1).indices  # (N, 5)
    confusion = torch.zeros(num_classes, num_classes, dtype=torch.long)
    confusion.index_put_((labels, pred), torch.ones_like(labels), accumulate=True)
    per_class = confusion.diag().float() / confusion.sum(1).clamp(min=1)
    return dict(clip_acc=(clip_p.argmax(1) == labels).float().mean().item(),
                video_acc=(pred == labels).float().mean().item(),
                video_top5=(top5 == labels[:, None]).any(1).float().mean().item(),
                per_class_acc=per_class.tolist(), confusion=confusion.tolist())


def efficiency(model, a):
    """Parameters, GFLOPs per clip (conv + linear multiply-accumulates) and CPU latency per clip."""
    return dict(params=count_params(model), gflops=count_flops(model, a.clip_len, a.crop_size,
                                                              a.crop_size),
                cpu_latency_ms=1000 * cpu_latency(model, a.clip_len, a.crop_size, a.crop_size,
                                                  repeats=5, warmup=2))


def nan_stop_message(terms, where, ckpt_path, amp):
    """The one-line stop for a non-finite loss: which term, where, what is safe, what to try."""
    bad = next(k for k, v in terms.items() if not torch.isfinite(v))
    cause = ("--amp is on: bf16 autocast is the likely cause (a value past bf16's range or "
             "precision); rerun without --amp to check, then try a lower --lr" if amp else
             "try a lower --lr")
    return (f"error: loss term '{bad}' is {terms[bad].item()} at {where}; stopped. The last good "
            f"checkpoint ({ckpt_path}, if any) is intact. {cause[0].upper()}{cause[1:]}.")


def save_atomic(obj, path):
    """torch.save to a temporary file, then rename: a kill never leaves a half-written file."""
    torch.save(obj, path + ".tmp")
    os.replace(path + ".tmp", path)


def main(argv=None):
    t_start = time.time()
    a = parse_args(argv)

    # ------------------------------------------------------------------ set-up
    rank, world = world_info()
    if a.device == "auto":
        a.device = "cuda" if torch.cuda.is_available() else "cpu"
    if world > 1:
        dist.init_process_group("nccl" if a.device == "cuda" else "gloo")
        torch.set_num_threads(max(1, (os.cpu_count() or 1) // world))
    device = torch.device(a.device, int(os.environ.get("LOCAL_RANK", 0))) \
        if a.device == "cuda" else torch.device("cpu")
    if device.type == "cuda":
        torch.cuda.set_device(device)
        torch.backends.cudnn.benchmark = True
    main_proc = rank == 0
    os.makedirs(a.out, exist_ok=True)
    ckpt_path = os.path.join(a.out, "checkpoint.pt")
    metrics_path = os.path.join(a.out, "metrics.jsonl")

    def log(event, text=None, **values):
        """A readable line on stdout and the same facts as one JSON line in metrics.jsonl."""
        if main_proc:
            if text:
                print(text, flush=True)
            with open(metrics_path, "a") as f:  # appended line by line: a kill loses nothing
                f.write(json.dumps(dict(event=event, time=round(time.time() - t_start, 2),
                                        **values)) + "\n")

    # ------------------------------------------------------------------ data
    try:
        train_videos, test_videos, classes = data.load_dataset(a.dataset, a.data_root, a.fold,
                                                               a.split_dir, a.workers or 1)
    except data.DatasetError as e:
        sys.exit(f"error: {e}")
    K, N = len(classes), len(train_videos)
    cache = data.cache_frames(train_videos + test_videos, a.memory_cache_gb * 2 ** 30,
                             os.cpu_count() or 1)  # {} for data sets larger than the budget
    # Sec. 1: the weak-supervision split, written to the run folder so that it can be reused
    split_path = os.path.join(a.out, "split.json")
    source = a.split or (split_path if a.resume and os.path.isfile(split_path) else None)
    if source:
        split = data.load_split(source, train_videos)
    else:
        split = data.make_weak_split([v.label for v in train_videos], K, a.label_fraction,
                                     a.label_noise, a.seed)
        split["videos"] = data.videos_digest(train_videos)
    if main_proc:
        data.save_split(split, split_path)
    given = torch.tensor(split["given_labels"])  # (N,) -1 = unlabelled; true labels stay in split
    true_labels = torch.tensor([v.label for v in train_videos])  # for reports only
    train_set = data.TrainClips(train_videos, split["given_labels"], a.clip_len, a.frame_stride,
                                a.resize, a.crop_size, flip=True, seed=a.seed, cache=cache)
    archs = cascade_models(a.method, a.cascade.split(","), a.no_cascade)
    roles = ["teacher"] + [f"assistant{j}" if len(archs) > 3 else "assistant"
                           for j in range(1, len(archs) - 1)] + ["student"]
    roles = roles if len(archs) > 1 else ["student"]
    weights = [w for w in (a.teacher_weights or "").split(",") if w]
    log("start", f"{a.dataset} fold {a.fold}: {N} training videos ({len(split['labelled'])} "
        f"labelled, {len(split['unlabelled'])} unlabelled, {len(split['noisy'])} noisy), "
        f"{len(test_videos)} test videos, {K} classes | method {a.method} | cascade "
        f"{' -> '.join(archs)} | device {device}" + (f" x {world}" if world > 1 else ""),
        config=asdict(a))
    if cache:
        log("cache", f"{len(cache)} videos decoded into memory "
            f"({sum(f.numel() for f in cache.values()) / 2 ** 20:.0f} MiB)", videos=len(cache))

    # ------------------------------------------------------------------ resume
    state = dict(link=0, epoch=0, finished=[], results=[], pl_reports=[], wall=0.0)
    if a.resume:
        state = torch.load(ckpt_path, map_location="cpu", weights_only=False)
        ignore = {"resume", "workers", "device", "log_every", "out"}  # a run folder may move
        diff = {k: (v, getattr(a, k)) for k, v in state["config"].items()
                if k not in ignore and getattr(a, k, None) != v}
        if diff:
            sys.exit("error: --resume with a configuration that differs from the saved one "
                     "(saved, given): " + ", ".join(f"{k}: {v[0]!r} vs {v[1]!r}"
                                                    for k, v in diff.items()))
        log("resume", f"resuming {a.out}: model {state['link'] + 1}/{len(archs)}, "
            f"after epoch {state['epoch']}")
    wall_before = state["wall"]  # seconds spent by the interrupted process(es) of this run
    finished = []
    for j, sd in enumerate(state["finished"]):
        finished.append(freeze(build_model(archs[j], K).to(device)))
        finished[-1].load_state_dict(sd)

    # ------------------------------------------------------------------ the cascade (Sec. 4)
    for link in range(state["link"], len(archs)):
        torch.manual_seed(a.seed * 1000 + link)
        student = build_model(archs[link], K).to(device)
        teacher = finished[-1] if link > 0 else None
        epochs = a.epochs
        resumed = state["link"] == link and state.get("distiller") is not None
        if link < len(weights):  # a loaded model: fine-tune only when its last layer is new
            report = load_pretrained(student, weights[link])
            log("weights", f"{roles[link]} {archs[link]}: loaded {len(report['loaded'])} tensors "
                f"from {weights[link]}", report={k: len(v) for k, v in report.items()})
            new_head = bool(report["reinitialised"])
            epochs = a.teacher_epochs if a.teacher_epochs is not None else (a.epochs if new_head
                                                                             else 0)
        if device.type == "cuda":
            student = student.to(memory_format=torch.channels_last_3d)

        # -- Sec. 5: pseudo-labels from every finished model, before each link
        pl = dict(targets=torch.zeros(N, K), weights=torch.zeros(N), keep=torch.zeros(N, dtype=bool),
                  labels=given.clone())
        if resumed:
            pl = state["pseudo"]
        elif finished and not a.no_pseudo and epochs > 0:
            views = data.EvalVideos(train_videos, a.clip_len, a.frame_stride, a.resize,
                                    a.crop_size, a.pl_clips, 1, flips=True, cache=cache)
            loader = DataLoader(views, batch_size=max(1, a.batch_size // (2 * a.pl_clips)),
                                num_workers=a.workers, sampler=list(range(rank, N, world)))
            probs = all_sum(predict_videos(finished, loader, N, K, device, a.amp).to(device)).cpu()
            pl = refresh(probs, given, true_labels, K, a.pl_temperature, a.pl_threshold,
                         a.pl_rho, a.correct_labels)
            state["pl_reports"].append(dict(link=link, **pl["report"]))
            log("pseudo_labels", format_report(pl["report"], link), link=link, **pl["report"])

        # -- the link's trainable module, optimizer and schedule
        # `ce` uses the finished models only for pseudo-labels: its links run no teacher
        uses_teacher = teacher is not None and a.method != "ce"
        distiller = Distiller(student, teacher if uses_teacher else None,
                              a.method if uses_teacher else "ce", a, a.clip_len, a.crop_size).to(device)
        params = [p for p in distiller.parameters() if p.requires_grad]
        if a.optimizer == "sgd":
            opt = torch.optim.SGD(params, lr=a.lr, momentum=0.9, nesterov=True,
                                  weight_decay=a.weight_decay)
        else:
            opt = torch.optim.AdamW(params, lr=a.lr, weight_decay=a.weight_decay)
        start_epoch = 0
        if resumed:
            distiller.load_state_dict(state["distiller"])
            opt.load_state_dict(state["optimizer"])
            start_epoch = state["epoch"]
        model = distiller
        if world > 1:  # unused parameters: the early phases run only a prefix of the student
            model = torch.nn.parallel.DistributedDataParallel(
                distiller, device_ids=[device.index] if device.type == "cuda" else None,
                find_unused_parameters=True)
        shard = math.ceil(N / world)  # videos per process per epoch
        steps = math.ceil(shard / a.batch_size)
        steps = min(steps, a.max_steps_per_epoch) if a.max_steps_per_epoch else steps
        total = epochs * steps
        starts = phase_starts(total, [float(s) for s in a.phase_shares.split(",")],
                              distiller.staged)
        name = f"{roles[link]} {archs[link]}"
        log("link", f"== {name}: {epochs} epochs x {steps} steps"
            + (f", teacher {archs[link - 1]}" if uses_teacher else ", cross-entropy")
            + (f", phases start at steps {starts}" if distiller.staged else ""))

        # -- the training loop
        result = state["results"][link] if len(state["results"]) > link else None
        for epoch in range(start_epoch, epochs):
            t_epoch, seen, t_log = time.time(), 0, time.time()
            # Everything random in an epoch is seeded by (seed, link, epoch): a resumed run
            # repeats exactly the clips, crops, order and dropout of an uninterrupted one.
            torch.manual_seed(int(np.random.default_rng([a.seed, link, epoch]).integers(2**31)))
            train_set.set_epoch(link * 100_000 + epoch)
            # Without a teacher only (pseudo-)labelled videos carry a loss, so the epoch cycles
            # through them (still N clips, as in every link) instead of wasting steps.
            rng = np.random.default_rng([a.seed, link, epoch])
            pool = np.arange(N) if uses_teacher else np.flatnonzero(
                (pl["labels"] >= 0) | pl["keep"])
            order = np.concatenate([rng.permutation(pool) + N * r  # + N * r: a repeat, see TrainClips
                                    for r in range(math.ceil(shard * world / len(pool)))])
            order = order[:shard * world][rank::world].tolist()  # this process's share
            loader = DataLoader(train_set, batch_size=a.batch_size, sampler=order,
                                num_workers=a.workers, pin_memory=device.type == "cuda")
            model.train()
            for it, (clips, _, idx, _) in enumerate(loader):
                if it >= steps:
                    break
                step = epoch * steps + it
                phase = phase_at(step, starts)
                for g in opt.param_groups:
                    g["lr"] = lr_at(step, *phase_span(step, starts, total), a.lr)
                x = clips.to(device, non_blocking=True)  # (B, 3, T, S, S)
                if device.type == "cuda":
                    x = x.contiguous(memory_format=torch.channels_last_3d)
                batch = dict(labels=pl["labels"][idx], pl_targets=pl["targets"][idx],
                             pl_weights=pl["weights"][idx], pl_keep=pl["keep"][idx])
                batch = {k: v.to(device, non_blocking=True) for k, v in batch.items()}
                with torch.autocast(device.type, torch.bfloat16, enabled=a.amp):
                    terms = model(x, batch, phase, (step + 1) / total)  # progress: DKD
                if not torch.isfinite(terms["loss"]):
                    sys.exit(nan_stop_message(terms, f"{name}, epoch {epoch + 1}, step {step + 1}",
                                              ckpt_path, a.amp))
                opt.zero_grad(set_to_none=True)
                terms["loss"].backward()
                opt.step()
                seen += x.shape[0] * world
                if time.time() - t_log > a.log_every or it == steps - 1:
                    t_log, speed = time.time(), seen / (time.time() - t_epoch)
                    left = (total - step - 1) * a.batch_size * world / max(speed, 1e-9)
                    values = {k: round(v.item(), 4) for k, v in terms.items()}
                    log("train", f"{name} " + (f"phase {phase}/{S + 1} " if distiller.staged
                                               else "") +
                        f"epoch {epoch + 1}/{epochs} step {step + 1}/{total} | "
                        + " ".join(f"{k} {v:.3f}" for k, v in values.items())
                        + f" | lr {opt.param_groups[0]['lr']:.2e} | {speed:.1f} clips/s | "
                        f"eta {left / 60:.1f} min", link=link, epoch=epoch + 1, step=step + 1,
                        phase=phase, clips_per_s=round(speed, 2), **values)
            # Before the last phase of a staged link the student's head has not trained yet:
            # its accuracy would be chance, so evaluation waits for phase S + 1.
            head_trained = phase_at((epoch + 1) * steps - 1, starts) > S
            if head_trained and (epoch + 1) % a.eval_every == 0 or epoch + 1 == epochs:
                result = evaluate(student, test_videos, a, device, K, rank, world, cache)
                log("eval", f"{name} epoch {epoch + 1}: clip acc {result['clip_acc']:.3f}, "
                    f"video acc {result['video_acc']:.3f} (top-5 {result['video_top5']:.3f}), "
                    f"{(time.time() - t_epoch):.0f} s", link=link, epoch=epoch + 1,
                    **{k: result[k] for k in ("clip_acc", "video_acc", "video_top5")})
            if main_proc:
                state.update(link=link, epoch=epoch + 1, distiller=distiller.state_dict(),
                             optimizer=opt.state_dict(), pseudo=pl, config=asdict(a),
                             finished=[m.state_dict() for m in finished],
                             wall=wall_before + time.time() - t_start)
                save_atomic(state, ckpt_path)

        # -- the link is done: freeze the student; it teaches the next link
        if result is None:  # a loaded model that was not trained here
            result = evaluate(student, test_videos, a, device, K, rank, world, cache)
        finished.append(freeze(student))
        state["results"] = state["results"][:link] + [result]
        if main_proc:
            torch.save(student.state_dict(), os.path.join(a.out, f"model{link}_{archs[link]}.pt"))
            state.update(link=link + 1, epoch=0, distiller=None, optimizer=None, pseudo=None,
                         config=asdict(a), finished=[m.state_dict() for m in finished],
                         wall=wall_before + time.time() - t_start)
            save_atomic(state, ckpt_path)

    # ------------------------------------------------------------------ summary
    if main_proc:
        rows = []
        for j, (arch, res) in enumerate(zip(archs, state["results"])):
            rows.append(dict(role=roles[j], arch=arch, clip_acc=res["clip_acc"],
                             video_acc=res["video_acc"], video_top5=res["video_top5"],
                             **efficiency(finished[j], a)))
        final = state["results"][-1]
        with open(os.path.join(a.out, "confusion.json"), "w") as f:
            json.dump(dict(classes=classes, per_class_acc=final["per_class_acc"],
                           confusion=final["confusion"]), f)
        summary = dict(dataset=a.dataset, method=a.method, label_fraction=a.label_fraction,
                       seed=a.seed, models=rows,
                       pseudo_labels=[dict(link=r["link"], coverage=r["coverage"],
                                           accuracy=r["accuracy"]) for r in state["pl_reports"]],
                       wall_seconds=round(wall_before + time.time() - t_start, 1))
        with open(os.path.join(a.out, "summary.json"), "w") as f:
            json.dump(summary, f, indent=1)
        print("\n| role | arch | clip acc | video acc | top-5 | params | GFLOPs | CPU ms |\n"
              "|---|---|---|---|---|---|---|---|")
        for r in rows:
            print(f"| {r['role']} | {r['arch']} | {r['clip_acc']:.3f} | {r['video_acc']:.3f} | "
                  f"{r['video_top5']:.3f} | {r['params'] / 1e6:.2f}M | {r['gflops']:.3f} | "
                  f"{r['cpu_latency_ms']:.1f} |")
        log("summary", f"\n{a.method} on {a.dataset}, {a.label_fraction:g} of the labels: "
            f"{summary['wall_seconds'] / 60:.1f} min; {a.out}/summary.json", **summary)
    if dist.is_initialized():
        dist.destroy_process_group()


if __name__ == "__main__":
    main()
