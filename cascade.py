"""The methods (one table, METHODS: SKD and the baselines, Sec. 6, 7), the staged schedule
(METHOD.md Sec. 3) and the cascade (Sec. 4).

One *link* of the cascade distils a student from a frozen teacher. `Distiller` is everything that
trains in a link: the student, its connectors phi_i (Sec. 2) and the substage balancer (Sec. 2c);
its forward returns the loss terms of one batch for the method and phase at hand. Keeping all of
that in one module lets DistributedDataParallel wrap it whole (connectors and balancer included).

The staged schedule splits the steps of a link into S + 1 phases:
    phase k = 1..S : active substages {1..k}; only the prefixes s_1..s_k of both networks run;
                     loss = lambda_feat * sum_{i<=k} Lhat_sub,i  (no labels needed)
    phase S + 1    : everything trains on the total loss of Sec. 6
`joint` is the ablation: a single phase with every loss from the first step.

References: Gao et al., "An Embarrassingly Simple Approach for Knowledge Distillation", 2018
(stage-by-stage training); Wang et al., "Progressive Blockwise Knowledge Distillation", IJCAI 2018
(hybrid paths); Mirzadeh et al., "Improved Knowledge Distillation via Teacher Assistant", AAAI 2020
(the cascade).
"""
import math
from dataclasses import dataclass, field
from typing import Callable

import torch
import torch.nn as nn
import torch.nn.functional as F

from losses import (SubstageBalancer, at_loss, ce_loss, dist_loss, dkd_loss, dkd_warmup,
                    fdist_loss, fitnet_loss, kd_loss, soft_ce_loss, sp_loss, substage_loss)
from models import build_connectors, build_model

S = 4  # substages per model (models.py: stem + layer1, layer2, layer3, layer4)
FITNET_HINT = 2  # FitNets' hint: the middle substage (Romero et al., "hint" layer)
DKD_WARMUP = 20 / 240  # DKD's linear warm-up: its first 20 of 240 epochs, as a share of the link


# -----------------------------------------------------------------------------
# The methods: one table. Everything the code knows about a method is its entry here: train.py's
# --method choices and the method's own flags (config.py), its loss in a link (Distiller.forward),
# the tuning grid and the figures' colours (experiments/). README, "Add your own distillation
# method", shows how to add one.

@dataclass(frozen=True)
class Method:
    name: str                  # --method NAME
    about: str                 # one line, for --method's help
    loss: Callable = None      # (distiller, fs, ft, zs, zt, batch, progress) -> {term: scalar}
                               # added to the task loss in the last phase; None = task loss only
    terms: tuple = ()          # the terms `loss` returns, logged in metrics.jsonl
    connectors: bool = False   # its loss reads phi_i(f_s), the connectors of Sec. 2
    cascade: bool = False      # distils through every model of --cascade, else teacher -> student
    staged: bool = False       # the staged schedule of Sec. 3: feature-only phases 1..S first
    weight: str = None         # the flag that scales its loss, named in --method's help
    teacher: bool = True       # False: trains the last model of --cascade alone, on D_L only
    flags: dict = field(default_factory=dict)  # its own flags {field: (default, help)} (config.py)
    check: Callable = None     # (args) -> an error message for a bad value of its flags, or None
    tune: tuple = ()           # experiments.grid tune's settings, the paper's value second
    assistant: str = None      # a cascade method whose assistant is the one `assistant` trains
    colour: str = "grey"       # its colour in every figure


METHODS = {}  # name -> Method, in the order of --method's help and of the tables


def add_method(method):
    """Register a method in METHODS (a new name, or a new entry for an existing one)."""
    METHODS[method.name] = method
    return method


def _kd(d, fs, ft, zs, zt, batch, progress):  # Hinton et al.: 'batchmean' KL * tau^2 (Sec. 6)
    return {"kd": d.cfg.lambda_kd * kd_loss(zs, zt, d.cfg.tau)}


