"""The lab: the experiments behind the report (experiments/results/README.md), run from the
repository's root as `python -m experiments.<module>`. The method itself is the top level
(train.py and the modules it imports); nothing there imports from here.

    grid       the accuracy and tuning grids (every method and SKD ablation, seeds, fractions)
    plots      the report's figures and tables from results/*.json, and a run's curves
    benchmark  speed, throughput, loading and the frames budget (ratios measured in one run)
    rehearsal  train.py's real-data path on a generated HMDB51-sized tree, timed per link
    lottery    python train.py under seeds x thread counts x kernels: the spread of a result
"""
import os

RESULTS = os.path.join("experiments", "results")  # relative to the working directory, the root
