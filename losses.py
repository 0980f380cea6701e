"""Every loss of SKD and of the baselines it is compared with (METHOD.md sections 2, 6 and 7).

Task (Sec. 6):      ce_loss, soft_ce_loss (confidence-weighted pseudo-labels, Sec. 5 step 6),
                    task_chance (the task loss of a uniform guess: where chance lies).
Logits (Sec. 6, 7): kd_loss (Hinton et al., 2015), dkd_loss + dkd_warmup (Zhao et al., "Decoupled
                    Knowledge Distillation", CVPR 2022), dist_loss (Huang et al., "Knowledge
                    Distillation from A Stronger Teacher", NeurIPS 2022).
Features (Sec. 2):  fdist_loss (Eq. D, L_fdist; Shu et al.'s channel-wise distillation, ICCV
                    2021), sample_corr_loss + temporal_corr_loss = corr_loss (Eq. C; after Tung and
                    Mori, ICCV 2019, plus our temporal part), substage_loss (Sec. 2c, L_sub,i).
Feature baselines (Sec. 7): fitnet_loss (Romero et al., ICLR 2015), at_loss (Zagoruyko and
                    Komodakis, ICLR 2017), sp_loss (Tung and Mori's SP itself, not Eq. C).
Balancing (Sec. 2c): SubstageBalancer, the only loss with state, hence the only nn.Module.

Feature maps are (B, C, T, H, W) as in models.py. Every loss is a pure function to a scalar, with
its reduction written out, and detaches the teacher's tensors on its first line: the teacher is
frozen, and a gradient reaching it would only waste memory (or, worse, train it by accident).
Every loss is finite for all-zero features and for a batch of one (see sample_corr_loss and dist_loss
for what a batch of one means there).
"""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F

EPS = 1e-8  # guards l2 normalisation, Pearson correlation and the balancer's division


def match_grid(fs, ft):
    """Sec. 2: adaptive-average-pool both maps to the elementwise-smaller (T, H, W).

    fs: (B, Cs, Ts, Hs, Ws), ft: (B, Ct, Tt, Ht, Wt) -> both (B, C*, T, H, W). Channels may differ.
    """
    assert fs.dim() == 5 and ft.dim() == 5 and fs.shape[0] == ft.shape[0], (fs.shape, ft.shape)
    grid = tuple(min(a, b) for a, b in zip(fs.shape[2:], ft.shape[2:]))
    if tuple(fs.shape[2:]) != grid:
        fs = F.adaptive_avg_pool3d(fs, grid)  # (B, Cs, T, H, W)
    if tuple(ft.shape[2:]) != grid:
        ft = F.adaptive_avg_pool3d(ft, grid)  # (B, Ct, T, H, W)
    return fs, ft


# ----------------------------------------------------------------------------- task losses (Sec. 6)
# L_task = mean_{i in mask} -log p_i[y_i]
def ce_loss(logits, labels, mask=None):
    """Sec. 6, cross-entropy on D_L. logits (B, K), labels (B,), mask (B,) bool, True = labelled.

    Masked-out rows are dropped before the loss, so their labels may be anything (e.g. -1) and
    their logits cannot change the result. No True in mask -> a zero that keeps the graph.
    """
    if mask is not None:
        logits, labels = logits[mask], labels[mask]  # (n, K), (n,)
    if logits.shape[0] == 0:
        return logits.sum() * 0.0
    return F.cross_entropy(logits, labels, reduction="mean")


# L_pseudo = (1 / n) sum_{i in mask} c_i * ( -sum_k q_ik log p_ik ),   n = |mask|
def soft_ce_loss(logits, targets, weights, mask=None):
    """Sec. 5 step 6, confidence-weighted soft cross-entropy on kept pseudo-labels.

    logits (B, K), targets q (B, K) probabilities, weights c (B,), mask (B,) bool (True = kept).
    Normaliser: the number of masked samples n, not sum(c), so a label of confidence 0.8 weighs
    0.8 of a sure one; dividing by sum(c) would cancel that down-weighting for a uniform batch.
    """
    targets, weights = targets.detach(), weights.detach()  # pseudo-labels are fixed targets
    if mask is not None:
        logits, targets, weights = logits[mask], targets[mask], weights[mask]  # (n, K), (n, K), (n,)
    n = logits.shape[0]
    if n == 0:
        return logits.sum() * 0.0
    per_sample = -(targets * F.log_softmax(logits, dim=1)).sum(dim=1)  # (n,)
    return (weights * per_sample).sum() / n


