"""Import table: model x origin x exporter/opset -> import ok / error line, parity (abs, rel), time.

Imports, through ``import_card`` (what ``harness import`` runs), models this project did not
make: the vendored pretrained models of tests/data/pretrained (MediaPipe TFLite via tf2onnx,
PaddleOCR via paddle2onnx), Model Zoo-era graphs (devkit/legacy_zoo.py, random weights), a
small ViT and a ResNet-50 (torchvision-style, random weights) exported by torch.onnx's dynamo
exporter, Keras ResNet50/DenseNet121 (random weights) through tf2onnx at opset 18, and
compressed models: the classic ONNX Model Zoo files shipped in the onnx wheel (weights made by
ConstantOfShape), a convnet quantized by onnxruntime (QDQ, QOperator, dynamic), a float16 graph,
and TFLite conversions of a Keras convnet (full-integer int8 and uint8 I/O, float16, dynamic
range) through tf2onnx. Extra ONNX/TFLite files can be given on the command line
(``--extra PATH:framework:H:W:layout``). Columns: parity at the output's scale (max |torch - ort|
/ max |ort| of the worst tensor) and whether the per-element allclose (card atol/rtol) holds.

    python benchmarks/import_table.py [--quick] [--extra ...]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import onnx
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from harness.model.card import load_card  # noqa: E402
from harness.common.errors import HarnessError  # noqa: E402
from harness.model.importer import import_card  # noqa: E402
from devkit import legacy_zoo  # noqa: E402
from devkit.cards import write_card  # noqa: E402

PRETRAINED = ROOT / "tests" / "data" / "pretrained"


def _probe(path: Path) -> str:
    graph = onnx.load(str(path)).graph
    nodes = [n for n in graph.node if n.op_type in ("Relu", "Clip", "Add", "Conv", "HardSwish", "PRelu", "Concat", "Gelu", "Sum")]
    nodes = nodes or [n for n in graph.node if n.op_type.startswith("QLinear") or n.op_type == "DequantizeLinear"] or list(graph.node)
    return nodes[(2 * len(nodes)) // 3].output[0]


def run_one(folder: Path, name: str, origin: str, exporter: str, path: Path, framework: str, size, layout="NCHW"):
    target = folder / f"{name}.onnx"
    if path != target:
        target.write_bytes(path.read_bytes())
    card_path = write_card(folder, name, target.name, _probe(target), framework=framework, size=size, layout=layout, with_sha=False)
    start = time.perf_counter()
    try:
        card = load_card(card_path)
        model = import_card(card)
        p = model.parity
        per_element = "holds" if p.allclose(card.parity.atol) else "fails"
        return (name, origin, exporter, p.precision, "ok", f"{p.max_rel_err:.2g}", per_element, f"{p.max_abs_err:.2g}",
                f"{time.perf_counter() - start:.1f}")
    except HarnessError as exc:
        line = str(exc).split(": ", 1)[-1][:140]
        return (name, origin, exporter, "-", f"ERROR {line}", "-", "-", "-", f"{time.perf_counter() - start:.1f}")


class Bottleneck(torch.nn.Module):
    """torchvision's ResNet-50 bottleneck (1x1, 3x3 stride, 1x1 x4; BN; projection shortcut)."""

    def __init__(self, cin: int, width: int, stride: int) -> None:
        super().__init__()
        nn = torch.nn
        self.conv1, self.bn1 = nn.Conv2d(cin, width, 1, bias=False), nn.BatchNorm2d(width)
        self.conv2, self.bn2 = nn.Conv2d(width, width, 3, stride, 1, bias=False), nn.BatchNorm2d(width)
        self.conv3, self.bn3 = nn.Conv2d(width, width * 4, 1, bias=False), nn.BatchNorm2d(width * 4)
        self.relu = nn.ReLU()
        self.downsample = (nn.Sequential(nn.Conv2d(cin, width * 4, 1, stride, bias=False), nn.BatchNorm2d(width * 4))
                           if stride != 1 or cin != width * 4 else nn.Identity())

    def forward(self, x):
        y = self.relu(self.bn1(self.conv1(x)))
        y = self.relu(self.bn2(self.conv2(y)))
        return self.relu(self.bn3(self.conv3(y)) + self.downsample(x))