def _dkd(d, fs, ft, zs, zt, batch, progress):  # warm-up: linear over the first 20/240 of the link
    # the target class: the given label, or the teacher's prediction for unlabelled videos
    labels = batch["labels"]
    target = torch.where(labels >= 0, labels, zt.argmax(1))  # (B,)
    return {"dkd": dkd_warmup(progress, DKD_WARMUP) * dkd_loss(zs, zt, target,
                                                              beta=d.cfg.dkd_beta)}


def _dist(d, fs, ft, zs, zt, batch, progress):  # DIST: beta = gamma = --dist-weight
    return {"dist": dist_loss(zs, zt, beta=d.cfg.dist_weight, gamma=d.cfg.dist_weight)}


def _fitnet(d, fs, ft, zs, zt, batch, progress):  # the hint substage, through its connector
    i = FITNET_HINT - 1
    return {"fitnet": d.cfg.fitnet_weight * fitnet_loss(d.connectors[i](fs[i]), ft[i])}


def _at(d, fs, ft, zs, zt, batch, progress):  # attention maps of --at-substages, summed
    which = [int(i) - 1 for i in d.cfg.at_substages.split(",")]  # 0-based substages
    return {"at": d.cfg.at_weight * sum(at_loss(fs[i], ft[i]) for i in which)}


def _at_check(a):
    substages = a.at_substages.split(",")
    if any(i not in [str(k) for k in range(1, S + 1)] for i in substages):
        return f"--at-substages takes substages 1..{S}, comma-separated, got '{a.at_substages}'"
    return None


def _sp(d, fs, ft, zs, zt, batch, progress):  # Tung and Mori's SP on the last substage
    return {"sp": d.cfg.sp_weight * sp_loss(fs[-1], ft[-1])}


def _cwd(d, fs, ft, zs, zt, batch, progress):  # Eq. D alone, all substages jointly, plain sum
    return {"cwd": d.cfg.lambda_feat * sum(fdist_loss(phi(a), b, d.cfg.tau_f)
                                           for phi, a, b in zip(d.connectors, fs, ft))}


def _skd(d, fs, ft, zs, zt, batch, progress):
    """Sec. 6, SKD's last phase: lambda_kd * KD + lambda_feat * sum_i Lhat_sub,i
    [+ lambda_hyb * L_hyb]; the raw L_sub,i are logged as sub1..sub4."""
    terms = _kd(d, fs, ft, zs, zt, batch, progress)
    terms["feat"] = d.cfg.lambda_feat * d.balancer(d.substage_losses(fs, ft, terms))
    if d.cfg.hybrid:
        terms["hyb"] = d.cfg.lambda_hyb * d.hybrid_loss(fs, zt)
    return terms