def task_chance(batch, num_classes):
    """The task loss of Sec. 6 that a uniform guess would get on `batch`, a 0-dim tensor: ln K
    for the cross-entropy on the labelled clips (when the batch holds any) plus mean(c) ln K for
    the soft cross-entropy on the kept pseudo-labels (the confidence c weighs each). A link has
    left chance once its task loss is well below this (a link with pseudo-labels starts near
    2 ln K, not ln K)."""
    labelled = (batch["labels"] >= 0).any().float()
    keep = batch["pl_keep"].float()  # (B,)
    mean_c = (batch["pl_weights"] * keep).sum() / keep.sum().clamp(min=1)
    return math.log(num_classes) * (labelled + mean_c)


# --------------------------------------------------------------------------- logit losses (Sec. 6, 7)
# L_KD = tau^2 * (1/B) sum_b KL( softmax(z_t/tau) || softmax(z_s/tau) )
def kd_loss(z_s, z_t, tau=4.0):
    """Hinton et al. 2015 (Sec. 6). z_s, z_t (B, K). Reduction 'batchmean' times tau^2.

    'batchmean' (sum / B) is the KL of the paper; 'mean' would also divide by K, a known bug.
    """
    z_t = z_t.detach()
    log_p_s = F.log_softmax(z_s / tau, dim=1)  # (B, K)
    log_p_t = F.log_softmax(z_t / tau, dim=1)  # (B, K)
    return tau**2 * F.kl_div(log_p_s, log_p_t, reduction="batchmean", log_target=True)


# b = [p_y, 1 - p_y] (target vs all non-targets), p_hat = softmax over the K-1 non-target classes
# L_DKD = alpha * tau^2 * KL(b_t || b_s) + beta * tau^2 * KL(p_hat_t || p_hat_s), 'batchmean'
def dkd_loss(z_s, z_t, labels, alpha=1.0, beta=8.0, tau=4.0):
    """Zhao et al. CVPR 2022, decoupled KD = alpha * TCKD + beta * NCKD. z_s, z_t (B, K), labels (B,).

    Defaults alpha=1, beta=8, T=4 are theirs (CIFAR-100). Their warm-up is a separate multiplier the
    caller applies: dkd_warmup(...) * dkd_loss(...). Both parts are computed in log space (the
    binary part through logsumexp, the non-target part on the K-1 gathered logits) instead of their
    code's log(softmax) and "- 1000 * gt_mask" trick: same values, no overflow, exact gradients.
    """
    z_t = z_t.detach()
    B, K = z_s.shape
    assert K >= 2 and labels.shape == (B,), (z_s.shape, labels.shape)
    gt = F.one_hot(labels, K).bool()  # (B, K)

    def parts(z):
        z = z / tau  # (B, K)
        log_all = torch.logsumexp(z, dim=1)  # (B,)
        z_other = z[~gt].view(B, K - 1)  # (B, K-1) non-target logits
        log_b = torch.stack([z[gt] - log_all, torch.logsumexp(z_other, dim=1) - log_all], dim=1)  # (B, 2)
        return log_b, F.log_softmax(z_other, dim=1)  # (B, 2), (B, K-1)

    log_b_s, log_o_s = parts(z_s)
    log_b_t, log_o_t = parts(z_t)
    tckd = tau**2 * F.kl_div(log_b_s, log_b_t, reduction="batchmean", log_target=True)
    nckd = tau**2 * F.kl_div(log_o_s, log_o_t, reduction="batchmean", log_target=True)
    return alpha * tckd + beta * nckd


def dkd_warmup(done, warmup=20):
    """DKD's linear warm-up factor min(done / warmup, 1) (Zhao et al. code: done = epoch counted
    from 1, warmup = 20 epochs). Any unit works: cascade.py passes the share of the link's steps
    done (this step included) and 20/240, so the factor grows every step, not every epoch.
    A multiplier for the caller; warmup <= 0 means no warm-up.
    """
    return min(done / warmup, 1.0) if warmup > 0 else 1.0


