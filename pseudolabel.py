"""Pseudo-label optimization (METHOD.md Sec. 5): the labels of D_U, refreshed before every link.

Sec. 5 steps, in the order `refresh` runs them:
  1-2  predict_videos   softmax averaged over the views of a video (K clips and their horizontal
                        flips), then over the finished models (the complementary ensemble)
  3    sharpen          q = p^(1/T_s) / sum_k p^(1/T_s)  (the "sharpening" of MixMatch: Berthelot
                        et al., "MixMatch: A Holistic Approach to Semi-Supervised Learning",
                        NeurIPS 2019); confidence c = max_k q
  4    select           c >= tau_conf (the threshold of FixMatch: Sohn et al., NeurIPS 2020) AND
                        among the ceil(rho * n_k) most confident videos of pseudo-class k, n_k the
                        class size expected from the proportions of D_L (the class-balanced cap of
                        curriculum / self-training methods, e.g. Zou et al., ECCV 2018)
  5    correct_labels   switch for noisy labels: a labelled video whose given label the ensemble
                        all but rules out (p < eps) while it is sure of another (p >= tau_fix)
  6    (losses.soft_ce_loss consumes the `targets` q and `weights` c returned by refresh)

True labels (Sec. 1) enter `refresh` for its report only: coverage, accuracy of the kept labels,
per-class coverage, corrections and how many of them were right. No target, weight or keep
decision reads them (tests/test_pseudolabel.py permutes them to check).

Shapes: N training videos, K classes, V views per video; a view is a clip (3, T, S, S).
"""
import torch
import torch.nn.functional as F


# p_i = (1/M) sum_m (1/V) sum_v softmax(z_m(x_iv))                                (Sec. 5 steps 1-2)
@torch.no_grad()
def predict_videos(models, loader, num_videos, num_classes, device, amp=False,
                   max_views_per_forward=64):
    """Sec. 5 steps 1-2: the ensemble's video-level distribution p of every video the loader yields.

    loader yields (views (B, V, 3, T, S, S), labels, video indices (B,)), as a DataLoader over
    clips.EvalVideos(..., flips=True) does; `labels` are ignored. Row i of the result is video i,
    whatever order the loader uses. Returns (num_videos, K) float32 on the CPU; rows of videos the
    loader did not yield stay 0, so the shards of processes that each take their own videos
    (train.py: video i to process i mod world, no padding, no video twice) combine with a sum
    (train.py's all_sum).
    The forward runs on at most `max_views_per_forward` views at a time: the activations, not the
    input clips, are what fills the memory of a large teacher.
    """
    device = torch.device(device)
    for model in models:
        model.eval()  # finished models: BN running statistics, no dropout
    out = torch.zeros(num_videos, num_classes, device=device)  # (N, K)
    for views, _, indices in loader:
        assert views.dim() == 6, f"views should be (B, V, 3, T, S, S), got {tuple(views.shape)}"
        B, V = views.shape[:2]
        x = views.flatten(0, 1).to(device, non_blocking=True)  # (B*V, 3, T, S, S), copied once
        p = torch.zeros(B * V, num_classes, device=device)  # (B*V, K), sum over models
        for model in models:
            probs = []
            for chunk in x.split(max_views_per_forward):  # (<=max, 3, T, S, S)
                with torch.autocast(device.type, dtype=torch.bfloat16, enabled=amp):
                    logits = model(chunk)  # (n, K)
                assert logits.shape == (chunk.shape[0], num_classes), tuple(logits.shape)
                probs.append(F.softmax(logits.float(), dim=1))  # softmax in float32, not bf16
            p += torch.cat(probs)  # (B*V, K)
        p = p.view(B, V, num_classes).mean(dim=1) / len(models)  # (B, K) Sec. 5 steps 1 and 2
        out[indices.to(device)] = p
    return out.cpu()


# q_ik = p_ik^(1/T_s) / sum_j p_ij^(1/T_s) = softmax_k( log p_ik / T_s )           (Sec. 5 step 3)
def sharpen(p, temperature=0.5):
    """Sec. 5 step 3. p (N, K) rows summing to 1 (zeros allowed) -> q (N, K).

    In log space: p^(1/T_s) underflows for small p when T_s < 1, log p / T_s does not; log 0 = -inf
    gives q = 0 exactly. T_s = 1 returns p (renormalised); T_s < 1 sharpens, T_s > 1 flattens.
    """
    assert temperature > 0, temperature
    return F.softmax(torch.log(p) / temperature, dim=1)  # (N, K) Sec. 5 step 3


