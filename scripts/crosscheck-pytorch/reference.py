"""PyTorch reference for the hessian-probe ONNX cross-check.

For each model below (fixed seeds), this script
  1. builds the model in float32 PyTorch and a random probe batch (N = 16);
  2. exports it to ONNX twice: with the TorchScript exporter (``dynamo=False``, opset 17,
     ``do_constant_folding=False`` so that weights stay initializers) and with the
     ``torch.export`` exporter (``dynamo=True``, the default since torch 2.9, opset 21), both
     with a dynamic batch axis; one output folder per model and exporter;
  3. maps every float initializer of the exported graph back to the PyTorch parameter it holds
     (by name, checked by value; a transposed copy is recognised and recorded);
  4. computes the exact Hessian of the mean loss in float64 (``torch.autograd.functional.hessian``
     on a float64 copy of the model, at the file's initializer values) in the coordinates of the
     ONNX initializers: the flat vector is the initializers in graph order, each in its own
     (ONNX) shape and C order, the layout of the adapter (one block per initializer), whose
     blocks crosscheck.ts then finds by name (so the adapter's order need not be the same);
  5. writes model.onnx, x.npy, y.npy, hessian.npy (float64 [P, P]) and meta.json.

Parameters are the model's ``named_parameters()`` (buffers such as BatchNorm running statistics
are constants). When the exporter folded BatchNorm into the Conv before it (the dynamo
exporter's default optimisation), the file's parameters are the folded ones, and the reference
is the Hessian of the folded module at the file's values (meta.json ``parametrization``).

The same Hessian computed by PyTorch in float32 is recorded too (``torchFloat32``), as a
measure of what float32 arithmetic alone does to this matrix.

Usage: python reference.py OUT_DIR   (one sub-folder per model and exporter, and
environment.json with the versions and the list of folders)
"""

from __future__ import annotations

import contextlib
import copy
import io
import json
import logging
import platform
import sys
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import onnx
import onnxscript
import torch
from onnx import numpy_helper
from torch import nn
from torch.func import functional_call
from torch.nn import functional as F

N = 16


@dataclass(frozen=True)
class Exporter:
    """One way of exporting a model to ONNX."""

    name: str
    dynamo: bool
    opset: int


EXPORTERS = [
    Exporter(name="torchscript-opset17", dynamo=False, opset=17),
    Exporter(name="dynamo-opset21", dynamo=True, opset=21),
]


@dataclass(frozen=True)
class Case:
    """One model of the cross-check."""

    name: str
    description: str
    seed: int
    loss: str  # 'ce' or 'mse', as the adapter names them
    build: Callable[[], nn.Module]
    input_shape: tuple[int, ...]  # one sample
    outputs: int


