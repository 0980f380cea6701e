"""cascade.py: the staged schedule (METHOD.md Sec. 3), the per-method losses (Sec. 6, 7) and the
cascade (Sec. 4), on tiny models and random clips.

Independent references, not values copied from cascade.py:
- phase starts and the learning rate are written out here from their definitions (equal or given
  shares of the steps; linear warm-up over 10% of a phase, then half a cosine to 0);
- which parameters train in each phase is read from the gradients after one backward pass, which
  substages run is counted with forward hooks on the modules themselves;
- the KD and task terms are recomputed with torch.nn.functional on the models' own logits.
"""
import math
import types

import pytest
import torch
import torch.nn.functional as F

import cascade
import losses
import config
from cascade import (METHODS, S, Distiller, cascade_models, freeze, link_phase_shares, lr_at,
                     phase_at, phase_span, phase_starts)
from models import build_model

K = 5  # classes


CLIP = (2, 3, 4, 32, 32)  # (B, 3, T, H, W)


# ------------------------------------------------------------------------------- the schedule
@pytest.mark.parametrize("total", [1, 4, 5, 10, 37, 1000])
def test_phase_starts_equal_shares(total):
    starts = phase_starts(total)
    assert starts == [round(k * total / (S + 1)) for k in range(S + 1)]
    assert starts[0] == 0 and starts == sorted(starts) and starts[-1] <= total


def test_link_phase_shares_feature_phases_last_phase_epochs_each():
    # up to 10 epochs a feature phase is 10% of the link: the 1:1:1:1:6 SKD was first tuned with
    for epochs in (1, 2, 5, 10):
        assert link_phase_shares(epochs) == [1, 1, 1, 1, 6]
    assert link_phase_shares(30) == [1, 1, 1, 1, 26]  # the real data sets' 30 epochs
    assert link_phase_shares(12) == [1, 1, 1, 1, 8]
    assert link_phase_shares(10, phase_epochs=0.5) == [0.5] * S + [8]
    assert link_phase_shares(30, phase_epochs=3) == [1, 1, 1, 1, 6]  # 3 of 30 is 10%: the cap
    # --phase-shares: fixed proportions at any budget (the earlier default: "1,1,1,1,6")
    assert link_phase_shares(30, shares="1,1,1,1,6") == [1, 1, 1, 1, 6]
    assert link_phase_shares(30, 2.0, "2,1,1,1,0") == [2, 1, 1, 1, 0]
    # at 30 epochs of 10 steps the feature phases are one epoch each: 10 steps
    assert phase_starts(300, link_phase_shares(30)) == [0, 10, 20, 30, 40]


def test_phase_starts_custom_shares_and_single_phase():
    # shares 2:1:1:1:0 of 12 steps: boundaries at 0, 2/5, 3/5, 4/5 and 5/5 of the steps
    assert phase_starts(12, [2, 1, 1, 1, 0]) == [0, 5, 7, 10, 12]
    assert phase_starts(100, [0, 0, 0, 0, 1]) == [0, 0, 0, 0, 0]  # straight to the last phase
    assert phase_starts(10, [1, 1, 1, 1, 6]) == [0, 1, 2, 3, 4]
    assert phase_starts(10, staged=False) == [0]
    assert phase_starts(10, [1, 2, 3, 4, 5], staged=False) == [0]


