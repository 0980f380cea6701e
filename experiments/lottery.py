"""How much of a result is the machine's rounding: `python train.py` under perturbations every
machine can make, and the spread they give.

    python -m experiments.lottery                  # 5 seeds x 1 and 2 threads, + ATen's portable
    python -m experiments.lottery --only default   # the default runs only (and their pretraining)
    python -m experiments.lottery --tag mine -- --lr 1e-3   # the same with extra train.py flags

A perturbation is a seed and a thread count (OMP_NUM_THREADS 1 or 2 changes the order of the sums
inside a convolution, and so its rounding), plus, for seed 0 at the most threads, ATen's kernels
pinned to their portable version (ATEN_CPU_CAPABILITY=default) against the machine's own (AVX-512
or AVX2). Every run is a fresh train.py process with those variables set. Two kinds of run:

  pretrain  the teacher's pretraining on the twin set (train.pretraining_argv) with seed s;
  default   `python train.py --seed s`, whose teacher is pretrained with seed 0, as a user's is.

Each thread count and kernel has a folder of its own (experiments/results/runs/lottery/<tag>/<t1,
t2, ...>) that is the working directory of its runs: the default runs' pretraining, cached in runs/
under a key that holds no thread count, is made once per folder, under that folder's threads and
kernels, and it is also the pretraining run of seed 0.

For every run and every link (the pretraining first) it reports the final video accuracy and the
first epoch whose mean task loss is below 0.9 of chance: 0.9 ln K for the pretraining, 0.9 of
train.py's `task at chance` for a link (ln K on the labels plus mean(c) ln K on the kept
pseudo-labels), counted from the link's first epoch with a task loss (1 = that epoch; for SKD's
links, the start of the last phase). Then each figure's median and range over the seeds x threads.
A recipe that sits on a plateau shows here as a late escape and a wide range. Results:
experiments/results/lottery_<tag>.json (lottery_<tag>_<kind>.json with --only one kind) and
Markdown tables; finished runs are read back, not trained again.
"""
import sys

if __name__ == "__main__" and not __package__:  # run as a file, not as the package's module
    sys.exit("error: run the lab from the repository's root as: python -m experiments.lottery")

import argparse
import json
import math
import os
import statistics
import subprocess
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import train
from config import parse_args

from experiments import save_result

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # the repository's root

CHANCE_SHARE = 0.9  # a task loss below 0.9 of chance has left chance
LINKS = ["pretraining", "teacher", "assistant", "student"]


def configs(threads, portable):
    """{folder name: (threads, extra environment)}: each thread count, then the portable kernels
    at the most threads."""
    out = {f"t{t}": (t, {}) for t in threads}
    if portable:
        out[f"t{max(threads)}_aten-default"] = (max(threads), {"ATEN_CPU_CAPABILITY": "default"})
    return out


def plan(args, base):
    """[(name, kind, seed, config, folder, argv)] of every run, the pretrainings first."""
    root, flags = args.data_root, args.flags
    served = parse_args(["--data-root", root, "--workers", "0", "--out", os.devnull] + flags)
    pre_argv, _ = train.pretraining_argv(served)  # makes both sets now, before the runs start
    jobs = []
    for c in configs(args.threads, args.portable):
        seeds = range(args.seeds) if not c.endswith("aten-default") else [0]
        for s in seeds:
            if "pretrain" in args.only and s > 0:  # seed 0's is the default runs' teacher's
                i = pre_argv.index("--seed")
                argv = pre_argv[:i + 1] + [str(s)] + pre_argv[i + 2:] + ["--out", f"pretrain_s{s}"]
                jobs.append((f"pretrain s{s} {c}", "pretrain", s, c, os.path.join(base, c), argv))
        if "pretrain" in args.only or "default" in args.only:  # seed 0's pretraining, cached
            code = ("import sys; sys.path.insert(0, sys.argv[1]); import train, config; "
                    "train.pretrained_teacher(config.parse_args(sys.argv[2:]))")
            jobs.insert(0, (f"pretrain s0 {c}", "teacher", 0, c, os.path.join(base, c),
                            ["-c", code, REPO, "--data-root", root, "--workers", "0",
                             "--out", os.devnull] + flags))
        if "default" in args.only:
            jobs += [(f"default s{s} {c}", "default", s, c, os.path.join(base, c),
                      [os.path.join(REPO, "train.py"), "--data-root", root, "--seed", str(s),
                       "--workers", "0"] + flags + ["--out", f"default_s{s}"]) for s in seeds]
    return jobs


