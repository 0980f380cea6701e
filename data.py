"""Video data: HMDB51, UCF101 and the simulated data set, decoded clip by clip with PyAV.

What this file implements (see METHOD.md):
  Sec. 1  the weak-supervision split: labelled fraction p per class, optional label noise r,
          fixed seed, saved to / loaded from JSON; true labels kept for reporting only.
  Sec. 8  clips for evaluation: K uniformly spaced clips x 1 or 3 spatial crops per video.
  Sec. 9  the simulated data set: classes that differ only by motion, written as MPEG-4 AVI files
          in the HMDB51 layout, so that it goes through exactly the loader of the real data.

Layouts read (the official archives, unpacked as they come):
  HMDB51  <root>/<class>/<video>.avi
          <root>/testTrainMulti_7030_splits/<class>_test_split{1,2,3}.txt  (or <root>/splits/)
          lines "<video>.avi <tag>", tag 1 = train, 2 = test, 0 = unused.
  UCF101  <root>/UCF-101/<Class>/v_<Class>_gXX_cYY.avi   (or <root>/<Class>/...)
          <root>/ucfTrainTestlist/classInd.txt ("1 ApplyEyeMakeup", 1-based),
          trainlist0{1,2,3}.txt ("Class/v_...avi 1"), testlist0{1,2,3}.txt ("Class/v_...avi").

A clip is a float tensor (3, T, H, W): T frames taken every `frame_stride` frames, normalised with
the mean and std of torchvision's Kinetics-400 video models so that their weights can be used.

Command line:
  python data.py --make-synthetic data/synthetic      # write the simulated data set
  python data.py --summary hmdb51 --root data/hmdb51  # check a download: counts per fold
"""
import argparse
import hashlib
import json
import math
import multiprocessing as mp
import os
import sys
import time
import warnings
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from fractions import Fraction

import av
import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import Dataset, get_worker_info

# -----------------------------------------------------------------------------
# Per-data-set defaults: the one place they live. train.py reads them for any flag left unset.
#   clip_len      frames per clip (T)
#   frame_stride  take every n-th frame; clip span = (clip_len - 1) * frame_stride + 1 frames
#   resize        short side in pixels before cropping (torchvision's K400 models: 128)
#   crop          square crop in pixels (H = W), 112 for the K400 models
#   eval_clips    K uniformly spaced clips per video at evaluation (Sec. 8)
#   eval_crops    1 = centre crop, 3 = three crops along the long side
DATASETS = {
    "hmdb51": dict(num_classes=51, root="data/hmdb51", clip_len=16, frame_stride=2,
                   resize=128, crop=112, eval_clips=10, eval_crops=3),
    "ucf101": dict(num_classes=101, root="data/ucf101", clip_len=16, frame_stride=2,
                   resize=128, crop=112, eval_clips=10, eval_crops=3),
    # The simulated set is small so that the whole method runs on a laptop CPU (Sec. 9).
    "synthetic": dict(num_classes=10, root="data/synthetic", clip_len=8, frame_stride=2,
                      resize=64, crop=56, eval_clips=4, eval_crops=1),
}

# torchvision's Kinetics-400 video models (r3d_18, mc3_18, r2plus1d_18) expect these, RGB in [0, 1].
KINETICS_MEAN = (0.43216, 0.394666, 0.37645)
KINETICS_STD = (0.22803, 0.22145, 0.216989)

OFFICIAL = {
    "hmdb51": "https://serre-lab.clps.brown.edu/resource/hmdb-a-large-human-motion-database/ "
              "(hmdb51_org.rar: one .rar per class, unpack each into <root>/<class>/; "
              "test_train_splits.rar: unpack into <root>/testTrainMulti_7030_splits/)",
    "ucf101": "https://www.crcv.ucf.edu/data/UCF101.php "
              "(UCF101.rar unpacks to <root>/UCF-101/<Class>/; "
              "UCF101TrainTestSplits-RecognitionTask.zip unpacks to <root>/ucfTrainTestlist/)",
    "synthetic": "no download: `python data.py --make-synthetic <root>` writes it",
}
LAYOUT = {
    "hmdb51": "<root>/<class>/<video>.avi and <root>/testTrainMulti_7030_splits/"
              "<class>_test_split{1,2,3}.txt (or <root>/splits/, or --split-dir)",
    "ucf101": "<root>/UCF-101/<Class>/v_<Class>_gXX_cYY.avi (or <root>/<Class>/...) and "
              "<root>/ucfTrainTestlist/{classInd.txt,trainlist0N.txt,testlist0N.txt}",
    "synthetic": "the HMDB51 layout, with synthetic.json holding the generator's parameters",
}
VIDEO_EXTENSIONS = (".avi", ".mp4", ".mkv", ".webm", ".mov")
METADATA_FILE = "skd_metadata.json"  # beside the videos; see scan_videos


class DatasetError(RuntimeError):
    """The data set cannot be used as given: the message names the problem and the fix."""


class DataWarning(UserWarning):
    """Some videos were skipped or replaced; the run goes on without them."""


