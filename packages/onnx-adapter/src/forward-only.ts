/**
 * The forward-only estimate: the trace of the loss Hessian (and of its diagonal blocks, one per
 * parameter initializer) from loss values alone, for graphs outside {@link SUPPORTED_OPS}.
 * onnxruntime-node evaluates the model at perturbed parameters; no tfjs conversion, no
 * autodiff. Everything it returns is an estimate, labelled as such, with its error.
 *
 * Method. For a Rademacher vector z (entries ±1) and a step h, the central second difference
 * D_h(z) = (L(θ + hz) − 2L(θ) + L(θ − hz)) / h² equals zᵀHz + (h²/12)·∂⁴L[z,z,z,z] + O(h⁴)
 * (Taylor), and E[zᵀHz] = tr H (Hutchinson 1989). With z restricted to block b (zero
 * elsewhere), E[D_h(z)] ≈ tr H_bb. Block Frobenius norms ‖H_ij‖_F are not available this way:
 * quadratic forms zᵀHz only reach the symmetric bilinear form on the probes, not the products
 * H_ij z that {@link blockNorms} needs; they need Hessian-vector products (the converted graph).
 *
 * Error of one estimate (a mean over K probes):
 * - sampling: the sample standard deviation of the K second differences over √K (`stderr`);
 * - truncation: (h²/12)·E ∂⁴L[z,z,z,z], relative size O(h²); not included in the bounds;
 * - rounding: onnxruntime computes in float32 (unit roundoff u = 2⁻²⁴), so each loss value
 *   carries an error of standard deviation σ, which is divided by h². σ is measured on the
 *   model (Moré & Wild 2011, "Estimating computational noise", SIAM J. Sci. Comput. 33(3)):
 *   {@link NOISE_POINTS} + 1 loss values at θ + iδz, spacing δ = h/64, whose k-th differences
 *   are noise only; σ̂ = max over k = 3..6 of √(γ_k · mean (Δᵏf)²), γ_k = (k!)²/(2k)!. With the
 *   center value shared by every probe, the rounding error of a mean over K probes summed over
 *   B blocks has standard deviation (σ/h²)·√(4B² + 2B/K); `roundingBound` is three of those.
 *
 * Choice of h: truncation ∝ h² and rounding ∝ u/h² balance at h ≈ u^{1/4} ≈ 0.016 in the units
 * of the parameters; the default is h = u^{1/4}·max(rms(θ_S), rms(θ)) for the probed set S (the block, or
 * all parameters), so a probe moves every parameter by about 1.6% of the typical parameter
 * size (small blocks such as biases near 0 get the scale of the whole model).
 *
 * Cost, in forward passes (onnxruntime runs of the whole probe batch): 1 (the center, shared),
 * + {@link NOISE_POINTS} (the noise measurement), + 2 per probe.
 */
import {
  createRandom,
  HessianProbeError,
  layoutFromSizes,
  OptionError,
  type ParameterLayout,
  traceOfQuadraticForm,
} from '@hessian-probe/core';
import type onnxProto from 'onnx-proto';
import { InferenceSession, Tensor as OrtTensor } from 'onnxruntime-node';
import type { HostLabels } from './curvature.js';
import {
  analysedOutputs,
  defaultParameters,
  graphInputs,
  lossInput,
  parseAnalysableModel,
} from './graph.js';
import { encodeModel, int64, type ModelProto, onnx } from './proto.js';
import {
  checkInputs as checkGraphInputs,
  type HostInput,
  ortFeeds,
  withGraphOutputs,
} from './runtime.js';
import { decodeTensor } from './tensor.js';

/** float32 unit roundoff 2⁻²⁴: onnxruntime's CPU arithmetic for float32 models. */
export const FLOAT32_UNIT_ROUNDOFF = 2 ** -24;

/** Default relative step: u^{1/4} = 2⁻⁶ ≈ 0.0156, which balances truncation and rounding. */
export const DEFAULT_RELATIVE_STEP = FLOAT32_UNIT_ROUNDOFF ** 0.25;

/** New loss evaluations of the noise measurement (points θ + iδz, i = ±1..±4). */
export const NOISE_POINTS = 8;

