"""The report's Markdown tables and their statistics, from experiments/results/*.json: numbers
only, no matplotlib and no torch (experiments.plots draws the figures from the same functions).

The rule behind the tables: a claim needs a 95% confidence interval over seeds that excludes
zero, here the paired t-interval of the per-seed differences (same teacher, split and clips),
mean +- t_{0.975,n-1} * sd / sqrt(n).
"""
import json
import math
import os
import sys

import numpy as np

# t_{0.975, df}: the two-sided 95% quantile of Student's t, df = 1..30 (standard tables).
T975 = dict(enumerate([12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
                       2.201, 2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086,
                       2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042], 1))


def interval(values):
    """Mean and 95% t-interval over seeds: mean +- t_{0.975,n-1} * sd / sqrt(n), sd with n - 1.
    -> dict(n, mean, sd, half, lo, hi); half is nan for one value (no spread to go on)."""
    x = np.asarray(values, dtype=float)
    n, mean = len(x), float(np.mean(x))
    sd = float(np.std(x, ddof=1)) if n > 1 else float("nan")
    half = T975.get(n - 1, 1.96) * sd / math.sqrt(n) if n > 1 else float("nan")
    return dict(n=n, mean=mean, sd=sd, half=half, lo=mean - half, hi=mean + half)


def load(folder, name):
    """experiments/results/<name>.json as a dict, or None when that benchmark has not been run."""
    path = os.path.join(folder, f"{name}.json")
    if not os.path.isfile(path):
        return None
    with open(path) as f:
        try:
            return json.load(f)
        except json.JSONDecodeError as e:  # a cut-off copy, a merge conflict: one line, no trace
            sys.exit(f"error: {path} is not valid JSON ({e}): restore it (git checkout -- {path}) "
                     "or rerun the command that wrote it")


def regimes(folder, set_seed=0):
    """{regime: its results file's name}: grid.py writes regime a to accuracy.json, regime r to
    accuracy_r.json, a grid at another budget than its regime's to accuracy_r_<N>epochs.json
    (key 'r_<N>epochs'), and a grid on a tuning set (--set-seed N) to setN_accuracy*.json."""
    start = "accuracy" if set_seed == 0 else f"set{set_seed}_accuracy"
    names = sorted(f[:-5] for f in os.listdir(folder) if f.startswith(start)
                   and f.endswith(".json")) if os.path.isdir(folder) else []
    return {(n[len(start):].split("_", 1) + ["a"])[1]: n for n in names}


def letter(regime):
    """'a' of regimes()'s key 'a_10epochs' (the regime, without its budget)."""
    return regime.split("_")[0]


def regime_label(regime):
    """'a' of 'a_10epochs' (its budget is a column of its own), 'a_twin10' of 'a_twin10'."""
    return regime[:regime.rindex("_")] if regime.endswith("epochs") else regime


def budget_first(regime, epochs):
    """Sort key of the summary, paired.png and accuracy.png: the regimes at their own budget
    (30 epochs) first, then the grids at fewer epochs, each by regime letter."""
    return -epochs, letter(regime)


def paired(result, fraction, first, second):
    """`first` minus `second`, video accuracy, seed by seed over the seeds both ran at
    `fraction`: each seed has its own teacher, split and clips, which the difference removes.
    -> dict(diffs, leads = seeds where first is ahead, and interval()'s keys)."""
    acc = {(r["name"], r["seed"]): r["video_acc"] for r in result["runs"]
           if r["fraction"] == fraction}
    diffs = [acc[first, s] - acc[second, s] for n, s in sorted(acc, key=lambda k: k[1])
             if n == first and (second, s) in acc]
    return dict(diffs=diffs, leads=sum(d > 0 for d in diffs), **interval(diffs))


def paired_rows(folder):
    """The summary table: per regime and label fraction, SKD against the best other student by
    mean over the seeds it ran (the one grid.py chose and wrote under "paired"); the regimes'
    budgets (30 epochs) first, then the grids at fewer epochs."""
    rows = []
    for regime, name in regimes(folder).items():
        result = load(folder, name) or {}
        for fraction, p in (result.get("paired") or {}).items():
            f = float(fraction)
            means = {r["name"]: r["video_acc"] for r in result["rows"] if r["fraction"] == f}
            if p:
                rows.append(dict(regime=regime, fraction=f, best=p["best"], skd=means["skd"],
                                 epochs=result["args"]["epochs"], teacher=means.get("teacher"),
                                 alone=means.get("alone"),
                                 other=means[p["best"]], **paired(result, f, "skd", p["best"])))
    return sorted(rows, key=lambda r: (*budget_first(r["regime"], r["epochs"]), r["fraction"]))


