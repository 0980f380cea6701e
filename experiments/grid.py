"""The accuracy grid behind the README's results table: every method and SKD ablation, trained
by the real train.py on the simulated set, over label fractions and seeds, with the baselines
tuned on a separate tuning set and a cache that reuses a finished run only for the same key.

    python -m experiments.grid tune      # each baseline's weight, SKD's defaults: on a tuning set
    python -m experiments.grid accuracy  # every method (paper and tuned weights) and SKD ablation
    python -m experiments.grid accuracy --quick  # 1 seed, 20% labels, 2 x 10 steps: a smoke test

METHOD.md Sec. 7 (the baselines) and Sec. 8 (clip and video accuracy). Results go to
experiments/results/tuning.json, experiments/results/accuracy.json (every run with its key and
every model's accuracy; regimes b and c: tuning_<regime>.json, accuracy_<regime>.json; at other
--epochs than the regime's: tuning_<regime>_<N>epochs.json, which `accuracy` at N epochs reads, and
accuracy_<regime>_<N>epochs.json; a grid on the tuning set: set1_accuracy*.json) and the Markdown
tables printed at the end; runs live in experiments/results/runs/ (not kept in git). `accuracy`
then redraws the report's figures (plots.py).
"""
import sys

if __name__ == "__main__" and not __package__:  # run as a file, not as the package's module
    sys.exit("error: run the lab from the repository's root as: python -m experiments.grid")

import argparse
import contextlib
import json
import multiprocessing
import os
import signal
import time

import numpy as np
import torch

import data
import train
from cascade import METHODS
from config import key_differences, parse_args, run_key

from experiments import RESULTS, plots, save_result, tables
from experiments.regimes import BENCH, EXTRA_TEST, REGIMES, regime_cascade

ABLATIONS = {"joint schedule": ["--joint"], "no correlation (Eq. C)": ["--no-corr"],
             "no distribution loss (Eq. D)": ["--no-fdist"], "no cascade": ["--no-cascade"],
             "no pseudo-labels": ["--no-pseudo"], "hybrid paths on": ["--hybrid"]}


def _mean_std(values):
    return (float(np.mean(values)), float(np.std(values))) if values else (float("nan"),) * 2


# -- the run cache. A run folder is reused (or resumed) only when everything that made its results
# is what is asked for now: run_key.json in the folder holds every train.py setting (defaults
# filled in), the content hash of every weight file the run loads, the simulated set's generator
# parameters and the hash of every module train.py runs (its code, not its comments). A folder
# made otherwise is set aside (renamed, never deleted), the differences are printed, and the run
# starts again.
def cached_run(out, flags):
    """train.main into `out`, unless a run with the same key finished there (then its summary is
    reused; an interrupted one is resumed). Returns the summary, with the run's key hash."""
    key = run_key(parse_args(flags + ["--out", os.devnull]))  # parsed as train.py does
    key_path = os.path.join(out, "run_key.json")
    saved = None
    if os.path.isfile(key_path):
        with open(key_path) as f:
            saved = json.load(f)
    if os.path.isdir(out) and os.listdir(out) and saved != key:
        n = 1
        while os.path.exists(f"{out}.stale{n}"):
            n += 1
        os.rename(out, f"{out}.stale{n}")
        why = (", ".join(key_differences(saved, key)[:6]) if saved else "no run_key.json")
        print(f"{out} was made by another configuration ({why}): set aside as {out}.stale{n}, "
              "training again", flush=True)
    if not os.path.isfile(os.path.join(out, "summary.json")):
        os.makedirs(out, exist_ok=True)
        with open(key_path, "w") as f:
            json.dump(key, f, indent=1)
        again = ["--resume"] if os.path.isfile(os.path.join(out, "checkpoint.pt")) else []
        train.main(flags + again + ["--out", out])
    with open(os.path.join(out, "summary.json")) as f:
        return dict(json.load(f), run_key=key["hash"])


# Every baseline gets the tuning budget SKD's phase shares had: its main weight over a small grid
# around its paper's value (the second entry of each list), at 20% labels, 2 seeds, on the tuning
# set (--set-seed 1), never on the reported one. `python -m experiments.grid tune` writes the best
# setting of each to experiments/results/tuning.json; `accuracy` adds a "<method> (tuned)" row for
# each.
def tuning_grid(method):
    """The settings `tune` tries for a method: its table entry's (cascade.METHODS), the paper's
    value second; [] for a method with nothing to tune."""
    return [list(flags) for flags in METHODS[method].tune]


