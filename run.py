"""A run of train.py: where it runs and what it leaves behind. Its processes (a torchrun launch
or one), its folder and log (a readable line on stdout, the same facts as JSON in metrics.jsonl),
and its checkpoint: the resume state that --resume continues from, written atomically after
every epoch and every link, and the one-line stops that name what is safe in it.
"""
import json
import os
import sys
import time
from dataclasses import dataclass

import torch
import torch.distributed

from config import Args, settings
from models import read_torch_file


# -----------------------------------------------------------------------------
# The run: where it runs and where it writes. Without torchrun, world = 1.

@dataclass
class Run:
    """What every part of main shares: the arguments, the processes, the clock and the log."""
    a: Args
    device: torch.device
    rank: int = 0              # this process, 0 .. world - 1
    world: int = 1             # processes of the run (torchrun's WORLD_SIZE)
    t_start: float = 0.0       # time.time() when this process started
    wall_before: float = 0.0   # seconds spent by the interrupted process(es) of this run (--resume)

    @property
    def main_proc(self):
        return self.rank == 0  # the one process that prints and writes files

    def file(self, name):
        return os.path.join(self.a.out, name)

    def wall(self):
        """Seconds this run has taken so far, its interrupted processes included."""
        return self.wall_before + time.time() - self.t_start

    def log(self, event, text=None, **values):
        """A readable line on stdout and the same facts as one JSON line in metrics.jsonl."""
        if self.main_proc:
            if text:
                print(text, flush=True)
            with open(self.file("metrics.jsonl"), "a") as f:  # line by line: a kill loses nothing
                f.write(json.dumps(dict(event=event, time=round(time.time() - self.t_start, 2),
                                        **values)) + "\n")


def world_info():
    return int(os.environ.get("RANK", 0)), int(os.environ.get("WORLD_SIZE", 1))


def all_sum(t):
    """Sum a tensor over processes (each fills its own rows, zeros elsewhere)."""
    if torch.distributed.is_initialized():
        torch.distributed.all_reduce(t)
    return t