def ablation_rows(folder):
    """SKD's defaults minus each ablation (same seeds, same assistant), per regime."""
    rows = []
    for regime, name in regimes(folder).items():
        result = load(folder, name)
        f = result and result["args"]["ablation_fraction"]
        for variant in dict.fromkeys(r["name"] for r in (result or {}).get("rows", [])
                                     if r["kind"] == "ablation"):
            rows.append(dict(regime=regime, fraction=f, variant=variant,
                             epochs=result["args"]["epochs"], **paired(result, f, "skd", variant)))
    return rows


def _ci(r):
    """'+0.012 [-0.004, +0.028]' from interval()'s keys; ' (excludes 0)' where it does."""
    if r["n"] < 2:
        return f"{r['mean']:+.3f} (one seed: no interval)"
    return (f"{r['mean']:+.3f} [{r['lo']:+.3f}, {r['hi']:+.3f}]"
            + ("" if r["lo"] <= 0 <= r["hi"] else " (excludes 0)"))


def summary_table(folder):
    """The README's results table and the report's ablation table (Markdown), every number
    from the per-seed runs in experiments/results/accuracy*.json."""
    def mean(x):
        return "-" if x is None else f"{x:.3f}"

    lines = ["| regime | epochs | labels | seeds | teacher | student alone | SKD | best other | "
             "SKD - best, 95% CI | SKD ahead on |", "|---|---|---|---|---|---|---|---|---|---|"]
    lines += [f"| {regime_label(r['regime'])} | {r['epochs']} | {r['fraction']:.0%} | {r['n']} | "
              f"{mean(r['teacher'])} | {mean(r['alone'])} | {r['skd']:.3f} | {r['best']} "
              f"{r['other']:.3f} | {_ci(r)} | {r['leads']} of {r['n']} |"
              for r in paired_rows(folder)]
    lines += ["", "| regime | epochs | labels | seeds | SKD minus | 95% CI | SKD ahead on |",
              "|---|---|---|---|---|---|---|"]
    lines += [f"| {regime_label(r['regime'])} | {r['epochs']} | {r['fraction']:.0%} | {r['n']} | "
              f"{r['variant']} | {_ci(r)} | {r['leads']} of {r['n']} |" for r in ablation_rows(folder)]
    return "\n".join(lines)


def calibration_table(result):
    """Can a regime tell distillers apart? Per label fraction and seed, the teacher, the KD
    assistant, the student alone, `pseudo` and KD (Markdown), then the gaps that bind (teacher -
    alone, teacher - KD) with their paired 95% intervals."""
    names = ["teacher", "assistant (kd)", "alone", "pseudo", "kd"]
    acc = {(r["name"], r["fraction"], r["seed"]): r["video_acc"] for r in result["runs"]}
    fractions = sorted({f for _, f, _ in acc})
    lines = ["| labels | seed | " + " | ".join(names) + " |", "|---|---|" + "---|" * len(names)]
    for f in fractions:
        for s in sorted({s for n, g, s in acc if g == f}):
            lines.append(f"| {f:.0%} | {s} | " + " | ".join(
                f"{acc[n, f, s]:.3f}" if (n, f, s) in acc else "-" for n in names) + " |")
    lines += ["", "| labels | gap | seeds | mean, 95% CI |", "|---|---|---|---|"]
    for f in fractions:
        for first, second in (("teacher", "alone"), ("teacher", "kd"), ("kd", "alone")):
            if any(n == first and g == f and (second, f, s) in acc for n, g, s in acc):
                p = paired(result, f, first, second)
                lines.append(f"| {f:.0%} | {first} - {second} | {p['n']} | {_ci(p)} |")
    return "\n".join(lines)


def moved_table(new, old, fraction=0.2):
    """How far each row of grid `new` moved from the same row of grid `old` (e.g. a regime
    rerun on a later recipe), paired by seed over the seeds both ran (Markdown)."""
    def acc(result):
        return {(r["name"], r["seed"]): r["video_acc"] for r in result["runs"]
                if r["fraction"] == fraction}
    an, ao = acc(new), acc(old)
    lines = ["| row | seeds | now | before (the same seeds) | moved, 95% CI |",
             "|---|---|---|---|---|"]
    for name in dict.fromkeys(n for n, _ in an):
        seeds = sorted(s for n, s in an if n == name)
        both = [s for s in seeds if (name, s) in ao]
        now = f"{np.mean([an[name, s] for s in seeds]):.3f}"
        if both:
            moved = interval([an[name, s] - ao[name, s] for s in both])
            lines.append(f"| {name} | {len(seeds)} | {now} | "
                         f"{np.mean([ao[name, s] for s in both]):.3f} | {_ci(moved)} |")
        else:
            lines.append(f"| {name} | {len(seeds)} | {now} | - | - |")
    return "\n".join(lines)


NO_CASCADE = "skd --no-cascade"  # the sweep's SKD variant without the assistant (Sec. 4)


