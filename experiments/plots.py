"""The report's figures and summary tables from experiments/results/*.json, and one run's
training curves.

    python -m experiments.plots summary  # SKD - best tuned baseline, SKD - each ablation: 95% CIs
    python -m experiments.plots versus --regime c  # SKD - every other student, paired, 95% CIs
    python -m experiments.plots calibration set1_accuracy_d  # teacher, alone, KD per seed; gaps
    python -m experiments.plots sweep    # regime d's capacity sweep: gain over the student alone
    python -m experiments.plots moved accuracy_a_twin10 accuracy  # each row's move, paired
    python -m experiments.plots results  # experiments/results/{accuracy,paired,efficiency,...}.png
    python -m experiments.plots curves runs/synthetic_skd_p0.2_s0   # <run>/curves.png

experiments/results/README.md shows every figure beside its table; curves.png is drawn from a run's
metrics.jsonl; the tables and their statistics are experiments/tables.py's.

matplotlib draws the figures and is not a dependency of the project (pip install matplotlib):
without it `summary` and `versus` still work and the drawing commands stop with one `error:`
line. The functions that turn JSON into numbers need no matplotlib; tests/test_plots.py checks
them.
"""
import sys

if __name__ == "__main__" and not __package__:  # run as a file, not as the package's module
    sys.exit("error: run the lab from the repository's root as: python -m experiments.plots")

import argparse
import json
import math
import os

import numpy as np

from experiments import RESULTS
from experiments.tables import (NO_CASCADE, budget_first, calibration_table, load, moved_table,
                                paired_rows, per_method, regime_label, regimes, shown_methods,
                                summary_table, sweep_rows, sweep_table, versus_table)

MISSING = "matplotlib is not installed: pip install matplotlib"

# -- the curves of one run -------------------------------------------------------------------
def read_events(path):
    """metrics.jsonl -> its events, one dict per line."""
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def curve_series(events):
    """A run's events -> the series of curves.png, on one step axis: the cascade's links one after
    another, step s of link j at offset_j + s. The learning rate is not logged: it is recomputed
    for every step with train.py's own schedule (cascade.lr_at, phase_starts). A resumed run logs
    some steps twice; the later line wins. -> dict(links=[dict(link, name, offset, total,
    starts)], losses={term: (steps, values)}, lr=(steps, values), evals={model: dict(step,
    video_acc, clip_acc)}, pseudo=[dict(link, name, coverage, accuracy, unlabelled_accuracy)])."""
    # imports torch: only for the curves
    from cascade import link_phase_shares, lr_at, phase_span, phase_starts, staged_link
    cfg = next(e["config"] for e in events if e["event"] == "start")
    train = {(e["link"], e["step"]): e for e in events if e["event"] == "train"}
    summary = next((e for e in events if e["event"] == "summary"), {})
    names = {j: f"{m['role']} {m['arch']}" for j, m in enumerate(summary.get("models", []))}
    links, losses, lr, evals, offset = [], {}, ([], []), {}, 0
    for link in sorted({j for j, _ in train}):
        steps = sorted(s for j, s in train if j == link)
        total, name = steps[-1], names.get(link, f"model {link}")  # an epoch's last step is logged
        staged = staged_link(cfg["method"], link > 0, cfg["joint"])  # links > 0 have a teacher
        shares = link_phase_shares(cfg.get("epochs"), cfg.get("phase_epochs", 1.0),
                                   cfg["phase_shares"])  # the shares, or the --phase-epochs rule
        starts = phase_starts(total, shares, staged)
        links.append(dict(link=link, name=name, offset=offset, total=total, starts=starts))
        for s in steps:
            for term, v in train[link, s].items():
                if term not in ("event", "time", "link", "epoch", "step", "phase", "clips_per_s",
                                "epoch_mean"):
                    losses.setdefault(term, ([], []))[0].append(offset + s)
                    losses[term][1].append(v)
        for xs, ys in losses.values():  # NaN after each link: the lines break between links
            xs.append(offset + total + 0.5)
            ys.append(float("nan"))
        lr[0].extend(range(offset + 1, offset + total + 1))  # logged step s + 1: update index s
        lr[1].extend(lr_at(s, *phase_span(s, starts, total), cfg["lr"]) for s in range(total))
        ends = {e["epoch"]: s for (j, s), e in sorted(train.items()) if j == link}
        for e in (e for e in events if e["event"] == "eval" and e["link"] == link):
            ev = evals.setdefault(name, dict(step=[], video_acc=[], clip_acc=[]))
            for key, v in (("step", offset + ends[e["epoch"]]), ("video_acc", e["video_acc"]),
                           ("clip_acc", e["clip_acc"])):
                ev[key].append(v)
        offset += total
    pseudo = [dict(link=e["link"], name=names.get(e["link"], f"model {e['link']}"),
                   **{k: e[k] for k in ("coverage", "accuracy", "unlabelled_accuracy")})
              for e in events if e["event"] == "pseudo_labels"]
    return dict(links=links, losses=losses, lr=lr, evals=evals, pseudo=pseudo, config=cfg)


