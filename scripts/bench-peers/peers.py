"""The Python side of `bench.ts`: PyTorch, PyHessian, curvlinops and hessian-eigenthings on
the same network, data and weights as hessian-probe, as a long-lived worker.

It reads one JSON request per line on stdin and answers with one JSON line on stdout (the
protocol is in protocol.ts). Every timed call is timed here, around the library call alone.
The number of threads is fixed at start: `python peers.py THREADS` runs
torch.set_num_threads(THREADS) (and limits the BLAS pools through threadpoolctl) before any
work.

PyHessian 0.1 (the latest release on PyPI, 2021) calls `torch.eig`, removed in PyTorch 2.0, to
diagonalise the Lanczos tridiagonal matrix in `hessian.density`. `install_pyhessian_shim`
puts back a `torch.eig` for that use: the symmetric eigendecomposition `torch.linalg.eigh`,
returned in the old layout (eigenvalues as an n×2 (real, imaginary) tensor, eigenvectors as
columns). The tridiagonal matrix is symmetric, so the imaginary parts are zero and the result
is the same up to the order of the pairs, which PyHessian does not use.
"""

from __future__ import annotations

import json
import math
import os
import platform
import resource
import sys
import time
import traceback
import warnings
from pathlib import Path

warnings.filterwarnings("ignore")

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from torch import nn  # noqa: E402


def install_pyhessian_shim() -> None:
    """Gives PyTorch >= 2.0 back the `torch.eig(input, eigenvectors)` PyHessian 0.1 calls.

    PyTorch 2.x still has a `torch.eig` attribute, a stub that raises RuntimeError ("This
    function was deprecated since version 1.9 and is now removed"), so it is replaced when a
    call on a 1×1 matrix fails, and left alone on a PyTorch where it works.
    """
    try:
        torch.eig(torch.ones(1, 1), eigenvectors=True)  # type: ignore[attr-defined]
        return
    except (AttributeError, RuntimeError):
        pass

    def eig(input: torch.Tensor, eigenvectors: bool = False):  # noqa: A002
        values, vectors = torch.linalg.eigh(input)
        pairs = torch.stack([values, torch.zeros_like(values)], dim=1)
        return pairs, (vectors if eigenvectors else torch.empty(0, dtype=input.dtype))

    torch.eig = eig  # type: ignore[attr-defined]


install_pyhessian_shim()

import curvlinops  # noqa: E402
import hessian_eigenthings as he  # noqa: E402
import pyhessian  # noqa: E402
import scipy  # noqa: E402
from scipy.sparse.linalg import LinearOperator, eigsh  # noqa: E402

# PyHessian's HVP, counted. Its module `pyhessian.hessian` imports it by name, so it is
# replaced there (the package attribute `pyhessian.hessian` is the class, hence sys.modules).
pyhessian_hessian = sys.modules["pyhessian.hessian"]
_pyhessian_hvp = pyhessian_hessian.hessian_vector_product
# Products and the seconds spent in them, per library, reset before each timed call.
PRODUCTS = {"pyhessian": 0, "curvlinops": 0, "eigenthings": 0}
PRODUCT_SECONDS = {name: 0.0 for name in PRODUCTS}


def _counted_pyhessian_hvp(gradsH, params, v):  # noqa: N803
    start = time.perf_counter()
    out = _pyhessian_hvp(gradsH, params, v)
    PRODUCTS["pyhessian"] += 1
    PRODUCT_SECONDS["pyhessian"] += time.perf_counter() - start
    return out


pyhessian_hessian.hessian_vector_product = _counted_pyhessian_hvp


class MLP(nn.Module):
    """x·W1 + b1 → tanh → … → logits, with the kernels stored [in, out] like tfjs's Dense, so
    that the flat parameter vector (W1, b1, W2, b2, …, each in C order) is hessian-probe's."""

    def __init__(self, arrays: list[np.ndarray]):
        super().__init__()
        self.weights = nn.ParameterList([nn.Parameter(torch.from_numpy(a.copy())) for a in arrays])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = x
        layers = len(self.weights) // 2
        for i in range(layers):
            h = h @ self.weights[2 * i] + self.weights[2 * i + 1]
            if i < layers - 1:
                h = torch.tanh(h)
        return h


