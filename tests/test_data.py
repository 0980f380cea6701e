"""Tests of data.py, video.py and synthetic.py on tiny videos written here with PyAV.

Independent references, not values copied from data.py or video.py:
- fake HMDB51 and UCF101 trees in the official layouts; the expected train/test lists and labels of
  every fold are derived from the specification the test itself wrote the split files from;
- clip correctness: each frame's index is written into its pixels (8 black/white vertical bands,
  one bit each) and read back after decoding, so a clip is checked frame by frame, for AVI/MPEG-4
  and MP4/H.264 (B-frames, a start offset); keyframe positions come from the demuxed packets;
- transforms: frames whose pixels encode their own (x, y) position, and constant colours whose
  normalised value is computed by hand;
- the weak split: per-class counts and the noise count worked out from the definition (METHOD.md
  Sec. 1);
- the generator: every file decoded with PyAV directly, not with data.py.
Plus the bad inputs of issue point 8 and smoke runs of `python data.py`.
"""
import json
import os
import re
import shutil
import subprocess
import sys
import warnings
import wave
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

import clips
import data
import synthetic
import video

REPO = Path(data.__file__).resolve().parent
MEAN = np.array(clips.KINETICS_MEAN).reshape(3, 1, 1, 1)  # (3, 1, 1, 1): broadcasts on (3, T, S, S)
STD = np.array(clips.KINETICS_STD).reshape(3, 1, 1, 1)


# --------------------------------------------------------------------------------- writing videos
def write_video(path, frames, codec="mpeg4", fps=25, gop=12, options=None, pts0=0):
    """uint8 (n, H, W, 3) -> a video file; the container follows the extension. `pts0` shifts the
    first timestamp (a start offset, as in many real MP4 files)."""
    with av.open(str(path), "w") as container:
        stream = container.add_stream(codec, rate=fps, options=options or {})
        stream.height, stream.width = frames.shape[1:3]
        stream.pix_fmt = "yuv420p"
        stream.codec_context.gop_size = gop
        for i, image in enumerate(frames):
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(image), format="rgb24")
            frame.pts = pts0 + i
            container.mux(stream.encode(frame))
        container.mux(stream.encode())  # flush


def noise_video(path, n=10, size=32, seed=0):
    write_video(path, np.random.default_rng(seed).integers(0, 256, (n, size, size, 3), np.uint8))


