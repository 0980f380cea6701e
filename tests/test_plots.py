"""experiments/tables.py and plots.py: the paired 95% interval against hand-computed cases, the
summary table against the per-seed runs of experiments/results/*.json, the curve series of a small
metrics.jsonl written here, and the one-line error without matplotlib. Only the drawing test needs
matplotlib (skipped without it)."""
import json
import math
import os
import shutil
import sys

import numpy as np
import pytest

from cascade import lr_at, phase_starts
from experiments import plots, tables

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RESULTS = os.path.join(REPO, "experiments", "results")


def test_interval_against_hand_computed_cases():
    # [0.1, 0.2, 0.3]: mean 0.2, sd 0.1 (n - 1), half = t_{0.975,2} * 0.1 / sqrt(3) = 4.303 * 0.0577
    r = tables.interval([0.1, 0.2, 0.3])
    assert r["n"] == 3 and r["mean"] == pytest.approx(0.2) and r["sd"] == pytest.approx(0.1)
    assert r["half"] == pytest.approx(0.24843, abs=1e-5)
    assert (r["lo"], r["hi"]) == pytest.approx((0.2 - 0.24843, 0.2 + 0.24843), abs=1e-5)
    # [0, 1]: sd sqrt(0.5), half = 12.706 * sqrt(0.5) / sqrt(2) = 6.353
    assert tables.interval([0.0, 1.0])["half"] == pytest.approx(6.353)
    assert math.isnan(tables.interval([0.4])["half"])  # one seed: no interval
    t = [tables.T975[df] for df in range(1, 31)]
    assert all(a > b for a, b in zip(t, t[1:])) and 1.96 < t[-1] < 2.05  # falls towards z


def test_summary_table_matches_grid_and_the_per_seed_table():
    """The paired rows of the committed results, recomputed from the per-seed runs: the same
    differences as grid.py's own `paired`, and their interval from numpy; one ablation row
    against the per-seed accuracies of the report's table (rounded to 3 digits there)."""
    rows = tables.paired_rows(RESULTS)
    # 30 epochs (*_twin10: on the current pretraining, section 17), then 10
    assert [(r["regime"], r["fraction"]) for r in rows] == [
        ("a", 0.2), ("a_twin10", 0.2), ("a", 1.0), ("b", 0.2), ("b_twin10", 0.2), ("c", 0.2),
        ("c_twin10", 0.2), ("c", 1.0), ("d", 0.2), ("d", 1.0),
        ("a_10epochs", 0.1), ("a_10epochs", 0.2), ("a_10epochs", 1.0), ("b_10epochs", 0.2)]
    for r in rows:
        with open(os.path.join(RESULTS, tables.regimes(RESULTS)[r["regime"]] + ".json")) as f:
            grid_paired = json.load(f)["paired"][f"{r['fraction']:g}"]
        diffs = np.array(grid_paired["diffs"])
        assert r["best"] == grid_paired["best"] and r["diffs"] == pytest.approx(diffs.tolist())
        half = tables.T975[len(diffs) - 1] * diffs.std(ddof=1) / math.sqrt(len(diffs))
        assert r["mean"] == pytest.approx(diffs.mean()) and r["half"] == pytest.approx(half)
        assert r["leads"] == grid_paired["skd_leads"]
    no_fdist = next(r for r in tables.ablation_rows(RESULTS)
                   if (r["regime"], r["variant"]) == ("a_10epochs", "skd, no distribution loss (Eq. D)"))
    skd, variant = [0.647, 0.671, 0.758, 0.718, 0.595], [0.397, 0.548, 0.540, 0.635, 0.484]
    assert no_fdist["diffs"] == pytest.approx(np.subtract(skd, variant).tolist(), abs=1e-3)
    assert no_fdist["lo"] > 0 and no_fdist["leads"] == 5
    table = tables.summary_table(RESULTS)
    assert ("| a | 10 | 20% | 5 | 0.768 | - | 0.678 | fitnet (tuned) 0.652 | "
            "+0.026 [-0.068, +0.121] |") in table  # no student-alone row in that grid