@dataclass
class Video:
    path: str          # absolute or root-relative file path
    label: int         # true class index, 0-based
    num_frames: int = 0
    fps: float = 0.0
    width: int = 0
    height: int = 0


# -----------------------------------------------------------------------------
# Listing the official splits

def _read_lines(path):
    """Non-blank lines with CRLF and trailing blanks removed."""
    with open(path, encoding="utf-8", errors="replace") as f:
        return [line.strip() for line in f if line.strip()]


def _missing(name, root, what):
    return DatasetError(f"{name}: {what}.\nExpected layout: {LAYOUT[name]}\n"
                        f"Root given: {os.path.abspath(root)}\n"
                        f"The official archives: {OFFICIAL[name]}")


def list_hmdb51(root, fold, split_dir=None, name="hmdb51"):
    """Official HMDB51 split `fold` -> (train videos, test videos, class names).

    Classes are the sorted class folder names (indices from 0). A split line is
    "<video>.avi <tag>"; names hold ( ) ! & ' - and spaces, so we split on the LAST whitespace.
    """
    if not os.path.isdir(root):
        raise _missing(name, root, "the data set root does not exist")
    candidates = [split_dir] if split_dir else [os.path.join(root, "testTrainMulti_7030_splits"),
                                                os.path.join(root, "splits")]
    split_dir = next((d for d in candidates if d and os.path.isdir(d)), None)
    if split_dir is None:
        raise _missing(name, root, f"no split folder found (looked for {', '.join(candidates)})")
    skip = {os.path.abspath(split_dir)}
    classes = sorted(d for d in os.listdir(root) if os.path.isdir(os.path.join(root, d))
                     and not d.startswith(".") and os.path.abspath(os.path.join(root, d)) not in skip
                     and d not in ("splits", "testTrainMulti_7030_splits"))
    if not classes:
        raise _missing(name, root, "no class folders found")
    train, test, missing = [], [], []
    for label, cls in enumerate(classes):
        split_file = os.path.join(split_dir, f"{cls}_test_split{fold}.txt")
        if not os.path.isfile(split_file):
            raise _missing(name, root, f"split file {split_file} is missing for class '{cls}'")
        for line in _read_lines(split_file):
            parts = line.rsplit(None, 1)
            if len(parts) != 2 or parts[1] not in ("0", "1", "2"):
                raise DatasetError(f"{split_file}: cannot parse line {line!r}; "
                                   "expected '<video>.avi <tag>' with tag 0, 1 or 2")
            video, tag = parts
            path = os.path.join(root, cls, video)
            if tag == "0":
                continue  # tag 0: not used in this fold
            if not os.path.isfile(path):
                missing.append(os.path.join(cls, video))
                continue
            (train if tag == "1" else test).append(Video(path, label))
    _warn_skipped(missing, "listed in a split file but missing on disk")
    _check_nonempty(name, root, classes, train, test)
    return train, test, classes


def list_ucf101(root, fold, split_dir=None, name="ucf101"):
    """Official UCF101 split `fold` -> (train videos, test videos, class names).

    Labels come from classInd.txt (1-based there, 0-based here). The real archive has a quirk:
    folder HandstandPushups holds files v_HandStandPushups_*, and the lists may spell either,
    so list entries are resolved case-insensitively against the files on disk.
    """
    if not os.path.isdir(root):
        raise _missing(name, root, "the data set root does not exist")
    split_dir = split_dir or os.path.join(root, "ucfTrainTestlist")
    needed = [os.path.join(split_dir, f) for f in
              ("classInd.txt", f"trainlist0{fold}.txt", f"testlist0{fold}.txt")]
    for f in needed:
        if not os.path.isfile(f):
            raise _missing(name, root, f"list file {f} is missing")
    video_root = os.path.join(root, "UCF-101")
    video_root = video_root if os.path.isdir(video_root) else root
    classes = [None] * len(_read_lines(needed[0]))
    for line in _read_lines(needed[0]):
        index, cls = line.split(None, 1)
        classes[int(index) - 1] = cls.strip()
    label_of = {c.lower(): i for i, c in enumerate(classes)}
    # One walk of the tree: lower-cased "Class/file.avi" -> real path on disk.
    on_disk = {}
    for cls_dir in os.listdir(video_root):
        full = os.path.join(video_root, cls_dir)
        if os.path.isdir(full) and cls_dir.lower() in label_of:
            for f in os.listdir(full):
                on_disk[f"{cls_dir}/{f}".lower()] = os.path.join(full, f)
    if not on_disk:
        raise _missing(name, root, f"no videos of the classes in classInd.txt under {video_root}")
    splits, missing = {}, []
    for key, list_file in (("train", needed[1]), ("test", needed[2])):
        splits[key] = []
        for line in _read_lines(list_file):
            rel = line.rsplit(None, 1)[0] if key == "train" else line  # train lines end in a label
            rel = rel.replace("\\", "/")
            cls = rel.split("/", 1)[0].lower()
            if cls not in label_of:
                raise DatasetError(f"{list_file}: class of {rel!r} is not in classInd.txt")
            path = on_disk.get(rel.lower())
            if path is None:
                missing.append(rel)
                continue
            splits[key].append(Video(path, label_of[cls]))
    _warn_skipped(missing, "listed in a split file but missing on disk")
    _check_nonempty(name, root, classes, splits["train"], splits["test"])
    return splits["train"], splits["test"], classes