def index_frames(n, height=64, width=64):
    """Frame i shows the 8 bits of i as 8 vertical bands, most significant left: (n, H, W, 3)."""
    bits = (np.arange(n)[:, None] >> np.arange(7, -1, -1)[None]) & 1  # (n, 8)
    columns = np.repeat(bits, width // 8, axis=1) * 255  # (n, W)
    return np.broadcast_to(columns[:, None, :, None], (n, height, width, 3)).astype(np.uint8)


def band_index(gray):
    """Frame index from a decoded grey image (H, W) in [0, 1]: the centre of each band."""
    W = gray.shape[-1]
    band, margin = W // 8, W // 32
    bits = [gray[:, b * band + margin: (b + 1) * band - margin].mean() > 0.5 for b in range(8)]
    return sum(int(bit) << (7 - b) for b, bit in enumerate(bits))


def frame_indices(frames):
    """uint8 (N, H, W, 3) from read_frames -> the frame index shown by each."""
    x = torch.as_tensor(frames).float().numpy() / 255
    return [band_index(f.mean(-1)) for f in x]


def clip_frame_indices(clip):
    """uint8 clip (3, T, S, S) holding whole frames -> the frame index shown by each."""
    x = clip.double().numpy() / 255  # in [0, 1]
    return [band_index(x[:, t].mean(0)) for t in range(x.shape[1])]


def decode_all(path):
    """Every frame, decoded with PyAV directly: (n, H, W, 3) uint8."""
    with av.open(str(path)) as container:
        return np.stack([f.to_ndarray(format="rgb24") for f in container.decode(video=0)])


def keyframes(path):
    """Presentation indices of the keyframes, read from the demuxed packets."""
    with av.open(str(path)) as container:
        packets = [(p.pts, p.is_keyframe) for p in container.demux(video=0) if p.size > 0]
    order = sorted(pts for pts, _ in packets)
    return sorted(order.index(pts) for pts, key in packets if key)


def table(path):
    """The video's FrameTable, from its probe (as data.scan_videos keeps it)."""
    return video.FrameTable.from_json(video.probe_video(str(path))["table"])


def caught(fn, *args, **kwargs):
    """Run fn; return (result, the DataWarnings it raised, each as a message string)."""
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        result = fn(*args, **kwargs)
    return result, [str(w.message) for w in record if issubclass(w.category, data.DataWarning)]


def rel(videos, root):
    return {(Path(v.path).relative_to(root).as_posix(), v.label) for v in videos}


# ------------------------------------------------------------------------------- fake HMDB51 tree
# class -> [(file name, tags of folds 1, 2, 3)]: 1 = train, 2 = test, 0 = unused. Names as in the
# real archive: ( ) ! & ' - # [ ] , + and spaces. Classes are listed unsorted on purpose.
HMDB_SPEC = {
    "ride_bike": [("#122_Cleaning_Up_(Beach)_ride_bike_u_cm_np1_ba_bad_2.avi", "121"),
                  ("Bike [sic], fast + far_ride_bike_f_cm_np1_le_med_0.avi", "112"),
                  ("Bike_Tricks_ride_bike_f_nm_np1_ri_goo_1.avi", "201"),
                  ("Chase_ride_bike_u_cm_np2_fr_bad_3.avi", "012")],
    "brush_hair": [("April_09_brush_hair_u_nm_np1_ba_goo_0.avi", "112"),
                   ("Blonde_girl's_hair_brush_hair_h_nm_np1_le_goo_1.avi", "221"),
                   ("my video with spaces_brush_hair_f_nm_np1_fr_goo_2.avi", "110")],
    "pick": [("Pick_up_(the)_ball!_&_run'd-x_pick_f_cm_np1_ba_med_0.avi", "121"),
             ("pick_it_pick_f_nm_np1_fr_bad_1.avi", "212"),
             ("two  spaces_pick_u_cm_np1_ri_med_2.avi", "101"),
             ("Zoom_pick_f_cm_np1_ba_goo_3.avi", "012"),
             ("Yard_pick_f_nm_np1_le_goo_4.avi", "210")],
}


def make_hmdb(root, spec=HMDB_SPEC, split_folder="testTrainMulti_7030_splits", frames=10):
    """Write the HMDB51 layout: videos, an unlisted extra video, and split files with CRLF line
    ends, trailing blanks, blank lines and a tab."""
    root = Path(root)
    for c, (cls, videos) in enumerate(spec.items()):
        (root / cls).mkdir(parents=True)
        for k, (name, _) in enumerate(videos):
            noise_video(root / cls / name, n=frames, seed=10 * c + k)
        noise_video(root / cls / f"not_in_any_split_{cls}.avi", n=frames)
    if split_folder is not None:
        (root / split_folder).mkdir(parents=True, exist_ok=True)
        for cls, videos in spec.items():
            for fold in (1, 2, 3):
                seps = [" "] * len(videos)
                seps[1:2] = ["\t"]  # one line separated by a tab
                lines = [f"{name}{sep}{tags[fold - 1]} " for (name, tags), sep in zip(videos, seps)]
                lines.insert(1, "   ")  # a blank line
                text = "\r\n".join(lines) + "\r\n\r\n"  # CRLF, blank lines at the end
                (root / split_folder / f"{cls}_test_split{fold}.txt").write_bytes(text.encode())
    return root


def hmdb_expected(spec, fold):
    """(train, test) as sets of ("class/file", label) from the spec; labels = sorted classes."""
    classes = sorted(spec)
    out = {"1": set(), "2": set()}
    for cls, videos in spec.items():
        for name, tags in videos:
            if tags[fold - 1] != "0":
                out[tags[fold - 1]].add((f"{cls}/{name}", classes.index(cls)))
    return out["1"], out["2"]


@pytest.fixture(scope="module")
def hmdb_root(tmp_path_factory):
    return make_hmdb(tmp_path_factory.mktemp("hmdb") / "hmdb51")


@pytest.mark.parametrize("fold", [1, 2, 3])
def test_hmdb51_every_fold_matches_the_split_files(hmdb_root, fold):
    (train, test, classes), warned = caught(data.load_dataset, "hmdb51", str(hmdb_root), fold,
                                            workers=2)
    assert warned == []  # a clean tree: nothing skipped
    assert classes == sorted(HMDB_SPEC)  # sorted folder names, index = position, from 0
    want_train, want_test = hmdb_expected(HMDB_SPEC, fold)
    assert len(train) == len(want_train) and len(test) == len(want_test)
    assert rel(train, hmdb_root) == want_train and rel(test, hmdb_root) == want_test
    assert all((v.num_frames, v.width, v.height) == (10, 32, 32) for v in train + test)
    assert all(v.fps == pytest.approx(25) for v in train + test)
    # the lister alone gives the same lists (nothing to skip)
    ltrain, ltest, lclasses = data.list_hmdb51(str(hmdb_root), fold)
    assert (rel(ltrain, hmdb_root), rel(ltest, hmdb_root), lclasses) == (want_train, want_test,
                                                                         classes)


def test_hmdb51_split_folder_named_splits_or_given_explicitly(tmp_path):
    spec = {k: HMDB_SPEC[k] for k in ("pick", "brush_hair")}
    want = hmdb_expected(spec, 2)
    root = make_hmdb(tmp_path / "a", spec, split_folder="splits")
    train, test, classes = data.load_dataset("hmdb51", str(root), 2, workers=2)
    assert classes == ["brush_hair", "pick"]  # "splits" is not a class
    assert (rel(train, root), rel(test, root)) == want
    # an explicit folder with any name, inside the root (then not a class) or elsewhere
    root = make_hmdb(tmp_path / "b", spec, split_folder="my lists")
    train, test, classes = data.load_dataset("hmdb51", str(root), 2, str(root / "my lists"),
                                             workers=2)
    assert classes == ["brush_hair", "pick"] and (rel(train, root), rel(test, root)) == want
    elsewhere = tmp_path / "lists_elsewhere"
    shutil.move(str(root / "my lists"), elsewhere)
    train, test, classes = data.list_hmdb51(str(root), 2, str(elsewhere))
    assert classes == ["brush_hair", "pick"] and (rel(train, root), rel(test, root)) == want


# ------------------------------------------------------------------------------- fake UCF101 tree
UCF_CLASSES = ["YoYo", "ApplyEyeMakeup", "HandstandPushups"]  # classInd order, unsorted on purpose


def ucf_disk_name(cls, g, c):
    # the real archive's quirk: folder HandstandPushups, files v_HandStandPushups_*
    return f"v_{'HandStandPushups' if cls == 'HandstandPushups' else cls}_g{g:02d}_c{c:02d}.avi"


def ucf_list_name(cls, g, c):
    # the lists spell the quirky class either way
    if cls == "HandstandPushups":
        spelling = "HandStandPushups" if (g + c) % 2 else "HandstandPushups"
        return f"v_{spelling}_g{g:02d}_c{c:02d}.avi"
    return ucf_disk_name(cls, g, c)


UCF_VIDEOS = [(cls, g, c) for cls in UCF_CLASSES for g in (1, 2, 3) for c in (1, 2)]


def make_ucf(root, nested=True):
    """Official UCF101 layout: groups g01-g03, 2 clips each; fold f tests group f."""
    root = Path(root)
    video_root = root / "UCF-101" if nested else root
    for k, (cls, g, c) in enumerate(UCF_VIDEOS):
        (video_root / cls).mkdir(parents=True, exist_ok=True)
        noise_video(video_root / cls / ucf_disk_name(cls, g, c), n=10, seed=k)
    lists = root / "ucfTrainTestlist"
    lists.mkdir(parents=True)
    def write_crlf(name, lines):
        (lists / name).write_bytes(("\r\n".join(lines) + "\r\n").encode())

    write_crlf("classInd.txt", [f"{i + 1} {cls}" for i, cls in enumerate(UCF_CLASSES)])
    for fold in (1, 2, 3):
        train = [f"{cls}/{ucf_list_name(cls, g, c)} {UCF_CLASSES.index(cls) + 1}  "
                 for cls, g, c in UCF_VIDEOS if g != fold]
        test = [f"{cls}/{ucf_list_name(cls, g, c)} " for cls, g, c in UCF_VIDEOS if g == fold]
        write_crlf(f"trainlist0{fold}.txt", train + [""])  # ends in a blank line
        write_crlf(f"testlist0{fold}.txt", test)
    return root, video_root


@pytest.fixture(scope="module")
def ucf_root(tmp_path_factory):
    return make_ucf(tmp_path_factory.mktemp("ucf") / "ucf101")


@pytest.mark.parametrize("fold", [1, 2, 3])
def test_ucf101_every_fold_matches_the_lists(ucf_root, fold):
    root, video_root = ucf_root
    (train, test, classes), warned = caught(data.load_dataset, "ucf101", str(root), fold, workers=2)
    assert warned == [] and classes == UCF_CLASSES
    expected = {s: {(f"{cls}/{ucf_disk_name(cls, g, c)}", UCF_CLASSES.index(cls))
                    for cls, g, c in UCF_VIDEOS if (g == fold) == (s == "test")}
                for s in ("train", "test")}
    assert len(train) == len(expected["train"]) == 12 and len(test) == len(expected["test"]) == 6
    assert rel(train, video_root) == expected["train"] and rel(test, video_root) == expected["test"]
    assert sum(v.label == UCF_CLASSES.index("HandstandPushups") for v in train + test) == 6
    assert all(v.num_frames == 10 for v in train + test)


def test_ucf101_class_folders_directly_under_root(tmp_path):
    root, video_root = make_ucf(tmp_path / "ucf", nested=False)
    assert video_root == root
    train, test, classes = data.load_dataset("ucf101", str(root), 3, workers=2)
    assert classes == UCF_CLASSES
    assert rel(test, root) == {(f"{cls}/{ucf_disk_name(cls, g, c)}", UCF_CLASSES.index(cls))
                               for cls, g, c in UCF_VIDEOS if g == 3}
    assert len(train) == 12


# ------------------------------------------------------------------------------ clip correctness
N_FRAMES = 100  # frames of the index videos; 8 bits hold up to 255


@pytest.fixture(scope="module")
def index_videos(tmp_path_factory):
    """The frame-index video in AVI/MPEG-4 and in MP4/H.264 (B-frames, first pts at frame 5), and
    a 10-frame AVI shorter than the clips (looping)."""
    d = tmp_path_factory.mktemp("index")
    paths = {"avi": d / "index.avi", "mp4": d / "index.mp4", "short": d / "short.avi"}
    write_video(paths["avi"], index_frames(N_FRAMES), "mpeg4", gop=12)
    write_video(paths["mp4"], index_frames(N_FRAMES), "libx264", gop=12, pts0=5)
    write_video(paths["short"], index_frames(10), "mpeg4", gop=12)
    with av.open(str(paths["mp4"])) as c:  # the MP4 really has what the test claims
        stream = c.streams.video[0]
        pts = [p.pts for p in c.demux(stream) if p.size > 0]
        assert stream.start_time > 0, "no start offset"
        assert pts != sorted(pts), "no B-frames (decode order == presentation order)"
    for p in paths.values():  # the encoding survives the codecs
        frames = decode_all(p)
        assert frame_indices(frames) == list(range(len(frames)))
    return {k: str(v) for k, v in paths.items()}


def ref_clip(n, clip_len, stride, start):
    """Independent reference: frames start, start + stride, ...; a short video loops (mod n)."""
    return [(start + k * stride) % n for k in range(clip_len)]


def test_clip_indices_matches_reference_and_loops():
    for n, T, s, start in [(100, 8, 1, 0), (100, 8, 2, 85), (10, 8, 2, 0), (5, 16, 1, 3)]:
        assert video.clip_indices(n, T, s, start) == ref_clip(n, T, s, start)
    assert video.clip_indices(10, 8, 2, 0) == [0, 2, 4, 6, 8, 0, 2, 4]


@pytest.mark.parametrize("n,T,s,K", [(100, 8, 2, 5), (100, 16, 1, 10), (37, 4, 3, 4), (10, 8, 2, 3),
                                     (50, 8, 1, 1)])
def test_eval_starts_uniform_within_bounds(n, T, s, K):
    starts = video.eval_starts(n, T, s, K)
    span = (T - 1) * s + 1
    last = max(n - span, 0)
    assert len(starts) == K and all(0 <= x <= last for x in starts)
    if K == 1:
        assert abs(starts[0] - last / 2) <= 0.5  # centre clip
    else:
        assert starts[0] == 0 and starts[-1] == last  # the first and the last frames are covered
        assert all(abs(x - last * k / (K - 1)) <= 0.5 for k, x in enumerate(starts))  # uniform


@pytest.mark.parametrize("fmt", ["avi", "mp4"])
@pytest.mark.parametrize("seek", [True, False])
def test_read_frames_random_clips(index_videos, fmt, seek):
    path, rng = index_videos[fmt], np.random.default_rng(0)
    kw = dict(table=table(path)) if seek else {}  # seek and check, or count from the start
    for stride in (1, 2):
        span = 7 * stride + 1
        for start in rng.integers(0, N_FRAMES - span + 1, 12).tolist():
            want = ref_clip(N_FRAMES, 8, stride, start)
            frames = video.read_frames(path, video.clip_indices(N_FRAMES, 8, stride, start), **kw)
            assert frames.dtype == torch.uint8 and frames.shape == (8, 64, 64, 3)
            assert frame_indices(frames) == want, (fmt, stride, start)


@pytest.mark.parametrize("fmt", ["avi", "mp4"])
@pytest.mark.parametrize("seek", [True, False])
def test_read_frames_at_keyframe_boundaries_and_the_end(index_videos, fmt, seek):
    path = index_videos[fmt]
    kw = dict(table=table(path)) if seek else {}
    keys = keyframes(path)
    assert len(keys) >= 5 and keys[0] == 0  # gop 12 over 100 frames
    if seek:
        assert kw["table"].keys.tolist() == keys and kw["table"].seekable
    for k in keys[1:]:
        for start in (k - 1, k, k + 1):
            want = [i for i in range(start, start + 4) if i < N_FRAMES]
            assert frame_indices(video.read_frames(path, want, **kw)) == want, (fmt, start)
    for want in ([N_FRAMES - 1], [N_FRAMES - 3, N_FRAMES - 2, N_FRAMES - 1],
                 ref_clip(N_FRAMES, 8, 2, N_FRAMES - 15)):
        assert frame_indices(video.read_frames(path, want, **kw)) == want
    # repeated and unsorted indices come back in the order asked
    want = [50, 3, 50, 7, 7, 99, 0, 12]
    assert frame_indices(video.read_frames(path, want, **kw)) == want
    # indices past the end give the video's last frame, whichever index was asked before them
    assert frame_indices(video.read_frames(path, [98, 99, 100, 105], **kw)) == [98, 99, 99, 99]
    assert frame_indices(video.read_frames(path, [40, 120], **kw)) == [40, 99]
    assert frame_indices(video.read_frames(path, [130], **kw)) == [99]


class Container:
    """Stands in for an opened PyAV container: counts the frames decoded and, with `late`, makes
    every seek land `late` frames after the target, as an imprecise demuxer (MPEG-TS, a damaged
    index) does."""

    def __init__(self, container, counts, late=0):
        self.container, self.counts, self.late = container, counts, late
        counts.append(0)

    def __getattr__(self, name):
        return getattr(self.container, name)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.container.close()

    def seek(self, offset, stream=None, **kwargs):
        if offset > 0 and self.late:
            offset += int(self.late / (stream.average_rate * stream.time_base))
        return self.container.seek(offset, stream=stream, **kwargs)

    def decode(self, *args, **kwargs):
        for frame in self.container.decode(*args, **kwargs):
            self.counts[-1] += 1
            yield frame


def patch_open(monkeypatch, late=0):
    counts, real_open = [], av.open
    monkeypatch.setattr(av, "open", lambda *a, **k: Container(real_open(*a, **k), counts, late))
    return counts


@pytest.mark.parametrize("fmt", ["avi", "mp4"])
def test_read_frames_decodes_only_from_the_keyframe_before_the_clip(index_videos, fmt, monkeypatch):
    """Issue point 4: seek, then decode the clip plus at most one GOP, never the whole video."""
    path = index_videos[fmt]
    gop = max(np.diff(keyframes(path) + [N_FRAMES]))
    frame_table = table(path)
    counts = patch_open(monkeypatch)
    for start in (30, 47, 48, 49, 60, 85):
        want = ref_clip(N_FRAMES, 8, 2, start)
        counts.clear()
        assert frame_indices(video.read_frames(path, want, table=frame_table)) == want
        assert sum(counts) <= (want[-1] - want[0] + 1) + gop, (start, counts)


@pytest.mark.parametrize("fmt", ["avi", "mp4"])
def test_read_frames_when_the_seek_lands_too_late(index_videos, fmt, monkeypatch):
    frame_table = table(index_videos[fmt])
    counts = patch_open(monkeypatch, late=20)  # past the next keyframe: gop 12
    for start in (5, 30, 47, 60):
        want = ref_clip(N_FRAMES, 8, 2, start)
        counts.clear()
        assert frame_indices(video.read_frames(index_videos[fmt], want, table=frame_table)) == want
        seeks = frame_table.start_for(start) > 0  # then it was refused: a second pass from 0
        assert len(counts) == 1 + seeks and counts[-1] >= want[-1] + 1


def test_read_frames_loops_a_short_video(index_videos):
    want = ref_clip(10, 8, 2, 0)  # span 15 > 10 frames
    assert frame_indices(video.read_frames(index_videos["short"],
                                           video.clip_indices(10, 8, 2, 0))) == want


def index_video_list(index_videos, keys=("avi", "mp4", "short")):
    return data.scan_videos([data.Video(index_videos[k], label=i) for i, k in enumerate(keys)],
                            str(Path(index_videos["avi"]).parent), workers=1)


def test_train_clips_hold_consecutive_strided_frames(index_videos):
    videos = index_video_list(index_videos)
    assert [v.num_frames for v in videos] == [N_FRAMES, N_FRAMES, 10]
    # resize = crop = frame size and no flip: the clip holds whole frames, so the bands are readable
    ds = clips.TrainClips(videos, [0, 1, 2], clip_len=8, frame_stride=2, resize=64, crop=64,
                          flip=False, seed=3)
    span = 15
    for i, v in enumerate(videos):
        starts = []
        for epoch in range(6):
            ds.set_epoch(epoch)
            clip, label, index, labelled = ds[i]
            assert clip.dtype == torch.uint8 and clip.shape == (3, 8, 64, 64)
            assert (label, index, bool(labelled)) == (i, i, True)
            got = clip_frame_indices(clip)
            assert got == ref_clip(v.num_frames, 8, 2, got[0])  # strided; looped if short
            assert 0 <= got[0] <= max(v.num_frames - span, 0)
            starts.append(got[0])
            assert torch.equal(ds[i][0], clip)  # same (seed, epoch, index): same clip
        if v.num_frames > span:
            assert len(set(starts)) > 1  # a new random start each epoch


def test_repeated_sampling_cuts_r_clips_each_drawn_as_a_single_clip(index_videos):
    """--repeat-clips: R clips of one video from one decode, each strided from its own start;
    the first is the single clip of the same (seed, epoch, index) when crop and flip draw
    nothing that differs (crop = frame, no flip); decoding equals the frame cache's."""
    videos = index_video_list(index_videos)
    one = clips.TrainClips(videos, [0, 1, 2], clip_len=8, frame_stride=2, resize=64, crop=64,
                           flip=False, seed=3)
    three = clips.TrainClips(videos, [0, 1, 2], clip_len=8, frame_stride=2, resize=64, crop=64,
                             flip=False, seed=3, repeat=3)
    cache = video.cache_frames(videos, max_bytes=2 ** 30, short_side=64)
    cached = clips.TrainClips(videos, [0, 1, 2], clip_len=8, frame_stride=2, resize=64, crop=64,
                              flip=False, seed=3, repeat=3, cache=cache)
    for i, v in enumerate(videos):
        starts = set()
        for epoch in range(4):
            for ds in (one, three, cached):
                ds.set_epoch(epoch)
            clip, label, index, labelled = three[i]
            assert clip.shape == (3, 3, 8, 64, 64) and (label, index, bool(labelled)) == (i, i, True)
            assert torch.equal(clip[0], one[i][0]) and torch.equal(clip, cached[i][0])
            for r in range(3):
                got = clip_frame_indices(clip[r])
                assert got == ref_clip(v.num_frames, 8, 2, got[0])
                starts.add(got[0])
        if v.num_frames > 15:
            assert len(starts) > 1


def test_train_clips_same_with_any_number_of_workers(index_videos):
    videos = index_video_list(index_videos, ("avi", "short"))
    ds = clips.TrainClips(videos, [0, 1], clip_len=4, frame_stride=2, resize=32, crop=24, seed=1)
    ds.set_epoch(2)
    one = [x[0] for x in DataLoader(ds, batch_size=None, num_workers=0)]
    two = [x[0] for x in DataLoader(ds, batch_size=None, num_workers=2)]
    assert len(one) == 2 and all(torch.equal(a, b) for a, b in zip(one, two))


def test_eval_videos_clips_are_uniform_and_carry_the_right_frames(index_videos):
    videos = index_video_list(index_videos)
    K, T, s = 5, 4, 3
    span = (T - 1) * s + 1
    ds = clips.EvalVideos(videos, T, s, resize=64, crop=64, num_clips=K, num_crops=1)
    for i, v in enumerate(videos):
        views, label, index = ds[i]
        assert views.shape == (K, 3, T, 64, 64) and (label, index) == (v.label, i)
        got = [clip_frame_indices(c) for c in views]
        last = max(v.num_frames - span, 0)
        for k, clip in enumerate(got):
            assert clip == ref_clip(v.num_frames, T, s, clip[0])
            assert abs(clip[0] - last * k / (K - 1)) <= 0.5  # uniformly spaced over [0, last]
    flipped = clips.EvalVideos(videos, T, s, resize=64, crop=64, num_clips=K, flips=True)[0][0]
    assert flipped.shape == (2 * K, 3, T, 64, 64)
    assert torch.equal(flipped[:K], ds[0][0]) and torch.equal(flipped[K:], ds[0][0].flip(-1))
    three = clips.EvalVideos(videos, T, s, resize=32, crop=24, num_clips=K, num_crops=3)[1][0]
    assert three.shape == (3 * K, 3, T, 24, 24)
    # centre_view appends the view of clip accuracy: the centre clip, centre crop, decoded in
    # the same pass; it equals what a one-clip, one-crop EvalVideos gives
    both = clips.EvalVideos(videos, T, s, resize=32, crop=24, num_clips=K, num_crops=3,
                            centre_view=True)[1][0]
    centre = clips.EvalVideos(videos, T, s, resize=32, crop=24, num_clips=1, num_crops=1)[1][0]
    assert both.shape == (3 * K + 1, 3, T, 24, 24)
    assert torch.equal(both[:-1], three) and torch.equal(both[-1:], centre)


@pytest.mark.parametrize("short_side", [None, 48])  # as decoded; scaled while decoding
def test_frame_cache_gives_exactly_the_frames_of_read_frames(index_videos, short_side):
    videos = index_video_list(index_videos)
    cache = video.cache_frames(videos, max_bytes=2 ** 30, workers=2, short_side=short_side)
    assert sorted(cache) == sorted(v.path for v in videos)
    side = short_side or 64
    for v in videos:
        assert cache[v.path].shape == (v.num_frames, side, side, 3)
        assert cache[v.path].dtype == torch.uint8
        n = v.num_frames
        size = (side, side) if short_side else None
        for idx in ([0, 1, 2], [n - 1, 3, 3, 0], list(range(5, n, 7)), [n - 2, n - 1, n, n + 3]):
            got = video.get_frames(v, idx, cache, short_side)
            assert torch.equal(got, video.read_frames(v.path, idx, size=size))
            assert torch.equal(got, video.get_frames(v, idx, None, short_side))
    with pytest.raises(AssertionError, match="short_side"):  # a cache of other frame sizes
        video.get_frames(videos[0], [0], cache, 32 if short_side else 48)
    again = video.cache_frames(videos, max_bytes=2 ** 30, short_side=short_side)
    assert again is not cache and again[videos[0].path] is cache[videos[0].path]
    # ... over frames decoded once per process; the data sets give the same tensors either way
    for kwargs in (dict(), dict(cache=cache)):
        train = clips.TrainClips(videos, [0, 1, 2], clip_len=4, frame_stride=3, resize=side,
                                 crop=24, seed=5, **kwargs)
        evals = clips.EvalVideos(videos, 4, 3, resize=side, crop=24, num_clips=3, flips=True,
                                 centre_view=True, **kwargs)
        got = []
        for epoch in range(3):
            train.set_epoch(epoch)
            got += [train[i][0] for i in range(3)] + [evals[i][0] for i in range(3)]
        if not kwargs:
            plain = got
    assert all(torch.equal(a, b) for a, b in zip(plain, got)) and len(got) == 18


def test_scaling_while_decoding_matches_resizing_the_decoded_frames(tmp_path):
    """read_frames(size=...) against torch's antialiased bilinear resize of the full frames as
    floats (clips._resized, the definition): within a level everywhere, borders included, on
    noise, shrinking and enlarging."""
    noise = np.random.default_rng(3).integers(0, 256, (4, 96, 128, 3), np.uint8)
    write_video(tmp_path / "noise.avi", noise, "mpeg4", options={"qscale": "2"})
    idx = [0, 2, 3]
    full = video.read_frames(str(tmp_path / "noise.avi"), idx)  # (3, 96, 128, 3) as decoded
    for side, size in ((48, (64, 48)), (37, (49, 37)), (120, (160, 120))):
        assert video.scaled_size(128, 96, side) == size
        got = video.read_frames(str(tmp_path / "noise.avi"), idx, size=size)  # uint8
        want = clips._resized(full, side) * 255  # float levels
        assert got.dtype == torch.uint8 and got.shape == want.shape == (3, size[1], size[0], 3)
        assert (got.float() - want).abs().max() <= 1 + 1e-3, side
    assert video.scaled_size(96, 128, 48) == (48, 64)  # portrait: the width is the short side


def test_scaling_frames_of_two_sizes_scales_each_to_the_asked_size():
    """A video whose frame size changes midway: every frame still comes out at `size`, each as
    it would alone, within a level of the float resize."""
    rng = np.random.default_rng(4)
    frames = {0: rng.integers(0, 256, (60, 80, 3), np.uint8),
              1: rng.integers(0, 256, (48, 64, 3), np.uint8)}
    got = video._scaled(frames, (40, 30))
    for k, f in frames.items():
        assert got[k].shape == (30, 40, 3) and got[k].dtype == np.uint8
        want = clips._resized(torch.from_numpy(f)[None], 30)[0] * 255  # (30, 40, 3) float
        assert (torch.from_numpy(got[k]).float() - want).abs().max() <= 1 + 1e-3
    assert np.array_equal(video._scaled({0: frames[0]}, (40, 30))[0], got[0])


def test_frame_cache_respects_its_budget_and_leaves_out_bad_videos(tmp_path):
    paths = [tmp_path / f"v{k}.avi" for k in range(3)]
    for k, p in enumerate(paths):
        noise_video(p, n=12, seed=k)
    videos = data.scan_videos([data.Video(str(p), 0) for p in paths], str(tmp_path), workers=1)
    need = sum(v.num_frames * v.width * v.height * 3 for v in videos)
    assert video.cache_frames(videos, max_bytes=need - 1) == {}  # would not fit: no cache at all
    assert video.cache_frames([], max_bytes=need) == {}
    paths[0].write_bytes(os.urandom(5000))  # broken after the scan
    cache = video.cache_frames(videos, max_bytes=need)
    assert sorted(cache) == sorted(str(p) for p in paths[1:])
    ds = clips.TrainClips(videos, [0, 1, 2], clip_len=4, frame_stride=2, resize=32, crop=24,
                          cache=cache)
    with pytest.warns(data.DataWarning, match="v0.avi"):  # read_frames, then the usual replacement
        assert ds[0][2] == 1


# ------------------------------------------------------------- the file kinds real data sets hold
# Each kind is written here with PyAV, its frames coding their own index, and checked against the
# definition of a frame index (video.py): the i-th frame of a full sequential decode, here
# decode_all, PyAV called directly. What makes each kind hard is asserted on the file itself.
def write_timed(path, n, codec, pts, time_base=None, options=None, gop=12):
    """Index-coded frames with the given timestamps (in `time_base`, default 1/25)."""
    with av.open(str(path), "w") as container:
        stream = container.add_stream(codec, rate=25, options=options or {})
        stream.height, stream.width, stream.pix_fmt = 64, 64, "yuv420p"
        stream.codec_context.gop_size = gop
        if time_base:
            stream.codec_context.time_base = stream.time_base = time_base
        for i, image in enumerate(index_frames(n)):
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(image), format="rgb24")
            frame.pts = int(pts[i])
            if time_base:
                frame.time_base = time_base
            container.mux(stream.encode(frame))
        container.mux(stream.encode())


