"""pseudolabel.py (METHOD.md Sec. 5) on constructed predictions: no videos, no trained models.

References are independent of the code under test: numpy's p^(1/T) / sum for sharpening, a
per-sample Python loop for the class-capped selection, hand-computed cases for the class sizes,
the label correction and the report, and a video-by-video loop for the multi-view ensemble.
"""
import json
import math

import numpy as np
import pytest
import torch
import torch.nn as nn
from torch.utils.data import DataLoader, Dataset, Subset

from conftest import native_cpu_kernels
from pseudolabel import (
    correct_labels, expected_class_sizes, format_report, predict_videos, refresh, select, sharpen,
)


def random_probs(N, K, seed, zeros=False):
    """(N, K) float32 rows on the simplex; with `zeros`, about a quarter of the entries are 0."""
    g = torch.Generator().manual_seed(seed)
    p = torch.rand(N, K, generator=g) ** 3  # skewed, so some rows are confident
    if zeros:
        p[torch.rand(N, K, generator=g) < 0.25] = 0.0
        p[torch.arange(N), torch.randint(K, (N,), generator=g)] += 0.1  # no all-zero row
    return p / p.sum(dim=1, keepdim=True)


# ------------------------------------------------------------------------------ sharpen (step 3)
@pytest.mark.parametrize("T", [0.25, 0.5, 2.0])
def test_sharpen_matches_numpy(T):
    p = random_probs(50, 6, seed=1, zeros=True)
    ref = p.double().numpy() ** (1 / T)
    ref = ref / ref.sum(axis=1, keepdims=True)
    q = sharpen(p, T)
    assert torch.isfinite(q).all()
    np.testing.assert_allclose(q.double().numpy(), ref, rtol=1e-5, atol=1e-7)
    assert torch.allclose(q.sum(dim=1), torch.ones(50))
    assert (q[p == 0] == 0).all()  # a class the ensemble rules out stays ruled out


def test_sharpen_identity_at_temperature_one_and_sharper_below():
    p = random_probs(40, 5, seed=2, zeros=True)
    assert torch.allclose(sharpen(p, 1.0), p, atol=1e-6)
    assert (sharpen(p, 0.5).max(dim=1).values >= p.max(dim=1).values - 1e-6).all()


# ------------------------------------------------------------------------------ select (step 4)
def rows(*confident):
    """Rows of q from (class, confidence) pairs over K = 3, the rest split evenly."""
    q = torch.zeros(len(confident), 3)
    for i, (k, c) in enumerate(confident):
        q[i] = (1 - c) / 2
        q[i, k] = c
    return q


def select_reference(q, n_expected, tau_conf, rho):
    """Per-sample loop, straight from the words of Sec. 5 step 4."""
    q = q.tolist()
    pred = [max(range(len(r)), key=lambda k: (r[k], -k)) for r in q]  # first class on ties
    conf = [r[k] for r, k in zip(q, pred)]
    keep = []
    for i in range(len(q)):
        same = [j for j in range(len(q)) if pred[j] == pred[i]]
        rank = sum(1 for j in same if conf[j] > conf[i] or (conf[j] == conf[i] and j < i))
        keep.append(conf[i] >= tau_conf and rank < math.ceil(rho * float(n_expected[pred[i]])))
    return torch.tensor(keep, dtype=torch.bool)


def test_select_threshold_when_cap_does_not_bind():
    q = rows((0, 0.8), (0, 0.79), (1, 0.95), (2, 0.5), (2, 0.81), (1, 0.8001))
    keep = select(q, torch.tensor([100.0, 100.0, 100.0]), tau_conf=0.8)
    assert keep.tolist() == [True, False, True, False, True, True]  # c = tau_conf itself is kept


def test_select_class_cap_keeps_the_most_confident_of_an_easy_class():
    g = torch.Generator().manual_seed(3)
    easy = torch.linspace(0.90, 0.99, 10)[torch.randperm(10, generator=g)]  # class 0, shuffled
    q = torch.cat([rows(*[(0, float(c)) for c in easy]), rows((1, 0.85), (1, 0.86), (1, 0.87))])
    n_expected = torch.tensor([4.0, 4.0, 4.0])
    for rho, cap0, cap1 in [(1.0, 4, 3), (0.5, 2, 2), (0.6, 3, 3), (2.0, 8, 3), (0.1, 1, 1)]:
        keep = select(q, n_expected, tau_conf=0.8, rho=rho)
        assert int(keep[:10].sum()) == cap0, rho  # exactly ceil(rho * n_0) of the easy class
        assert int(keep[10:].sum()) == cap1, rho
        top = easy.argsort(descending=True)[:cap0]  # indices of the cap0 most confident
        assert keep[:10].nonzero().squeeze(1).tolist() == sorted(top.tolist())
        assert keep[10:].tolist() == [cap1 >= 3, cap1 >= 2, True]  # 0.87 first, then 0.86, 0.85