def _warn_skipped(names, why):
    if names:
        shown = ", ".join(names[:10]) + (f", ... ({len(names) - 10} more)" if len(names) > 10 else "")
        warnings.warn(f"skipped {len(names)} video(s) {why}: {shown}", DataWarning, stacklevel=3)


def _check_nonempty(name, root, classes, train, test):
    present = {v.label for v in train}
    empty = [c for i, c in enumerate(classes) if i not in present]
    if empty:
        raise _missing(name, root, f"{len(empty)} class(es) have no usable training video: "
                                   f"{', '.join(empty[:10])}")
    if not test:
        raise _missing(name, root, "the test split holds no usable video")


# -----------------------------------------------------------------------------
# Metadata: probed once per video, cached in <root>/skd_metadata.json

def probe_video(path):
    """Frame count, fps and size of one video; raises ValueError if it is empty, truncated or
    not a video. Counts packets (demux only, no decoding) and decodes the first frame."""
    if os.path.getsize(path) == 0:
        raise ValueError("zero-byte file")
    try:
        with av.open(path) as container:
            if not container.streams.video:
                raise ValueError("no video stream")
            stream = container.streams.video[0]
            header = stream.frames  # what the container claims; 0 when it does not say
            packets = sum(1 for p in container.demux(stream) if p.size > 0)
            if packets == 0 or (header and packets < header):
                raise ValueError(f"truncated: {packets} of {header} frames present")
            fps = float(stream.average_rate or stream.guessed_rate or 25)
            width, height = stream.codec_context.width, stream.codec_context.height
        first = read_frames(path, [0], threads=1)  # decodes: catches an unreadable codec
    except av.FFmpegError as e:
        raise ValueError(f"not a readable video ({type(e).__name__}: {e})") from None
    assert first.shape == (1, height, width, 3), first.shape
    return dict(num_frames=packets, fps=fps, width=width, height=height)


def scan_videos(videos, root, workers=4):
    """Fill in frame counts; drop (with one warning) videos that cannot be decoded.

    The probe results are cached in <root>/skd_metadata.json, keyed by path relative to root
    and invalidated by a change of file size or modification time, so the second start is fast.
    """
    cache_path = os.path.join(root, METADATA_FILE)
    try:
        with open(cache_path) as f:
            cache = json.load(f)
    except (OSError, ValueError):
        cache = {}

    def stamp(path):
        st = os.stat(path)
        return [st.st_size, st.st_mtime_ns]

    def probe(video):
        key = os.path.relpath(video.path, root)
        entry = cache.get(key)
        if entry is None or entry.get("stamp") != stamp(video.path):
            try:
                entry = dict(stamp=stamp(video.path), **probe_video(video.path))
            except ValueError as e:
                entry = dict(stamp=stamp(video.path), error=str(e))
        return key, entry

    with ThreadPoolExecutor(max(1, workers)) as pool:  # PyAV releases the GIL while demuxing
        results = list(pool.map(probe, videos))
    changed = any(cache.get(k) != e for k, e in results)
    cache.update(results)
    if changed:
        try:  # write-then-rename: an interrupted write never leaves a broken cache
            with open(cache_path + ".tmp", "w") as f:
                json.dump(cache, f)
            os.replace(cache_path + ".tmp", cache_path)
        except OSError:
            pass  # a read-only data set: no cache, the scan simply runs again next time
    good, bad = [], []
    for video, (key, entry) in zip(videos, results):
        if "error" in entry:
            bad.append(f"{key} ({entry['error']})")
        else:
            good.append(Video(video.path, video.label, entry["num_frames"], entry["fps"],
                              entry["width"], entry["height"]))
    _warn_skipped(bad, "that cannot be decoded")
    return good


def load_dataset(name, root=None, fold=1, split_dir=None, workers=4):
    """(train videos, test videos, class names) of an official fold, bad files skipped.

    `synthetic` is generated into `root` on first use (Sec. 9) and read with the HMDB51 reader.
    """
    if name not in DATASETS:
        raise DatasetError(f"unknown data set '{name}': choose one of {', '.join(DATASETS)}")
    if fold not in (1, 2, 3):
        raise DatasetError(f"fold must be 1, 2 or 3, got {fold}")
    root = root or DATASETS[name]["root"]
    if name == "synthetic":
        ensure_synthetic(root)
        train, test, classes = list_hmdb51(root, fold, split_dir, name="synthetic")
    elif name == "hmdb51":
        train, test, classes = list_hmdb51(root, fold, split_dir)
    else:
        train, test, classes = list_ucf101(root, fold, split_dir)
    good = {v.path: v for v in scan_videos(train + test, root, workers)}
    train = [good[v.path] for v in train if v.path in good]
    test = [good[v.path] for v in test if v.path in good]
    _check_nonempty(name, root, classes, train, test)
    return train, test, classes