def packets(path):
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        return stream, [(p.pts, p.dts) for p in container.demux(stream) if p.size > 0]


IRREGULAR = np.cumsum(np.random.default_rng(1).integers(20, 80, N_FRAMES)) - 20  # ms, 12-50 fps
KINDS = {  # name: (file, codec, timestamps, time base, encoder options)
    "avi_bframes": ("b.avi", "mpeg4", range(N_FRAMES), None, {"bf": "2"}),
    "mp4_irregular": ("vfr.mp4", "libx264", IRREGULAR, Fraction(1, 1000), None),
    "mkv_irregular": ("vfr.mkv", "libx264", IRREGULAR, Fraction(1, 1000), None),
    "avi_dropped": ("dropped.avi", "mpeg4", [i + 5 * (i >= 30) + 3 * (i >= 60)
                                               for i in range(N_FRAMES)], None, None),
    "mp4_edit_list": ("edit.mp4", "libx264", [i - 5 for i in range(N_FRAMES)], None, None),
    "webm_vp9": ("vp9.webm", "libvpx-vp9", range(N_FRAMES), None, {"lag-in-frames": "0"}),
    "mkv_hevc_bframes": ("hevc.mkv", "libx265", range(N_FRAMES), None,
                         {"x265-params": "bframes=3:log-level=none"}),
}