def test_select_ties_are_broken_by_index():
    q = rows((1, 0.9), (0, 0.9), (0, 0.95), (0, 0.9), (0, 0.9))
    keep = select(q, torch.tensor([3.0, 1.0, 0.0]), tau_conf=0.8)
    assert keep.tolist() == [True, True, True, True, False]  # 0.95 first, then indices 1 and 3
    assert select(q, torch.tensor([3.0, 1.0, 0.0])).tolist() == keep.tolist()
    assert not select(q, torch.tensor([3.0, 0.0, 0.0]))[0]  # n_k = 0: nothing of class 1


@pytest.mark.parametrize("rho", [0.3, 1.0, 1.7])
def test_select_matches_a_per_sample_loop(rho):
    q = sharpen(random_probs(300, 5, seed=4), 0.5)
    q = (q * 20).round() / 20  # coarse values: many ties in confidence
    n_expected = torch.tensor([7.0, 0.0, 13.0, 2.5, 40.0])
    assert torch.equal(select(q, n_expected, 0.8, rho), select_reference(q, n_expected, 0.8, rho))


def test_select_empty():
    assert select(torch.zeros(0, 4), torch.ones(4)).shape == (0,)


# ------------------------------------------------------------------------------ class sizes
def test_expected_class_sizes_by_hand():
    given = torch.tensor([0, 0, 1, 2, 2, 2, -1, -1])  # D_L proportions 2/6, 1/6, 3/6
    n = expected_class_sizes(given, num_classes=4, num_unlabelled=12)
    assert n.tolist() == [4.0, 2.0, 6.0, 0.0]
    assert expected_class_sizes([1, 1, 1], 3, 10).tolist() == [0.0, 10.0, 0.0]
    with pytest.raises(ValueError):
        expected_class_sizes(torch.tensor([-1, -1]), 3, 2)


# ------------------------------------------------------------------------------ correction (step 5)
def test_correct_labels_by_hand():
    p = torch.tensor([[0.01, 0.95, 0.04],   # given 0: below eps, another >= tau_fix -> 1
                      [0.05, 0.95, 0.00],   # given 0: p_given = eps exactly, not below -> kept
                      [0.04, 0.89, 0.07],   # given 0: best just under tau_fix -> kept
                      [0.04, 0.90, 0.06],   # given 0: best = tau_fix exactly -> 1
                      [0.01, 0.99, 0.00],   # unlabelled: untouched
                      [0.01, 0.98, 0.01],   # given 1 is the argmax: nothing to correct
                      [0.97, 0.02, 0.01]])  # given 2: below eps, 0 is sure -> 0
    given = torch.tensor([0, 0, 0, 0, -1, 1, 2])
    new, changed = correct_labels(p, given, eps=0.05, tau_fix=0.9)
    assert new.tolist() == [1, 0, 0, 1, -1, 1, 0]
    assert changed.tolist() == [0, 3, 6]
    assert given.tolist() == [0, 0, 0, 0, -1, 1, 2]  # input not modified


# ------------------------------------------------------------------------------ refresh (steps 3-6)
def hand_case():
    """10 videos, K = 2; the expected report is worked out in test_refresh_report_by_hand."""
    p = torch.tensor([[0.90, 0.10], [0.20, 0.80], [0.02, 0.98], [0.96, 0.04],   # D_L
                      [0.95, 0.05], [0.85, 0.15], [0.90, 0.10], [0.82, 0.18],   # D_U, pred 0
                      [0.30, 0.70], [0.10, 0.90]])                              # D_U, pred 1
    given = torch.tensor([0, 1, 0, 1, -1, -1, -1, -1, -1, -1])
    true = torch.tensor([0, 1, 1, 1, 0, 0, 1, 1, 1, 1])
    return p, given, true


