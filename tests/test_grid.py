"""grid.py: the accuracy grid end to end on a tiny simulated set, and the run cache that decides
when a finished run may be reused (the same settings, weight-file contents, data and code)."""
import argparse
import json
import os
import shutil
import subprocess
import sys

import pytest
import torch

import config
import data
import models
from experiments import grid, tables
import synthetic
import train

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_accuracy_benchmark_runs_the_grid_and_reuses_finished_runs(tmp_path):
    """The accuracy grid end to end on a tiny simulated set: pretrained and shared teacher, SKD's
    shared assistant (the KD-trained one only when takd is asked for), every requested method,
    the six SKD ablations at the ablation fraction, tables and JSON; a second call (in worker
    processes) reuses every finished run."""
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=REPO)
    cmd = [sys.executable, "-m", "experiments.grid", "accuracy", "--quick",
           "--videos-per-class", "5", "--methods", "alone", "pseudo", "skd", "--skd-variant",
           "--phase-epochs 0.5", "--link-variant", "--lambda-kd 2", "--extra-test", "2",
           "--tuning", "none", "--jobs", "1"]
    out = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    with open(tmp_path / "experiments" / "results" / "accuracy.json") as f:
        result = json.load(f)
    rows = {(r["kind"], r["name"]): r for r in result["rows"]}
    ablations = ["joint schedule", "no correlation (Eq. C)", "no distribution loss (Eq. D)",
                 "no cascade", "no pseudo-labels", "hybrid paths on"]
    assert sorted(rows) == sorted([("cascade", "teacher"), ("method", "alone"),
                                   ("cascade", "assistant (skd)"), ("method", "pseudo"),
                                   ("method", "skd"), ("variant", "skd --phase-epochs 0.5"),
                                   ("cascade", "assistant (skd --phase-epochs 0.5)"),
                                   ("link", "skd --lambda-kd 2 (student link)")]
                                  + [("ablation", f"skd, {n}") for n in ablations])
    for r in result["rows"]:
        assert r["fraction"] == 0.2 and r["seeds"] == 1 and r["video_std"] == 0.0
        assert 0 <= r["video_acc"] <= 1 and 0 <= r["clip_acc"] <= 1 and r["minutes"] > 0
    for r in result["runs"]:  # each run: its key, and the accuracy of every model it holds
        assert len(r["run_key"]) == 16 and r["models"][-1]["video_acc"] == r["video_acc"]
        assert [m["role"] for m in r["models"]][0] in ("teacher", "student")
    skd_run = next(r for r in result["runs"] if r["name"] == "skd")
    assert [m["role"] for m in skd_run["models"]] == ["teacher", "assistant", "student"]
    assert list(result["paired"]) == ["0.2"]  # one paired comparison per label fraction
    assert result["paired"]["0.2"]["best"] in ("alone", "pseudo")
    assert result["paired"]["0.2"]["seeds"] == [0]
    # the student of every method is the cascade's last model; teacher and assistant are shared
    archs = {r["name"]: r["arch"] for r in result["rows"]}
    assert archs.pop("teacher") == "r3d18_w0.25"
    assert archs.pop("assistant (skd)") == archs.pop("assistant (skd --phase-epochs 0.5)") == (
        "r3d10_w0.25")
    assert set(archs.values()) == {data.DATASETS["synthetic"]["cascade"].split(",")[-1]}
    assert "| method | 0.2 | min / run |" in out.stdout and "| skd, no cascade | 0." in out.stdout
    # the reported set: 2 more test videos per class, the same training videos (test_data.py)
    test = data.load_dataset("hmdb51", str(tmp_path / "data" / "synthetic_bench_v5_s0_t2"), 1)[1]
    assert len(test) == 6 * (round(0.3 * 5) + 2)
    group = tmp_path / "experiments" / "results" / "runs" / "synthetic_bench_v5_s0_t2" / "p0.2_s0"
    def loaded(name):  # the --teacher-weights of a run, and how many models it loaded
        with open(group / name / "metrics.jsonl") as f:
            events = [json.loads(line) for line in f]
        files = events[0]["config"]["teacher_weights"].split(",")
        assert sum(e["event"] == "weights" for e in events) == len(files)
        return [os.path.relpath(tmp_path / p, group) for p in files]

    teacher = os.path.join("teacher", "model0_r3d18_w0.25.pt")
    assert loaded("skd") == [teacher, os.path.join("assistant_skd", "model1_r3d10_w0.25.pt")]
    assert loaded("skd_joint-schedule") == loaded("skd")  # SKD's ablations share its assistant
    assert loaded("skd_no-cascade") == loaded("pseudo") == [teacher]
    alone = next(r for r in result["runs"] if r["name"] == "alone")  # no teacher, one model
    assert [m["role"] for m in alone["models"]] == ["student"]
    with open(group / "alone" / "metrics.jsonl") as f:
        config = json.loads(f.readline())["config"]
    assert config["teacher_weights"] is None and config["method"] == "alone"
    # a candidate default: both links trained with its flags, its own assistant
    variant = os.path.join("assistant_skd_phase-epochs-0.5", "model1_r3d10_w0.25.pt")
    assert loaded("skd_phase-epochs-0.5") == [teacher, variant]
    for name in ("skd_phase-epochs-0.5", os.path.dirname(variant)):
        with open(group / name / "metrics.jsonl") as f:
            assert json.loads(f.readline())["config"]["phase_epochs"] == 0.5
    # a variant of the student link alone: SKD's own teacher and assistant, its flags on the link
    assert loaded("skd_lambda-kd-2_student-link") == loaded("skd")
    with open(group / "skd_lambda-kd-2_student-link" / "metrics.jsonl") as f:
        assert json.loads(f.readline())["config"]["lambda_kd"] == 2.0
    stamps = {p: p.stat().st_mtime_ns for p in group.glob("*/summary.json")}
    assert len(stamps) == 2 + 3 + 6 + 2 + 1  # teacher, assistant, alone, pseudo, skd, ablations,
    # variants
    assert not (group / "assistant_kd").exists()  # TAKD's assistant: not needed, not trained
    again = subprocess.run(cmd[:-1] + ["2"], cwd=tmp_path, env=env, capture_output=True,
                           text=True, timeout=600)  # --jobs 2: the worker pool, nothing to train
    assert again.returncode == 0, again.stderr[-3000:]
    assert {p: p.stat().st_mtime_ns for p in group.glob("*/summary.json")} == stamps
    with open(tmp_path / "experiments" / "results" / "accuracy.json") as f:
        assert json.load(f)["rows"] == result["rows"]