def _jobs(args, fraction, tuned=None, lean=False):
    """(name, kind, train.py flags) of every student run at one label fraction; `tuned` maps a
    method to its best flags from experiments/results/tuning.json (a "(tuned)" row where they
    differ; `lean`: in place of the paper's row)."""
    moved = {m: flags for m, flags in (tuned or {}).items()
             if m in args.methods and flags not in ([], tuning_grid(m)[1])}  # the paper's: same run
    jobs = [(m, "method", ["--method", m]) for m in args.methods if not (lean and m in moved)]
    jobs += [(f"{m} (tuned)", "tuned", ["--method", m] + flags) for m, flags in moved.items()]
    if fraction == args.ablation_fraction and not args.no_ablations:
        jobs += [(f"skd, {n}", "ablation", ["--method", "skd"] + flags)
                 for n, flags in ABLATIONS.items()]
    # a candidate default of SKD: its flags apply to both links, the assistant's and the student's
    jobs += [(f"skd {v}", "variant", ["--method", "skd"] + v.split()) for v in args.skd_variant]
    # a variant of the student link alone: the same teacher and SKD assistant as SKD's own row
    jobs += [(f"skd {v} (student link)", "link", ["--method", "skd"] + v.split())
             for v in args.link_variant]
    return jobs


def _accuracy_groups(args, tuned):
    """[(fraction, seed, jobs)] of `accuracy`: --seeds seeds per fraction, --headline-seeds at
    the headline one, where seeds from --seeds on train --headline-methods only (if given).
    --tuned-only drops the paper's row of a tuned baseline everywhere but in the full table
    (the headline fraction's first --seeds seeds)."""
    groups = []
    for f in args.fractions:
        headline = f == args.ablation_fraction
        for s in range(args.first_seed, args.first_seed + (args.headline_seeds if headline
                                                           else args.seeds)):
            full = headline and s < args.seeds
            jobs = _jobs(args, f, tuned, lean=args.tuned_only and not full)
            if headline and s >= args.seeds and args.headline_methods:  # the extra seeds
                jobs = [j for j in jobs if j[2][1] in args.headline_methods]
            groups.append((f, s, jobs))
    return groups


def _slug(name):
    """A run's folder name from its row name: 'skd, no cascade' -> 'skd_no-cascade'."""
    return (name.replace(", ", "_").replace(" (", "_").replace(")", "").replace(" --", "_")
            .replace(" ", "-").replace(",", "-"))


# SKD's own defaults, checked on each regime's tuning set with the same budget: its phase shares
# (the first entry: the default), the staged schedule and the cascade, the feature weight, the
# hybrid paths and the pseudo-labels (both did better than the default in the 20% grid), the
# last phase without its KD term (better at 100% labels on the reported set's worst seed), and
# other students: the 3D student of 1/6.3 of the teacher's GFLOPs (the default before the
# efficiency goal of 1/8 or less; the default, an R(2+1)D, is 1/8.4) and a thinner 3D one (1/9.6).
SKD_CHECKS = [[], ["--phase-shares", "1,1,1,1,1"], ["--phase-shares", "1,1,1,1,12"], ["--joint"],
              ["--no-cascade"], ["--lambda-feat", "0.3"], ["--hybrid"], ["--no-pseudo"],
              ["--lambda-kd", "0"],
              ["--cascade", "r3d18_w0.25,r3d10_w0.25,r3d10_w0.125"],
              ["--cascade", "r3d18_w0.25,r3d10_w0.25,r3d10_w0.1"]]


def _tune_jobs(args):
    jobs = [(" ".join([m] + flags), "tuning", ["--method", m] + flags)
            for m in args.methods for flags in tuning_grid(m)]
    if "skd" in args.methods:
        jobs += [(" ".join(["skd"] + flags), "skd check", ["--method", "skd"] + flags)
                 for flags in SKD_CHECKS]
    return jobs