def test_versus_table_pairs_skd_with_every_other_student(capsys):
    """Every paper and tuned row of a regime, best mean first, each paired with SKD over the
    seeds both ran: the best one's row is the summary's; the regime filter keeps one regime."""
    plots.main(["versus", RESULTS, "--regime", "b_10epochs"])
    lines = [l for l in capsys.readouterr().out.splitlines() if l.startswith("| b_10epochs |")]
    with open(os.path.join(RESULTS, "accuracy_b_10epochs.json")) as f:
        result = json.load(f)
    others = [r for r in result["rows"] if r["kind"] in ("method", "tuned") and r["name"] != "skd"]
    assert len(lines) == len(others)
    means = [float(l.split(" | ")[3]) for l in lines]
    assert means == sorted(means, reverse=True)
    assert lines[0].startswith("| b_10epochs | 20% | fitnet (tuned) | 0.537 | 5 | +0.025 [-0.011, +0.061]")
    kd = np.array([r["video_acc"] for r in sorted(result["runs"], key=lambda r: r["seed"])
                   if r["name"] == "skd"]) - [r["video_acc"] for r in sorted(
                       result["runs"], key=lambda r: r["seed"]) if r["name"] == "kd"]
    half = tables.T975[len(kd) - 1] * kd.std(ddof=1) / math.sqrt(len(kd))
    row = next(l for l in lines if l.startswith("| b_10epochs | 20% | kd |"))
    assert f"{kd.mean():+.3f} [{kd.mean() - half:+.3f}, {kd.mean() + half:+.3f}]" in row
    assert tables._ci(tables.interval([0.02])) == "+0.020 (one seed: no interval)"


def test_versus_reads_a_tuning_set_grid_with_its_student_link_variants(tmp_path, capsys):
    """`versus --set-seed 1` reads set1_accuracy*.json (a grid on the tuning set, which the
    summary and the figures ignore) and pairs SKD with a --link-variant row, seed by seed."""
    link = "skd --logit-loss dist (student link)"
    acc = {"skd": [0.90, 0.84, 0.87], link: [0.91, 0.80, 0.88]}
    result = dict(rows=[dict(name=n, kind="method" if n == "skd" else "link", fraction=0.2,
                             video_acc=float(np.mean(v))) for n, v in acc.items()],
                  runs=[dict(name=n, seed=s, fraction=0.2, video_acc=a)
                        for n, v in acc.items() for s, a in enumerate(v)])
    with open(tmp_path / "set1_accuracy_c.json", "w") as f:
        json.dump(result, f)
    assert tables.regimes(str(tmp_path)) == {} and tables.paired_rows(str(tmp_path)) == []
    assert tables.regimes(str(tmp_path), 1) == {"c": "set1_accuracy_c"}
    (tmp_path / "set1_accuracy_a_10epochs.json").write_text("{}")  # another budget: its own key
    assert tables.regimes(str(tmp_path), 1) == {"c": "set1_accuracy_c",
                                               "a_10epochs": "set1_accuracy_a_10epochs"}
    assert tables.letter("a_10epochs") == "a" and tables.letter("c") == "c"
    plots.main(["versus", str(tmp_path), "--set-seed", "1", "--regime", "c"])
    lines = [l for l in capsys.readouterr().out.splitlines() if l.startswith("| c |")]
    d = np.subtract(acc["skd"], acc[link])  # -0.01, +0.04, -0.01
    half = tables.T975[2] * d.std(ddof=1) / math.sqrt(3)
    assert lines == [f"| c | 20% | {link} | 0.863 | 3 | {d.mean():+.3f} [{d.mean() - half:+.3f}, "
                     f"{d.mean() + half:+.3f}] | 1 of 3 |"]


def _metrics(path):
    """A two-link run (cross-entropy, then staged SKD) of 2 epochs x 10 steps, logged sparsely:
    the last step of every epoch, as train.py always does, and one step in between."""
    config = dict(method="skd", joint=False, phase_shares="1,1,1,1,6", lr=0.01, batch_size=4,
                  dataset="synthetic", label_fraction=0.2, seed=0)
    events = [dict(event="start", config=config), dict(event="link")]
    for link in (0, 1):
        if link == 1:
            events.append(dict(event="pseudo_labels", link=1, coverage=0.5, accuracy=0.9,
                               unlabelled_accuracy=0.7, kept=5, unlabelled=10))
        for step in (5, 10, 20):  # step 20 is the last of the link
            phase = 5 if link == 0 else 1 + sum(step > s for s in (2, 4, 6, 8))
            terms = dict(task=1.0 / step) if link == 0 else dict(sub1=0.5, loss=2.0 / step)
            events.append(dict(event="train", link=link, epoch=1 + (step > 10), step=step,
                               phase=phase, clips_per_s=3.0, **terms))
        events.append(dict(event="eval", link=link, epoch=2, clip_acc=0.5 + link / 10,
                           video_acc=0.6 + link / 10, video_top5=1.0))
    events.append(dict(event="summary", models=[dict(role="teacher", arch="A"),
                                                dict(role="student", arch="B")]))
    with open(path, "w") as f:
        f.write("\n".join(json.dumps(e) for e in events) + "\n")