/** Options of {@link forwardOnlyTrace}. */
export interface ForwardOnlyOptions {
  /** One float32 array per graph input that is not an initializer (the probe batch). */
  readonly inputs: Readonly<Record<string, HostInput>>;
  /** Labels: int32 class ids [N] or float32 [N, C] for `'ce'`; targets shaped like the output for `'mse'`. */
  readonly labels: HostLabels;
  /**
   * `'ce'`: softmax cross-entropy from logits, mean over samples; when the output is made by a
   * Softmax node, the Softmax's input is read as the logits (as {@link onnxCurvature} does).
   * `'mse'`: mean of (output − target)² over all entries. Computed on the host in float64.
   */
  readonly loss: 'ce' | 'mse';
  /** The graph output the loss reads; default: the first. */
  readonly output?: string;
  /** Parameter initializers (float32), in layout order; default {@link defaultParameters}. */
  readonly parameters?: readonly string[];
  /** Rademacher probes K per estimate, an integer >= 2 (default 30). */
  readonly probes?: number;
  /**
   * Absolute step h in parameter units for every estimate, > 0. Default: per estimate,
   * {@link DEFAULT_RELATIVE_STEP} times the larger of the root-mean-squares of the probed
   * parameters and of all parameters (1 when both are 0).
   */
  readonly step?: number;
  /** Per-initializer block traces (default true): K probes on each block. */
  readonly blocks?: boolean;
  /** Seed of the probes, a safe integer (default 0). */
  readonly seed?: number;
}

/** One second-difference estimate of a trace. */
export interface SecondDifferenceEstimate {
  /** The estimate of tr H (or of tr H_bb), in loss units per parameter unit squared. */
  readonly estimate: number;
  /** Sampling standard error: sample standard deviation of the probes' values over √K. */
  readonly stderr: number;
  /** Three standard deviations of the rounding error of `estimate` (see the module doc). */
  readonly roundingBound: number;
  /** The step h used, in parameter units. */
  readonly step: number;
  /** Probes K. */
  readonly probes: number;
}

/** The result of {@link forwardOnlyTrace}: estimates, never exact values. */
export interface ForwardOnlyResult {
  /** Always `'second-difference'`. */
  readonly method: 'second-difference';
  /** Always true: every number is a stochastic, finite-difference estimate. */
  readonly estimate: true;
  /** The loss at the given parameters (float32 model outputs, float64 loss). */
  readonly loss: number;
  /** The parameters, one block per initializer. */
  readonly layout: ParameterLayout;
  /**
   * tr H: with `blocks`, the sum of the block estimates (independent probes; stderr in
   * quadrature); otherwise from K probes over all parameters.
   */
  readonly trace: SecondDifferenceEstimate;
  /** tr H_bb per initializer, in layout order (empty when `blocks` is false). */
  readonly blocks: readonly (SecondDifferenceEstimate & { readonly name: string })[];
  /** Measured standard deviation σ of the rounding noise of one loss value. */
  readonly lossNoise: number;
  /** onnxruntime forward passes spent, each over the whole probe batch. */
  readonly forwardPasses: number;
}

/**
 * The model with `parameters` moved from `graph.initializer` to `graph.input` (float32
 * ValueInfo with the initializer's shape; an existing input of that name is kept) and `fetch`
 * added as a graph output when it is not one; every other field untouched.
 */
function withParameterInputs(
  model: ModelProto,
  parameters: readonly string[],
  fetch: string,
): onnxProto.onnx.IModelProto {
  const graph = model.graph!;
  const chosen = new Set(parameters);
  const declared = new Set((graph.input ?? []).map((i) => i.name ?? ''));
  const moved = (graph.initializer ?? []).filter((t) => chosen.has(t.name ?? ''));
  const float = onnx.TensorProto.DataType.FLOAT;
  const withInputs = {
    ...model,
    graph: {
      ...graph,
      initializer: (graph.initializer ?? []).filter((t) => !chosen.has(t.name ?? '')),
      input: [
        ...(graph.input ?? []),
        ...moved
          .filter((t) => !declared.has(t.name ?? ''))
          .map((t) => ({
            name: t.name ?? '',
            type: {
              tensorType: {
                elemType: float,
                shape: { dim: (t.dims ?? []).map((d) => ({ dimValue: int64(d) })) },
              },
            },
          })),
      ],
    },
  };
  return withGraphOutputs(withInputs, [fetch]);
}