# ------------------------------------------------------------------------------- the run cache
TINY = ["--dataset", "hmdb51", "--clip-len", "4", "--frame-stride", "1", "--resize", "32",
        "--crop-size", "24", "--eval-clips", "1", "--eval-crops", "1", "--pl-clips", "1",
        "--batch-size", "4", "--epochs", "1", "--max-steps-per-epoch", "2", "--workers", "0",
        "--log-every", "1000", "--label-fraction", "0.5", "--device", "cpu"]
ARCH = "r3d10_w0.125"


def test_run_cache_reuses_only_a_run_of_the_same_key(tmp_path, monkeypatch, capsys):
    """The same folder name is reused only for the same settings, the same weight file contents
    and the same code; otherwise the old folder is set aside (kept) and the run trained again."""
    root = tmp_path / "set"
    synthetic.make_synthetic(str(root), classes=3, videos_per_class=4, frames=8, size=32,
                             difficulty=0.3, seed=0, quiet=True)
    common = TINY + ["--data-root", str(root)]
    teacher = grid.cached_run(str(tmp_path / "teacher"), common + ["--method", "alone",
                                                                    "--cascade", ARCH])
    weights = tmp_path / "teacher.pt"  # the file the student loads: its content will change
    shutil.copy(tmp_path / "teacher" / f"model0_{ARCH}.pt", weights)
    student = common + ["--method", "kd", "--cascade", f"{ARCH},{ARCH}", "--teacher-weights",
                        str(weights)]
    out = tmp_path / "student"
    first = grid.cached_run(str(out), student)
    assert first["run_key"] != teacher["run_key"]
    with open(out / "run_key.json") as f:
        key = json.load(f)
    assert key["hash"] == first["run_key"] and key["config"]["lr"] == 0.01
    assert "out" not in key["config"] and len(key["weights"]) == 1 and "losses.py" in key["code"]

    trained = []
    real_main = train.main
    monkeypatch.setattr(train, "main", lambda argv: trained.append(argv) or real_main(argv))
    assert grid.cached_run(str(out), student) == first  # same key: reused, nothing trained
    assert trained == []

    # same folder name, same flags, another --teacher-weights content: not reused
    state = torch.load(weights, weights_only=True)
    torch.save({k: v + 0.01 if v.is_floating_point() else v for k, v in state.items()}, weights)
    second = grid.cached_run(str(out), student)
    assert len(trained) == 1 and second["run_key"] != first["run_key"]
    msg = capsys.readouterr().out
    assert "weights[0]: changed" in msg and "set aside" in msg and f"{out}.stale1" in msg
    with open(tmp_path / "student.stale1" / "summary.json") as f:  # the old run is kept
        assert json.load(f)["models"] == first["models"]

    # another flag: the difference is named
    grid.cached_run(str(out), student + ["--lr", "0.02"])
    assert "config.lr: 0.01 -> 0.02" in capsys.readouterr().out
    assert (tmp_path / "student.stale2" / "summary.json").is_file() and len(trained) == 2