# The baselines' flags default to their papers' values as reproduced by mdistiller (Zhao et al.,
# CVPR 2022); `tune` is a small grid around that value (second), searched on a tuning set.
for _m in [
    Method("alone", "the student alone: the task loss on the given labels; no teacher, no "
           "pseudo-labels (the last model of --cascade)", teacher=False, colour="black"),
    Method("pseudo", "no distillation loss: the task loss on the given labels and the "
           "teacher's pseudo-labels (Sec. 5)", colour="C0"),
    Method("kd", "Hinton et al.'s KD on the logits (Sec. 6)", _kd, ("kd",), weight="lambda_kd",
           tune=tuple(("--lambda-kd", v) for v in ("0.5", "1", "2", "4")), colour="C1"),
    Method("fitnet", "FitNets' hint: MSE on substage 2 through a connector (Romero et al.)",
           _fitnet, ("fitnet",), connectors=True, weight="fitnet_weight",
           flags={"fitnet_weight": (100.0, "FitNets: MSE weight on the hint, substage 2")},
           tune=tuple(("--fitnet-weight", v) for v in ("10", "100", "1", "1000")), colour="C2"),
    Method("at", "attention transfer on the substages' attention maps (Zagoruyko and Komodakis)",
           _at, ("at",), weight="at_weight",
           flags={"at_weight": (1000.0, "AT: weight of the attention-map loss (beta = 1000)"),
                  "at_substages": ("1,2,3,4", "AT: the substages whose attention maps are "
                                   "matched, summed")},
           check=_at_check, colour="C9",
           tune=tuple(("--at-weight", v) for v in ("100", "1000", "10", "1"))
           + (("--at-weight", "1000", "--at-substages", "1,2"),)),
    Method("sp", "similarity-preserving KD on substage 4 (Tung and Mori)", _sp, ("sp",),
           weight="sp_weight", flags={"sp_weight": (3000.0, "SP: weight on substage 4 "
                                                    "(gamma = 3000)")},
           tune=tuple(("--sp-weight", v) for v in ("300", "3000", "30", "3")), colour="C4"),
    Method("cwd", "Eq. D alone: channel-wise distribution loss on every substage (Shu et al.)",
           _cwd, ("cwd",), connectors=True, weight="lambda_feat",
           tune=tuple(("--lambda-feat", v) for v in ("0.3", "1", "3", "0.1")), colour="C5"),
    Method("dkd", "decoupled KD (Zhao et al.)", _dkd, ("dkd",), weight="dkd_beta",
           flags={"dkd_beta": (8.0, "DKD: weight of the non-target part, NCKD (alpha = 1)")},
           tune=tuple(("--dkd-beta", v) for v in ("4", "8", "2", "1")), colour="C6"),
    Method("dist", "DIST: inter- and intra-class correlations of the logits (Huang et al.)",
           _dist, ("dist",), weight="dist_weight",
           flags={"dist_weight": (1.0, "DIST: beta = gamma, the inter- and intra-class "
                                  "weights")},
           tune=tuple(("--dist-weight", v) for v in ("0.5", "1", "2", "4")), colour="C7"),
    Method("takd", "KD through every model of the cascade (Mirzadeh et al.)", _kd, ("kd",),
           cascade=True, weight="lambda_kd", assistant="kd", colour="C8"),
    Method("skd", "staged KD, METHOD.md: substage losses, staged phases, cascade", _skd,
           ("kd", "feat", "hyb"), connectors=True, cascade=True, staged=True,
           weight="lambda_feat", colour="C3"),
]:
    add_method(_m)


def distils(method):
    """Whether a method's links run their teacher: a loss of its own (`pseudo` uses the finished
    models for pseudo-labels only; `alone` has none). train_link and the rehearsal ask."""
    return METHODS[method].loss is not None


def staged_link(method, has_teacher, joint=False):
    """Whether a link trains with the staged schedule of Sec. 3: a staged method, a teacher to
    distil from, and not the --joint ablation (Distiller, the figures and the rehearsal ask)."""
    return METHODS[method].staged and has_teacher and not joint


def cascade_models(method, archs, no_cascade=False):
    """Which architectures a method trains: all of the cascade for a cascade method (takd, skd;
    unless --no-cascade), the last alone for `alone` (no teacher, hence no pseudo-labels),
    otherwise the first (teacher) and the last (student)."""
    if not METHODS[method].teacher:
        return list(archs[-1:])
    if METHODS[method].cascade and not no_cascade:
        return list(archs)
    return [archs[0], archs[-1]] if len(archs) > 1 else list(archs)


# -----------------------------------------------------------------------------
# The schedule: pure functions of the step

def link_phase_shares(epochs, phase_epochs=1.0, shares=None):
    """Relative lengths of the S + 1 phases of a staged link of `epochs` epochs (Sec. 3).

    Each feature-only phase lasts `phase_epochs` epochs, or 10% of the link where that is shorter,
    and the last phase, with every loss, gets the rest: 1:1:1:1:6 up to 10 epochs (the shares
    SKD was first tuned with, at 10 epochs), 1:1:1:1:26 at the real data sets' 30. The alignment of
    a substage needs about the same number of steps whatever the budget, so a longer link gives
    its extra epochs to the task. `shares` ("a,b,c,d,e", --phase-shares) overrides the rule with
    fixed proportions, e.g. "1,1,1,1,6" at any budget."""
    if shares:
        return [float(x) for x in shares.split(",")]
    if S * phase_epochs >= 0.4 * epochs:  # a feature phase would take over 10% of the link
        return [1.0] * S + [6.0]
    return [float(phase_epochs)] * S + [epochs - S * phase_epochs]


