"""Train and evaluate: the whole method of METHOD.md, end to end.

    python train.py                                   # SKD cascade on the simulated set, 20% labels
    python train.py --method kd                        # a baseline on the same data and labels
    python train.py --dataset hmdb51 --teacher-weights r2plus1d_18-91a641e6.pth --device cuda --amp
    torchrun --nproc_per_node=2 train.py ...           # DistributedDataParallel

The run folder (--out) receives: split.json (the weak-supervision split, Sec. 1), metrics.jsonl
(every log line, evaluation and pseudo-label report), checkpoint.pt (after every epoch; --resume
continues from it), model<j>_<arch>.pt (each finished model, loadable with --teacher-weights),
confusion.json (the final student's per-class accuracy and confusion matrix) and summary.json.

`main`, at the end, is the method in one screen: set-up and data, then for every link of the
cascade (Sec. 4) pseudo-labels (Sec. 5) -> `train_link` -> freeze, then the summary. `train_link`
is one link's optimisation (optimizer, staged schedule, step loop, evaluation, checkpoint), with
explicit inputs and outputs: the function to replace to train a link another way.
"""
import json
import math
import os
import sys
import time

import numpy as np
import torch
import torch.distributed
import torch.nn.functional as F
from torch.utils.data import DataLoader

import clips
import data
from cascade import (S, Distiller, cascade_models, distils, evaluates_after, freeze,
                     link_schedule, lr_at, phase_at, phase_span, restore)
from config import check_teacher_weights, parse_args, run_key, settings
from losses import task_chance
from models import (build_model, count_flops, count_params, cpu_latency, load_pretrained,
                    read_torch_file)
from pseudolabel import format_report, predict_videos, refresh
from run import (all_sum, mid_link, read_resume_state, resume_state, save_atomic, save_checkpoint,
                 set_up, stop_if_not_finite, world_info)
from synthetic import (LOOKS, MOTIONS, SYNTHETIC_DEFAULTS, TWIN_SCALE, ensure_synthetic,
                       read_params)
from video import cache_frames


# -----------------------------------------------------------------------------
# Data (Sec. 1, 9)

def roles_of(archs):
    """The role of every model of a cascade: teacher, assistant(s), student."""
    if len(archs) == 1:
        return ["student"]
    return ["teacher"] + [f"assistant{j}" if len(archs) > 3 else "assistant"
                          for j in range(1, len(archs) - 1)] + ["student"]


def load_videos(run):
    """The official fold, decoded into memory when it fits -> (train videos, test videos,
    class names, cache); cache is video.cache_frames' dict, {} for data sets past the budget."""
    a = run.a
    try:
        train_videos, test_videos, classes = data.load_dataset(a.dataset, a.data_root, a.fold,
                                                               a.split_dir, a.workers or 1)
    except data.DatasetError as e:
        sys.exit(f"error: {e}")
    cache = cache_frames(train_videos + test_videos, a.memory_cache_gb * 2 ** 30,
                         os.cpu_count() or 1, short_side=a.resize)  # frames as the sets read them
    return train_videos, test_videos, classes, cache


