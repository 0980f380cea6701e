"""Clips as a model sees them: the transforms and the torch Datasets of training and evaluation.

data.py says which videos and labels a run uses; this file turns a video into tensors.
What it implements (see METHOD.md):
  Sec. 1  training clips carry the label training may use (-1 for an unlabelled video); true
          labels of unlabelled videos never leave the data set.
  Sec. 5  the multi-view pseudo-labels: K clips x crops, and their horizontal flips.
  Sec. 8  evaluation: K uniformly spaced clips x 1 or 3 spatial crops per video, plus the centre
          clip of clip accuracy.

A clip is T frames taken every `frame_stride` frames (decoded by video.py), cropped. The data
sets hand it over as its uint8 pixels (3, T, S, S), and `to_model_input` turns a batch of them
into the model input where the model runs (on the GPU when there is one): floats normalised with
the mean and std of torchvision's Kinetics-400 video models, so that their weights can be used.
The DataLoader workers thus spend no CPU on the conversion and move 4x fewer bytes than floats.
"""
import functools
import multiprocessing as mp
import warnings

import av
import numpy as np
import torch
from torch.utils.data import Dataset

import video
from data import DataWarning, DatasetError

# torchvision's Kinetics-400 video models (r3d_18, mc3_18, r2plus1d_18) expect these, RGB in [0, 1].
KINETICS_MEAN = (0.43216, 0.394666, 0.37645)
KINETICS_STD = (0.22803, 0.22145, 0.216989)
_MEAN = torch.tensor(KINETICS_MEAN).view(3, 1, 1, 1)  # broadcasts on (3, T, S, S)
_STD = torch.tensor(KINETICS_STD).view(3, 1, 1, 1)


# x_model = (x / 255 - mean_c) / std_c   for a pixel x in 0..255 of channel c (RGB)
def to_model_input(x):
    """uint8 clips (..., 3, T, S, S), on any device -> float32 model input, same shape.

    train.py moves a batch of uint8 clips from the data sets to the device and calls this there,
    so the conversion runs on the GPU when there is one; the numbers are the same on every device
    (tests/test_data.py). 255 is divided as a tensor: CUDA turns a division by a Python number
    into a multiplication by its reciprocal, off by one bit at times.
    """
    assert x.dtype == torch.uint8 and x.shape[-4] == 3, (x.dtype, tuple(x.shape))
    levels, mean, std = _constants(x.device)
    return (x.float().div_(levels) - mean) / std  # (..., 3, T, S, S) float32


@functools.cache
def _constants(device):
    """255, mean and std on `device`, copied there once: a copy per batch would wait for it."""
    return torch.tensor(255.0, device=device), _MEAN.to(device), _STD.to(device)


# -----------------------------------------------------------------------------
# Transforms, in torch only. Input: uint8 frames (T, H, W, 3). Output: the uint8 pixels
# (3, T, S, S) that to_model_input turns into the model input. Frames usually arrive with the
# short side already at `resize` (video.read_frames scales them on uint8, within a level of
# _resized); then the crop and the flip only cut and move the uint8 pixels.

def _resized(frames, resize):
    """uint8 (T, H, W, 3) -> (T, H', W', 3) with the short side at `resize`: the same uint8
    frames when it already is, else floats in [0, 1] (bilinear, antialiased when shrinking)."""
    T, H, W, _ = frames.shape
    if min(H, W) == resize:
        return frames
    x = frames.permute(0, 3, 1, 2).float().div_(255)  # (T, 3, H, W)
    x = video.resize(x, *video.scaled_size(W, H, resize)).clamp_(0, 1)  # (T, 3, H', W')
    return x.permute(0, 2, 3, 1)  # (T, H', W', 3), a view


def _handed_over(x):
    """Crop (T, S, S, 3) -> its uint8 pixels (3, T, S, S), for to_model_input.

    Frames that _resized had to scale as floats (read_frames did not scale them: frames of
    another size than the video's header says; the data sets otherwise always ask read_frames
    for the short side) are rounded to the nearest of the 256 levels: at most half a level
    (0.5 / 255) from the float resize.
    """
    if x.dtype != torch.uint8:  # floats in [0, 1]
        x = x.mul(255).round_().to(torch.uint8)
    return x.permute(3, 0, 1, 2).contiguous()  # (3, T, S, S) uint8


def train_transform(frames, resize, crop, rng, flip=True):
    """Resize the short side, random crop, random horizontal flip -> uint8 (3, T, crop, crop)."""
    x = _resized(frames, resize)  # (T, H', W', 3)
    H, W = x.shape[1:3]
    top, left = int(rng.integers(0, H - crop + 1)), int(rng.integers(0, W - crop + 1))
    x = x[:, top:top + crop, left:left + crop]  # (T, crop, crop, 3)
    if flip and rng.random() < 0.5:
        x = x.flip(2)  # along W
    return _handed_over(x)  # (3, T, crop, crop)