def _common(root, args):
    flags = ["--data-root", root, "--workers", "0", "--log-every", "120", "--cascade", args.cascade]
    flags += REGIMES[args.regime]["train"]  # the regime's recipe (a, b: the simulated set's own)
    if args.max_steps_per_epoch:
        flags += ["--max-steps-per-epoch", str(args.max_steps_per_epoch)]
    return flags


def group_folder(args, root, fraction, seed):
    """-> (runs/<set>/p<fraction>_s<seed>, where the group's teacher trains; the folder of its
    other runs): the same, or for a cascade other than the regime's (the capacity sweep) a
    folder per student below it, or each student's runs would set the last one's aside under
    the same names. The teacher is the same for every student, so the sweep shares it."""
    group = os.path.join(RESULTS, "runs", os.path.basename(root), f"p{fraction:g}_s{seed}")
    if args.cascade != regime_cascade(args.regime):
        return group, os.path.join(group, args.cascade.split(",")[-1])
    return group, group


def _group(args, root, pretrained, fraction, seed, threads, jobs):
    """Teacher, the assistants and every student run in `jobs` of one (label fraction, seed).

    Runs in a worker process of its own, with `threads` torch threads and its output in log.txt
    beside the runs (train.py prints progress lines that would interleave)."""
    torch.set_num_threads(threads)
    shared, folder = group_folder(args, root, fraction, seed)
    os.makedirs(folder, exist_ok=True)
    teacher_arch, assistant_arch, _ = args.cascade.split(",")
    common = _common(root, args) + ["--label-fraction", str(fraction), "--seed", str(seed)]
    short = ["--epochs", str(args.epochs), "--eval-every", str(args.epochs)]  # evaluate once
    runs = []
    with open(os.path.join(folder, "log.txt"), "a") as log, \
            contextlib.redirect_stdout(log), contextlib.redirect_stderr(log):
        def record(name, kind, summary):
            m = summary["models"][-1]  # the model this run trained
            runs.append(dict(name=name, kind=kind, fraction=fraction, seed=seed, arch=m["arch"],
                             gflops=m["gflops"], video_acc=m["video_acc"], clip_acc=m["clip_acc"],
                             seconds=summary["wall_seconds"], run_key=summary["run_key"],
                             models=[{k: r[k] for k in ("role", "arch", "video_acc", "clip_acc")}
                                     for r in summary["models"]]))  # loaded ones included

        teacher = os.path.join(shared, "teacher", f"model0_{teacher_arch}.pt")
        record("teacher", "cascade", cached_run(os.path.dirname(teacher), common + [
            "--method", "alone", "--cascade", teacher_arch, "--teacher-weights", pretrained,
            "--teacher-epochs", str(args.teacher_epochs), "--eval-every", "1000"]))  # eval once
        # a cascade method's assistant, distilled from the teacher with the method (or with the
        # one whose assistant it shares: TAKD's is KD's), trained once and only when used
        assistants = {}  # method -> its assistant's weights
        used = {flags[1] for _, _, flags in jobs}
        for user in (m for m in METHODS if m in used and METHODS[m].cascade):  # table order
            method = METHODS[user].assistant or user
            if method in assistants:
                continue
            assistants[method] = os.path.join(folder, f"assistant_{method}",
                                              f"model1_{assistant_arch}.pt")
            record(f"assistant ({method})", "cascade", cached_run(os.path.dirname(
                assistants[method]), common + short + ["--method", method, "--cascade",
                                                       f"{teacher_arch},{assistant_arch}",
                                                       "--teacher-weights", teacher]))
        for name, kind, flags in jobs:
            out = os.path.join(folder, _slug(name))
            through = METHODS[flags[1]].cascade and "--no-cascade" not in flags
            weights = teacher
            if kind == "variant" and through:  # its own assistant, trained with its flags
                assistant = os.path.join(folder, "assistant_" + _slug(name),
                                         f"model1_{assistant_arch}.pt")
                record(f"assistant ({name})", "cascade", cached_run(os.path.dirname(assistant),
                       common + short + flags + ["--cascade", f"{teacher_arch},{assistant_arch}",
                                                 "--teacher-weights", teacher]))
                weights += "," + assistant
            elif through:  # the method's assistant (SKD's ablations: SKD's own)
                weights += "," + assistants[METHODS[flags[1]].assistant or flags[1]]
            flags = common + short + flags + (["--teacher-weights", weights]
                                              if METHODS[flags[1]].teacher else [])
            record(name, kind, cached_run(out, flags))
    return runs