# -- drawing (matplotlib) --------------------------------------------------------------------
class NoMatplotlib(RuntimeError):
    """matplotlib is not installed: the commands say so in one line, grid.py goes on without."""


def pyplot():
    """matplotlib.pyplot with the file-only backend; NoMatplotlib when it is not installed."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise NoMatplotlib(MISSING) from None
    plt.rcParams.update({"font.size": 9, "axes.grid": True, "grid.alpha": 0.3})
    return plt


def _colour(name):
    """'fitnet (tuned)', 'assistant (skd)', 'skd, joint schedule' -> the method's colour (its
    entry in cascade.METHODS: one colour per method in every figure), the teacher's black."""
    base = name.split(",")[0]
    base = base.split(" (")[1].rstrip(")") if base.startswith("assistant") else base.split(" (")[0]
    from cascade import METHODS  # imports torch: only for the figures
    return "k" if base == "teacher" else METHODS[base].colour if base in METHODS else "grey"


def _seeds_label(stats, names, fraction):
    ns = sorted({stats[n, fraction]["n"] for n in names if (n, fraction) in stats})
    return f"{fraction:.0%} labels\nn = {'/'.join(map(str, ns))} seeds"


def fig_accuracy(plt, results, path):
    """Student video accuracy against the label fraction, one line per method, 95% intervals."""
    ratios = [max(1.3, len({r["fraction"] for r in v["rows"]})) for v in results.values()]
    fig, axes = plt.subplots(1, len(results), figsize=(max(9.5, 3 + 1.4 * sum(ratios)), 4.2),
                             sharey=True, squeeze=False, gridspec_kw=dict(width_ratios=ratios))
    handles = {}
    for ax, (regime, result) in zip(axes[0], results.items()):
        stats, names = per_method(result), shown_methods(result)
        fractions = sorted({r["fraction"] for r in result["rows"]})
        for i, name in enumerate(names):
            dx = (i - (len(names) - 1) / 2) * 0.045  # sideways, so that intervals do not overlap
            pts = [(k + dx, stats[name, f]) for k, f in enumerate(fractions) if (name, f) in stats]
            h = ax.errorbar([x for x, _ in pts], [s["mean"] for _, s in pts],
                            yerr=[s["half"] for _, s in pts], marker="o", ms=3.5, capsize=2,
                            lw=2.4 if name in ("skd", "teacher") else 1, color=_colour(name),
                            ls="--" if name.startswith("teacher") else "-",
                            alpha=1 if name in ("skd", "teacher") else 0.8)
            handles.setdefault(name.replace(" (tuned)", ""), h)  # one entry per method
        ax.axhline(1 / result["bench"]["classes"], color="grey", ls=":", lw=1)
        ax.text(-0.45, 1 / result["bench"]["classes"] + 0.01, "chance", color="grey", fontsize=8)
        ax.set_xticks(range(len(fractions)), [_seeds_label(stats, names, f) for f in fractions])
        ax.set(xlim=(-0.5, len(fractions) - 0.5), ylim=(0, 1.02),
               title=f"regime {regime_label(regime)}\n{result['args']['epochs']} epochs")
    axes[0, 0].set_ylabel("video accuracy (fraction of test videos)")
    fig.legend(handles.values(), handles.keys(), loc="center right", fontsize=8)
    fig.suptitle("Student video accuracy (teacher: its own), mean and 95% t-interval over seeds;"
                 "\nbaselines with their tuned weight where tuning chose one; intervals cut at 1")
    fig.tight_layout(rect=(0, 0, 0.83, 1))
    return _save(plt, fig, path)


