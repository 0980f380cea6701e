"""A method is added in one place: an entry of cascade.METHODS. A toy method (an MSE between the
student's and the teacher's logits, with its own --toy-weight flag and tuning grid) is added
through the table alone, then run by train.py, by a quick accuracy grid and by tune, and drawn
in the accuracy figure with the colour its entry gives (README, "Add your own distillation
method")."""
import json

import pytest
import torch.nn.functional as F

import train
from cascade import METHODS, Method, add_method
from experiments import grid, plots


def toy_loss(d, fs, ft, zs, zt, batch, progress):
    """The toy method's term: --toy-weight * MSE of the logits (the teacher's detached)."""
    return {"toy": d.cfg.toy_weight * F.mse_loss(zs, zt.detach())}


@pytest.fixture
def toy():
    add_method(Method("toy", "MSE between the logits (a test's toy)", toy_loss, ("toy",),
                      weight="toy_weight", flags={"toy_weight": (0.5, "toy: weight of the MSE")},
                      tune=(("--toy-weight", "0.1"), ("--toy-weight", "0.5")),
                      colour="tab:olive"))
    yield METHODS["toy"]
    del METHODS["toy"]


class Recorder:
    """Stands in for matplotlib (not a dependency): accepts every call, records errorbar's."""

    def __init__(self, calls):
        self.calls = calls

    def __getattr__(self, name):
        def call(*args, **kwargs):
            self.calls.append((name, args, kwargs))
            return Recorder(self.calls)
        return call

    def subplots(self, *args, **kwargs):
        import numpy as np
        axes = np.empty((1, 1), dtype=object)
        axes[0, 0] = Recorder(self.calls)
        return Recorder(self.calls), axes


def test_a_method_added_through_the_table_runs_everywhere(toy, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # runs/, data/ and experiments/results/ of the grid go here
    # -- train.py: its flag, its term in the loss and in metrics.jsonl, its config
    root = tmp_path / "data" / "sim"
    out = tmp_path / "run"
    tiny = ["--clip-len", "4", "--frame-stride", "1", "--resize", "32", "--crop-size", "24",
            "--eval-clips", "1", "--pl-clips", "1", "--batch-size", "4", "--epochs", "1",
            "--max-steps-per-epoch", "2", "--workers", "0", "--pretrain-epochs", "0",
            "--cascade", "r3d10_w0.125,r3d10_w0.125"]
    from synthetic import make_synthetic
    make_synthetic(str(root), classes=3, videos_per_class=4, frames=12, size=32, difficulty=0.3,
                   seed=0, quiet=True)
    train.main(["--data-root", str(root), "--method", "toy", "--toy-weight", "2", *tiny,
                "--out", str(out)])
    events = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert events[0]["config"]["toy_weight"] == 2.0 and events[0]["config"]["method"] == "toy"
    student = [e for e in events if e["event"] == "train" and e["link"] == 1]
    assert student and all("toy" in e for e in student)
    assert all(e["loss"] == pytest.approx(e["task"] + e["toy"], abs=2e-3) for e in student)
    assert json.loads((out / "summary.json").read_text())["models"][-1]["role"] == "student"

    # -- a quick grid: its row, at the paper's weight and at the tuned one
    grid.main(["tune", "--quick", "--videos-per-class", "5", "--methods", "toy", "--jobs", "1"])
    tuning = json.loads((tmp_path / "experiments" / "results" / "tuning.json").read_text())
    assert [r["flags"] for r in tuning["rows"]] == [["--toy-weight", "0.1"],
                                                    ["--toy-weight", "0.5"]]
    grid.main(["accuracy", "--quick", "--videos-per-class", "5", "--methods", "pseudo", "toy",
               "--no-ablations", "--jobs", "1"])
    folder = tmp_path / "experiments" / "results"
    result = json.loads((folder / "accuracy.json").read_text())
    names = {r["name"] for r in result["rows"]}
    assert "toy" in names and "pseudo" in names
    assert ("toy (tuned)" in names) == (tuning["best"]["toy"] != ["--toy-weight", "0.5"])

    # -- the figure: the toy's line, in its table colour
    calls = []
    plots.fig_accuracy(Recorder(calls), {"a": result}, str(folder / "accuracy.png"))
    lines = {kw["color"] for name, _, kw in calls if name == "errorbar"}
    assert "tab:olive" in lines and plots._colour("toy (tuned)") == "tab:olive"