def _group_star(job):
    return _group(*job)


def _prepare(args):
    """The simulated set of --regime and --set-seed, and the teacher's backbone pretrained on its
    twin of the other motions, exactly as `python train.py` does it (train.pretrained_teacher,
    cached under its run key in runs/) -> (root, backbone weights)."""
    name = "synthetic_bench" + ("" if args.regime == "a" else f"_{args.regime}")
    extra = "" if not args.extra_test else f"_t{args.extra_test}"
    root = os.path.join("data", f"{name}_v{args.videos_per_class}_s{args.set_seed}{extra}")
    data.ensure_synthetic(root, **{**dict(classes=BENCH["classes"],
                                          difficulty=BENCH["difficulty"]),
                                   **REGIMES[args.regime]["generator"],
                                   **dict(seed=args.set_seed, extra_test=args.extra_test,
                                          videos_per_class=args.videos_per_class)})
    a = parse_args(_common(root, args) + ["--pretrain-epochs", str(args.pretrain_epochs),
                                          "--out", os.devnull])
    return root, train.pretrained_teacher(a)


def _run_groups(args, root, backbone, groups, t0):
    """Run [(fraction, seed, jobs)] in --jobs worker processes -> every run's record."""
    groups = sorted(groups, key=lambda g: -len(g[2]))  # the longest first
    # The threads torch was given (OMP_NUM_THREADS, else the cores), shared out among the jobs.
    # Not os.cpu_count(): tiny convolutions on more threads than the machine has free spin in
    # OpenMP barriers (a --quick grid took 5.5x the CPU time and 3x the wall time with 2 threads
    # instead of the 1 asked for, on a busy 2-core machine).
    threads = max(1, torch.get_num_threads() // args.jobs)
    runs = []
    if args.jobs == 1:
        for f, s, jobs in groups:
            runs += _group(args, root, backbone, f, s, threads, jobs)
        return runs
    # a Pool, not a ProcessPoolExecutor: leaving the `with` block on any exception (Ctrl-C, or
    # SIGTERM turned into SystemExit below) terminates the workers instead of orphaning them
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(
        "error: python -m experiments.grid: terminated (finished runs are kept: run it again)"))
    work = [(args, root, backbone, f, s, threads, jobs) for f, s, jobs in groups]
    with multiprocessing.get_context("spawn").Pool(args.jobs, maxtasksperchild=1) as pool:
        for group in pool.imap_unordered(_group_star, work):
            runs += group
            print(f"labels {group[0]['fraction']:g}, seed {group[0]['seed']}: done after "
                  f"{(time.time() - t0) / 60:.1f} min", flush=True)
    return runs


def bench_tune(args):
    """Each baseline's main weight over its tuning_grid, 20% labels, seeds 0..1 of --set-seed 1."""
    t0 = time.time()
    root, backbone = _prepare(args)
    runs = _run_groups(args, root, backbone,
                       [(0.2, s, _tune_jobs(args)) for s in range(args.first_seed,
                                                                  args.first_seed + args.seeds)], t0)
    rows, best = [], {}
    grids = {**{m: tuning_grid(m) for m in args.methods if tuning_grid(m)},
             **({"skd": SKD_CHECKS} if "skd" in args.methods else {})}
    for m, settings in grids.items():
        for flags in settings:
            rs = sorted((r for r in runs if r["name"] == " ".join([m] + flags)),
                        key=lambda r: r["seed"])  # per_seed in seed order, whichever ran first
            (acc, std), gflops = _mean_std([r["video_acc"] for r in rs]), rs[0]["gflops"]
            default = settings[0] if m == "skd" else settings[1]  # SKD's, or the paper's value
            rows.append(dict(method=m, flags=flags, default=flags == default,
                             video_acc=acc, video_std=std, seeds=len(rs), gflops=gflops,
                             per_seed=[r["video_acc"] for r in rs],
                             run_keys=[r["run_key"] for r in rs]))
        mine = [r for r in rows if r["method"] == m]
        if m != "skd":  # ties go to the paper's value, then to the earlier entry of the grid
            best[m] = max(mine, key=lambda r: (round(r["video_acc"], 6), r["default"]))["flags"]
    teacher = _mean_std([r["video_acc"] for r in runs if r["name"] == "teacher"])[0]
    print(f"\nTuning: student video accuracy, 20% labels, mean +- std over {args.seeds} seeds of "
          f"simulated set {args.set_seed}, regime {args.regime} (teacher {teacher:.3f})\n"
          "| method | setting | video acc | GFLOPs | |\n|---|---|---|---|---|")
    for r in rows:
        mark = ("default" if r["default"] else "") + (
            " chosen" if r["flags"] == best.get(r["method"]) else "")
        print(f"| {r['method']} | {' '.join(r['flags'])} | {r['video_acc']:.3f} +- "
              f"{r['video_std']:.3f} | {r['gflops']:.4f} | {mark.strip()} |")
    save_result(_tuning_name(args), dict(
        rows=rows, best=best, teacher=teacher, regime=args.regime, set_seed=args.set_seed,
        seeds=args.seeds, minutes=(time.time() - t0) / 60, bench=BENCH, args=vars(args)))