def test_phase_at_and_span_equal_shares():
    total = 10
    starts = phase_starts(total)  # [0, 2, 4, 6, 8]
    assert [phase_at(s, starts) for s in range(total)] == [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]
    for step in range(total):
        first, length = phase_span(step, starts, total)
        assert first == 2 * (step // 2) and length == 2


def test_phase_at_skips_empty_phases_and_spans_cover_the_steps():
    for total, shares in [(4, None), (12, [2, 1, 1, 1, 0]), (7, [0, 3, 0, 1, 2]), (1, None)]:
        starts = phase_starts(total, shares)
        phases = [phase_at(s, starts) for s in range(total)]
        assert phases == sorted(phases) and all(1 <= p <= S + 1 for p in phases)
        # an empty phase never occurs; every other phase has exactly its share of steps
        for k in range(1, S + 2):
            lo = starts[k - 1]
            hi = starts[k] if k <= S else total
            assert phases.count(k) == max(hi - lo, 0), (total, shares, k)
        spans = {phase_span(s, starts, total) for s in range(total)}
        assert sum(length for _, length in spans) == total
        for step in range(total):
            first, length = phase_span(step, starts, total)
            assert first <= step < first + length
            assert phase_at(first, starts) == phase_at(step, starts)


def test_single_phase_schedule():
    starts = phase_starts(9, staged=False)
    assert all(phase_at(s, starts) == S + 1 for s in range(9))
    assert all(phase_span(s, starts, 9) == (0, 9) for s in range(9))


def reference_lr(t, n, base):
    """The schedule written from its description: warm-up over ceil(0.1 n) steps to `base`, then
    half a cosine from `base` to 0 over the remaining steps of the phase."""
    w = max(1, math.ceil(0.1 * n))
    if t < w:
        return base * (t + 1) / w
    return base / 2 * (1 + math.cos(math.pi * (t - w) / max(n - w, 1)))


@pytest.mark.parametrize("n", [1, 2, 10, 100, 257])
def test_lr_warmup_then_cosine(n):
    base, first = 0.1, 40  # the phase starts at step 40 of the link
    lrs = [lr_at(first + t, first, n, base) for t in range(n)]
    assert lrs == pytest.approx([reference_lr(t, n, base) for t in range(n)], rel=1e-12, abs=1e-15)
    w = max(1, math.ceil(0.1 * n))
    assert all(0 < v <= base * (1 + 1e-12) for v in lrs)
    assert lrs[w - 1] == pytest.approx(base)  # the peak: end of warm-up
    assert all(a < b for a, b in zip(lrs[:w - 1], lrs[1:w]))  # rising
    assert all(a >= b for a, b in zip(lrs[w - 1:], lrs[w:]))  # then falling
    if n >= 100:
        assert lrs[-1] < 1e-3 * base  # ends near 0
        # continuous: no jump larger than one warm-up increment anywhere
        assert max(abs(a - b) for a, b in zip(lrs, lrs[1:])) <= base / w + 1e-12


def test_lr_restarts_at_each_phase():
    total = 50
    starts = phase_starts(total)
    lrs = [lr_at(s, *phase_span(s, starts, total), 1.0) for s in range(total)]
    for k, first in enumerate(starts):
        assert lrs[first] == pytest.approx(1.0 / max(1, math.ceil(0.1 * 10)))  # warm-up restarts
        if k:
            assert lrs[first - 1] < 0.05  # the previous phase ended near 0


# ------------------------------------------------------------------------------- Distiller set-up
def make_cfg(**over):
    """train.py's own defaults (every loss weight and switch), with `over` replacing some."""
    cfg = config.settings(config.Args())  # Args' fields and each method's own flags
    cfg.update(epochs=10, **over)
    return types.SimpleNamespace(**cfg)


def make_batch(B=2):
    return dict(labels=torch.tensor([1, -1][:B] + [2] * max(0, B - 2)),  # one unlabelled video
                pl_targets=torch.zeros(B, K), pl_weights=torch.zeros(B),
                pl_keep=torch.zeros(B, dtype=torch.bool))


def make_distiller(method="skd", teacher=True, student_arch="r3d10_w0.125",
                   teacher_arch="r3d10_w0.25", seed=0, **cfg):
    torch.manual_seed(seed)
    t = freeze(build_model(teacher_arch, K)) if teacher else None
    s = build_model(student_arch, K)
    d = Distiller(s, t, method, make_cfg(**cfg), clip_len=CLIP[2], crop=CLIP[3])
    d.train()
    return d


def clips(seed=1):
    return torch.randn(*CLIP, generator=torch.Generator().manual_seed(seed))


def grads_after(d, phase, term="loss", progress=1.0):
    """Forward one batch in `phase`, backward `term`; returns the terms."""
    d.zero_grad(set_to_none=True)
    terms = d(clips(), make_batch(), phase, progress)
    terms[term].backward()
    return terms


def has_grad(params):
    """[True/False per parameter]: did the backward pass reach it?"""
    return [p.grad is not None for p in params]


def substage_trained(d, i):
    flags = has_grad(d.student.substage_params(i))
    assert all(flags) or not any(flags), f"substage {i} partly trained"
    return flags[0]


def connector_trained(d, i):
    flags = has_grad(d.connectors[i - 1].parameters())
    assert all(flags) or not any(flags), f"connector {i} partly trained"
    return flags[0]


def teacher_untouched(d):
    t = d.teacher
    return (not t.training and all(p.grad is None and not p.requires_grad for p in t.parameters()))


# ------------------------------------------------------------------------------- which parameters
@pytest.mark.parametrize("phase", range(1, S + 1))
def test_phase_k_trains_substages_and_connectors_1_to_k(phase):
    d = make_distiller()
    assert d.staged
    terms = grads_after(d, phase)
    assert set(terms) == {"feat", "loss"} | {f"sub{i}" for i in range(1, phase + 1)}
    assert torch.isfinite(terms["loss"])
    for i in range(1, S + 1):
        assert substage_trained(d, i) == (i <= phase), (phase, i)
        assert connector_trained(d, i) == (i <= phase), (phase, i)
    assert not any(has_grad(d.student.head_params()))
    assert teacher_untouched(d)


def test_last_phase_trains_every_student_parameter_and_connector():
    d = make_distiller()
    terms = grads_after(d, S + 1)
    assert {"task", "kd", "feat"} <= set(terms)
    assert all(has_grad(d.student.parameters()))
    assert all(has_grad(d.connectors.parameters()))
    # a gradient that actually moves something: not all zeros
    assert all(p.grad.abs().sum() > 0 for p in d.student.head_params())
    assert teacher_untouched(d)


def test_teacher_never_trains_and_stays_in_eval_mode():
    d = make_distiller(hybrid=True)
    before = {k: v.clone() for k, v in d.teacher.state_dict().items()}
    d.train()  # must not reach the teacher: it is not a registered submodule
    for phase in range(1, S + 2):
        grads_after(d, phase)
        assert teacher_untouched(d)
    after = d.teacher.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)  # BN statistics too
    # nor is it saved with the link or seen by an optimizer / DDP
    assert not any(k.startswith(("_teacher", "teacher")) for k in d.state_dict())
    assert {id(p) for p in d.parameters()}.isdisjoint({id(p) for p in d.teacher.parameters()})
    assert any(k.startswith("connectors.") for k in d.state_dict())
    assert "balancer.running" in d.state_dict()


