"""Regenerates packages/onnx-adapter/corpus/: small ONNX files exported by real tools, their probe
batches (.npy) and PyTorch float64 reference numbers (reference.json).

Usage: .tmp/onnx-corpus-venv/bin/python scripts/onnx-corpus/generate.py OUT_DIR
(scripts/onnx-corpus/run.sh sets the environment up and writes into the corpus folder).

Every model is built with fixed seeds. For each, the loss Hessian is taken over the float
initializers the adapter analyses by default (each matched by value to the PyTorch tensor it
holds, possibly transposed), in float64, at the file's float32 values:
- up to 4,000 parameters: the dense Hessian (torch.autograd.functional.hessian), its largest
  eigenvalue and its exact trace;
- above (the tiny language model, 36k parameters, where the exact diagonal would cost 36k
  products): Hessian-vector products by double backward; the largest eigenvalue by Lanczos
  (scipy.sparse.linalg.eigsh, tol 1e-12) and the trace by Hutchinson's estimator with
  TRACE_PROBES Rademacher probes, with its standard error (reference.json: traceStderr).
"""

import json
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import onnx
import onnxruntime
import scipy.sparse.linalg
import sklearn
import torch
import torch.nn.functional as F
from onnx import numpy_helper
from skl2onnx import to_onnx
from sklearn.linear_model import LogisticRegression
from sklearn.neural_network import MLPClassifier

warnings.filterwarnings("ignore")
torch.set_num_threads(2)
DENSE_LIMIT = 4000
TRACE_PROBES = 2000


def write_npy(out: Path, name: str, array: np.ndarray) -> str:
    np.save(out / name, array)
    return name


def initializers(model: onnx.ModelProto) -> dict:
    return {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}


def match(values: np.ndarray, tensors: dict) -> tuple:
    """The name of the tensor in `tensors` that `values` holds, and whether it is transposed."""
    for name, t in tensors.items():
        a = t.detach().cpu().numpy().astype(np.float32)
        if a.shape == values.shape and np.array_equal(a, values):
            return name, False
        if a.ndim == 2 and a.T.shape == values.shape and np.array_equal(a.T, values):
            return name, True
    raise ValueError(f"no tensor holds an initializer of shape {values.shape}")