def _tuned_weights(args):
    """{method: its tuned flags} from --tuning ("none": no tuned rows), after checking that it
    fits: the same regime, the same epochs (unless --quick, a smoke test), and another set than
    this one unless --check-on-tuning-set says this is the tuning set on purpose (to compare
    orderings at another budget, never to report). A missing file is an error: a typo must not
    turn a report's tuned rows off."""
    if args.tuning == "none":
        return {}
    tune = f"python -m experiments.grid tune --regime {args.regime} --epochs {args.epochs}"
    if not os.path.isfile(args.tuning):
        sys.exit(f"error: --tuning {args.tuning}: no such file; write it with `{tune}`, or pass "
                 "--tuning none for the paper's weights only")
    with open(args.tuning) as f:
        tuning = json.load(f)
    if tuning["set_seed"] == args.set_seed and not args.check_on_tuning_set:
        sys.exit(f"error: {args.tuning} was tuned on --set-seed {args.set_seed}, the set "
                 "this grid would report: tuned weights are only reported on another set; pass "
                 "--check-on-tuning-set to compare orderings on the tuning set itself")
    if tuning["regime"] != args.regime:
        sys.exit(f"error: {args.tuning} was tuned on regime {tuning['regime']}, this is "
                 f"regime {args.regime}: pass --tuning "
                 f"experiments/results/{_tuning_name(args)}.json")
    tuned_epochs = tuning["args"]["epochs"]
    if tuned_epochs != args.epochs and not (args.check_on_tuning_set or args.quick):
        sys.exit(f"error: {args.tuning} was tuned at {tuned_epochs} epochs, this grid trains "
                 f"{args.epochs}: tune again with `{tune}`, or pass --epochs {tuned_epochs}")
    return tuning["best"]


def _results_name(stem, args):
    """experiments/results/<name>.json of a grid: <stem> for regime a at its own budget,
    <stem>_<regime> for the others, and <stem>_<regime>_<N>epochs at another number of epochs
    than the regime's (--quick, a smoke test, excepted), so that no grid replaces another
    budget's file."""
    other = args.epochs != REGIMES[args.regime]["epochs"] and not args.quick
    return stem + ("" if args.regime == "a" and not other else f"_{args.regime}") + (
        f"_{args.epochs}epochs" if other else "")


def _tuning_name(args):
    """The tuning's file: tuning.json, tuning_<regime>.json, or tuning_<regime>_<N>epochs.json,
    which `accuracy` at that budget reads."""
    return _results_name("tuning", args)


def _accuracy_file(args):
    """An accuracy grid's file, named as the tuning's; a grid on another set (the tuning set)
    writes set<seed>_accuracy*.json. None replaces a report of another budget or set; plots.py
    draws the tuning sets' only when asked (plots.py versus --set-seed)."""
    name = _results_name("accuracy", args)
    if getattr(args, "tag", None):  # a grid of its own beside the regime's: accuracy_<r>_<tag>
        name = (f"accuracy_{args.regime}_{args.tag}"
                + ("_" + name.split("_")[-1] if name.endswith("epochs") else ""))
    if getattr(args, "sweep", False):  # a --cascade of the capacity sweep: a file per student
        name = f"sweep_{args.regime}_{args.cascade.split(',')[-1]}"
    return name if args.set_seed == 0 else f"set{args.set_seed}_{name}"