# ------------------------------------------------------------------------------- prefix forward
def count_calls(model):
    """{name: number of forward calls} for stem, layer1..4 and fc of a model, via forward hooks."""
    counts = {}
    for name in ("stem", "layer1", "layer2", "layer3", "layer4", "fc"):
        counts[name] = 0

        def hook(m, inp, out, name=name):
            counts[name] += 1
        getattr(model, name).register_forward_hook(hook)
    return counts


def expected_calls(upto, head):
    ran = {"stem": upto >= 1, **{f"layer{i}": upto >= i for i in range(1, S + 1)}, "fc": head}
    return {k: int(v) for k, v in ran.items()}


@pytest.mark.parametrize("phase", range(1, S + 2))
def test_early_phases_run_only_the_prefixes(phase):
    d = make_distiller()
    ct, cs = count_calls(d.teacher), count_calls(d.student)
    d(clips(), make_batch(), phase, 1.0)
    upto = min(phase, S)
    if phase == S:  # both heads run in phase S (no term uses them): a waste, not an error
        ct.pop("fc"), cs.pop("fc")
    want = expected_calls(upto, head=phase == S + 1)
    assert ct == {k: v for k, v in want.items() if k in ct}, phase
    assert cs == {k: v for k, v in want.items() if k in cs}, phase