def test_key_differences_names_each_change():
    a = dict(config=dict(lr=0.01, tau=4.0), weights=["aa", "bb"], code={"losses.py": "1"}, hash="x")
    b = dict(config=dict(lr=0.01, tau=2.0), weights=["aa", "cc"], code={"losses.py": "2"}, hash="y")
    assert config.key_differences(a, b) == ["code.losses.py: changed", "config.tau: 4.0 -> 2.0",
                                               "weights[1]: changed"]
    assert config.key_differences(a, a) == []


def test_code_hash_ignores_comments_and_docstrings_only(tmp_path):
    a, b, c = tmp_path / "a.py", tmp_path / "b.py", tmp_path / "c.py"
    a.write_text('"""Module."""\nx = 1  # one\n\n\ndef f():\n    """Doc."""\n    return x\n')
    b.write_text('"""Other words."""\n# a comment\nx = 1\n\n\ndef f():\n    return x\n')
    c.write_text('"""Module."""\nx = 2  # one\n\n\ndef f():\n    """Doc."""\n    return x\n')
    assert config.code_hash(a) == config.code_hash(b)
    assert config.code_hash(a) != config.code_hash(c)


def test_the_key_holds_the_code_train_py_runs_and_nothing_else(tmp_path):
    # a toy repository: a lazy import inside a function, a chain, a sibling nobody imports
    (tmp_path / "main.py").write_text("import os\nimport helper\n\n\ndef f():\n"
                                      "    from lazy import g\n    return g\n")
    (tmp_path / "helper.py").write_text("from deep.sub import x\nimport numpy\n")
    (tmp_path / "lazy.py").write_text("g = 1\n")
    (tmp_path / "deep.py").write_text("x = 2\n")
    (tmp_path / "figures.py").write_text("import main\n")
    assert config.training_modules("main.py", str(tmp_path)) == [
        "deep.py", "helper.py", "lazy.py", "main.py"]
    # the real one: what train.py imports, not the figures, the grid or the benchmarks (editing
    # a plot must not discard cached trainings)
    modules = config.training_modules()
    assert {"train.py", "cascade.py", "losses.py", "models.py", "video.py", "config.py"} <= set(modules)
    assert not {"plots.py", "grid.py", "benchmark.py", "rehearsal.py"} & set(modules)


def test_tune_runs_each_setting_and_picks_the_best(tmp_path):
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=REPO)
    cmd = [sys.executable, "-m", "experiments.grid", "tune", "--quick",
           "--videos-per-class", "5", "--methods", "at", "--jobs", "1"]
    out = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    with open(tmp_path / "experiments" / "results" / "tuning.json") as f:
        result = json.load(f)
    assert [r["flags"] for r in result["rows"]] == grid.tuning_grid("at")
    assert [r["default"] for r in result["rows"]] == [False, True, False, False, False]
    assert result["best"]["at"] in grid.tuning_grid("at") and result["set_seed"] == 1
    acc = {tuple(r["flags"]): r["video_acc"] for r in result["rows"]}
    assert acc[tuple(result["best"]["at"])] == max(acc.values())
    assert (tmp_path / "experiments" / "results" / "runs" / "synthetic_bench_v5_s1" / "p0.2_s0" /
            "at_at-weight-1000_at-substages-1-2" / "summary.json").is_file()
    assert "| at | --at-weight 1000 | " in out.stdout