def test_refresh_report_by_hand():
    p, given, true = hand_case()
    out = refresh(p, given, true, num_classes=2, temperature=1.0, tau_conf=0.8, correct=True)
    # n_k = 6 * (2/4) = 3 per class. Pred 0 above 0.8: videos 4 (.95), 6 (.90), 5 (.85), 7 (.82):
    # the cap keeps the first three, 7 is capped. Pred 1: 8 (.70) below threshold, 9 (.90) kept.
    assert out["keep"].tolist() == [False] * 4 + [True, True, True, False, False, True]
    # Correction: video 2 (given 0, p 0.02) -> 1, right; video 3 (given 1, p 0.04) -> 0, wrong.
    assert out["labels"].tolist() == [0, 1, 1, 0] + [-1] * 6
    r = out["report"]
    assert r["unlabelled"] == 6 and r["kept"] == 4 and r["capped"] == 1
    assert r["coverage"] == pytest.approx(4 / 6)
    assert r["accuracy"] == pytest.approx(3 / 4)  # video 6 is true class 1, pseudo-labelled 0
    assert r["unlabelled_accuracy"] == pytest.approx(4 / 6)  # videos 6 and 7 wrong
    assert r["per_class_coverage"] == pytest.approx([2 / 2, 2 / 4])  # D_U of class 1: 6,7,8,9
    assert (r["corrected"], r["corrected_right"], r["corrected_wrong_before"]) == (2, 1, 1)
    json.dumps(r)  # goes to metrics.jsonl as it is

    off = refresh(p, given, true, num_classes=2, temperature=1.0, tau_conf=0.8, correct=False)
    assert torch.equal(off["labels"], given) and off["report"]["corrected"] == 0
    assert torch.equal(off["keep"], out["keep"])


def test_refresh_targets_weights_and_keep_invariants():
    N, K = 120, 4
    p = sharpen(random_probs(N, K, seed=5), 0.5)  # confident ensemble: many candidates
    g = torch.Generator().manual_seed(6)
    true = torch.randint(K, (N,), generator=g)
    given = torch.where(torch.rand(N, generator=g) < 0.3, true, torch.full_like(true, -1))
    out = refresh(p, given, true, K, temperature=0.5, tau_conf=0.8)
    q = sharpen(p, 0.5)
    keep = out["keep"]
    assert keep.any() and not keep[given >= 0].any()  # only D_U is pseudo-labelled
    assert torch.allclose(out["targets"][keep], q[keep]) and (out["targets"][~keep] == 0).all()
    assert torch.allclose(out["weights"][keep], q[keep].max(dim=1).values)
    assert (out["weights"][~keep] == 0).all() and (out["weights"][keep] >= 0.8).all()
    assert out["targets"].dtype == out["weights"].dtype == torch.float32


def test_refresh_never_reads_true_labels_for_training_signals():
    N, K = 100, 5
    p = random_probs(N, K, seed=7)
    g = torch.Generator().manual_seed(8)
    true = torch.randint(K, (N,), generator=g)
    given = torch.where(torch.rand(N, generator=g) < 0.4, true, torch.full_like(true, -1))
    a = refresh(p, given, true, K, tau_conf=0.5, correct=True, eps=0.2, tau_fix=0.5)
    b = refresh(p, given, true[torch.randperm(N, generator=g)], K, tau_conf=0.5, correct=True,
                eps=0.2, tau_fix=0.5)
    assert a["keep"].any()
    for key in ("targets", "weights", "keep", "labels"):
        assert torch.equal(a[key], b[key]), key


def test_refresh_class_sizes_come_from_labels_before_correction():
    # D_L = two videos given class 0; the ensemble is sure the second is class 1. D_U: four videos
    # surely class 1. Before correction n_1 = 0 (nothing kept); after it would be 2.
    p = torch.tensor([[0.99, 0.01], [0.01, 0.99]] + [[0.01, 0.99]] * 4)
    given = torch.tensor([0, 0, -1, -1, -1, -1])
    out = refresh(p, given, torch.tensor([0, 1, 1, 1, 1, 1]), 2, correct=True)
    assert out["labels"].tolist()[:2] == [0, 1] and not out["keep"].any()


