import type { Tensor } from '@tensorflow/tfjs-core';
import { DimensionError, LayoutError } from '../errors.js';
import { createLayout, type LayoutBlock, type ParameterLayout } from '../layout.js';
import type { LinearOperator } from '../operator.js';
import { checkOneOf } from '../options.js';

/** A trainable weight of a tfjs-layers model (a `LayerVariable`), as {@link modelLayout} reads it. */
export interface WeightLike {
  /** tfjs's name, e.g. `'dense_Dense1/kernel'`. */
  readonly name: string;
  readonly shape: readonly (number | null)[];
  read(): Tensor;
}

/** A tfjs-layers layer (or a nested model, which has `layers`), as this module reads it. */
export interface LayerLike {
  readonly name: string;
  getClassName(): string;
  readonly trainableWeights: readonly WeightLike[];
  /** Present on nested models (a Sequential inside a functional model). */
  readonly layers?: readonly LayerLike[];
}

/** The parts of a tfjs-layers `LayersModel` that layouts and curvature operators use. */
export interface LayersModelLike {
  readonly layers: readonly LayerLike[];
  readonly trainableWeights: readonly WeightLike[];
}

/**
 * How the flat parameter vector of a model is cut into named blocks:
 * - `'tensor'`: one block per trainable weight, named as tfjs names it
 *   (`'dense_Dense1/kernel'`, `'dense_Dense1/bias'`), shape kept;
 * - `'layer'`: one block per layer with trainable weights, named after the layer
 *   (`'dense_Dense1'`);
 * - `'unit'`: for Dense and Conv2D layers one block per output unit (filter),
 *   `'<layer>/unit_<j>'` = the kernel's column j (Dense: W_{j,:} in docs/methods.md's z = Wx + b
 *   notation; Conv2D: the filter kernel[…, j]) followed by bias entry j; every other layer's
 *   weights keep one block per tensor. For the final layer these are the class blocks of
 *   docs/methods.md section A.
 * - `'class'`: one block per output class, the final Dense or Conv2D layer split as in
 *   `'unit'` (`'<layer>/unit_<c>'`), and one block per earlier layer as in `'layer'`: the
 *   per-output-class blocks of Dong et al. 2025 with the rest of the network kept whole.
 */
export type LayoutKind = 'tensor' | 'layer' | 'unit' | 'class';

/** All {@link LayoutKind}s. */
export const LAYOUT_KINDS: readonly LayoutKind[] = ['tensor', 'layer', 'unit', 'class'];

/**
 * A layout of a model's parameters and, when its blocks are not contiguous in tfjs's storage
 * order, the permutation that makes them so.
 */
export interface ModelLayout {
  /** Named blocks tiling [0, dim) of the operator's (possibly permuted) coordinates. */
  readonly layout: ParameterLayout;
  /**
   * `order[k]` = index, in the tfjs flat vector (the model's trainable weights in order, each
   * row-major), of coordinate k of the layout. Absent when it is the identity ('tensor' and
   * 'layer' layouts of ordinary models).
   */
  readonly order?: Int32Array;
}

/**
 * The layout of `model`'s trainable weights (in `model.trainableWeights` order) by tensor,
 * layer, output unit or output class. tfjs stores a Dense kernel as [n_in, n_out] row-major, so one output
 * unit's weights (a column) are strided in storage; the 'unit' layout therefore comes with a
 * permutation (see {@link permuteOperator}) under which each unit is one contiguous block, in
 * the per-output-neuron order of docs/methods.md.
 *
 * @param kind - default `'tensor'`.
 * @throws {@link @hessian-probe/core!index.OptionError | OptionError} for an unknown kind;
 *   {@link LayoutError} when the model has no trainable weights or a weight has an unknown
 *   dimension.
 *
 * @example
 * ```ts
 * const { layout, order } = modelLayout(model, 'unit');
 * layout.blocks.map((b) => b.name); // ['dense_Dense1/unit_0', …, 'dense_Dense2/unit_2']
 * ```
 */