def bench_accuracy(args):
    """Every --method (paper weights, and tuned where experiments/results/tuning.json chose
    otherwise), then
    SKD with each part removed, with the same budget, data and labels.

    Per seed and label fraction, the teacher is fine-tuned once (cross-entropy on D_L) and each
    assistant trained once from it: by KD (TAKD's teacher assistant) and by SKD (SKD's first link,
    shared by SKD's ablations, which thus change the last link only); every method loads them with
    --teacher-weights, so the tables compare the distillation into the last link only.
    The (fraction, seed) groups run in --jobs processes of 2 / jobs threads each (small models use
    two single-threaded processes better than one two-threaded one). Each run is the real
    train.py; its folder is experiments/results/runs/<simulated set>/p<fraction>_s<seed>/<name>.
    """
    t0 = time.time()
    tuned = _tuned_weights(args)
    root, backbone = _prepare(args)
    runs = _run_groups(args, root, backbone, _accuracy_groups(args, tuned), t0)
    rows = []
    for name in dict.fromkeys(r["name"] for r in runs):
        for fraction in args.fractions:
            rs = [r for r in runs if r["name"] == name and r["fraction"] == fraction]
            if rs:
                (va, vs), (ca, cs) = (_mean_std([r[k] for r in rs])
                                      for k in ("video_acc", "clip_acc"))
                rows.append(dict(name=name, kind=rs[0]["kind"], fraction=fraction, seeds=len(rs),
                                 arch=rs[0]["arch"], gflops=rs[0]["gflops"], video_acc=va,
                                 video_std=vs, clip_acc=ca, clip_std=cs,
                                 minutes=_mean_std([r["seconds"] / 60 for r in rs])[0]))

    def cell(r, key):
        return f"{r[key]:.3f} +- {r[key.replace('acc', 'std')]:.3f}" if r else "-"

    fractions = [f"{f:g}" for f in args.fractions]
    for key, what in (("video_acc", "video"), ("clip_acc", "clip")):
        seeds = ", ".join(f"{f:g}: " + str(args.headline_seeds if f == args.ablation_fraction
                                            else args.seeds) for f in args.fractions)
        print(f"\nStudent {what} accuracy (teacher and assistants: their own), mean +- std over "
              f"seeds (label fraction: seeds {seeds}); columns: label fraction\n| method | "
              + " | ".join(fractions) + " | min / run |\n|---|" + "---|" * (len(fractions) + 1))
        for name in dict.fromkeys(r["name"] for r in rows if r["kind"] != "ablation"):
            mine = {r["fraction"]: r for r in rows if r["name"] == name}
            cells = [cell(mine.get(f), key) for f in args.fractions]
            minutes = np.mean([r["minutes"] for r in mine.values()])
            print(f"| {name} | " + " | ".join(cells) + f" | {minutes:.2f} |")
    print(f"\nSKD with one part removed (or added), {args.ablation_fraction:g} of the labels\n"
          "| variant | video acc | clip acc | min / run |\n|---|---|---|---|")
    for r in rows:
        if r["kind"] == "ablation" or (r["name"], r["fraction"]) == ("skd", args.ablation_fraction):
            print(f"| {r['name']} | {cell(r, 'video_acc')} | {cell(r, 'clip_acc')} | "
                  f"{r['minutes']:.2f} |")
    paired = {f"{f:g}": _paired(runs, rows, f) for f in args.fractions}  # per label fraction
    minutes = (time.time() - t0) / 60
    trained = sum(r["seconds"] for r in runs) / 60
    print(f"\nwall time of this call {minutes:.1f} min (finished runs in "
          "experiments/results/runs are reused); "
          f"the {len(runs)} runs took {trained:.0f} process-minutes in all, {args.jobs} at a time")
    save_result(_accuracy_file(args), dict(rows=rows, runs=runs, paired=paired, tuned=tuned,
                                          args=vars(args), bench=BENCH, minutes=minutes,
                                          run_minutes=trained))
    try:  # the report's figures, redrawn from experiments/results/*.json; matplotlib is optional
        print("wrote " + ", ".join(plots.draw_results(RESULTS)))
    except plots.NoMatplotlib as e:
        print(f"no figures: {e}")


