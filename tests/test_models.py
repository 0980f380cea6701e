"""Tests of models.py: substage shapes, the substage algebra, torchvision compatibility, checkpoint
loading, FLOPs, bf16 autocast and channels_last_3d.

Independent references, not numbers copied from models.py:
- output grids and multiply-accumulate counts worked out by hand below;
- the state_dict names and shapes of torchvision's r3d_18, mc3_18 and r2plus1d_18, listed literally at
  the bottom of this file: obtained by instantiating the module structure of
  torchvision/models/video/resnet.py (pytorch/vision) and printing state_dict(); torchvision itself is
  not needed to run these tests;
- the parameter counts and GFLOPs that torchvision publishes for those models (its weights metadata:
  num_params and _ops, MACs at 16x112x112).
Everything runs on tiny clips (4x32x32, 5x36x28) and small widths; full-width models only build.
"""
import copy
import itertools
import os
import subprocess
import sys

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from conftest import native_cpu_kernels
from models import (Connector, build_connectors, build_model, count_flops, count_params, cpu_latency,
                    load_pretrained, parse_arch)

KINDS = ("r3d", "mc3", "r2plus1d")


# --------------------------------------------------------------------------------------------- names
def test_parse_arch_accepts_the_documented_forms():
    assert parse_arch("r2plus1d18") == ("r2plus1d", 18, 1.0)
    assert parse_arch("r3d18_w0.5") == ("r3d", 18, 0.5)
    assert parse_arch("r3d10_w0.25") == ("r3d", 10, 0.25)
    assert parse_arch("r3d34_w.5") == ("r3d", 34, 0.5)
    # torchvision's spelling (underscore before the depth) and the bare one mean the same model
    assert parse_arch("mc3_18") == parse_arch("mc318") == ("mc3", 18, 1.0)
    assert parse_arch("r3d_18") == parse_arch("r3d18") == ("r3d", 18, 1.0)
    assert parse_arch("r2plus1d_18") == ("r2plus1d", 18, 1.0)
    # model.arch is the canonical spelling, and parses back to the same model
    for name, canonical in [("mc318", "mc3_18"), ("r3d_18", "r3d18"), ("r3d10_w0.250", "r3d10_w0.25"),
                            ("r2plus1d18_w1.0", "r2plus1d18")]:
        model = build_model(name, num_classes=3)
        assert model.arch == canonical
        assert parse_arch(model.arch) == parse_arch(name)


@pytest.mark.parametrize("bad", ["foo", "r3d50", "resnet18", "r3d18w0.5", "r3d18_w0", "r3d18_w-1", "x3d18", ""])
def test_parse_arch_rejects_with_the_valid_forms(bad):
    with pytest.raises(ValueError) as err:
        parse_arch(bad)
    msg = str(err.value)
    assert repr(bad) in msg
    for part in ("r3d, mc3, r2plus1d", "10, 18, 34", "r2plus1d18", "r3d18_w0.5", "mc3_18"):
        assert part in msg


# --------------------------------------------------------------------------------------------- shapes
# (T_i, H_i, W_i) of f_1..f_4 worked out by hand: the stem halves H and W, layers 2-4 halve T, H and W
# (T not for mc3), every halving rounds up (padding (k-1)/2: out = floor((n-1)/2) + 1).
GRIDS = {
    ((4, 32, 32), False): [(4, 16, 16), (2, 8, 8), (1, 4, 4), (1, 2, 2)],
    ((4, 32, 32), True): [(4, 16, 16), (4, 8, 8), (4, 4, 4), (4, 2, 2)],
    ((5, 36, 28), False): [(5, 18, 14), (3, 9, 7), (2, 5, 4), (1, 3, 2)],
    ((5, 36, 28), True): [(5, 18, 14), (5, 9, 7), (5, 5, 4), (5, 3, 2)],
}
CHANNELS = {0.125: [8, 16, 32, 64], 0.25: [16, 32, 64, 128]}


@pytest.mark.parametrize("kind,depth,width,clip",
                         list(itertools.product(KINDS, (10, 18, 34), (0.125, 0.25), ((4, 32, 32), (5, 36, 28)))))
def test_output_and_substage_shapes(kind, depth, width, clip):
    B, num_classes = 2, 7
    model = build_model(f"{kind}{depth}_w{width}", num_classes)
    x = torch.randn(B, 3, *clip)
    with torch.no_grad():
        logits, feats = model(x, return_features=True)
    assert logits.shape == (B, num_classes)
    expected = [(c, *g) for c, g in zip(CHANNELS[width], GRIDS[(clip, kind == "mc3")])]
    assert [tuple(f.shape) for f in feats] == [(B, *s) for s in expected]
    assert model.feature_shapes(*clip) == expected  # analytic, no forward pass
    assert model.channels == CHANNELS[width]


def test_width_rounds_each_stage_and_keeps_width_one_exact():
    assert build_model("r3d18_w0.3", 5).channels == [19, 38, 77, 154]  # round(64*0.3) = round(19.2), ...
    assert build_model("r3d18", 5).channels == [64, 128, 256, 512]
    # the R(2+1)D stem's 45 mid channels scale with the width: round(45 * 0.25) = 11
    assert build_model("r2plus1d10_w0.25", 5).stem[0].out_channels == 11


# --------------------------------------------------------------------------------------------- substages
@pytest.mark.parametrize("kind", KINDS)
def test_forward_from_reproduces_the_full_forward(kind):
    torch.manual_seed(0)
    model = build_model(f"{kind}10_w0.25", 5).eval()  # eval: dropout off, BN on running statistics
    x = torch.randn(2, 3, 4, 32, 32)
    with torch.no_grad():
        logits, feats = model(x, return_features=True)
        f = [x] + feats  # f_0 = x, f_1..f_4
        for k in range(5):
            torch.testing.assert_close(model.forward_from(k, f[k]), logits, rtol=0, atol=1e-6)
        for i in range(1, 5):
            torch.testing.assert_close(model.substage(i, f[i - 1]), f[i], rtol=0, atol=1e-6)
        torch.testing.assert_close(model.head(f[4]), logits, rtol=0, atol=1e-6)


def test_forward_substages_runs_only_the_prefix():
    model = build_model("r3d10_w0.125", 5).eval()
    calls = []
    for name in ("stem", "layer1", "layer2", "layer3", "layer4", "fc"):
        getattr(model, name).register_forward_hook(lambda m, i, o, name=name: calls.append(name))
    x = torch.randn(1, 3, 4, 32, 32)
    with torch.no_grad():
        prefix = model.forward_substages(x, 2)
        assert calls == ["stem", "layer1", "layer2"]
        _, feats = model(x, return_features=True)
    assert len(prefix) == 2
    for a, b in zip(prefix, feats):
        torch.testing.assert_close(a, b, rtol=0, atol=0)
    assert model.forward_substages(x, 0) == []


