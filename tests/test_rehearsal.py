"""rehearsal.py on a tiny tree: HMDB51's official layout (read back by data.py), every link
timed, the projection equal to the sum of its parts, the tree reused, resumed and never
overwritten. Its times are measured by the command, never asserted here."""
import json
import math
import os
import shutil
import subprocess
import sys

import pytest

import data
from experiments import rehearsal
from cascade import S

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run_rehearsal(tmp_path, *args):
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=REPO)
    out = subprocess.run([sys.executable, "-m", "experiments.rehearsal", *args],
                         cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr
    return out.stdout


# A tiny tree (3 classes x (4 train + 2 test) videos of ~16 frames at 64x48) and the real HMDB51
# cascade on 4 x 32 x 32 clips, 1 epoch of at most 2 steps per link: about 25 s on one core.
REHEARSAL_TREE = ["--classes", "3", "--train-per-class", "4", "--test-per-class", "2",
                  "--frames", "16", "--width", "64", "--height", "48", "--gen-workers", "1"]
REHEARSAL_RUN = ["--epochs", "1", "--max-steps-per-epoch", "2", "--device", "cpu", "--workers",
                 "0", "--clip-len", "4", "--resize", "48", "--crop", "32", "--eval-clips", "1",
                 "--eval-crops", "1", "--pl-clips", "1", "--batch-size", "2"]


def tree_files(root):
    """{path relative to root: mtime_ns} of the tree, without the probe cache train.py adds."""
    return {os.path.relpath(os.path.join(d, n), root): os.stat(os.path.join(d, n)).st_mtime_ns
            for d, _, names in os.walk(root) for n in names if n != "skd_metadata.json"}


def test_rehearsal_times_every_link_projects_the_default_run_and_reuses_its_tree(tmp_path):
    out = run_rehearsal(tmp_path, "--root", "tree", *REHEARSAL_TREE, *REHEARSAL_RUN)
    assert "accuracy is meaningless" in out

    # the tree: HMDB51's official layout, read by data.py as --dataset hmdb51 reads it
    root = tmp_path / "tree"
    classes = sorted(d.name for d in root.iterdir() if d.is_dir()
                     and d.name != "testTrainMulti_7030_splits")
    assert classes == ["brush_hair", "cartwheel", "catch"]  # HMDB51's first three class names
    for cls in classes:
        assert len(list((root / cls).glob("*.avi"))) == 6
        for fold in (1, 2, 3):
            lines = (root / "testTrainMulti_7030_splits" / f"{cls}_test_split{fold}.txt"
                     ).read_text().splitlines()
            tags = [line.rsplit(None, 1)[1] for line in lines]
            assert all(line.rsplit(None, 1)[0].endswith(".avi") for line in lines)
            assert sorted(tags) == ["1"] * 4 + ["2"] * 2
    for fold in (1, 2, 3):
        train, test, names = data.list_hmdb51(str(root), fold)
        assert names == classes
        assert [sum(v.label == c for v in train) for c in range(3)] == [4, 4, 4]
        assert [sum(v.label == c for v in test) for c in range(3)] == [2, 2, 2]

    # the figures: three links, each with positive times, consistent with each other
    with open(tmp_path / "experiments" / "results" / "rehearsal.json") as f:
        result = json.load(f)
    links = result["links"]
    assert [r["role"] for r in links] == ["teacher", "assistant", "student"]
    assert [r["arch"] for r in links] == data.DATASETS["hmdb51"]["cascade"].split(",")
    assert result["device"].startswith("CPU") and result["peak_gib"] is None
    assert result["tree"]["train_videos"] == 12 and result["tree"]["test_videos"] == 6
    assert not result["tree"]["reused"] and result["tree"]["seconds"] >= 0
    assert not result["tree"]["probe_cached"]  # the run's set-up probed the new tree
    epochs = data.DATASETS["hmdb51"]["epochs"]
    total = result["projection"]["set_up_min"] + result["projection"]["end_min"]
    for r in links:
        assert r["s_per_step"] > 0 and r["steps_timed"] >= 1
        assert r["timed_from"] == "steady steps"  # 2 steps an epoch: the second one is timed
        assert r["steps_per_epoch"] == math.ceil(12 / 2)  # train videos / batch
        assert r["min_per_epoch"] == pytest.approx(
            (r["steps_per_epoch"] * r["s_per_step"] + r["epoch_start_up_s"]) / 60)
        assert r["eval_min"] > 0 and r["link_start_min"] > 0
        assert r["evaluations_logged"] == r["evaluations_predicted"] == 1  # 1 epoch: 1 evaluation
        assert (r["pseudo_label_min"] is None) == (r["link"] == 0)  # a refresh before links 1, 2
        assert r["pseudo_label_min"] is None or 0 < r["pseudo_label_min"] <= r["link_start_min"]
        # the default run: 30 epochs x 6 steps, dealt out to the phases; the teacher link is not
        # staged (30 evaluations), the others' head trains from epoch 5 on (phases 1-4 take one
        # epoch each: --phase-epochs 1), so they are evaluated 26 times
        p, phases = r["projected"], r["phases"]
        assert sum(ph["default_steps"] for ph in phases.values()) == epochs * 6
        assert phases[str(S + 1)]["s_per_step"] == r["s_per_step"]
        assert p["evaluations"] == (epochs if r["link"] == 0 else epochs - S)
        assert p["train_min"] == pytest.approx(
            (sum(ph["default_steps"] * ph["s_per_step"] for ph in phases.values())
             + epochs * r["epoch_start_up_s"]) / 60)
        assert p["total_min"] == pytest.approx(p["train_min"] + p["evaluations"] * r["eval_min"]
                                               + r["link_start_min"])
        total += p["total_min"]
    assert result["projection"]["total_min"] == pytest.approx(total)
    assert "Projected wall time of the default run" in out

    # a second call with the same parameters reuses the tree: no file is written again
    before = tree_files(root)
    out = run_rehearsal(tmp_path, "--root", "tree", *REHEARSAL_TREE,
                        "--generate-only")
    assert "reusing the rehearsal tree" in out and tree_files(root) == before
    assert "cached already" in out  # the run's probe of the videos, in skd_metadata.json
    # other parameters: refused with one line, nothing touched
    p = subprocess.run([sys.executable, "-m", "experiments.rehearsal", "--root",
                        "tree", *REHEARSAL_TREE[:-4], "--frames", "20", "--gen-workers", "1",
                        "--generate-only"], cwd=tmp_path, capture_output=True, text=True,
                       timeout=120, env=dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=REPO))
    assert p.returncode != 0 and p.stderr.startswith("error: ") and p.stderr.count("\n") == 1
    assert "other parameters" in p.stderr and tree_files(root) == before