def run_one(job, env, ready):
    """One python process in its folder, with its threads and kernels; a default run waits for
    its folder's pretraining (`ready`, an Event per folder)."""
    name, kind, _, _, folder, argv = job
    if kind == "default":
        ready.wait()
    out = argv[argv.index("--out") + 1] if kind != "teacher" else None
    done = (pretraining_folder(folder) is not None if kind == "teacher" else
            os.path.isfile(os.path.join(folder, out, "summary.json")))
    if not done:
        os.makedirs(folder, exist_ok=True)
        again = ["--resume"] if out and os.path.isfile(os.path.join(folder, out,
                                                                   "checkpoint.pt")) else []
        script = [os.path.join(REPO, "train.py")] if kind == "pretrain" else []
        t0 = time.time()
        with open(os.path.join(folder, "log.txt"), "a") as log:
            rc = subprocess.call([sys.executable] + script + argv + again, cwd=folder, env=env,
                                 stdout=log, stderr=subprocess.STDOUT)
        print(f"  {name}: {'done' if rc == 0 else f'FAILED (exit {rc}), see {folder}/log.txt'}"
              f" in {time.time() - t0:.0f} s", flush=True)
    if kind == "teacher":
        ready.set()


def pretraining_folder(folder):
    """The finished pretraining cached in a folder's runs/ (its backbone written), or None."""
    runs = os.path.join(folder, "runs")
    found = [os.path.join(runs, d) for d in sorted(os.listdir(runs)) if d.startswith("pretrain_")
             and any(f.startswith("backbone_") for f in os.listdir(os.path.join(runs, d)))] \
        if os.path.isdir(runs) else []
    return found[-1] if found else None


def link_figures(metrics_path):
    """Every link of one run's metrics.jsonl -> [{video_acc, start, escape, task, chance}]: the
    first epoch with a task loss, the first whose mean is below CHANCE_SHARE of chance (counted
    from `start`: 1 = that same epoch; None = never), the epoch means of the task loss and of
    its chance level."""
    links = {}
    with open(metrics_path) as f:
        for line in f:
            m = json.loads(line)
            if m["event"] == "link":
                links[len(links)] = dict(task={}, chance={})
            elif m["event"] == "train" and "task" in m.get("epoch_mean", {}):
                links[m["link"]]["task"][m["epoch"]] = m["epoch_mean"]["task"]
                links[m["link"]]["chance"][m["epoch"]] = m["epoch_mean"]["chance"]
            elif m["event"] == "eval":
                links[m["link"]]["video_acc"] = m["video_acc"]
    out = []
    for link in links.values():
        epochs = sorted(link["task"])
        start = epochs[0] if epochs else None
        escape = next((e - start + 1 for e in epochs
                       if link["task"][e] < CHANCE_SHARE * link["chance"][e]), None)
        out.append(dict(video_acc=link.get("video_acc"), start=start, escape=escape,
                        task=[link["task"][e] for e in epochs],
                        chance=[link["chance"][e] for e in epochs]))
    return out


def results_of(job):
    """A finished run -> {name, kind, seed, threads, env, links}: a pretraining has one link; a
    default run has its teacher's pretraining first, then the cascade."""
    name, kind, seed, config, folder, argv = job
    if kind == "teacher":
        links = link_figures(os.path.join(pretraining_folder(folder), "metrics.jsonl"))
    else:
        out = os.path.join(folder, argv[argv.index("--out") + 1])
        links = link_figures(os.path.join(out, "metrics.jsonl"))
        if kind == "default":
            links = link_figures(os.path.join(pretraining_folder(folder), "metrics.jsonl")) + links
    return dict(name=name, kind="pretrain" if kind == "teacher" else kind, seed=seed,
                config=config, links=links)


def never(epoch):
    return "never" if epoch is None else f"{epoch:g}"