def test_refresh_corrects_on_the_ensemble_not_the_sharpened_distribution():
    # p = (0.15, 0.85) is no case for correction; sharpened (T_s = 0.5) it becomes (0.03, 0.97).
    p = torch.tensor([[0.15, 0.85], [0.01, 0.99], [0.9, 0.1]])
    out = refresh(p, torch.tensor([0, 0, -1]), torch.tensor([0, 1, 0]), 2, correct=True)
    assert out["labels"].tolist() == [0, 1, -1] and out["report"]["corrected"] == 1


def test_refresh_without_unlabelled_videos():
    p, _, true = hand_case()
    out = refresh(p, true.clone(), true, num_classes=2)
    r = out["report"]
    assert not out["keep"].any() and r["coverage"] == 0.0 and r["accuracy"] is None
    assert r["per_class_coverage"] == [None, None]
    format_report(r, link=1)


def test_format_report_shows_the_numbers():
    p, given, true = hand_case()
    r = refresh(p, given, true, num_classes=2, temperature=1.0, correct=True)["report"]
    line = format_report(r, link=2)
    for part in ("link 2", "kept 4/6", "66.7%", "1 capped", "accuracy 75.0%",
                 "corrected 2 (1 right)", "classes with 0 kept: 0"):
        assert part in line, (part, line)
    assert "\n" not in line


# ------------------------------------------------------------------------------ predict (steps 1-2)
class PoolLinear(nn.Module):
    """Stand-in video model: (N, 3, T, S, S) -> mean over T, S, S -> dropout -> linear -> (N, K)."""

    def __init__(self, num_classes, seed):
        super().__init__()
        torch.manual_seed(seed)
        self.drop, self.fc = nn.Dropout(0.5), nn.Linear(3, num_classes)

    def forward(self, x):
        return 4 * self.fc(self.drop(x.mean(dim=(2, 3, 4))))  # (N, K), x4: peaked softmaxes


class InMemoryViews(Dataset):
    """(views (V, 3, T, S, S), label, index), as clips.EvalVideos(..., flips=True) yields."""

    def __init__(self, num_videos, V=4, T=2, S=4, seed=9):
        g = torch.Generator().manual_seed(seed)
        self.views = torch.randn(num_videos, V, 3, T, S, S, generator=g)
        self.labels = torch.randint(3, (num_videos,), generator=g).tolist()

    def __len__(self):
        return len(self.views)

    def __getitem__(self, i):
        return self.views[i], self.labels[i], i


def reference_predictions(models, data):
    out = []
    for i in range(len(data)):
        views = data[i][0]  # (V, 3, T, S, S)
        per_model = [torch.softmax(m(views), dim=1).mean(dim=0) for m in models]  # M x (K,)
        out.append(torch.stack(per_model).mean(dim=0))
    return torch.stack(out)  # (N, K)


def test_predict_videos_matches_a_video_by_video_loop_under_shuffling():
    K, data = 3, InMemoryViews(7)
    models = [PoolLinear(K, seed=s) for s in (0, 1)]
    with torch.no_grad():
        ref = reference_predictions([m.eval() for m in models], data)
    for m in models:
        m.train()  # predict_videos must switch dropout off itself
    shuffled = torch.Generator().manual_seed(0)
    loader = DataLoader(data, batch_size=3, shuffle=True, generator=shuffled)
    for chunk in (64, 5):  # 5 splits the 12 views of a batch across videos
        p = predict_videos(models, loader, len(data), K, "cpu", max_views_per_forward=chunk)
        assert p.shape == (7, K) and p.dtype == torch.float32
        assert torch.allclose(p, ref, atol=1e-6)
    assert not any(m.training for m in models)

    with native_cpu_kernels():  # CPU bf16 on torch's own kernels: see conftest.py
        p_amp = predict_videos(models, loader, len(data), K, torch.device("cpu"), amp=True)
    assert p_amp.dtype == torch.float32 and torch.allclose(p_amp, ref, atol=3e-2)


def test_predict_videos_leaves_unvisited_rows_zero():
    K, data = 3, InMemoryViews(6)
    model = PoolLinear(K, seed=0)
    loader = DataLoader(Subset(data, [4, 0, 2]), batch_size=2)
    p = predict_videos([model], loader, len(data), K, "cpu")
    with torch.no_grad():
        ref = reference_predictions([model.eval()], data)
    assert torch.allclose(p[[0, 2, 4]], ref[[0, 2, 4]], atol=1e-6)
    assert (p[[1, 3, 5]] == 0).all()