def phase_starts(total_steps, shares=None, staged=True):
    """First step of each phase: S + 1 phases in proportion to `shares` (default equal), or a
    single phase starting at 0 when the schedule is not staged."""
    if not staged:
        return [0]
    shares = shares or [1.0] * (S + 1)
    assert len(shares) == S + 1 and min(shares) >= 0, shares
    cumulative = [sum(shares[:k]) / sum(shares) for k in range(S + 1)]
    return [round(c * total_steps) for c in cumulative]


def phase_at(step, starts):
    """Phase of `step`: 1..S + 1 for a staged link, S + 1 for a single-phase one."""
    k = max(i for i, s in enumerate(starts) if s <= step)
    return S + 1 - (len(starts) - 1 - k)


def phase_span(step, starts, total_steps):
    """(first step, number of steps) of the phase holding `step`: the learning-rate schedule
    restarts at every phase, because every phase is a new optimisation problem."""
    k = max(i for i, s in enumerate(starts) if s <= step)
    end = starts[k + 1] if k + 1 < len(starts) else total_steps
    return starts[k], max(end - starts[k], 1)


def evaluates_after(epoch, epochs, steps, starts, eval_every):
    """Whether train_link evaluates after 0-based `epoch`: every `eval_every` epochs once the head
    trains, and always after the last. Before the last phase of a staged link the student's head
    has not trained yet: its accuracy would be chance, so evaluation waits for phase S + 1."""
    head_trained = phase_at((epoch + 1) * steps - 1, starts) > S
    return head_trained and (epoch + 1) % eval_every == 0 or epoch + 1 == epochs


def link_schedule(a, num_videos, world, epochs, staged):
    """The steps of one link -> (videos per process per epoch, steps per epoch, steps in all,
    the first step of every phase of the staged schedule, Sec. 3)."""
    shard = math.ceil(num_videos / world)  # videos per process per epoch
    steps = math.ceil(shard / a.batch_size)
    steps = min(steps, a.max_steps_per_epoch) if a.max_steps_per_epoch else steps
    total = epochs * steps
    shares = link_phase_shares(epochs, a.phase_epochs, a.phase_shares)
    return shard, steps, total, phase_starts(total, shares, staged)


def freeze(model):
    """A finished model: eval mode (BatchNorm uses its running statistics, dropout is off) and no
    parameter takes gradients. Gradients may still flow THROUGH it (the hybrid paths)."""
    model.eval()
    model.requires_grad_(False)
    return model


def restore(arch, num_classes, state_dict, device):
    """A finished model of the cascade from its weights, frozen as it was when it finished."""
    model = freeze(build_model(arch, num_classes).to(device))
    model.load_state_dict(state_dict)
    return model


# -----------------------------------------------------------------------------
# One link

