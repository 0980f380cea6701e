"""Decode frames of a video file with PyAV: the one definition of a frame index.

Frame i of a video is the i-th frame of a full sequential decode: the i-th frame that PyAV's
`container.decode` gives when the file is read from its start. Frames hidden by an edit list and
frames that an AVI marks as dropped are not frames; B-frames, start offsets, irregular timestamps
and timestamp gaps change nothing. probe_video decodes each video once, counts its frames and
records a FrameTable (the timestamp of every frame and which are keyframes; data.scan_videos
caches it beside the videos); read_frames uses the table to start decoding at the keyframe
before a clip, and accepts what that seek gives only when every decoded frame carries the
timestamp the full decode gave it. Otherwise it decodes from the start: slower, never wrong.

Every clip of the project is a list of such indices: clip_indices for one clip (a random start in
training), eval_starts for the K uniformly spaced clips of evaluation (METHOD.md Sec. 8) and of the
multi-view pseudo-labels (Sec. 5 step 1). The data sets of clips.py ask get_frames for them, which
reads from the decoded-frame cache of cache_frames when a small data set (the simulated one,
Sec. 9) fits in memory, and from the file with read_frames otherwise: the same frames either way.

Shapes: frames are uint8 (N, H, W, 3), RGB, as decoded; clips.py turns them into clips (3, T, S, S).
"""
import os
import shutil
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from fractions import Fraction

import av
import numpy as np
import torch
import torch.nn.functional as F
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
# The frame table: what a full decode saw, so that a seek can be checked against it

@dataclass(frozen=True, eq=False)
class FrameTable:
    """Frame i of the full decode has timestamp pts[i] (stream time base); keys are the indices
    of its keyframes. `seekable` when the timestamps strictly increase with i: then a timestamp
    names exactly one frame, and a decode that starts at a keyframe can be checked frame by frame.
    (Real files where it does not hold exist: AVI B-frames whose timestamps PyAV derives from the
    decode order, phone MP4s whose B-frame timestamps disagree with it. They decode from the start.)
    """
    pts: np.ndarray   # int64 (n,)
    keys: np.ndarray  # int64, ascending keyframe indices

    def __eq__(self, other):
        return (isinstance(other, FrameTable) and np.array_equal(self.pts, other.pts)
                and np.array_equal(self.keys, other.keys))

    @property
    def seekable(self):
        return len(self.pts) > 1 and bool(np.all(np.diff(self.pts) > 0))

    def start_for(self, first):
        """The last keyframe at or before frame `first`: where a seek for it should land."""
        k = np.searchsorted(self.keys, first, side="right") - 1
        return int(self.keys[k]) if k >= 0 else 0

    def to_json(self):
        """Compact: most videos have a constant step, stored as (first pts, step, count)."""
        pts, keys = self.pts.tolist(), self.keys.tolist()
        step = pts[1] - pts[0] if len(pts) > 1 else 1
        if pts == list(range(pts[0], pts[0] + step * len(pts), step)) and step > 0:
            return dict(pts_first=pts[0], pts_step=step, frames=len(pts), keys=keys)
        return dict(pts=pts, keys=keys)

    @classmethod
    def from_json(cls, d):
        pts = (np.arange(d["frames"], dtype=np.int64) * d["pts_step"] + d["pts_first"]
               if "pts_step" in d else np.asarray(d["pts"], dtype=np.int64))
        return cls(pts, np.asarray(d["keys"], dtype=np.int64))


# -----------------------------------------------------------------------------
# Clip decoding: seek to the keyframe before the clip, decode only up to its last frame

def _default_threads():
    # Inside a DataLoader worker one decoder thread each: the workers already fill the cores.
    return 1 if get_worker_info() is not None else 0  # 0 = FFmpeg picks


def _open(path, threads):
    container = av.open(path)
    if not container.streams.video:  # a file FFmpeg reads (audio, or noise that parses as a
        container.close()            # container) with no video in it: skipped like a bad one
        raise ValueError(f"{path}: no video stream")
    stream = container.streams.video[0]
    stream.codec_context.thread_count = _default_threads() if threads is None else threads
    return container, stream


def scaled_size(width, height, short_side):
    """(width, height) with the short side scaled to `short_side`, as clips.py's resize does."""
    scale = short_side / min(width, height)
    return max(short_side, round(width * scale)), max(short_side, round(height * scale))