def fig_paired(plt, rows, path):
    """SKD minus the best other student, one dot per seed, with the mean and its 95% interval."""
    fig, ax = plt.subplots(figsize=(max(7.5, 1.9 * len(rows)), 4.2))  # room for each label
    for i, r in enumerate(rows):
        ax.plot(i + np.linspace(-0.12, 0.12, r["n"]), r["diffs"], "o", color="C0", alpha=0.75,
                label="one seed" if i == 0 else None)
        ax.errorbar(i + 0.3, r["mean"], yerr=r["half"], fmt="s", color="k", capsize=4,
                    label="mean and 95% t-interval" if i == 0 else None)
    ax.axhline(0, color="grey", lw=1)
    ax.set_xticks(range(len(rows)), [f"regime {regime_label(r['regime'])}, {r['epochs']} epochs\n"
                                      f"{r['fraction']:.0%} labels\n"
                                      f"n = {r['n']} seeds\n{r['mean']:+.3f} "
                                      f"[{r['lo']:+.3f}, {r['hi']:+.3f}]" for r in rows],
                  fontsize=8)
    ax.set(xlim=(-0.5, len(rows) - 0.3),
           ylabel="SKD minus the best other student\n(video accuracy, fraction of test videos)",
           title="SKD - " + " / ".join(sorted({r["best"] for r in rows}))
           + " (the best other student), paired by seed")
    ax.legend(loc="lower left", fontsize=8)
    fig.tight_layout()
    return _save(plt, fig, path)


def _half(interval):
    """interval()'s half-width as an error bar: 0 where one seed leaves it undefined (NaN)."""
    return 0 if math.isnan(interval["half"]) else interval["half"]


def _ratio_axis(ax, ratios, labels):
    """A log x-axis with one tick per GFLOPs ratio, padded so that a single ratio is not a zoom
    on the methods' side-by-side offsets."""
    ax.set_xscale("log")
    ax.set_xlim(ratios[0] / 1.6, ratios[-1] * 1.6)
    ax.set_xticks(ratios, labels, fontsize=8)
    ax.minorticks_off()


def fig_sweep(plt, rows, path):
    """The capacity sweep: each method's gain over the student alone against the teacher /
    student GFLOPs ratio, mean and 95% interval over seeds (paired by seed); beside it, where
    the sweep ran SKD without the assistant, SKD minus that variant per ratio (Sec. 4's claim:
    it should grow with the ratio)."""
    cascade = [r for r in rows if "cascade" in r]
    widths = [2.2, 1] if cascade else [1]
    fig, axes = plt.subplots(1, len(widths), figsize=(12.5 if cascade else 9, 4.4), squeeze=False,
                             gridspec_kw=dict(width_ratios=widths))
    ax = axes[0][0]
    methods = list(dict.fromkeys(r["method"] for r in rows if r["method"] != "alone"))
    for i, m in enumerate(methods):
        mine = [r for r in rows if r["method"] == m]
        x = [r["ratio"] * 1.04 ** (i - (len(methods) - 1) / 2) for r in mine]  # side by side
        ax.errorbar(x, [r["gain"]["mean"] for r in mine],
                    yerr=[_half(r["gain"]) for r in mine],
                    marker="s" if "(tuned)" in m else "o", ms=4, capsize=3, label=m,
                    color=_colour(m), lw=2.2 if m == "skd" else 1,
                    ls="--" if "no-cascade" in m or "(tuned)" in m else "-")
    ax.axhline(0, color="grey", lw=1)
    ratios = sorted({r["ratio"] for r in rows})
    _ratio_axis(ax, ratios, [f"1/{x:.0f}\n{next(r['student'] for r in rows if r['ratio'] == x)}"
                             for x in ratios])
    n = sorted({r["gain"]["n"] for r in rows if r["method"] != "alone"})
    ax.set(xlabel="student GFLOPs / teacher GFLOPs (log scale), student",
           ylabel="gain over the student alone\n(video accuracy, fraction of test videos)",
           title=f"Capacity sweep, regime d, {rows[0]['fraction']:.0%} labels: mean and 95% "
                 f"interval over {', '.join(map(str, n))} seeds")
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1))
    if cascade:
        bx = axes[0][1]
        bx.errorbar([r["ratio"] for r in cascade], [r["cascade"]["mean"] for r in cascade],
                    yerr=[_half(r["cascade"]) for r in cascade], marker="o", ms=4, capsize=3,
                    lw=2.2, color=_colour("skd"))
        for r in cascade:
            bx.annotate(f"{r['cascade']['leads']}/{len(r['cascade']['diffs'])}",
                        (r["ratio"], r["cascade"]["mean"]), textcoords="offset points",
                        xytext=(6, 4), fontsize=8)
        bx.axhline(0, color="grey", lw=1)
        _ratio_axis(bx, ratios, [f"1/{x:.0f}" for x in ratios])
        bx.set(xlabel="student GFLOPs / teacher GFLOPs (log scale)",
               ylabel=f"SKD - {NO_CASCADE}\n(video accuracy, paired by seed)",
               title="What the assistant adds\n(label: seeds where SKD is ahead)")
    fig.tight_layout()
    return _save(plt, fig, path)


