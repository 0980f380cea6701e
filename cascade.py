"""The staged schedule (METHOD.md Sec. 3), the per-method losses (Sec. 6, 7) and the cascade (Sec. 4).

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

import torch
import torch.nn as nn
import torch.nn.functional as F

from losses import (SubstageBalancer, at_loss, ce_loss, cwd_loss, dist_loss, dkd_loss, dkd_warmup,
                    fitnet_loss, kd_loss, soft_ce_loss, sp_loss, substage_loss)
from models import build_connectors

S = 4  # substages per model (models.py: stem + layer1, layer2, layer3, layer4)
METHODS = ("ce", "kd", "fitnet", "at", "sp", "cwd", "dkd", "dist", "takd", "skd")
CASCADE_METHODS = ("takd", "skd")  # distil through every model of the cascade; others teacher -> student
CONNECTED = ("fitnet", "cwd", "skd")  # methods whose losses need connectors phi_i

# The baselines' weights are train.py flags (--fitnet-weight, --at-weight, --at-substages,
# --sp-weight, --dkd-beta, --dist-weight), defaulting to their papers' values as reproduced by
# mdistiller (Zhao et al., CVPR 2022); the task loss always has weight 1.
FITNET_HINT = 2  # FitNets' hint: the middle substage (Romero et al., "hint" layer)
DKD_WARMUP = 20 / 240  # DKD's linear warm-up: its first 20 of 240 epochs, as a share of the link


def cascade_models(method, archs, no_cascade=False):
    """Which architectures a method trains: all of the cascade for takd/skd (unless --no-cascade),
    otherwise the first (teacher) and the last (student). A one-model list (ce only) is the
    student alone."""
    if method in CASCADE_METHODS and not no_cascade:
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
    fixed proportions, e.g. the earlier "1,1,1,1,6" at any budget."""
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


def freeze(model):
    """A finished model: eval mode (BatchNorm uses its running statistics, dropout is off) and no
    parameter takes gradients. Gradients may still flow THROUGH it (the hybrid paths)."""
    model.eval()
    model.requires_grad_(False)
    return model


# -----------------------------------------------------------------------------
# One link

