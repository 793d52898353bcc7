import type {
  GradConfig,
  KernelBackend,
  KernelConfig,
  KernelFunc,
  NamedAttrMap,
  NamedTensorMap,
  Tensor,
  TensorInfo,
} from '@tensorflow/tfjs-core';
import type { Tf } from './types.js';

/**
 * Kernels whose gradient hessian-probe replaces while {@link withSecondOrder} is active, and
 * why (docs/tfjs-second-order.md):
 * - saved-output kernels: tfjs's gradient reads the kernel's saved output, whose clone the tape
 *   treats as a constant, so the second-order path through it is dropped. The replacements
 *   save the input and recompute the output with the same kernel (so first-order values are
 *   bit-identical to tfjs's).
 * - comparison and logical kernels: no gradient in tfjs; they only build masks, so their
 *   gradient is zero.
 * - backprop kernels: no gradient in tfjs; the replacements are the adjoints TensorFlow
 *   (Python) uses.
 * - wasm fixes: tfjs-backend-wasm 4.22's MaxPoolGrad and MaxPoolWithArgmax start each
 *   window's maximum at 0, so a window whose entries are all negative routes its gradient
 *   nowhere (found by this project's tests). On wasm the MaxPool gradient is computed on the
 *   input shifted to be positive (x − min x + 1; same argmax up to float32 rounding of
 *   near-ties); other backends keep tfjs's gradient. tfjs-backend-wasm 4.22 has no
 *   UnsortedSegmentSum kernel, which tfjs's GatherV2 gradient uses, so on wasm even the
 *   first-order gradient of an Embedding throws; there the gradient of a gather along axis 0
 *   is computed as oneHot(indices)ᵀ·dy (a matmul, linear in dy).
 */
export const SECOND_ORDER_KERNELS = {
  savedOutput: ['Tanh', 'Sigmoid', 'Exp', 'Softmax', 'Elu', 'Max', 'Min', 'Pow'],
  zeroGradient: [
    'Equal',
    'NotEqual',
    'Greater',
    'GreaterEqual',
    'Less',
    'LessEqual',
    'LogicalAnd',
    'LogicalOr',
    'LogicalXor',
    'LogicalNot',
  ],
  backprop: ['EluGrad', 'Conv2DBackpropFilter', 'MaxPoolGrad', 'AvgPoolGrad'],
  wasmFixes: ['MaxPool', 'GatherV2'],
} as const;

interface Activation {
  depth: number;
  restore: () => void;
}

// One activation for the whole process: the tfjs registries are process-global too.
let activation: Activation | undefined;

/**
 * Runs `fn` with second-order-correct gradients registered in tfjs's global registry, and
 * restores the user's gradient (and kernel) configs afterwards, also when `fn` throws or its
 * promise rejects. Hessian-vector products by double backprop (Pearlmutter 1994) are exact
 * only inside this scope; outside it tfjs's own configs are back in place, so first-order
 * training is bit-for-bit what it was.
 *
 * Nesting and concurrent (interleaved async) calls are safe: a depth counter activates on the
 * first entry and restores on the last exit. While an async `fn` is pending the replacements
 * stay registered; they give first-order values identical to tfjs's for every replaced
 * kernel that tfjs can differentiate, but they are slower (they recompute saved outputs), so
 * do not keep an analysis pending across unrelated training.
 *
 * On the wasm backend it also registers a `Conv2DBackpropFilter` kernel (missing in
 * tfjs-backend-wasm 4.22), built from PadV2, Transpose, a dilated Conv2D and Slice; on the
 * 'tensorflow' backend (tfjs-node) a `MaxPoolGradGrad` kernel running TensorFlow's own op.
 *
 * @param tf - the TensorFlow.js namespace in use.
 * @param fn - synchronous or async work; its result (or promise) is returned.
 *
 * @example
 * ```ts
 * const w = tf.tensor1d([0.1, -0.4, 2]); // the point
 * const v = tf.tensor1d([1, 0, 0]); // the direction
 * const hv = withSecondOrder(tf, () =>
 *   tf.tidy(() => {
 *     const g = (w: tf.Tensor) => tf.grad((u: tf.Tensor) => tf.sum(tf.tanh(u)))(w);
 *     return tf.grad((w: tf.Tensor) => tf.sum(tf.mul(g(w), v)))(w);
 *   }),
 * );
 * ```
 */