def test_baselines_run_everything_from_the_first_step():
    d = make_distiller("kd")
    ct, cs = count_calls(d.teacher), count_calls(d.student)
    terms = d(clips(), make_batch(), 1, 0)  # a phase number is ignored when not staged
    assert ct == cs == expected_calls(S, head=True)
    assert "kd" in terms


# ------------------------------------------------------------------------------- switches
def test_joint_gives_one_phase_with_every_term():
    d = make_distiller(joint=True)
    assert not d.staged
    starts = phase_starts(20, [1] * (S + 1), d.staged)
    assert {phase_at(s, starts) for s in range(20)} == {S + 1}
    for phase in (1, S + 1):  # whatever phase it is told, the joint Distiller uses every loss
        terms = grads_after(d, phase)
        assert {"task", "kd", "feat", "sub1", "sub2", "sub3", "sub4"} <= set(terms)
        assert all(has_grad(d.student.parameters()))


def test_hybrid_adds_a_term_whose_gradient_crosses_the_teacher_into_one_connector():
    seen = set()
    for seed in range(6):
        d = make_distiller(hybrid=True)
        torch.manual_seed(seed)  # draws k
        terms = grads_after(d, S + 1, term="hyb")
        assert "hyb" in terms and torch.isfinite(terms["hyb"]) and terms["hyb"] >= 0
        assert terms["loss"].item() == pytest.approx(
            (terms["task"] + terms["kd"] + terms["feat"] + terms["hyb"]).item(), rel=1e-5)
        reached = [i for i in range(1, S + 1) if connector_trained(d, i)]
        assert len(reached) == 1 and reached[0] < S  # exactly phi_k for one k < S
        k = reached[0]
        seen.add(k)
        assert all(substage_trained(d, i) == (i <= k) for i in range(1, S + 1))
        assert not any(has_grad(d.student.head_params()))  # the teacher's head made the logits
        assert teacher_untouched(d)
    assert len(seen) >= 2  # k is drawn per step, not fixed


def test_no_hybrid_term_without_the_switch():
    terms = grads_after(make_distiller(), S + 1)
    assert "hyb" not in terms


@pytest.mark.parametrize("switch", ["no_fdist", "no_corr"])
def test_feature_switches_still_train_the_prefix(switch):
    d = make_distiller(**{switch: True})
    terms = grads_after(d, 2)
    assert torch.isfinite(terms["loss"])
    assert substage_trained(d, 1) and substage_trained(d, 2) and not substage_trained(d, 3)
    # Eq. D is the only path to the connectors (Eq. C is dimension-free)
    assert connector_trained(d, 1) == (switch == "no_corr")


def test_balanced_first_step_is_one_per_substage_plain_sum_is_raw():
    terms = make_distiller()(clips(), make_batch(), 3, 1.0)
    assert terms["feat"].item() == pytest.approx(3.0, rel=1e-5)  # each Lhat = L / L at first sight
    terms = make_distiller(plain_sum=True)(clips(), make_batch(), 3, 1.0)
    raw = terms["sub1"] + terms["sub2"] + terms["sub3"]
    assert terms["feat"].item() == pytest.approx(raw.item(), rel=1e-5)


# ------------------------------------------------------------------------------- method dispatch
EXPECTED_TERMS = {"alone": {"task"}, "pseudo": {"task"}, "kd": {"task", "kd"}, "takd": {"task", "kd"},
                  "dkd": {"task", "dkd"}, "dist": {"task", "dist"}, "fitnet": {"task", "fitnet"},
                  "at": {"task", "at"}, "sp": {"task", "sp"}, "cwd": {"task", "cwd"},
                  "skd": {"task", "kd", "feat", "sub1", "sub2", "sub3", "sub4"}}