/** The samples of the probe batch: the first axis of the first input (0 without inputs). */
function sampleCount(
  names: readonly string[],
  inputs: Readonly<Record<string, HostInput>>,
): number {
  const first = names[0];
  return first === undefined ? 0 : (inputs[first].shape[0] ?? 0);
}

/** The mean loss of outputs `z` (float32, shape `shape`) against `labels`, in float64. */
function hostLoss(
  z: Float32Array,
  shape: readonly number[],
  labels: HostLabels,
  loss: 'ce' | 'mse',
): number {
  const sameShape =
    shape.length === labels.shape.length && shape.every((d, i) => d === labels.shape[i]);
  if (loss === 'mse') {
    if (!sameShape || labels.data instanceof Int32Array) {
      throw new OptionError(
        `forwardOnlyTrace: expected float32 targets shaped like the output [${shape}] for loss 'mse', got ${
          labels.data instanceof Int32Array ? 'int32' : 'float32'
        } [${labels.shape}]`,
      );
    }
    let sum = 0;
    for (let i = 0; i < z.length; i++) sum += (z[i] - labels.data[i]) ** 2;
    return sum / z.length;
  }
  const [n, c] = shape;
  const sparse = labels.data instanceof Int32Array && labels.shape.length === 1;
  if (shape.length !== 2 || labels.shape[0] !== n || !(sparse || sameShape)) {
    throw new OptionError(
      `forwardOnlyTrace: expected an output [N, C] and labels [N] (class ids) or [N, C] for loss 'ce', got output [${shape}] and labels [${labels.shape}]`,
    );
  }
  let total = 0;
  for (let s = 0; s < n; s++) {
    const row = z.subarray(s * c, (s + 1) * c);
    let max = Number.NEGATIVE_INFINITY;
    for (const v of row) max = Math.max(max, v);
    let sum = 0;
    for (const v of row) sum += Math.exp(v - max);
    const logSum = max + Math.log(sum);
    if (sparse) {
      const y = labels.data[s];
      if (!(y >= 0 && y < c)) {
        throw new OptionError(
          `forwardOnlyTrace: expected class ids in [0, ${c}), got ${y} at index ${s}`,
        );
      }
      total += logSum - row[y];
    } else {
      for (let k = 0; k < c; k++) total += labels.data[s * c + k] * (logSum - row[k]);
    }
  }
  return total / n;
}

function rms(values: Float64Array): number {
  let sum = 0;
  for (const v of values) sum += v * v;
  return values.length === 0 ? 0 : Math.sqrt(sum / values.length);
}

function binomial(n: number, k: number): number {
  let r = 1;
  for (let i = 1; i <= k; i++) r = (r * (n - k + i)) / i;
  return r;
}

/**
 * The noise level σ of `values` (loss values at equally spaced points, spacing small enough
 * that their smooth part has negligible differences of order ≥ 3): Moré & Wild (2011), the
 * largest of the order-k estimates √(γ_k·mean (Δᵏf)²), k = 3..6, with γ_k = (k!)²/(2k)!, so
 * that independent noise of standard deviation σ gives σ for every k.
 */
export function noiseLevel(values: readonly number[]): number {
  let diffs = [...values];
  let sigma = 0;
  for (let k = 1; k <= 6 && diffs.length > 1; k++) {
    diffs = diffs.slice(1).map((v, i) => v - diffs[i]);
    if (k >= 3) {
      const meanSquare = diffs.reduce((s, d) => s + d * d, 0) / diffs.length;
      sigma = Math.max(sigma, Math.sqrt(meanSquare / binomial(2 * k, k)));
    }
  }
  return sigma;
}