export function withSecondOrder<T>(tf: Tf, fn: () => T): T {
  enter(tf);
  let result: T;
  try {
    result = fn();
  } catch (error) {
    leave();
    throw error;
  }
  if (isPromiseLike(result)) {
    return Promise.resolve(result).finally(leave) as T;
  }
  leave();
  return result;
}

/** Whether {@link withSecondOrder} is currently active (for diagnostics and tests). */
export function isSecondOrderActive(): boolean {
  return activation !== undefined;
}

function isPromiseLike(value: unknown): value is PromiseLike<unknown> {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { then?: unknown }).then === 'function'
  );
}

function enter(tf: Tf): void {
  if (activation) {
    activation.depth++;
    return;
  }
  activation = { depth: 1, restore: install(tf) };
}

function leave(): void {
  if (!activation) return;
  activation.depth--;
  if (activation.depth === 0) {
    const { restore } = activation;
    activation = undefined;
    restore();
  }
}

/** Registers every replacement; returns the function that puts the originals back. */
function install(tf: Tf): () => void {
  const configs = secondOrderGradients(tf);
  const savedGradients = configs.map((c) => [c.kernelName, tf.getGradient(c.kernelName)] as const);
  const addedKernels: KernelConfig[] = [];
  try {
    for (const config of configs) tf.registerGradient(config);
    for (const kernel of [wasmConv2DBackpropFilter(tf), tensorflowMaxPoolGradGrad(tf)]) {
      if (tf.getKernel(kernel.kernelName, kernel.backendName) !== undefined) continue;
      tf.registerKernel(kernel);
      addedKernels.push(kernel);
    }
  } catch (error) {
    restoreAll();
    throw error;
  }
  function restoreAll(): void {
    for (const [name, original] of savedGradients) {
      if (original) tf.registerGradient(original);
      else if (tf.getGradient(name)) tf.unregisterGradient(name);
    }
    for (const { kernelName, backendName } of addedKernels)
      tf.unregisterKernel(kernelName, backendName);
  }
  return restoreAll;
}

const num = (attrs: NamedAttrMap, key: string): number => attrs[key] as number;
type Pair = [number, number] | number;