def test_jobs_add_a_tuned_row_only_where_tuning_moved_the_weight():
    import types
    args = types.SimpleNamespace(methods=["kd", "at", "skd"], ablation_fraction=0.2,
                                 skd_variant=[], link_variant=[], no_ablations=False)
    tuned = {"kd": ["--lambda-kd", "1"], "at": ["--at-weight", "10"]}  # kd: the paper's value
    names = [n for n, _, _ in grid._jobs(args, 0.1, tuned)]
    assert names == ["kd", "at", "skd", "at (tuned)"]
    assert grid._jobs(args, 0.1, tuned)[3] == ("at (tuned)", "tuned",
                                               ["--method", "at", "--at-weight", "10"])
    assert len(grid._jobs(args, 0.2, tuned)) == 4 + len(grid.ABLATIONS)
    args.no_ablations = True
    assert len(grid._jobs(args, 0.2, tuned)) == 4
    # lean (--tuned-only outside the full table): the paper's row of a moved weight is dropped
    assert [n for n, _, _ in grid._jobs(args, 1.0, tuned, lean=True)] == ["kd", "skd", "at (tuned)"]


def test_headline_seeds_beyond_seeds_train_the_headline_methods_only():
    import types
    args = types.SimpleNamespace(methods=["kd", "at", "skd"], ablation_fraction=0.2,
                                 skd_variant=[], link_variant=[], no_ablations=True,
                                 fractions=[0.2, 1.0],
                                 seeds=2, headline_seeds=4, first_seed=0,
                                 headline_methods=["skd", "at"], tuned_only=False)
    tuned = {"at": ["--at-weight", "10"]}
    groups = {(f, s): [n for n, _, _ in jobs] for f, s, jobs in grid._accuracy_groups(args, tuned)}
    every = ["kd", "at", "skd", "at (tuned)"]
    assert groups == {(0.2, 0): every, (0.2, 1): every, (0.2, 2): ["at", "skd", "at (tuned)"],
                      (0.2, 3): ["at", "skd", "at (tuned)"], (1.0, 0): every, (1.0, 1): every}
    args.tuned_only = True  # the paper's row of at only in the full table (20%, seeds 0-1)
    groups = {(f, s): [n for n, _, _ in jobs] for f, s, jobs in grid._accuracy_groups(args, tuned)}
    assert groups == {(0.2, 0): every, (0.2, 1): every, (0.2, 2): ["skd", "at (tuned)"],
                      (0.2, 3): ["skd", "at (tuned)"], (1.0, 0): ["kd", "skd", "at (tuned)"],
                      (1.0, 1): ["kd", "skd", "at (tuned)"]}
    args.first_seed, args.headline_methods, args.tuned_only = 3, None, False  # every method
    assert [(f, s) for f, s, _ in grid._accuracy_groups(args, tuned)] == [
        (0.2, 3), (0.2, 4), (0.2, 5), (0.2, 6), (1.0, 3), (1.0, 4)]


def test_regime_c_trains_with_the_real_data_sets_recipe(tmp_path):
    """Regime c: the flags of every run are --dataset hmdb51's optimisation (optimizer, lr,
    weight decay, batch, epochs), 8-frame clips, on a set generated with its own settings;
    regimes a and b keep the simulated set's own recipe but train the real recipe's epochs."""
    hmdb, synthetic_preset = data.DATASETS["hmdb51"], data.DATASETS["synthetic"]
    for regime in "abc":
        args = argparse.Namespace(regime=regime, max_steps_per_epoch=None,
                                  cascade=grid.regime_cascade(regime))
        a = config.parse_args(grid._common(str(tmp_path), args) + ["--out", os.devnull])
        recipe = (a.optimizer, a.lr, a.weight_decay, a.batch_size)
        if regime == "c":
            assert recipe == (hmdb["optimizer"], hmdb["lr"], hmdb["weight_decay"],
                              hmdb["batch_size"])
            assert a.clip_len >= 8 and grid.REGIMES["c"]["epochs"] == hmdb["epochs"]
            assert grid.REGIMES["c"]["generator"]["difficulty"] != grid.BENCH["difficulty"]
        else:
            assert recipe == (synthetic_preset["optimizer"], synthetic_preset["lr"],
                              synthetic_preset["weight_decay"], synthetic_preset["batch_size"])
            assert a.clip_len == synthetic_preset["clip_len"]
            # the real recipe's 30 epochs (report section 5), as `python train.py`'s (section 9)
            assert grid.REGIMES[regime]["epochs"] == hmdb["epochs"] == synthetic_preset["epochs"]