def _paired(runs, rows, fraction):
    """SKD against the best other method at `fraction` (by mean video accuracy), seed by seed:
    the same teacher, split and clips, so the per-seed difference removes their variance."""
    means = {r["name"]: r["video_acc"] for r in rows
             if r["fraction"] == fraction and r["kind"] in ("method", "tuned")}
    if "skd" not in means or len(means) < 2:
        return None
    best = max((n for n in means if n != "skd"), key=means.get)
    acc = {(r["name"], r["seed"]): r["video_acc"] for r in runs if r["fraction"] == fraction}
    seeds = sorted(s for n, s in acc if n == "skd" and (best, s) in acc)
    diffs = [acc["skd", s] - acc[best, s] for s in seeds]
    mean, std = _mean_std(diffs)
    ci = tables.interval(diffs)  # the paired 95% t-interval: a claim needs it to exclude zero
    print(f"\nSKD - {best} (the best other method), video accuracy, {fraction:g} of the labels, "
          f"seed by seed: {', '.join(f'{d:+.3f}' for d in diffs)}; mean {mean:+.3f} +- {std:.3f}, "
          f"95% CI [{ci['lo']:+.3f}, {ci['hi']:+.3f}]; SKD leads on "
          f"{sum(d > 0 for d in diffs)} of {len(diffs)} seeds")
    return dict(best=best, seeds=seeds, diffs=diffs, mean=mean, std=std,
                skd_leads=sum(d > 0 for d in diffs))


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m experiments.grid",
                                description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="grid", required=True)
    grid = argparse.ArgumentParser(add_help=False)  # shared by `accuracy` and `tune`
    grid.add_argument("--methods", nargs="+", default=list(METHODS), choices=METHODS)
    grid.add_argument("--epochs", type=int, help="per student/assistant (default: the regime's, "
                      "30 in each; 10: the grid of a and b in the report's appendix)")
    grid.add_argument("--teacher-epochs", type=int,
                      help="fine-tuning of the pretrained teacher on D_L (default: --epochs)")
    grid.add_argument("--pretrain-epochs", type=int, default=BENCH["pretrain_epochs"])
    grid.add_argument("--max-steps-per-epoch", type=int, default=None)
    grid.add_argument("--jobs", type=int, default=2, help="(fraction, seed) groups in parallel")
    grid.add_argument("--videos-per-class", type=int,
                      help="of the simulated set (default: the regime's; %d in a, b, c)"
                      % BENCH["videos_per_class"])
    grid.add_argument("--regime", default="a", choices=sorted(REGIMES),
                      help="a: translation / rotation classes; b: the other six motions; c: the "
                           "real data sets' recipe (SGD, 30 epochs, 8-frame clips) on a harder set; "
                           "d: c's, at half the motion, a teacher pretrained on the same motions "
                           "in another look, a student of 1/33 of its GFLOPs (experiments/"
                           "regimes.py)")
    grid.add_argument("--cascade", help="teacher,assistant,student (default: the regime's); "
                      "given, `accuracy` writes sweep_<regime>_<student>.json (the capacity "
                      "sweep) and reads the regime's tuning")
    grid.add_argument("--first-seed", type=int, default=0,
                      help="seeds first-seed, first-seed + 1, ...: a second call can train other "
                           "seeds of the same grid at the same time (finished runs are reused)")
    grid.add_argument("--skd-variant", action="append", default=[], metavar="FLAGS",
                      help="a candidate default of SKD, e.g. '--phase-epochs 0.5': a row 'skd "
                           "FLAGS' whose assistant is trained with FLAGS too (repeatable; a "
                           "single flag takes '=': --skd-variant=--joint)")
    grid.add_argument("--link-variant", action="append", default=[], metavar="FLAGS",
                      help="a variant of SKD's student link alone, e.g. '--lambda-kd 2': a "
                           "row 'skd FLAGS (student link)' distilled from SKD's own teacher and "
                           "assistant, so that it and SKD differ in that link only (repeatable; "
                           "a single flag takes '=': --link-variant=--no-cascade)")
    grid.add_argument("--quick", action="store_true",
                      help="one seed, 20%% labels, 2 epochs of 10 steps per model: a smoke test")
    a = sub.add_parser("accuracy", parents=[grid],
                       help="every method and SKD ablation, over seeds and fractions")
    a.add_argument("--fractions", type=float, nargs="+", default=[0.1, 0.2, 1.0])
    a.add_argument("--seeds", type=int, default=3, help="seeds at the other fractions")
    a.add_argument("--headline-seeds", type=int, default=5, help="seeds at --ablation-fraction")
    a.add_argument("--headline-methods", nargs="+", choices=METHODS,
                   help="only these methods (paper and tuned rows, and SKD's ablations and "
                        "variants with skd) train the headline seeds from --seeds on, e.g. SKD "
                        "and the two best baselines (default: every method)")
    a.add_argument("--tuned-only", action="store_true",
                   help="outside the full table (--ablation-fraction's first --seeds seeds) a "
                        "baseline whose weight tuning moved trains the tuned weight only, not "
                        "also the paper's: a run less per such baseline at the other fractions "
                        "and the extra headline seeds")
    a.add_argument("--no-ablations", action="store_true", help="no SKD ablation rows")
    a.add_argument("--tag", help="write accuracy_<regime>_<tag>.json, beside the regime's "
                   "own grid (e.g. the same regime on a later recipe); the summary lists it as "
                   "regime <regime>_<tag>")
    a.add_argument("--ablation-fraction", type=float, default=0.2,
                   help="label fraction of the ablation table and of --headline-seeds")
    a.add_argument("--set-seed", type=int, default=0,
                   help="seed of the simulated set reported (tuning used --set-seed 1)")
    a.add_argument("--tuning", help="the tuned baseline settings, written by python -m "
                   "experiments.grid tune (default experiments/results/tuning.json for regime a, "
                   "experiments/results/tuning_<regime>.json "
                   "for the others); none = the paper's weights only")
    a.add_argument("--check-on-tuning-set", action="store_true",
                   help="allow --tuning on the set it was tuned on: to compare the methods' "
                        "ordering at another budget (--epochs) there, never to report")
    a.add_argument("--extra-test", type=int,
                   help="videos per class added to the test split only (default: the regime's "
                        "on a reported set, %d in a, b, c: 6 x (42 + %d) = %d test videos; 0 on "
                        "the tuning set --set-seed 1 and with --quick), the same training videos"
                        % (EXTRA_TEST, EXTRA_TEST, 6 * (42 + EXTRA_TEST)))
    t = sub.add_parser("tune", parents=[grid], help="each baseline's main weight on a tuning set")
    t.add_argument("--seeds", type=int, default=2)
    t.add_argument("--set-seed", type=int, default=1, help="the tuning set: never the reported one")
    args = p.parse_args(argv)
    if args.grid == "tune":
        args.extra_test = 0  # the tuning sets keep the size they were tuned at
    elif args.extra_test is None:  # --quick: a smoke test, not a report
        args.extra_test = (0 if args.set_seed == 1 or args.quick
                           else REGIMES[args.regime].get("extra_test", EXTRA_TEST))
    if args.extra_test < 0:
        p.error(f"--extra-test must be >= 0 (extra test videos per class), got {args.extra_test}")
    if args.epochs is None:
        args.epochs = REGIMES[args.regime]["epochs"]
    if args.videos_per_class is None:
        args.videos_per_class = REGIMES[args.regime]["generator"].get(
            "videos_per_class", BENCH["videos_per_class"])
    args.sweep = args.cascade is not None
    if args.sweep and args.grid == "tune":
        p.error("--cascade is for `accuracy` (the capacity sweep's students); `tune` tunes with "
                "the regime's cascade")
    args.cascade = args.cascade or regime_cascade(args.regime)
    if args.grid == "accuracy" and args.tuning is None:
        args.tuning = f"experiments/results/{_tuning_name(args)}.json"
    if args.teacher_epochs is None:
        args.teacher_epochs = args.epochs
    if args.quick:
        args.fractions, args.seeds, args.headline_seeds, args.max_steps_per_epoch = [0.2], 1, 1, 10
        args.epochs, args.teacher_epochs, args.pretrain_epochs = 2, 2, 2
    {"accuracy": bench_accuracy, "tune": bench_tune}[args.grid](args)


if __name__ == "__main__":
    main()
