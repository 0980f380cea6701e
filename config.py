"""The command line of train.py: every flag with its unit, default and reason (`Args`), the
data set's defaults filled in and every check that can fail before any work (`parse_args`), and
the key of a run: everything that made its numbers (`run_key`), by which finished runs are reused.

One flat dataclass, parsed with the standard library; the per-data-set defaults live in
data.DATASETS, and each method's own flags (e.g. --fitnet-weight) in its entry of
cascade.METHODS. METHOD.md's sections are named at the flags that set them.
"""
import argparse
import ast
import hashlib
import json
import os
import sys
from dataclasses import asdict, dataclass, field, fields

import torch

import data
from cascade import METHODS, S
from models import check_pretrained, parse_arch


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
    method: str = arg("skd", "the method (cascade.METHODS)")
    cascade: str = arg(None, "architectures, teacher first, student last, comma-separated")
    teacher_weights: str = arg(None, "weights of the first model(s) of the cascade, comma-separated "
                               "(torchvision K400 files or model<j>_*.pt of an earlier run)")
    pretrain_epochs: int = arg(None, "simulated set, no --teacher-weights: epochs of the teacher's "
                               "pretraining (all labels, the other motions; cached), 0 = none")
    pretrain_on: str = arg(None, "simulated set: the teacher's pretraining set, 'other-motions' "
                           "(no class in common; the default while 6 motions are free) or "
                           "'same-motions' (the set's motions in the other look and another seed: "
                           "classes in common, as Kinetics-400 has HMDB51's; regime d)")
    pretrain_lr: float = arg(None, "simulated set: peak learning rate of the teacher's pretraining "
                             "(from scratch on the twin set, where --lr's 2e-3 sat at chance for "
                             "up to 22 epochs)")
    teacher_epochs: int = arg(None, "epochs for a loaded teacher: default 0, or --epochs when its "
                              "last layer is new (other classes, or a backbone without one)")
    tau: float = arg(4.0, "logit temperature of KD (Sec. 6)")
    tau_f: float = arg(4.0, "feature temperature of Eq. D")
    gamma: float = arg(1.0, "weight of Eq. C inside L_sub (Sec. 2c)")
    lambda_kd: float = arg(1.0, "weight of the KD term (Sec. 6; kd and takd too)")
    lambda_feat: float = arg(1.0, "weight of the balanced substage losses (Sec. 6; cwd's Eq. D too)")
    lambda_hyb: float = arg(1.0, "weight of the hybrid-path KD term (Sec. 3)")
    phase_epochs: float = arg(1.0, "epochs of each of the S feature-only phases of a staged link, "
                              "at most 10% of the link each; the last phase gets the rest (Sec. 3)")
    phase_shares: str = arg(None, "fixed relative lengths of the S + 1 phases instead, e.g. "
                            "1,1,1,1,6 (60% of the steps in the last phase at any budget)")
    # -- ablations of SKD (Sec. 3-5); each switches one part off (or on)
    joint: bool = arg(False, "one phase with every loss from the first step (no staged schedule)")
    no_corr: bool = arg(False, "drop the correlation loss, Eq. C")
    no_fdist: bool = arg(False, "drop the feature-distribution loss L_fdist, Eq. D")
    plain_sum: bool = arg(False, "sum the substage losses without the running-mean balancing")
    no_cascade: bool = arg(False, "distil the student straight from the teacher")
    no_pseudo: bool = arg(False, "no pseudo-labels for the unlabelled videos (Sec. 5)")
    hybrid: bool = arg(False, "add the hybrid-path KD term in the last phase (Sec. 3)")
    # -- pseudo-labels (Sec. 5)
    pl_clips: int = arg(None, "K clips per video (and their flips) for the pseudo-labels")
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
    repeat_clips: int = arg(1, "R clips per video from one decoding pass: a batch holds "
                            "batch_size / R videos, an epoch the same clips and steps from 1/R of "
                            "the videos; 1 = one clip each (see README: little gain measured)")
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

    def __getattr__(self, name):
        """A method's own flag (cascade.METHODS[m].flags) that parse_args did not set: its
        default, so that Args() holds every setting a loss reads."""
        flags = method_flags()
        if name in flags:
            return flags[name][0]
        raise AttributeError(f"'Args' object has no attribute '{name}'")

    def weight_files(self):
        """The --teacher-weights files, in cascade order ([] when none)."""
        return [w for w in (self.teacher_weights or "").split(",") if w]


