"""Substage-split video ResNets (R3D, MC3, R(2+1)D), the connector, and efficiency figures.

METHOD.md Sec. 2-4 distill a teacher into a student substage by substage; every teacher, assistant
and student of this repository is one VideoResNet from this file, cut into S = 4 substages:

    f_0 = x,   f_i = s_i(f_{i-1}) for i = 1..4,   z = h(f_4)
    s_1 = stem + layer1,  s_2 = layer2,  s_3 = layer3,  s_4 = layer4,  h = GAP + dropout + linear

Shape vocabulary, used by every file of this repository:
    B  batch size (clips)        C  channels
    T  frames                    H x W  pixels (height x width)
    a clip x is (B, 3, T, H, W); the substage-i map f_i is (B, C_i, T_i, H_i, W_i).

Architectures (Tran et al., "A Closer Look at Spatiotemporal Convolutions for Action Recognition",
CVPR 2018, arXiv 1711.11248), as implemented by torchvision/models/video/resnet.py:
    r3d       every block convolution 3x3x3
    mc3       3x3x3 in layer1, 1x3x3 in layers 2-4 (no temporal kernel and no temporal stride there)
    r2plus1d  every 3x3x3 factorised into 1x3x3 -> BN -> ReLU -> 3x1x1 with M mid channels
Depths 10 / 18 / 34 are basic-block counts 1-1-1-1 / 2-2-2-2 / 3-4-6-3; the width multiplier w
scales the channels 64-128-256-512. Names: "<kind><depth>[_w<width>]", e.g. r2plus1d18, r3d18_w0.5,
mc3_18. At w = 1 the parameter and buffer names and shapes are exactly torchvision's r3d_18, mc3_18
and r2plus1d_18, so their Kinetics-400 checkpoint files load with load_pretrained().

Also here: the connector phi_i of METHOD.md Sec. 2, and the parameters, GFLOPs and CPU latency of
Sec. 8.
"""
import argparse
import copy
import math
import os
import pickle
import re
import statistics
import sys
import time

import torch
from torch import nn

KINDS = ("r3d", "mc3", "r2plus1d")
BLOCKS = {10: (1, 1, 1, 1), 18: (2, 2, 2, 2), 34: (3, 4, 6, 3)}  # basic blocks in layer1..layer4
BASE_CHANNELS = (64, 128, 256, 512)  # C_1..C_4 at width 1.0
R2PLUS1D_STEM_MID = 45  # mid channels of the R(2+1)D stem: a constant in torchvision (and the paper's code)

_NAME = re.compile(r"^(r3d|mc3|r2plus1d)_?(10|18|34)(?:_w(\d*\.?\d+))?$")
_FORMS = ("expected <kind><depth>[_w<width>] with kind in r3d, mc3, r2plus1d, depth in 10, 18, 34 "
          "and width > 0, e.g. r2plus1d18, r3d18_w0.5, r3d10_w0.25, mc3_18")


def parse_arch(name):
    """'r3d18_w0.5' -> ('r3d', 18, 0.5). An underscore before the depth is optional ('mc3_18' =
    'mc318', 'r3d_18' = 'r3d18'); a bad name raises ValueError listing the valid forms."""
    m = _NAME.match(name.strip().lower())
    width = float(m.group(3)) if m and m.group(3) else 1.0
    if m is None or width <= 0:
        raise ValueError(f"unknown architecture {name!r}: {_FORMS}")
    return m.group(1), int(m.group(2)), width


def arch_name(kind, depth, width=1.0):
    """The canonical spelling: ('mc3', 18, 1.0) -> 'mc3_18', ('r3d', 10, 0.25) -> 'r3d10_w0.25'."""
    sep = "_" if kind[-1].isdigit() else ""  # "mc3_18" rather than the ambiguous "mc318"
    return f"{kind}{sep}{depth}" + ("" if width == 1.0 else f"_w{width:g}")


def _out_len(n, stride):
    # Every conv here has padding (k - 1) / 2 (k = 1, 3 or 7), so out = floor((n - 1) / stride) + 1,
    # i.e. ceil(n / stride): an odd length keeps its last position.
    return (n - 1) // stride + 1