def test_curve_series_of_a_small_metrics_file(tmp_path):
    _metrics(tmp_path / "metrics.jsonl")
    c = plots.curve_series(plots.read_events(tmp_path / "metrics.jsonl"))
    assert [(l["name"], l["offset"], l["total"]) for l in c["links"]] == [("teacher A", 0, 20),
                                                                         ("student B", 20, 20)]
    assert c["links"][0]["starts"] == [0]  # the first model: no teacher, one phase
    assert c["links"][1]["starts"] == [0, 2, 4, 6, 8] == phase_starts(20, [1, 1, 1, 1, 6])
    steps, values = c["losses"]["task"]
    assert steps[:3] == [5, 10, 20] and values[:3] == [0.2, 0.1, 0.05]
    assert c["losses"]["loss"][0][-4:-1] == [25, 30, 40]  # link 1 after link 0's 20 steps
    assert all(math.isnan(v) for v in (c["losses"]["task"][1][3], c["losses"]["loss"][1][-1]))
    lr_steps, lr = c["lr"]
    assert len(lr) == 40 and lr_steps[0] == 1 and lr_steps[-1] == 40
    assert lr[0] == pytest.approx(lr_at(0, 0, 20, 0.01))  # link 0: one phase of 20 steps
    assert lr[20 + 3] == pytest.approx(lr_at(3, 2, 2, 0.01))  # link 1, step 3: in phase 2
    assert c["evals"]["student B"] == dict(step=[40], video_acc=[0.7], clip_acc=[0.6])
    assert c["pseudo"] == [dict(link=1, name="student B", coverage=0.5, accuracy=0.9,
                                unlabelled_accuracy=0.7)]


def test_without_matplotlib_one_error_line(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # `import matplotlib` now fails
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)
    _metrics(tmp_path / "metrics.jsonl")
    for argv in (["results", str(tmp_path)], ["curves", str(tmp_path)]):
        with pytest.raises(SystemExit) as e:
            plots.main(argv)
        message = str(e.value.code)
        assert message.startswith("error: ") and "pip install matplotlib" in message
        assert "\n" not in message
    plots.main(["summary", RESULTS])  # the numbers need no matplotlib
    assert "SKD - best, 95% CI" in capsys.readouterr().out


def test_missing_run_folder_is_one_error_line(tmp_path):
    with pytest.raises(SystemExit) as e:
        plots.main(["curves", str(tmp_path / "nothing")])
    assert str(e.value.code).startswith("error: ") and "metrics.jsonl" in str(e.value.code)


def test_draws_every_figure(tmp_path, monkeypatch):
    pytest.importorskip("matplotlib", exc_type=ImportError)
    monkeypatch.setattr(plots, "DPI", 30)  # small PNGs: the test checks that they are drawn
    for name in os.listdir(RESULTS):
        if name.endswith(".json"):
            shutil.copy(os.path.join(RESULTS, name), tmp_path)
    written = plots.draw_results(str(tmp_path))
    assert sorted(os.path.basename(p) for p in written) == ["accuracy.png", "efficiency.png",
                                                           "lottery.png", "paired.png",
                                                           "sweep.png", "throughput.png"]
    _metrics(tmp_path / "metrics.jsonl")
    plots.main(["curves", str(tmp_path)])
    for p in written + [str(tmp_path / "curves.png")]:
        with open(p, "rb") as f:
            assert f.read(8) == b"\x89PNG\r\n\x1a\n"


def test_help_lists_every_command(capsys):
    with pytest.raises(SystemExit) as e:
        plots.main(["--help"])
    out = capsys.readouterr().out
    assert e.value.code == 0 and all(c in out for c in ("summary", "versus", "results", "curves"))


def test_a_damaged_results_file_or_an_unknown_regime_is_one_error_line(tmp_path):
    """A cut-off accuracy JSON, and `versus --regime` naming no results file, each end in one
    `error:` line that names the file or flag and the fix, not a traceback."""
    (tmp_path / "accuracy_b.json").write_text('{"rows": [')
    for argv in (["summary", str(tmp_path)], ["versus", str(tmp_path)]):
        with pytest.raises(SystemExit) as e:
            plots.main(argv)
        assert str(e.value).startswith(f"error: {tmp_path / 'accuracy_b.json'} is not valid JSON")
        assert "git checkout" in str(e.value) and "\n" not in str(e.value)
    (tmp_path / "accuracy_b.json").unlink()
    with pytest.raises(SystemExit) as e:
        plots.main(["versus", str(tmp_path), "--regime", "b"])
    assert str(e.value) == f"error: --regime b: no such results file in {tmp_path}; there are: none"


def _grid_result(accs, gflops, fraction=0.2, kinds=None):
    """A grid's JSON as grid.py writes it: {name: [video acc per seed]} -> dict(rows, runs, args)."""
    kinds = kinds or {}
    return dict(args=dict(ablation_fraction=fraction, epochs=30),
                rows=[dict(name=n, kind=kinds.get(n, "method"), fraction=fraction, arch=f"arch_{n}",
                           gflops=gflops[n], video_acc=float(np.mean(v))) for n, v in accs.items()],
                runs=[dict(name=n, seed=s, fraction=fraction, video_acc=a)
                      for n, v in accs.items() for s, a in enumerate(v)])