def spectrum(loss_fn, theta: torch.Tensor) -> dict:
    """lambda_max and the trace of the Hessian of loss_fn at theta (float64)."""
    n = theta.numel()
    if n <= DENSE_LIMIT:
        h = torch.autograd.functional.hessian(loss_fn, theta)
        eig = torch.linalg.eigvalsh((h + h.T) / 2)
        return {
            "lambdaMax": float(eig[-1]),
            "trace": float(torch.trace(h)),
            "method": "dense float64 Hessian (torch.autograd.functional.hessian)",
        }
    point = theta.clone().requires_grad_(True)
    (gradient,) = torch.autograd.grad(loss_fn(point), point, create_graph=True)

    def hvp(v, batched=False):
        return torch.autograd.grad(
            gradient, point, grad_outputs=v, retain_graph=True, is_grads_batched=batched
        )[0].detach()

    op = scipy.sparse.linalg.LinearOperator(
        (n, n),
        matvec=lambda v: hvp(torch.from_numpy(np.asarray(v, dtype=np.float64).ravel())).numpy(),
        dtype=np.float64,
    )
    clock = time.time()
    top = scipy.sparse.linalg.eigsh(op, k=1, which="LA", tol=1e-12, ncv=40)[0][0]
    print(f"  lambda_max by Lanczos: {time.time() - clock:.1f} s", file=sys.stderr)
    clock = time.time()
    generator = torch.Generator().manual_seed(0)
    forms = []
    for _ in range(TRACE_PROBES // 50):
        z = torch.randint(0, 2, (50, n), generator=generator).to(torch.float64) * 2 - 1
        forms.append((z * hvp(z, batched=True)).sum(dim=1))
    forms = torch.cat(forms)
    print(f"  Hutchinson trace: {time.time() - clock:.1f} s", file=sys.stderr)
    return {
        "lambdaMax": float(top),
        "trace": float(forms.mean()),
        "traceStderr": float(forms.std() / len(forms) ** 0.5),
        "method": f"float64 Hessian-vector products (double backward): Lanczos (scipy eigsh, tol 1e-12); trace by Hutchinson with {TRACE_PROBES} Rademacher probes (mean and standard error)",
    }


def reference_for(module, onnx_model, forward, loss_kind, labels, names=None):
    """Reference numbers over the initializers `names` (default: every float initializer that
    holds one of module's parameters), by functional_call on a float64 copy of `module`."""
    inits = initializers(onnx_model)
    params = dict(module.named_parameters())
    chosen = []
    for name, values in inits.items():
        if values.dtype != np.float32 or values.size <= 1:
            continue
        if names is not None and name not in names:
            continue
        try:
            chosen.append((name, *match(values, params)))
        except ValueError:
            if names is not None:
                raise
    if names is not None:
        chosen.sort(key=lambda c: names.index(c[0]))
    module64 = module.double()
    sizes = [int(inits[c[0]].size) for c in chosen]
    shapes = [inits[c[0]].shape for c in chosen]
    theta = torch.cat([torch.from_numpy(inits[c[0]].astype(np.float64)).reshape(-1) for c in chosen])
    y = torch.from_numpy(labels)

    def loss_fn(flat):
        parts = torch.split(flat, sizes)
        values = {}
        for (onnx_name, torch_name, transposed), part, shape in zip(chosen, parts, shapes):
            t = part.reshape(shape)
            values[torch_name] = t.T if transposed else t
        out = forward(module64, values)
        if loss_kind == "ce":
            return F.cross_entropy(out, y)
        return F.mse_loss(out, y)

    result = spectrum(loss_fn, theta)
    result["lossValue"] = float(loss_fn(theta))
    result["parameters"] = [c[0] for c in chosen]
    result["dim"] = int(theta.numel())
    return result


def functional(inputs):
    """forward(module, values) = module(*inputs) with its parameters replaced by `values`."""
    return lambda module, values: torch.func.functional_call(module, values, inputs)


def export_torch(module, args, path: Path, input_names, dynamic_axes):
    module.eval()
    torch.onnx.export(
        module,
        args,
        str(path),
        dynamo=False,
        opset_version=17,
        # Unfolded: BatchNorm stays a node (folding merges it into the Conv before it), and
        # transposed weights stay Transpose nodes on the parameters, as in many real exports.
        do_constant_folding=False,
        input_names=input_names,
        output_names=["logits"],
        dynamic_axes=dynamic_axes,
    )
    return onnx.load(str(path))


class BiasFreeMlp(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = torch.nn.Linear(6, 12, bias=False)
        self.fc2 = torch.nn.Linear(12, 4, bias=False)

    def forward(self, x):
        return self.fc2(torch.tanh(self.fc1(x)))


class ResidualCnn(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = torch.nn.Conv2d(3, 8, 3, padding=1)
        self.bn = torch.nn.BatchNorm2d(8)
        self.conv2 = torch.nn.Conv2d(8, 8, 3, padding=2, dilation=2, groups=2)
        self.head = torch.nn.Linear(8, 4)

    def forward(self, x):
        h = F.gelu(self.bn(self.conv1(x)))
        h = h + F.gelu(self.conv2(h))
        return self.head(h.mean(dim=(2, 3)))


class TinyLm(torch.nn.Module):
    """One transformer block: token + position embeddings, pre-LayerNorm causal self-attention
    (one head), pre-LayerNorm GELU MLP, final LayerNorm, next-token logits over the vocabulary."""

    def __init__(self, vocab, d, seq):
        super().__init__()
        self.tok = torch.nn.Embedding(vocab, d)
        self.pos = torch.nn.Embedding(seq, d)
        self.ln1 = torch.nn.LayerNorm(d)
        self.q = torch.nn.Linear(d, d, bias=False)
        self.k = torch.nn.Linear(d, d, bias=False)
        self.v = torch.nn.Linear(d, d, bias=False)
        self.o = torch.nn.Linear(d, d)
        self.ln2 = torch.nn.LayerNorm(d)
        self.up = torch.nn.Linear(d, 2 * d)
        self.down = torch.nn.Linear(2 * d, d)
        self.lnf = torch.nn.LayerNorm(d)
        self.out = torch.nn.Linear(d, vocab)
        self.register_buffer("causal", torch.tril(torch.ones(seq, seq, dtype=torch.bool)))
        self.d = d

    def forward(self, tokens):
        t = tokens.shape[1]
        h = self.tok(tokens) + self.pos(torch.arange(t))
        a = self.ln1(h)
        scores = self.q(a) @ self.k(a).transpose(1, 2) / self.d**0.5
        scores = scores.masked_fill(~self.causal[:t, :t], float("-inf"))
        h = h + self.o(torch.softmax(scores, dim=-1) @ self.v(a))
        h = h + self.down(F.gelu(self.up(self.ln2(h))))
        return self.out(self.lnf(h)).reshape(-1, self.out.out_features)


def check_runtime(path: Path, feeds: dict, output: str, expected: np.ndarray) -> float:
    """max |onnxruntime - PyTorch float32| of the exported file."""
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    got = session.run([output], feeds)[0]
    return float(np.max(np.abs(got - expected)))


def main(out: Path):
    out.mkdir(parents=True, exist_ok=True)
    models = {}
    rng = np.random.default_rng(13)

    # scikit-learn: an MLPClassifier (zipmap on) and a LogisticRegression (zipmap off).
    x = rng.normal(size=(48, 6)).astype(np.float32)
    y = (x[:, 0] + 0.5 * x[:, 1] > 0).astype(np.int64) + (x[:, 2] > 0.8).astype(np.int64)
    mlp = MLPClassifier((10,), activation="tanh", max_iter=2000, random_state=0).fit(x, y)
    logreg = LogisticRegression(max_iter=2000).fit(x, y)
    for name, est, zipmap in (("sklearn-mlp", mlp, True), ("sklearn-logreg", logreg, False)):
        onx = to_onnx(est, x[:1], options={id(est): {"zipmap": zipmap}},
                      target_opset={"": 17, "ai.onnx.ml": 3})
        path = out / f"{name}.onnx"
        path.write_bytes(onx.SerializeToString())
        inputs = {onx.graph.input[0].name: write_npy(out, f"{name}-x.npy", x)}
        labels = write_npy(out, f"{name}-y.npy", y)
        t_x = torch.from_numpy(x.astype(np.float64))
        if name == "sklearn-mlp":
            inits = initializers(onx)
            layer_names = ["coefficient", "intercepts", "coefficient1", "intercepts1"]
            shapes = [inits[n].shape for n in layer_names]
            sizes = [int(inits[n].size) for n in layer_names]

            def logits(flat, shapes=shapes, sizes=sizes):
                w1, b1, w2, b2 = (p.reshape(s) for p, s in zip(torch.split(flat, sizes), shapes))
                return torch.tanh(t_x @ w1 + b1) @ w2 + b2
        else:
            node = onx.graph.node[0]
            attrs = {a.name: a for a in node.attribute}
            classes = len(attrs["intercepts"].floats)
            layer_names = [f"{node.name}.coefficients", f"{node.name}.intercepts"]
            coef = np.asarray(attrs["coefficients"].floats, dtype=np.float32).reshape(classes, -1)
            inter = np.asarray(attrs["intercepts"].floats, dtype=np.float32)
            inits = {layer_names[0]: coef, layer_names[1]: inter}
            sizes = [coef.size, inter.size]

            def logits(flat, sizes=sizes, classes=classes):
                w, b = torch.split(flat, sizes)
                return t_x @ w.reshape(classes, -1).T + b
        theta = torch.cat([torch.from_numpy(inits[n].astype(np.float64)).reshape(-1) for n in layer_names])
        t_y = torch.from_numpy(y)
        loss_fn = lambda flat, logits=logits, t_y=t_y: F.cross_entropy(logits(flat), t_y)  # noqa: E731
        ref = spectrum(loss_fn, theta)
        ref.update(lossValue=float(loss_fn(theta)), parameters=layer_names, dim=int(theta.numel()))
        probabilities = torch.softmax(logits(theta), dim=1).numpy().astype(np.float32)
        output = "probabilities" if not zipmap else None
        if output is not None:
            ref["onnxruntimeMaxAbs"] = check_runtime(path, {onx.graph.input[0].name: x}, output, probabilities)
        models[name] = dict(file=path.name, inputs=inputs, labels=labels, loss="ce", **ref,
                            producer=f"scikit-learn {sklearn.__version__}, skl2onnx, zipmap {zipmap}")

    # PyTorch: a bias-free MLP.
    torch.manual_seed(1)
    net = BiasFreeMlp()
    x = torch.randn(32, 6)
    y = torch.randint(0, 4, (32,))
    onx = export_torch(net, (x,), out / "torch-mlp-nobias.onnx", ["x"], {"x": {0: "batch"}})
    ref = reference_for(net, onx, functional((x.double(),)), "ce", y.numpy())
    ref["onnxruntimeMaxAbs"] = check_runtime(out / "torch-mlp-nobias.onnx", {"x": x.numpy()}, "logits",
                                             BiasFreeMlp.forward(net.float(), x).detach().numpy())
    models["torch-mlp-nobias"] = dict(
        file="torch-mlp-nobias.onnx", inputs={"x": write_npy(out, "torch-mlp-nobias-x.npy", x.numpy())},
        labels=write_npy(out, "torch-mlp-nobias-y.npy", y.numpy()), loss="ce", **ref,
        producer=f"torch {torch.__version__} torch.onnx.export(dynamo=False, opset 17)")

    # PyTorch: a CNN with BatchNorm (eval, non-trivial statistics), GELU, a grouped dilated
    # residual convolution and global average pooling.
    torch.manual_seed(2)
    cnn = ResidualCnn()
    with torch.no_grad():
        cnn.bn.running_mean.copy_(torch.randn(8) * 0.2)
        cnn.bn.running_var.copy_(torch.rand(8) + 0.5)
        cnn.bn.weight.copy_(1 + 0.2 * torch.randn(8))
        cnn.bn.bias.copy_(0.1 * torch.randn(8))
    cnn.eval()
    x = torch.randn(8, 3, 8, 8)
    y = torch.randint(0, 4, (8,))
    onx = export_torch(cnn, (x,), out / "torch-cnn.onnx", ["x"], {"x": {0: "batch"}})
    ref = reference_for(cnn, onx, functional((x.double(),)), "ce", y.numpy())
    ref["onnxruntimeMaxAbs"] = check_runtime(out / "torch-cnn.onnx", {"x": x.numpy()}, "logits",
                                             cnn.float()(x).detach().numpy())
    models["torch-cnn"] = dict(
        file="torch-cnn.onnx", inputs={"x": write_npy(out, "torch-cnn-x.npy", x.numpy())},
        labels=write_npy(out, "torch-cnn-y.npy", y.numpy()), loss="ce", **ref,
        producer=f"torch {torch.__version__} torch.onnx.export(dynamo=False, opset 17)")

    # PyTorch: a tiny transformer language model, next-token prediction over 1,024 tokens.
    torch.manual_seed(3)
    vocab, d, seq, batch = 1024, 16, 8, 8
    lm = TinyLm(vocab, d, seq)
    with torch.no_grad():
        # As after training: LayerNorm affine parameters away from their initial 1 and 0 (the
        # exporter would otherwise store the identical ones once and tie them).
        for ln in (lm.ln1, lm.ln2, lm.lnf):
            ln.weight.copy_(1 + 0.1 * torch.randn(d))
            ln.bias.copy_(0.1 * torch.randn(d))
    lm.eval()
    start = torch.randint(0, vocab, (batch, 1))
    stream = (start + 7 * torch.arange(seq + 1)) % vocab  # a learnable pattern: +7 mod V
    tokens, targets = stream[:, :seq], stream[:, 1:].reshape(-1)
    onx = export_torch(lm, (tokens,), out / "tiny-lm.onnx", ["tokens"], {"tokens": {0: "batch"}})
    ref = reference_for(lm, onx, functional((tokens,)), "ce", targets.numpy())
    ref["onnxruntimeMaxAbs"] = check_runtime(out / "tiny-lm.onnx", {"tokens": tokens.numpy()}, "logits",
                                             lm.float()(tokens).detach().numpy())
    models["tiny-lm"] = dict(
        file="tiny-lm.onnx", inputs={"tokens": write_npy(out, "tiny-lm-tokens.npy", tokens.numpy())},
        labels=write_npy(out, "tiny-lm-y.npy", targets.numpy()), loss="ce", **ref,
        vocabulary=vocab, dModel=d, sequence=seq,
        producer=f"torch {torch.__version__} torch.onnx.export(dynamo=False, opset 17)")

    # The same language model through the torch.export-based exporter (opset 20: Gelu and
    # LayerNormalization as single nodes, weights stored untransposed). Same module, same
    # parameters (checked by name and value), so the same Hessian: its spectrum is reused.
    lm.float()
    path = out / "tiny-lm-dynamo.onnx"
    torch.onnx.export(lm, (tokens,), str(path), dynamo=True, external_data=False, opset_version=20,
                      input_names=["tokens"], output_names=["logits"])
    onx = onnx.load(str(path))
    inits = initializers(onx)
    params = dict(lm.named_parameters())
    matched = [(name, *match(v, params)) for name, v in inits.items()
               if v.dtype == np.float32 and v.size > 1 and any(
                   v.shape in (p.shape, p.T.shape) for p in params.values())]
    if sorted(m[1] for m in matched) != sorted(models["tiny-lm"]["parameters"]):
        raise ValueError(f"tiny-lm-dynamo: expected the parameters of tiny-lm, got {matched}")
    dynamo = dict(models["tiny-lm"])
    dynamo.update(file=path.name, parameters=[m[0] for m in matched],
                  onnxruntimeMaxAbs=check_runtime(path, {"tokens": tokens.numpy()}, "logits",
                                                  lm(tokens).detach().numpy()),
                  producer=f"torch {torch.__version__} torch.onnx.export(dynamo=True, opset 20)")
    models["tiny-lm-dynamo"] = dynamo

    (out / "reference.json").write_text(json.dumps({"version": 1, "models": models}, indent=2) + "\n")
    for name, m in models.items():
        size = (out / m["file"]).stat().st_size
        print(f"{name}: {m['dim']} parameters, {size} bytes, lambda_max {m['lambdaMax']:.6g}, "
              f"trace {m['trace']:.6g}, loss {m['lossValue']:.6g}")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