def test_regime_d_is_c_recipe_with_a_large_capacity_gap(tmp_path):
    """Regime d: c's recipe and set at subtler motion, a teacher pretrained on the same motions
    (another look), a student of at most 1/30 of its GFLOPs, at least 1,000 test videos when
    reported."""
    d, c = grid.REGIMES["d"], grid.REGIMES["c"]
    args = argparse.Namespace(regime="d", max_steps_per_epoch=None, cascade=grid.regime_cascade("d"))
    a = config.parse_args(grid._common(str(tmp_path), args) + ["--out", os.devnull])
    ac = config.parse_args(grid._common(str(tmp_path), argparse.Namespace(
        regime="c", max_steps_per_epoch=None, cascade=grid.regime_cascade("c")))
        + ["--out", os.devnull])
    same = ("optimizer", "lr", "weight_decay", "batch_size", "clip_len", "frame_stride", "resize",
            "crop_size", "eval_clips", "eval_crops", "epochs")
    assert {k: getattr(a, k) for k in same} == {k: getattr(ac, k) for k in same}
    assert a.pretrain_on == "same-motions" and ac.pretrain_on is None
    teacher, assistant, student = (models.build_model(m, 6) for m in a.cascade.split(","))
    flops = [models.count_flops(m, a.clip_len, a.crop_size, a.crop_size)
             for m in (teacher, assistant, student)]
    assert flops[0] / flops[2] >= 30 and flops[0] > flops[1] > flops[2]
    g = d["generator"]
    assert g["motion"] < 1 and {**g, "motion": 1.0} == {**c["generator"], "motion": 1.0}
    classes, videos = grid.BENCH["classes"], grid.BENCH["videos_per_class"]
    assert classes * (round(0.3 * videos) + d.get("extra_test", grid.EXTRA_TEST)) >= 1000


def test_negative_extra_test_is_one_error_line(capsys):
    with pytest.raises(SystemExit) as e:
        grid.main(["accuracy", "--quick", "--extra-test", "-1"])
    assert e.value.code == 2
    assert "error: --extra-test must be >= 0" in capsys.readouterr().err
    with pytest.raises(SystemExit) as e:  # the sweep's students are not tuned: refused
        grid.main(["tune", "--regime", "d", "--cascade", "r3d18_w0.25,r3d10_w0.125,r3d10_w0.1"])
    assert e.value.code == 2 and "error: --cascade is for `accuracy`" in capsys.readouterr().err