# ---------------------------------------------------------------------------------------------
# Blocks (torchvision's module layout, so that state_dict names match)
# ---------------------------------------------------------------------------------------------
def _block_conv(kind, layer, c_in, c_out, mid, stride):
    """The "3x3x3" convolution of a block in `layer` (1..4); spatial stride `stride`, temporal
    stride `stride` too except for mc3 in layers 2-4. (B, c_in, T, H, W) -> (B, c_out, T', H/s, W/s)."""
    if kind == "r3d" or (kind == "mc3" and layer == 1):
        return nn.Conv3d(c_in, c_out, 3, stride=stride, padding=1, bias=False)
    if kind == "mc3":
        return nn.Conv3d(c_in, c_out, (1, 3, 3), stride=(1, stride, stride), padding=(0, 1, 1), bias=False)
    return nn.Sequential(  # r2plus1d: space first, then time
        nn.Conv3d(c_in, mid, (1, 3, 3), stride=(1, stride, stride), padding=(0, 1, 1), bias=False),
        nn.BatchNorm3d(mid),
        nn.ReLU(inplace=True),
        nn.Conv3d(mid, c_out, (3, 1, 1), stride=(stride, 1, 1), padding=(1, 0, 0), bias=False),
    )


class BasicBlock(nn.Module):
    """out = ReLU(BN(conv2(ReLU(BN(conv1(x))))) + shortcut(x)); shortcut = 1x1x1 conv + BN when the
    shape changes. (B, c_in, T, H, W) -> (B, c_out, T', H', W') with T', H', W' as in _block_conv."""

    def __init__(self, kind, layer, c_in, c_out, stride=1):
        super().__init__()
        # R(2+1)D mid channels M (paper Sec. 3.5), chosen so that the (2+1)D pair has about the
        # parameters of one 3x3x3 conv: M = floor(27 c_in c_out / (9 c_in + 3 c_out)). torchvision
        # computes it once per block from (c_in, c_out) and uses it for conv2 as well; we do the same.
        mid = (c_in * c_out * 3 * 3 * 3) // (c_in * 3 * 3 + 3 * c_out)
        self.conv1 = nn.Sequential(_block_conv(kind, layer, c_in, c_out, mid, stride),
                                   nn.BatchNorm3d(c_out), nn.ReLU(inplace=True))
        self.conv2 = nn.Sequential(_block_conv(kind, layer, c_out, c_out, mid, 1), nn.BatchNorm3d(c_out))
        self.relu = nn.ReLU(inplace=True)
        downsample = None
        if stride != 1 or c_in != c_out:
            t_stride = 1 if (kind == "mc3" and layer > 1) else stride  # mc3 keeps T after layer1
            downsample = nn.Sequential(nn.Conv3d(c_in, c_out, 1, stride=(t_stride, stride, stride), bias=False),
                                       nn.BatchNorm3d(c_out))
        self.downsample = downsample

    def forward(self, x):  # x: (B, c_in, T, H, W)
        out = self.conv2(self.conv1(x))  # (B, c_out, T', H', W')
        shortcut = x if self.downsample is None else self.downsample(x)  # (B, c_out, T', H', W')
        return self.relu(out + shortcut)


def _stem(kind, c_out, width):
    """(B, 3, T, H, W) -> (B, c_out, T, ceil(H/2), ceil(W/2))."""
    if kind == "r2plus1d":
        mid = max(1, round(R2PLUS1D_STEM_MID * width))  # 45 at width 1, scaled like every other channel count
        return nn.Sequential(
            nn.Conv3d(3, mid, (1, 7, 7), stride=(1, 2, 2), padding=(0, 3, 3), bias=False),
            nn.BatchNorm3d(mid),
            nn.ReLU(inplace=True),
            nn.Conv3d(mid, c_out, (3, 1, 1), stride=1, padding=(1, 0, 0), bias=False),
            nn.BatchNorm3d(c_out),
            nn.ReLU(inplace=True),
        )
    return nn.Sequential(
        nn.Conv3d(3, c_out, (3, 7, 7), stride=(1, 2, 2), padding=(1, 3, 3), bias=False),
        nn.BatchNorm3d(c_out),
        nn.ReLU(inplace=True),
    )