def parse_args(argv=None):
    p = argparse.ArgumentParser(description="Train and evaluate one run: the SKD cascade of "
                                "METHOD.md (teacher -> assistant -> student) or a baseline "
                                "(--method), on the simulated set, HMDB51 or UCF101.")
    methods = "; ".join(f"{m.name}: {m.about}"
                        + (f" (--{m.weight.replace('_', '-')})" if m.weight else "")
                        for m in METHODS.values())
    for f in fields(Args):
        name = "--" + f.name.replace("_", "-")
        help = f.metadata["help"] + (f": {methods}" if f.name == "method" else "")
        help = help.replace("%", "%%")  # argparse formats help with %
        if f.type is bool:
            p.add_argument(name, action="store_true", help=help)
        else:
            p.add_argument(name, type=f.type, default=f.default, help=help)
    for name, (default, help) in method_flags().items():  # each method's own, from its table
        p.add_argument("--" + name.replace("_", "-"), type=type(default), default=default,
                       help=help.replace("%", "%%"))
    given = vars(p.parse_args(argv))
    a = Args(**{f.name: given.pop(f.name) for f in fields(Args)})
    for name, value in given.items():
        setattr(a, name, value)
    return fill_defaults(a)


def method_flags():
    """{field: (default, help)} of every method's own flags, in the table's order."""
    return {name: spec for m in METHODS.values() for name, spec in m.flags.items()}


def settings(a):
    """Every setting of run `a` as a dict: Args' fields, then the methods' own flags."""
    return {**asdict(a), **{name: getattr(a, name) for name in method_flags()}}


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
                      ("optimizer", "optimizer"), ("weight_decay", "weight_decay"),
                      ("pl_clips", "pl_clips"), ("pretrain_epochs", "pretrain_epochs"),
                      ("pretrain_lr", "pretrain_lr")]:
        if getattr(a, name) is None:
            setattr(a, name, preset[key])
    if a.method == "ce":
        fail("--method ce is now two methods: 'pseudo' (the task loss on the given labels and "
             "the teacher's pseudo-labels) or 'alone' (the student on the given labels only)")
    if a.method not in METHODS:
        fail(f"unknown method '{a.method}'; choose one of {', '.join(METHODS)}")
    archs = a.cascade.split(",")
    for arch in archs:
        try:
            parse_arch(arch)
        except ValueError as e:
            fail(str(e))
    if METHODS[a.method].teacher and len(archs) < 2:
        fail(f"--method {a.method} learns from a teacher: --cascade needs at least 2 models "
             "(teacher, student); --method alone trains one model on its labels")
    if a.pretrain_on not in (None, "other-motions", "same-motions"):
        fail(f"--pretrain-on takes other-motions or same-motions, got '{a.pretrain_on}'")
    if not 0 < a.label_fraction <= 1:
        fail(f"--label-fraction must be in (0, 1], got {a.label_fraction}")
    if not 0 <= a.label_noise < 1:
        fail(f"--label-noise must be in [0, 1), got {a.label_noise}")
    for name in ("epochs", "teacher_epochs", "pretrain_epochs", "max_steps_per_epoch", "workers",
                 "memory_cache_gb"):
        if getattr(a, name) is not None and getattr(a, name) < 0:
            fail(f"--{name.replace('_', '-')} must be >= 0, got {getattr(a, name)}")
    for name in ("batch_size", "clip_len", "frame_stride", "crop_size", "eval_clips", "pl_clips",
                 "eval_every"):
        if getattr(a, name) < 1:
            fail(f"--{name.replace('_', '-')} must be >= 1, got {getattr(a, name)}")
    for name in ("lr", "tau", "tau_f", "pl_temperature", "pl_rho", "pretrain_lr"):
        if getattr(a, name) is not None and not getattr(a, name) > 0:
            fail(f"--{name.replace('_', '-')} must be > 0, got {getattr(a, name)}")
    weights = [n for n, (default, _) in method_flags().items() if isinstance(default, float)]
    for name in ["weight_decay", "gamma", "lambda_kd", "lambda_feat", "lambda_hyb"] + weights:
        if not getattr(a, name) >= 0:
            fail(f"--{name.replace('_', '-')} must be >= 0, got {getattr(a, name)}")
    if not 0 <= a.pl_threshold <= 1:
        fail(f"--pl-threshold is a confidence: it must be in [0, 1], got {a.pl_threshold}")
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
    if a.repeat_clips < 1 or a.batch_size % a.repeat_clips:
        fail(f"--repeat-clips must be >= 1 and divide --batch-size ({a.batch_size}), "
             f"got {a.repeat_clips}")
    if a.phase_epochs <= 0:
        fail(f"--phase-epochs must be > 0, got {a.phase_epochs}")
    shares = (a.phase_shares or "").split(",")
    if a.phase_shares is not None and (
            len(shares) != S + 1 or any(not s.replace(".", "", 1).isdigit() for s in shares)
            or sum(float(s) for s in shares) <= 0):
        fail(f"--phase-shares needs {S + 1} non-negative numbers, at least one > 0, "
             f"got '{a.phase_shares}'")
    for m in METHODS.values():  # each method checks its own flags
        message = m.check(a) if m.check else None
        if message:
            fail(message)
    if a.method == "skd" and a.no_corr and a.no_fdist:
        fail("--no-corr with --no-fdist leaves SKD no substage loss; use --method kd instead")
    for path in a.weight_files():
        if not os.path.isfile(path):
            fail(f"--teacher-weights: no such file {path}")
    if a.split and not os.path.isfile(a.split):
        fail(f"--split: no such file {a.split}; pass the split.json of an earlier run, or leave "
             "--split out to draw a new split")
    a.out = a.out or f"runs/{a.dataset}_{a.method}_p{a.label_fraction:g}_s{a.seed}"
    ckpt = os.path.join(a.out, "checkpoint.pt")
    if a.resume and not os.path.isfile(ckpt):
        fail(f"--resume: no checkpoint at {ckpt}; run without --resume to start")
    if not a.resume and os.path.isfile(ckpt):
        fail(f"{a.out} holds a checkpoint of an earlier run: pass --resume to continue it, or "
             "--out to start a new run elsewhere (nothing was overwritten)")
    return a