def test_substage_and_head_params_partition_the_parameters():
    model = build_model("r2plus1d18_w0.125", 5)
    groups = [model.substage_params(i) for i in range(1, 5)] + [model.head_params()]
    ids = [id(p) for g in groups for p in g]
    assert len(ids) == len(set(ids))  # disjoint
    assert set(ids) == {id(p) for p in model.parameters()}  # complete
    assert {id(p) for p in model.substage_params(1)} == {id(p) for p in
                                                         itertools.chain(model.stem.parameters(),
                                                                         model.layer1.parameters())}


def test_connectors_map_student_channels_to_teacher_channels():
    student, teacher = build_model("r3d10_w0.25", 5), build_model("r2plus1d18_w0.5", 5)
    connectors = build_connectors(student, teacher, 4, 32, 32)
    assert isinstance(connectors, nn.ModuleList) and len(connectors) == 4
    assert all(isinstance(c, Connector) for c in connectors)
    x = torch.randn(2, 3, 4, 32, 32)
    _, feats = student(x, return_features=True)
    for phi, f, c_t in zip(connectors, feats, teacher.channels):
        out = phi(f)
        assert out.shape == (f.shape[0], c_t, *f.shape[2:])  # channels changed, grid kept
        assert phi.conv.weight.shape == (c_t, f.shape[1], 1, 1, 1) and phi.conv.bias is None
        assert isinstance(phi.bn, nn.BatchNorm3d)


# --------------------------------------------------------------------------------------------- torchvision
# num_params and _ops (GFLOPs = MACs at 16x112x112) from torchvision's weights metadata
TORCHVISION_PUBLISHED = {"r3d18": (33371472, 40.697), "mc3_18": (11695440, 43.343),
                         "r2plus1d18": (31505325, 40.519)}


@pytest.mark.parametrize("name", ["r3d18", "mc3_18", "r2plus1d18"])
def test_state_dict_matches_torchvision_exactly(name):
    expected = {"r3d18": TV_R3D_18, "mc3_18": TV_MC3_18, "r2plus1d18": TV_R2PLUS1D_18}[name]
    model = build_model(name, num_classes=400)
    assert [(k, tuple(v.shape)) for k, v in model.state_dict().items()] == expected
    n_params, gflops = TORCHVISION_PUBLISHED[name]
    assert count_params(model) == n_params
    assert count_flops(model, 16, 112, 112) == pytest.approx(gflops, abs=5e-4)
    with torch.no_grad():
        assert model.eval()(torch.randn(1, 3, 4, 32, 32)).shape == (1, 400)


# --------------------------------------------------------------------------------------------- checkpoints
def _warm_bn(model):
    """A few train-mode forwards so that BN running statistics (buffers) are not at their init."""
    model.train()
    with torch.no_grad():
        for _ in range(2):
            model(torch.randn(2, 3, 4, 32, 32))
    return model.eval()


@pytest.mark.parametrize("wrap", ["plain", "model", "state_dict", "ddp"])
def test_checkpoint_roundtrip_gives_identical_outputs(tmp_path, wrap):
    torch.manual_seed(0)
    src = _warm_bn(build_model("r2plus1d10_w0.25", 6))
    sd = src.state_dict()
    blob = {"plain": sd, "model": {"model": sd, "config": {"arch": src.arch}, "epoch": 3},
            "state_dict": {"state_dict": sd},
            "ddp": {"module." + k: v for k, v in sd.items()}}[wrap]
    torch.save(blob, tmp_path / "ckpt.pth")
    dst = build_model("r2plus1d10_w0.25", 6).eval()
    report = load_pretrained(dst, tmp_path / "ckpt.pth")
    assert report == {"loaded": list(sd), "reinitialised": [], "missing": [], "unexpected": []}
    x = torch.randn(2, 3, 4, 32, 32)
    with torch.no_grad():
        torch.testing.assert_close(dst(x), src(x), rtol=0, atol=0)


def test_load_pretrained_reinitialises_fc_for_other_classes(tmp_path, capsys):
    torch.manual_seed(0)
    src = _warm_bn(build_model("r3d10_w0.25", 400))
    nn.init.normal_(src.fc.weight, 0.0, 1.0)  # clearly not a fresh init
    torch.save(src.state_dict(), tmp_path / "k400.pth")
    dst = build_model("r3d10_w0.25", 5)
    report = load_pretrained(dst, tmp_path / "k400.pth")
    assert report["reinitialised"] == ["fc.weight", "fc.bias"]
    assert report["missing"] == [] and report["unexpected"] == []
    assert "fc.weight" not in report["loaded"] and len(report["loaded"]) == len(src.state_dict()) - 2
    assert "re-initialised for 5 classes" in capsys.readouterr().out
    for k, v in dst.state_dict().items():
        if not k.startswith("fc."):
            assert torch.equal(v, src.state_dict()[k]), k
    assert dst.fc.weight.shape == (5, 128) and dst.fc.weight.std() < 0.05 and torch.all(dst.fc.bias == 0)


def test_load_pretrained_refuses_another_architecture(tmp_path):
    torch.save(build_model("r3d10_w0.25", 5).state_dict(), tmp_path / "small.pth")
    with pytest.raises(ValueError, match="do not fit"):
        load_pretrained(build_model("r3d10_w0.5", 5), tmp_path / "small.pth")
    torch.save({"encoder.weight": torch.zeros(3)}, tmp_path / "other.pth")
    with pytest.raises(ValueError, match="no tensor name in common"):
        load_pretrained(build_model("r3d10_w0.25", 5), tmp_path / "other.pth")


def test_load_pretrained_reports_missing_and_unexpected(tmp_path):
    # a depth-10 file into a depth-18 model: layerN.1.* are missing; an extra tensor is unexpected
    sd = build_model("r3d10_w0.125", 5).state_dict()
    sd["extra.weight"] = torch.zeros(2)
    torch.save(sd, tmp_path / "r3d10.pth")
    report = load_pretrained(build_model("r3d18_w0.125", 5), tmp_path / "r3d10.pth")
    assert report["unexpected"] == ["extra.weight"]
    assert report["missing"] and all(k.split(".")[1] == "1" for k in report["missing"])
    assert len(report["loaded"]) == len(sd) - 1


# --------------------------------------------------------------------------------------------- FLOPs
def test_count_flops_of_a_two_layer_model_by_hand():
    model = nn.Sequential(nn.Conv3d(3, 8, (3, 5, 5), stride=(1, 2, 2), padding=(1, 2, 2)), nn.ReLU(),
                          nn.AdaptiveAvgPool3d(1), nn.Flatten(), nn.Linear(8, 10))
    # conv: output (8, 4, 8, 8) positions x (3 * 3*5*5) MACs each; linear: 8 x 10
    macs = 8 * 4 * 8 * 8 * (3 * 3 * 5 * 5) + 8 * 10
    assert count_flops(model, 4, 16, 16) == pytest.approx(macs / 1e9, rel=1e-12)