def read_frames(path, indices, threads=None, table=None, size=None):
    """Frames `indices` of the full sequential decode (0-based, any order, repeats allowed)
    -> uint8 (N, H, W, 3). Indices past the last frame give the last frame. With `size`
    (width, height), the frames are resized to it on uint8 (see _scaled): far cheaper than
    resizing float tensors.

    With the video's FrameTable (from probe_video) and timestamps that allow it, decoding starts
    at the keyframe before the first wanted frame and stops at the last one, so a clip costs about
    its own span plus at most one GOP. The seek is accepted only if every decoded frame carries
    the timestamp the table holds for its index; otherwise (a seek that lands late or elsewhere,
    frames a decoder drops after a seek), and without a table, the frames are counted from the
    start of the file, which is the definition itself.
    """
    n = len(table.pts) if table is not None else None
    want = [min(i, n - 1) for i in indices] if n else list(indices)
    first, last = min(want), max(want)
    frames = None
    if table is not None and table.seekable and table.start_for(first) > 0:
        container, stream = _open(path, threads)
        with container:
            frames = _decode_after_seek(container, stream, table, first, last, set(want))
    if frames is None:
        container, stream = _open(path, threads)  # a fresh file: a failed seek leaves no trace
        with container:
            frames = _decode_from_start(container, stream, last, set(want))
    if not frames:
        raise ValueError(f"{path}: no frame decoded in [{first}, {last}]")
    if size is not None:
        frames = _scaled(frames, size)
    end = max(frames)  # without a table: reached only when the file ended before `last`
    return torch.from_numpy(np.stack([frames[min(i, end)] for i in want]))  # (N, H, W, 3) uint8


def resize(x, width, height):
    """Frames (n, 3, H, W), uint8 or float -> (n, 3, height, width): bilinear, antialiased when
    it shrinks (torchvision's Resize). The project's one resize: clips._resized on floats, and
    _scaled on uint8, where torch's fixed-point path stays within a level of the float one."""
    return F.interpolate(x, size=(height, width), mode="bilinear", align_corners=False,
                         antialias=min(width, height) < min(x.shape[2:]))


def _scaled(frames, size):
    """{index: uint8 (H, W, 3)} -> the same frames resized to `size` (width, height) on uint8,
    all frames of a clip at once. Converting to RGB at the frame's own size and then resizing
    with torch costs less CPU per frame than having FFmpeg resize while it converts (the report,
    "Clip loading and GPU throughput").
    """
    keys = list(frames)
    same = len({frames[k].shape for k in keys}) == 1
    out = {}
    for group in [keys] if same else [[k] for k in keys]:  # a size change mid-video: one by one
        x = torch.from_numpy(np.stack([frames[k] for k in group]))  # (n, H, W, 3)
        x = x.permute(0, 3, 1, 2)  # (n, 3, H, W), channels-last memory
        x = resize(x, *size)  # (n, 3, h, w), channels-last memory
        out.update(zip(group, x.permute(0, 2, 3, 1).numpy()))  # (h, w, 3) each
    return out


def _decode_after_seek(container, stream, table, first, last, wanted):
    """Frames by index after a seek to the keyframe before `first`, or None if any decoded frame
    is not the one the table expects at that place."""
    container.seek(int(table.pts[table.start_for(first)]), stream=stream, backward=True,
                   any_frame=False)
    frames, index = {}, None
    for frame in container.decode(stream):
        if index is None:  # where the seek landed: the table names the frame by its timestamp
            found = np.searchsorted(table.pts, frame.pts) if frame.pts is not None else None
            if found is None or found >= len(table.pts) or table.pts[found] != frame.pts \
                    or found > first:
                return None
            index = int(found)
        else:
            index += 1
            if index >= len(table.pts) or frame.pts != table.pts[index]:
                return None
        if index in wanted:
            frames[index] = frame.to_ndarray(format="rgb24")  # (H, W, 3) uint8
        if index >= last:
            return frames
    return None  # the file ended before `last`: not what the full decode saw


def _decode_from_start(container, stream, last, wanted):
    frames, index, frame = {}, -1, None
    for index, frame in enumerate(container.decode(stream)):
        if index in wanted:
            frames[index] = frame.to_ndarray(format="rgb24")
        if index >= last:
            break
    else:  # the video ended first: its last frame stands for the indices past the end
        if frame is not None and index not in frames:
            frames[index] = frame.to_ndarray(format="rgb24")
    return frames


# -----------------------------------------------------------------------------
# Probing: what a file holds (data.scan_videos caches it per data set)