def set_up(a, t_start):
    """The device, the processes of a torchrun launch and the run folder -> Run."""
    rank, world = world_info()
    if a.device == "auto":
        a.device = "cuda" if torch.cuda.is_available() else "cpu"
    if world > 1:
        torch.distributed.init_process_group("nccl" if a.device == "cuda" else "gloo")
        torch.set_num_threads(max(1, (os.cpu_count() or 1) // world))
    device = torch.device(a.device, int(os.environ.get("LOCAL_RANK", 0))) \
        if a.device == "cuda" else torch.device("cpu")
    if device.type == "cuda":
        torch.cuda.set_device(device)
        torch.backends.cudnn.benchmark = True
    os.makedirs(a.out, exist_ok=True)
    return Run(a, device, rank, world, t_start)


# -----------------------------------------------------------------------------
# Resume state: a plain dict, saved atomically after every epoch and after every link

RESUME_KEYS = {"link", "epoch", "finished", "results", "pl_reports", "wall", "config", "distiller",
               "optimizer", "pseudo"}  # see resume_state


def resume_state(run, archs, saved):
    """The resume state: a fresh one, or `saved`, read_resume_state's of the run folder's
    checkpoint (--resume), once its configuration is checked against this run's.

    Its keys, the format of checkpoint.pt (a checkpoint of an earlier run resumes as long as
    these keys keep their meaning):
      link        model of the cascade in training, 0-based; num_models once all are finished
      epoch       epochs of that model finished (0 at the start of a link)
      finished    state_dicts of the finished models 0 .. link - 1, in cascade order
      results     evaluate()'s dict of every finished model, in cascade order
      pl_reports  the report of every pseudo-label refresh (Sec. 5), with the link it was for
      wall        seconds the run has taken so far, over all its processes
      config      config.settings of the run; --resume refuses a different one (see `ignore`)
      distiller   Distiller.state_dict() of the link in training (student, connectors,
                  balancer); None between links
      optimizer   that link's optimizer.state_dict(); None between links
      pseudo      the pseudo-labels that link trains with (pseudolabel.refresh's dict:
                  targets, weights, keep, labels, report); None between links
    """
    a = run.a
    state = dict(link=0, epoch=0, finished=[], results=[], pl_reports=[], wall=0.0,
                 config=settings(a), distiller=None, optimizer=None, pseudo=None)
    if saved is None:
        return state
    state = saved
    ignore = {"resume", "workers", "device", "log_every", "out"}  # a run folder may move
    diff = {k: (v, getattr(a, k)) for k, v in state["config"].items()
            if k not in ignore and getattr(a, k, None) != v}
    if diff:
        sys.exit("error: --resume with a configuration that differs from the saved one "
                 "(saved, given): " + ", ".join(f"{k}: {v[0]!r} vs {v[1]!r}"
                                                for k, v in diff.items()))
    run.log("resume", f"resuming {a.out}: model {state['link'] + 1}/{len(archs)}, "
            f"after epoch {state['epoch']}")
    return state


def read_resume_state(path, archs):
    """checkpoint.pt -> the resume state, read with weights_only=True: tensors and plain values
    only, so that a run folder from elsewhere cannot run code when resumed. A damaged file, or
    one that is not a resume state, stops the run with one line that names it and says what
    still holds: the finished models model<j>_<arch>.pt (each written whole, by rename)."""
    try:
        state = read_torch_file(path)
        if not isinstance(state, dict) or set(state) != RESUME_KEYS:
            raise ValueError(f"{path} is not a resume state of train.py (keys "
                             f"{sorted(state) if isinstance(state, dict) else type(state).__name__}"
                             f", expected {sorted(RESUME_KEYS)})")
    except ValueError as e:
        folder = os.path.dirname(path)
        done = []  # the finished models, cascade order, up to the first one missing
        for j, arch in enumerate(archs):
            if not os.path.isfile(os.path.join(folder, f"model{j}_{arch}.pt")):
                break
            done.append(os.path.join(folder, f"model{j}_{arch}.pt"))
        keep = (f"its {len(done)} finished model(s) are intact: start a new run from them with "
                f"--teacher-weights {','.join(done)} --split {os.path.join(folder, 'split.json')} "
                "--out <a new folder>, or " if done else "")
        sys.exit(f"error: {e}; cannot resume: {keep}delete {path} and run without --resume to "
                 "start again")
    return state


def mid_link(state, link):
    """Whether the resume state holds link `link` part-trained (killed between two epochs)."""
    return state["link"] == link and state["distiller"] is not None


def save_checkpoint(run, state, **changes):
    """Update the resume state (see resume_state) and write it to checkpoint.pt."""
    state.update(changes, config=settings(run.a), wall=run.wall())
    if run.main_proc:
        save_atomic(state, run.file("checkpoint.pt"))


def save_atomic(obj, path):
    """torch.save to a temporary file, then rename: a kill never leaves a half-written file."""
    torch.save(obj, path + ".tmp")
    os.replace(path + ".tmp", path)



def stop_if_not_finite(run, first_bad, terms, name, epoch):
    """Stop the run with nan_stop_message if a step of this epoch had a non-finite loss;
    `first_bad` is that step on the device (-1: none), `terms` the latest step's loss terms."""
    bad_step = int(first_bad)  # waits for the device: once per progress line, not per step
    if bad_step >= 0:
        sys.exit(nan_stop_message(terms, f"{name}, epoch {epoch + 1}, step {bad_step + 1}",
                                  run.file("checkpoint.pt"), run.a.amp))


def nan_stop_message(terms, where, ckpt_path, amp):
    """The one-line stop for a non-finite loss: which term, where, what is safe, what to try.
    `terms`: the loss terms of a step at or after `where` (the first non-finite one named)."""
    bad = next((k for k, v in terms.items() if not torch.isfinite(v)), "loss")
    cause = ("--amp is on: bf16 autocast is the likely cause (a value past bf16's range or "
             "precision); rerun without --amp to check, then try a lower --lr" if amp else
             "try a lower --lr")
    return (f"error: loss term '{bad}' is {terms[bad].item()} at {where}; stopped. The last good "
            f"checkpoint ({ckpt_path}, if any) is intact. {cause[0].upper()}{cause[1:]}.")