def test_count_flops_r3d10_by_hand():
    # r3d10_w0.25 at 4x32x32: channels 16-32-64-128; output positions T*H*W per substage:
    # f_1 4*16*16 = 1024, f_2 2*8*8 = 128, f_3 1*4*4 = 16, f_4 1*2*2 = 4. MACs = out_ch * in_ch * k * positions
    macs = (16 * 3 * (3 * 7 * 7) * 1024  # stem 3x7x7
            + 2 * 16 * 16 * 27 * 1024  # layer1: two 3x3x3
            + (32 * 16 * 27 + 32 * 32 * 27 + 32 * 16) * 128  # layer2: conv1, conv2, 1x1x1 shortcut
            + (64 * 32 * 27 + 64 * 64 * 27 + 64 * 32) * 16
            + (128 * 64 * 27 + 128 * 128 * 27 + 128 * 64) * 4
            + 128 * 9)  # fc to 9 classes
    assert count_flops(build_model("r3d10_w0.25", 9), 4, 32, 32) == pytest.approx(macs / 1e9, rel=1e-12)


def test_count_flops_r2plus1d10_by_hand():
    # r2plus1d10_w0.25 at 4x32x32. Mid channels M = floor(27 a b / (9 a + 3 b)) per block (a -> b):
    # layer1 16->16: 36, layer2 16->32: 57, layer3 32->64: 115, layer4 64->128: 230; stem: round(45/4) = 11.
    # The spatial 1x3x3 conv strides H, W; the temporal 3x1x1 conv then strides T.
    macs = (11 * 3 * 49 * 1024 + 16 * 11 * 3 * 1024  # stem: 1x7x7 then 3x1x1 at 4x16x16
            + 2 * (36 * 16 * 9 * 1024 + 16 * 36 * 3 * 1024)  # layer1 block: conv1, conv2
            + 57 * 16 * 9 * (4 * 8 * 8) + 32 * 57 * 3 * 128  # layer2 conv1: spatial at 4x8x8, temporal at 2x8x8
            + 57 * 32 * 9 * 128 + 32 * 57 * 3 * 128 + 32 * 16 * 128  # layer2 conv2 (M = 57 too), shortcut
            + 115 * 32 * 9 * (2 * 4 * 4) + 64 * 115 * 3 * 16
            + 115 * 64 * 9 * 16 + 64 * 115 * 3 * 16 + 64 * 32 * 16
            + 230 * 64 * 9 * (1 * 2 * 2) + 128 * 230 * 3 * 4
            + 230 * 128 * 9 * 4 + 128 * 230 * 3 * 4 + 128 * 64 * 4
            + 128 * 9)
    assert count_flops(build_model("r2plus1d10_w0.25", 9), 4, 32, 32) == pytest.approx(macs / 1e9, rel=1e-12)


def test_cpu_latency_is_positive_and_leaves_the_model_alone():
    model = build_model("r3d10_w0.125", 5).train()
    seconds = cpu_latency(model, 4, 32, 32, repeats=2, warmup=1)
    assert isinstance(seconds, float) and seconds > 0
    assert model.training


# --------------------------------------------------------------------------------------------- GPU readiness
# bf16 autocast is a CUDA feature here (train.py refuses --amp on the CPU). On the CPU, torch 2.13
# sends bf16 convolutions to oneDNN, whose bf16 weight-gradient kernel returns random NaN on CPUs
# with avx512_bf16 (the same seeded inputs: NaN in about 1 repeat of 30). So the CPU checks below
# run with oneDNN switched off, on torch's own kernels, which give the same answer on every CPU;
# the last test proves that no oneDNN kernel runs there, and the CUDA test runs the real path.
def _bf16_step(kind, device):
    """Forward and backward of a small model under bf16 autocast: (logits, features, loss, model)."""
    torch.manual_seed(0)
    model = build_model(f"{kind}10_w0.25", 5).to(device).train()
    x = torch.randn(2, 3, 4, 32, 32).to(device)  # (B, 3, T, H, W)
    y = torch.tensor([1, 3], device=device)
    with torch.autocast(device, dtype=torch.bfloat16):
        logits, feats = model(x, return_features=True)  # (B, K), [(B, C_i, T_i, H_i, W_i)]
        loss = F.cross_entropy(logits.float(), y) + feats[1].float().pow(2).mean()
    loss.backward()
    return logits, feats, loss, model


@pytest.mark.parametrize("kind", KINDS)
def test_bf16_autocast_on_the_cpu_without_onednn_gives_bf16_outputs_and_finite_gradients(kind):
    with native_cpu_kernels():
        logits, feats, loss, model = _bf16_step(kind, "cpu")
    assert logits.dtype == torch.bfloat16 and all(f.dtype == torch.bfloat16 for f in feats)
    assert torch.isfinite(logits.float()).all() and torch.isfinite(loss)
    for name, p in model.named_parameters():  # autocast keeps the weights and gradients float32
        assert p.dtype == torch.float32 and p.grad is not None, name
        assert p.grad.dtype == torch.float32 and torch.isfinite(p.grad).all(), name


@pytest.mark.parametrize("kind", KINDS)
def test_bf16_logits_agree_with_float32(kind):
    """The bf16 forward computes the same function: logits within bf16's rounding of float32's
    (8 bits of mantissa, about 0.4% per operation, compounded over ten layers)."""
    torch.manual_seed(0)
    model = _warm_bn(build_model(f"{kind}10_w0.25", 5))
    x = torch.randn(2, 3, 4, 32, 32)
    with torch.no_grad(), native_cpu_kernels():
        ref = model(x)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            out = model(x)
    assert out.dtype == torch.bfloat16
    torch.testing.assert_close(out.float(), ref, rtol=0, atol=0.05 * ref.abs().max().item())