# n_k = |D_U| * |{i in D_L : y_i = k}| / |D_L|
def expected_class_sizes(labelled_labels, num_classes, num_unlabelled):
    """Expected size n_k of each class in D_U, from the class proportions of D_L. -> (K,) float64.

    labelled_labels (n_L,) the given labels of D_L; entries < 0 (D_U) are ignored, so the whole
    given_labels vector may be passed. The split of Sec. 1 is stratified (fraction p of each class),
    so D_L's proportions estimate D_U's. float64 and count * |D_U| before / |D_L|: an integer n_k
    comes out exact, so ceil() in `select` does not round 7.000000001 up to 8.
    """
    labels = torch.as_tensor(labelled_labels).long()
    labels = labels[labels >= 0]  # (n_L,)
    if labels.numel() == 0:
        raise ValueError("expected_class_sizes: D_L is empty, class proportions are undefined")
    counts = torch.bincount(labels, minlength=num_classes).double()  # (K,)
    return counts * num_unlabelled / labels.numel()  # (K,)


# keep_i = [c_i >= tau_conf] and [rank of c_i among {j : argmax q_j = argmax q_i} < ceil(rho n_k)]
def select(q, n_expected, tau_conf=0.8, rho=1.0):
    """Sec. 5 step 4. q (N, K) sharpened, n_expected (K,) -> keep (N,) bool.

    Ranks are by confidence within each pseudo-class, ties broken by the lower index (stable sorts),
    so the result is deterministic. Ranking among all videos of class k or only among those above
    the threshold gives the same set: the ones above the threshold are the first of the ranking.
    """
    N, K = q.shape
    pred = q.argmax(dim=1)  # (N,) pseudo-class; on ties the first class
    conf = q.gather(1, pred[:, None]).squeeze(1)  # (N,) c = max_k q
    order = torch.argsort(-conf, stable=True)  # (N,) most confident first, ties by index
    order = order[torch.argsort(pred[order], stable=True)]  # (N,) by class, by confidence inside
    counts = torch.bincount(pred, minlength=K)  # (K,)
    first = counts.cumsum(0) - counts  # (K,) position in `order` of each class's most confident
    rank = torch.empty_like(pred)
    rank[order] = torch.arange(N, device=q.device) - first[pred[order]]  # (N,) 0 = top of its class
    # The 1e-6 keeps float noise in rho * n_k (e.g. 1.1 * 50 = 55.00000000000001) from adding one.
    n_expected = torch.as_tensor(n_expected, dtype=torch.float64, device=q.device)  # (K,)
    cap = torch.ceil(rho * n_expected - 1e-6).long()  # (K,) at most this many per pseudo-class
    return (conf >= tau_conf) & (rank < cap[pred])  # (N,) Sec. 5 step 4


# y_i <- argmax_k p_ik  if  y_i >= 0 and p_{i, y_i} < eps and max_k p_ik >= tau_fix
def correct_labels(p, given_labels, eps=0.05, tau_fix=0.9):
    """Sec. 5 step 5. p (N, K) ensemble distribution, given_labels (N,) long, -1 for D_U.

    Uses p, not the sharpened q: eps and tau_fix are probabilities of the ensemble, and sharpening
    would move both (T_s = 0.5 turns p = (0.15, 0.85) into q = (0.03, 0.97), a correction that p
    itself does not support).
    Returns (new labels (N,) long, indices of the changed videos (n_changed,) long).
    """
    labelled = given_labels >= 0  # (N,)
    p_given = p.gather(1, given_labels.clamp(min=0)[:, None]).squeeze(1)  # (N,); D_U rows unused
    best = p.argmax(dim=1)  # (N,)
    p_best = p.gather(1, best[:, None]).squeeze(1)  # (N,)
    # best != given is implied when eps <= tau_fix; stated so that odd settings cannot "change"
    # a label to itself.
    change = labelled & (p_given < eps) & (p_best >= tau_fix) & (best != given_labels)  # (N,)
    new_labels = torch.where(change, best, given_labels)  # (N,) Sec. 5 step 5
    return new_labels, change.nonzero().squeeze(1)