def _pearson(a, b):
    """Pearson correlation of matching rows: a, b (N, D) -> (N,). eps keeps constant rows at 0."""
    a = a - a.mean(dim=1, keepdim=True)  # (N, D)
    b = b - b.mean(dim=1, keepdim=True)  # (N, D)
    return (a * b).sum(dim=1) / (a.norm(dim=1) * b.norm(dim=1) + EPS)


# Y = softmax(Z / tau) (B, K);  inter = 1 - (1/B) sum_b rho(Y_s[b,:], Y_t[b,:])
#                               intra = 1 - (1/K) sum_k rho(Y_s[:,k], Y_t[:,k])
# L_DIST = beta * tau^2 * inter + gamma * tau^2 * intra
def dist_loss(z_s, z_t, beta=1.0, gamma=1.0, tau=1.0):
    """Huang et al. NeurIPS 2022 (DIST): inter- and intra-class Pearson relations. z_s, z_t (B, K).

    Batch of one: each class column has one entry, its centred value is 0, the intra-class
    correlation is 0 by the eps, so intra = 1, a constant with no gradient; inter works as usual.
    """
    z_t = z_t.detach()
    y_s = F.softmax(z_s / tau, dim=1)  # (B, K)
    y_t = F.softmax(z_t / tau, dim=1)  # (B, K)
    inter = 1.0 - _pearson(y_s, y_t).mean()  # rows: one sample's class distribution
    intra = 1.0 - _pearson(y_s.t(), y_t.t()).mean()  # (K, B) columns: one class across the batch
    return beta * tau**2 * inter + gamma * tau**2 * intra


# ------------------------------------------------------------------------ feature losses (Sec. 2, 7)
# L_FitNet = mean over (B, C, T, H, W) of (phi(f_s) - f_t)^2
def fitnet_loss(fs_connected, ft):
    """Romero et al. ICLR 2015 (FitNets): MSE between the connected student map and the teacher's.

    fs_connected (B, C, Ts, Hs, Ws) = phi(f_s), ft (B, C, Tt, Ht, Wt); reduction 'mean'.
    """
    ft = ft.detach()
    fs_connected, ft = match_grid(fs_connected, ft)  # both (B, C, T, H, W)
    assert fs_connected.shape == ft.shape, (fs_connected.shape, ft.shape)
    return F.mse_loss(fs_connected, ft, reduction="mean")


# Q = l2normalize( vec_{T,H,W} mean_c |f_c|^p ) (B, N);  L_AT = (1/(B N)) sum_b sum_n (Q_s - Q_t)^2
def at_loss(fs, ft, p=2):
    """Zagoruyko and Komodakis ICLR 2017, attention transfer over the T x H x W grid.

    fs (B, Cs, ...), ft (B, Ct, ...); channels may differ. The constant is their code's: the mean
    over B and the N = T*H*W positions of the squared difference (the paper's beta/2 is left to the
    caller's weight). Note the mean over N makes its scale depend on the grid size.
    """
    ft = ft.detach()
    fs, ft = match_grid(fs, ft)  # (B, Cs, T, H, W), (B, Ct, T, H, W)

    def attention(f):
        q = f.abs().pow(p).mean(dim=1).flatten(1)  # (B, N)
        return F.normalize(q, dim=1, eps=EPS)  # (B, N)

    return (attention(fs) - attention(ft)).pow(2).mean()


# v = l2normalize(GAP(f)) (B, C);  G = v v^T (B, B);  L_sc = ||G_s - G_t||_F^2 / B^2   (Eq. C, sample)
def sample_corr_loss(fs, ft):
    """Eq. C, sample part: the cosine similarity of clips, after Tung and Mori. fs (B, Cs, ...),
    ft (B, Ct, ...), no connector.

    As METHOD.md says, each map is average-pooled over T, H, W and v is normalised BEFORE the Gram,
    so G is a cosine-similarity matrix. This differs from SP itself (sp_loss below: Gram of the
    flattened maps, rows normalised after). Invariant to permuting or positively scaling the
    student's channels. Batch of one: G = [[1]] for both nets (or [[0]] for an all-zero map), so the
    loss is 0 up to round-off: a single clip has no relation to another clip to transfer.
    """
    ft = ft.detach()
    B = fs.shape[0]
    v_s = F.normalize(fs.flatten(2).mean(dim=2), dim=1, eps=EPS)  # (B, Cs)
    v_t = F.normalize(ft.flatten(2).mean(dim=2), dim=1, eps=EPS)  # (B, Ct)
    G_s, G_t = v_s @ v_s.t(), v_t @ v_t.t()  # (B, B)
    return (G_s - G_t).pow(2).sum() / B**2