/**
 * Estimates the trace of the loss Hessian of an ONNX model, and of its diagonal blocks (one per
 * parameter initializer), from onnxruntime forward passes alone (central second differences on
 * Rademacher probes; see the module doc for the method, its error and its cost). For graphs
 * with operators outside {@link SUPPORTED_OPS}; where the graph converts, {@link onnxCurvature}
 * gives exact Hessian-vector products instead.
 *
 * The parameter initializers become graph inputs of one `InferenceSession` (the rest of the
 * graph is kept as is). Options, the file and the inputs are checked before the first pass;
 * the labels against the output at the first pass.
 *
 * @throws {@link OnnxFormatError} as {@link parseModel} does;
 *   {@link @hessian-probe/core!index.OptionError | OptionError} for bad options (probes, step,
 *   seed, loss), unknown or non-float32 parameters, an unknown output, missing inputs or labels
 *   that do not fit the output;
 *   {@link @hessian-probe/core!index.HessianProbeError | HessianProbeError} `'onnx-forward-only'`
 *   when onnxruntime cannot load or run the model, or a loss value is not finite.
 * @example
 * ```ts
 * import { readFileSync } from 'node:fs';
 * declare const features: Float32Array; // [64, 10], row-major
 * declare const classes: Int32Array; // [64]
 * const r = await forwardOnlyTrace(readFileSync('model.onnx'), {
 *   inputs: { x: { data: features, shape: [64, 10] } },
 *   labels: { data: classes, shape: [64] },
 *   loss: 'ce',
 * });
 * const { estimate, stderr, roundingBound } = r.trace;
 * console.log(`tr H ≈ ${estimate} ± ${stderr} (rounding ≤ ${roundingBound})`);
 * ```
 */