function secondOrderGradients(tf: Tf): GradConfig[] {
  const run = <T extends Tensor>(name: string, inputs: NamedTensorMap, attrs: NamedAttrMap = {}) =>
    tf.engine().runKernel<T>(name, inputs, attrs);
  const one = (dy: Tensor | Tensor[]): Tensor => (Array.isArray(dy) ? dy[0] : dy);
  const zeros = (t: Tensor) => () => tf.zeros(t.shape, 'float32');

  // Saved-output kernels: recompute the output from the saved input with the same kernel and
  // attributes, then apply tfjs's own formula in tfjs's own order.
  const recomputed: GradConfig[] = [
    {
      kernelName: 'Tanh',
      inputsToSave: ['x'],
      gradFunc: (dy, [x]) => ({
        x: () => tf.mul(tf.sub(tf.scalar(1), tf.square(run('Tanh', { x }))), one(dy)),
      }),
    },
    {
      kernelName: 'Sigmoid',
      inputsToSave: ['x'],
      gradFunc: (dy, [x]) => ({
        x: () => {
          const y = run('Sigmoid', { x });
          return tf.mul(one(dy), tf.mul(y, tf.sub(tf.scalar(1), y)));
        },
      }),
    },
    {
      kernelName: 'Exp',
      inputsToSave: ['x'],
      gradFunc: (dy, [x]) => ({ x: () => tf.mul(one(dy), run('Exp', { x })) }),
    },
    {
      kernelName: 'Softmax',
      inputsToSave: ['logits'],
      gradFunc: (dy, [logits], attrs) => ({
        logits: () => {
          const y = run('Softmax', { logits }, attrs);
          const dyTimesY = tf.mul(one(dy), y);
          return tf.sub(dyTimesY, tf.mul(tf.sum(dyTimesY, [num(attrs, 'dim')], true), y));
        },
      }),
    },
    {
      kernelName: 'Elu',
      inputsToSave: ['x'],
      gradFunc: (dy, [x]) => ({ x: () => run('EluGrad', { dy: one(dy), y: run('Elu', { x }) }) }),
    },
    minMaxGradient(tf, 'Max', 'reductionIndices'),
    minMaxGradient(tf, 'Min', 'axis'),
    {
      kernelName: 'Pow',
      inputsToSave: ['a', 'b'],
      gradFunc: (dy, [a, b]) => {
        const g = one(dy);
        const outShape = tf.broadcast_util.assertAndGetBroadcastShape(a.shape, b.shape);
        const reduceTo = (t: Tensor, shape: number[]) => {
          const axes = tf.broadcast_util.getReductionAxes(shape, outShape);
          return tf.reshape(axes.length > 0 ? tf.sum(t, axes) : t, shape);
        };
        return {
          a: () => {
            const bf = tf.cast(b, 'float32');
            return reduceTo(tf.mul(g, tf.mul(bf, tf.pow(a, tf.sub(bf, tf.scalar(1))))), a.shape);
          },
          b: () => {
            const logA = tf.where(tf.greater(a, 0), tf.log(a), tf.zerosLike(a));
            return reduceTo(tf.mul(g, tf.mul(run('Pow', { a, b }), logA)), b.shape);
          },
        };
      },
    },
  ];

  const zeroGradients: GradConfig[] = SECOND_ORDER_KERNELS.zeroGradient.map((kernelName) =>
    kernelName === 'LogicalNot'
      ? { kernelName, inputsToSave: ['x'], gradFunc: (_dy, [x]) => ({ x: zeros(x) }) }
      : {
          kernelName,
          inputsToSave: ['a', 'b'],
          gradFunc: (_dy, [a, b]) => ({ a: zeros(a), b: zeros(b) }),
        },
  );

  const backprop: GradConfig[] = [
    {
      // EluGrad(dy, y) = dy where y >= 0, dy·(y + 1) elsewhere.
      kernelName: 'EluGrad',
      inputsToSave: ['dy', 'y'],
      gradFunc: (ddx, [dy, y]) => ({
        dy: () => run('EluGrad', { dy: one(ddx), y }),
        y: () => tf.mul(tf.mul(one(ddx), dy), tf.cast(tf.less(y, 0), 'float32')),
      }),
    },
    {
      // dw = BackpropFilter(x, dy) is bilinear: its adjoint in x is BackpropInput(dy, ddw) and
      // in dy is conv2d(x, ddw) (as TensorFlow's Conv2DBackpropFilter gradient).
      kernelName: 'Conv2DBackpropFilter',
      inputsToSave: ['x', 'dy'],
      gradFunc: (ddw, [x, dy], attrs) => {
        const strides = attrs.strides as Pair;
        const pad = attrs.pad as 'valid' | 'same' | number;
        const dataFormat = attrs.dataFormat as 'NHWC' | 'NCHW';
        const rounding = attrs.dimRoundingMode as 'floor' | 'round' | 'ceil' | undefined;
        const w = one(ddw) as Parameters<Tf['conv2d']>[1];
        const x4 = x as Parameters<Tf['conv2d']>[0];
        return {
          x: () =>
            tf.conv2dTranspose(
              dy as Parameters<Tf['conv2dTranspose']>[0],
              w,
              x.shape as [number, number, number, number],
              strides,
              pad,
              rounding,
            ),
          dy: () => tf.conv2d(x4, w, strides, pad, dataFormat, 1, rounding),
        };
      },
    },
    {
      // dx = MaxPoolGrad(dy) routes dy to the argmax of each window: linear in dy with a
      // piecewise-constant dependence on the input. Its adjoint gathers at the argmax.
      kernelName: 'MaxPoolGrad',
      inputsToSave: ['input', 'output'],
      gradFunc: (ddx, [input, output], attrs) => ({
        dy: () => {
          if (tf.getBackend() === 'tensorflow') {
            return run('MaxPoolGradGrad', { input, output, dy: one(ddx) }, attrs);
          }
          const { indexes } = tf.maxPoolWithArgmax(
            input as Parameters<Tf['maxPoolWithArgmax']>[0],
            attrs.filterSize as Pair,
            attrs.strides as Pair,
            attrs.pad as 'valid' | 'same' | number,
            true,
          );
          const routed = tf.gather(tf.reshape(one(ddx), [-1]), tf.reshape(indexes, [-1]));
          return tf.reshape(routed, output.shape);
        },
        input: zeros(input),
        output: zeros(output),
      }),
    },
    {
      // AvgPoolGrad is the adjoint of avgPool (exactly so with 'valid' padding), hence its
      // adjoint is avgPool.
      kernelName: 'AvgPoolGrad',
      inputsToSave: ['input'],
      gradFunc: (ddx, [input], attrs) => ({
        dy: () =>
          tf.avgPool(
            one(ddx) as Parameters<Tf['avgPool']>[0],
            attrs.filterSize as Pair,
            attrs.strides as Pair,
            attrs.pad as 'valid' | 'same' | number,
          ),
        input: zeros(input),
      }),
    },
  ];
  const maxPool = tf.getGradient('MaxPool');
  const fixes: GradConfig[] = [
    {
      ...maxPool,
      gradFunc: (dy, saved, attrs) => {
        if (tf.getBackend() !== 'wasm') return maxPool.gradFunc(dy, saved, attrs);
        const [x, y] = saved;
        return {
          x: () => {
            // Detached: the shift only locates each window's argmax, and MaxPoolGrad's
            // gradient in its input is zero, so nothing needs to flow back through it.
            const positive = detached(tf, () => tf.add(tf.sub(x, tf.min(x)), tf.scalar(1)));
            return run('MaxPoolGrad', { dy: one(dy), input: positive, output: y }, attrs);
          },
        };
      },
    },
  ];
  const gather = tf.getGradient('GatherV2');
  fixes.push({
    ...gather,
    gradFunc: (dy, saved, attrs) => {
      const [x, indices] = saved;
      const axis = tf.util.parseAxisParam(attrs.axis as number, x.shape)[0];
      if (tf.getBackend() !== 'wasm' || axis !== 0 || ((attrs.batchDims as number) ?? 0) !== 0) {
        return gather.gradFunc(dy, saved, attrs);
      }
      return {
        x: () => {
          const ids = tf.reshape(tf.cast(indices, 'int32'), [-1]);
          // int32 then cast: wasm's OneHot returns zeros for dtype 'float32' (losses.ts).
          const rows = tf.cast(tf.oneHot(ids, x.shape[0]), 'float32');
          const values = tf.reshape(one(dy), [ids.size, -1]);
          return tf.reshape(tf.matMul(rows, values, true, false), x.shape);
        },
        indices: () => indices,
      };
    },
  });
  return [...recomputed, ...zeroGradients, ...backprop, ...fixes];
}