# Q = flatten(f) (B, C*T*H*W);  G = row_l2normalize(Q Q^T) (B, B);  L_SP = ||G_s - G_t||_F^2 / B^2
def sp_loss(fs, ft):
    """Similarity-preserving KD (Tung and Mori, ICCV 2019, Eq. 1-4), the baseline. fs (B, Cs, ...),
    ft (B, Ct, ...): grids and channels may differ, only B x B matrices are compared.

    As their paper and mdistiller's SP: the Gram of the whole flattened maps (positions kept, no
    pooling), each row of G then L2-normalised, and the squared Frobenius distance / B^2. The
    weight (their gamma = 3000) is the caller's. Batch of one: both G = [[1]], loss 0.
    """
    ft = ft.detach()
    B = fs.shape[0]
    q_s, q_t = fs.reshape(B, -1), ft.reshape(B, -1)  # (B, Cs*Ts*Hs*Ws), (B, Ct*Tt*Ht*Wt)
    G_s = F.normalize(q_s @ q_s.t(), dim=1, eps=EPS)  # (B, B), rows of unit length
    G_t = F.normalize(q_t @ q_t.t(), dim=1, eps=EPS)  # (B, B)
    return (G_s - G_t).pow(2).sum() / B**2


# u = l2normalize(mean_{H,W} f) (B, T, C);  A = u u^T (B, T, T)
# L_tc = (1/B) sum_b ||A_s[b] - A_t[b]||_F^2 / T^2                                    (Eq. C, temporal)
def temporal_corr_loss(fs, ft):
    """Eq. C, temporal part (our video-specific addition). fs (B, Cs, Ts, ...), ft (B, Ct, Tt, ...).

    Spatial mean first, then the time axes are pooled to the smaller T (pooling only time, since
    space is averaged anyway). T = 1: A = [[1]] for both, loss 0 (a single step has no dynamics).
    """
    ft = ft.detach()
    s, t = fs.mean(dim=(3, 4)), ft.mean(dim=(3, 4))  # (B, Cs, Ts), (B, Ct, Tt)
    T = min(s.shape[2], t.shape[2])
    s, t = F.adaptive_avg_pool1d(s, T), F.adaptive_avg_pool1d(t, T)  # (B, Cs, T), (B, Ct, T)
    u_s = F.normalize(s.transpose(1, 2), dim=2, eps=EPS)  # (B, T, Cs)
    u_t = F.normalize(t.transpose(1, 2), dim=2, eps=EPS)  # (B, T, Ct)
    A_s, A_t = u_s @ u_s.transpose(1, 2), u_t @ u_t.transpose(1, 2)  # (B, T, T)
    return (A_s - A_t).pow(2).sum(dim=(1, 2)).mean() / T**2


# L_corr = L_sc + L_tc                                                                        (Eq. C)
def corr_loss(fs, ft):
    """Eq. C: sample correlation + temporal correlation of one substage (raw student map)."""
    return sample_corr_loss(fs, ft) + temporal_corr_loss(fs, ft)


# P_c = softmax_n(f_c / tau_f) over the N = T*H*W positions of channel c
# L_fdist = tau_f^2 * (1/(B C)) sum_{b,c} KL( P^t_c || P^s_c )                                 (Eq. D)
def fdist_loss(fs_connected, ft, tau_f=4.0):
    """Eq. D, the feature-distribution loss (Shu et al. ICCV 2021, channel-wise distillation; the
    `cwd` baseline is this loss alone). fs_connected = phi(f_s), ft: (B, C, ...).

    Adding a constant to a channel leaves its softmax, hence the loss, unchanged.
    """
    ft = ft.detach()
    fs_connected, ft = match_grid(fs_connected, ft)  # both (B, C, T, H, W)
    assert fs_connected.shape == ft.shape, (fs_connected.shape, ft.shape)
    B, C = ft.shape[:2]
    log_p_s = F.log_softmax(fs_connected.flatten(2) / tau_f, dim=2).view(B * C, -1)  # (B*C, N)
    log_p_t = F.log_softmax(ft.flatten(2) / tau_f, dim=2).view(B * C, -1)  # (B*C, N)
    # 'batchmean' over the B*C rows = mean over batch and channels, Eq. D
    return tau_f**2 * F.kl_div(log_p_s, log_p_t, reduction="batchmean", log_target=True)