def check_teacher_weights(a, archs):
    """Every --teacher-weights file fits the model of the cascade it is for (models.
    check_pretrained: shapes only, no model built); one error line if not."""
    K = data.DATASETS[a.dataset]["num_classes"]  # a new fc is fine: only the backbone must fit
    for arch, path in zip(archs, a.weight_files()):
        try:
            check_pretrained(arch, K, path)
        except ValueError as e:
            sys.exit(f"error: --teacher-weights: {e}; pass weights of {arch} (torchvision's "
                     f"Kinetics-400 .pth of its kind, or a run's model<j>_{arch}.pt), or change "
                     "--cascade to the file's architecture")


# -----------------------------------------------------------------------------
# The key of a run: a finished run folder is reused (experiments/grid.py, the simulated teacher's
# pretraining) only when its key equals the key asked for, so that no number of older code or other
# settings is ever served as a new one.

REPO = os.path.dirname(os.path.abspath(__file__))
NOT_RESULTS = ("out", "resume", "workers", "log_every")  # settings that change no number


def file_hash(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def code_hash(path):
    """Hash of a module's code without its comments and docstrings (its syntax tree): editing a
    comment keeps the cached runs, any change to what the code does discards them."""
    with open(path) as f:
        tree = ast.parse(f.read())
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if (isinstance(body, list) and body and isinstance(body[0], ast.Expr)
                and isinstance(body[0].value, ast.Constant) and isinstance(body[0].value.value, str)):
            node.body = body[1:] or [ast.Pass()]  # the docstring
    return hashlib.sha256(ast.dump(tree).encode()).hexdigest()


def training_modules(start="train.py", root=REPO):
    """The repository's modules that train.py imports, directly or through another one, read from
    their import statements (those inside functions too): train.py, cascade.py, ... but not
    experiments/plots.py, experiments/grid.py or experiments/benchmark.py, so that editing a figure
    keeps every cached run."""
    found, todo = set(), [start]
    while todo:
        name = todo.pop()
        if name in found or not os.path.isfile(os.path.join(root, name)):
            continue  # the standard library, torch, numpy, av
        found.add(name)
        with open(os.path.join(root, name)) as f:
            tree = ast.parse(f.read())
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                todo += [f"{n.name.split('.')[0]}.py" for n in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                todo.append(f"{node.module.split('.')[0]}.py")
    return sorted(found)


def run_key(a):
    """What made the results of a run with arguments `a` (filled in by parse_args): every setting
    that changes a number, the content hash of every weight file it loads, the data (a simulated
    set's generator parameters, or the names and sizes of a real set's files) and the code of
    every module train.py runs. A dict, with its own hash under key['hash']."""
    info = os.path.join(a.data_root, "synthetic.json")
    if os.path.isfile(info):  # the simulated set is a function of its parameters (and the code)
        with open(info) as f:
            data_key = json.load(f)
    else:  # real data: the file names and sizes under the root
        data_key = hashlib.sha256("\n".join(
            f"{os.path.relpath(os.path.join(d, n), a.data_root)} {os.path.getsize(os.path.join(d, n))}"
            for d, _, names in sorted(os.walk(a.data_root)) for n in sorted(names)).encode()).hexdigest()
    key = dict(config={k: v for k, v in settings(a).items() if k not in NOT_RESULTS},
               weights=[file_hash(w) for w in a.weight_files()],
               data=data_key,
               code={f: code_hash(os.path.join(REPO, f)) for f in training_modules()})
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