/**
 * The tensor `compute()` returns (a new tensor), cut off from every gradient tape (tfjs has no
 * stop-gradient op): `compute` runs as the forward function of a `tf.customGrad` op with no
 * inputs, where tfjs records nothing, and an op without inputs is never on a path from the
 * differentiated tensors, so no backward pass visits it (not even with zeros).
 *
 * @example
 * ```ts
 * const logits = model.apply(x) as tf.Tensor;
 * const target = detached(tf, () => tf.softmax(logits)); // a constant for the outer gradient
 * ```
 */
export function detached(tf: Tf, compute: () => Tensor): Tensor {
  return tf.customGrad(() => ({ value: compute(), gradFunc: () => [] }))();
}

function minMaxGradient(tf: Tf, kernelName: 'Max' | 'Min', axisAttr: string): GradConfig {
  return {
    kernelName,
    inputsToSave: ['x'],
    gradFunc: (dy, [x], attrs) => ({
      x: () => {
        const axes = tf.util.parseAxisParam(attrs[axisAttr] as number | number[], x.shape);
        const keepShape = tf.backend_util.expandShapeToKeepDim(
          x.shape.filter((_, i) => !axes.includes(i)),
          axes,
        );
        const y = tf.reshape(tf.engine().runKernel<Tensor>(kernelName, { x }, attrs), keepShape);
        const g = tf.reshape(Array.isArray(dy) ? dy[0] : dy, keepShape);
        return tf.mul(g, tf.cast(tf.equal(x, y), g.dtype));
      },
    }),
  };
}