class Distiller(nn.Module):
    """The student of one link with its connectors and balancer; forward = the loss of a batch.

    teacher: a frozen model (see freeze), or None to train the student with the task loss only
    (the first model of a cascade, `alone`, or the `pseudo` baseline). It is kept out of the
    registered submodules on purpose: it is not trained, not saved with the link, and not wrapped by DDP.
    """

    def __init__(self, student, teacher, method, cfg, clip_len, crop):
        super().__init__()
        assert method in METHODS, method
        self.student, self.method, self.cfg = student, METHODS[method], cfg
        self._teacher = [teacher]  # a list hides it from nn.Module registration
        self.connectors = (build_connectors(student, teacher, clip_len, crop, crop)
                           if teacher is not None and self.method.connectors else None)
        self.balancer = SubstageBalancer(S, balanced=not cfg.plain_sum)
        self.staged = staged_link(method, teacher is not None, cfg.joint)
        # teacher grids [(C_i, T_i, H_i, W_i)], for the hybrid paths' pooling
        self.teacher_grids = teacher.feature_shapes(clip_len, crop, crop) if teacher else None

    @property
    def teacher(self):
        return self._teacher[0]

    def forward(self, x, batch, phase, progress):
        """Loss terms of one batch -> dict of scalars; 'loss' is the total to minimise.

        x: clips (B, 3, T, H, W). batch: dict of (B,) / (B, K) tensors: labels (-1 = none),
        pl_targets, pl_weights, pl_keep (Sec. 5 step 6). phase: 1..S + 1. progress: share of the
        link's steps done, this one included, in (0, 1] (DKD's warm-up ramps per step on it).
        """
        teacher = self.teacher
        upto = phase if self.staged and phase <= S else S  # substages that have to run
        heads = not self.staged or phase > S  # no loss reads the logits before the last phase

        # -- teacher: no_grad because it is frozen: no graph is kept, which saves memory and time
        with torch.no_grad():
            ft = teacher.forward_substages(x, upto) if teacher is not None else []  # [(B, C_i^t, ...)]
            zt = teacher.head(ft[-1]) if teacher is not None and heads else None  # (B, K)

        # -- student: the prefix s_1..s_upto
        fs, f = [], x
        for i in range(1, upto + 1):
            f = self.student.substage(i, f)  # (B, C_i^s, T_i, H_i, W_i)
            fs.append(f)
        zs = self.student.head(f) if heads else None  # (B, K)

        terms = {}
        if self.staged and phase <= S:
            # Sec. 3, phase k: lambda_feat * sum_{i<=k} Lhat_sub,i (Sec. 2c)
            terms["feat"] = self.cfg.lambda_feat * self.balancer(self.substage_losses(fs, ft, terms))
            terms["loss"] = terms["feat"]
            return terms

        # Sec. 6: L_task = CE on D_L + confidence-weighted soft CE on kept pseudo-labels
        labels = batch["labels"]
        terms["task"] = ce_loss(zs, labels.clamp(min=0), labels >= 0) + soft_ce_loss(
            zs, batch["pl_targets"], batch["pl_weights"], batch["pl_keep"])
        if teacher is not None and self.method.loss is not None:  # the method's own terms
            terms.update(self.method.loss(self, fs, ft, zs, zt, batch, progress))
        terms["loss"] = sum(v for k, v in terms.items() if not k.startswith("sub"))
        return terms

    def substage_losses(self, fs, ft, terms):
        """[L_sub,i for each active substage] (Sec. 2c); the raw values are logged as sub1..sub4."""
        cfg, losses = self.cfg, []
        for i, (a, b) in enumerate(zip(fs, ft)):
            phi_a = self.connectors[i](a) if not cfg.no_fdist else None  # (B, C_i^t, T_i, H_i, W_i)
            sub = substage_loss(a, phi_a, b, cfg.gamma, use_fdist=not cfg.no_fdist,
                                use_corr=not cfg.no_corr, tau_f=cfg.tau_f)["total"]
            terms[f"sub{i + 1}"] = sub.detach()
            losses.append(sub)
        return losses

    def hybrid_loss(self, fs, zt):
        """Sec. 3 hybrid path: student s_1..s_k -> phi_k -> teacher s_{k+1}..s_S + head, for one
        random k < S per step; KD of its logits against the teacher's. Gradients pass through the
        frozen teacher into phi_k and the student."""
        k = int(torch.randint(1, S, ()))
        f = self.connectors[k - 1](fs[k - 1])  # (B, C_k^t, T_k^s, H_k^s, W_k^s)
        grid = self.teacher_grids[k - 1][1:]  # (T_k^t, H_k^t, W_k^t)
        if tuple(f.shape[2:]) != tuple(grid):
            f = F.adaptive_avg_pool3d(f, grid)  # (B, C_k^t, T_k^t, H_k^t, W_k^t)
        return kd_loss(self.teacher.forward_from(k, f), zt, self.cfg.tau)


def lr_at(step, phase_first, phase_len, base_lr, warmup_frac=0.1):
    """Learning rate at `step`: linear warm-up over the first 10% of the phase, then cosine to 0.

    A pure function of the position, so a resumed run continues the schedule exactly.
    """
    t = step - phase_first
    warm = max(1, math.ceil(warmup_frac * phase_len))
    if t < warm:
        return base_lr * (t + 1) / warm
    return base_lr * 0.5 * (1 + math.cos(math.pi * (t - warm) / max(phase_len - warm, 1)))
