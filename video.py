"""Decode frames of a video file with PyAV: the one definition of a frame index.

A frame's index is its place in presentation order, 0-based from the first frame of the stream.
read_frames computes it from each decoded frame's timestamp (so B-frames and a start offset do not
shift it); probe_video counts the frames that exist. Every clip of the project is a list of such
indices: clip_indices for one clip (a random start in training), eval_starts for the K uniformly
spaced clips of evaluation (METHOD.md Sec. 8) and of the multi-view pseudo-labels (Sec. 5 step 1).
The data sets of data.py ask get_frames for them, which reads from the decoded-frame cache of
cache_frames when a small data set (the simulated one, Sec. 9) fits in memory, and from the file
with read_frames otherwise: the same frames either way.

Shapes: frames are uint8 (N, H, W, 3), RGB, as decoded; data.py turns them into clips (3, T, S, S).
"""
import os
from concurrent.futures import ThreadPoolExecutor
from fractions import Fraction

import av
import numpy as np
import torch
from torch.utils.data import get_worker_info


# -----------------------------------------------------------------------------
# Which frames: a clip is a list of frame indices

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


# -----------------------------------------------------------------------------
# Clip decoding: seek to the keyframe before the clip, decode only up to its last frame

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
# Probing: what a file holds (data.scan_videos caches it per data set)

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


# -----------------------------------------------------------------------------
# The decoded-frame cache: a small data set decoded once into memory

_DECODED = {}  # (path, size, mtime) -> frames: runs in one process (benchmark.py) decode once


def cache_frames(videos, max_bytes, workers=2):
    """Decode every video once -> {path: uint8 (n, H, W, 3)}, when all frames fit in `max_bytes`.

    For small data sets (the simulated one is about 90 MB decoded), decoding is the largest cost of
    a training step; with this cache a clip is an indexing operation. Returns {} when the videos
    would not fit (estimated from the metadata). A video that fails here is left out, and the data
    sets fall back to read_frames for it (which then warns and replaces it as usual).
    """
    need = sum(v.num_frames * v.width * v.height * 3 for v in videos)
    if not videos or need > max_bytes:
        return {}

    def decode(v):
        try:
            st = os.stat(v.path)
            key = (v.path, st.st_size, st.st_mtime_ns)
            if key not in _DECODED:
                _DECODED[key] = read_frames(v.path, list(range(v.num_frames)), threads=1)
            return _DECODED[key]
        except (OSError, ValueError, av.FFmpegError):
            return None

    with ThreadPoolExecutor(max(1, workers)) as pool:  # FFmpeg decodes without the GIL
        frames = list(pool.map(decode, videos))
    return {v.path: f for v, f in zip(videos, frames) if f is not None}


def get_frames(v, indices, cache=None):
    """Frames `indices` of video v, from `cache` (see cache_frames) when it holds v."""
    frames = cache.get(v.path) if cache else None
    if frames is None:
        return read_frames(v.path, indices)
    # the same frames as read_frames: indices past the decoded end repeat the last frame
    return frames[torch.tensor(indices).clamp_(max=len(frames) - 1)]