def fig_efficiency(plt, result, tuning, path):
    """Video accuracy against GFLOPs per clip: the cascade's models at each label fraction, and
    SKD's candidate students on the tuning set."""
    fractions = sorted({r["fraction"] for r in result["rows"]})
    fig, axes = plt.subplots(1, len(fractions) + bool(tuning), figsize=(12, 3.9), sharey=True,
                             squeeze=False)
    axes = axes[0]  # one row; a list even when there is one panel (one fraction, no tuning)
    stats, gflops = per_method(result), {r["name"]: r["gflops"] for r in result["rows"]}
    best = {float(f): p["best"] for f, p in result["paired"].items() if p}
    handles = {}
    for ax, f in zip(axes, fractions):
        shown = ["teacher", "assistant (skd)", "assistant (kd)", "skd", best.get(f), "pseudo", "alone"]
        students = [n for n in shown if n and gflops.get(n) == gflops.get("skd")]
        for name in (n for n in shown if (n, f) in stats):  # students share one GFLOPs value:
            x = gflops[name] * 1.2 ** (students.index(name) - 1 if name in students else 0)
            s = stats[name, f]  # ... spread sideways (x 1.2) to be told apart
            marker = "s" if name.startswith("teacher") else "^" if "assistant" in name else "o"
            handles[name] = ax.errorbar(x, s["mean"], yerr=s["half"], fmt=marker, capsize=3,
                                         color=_colour(name), ms=6)
        ns = sorted({s["n"] for (n, g), s in stats.items() if g == f})
        ax.set(xscale="log", xlim=(0.0035, 0.08), ylim=(0, 1.02),
               title=f"{f:.0%} labels, n = {ns[-1]} seeds", xlabel="GFLOPs per clip (log scale)")
        ax.set_xticks([0.005, 0.01, 0.02, 0.05], ["0.005", "0.01", "0.02", "0.05"])
        ax.minorticks_off()
    if tuning:  # SKD's student sizes, --cascade checks of `python -m experiments.grid tune`
        ax, student = axes[-1], next(r["arch"] for r in result["rows"] if r["name"] == "skd")
        for r in (r for r in tuning["rows"] if r["method"] == "skd" and
                  (not r["flags"] or r["flags"][0] == "--cascade")):
            arch = r["flags"][1].split(",")[-1] if r["flags"] else student
            ax.plot([r["gflops"]] * r["seeds"], r["per_seed"], "o", color="C3", alpha=0.45)
            ax.plot(r["gflops"], r["video_acc"], "_", color="k", ms=14, mew=2)
            ax.annotate(arch, (r["gflops"], r["video_acc"]), xytext=(9, -3),
                        textcoords="offset points", fontsize=7.5)
        ax.axhline(tuning["teacher"], color="k", ls="--", lw=1)
        ax.text(0.0041, tuning["teacher"] + 0.015, "teacher", fontsize=7.5)
        ax.set(xscale="log", xlim=(0.004, 0.02), xlabel="GFLOPs per clip (log scale)",
               title=f"skd's students, tuning set, 20%,\nn = {tuning['seeds']} seeds (bar: mean)")
        ax.set_xticks([0.005, 0.01, 0.02], ["0.005", "0.01", "0.02"])
        ax.minorticks_off()
    axes[0].set_ylabel("video accuracy (fraction of test videos)")
    fig.legend(handles.values(), handles.keys(), loc="lower center", ncol=len(handles),
               fontsize=8)
    fig.suptitle("Accuracy against cost per 4 x 28 x 28 clip, mean and 95% t-interval over seeds."
                 "\nSquare: teacher, triangle: assistant, dot: student (the students share one "
                 "GFLOPs value, spread sideways to be told apart)")
    fig.tight_layout(rect=(0, 0.07, 1, 1))
    return _save(plt, fig, path)