export async function forwardOnlyTrace(
  modelBytes: Uint8Array,
  options: ForwardOnlyOptions,
): Promise<ForwardOnlyResult> {
  const where = 'forwardOnlyTrace';
  const { inputs, labels, loss, probes = 30, blocks = true, seed = 0, step } = options;
  if (loss !== 'ce' && loss !== 'mse') {
    throw new OptionError(`${where}: expected loss 'ce' or 'mse', got ${String(loss)}`);
  }
  if (!Number.isSafeInteger(probes) || probes < 2) {
    throw new OptionError(`${where}: expected probes to be an integer >= 2, got ${probes}`);
  }
  if (step !== undefined && !(step > 0 && Number.isFinite(step))) {
    throw new OptionError(`${where}: expected step to be a finite number > 0, got ${step}`);
  }
  if (!Number.isSafeInteger(seed)) {
    throw new OptionError(`${where}: expected seed to be a safe integer, got ${seed}`);
  }
  const model = parseAnalysableModel(modelBytes);
  const graph = model.graph!;
  const parameters = options.parameters ?? defaultParameters(model);
  if (parameters.length === 0 || new Set(parameters).size !== parameters.length) {
    throw new OptionError(
      `${where}: expected one or more unique parameter initializers, got [${parameters.join(', ')}]`,
    );
  }
  const byName = new Map((graph.initializer ?? []).map((t) => [t.name ?? '', t]));
  const values = parameters.map((name) => {
    const t = byName.get(name);
    if (t?.dataType !== onnx.TensorProto.DataType.FLOAT) {
      throw new OptionError(
        `${where}: expected parameters to name float32 initializers, got ${JSON.stringify(name)} (${
          t === undefined ? 'no such initializer' : `data type ${t.dataType}`
        })`,
      );
    }
    const h = decodeTensor(t);
    return { name, shape: h.shape, values: h.values as Float32Array };
  });
  const outputNames = analysedOutputs(model);
  const output = options.output ?? outputNames[0];
  if (!outputNames.includes(output)) {
    throw new OptionError(
      `${where}: expected output to be one of ${outputNames.join(', ')}, got ${output}`,
    );
  }
  const fetch = lossInput(model, output, loss);
  const { names: feedNames, types: feedTypes } = graphInputs(model);
  checkGraphInputs(where, { inputNames: feedNames, inputTypes: feedTypes }, inputs);
  const samples = sampleCount(feedNames, inputs);
  if (labels.shape[0] !== samples) {
    throw new OptionError(
      `${where}: expected labels for ${samples} samples, got shape [${labels.shape}]`,
    );
  }

  const layout = layoutFromSizes(
    values.map((p) => ({ name: p.name, size: p.values.length, shape: p.shape })),
  );
  const theta = new Float64Array(layout.dim);
  for (const [b, p] of values.entries()) theta.set(p.values, layout.blocks[b].offset);
  const onnxruntimeError = (error: unknown, what: string) =>
    new HessianProbeError(
      'onnx-forward-only',
      `${where}: expected onnxruntime to ${what}, got: ${error instanceof Error ? error.message : String(error)}`,
      { cause: error },
    );
  let session: InferenceSession;
  try {
    session = await InferenceSession.create(
      encodeModel(withParameterInputs(model, parameters, fetch)),
    );
  } catch (error) {
    throw onnxruntimeError(error, 'load the model with its parameters as graph inputs');
  }
  let passes = 0;
  const baseFeeds = ortFeeds(feedNames, feedTypes, inputs);
  const lossAt = async (point: Float64Array): Promise<number> => {
    const feeds = { ...baseFeeds };
    for (const [b, p] of values.entries()) {
      const { offset, size } = layout.blocks[b];
      feeds[p.name] = new OrtTensor(
        'float32',
        Float32Array.from(point.subarray(offset, offset + size)),
        p.shape,
      );
    }
    passes++;
    let result: OrtTensor;
    try {
      result = (await session.run(feeds, [fetch]))[fetch];
    } catch (error) {
      throw onnxruntimeError(error, `run the model on the inputs (forward pass ${passes})`);
    }
    const value = hostLoss(result.data as Float32Array, result.dims, labels, loss);
    if (!Number.isFinite(value)) {
      throw new HessianProbeError(
        'onnx-forward-only',
        `${where}: expected finite loss values, got ${value} after ${passes} forward passes (reduce step?)`,
      );
    }
    return value;
  };
  const shifted = (z: Float64Array, t: number): Float64Array => {
    const point = Float64Array.from(theta);
    for (let i = 0; i < z.length; i++) point[i] += t * z[i];
    return point;
  };

  try {
    const center = await lossAt(theta);
    const rng = createRandom(seed);
    const allRms = rms(theta);
    const stepFor = (subset: Float64Array): number =>
      step ?? DEFAULT_RELATIVE_STEP * (Math.max(rms(subset), allRms) || 1);
    // Noise of one loss value, measured along one Rademacher direction at spacing δ = h/64.
    const direction = rng.rademacherVector(layout.dim);
    const delta = stepFor(theta) / 64;
    const line: number[] = [];
    for (let i = -NOISE_POINTS / 2; i <= NOISE_POINTS / 2; i++) {
      line.push(i === 0 ? center : await lossAt(shifted(direction, i * delta)));
    }
    const sigma = noiseLevel(line);

    const secondDifferences = async (
      offset: number,
      size: number,
    ): Promise<{ mean: number; stderr: number; h: number }> => {
      const h = stepFor(theta.subarray(offset, offset + size));
      const secondDifference = async (blockDirection: Float64Array): Promise<number> => {
        const z = new Float64Array(layout.dim);
        z.set(blockDirection, offset);
        const plus = await lossAt(shifted(z, h));
        const minus = await lossAt(shifted(z, -h));
        return (plus - 2 * center + minus) / (h * h);
      };
      const { estimate, stderr } = await traceOfQuadraticForm(secondDifference, {
        dim: size,
        probes,
        random: rng,
      });
      return { mean: estimate, stderr, h };
    };
    // Three standard deviations of the rounding error of a sum of B block means (module doc).
    const rounding = (h: number, count: number) =>
      (3 * sigma * Math.sqrt(4 * count * count + (2 * count) / probes)) / (h * h);

    const blockEstimates: (SecondDifferenceEstimate & { name: string })[] = [];
    if (blocks) {
      for (const block of layout.blocks) {
        const r = await secondDifferences(block.offset, block.size);
        blockEstimates.push({
          name: block.name,
          estimate: r.mean,
          stderr: r.stderr,
          roundingBound: rounding(r.h, 1),
          step: r.h,
          probes,
        });
      }
    }
    let trace: SecondDifferenceEstimate;
    if (blocks) {
      const hs = blockEstimates.map((b) => b.step);
      trace = {
        estimate: blockEstimates.reduce((s, b) => s + b.estimate, 0),
        stderr: Math.sqrt(blockEstimates.reduce((s, b) => s + b.stderr ** 2, 0)),
        // Blocks of different steps: bounded with the smallest, where rounding is largest.
        roundingBound: rounding(Math.min(...hs), blockEstimates.length),
        step: Math.min(...hs),
        probes,
      };
    } else {
      const r = await secondDifferences(0, layout.dim);
      trace = {
        estimate: r.mean,
        stderr: r.stderr,
        roundingBound: rounding(r.h, 1),
        step: r.h,
        probes,
      };
    }
    return {
      method: 'second-difference',
      estimate: true,
      loss: center,
      layout,
      trace,
      blocks: blockEstimates,
      lossNoise: sigma,
      forwardPasses: passes,
    };
  } finally {
    await session.release();
  }
}