class Distiller(nn.Module):
    """The student of one link with its connectors and balancer; forward = the loss of a batch.

    teacher: a frozen model (see freeze), or None to train the student with the task loss only
    (the first model of a cascade, or the `ce` baseline). It is kept out of the registered
    submodules on purpose: it is not trained, not saved with the link, and not wrapped by DDP.
    """

    def __init__(self, student, teacher, method, cfg, clip_len, crop):
        super().__init__()
        assert method in METHODS, method
        self.student, self.method, self.cfg = student, method, cfg
        self._teacher = [teacher]  # a list hides it from nn.Module registration
        self.connectors = (build_connectors(student, teacher, clip_len, crop, crop)
                           if teacher is not None and method in CONNECTED else None)
        self.balancer = SubstageBalancer(S, balanced=not cfg.plain_sum)
        self.staged = method == "skd" and teacher is not None and not cfg.joint
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
        cfg, teacher = self.cfg, self.teacher
        upto = phase if self.staged and phase <= S else S  # substages that have to run
        heads = not self.staged or phase > S  # no loss reads the logits before the last phase

        # -- teacher: no_grad because it is frozen: no graph is kept, which saves memory and time
        with torch.no_grad():
            ft = teacher.forward_substages(x, upto) if teacher is not None else []  # [(B, C_i^t, ...)]
            zt = teacher.head(ft[-1]) if teacher is not None and heads else None  # (B, K)

        # -- student: the prefix s_1..s_upto; with --freeze-earlier, substages before the phase's
        #    newest one run without gradients in phases 1..S
        fs, f = [], x
        for i in range(1, upto + 1):
            frozen = cfg.freeze_earlier and self.staged and i < phase <= S
            with torch.set_grad_enabled(torch.is_grad_enabled() and not frozen):
                f = self.student.substage(i, f)  # (B, C_i^s, T_i, H_i, W_i)
            fs.append(f)
        zs = self.student.head(f) if heads else None  # (B, K)

        terms = {}
        if self.staged and phase <= S:
            # Sec. 3, phase k: lambda_feat * sum_{i<=k} Lhat_sub,i (Sec. 2c)
            terms["feat"] = cfg.lambda_feat * self.balancer(
                self._substage_losses(fs, ft, terms, phase))
            terms["loss"] = terms["feat"]
            return terms

        # Sec. 6: L_task = CE on D_L + confidence-weighted soft CE on kept pseudo-labels
        labels = batch["labels"]
        terms["task"] = ce_loss(zs, labels.clamp(min=0), labels >= 0) + soft_ce_loss(
            zs, batch["pl_targets"], batch["pl_weights"], batch["pl_keep"])
        m = self.method if teacher is not None else "ce"
        if m in ("kd", "takd", "skd"):
            weight = cfg.lambda_kd * ((1 - progress) if cfg.kd_anneal else 1)  # progress in (0, 1]
            if m == "skd" and cfg.logit_loss == "dist":  # a variant: DIST's correlations
                terms["kd"] = weight * dist_loss(zs, zt)
            else:
                terms["kd"] = weight * kd_loss(zs, zt, cfg.tau)  # Hinton, 'batchmean' * tau^2
        elif m == "dkd":  # warm-up: linear over the first 20/240 of the link, step by step
            # the target class: the given label, or the teacher's prediction for unlabelled videos
            target = torch.where(labels >= 0, labels, zt.argmax(1))  # (B,)
            terms["dkd"] = dkd_warmup(progress, DKD_WARMUP) * dkd_loss(zs, zt, target,
                                                                       beta=cfg.dkd_beta)
        elif m == "dist":
            terms["dist"] = dist_loss(zs, zt, beta=cfg.dist_weight, gamma=cfg.dist_weight)
        elif m == "fitnet":
            i = FITNET_HINT - 1
            terms["fitnet"] = cfg.fitnet_weight * fitnet_loss(self.connectors[i](fs[i]), ft[i])
        elif m == "at":
            which = [int(i) - 1 for i in cfg.at_substages.split(",")]  # 0-based substages
            terms["at"] = cfg.at_weight * sum(at_loss(fs[i], ft[i]) for i in which)
        elif m == "sp":
            terms["sp"] = cfg.sp_weight * sp_loss(fs[-1], ft[-1])  # Tung and Mori's SP
        elif m == "cwd":  # Eq. D alone, all substages jointly, plain sum
            terms["cwd"] = cfg.lambda_feat * sum(cwd_loss(phi(a), b, cfg.tau_f)
                                                 for phi, a, b in zip(self.connectors, fs, ft))
        if m == "skd":  # Sec. 6: + lambda_feat * sum_i Lhat_sub,i [+ lambda_hyb * L_hyb]
            weight = cfg.lambda_feat * ((1 - progress) if cfg.feat_anneal else 1)
            terms["feat"] = weight * self.balancer(
                self._substage_losses(fs, ft, terms, phase))
            if cfg.hybrid:
                terms["hyb"] = cfg.lambda_hyb * self._hybrid_loss(fs, zt)
        terms["loss"] = sum(v for k, v in terms.items() if not k.startswith("sub"))
        return terms

    def _substage_losses(self, fs, ft, terms, phase):
        """[L_sub,i for each active substage] (Sec. 2c); the raw values are logged as sub1..sub4.
        With --freeze-earlier, a frozen substage's connector is frozen too (no gradient)."""
        cfg, losses = self.cfg, []
        for i, (a, b) in enumerate(zip(fs, ft)):
            frozen = cfg.freeze_earlier and self.staged and i + 1 < phase <= S
            with torch.set_grad_enabled(torch.is_grad_enabled() and not frozen):
                phi_a = self.connectors[i](a) if not cfg.no_dist else None  # (B, C_i^t, T_i, H_i, W_i)
                sub = substage_loss(a, phi_a, b, cfg.gamma, use_dist=not cfg.no_dist,
                                    use_corr=not cfg.no_corr, tau_f=cfg.tau_f,
                                    kind=cfg.substage_loss)["total"]
            terms[f"sub{i + 1}"] = sub.detach()
            losses.append(sub)
        return losses

    def _hybrid_loss(self, fs, zt):
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