def probe_video(path):
    """Decode a video once, start to end -> dict(num_frames, fps, width, height, table) with the
    FrameTable in its JSON form. Raises ValueError for an empty, truncated or undecodable file.

    Truncated (the file ends before its data does) is told apart from what real files do:
    - dropped frames (an AVI whose header counts frames that hold no data): the timestamps jump
      over them but go on to the header's end, and the frames that exist are the video;
    - an edit list that hides leading frames: the decoder drops them, the rest is the video;
    - truncation: decoding fails at a cut packet, or the last packet ends well before the
      duration in the header.
    """
    if os.path.getsize(path) == 0:
        raise ValueError("zero-byte file")
    pts, keys, untimed = [], [], False
    try:
        with av.open(path) as container:
            if not container.streams.video:
                raise ValueError("no video stream")
            stream = container.streams.video[0]
            stream.codec_context.thread_count = 1
            header = container.duration / av.time_base if container.duration else None
            fps = float(stream.average_rate or stream.guessed_rate or 25)
            width, height = stream.codec_context.width, stream.codec_context.height
            data_end = None
            for packet in container.demux(stream):
                if packet.pts is not None and packet.size > 0:  # how far the data reaches
                    end = float((packet.pts + (packet.duration or 0)) * stream.time_base)
                    data_end = end if data_end is None else max(data_end, end)
                for frame in packet.decode():
                    keys += [len(pts)] if frame.key_frame else []
                    untimed |= frame.pts is None
                    pts.append(frame.pts)
            start = float((stream.start_time or 0) * stream.time_base)
    except av.FFmpegError as e:
        what = f"decoding stops after frame {len(pts)}" if pts else "not a readable video"
        raise ValueError(f"{what} ({type(e).__name__}: {e}); truncated or damaged?") from None
    if not pts:
        raise ValueError("no frame could be decoded")
    # containers count their duration from timestamp 0 (MKV) or from the first frame (MP4, AVI)
    reached = max(data_end, data_end - start) if data_end is not None else None
    if header and reached is not None and reached < header - max(2 / fps, 0.02 * header):
        raise ValueError(f"truncated: the data ends at {reached:.2f} s of the "
                         f"{header:.2f} s the header gives")
    pts = np.zeros(len(pts), np.int64) if untimed else np.asarray(pts, np.int64)  # unseekable
    table = FrameTable(pts, np.asarray(keys, dtype=np.int64))
    return dict(num_frames=len(pts), fps=fps, width=width, height=height, table=table.to_json())


# -----------------------------------------------------------------------------
# The decoded-frame cache: a small data set decoded once into memory

_DECODED = {}  # (path, bytes, mtime, scaled size) -> frames: runs in one process decode once


def decode_size(v, short_side):
    """The (width, height) read_frames should scale video v to, or None when it needs no scaling."""
    if short_side is None or min(v.width, v.height) == short_side:
        return None
    return scaled_size(v.width, v.height, short_side)


def cache_frames(videos, max_bytes, workers=2, short_side=None):
    """Decode every video once -> {path: uint8 (n, H, W, 3)}, when all frames fit in `max_bytes`.
    With `short_side`, frames are kept scaled as get_frames(..., short_side) gives them.

    For small data sets (the simulated one is 59 MiB decoded), decoding is the largest cost of
    a training step; with this cache a clip is an indexing operation. Returns {} when the videos
    would not fit (estimated from the metadata). A video that fails here is left out, and the data
    sets fall back to read_frames for it (which then warns and replaces it as usual).
    """
    sizes = [decode_size(v, short_side) for v in videos]  # None: as decoded
    need = sum(v.num_frames * 3 * int(np.prod(size or (v.width, v.height)))
               for v, size in zip(videos, sizes))  # bytes of uint8 RGB
    if not videos or need > max_bytes:
        return {}

    def decode(v, size):
        try:
            st = os.stat(v.path)
            key = (v.path, st.st_size, st.st_mtime_ns, size)
            if key not in _DECODED:
                _DECODED[key] = read_frames(v.path, list(range(v.num_frames)), threads=1,
                                            table=v.table, size=size)
            return _DECODED[key]
        except (OSError, ValueError, av.FFmpegError):
            return None

    with ThreadPoolExecutor(max(1, workers)) as pool:  # FFmpeg decodes without the GIL
        frames = list(pool.map(decode, videos, sizes))
    return {v.path: f for v, f in zip(videos, frames) if f is not None}


def get_frames(v, indices, cache=None, short_side=None):
    """Frames `indices` of video v, from `cache` (see cache_frames, made with the same
    `short_side`) when it holds v; scaled to `short_side` when given."""
    frames = cache.get(v.path) if cache else None
    if frames is None:
        return read_frames(v.path, indices, table=v.table, size=decode_size(v, short_side))
    width, height = decode_size(v, short_side) or (v.width, v.height)
    assert frames.shape[1:3] == (height, width), "the cache was made with another short_side"
    # the same frames as read_frames: indices past the end give the last frame
    return frames[torch.tensor(indices).clamp_(max=len(frames) - 1)]