# L_sub,i = L_fdist,i + gamma * L_corr,i                                                    (Sec. 2c)
def substage_loss(fs, fs_connected, ft, gamma=1.0, use_fdist=True, use_corr=True, tau_f=4.0):
    """Sec. 2c, the loss of one substage. Returns {'fdist', 'corr', 'total'} (scalars).

    fs (B, Cs, ...) raw student map, for Eq. C (dimension-free); fs_connected = phi(fs) (B, Ct, ...),
    for Eq. D (may be None when use_fdist is False); ft (B, Ct, ...). A switched-off term is
    reported as a zero tensor without graph so that logging code can treat every key alike.
    """
    if not (use_fdist or use_corr):
        raise ValueError("substage_loss: use_fdist and use_corr are both off; nothing to distil")
    zero = fs.new_zeros(())
    fdist = fdist_loss(fs_connected, ft, tau_f) if use_fdist else zero  # Eq. D
    corr = corr_loss(fs, ft) if use_corr else zero  # Eq. C
    return {"fdist": fdist, "corr": corr, "total": fdist + gamma * corr}


# ------------------------------------------------------------------------- balancing (Sec. 2c)
# Lhat_sub,i = L_sub,i / max(m_i, eps),   m_i <- 0.9 m_i + 0.1 * L_sub,i.detach(),  m_i(first) = L_sub,i
class SubstageBalancer(nn.Module):
    """Sec. 2c: divide each active substage loss by a detached running mean of its own value.

    forward(losses) takes a list indexed by substage (0-based: entry i is substage i+1 of METHOD.md,
    None = inactive) or a dict {i: loss} with the same 0-based keys, and returns sum_i Lhat_sub,i.
    The divisor is the running mean BEFORE this step's update, except at a substage's first step,
    where it is the value itself: every term is then exactly 1 at initialisation and the current
    batch never shrinks its own term. Only training mode updates the state; eval mode divides by the
    stored mean (or by the value itself for a substage never seen). eps = 1e-8 clamps the divisor so
    a loss that is exactly 0 gives 0, not nan. balanced=False returns the plain sum and leaves the
    state alone. The state lives in buffers so it travels with state_dict (checkpoints); under DDP,
    if this module is wrapped, rank 0's buffers are broadcast each forward; if not, each rank keeps
    its own mean of its local losses, which differ only by sampling noise.
    """

    def __init__(self, num_substages=4, momentum=0.9, balanced=True):
        super().__init__()
        self.momentum, self.balanced = momentum, balanced
        self.register_buffer("running", torch.zeros(num_substages))  # (S,) running mean of L_sub,i
        self.register_buffer("initialised", torch.zeros(num_substages, dtype=torch.bool))  # (S,)

    def forward(self, losses):
        items = losses.items() if isinstance(losses, dict) else enumerate(losses)
        items = [(i, loss) for i, loss in items if loss is not None]
        if not items:
            raise ValueError("SubstageBalancer: no active substage loss")
        if not self.balanced:
            return sum(loss for _, loss in items)
        total = 0.0
        for i, loss in items:
            if not 0 <= i < self.running.numel():
                raise IndexError(f"substage index {i} outside 0..{self.running.numel() - 1}")
            value = loss.detach().to(self.running)  # the scale, never a path for gradients
            # torch.where, not `if initialised[i]`: reading a flag on the GPU would make the host
            # wait for the device at every step
            seen = self.initialised[i]
            divisor = torch.where(seen, self.running[i], value)  # previous mean: a new tensor
            if self.training:
                with torch.no_grad():
                    m = self.momentum
                    self.running[i] = torch.where(seen, m * self.running[i] + (1 - m) * value,
                                                  value)
                    self.initialised[i] = True
            total = total + loss / divisor.to(loss).clamp(min=EPS)
        return total