class Worker:
    def __init__(self, threads: int):
        self.threads = threads
        torch.set_num_threads(threads)
        try:
            from threadpoolctl import threadpool_limits

            self._limits = threadpool_limits(limits=threads)
        except ImportError:  # pragma: no cover
            self._limits = None
        self.criterion = nn.CrossEntropyLoss()
        self.reference: torch.Tensor | None = None
        self.eigenthings_steps: dict[int, int] = {}

    # ----------------------------------------------------------------------------- set-up
    def init(self, dir: str, model: str, threads: int) -> dict:  # noqa: A002
        root = Path(dir)
        self.x = torch.from_numpy(np.load(root / "x.npy"))
        self.y = torch.from_numpy(np.load(root / "y-classes.npy").astype(np.int64))
        files = json.loads((root / model / "weights.json").read_text())["files"]
        self.model = MLP([np.load(root / model / f) for f in files]).eval()
        self.params = [p for p in self.model.parameters()]
        self.dim = sum(p.numel() for p in self.params)
        self.v = torch.from_numpy(np.load(root / model / "v.npy"))
        self.v_list = self.split(self.v)
        self.data = [(self.x, self.y)]
        # curvlinops: the Hessian as a PyTorch linear operator, and as a SciPy one for eigsh
        # (float64 vectors for ARPACK, products in float32). Construction is not timed: it
        # does no products (check_deterministic would do some; it is off).
        self.curvlinops_op = curvlinops.HessianLinearOperator(
            self.model, self.criterion, self.params, self.data, check_deterministic=False
        )
        scipy_op = self.curvlinops_op.to_scipy(dtype=np.float64)

        def counted_scipy(u: np.ndarray) -> np.ndarray:
            start = time.perf_counter()
            out = scipy_op.matvec(u)
            PRODUCTS["curvlinops"] += 1
            PRODUCT_SECONDS["curvlinops"] += time.perf_counter() - start
            return out

        self.curvlinops_scipy = LinearOperator(
            (self.dim, self.dim), matvec=counted_scipy, dtype=np.float64
        )
        # hessian-eigenthings: its HessianOperator (double backward per product), counted.
        base = he.HessianOperator(
            self.model, self.data, he.supervised_loss(self.criterion), full_dataset=True
        )

        def counted_eigenthings(u: torch.Tensor) -> torch.Tensor:
            start = time.perf_counter()
            out = base.matvec(u)
            PRODUCTS["eigenthings"] += 1
            PRODUCT_SECONDS["eigenthings"] += time.perf_counter() - start
            return out

        self.eigenthings_op = he.LambdaOperator(
            counted_eigenthings, size=self.dim, device="cpu", dtype=torch.float32
        )
        # Warm-up, three times each: the first call of curvlinops' vmap/functorch product is
        # many times slower than the next ones, and the first few products of each kind up to
        # twice as slow as later ones.
        for _ in range(3):
            self.gradient()
            self.torch_hvp(self.v_list)
            self.curvlinops_op @ self.v
            self.eigenthings_op.matvec(self.v)
            h = self.pyhessian()
            pyhessian_hessian.hessian_vector_product(h.gradsH, h.params, self.v_list)
            del h
            self.release()
        for name in PRODUCTS:
            PRODUCTS[name] = 0
        return {
            "dim": self.dim,
            "info": {
                "python": platform.python_version(),
                "torch": torch.__version__,
                "numpy": np.__version__,
                "scipy": scipy.__version__,
                "pyhessian": _version("pyhessian"),
                "curvlinops-for-pytorch": _version("curvlinops-for-pytorch"),
                "hessian-eigenthings": he.__version__,
                "torch threads": torch.get_num_threads(),
                "torch interop threads": torch.get_num_interop_threads(),
            },
        }

    def split(self, flat: torch.Tensor) -> list[torch.Tensor]:
        out, offset = [], 0
        for p in self.params:
            out.append(flat[offset : offset + p.numel()].reshape(p.shape))
            offset += p.numel()
        return out

    def loss(self) -> torch.Tensor:
        return self.criterion(self.model(self.x), self.y)

    def gradient(self) -> list[torch.Tensor]:
        return list(torch.autograd.grad(self.loss(), self.params))

    def torch_hvp(self, v: list[torch.Tensor]) -> torch.Tensor:
        """Plain PyTorch HVP from scratch: forward, gradient with create_graph, backward."""
        grads = torch.autograd.grad(self.loss(), self.params, create_graph=True)
        hv = torch.autograd.grad(grads, self.params, grad_outputs=v)
        return torch.cat([h.reshape(-1) for h in hv])

    def pyhessian(self) -> pyhessian.hessian:
        """A fresh PyHessian object (one forward and backward with create_graph); gradients
        are cleared first, since PyHessian reads them from `p.grad` and they accumulate."""
        self.model.zero_grad(set_to_none=True)
        return pyhessian.hessian(self.model, self.criterion, data=(self.x, self.y), cuda=False)

    def release(self) -> None:
        self.model.zero_grad(set_to_none=True)

    # ----------------------------------------------------------------------------- check
    def check(
        self,
        out: str,
        trace_pilot: int,
        tight: bool,
        eigen_seed: int,
        eigenthings_steps: dict | None,
    ) -> dict:
        with torch.no_grad():
            loss = float(self.loss())
        hv = self.torch_hvp(self.v_list)
        self.reference = hv
        np.save(out, hv.double().numpy())
        details: dict = {}
        top: list[float] = []
        top_matvecs = 0
        if tight:
            # Tight reference: ARPACK on curvlinops' products (float32), tolerance 1e-6.
            PRODUCTS["curvlinops"] = 0
            rng = np.random.default_rng(11)
            values = eigsh(
                self.curvlinops_scipy,
                k=10,
                which="LA",
                tol=1e-6,
                v0=rng.standard_normal(self.dim),
                return_eigenvectors=False,
            )
            top = sorted((float(x) for x in values), reverse=True)
            top_matvecs = PRODUCTS["curvlinops"]
        if eigenthings_steps:
            self.eigenthings_steps = {int(k): int(m) for k, m in eigenthings_steps.items()}
        else:
            self.calibrate_eigenthings(details, eigen_seed)
        for k, m in self.eigenthings_steps.items():
            details[f"eigenthingsSteps{k}"] = m
        if trace_pilot > 0:
            mean, stderr = self.hutchinson(trace_pilot, seed=12)
            details["pilotTrace"], details["pilotStderr"] = mean, stderr
        self.release()
        return {
            "loss": loss,
            "hvpPath": out,
            "top": top,
            "topMatvecs": top_matvecs,
            "details": details,
        }

    def calibrate_eigenthings(self, details: dict, seed: int) -> None:
        """hessian-eigenthings' `lanczos` runs a fixed number of steps (default 2k, no
        restarts) and flags each Ritz pair converged when |β_m s_mi| < tol·|θ_i|. Its steps
        for k = 1 and 10 at tol 1e-3 are calibrated here from one long run: with full
        reorthogonalisation the first m steps of a run are the run of m steps, so the smallest
        m at which its own criterion holds for all k pairs is read off the leading m×m block of
        one tridiagonal matrix (a run of 100 steps, then of 300 if that is not enough). The
        start vector is the one `lanczos(seed=seed)` draws, and the test is computed as there
        (in the operator's dtype)."""
        gen = torch.Generator(device="cpu").manual_seed(seed)
        v0 = torch.randn(self.dim, dtype=torch.float32, generator=gen)
        for longest in (min(100, self.dim - 1), min(300, self.dim - 1)):
            td = he.lanczos_tridiagonal(self.eigenthings_op, v0, longest, reorthogonalize=True)
            alphas, betas = td.alphas, td.betas
            found: dict[int, int | None] = {}
            for k in (1, 10):
                found[k] = None
                for m in range(max(2 * k, k + 1), td.iterations + 1):
                    t = (
                        torch.diag(alphas[:m])
                        + torch.diag(betas[: m - 1], 1)
                        + torch.diag(betas[: m - 1], -1)
                    )
                    theta, s = torch.linalg.eigh(t)
                    beta_m = float(betas[m - 1]) if m - 1 < len(betas) else td.last_beta
                    order = torch.argsort(theta, descending=True)[:k]
                    residual = s[-1, order].abs() * beta_m
                    if bool((residual < 1e-3 * theta[order].abs()).all()):
                        found[k] = m
                        break
            if all(m is not None for m in found.values()) or longest >= min(300, self.dim - 1):
                break
        self.eigenthings_steps = {k: (m if m is not None else longest) for k, m in found.items()}
        for k, m in found.items():
            details[f"eigenthingsCalibrated{k}"] = m is not None

    def hutchinson(self, m: int, seed: int) -> tuple[float, float]:
        """Hutchinson with Rademacher probes over PyHessian's HVP (the gradient graph built
        once, reused by every product), as in PyHessian's own `trace`."""
        h = self.pyhessian()
        gen = torch.Generator().manual_seed(seed)
        samples = []
        for _ in range(m):
            z = [torch.randint(0, 2, p.shape, generator=gen).float() * 2 - 1 for p in h.params]
            hz = pyhessian_hessian.hessian_vector_product(h.gradsH, h.params, z)
            samples.append(float(sum((a * b).sum() for a, b in zip(hz, z))))
        del h
        self.release()
        return _mean_stderr(samples)

    # ----------------------------------------------------------------------------- timed
    def run(self, quantity: str, impl: str, p: dict) -> dict:
        seed = int(p.get("seed", 0))
        key = f"{quantity}/{impl}"
        for name in PRODUCTS:
            PRODUCTS[name] = 0
            PRODUCT_SECONDS[name] = 0.0
        # Objects a method needs that are built before the clock starts.
        prebuilt = self.pyhessian() if key == "hvp/pyhessian" else None
        start = time.perf_counter()
        out: dict = {}
        if quantity == "gradient" and impl == "torch":
            self.gradient()
            out["matvecs"] = 0
        elif quantity == "hvp":
            if impl == "torch":
                hv = self.torch_hvp(self.v_list)
            elif impl == "pyhessian":
                hv_list = pyhessian_hessian.hessian_vector_product(
                    prebuilt.gradsH, prebuilt.params, self.v_list
                )
                hv = torch.cat([h.reshape(-1) for h in hv_list])
            elif impl == "curvlinops":
                hv = self.curvlinops_op @ self.v
            elif impl == "eigenthings":
                hv = self.eigenthings_op.matvec(self.v)
            else:
                raise ValueError(f"unknown implementation {impl}")
            out["matvecs"] = 1
            ms = (time.perf_counter() - start) * 1000
            out["hvpError"] = _relative_l2(hv.detach(), self.reference)
            out["ms"] = ms
        elif quantity in ("lambdaMax", "top10"):
            k, tol = int(p["k"]), float(p["tol"])
            if impl == "pyhessian":
                torch.manual_seed(seed)
                h = self.pyhessian()
                values, _ = h.eigenvalues(maxIter=100, tol=tol, top_n=k)
                out["matvecs"] = PRODUCTS["pyhessian"]
            elif impl == "curvlinops":
                rng = np.random.default_rng(seed)
                values = eigsh(
                    self.curvlinops_scipy,
                    k=k,
                    which="LA",
                    tol=tol,
                    v0=rng.standard_normal(self.dim),
                    return_eigenvectors=False,
                )
                out["matvecs"] = PRODUCTS["curvlinops"]
            elif impl == "eigenthings":
                r = he.lanczos(
                    self.eigenthings_op,
                    k=k,
                    max_iter=self.eigenthings_steps[k],
                    tol=tol,
                    which="LA",
                    reorthogonalize=True,
                    seed=seed,
                )
                values = r.eigenvalues.tolist()
                out["converged"] = bool(r.converged.all())
                out["matvecs"] = PRODUCTS["eigenthings"]
            else:
                raise ValueError(f"unknown implementation {impl}")
            out["values"] = sorted((float(x) for x in values), reverse=True)
        elif quantity == "trace":
            if impl == "torch-hutchinson":
                mean, stderr = self.hutchinson(int(p["matvecs"]), seed)
                out["matvecs"] = PRODUCTS["pyhessian"]
            elif impl == "pyhessian":
                torch.manual_seed(seed)
                h = self.pyhessian()
                samples = h.trace()  # defaults: maxIter 100, tol 1e-3
                mean, stderr = _mean_stderr(samples)
                out["matvecs"] = PRODUCTS["pyhessian"]
            else:
                raise ValueError(f"unknown implementation {impl}")
            out["estimate"], out["stderr"] = mean, stderr
        elif quantity in ("slqPyHessianDefaults", "slq10x80"):
            probes, steps = int(p["probes"]), int(p["steps"])
            if impl == "pyhessian":
                torch.manual_seed(seed)
                h = self.pyhessian()
                nodes, weights = h.density(iter=steps, n_v=probes)
                out["matvecs"] = PRODUCTS["pyhessian"]
            elif impl == "eigenthings":
                r = he.spectral_density(
                    self.eigenthings_op, num_runs=probes, lanczos_steps=steps, seed=seed
                )
                nodes = [row[~torch.isnan(row)].tolist() for row in r.raw_eigenvalues]
                weights = [row.tolist() for row in r.raw_weights]
                out["matvecs"] = PRODUCTS["eigenthings"]
            else:
                raise ValueError(f"unknown implementation {impl}")
            out["values"] = [max(max(float(t) for t in row) for row in nodes)]
            per_probe = [
                self.dim * sum(float(t) * float(w) for t, w in zip(ts, ws))
                for ts, ws in zip(nodes, weights)
            ]
            out["estimate"], out["stderr"] = _mean_stderr(per_probe)
        else:
            raise ValueError(f"unknown quantity {quantity} or implementation {impl}")
        if "ms" not in out:
            out["ms"] = (time.perf_counter() - start) * 1000
        if quantity == "hvp":
            out["productMs"] = out["ms"]
        elif quantity == "gradient":
            out["productMs"] = 0.0
        else:
            counter = "pyhessian" if impl == "torch-hutchinson" else impl
            out["productMs"] = PRODUCT_SECONDS[counter] * 1000
        del prebuilt
        self.release()
        return out

    # ----------------------------------------------------------------------------- misc
    def matmul(self, n: int, reps: int) -> dict:
        a, b = torch.randn(n, n), torch.randn(n, n)
        a @ b
        before = _thread_ticks()
        cpu0, wall0 = time.process_time(), time.perf_counter()
        times = []
        for _ in range(reps):
            t = time.perf_counter()
            a @ b
            times.append((time.perf_counter() - t) * 1000)
        wall = time.perf_counter() - wall0
        cpu = time.process_time() - cpu0
        after = _thread_ticks()
        busy = sum(1 for t, v in after.items() if v - before.get(t, 0) >= wall * 100 / 10)
        return {
            "ms": float(np.median(times)),
            "cpuOverWall": cpu / wall,
            "busyThreads": busy,
            "threads": len(after),
        }

    def stats(self) -> dict:
        hwm = None
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                hwm = int(line.split()[1])
        kib = hwm if hwm is not None else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return {"peakRssMiB": kib / 1024}


