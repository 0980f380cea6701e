"""losses.py against independent references: torch.nn.functional, float64 numpy formulas written
from the papers' equations, and small hand-computed cases. Plus the properties every distillation
loss must have (zero at student == teacher, invariances, gradcheck, no gradient to the teacher,
finite on degenerate inputs) and the state handling of the Sec. 2c balancer.
"""
import io
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from losses import (
    SubstageBalancer, at_loss, ce_loss, corr_loss, fdist_loss, dist_loss, dkd_loss, dkd_warmup,
    fitnet_loss, kd_loss, match_grid, sample_corr_loss, soft_ce_loss, sp_loss, substage_loss,
    temporal_corr_loss,
)

torch.manual_seed(0)


# --------------------------------------------------------------------------- numpy references
def np_log_softmax(x, axis):
    x = x - x.max(axis=axis, keepdims=True)
    return x - np.log(np.exp(x).sum(axis=axis, keepdims=True))


def np_softmax(x, axis):
    return np.exp(np_log_softmax(x, axis))


def np_unit(x, axis):
    return x / np.maximum(np.linalg.norm(x, axis=axis, keepdims=True), 1e-8)


def np_kl(p, q):
    """KL(p || q) summed over the last axis, p, q probabilities."""
    return (p * (np.log(p) - np.log(q))).sum(-1)


