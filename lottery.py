"""How much of a result is the machine's rounding: one recipe under perturbations every machine
can make, and the spread it gives.

    python lottery.py pretrain             # the teacher's pretraining, 5 seeds x 1 and 2 threads
    python lottery.py default              # `python train.py --seed s`, the same perturbations
    python lottery.py default --tag mine -- --lr 1e-3   # the same with extra train.py flags

A perturbation is a seed and a thread count (OMP_NUM_THREADS 1 or 2 changes the order of the sums
inside a convolution, and so its rounding), plus, for the first seed at the most threads, ATen's
kernels pinned to their portable version (ATEN_CPU_CAPABILITY=default) against the machine's own
(AVX-512 or AVX2). Each run is a fresh train.py process with those variables set, in a folder of
its own (results/runs/lottery/<tag>/<perturbation>/), so that the teacher's pretraining, cached
under a key that holds no thread count, is made anew under each thread count and kernel.

For every run and every link (the pretraining first), it reports the final video accuracy and the
first epoch whose mean task loss is below 0.9 of chance: 0.9 ln K for the pretraining, 0.9 of
train.py's `task at chance` for a link (ln K on the labels plus mean(c) ln K on the kept
pseudo-labels), counted from the link's first epoch with a task loss (for SKD's links, the start
of the last phase). Then each figure's median and range over the perturbations. A recipe that
sits on a plateau shows here as a late escape and a wide range. Results: results/lottery_<tag>.json
and a Markdown table; runs already finished are read back, not trained again.
"""
import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

REPO = os.path.dirname(os.path.abspath(__file__))
CHANCE_SHARE = 0.9  # a task loss below 0.9 of chance has left chance


def perturbations(seeds, threads, portable):
    """[(name, seed, threads, env)] : seeds x thread counts, then the portable-kernel runs."""
    runs = [(f"s{s}_t{t}", s, t, {}) for s in seeds for t in threads]
    runs += [(f"s{s}_t{max(threads)}_aten-default", s, max(threads),
              {"ATEN_CPU_CAPABILITY": "default"}) for s in seeds[:portable]]
    return runs


def command(kind, seed, flags, root):
    """train.py's arguments of one run: the default run, or its teacher's pretraining alone."""
    sys.path.insert(0, REPO)
    import train
    from config import parse_args
    if kind == "default":
        return ["--data-root", root, "--seed", str(seed), "--workers", "0"] + flags
    a = parse_args(["--data-root", root, "--workers", "0", "--out", os.devnull] + flags)
    argv, _ = train.pretraining_argv(a)  # makes the twin set once, before the runs start
    i = argv.index("--seed")
    return argv[:i + 1] + [str(seed)] + argv[i + 2:]


def run_one(job):
    """One train.py process in its own folder, with its threads and kernels -> its folder."""
    name, folder, argv, threads, env = job
    if os.path.isfile(os.path.join(folder, "out", "summary.json")):
        return folder
    os.makedirs(folder, exist_ok=True)
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads), **env)
    again = ["--resume"] if os.path.isfile(os.path.join(folder, "out", "checkpoint.pt")) else []
    t0 = time.time()
    with open(os.path.join(folder, "log.txt"), "a") as log:
        rc = subprocess.call([sys.executable, os.path.join(REPO, "train.py")] + argv + again
                             + ["--out", "out"], cwd=folder, env=env, stdout=log,
                             stderr=subprocess.STDOUT)
    print(f"  {name}: {'done' if rc == 0 else f'FAILED (exit {rc}), see {folder}/log.txt'} "
          f"in {time.time() - t0:.0f} s", flush=True)
    return folder


def link_figures(metrics_path):
    """Every link of one run's metrics.jsonl -> [{name, video_acc, start, escape, task}]: the
    first epoch with a task loss, the first whose mean is below CHANCE_SHARE of chance (counted
    from `start`: 1 = that same epoch; None = never) and the epoch means of the task loss."""
    links = {}
    with open(metrics_path) as f:
        for line in f:
            m = json.loads(line)
            if m["event"] == "link":
                links[len(links)] = dict(name=m.get("text", ""), task={}, chance={})
            elif m["event"] == "train" and "epoch_mean" in m and "task" in m["epoch_mean"]:
                link = links[m["link"]]
                link["task"][m["epoch"]] = m["epoch_mean"]["task"]
                link["chance"][m["epoch"]] = m["epoch_mean"]["chance"]
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


def read_run(kind, folder):
    """A finished run's links, the pretraining first (from its cached folder) for `default`."""
    links = []
    if kind == "default":
        pre = [d for d in sorted(os.listdir(os.path.join(folder, "runs")))
               if d.startswith("pretrain_")]
        links += link_figures(os.path.join(folder, "runs", pre[-1], "metrics.jsonl"))
    links += link_figures(os.path.join(folder, "out", "metrics.jsonl"))
    return links