def test_tuned_weights_refuse_the_tuning_set_unless_checking_an_ordering(tmp_path, capsys):
    """--tuning on the set it was tuned on is refused with one error line, unless
    --check-on-tuning-set; such a grid writes set<seed>_accuracy*.json, never a report's file.
    Weights tuned at another number of epochs, or a --tuning file that does not exist, are
    refused too; `--tuning none` asks for the paper's weights only."""
    import types
    path = tmp_path / "tuning_c.json"
    path.write_text(json.dumps(dict(set_seed=1, regime="c", best={"kd": ["--lambda-kd", "4"]},
                                    args=dict(epochs=30))))
    args = types.SimpleNamespace(tuning=str(path), set_seed=1, regime="c", epochs=30,
                                 check_on_tuning_set=False, quick=False,
                                 cascade=grid.regime_cascade("c"))
    with pytest.raises(SystemExit) as e:
        grid._tuned_weights(args)
    assert str(e.value).startswith("error: ") and "--check-on-tuning-set" in str(e.value)
    args.check_on_tuning_set = True
    assert grid._tuned_weights(args) == {"kd": ["--lambda-kd", "4"]}
    assert grid._accuracy_file(args) == "set1_accuracy_c"
    args.regime = "a"
    with pytest.raises(SystemExit, match="regime c"):
        grid._tuned_weights(args)  # another regime's weights: refused even when checking
    args.set_seed, args.check_on_tuning_set = 0, False
    args.epochs = grid.REGIMES["a"]["epochs"]
    assert grid._accuracy_file(args) == "accuracy"
    args.epochs = 2 * grid.REGIMES["a"]["epochs"]  # another budget: never the regime's report
    assert grid._accuracy_file(args) == f"accuracy_a_{args.epochs}epochs"
    args.set_seed = 1
    assert grid._accuracy_file(args) == f"set1_accuracy_a_{args.epochs}epochs"
    args.set_seed, args.quick = 0, True  # a smoke test keeps the default name
    assert grid._accuracy_file(args) == "accuracy"
    args.regime, args.quick, args.epochs = "b", False, grid.REGIMES["b"]["epochs"]
    assert grid._accuracy_file(args) == "accuracy_b"
    args.regime, args.cascade = "d", grid.regime_cascade("d")
    assert grid._accuracy_file(args) == "accuracy_d"
    args.cascade, args.sweep = "r3d18_w0.25,r3d10_w0.25,r3d10_w0.18", True  # --cascade given
    assert grid._accuracy_file(args) == "sweep_d_r3d10_w0.18"  # the capacity sweep's file
    group = os.path.join(grid.RESULTS, "runs", "set", "p0.2_s1")
    student = os.path.join(group, "r3d10_w0.18")  # its runs; the teacher's is shared
    assert grid.group_folder(args, "data/set", 0.2, 1) == (group, student)
    args.cascade = grid.regime_cascade("d")  # the regime's own cascade: the group's folder
    assert grid.group_folder(args, "data/set", 0.2, 1) == (group, group)
    args.cascade, args.sweep, args.tag = grid.regime_cascade("c"), False, "twin10"
    assert grid._accuracy_file(args) == "accuracy_d_twin10"
    args.regime, args.tag = "a", None
    args.regime, args.epochs = "c", 10
    with pytest.raises(SystemExit) as e:  # 30-epoch weights in a 10-epoch report: refused
        grid._tuned_weights(args)
    assert str(e.value).startswith("error: ") and "tuned at 30 epochs" in str(e.value)
    args.epochs = 30
    assert grid._tuned_weights(args) == {"kd": ["--lambda-kd", "4"]}  # the report it is for
    args.tuning = str(tmp_path / "tunnig_c.json")  # a typo must not turn the tuned rows off
    with pytest.raises(SystemExit) as e:
        grid._tuned_weights(args)
    assert str(e.value).startswith("error: --tuning ") and "--tuning none" in str(e.value)
    args.tuning = "none"
    assert grid._tuned_weights(args) == {}
    args.regime = "b"
    for name in ("accuracy.json", "accuracy_b.json", "set1_accuracy_c.json",
                 "accuracy_a_10epochs.json"):
        (tmp_path / name).write_text("{}")
    assert tables.regimes(str(tmp_path)) == {"a": "accuracy", "b": "accuracy_b",
                                            "a_10epochs": "accuracy_a_10epochs"}


@pytest.mark.parametrize("argv, name", [
    (["--regime", "b"], "tuning_b"),
    (["--regime", "a", "--epochs", "10"], "tuning_a_10epochs"),
    (["--regime", "c", "--epochs", "10"], "tuning_c_10epochs"),
])
def test_default_tuning_is_the_regimes_own_file_and_missing_stops_before_work(argv, name, tmp_path,
                                                                                monkeypatch):
    """`python -m experiments.grid accuracy --regime b` reads experiments/results/tuning_b.json, and
    a grid at another number of
    epochs than its regime's the tuning made at those epochs; where it is missing the grid stops
    with one error line before it makes any data or trains anything."""
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as e:
        grid.main(["accuracy", *argv, "--videos-per-class", "5"])
    assert str(e.value).startswith(f"error: --tuning experiments/results/{name}.json: no such file")
    assert os.listdir(tmp_path) == []


def test_a_tuning_at_another_budget_gets_its_own_file():
    import types

    def name(regime, epochs, quick=False):
        return grid._tuning_name(types.SimpleNamespace(regime=regime, epochs=epochs, quick=quick))
    assert name("a", grid.REGIMES["a"]["epochs"]) == "tuning"
    assert name("b", grid.REGIMES["b"]["epochs"]) == "tuning_b"
    assert name("c", grid.REGIMES["c"]["epochs"]) == "tuning_c"
    assert name("a", 10) == "tuning_a_10epochs" and name("b", 10) == "tuning_b_10epochs"
    assert grid.REGIMES["a"]["epochs"] == grid.REGIMES["b"]["epochs"] == 30  # report section 5
    assert name("a", 2, quick=True) == "tuning"  # a smoke test keeps the default name
