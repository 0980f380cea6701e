"""lottery.py: when a link leaves chance, read from a metrics.jsonl written by hand, and the
spread over perturbations, computed by hand."""
import json
import math

import pytest

from experiments import lottery


def write_metrics(path, links):
    """links: [(first epoch with a task loss, [epoch means of task], [chance], video acc)]."""
    lines = []
    for j, (start, task, chance, acc) in enumerate(links):
        lines.append(dict(event="link", link=j))
        for e in range(1, start):  # feature-only phases: no task term
            lines.append(dict(event="train", link=j, epoch=e, epoch_mean=dict(feat=1.0)))
        for k, (t, c) in enumerate(zip(task, chance)):
            lines.append(dict(event="train", link=j, epoch=start + k, task=9.9,  # one step's
                              epoch_mean=dict(task=t, chance=c)))
        lines.append(dict(event="eval", link=j, video_acc=acc))
    path.write_text("\n".join(json.dumps(m) for m in lines) + "\n")


def test_leaves_chance_counts_from_the_first_epoch_with_a_task_loss(tmp_path):
    ln6 = math.log(6)
    write_metrics(tmp_path / "m.jsonl", [
        (1, [1.80, 1.62, 1.60], [ln6] * 3, 0.5),  # 1.60 < 0.9 ln 6 = 1.6126: epoch 3
        (5, [3.5, 3.3, 2.0], [3.4, 3.4, 3.3], 0.7),  # chance 2 ln K-ish: 2.0 < 0.9 * 3.3 at 7
        (1, [1.79, 1.79], [ln6] * 2, 0.2),  # never
    ])
    links = lottery.link_figures(tmp_path / "m.jsonl")
    assert [l["start"] for l in links] == [1, 5, 1]
    assert [l["escape"] for l in links] == [3, 3, None]  # the student's: epoch 7 = 3rd of its
    assert [l["video_acc"] for l in links] == [0.5, 0.7, 0.2]
    assert links[1]["task"] == [3.5, 3.3, 2.0]  # the epoch means, not the last step's 9.9


def test_table_spread_over_seeds_and_threads_only():
    def run(name, config, acc, escape):
        return dict(name=name, config=config, seed=0, kind="pretrain",
                    links=[dict(video_acc=acc, escape=escape)])
    runs = [run("a", "t1", 0.70, 2), run("b", "t2", 0.80, 3), run("c", "t1", 0.74, None),
            run("p", "t2_aten-default", 0.10, 9)]  # the portable kernels: shown, not counted
    text, summary = lottery.table(runs, "pretrain", "t2_aten-default")
    s = summary[0]
    assert s["n"] == 3 and s["acc_median"] == 0.74
    assert (s["acc_min"], s["acc_max"]) == (0.70, 0.80)
    assert s["acc_span"] == pytest.approx(0.10) and s["acc_off_median"] == pytest.approx(0.06)
    assert s["escape_max"] is None and s["escape_median"] == 3  # one run never left chance
    assert "| pretraining | 3 | 0.740 | 0.700 | 0.800 | 0.100 | 0.060 | 3, never |" in text
    assert "| p | 0.100 | 9 |" in text and "never" in text


def test_bad_thread_counts_are_one_error_line(capsys):
    for bad in ("x", "0,2"):
        with pytest.raises(SystemExit) as e:
            lottery.main(["--threads", bad])
        assert e.value.code == 2
        err = capsys.readouterr().err.strip().splitlines()[-1]
        assert err.startswith("python -m experiments.lottery: error: --threads") and bad in err