def test_baseline_weights_come_from_the_flags():
    """Each baseline's term is its loss (recomputed from losses.py on the models' own substage
    maps) times its flag; AT sums only --at-substages; SP is Tung and Mori's SP on substage 4."""
    torch.manual_seed(0)
    x, batch = clips(), make_batch()
    base = make_distiller("at").eval()  # eval: BatchNorm fixed, so two forwards agree exactly
    with torch.no_grad():
        fs = base.student.forward_substages(x, S)
        ft = base.teacher.forward_substages(x, S)
        at = [losses.at_loss(a, b).item() for a, b in zip(fs, ft)]
        sp = losses.sp_loss(fs[-1], ft[-1]).item()
    def term(method, name, **cfg):
        d = make_distiller(method, **cfg)
        d.load_state_dict(base.state_dict(), strict=False)  # the same student
        d.eval()
        with torch.no_grad():
            return d(x, batch, S + 1, 1.0)[name].item()
    assert term("at", "at") == pytest.approx(1000 * sum(at), rel=1e-5)
    assert term("at", "at", at_weight=2.0, at_substages="1,2") == pytest.approx(
        2 * (at[0] + at[1]), rel=1e-5)
    assert term("sp", "sp", sp_weight=5.0) == pytest.approx(5 * sp, rel=1e-5)
    assert term("sp", "sp") == pytest.approx(3000 * sp, rel=1e-5)
    # DKD's beta and DIST's weight reach the loss: compare with losses.py on the same logits
    d = make_distiller("dkd", dkd_beta=2.0)
    d.load_state_dict(base.state_dict(), strict=False)
    d.eval()
    with torch.no_grad():
        zs, zt = d.student(x), d.teacher(x)
        target = torch.where(batch["labels"] >= 0, batch["labels"], zt.argmax(1))
        assert d(x, batch, S + 1, 1.0)["dkd"].item() == pytest.approx(
            losses.dkd_loss(zs, zt, target, beta=2.0).item(), rel=1e-5)
    assert term("dist", "dist", dist_weight=3.0) == pytest.approx(
        losses.dist_loss(zs, zt, beta=3.0, gamma=3.0).item(), rel=1e-5)
    assert term("fitnet", "fitnet", fitnet_weight=1.0) * 100 == pytest.approx(
        term("fitnet", "fitnet"), rel=1e-5)


def test_every_method_has_an_expected_term_set():
    assert set(EXPECTED_TERMS) == set(METHODS)
    for name, m in METHODS.items():  # the table declares the terms its loss returns (hyb: --hybrid)
        logged = {t for t in EXPECTED_TERMS[name] if t != "task" and not t.startswith("sub")}
        assert set(m.terms) - {"hyb"} == logged, name


@pytest.mark.parametrize("method", METHODS)
def test_method_dispatch_terms_and_total(method):
    d = make_distiller(method)
    terms = grads_after(d, S + 1, progress=1.0)  # the end of the link: DKD at full weight
    assert set(terms) - {"loss"} == EXPECTED_TERMS[method]
    assert all(torch.isfinite(v) for v in terms.values())
    total = sum(v.item() for k, v in terms.items() if k != "loss" and not k.startswith("sub"))
    assert terms["loss"].item() == pytest.approx(total, rel=1e-5)
    assert all(has_grad(d.student.head_params()))  # the task loss always trains the head
    assert (d.connectors is not None) == (method in ("fitnet", "cwd", "skd"))
    assert teacher_untouched(d)


def test_without_a_teacher_only_the_task_loss():
    for method in ("skd", "kd", "pseudo", "alone"):
        d = make_distiller(method, teacher=False)
        assert d.teacher is None and d.connectors is None and not d.staged
        terms = grads_after(d, 1)  # even "phase 1": the first model trains with CE throughout
        assert set(terms) == {"task", "loss"}
        assert all(has_grad(d.student.parameters()))