# -----------------------------------------------------------------------------
# Clip decoding: seek to the keyframe before the clip, decode only up to its last frame

def clip_indices(num_frames, clip_len, stride, start):
    """Frame indices of one clip. A video shorter than the clip span is looped (index mod n),
    the usual choice for short videos: it keeps the clip's frame rate instead of stretching it."""
    return [(start + i * stride) % num_frames for i in range(clip_len)]


def eval_starts(num_frames, clip_len, stride, num_clips):
    """K uniformly spaced clip starts covering the whole video (Sec. 8)."""
    span = (clip_len - 1) * stride + 1
    last = max(num_frames - span, 0)
    return [round(last * k / (num_clips - 1)) if num_clips > 1 else last // 2
            for k in range(num_clips)]


def _default_threads():
    # Inside a DataLoader worker one decoder thread each: the workers already fill the cores.
    return 1 if get_worker_info() is not None else 0  # 0 = FFmpeg picks


def read_frames(path, indices, threads=None):
    """Decode frames `indices` (0-based, any order, repeats allowed) -> uint8 (N, H, W, 3).

    Seeks to the keyframe at or before the first wanted frame and stops at the last one, so a
    clip costs about its own span plus at most one GOP, not the whole video. Frame numbers come
    from presentation timestamps, so B-frames (H.264) and any start offset are handled. Frames
    past the real end of a video (a header that overstates its length) repeat the last frame.
    """
    wanted = sorted(set(indices))
    first, last = wanted[0], wanted[-1]
    with av.open(path) as container:
        stream = container.streams.video[0]
        stream.codec_context.thread_count = _default_threads() if threads is None else threads
        frames = _decode_range(container, stream, first, last, set(wanted), seek=first > 0)
        if frames is None:  # the seek landed after the first wanted frame: decode from the start
            container.seek(0, stream=stream)
            frames = _decode_range(container, stream, first, last, set(wanted), seek=False)
    if not frames:
        raise ValueError(f"{path}: no frame decoded in [{first}, {last}]")
    known = sorted(frames)
    out = [frames.get(i, frames[known[-1]] if i > known[-1] else None) for i in indices]
    if any(o is None for o in out):
        raise ValueError(f"{path}: frames {[i for i, o in zip(indices, out) if o is None]} "
                         "could not be decoded")
    return torch.from_numpy(np.stack(out))  # (N, H, W, 3) uint8


def _decode_range(container, stream, first, last, wanted, seek):
    fps = Fraction(stream.average_rate or stream.guessed_rate or 25)
    tb, t0 = stream.time_base, stream.start_time or 0
    if seek:  # timestamp of frame `first`, in stream time-base units
        container.seek(t0 + int(first / (fps * tb)), stream=stream, backward=True, any_frame=False)
    frames, count = {}, 0
    for frame in container.decode(stream):
        # frame number from its timestamp; files without timestamps are counted from the start
        index = round((frame.pts - t0) * tb * fps) if frame.pts is not None and seek else None
        if index is None:
            if seek:  # no timestamps: cannot know where the seek landed
                return None
            index, count = count, count + 1
        if seek and not frames and index > first:
            return None
        if index in wanted:
            frames[index] = frame.to_ndarray(format="rgb24")  # (H, W, 3) uint8
        if index >= last:
            break
    return frames


# -----------------------------------------------------------------------------
# Transforms, in torch only. Input: uint8 frames (T, H, W, 3). Output: float (3, T, S, S).

def _to_float(frames, resize):
    """uint8 (T, H, W, 3) -> float (T, 3, H', W') in [0, 1], short side resized to `resize`."""
    x = frames.permute(0, 3, 1, 2).float().div_(255)  # (T, 3, H, W)
    T, _, H, W = x.shape
    if min(H, W) != resize:
        scale = resize / min(H, W)
        size = (max(resize, round(H * scale)), max(resize, round(W * scale)))
        x = F.interpolate(x, size=size, mode="bilinear", align_corners=False,
                          antialias=scale < 1).clamp_(0, 1)  # (T, 3, H', W')
    return x


def _normalise(x):
    """(T, 3, S, S) -> (3, T, S, S), Kinetics-400 mean and std."""
    mean = torch.tensor(KINETICS_MEAN).view(1, 3, 1, 1)
    std = torch.tensor(KINETICS_STD).view(1, 3, 1, 1)
    return ((x - mean) / std).permute(1, 0, 2, 3).contiguous()  # (3, T, S, S)


def train_transform(frames, resize, crop, rng, flip=True):
    """Resize the short side, random crop, random horizontal flip -> (3, T, crop, crop)."""
    x = _to_float(frames, resize)  # (T, 3, H', W')
    H, W = x.shape[-2:]
    top, left = int(rng.integers(0, H - crop + 1)), int(rng.integers(0, W - crop + 1))
    x = x[:, :, top:top + crop, left:left + crop]  # (T, 3, crop, crop)
    if flip and rng.random() < 0.5:
        x = x.flip(-1)
    return _normalise(x)