CASES = [
    Case(
        name="mlp-tanh-ce",
        description="MLP 6-5-4, tanh, softmax cross-entropy",
        seed=1,
        loss="ce",
        build=lambda: nn.Sequential(nn.Linear(6, 5), nn.Tanh(), nn.Linear(5, 4)),
        input_shape=(6,),
        outputs=4,
    ),
    Case(
        name="mlp-relu-mse",
        description="MLP 6-5-3, relu, mean squared error",
        seed=2,
        loss="mse",
        build=lambda: nn.Sequential(nn.Linear(6, 5), nn.ReLU(), nn.Linear(5, 3)),
        input_shape=(6,),
        outputs=3,
    ),
    Case(
        name="cnn-maxpool-ce",
        description="Conv2d(2→3, 3×3, pad 1) → relu → MaxPool2d(2) → Flatten → Linear(27→4), CE",
        seed=3,
        loss="ce",
        build=lambda: nn.Sequential(
            nn.Conv2d(2, 3, kernel_size=3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Flatten(),
            nn.Linear(27, 4),
        ),
        input_shape=(2, 6, 6),
        outputs=4,
    ),
    Case(
        name="cnn-avgpool-ce",
        description="Conv2d(1→2, 3×3) → relu → AvgPool2d(2) → Flatten → Linear(8→3), CE",
        seed=4,
        loss="ce",
        build=lambda: nn.Sequential(
            nn.Conv2d(1, 2, kernel_size=3),
            nn.ReLU(),
            nn.AvgPool2d(2),
            nn.Flatten(),
            nn.Linear(8, 3),
        ),
        input_shape=(1, 6, 6),
        outputs=3,
    ),
    Case(
        name="cnn-batchnorm-mse",
        description="Conv2d(1→2, 3×3) → BatchNorm2d (eval) → tanh → AvgPool2d(2) → Flatten → Linear(8→2), MSE",
        seed=5,
        loss="mse",
        build=lambda: with_running_statistics(
            nn.Sequential(
                nn.Conv2d(1, 2, kernel_size=3),
                nn.BatchNorm2d(2),
                nn.Tanh(),
                nn.AvgPool2d(2),
                nn.Flatten(),
                nn.Linear(8, 2),
            )
        ),
        input_shape=(1, 6, 6),
        outputs=2,
    ),
]


def with_running_statistics(model: nn.Module) -> nn.Module:
    """Gives every BatchNorm layer non-trivial affine parameters and running statistics (the
    defaults, 1 and 0, would hide a swapped scale or shift)."""
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            with torch.no_grad():
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.5, 0.5)
                m.running_mean.uniform_(-0.5, 0.5)
                m.running_var.uniform_(0.5, 2.0)
    return model


