"""The simulated data set of METHOD.md Sec. 9: video classes that differ only by motion.

The paper evaluates on real and simulated data; this is our simulated set. Each class is a motion
of one "actor" object (direction, speed, rotation, scaling, trajectory); its shape, colour, size,
start position and angle, the background texture, the distractor objects and the pixel noise are
drawn at random per video, so a single frame carries no class information and a model must use
time. A difficulty knob in [0, 1] sets how hard that is.

The set is written as real MPEG-4 AVI files in the HMDB51 layout (class folders plus
testTrainMulti_7030_splits/ with three 70/30 folds), so it goes through exactly the loader of the
real data sets (data.py). Same parameters and seed, same decoded frames.

    python data.py --make-synthetic data/synthetic     # the command line lives in data.py
"""
import json
import os
import time

import av
import numpy as np

# Each class is closed under a horizontal flip (a class that moves sideways picks left or right
# at random), so the usual flip augmentation and the flipped views of Sec. 5 keep the label.
MOTIONS = ["up_slow", "up_fast", "down_slow", "down_fast", "sideways", "rotate", "grow",
           "shrink", "orbit", "bounce", "shake", "pulse"]
# 6 classes: the other 6 motions pretrain the teacher; extra_test: make_synthetic's docstring
# The twin set that pretrains the teacher (train.pretraining_argv) holds TWIN_SCALE times the
# videos per class of the set it serves: a source set much larger than the target, as
# Kinetics-400 is to HMDB51. At the target's own size a model from scratch sat at chance for 8
# to 22 of its 30 epochs, depending on the seed and on the CPU's rounding; at 5x it left chance
# by epoch 3 but ended between 0.80 and 0.98 of video accuracy (grow and shrink confused or not);
# at 10x it leaves chance at epoch 2 and ends between 0.983 and 0.994 over 5 seeds x 1 and 2
# threads (the report, section 9).
TWIN_SCALE = 10
SYNTHETIC_DEFAULTS = dict(classes=6, videos_per_class=140, frames=24, size=32, difficulty=0.1,
                          seed=0, first_class=0, extra_test=0, motion=1.0, look=0)
LOOKS = 2  # look 0: striped shapes on a smooth background; look 1: another family (render_video)


def _shape_mask(shape, u, v):
    """Inside-test of a unit shape in object coordinates (u, v), each (T, H, W): shapes 0-3 are
    look 0's, 4-7 look 1's."""
    if shape == 4:
        return (u * u + v * v <= 1) & (u * u + v * v >= 0.3)  # ring
    if shape == 5:
        return abs(u) + abs(v) <= 1  # diamond
    if shape == 6:
        return (abs(u) <= 1) & (abs(v) <= 0.45)  # bar
    if shape == 7:
        return (u * u / 1.0 + v * v / 0.4 <= 1) | (u * u / 0.4 + v * v / 1.0 <= 1)  # two ellipses
    if shape == 0:
        return np.maximum(abs(u), abs(v)) <= 1  # square
    if shape == 1:
        return (v >= -0.5) & (v <= 1 - np.sqrt(3) * abs(u))  # triangle
    if shape == 2:
        return ((abs(u) <= 1) & (abs(v) <= 0.35)) | ((abs(u) <= 0.35) & (abs(v) <= 1))  # cross
    return u * u + v * v <= 1  # disc (its stripes show rotation)


def _render_object(canvas, shape, color, cx, cy, angle, radius, look=0):
    """Paint one shape on canvas (T, H, W, 3), striped (look 0) or checkered (look 1); cx, cy,
    angle, radius are (T,) arrays.

    The frame is a torus: an object leaving at one edge re-enters at the opposite one, so a
    motion of any speed lasts the whole video and the start position can be uniform.
    """
    T, H, W, _ = canvas.shape
    y, x = np.mgrid[0:H, 0:W].astype(np.float32)  # (H, W)
    dx = (x[None] - cx[:, None, None] + W / 2) % W - W / 2  # (T, H, W), wrapped offsets
    dy = (y[None] - cy[:, None, None] + H / 2) % H - H / 2  # (T, H, W)
    c, s, r = np.cos(angle)[:, None, None], np.sin(angle)[:, None, None], radius[:, None, None]
    u, v = (dx * c + dy * s) / r, (-dx * s + dy * c) / r  # object coordinates, (T, H, W)
    inside = _shape_mask(shape + 4 * look, u, v)
    if look == 0:
        stripes = 0.6 + 0.4 * (np.sin(u * np.pi * 2) > 0)  # (T, H, W): makes the angle visible
    else:  # a checkerboard, also not symmetric under rotation
        stripes = 0.55 + 0.45 * ((np.sin(u * np.pi * 2) > 0) ^ (np.sin(v * np.pi * 3) > 0))
    paint = color[None, None, None, :] * stripes[..., None]  # (T, H, W, 3)
    canvas[inside] = paint[inside]