export function modelLayout(model: LayersModelLike, kind: LayoutKind = 'tensor'): ModelLayout {
  checkOneOf('modelLayout', 'kind', kind, LAYOUT_KINDS);
  const weights = model.trainableWeights;
  if (weights.length === 0) {
    throw new LayoutError('modelLayout: expected a model with trainable weights, got none');
  }
  const offsets = new Map<WeightLike, { offset: number; shape: number[] }>();
  let dim = 0;
  for (const w of weights) {
    const shape = w.shape.map((d) => {
      if (d === null) {
        throw new LayoutError(
          `modelLayout: expected ${w.name} to have a known shape, got [${w.shape}]`,
        );
      }
      return d;
    });
    offsets.set(w, { offset: dim, shape });
    dim += shape.reduce((p, d) => p * d, 1);
  }
  const owner = weightOwners(model);
  const groups: { name: string; indices: number[]; shape?: number[] }[] = [];
  const range = (w: WeightLike) => {
    const { offset, shape } = offsets.get(w)!;
    const size = shape.reduce((p, d) => p * d, 1);
    return Array.from({ length: size }, (_, i) => offset + i);
  };
  const unitLayer = (w: WeightLike): (LayerLike & UnitLayer) | undefined => {
    const layer = owner.get(w) as (LayerLike & UnitLayer) | undefined;
    const kernel = layer?.kernel ?? undefined;
    return layer !== undefined &&
      kernel !== undefined &&
      offsets.has(kernel) &&
      UNIT_LAYERS.has(layer.getClassName())
      ? layer
      : undefined;
  };
  /** One group per output unit of `layer`: kernel column j, then bias entry j. */
  const unitGroups = (layer: LayerLike & UnitLayer, done: Set<WeightLike>) => {
    const kernel = layer.kernel!;
    const bias = layer.bias ?? undefined;
    const { offset: kOffset, shape: kShape } = offsets.get(kernel)!;
    const units = kShape[kShape.length - 1];
    const fanIn = kShape.slice(0, -1).reduce((p, d) => p * d, 1);
    const biasOffset = bias && offsets.has(bias) ? offsets.get(bias)!.offset : undefined;
    for (let j = 0; j < units; j++) {
      const indices = Array.from({ length: fanIn }, (_, i) => kOffset + i * units + j);
      if (biasOffset !== undefined) indices.push(biasOffset + j);
      groups.push({ name: `${layer.name}/unit_${j}`, indices });
    }
    done.add(kernel);
    if (bias && biasOffset !== undefined) done.add(bias);
  };
  const byLayer = new Map<string, number[]>();
  /** Appends `w` to its layer's group (created at the layer's first weight). */
  const addToLayer = (w: WeightLike) => {
    const name = owner.get(w)?.name ?? w.name;
    const list = byLayer.get(name) ?? [];
    if (!byLayer.has(name)) {
      byLayer.set(name, list);
      groups.push({ name, indices: list });
    }
    // One push per index: a spread of a big tensor's indices overflows the call stack.
    for (const i of range(w)) list.push(i);
  };
  if (kind === 'tensor') {
    for (const w of weights)
      groups.push({ name: w.name, indices: range(w), shape: offsets.get(w)!.shape });
  } else if (kind === 'layer') {
    for (const w of weights) addToLayer(w);
  } else if (kind === 'class') {
    // The output layer: the model's last Dense/Conv2D layer, whose units are the classes. When
    // it is frozen, no trainable block is a class: refuse rather than split a hidden layer.
    const output = flattenLayers(model)
      .filter((l) => UNIT_LAYERS.has(l.getClassName()) && (l as UnitLayer).kernel)
      .at(-1) as (LayerLike & UnitLayer) | undefined;
    if (output === undefined || !offsets.has(output.kernel!)) {
      throw new LayoutError(
        `modelLayout: expected the model's last Dense or Conv2D layer to have a trainable kernel for the 'class' layout, got ${output === undefined ? 'no such layer' : `${output.name} frozen`}`,
      );
    }
    const last = unitLayer(output.kernel!);
    const done = new Set<WeightLike>();
    for (const w of weights) {
      if (done.has(w)) continue;
      const layer = unitLayer(w);
      if (layer !== undefined && layer === last) unitGroups(layer, done);
      else addToLayer(w);
    }
  } else {
    const done = new Set<WeightLike>();
    for (const w of weights) {
      if (done.has(w)) continue;
      const layer = unitLayer(w);
      if (layer === undefined) {
        done.add(w);
        groups.push({ name: w.name, indices: range(w), shape: offsets.get(w)!.shape });
      } else {
        unitGroups(layer, done);
      }
    }
  }
  const blocks: LayoutBlock[] = [];
  const order = new Int32Array(dim);
  let offset = 0;
  for (const g of groups) {
    order.set(g.indices, offset);
    blocks.push({
      name: g.name,
      offset,
      size: g.indices.length,
      ...(g.shape && g.shape.length > 0 ? { shape: g.shape } : {}),
    });
    offset += g.indices.length;
  }
  const layout = createLayout(blocks, dim);
  return order.every((o, i) => o === i) ? { layout } : { layout, order };
}