@pytest.fixture(scope="module")
def kind_videos(tmp_path_factory):
    d = tmp_path_factory.mktemp("kinds")
    paths = {}
    for name, (file, codec, pts, time_base, options) in KINDS.items():
        paths[name] = d / file
        write_timed(paths[name], N_FRAMES, codec, list(pts), time_base, options)
    # what makes each kind hard, on the files themselves
    for name in ("avi_bframes", "mkv_hevc_bframes"):
        _, ps = packets(paths[name])
        assert [p for p, _ in ps] != sorted(p for p, _ in ps), f"{name}: no B-frames"
    for name in ("mp4_irregular", "mkv_irregular"):
        stream, ps = packets(paths[name])
        assert len(set(np.diff(sorted(p for p, _ in ps)))) > 10, f"{name}: regular timestamps"
    stream, ps = packets(paths["avi_dropped"])
    assert stream.frames == N_FRAMES + 8 and len(ps) == N_FRAMES  # the header counts 8 dropped
    hidden = len(decode_all(paths["mp4_edit_list"]))
    assert hidden < len(packets(paths["mp4_edit_list"])[1])  # the edit list hides leading frames
    return {k: str(v) for k, v in paths.items()}


@pytest.mark.parametrize("kind", list(KINDS))
def test_every_file_kind_is_frame_exact_on_the_seek_and_the_cache_paths(kind_videos, kind,
                                                                        monkeypatch):
    path = kind_videos[kind]
    truth = decode_all(path)  # the definition
    n = len(truth)
    info = video.probe_video(path)
    assert info["num_frames"] == n and (info["width"], info["height"]) == (64, 64)
    v = data.Video(path, 0, n, info["fps"], 64, 64, video.FrameTable.from_json(info["table"]))
    assert json.loads(json.dumps(info))["table"] == info["table"]  # it goes into the JSON cache
    rng = np.random.default_rng(0)
    wanted = [video.clip_indices(n, 8, s, int(rng.integers(0, n - 7 * s))) for s in (1, 2, 3)
             for _ in range(15)]
    wanted += [[k - 1, k, k + 1] for k in v.table.keys.tolist()[1:]]  # around every keyframe
    wanted += [[n - 2, n - 1, n, n + 7], [5, 40, n + 1], [n + 3]]  # past the end: the last frame
    cache = video.cache_frames([v], max_bytes=2 ** 30, workers=1)
    counts, seeks = patch_open(monkeypatch), 0
    for idx in wanted:
        want = truth[np.minimum(idx, n - 1)]
        counts.clear()
        got = video.read_frames(path, idx, table=v.table)
        assert np.array_equal(got.numpy(), want), (kind, idx)
        assert torch.equal(video.get_frames(v, idx, cache), got), (kind, idx)
        span = max(idx) - min(idx) + 1
        if v.table.seekable and len(counts) == 1:  # the seek was accepted: a GOP or two more
            # (demuxers that seek on decode timestamps may land one keyframe early)
            assert counts[0] <= span + 2 * np.diff(v.table.keys.tolist() + [n]).max()
            seeks += v.table.start_for(min(idx)) > 0
    # every kind seeks, checked, for most clips: exactness does not cost whole-video decodes
    assert v.table.seekable and seeks >= len(wanted) // 2, (kind, seeks, len(wanted))


def test_timestamps_against_the_frame_order_decode_from_the_start(index_videos, tmp_path,
                                                                  monkeypatch):
    """A file whose B-frame timestamps disagree with the order the decoder gives the frames in
    (as some phone MP4s): the H.264 MP4 remuxed into MKV with two packets' timestamps swapped.
    A timestamp then names no place reliably: the table says so, and every clip is counted from
    the start of the file."""
    path = tmp_path / "swapped.mkv"
    with av.open(index_videos["mp4"]) as cin, av.open(str(path), "w") as cout:
        sin = cin.streams.video[0]
        sout = cout.add_stream_from_template(sin)
        ps = [p for p in cin.demux(sin) if p.size > 0]
        ps[10].pts, ps[11].pts = ps[11].pts, ps[10].pts
        for p in ps:
            p.stream = sout
            cout.mux(p)
    truth = decode_all(path)
    frame_table = table(path)
    assert np.any(np.diff(frame_table.pts) <= 0) and not frame_table.seekable
    counts = patch_open(monkeypatch)
    for start in (0, 9, 30, 61, len(truth) - 8):
        idx = list(range(start, start + 8))
        counts.clear()
        got = video.read_frames(str(path), idx, table=frame_table)
        assert np.array_equal(got.numpy(), truth[idx])
        assert counts == [idx[-1] + 1]  # one pass, from frame 0


def test_truncation_is_told_from_dropped_frames_and_edit_lists(kind_videos, tmp_path):
    for kind in ("avi_dropped", "mp4_edit_list"):  # real files, not truncated
        assert video.probe_video(kind_videos[kind])["num_frames"] == len(decode_all(
            kind_videos[kind]))
    for kind, fraction in (("avi_dropped", 0.5), ("mkv_irregular", 0.5), ("mkv_irregular", 0.8)):
        whole = Path(kind_videos[kind]).read_bytes()
        cut = tmp_path / f"cut_{fraction}_{Path(kind_videos[kind]).name}"
        cut.write_bytes(whole[:int(len(whole) * fraction)])
        with pytest.raises(ValueError, match="truncated"):
            video.probe_video(str(cut))


# ------------------------------------------------------------------------------------ transforms
def position_frames(T, H, W):
    """uint8 (T, H, W, 3): red = 4 x column, green = 4 x row, blue = 10 x t."""
    y, x = np.mgrid[0:H, 0:W]
    f = np.stack([4 * x, 4 * y, np.zeros_like(x)], -1)[None].repeat(T, 0)  # (T, H, W, 3)
    f[..., 2] = 10 * np.arange(T)[:, None, None]
    return torch.from_numpy(f.astype(np.uint8))


def positions(view):
    """uint8 view (3, T, S, S) -> (rows, columns) of the source pixels, each (S, S)."""
    x = view.double().numpy()  # 0..255
    return x[1, 0] / 4, x[0, 0] / 4