def eval_transform(frames, resize, crop, num_crops=1):
    """Centre crop (num_crops=1) or 3 crops along the long side -> uint8 (num_crops, 3, T, S, S),
    S = crop."""
    assert num_crops in (1, 3), num_crops
    x = _resized(frames, resize)  # (T, H', W', 3)
    H, W = x.shape[1:3]
    if num_crops == 1:
        offsets = [((H - crop) // 2, (W - crop) // 2)]
    elif W >= H:  # left, centre, right
        offsets = [((H - crop) // 2, left) for left in (0, (W - crop) // 2, W - crop)]
    else:  # top, middle, bottom
        offsets = [(top, (W - crop) // 2) for top in (0, (H - crop) // 2, H - crop)]
    return torch.stack([_handed_over(x[:, t:t + crop, l:l + crop]) for t, l in offsets])


# -----------------------------------------------------------------------------
# Data sets

class TrainClips(Dataset):
    """A random clip of a video -> (uint8 clip (3, T, S, S), label, video index, labelled).

    `given_labels[i]` is the label training may use: the (possibly noisy) label of a labelled
    video, -1 for an unlabelled one. True labels of unlabelled videos never leave this data set
    (Sec. 1: no loss may read them). The randomness of sample i in epoch e depends only on
    (seed, e, index), so a run gives the same clips whatever the number of workers, and a resumed
    run the same clips as an uninterrupted one. A video that fails to decode is replaced by the next
    one, with a warning, and counted in `self.failures` (shared across DataLoader workers).

    Repeated sampling (`repeat` R > 1, train.py --repeat-clips): R clips of the video, each with
    its own start, crop and flip drawn as a single clip's are, decoded in one pass over the frames
    they span (mmaction2's RepeatAugDataset does the same) -> clips (R, 3, T, S, S). The decoding
    cost of the item is shared by R clips. R = 1 draws exactly the numbers of a single clip.
    """

    def __init__(self, videos, given_labels, clip_len, frame_stride, resize, crop,
                 flip=True, seed=0, cache=None, repeat=1):
        assert len(videos) == len(given_labels) and repeat >= 1
        self.videos, self.given_labels, self.cache = videos, list(given_labels), cache
        self.clip_len, self.stride, self.resize, self.crop = clip_len, frame_stride, resize, crop
        self.flip, self.seed, self.epoch, self.repeat = flip, seed, 0, repeat
        self.failures = mp.Value("i", 0)

    def set_epoch(self, epoch):
        self.epoch = epoch

    def __len__(self):
        return len(self.videos)

    def __getitem__(self, index):
        # index may exceed len(self): index = i + r * len(self) draws video i again with other
        # randomness (a sampler that repeats a small labelled set within one epoch)
        for attempt in range(len(self)):
            key = index + attempt
            i = key % len(self)
            rng = np.random.default_rng([self.seed, self.epoch, key])
            v = self.videos[i]
            span = (self.clip_len - 1) * self.stride + 1
            starts = [int(rng.integers(0, max(v.num_frames - span, 0) + 1))
                      for _ in range(self.repeat)]
            indices = [j for start in starts
                       for j in video.clip_indices(v.num_frames, self.clip_len, self.stride, start)]
            try:  # all R clips in one pass over the frames they span
                frames = video.get_frames(v, indices, self.cache,
                                          short_side=self.resize)  # (R*T, H', W', 3)
            except (ValueError, av.FFmpegError) as e:
                with self.failures.get_lock():
                    self.failures.value += 1
                warnings.warn(f"decoding failed, skipped and replaced by the next video: "
                              f"{v.path}: {e}", DataWarning)
                continue
            T = self.clip_len
            clips = [train_transform(frames[r * T:(r + 1) * T], self.resize, self.crop, rng,
                                     self.flip) for r in range(self.repeat)]
            label = self.given_labels[i]
            clip = clips[0] if self.repeat == 1 else torch.stack(clips)  # (3, T, S, S) / (R, ...)
            return clip, label, i, label >= 0
        raise DatasetError("no video of the training set could be decoded")


class EvalVideos(Dataset):
    """All views of one video -> (uint8 views (V, 3, T, S, S), true label, video index).

    V = num_clips x num_crops (x 2 with `flips`, used by the multi-view pseudo-labels of Sec. 5),
    plus one last view with `centre_view`: the centre clip, centre crop, of clip accuracy (Sec. 8).
    The frames of all views are decoded in one pass over the video.
    """

    def __init__(self, videos, clip_len, frame_stride, resize, crop, num_clips, num_crops=1,
                 flips=False, centre_view=False, cache=None):
        self.videos, self.cache = videos, cache
        self.clip_len, self.stride, self.resize, self.crop = clip_len, frame_stride, resize, crop
        self.num_clips, self.num_crops, self.flips = num_clips, num_crops, flips
        self.centre_view = centre_view

    def __len__(self):
        return len(self.videos)

    def __getitem__(self, i):
        v = self.videos[i]
        starts = video.eval_starts(v.num_frames, self.clip_len, self.stride, self.num_clips)
        if self.centre_view:
            starts += video.eval_starts(v.num_frames, self.clip_len, self.stride, 1)
        clips = [video.clip_indices(v.num_frames, self.clip_len, self.stride, s) for s in starts]
        frames = video.get_frames(v, [j for c in clips for j in c], self.cache,
                                  short_side=self.resize)  # (n*T, H', W', 3)
        frames = frames.view(len(clips), self.clip_len, *frames.shape[1:])  # (n, T, H, W, 3)
        views = torch.cat([eval_transform(f, self.resize, self.crop, self.num_crops)
                           for f in frames[:self.num_clips]])  # (K*crops, 3, T, S, S)
        if self.flips:
            views = torch.cat([views, views.flip(-1)])  # (2*K*crops, 3, T, S, S)
        if self.centre_view:
            centre = eval_transform(frames[-1], self.resize, self.crop, 1)  # (1, 3, T, S, S)
            views = torch.cat([views, centre])  # (V + 1, 3, T, S, S)
        return views, v.label, i