/**
 * Runs the synchronous `fn` with tfjs-backend-wasm's BatchMatMul kernel replaced by one that
 * materialises a transposed operand (wasm Transpose kernel) and multiplies untransposed, then
 * puts tfjs's kernel back, also when `fn` throws. tfjs-backend-wasm 4.22 multiplies with a
 * transposed operand 5–16 times slower than without (a 256×256 by 256×784ᵀ product: 57 ms
 * against 12 ms including the transpose, measured; docs/tfjs-second-order.md), and every backward
 * pass through a Dense layer has two such products (dy·Wᵀ, xᵀ·dy), a Hessian-vector product
 * about twice as many. The products are the same sums in another order, so results differ from
 * tfjs's only in float32 rounding. Other backends and untransposed products are untouched.
 *
 * hessian-probe's own products (the exact Hessian and Gauss–Newton operators, and the gradients
 * of the finite-difference operator and the self-check) run inside this scope; everything
 * else, including the user's own code inside {@link withSecondOrder}, keeps tfjs's kernel and
 * its exact values.
 *
 * @example
 * ```ts
 * declare function computeHv(): tf.Tensor; // a Hessian-vector product of Dense layers
 * const hv = withSecondOrder(tf, () => withExplicitTransposes(tf, () => tf.tidy(computeHv)));
 * ```
 */
export function withExplicitTransposes<T>(tf: Tf, fn: () => T): T {
  const original = tf.getKernel('BatchMatMul', 'wasm');
  if (!original || explicitTransposesActive) return fn();
  tf.unregisterKernel('BatchMatMul', 'wasm');
  tf.registerKernel(wasmBatchMatMulExplicitTransposes(tf, original));
  explicitTransposesActive = true;
  try {
    return fn();
  } finally {
    explicitTransposesActive = false;
    tf.unregisterKernel('BatchMatMul', 'wasm');
    tf.registerKernel(original);
  }
}

let explicitTransposesActive = false;

function wasmBatchMatMulExplicitTransposes(tf: Tf, original: KernelConfig): KernelConfig {
  const kernelFunc: KernelFunc = ({ inputs, backend, attrs = {} }) => {
    const { transposeA, transposeB } = attrs as { transposeA?: boolean; transposeB?: boolean };
    if (!transposeA && !transposeB) return original.kernelFunc({ inputs, backend, attrs });
    const transpose = tf.getKernel('Transpose', 'wasm');
    const swapLast = (t: TensorInfo): TensorInfo => {
      const perm = t.shape.map((_, i) => i);
      const r = perm.length;
      [perm[r - 2], perm[r - 1]] = [r - 1, r - 2];
      return transpose.kernelFunc({ inputs: { x: t }, backend, attrs: { perm } }) as TensorInfo;
    };
    const a = transposeA ? swapLast(inputs.a as TensorInfo) : (inputs.a as TensorInfo);
    const b = transposeB ? swapLast(inputs.b as TensorInfo) : (inputs.b as TensorInfo);
    const out = original.kernelFunc({
      inputs: { a, b },
      backend,
      attrs: { ...attrs, transposeA: false, transposeB: false },
    });
    // Only the transposed copies made here are freed; the incoming TensorInfos are the caller's.
    const owner = backend as KernelBackend;
    if (transposeA) owner.disposeData(a.dataId);
    if (transposeB) owner.disposeData(b.dataId);
    return out;
  };
  return { ...original, kernelFunc };
}

/** What hessian-probe uses of tfjs-node's `NodeJSKernelBackend` (tfjs-node 4.22). */
interface NativeBackend {
  binding: Record<'TF_FLOAT' | 'TF_ATTR_TYPE' | 'TF_ATTR_INT' | 'TF_ATTR_STRING', number>;
  executeSingleOutput(
    name: string,
    attrs: { name: string; type: number; value: unknown }[],
    inputs: TensorInfo[],
  ): TensorInfo;
}

/**
 * TensorFlow's own `MaxPoolGradGrad` op for the 'tensorflow' backend (tfjs-node), which has no
 * `MaxPoolWithArgmax` kernel: the adjoint of MaxPoolGrad in its `dy` input gathers ddx at each
 * window's argmax, exactly as TensorFlow (Python) differentiates MaxPoolGrad. Inputs `input`,
 * `output` (of the MaxPool) and `dy` (the ddx being routed); attributes as MaxPoolGrad's.
 */