def test_the_cpu_bf16_check_runs_no_onednn_kernel():
    """ONEDNN_VERBOSE lists every oneDNN kernel that runs. The bf16 step of the tests above runs
    none; a float32 convolution with oneDNN on, run after it, shows that the listing works."""
    script = (
        "import sys, torch; sys.path[:0] = [sys.argv[1], sys.argv[2]]\n"
        "import conftest, test_models\n"
        "with conftest.native_cpu_kernels():\n"
        "    for kind in test_models.KINDS: test_models._bf16_step(kind, 'cpu')\n"
        "print('END OF BF16 STEP', flush=True)\n"
        "torch.nn.Conv2d(64, 64, 3)(torch.randn(4, 64, 32, 32))\n")
    here = os.path.dirname(os.path.abspath(__file__))
    p = subprocess.run([sys.executable, "-c", script, here, os.path.dirname(here)],
                       env={**os.environ, "ONEDNN_VERBOSE": "all", "OMP_NUM_THREADS": "1"},
                       capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr
    before, marker, after = p.stdout.partition("END OF BF16 STEP")
    assert marker, p.stdout[-2000:]
    assert "primitive,exec" not in before, [l for l in before.splitlines() if "exec" in l][:3]
    assert "primitive,exec,cpu,convolution" in after  # the listing is on: absence above means it


@pytest.mark.skipif(not torch.cuda.is_available(), reason="bf16 autocast training is a CUDA feature "
                    "here; the CPU checks above cover dtypes and finiteness on torch's own kernels")
@pytest.mark.parametrize("kind", KINDS)
def test_bf16_autocast_on_cuda_forward_backward_has_finite_gradients(kind):
    logits, feats, loss, model = _bf16_step(kind, "cuda")
    assert logits.dtype == torch.bfloat16 and all(f.dtype == torch.bfloat16 for f in feats)
    assert torch.isfinite(loss)
    for name, p in model.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all(), name


def _channels_last_pair(device):
    """(logits of the model as built, logits and features of its channels_last_3d copy)."""
    torch.manual_seed(0)
    model = _warm_bn(build_model("r2plus1d10_w0.25", 5)).to(device)
    x = torch.randn(2, 3, 4, 32, 32, device=device)
    cl = copy.deepcopy(model).to(memory_format=torch.channels_last_3d)
    with torch.no_grad():
        ref = model(x)
        out, feats = cl(x.to(memory_format=torch.channels_last_3d), return_features=True)
    return ref, out, feats


def test_channels_last_3d_gives_the_same_output():
    """The memory layout changes no number. (Whether a CPU convolution keeps the layout is
    torch's choice of kernel, which depends on the thread count: not asserted here.)"""
    ref, out, _ = _channels_last_pair("cpu")
    torch.testing.assert_close(out, ref, rtol=1e-4, atol=1e-5)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="channels_last_3d is used on CUDA only "
                    "(train.py); the CPU test above checks that it changes no number")
def test_channels_last_3d_is_kept_through_the_model_on_cuda():
    ref, out, feats = _channels_last_pair("cuda")
    # cuDNN picks other algorithms per layout, with TF32 rounding in between: close, not equal
    torch.testing.assert_close(out, ref, rtol=1e-2, atol=1e-2 * ref.abs().max().item())
    assert all(f.is_contiguous(memory_format=torch.channels_last_3d) for f in feats)


# --------------------------------------------------------------------------------------------- data
# state_dict() of torchvision's r3d_18, mc3_18 and r2plus1d_18 (num_classes=400), in order: name, shape.
# Derived from torchvision/models/video/resnet.py (BasicStem / R2Plus1dStem, BasicBlock with
# conv1 = (conv, BN, ReLU), conv2 = (conv, BN), downsample = (1x1x1 conv, BN); Conv2Plus1D =
# (1x3x3 conv, BN, ReLU, 3x1x1 conv) with midplanes = (in*out*27) // (in*9 + 3*out)).
TV_R3D_18 = [
    ("stem.0.weight", (64, 3, 3, 7, 7)),
    ("stem.1.weight", (64,)),
    ("stem.1.bias", (64,)),
    ("stem.1.running_mean", (64,)),
    ("stem.1.running_var", (64,)),
    ("stem.1.num_batches_tracked", ()),
    ("layer1.0.conv1.0.weight", (64, 64, 3, 3, 3)),
    ("layer1.0.conv1.1.weight", (64,)),
    ("layer1.0.conv1.1.bias", (64,)),
    ("layer1.0.conv1.1.running_mean", (64,)),
    ("layer1.0.conv1.1.running_var", (64,)),
    ("layer1.0.conv1.1.num_batches_tracked", ()),
    ("layer1.0.conv2.0.weight", (64, 64, 3, 3, 3)),
    ("layer1.0.conv2.1.weight", (64,)),
    ("layer1.0.conv2.1.bias", (64,)),
    ("layer1.0.conv2.1.running_mean", (64,)),
    ("layer1.0.conv2.1.running_var", (64,)),
    ("layer1.0.conv2.1.num_batches_tracked", ()),
    ("layer1.1.conv1.0.weight", (64, 64, 3, 3, 3)),
    ("layer1.1.conv1.1.weight", (64,)),
    ("layer1.1.conv1.1.bias", (64,)),
    ("layer1.1.conv1.1.running_mean", (64,)),
    ("layer1.1.conv1.1.running_var", (64,)),
    ("layer1.1.conv1.1.num_batches_tracked", ()),
    ("layer1.1.conv2.0.weight", (64, 64, 3, 3, 3)),
    ("layer1.1.conv2.1.weight", (64,)),
    ("layer1.1.conv2.1.bias", (64,)),
    ("layer1.1.conv2.1.running_mean", (64,)),
    ("layer1.1.conv2.1.running_var", (64,)),
    ("layer1.1.conv2.1.num_batches_tracked", ()),
    ("layer2.0.conv1.0.weight", (128, 64, 3, 3, 3)),
    ("layer2.0.conv1.1.weight", (128,)),
    ("layer2.0.conv1.1.bias", (128,)),
    ("layer2.0.conv1.1.running_mean", (128,)),
    ("layer2.0.conv1.1.running_var", (128,)),
    ("layer2.0.conv1.1.num_batches_tracked", ()),
    ("layer2.0.conv2.0.weight", (128, 128, 3, 3, 3)),
    ("layer2.0.conv2.1.weight", (128,)),
    ("layer2.0.conv2.1.bias", (128,)),
    ("layer2.0.conv2.1.running_mean", (128,)),
    ("layer2.0.conv2.1.running_var", (128,)),
    ("layer2.0.conv2.1.num_batches_tracked", ()),
    ("layer2.0.downsample.0.weight", (128, 64, 1, 1, 1)),
    ("layer2.0.downsample.1.weight", (128,)),
    ("layer2.0.downsample.1.bias", (128,)),
    ("layer2.0.downsample.1.running_mean", (128,)),
    ("layer2.0.downsample.1.running_var", (128,)),
    ("layer2.0.downsample.1.num_batches_tracked", ()),
    ("layer2.1.conv1.0.weight", (128, 128, 3, 3, 3)),
    ("layer2.1.conv1.1.weight", (128,)),
    ("layer2.1.conv1.1.bias", (128,)),
    ("layer2.1.conv1.1.running_mean", (128,)),
    ("layer2.1.conv1.1.running_var", (128,)),
    ("layer2.1.conv1.1.num_batches_tracked", ()),
    ("layer2.1.conv2.0.weight", (128, 128, 3, 3, 3)),
    ("layer2.1.conv2.1.weight", (128,)),
    ("layer2.1.conv2.1.bias", (128,)),
    ("layer2.1.conv2.1.running_mean", (128,)),
    ("layer2.1.conv2.1.running_var", (128,)),
    ("layer2.1.conv2.1.num_batches_tracked", ()),
    ("layer3.0.conv1.0.weight", (256, 128, 3, 3, 3)),
    ("layer3.0.conv1.1.weight", (256,)),
    ("layer3.0.conv1.1.bias", (256,)),
    ("layer3.0.conv1.1.running_mean", (256,)),
    ("layer3.0.conv1.1.running_var", (256,)),
    ("layer3.0.conv1.1.num_batches_tracked", ()),
    ("layer3.0.conv2.0.weight", (256, 256, 3, 3, 3)),
    ("layer3.0.conv2.1.weight", (256,)),
    ("layer3.0.conv2.1.bias", (256,)),
    ("layer3.0.conv2.1.running_mean", (256,)),
    ("layer3.0.conv2.1.running_var", (256,)),
    ("layer3.0.conv2.1.num_batches_tracked", ()),
    ("layer3.0.downsample.0.weight", (256, 128, 1, 1, 1)),
    ("layer3.0.downsample.1.weight", (256,)),
    ("layer3.0.downsample.1.bias", (256,)),
    ("layer3.0.downsample.1.running_mean", (256,)),
    ("layer3.0.downsample.1.running_var", (256,)),
    ("layer3.0.downsample.1.num_batches_tracked", ()),
    ("layer3.1.conv1.0.weight", (256, 256, 3, 3, 3)),
    ("layer3.1.conv1.1.weight", (256,)),
    ("layer3.1.conv1.1.bias", (256,)),
    ("layer3.1.conv1.1.running_mean", (256,)),
    ("layer3.1.conv1.1.running_var", (256,)),
    ("layer3.1.conv1.1.num_batches_tracked", ()),
    ("layer3.1.conv2.0.weight", (256, 256, 3, 3, 3)),
    ("layer3.1.conv2.1.weight", (256,)),
    ("layer3.1.conv2.1.bias", (256,)),
    ("layer3.1.conv2.1.running_mean", (256,)),
    ("layer3.1.conv2.1.running_var", (256,)),
    ("layer3.1.conv2.1.num_batches_tracked", ()),
    ("layer4.0.conv1.0.weight", (512, 256, 3, 3, 3)),
    ("layer4.0.conv1.1.weight", (512,)),
    ("layer4.0.conv1.1.bias", (512,)),
    ("layer4.0.conv1.1.running_mean", (512,)),
    ("layer4.0.conv1.1.running_var", (512,)),
    ("layer4.0.conv1.1.num_batches_tracked", ()),
    ("layer4.0.conv2.0.weight", (512, 512, 3, 3, 3)),
    ("layer4.0.conv2.1.weight", (512,)),
    ("layer4.0.conv2.1.bias", (512,)),
    ("layer4.0.conv2.1.running_mean", (512,)),
    ("layer4.0.conv2.1.running_var", (512,)),
    ("layer4.0.conv2.1.num_batches_tracked", ()),
    ("layer4.0.downsample.0.weight", (512, 256, 1, 1, 1)),
    ("layer4.0.downsample.1.weight", (512,)),
    ("layer4.0.downsample.1.bias", (512,)),
    ("layer4.0.downsample.1.running_mean", (512,)),
    ("layer4.0.downsample.1.running_var", (512,)),
    ("layer4.0.downsample.1.num_batches_tracked", ()),
    ("layer4.1.conv1.0.weight", (512, 512, 3, 3, 3)),
    ("layer4.1.conv1.1.weight", (512,)),
    ("layer4.1.conv1.1.bias", (512,)),
    ("layer4.1.conv1.1.running_mean", (512,)),
    ("layer4.1.conv1.1.running_var", (512,)),
    ("layer4.1.conv1.1.num_batches_tracked", ()),
    ("layer4.1.conv2.0.weight", (512, 512, 3, 3, 3)),
    ("layer4.1.conv2.1.weight", (512,)),
    ("layer4.1.conv2.1.bias", (512,)),
    ("layer4.1.conv2.1.running_mean", (512,)),
    ("layer4.1.conv2.1.running_var", (512,)),
    ("layer4.1.conv2.1.num_batches_tracked", ()),
    ("fc.weight", (400, 512)),
    ("fc.bias", (400,)),
]