def pretraining_argv(a):
    """Sec. 9: the train.py arguments of the teacher's pretraining for run `a` (no --out), after
    making its twin set, `<root>_twin` (`<root>_twin_same` for --pretrain-on same-motions): the
    simulated set's other motions (no class in common) or, with --pretrain-on same-motions
    (regime d) or for a set of more than half the motions, the same motions in the other look
    and another seed, clean and at full motion (the generator's default difficulty and motion
    scale): classes in common, as Kinetics-400 has most of HMDB51's, but no video and no look,
    and cleaner than the target, as Kinetics's trimmed clips are than HMDB51's movie excerpts.
    Either twin holds TWIN_SCALE times the set's videos per class, all labelled. The pretraining
    has a recipe of its own, as a Kinetics-400 checkpoint has: the simulated preset's optimizer,
    weight decay and batch, at --pretrain-lr for --pretrain-epochs; only the clips (length, stride, size, views)
    follow the run it serves, so that its backbone sees what it will see there.
    -> (argv, a line naming the twin set and its motions)."""
    try:  # the set as data.load_dataset would read it (made now with the defaults if absent)
        params = {"first_class": 0, **(read_params(a.data_root) or ensure_synthetic(a.data_root))}
    except FileExistsError as e:
        sys.exit(f"error: {e}")
    first, n = params["first_class"], params["classes"]
    other = first + n if first + 2 * n <= len(MOTIONS) else 0  # the next n motions, else the first
    overlap = other < first + n and first < other + n  # no disjoint set of n motions is left
    if overlap and a.pretrain_on == "other-motions":
        sys.exit(f"error: --pretrain-on other-motions: {a.data_root} uses {n} of the "
                 f"{len(MOTIONS)} motions, which leaves no disjoint set; pass --pretrain-on "
                 "same-motions, or a set of at most 6 classes")
    same = a.pretrain_on == "same-motions" or overlap
    if same:  # the same classes, no video and no look in common; clean, at full motion
        twin_params = {**params, "look": (params["look"] + 1) % LOOKS, "seed": params["seed"] + 1000,
                       **{k: SYNTHETIC_DEFAULTS[k] for k in ("difficulty", "motion")}}
        what = f"the same {n} motions in look {twin_params['look']}, seed {twin_params['seed']}"
    else:
        twin_params = {**params, "first_class": other}
        what = ", ".join(MOTIONS[other:other + n])
    twin = a.data_root.rstrip("/\\") + ("_twin_same" if same else "_twin")
    try:
        ensure_synthetic(twin, **{**twin_params, "extra_test": 0,
                                  "videos_per_class": TWIN_SCALE * params["videos_per_class"]})
    except FileExistsError as e:  # e.g. the twin of an earlier version, or a damaged one
        sys.exit(f"error: {twin} is the teacher's pretraining set, which train.py makes from "
                 f"{a.data_root}, and it cannot be used as it is ({e}). The fix: delete {twin} "
                 "and it is made again, or pass --pretrain-epochs 0")
    arch = a.cascade.split(",")[0]
    argv = ["--dataset", "synthetic", "--data-root", twin, "--method", "alone", "--cascade", arch,
            "--label-fraction", "1", "--epochs", str(a.pretrain_epochs), "--pretrain-epochs", "0",
            "--lr", str(a.pretrain_lr), "--eval-every", "1000", "--seed", "0",
            "--workers", str(a.workers), "--device", a.device,
            "--memory-cache-gb", str(a.memory_cache_gb)]
    for name in ("clip_len", "frame_stride", "resize", "crop_size", "eval_clips",
                 "max_steps_per_epoch"):
        if getattr(a, name) is not None:  # the clips of the run it serves
            argv += ["--" + name.replace("_", "-"), str(getattr(a, name))]
    return argv, f"{twin} ({what})"


def pretrained_teacher(a):
    """Sec. 9: the simulated set's stand-in for Kinetics-400 weights. The teacher is trained once,
    with all labels, on a twin set of the other motions (pretraining_argv), and its backbone,
    without the last layer, is returned as --teacher-weights; build_student then fine-tunes it on
    D_L for --epochs with a new last layer. The run lives in runs/pretrain_<key>: its key
    (config.run_key) holds every setting and the code, so a change of either trains it again,
    and an interrupted pretraining resumes. -> path of the backbone."""
    if world_info()[1] > 1:
        sys.exit("error: the teacher's pretraining runs in one process: run the same command once "
                 "with python instead of torchrun (it is cached), or pass --pretrain-epochs 0")
    argv, twin = pretraining_argv(a)
    arch = a.cascade.split(",")[0]
    key = run_key(parse_args(argv + ["--out", os.devnull]))  # parsed and checked as any run
    out = os.path.join("runs", f"pretrain_{key['hash']}")
    backbone = os.path.join(out, f"backbone_{arch}.pt")
    if not os.path.isfile(backbone):
        print(f"pretraining the teacher {arch} once on {twin}, into {out} ...", flush=True)
        again = ["--resume"] if os.path.isfile(os.path.join(out, "checkpoint.pt")) else []
        main(argv + again + ["--out", out])
        state = read_torch_file(os.path.join(out, f"model0_{arch}.pt"))
        save_atomic({k: v for k, v in state.items() if not k.startswith("fc.")}, backbone)
    return backbone