def resnet50() -> torch.nn.Module:
    """ResNet-50 with torchvision's layout (3, 4, 6, 3 bottlenecks), random weights, eval mode."""
    nn = torch.nn
    layers, cin = [], 64
    for width, blocks, stride in ((64, 3, 1), (128, 4, 2), (256, 6, 2), (512, 3, 2)):
        stage = []
        for i in range(blocks):
            stage.append(Bottleneck(cin, width, stride if i == 0 else 1))
            cin = width * 4
        layers.append(nn.Sequential(*stage))
    model = nn.Sequential(nn.Conv2d(3, 64, 7, 2, 3, bias=False), nn.BatchNorm2d(64), nn.ReLU(), nn.MaxPool2d(3, 2, 1),
                          *layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(2048, 1000))
    torch.manual_seed(0)
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            nn.init.uniform_(m.running_mean, -0.1, 0.1)
            nn.init.uniform_(m.running_var, 0.5, 1.5)
    return model.eval()


def torch_models(folder: Path, quick: bool):
    from harness.model.export.pytorch import export_torch

    class ViT(torch.nn.Module):
        def __init__(self, dim=32, depth=2):
            super().__init__()
            self.patch = torch.nn.Conv2d(3, dim, 8, 8)
            layer = torch.nn.TransformerEncoderLayer(dim, 4, 64, activation="gelu", batch_first=True, norm_first=True, dropout=0.0)
            self.encoder = torch.nn.TransformerEncoder(layer, depth, enable_nested_tensor=False)
            self.norm = torch.nn.LayerNorm(dim)
            self.head = torch.nn.Linear(dim, 10)

        def forward(self, x):
            tokens = self.patch(x).flatten(2).transpose(1, 2)
            return self.head(self.norm(self.encoder(tokens)).mean(1))

    out = []
    vit = export_torch(ViT(), torch.rand(1, 3, 32, 32), folder / "vit.onnx", opset=20)
    out.append(("vit-small", "PyTorch", "dynamo opset 20", vit, "pytorch", (32, 32)))
    if not quick:
        r50 = export_torch(resnet50(), torch.rand(1, 3, 224, 224), folder / "resnet50.onnx", opset=18)
        out.append(("resnet50", "PyTorch (torchvision layout, random weights)", "dynamo opset 18", r50, "pytorch", (224, 224)))
    return out


def keras_models(folder: Path):
    try:
        import keras
        from harness.model.export.tensorflow import export_keras
    except ImportError:
        return []
    out = []
    for name, build in (("keras-resnet50", keras.applications.ResNet50), ("keras-densenet121", keras.applications.DenseNet121)):
        path = export_keras(build(weights=None, input_shape=(64, 64, 3)), folder / f"{name}.onnx", opset=18)
        out.append((name, "TF/Keras (random weights)", "tf2onnx opset 18", path, "tensorflow", (64, 64), "NHWC"))
    return out


def _has_tf() -> bool:
    try:
        import tf2onnx  # noqa: F401
    except ImportError:
        return False
    return True


def tflite_models(folder: Path):
    try:
        import tf2onnx
    except ImportError:
        return []
    out = []
    for stem, size in (("face_detection_short_range", (128, 128)), ("selfie_segmentation", (256, 256))):
        path = folder / f"{stem}.onnx"
        tf2onnx.convert.from_tflite(str(PRETRAINED / f"{stem}.tflite"), opset=18, output_path=str(path))
        out.append((stem, "TFLite (MediaPipe, pretrained)", "tf2onnx --tflite opset 18", path, "tflite", size, "NHWC"))
    return out