def _bars(ax, labels, values, fmt, **kwargs):
    bars = ax.barh(labels[::-1], values[::-1], **kwargs)  # the first row on top
    ax.bar_label(bars, fmt=fmt, fontsize=7, padding=2)


def _item_stages(ax, data):
    """One stacked bar per hand-over: CPU ms of each stage of an AVI training item. data.json
    made before the float hand-over was removed (f456245) holds a float and a uint8 bar."""
    ms = data["stage_ms"]
    scale = data["decode_ms"]["avi"] - data["source_ms"]["avi"]
    if "uint8 hand-over: the (3, T, S, S) layout" in ms:  # both hand-overs, (float, uint8)
        labels = ["float hand-over", "uint8 hand-over (train.py)"]
        layout = (ms["float hand-over: to floats in [0, 1]"]
                  + ms["float hand-over: normalisation"],
                  ms["uint8 hand-over: the (3, T, S, S) layout"])
        batch = tuple(ms[f"collation, {k}"] + ms[f"receiving a batch, {k}"]
                      + ms.get(f"pinning a batch, {k}", 0) for k in ("float", "uint8"))
    else:  # the uint8 hand-over alone
        labels, layout = ["uint8 hand-over (train.py)"], (ms["the (3, T, S, S) layout"],)
        batch = (ms["collation"] + ms["receiving a batch"] + ms.get("pinning a batch", 0),)
    n = len(labels)
    parts = {"decode (RGB, source size)": (data["source_ms"]["avi"],) * n,
             "scale to short side": (scale,) * n, "crop + flip": (ms["crop + flip"],) * n,
             "to floats + normalise / layout": layout, "collate, receive, pin": batch}
    left = np.zeros(n)
    for k, (name, widths) in enumerate(parts.items()):
        ax.barh(labels[::-1], widths[::-1], left=left[::-1], label=name, color=f"C{k}")
        left += widths
    for y, total in enumerate(left[::-1]):
        ax.text(total, y, f" {total:.1f}", va="center", fontsize=7)
    ax.set_xlim(0, 2.4 * max(left))  # room for the legend on the right
    ax.legend(fontsize=7, loc="center right", framealpha=1)
    ax.set(xlabel="CPU ms per clip, AVI originals (stage by stage, each timed alone)",
           title="Where a training item's CPU time goes (to_model_input: "
                 f"{ms['to_model_input']:.1f} ms, on the device)")


def fig_throughput(plt, data, gpu, speed, path):
    """Clip loading per CPU core, loader against training step on a GPU, training-step cost."""
    loaders = [r for r in (data or {}).get("rows", []) if not r["loader"].startswith("stage:")]
    stages = data and "item_ms" in data  # where an item's CPU time goes (benchmark.py data)
    heights = ([len(loaders)] if data else []) + ([5] if stages else []) + [
        len(p.get("rows", p.get("steps", []))) or 5 for p in (gpu, speed) if p]
    fig, axes = plt.subplots(len(heights), 1, figsize=(7.5, 2.3 + 2.1 * len(heights)),
                             squeeze=False, gridspec_kw=dict(height_ratios=heights))
    axes = list(axes[:, 0])
    if data:
        ax = axes.pop(0)
        _bars(ax, [r["loader"] for r in loaders], [r["clips_per_cpu_s"] for r in loaders], "%.1f")
        ax.set(xlabel="clips per CPU-second (16 x 2 frames, short side 128, crop 112)",
               title=f"Clip loading, one decoder per core ({data['cores']}-core {data['cpu']}, "
                     f"median of {data['rounds']} rounds, 1 run)")
    if stages:
        _item_stages(axes.pop(0), data)
    if gpu:
        ax, y, r = axes.pop(0), np.arange(len(gpu["bf16"]["rows"])), gpu["bf16"]
        for k, (label, res) in enumerate(gpu.items()):  # bf16 above float32 in each pair
            bars = ax.barh(y - 0.2 + 0.4 * k, [x["clips_per_s"] for x in res["rows"]],
                           height=0.4, label=label, color=f"C{k + 1}")
            ax.bar_label(bars, fmt="%.0f", fontsize=7, padding=2)
        ax.set_yticks(y, [x["what"] for x in r["rows"]])
        ax.invert_yaxis()
        ax.legend(fontsize=8, loc="lower right", framealpha=1)
        ax.set(xlim=(0, 1.4 * max(x["clips_per_s"] for v in gpu.values() for x in v["rows"])),
               xlabel="clips per second (batch 32 of 16 x 112 x 112)",
               title=f"Loader and training step, one {r['device']}, {r['workers']} workers "
                     f"on {r['cores']} cores (1 run each)")
    if speed:
        ax = axes.pop(0)
        _bars(ax, [r["variant"] for r in speed["steps"]], [r["ms_per_step"] for r in speed["steps"]],
              "%.1f", color="C5")
        ax.set(xlabel="ms per training step (batch 16 x 4 x 28 x 28, 2 threads)",
               title=f"Training-step cost on the CPU (median of {speed['rounds']} rounds, 1 run)")
    for ax in fig.axes:
        if ax.get_autoscalex_on():
            ax.margins(x=0.1)
    fig.tight_layout()
    return _save(plt, fig, path)