def mean_loss(kind: str, output: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """The adapter's losses: CE from logits, mean over samples; MSE, mean over all entries."""
    if kind == "ce":
        return F.cross_entropy(output, y)
    return F.mse_loss(output, y)


def fold_batchnorm(model: nn.Sequential) -> nn.Sequential:
    """A copy of `model` with each eval-mode BatchNorm2d folded into the Conv2d before it (and
    replaced by Identity, so the other layers keep their names): W' = W·s and
    b' = (b − μ)·s + β per output channel, s = γ/√(σ² + ε). This is what the dynamo exporter's
    default graph optimisation does, keeping the Conv's initializer names."""
    layers = [copy.deepcopy(m) for m in model]
    for i in range(len(layers) - 1):
        conv, bn = layers[i], layers[i + 1]
        if isinstance(conv, nn.Conv2d) and isinstance(bn, nn.BatchNorm2d):
            with torch.no_grad():
                s = bn.weight / torch.sqrt(bn.running_var + bn.eps)
                conv.weight.mul_(s.reshape(-1, 1, 1, 1))
                conv.bias.copy_((conv.bias - bn.running_mean) * s + bn.bias)
            layers[i + 1] = nn.Identity()
    return nn.Sequential(*layers).eval()


def reference_model(graph: onnx.GraphProto, model: nn.Module) -> tuple[nn.Module, str]:
    """The module whose parameters are the graph's initializers: `model` itself, or, when the
    exporter folded its BatchNorm layers away, the folded module; and a description."""
    has_bn = any(isinstance(m, nn.BatchNorm2d) for m in model.modules())
    if has_bn and not any(n.op_type == "BatchNormalization" for n in graph.node):
        return fold_batchnorm(model), "BatchNorm folded into the preceding Conv by the exporter"
    return model, "the module's own parameters"


def match_initializers(
    graph: onnx.GraphProto, model: nn.Module
) -> tuple[list[dict], list[str]]:
    """Each float initializer that holds a parameter of `model`, in graph order, as
    {name, torchName, shape, size, transposed, maxAbsDifference}; and the names of the other
    initializers. A parameter is matched by name first, then by value, within float32 rounding
    of its value (a folded parameter is recomputed here in another order), or transposed."""
    params = {k: v.detach().numpy() for k, v in model.named_parameters()}
    matched: list[dict] = []
    others: list[str] = []
    used: set[str] = set()

    def close(a: np.ndarray, b: np.ndarray) -> bool:
        return a.shape == b.shape and np.allclose(a, b, rtol=1e-6, atol=1e-7)

    for init in graph.initializer:
        value = numpy_helper.to_array(init)
        found = None
        if value.dtype == np.float32:
            for key in [init.name] + [k for k in params if k != init.name]:
                if key not in params or key in used:
                    continue
                p = params[key]
                if close(value, p):
                    found = (key, False, p)
                elif p.ndim == 2 and close(value, p.T):
                    found = (key, True, p.T)
                if found is not None:
                    break
        if found is None:
            others.append(init.name)
            continue
        used.add(found[0])
        matched.append(
            {
                "name": init.name,
                "torchName": found[0],
                "shape": list(value.shape),
                "size": int(value.size),
                "transposed": found[1],
                "maxAbsDifference": float(np.abs(value - found[2]).max()),
            }
        )
    missing = sorted(set(params) - used)
    if missing:
        raise SystemExit(f"reference.py: parameters not found among the initializers: {missing}")
    return matched, others


def load_initializers(graph: onnx.GraphProto, model: nn.Module, blocks: list[dict]) -> None:
    """Sets `model`'s matched parameters to the graph's initializer values, so that the
    reference Hessian is taken at exactly the point the adapter reads from the file."""
    values = {t.name: numpy_helper.to_array(t) for t in graph.initializer}
    named = dict(model.named_parameters())
    with torch.no_grad():
        for b in blocks:
            v = torch.from_numpy(values[b["name"]].copy())
            named[b["torchName"]].copy_(v.T if b["transposed"] else v)


def hessian_in_onnx_coordinates(
    model: nn.Module, blocks: list[dict], x: torch.Tensor, y: torch.Tensor, kind: str
) -> tuple[np.ndarray, float]:
    """The exact Hessian of the mean loss over the flat vector of the initializers in
    `blocks` (graph order, ONNX shapes, C order), in the dtype of `model` and `x`; and the loss."""
    named = dict(model.named_parameters())
    theta0 = torch.cat(
        [
            (named[b["torchName"]].detach().T if b["transposed"] else named[b["torchName"]].detach())
            .contiguous()
            .reshape(-1)
            for b in blocks
        ]
    )

    def loss_of(theta: torch.Tensor) -> torch.Tensor:
        params = {}
        offset = 0
        for b in blocks:
            piece = theta[offset : offset + b["size"]].reshape(b["shape"])
            params[b["torchName"]] = piece.T if b["transposed"] else piece
            offset += b["size"]
        return mean_loss(kind, functional_call(model, params, (x,)), y)

    h = torch.autograd.functional.hessian(loss_of, theta0)
    return h.detach().numpy(), float(loss_of(theta0))


def export(model: nn.Module, x: torch.Tensor, path: Path, exporter: Exporter) -> None:
    """Exports `model` with a dynamic batch axis named N, input `x`, output `output`."""
    common = dict(input_names=["x"], output_names=["output"], opset_version=exporter.opset)
    if exporter.dynamo:
        torch.onnx.export(
            model,
            (x,),
            str(path),
            dynamo=True,
            external_data=False,
            dynamic_shapes={"input": {0: torch.export.Dim("N")}},
            **common,
        )
    else:
        torch.onnx.export(
            model,
            (x,),
            str(path),
            dynamo=False,
            dynamic_axes={"x": {0: "N"}, "output": {0: "N"}},
            do_constant_folding=False,
            export_params=True,
            keep_initializers_as_inputs=False,
            **common,
        )


def run_case(case: Case, exporter: Exporter, out: Path) -> dict:
    out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(case.seed)
    model = case.build().eval()
    g = torch.Generator().manual_seed(1000 + case.seed)
    x = torch.randn((N, *case.input_shape), generator=g, dtype=torch.float32)
    if case.loss == "ce":
        y = torch.randint(0, case.outputs, (N,), generator=g, dtype=torch.int64)
    else:
        y = torch.randn((N, case.outputs), generator=g, dtype=torch.float32)

    path = out / "model.onnx"
    # The exporters print progress and warn about the legacy path and missing torchvision.
    with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        export(model, x, path, exporter)
    graph = onnx.load(str(path)).graph
    ref, parametrization = reference_model(graph, model)
    blocks, others = match_initializers(graph, ref)
    load_initializers(graph, ref, blocks)
    with torch.no_grad():
        forward_gap = float((ref(x) - model(x)).abs().max())
    if forward_gap > 1e-5:
        raise SystemExit(f"reference.py: the reference module is off by {forward_gap} from the model")
    offset = 0
    for b in blocks:
        b["offset"] = offset
        offset += b["size"]

    model64 = copy.deepcopy(ref).double()
    started = time.perf_counter()
    h, loss = hessian_in_onnx_coordinates(
        model64, blocks, x.double(), y if case.loss == "ce" else y.double(), case.loss
    )
    seconds = time.perf_counter() - started
    h32, _ = hessian_in_onnx_coordinates(ref, blocks, x, y, case.loss)
    h = (h + h.T) / 2  # exact up to float64 rounding; eigvalsh reads one triangle
    eigenvalues = np.linalg.eigvalsh(h)[::-1]
    frob = float(np.linalg.norm(h))

    np.save(out / "x.npy", x.numpy())
    np.save(out / "y.npy", y.numpy())
    np.save(out / "hessian.npy", h.astype(np.float64))
    meta = {
        "name": f"{case.name}.{exporter.name}",
        "model": case.name,
        "description": case.description,
        "loss": case.loss,
        "seed": case.seed,
        "samples": N,
        "opset": exporter.opset,
        "exporter": f"torch.onnx.export(dynamo={exporter.dynamo}, opset_version={exporter.opset})",
        "ops": sorted({n.op_type for n in graph.node}),
        "nodes": [f"{n.name or '?'}:{n.op_type}" for n in graph.node],
        "parameters": blocks,
        "parametrization": parametrization,
        "forwardGapToModel": forward_gap,
        "otherInitializers": others,
        "dim": offset,
        "lossValue": loss,
        "eigenvalues": eigenvalues.tolist(),
        "trace": float(np.trace(h)),
        "frobenius": frob,
        "maxAbs": float(np.abs(h).max()),
        "torchFloat32": {
            "maxAbsDifference": float(np.abs(h32 - h).max()),
            "relativeFrobenius": float(np.linalg.norm(h32 - h) / frob),
        },
        "hessianSeconds": seconds,
    }
    (out / "meta.json").write_text(json.dumps(meta, indent=2) + "\n")
    return meta


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: python reference.py OUT_DIR", file=sys.stderr)
        return 2
    root = Path(argv[1])
    root.mkdir(parents=True, exist_ok=True)
    logging.getLogger("torch.onnx").setLevel(logging.ERROR)
    torch.set_num_threads(1)  # reproducible summation order; the models are tiny
    cases = []
    for case in CASES:
        for exporter in EXPORTERS:
            meta = run_case(case, exporter, root / f"{case.name}.{exporter.name}")
            cases.append(meta["name"])
            print(
                f"{meta['name']}: P={meta['dim']}, ops {','.join(meta['ops'])}, "
                f"λmax={meta['eigenvalues'][0]:.6g}, trace={meta['trace']:.6g}, torch float32 "
                f"rel. Frobenius error {meta['torchFloat32']['relativeFrobenius']:.2e}"
            )
    environment = {
        "torch": torch.__version__,
        "numpy": np.__version__,
        "onnx": onnx.__version__,
        "onnxscript": onnxscript.__version__,
        "python": platform.python_version(),
        "cases": cases,
    }
    (root / "environment.json").write_text(json.dumps(environment, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