def weak_split(run, train_videos, num_classes):
    """Sec. 1: the weak-supervision split (data.make_weak_split's dict), written to the run
    folder so that it can be reused: --split, or the run's own split.json on --resume."""
    a = run.a
    split_path = run.file("split.json")
    source = a.split or (split_path if a.resume and os.path.isfile(split_path) else None)
    if source:
        try:
            split = data.load_split(source, train_videos, num_classes)
        except data.DatasetError as e:
            sys.exit(f"error: {e}")
    else:
        split = data.make_weak_split([v.label for v in train_videos], num_classes,
                                     a.label_fraction, a.label_noise, a.seed)
        split["videos"] = data.videos_digest(train_videos)
    if run.main_proc:
        data.save_split(split, split_path)
    return split


# -----------------------------------------------------------------------------
# Evaluation (Sec. 8): clip accuracy and video accuracy, reported separately

@torch.no_grad()
def evaluate(model, videos, a, device, num_classes, rank, world, cache=None):
    """Clip accuracy (one centre clip, centre crop) and video accuracy (softmax averaged over
    eval_clips x eval_crops views, top-1 and top-5), per-class accuracy and confusion matrix."""
    model.eval()
    ds = clips.EvalVideos(videos, a.clip_len, a.frame_stride, a.resize, a.crop_size, a.eval_clips,
                          a.eval_crops, centre_view=True, cache=cache)  # one pass, both accuracies
    V = a.eval_clips * a.eval_crops + 1  # views per video, the centre clip last
    loader = DataLoader(ds, batch_size=max(1, a.batch_size // V), num_workers=a.workers,
                        sampler=list(range(rank, len(videos), world)),
                        pin_memory=device.type == "cuda")
    probs = torch.zeros(2, len(videos), num_classes)  # [clip, video] x (N, K), own rows only
    for x, _, idx in loader:
        B = x.shape[0]
        x = x.flatten(0, 1).to(device, non_blocking=True)  # (B*V, 3, T, S, S) uint8
        x = clips.to_model_input(x)  # float, normalised on the device
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


# -----------------------------------------------------------------------------
# Before a link: the student and its pseudo-labels (Sec. 4, 5)

def build_student(run, name, arch, num_classes, weights=None):
    """Model `arch`, from `weights` when given (the first models of a cascade may be loaded)
    -> (model, epochs to train it). A loaded model is fine-tuned only when its last layer is
    new (another number of classes, or a file without one), unless --teacher-epochs says
    otherwise."""
    a = run.a
    student = build_model(arch, num_classes).to(run.device)
    epochs = a.epochs
    if weights:
        report = load_pretrained(student, weights)
        run.log("weights", f"{name}: loaded {len(report['loaded'])} tensors from {weights}",
                report={k: len(v) for k, v in report.items()})
        # a last layer that had to be re-initialised (other classes) or that the file lacks
        # (a backbone, like pretrained_teacher's) is new: the model is fine-tuned
        new_head = any(k.startswith("fc.") for k in report["reinitialised"] + report["missing"])
        epochs = a.teacher_epochs if a.teacher_epochs is not None else (a.epochs if new_head
                                                                         else 0)
    if run.device.type == "cuda":
        student = student.to(memory_format=torch.channels_last_3d)
    return student, epochs


def pseudo_labels(run, finished, train_videos, given, true_labels, num_classes, cache):
    """Sec. 5: the ensemble of every finished model labels the training videos -> refresh's dict
    (targets q (N, K), weights c (N,), keep (N,), labels (N,), report)."""
    a, N = run.a, len(train_videos)
    views = clips.EvalVideos(train_videos, a.clip_len, a.frame_stride, a.resize, a.crop_size,
                             a.pl_clips, 1, flips=True, cache=cache)  # Sec. 5 step 1
    loader = DataLoader(views, batch_size=max(1, a.batch_size // (2 * a.pl_clips)),
                        num_workers=a.workers, sampler=list(range(run.rank, N, run.world)),
                        pin_memory=run.device.type == "cuda")
    loader = ((clips.to_model_input(x.to(run.device, non_blocking=True)), y, i)
              for x, y, i in loader)  # views (B, V, 3, T, S, S): uint8 -> float on the device
    probs = predict_videos(finished, loader, N, num_classes, run.device, a.amp)  # (N, K) own rows
    probs = all_sum(probs.to(run.device)).cpu()  # (N, K)
    return refresh(probs, given, true_labels, num_classes, a.pl_temperature, a.pl_threshold,
                   a.pl_rho, a.correct_labels)  # Sec. 5 steps 3-6


def given_labels_only(given, num_classes):
    """No pseudo-labels: refresh's dict with no video kept and the given labels as they are."""
    N = len(given)
    return dict(targets=torch.zeros(N, num_classes), weights=torch.zeros(N),
                keep=torch.zeros(N, dtype=bool), labels=given.clone())


# -----------------------------------------------------------------------------
# One link (Sec. 3, 6, 7): distil the student from its frozen teacher

def make_optimizer(params, a):
    """SGD with Nesterov momentum 0.9 (L2 weight decay) or AdamW (decoupled weight decay)."""
    if a.optimizer == "sgd":
        return torch.optim.SGD(params, lr=a.lr, momentum=0.9, nesterov=True,
                               weight_decay=a.weight_decay)
    return torch.optim.AdamW(params, lr=a.lr, weight_decay=a.weight_decay)


def epoch_order(pool, num_videos, shard, rank, world, rng):
    """This process's sampler for one epoch: the video indices of `pool`, shuffled by `rng` and
    repeated until the epoch holds shard * world clips, then dealt out to the processes."""
    order = np.concatenate([rng.permutation(pool) + num_videos * r  # + N * r: a repeat, TrainClips
                            for r in range(math.ceil(shard * world / len(pool)))])
    return order[:shard * world][rank::world].tolist()  # this process's share


def train_link(run, link, student, teacher, pl, epochs, train_set, test_videos, num_classes,
               cache, state, name, teacher_name=None):
    """Train model `link` of the cascade: `student` from the frozen `teacher` (None for the
    first model: cross-entropy) for `epochs` epochs with the staged schedule of Sec. 3, on the
    clips of `train_set` and the pseudo-labels `pl` (Sec. 5); evaluate it on `test_videos`
    (Sec. 8); checkpoint `state` after every epoch, and continue from it when it holds this
    link part-trained. `name` and `teacher_name` are for the log.
    -> (the trained student, its last evaluation: evaluate's dict)."""
    a, device, world = run.a, run.device, run.world
    N = len(train_set)

    # -- the link's trainable module, optimizer and schedule
    # `pseudo` uses the finished models only for pseudo-labels: its links run no teacher
    uses_teacher = teacher is not None and distils(a.method)
    distiller = Distiller(student, teacher if uses_teacher else None,
                          a.method if uses_teacher else "alone", a, a.clip_len,
                          a.crop_size).to(device)
    opt = make_optimizer([p for p in distiller.parameters() if p.requires_grad], a)
    start_epoch = 0
    if mid_link(state, link):
        distiller.load_state_dict(state["distiller"])
        opt.load_state_dict(state["optimizer"])
        start_epoch = state["epoch"]
    model = distiller
    if world > 1:  # unused parameters: the early phases run only a prefix of the student
        model = torch.nn.parallel.DistributedDataParallel(
            distiller, device_ids=[device.index] if device.type == "cuda" else None,
            find_unused_parameters=True)
    shard, steps, total, starts = link_schedule(a, N, world, epochs, distiller.staged)
    run.log("link", f"== {name}: {epochs} epochs x {steps} steps"
            + (f", teacher {teacher_name}" if uses_teacher else ", cross-entropy")
            + (f", phases start at steps {starts}" if distiller.staged else ""))
    # Without a teacher only (pseudo-)labelled videos carry a loss, so an epoch cycles through
    # them (still N clips, as in every link) instead of wasting steps.
    pool = np.arange(N) if uses_teacher else np.flatnonzero((pl["labels"] >= 0) | pl["keep"])
    # The labels and pseudo-labels, copied to the device once per link: a per-step copy from
    # (pageable) host memory would make the host wait for the GPU at every step.
    pl_dev = {k: pl[k].to(device) for k in ("labels", "targets", "weights", "keep")}
    R = a.repeat_clips  # R clips per video: B / R videos per batch, 1 / R of them per epoch

    # -- the training loop
    result = state["results"][link] if len(state["results"]) > link else None
    for epoch in range(start_epoch, epochs):
        t_epoch, seen, t_log = time.time(), 0, time.time()
        # Everything random in an epoch is seeded by (seed, link, epoch): a resumed run
        # repeats exactly the clips, crops, order and dropout of an uninterrupted one.
        torch.manual_seed(int(np.random.default_rng([a.seed, link, epoch]).integers(2**31)))
        train_set.set_epoch(link * 100_000 + epoch)
        order = epoch_order(pool, N, shard, run.rank, world,
                            np.random.default_rng([a.seed, link, epoch]))
        loader = DataLoader(train_set, batch_size=a.batch_size // R,
                            sampler=order[:math.ceil(len(order) / R)],
                            num_workers=a.workers, pin_memory=device.type == "cuda")
        model.train()
        first_bad = torch.tensor(-1, device=device)  # no non-finite loss yet in this epoch
        sums, counts = {}, {}  # each loss term summed over the epoch's steps (on the device)
        for it, (x, _, idx, _) in enumerate(loader):
            if it >= steps:
                break
            step = epoch * steps + it
            phase = phase_at(step, starts)
            for g in opt.param_groups:
                g["lr"] = lr_at(step, *phase_span(step, starts, total), a.lr)
            if R > 1:  # (B / R, R, 3, T, S, S): the R clips of a video side by side
                x, idx = x.flatten(0, 1), idx.repeat_interleave(R)
            x = x.to(device, non_blocking=True)  # (B, 3, T, S, S) uint8
            x = clips.to_model_input(x)  # float, normalised on the device
            if device.type == "cuda":
                x = x.contiguous(memory_format=torch.channels_last_3d)
            idx = idx.to(device, non_blocking=True)  # (B,) video indices, pinned on CUDA
            batch = dict(labels=pl_dev["labels"][idx], pl_targets=pl_dev["targets"][idx],
                         pl_weights=pl_dev["weights"][idx], pl_keep=pl_dev["keep"][idx])
            with torch.autocast(device.type, torch.bfloat16, enabled=a.amp):
                terms = model(x, batch, phase, (step + 1) / total)  # progress: DKD's warm-up
            # the first step of the epoch with a non-finite loss, kept on the device and read
            # at the next progress line (always at the epoch's last step, so before its checkpoint
            # is written): reading the loss at every step would make the host wait for the GPU.
            first_bad = torch.where(~torch.isfinite(terms["loss"].detach()) & (first_bad < 0),
                                    step, first_bad)
            opt.zero_grad(set_to_none=True)
            terms["loss"].backward()
            opt.step()
            seen += x.shape[0] * world
            for k, v in terms.items():
                sums[k] = sums.get(k, 0) + v.detach()
                counts[k] = counts.get(k, 0) + 1
            if "task" in terms:  # what the task loss would be for a uniform guess, this batch
                sums["chance"] = sums.get("chance", 0) + task_chance(batch, num_classes)
                counts["chance"] = counts.get("chance", 0) + 1
            last = it == steps - 1  # the epoch's last step
            if time.time() - t_log > a.log_every or last:
                stop_if_not_finite(run, first_bad, terms, name, epoch)
                t_log, speed = time.time(), seen / (time.time() - t_epoch)  # clips per second
                left = (total - step - 1) * a.batch_size * world / max(speed, 1e-9)  # seconds
                values = {k: round(v.item(), 4) for k, v in terms.items()}  # this step's
                # at the epoch's end, each term's mean over its steps (this process's batches):
                # one step's loss is too noisy to tell when training leaves chance
                means = {k: round(sums[k].item() / counts[k], 4) for k in sums} if last else {}
                run.log("train", f"{name} " + (f"phase {phase}/{S + 1} " if distiller.staged
                                               else "") +
                        f"epoch {epoch + 1}/{epochs} step {step + 1}/{total} | "
                        + " ".join(f"{k} {v:.3f}" for k, v in values.items())
                        + (" | epoch mean " + " ".join(
                            f"{k} {v:.3f}" for k, v in means.items()
                            if not k.startswith("sub") and k != "chance")
                           + (f" (task at chance: {means['chance']:.3f})" if "chance" in means
                              else "") if means else "")
                        + f" | lr {opt.param_groups[0]['lr']:.2e} | {speed:.1f} clips/s | "
                        f"eta {left / 60:.1f} min", link=link, epoch=epoch + 1, step=step + 1,
                        phase=phase, clips_per_s=round(speed, 2), **values,
                        **({"epoch_mean": means} if means else {}))
        if evaluates_after(epoch, epochs, steps, starts, a.eval_every):
            result = evaluate(student, test_videos, a, device, num_classes, run.rank, world, cache)
            run.log("eval", f"{name} epoch {epoch + 1}: clip acc {result['clip_acc']:.3f}, "
                    f"video acc {result['video_acc']:.3f} (top-5 {result['video_top5']:.3f}), "
                    f"{(time.time() - t_epoch):.0f} s", link=link, epoch=epoch + 1,
                    **{k: result[k] for k in ("clip_acc", "video_acc", "video_top5")})
        save_checkpoint(run, state, link=link, epoch=epoch + 1, distiller=distiller.state_dict(),
                        optimizer=opt.state_dict(), pseudo=pl)
    if result is None:  # a loaded model that was not trained here
        result = evaluate(student, test_videos, a, device, num_classes, run.rank, world, cache)
    return student, result


# -----------------------------------------------------------------------------
# Summary

def summarise(run, roles, archs, finished, state, classes):
    """summary.json (every model's accuracy and cost, the pseudo-label reports), confusion.json
    (the final student's per-class accuracy and confusion matrix) and a Markdown table."""
    a = run.a
    rows = []
    for j, (arch, res) in enumerate(zip(archs, state["results"])):
        rows.append(dict(role=roles[j], arch=arch, clip_acc=res["clip_acc"],
                         video_acc=res["video_acc"], video_top5=res["video_top5"],
                         **efficiency(finished[j], a)))
    final = state["results"][-1]
    with open(run.file("confusion.json"), "w") as f:
        json.dump(dict(classes=classes, per_class_acc=final["per_class_acc"],
                       confusion=final["confusion"]), f)
    summary = dict(dataset=a.dataset, method=a.method, label_fraction=a.label_fraction,
                   seed=a.seed, models=rows,
                   pseudo_labels=[dict(link=r["link"], coverage=r["coverage"],
                                       accuracy=r["accuracy"]) for r in state["pl_reports"]],
                   wall_seconds=round(run.wall(), 1))
    with open(run.file("summary.json"), "w") as f:
        json.dump(summary, f, indent=1)
    print("\n| role | arch | clip acc | video acc | top-5 | params | GFLOPs | CPU ms |\n"
          "|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['role']} | {r['arch']} | {r['clip_acc']:.3f} | {r['video_acc']:.3f} | "
              f"{r['video_top5']:.3f} | {r['params'] / 1e6:.2f}M | {r['gflops']:.3f} | "
              f"{r['cpu_latency_ms']:.1f} |")
    run.log("summary", f"\n{a.method} on {a.dataset}, {a.label_fraction:g} of the labels: "
            f"{summary['wall_seconds'] / 60:.1f} min; {a.out}/summary.json", **summary)


# -----------------------------------------------------------------------------
# main: the method of METHOD.md, Sec. 1 to 8

def main(argv=None):
    t_start = time.time()
    a = parse_args(argv)
    archs = cascade_models(a.method, a.cascade.split(","), a.no_cascade)
    # every file a user gave is read before any work (data, pretraining): a damaged one stops
    # the run in seconds, with one line
    check_teacher_weights(a, archs)
    saved = read_resume_state(os.path.join(a.out, "checkpoint.pt"), archs) if a.resume else None
    if a.dataset == "synthetic" and a.pretrain_epochs and not a.teacher_weights and len(archs) > 1:
        a.teacher_weights = pretrained_teacher(a)  # Sec. 9: the stand-in for K400 weights

    # ------------------------------------------------------------------ set-up
    run = set_up(a, t_start)

    # ------------------------------------------------------------------ data
    train_videos, test_videos, classes, cache = load_videos(run)
    K, N = len(classes), len(train_videos)
    split = weak_split(run, train_videos, K)  # Sec. 1
    given = torch.tensor(split["given_labels"])  # (N,) -1 = unlabelled; true labels stay in split
    true_labels = torch.tensor([v.label for v in train_videos])  # for reports only
    train_set = clips.TrainClips(train_videos, split["given_labels"], a.clip_len, a.frame_stride,
                                 a.resize, a.crop_size, flip=True, seed=a.seed, cache=cache,
                                 repeat=a.repeat_clips)  # uint8 clips: to_model_input on the device
    roles = roles_of(archs)
    names = [f"{role} {arch}" for role, arch in zip(roles, archs)]  # for the log
    weights = a.weight_files()
    run.log("start", f"{a.dataset} fold {a.fold}: {N} training videos ({len(split['labelled'])} "
            f"labelled, {len(split['unlabelled'])} unlabelled, {len(split['noisy'])} noisy), "
            f"{len(test_videos)} test videos, {K} classes | method {a.method} | cascade "
            f"{' -> '.join(archs)} | device {run.device}"
            + (f" x {run.world}" if run.world > 1 else ""), config=settings(a))
    if cache:
        run.log("cache", f"{len(cache)} videos decoded into memory "
                f"({sum(f.numel() for f in cache.values()) / 2 ** 20:.0f} MiB)", videos=len(cache))

    # ------------------------------------------------------------------ resume
    state = resume_state(run, archs, saved)
    run.wall_before = state["wall"]  # seconds spent by the interrupted process(es) of this run
    finished = [restore(arch, K, sd, run.device) for arch, sd in zip(archs, state["finished"])]

    # ------------------------------------------------------------------ the cascade (Sec. 4)
    for link in range(state["link"], len(archs)):
        torch.manual_seed(a.seed * 1000 + link)  # the student's initialisation
        student, epochs = build_student(run, names[link], archs[link], K,
                                        weights[link] if link < len(weights) else None)
        teacher = finished[-1] if link > 0 else None

        # -- Sec. 5: pseudo-labels from every finished model, before each link
        if mid_link(state, link):  # a resumed link goes on with the pseudo-labels it had
            pl = state["pseudo"]
        elif finished and not a.no_pseudo and epochs > 0:
            pl = pseudo_labels(run, finished, train_videos, given, true_labels, K, cache)
            state["pl_reports"].append(dict(link=link, **pl["report"]))
            run.log("pseudo_labels", format_report(pl["report"], link), link=link, **pl["report"])
        else:  # the first model, --no-pseudo, or a loaded model left as it is: given labels
            pl = given_labels_only(given, K)

        # -- Sec. 3, 6, 7: train the link
        student, result = train_link(
            run, link, student, teacher, pl, epochs, train_set, test_videos, K, cache, state,
            name=names[link], teacher_name=archs[link - 1] if link > 0 else None)

        # -- the link is done: freeze the student; it teaches the next link
        finished.append(freeze(student))
        state["results"] = state["results"][:link] + [result]
        if run.main_proc:
            save_atomic(student.state_dict(), run.file(f"model{link}_{archs[link]}.pt"))
        save_checkpoint(run, state, link=link + 1, epoch=0, distiller=None, optimizer=None,
                        pseudo=None, finished=[m.state_dict() for m in finished])

    # ------------------------------------------------------------------ summary
    if run.main_proc:
        summarise(run, roles, archs, finished, state, classes)
    if torch.distributed.is_initialized():
        torch.distributed.destroy_process_group()


if __name__ == "__main__":
    main()
