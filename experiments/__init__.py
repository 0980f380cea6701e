"""The lab: the experiments behind the report (experiments/results/README.md), run from the
repository's root as `python -m experiments.<module>`. The method itself is the top level
(train.py and the modules it imports); nothing there imports from here.

    grid       the accuracy and tuning grids (every method and SKD ablation, seeds, fractions)
    plots      the report's figures and tables from results/*.json, and a run's curves
    benchmark  speed, throughput, loading and the frames budget (ratios measured in one run)
    rehearsal  train.py's real-data path on a generated HMDB51-sized tree, timed per link
    lottery    python train.py under seeds x thread counts x kernels: the spread of a result
    tables     the report's Markdown tables and paired 95% intervals (used by plots)
    cost       what training costs: `benchmark speed` and `benchmark frames`
    regimes    the simulated regimes of the grids: data, recipe, budget
"""
import json
import os
import platform

import av
import torch

RESULTS = os.path.join("experiments", "results")  # relative to the working directory, the root


def cpu_name():
    try:
        with open("/proc/cpuinfo") as f:
            return next(l.split(":", 1)[1].strip() for l in f if l.startswith("model name"))
    except (OSError, StopIteration):
        return platform.processor() or "unknown CPU"


def save_result(name, result):
    """experiments/results/<name>.json, with the machine and library versions that produced it."""
    os.makedirs(RESULTS, exist_ok=True)
    result = dict(result, cpu=cpu_name(), cores=os.cpu_count(), torch=torch.__version__,
                  pyav=av.__version__)
    with open(os.path.join(RESULTS, f"{name}.json"), "w") as f:
        json.dump(result, f, indent=1)
    print(f"wrote {os.path.join(RESULTS, name)}.json")