def _layer(kind, layer, c_in, c_out, n_blocks, stride):
    blocks = [BasicBlock(kind, layer, c_in, c_out, stride)]
    blocks += [BasicBlock(kind, layer, c_out, c_out) for _ in range(n_blocks - 1)]
    return nn.Sequential(*blocks)


# ---------------------------------------------------------------------------------------------
# The model: four substages and a head (METHOD.md notation)
# ---------------------------------------------------------------------------------------------
class VideoResNet(nn.Module):
    """A VideoResNet cut into substages s_1..s_4 and head h. Module names (stem, layer1..4, avgpool,
    fc) are torchvision's; `dropout` has no parameters, so the state_dict is unchanged by it.

    Substage shapes for a clip (B, 3, T, H, W), with ceil-halving (see feature_shapes):
        f_1 = s_1(x)   (B, C_1, T,   H/2,  W/2)     stem (spatial stride 2) + layer1 (stride 1)
        f_2 = s_2(f_1) (B, C_2, T/2, H/4,  W/4)
        f_3 = s_3(f_2) (B, C_3, T/4, H/8,  W/8)
        f_4 = s_4(f_3) (B, C_4, T/8, H/16, W/16)    mc3 keeps T in f_2..f_4
    """

    def __init__(self, kind="r3d", depth=18, width=1.0, num_classes=400, dropout=0.5):
        super().__init__()
        assert kind in KINDS and depth in BLOCKS and width > 0, (kind, depth, width)
        self.kind, self.depth, self.width, self.num_classes = kind, depth, width, num_classes
        self.arch = arch_name(kind, depth, width)
        self.channels = [max(1, round(c * width)) for c in BASE_CHANNELS]  # [C_1, C_2, C_3, C_4]
        self.time_strides = [1] + [1 if kind == "mc3" else 2] * 3  # temporal stride of layer1..4
        C1, C2, C3, C4 = self.channels
        n1, n2, n3, n4 = BLOCKS[depth]

        self.stem = _stem(kind, C1, width)  # (B, 3, T, H, W) -> (B, C1, T, H/2, W/2)
        self.layer1 = _layer(kind, 1, C1, C1, n1, stride=1)  # -> (B, C1, T, H/2, W/2)
        self.layer2 = _layer(kind, 2, C1, C2, n2, stride=2)  # -> (B, C2, T/2, H/4, W/4)
        self.layer3 = _layer(kind, 3, C2, C3, n3, stride=2)  # -> (B, C3, T/4, H/8, W/8)
        self.layer4 = _layer(kind, 4, C3, C4, n4, stride=2)  # -> (B, C4, T/8, H/16, W/16)
        self.avgpool = nn.AdaptiveAvgPool3d(1)  # -> (B, C4, 1, 1, 1)
        self.dropout = nn.Dropout(dropout)
        self.fc = nn.Linear(C4, num_classes)  # (B, C4) -> (B, num_classes)

        # torchvision's initialisation: He (fan_out) for convs, BN = identity, small-normal linear
        for m in self.modules():
            if isinstance(m, nn.Conv3d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, nn.BatchNorm3d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
        init_fc(self.fc)

    def substage_modules(self, i):
        """The modules of substage s_i, i = 1..4."""
        assert 1 <= i <= 4, i
        return [self.stem, self.layer1] if i == 1 else [getattr(self, f"layer{i}")]

    def substage(self, i, f):
        """f_i = s_i(f_{i-1}): (B, C_{i-1}, T_{i-1}, H_{i-1}, W_{i-1}) -> (B, C_i, T_i, H_i, W_i); C_0 = 3."""
        for m in self.substage_modules(i):
            f = m(f)
        return f

    def forward_substages(self, x, upto):
        """[f_1, ..., f_upto] for a clip x (B, 3, T, H, W); substages after `upto` are not run (the early
        phases of the staged schedule, METHOD.md Sec. 3, only need the prefix)."""
        assert 0 <= upto <= 4, upto
        feats, f = [], x
        for i in range(1, upto + 1):
            f = self.substage(i, f)  # (B, C_i, T_i, H_i, W_i)
            feats.append(f)
        return feats

    def head(self, f4):
        """z = h(f_4) = fc(dropout(GAP(f_4))): (B, C_4, T_4, H_4, W_4) -> (B, num_classes)."""
        v = self.avgpool(f4).flatten(1)  # (B, C_4)
        return self.fc(self.dropout(v))  # (B, num_classes)

    def forward(self, x, return_features=False):
        """x (B, 3, T, H, W) -> logits (B, num_classes), or (logits, [f_1, f_2, f_3, f_4])."""
        feats = self.forward_substages(x, 4)
        logits = self.head(feats[-1])
        return (logits, feats) if return_features else logits

    def forward_from(self, k, f_k):
        """Logits from a substage-k map: h(s_4(...s_{k+1}(f_k))), k = 0..4 with f_0 = x. Used for the
        hybrid paths of METHOD.md Sec. 3 (student substages 1..k, then the teacher's k+1..4 and head)."""
        assert 0 <= k <= 4, k
        f = f_k
        for i in range(k + 1, 5):
            f = self.substage(i, f)  # (B, C_i, T_i, H_i, W_i)
        return self.head(f)

    def substage_params(self, i):
        """Parameters of substage s_i (1..4); with head_params() they partition model.parameters()."""
        return [p for m in self.substage_modules(i) for p in m.parameters()]

    def head_params(self):
        return list(self.fc.parameters())

    def feature_shapes(self, clip_len, height, width):
        """[(C_i, T_i, H_i, W_i) for i = 1..4] for a clip (B, 3, clip_len, height, width), computed
        from the strides, without a forward pass (so connectors can be built first)."""
        T, H, W = clip_len, _out_len(height, 2), _out_len(width, 2)  # stem: stride (1, 2, 2)
        shapes = []
        for i, C in enumerate(self.channels, start=1):
            if i > 1:  # layer2..4: spatial stride 2, temporal stride 2 (1 for mc3)
                T, H, W = _out_len(T, self.time_strides[i - 1]), _out_len(H, 2), _out_len(W, 2)
            shapes.append((C, T, H, W))
        return shapes


def init_fc(fc):
    """torchvision's init of the last layer: weight ~ N(0, 0.01^2), bias 0."""
    nn.init.normal_(fc.weight, 0.0, 0.01)
    nn.init.zeros_(fc.bias)


def build_model(name, num_classes, dropout=0.5):
    """build_model('r3d18_w0.5', 51) -> VideoResNet; see parse_arch for the names."""
    kind, depth, width = parse_arch(name)
    return VideoResNet(kind, depth, width, num_classes, dropout)


# ---------------------------------------------------------------------------------------------
# Connector of METHOD.md Sec. 2
# ---------------------------------------------------------------------------------------------
class Connector(nn.Module):
    """phi_i: student f_i (B, C_s, T, H, W) -> (B, C_t, T, H, W) by a 1x1x1 conv + BN. Grids are not
    touched: matching (T, H, W) by pooling is done in the losses. Trained with the student, then dropped."""

    def __init__(self, c_in, c_out):
        super().__init__()
        self.conv = nn.Conv3d(c_in, c_out, 1, bias=False)
        self.bn = nn.BatchNorm3d(c_out)

    def forward(self, f):  # (B, C_s, T, H, W)
        return self.bn(self.conv(f))  # (B, C_t, T, H, W)


def build_connectors(student, teacher, clip_len, height, width):
    """nn.ModuleList [phi_1..phi_4] mapping the student's C_i to the teacher's C_i, from the
    analytic feature shapes at this clip size (no forward pass)."""
    s_shapes = student.feature_shapes(clip_len, height, width)
    t_shapes = teacher.feature_shapes(clip_len, height, width)
    return nn.ModuleList([Connector(s[0], t[0]) for s, t in zip(s_shapes, t_shapes)])


# ---------------------------------------------------------------------------------------------
# Checkpoints (torchvision's Kinetics-400 files or our own)
# ---------------------------------------------------------------------------------------------
def read_torch_file(path):
    """torch.load(path) with weights_only=True -> what the file holds. A file is data, not code:
    only tensors and plain values (dict, list, str, numbers, None) are read, because unpickling
    any other object can run code. Every way the file can be wrong raises ValueError with one
    line naming the file and what is wrong; the caller adds what to do."""
    if not os.path.isfile(path):
        raise ValueError(f"{path}: no such file")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as e:
        found = re.search(r"Unsupported global: GLOBAL ([\w.]+)", str(e))
        if found:  # torch names the first class it refused to build
            raise ValueError(f"{path} holds a pickled Python object ({found.group(1)}), not only "
                             "tensors and plain values: it was not loaded, because unpickling it "
                             "could run code") from None
        raise ValueError(f"{path} is damaged or is not a file written by torch.save (cut "
                         "short, or another format)") from None
    except Exception:  # cut short (zip reader's RuntimeError), text (KeyError), empty (EOFError)
        raise ValueError(f"{path} is damaged or is not a file written by torch.save (cut short, "
                         "or another format)") from None


def read_state_dict(path):
    """The state_dict in a weights file: a plain one (torchvision's r3d_18-*.pth, mc3_18-*.pth,
    r2plus1d_18-*.pth, our model<j>_<arch>.pt) or one under 'state_dict' or 'model', with the
    names of DataParallel / DDP ("module.") and torch.compile ("_orig_mod.") wrappers removed.
    A file that holds none raises ValueError."""
    ckpt = read_torch_file(path)
    state = ckpt
    for key in ("state_dict", "model"):
        if isinstance(ckpt, dict) and isinstance(ckpt.get(key), dict):
            state = ckpt[key]
            break
    if not isinstance(state, dict) or not state or not all(
            isinstance(k, str) and torch.is_tensor(v) for k, v in state.items()):
        raise ValueError(f"{path} holds no state_dict (a dict of named tensors; found "
                         f"{type(state).__name__}): it is not model weights")
    return {re.sub(r"^(module\.|_orig_mod\.)+", "", k): v for k, v in state.items()}


def fit_state_dict(own, state, arch, path):
    """Which tensors of `state` (a file's, see read_state_dict) go into a model whose own
    state_dict is `own` -> {'loaded', 'reinitialised', 'missing', 'unexpected'} (lists of names).
    When only fc differs in shape (another number of classes), fc is to be re-initialised. Any
    other shape mismatch, or nothing in common, raises ValueError: the file is another
    architecture."""
    unexpected = [k for k in state if k not in own]
    common = [k for k in state if k in own]
    mismatched = [k for k in common if state[k].shape != own[k].shape]
    reinit = [k for k in mismatched if k.startswith("fc.")]
    wrong = [k for k in mismatched if not k.startswith("fc.")]
    if wrong:
        k = wrong[0]
        raise ValueError(f"{path}: {len(wrong)} tensors do not fit {arch}, e.g. {k}: "
                         f"{tuple(state[k].shape)} in the file, {tuple(own[k].shape)} in the model")
    if reinit:  # both fc tensors, so the layer stays consistent
        reinit = [k for k in own if k.startswith("fc.")]
    loaded = [k for k in common if k not in reinit]
    if not loaded:
        raise ValueError(f"{path}: no tensor name in common with {arch} (first in file: "
                         f"{next(iter(state), None)!r}): the file is not a checkpoint of this "
                         "architecture")
    # num_batches_tracked is a counter that some old files lack; BN then keeps its own value
    missing = [k for k in own if k not in state and k not in reinit
               and not k.endswith("num_batches_tracked")]
    return {"loaded": loaded, "reinitialised": reinit, "missing": missing,
            "unexpected": unexpected}


def check_pretrained(arch, num_classes, path):
    """fit_state_dict's report for `path` and a model `arch`, without building one for real
    (its tensors live on the 'meta' device: shapes only, no memory, no random numbers drawn):
    the check, before any training, that load_pretrained will succeed. ValueError if not."""
    with torch.device("meta"):
        own = build_model(arch, num_classes).state_dict()
    return fit_state_dict(own, read_state_dict(path), arch, path)


def load_pretrained(model, path):
    """Load a weights file (see read_state_dict) into `model` -> fit_state_dict's report.
    A new fc (another number of classes) is re-initialised, with a message."""
    arch = getattr(model, "arch", type(model).__name__)
    state = read_state_dict(path)
    report = fit_state_dict(model.state_dict(), state, arch, path)
    model.load_state_dict({k: state[k] for k in report["loaded"]}, strict=False)
    if report["reinitialised"]:
        init_fc(model.fc)
        print(f"load_pretrained: fc re-initialised for {model.fc.out_features} classes "
              f"(the file has {state['fc.weight'].shape[0]})")
    print(f"load_pretrained: {path} -> {arch}: {len(report['loaded'])} tensors loaded, "
          f"{len(report['reinitialised'])} re-initialised, {len(report['missing'])} missing, "
          f"{len(report['unexpected'])} unexpected")
    return report


# ---------------------------------------------------------------------------------------------
# Efficiency figures of METHOD.md Sec. 8
# ---------------------------------------------------------------------------------------------
def count_params(model):
    """Number of parameters (BN running statistics, which are buffers, excluded)."""
    return sum(p.numel() for p in model.parameters())


def count_flops(model, clip_len=16, height=112, width=112):
    """GFLOPs per clip = multiply-accumulates (MACs) of every Conv3d and Linear layer / 1e9, batch 1.

    Counted with forward hooks, not analytically: one forward of a (1, 3, clip_len, height, width)
    clip through a copy of the model on the 'meta' device, which propagates shapes without doing
    any arithmetic (milliseconds, whatever the model). Per layer:
        Conv3d: MACs = numel(output) * (C_in / groups) * k_T * k_H * k_W
        Linear: MACs = numel(output) * in_features
    BN, ReLU, pooling, residual adds and biases are not counted (torchvision's convention).
    """
    macs = []

    def hook(m, inputs, out):
        if isinstance(m, nn.Conv3d):
            macs.append(out.numel() * (m.in_channels // m.groups) * math.prod(m.kernel_size))
        else:
            macs.append(out.numel() * m.in_features)

    meta = copy.deepcopy(model).to("meta").eval()
    for m in meta.modules():
        if isinstance(m, (nn.Conv3d, nn.Linear)):
            m.register_forward_hook(hook)
    with torch.no_grad():
        meta(torch.zeros(1, 3, clip_len, height, width, device="meta"))
    return sum(macs) / 1e9


def cpu_latency(model, clip_len=16, height=112, width=112, repeats=10, warmup=3):
    """Median seconds per clip of a batch-1 forward on the CPU (eval mode, no_grad), after `warmup`
    untimed runs, with torch.get_num_threads() threads. A CPU copy is timed; `model` is untouched."""
    m = copy.deepcopy(model).cpu().eval()
    x = torch.randn(1, 3, clip_len, height, width)
    times = []
    with torch.no_grad():
        for i in range(warmup + repeats):
            t0 = time.perf_counter()
            m(x)
            if i >= warmup:
                times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main(argv=None):
    """python models.py r3d18 r3d10_w0.25 -> parameters and GFLOPs of each at 16x112x112."""
    p = argparse.ArgumentParser(description="Parameters and GFLOPs (MACs) per 16x112x112 clip "
                                            "of each architecture named.")
    p.add_argument("archs", nargs="*", metavar="ARCH",
                   default=["r3d18", "mc3_18", "r2plus1d18", "r3d18_w0.5", "r3d10_w0.25"],
                   help=_FORMS.replace("expected ", "each ", 1))
    for name in p.parse_args(argv).archs:
        try:
            net = build_model(name, num_classes=400)
        except ValueError as e:
            sys.exit(f"error: {e}")
        print(f"{net.arch:14s} {count_params(net) / 1e6:7.2f} M params "
              f"{count_flops(net, 16, 112, 112):7.2f} GFLOPs (MACs) per 16x112x112 clip")


if __name__ == "__main__":
    main()