# q = sharpen(p) (step 3) -> keep = select(q on D_U, n_k) (step 4) -> [correct D_L (step 5)]
# -> targets q and weights c on kept videos, 0 elsewhere (step 6)
def refresh(probs, given_labels, true_labels, num_classes, temperature=0.5, tau_conf=0.8,
            rho=1.0, correct=False, eps=0.05, tau_fix=0.9):
    """Sec. 5 steps 3-6 over all N training videos, from the ensemble's probs (N, K).

    given_labels (N,) long, -1 for D_U; true_labels (N,) long, read by the report only.
    The expected class sizes n_k use the given labels BEFORE correction: they are a prior from the
    labelling, and the cap exists to restrain the model, so it should not move with the model.
    Returns a dict:
      targets (N, K) float  sharpened q on kept videos, 0 elsewhere (soft_ce_loss's targets)
      weights (N,) float    c = max q on kept videos, 0 elsewhere (soft_ce_loss's weights)
      keep    (N,) bool     kept pseudo-labels; only D_U videos can be kept
      labels  (N,) long     given labels after correction (-1 for D_U)
      report  dict          JSON-ready quality figures, see `_report`
    """
    N, K = probs.shape
    assert K == num_classes and given_labels.shape == (N,) and true_labels.shape == (N,)
    unlabelled = given_labels < 0  # (N,) D_U
    if correct:
        labels, changed = correct_labels(probs, given_labels, eps, tau_fix)  # Sec. 5 step 5
    else:
        labels, changed = given_labels.clone(), given_labels.new_zeros(0)
    q = sharpen(probs, temperature)  # (N, K) Sec. 5 step 3
    conf = q.max(dim=1).values  # (N,) c
    keep = torch.zeros(N, dtype=torch.bool, device=probs.device)  # (N,)
    if unlabelled.any():
        n_k = expected_class_sizes(given_labels, K, int(unlabelled.sum()))  # (K,) before correction
        keep[unlabelled] = select(q[unlabelled], n_k, tau_conf, rho)  # Sec. 5 step 4, D_U only
    targets = torch.where(keep[:, None], q, torch.zeros_like(q))  # (N, K) Sec. 5 step 6
    weights = torch.where(keep, conf, torch.zeros_like(conf))  # (N,)
    report = _report(q, conf, keep, unlabelled, given_labels, labels, changed, true_labels,
                     tau_conf, correct)
    return dict(targets=targets, weights=weights, keep=keep, labels=labels, report=report)


def _report(q, conf, keep, unlabelled, given_labels, labels, changed, true_labels, tau_conf,
            correct):
    """The figures every refresh reports (Sec. 5), as plain Python numbers.

    coverage            kept / |D_U| (0.0 when D_U is empty)
    accuracy            fraction of kept videos whose argmax q is the true label (None: none kept)
    unlabelled_accuracy the same over all of D_U, i.e. before selection (None: D_U empty)
    per_class_coverage  per TRUE class k: kept / |D_U of class k| (None: no D_U video of class k);
                        by true class, so a class the selection starves shows up as 0
    capped              videos above tau_conf that the class cap of step 4 dropped
    corrected, corrected_right (new label = true label),
    corrected_wrong_before (the given label was wrong, i.e. the correction hit a noisy label)
    """
    K = q.shape[1]
    pred, true = q.argmax(dim=1), true_labels.to(q.device)  # (N,), (N,)
    n_u, n_kept = int(unlabelled.sum()), int(keep.sum())
    per_true_u = torch.bincount(true[unlabelled], minlength=K)  # (K,)
    per_true_kept = torch.bincount(true[keep], minlength=K)  # (K,)
    return dict(
        unlabelled=n_u, kept=n_kept,
        coverage=n_kept / n_u if n_u else 0.0,
        accuracy=float((pred[keep] == true[keep]).float().mean()) if n_kept else None,
        unlabelled_accuracy=(float((pred[unlabelled] == true[unlabelled]).float().mean())
                             if n_u else None),
        per_class_coverage=[int(a) / int(b) if b else None
                            for a, b in zip(per_true_kept, per_true_u)],
        capped=int((unlabelled & (conf >= tau_conf) & ~keep).sum()),
        correction=bool(correct), corrected=int(changed.numel()),
        corrected_right=int((labels[changed] == true[changed]).sum()),
        corrected_wrong_before=int((given_labels[changed] != true[changed]).sum()),
    )


def format_report(report, link):
    """One readable line for the log, e.g.
    pseudo-labels (link 1): kept 83/200 (41.5%, 4 capped), accuracy 91.6% (all D_U 70.0%),
    corrected 3 (2 right), classes with 0 kept: 1
    """
    def pct(x):
        return "n/a" if x is None else f"{100 * x:.1f}%"

    starved = sum(1 for c in report["per_class_coverage"] if c == 0.0)
    line = (f"pseudo-labels (link {link}): kept {report['kept']}/{report['unlabelled']} "
            f"({pct(report['coverage'])}, {report['capped']} capped), "
            f"accuracy {pct(report['accuracy'])} (all D_U {pct(report['unlabelled_accuracy'])})")
    if report["correction"]:
        line += f", corrected {report['corrected']} ({report['corrected_right']} right)"
    return line + f", classes with 0 kept: {starved}"