def test_calibration_table_per_seed_and_the_gaps_that_bind(capsys, tmp_path):
    accs = {"teacher": [0.85, 0.80, 0.90], "assistant (kd)": [0.7, 0.7, 0.8],
            "alone": [0.25, 0.30, 0.20], "pseudo": [0.4, 0.5, 0.3], "kd": [0.70, 0.65, 0.75]}
    result = _grid_result(accs, dict.fromkeys(accs, 0.1), kinds={"teacher": "cascade"})
    with open(tmp_path / "set1_accuracy_d_calibration.json", "w") as f:
        json.dump(result, f)
    plots.main(["calibration", "set1_accuracy_d_calibration", str(tmp_path)])
    out = capsys.readouterr().out
    assert "| 20% | 1 | 0.800 | 0.700 | 0.300 | 0.500 | 0.650 |" in out  # seed 1's row
    gap = tables.interval([0.60, 0.50, 0.70])  # teacher - alone, seed by seed
    assert f"| 20% | teacher - alone | 3 | {tables._ci(gap)} |" in out
    assert "| 20% | teacher - kd | 3 | +0.150" in out


def test_sweep_gain_over_the_student_alone_by_ratio(tmp_path):
    """One sweep file per student: its GFLOPs ratio to the teacher, and each method's gain over
    the student alone, paired by seed; sorted by ratio."""
    for student, gflops, base in (("s30", 0.004, 0.3), ("s3", 0.04, 0.6)):
        accs = {"teacher": [0.9, 0.9], "alone": [base, base + 0.02],
                "kd": [base + 0.1, base + 0.14], "skd": [base + 0.2, base + 0.2],
                "skd --no-cascade": [base + 0.15, base + 0.21]}
        result = _grid_result(accs, {"teacher": 0.12, "alone": gflops, "kd": gflops,
                                     "skd": gflops, "skd --no-cascade": gflops},
                              kinds={"teacher": "cascade", "skd --no-cascade": "variant"})
        with open(tmp_path / f"sweep_d_{student}.json", "w") as f:
            json.dump(result, f)
    rows = tables.sweep_rows(str(tmp_path))
    assert [(r["ratio"], r["method"]) for r in rows][:4] == [
        (pytest.approx(3), "alone"), (pytest.approx(3), "kd"), (pytest.approx(3), "skd"),
        (pytest.approx(3), "skd --no-cascade")]
    kd30 = next(r for r in rows if r["method"] == "kd" and r["ratio"] == pytest.approx(30))
    assert kd30["gain"]["diffs"] == pytest.approx([0.1, 0.12]) and kd30["mean"] == pytest.approx(0.42)
    table = tables.sweep_table(str(tmp_path))
    assert "| arch_skd | 30 | skd | 0.500 | +0.190 [" in table
    # SKD minus SKD without the cascade, seed by seed: +0.05 and -0.01, SKD ahead on one
    assert f"| arch_skd | 30 | {tables._ci(tables.interval([0.05, -0.01]))} | 1 of 2 |" in table
    assert "no sweep_d_" in tables.sweep_table(str(tmp_path / "nothing"))


def test_draws_the_sweep(tmp_path, monkeypatch):
    pytest.importorskip("matplotlib", exc_type=ImportError)
    monkeypatch.setattr(plots, "DPI", 30)
    test_sweep_gain_over_the_student_alone_by_ratio(tmp_path)  # writes two sweep files
    written = plots.draw_results(str(tmp_path))
    assert [os.path.basename(p) for p in written] == ["sweep.png"]
    with open(written[0], "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"


def test_moved_pairs_each_row_with_the_same_seeds_of_the_other_grid(capsys, tmp_path):
    new = _grid_result({"teacher": [0.9, 0.8, 0.7], "alone": [0.5, 0.5, 0.5]},
                       {"teacher": 0.1, "alone": 0.01})
    old = _grid_result({"teacher": [0.8, 0.6]}, {"teacher": 0.1})  # seeds 0 and 1 only
    for name, result in (("accuracy_a_new", new), ("accuracy", old)):
        with open(tmp_path / f"{name}.json", "w") as f:
            json.dump(result, f)
    plots.main(["moved", "accuracy_a_new", "accuracy", "--folder", str(tmp_path)])
    out = capsys.readouterr().out
    moved = tables.interval([0.1, 0.2])  # seeds 0 and 1, new - old
    assert f"| teacher | 3 | 0.800 | 0.700 | {tables._ci(moved)} |" in out
    assert "| alone | 3 | 0.500 | - | - |" in out  # a row the old grid did not have