def np_pool_pairs(x, axis):
    """Average neighbouring pairs along axis (what adaptive pooling does when the size halves)."""
    x = np.moveaxis(x, axis, -1)
    x = x.reshape(*x.shape[:-1], x.shape[-1] // 2, 2).mean(-1)
    return np.moveaxis(x, -1, axis)


def n(t):
    return t.detach().double().numpy()


def feats(B=3, C=4, T=4, H=3, W=3, dtype=torch.float32, grad=False):
    return torch.randn(B, C, T, H, W, dtype=dtype, requires_grad=grad)


# ------------------------------------------------------------------ the feature losses, uniformly
# (name, fn(student, teacher), whether the student must have the teacher's channels)
FEATURE_LOSSES = [
    ("fitnet", fitnet_loss, True),
    ("at", at_loss, False),
    ("sp", sp_loss, False),
    ("sample", sample_corr_loss, False),
    ("temporal", temporal_corr_loss, False),
    ("corr", corr_loss, False),
    ("fdist", fdist_loss, True),
    ("substage", lambda s, t: substage_loss(s, s, t)["total"], True),
]
LOGIT_LOSSES = [
    ("kd", lambda s, t: kd_loss(s, t)),
    ("dkd", lambda s, t: dkd_loss(s, t, torch.arange(s.shape[0]) % s.shape[1])),
    ("dist", lambda s, t: dist_loss(s, t, tau=2.0)),
]


# -------------------------------------------------------------------------------- match_grid
def test_match_grid_pools_to_smaller_grid_by_block_means():
    fs, ft = feats(2, 3, 4, 6, 6), feats(2, 5, 2, 6, 3)
    ps, pt = match_grid(fs, ft)
    assert ps.shape == (2, 3, 2, 6, 3) and pt.shape == (2, 5, 2, 6, 3)
    ref_s = np_pool_pairs(np_pool_pairs(n(fs), 2), 4)  # T 4 -> 2, W 6 -> 3
    np.testing.assert_allclose(n(ps), ref_s, rtol=1e-5, atol=1e-6)
    assert torch.equal(pt, ft)  # already on the smaller grid: untouched


# ------------------------------------------------------------------------------- task losses
def test_ce_matches_functional_on_masked_rows_and_ignores_the_rest():
    z, y = torch.randn(6, 5), torch.randint(0, 5, (6,))
    mask = torch.tensor([1, 0, 1, 1, 0, 0], dtype=torch.bool)
    ref = F.cross_entropy(z[mask], y[mask])
    assert torch.allclose(ce_loss(z, y, mask), ref)
    assert torch.allclose(ce_loss(z, y), F.cross_entropy(z, y))
    z2, y2 = z.clone(), y.clone()
    z2[~mask], y2[~mask] = 100 * torch.randn(3, 5), -1  # unlabelled rows: anything at all
    assert torch.allclose(ce_loss(z2, y2, mask), ref)


def test_task_losses_with_empty_mask_are_zero_and_backpropagate():
    z = torch.randn(4, 3, requires_grad=True)
    none = torch.zeros(4, dtype=torch.bool)
    a = ce_loss(z, torch.zeros(4, dtype=torch.long), none)
    b = soft_ce_loss(z, torch.full((4, 3), 1 / 3), torch.ones(4), none)
    assert a.item() == 0 and b.item() == 0
    (a + b).backward()
    assert torch.all(z.grad == 0)


def test_soft_ce_matches_numpy_and_reduces_to_ce_for_sure_one_hot_labels():
    z, q = torch.randn(5, 4, dtype=torch.float64), torch.rand(5, 4, dtype=torch.float64)
    q, c = q / q.sum(1, keepdim=True), torch.rand(5, dtype=torch.float64)
    mask = torch.tensor([1, 1, 0, 1, 0], dtype=torch.bool)
    m = n(mask).astype(bool)
    ref = (n(c)[m] * -(n(q)[m] * np_log_softmax(n(z)[m], 1)).sum(1)).sum() / m.sum()
    np.testing.assert_allclose(soft_ce_loss(z, q, c, mask).item(), ref, rtol=1e-12)
    y = torch.randint(0, 4, (5,))
    assert torch.allclose(soft_ce_loss(z, F.one_hot(y, 4).double(), torch.ones(5)), F.cross_entropy(z, y))
    z2 = z.clone()
    z2[~mask] = 50.0
    assert torch.allclose(soft_ce_loss(z2, q, c, mask), soft_ce_loss(z, q, c, mask))


# ------------------------------------------------------------------------------ logit losses
def test_kd_matches_kl_div_on_probabilities_and_numpy():
    zs, zt, tau = torch.randn(5, 7), torch.randn(5, 7), 4.0
    ref_f = F.kl_div(F.log_softmax(zs / tau, 1), F.softmax(zt / tau, 1), reduction="sum") / 5 * tau**2
    ref_np = tau**2 * np_kl(np_softmax(n(zt) / tau, 1), np_softmax(n(zs) / tau, 1)).mean()
    assert torch.allclose(kd_loss(zs, zt, tau), ref_f, atol=1e-6)
    np.testing.assert_allclose(kd_loss(zs, zt, tau).item(), ref_np, rtol=1e-5)


def np_dkd(zs, zt, y, alpha, beta, tau):
    """DKD from the paper's definitions: b = [p_y, 1 - p_y], p_hat_k = p_k / (1 - p_y), k != y."""
    ps, pt = np_softmax(zs / tau, 1), np_softmax(zt / tau, 1)
    tckd, nckd = [], []
    for b in range(len(y)):
        bs, bt = np.array([ps[b, y[b]], 1 - ps[b, y[b]]]), np.array([pt[b, y[b]], 1 - pt[b, y[b]]])
        other = np.arange(zs.shape[1]) != y[b]
        hs, ht = ps[b, other] / (1 - ps[b, y[b]]), pt[b, other] / (1 - pt[b, y[b]])
        tckd.append(np_kl(bt, bs))
        nckd.append(np_kl(ht, hs))
    return tau**2 * (alpha * np.mean(tckd) + beta * np.mean(nckd))


def test_dkd_matches_the_paper_formula():
    zs, zt, y = torch.randn(6, 5), torch.randn(6, 5), torch.randint(0, 5, (6,))
    for alpha, beta, tau in [(1.0, 8.0, 4.0), (0.5, 2.0, 1.0)]:
        ref = np_dkd(n(zs), n(zt), n(y).astype(int), alpha, beta, tau)
        np.testing.assert_allclose(dkd_loss(zs, zt, y, alpha, beta, tau).item(), ref, rtol=1e-5)


def test_dkd_reformulates_kd():
    """Zhao et al. Eq. 7, one sample: KD = TCKD + (1 - p_y^t) NCKD."""
    zs, zt, y, tau = torch.randn(1, 6), torch.randn(1, 6), torch.tensor([2]), 3.0
    w = 1 - F.softmax(zt / tau, 1)[0, 2].item()
    assert torch.allclose(dkd_loss(zs, zt, y, 1.0, w, tau), kd_loss(zs, zt, tau), atol=1e-5)


def test_dkd_is_stable_for_extreme_logits():
    zs, zt = torch.tensor([[80.0, -80.0, 0.0]]), torch.tensor([[-80.0, 80.0, 0.0]])
    zs.requires_grad_()
    loss = dkd_loss(zs, zt, torch.tensor([0]))
    loss.backward()
    assert torch.isfinite(loss) and torch.isfinite(zs.grad).all()


def test_dkd_warmup():
    assert [dkd_warmup(e, 20) for e in (0, 1, 10, 20, 35)] == [0.0, 0.05, 0.5, 1.0, 1.0]
    assert dkd_warmup(1 / 80, 20 / 240) == pytest.approx(0.15)  # per step: 1 of 80 steps
    assert dkd_warmup(3, 0) == 1.0


def test_dist_matches_numpy_pearson():
    zs, zt, tau, beta, gamma = torch.randn(6, 5), torch.randn(6, 5), 2.0, 1.5, 0.5
    ys, yt = np_softmax(n(zs) / tau, 1), np_softmax(n(zt) / tau, 1)
    inter = 1 - np.mean([np.corrcoef(ys[b], yt[b])[0, 1] for b in range(6)])
    intra = 1 - np.mean([np.corrcoef(ys[:, k], yt[:, k])[0, 1] for k in range(5)])
    ref = tau**2 * (beta * inter + gamma * intra)
    np.testing.assert_allclose(dist_loss(zs, zt, beta, gamma, tau).item(), ref, rtol=1e-5)


def test_dist_batch_of_one_has_constant_intra_term():
    zs, zt = torch.randn(1, 5), torch.randn(1, 5)
    inter = 1 - np.corrcoef(np_softmax(n(zs), 1)[0], np_softmax(n(zt), 1)[0])[0, 1]
    np.testing.assert_allclose(dist_loss(zs, zt).item(), inter + 1.0, rtol=1e-5)


# ---------------------------------------------------------------------------- feature losses
def test_fitnet_matches_mse_after_pooling():
    fs, ft = feats(2, 3, 4, 4, 4), feats(2, 3, 2, 4, 4)
    ref = F.mse_loss(fs.view(2, 3, 2, 2, 4, 4).mean(3), ft)
    assert torch.allclose(fitnet_loss(fs, ft), ref)


def test_at_matches_numpy():
    fs, ft = feats(2, 3, 2, 3, 3), feats(2, 6, 2, 3, 3)
    for p in (1, 2, 3):
        a_s = np_unit((np.abs(n(fs)) ** p).mean(1).reshape(2, -1), 1)
        a_t = np_unit((np.abs(n(ft)) ** p).mean(1).reshape(2, -1), 1)
        np.testing.assert_allclose(at_loss(fs, ft, p).item(), ((a_s - a_t) ** 2).mean(), rtol=1e-5)


def test_sample_correlation_matches_numpy_and_hand_case():
    fs, ft = feats(4, 3, 2, 3, 3), feats(4, 5, 2, 2, 2)
    v_s, v_t = np_unit(n(fs).mean((2, 3, 4)), 1), np_unit(n(ft).mean((2, 3, 4)), 1)
    ref = ((v_s @ v_s.T - v_t @ v_t.T) ** 2).sum() / 16
    np.testing.assert_allclose(sample_corr_loss(fs, ft).item(), ref, rtol=1e-5)
    # hand: student clips orthogonal (G_s = I), teacher clips parallel (G_t = all ones);
    # ||G_s - G_t||_F^2 = 2 off-diagonal ones, / B^2 = 4 -> 0.5
    s = torch.tensor([[1.0, 0.0], [0.0, 1.0]]).view(2, 2, 1, 1, 1)
    t = torch.tensor([[1.0, 0.0], [2.0, 0.0]]).view(2, 2, 1, 1, 1)
    assert abs(sample_corr_loss(s, t).item() - 0.5) < 1e-6


def test_sp_is_tung_and_mori_gram_of_flattened_maps_with_rows_normalised():
    """Against SP's formula written out in numpy (their Eq. 1-4; mdistiller distillers/SP.py):
    G = Q Q^T of the flattened (B, C*T*H*W) maps, each row of G divided by its L2 norm."""
    fs, ft = feats(4, 3, 2, 3, 3, dtype=torch.float64), feats(4, 5, 2, 2, 2, dtype=torch.float64)
    def gram(f):
        q = n(f).reshape(4, -1)
        g = q @ q.T
        return g / np.sqrt((g ** 2).sum(1, keepdims=True))
    ref = ((gram(fs) - gram(ft)) ** 2).sum() / 16
    np.testing.assert_allclose(sp_loss(fs, ft).item(), ref, rtol=1e-10)
    # hand: two clips with orthogonal student maps and equal teacher maps.
    # G_s = diag(|q1|^2, |q2|^2) -> rows e1, e2; G_t = c * ones -> rows (1, 1) / sqrt 2.
    # each row differs by (1 - 1/sqrt 2, -1/sqrt 2): ||G_s - G_t||_F^2 = 2 ((1 - r)^2 + r^2), / B^2
    s = torch.tensor([[3.0, 0.0], [0.0, 0.5]]).view(2, 2, 1, 1, 1)
    t = torch.tensor([[1.0, 2.0], [1.0, 2.0]]).view(2, 2, 1, 1, 1)
    r = 1 / math.sqrt(2)
    assert sp_loss(s, t).item() == pytest.approx(2 * ((1 - r) ** 2 + r ** 2) / 4, rel=1e-6)


def test_sp_keeps_positions_where_the_sample_correlation_pools_them():
    """Two clips whose maps have the same channel means but different spatial layouts: the pooled
    Eq. C sees identical clips (cosine 1), SP sees different ones. So SP is not Eq. C."""
    a = torch.zeros(2, 1, 1, 2, 1)  # (B, C, T, H, W)
    a[0, 0, 0, 0, 0], a[1, 0, 0, 1, 0] = 1.0, 1.0  # clip 0 lights the top, clip 1 the bottom
    same = torch.ones(2, 1, 1, 2, 1)  # both clips alike
    assert sample_corr_loss(a, same).item() == pytest.approx(0.0, abs=1e-7)
    assert sp_loss(a, same).item() == pytest.approx(2 * ((1 - 1 / math.sqrt(2)) ** 2 + 0.5) / 4)


def test_temporal_corr_matches_numpy_with_time_pooling():
    fs, ft = feats(3, 4, 4, 3, 3), feats(3, 6, 2, 2, 2)
    s = np_pool_pairs(n(fs).mean((3, 4)), 2)  # (B, C, 2): spatial mean, then 4 -> 2 steps
    u_s, u_t = np_unit(s.transpose(0, 2, 1), 2), np_unit(n(ft).mean((3, 4)).transpose(0, 2, 1), 2)
    A_s, A_t = u_s @ u_s.transpose(0, 2, 1), u_t @ u_t.transpose(0, 2, 1)
    ref = ((A_s - A_t) ** 2).sum((1, 2)).mean() / 4
    np.testing.assert_allclose(temporal_corr_loss(fs, ft).item(), ref, rtol=1e-5)
    assert torch.allclose(corr_loss(fs, ft), sample_corr_loss(fs, ft) + temporal_corr_loss(fs, ft))


def test_cwd_matches_numpy():
    fs, ft, tau = feats(2, 3, 2, 3, 3), feats(2, 3, 2, 3, 3), 4.0
    ps, pt = np_softmax(n(fs).reshape(2, 3, -1) / tau, 2), np_softmax(n(ft).reshape(2, 3, -1) / tau, 2)
    np.testing.assert_allclose(fdist_loss(fs, ft, tau).item(), tau**2 * np_kl(pt, ps).mean(), rtol=1e-5)


def test_cwd_invariant_to_adding_a_constant_to_a_channel():
    fs, ft = feats(), feats()
    base = fdist_loss(fs, ft)
    fs2, ft2 = fs.clone(), ft.clone()
    fs2[:, 1] += 3.0
    ft2[:, 2] -= 5.0
    assert torch.allclose(fdist_loss(fs2, ft), base, atol=1e-5)
    assert torch.allclose(fdist_loss(fs, ft2), base, atol=1e-5)


@pytest.mark.parametrize("fn", [sample_corr_loss, temporal_corr_loss, corr_loss])
def test_correlations_invariant_to_student_channel_permutation_and_scale(fn):
    fs, ft = feats(4, 6), feats(4, 8)
    base = fn(fs, ft)
    assert torch.allclose(fn(fs[:, torch.randperm(6)], ft), base, atol=1e-6)
    assert torch.allclose(fn(7.5 * fs, ft), base, atol=1e-6)
    assert torch.allclose(fn(fs, 0.1 * ft), base, atol=1e-6)


def test_substage_loss_terms_and_switches():
    fs, fc, ft = feats(C=2), feats(C=4), feats(C=4)
    out = substage_loss(fs, fc, ft, gamma=0.3, tau_f=2.0)
    assert torch.allclose(out["fdist"], fdist_loss(fc, ft, 2.0))
    assert torch.allclose(out["corr"], sample_corr_loss(fs, ft) + temporal_corr_loss(fs, ft))
    assert torch.allclose(out["total"], out["fdist"] + 0.3 * out["corr"])
    only_corr = substage_loss(fs, None, ft, use_fdist=False)
    assert only_corr["fdist"].item() == 0 and torch.allclose(only_corr["total"], out["corr"])
    with pytest.raises(ValueError):
        substage_loss(fs, fc, ft, use_fdist=False, use_corr=False)


# --------------------------------------------------------------------- properties of all losses
@pytest.mark.parametrize("name,fn,_", FEATURE_LOSSES)
def test_feature_loss_zero_with_zero_gradient_when_student_is_teacher(name, fn, _):
    ft = feats()
    fs = ft.clone().requires_grad_()
    loss = fn(fs, ft)
    loss.backward()
    assert abs(loss.item()) < 1e-6 and fs.grad.abs().max().item() < 1e-6, name


@pytest.mark.parametrize("name,fn", LOGIT_LOSSES)
def test_logit_loss_zero_with_zero_gradient_when_student_is_teacher(name, fn):
    zt = torch.randn(6, 5)
    zs = zt.clone().requires_grad_()
    loss = fn(zs, zt)
    loss.backward()
    # DIST's Pearson eps leaves a residual gradient of order eps
    assert abs(loss.item()) < 1e-5 and zs.grad.abs().max().item() < 1e-5, name


@pytest.mark.parametrize("name,fn,same_c", FEATURE_LOSSES)
def test_feature_loss_gradcheck_float64(name, fn, same_c):
    fs = feats(3, 3, 3, 2, 2, dtype=torch.float64, grad=True)
    ft = feats(3, 3 if same_c else 4, 2, 2, 3, dtype=torch.float64)
    assert torch.autograd.gradcheck(lambda s: fn(s, ft), (fs,)), name


@pytest.mark.parametrize("name,fn", LOGIT_LOSSES + [
    ("ce", lambda s, t: ce_loss(s, torch.tensor([0, 2, 1, 3]), torch.tensor([1, 0, 1, 1]).bool())),
    ("soft_ce", lambda s, t: soft_ce_loss(s, F.softmax(t, 1), t[:, 0].sigmoid())),
])
def test_logit_loss_gradcheck_float64(name, fn):
    zs, zt = torch.randn(4, 5, dtype=torch.float64, requires_grad=True), torch.randn(4, 5, dtype=torch.float64)
    assert torch.autograd.gradcheck(lambda s: fn(s, zt), (zs,)), name


@pytest.mark.parametrize("name,fn,same_c", FEATURE_LOSSES)
def test_no_gradient_reaches_the_teacher_features(name, fn, same_c):
    fs, ft = feats(C=3, grad=True), feats(C=3 if same_c else 5, grad=True)
    fn(fs, ft).backward()
    assert ft.grad is None and fs.grad is not None, name


@pytest.mark.parametrize("name,fn", LOGIT_LOSSES + [
    ("soft_ce", lambda s, t: soft_ce_loss(s, F.softmax(t, 1), t.max(1).values)),
])
def test_no_gradient_reaches_the_teacher_logits(name, fn):
    zs, zt = torch.randn(6, 5, requires_grad=True), torch.randn(6, 5, requires_grad=True)
    fn(zs, zt).backward()
    assert zt.grad is None and zs.grad is not None, name


@pytest.mark.parametrize("B", [1, 3])
@pytest.mark.parametrize("name,fn,_", FEATURE_LOSSES)
def test_feature_loss_finite_on_zero_features_and_batch_of_one(name, fn, _, B):
    cases = [(torch.zeros(B, 3, 2, 2, 2), torch.zeros(B, 3, 2, 2, 2)),
             (torch.zeros(B, 3, 2, 2, 2), torch.randn(B, 3, 2, 2, 2)),
             (torch.randn(B, 3, 2, 2, 2), torch.zeros(B, 3, 2, 2, 2))]
    for s, t in cases:
        s.requires_grad_()
        loss = fn(s, t)
        loss.backward()
        assert torch.isfinite(loss) and torch.isfinite(s.grad).all(), name


@pytest.mark.parametrize("B", [1, 3])
@pytest.mark.parametrize("name,fn", LOGIT_LOSSES)
def test_logit_loss_finite_on_zero_logits_and_batch_of_one(name, fn, B):
    for s, t in [(torch.zeros(B, 5), torch.zeros(B, 5)), (torch.zeros(B, 5), torch.randn(B, 5))]:
        s.requires_grad_()
        loss = fn(s, t)
        loss.backward()
        assert torch.isfinite(loss) and torch.isfinite(s.grad).all(), name


def test_sample_correlation_is_zero_for_a_batch_of_one():
    fs = feats(1, grad=True)
    loss = sample_corr_loss(fs, feats(1, C=7))
    loss.backward()
    # G = [[v.v]] = [[1]] on both sides up to rounding: zero but for float32 round-off
    assert abs(loss.item()) < 1e-12 and fs.grad.abs().max() < 1e-10


# --------------------------------------------------------------------------- balancer (Sec. 2c)
def test_balancer_first_step_gives_one_per_active_substage():
    bal = SubstageBalancer(4)
    losses = [torch.tensor(3.0), None, torch.tensor(0.02), torch.tensor(500.0)]
    assert abs(bal(losses).item() - 3.0) < 1e-6
    assert bal.initialised.tolist() == [True, False, True, True]
    assert abs(SubstageBalancer(4)({1: torch.tensor(7.0)}).item() - 1.0) < 1e-6


def test_balancer_ema_by_hand_and_divides_by_previous_mean():
    bal = SubstageBalancer(2, momentum=0.9)
    values = [2.0, 4.0, 1.0]
    m = None
    for v in values:
        x = torch.tensor(v, requires_grad=True)
        out = bal([None, x])
        out.backward()
        divisor = v if m is None else m
        assert abs(out.item() - v / divisor) < 1e-6 and abs(x.grad.item() - 1 / divisor) < 1e-6
        m = v if m is None else 0.9 * m + 0.1 * v
    # by hand: 2 -> 0.9*2 + 0.1*4 = 2.2 -> 0.9*2.2 + 0.1*1 = 2.08
    assert abs(bal.running[1].item() - 2.08) < 1e-6 and bal.running[0].item() == 0


def test_balancer_eval_mode_does_not_update():
    bal = SubstageBalancer(2)
    bal([torch.tensor(2.0), torch.tensor(5.0)])
    bal.eval()
    out = bal([torch.tensor(4.0), torch.tensor(5.0)])
    assert abs(out.item() - (4.0 / 2.0 + 1.0)) < 1e-6
    assert bal.running.tolist() == [2.0, 5.0]


def test_balancer_plain_sum_and_zero_guard():
    assert abs(SubstageBalancer(2, balanced=False)([torch.tensor(2.0), torch.tensor(5.0)]).item() - 7.0) < 1e-6
    out = SubstageBalancer(1)([torch.tensor(0.0)])
    assert torch.isfinite(out) and out.item() == 0
    with pytest.raises(ValueError):
        SubstageBalancer(2)([None, None])


def test_balancer_state_survives_save_and_load():
    bal = SubstageBalancer(3)
    for v in (1.0, 3.0, 2.0):
        bal([torch.tensor(v), None, torch.tensor(10 * v)])
    buf = io.BytesIO()
    torch.save(bal.state_dict(), buf)
    buf.seek(0)
    new = SubstageBalancer(3)
    new.load_state_dict(torch.load(buf))
    assert torch.equal(new.running, bal.running) and torch.equal(new.initialised, bal.initialised)
    x = [torch.tensor(4.0), None, torch.tensor(7.0)]
    assert torch.allclose(new(x), bal(x))
