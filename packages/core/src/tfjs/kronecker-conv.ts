import type { Tensor, Tensor4D } from '@tensorflow/tfjs-core';
import { UnsupportedLayerError } from './errors.js';
import type { LayerLike, WeightLike } from './layouts.js';
import type { Tf } from './types.js';

/**
 * Patch unfolding of Conv2D layers for the Kronecker factors of {@link kroneckerFactors}
 * (KFC-style, Grosse & Martens, "A Kronecker-factored approximate Fisher matrix for
 * convolution layers", ICML 2016): a 2-D convolution is z_{n,p} = W x̃_{n,p} at every output
 * position p, with x̃_{n,p} the input patch under the kernel at p, flattened in tfjs's kernel
 * order [k_h, k_w, c_in] (zeros where 'same' padding reaches outside the input), followed by a
 * 1 when the layer has a bias. W [c_out, k_h·k_w·c_in (+1)] row j is then exactly the 'unit'
 * layout's block `<layer>/unit_j` (kernel[…, j] in storage order, then bias j).
 */

/** The fields of a tfjs-layers Conv2D layer this module reads. */
export interface ConvLayerLike extends LayerLike {
  readonly kernel?: WeightLike | null;
  readonly bias?: WeightLike | null;
  readonly kernelSize?: readonly number[];
  readonly strides?: readonly number[];
  readonly padding?: string;
}

/** A validated Conv2D configuration: kernel [k_h, k_w, c_in, c_out], strides, padding. */
export interface ConvConfig {
  readonly kernel: readonly [number, number, number, number];
  readonly strides: readonly [number, number];
  readonly padding: 'valid' | 'same';
}

/** Where the patches of one input shape lie: input [H, W, c_in], output [H', W'], leading padding. */
export interface ConvGeometry extends ConvConfig {
  readonly input: readonly [number, number, number];
  readonly output: readonly [number, number];
  /** Padding rows above and columns left of the input ('same'; zeros for 'valid'). */
  readonly pad: readonly [number, number];
}

/**
 * The configuration of a Conv2D layer, or an {@link UnsupportedLayerError} naming the layer when
 * its kernel is not [k_h, k_w, c_in, c_out] or its padding is not 'valid' or 'same' (tfjs also
 * accepts 'causal'). channelsFirst and dilated layers are rejected before this, by
 * `checkSupportedLayers` (model.ts).
 */
export function convConfig(layer: ConvLayerLike, where: string): ConvConfig {
  const fail = (reason: string): never => {
    throw new UnsupportedLayerError(
      `${where}: expected Conv2D layer ${layer.name} to be 2-D, channelsLast, 'valid' or 'same' padding, without dilation, got ${reason}`,
      [layer.name],
    );
  };
  const shape = layer.kernel?.shape ?? [];
  if (shape.length !== 4 || shape.some((d) => d === null)) {
    fail(`a kernel of shape [${shape}]`);
  }
  const padding = layer.padding ?? 'valid';
  if (padding !== 'valid' && padding !== 'same') fail(`padding '${padding}'`);
  const strides = [...(layer.strides ?? [1, 1])];
  if (strides.length !== 2 || strides.some((s) => !Number.isInteger(s) || s < 1)) {
    fail(`strides [${strides}]`);
  }
  return {
    kernel: shape as unknown as [number, number, number, number],
    strides: [strides[0], strides[1]],
    padding: padding as 'valid' | 'same',
  };
}

/** Output size and leading padding of a window k with stride s over d entries (TensorFlow's rule). */
function windowed(d: number, k: number, s: number, padding: 'valid' | 'same'): [number, number] {
  if (padding === 'valid') return [Math.floor((d - k) / s) + 1, 0];
  const out = Math.ceil(d / s);
  return [out, Math.floor(Math.max((out - 1) * s + k - d, 0) / 2)];
}

/** The geometry of `config` on inputs of shape [N, H, W, c_in]. */
export function convGeometry(
  config: ConvConfig,
  inputShape: readonly number[],
  name: string,
  where: string,
): ConvGeometry {
  const [kh, kw, cin] = config.kernel;
  if (inputShape.length !== 4 || inputShape[3] !== cin) {
    throw new UnsupportedLayerError(
      `${where}: expected Conv2D layer ${name} to take inputs [N, H, W, ${cin}], got [${inputShape}]`,
      [name],
    );
  }
  const [oh, top] = windowed(inputShape[1], kh, config.strides[0], config.padding);
  const [ow, left] = windowed(inputShape[2], kw, config.strides[1], config.padding);
  return {
    ...config,
    input: [inputShape[1], inputShape[2], cin],
    output: [oh, ow],
    pad: [top, left],
  };
}

/** The pre-activation z = conv2d(h, kernel) (+ bias), [N, H', W', c_out]. */
export function convPreActivation(
  tf: Tf,
  layer: ConvLayerLike,
  config: ConvConfig,
  h: Tensor,
): Tensor {
  let z: Tensor = tf.conv2d(
    h as Tensor4D,
    (layer.kernel as WeightLike).read() as Tensor4D,
    [config.strides[0], config.strides[1]],
    config.padding,
  );
  if (layer.bias) z = tf.add(z, layer.bias.read());
  return z;
}

/**
 * The unfolded patches x̃_{s,p} of sample `s` of `data` (row-major [size, H, W, c_in]) as rows
 * [|P|, m] of `out` (m = k_h·k_w·c_in, +1 with `bias`), positions p in row-major (h', w') order.
 */
export function unfoldPatches(
  geometry: ConvGeometry,
  data: ArrayLike<number>,
  sample: number,
  bias: boolean,
  out: Float64Array,
): void {
  const [kh, kw, cin] = geometry.kernel;
  const [h, w] = geometry.input;
  const [oh, ow] = geometry.output;
  const [sh, sw] = geometry.strides;
  const [top, left] = geometry.pad;
  const m = kh * kw * cin + (bias ? 1 : 0);
  const base = sample * h * w * cin;
  out.fill(0);
  for (let i = 0; i < oh; i++) {
    for (let j = 0; j < ow; j++) {
      const row = (i * ow + j) * m;
      for (let a = 0; a < kh; a++) {
        const r = i * sh + a - top;
        if (r < 0 || r >= h) continue;
        for (let b = 0; b < kw; b++) {
          const c = j * sw + b - left;
          if (c < 0 || c >= w) continue;
          const src = base + (r * w + c) * cin;
          const dst = row + (a * kw + b) * cin;
          for (let k = 0; k < cin; k++) out[dst + k] = data[src + k];
        }
      }
      if (bias) out[row + m - 1] = 1;
    }
  }
}