def _motion(name, rng, n, size, speed, scale=1.0):
    """Trajectory of the actor over n frames: centre x, y, angle, radius, each (n,) in pixels.

    Speeds are in pixels per frame at a 64-pixel frame and scale with the frame size. `scale`
    multiplies every motion (speeds, rotation rate, the amplitudes of the periodic motions and
    the exponent of the size change): below 1 the classes differ by subtler motion.
    """
    t = np.arange(n, dtype=np.float32)
    radius = np.full(n, rng.uniform(0.12, 0.2) * size, np.float32)
    angle = np.full(n, rng.uniform(0, 2 * np.pi), np.float32)
    side = rng.choice([-1.0, 1.0])  # left or right, clockwise or not: keeps flip-closure
    period = rng.uniform(8, 12)  # frames, for the periodic motions
    wave = np.sin(2 * np.pi * t / period + rng.uniform(0, 2 * np.pi))  # (n,)
    vx = vy = 0.0
    dx = dy = np.zeros(n, np.float32)
    pps = size / 64 * speed * scale  # pixels per frame at this frame size
    if name in ("up_slow", "up_fast", "down_slow", "down_fast"):
        vy = (1.0 if name.endswith("slow") else 2.5) * pps * (-1 if name.startswith("up") else 1)
    elif name == "sideways":
        vx = side * 1.75 * pps
    elif name == "rotate":
        angle = angle + side * 2 * np.pi / 16 * speed * scale * t  # a turn every 16 frames
    elif name in ("grow", "shrink"):
        ratio = 2.0 ** (scale * t / max(n - 1, 1))  # x2 over the video (at scale 1)
        radius = radius * 0.7 * (ratio if name == "grow" else ratio[::-1])
    elif name == "orbit":
        a = side * 2 * np.pi * t / (period * 1.5)
        dx, dy = 0.15 * size * scale * np.cos(a), 0.15 * size * scale * np.sin(a)
    elif name == "bounce":
        dy = 0.15 * size * scale * wave
    elif name == "shake":
        dx = 0.15 * size * scale * wave
    elif name == "pulse":
        radius = radius * (1 + 0.35 * scale * wave)
    x0, y0 = rng.uniform(0, size, 2)
    return (x0 + dx + vx * t).astype(np.float32), (y0 + dy + vy * t).astype(np.float32), angle, radius