def sweep_rows(folder, regime="d"):
    """The capacity sweep (sweep_<regime>_<student>.json): per student, its GFLOPs against the
    teacher's and, per method, its mean video accuracy and its gain over the student alone,
    paired by seed -> [dict(student, ratio, method, mean, gain=interval())], by ratio; SKD's
    row also has cascade = SKD minus NO_CASCADE, paired by seed, where the sweep ran it."""
    rows = []
    names = sorted(f[:-5] for f in os.listdir(folder) if f.startswith(f"sweep_{regime}_")
                   and f.endswith(".json")) if os.path.isdir(folder) else []
    for name in names:
        result = load(folder, name)
        fraction = result["args"]["ablation_fraction"]
        teacher = next(r for r in result["rows"] if r["name"] == "teacher")
        for r in result["rows"]:
            if r["fraction"] == fraction and r["kind"] in ("method", "tuned", "variant"):
                rows.append(dict(student=r["arch"], ratio=teacher["gflops"] / r["gflops"],
                                 method=r["name"], fraction=fraction, mean=r["video_acc"],
                                 gain=paired(result, fraction, r["name"], "alone")))
                if r["name"] == "skd" and any(o["name"] == NO_CASCADE for o in result["rows"]):
                    rows[-1]["cascade"] = paired(result, fraction, "skd", NO_CASCADE)
    return sorted(rows, key=lambda r: r["ratio"])


def sweep_table(folder, regime="d"):
    """sweep_rows as Markdown: accuracy and the gain over the student alone, 95% CI; then SKD
    minus SKD without the cascade, per student, where the sweep ran that variant."""
    rows = sweep_rows(folder, regime)
    if not rows:
        return f"no sweep_{regime}_*.json in {folder}: python -m experiments.grid accuracy " \
               f"--regime {regime} --cascade ... writes one per student"
    lines = ["| student | teacher / student GFLOPs | method | video acc | gain over alone, 95% CI |",
             "|---|---|---|---|---|"]
    lines += [f"| {r['student']} | {r['ratio']:.0f} | {r['method']} | {r['mean']:.3f} | "
              f"{_ci(r['gain']) if r['method'] != 'alone' else '-'} |" for r in rows]
    # The paper's claim, per ratio: SKD minus the same losses without the assistant, which
    # should grow with the ratio if the cascade is what bridges the gap.
    cascade = [r for r in rows if "cascade" in r]
    if cascade:
        lines += ["", f"| student | teacher / student GFLOPs | SKD - {NO_CASCADE}, 95% CI | "
                      "SKD ahead on |", "|---|---|---|---|"]
        lines += [f"| {r['student']} | {r['ratio']:.0f} | {_ci(r['cascade'])} | "
                  f"{r['cascade']['leads']} of {len(r['cascade']['diffs'])} |" for r in cascade]
    return "\n".join(lines)


def versus_table(folder, regime=None, set_seed=0):
    """SKD minus every other student (paper and tuned rows, and SKD's variants), paired by seed,
    per regime and label fraction, best mean first (Markdown): the summary keeps the best one
    only, which can hide a close second, and a row with more seeds than the others
    (--headline-seeds)."""
    found = regimes(folder, set_seed)
    if regime is not None and regime not in found:
        sys.exit(f"error: --regime {regime}: no such results file in {folder}; there are: "
                 + (", ".join(found) or "none"))
    lines = ["| regime | labels | other student | its mean | seeds | SKD - it, 95% CI | "
             "SKD ahead on |", "|---|---|---|---|---|---|---|"]
    for r, name in found.items():
        result = load(folder, name)
        if regime not in (None, r) or not result:
            continue
        for f in sorted({x["fraction"] for x in result["rows"]}):
            others = sorted((x for x in result["rows"] if x["fraction"] == f and x["name"] != "skd"
                             and x["kind"] in ("method", "tuned", "variant", "link")),
                            key=lambda x: -x["video_acc"])
            for x in others:
                p = paired(result, f, "skd", x["name"])
                if p["n"]:
                    lines.append(f"| {r} | {f:.0%} | {x['name']} | {x['video_acc']:.3f} | "
                                 f"{p['n']} | {_ci(p)} | {p['leads']} of {p['n']} |")
    return "\n".join(lines)


def per_method(result):
    """{(name, fraction): the interval of its per-seed video accuracy} from grid.py's runs."""
    seeds = {}
    for r in result["runs"]:
        seeds.setdefault((r["name"], r["fraction"]), []).append(r["video_acc"])
    return {key: interval(v) for key, v in seeds.items()}


def shown_methods(result):
    """The students of the accuracy figure: each baseline once, with its tuned weight where
    tuning chose one (the fair comparison), then SKD and the teacher."""
    names = dict.fromkeys(r["name"] for r in result["rows"] if r["kind"] in ("method", "tuned"))
    shown = [n + " (tuned)" if n + " (tuned)" in names else n for n in names
             if not n.endswith(" (tuned)") and n != "skd"]
    return shown + ["skd"] * ("skd" in names) + ["teacher"]