def test_normalisation_of_a_constant_colour_by_hand():
    rgb = (200, 100, 30)
    frames = torch.tensor(rgb, dtype=torch.uint8).expand(3, 40, 50, 3)  # (T, H, W, 3)
    # the Kinetics-400 statistics that torchvision's video models publish
    mean, std = (0.43216, 0.394666, 0.37645), (0.22803, 0.22145, 0.216989)
    assert clips.KINETICS_MEAN == pytest.approx(mean) and clips.KINETICS_STD == pytest.approx(std)
    want = [(rgb[c] / 255 - mean[c]) / std[c] for c in range(3)]
    out = [clips.train_transform(frames, 32, 28, np.random.default_rng(0)),
           clips.eval_transform(frames, 32, 28, 3)[2]]  # resized, so interpolation is involved too
    out = [clips.to_model_input(x) for x in out]  # uint8 clips -> the model input
    for x in out:
        assert x.shape == (3, 3, 28, 28) and x.dtype == torch.float32
        for c in range(3):
            assert torch.allclose(x[c], torch.tensor(want[c], dtype=torch.float32), atol=1e-5)


@pytest.mark.parametrize("H,W", [(48, 64), (64, 48), (40, 40)])
def test_transform_shapes_portrait_and_landscape(H, W):
    frames = position_frames(4, H, W)
    assert clips.train_transform(frames, 32, 28, np.random.default_rng(0)).shape == (3, 4, 28, 28)
    assert clips.eval_transform(frames, 32, 28).shape == (1, 3, 4, 28, 28)
    assert clips.eval_transform(frames, 32, 28, num_crops=3).shape == (3, 3, 4, 28, 28)


def test_train_crop_is_a_window_of_the_frame_and_flip_really_flips():
    H, W, S = 48, 64, 32
    frames = position_frames(3, H, W)  # short side 48 = resize: no interpolation
    flips, windows = [], set()
    for seed in range(16):
        for flip in (False, True):
            view = clips.train_transform(frames, 48, S, np.random.default_rng(seed), flip=flip)
            rows, cols = positions(view)
            top, left = rows[0, 0], cols[0].min()
            assert np.array_equal(rows, top + np.arange(S)[:, None].repeat(S, 1))
            flipped = cols[0, 0] > cols[0, -1]
            assert np.array_equal(cols[0], left + np.arange(S)[::-1 if flipped else 1])
            assert 0 <= top <= H - S and 0 <= left <= W - S
            assert not flipped or flip
            flips.append(flipped)
            windows.add((top, left))
            # time stays in order
            assert view[2, :, 0, 0].tolist() == [0, 10, 20]
    assert any(flips) and len(windows) > 4  # random flips and random crop positions