def fig_lottery(plt, stages, path):
    """The report's lottery section: `python train.py` under seeds x threads (experiments.lottery)
    at each stage of the pretraining's fix. Left: the pretraining's mean task loss per epoch,
    every run; right: each model's accuracy per run. `stages`: [(label, {"pretrain": runs,
    "default": runs})], the first the recipe before the fix."""
    fig, (ax, bx) = plt.subplots(1, 2, figsize=(11, 3.8), gridspec_kw=dict(width_ratios=[1, 1.3]))
    colours = {label: c for (label, _), c in zip(stages, ("C3", "C1", "C0", "C2"))}
    for label, runs in stages:
        pre = [r for r in runs["pretrain"] if "aten" not in r["config"]]
        for i, r in enumerate(pre):
            task = r["links"][0]["task"]
            ax.plot(range(1, len(task) + 1), task, color=colours[label], alpha=0.6, lw=1,
                    label=f"{label} (n = {len(pre)})" if i == 0 else None)
    ax.axhline(0.9 * math.log(6), color="k", ls=":", lw=1, label="0.9 ln 6 (left chance below)")
    ax.set(xlabel="epoch of the pretraining", ylabel="mean task loss of the epoch",
           title="the teacher's pretraining, 5 seeds x 1 and 2 threads")
    ax.legend(fontsize=8)
    groups = [("pretrained\n(twin set)", "pretrain", 0), ("teacher", "default", 1),
              ("assistant", "default", 2), ("student", "default", 3)]
    width = 0.8 / len(stages)
    for g, (_, kind, link) in enumerate(groups):
        for k, (label, runs) in enumerate(stages):
            for r in runs[kind]:
                if "aten" in r["config"]:
                    continue
                x = g + (k - (len(stages) - 1) / 2) * width + (0.04 if r["config"] == "t2" else -0.04)
                bx.plot(x, r["links"][link]["video_acc"], "o" if r["config"] == "t2" else "^",
                        color=colours[label], alpha=0.7, ms=5)
    for label in colours:
        bx.plot([], [], "s", color=colours[label], label=label)
    bx.plot([], [], "^", color="grey", label="1 thread")
    bx.plot([], [], "o", color="grey", label="2 threads")
    bx.set_xticks(range(len(groups)), [g[0] for g in groups])
    bx.set(ylabel="video accuracy", ylim=(0, 1),
           title="each model, 5 seeds x 1 and 2 threads (n = 10 per stage)")
    bx.legend(fontsize=8, ncol=2, loc="lower left")
    return _save(plt, fig, path)