TV_MC3_18 = [
    ("stem.0.weight", (64, 3, 3, 7, 7)),
    ("stem.1.weight", (64,)),
    ("stem.1.bias", (64,)),
    ("stem.1.running_mean", (64,)),
    ("stem.1.running_var", (64,)),
    ("stem.1.num_batches_tracked", ()),
    ("layer1.0.conv1.0.weight", (64, 64, 3, 3, 3)),
    ("layer1.0.conv1.1.weight", (64,)),
    ("layer1.0.conv1.1.bias", (64,)),
    ("layer1.0.conv1.1.running_mean", (64,)),
    ("layer1.0.conv1.1.running_var", (64,)),
    ("layer1.0.conv1.1.num_batches_tracked", ()),
    ("layer1.0.conv2.0.weight", (64, 64, 3, 3, 3)),
    ("layer1.0.conv2.1.weight", (64,)),
    ("layer1.0.conv2.1.bias", (64,)),
    ("layer1.0.conv2.1.running_mean", (64,)),
    ("layer1.0.conv2.1.running_var", (64,)),
    ("layer1.0.conv2.1.num_batches_tracked", ()),
    ("layer1.1.conv1.0.weight", (64, 64, 3, 3, 3)),
    ("layer1.1.conv1.1.weight", (64,)),
    ("layer1.1.conv1.1.bias", (64,)),
    ("layer1.1.conv1.1.running_mean", (64,)),
    ("layer1.1.conv1.1.running_var", (64,)),
    ("layer1.1.conv1.1.num_batches_tracked", ()),
    ("layer1.1.conv2.0.weight", (64, 64, 3, 3, 3)),
    ("layer1.1.conv2.1.weight", (64,)),
    ("layer1.1.conv2.1.bias", (64,)),
    ("layer1.1.conv2.1.running_mean", (64,)),
    ("layer1.1.conv2.1.running_var", (64,)),
    ("layer1.1.conv2.1.num_batches_tracked", ()),
    ("layer2.0.conv1.0.weight", (128, 64, 1, 3, 3)),
    ("layer2.0.conv1.1.weight", (128,)),
    ("layer2.0.conv1.1.bias", (128,)),
    ("layer2.0.conv1.1.running_mean", (128,)),
    ("layer2.0.conv1.1.running_var", (128,)),
    ("layer2.0.conv1.1.num_batches_tracked", ()),
    ("layer2.0.conv2.0.weight", (128, 128, 1, 3, 3)),
    ("layer2.0.conv2.1.weight", (128,)),
    ("layer2.0.conv2.1.bias", (128,)),
    ("layer2.0.conv2.1.running_mean", (128,)),
    ("layer2.0.conv2.1.running_var", (128,)),
    ("layer2.0.conv2.1.num_batches_tracked", ()),
    ("layer2.0.downsample.0.weight", (128, 64, 1, 1, 1)),
    ("layer2.0.downsample.1.weight", (128,)),
    ("layer2.0.downsample.1.bias", (128,)),
    ("layer2.0.downsample.1.running_mean", (128,)),
    ("layer2.0.downsample.1.running_var", (128,)),
    ("layer2.0.downsample.1.num_batches_tracked", ()),
    ("layer2.1.conv1.0.weight", (128, 128, 1, 3, 3)),
    ("layer2.1.conv1.1.weight", (128,)),
    ("layer2.1.conv1.1.bias", (128,)),
    ("layer2.1.conv1.1.running_mean", (128,)),
    ("layer2.1.conv1.1.running_var", (128,)),
    ("layer2.1.conv1.1.num_batches_tracked", ()),
    ("layer2.1.conv2.0.weight", (128, 128, 1, 3, 3)),
    ("layer2.1.conv2.1.weight", (128,)),
    ("layer2.1.conv2.1.bias", (128,)),
    ("layer2.1.conv2.1.running_mean", (128,)),
    ("layer2.1.conv2.1.running_var", (128,)),
    ("layer2.1.conv2.1.num_batches_tracked", ()),
    ("layer3.0.conv1.0.weight", (256, 128, 1, 3, 3)),
    ("layer3.0.conv1.1.weight", (256,)),
    ("layer3.0.conv1.1.bias", (256,)),
    ("layer3.0.conv1.1.running_mean", (256,)),
    ("layer3.0.conv1.1.running_var", (256,)),
    ("layer3.0.conv1.1.num_batches_tracked", ()),
    ("layer3.0.conv2.0.weight", (256, 256, 1, 3, 3)),
    ("layer3.0.conv2.1.weight", (256,)),
    ("layer3.0.conv2.1.bias", (256,)),
    ("layer3.0.conv2.1.running_mean", (256,)),
    ("layer3.0.conv2.1.running_var", (256,)),
    ("layer3.0.conv2.1.num_batches_tracked", ()),
    ("layer3.0.downsample.0.weight", (256, 128, 1, 1, 1)),
    ("layer3.0.downsample.1.weight", (256,)),
    ("layer3.0.downsample.1.bias", (256,)),
    ("layer3.0.downsample.1.running_mean", (256,)),
    ("layer3.0.downsample.1.running_var", (256,)),
    ("layer3.0.downsample.1.num_batches_tracked", ()),
    ("layer3.1.conv1.0.weight", (256, 256, 1, 3, 3)),
    ("layer3.1.conv1.1.weight", (256,)),
    ("layer3.1.conv1.1.bias", (256,)),
    ("layer3.1.conv1.1.running_mean", (256,)),
    ("layer3.1.conv1.1.running_var", (256,)),
    ("layer3.1.conv1.1.num_batches_tracked", ()),
    ("layer3.1.conv2.0.weight", (256, 256, 1, 3, 3)),
    ("layer3.1.conv2.1.weight", (256,)),
    ("layer3.1.conv2.1.bias", (256,)),
    ("layer3.1.conv2.1.running_mean", (256,)),
    ("layer3.1.conv2.1.running_var", (256,)),
    ("layer3.1.conv2.1.num_batches_tracked", ()),
    ("layer4.0.conv1.0.weight", (512, 256, 1, 3, 3)),
    ("layer4.0.conv1.1.weight", (512,)),
    ("layer4.0.conv1.1.bias", (512,)),
    ("layer4.0.conv1.1.running_mean", (512,)),
    ("layer4.0.conv1.1.running_var", (512,)),
    ("layer4.0.conv1.1.num_batches_tracked", ()),
    ("layer4.0.conv2.0.weight", (512, 512, 1, 3, 3)),
    ("layer4.0.conv2.1.weight", (512,)),
    ("layer4.0.conv2.1.bias", (512,)),
    ("layer4.0.conv2.1.running_mean", (512,)),
    ("layer4.0.conv2.1.running_var", (512,)),
    ("layer4.0.conv2.1.num_batches_tracked", ()),
    ("layer4.0.downsample.0.weight", (512, 256, 1, 1, 1)),
    ("layer4.0.downsample.1.weight", (512,)),
    ("layer4.0.downsample.1.bias", (512,)),
    ("layer4.0.downsample.1.running_mean", (512,)),
    ("layer4.0.downsample.1.running_var", (512,)),
    ("layer4.0.downsample.1.num_batches_tracked", ()),
    ("layer4.1.conv1.0.weight", (512, 512, 1, 3, 3)),
    ("layer4.1.conv1.1.weight", (512,)),
    ("layer4.1.conv1.1.bias", (512,)),
    ("layer4.1.conv1.1.running_mean", (512,)),
    ("layer4.1.conv1.1.running_var", (512,)),
    ("layer4.1.conv1.1.num_batches_tracked", ()),
    ("layer4.1.conv2.0.weight", (512, 512, 1, 3, 3)),
    ("layer4.1.conv2.1.weight", (512,)),
    ("layer4.1.conv2.1.bias", (512,)),
    ("layer4.1.conv2.1.running_mean", (512,)),
    ("layer4.1.conv2.1.running_var", (512,)),
    ("layer4.1.conv2.1.num_batches_tracked", ()),
    ("fc.weight", (400, 512)),
    ("fc.bias", (400,)),
]