# -----------------------------------------------------------------------------
# Preparation: a scaled copy of a data set, once, so that training decodes far fewer pixels
# (python data.py --prepare; README "Data": what it buys per core and what it costs on disk)

PREPARED_GOP = 12  # frames between keyframes: a 16 x 2 clip spans 31, so a seek decodes <= 11 extra
# the video files the project reads (data sets, --prepare), by extension -> FFmpeg's muxer name
CONTAINERS = {".avi": "avi", ".mp4": "mp4", ".mkv": "matroska", ".mov": "mov", ".webm": "webm"}


def prepare_video(src, dst, short_side, gop=PREPARED_GOP):
    """Frame i of dst = frame i of src's full decode, short side scaled to `short_side` (the
    width or height rounded to even, which 4:2:0 video needs): MPEG-4 Part 2 (VP8 for .webm), no
    B-frames, a keyframe every `gop` frames, one timestamp per frame at src's average rate.
    Written to dst + '.part' and renamed when complete. Returns the number of frames."""
    ext = os.path.splitext(dst)[1].lower()
    part = dst + ".part"
    with av.open(src) as cin:
        sin = cin.streams.video[0]
        sin.codec_context.thread_count = 1
        rate = sin.average_rate or sin.guessed_rate or 25
        width, height = scaled_size(sin.codec_context.width, sin.codec_context.height, short_side)
        width, height = width + width % 2, height + height % 2
        count = 0
        with av.open(part, "w", format=CONTAINERS[ext]) as cout:
            sout = cout.add_stream("libvpx" if ext == ".webm" else "mpeg4", rate=rate)
            sout.width, sout.height, sout.pix_fmt = width, height, "yuv420p"
            sout.codec_context.gop_size, sout.codec_context.max_b_frames = gop, 0
            sout.codec_context.qscale = True  # constant quantiser, at its floor (qmin 2 of 31):
            # the re-encoding loses little; the copy costs disk instead (README, Data)
            sout.codec_context.time_base = sout.time_base = Fraction(1) / rate
            for frame in cin.decode(sin):
                out = frame.reformat(width=width, height=height, format="yuv420p")
                out.pts = count  # in 1 / rate: frame i at i / rate seconds
                cout.mux(sout.encode(out))
                count += 1
            cout.mux(sout.encode())  # flush
    with av.open(part) as check:  # every frame made it into the file
        written = sum(1 for p in check.demux(video=0) if p.size > 0)
    if count == 0 or written != count:
        os.remove(part)
        raise ValueError(f"{written} of {count} frames written")
    os.replace(part, dst)
    return count


def prepare_tree(root, out, short_side, workers=4, skip=()):
    """Scaled copies of every video under `root` into `out`, same relative names; every other
    file (the split lists) copied as it is, except the names in `skip`. Resumable: a finished
    copy is kept, an interrupted one ('.part') is redone. Never writes under `root`.
    -> dict(prepared, kept, broken [(name, why)], bytes_in, bytes_out)."""
    root, out = os.path.realpath(root), os.path.realpath(out)
    if out == root or out.startswith(root + os.sep):
        raise ValueError(f"--out {out} lies inside --root {root}: the originals must stay as "
                         "they are; give a folder outside it")
    videos, report = [], dict(prepared=0, kept=0, broken=[], bytes_in=0, bytes_out=0)
    for folder, _, names in sorted(os.walk(root)):
        for name in sorted(names):
            if name in skip or name.endswith(".part"):
                continue
            src = os.path.join(folder, name)
            dst = os.path.join(out, os.path.relpath(src, root))
            os.makedirs(os.path.dirname(dst), exist_ok=True)
            if os.path.splitext(name)[1].lower() not in CONTAINERS:
                shutil.copy2(src, dst)  # a split list or any other file, as it is
                continue
            report["bytes_in"] += os.path.getsize(src)
            if os.path.isfile(dst):
                report["kept"] += 1
            else:
                videos.append((src, dst))

    def one(job):
        try:
            prepare_video(*job, short_side)
            return None
        except (ValueError, av.FFmpegError, OSError) as e:
            if os.path.exists(job[1] + ".part"):
                os.remove(job[1] + ".part")
            return os.path.relpath(job[0], root), f"{type(e).__name__}: {e}"

    with ThreadPoolExecutor(max(1, workers)) as pool:  # FFmpeg codes without the GIL
        for failed in pool.map(one, videos):
            if failed:
                report["broken"].append(failed)
            else:
                report["prepared"] += 1
    report["bytes_out"] = sum(os.path.getsize(os.path.join(f, n)) for f, _, ns in os.walk(out)
                              for n in ns if os.path.splitext(n)[1].lower() in CONTAINERS)
    return report