def draw_results(folder):
    """Every figure whose JSON is in `folder` -> the paths written."""
    plt, written = pyplot(), []
    results = {k: load(folder, n) for k, n in regimes(folder).items()}
    results = dict(sorted(results.items(), key=lambda kv: budget_first(kv[0], kv[1]["args"]["epochs"])))
    if results:
        written.append(fig_accuracy(plt, results, os.path.join(folder, "accuracy.png")))
    rows = paired_rows(folder)
    if rows:
        written.append(fig_paired(plt, rows, os.path.join(folder, "paired.png")))
    if "a_10epochs" in results:  # report section 13: regime a's 10-epoch grid, with its tuning's
        # --cascade checks of SKD's student sizes (not repeated at 30 epochs)
        written.append(fig_efficiency(plt, results["a_10epochs"], load(folder, "tuning_a_10epochs"),
                                      os.path.join(folder, "efficiency.png")))
    sweep = sweep_rows(folder)
    if sweep:
        written.append(fig_sweep(plt, sweep, os.path.join(folder, "sweep.png")))
    gpu = {k: v for k, v in (("bf16", load(folder, "throughput_h200_bf16")),
                             ("float32", load(folder, "throughput_h200_fp32"))) if v}
    data, speed = load(folder, "data"), load(folder, "speed")
    if data or gpu.get("bf16") or speed:
        written.append(fig_throughput(plt, data, gpu if "bf16" in gpu else None, speed,
                                      os.path.join(folder, "throughput.png")))
    stages = []  # the lottery's stages: the recipe before the fix, twin sets of 5x and 10x
    for label, tag in (("before", "before"), ("twin 5x", "after"), ("twin 10x", "twin10")):
        runs = {kind: (load(folder, f"lottery_{tag}") or load(folder, f"lottery_{tag}_{kind}")
                       or {}).get("runs", {}).get(kind) for kind in ("pretrain", "default")}
        if all(runs.values()):
            stages.append((label, runs))
    if len(stages) > 1:
        written.append(fig_lottery(plt, stages, os.path.join(folder, "lottery.png")))
    return written


def draw_curves(c, path):
    """curves.png of one run: loss terms, learning rate, test accuracy, pseudo-labels."""
    plt = pyplot()
    from matplotlib.ticker import FormatStrFormatter, LogLocator, NullFormatter
    fig = plt.figure(figsize=(9, 10))
    grid = fig.add_gridspec(4, 1, height_ratios=[3, 1.2, 2, 1.8], hspace=0.35)
    ax_loss = fig.add_subplot(grid[0])
    ax_lr, ax_acc = (fig.add_subplot(grid[i], sharex=ax_loss) for i in (1, 2))
    for term, (x, y) in c["losses"].items():
        ax_loss.plot(x, y, ".-", ms=3, lw=0.8, label=term, color="k" if term == "loss" else None)
    ax_loss.set(yscale="log", ylabel="loss term (log scale)")
    ax_loss.yaxis.set_major_locator(LogLocator(subs=(1, 2, 5)))  # 0.1 0.2 0.5 1 2 5 10
    ax_loss.yaxis.set_major_formatter(FormatStrFormatter("%g"))  # not 5 x 10^-1
    ax_loss.yaxis.set_minor_formatter(NullFormatter())
    ax_loss.legend(fontsize=7, ncol=2, loc="upper left", bbox_to_anchor=(1.01, 1))
    ax_lr.plot(*c["lr"], lw=1, color="C3")
    ax_lr.set(ylabel="learning rate")
    for name, ev in c["evals"].items():
        line, = ax_acc.plot(ev["step"], ev["video_acc"], "o-", ms=4, label=f"{name}: video")
        ax_acc.plot(ev["step"], ev["clip_acc"], "x--", ms=4, color=line.get_color(),
                    label=f"{name}: clip")
    ax_acc.set(ylabel="test accuracy (fraction)", xlabel="training step, the cascade's links one "
               f"after another (1 step = a batch of {c['config']['batch_size']} clips)")
    if c["evals"]:
        ax_acc.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1))
    for ax in (ax_loss, ax_lr, ax_acc):
        for link in c["links"]:
            ax.axvline(link["offset"], color="k", lw=1)
            for s in link["starts"][1:]:  # the phases of the staged schedule (Sec. 3)
                ax.axvline(link["offset"] + s, color="grey", ls=":", lw=1)
    for link in c["links"]:
        ax_loss.text(link["offset"] + link["total"] / 2, 1.02, link["name"], ha="center",
                     fontsize=8, transform=ax_loss.get_xaxis_transform())
    ax_pl = fig.add_subplot(grid[3])
    x = np.arange(len(c["pseudo"]))
    for k, key in enumerate(("coverage", "accuracy", "unlabelled_accuracy")):
        bars = ax_pl.bar(x + 0.27 * (k - 1), [p[key] for p in c["pseudo"]], width=0.27,
                         label={"coverage": "kept (fraction of unlabelled videos)",
                                "accuracy": "kept ones correct",
                                "unlabelled_accuracy": "all unlabelled: ensemble correct"}[key])
        ax_pl.bar_label(bars, fmt="%.2f", fontsize=7)
    ax_pl.set_xticks(x, [f"pseudo-labels before {p['name']}" for p in c["pseudo"]])
    ax_pl.set(ylim=(0, 1.15), ylabel="fraction")
    if c["pseudo"]:
        ax_pl.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1))
    else:
        ax_pl.text(0.5, 0.5, "no pseudo-labels in this run", ha="center", transform=ax_pl.transAxes)
    cfg = c["config"]
    fig.suptitle(f"{cfg['method']} on {cfg['dataset']}, {cfg['label_fraction']:.0%} labels, "
                 f"seed {cfg['seed']}: one run (n = 1); dotted: phase boundaries", y=0.93)
    return _save(plt, fig, path)