def render_video(motion, rng, frames, size, difficulty, scale=1.0, look=0):
    """One video of class `motion` -> uint8 (n, size, size, 3), n = frames +- 25%.

    Difficulty in [0, 1] raises the pixel noise, the number and speed of distractor objects, the
    jitter of the actor's path and the spread of its speed, and lowers the actor's contrast.
    `scale` multiplies the actor's motion (_motion). `look` picks the appearance: 0, striped
    shapes on a smooth background; 1, other shapes, checkered, pastel, on a blocky background,
    the same motions: a source set that shares the classes but not their look.
    """
    d = difficulty
    n = int(rng.integers(frames - frames // 4, frames + frames // 4 + 1))
    # Background: a smooth random texture (4x4 random colours, upsampled), static in time.
    if look == 0:
        coarse = rng.uniform(0.3, 0.7, (4, 4, 3)).astype(np.float32)
        grid = np.linspace(0, 3, size)
        i0 = np.minimum(grid.astype(int), 2)
        f = (grid - i0)[:, None]
        rows = coarse[i0] * (1 - f[..., None]) + coarse[i0 + 1] * f[..., None]  # (size, 4, 3)
        bg = rows[:, i0] * (1 - f.T[..., None]) + rows[:, i0 + 1] * f.T[..., None]  # (size, size, 3)
    else:  # 8 x 8 blocks of random colours, nearest-neighbour: hard edges
        coarse = rng.uniform(0.2, 0.8, (8, 8, 3)).astype(np.float32)
        cell = np.arange(size) * 8 // size  # (size,) block of each pixel row / column
        bg = coarse[cell][:, cell]  # (size, size, 3)
    canvas = np.broadcast_to(bg, (n, size, size, 3)).copy()  # (n, H, W, 3) float in [0, 1]
    # Distractors: smaller striped shapes drifting on random walks, drawn behind the actor.
    for _ in range(int(round(4 * d))):
        steps = rng.normal(0, 0.3 + 0.7 * d, (n, 2)).cumsum(0) * size / 64  # pixels
        x, y = rng.uniform(0, size, 2)[:, None] + steps.T  # (2, n)
        ang = np.full(n, rng.uniform(0, 2 * np.pi))
        rad = np.full(n, rng.uniform(0.06, 0.1) * size)
        _render_object(canvas, int(rng.integers(4)), rng.uniform(0, 1, 3), x, y, ang, rad, look)
    # The actor: its motion is the class.
    speed = rng.uniform(1 - 0.3 * d, 1 + 0.3 * d)
    cx, cy, ang, rad = _motion(motion, rng, n, size, speed, scale)
    jitter = rng.normal(0, 0.2 + 0.8 * d, (2, n)) * size / 64  # pixels per frame
    color = rng.choice([0.05, 0.95], 3) * (1 - 0.5 * d) + rng.uniform(0, 1, 3) * 0.5 * d
    if look == 1:  # pastel: the same draws, brought towards light grey
        color = 0.45 + 0.5 * color
    _render_object(canvas, int(rng.integers(4)), color, cx + jitter[0], cy + jitter[1], ang, rad,
                   look)
    canvas += rng.normal(0, 0.02 + 0.1 * d, canvas.shape)  # sensor noise, in [0, 1] units
    return (canvas.clip(0, 1) * 255).round().astype(np.uint8)


def write_video(path, frames, fps=25, codec="mpeg4", gop=16, bit_rate=None, options=None):
    """Encode uint8 (n, H, W, 3) frames: MPEG-4 Part 2 in AVI (the codec family of HMDB51/UCF101),
    a keyframe every `gop` frames so that seeking matters as it does on the real data. `bit_rate`
    in bit/s (default 2 bits per pixel: PSNR ~ the noise floor); `options`: the encoder's own."""
    container = av.open(path, "w")
    stream = container.add_stream(codec, rate=fps, options=options or {})
    stream.height, stream.width = frames.shape[1:3]
    stream.pix_fmt = "yuv420p"
    stream.codec_context.gop_size = gop
    stream.bit_rate = bit_rate or int(2 * frames.shape[1] * frames.shape[2] * fps)
    for image in frames:
        container.mux(stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")))
    container.mux(stream.encode())  # flush
    container.close()


def make_synthetic(out, classes=6, videos_per_class=140, frames=24, size=32, difficulty=0.1,
                   seed=0, first_class=0, extra_test=0, motion=1.0, look=0,
                   quiet=False):  # SYNTHETIC_DEFAULTS
    """Write the simulated data set in the HMDB51 layout, with 3 folds of 70/30 split files.

    `extra_test` more videos per class are in the test split of every fold and never trained on:
    a larger test split with the same training set (videos_per_class is split 70/30 as before, and
    every video is a function of its own (seed, class, index), so the training videos are those
    of the set without them). The grid's reported sets use it, so that test noise does not swamp
    a difference of a point or two between methods.

    The classes are MOTIONS[first_class:first_class + classes]: two sets with disjoint classes
    (e.g. 6 classes from 0 and 6 from 6) play pretraining set and target set, as Kinetics-400 and
    HMDB51 do for real video models.

    `motion` scales the actors' motion and `look` picks their appearance (render_video): a set
    of the same classes with another look and seed shares the motions but no video and no look.

    The set is written to a temporary folder and renamed into place at the end, so an
    interrupted run never leaves a half-written set that looks complete.
    """
    if not (2 <= classes and 0 <= first_class and first_class + classes <= len(MOTIONS)):
        raise ValueError(f"need classes >= 2 and first_class + classes <= {len(MOTIONS)}, got "
                         f"classes {classes}, first_class {first_class}")
    if (videos_per_class < 4 or frames < 4 or size < 16 or size % 2 or not 0 <= difficulty <= 1
            or extra_test < 0 or not motion > 0 or look not in range(LOOKS)):
        raise ValueError(f"need videos_per_class >= 4, frames >= 4, an even size >= 16, "
                         f"difficulty in [0, 1], extra_test >= 0, motion > 0 and look in "
                         f"0..{LOOKS - 1}")
    params = dict(classes=classes, videos_per_class=videos_per_class, frames=frames, size=size,
                  difficulty=difficulty, seed=seed, first_class=first_class, extra_test=extra_test,
                  motion=motion, look=look)
    tmp = out.rstrip("/") + ".partial"
    if os.path.exists(out):
        raise FileExistsError(f"{out} exists already; delete it or choose another folder")
    os.makedirs(os.path.join(tmp, "testTrainMulti_7030_splits"), exist_ok=True)
    t0 = time.time()
    for c, cls in enumerate(MOTIONS[first_class:first_class + classes], first_class):
        os.makedirs(os.path.join(tmp, cls), exist_ok=True)
        names = [f"{cls}_{k:03d}.avi" for k in range(videos_per_class + extra_test)]
        for k, name in enumerate(names):
            rng = np.random.default_rng([seed, c, k])  # per video: any subset regenerates alike
            write_video(os.path.join(tmp, cls, name), render_video(cls, rng, frames, size,
                                                                   difficulty, motion, look))
        for fold in (1, 2, 3):
            test = set(np.random.default_rng([seed, c, 1000 + fold])
                       .permutation(videos_per_class)[:round(0.3 * videos_per_class)].tolist())
            test |= set(range(videos_per_class, len(names)))  # the extra test videos
            with open(os.path.join(tmp, "testTrainMulti_7030_splits",
                                   f"{cls}_test_split{fold}.txt"), "w") as f:
                f.writelines(f"{name} {2 if k in test else 1} \n" for k, name in enumerate(names))
        if not quiet:
            print(f"  {cls:10s} {len(names)} videos  ({time.time() - t0:.0f} s)",
                  flush=True)
    with open(os.path.join(tmp, "synthetic.json"), "w") as f:
        json.dump(params, f, indent=1)
    os.replace(tmp, out)
    return params


def read_params(root):
    """The generator parameters of the simulated set in `root` (its synthetic.json), None when
    there is none; FileExistsError when `root` is a file or synthetic.json is damaged."""
    info = os.path.join(root, "synthetic.json")
    if os.path.exists(root) and not os.path.isdir(root):
        raise FileExistsError(f"{root} is a file, not a folder: pass a folder to --data-root")
    if not os.path.isfile(info):
        return None
    try:
        with open(info) as f:
            # sets written before first_class, extra_test, motion and look existed
            return {"first_class": 0, "extra_test": 0, "motion": 1.0, "look": 0, **json.load(f)}
    except (OSError, ValueError, TypeError):
        raise FileExistsError(f"{info} is damaged (not the JSON of its generator's parameters): "
                              f"delete {root} to generate the set again, or pass another "
                              "--data-root") from None


def ensure_synthetic(root, **params):
    """Generate the simulated set into `root` on first use; afterwards reuse it. A folder made
    with other parameters is never overwritten: the error says how to proceed."""
    params = {**SYNTHETIC_DEFAULTS, **params}
    found = read_params(root)
    if found is not None:
        if found != params:
            diff = {k: (found.get(k), v) for k, v in params.items() if found.get(k) != v}
            raise FileExistsError(f"{root} holds a simulated set made with other parameters "
                                  f"(found, wanted): {diff}; delete it or pass another --data-root")
        return found
    if os.path.exists(root) and os.listdir(root):
        raise FileExistsError(f"{root} exists but holds no synthetic.json: it is not a simulated "
                              "set made by data.py; choose another --data-root")
    if os.path.exists(root):
        os.rmdir(root)
    print(f"Generating the simulated data set into {root} (once; reused afterwards) ...")
    return make_synthetic(root, **params)