TV_R2PLUS1D_18 = [
    ("stem.0.weight", (45, 3, 1, 7, 7)),
    ("stem.1.weight", (45,)),
    ("stem.1.bias", (45,)),
    ("stem.1.running_mean", (45,)),
    ("stem.1.running_var", (45,)),
    ("stem.1.num_batches_tracked", ()),
    ("stem.3.weight", (64, 45, 3, 1, 1)),
    ("stem.4.weight", (64,)),
    ("stem.4.bias", (64,)),
    ("stem.4.running_mean", (64,)),
    ("stem.4.running_var", (64,)),
    ("stem.4.num_batches_tracked", ()),
    ("layer1.0.conv1.0.0.weight", (144, 64, 1, 3, 3)),
    ("layer1.0.conv1.0.1.weight", (144,)),
    ("layer1.0.conv1.0.1.bias", (144,)),
    ("layer1.0.conv1.0.1.running_mean", (144,)),
    ("layer1.0.conv1.0.1.running_var", (144,)),
    ("layer1.0.conv1.0.1.num_batches_tracked", ()),
    ("layer1.0.conv1.0.3.weight", (64, 144, 3, 1, 1)),
    ("layer1.0.conv1.1.weight", (64,)),
    ("layer1.0.conv1.1.bias", (64,)),
    ("layer1.0.conv1.1.running_mean", (64,)),
    ("layer1.0.conv1.1.running_var", (64,)),
    ("layer1.0.conv1.1.num_batches_tracked", ()),
    ("layer1.0.conv2.0.0.weight", (144, 64, 1, 3, 3)),
    ("layer1.0.conv2.0.1.weight", (144,)),
    ("layer1.0.conv2.0.1.bias", (144,)),
    ("layer1.0.conv2.0.1.running_mean", (144,)),
    ("layer1.0.conv2.0.1.running_var", (144,)),
    ("layer1.0.conv2.0.1.num_batches_tracked", ()),
    ("layer1.0.conv2.0.3.weight", (64, 144, 3, 1, 1)),
    ("layer1.0.conv2.1.weight", (64,)),
    ("layer1.0.conv2.1.bias", (64,)),
    ("layer1.0.conv2.1.running_mean", (64,)),
    ("layer1.0.conv2.1.running_var", (64,)),
    ("layer1.0.conv2.1.num_batches_tracked", ()),
    ("layer1.1.conv1.0.0.weight", (144, 64, 1, 3, 3)),
    ("layer1.1.conv1.0.1.weight", (144,)),
    ("layer1.1.conv1.0.1.bias", (144,)),
    ("layer1.1.conv1.0.1.running_mean", (144,)),
    ("layer1.1.conv1.0.1.running_var", (144,)),
    ("layer1.1.conv1.0.1.num_batches_tracked", ()),
    ("layer1.1.conv1.0.3.weight", (64, 144, 3, 1, 1)),
    ("layer1.1.conv1.1.weight", (64,)),
    ("layer1.1.conv1.1.bias", (64,)),
    ("layer1.1.conv1.1.running_mean", (64,)),
    ("layer1.1.conv1.1.running_var", (64,)),
    ("layer1.1.conv1.1.num_batches_tracked", ()),
    ("layer1.1.conv2.0.0.weight", (144, 64, 1, 3, 3)),
    ("layer1.1.conv2.0.1.weight", (144,)),
    ("layer1.1.conv2.0.1.bias", (144,)),
    ("layer1.1.conv2.0.1.running_mean", (144,)),
    ("layer1.1.conv2.0.1.running_var", (144,)),
    ("layer1.1.conv2.0.1.num_batches_tracked", ()),
    ("layer1.1.conv2.0.3.weight", (64, 144, 3, 1, 1)),
    ("layer1.1.conv2.1.weight", (64,)),
    ("layer1.1.conv2.1.bias", (64,)),
    ("layer1.1.conv2.1.running_mean", (64,)),
    ("layer1.1.conv2.1.running_var", (64,)),
    ("layer1.1.conv2.1.num_batches_tracked", ()),
    ("layer2.0.conv1.0.0.weight", (230, 64, 1, 3, 3)),
    ("layer2.0.conv1.0.1.weight", (230,)),
    ("layer2.0.conv1.0.1.bias", (230,)),
    ("layer2.0.conv1.0.1.running_mean", (230,)),
    ("layer2.0.conv1.0.1.running_var", (230,)),
    ("layer2.0.conv1.0.1.num_batches_tracked", ()),
    ("layer2.0.conv1.0.3.weight", (128, 230, 3, 1, 1)),
    ("layer2.0.conv1.1.weight", (128,)),
    ("layer2.0.conv1.1.bias", (128,)),
    ("layer2.0.conv1.1.running_mean", (128,)),
    ("layer2.0.conv1.1.running_var", (128,)),
    ("layer2.0.conv1.1.num_batches_tracked", ()),
    ("layer2.0.conv2.0.0.weight", (230, 128, 1, 3, 3)),
    ("layer2.0.conv2.0.1.weight", (230,)),
    ("layer2.0.conv2.0.1.bias", (230,)),
    ("layer2.0.conv2.0.1.running_mean", (230,)),
    ("layer2.0.conv2.0.1.running_var", (230,)),
    ("layer2.0.conv2.0.1.num_batches_tracked", ()),
    ("layer2.0.conv2.0.3.weight", (128, 230, 3, 1, 1)),
    ("layer2.0.conv2.1.weight", (128,)),
    ("layer2.0.conv2.1.bias", (128,)),
    ("layer2.0.conv2.1.running_mean", (128,)),
    ("layer2.0.conv2.1.running_var", (128,)),
    ("layer2.0.conv2.1.num_batches_tracked", ()),
    ("layer2.0.downsample.0.weight", (128, 64, 1, 1, 1)),
    ("layer2.0.downsample.1.weight", (128,)),
    ("layer2.0.downsample.1.bias", (128,)),
    ("layer2.0.downsample.1.running_mean", (128,)),
    ("layer2.0.downsample.1.running_var", (128,)),
    ("layer2.0.downsample.1.num_batches_tracked", ()),
    ("layer2.1.conv1.0.0.weight", (288, 128, 1, 3, 3)),
    ("layer2.1.conv1.0.1.weight", (288,)),
    ("layer2.1.conv1.0.1.bias", (288,)),
    ("layer2.1.conv1.0.1.running_mean", (288,)),
    ("layer2.1.conv1.0.1.running_var", (288,)),
    ("layer2.1.conv1.0.1.num_batches_tracked", ()),
    ("layer2.1.conv1.0.3.weight", (128, 288, 3, 1, 1)),
    ("layer2.1.conv1.1.weight", (128,)),
    ("layer2.1.conv1.1.bias", (128,)),
    ("layer2.1.conv1.1.running_mean", (128,)),
    ("layer2.1.conv1.1.running_var", (128,)),
    ("layer2.1.conv1.1.num_batches_tracked", ()),
    ("layer2.1.conv2.0.0.weight", (288, 128, 1, 3, 3)),
    ("layer2.1.conv2.0.1.weight", (288,)),
    ("layer2.1.conv2.0.1.bias", (288,)),
    ("layer2.1.conv2.0.1.running_mean", (288,)),
    ("layer2.1.conv2.0.1.running_var", (288,)),
    ("layer2.1.conv2.0.1.num_batches_tracked", ()),
    ("layer2.1.conv2.0.3.weight", (128, 288, 3, 1, 1)),
    ("layer2.1.conv2.1.weight", (128,)),
    ("layer2.1.conv2.1.bias", (128,)),
    ("layer2.1.conv2.1.running_mean", (128,)),
    ("layer2.1.conv2.1.running_var", (128,)),
    ("layer2.1.conv2.1.num_batches_tracked", ()),
    ("layer3.0.conv1.0.0.weight", (460, 128, 1, 3, 3)),
    ("layer3.0.conv1.0.1.weight", (460,)),
    ("layer3.0.conv1.0.1.bias", (460,)),
    ("layer3.0.conv1.0.1.running_mean", (460,)),
    ("layer3.0.conv1.0.1.running_var", (460,)),
    ("layer3.0.conv1.0.1.num_batches_tracked", ()),
    ("layer3.0.conv1.0.3.weight", (256, 460, 3, 1, 1)),
    ("layer3.0.conv1.1.weight", (256,)),
    ("layer3.0.conv1.1.bias", (256,)),
    ("layer3.0.conv1.1.running_mean", (256,)),
    ("layer3.0.conv1.1.running_var", (256,)),
    ("layer3.0.conv1.1.num_batches_tracked", ()),
    ("layer3.0.conv2.0.0.weight", (460, 256, 1, 3, 3)),
    ("layer3.0.conv2.0.1.weight", (460,)),
    ("layer3.0.conv2.0.1.bias", (460,)),
    ("layer3.0.conv2.0.1.running_mean", (460,)),
    ("layer3.0.conv2.0.1.running_var", (460,)),
    ("layer3.0.conv2.0.1.num_batches_tracked", ()),
    ("layer3.0.conv2.0.3.weight", (256, 460, 3, 1, 1)),
    ("layer3.0.conv2.1.weight", (256,)),
    ("layer3.0.conv2.1.bias", (256,)),
    ("layer3.0.conv2.1.running_mean", (256,)),
    ("layer3.0.conv2.1.running_var", (256,)),
    ("layer3.0.conv2.1.num_batches_tracked", ()),
    ("layer3.0.downsample.0.weight", (256, 128, 1, 1, 1)),
    ("layer3.0.downsample.1.weight", (256,)),
    ("layer3.0.downsample.1.bias", (256,)),
    ("layer3.0.downsample.1.running_mean", (256,)),
    ("layer3.0.downsample.1.running_var", (256,)),
    ("layer3.0.downsample.1.num_batches_tracked", ()),
    ("layer3.1.conv1.0.0.weight", (576, 256, 1, 3, 3)),
    ("layer3.1.conv1.0.1.weight", (576,)),
    ("layer3.1.conv1.0.1.bias", (576,)),
    ("layer3.1.conv1.0.1.running_mean", (576,)),
    ("layer3.1.conv1.0.1.running_var", (576,)),
    ("layer3.1.conv1.0.1.num_batches_tracked", ()),
    ("layer3.1.conv1.0.3.weight", (256, 576, 3, 1, 1)),
    ("layer3.1.conv1.1.weight", (256,)),
    ("layer3.1.conv1.1.bias", (256,)),
    ("layer3.1.conv1.1.running_mean", (256,)),
    ("layer3.1.conv1.1.running_var", (256,)),
    ("layer3.1.conv1.1.num_batches_tracked", ()),
    ("layer3.1.conv2.0.0.weight", (576, 256, 1, 3, 3)),
    ("layer3.1.conv2.0.1.weight", (576,)),
    ("layer3.1.conv2.0.1.bias", (576,)),
    ("layer3.1.conv2.0.1.running_mean", (576,)),
    ("layer3.1.conv2.0.1.running_var", (576,)),
    ("layer3.1.conv2.0.1.num_batches_tracked", ()),
    ("layer3.1.conv2.0.3.weight", (256, 576, 3, 1, 1)),
    ("layer3.1.conv2.1.weight", (256,)),
    ("layer3.1.conv2.1.bias", (256,)),
    ("layer3.1.conv2.1.running_mean", (256,)),
    ("layer3.1.conv2.1.running_var", (256,)),
    ("layer3.1.conv2.1.num_batches_tracked", ()),
    ("layer4.0.conv1.0.0.weight", (921, 256, 1, 3, 3)),
    ("layer4.0.conv1.0.1.weight", (921,)),
    ("layer4.0.conv1.0.1.bias", (921,)),
    ("layer4.0.conv1.0.1.running_mean", (921,)),
    ("layer4.0.conv1.0.1.running_var", (921,)),
    ("layer4.0.conv1.0.1.num_batches_tracked", ()),
    ("layer4.0.conv1.0.3.weight", (512, 921, 3, 1, 1)),
    ("layer4.0.conv1.1.weight", (512,)),
    ("layer4.0.conv1.1.bias", (512,)),
    ("layer4.0.conv1.1.running_mean", (512,)),
    ("layer4.0.conv1.1.running_var", (512,)),
    ("layer4.0.conv1.1.num_batches_tracked", ()),
    ("layer4.0.conv2.0.0.weight", (921, 512, 1, 3, 3)),
    ("layer4.0.conv2.0.1.weight", (921,)),
    ("layer4.0.conv2.0.1.bias", (921,)),
    ("layer4.0.conv2.0.1.running_mean", (921,)),
    ("layer4.0.conv2.0.1.running_var", (921,)),
    ("layer4.0.conv2.0.1.num_batches_tracked", ()),
    ("layer4.0.conv2.0.3.weight", (512, 921, 3, 1, 1)),
    ("layer4.0.conv2.1.weight", (512,)),
    ("layer4.0.conv2.1.bias", (512,)),
    ("layer4.0.conv2.1.running_mean", (512,)),
    ("layer4.0.conv2.1.running_var", (512,)),
    ("layer4.0.conv2.1.num_batches_tracked", ()),
    ("layer4.0.downsample.0.weight", (512, 256, 1, 1, 1)),
    ("layer4.0.downsample.1.weight", (512,)),
    ("layer4.0.downsample.1.bias", (512,)),
    ("layer4.0.downsample.1.running_mean", (512,)),
    ("layer4.0.downsample.1.running_var", (512,)),
    ("layer4.0.downsample.1.num_batches_tracked", ()),
    ("layer4.1.conv1.0.0.weight", (1152, 512, 1, 3, 3)),
    ("layer4.1.conv1.0.1.weight", (1152,)),
    ("layer4.1.conv1.0.1.bias", (1152,)),
    ("layer4.1.conv1.0.1.running_mean", (1152,)),
    ("layer4.1.conv1.0.1.running_var", (1152,)),
    ("layer4.1.conv1.0.1.num_batches_tracked", ()),
    ("layer4.1.conv1.0.3.weight", (512, 1152, 3, 1, 1)),
    ("layer4.1.conv1.1.weight", (512,)),
    ("layer4.1.conv1.1.bias", (512,)),
    ("layer4.1.conv1.1.running_mean", (512,)),
    ("layer4.1.conv1.1.running_var", (512,)),
    ("layer4.1.conv1.1.num_batches_tracked", ()),
    ("layer4.1.conv2.0.0.weight", (1152, 512, 1, 3, 3)),
    ("layer4.1.conv2.0.1.weight", (1152,)),
    ("layer4.1.conv2.0.1.bias", (1152,)),
    ("layer4.1.conv2.0.1.running_mean", (1152,)),
    ("layer4.1.conv2.0.1.running_var", (1152,)),
    ("layer4.1.conv2.0.1.num_batches_tracked", ()),
    ("layer4.1.conv2.0.3.weight", (512, 1152, 3, 1, 1)),
    ("layer4.1.conv2.1.weight", (512,)),
    ("layer4.1.conv2.1.bias", (512,)),
    ("layer4.1.conv2.1.running_mean", (512,)),
    ("layer4.1.conv2.1.running_var", (512,)),
    ("layer4.1.conv2.1.num_batches_tracked", ()),
    ("fc.weight", (400, 512)),
    ("fc.bias", (400,)),
]