def test_kd_and_task_terms_match_functional():
    """Eval mode (no dropout, BN statistics fixed) so the models' own logits can be recomputed."""
    d = make_distiller("kd", lambda_kd=0.5, tau=3.0)
    for m in (d.student, d.teacher):  # logits of order 1 (not 0.01), in float64: a sharp comparison
        torch.nn.init.normal_(m.fc.weight, 0.0, 1.0)
        m.double()
    d.eval()
    x, batch = clips().double(), make_batch()
    batch["pl_keep"][1], batch["pl_weights"][1] = True, 0.9  # one kept pseudo-label, for video 1
    batch["pl_targets"][1] = torch.tensor([0.1, 0.6, 0.1, 0.1, 0.1])
    terms = d(x, batch, S + 1, 1.0)
    with torch.no_grad():
        zs, zt = d.student(x), d.teacher(x)
    kd = 0.5 * 9.0 * F.kl_div(F.log_softmax(zs / 3, 1), F.softmax(zt / 3, 1), reduction="batchmean")
    task = F.cross_entropy(zs[:1], batch["labels"][:1]) + batch["pl_weights"][1] * -(
        batch["pl_targets"][1] * F.log_softmax(zs[1], 0)).sum()
    assert float(kd) > 1e-3  # a comparison of something, not of two zeros
    assert terms["kd"].item() == pytest.approx(float(kd), rel=1e-9)
    assert terms["task"].item() == pytest.approx(float(task), rel=1e-9)


def test_dkd_warmup_ramps_per_step_over_its_share_of_the_link():
    """DKD warms up over its first 20 of 240 epochs: over 1/12 of the link here, step by step.
    A link of 10 epochs x 8 steps (the grid's) has 80 steps: the factor at its first step is
    (1/80) / (1/12) = 0.15, not 1 (an epoch-based ramp rounded to 1 epoch would give 1)."""
    d = make_distiller("dkd")
    d.eval()
    x, batch = clips(), make_batch()
    full = d(x, batch, S + 1, 1.0)["dkd"].item()
    assert full > 1e-3
    assert d(x, batch, S + 1, 1 / 80)["dkd"].item() == pytest.approx(0.15 * full, rel=1e-5)
    assert d(x, batch, S + 1, 0.5 / 12)["dkd"].item() == pytest.approx(0.5 * full, rel=1e-5)
    assert d(x, batch, S + 1, 1 / 12)["dkd"].item() == pytest.approx(full, rel=1e-6)


# ------------------------------------------------------------------------------- the cascade
ARCHS = ["r3d18_w0.5", "r3d10_w0.25", "r3d10_w0.125"]


@pytest.mark.parametrize("method", METHODS)
def test_cascade_models(method):
    if method == "alone":  # the last model, whatever the cascade: no teacher
        assert all(cascade_models(method, archs, no) == [archs[-1]]
                   for archs in (ARCHS, ARCHS[:2], ARCHS[2:]) for no in (False, True))
        return
    expected = ARCHS if method in ("takd", "skd") else [ARCHS[0], ARCHS[-1]]
    assert cascade_models(method, ARCHS) == expected
    assert cascade_models(method, ARCHS, no_cascade=True) == [ARCHS[0], ARCHS[-1]]
    assert cascade_models(method, ARCHS[:2]) == ARCHS[:2]
    assert cascade_models(method, ARCHS[2:]) == ARCHS[2:]  # one model: the student alone
    assert cascade_models(method, ARCHS) is not ARCHS  # a copy: the caller's list stays intact


def test_freeze_turns_off_training_and_gradients():
    m = build_model("r3d10_w0.125", K).train()
    assert freeze(m) is m
    assert not m.training and not any(p.requires_grad for p in m.parameters())
    assert not any(mod.training for mod in m.modules())
    assert cascade.S == 4 and len(m.channels) == S