def eval_transform(frames, resize, crop, num_crops=1):
    """Centre crop (num_crops=1) or 3 crops along the long side -> (num_crops, 3, T, crop, crop)."""
    assert num_crops in (1, 3), num_crops
    x = _to_float(frames, resize)  # (T, 3, H', W')
    H, W = x.shape[-2:]
    if num_crops == 1:
        offsets = [((H - crop) // 2, (W - crop) // 2)]
    elif W >= H:  # left, centre, right
        offsets = [((H - crop) // 2, left) for left in (0, (W - crop) // 2, W - crop)]
    else:  # top, middle, bottom
        offsets = [(top, (W - crop) // 2) for top in (0, (H - crop) // 2, H - crop)]
    return torch.stack([_normalise(x[:, :, t:t + crop, l:l + crop]) for t, l in offsets])


# -----------------------------------------------------------------------------
# Data sets

class TrainClips(Dataset):
    """One random clip per video per epoch -> (clip (3, T, S, S), label, video index, labelled).

    `given_labels[i]` is the label training may use: the (possibly noisy) label of a labelled
    video, -1 for an unlabelled one. True labels of unlabelled videos never leave this data set
    (Sec. 1: no loss may read them). The randomness of sample i in epoch e depends only on
    (seed, e, i), so a run gives the same clips whatever the number of workers, and a resumed run
    the same clips as an uninterrupted one. A video that fails to decode is replaced by the next
    one, with a warning, and counted in `self.failures` (shared across DataLoader workers).
    """

    def __init__(self, videos, given_labels, clip_len, frame_stride, resize, crop,
                 flip=True, seed=0):
        assert len(videos) == len(given_labels)
        self.videos, self.given_labels = videos, list(given_labels)
        self.clip_len, self.stride, self.resize, self.crop = clip_len, frame_stride, resize, crop
        self.flip, self.seed, self.epoch = flip, seed, 0
        self.failures = mp.Value("i", 0)

    def set_epoch(self, epoch):
        self.epoch = epoch

    def __len__(self):
        return len(self.videos)

    def __getitem__(self, index):
        for attempt in range(len(self)):
            i = (index + attempt) % len(self)
            rng = np.random.default_rng([self.seed, self.epoch, i])
            v = self.videos[i]
            span = (self.clip_len - 1) * self.stride + 1
            start = int(rng.integers(0, max(v.num_frames - span, 0) + 1))
            try:
                frames = read_frames(v.path, clip_indices(v.num_frames, self.clip_len,
                                                          self.stride, start))
            except (ValueError, av.FFmpegError) as e:
                with self.failures.get_lock():
                    self.failures.value += 1
                warnings.warn(f"decoding failed, sample replaced: {v.path}: {e}", DataWarning)
                continue
            clip = train_transform(frames, self.resize, self.crop, rng, self.flip)
            label = self.given_labels[i]
            return clip, label, i, label >= 0
        raise DatasetError("no video of the training set could be decoded")


class EvalVideos(Dataset):
    """All views of one video -> (views (V, 3, T, S, S), true label, video index).

    V = num_clips x num_crops (x 2 with `flips`, used by the multi-view pseudo-labels of Sec. 5).
    The frames of all K clips are decoded in one pass over the video.
    """

    def __init__(self, videos, clip_len, frame_stride, resize, crop, num_clips, num_crops=1,
                 flips=False):
        self.videos = videos
        self.clip_len, self.stride, self.resize, self.crop = clip_len, frame_stride, resize, crop
        self.num_clips, self.num_crops, self.flips = num_clips, num_crops, flips

    def __len__(self):
        return len(self.videos)

    def __getitem__(self, i):
        v = self.videos[i]
        clips = [clip_indices(v.num_frames, self.clip_len, self.stride, s)
                 for s in eval_starts(v.num_frames, self.clip_len, self.stride, self.num_clips)]
        frames = read_frames(v.path, [j for c in clips for j in c])  # (K*T, H, W, 3)
        frames = frames.view(self.num_clips, self.clip_len, *frames.shape[1:])  # (K, T, H, W, 3)
        views = torch.cat([eval_transform(f, self.resize, self.crop, self.num_crops)
                           for f in frames])  # (K*crops, 3, T, S, S)
        if self.flips:
            views = torch.cat([views, views.flip(-1)])  # (2*K*crops, 3, T, S, S)
        return views, v.label, i


# -----------------------------------------------------------------------------
# Sec. 1: the weak-supervision split

def make_weak_split(labels, num_classes, fraction, noise=0.0, seed=0):
    """Split the training videos into labelled D_L and unlabelled D_U, per class.

    labels:   true label of every training video (list of int)
    fraction: p, the fraction of each class that keeps its label, in (0, 1]; at least one video
              per class is labelled so that every class is seen
    noise:    r, the fraction of D_L whose label is replaced by a uniformly drawn other class
    Returns a dict (JSON-ready) with `given_labels` (-1 for D_U, possibly noisy for D_L),
    `true_labels` (for reporting only) and the indices of D_L, D_U and the noisy labels.
    """
    if not 0 < fraction <= 1:
        raise ValueError(f"label fraction must be in (0, 1], got {fraction}")
    if not 0 <= noise < 1:
        raise ValueError(f"label noise must be in [0, 1), got {noise}")
    rng = np.random.default_rng(seed)
    labels = np.asarray(labels)
    labelled = []
    for c in range(num_classes):
        members = np.flatnonzero(labels == c)
        k = min(len(members), max(1, round(fraction * len(members))))
        labelled += rng.permutation(members)[:k].tolist()
    labelled = sorted(labelled)
    given = np.full(len(labels), -1)
    given[labelled] = labels[labelled]
    noisy = sorted(rng.permutation(labelled)[:round(noise * len(labelled))].tolist())
    for i in noisy:  # a uniformly drawn *other* class
        given[i] = (labels[i] + rng.integers(1, num_classes)) % num_classes
    return dict(fraction=fraction, noise=noise, seed=seed, num_classes=num_classes,
                labelled=labelled, unlabelled=np.flatnonzero(given < 0).tolist(), noisy=noisy,
                given_labels=given.tolist(), true_labels=labels.tolist())


def videos_digest(videos):
    """Short fingerprint of a video list, stored with a split so it is never applied to another."""
    return hashlib.sha1("\n".join(os.path.basename(v.path) for v in videos).encode()).hexdigest()[:16]


def save_split(split, path):
    with open(path + ".tmp", "w") as f:
        json.dump(split, f)
    os.replace(path + ".tmp", path)


def load_split(path, videos=None):
    with open(path) as f:
        split = json.load(f)
    if videos is not None and split.get("videos") not in (None, videos_digest(videos)):
        raise DatasetError(f"{path} was made for another list of training videos "
                           "(another data set, fold or set of readable files); delete it or "
                           "point to the right one")
    return split


# -----------------------------------------------------------------------------
# Sec. 9: the simulated data set. Every class is a motion; everything else is random per video.

# Each class is closed under a horizontal flip (a class that moves sideways picks left or right
# at random), so the usual flip augmentation and the flipped views of Sec. 5 keep the label.
MOTIONS = ["up_slow", "up_fast", "down_slow", "down_fast", "sideways", "rotate", "grow",
           "shrink", "orbit", "bounce", "shake", "pulse"]
SYNTHETIC_DEFAULTS = dict(classes=10, videos_per_class=36, frames=32, size=64, difficulty=0.5,
                          seed=0)


def _shape_mask(shape, u, v):
    """Inside-test of a unit shape in object coordinates (u, v), each (T, H, W)."""
    if shape == 0:
        return np.maximum(abs(u), abs(v)) <= 1  # square
    if shape == 1:
        return (v >= -0.5) & (v <= 1 - np.sqrt(3) * abs(u))  # triangle
    if shape == 2:
        return ((abs(u) <= 1) & (abs(v) <= 0.35)) | ((abs(u) <= 0.35) & (abs(v) <= 1))  # cross
    return u * u + v * v <= 1  # disc (its stripes show rotation)


def _render_object(canvas, rng, shape, color, cx, cy, angle, radius):
    """Paint one striped shape on canvas (T, H, W, 3); cx, cy, angle, radius are (T,) arrays."""
    T, H, W, _ = canvas.shape
    y, x = np.mgrid[0:H, 0:W].astype(np.float32)  # (H, W)
    dx, dy = x[None] - cx[:, None, None], y[None] - cy[:, None, None]  # (T, H, W)
    c, s, r = np.cos(angle)[:, None, None], np.sin(angle)[:, None, None], radius[:, None, None]
    u, v = (dx * c + dy * s) / r, (-dx * s + dy * c) / r  # object coordinates, (T, H, W)
    inside = _shape_mask(shape, u, v)
    stripes = 0.65 + 0.35 * (np.sin(u * np.pi * 2) > 0)  # (T, H, W): makes the angle visible
    paint = color[None, None, None, :] * stripes[..., None]  # (T, H, W, 3)
    canvas[inside] = paint[inside]


def _motion(name, rng, n, size, speed):
    """Trajectory of the actor over n frames: centre x, y, angle, radius, each (n,)."""
    t = np.arange(n, dtype=np.float32)
    radius = np.full(n, rng.uniform(0.09, 0.16) * size, np.float32)  # pixels
    angle = np.full(n, rng.uniform(0, 2 * np.pi), np.float32)
    vx = vy = 0.0
    side = rng.choice([-1.0, 1.0])  # left or right, clockwise or not: keeps flip-closure
    period = rng.uniform(8, 12)  # frames, for the periodic motions
    phase = rng.uniform(0, 2 * np.pi)
    wave = np.sin(2 * np.pi * t / period + phase)
    dx = dy = np.zeros(n, np.float32)
    pps = size / 64 * speed  # pixels per frame at this frame size
    if name in ("up_slow", "up_fast", "down_slow", "down_fast"):
        vy = (0.55 if name.endswith("slow") else 1.3) * pps * (-1 if name.startswith("up") else 1)
    elif name == "sideways":
        vx = side * 0.9 * pps
    elif name == "rotate":
        angle = angle + side * 2 * np.pi / 16 * speed * t  # one turn per 16 frames
    elif name in ("grow", "shrink"):
        ratio = 1.6 ** (t / max(n - 1, 1))  # x1.6 over the video
        radius = radius * 0.75 * (ratio if name == "grow" else ratio[::-1])
    elif name == "orbit":
        a = side * 2 * np.pi * t / (period * 1.5) + phase
        dx, dy = 0.12 * size * np.cos(a), 0.12 * size * np.sin(a)
    elif name == "bounce":
        dy = 0.12 * size * wave
    elif name == "shake":
        dx = 0.12 * size * wave
    elif name == "pulse":
        radius = radius * (1 + 0.3 * wave)
    dx, dy = dx + vx * t, dy + vy * t  # displacement from the start, (n,)
    # Start where the whole path stays inside the frame, so the actor never leaves it.
    margin = radius.max() * 1.05
    lo_x, hi_x = margin - dx.min(), size - margin - dx.max()
    lo_y, hi_y = margin - dy.min(), size - margin - dy.max()
    x0 = rng.uniform(lo_x, hi_x) if hi_x > lo_x else (lo_x + hi_x) / 2
    y0 = rng.uniform(lo_y, hi_y) if hi_y > lo_y else (lo_y + hi_y) / 2
    return (x0 + dx).astype(np.float32), (y0 + dy).astype(np.float32), angle, radius


def render_video(motion, rng, frames, size, difficulty):
    """One video of class `motion` -> uint8 (n, size, size, 3), n = frames +- 25%.

    Difficulty in [0, 1] raises the pixel noise, the number and speed of distractor objects, the
    jitter of the actor's path and the spread of its speed, and lowers the actor's contrast.
    """
    d = difficulty
    n = int(rng.integers(frames - frames // 4, frames + frames // 4 + 1))
    # Background: a smooth random texture (4x4 random colours, upsampled), static in time.
    coarse = rng.uniform(0, 1, (4, 4, 3)).astype(np.float32)
    grid = np.linspace(0, 3, size)
    i0 = np.minimum(grid.astype(int), 2)
    f = (grid - i0)[:, None]
    rows = coarse[i0] * (1 - f[..., None]) + coarse[i0 + 1] * f[..., None]  # (size, 4, 3)
    bg = rows[:, i0] * (1 - f.T[..., None]) + rows[:, i0 + 1] * f.T[..., None]  # (size, size, 3)
    canvas = np.broadcast_to(bg, (n, size, size, 3)).copy()  # (n, H, W, 3) float in [0, 1]
    # Distractors: smaller striped shapes drifting on random walks, drawn behind the actor.
    for _ in range(int(round(1 + 3 * d))):
        steps = rng.normal(0, 0.3 + 0.5 * d, (n, 2)).cumsum(0) * size / 64  # pixels
        x = rng.uniform(0.1, 0.9) * size + steps[:, 0]
        y = rng.uniform(0.1, 0.9) * size + steps[:, 1]
        ang = rng.uniform(0, 2 * np.pi) + np.zeros(n)
        rad = rng.uniform(0.05, 0.09) * size + np.zeros(n)
        _render_object(canvas, rng, int(rng.integers(4)), rng.uniform(0, 1, 3), x, y, ang, rad)
    # The actor: its motion is the class.
    speed = rng.uniform(1 - 0.3 * d, 1 + 0.3 * d)
    cx, cy, ang, rad = _motion(motion, rng, n, size, speed)
    jitter = rng.normal(0, 0.3 + 1.0 * d, (2, n)) * size / 64  # pixels per frame
    color = rng.uniform(0, 1, 3)
    color = (1 - 0.4 * d) * color + 0.4 * d * bg.mean((0, 1))  # lower contrast when harder
    _render_object(canvas, rng, int(rng.integers(4)), color, cx + jitter[0], cy + jitter[1],
                   ang, rad)
    canvas += rng.normal(0, 0.02 + 0.12 * d, canvas.shape)  # sensor noise, in [0, 1] units
    return (canvas.clip(0, 1) * 255).round().astype(np.uint8)


def write_video(path, frames, fps=25, codec="mpeg4", gop=16):
    """Encode uint8 (n, H, W, 3) frames: MPEG-4 Part 2 in AVI (the codec family of HMDB51/UCF101),
    a keyframe every `gop` frames so that seeking matters as it does on the real data."""
    container = av.open(path, "w")
    stream = container.add_stream(codec, rate=fps)
    stream.height, stream.width = frames.shape[1:3]
    stream.pix_fmt = "yuv420p"
    stream.codec_context.gop_size = gop
    stream.bit_rate = int(2 * frames.shape[1] * frames.shape[2] * fps)  # 2 bits per pixel: PSNR ~ the noise floor
    for image in frames:
        container.mux(stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")))
    container.mux(stream.encode())  # flush
    container.close()


def make_synthetic(out, classes=10, videos_per_class=36, frames=32, size=64, difficulty=0.5,
                   seed=0, quiet=False):
    """Write the simulated data set in the HMDB51 layout, with 3 folds of 70/30 split files.

    The set is written to a temporary folder and renamed into place at the end, so an
    interrupted run never leaves a half-written set that looks complete.
    """
    if not 2 <= classes <= len(MOTIONS):
        raise ValueError(f"classes must be in [2, {len(MOTIONS)}], got {classes}")
    if videos_per_class < 4 or frames < 4 or size < 16 or size % 2 or not 0 <= difficulty <= 1:
        raise ValueError("need videos_per_class >= 4, frames >= 4, an even size >= 16 and "
                         "difficulty in [0, 1]")
    params = dict(classes=classes, videos_per_class=videos_per_class, frames=frames, size=size,
                  difficulty=difficulty, seed=seed)
    tmp = out.rstrip("/") + ".partial"
    if os.path.exists(out):
        raise DatasetError(f"{out} exists already; delete it or choose another folder")
    os.makedirs(os.path.join(tmp, "testTrainMulti_7030_splits"), exist_ok=True)
    t0 = time.time()
    for c, motion in enumerate(MOTIONS[:classes]):
        os.makedirs(os.path.join(tmp, motion), exist_ok=True)
        names = [f"{motion}_{k:03d}.avi" for k in range(videos_per_class)]
        for k, name in enumerate(names):
            rng = np.random.default_rng([seed, c, k])  # per video: any subset regenerates alike
            write_video(os.path.join(tmp, motion, name), render_video(motion, rng, frames, size,
                                                                      difficulty))
        for fold in (1, 2, 3):
            test = set(np.random.default_rng([seed, c, 1000 + fold])
                       .permutation(videos_per_class)[:round(0.3 * videos_per_class)].tolist())
            with open(os.path.join(tmp, "testTrainMulti_7030_splits",
                                   f"{motion}_test_split{fold}.txt"), "w") as f:
                f.writelines(f"{name} {2 if k in test else 1} \n" for k, name in enumerate(names))
        if not quiet:
            print(f"  {motion:10s} {videos_per_class} videos  ({time.time() - t0:.0f} s)",
                  flush=True)
    with open(os.path.join(tmp, "synthetic.json"), "w") as f:
        json.dump(params, f, indent=1)
    os.replace(tmp, out)
    return params


def ensure_synthetic(root, **params):
    """Generate the simulated set into `root` on first use; afterwards reuse it. A folder made
    with other parameters is never overwritten: the error says how to proceed."""
    params = {**SYNTHETIC_DEFAULTS, **params}
    info = os.path.join(root, "synthetic.json")
    if os.path.isfile(info):
        with open(info) as f:
            found = json.load(f)
        if found != params:
            diff = {k: (found.get(k), v) for k, v in params.items() if found.get(k) != v}
            raise DatasetError(f"{root} holds a simulated set made with other parameters "
                               f"(found, wanted): {diff}; delete it or pass another --data-root")
        return found
    if os.path.exists(root) and os.listdir(root):
        raise DatasetError(f"{root} exists but holds no synthetic.json: it is not a simulated "
                           "set made by data.py; choose another --data-root")
    if os.path.exists(root):
        os.rmdir(root)
    print(f"Generating the simulated data set into {root} (once; reused afterwards) ...")
    return make_synthetic(root, **params)


# -----------------------------------------------------------------------------
# Command line

def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--make-synthetic", metavar="DIR", help="write the simulated data set to DIR")
    p.add_argument("--classes", type=int, default=SYNTHETIC_DEFAULTS["classes"],
                   help=f"number of motion classes, at most {len(MOTIONS)}")
    p.add_argument("--videos-per-class", type=int, default=SYNTHETIC_DEFAULTS["videos_per_class"])
    p.add_argument("--frames", type=int, default=SYNTHETIC_DEFAULTS["frames"],
                   help="mean video length in frames (each video: +-25%%)")
    p.add_argument("--size", type=int, default=SYNTHETIC_DEFAULTS["size"],
                   help="frame height and width in pixels")
    p.add_argument("--difficulty", type=float, default=SYNTHETIC_DEFAULTS["difficulty"],
                   help="0 = clean, 1 = noisy with many distractors")
    p.add_argument("--seed", type=int, default=SYNTHETIC_DEFAULTS["seed"])
    p.add_argument("--summary", choices=list(DATASETS), help="list a data set: videos per fold")
    p.add_argument("--root", help="data set root (default: the data set's default root)")
    p.add_argument("--split-dir", help="folder of the split files, if not the default")
    a = p.parse_args(argv)
    try:
        if a.make_synthetic:
            t0 = time.time()
            make_synthetic(a.make_synthetic, a.classes, a.videos_per_class, a.frames, a.size,
                           a.difficulty, a.seed)
            print(f"wrote {a.classes * a.videos_per_class} videos to {a.make_synthetic} "
                  f"in {time.time() - t0:.1f} s")
        elif a.summary:
            for fold in (1, 2, 3):
                train, test, classes = load_dataset(a.summary, a.root, fold, a.split_dir)
                print(f"{a.summary} fold {fold}: {len(classes)} classes, {len(train)} train "
                      f"videos, {len(test)} test videos")
        else:
            p.print_help()
    except DatasetError as e:
        sys.exit(f"error: {e}")


if __name__ == "__main__":
    main()