/** Layers whose kernel's last axis is the output unit (Dense: [n_in, n_out]; Conv2D: [h, w, c_in, c_out]). */
const UNIT_LAYERS: ReadonlySet<string> = new Set(['Dense', 'Conv2D']);

interface UnitLayer {
  readonly kernel?: WeightLike | null;
  readonly bias?: WeightLike | null;
}

/** Every layer of `model`, nested models expanded, in order. */
export function flattenLayers(model: { readonly layers: readonly LayerLike[] }): LayerLike[] {
  return model.layers.flatMap((l) => {
    const nested = l.layers;
    return nested ? flattenLayers({ layers: nested }) : [l];
  });
}

/** The layer that owns each trainable weight. */
function weightOwners(model: LayersModelLike): Map<WeightLike, LayerLike> {
  const owners = new Map<WeightLike, LayerLike>();
  for (const layer of flattenLayers(model)) {
    for (const w of layer.trainableWeights) if (!owners.has(w)) owners.set(w, layer);
  }
  return owners;
}

/**
 * The operator PᵀAP in permuted coordinates: (PᵀAP)u = scatter `u` to tfjs order
 * (x[order[k]] = u[k]), multiply, gather back. Symmetric when `op` is; products are the same
 * numbers, rearranged.
 *
 * @throws {@link @hessian-probe/core!index.DimensionError | DimensionError} when
 *   `order.length !== op.dim`.
 * @example
 * ```ts
 * const { operator } = modelCurvature(model, { tf, x, y });
 * const { layout, order } = modelLayout(model, 'unit');
 * const perUnit = order ? permuteOperator(operator, order) : operator;
 * ```
 */
export function permuteOperator(op: LinearOperator, order: Int32Array): LinearOperator {
  if (order.length !== op.dim) {
    throw new DimensionError(
      `permuteOperator: expected a permutation of length ${op.dim}, got ${order.length}`,
    );
  }
  return {
    dim: op.dim,
    ...(op.precision === undefined ? {} : { precision: op.precision }),
    async matvec(u) {
      if (!(u instanceof Float64Array) || u.length !== op.dim) {
        throw new DimensionError(
          `permuteOperator.matvec: expected a Float64Array of length ${op.dim}, got ${u instanceof Float64Array ? `length ${u.length}` : typeof u}`,
        );
      }
      const x = new Float64Array(op.dim);
      for (let k = 0; k < order.length; k++) x[order[k]] = u[k];
      const y = await op.matvec(x);
      const out = new Float64Array(op.dim);
      for (let k = 0; k < order.length; k++) out[k] = y[order[k]];
      return out;
    },
  };
}