def test_eval_crops_lie_along_the_long_side():
    # exact offsets on frames that need no resizing: left/centre/right or top/middle/bottom, centre
    for (H, W), want in [((48, 64), [(8, 0), (8, 16), (8, 32)]),
                         ((64, 48), [(0, 8), (16, 8), (32, 8)])]:
        frames = position_frames(2, H, W)
        views = clips.eval_transform(frames, 48, 32, 3)
        corners = [tuple(int(p[0, 0]) for p in positions(v)) for v in views]  # (top, left)
        assert corners == want
        centre = positions(clips.eval_transform(frames, 48, 32)[0])
        assert (int(centre[0][0, 0]), int(centre[1][0, 0])) == ((H - 32) // 2, (W - 32) // 2)
    # with resizing: a gradient along the long side gives increasing crop means
    for H, W, axis in [(60, 100, 1), (100, 60, 0)]:
        ramp = np.linspace(0, 255, max(H, W)).astype(np.uint8)
        img = np.broadcast_to(ramp[None, :] if axis else ramp[:, None], (H, W))
        frames = torch.from_numpy(np.stack([img] * 3, -1)[None].copy())  # (1, H, W, 3)
        means = [v.double().mean().item() for v in clips.eval_transform(frames, 30, 24, 3)]
        assert means[0] < means[1] < means[2]


# ------------------------------------------------------------------------------------ weak split
def test_weak_split_is_stratified_with_at_least_one_per_class():
    sizes = {0: 10, 1: 7, 2: 3, 3: 1}  # p = 0.3: 3, 2.1 -> 2, 0.9 -> 1, 0.3 -> 0 -> at least 1
    labels = np.random.default_rng(0).permutation(np.repeat(list(sizes), list(sizes.values())))
    split = data.make_weak_split(labels.tolist(), num_classes=5, fraction=0.3, seed=1)
    labelled = np.array(split["labelled"])
    assert {c: int((labels[labelled] == c).sum()) for c in sizes} == {0: 3, 1: 2, 2: 1, 3: 1}
    given = np.array(split["given_labels"])
    assert sorted(split["labelled"] + split["unlabelled"]) == list(range(len(labels)))
    assert np.array_equal(np.flatnonzero(given == -1), split["unlabelled"])  # -1 exactly on D_U
    assert np.array_equal(given[labelled], labels[labelled]) and split["noisy"] == []
    assert split["true_labels"] == labels.tolist()
    full = data.make_weak_split(labels.tolist(), 5, fraction=1.0)
    assert full["unlabelled"] == [] and full["given_labels"] == labels.tolist()


def test_weak_split_deterministic_per_seed_and_noise_rate_honoured():
    labels = np.random.default_rng(1).integers(0, 6, 300)
    a = data.make_weak_split(labels.tolist(), 6, fraction=0.4, noise=0.25, seed=7)
    assert a == data.make_weak_split(labels.tolist(), 6, fraction=0.4, noise=0.25, seed=7)
    b = data.make_weak_split(labels.tolist(), 6, fraction=0.4, noise=0.25, seed=8)
    assert a["labelled"] != b["labelled"]
    given, labelled = np.array(a["given_labels"]), np.array(a["labelled"])
    n_labelled = sum(max(1, round(0.4 * (labels == c).sum())) for c in range(6))
    assert len(labelled) == n_labelled
    changed = labelled[given[labelled] != labels[labelled]]
    assert len(changed) == round(0.25 * n_labelled)  # exactly r |D_L| labels replaced ...
    assert changed.tolist() == a["noisy"]
    assert ((given[changed] >= 0) & (given[changed] < 6)).all()  # ... each by another valid class
    assert np.array_equal(np.flatnonzero(given == -1), a["unlabelled"])


def test_weak_split_rejects_bad_fractions_and_round_trips_json(tmp_path):
    for kwargs in (dict(fraction=0), dict(fraction=-0.1), dict(fraction=1.5),
                   dict(fraction=0.5, noise=1.0), dict(fraction=0.5, noise=-0.1)):
        with pytest.raises(ValueError):
            data.make_weak_split([0, 1, 0, 1], 2, **kwargs)
    split = data.make_weak_split([0, 1, 2] * 5, 3, fraction=0.5, noise=0.2, seed=3)
    videos = [data.Video(f"/x/v{i}.avi", i % 3) for i in range(15)]
    split["videos"] = data.videos_digest(videos)
    path = str(tmp_path / "split.json")
    data.save_split(split, path)
    assert data.load_split(path) == split == json.loads(Path(path).read_text())
    assert data.load_split(path, videos) == split
    with pytest.raises(data.DatasetError):  # made for another list of videos
        data.load_split(path, videos[:-1])
    # damaged or foreign files: DatasetError, one line naming the file (train.py prints it)
    text = Path(path).read_text()
    for bad, says in ((text[:len(text) // 2], "damaged or is not JSON"),
                      ("[1, 2, 3]", "not a split file of train.py"),
                      (json.dumps({**split, "given_labels": [3] * 15}), "class indices -1..2"),
                      (json.dumps({**split, "labelled": [0]}), "matching 'labelled'")):
        Path(path).write_text(bad)
        with pytest.raises(data.DatasetError) as e:
            data.load_split(path, videos, 3)
        assert path in str(e.value) and says in str(e.value) and "\n" not in str(e.value)


def test_train_clips_never_yield_true_labels_of_unlabelled_videos(index_videos):
    videos = index_video_list(index_videos, ("avi", "mp4", "short"))  # true labels 0, 1, 2
    ds = clips.TrainClips(videos, [-1, 1, -1], 4, 2, 32, 24)  # videos 0 and 2 unlabelled
    for epoch in range(3):
        ds.set_epoch(epoch)
        out = [ds[i][1:] for i in range(3)]
        assert [(label, i, bool(lab)) for label, i, lab in out] == [(-1, 0, False), (1, 1, True),
                                                                   (-1, 2, False)]


# ------------------------------------------------------------------------------------- bad input
def make_small(root, tags=None):
    """Two classes a_cls, b_cls of three 10-frame videos (train, train, test) in the HMDB layout."""
    spec = {cls: [(f"{cls}_clip_{k}.avi", t) for k, t in enumerate(tags or ("111", "111", "222"))]
            for cls in ("a_cls", "b_cls")}
    return make_hmdb(root, spec)


def add_listed(root, cls, name, tag="1"):
    for fold in (1, 2, 3):
        split_file = Path(root) / "testTrainMulti_7030_splits" / f"{cls}_test_split{fold}.txt"
        with open(split_file, "a", newline="") as f:
            f.write(f"{name} {tag}\r\n")


def make_bad(path, kind, tmp):
    if kind == "zero-byte":
        path.write_bytes(b"")
    elif kind == "truncated":  # the first half of a real AVI
        noise_video(tmp / "whole.avi", n=40)
        whole = (tmp / "whole.avi").read_bytes()
        path.write_bytes(whole[:len(whole) // 2])
    elif kind == "not a video":
        path.write_text("this is a text file, not a video\n" * 20)
    elif kind == "audio only":  # a file FFmpeg opens, with no video stream in it
        with wave.open(str(path), "wb") as w:
            w.setnchannels(1), w.setsampwidth(2), w.setframerate(8000)
            w.writeframes(b"\0\0" * 8000)


def count_before(message, names):
    """The count the message gives: a number before the first file name."""
    head = message[:min(message.index(n) for n in names)]
    return [int(x) for x in re.findall(r"\b\d+\b", head)]


def test_a_file_without_a_video_stream_fails_as_a_bad_video(tmp_path):
    """Clip decoding raises ValueError (what TrainClips skips and replaces), not IndexError."""
    make_bad(tmp_path / "sound.avi", "audio only", tmp_path)
    with pytest.raises(ValueError, match="no video stream"):
        video.read_frames(str(tmp_path / "sound.avi"), [0])


@pytest.mark.parametrize("kind", ["zero-byte", "truncated", "not a video", "audio only",
                                  "missing"])
def test_bad_file_is_skipped_with_one_warning(tmp_path, kind):
    root = make_small(tmp_path / "hmdb")
    name = "bad_clip_(x).avi"
    if kind != "missing":
        make_bad(root / "a_cls" / name, kind, tmp_path)
    add_listed(root, "a_cls", name)
    (train, test, classes), warned = caught(data.load_dataset, "hmdb51", str(root), 1, workers=2)
    assert len(warned) == 1 and f"a_cls/{name}" in warned[0]
    assert 1 in count_before(warned[0], [f"a_cls/{name}"])
    assert rel(train, root) == {(f"{c}/{c}_clip_{k}.avi", i) for i, c in enumerate(classes)
                                for k in (0, 1)}
    assert len(test) == 2


def test_several_bad_files_give_one_warning_with_names_and_count(tmp_path):
    root = make_small(tmp_path / "hmdb")
    names = []
    for cls, kind in [("a_cls", "zero-byte"), ("b_cls", "truncated"), ("b_cls", "not a video")]:
        name = f"broken {kind}.avi"
        make_bad(root / cls / name, kind, tmp_path)
        add_listed(root, cls, name, "2")
        names.append(f"{cls}/{name}")
    (train, test, _), warned = caught(data.load_dataset, "hmdb51", str(root), 1, workers=2)
    assert len(warned) == 1 and all(n in warned[0] for n in names)
    assert 3 in count_before(warned[0], names)
    assert len(train) == 4 and len(test) == 2
    # scan_videos directly: the same, and the good videos get their metadata
    videos = [data.Video(str(root / n), 0) for n in names + ["a_cls/a_cls_clip_0.avi"]]
    good, warned = caught(data.scan_videos, videos, str(root), 2)
    assert len(warned) == 1 and [Path(v.path).name for v in good] == ["a_cls_clip_0.avi"]
    assert (good[0].num_frames, good[0].width, good[0].height) == (10, 32, 32)
    # two missing files: one warning too
    add_listed(root, "a_cls", "ghost one.avi")
    add_listed(root, "a_cls", "ghost two.avi")
    _, warned = caught(data.list_hmdb51, str(root), 1)
    ghosts = ["a_cls/ghost one.avi", "a_cls/ghost two.avi"]
    assert len(warned) == 1 and all(g in warned[0] for g in ghosts)
    assert 2 in count_before(warned[0], ghosts)


HMDB_HINTS = ("testTrainMulti_7030_splits", "serre-lab.clps.brown.edu")
UCF_HINTS = ("ucfTrainTestlist", "UCF-101", "crcv.ucf.edu")


def assert_layout_error(excinfo, hints, *extra):
    message = str(excinfo.value)
    assert all(h in message for h in hints + extra), message


def test_missing_root_split_folder_or_split_file_stop_with_the_layout(tmp_path):
    with pytest.raises(data.DatasetError) as e:
        data.load_dataset("hmdb51", str(tmp_path / "nowhere"))
    assert_layout_error(e, HMDB_HINTS, str(tmp_path / "nowhere"))
    root = make_hmdb(tmp_path / "no_splits", {"a_cls": [("a.avi", "111")]}, split_folder=None)
    with pytest.raises(data.DatasetError) as e:
        data.load_dataset("hmdb51", str(root))
    assert_layout_error(e, HMDB_HINTS)
    root = make_small(tmp_path / "one_file_missing")
    os.remove(root / "testTrainMulti_7030_splits" / "b_cls_test_split2.txt")
    data.load_dataset("hmdb51", str(root), 1, workers=2)  # fold 1 is complete
    with pytest.raises(data.DatasetError) as e:
        data.load_dataset("hmdb51", str(root), 2, workers=2)
    assert_layout_error(e, HMDB_HINTS, "b_cls_test_split2.txt")
    with pytest.raises(data.DatasetError) as e:
        data.load_dataset("ucf101", str(tmp_path / "nowhere"))
    assert_layout_error(e, UCF_HINTS)
    root, _ = make_ucf(tmp_path / "ucf")
    os.remove(root / "ucfTrainTestlist" / "testlist02.txt")
    with pytest.raises(data.DatasetError) as e:
        data.load_dataset("ucf101", str(root), 2, workers=2)
    assert_layout_error(e, UCF_HINTS, "testlist02.txt")


def test_class_without_usable_training_video_stops(tmp_path):
    # b_cls lists no training video (only test and unused ones)
    root = make_hmdb(tmp_path / "listed", {"a_cls": [("a0.avi", "111"), ("a1.avi", "222")],
                                           "b_cls": [("b0.avi", "222"), ("b1.avi", "000")]})
    with pytest.raises(data.DatasetError) as e:
        data.load_dataset("hmdb51", str(root), 1, workers=2)
    assert_layout_error(e, HMDB_HINTS, "b_cls")
    # b_cls lists one training video, but it cannot be decoded
    root = make_small(tmp_path / "broken", tags=("111", "222", "222"))
    make_bad(root / "b_cls" / "b_cls_clip_0.avi", "not a video", tmp_path)
    with pytest.raises(data.DatasetError) as e:
        with pytest.warns(data.DataWarning, match="b_cls_clip_0"):
            data.load_dataset("hmdb51", str(root), 1, workers=2)
    assert_layout_error(e, HMDB_HINTS, "b_cls")


def test_decoding_error_in_training_replaces_the_sample_and_counts(tmp_path):
    paths = [tmp_path / f"v{k}.avi" for k in range(3)]
    for k, p in enumerate(paths):
        noise_video(p, n=12, seed=k)
    videos = data.scan_videos([data.Video(str(p), 0) for p in paths], str(tmp_path), workers=1)
    paths[0].write_bytes(os.urandom(5000))  # broken after the scan
    ds = clips.TrainClips(videos, [0, 1, 2], clip_len=4, frame_stride=2, resize=32, crop=24)
    with pytest.warns(data.DataWarning, match="v0.avi"):
        clip, label, index, labelled = ds[0]
    assert clip.shape == (3, 4, 24, 24) and (label, index) == (1, 1)  # another sample
    assert ds.failures.value == 1
    assert ds[2][2] == 2 and ds.failures.value == 1
    # the counter is shared with DataLoader workers
    ds = clips.TrainClips(videos, [0, 1, 2], clip_len=4, frame_stride=2, resize=32, crop=24)
    indices = [x[2] for x in DataLoader(ds, batch_size=None, num_workers=2)]
    assert sorted(indices) == [1, 1, 2] and ds.failures.value == 1
    for p in paths[1:]:
        p.write_bytes(b"")
    with pytest.raises(data.DatasetError), warnings.catch_warnings():
        warnings.simplefilter("ignore", data.DataWarning)
        ds[1]


def test_a_data_warning_prints_as_one_line_like_the_errors(tmp_path):
    """In a process of its own, a video that fails to decode in a DataLoader worker: stderr is
    one line, 'warning: ' and the message naming the file and what was done."""
    bad, good = tmp_path / "bad.avi", tmp_path / "good.avi"
    noise_video(good, n=12)
    bad.write_bytes(os.urandom(5000))
    code = ("import clips, data, torch\n"
            f"videos = [data.Video(p, 0, num_frames=12, width=32, height=32) for p in "
            f"({str(bad)!r}, {str(good)!r})]\n"
            "ds = clips.TrainClips(videos, [0, 0], 4, 2, resize=32, crop=24)\n"
            "items = list(torch.utils.data.DataLoader(ds, batch_size=None, num_workers=1))\n"
            "assert [i for _, _, i, _ in items] == [1, 1]\n")  # item 0: replaced by video 1
    r = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stderr.startswith("warning: decoding failed, skipped and replaced by the next "
                               f"video: {bad}: ") and r.stderr.count("\n") == 1, r.stderr


# ------------------------------------------------------------------------------- metadata cache
def test_metadata_cache_is_reused_and_invalidated(tmp_path, monkeypatch):
    root = make_small(tmp_path / "hmdb")
    make_bad(root / "a_cls" / "empty.avi", "zero-byte", tmp_path)
    add_listed(root, "a_cls", "empty.avi")
    first, warned = caught(data.load_dataset, "hmdb51", str(root), 1, workers=2)
    assert len(warned) == 1
    cache = json.loads((root / data.METADATA_FILE).read_text())
    assert len(cache) == 7  # six good videos and the bad one

    def no_probe(path):
        raise AssertionError(f"probed again: {path}")

    monkeypatch.setattr(video, "probe_video", no_probe)
    second, warned = caught(data.load_dataset, "hmdb51", str(root), 1, workers=2)
    assert second == first and len(warned) == 1 and "empty.avi" in warned[0]
    # a modified file is probed again, and only that one
    noise_video(root / "b_cls" / "b_cls_clip_1.avi", n=17, seed=5)
    monkeypatch.undo()
    probed, real_probe = [], video.probe_video
    monkeypatch.setattr(video, "probe_video", lambda p: probed.append(p) or real_probe(p))
    third, _ = caught(data.load_dataset, "hmdb51", str(root), 1, workers=2)
    assert [Path(p).name for p in probed] == ["b_cls_clip_1.avi"]
    changed = [v for v in third[0] if v.path.endswith("b_cls_clip_1.avi")]
    assert changed[0].num_frames == 17
    unchanged = [v for v in first[0] if not v.path.endswith("b_cls_clip_1.avi")]
    assert [v for v in third[0] if v is not changed[0]] == unchanged


@pytest.mark.parametrize("damage", ["cut-short", "not-json", "a-list", "entry-no-table",
                                    "entry-frames-wrong", "entry-keys-out-of-range",
                                    "newer-version"])
def test_damaged_metadata_cache_is_rebuilt_with_a_warning(damage, tmp_path):
    """skd_metadata.json cut short, not JSON, of another shape, or with entries that are not
    whole or not consistent: never trusted. Every affected video is probed again, the result
    equals a first scan, a warning names the file (a mere version change is silent), and the
    cache on disk is whole again."""
    root = make_small(tmp_path / "hmdb")
    path = root / data.METADATA_FILE
    first = data.load_dataset("hmdb51", str(root), 1, workers=2)
    text = path.read_text()
    cache = json.loads(text)
    key = next(iter(cache))
    if damage == "cut-short":
        path.write_text(text[:len(text) // 2])
    elif damage == "not-json":
        path.write_bytes(b"\x00\x01 binary")
    elif damage == "a-list":
        path.write_text(json.dumps(list(cache)))
    elif damage == "entry-no-table":
        del cache[key]["table"]
        path.write_text(json.dumps(cache))
    elif damage == "entry-frames-wrong":
        cache[key]["num_frames"] += 5  # the table says otherwise
        path.write_text(json.dumps(cache))
    elif damage == "entry-keys-out-of-range":
        cache[key]["table"]["keys"] = [0, 999]
        path.write_text(json.dumps(cache))
    else:  # written by a newer probe: probed again, silently
        cache[key]["probe"] = data.PROBE_VERSION + 1
        path.write_text(json.dumps(cache))
    probed, real_probe = [], video.probe_video
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(video, "probe_video", lambda p: probed.append(p) or real_probe(p))
        again, warned = caught(data.load_dataset, "hmdb51", str(root), 1, workers=2)
    assert again == first
    whole_file = damage in ("cut-short", "not-json", "a-list")
    assert len(probed) == (6 if whole_file else 1)  # only what was damaged is probed again
    if damage == "newer-version":
        assert warned == []
    else:
        assert len(warned) == 1 and str(path) in warned[0] and "rebuilt" in warned[0], warned
    assert json.loads(path.read_text()) == json.loads(text)  # whole again
    assert caught(data.load_dataset, "hmdb51", str(root), 1, workers=2) == (first, [])


# ------------------------------------------------------------------------------------- generator
TINY = dict(classes=3, videos_per_class=4, frames=12, size=32)


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    d = tmp_path_factory.mktemp("synthetic")
    for name, seed in (("a", 0), ("b", 0), ("c", 1)):
        synthetic.make_synthetic(str(d / name), **TINY, seed=seed, quiet=True)
    return d


def test_generator_writes_the_hmdb51_layout_and_every_file_decodes(generated):
    root = generated / "a"
    classes = sorted(p.name for p in root.iterdir() if p.is_dir() and "split" not in p.name)
    assert len(classes) == 3
    params = json.loads((root / "synthetic.json").read_text())
    assert params == {**synthetic.SYNTHETIC_DEFAULTS, **TINY}
    for cls in classes:
        names = sorted(p.name for p in (root / cls).iterdir())
        assert len(names) == 4 and all(n.endswith(".avi") for n in names)
        for n in names:
            frames = decode_all(root / cls / n)
            assert 9 <= len(frames) <= 15 and frames.shape[1:] == (32, 32, 3)  # 12 frames +- 25%
        for fold in (1, 2, 3):
            split_file = root / "testTrainMulti_7030_splits" / f"{cls}_test_split{fold}.txt"
            lines = split_file.read_text()
            tags = dict(line.rsplit(None, 1) for line in lines.splitlines() if line.strip())
            assert sorted(tags) == names and set(tags.values()) <= {"1", "2"}
            assert list(tags.values()).count("2") == round(0.3 * 4)  # 70/30
    train, test, got = data.load_dataset("hmdb51", str(root), 3, workers=2)
    assert got == classes and len(train) == 9 and len(test) == 3


def test_generator_is_deterministic_per_seed(generated):
    def frames(name):
        root = generated / name
        return {p.relative_to(root).as_posix(): decode_all(p) for p in sorted(root.glob("*/*.avi"))}

    a, b, c = frames("a"), frames("b"), frames("c")
    assert a.keys() == b.keys() == c.keys() and len(a) == 12
    assert all(np.array_equal(a[k], b[k]) for k in a)
    assert not any(a[k].shape == c[k].shape and np.array_equal(a[k], c[k]) for k in a)


def test_generator_first_class_gives_disjoint_classes_with_the_same_videos(generated, tmp_path):
    """first_class picks MOTIONS[first:first + classes]; a motion's videos and split do not depend
    on which other motions share the set (the pretraining / target sets of benchmark.py)."""
    other = tmp_path / "other"
    params = synthetic.make_synthetic(str(other), **{**TINY, "classes": 2}, first_class=2,
                                      quiet=True)
    assert params["first_class"] == 2
    classes = sorted(p.name for p in other.iterdir() if p.is_dir() and "split" not in p.name)
    assert classes == sorted(synthetic.MOTIONS[2:4])
    shared = synthetic.MOTIONS[2]  # also the third class of the 3-class set "a"
    for n in sorted(p.name for p in (other / shared).iterdir()):
        assert np.array_equal(decode_all(other / shared / n), decode_all(generated / "a" / shared / n))
    split = f"testTrainMulti_7030_splits/{shared}_test_split1.txt"
    assert (other / split).read_text() == (generated / "a" / split).read_text()
    with pytest.raises(ValueError, match="first_class"):
        synthetic.make_synthetic(str(tmp_path / "bad"), **TINY, first_class=10, quiet=True)


def test_generator_extra_test_videos_join_every_folds_test_split_only(generated, tmp_path):
    """extra_test: more test videos per class, the training videos and split of the set without
    them unchanged (the grid's reported sets: a larger test split, the same trained weights)."""
    more = tmp_path / "more"
    params = synthetic.make_synthetic(str(more), **TINY, extra_test=3, quiet=True)
    assert params == {**synthetic.SYNTHETIC_DEFAULTS, **TINY, "extra_test": 3}
    for fold in (1, 2, 3):
        base, big = (data.load_dataset("hmdb51", str(r), fold, workers=2)
                     for r in (generated / "a", more))
        assert big[2] == base[2]  # the classes
        assert [(os.path.relpath(v.path, more), v.label) for v in big[0]] == \
               [(os.path.relpath(v.path, generated / "a"), v.label) for v in base[0]]
        rel = {os.path.relpath(v.path, more) for v in big[1]}
        assert {os.path.relpath(v.path, generated / "a") for v in base[1]} < rel
        assert len(rel) == len(base[1]) + 3 * 3  # 3 more per class, all in the test split
    for cls in sorted(p.name for p in more.iterdir() if p.is_dir() and "split" not in p.name):
        for n in sorted(p.name for p in (generated / "a" / cls).iterdir()):
            assert (more / cls / n).read_bytes() == (generated / "a" / cls / n).read_bytes()
    with pytest.raises(ValueError, match="extra_test"):
        synthetic.make_synthetic(str(tmp_path / "bad"), **TINY, extra_test=-1, quiet=True)


def test_ensure_synthetic_accepts_sets_written_before_first_class(generated, tmp_path):
    root = tmp_path / "old"
    shutil.copytree(generated / "a", root)
    info = json.loads((root / "synthetic.json").read_text())
    for key in ("first_class", "extra_test", "motion", "look"):
        del info[key]  # as written by earlier versions
    (root / "synthetic.json").write_text(json.dumps(info))
    found = synthetic.ensure_synthetic(str(root), **TINY)
    assert (found["first_class"], found["extra_test"], found["motion"], found["look"]) == (0, 0, 1.0, 0)


@pytest.mark.parametrize("name", synthetic.MOTIONS)
def test_motion_scale_scales_every_motion(name):
    """motion = 0.5: the same trajectory drawn from the same generator state, with every motion
    halved: the displacement of the linear ones, the rotation, the exponent of the size change,
    the amplitude of the periodic ones; the start and the shape's size do not move."""
    n, size = 20, 32
    full = synthetic._motion(name, np.random.default_rng(7), n, size, 1.1)
    half = synthetic._motion(name, np.random.default_rng(7), n, size, 1.1, scale=0.5)
    (x1, y1, a1, r1), (x2, y2, a2, r2) = full, half
    np.testing.assert_allclose(x2 - x2[0], 0.5 * (x1 - x1[0]), atol=1e-3)  # wraps come later
    np.testing.assert_allclose(y2 - y2[0], 0.5 * (y1 - y1[0]), atol=1e-3)
    np.testing.assert_allclose(a2 - a2[0], 0.5 * (a1 - a1[0]), atol=1e-5)
    if name in ("grow", "shrink"):
        np.testing.assert_allclose(np.log2(r2 / r2[0]), 0.5 * np.log2(r1 / r1[0]), atol=1e-5)
    elif name == "pulse":
        np.testing.assert_allclose(r2 / r2.mean() - 1, 0.5 * (r1 / r1.mean() - 1), atol=0.02)
    else:
        np.testing.assert_array_equal(r1, r2)


def test_look_changes_the_appearance_not_the_motion(tmp_path):
    """look 1: the same classes, other shapes, pattern, colours and background; its videos share
    no frame with look 0's, and a set of each records its look and motion and is reused."""
    a = synthetic.render_video("grow", np.random.default_rng([0, 6, 1]), 16, 32, 0.1)
    b = synthetic.render_video("grow", np.random.default_rng([0, 6, 1]), 16, 32, 0.1, look=1)
    assert a.shape == b.shape and np.abs(a.astype(int) - b.astype(int)).mean() > 20
    # look 1's background is 8 x 8 blocks with hard edges, look 0's a smooth texture: jumps of
    # more than 30 levels between neighbouring pixels of the first frame
    def edges(v):
        return float((np.abs(np.diff(v[0].astype(int), axis=1)) > 30).mean())
    assert edges(a) < 0.05 < 0.1 < edges(b)
    root = tmp_path / "other_look"
    params = synthetic.make_synthetic(str(root), **TINY, motion=0.5, look=1, quiet=True)
    assert (params["motion"], params["look"]) == (0.5, 1)
    assert json.loads((root / "synthetic.json").read_text()) == params
    assert synthetic.ensure_synthetic(str(root), **TINY, motion=0.5, look=1) == params
    with pytest.raises(FileExistsError):
        synthetic.ensure_synthetic(str(root), **TINY)  # the default look: another set
    for bad in (dict(look=2), dict(motion=0.0)):
        with pytest.raises(ValueError, match="look"):
            synthetic.make_synthetic(str(tmp_path / "bad"), **TINY, **bad, quiet=True)


def test_generator_never_overwrites_and_ensure_reuses(generated, tmp_path, monkeypatch):
    root = generated / "a"
    before = {p: p.stat().st_mtime_ns for p in root.rglob("*")}
    with pytest.raises(FileExistsError):
        synthetic.make_synthetic(str(root), **TINY, quiet=True)
    assert not Path(f"{root}.partial").exists()
    monkeypatch.setattr(synthetic, "make_synthetic", lambda *a, **k: pytest.fail("regenerated"))
    assert synthetic.ensure_synthetic(str(root), **TINY) == {**synthetic.SYNTHETIC_DEFAULTS, **TINY}
    with pytest.raises(FileExistsError):
        synthetic.ensure_synthetic(str(root), **{**TINY, "seed": 1})
    assert {p: p.stat().st_mtime_ns for p in root.rglob("*")} == before
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "notes.txt").write_text("mine")
    with pytest.raises(FileExistsError):
        synthetic.ensure_synthetic(str(tmp_path / "other"), **TINY)
    monkeypatch.undo()
    synthetic.ensure_synthetic(str(tmp_path / "new"), **TINY)  # generates on first use
    assert len(list((tmp_path / "new").glob("*/*.avi"))) == 12


def test_load_dataset_synthetic_reads_an_existing_set(generated):
    """load_dataset('synthetic', root) on a set made by --make-synthetic with its own sizes."""
    train, test, classes = data.load_dataset("synthetic", str(generated / "b"), 1, workers=2)
    assert len(classes) == 3 and len(train) == 9 and len(test) == 3


# ------------------------------------------------------------------------------------ CLI smoke
def run_data_py(*args):
    return subprocess.run([sys.executable, "data.py", *map(str, args)], cwd=REPO,
                          capture_output=True, text=True, timeout=300)


def test_cli_make_synthetic_then_summary(tmp_path):
    out = tmp_path / "syn"
    r = run_data_py("--make-synthetic", out, "--classes", 3, "--videos-per-class", 4,
                    "--frames", 12, "--size", 32)
    assert r.returncode == 0, r.stderr
    train, test, classes = data.load_dataset("hmdb51", str(out), 1, workers=2)
    assert len(classes) == 3 and len(train) + len(test) == 12
    r = run_data_py("--summary", "hmdb51", "--root", out)
    assert r.returncode == 0, r.stderr
    for fold in (1, 2, 3):
        assert re.search(rf"fold {fold}\D+3 classes\D+9 train\D+3 test", r.stdout), r.stdout


def test_cli_summary_of_a_missing_root_fails_with_the_layout(tmp_path):
    r = run_data_py("--summary", "hmdb51", "--root", tmp_path / "missing")
    assert r.returncode != 0 and "Traceback" not in r.stderr
    assert "testTrainMulti_7030_splits" in r.stderr and len(r.stderr.strip().splitlines()) <= 6


def tree_digest(root):
    """{relative path: bytes} of every file under root."""
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in Path(root).rglob("*")
            if p.is_file()}


def test_cli_prepare_writes_a_scaled_resumable_copy_and_names_broken_files(tmp_path):
    root = make_small(tmp_path / "hmdb")
    write_video(root / "a_cls" / "index_clip.avi", index_frames(40, 64, 96), "mpeg4")
    add_listed(root, "a_cls", "index_clip.avi")
    make_bad(root / "b_cls" / "cut_clip.avi", "truncated", tmp_path)
    add_listed(root, "b_cls", "cut_clip.avi")
    caught(data.load_dataset, "hmdb51", str(root), 1, workers=2)  # writes skd_metadata.json
    before = tree_digest(root)
    out = tmp_path / "hmdb_32"
    r = run_data_py("--prepare", "hmdb51", "--root", root, "--out", out, "--short-side", 32,
                    "--workers", 2)
    assert r.returncode == 0, r.stderr
    assert "9 videos prepared, 0 already there, 1 broken" in r.stdout, r.stdout
    assert "b_cls/cut_clip.avi" in r.stdout and "--data-root" in r.stdout
    assert tree_digest(root) == before  # the originals untouched
    copy = tree_digest(out)
    splits = [k for k in before if k.endswith(".txt")]
    assert all(copy[k] == before[k] for k in splits)  # split files unchanged, byte for byte
    videos = {k for k in before if k.endswith(".avi")} - {"b_cls/cut_clip.avi"}
    assert {k for k in copy if k.endswith(".avi")} == videos and data.METADATA_FILE not in copy
    # frame i of the copy is frame i of the original, scaled: 64 x 96 -> 32 x 48
    prepared = str(out / "a_cls" / "index_clip.avi")
    assert frame_indices(decode_all(prepared)) == list(range(40))
    info = video.probe_video(prepared)
    assert (info["width"], info["height"], info["num_frames"]) == (48, 32, 40)
    keys = video.FrameTable.from_json(info["table"]).keys.tolist()
    assert keys == list(range(0, 40, video.PREPARED_GOP))
    (train, test, _), warned = caught(data.load_dataset, "hmdb51", str(out), 1, workers=2)
    assert len(train) == 5 and len(test) == 2  # read like any root; the broken file is missing
    assert len(warned) == 1 and "b_cls/cut_clip.avi" in warned[0]
    # resumable: finished copies are kept; an interrupted one (.part) is done again
    (out / "a_cls" / "index_clip.avi").unlink()
    (out / "a_cls" / "index_clip.avi.part").write_bytes(b"half a file")
    r = run_data_py("--prepare", "hmdb51", "--root", root, "--out", out, "--short-side", 32)
    assert "1 videos prepared, 8 already there, 1 broken" in r.stdout, r.stdout
    assert frame_indices(decode_all(prepared)) == list(range(40))
    assert not list(out.rglob("*.part"))
    # the copy may not go inside the originals
    r = run_data_py("--prepare", "hmdb51", "--root", root, "--out", root / "copy")
    assert r.returncode != 0 and "originals" in r.stderr and not (root / "copy").exists()


# ------------------------------------------------------------------------------- uint8 hand-over
DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])


def normalised(x):
    """uint8 (..., 3, T, S, S) -> (x / 255 - mean_c) / std_c, float32 on the CPU: the model input,
    written out with torch's own ops and the published Kinetics-400 statistics."""
    mean, std = torch.tensor(MEAN).float(), torch.tensor(STD).float()  # (3, 1, 1, 1)
    return (x.cpu().float() / 255 - mean) / std


@pytest.mark.parametrize("device", DEVICES)
def test_transforms_hand_over_the_crops_uint8_pixels_and_to_model_input_normalises_them(device):
    """Workers hand over uint8 clips, the crop's own pixels; clips.to_model_input makes the model
    input where the model runs: bit for bit (torch.equal) the normalisation written out here, for
    training clips (every random crop, flipped or not), evaluation views (1 and 3 crops) and
    every one of the 256 levels in every channel."""
    frames = torch.from_numpy(np.random.default_rng(0).integers(0, 256, (4, 40, 56, 3), np.uint8))
    window = lambda t, l: frames[:, t:t + 32, l:l + 32].permute(3, 0, 1, 2)  # noqa: E731
    windows = [w for t in range(40 - 32 + 1) for l in range(56 - 32 + 1)  # every crop, and its
               for w in (window(t, l), window(t, l).flip(-1))]  # flip: (3, T, 32, 32) uint8
    to_input = lambda x: clips.to_model_input(x.to(device)).cpu()  # noqa: E731
    for seed in range(8):  # random crop positions, flipped or not
        got = clips.train_transform(frames, 40, 32, np.random.default_rng(seed))
        assert got.dtype == torch.uint8 and got.shape == (3, 4, 32, 32)
        assert any(torch.equal(got, w) for w in windows)
        assert torch.equal(to_input(got), normalised(got))
    for crops, offsets in ((1, [(4, 12)]), (3, [(4, 0), (4, 12), (4, 24)])):  # along the width
        got = clips.eval_transform(frames, 40, 32, crops)
        assert got.dtype == torch.uint8 and got.shape == (crops, 3, 4, 32, 32)
        assert torch.equal(got, torch.stack([window(t, l) for t, l in offsets]))
        assert torch.equal(to_input(got), normalised(got))
    levels = torch.arange(256, dtype=torch.uint8).view(1, 16, 16, 1).expand(2, 16, 16, 3)
    got = clips.eval_transform(levels, 16, 16)  # (1, 3, 2, 16, 16)
    assert torch.equal(got[0], levels.permute(3, 0, 1, 2))
    assert torch.equal(to_input(got), normalised(got))


def test_data_sets_hand_over_uint8_batches_that_to_model_input_normalises(index_videos):
    """TrainClips and EvalVideos batched by a DataLoader as train.py does: uint8 batches (4x fewer
    bytes than float32) holding each item's clip; to_model_input of a batch is the normalisation
    written out here, bit for bit."""
    videos = index_video_list(index_videos)
    kwargs = dict(clip_len=4, frame_stride=3, resize=48, crop=40)
    train = clips.TrainClips(videos, [0, 1, 2], seed=7, **kwargs)
    train.set_epoch(3)
    evals = clips.EvalVideos(videos, num_clips=3, num_crops=3, flips=True, centre_view=True,
                             **kwargs)
    for ds, shape in ((train, (3, 3, 4, 40, 40)), (evals, (3, 3 * 3 * 2 + 1, 3, 4, 40, 40))):
        got, *_ = next(iter(DataLoader(ds, batch_size=3)))
        assert got.dtype == torch.uint8 and got.shape == shape  # (B, [V,] 3, T, S, S)
        assert torch.equal(got, torch.stack([ds[i][0] for i in range(3)]))
        assert torch.equal(clips.to_model_input(got), normalised(got))


def test_frames_resized_as_floats_are_handed_over_rounded_by_half_a_level_at_most():
    """Frames whose short side is not `resize` are scaled as floats (clips._resized); the uint8
    hand-over rounds them to the nearest level: at most 0.5 / 255 from the float resize, which
    is computed here from video.resize, the project's one resize, and cropped by hand."""
    frames = torch.from_numpy(np.random.default_rng(1).integers(0, 256, (3, 50, 70, 3), np.uint8))
    got = clips.eval_transform(frames, 36, 32, 3)  # 50 -> 36: a float resize; (3, 3, T, 32, 32)
    x = frames.permute(0, 3, 1, 2).double() / 255  # (T, 3, 50, 70) in [0, 1]
    x = video.resize(x, 50, 36).clamp(0, 1).permute(1, 0, 2, 3)  # (3, T, 36, 50): 70 * 36 / 50
    want = torch.stack([x[:, :, 2:34, left:left + 32] for left in (0, 9, 18)])  # (3, 3, T, 32, 32)
    error = (got.double() / 255 - want).abs()  # in [0, 1] units
    assert got.dtype == torch.uint8 and 0 < error.max() <= 0.5 / 255 + 1e-6