def test_rehearsal_tree_resumes_an_interrupted_generation_with_the_same_bytes(tmp_path,
                                                                            monkeypatch):
    monkeypatch.chdir(tmp_path)
    rehearsal.main(["--root", "whole", *REHEARSAL_TREE, "--generate-only"])
    # an interrupted generation of "cut": the tree in the making, without two of its videos
    # (one being written), its marker not yet final
    shutil.copytree(tmp_path / "whole", tmp_path / "cut.partial")
    (tmp_path / "cut.partial" / "rehearsal.json").write_text(
        json.dumps(dict(params=json.loads((tmp_path / "whole" / "rehearsal.json").read_text())
                        ["params"], seconds=None)))
    lost = sorted((tmp_path / "cut.partial" / "catch").glob("*.avi"))[:2]
    lost[0].unlink()
    lost[1].rename(lost[1].with_name(lost[1].name[:-4] + ".partial.avi"))
    kept = {n: t for n, t in tree_files(tmp_path / "cut.partial").items()
            if n.endswith(".avi") and ".partial" not in n}
    rehearsal.main(["--root", "cut", *REHEARSAL_TREE, "--generate-only"])
    assert not (tmp_path / "cut.partial").exists()
    after = tree_files(tmp_path / "cut")
    assert set(after) == set(tree_files(tmp_path / "whole"))  # no leftover .partial.avi
    assert all(after[n] == t for n, t in kept.items())  # the whole files were kept
    for name in after:  # and the regenerated ones have the very same bytes (same seed)
        if name.endswith((".avi", ".txt")):
            assert (tmp_path / "cut" / name).read_bytes() == (tmp_path / "whole" / name
                                                               ).read_bytes(), name
    # a folder that is not a rehearsal tree is never written into
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep")
    with pytest.raises(SystemExit, match="^error: .*not a rehearsal tree"):
        rehearsal.main(["--root", "mine", *REHEARSAL_TREE, "--generate-only"])
    assert os.listdir(tmp_path / "mine") == ["notes.txt"]