def _version(dist: str) -> str:
    from importlib.metadata import version

    return version(dist)


def _mean_stderr(samples: list[float]) -> tuple[float, float]:
    a = np.asarray(samples, dtype=np.float64)
    if a.size < 2:
        return float(a.mean()), math.nan
    return float(a.mean()), float(a.std(ddof=1) / math.sqrt(a.size))


def _relative_l2(a: torch.Tensor, b: torch.Tensor | None) -> float:
    if b is None:
        return math.nan
    a64, b64 = a.double(), b.double()
    return float(torch.linalg.norm(a64 - b64) / torch.linalg.norm(b64))


def _finite(value):
    """`value` with NaN and infinities as None: JSON has no such numbers."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


def _thread_ticks() -> dict[str, int]:
    ticks = {}
    for task in os.listdir("/proc/self/task"):
        try:
            stat = Path(f"/proc/self/task/{task}/stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        ticks[task] = int(fields[11]) + int(fields[12])
    return ticks


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: python peers.py THREADS", file=sys.stderr)
        return 2
    worker = Worker(int(argv[1]))
    for line in sys.stdin:
        if not line.strip():
            continue
        request = json.loads(line)
        rid, op = request.pop("id"), request.pop("op")
        try:
            if op == "init":
                result = worker.init(request["dir"], request["model"], request["threads"])
            elif op == "check":
                result = worker.check(
                    request["out"],
                    int(request["tracePilot"]),
                    bool(request["tight"]),
                    int(request["eigenSeed"]),
                    request.get("eigenthingsSteps"),
                )
            elif op == "run":
                result = worker.run(request["quantity"], request["impl"], request["params"])
            elif op == "matmul":
                result = worker.matmul(int(request["n"]), int(request["reps"]))
            elif op == "stats":
                result = worker.stats()
            elif op == "exit":
                return 0
            else:
                raise ValueError(f"unknown op {op}")
            response = {"id": rid, "ok": True, "result": result}
        except Exception:  # noqa: BLE001
            response = {"id": rid, "ok": False, "error": traceback.format_exc()}
        sys.stdout.write(json.dumps(_finite(response), allow_nan=False) + "\n")
        sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