DPI = 110  # dots per inch of the PNGs: the report's figures are 800-1300 pixels wide


def _save(plt, fig, path):
    fig.savefig(path, dpi=DPI, bbox_inches="tight")
    plt.close(fig)
    return path


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m experiments.plots",
                                description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="what", required=True)
    for name, text in (("summary", "print the summary table (no matplotlib needed)"),
                       ("results", "draw the report's *.png from experiments/results/*.json")):
        sub.add_parser(name, help=text).add_argument("folder", nargs="?", default=RESULTS)
    c = sub.add_parser("curves", help="draw <run>/curves.png from <run>/metrics.jsonl")
    c.add_argument("run", help="a run folder of train.py (its --out)")
    c.add_argument("--out", default=None, help="the PNG to write (default <run>/curves.png)")
    v = sub.add_parser("versus", help="print SKD minus every other student, paired by seed")
    v.add_argument("folder", nargs="?", default=RESULTS)
    v.add_argument("--regime", help="one regime only: a, b, c, or a regime at another budget "
                   "than its own, as its file names it (a_10epochs: accuracy_a_10epochs.json)")
    v.add_argument("--set-seed", type=int, default=0,
                   help="the grids of that simulated set: 1 = the tuning set (set1_accuracy*.json)")
    k = sub.add_parser("calibration", help="print a grid's teacher, assistant, student alone, "
                       "pseudo and KD per seed, and the gaps between them (no matplotlib needed)")
    k.add_argument("name", help="its results file without .json, e.g. set1_accuracy_d")
    k.add_argument("folder", nargs="?", default=RESULTS)
    m = sub.add_parser("moved", help="print how far each row of a grid moved from another "
                       "grid of the same set and seeds (e.g. a later recipe), paired by seed")
    m.add_argument("new", help="results file without .json, e.g. accuracy_a_twin10")
    m.add_argument("old", help="the grid it is compared with, e.g. accuracy")
    m.add_argument("--fraction", type=float, default=0.2)
    m.add_argument("--folder", default=RESULTS)
    w = sub.add_parser("sweep", help="print the capacity sweep (sweep_<regime>_*.json)")
    w.add_argument("folder", nargs="?", default=RESULTS)
    w.add_argument("--regime", default="d")
    args = p.parse_args(argv)
    if args.what in ("calibration", "moved"):
        results = []
        for name in ([args.name] if args.what == "calibration" else [args.new, args.old]):
            results.append(load(args.folder, name))
            if results[-1] is None:
                sys.exit(f"error: {os.path.join(args.folder, name)}.json not found: run the grid "
                         "that writes it (experiments/results/README.md names each command)")
        print(calibration_table(*results) if args.what == "calibration"
              else moved_table(*results, args.fraction))
        return
    if args.what == "sweep":
        print(sweep_table(args.folder, args.regime))
        return
    if args.what in ("summary", "versus"):
        print(summary_table(args.folder) if args.what == "summary"
              else versus_table(args.folder, args.regime, args.set_seed))
        return
    try:
        if args.what == "results":
            written = draw_results(args.folder)
        else:
            metrics = os.path.join(args.run, "metrics.jsonl")
            if not os.path.isfile(metrics):
                sys.exit(f"error: {metrics} not found: is {args.run} a run folder of train.py?")
            written = [draw_curves(curve_series(read_events(metrics)),
                                   args.out or os.path.join(args.run, "curves.png"))]
    except NoMatplotlib as e:
        sys.exit(f"error: the figures need matplotlib; {e}")
    print("wrote " + ", ".join(written))


if __name__ == "__main__":
    main()