def spread(values):
    """(median, min, max) of the values that are numbers; None where there are none."""
    values = [v for v in values if v is not None]
    return (statistics.median(values), min(values), max(values)) if values else None


def main(argv=None):
    p = argparse.ArgumentParser(description="One recipe under seeds x thread counts x kernels: "
                                "each link's final accuracy and the epoch its task loss leaves "
                                "chance, with the median and range over the perturbations.")
    p.add_argument("kind", choices=("pretrain", "default"),
                   help="pretrain: the teacher's pretraining alone, its seed varied; default: "
                        "`python train.py --seed s` (the pretraining then uses its own seed 0)")
    p.add_argument("--seeds", type=int, default=5, help="seeds 0 .. n-1")
    p.add_argument("--threads", default="1,2", help="thread counts, comma-separated")
    p.add_argument("--portable", type=int, default=1,
                   help="the first n seeds also run with ATEN_CPU_CAPABILITY=default")
    p.add_argument("--jobs", type=int, default=os.cpu_count() or 1,
                   help="cores to fill: runs of t threads go t to a core, side by side")
    p.add_argument("--tag", default="now", help="names the results file and run folders")
    p.add_argument("--data-root", default=os.path.join(REPO, "data", "synthetic"))
    argv = sys.argv[1:] if argv is None else argv
    cut = argv.index("--") if "--" in argv else len(argv)  # extra train.py flags after --
    args = p.parse_args(argv[:cut])
    args.flags = argv[cut + 1:]
    threads = [int(t) for t in args.threads.split(",")]
    base = os.path.join(REPO, "results", "runs", "lottery", args.tag, args.kind)
    jobs = [(name, os.path.join(base, name), command(args.kind, s, args.flags, args.data_root), t,
             env) for name, s, t, env in perturbations(list(range(args.seeds)), threads,
                                                       args.portable)]
    print(f"{len(jobs)} {args.kind} runs into {base}", flush=True)
    # runs of t threads go side by side, as many as fill --jobs cores (1-thread runs in pairs on
    # 2 cores), the most threads first: the numbers do not depend on what runs beside them
    for t in sorted(set(j[3] for j in jobs), reverse=True):
        with ThreadPoolExecutor(max(1, args.jobs // t)) as pool:
            list(pool.map(run_one, [j for j in jobs if j[3] == t]))

    runs = [dict(name=name, seed=s, threads=t, env=env, links=read_run(args.kind, folder))
            for (name, folder, _, t, _), (_, s, _, env) in zip(
                jobs, perturbations(list(range(args.seeds)), threads, args.portable))]
    result = dict(kind=args.kind, tag=args.tag, flags=args.flags, chance_share=CHANCE_SHARE,
                  runs=runs)
    main_runs = [r for r in runs if not r["env"]]  # seeds x threads: the targets' population
    n_links = len(runs[0]["links"])
    names = (["pretraining"] if args.kind == "pretrain" else
             ["pretraining", "teacher", "assistant", "student"])[:n_links]
    summary = []
    print(f"\n{args.kind}, {args.tag} {' '.join(args.flags)}: {len(main_runs)} perturbations "
          f"(seeds x threads{' + ' + str(len(runs) - len(main_runs)) + ' ATen default' if len(runs) > len(main_runs) else ''})")
    print("\n| run | " + " | ".join(f"{n} acc | {n} leaves chance" for n in names) + " |")
    print("|---|" + "---|---|" * len(names))
    for r in runs:
        print(f"| {r['name']} | " + " | ".join(
            f"{l['video_acc']:.3f} | {l['escape'] if l['escape'] is not None else 'never'}"
            for l in r["links"]) + " |")
    for i, n in enumerate(names):
        acc = spread([r["links"][i]["video_acc"] for r in main_runs])
        esc = [r["links"][i]["escape"] for r in main_runs]
        summary.append(dict(link=n, acc_median=acc[0], acc_min=acc[1], acc_max=acc[2],
                            acc_span=acc[2] - acc[1], escape_max=None if None in esc else max(esc),
                            escape_median=statistics.median([e if e is not None else math.inf
                                                             for e in esc])))
    print("\n| link | median acc | min | max | span | latest leave-chance epoch |\n"
          "|---|---|---|---|---|---|")
    for s in summary:
        print(f"| {s['link']} | {s['acc_median']:.3f} | {s['acc_min']:.3f} | {s['acc_max']:.3f} "
              f"| {s['acc_span']:.3f} | {s['escape_max'] if s['escape_max'] else 'never'} |")
    result["summary"] = summary
    sys.path.insert(0, REPO)
    from grid import save_result
    save_result(f"lottery_{args.tag}_{args.kind}", result)


if __name__ == "__main__":
    main()