def compressed_models(folder: Path, with_tf: bool):
    """Quantized, float16 and computed-weight models, built with the suite's own builders."""
    from onnxruntime import quantization as q

    from devkit.compressed import calibration_reader, convnet, half_model

    out = []
    light = Path(onnx.__file__).parent / "backend" / "test" / "data" / "light"
    for path in sorted(light.glob("light_*.onnx")):
        model = onnx.load(str(path))
        weights = {init.name for init in model.graph.initializer}
        image = next(i for i in model.graph.input if i.name not in weights)  # IR 3 lists the weights as inputs too
        dims = [d.dim_value for d in image.type.tensor_type.shape.dim]
        out.append((path.stem, "ONNX Model Zoo (onnx wheel test data)", f"IR {model.ir_version} opset {model.opset_import[0].version}",
                    path, "onnx", (dims[2], dims[3])))
    base = convnet()
    base.graph.input[0].type.tensor_type.shape.dim[0].dim_value = 1
    onnx.save(base, str(folder / "float.onnx"))
    for fmt in ("QDQ", "QOperator"):
        q.quantize_static(str(folder / "float.onnx"), str(folder / f"ort-{fmt.lower()}.onnx"), calibration_reader(),
                          quant_format=getattr(q.QuantFormat, fmt), activation_type=q.QuantType.QUInt8, weight_type=q.QuantType.QInt8)
        out.append((f"ort-{fmt.lower()}", "onnxruntime quantize_static (u8/s8)", fmt, folder / f"ort-{fmt.lower()}.onnx", "onnx", (16, 16)))
    q.quantize_dynamic(str(folder / "float.onnx"), str(folder / "ort-dynamic.onnx"), weight_type=q.QuantType.QUInt8)
    out.append(("ort-dynamic", "onnxruntime quantize_dynamic", "ConvInteger", folder / "ort-dynamic.onnx", "onnx", (16, 16)))
    for half_io in (False, True):
        name = f"fp16-{'half' if half_io else 'float'}-io"
        onnx.save(half_model(half_io), str(folder / f"{name}.onnx"))
        out.append((name, "float16 graph", "onnx.helper", folder / f"{name}.onnx", "onnx", (16, 16)))
    if with_tf:
        import tf2onnx

        from devkit.compressed import TFLITE_MODES, keras_convnet, tflite_bytes

        keras_model = keras_convnet()
        for mode in TFLITE_MODES:
            (folder / f"tfl-{mode}.tflite").write_bytes(tflite_bytes(keras_model, mode))
            tf2onnx.convert.from_tflite(str(folder / f"tfl-{mode}.tflite"), opset=17, output_path=str(folder / f"tfl-{mode}.onnx"))
            out.append((f"tflite-{mode}", "TFLite (Keras convnet)", "tf2onnx --tflite opset 17", folder / f"tfl-{mode}.onnx",
                        "tflite", (16, 16), "NHWC"))
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="skip ResNet-50 and the Keras models")
    parser.add_argument("--extra", nargs="*", default=[], help="PATH:framework:H:W[:layout] of more models to try")
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        cases = [("ppocr-cls-v2", "PaddlePaddle (pretrained)", "paddle2onnx opset 11", PRETRAINED / "ch_ppocr_mobile_v2.0_cls_infer.onnx", "onnx", (48, 192))]
        cases += tflite_models(folder)
        for family in legacy_zoo.FAMILIES:
            for opset in (7, 9):
                model, _ = legacy_zoo.build(family, opset)
                path = folder / f"zoo-{family}-{opset}.onnx"
                onnx.save(model, str(path))
                cases.append((f"zoo-{family}-op{opset}", "Model Zoo-era (Caffe2-style, random weights)", f"IR 3 opset {opset}", path, "onnx", (32, 32)))
        cases += torch_models(folder, args.quick)
        if not args.quick:
            cases += keras_models(folder)
        cases += compressed_models(folder, with_tf=_has_tf())
        for spec in args.extra:
            path, framework, h, w, *layout = spec.split(":")
            cases.append((Path(path).stem, "user", "-", Path(path), framework, (int(h), int(w)), *(layout or ["NCHW"])))
        for name, origin, exporter, path, framework, size, *layout in cases:
            rows.append(run_one(folder, name, origin, exporter, Path(path), framework, size, *(layout or ["NCHW"])))
            print(" | ".join(rows[-1]), flush=True)
    ok = sum(r[4] == "ok" for r in rows)
    print()
    print("| model | origin | exporter/opset | precision | import | parity at scale | per element | max abs | import s |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for row in rows:
        print("| " + " | ".join(row) + " |")
    print(f"\nimported {ok}/{len(rows)} ({100 * ok / len(rows):.0f}%)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