function tensorflowMaxPoolGradGrad(tf: Tf): KernelConfig {
  const kernelFunc: KernelFunc = ({ inputs, backend, attrs = {} }) => {
    const input = inputs.input as TensorInfo;
    const info = tf.backend_util.computePool2DInfo(
      input.shape as [number, number, number, number],
      attrs.filterSize as Pair,
      attrs.strides as Pair,
      1,
      attrs.pad as 'valid' | 'same' | number,
      attrs.dimRoundingMode as 'floor' | 'round' | 'ceil' | undefined,
    );
    if (info.padInfo.type !== 'VALID' && info.padInfo.type !== 'SAME') {
      throw new Error(
        `MaxPoolGradGrad (tensorflow, hessian-probe): expected padding 'valid' or 'same', got ${info.padInfo.type}`,
      );
    }
    const native = backend as NativeBackend;
    const { binding } = native;
    return native.executeSingleOutput(
      'MaxPoolGradGrad',
      [
        { name: 'T', type: binding.TF_ATTR_TYPE, value: binding.TF_FLOAT },
        {
          name: 'ksize',
          type: binding.TF_ATTR_INT,
          value: [1, info.filterHeight, info.filterWidth, 1],
        },
        {
          name: 'strides',
          type: binding.TF_ATTR_INT,
          value: [1, info.strideHeight, info.strideWidth, 1],
        },
        { name: 'padding', type: binding.TF_ATTR_STRING, value: info.padInfo.type },
        { name: 'data_format', type: binding.TF_ATTR_STRING, value: 'NHWC' },
      ],
      [input, inputs.output as TensorInfo, inputs.dy as TensorInfo],
    );
  };
  return { kernelName: 'MaxPoolGradGrad', backendName: 'tensorflow', kernelFunc };
}

/**
 * The Conv2DBackpropFilter kernel tfjs-backend-wasm 4.22 lacks, composed from wasm kernels:
 * dw[i, j, c, o] = Σ_{b, p, q} x_pad[b, p·s_h + i, q·s_w + j, c] dy[b, p, q, o] is a stride-1
 * conv of x_pad (transposed to [c, H, W, b]) with dy (as a [oh, ow, b, o] filter) dilated by
 * the strides. The incoming TensorInfos are passed to the kernels as they are (wrapping them
 * in tensors and disposing those would free the caller's buffers).
 */
function wasmConv2DBackpropFilter(tf: Tf): KernelConfig {
  const kernelFunc: KernelFunc = ({ inputs, backend, attrs = {} }) => {
    const x = inputs.x as TensorInfo;
    const dy = inputs.dy as TensorInfo;
    if (attrs.dataFormat !== 'NHWC') {
      throw new Error(
        `Conv2DBackpropFilter (wasm, hessian-probe): expected dataFormat 'NHWC', got ${String(attrs.dataFormat)}`,
      );
    }
    const filterShape = attrs.filterShape as [number, number, number, number];
    const info = tf.backend_util.computeConv2DInfo(
      x.shape as [number, number, number, number],
      filterShape,
      attrs.strides as Pair,
      1,
      attrs.pad as 'valid' | 'same' | number,
      attrs.dimRoundingMode as 'floor' | 'round' | 'ceil' | undefined,
    );
    const { top, bottom, left, right } = info.padInfo;
    const call = (
      name: string,
      kernelInputs: Record<string, TensorInfo>,
      kernelAttrs: NamedAttrMap,
    ) => {
      const kernel = tf.getKernel(name, 'wasm');
      return kernel.kernelFunc({ inputs: kernelInputs, backend, attrs: kernelAttrs }) as TensorInfo;
    };
    const padded = call(
      'PadV2',
      { x },
      {
        paddings: [
          [0, 0],
          [top, bottom],
          [left, right],
          [0, 0],
        ],
        constantValue: 0,
      },
    );
    const xt = call('Transpose', { x: padded }, { perm: [3, 1, 2, 0] });
    const dyt = call('Transpose', { x: dy }, { perm: [1, 2, 0, 3] });
    const conv = call(
      'Conv2D',
      { x: xt, filter: dyt },
      {
        strides: [1, 1],
        pad: 'valid',
        dataFormat: 'NHWC',
        dilations: [info.strideHeight, info.strideWidth],
      },
    );
    const [fh, fw, ci, co] = filterShape;
    const cropped = call('Slice', { x: conv }, { begin: [0, 0, 0, 0], size: [ci, fh, fw, co] });
    const dw = call('Transpose', { x: cropped }, { perm: [1, 2, 0, 3] });
    // KernelFunc types the backend as `{}`; inside a kernel it is the running KernelBackend.
    const owner = backend as KernelBackend;
    for (const t of [padded, xt, dyt, conv, cropped]) owner.disposeData(t.dataId);
    return dw;
  };
  return { kernelName: 'Conv2DBackpropFilter', backendName: 'wasm', kernelFunc };
}