def table(runs, kind, portable_name):
    """Markdown: one row per run, then each link's median and range over the seeds x threads."""
    names = LINKS[:len(runs[0]["links"])]
    lines = ["| run | " + " | ".join(f"{n} acc | leaves chance" for n in names) + " |",
             "|---|" + "---|---|" * len(names)]
    for r in runs:
        lines.append(f"| {r['name']} | " + " | ".join(
            f"{l['video_acc']:.3f} | {never(l['escape'])}"
            for l in r["links"]) + " |")
    main_runs = [r for r in runs if r["config"] != portable_name]
    summary = []
    for i, n in enumerate(names):
        acc = [r["links"][i]["video_acc"] for r in main_runs]
        esc = [r["links"][i]["escape"] for r in main_runs]
        med = statistics.median(acc)
        late = statistics.median([e if e is not None else math.inf for e in esc])  # never: inf
        summary.append(dict(link=n, n=len(acc), acc_median=med, acc_min=min(acc),
                            acc_max=max(acc), acc_span=max(acc) - min(acc),
                            acc_off_median=max(abs(a - med) for a in acc),
                            escape_median=None if late == math.inf else late,
                            escape_max=None if None in esc else max(esc)))
    lines += ["", f"| {kind}: link | n | median acc | min | max | span | farthest from median | "
              "leaves chance: median, latest |", "|---|---|---|---|---|---|---|---|"]
    for s in summary:
        lines.append(f"| {s['link']} | {s['n']} | {s['acc_median']:.3f} | {s['acc_min']:.3f} | "
                     f"{s['acc_max']:.3f} | {s['acc_span']:.3f} | {s['acc_off_median']:.3f} | "
                     f"{never(s['escape_median'])}, {never(s['escape_max'])} |")
    return "\n".join(lines), summary


def main(argv=None):
    p = argparse.ArgumentParser(
        prog="python -m experiments.lottery",
        description="`python train.py` under seeds x thread counts x kernels: "
        "each link's final accuracy and the epoch its task loss leaves chance, with the median "
        "and range over the perturbations. Extra train.py flags go after --.")
    p.add_argument("--only", choices=("pretrain", "default"), nargs="+",
                   default=["pretrain", "default"], help="which kinds of run (default: both)")
    p.add_argument("--seeds", type=int, default=5, help="seeds 0 .. n-1")
    p.add_argument("--threads", default="1,2", help="thread counts, comma-separated")
    p.add_argument("--portable", type=int, choices=(0, 1), default=1,
                   help="1: seed 0 also runs with ATEN_CPU_CAPABILITY=default")
    p.add_argument("--jobs", type=int, default=os.cpu_count() or 1,
                   help="cores to fill: runs of t threads go t to a core, side by side")
    p.add_argument("--tag", default="now", help="names the results file and the run folders")
    p.add_argument("--data-root", default=os.path.join(REPO, "data", "synthetic"))
    argv = sys.argv[1:] if argv is None else argv
    cut = argv.index("--") if "--" in argv else len(argv)
    args = p.parse_args(argv[:cut])
    args.flags = argv[cut + 1:]
    try:
        threads = [int(t) for t in args.threads.split(",")]
        assert min(threads) >= 1
    except (ValueError, AssertionError):
        p.error(f"--threads takes thread counts >= 1, comma-separated (e.g. 1,2), got "
                f"'{args.threads}'")
    args.threads = threads
    base = os.path.join(REPO, "experiments", "results", "runs", "lottery", args.tag)
    jobs = plan(args, base)
    cfg = configs(args.threads, args.portable)
    ready = {c: threading.Event() for c in cfg}
    print(f"{len(jobs)} runs into {base}", flush=True)
    # runs of t threads go side by side, as many as fill --jobs cores (1-thread runs in pairs on
    # 2 cores), the most threads first: a run's numbers do not depend on what runs beside it
    for t in sorted({t for t, _ in cfg.values()}, reverse=True):
        mine = [j for j in jobs if cfg[j[3]][0] == t]
        with ThreadPoolExecutor(max(1, args.jobs // t)) as pool:
            list(pool.map(lambda j: run_one(j, dict(
                os.environ, OMP_NUM_THREADS=str(t), MKL_NUM_THREADS=str(t), **cfg[j[3]][1]),
                ready[j[3]]), mine))

    result = dict(tag=args.tag, flags=args.flags, chance_share=CHANCE_SHARE, runs={},
                  summary={})
    portable = [c for c in cfg if c.endswith("aten-default")]
    print(f"\n{args.tag}: {' '.join(args.flags) or 'the defaults'}")
    for kind in ("pretrain", "default"):
        runs = sorted((results_of(j) for j in jobs if
                       (j[1] in ("pretrain", "teacher") if kind == "pretrain" else j[1] == kind)),
                      key=lambda r: (r["config"] in portable, r["seed"], r["config"]))
        if not runs or kind not in args.only:
            continue
        text, summary = table(runs, kind, portable[0] if portable else None)
        print("\n" + text)
        result["runs"][kind], result["summary"][kind] = runs, summary
    save_result(f"lottery_{args.tag}" + ("" if len(args.only) == 2 else f"_{args.only[0]}"),
                result)


if __name__ == "__main__":
    main()
