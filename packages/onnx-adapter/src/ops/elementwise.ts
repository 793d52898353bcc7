/** Binary element-wise arithmetic with ONNX (NumPy) multidirectional broadcasting, opset ≥ 7. */
import type { OpImpl } from './types.js';
import { required } from './types.js';

/** Add, Sub, Mul and Div. */
export const ELEMENTWISE_OPS: Readonly<Record<string, OpImpl>> = {
  Add: (ctx, x) => [ctx.tf.add(required(ctx, x, 0), required(ctx, x, 1))],
  Sub: (ctx, x) => [ctx.tf.sub(required(ctx, x, 0), required(ctx, x, 1))],
  Mul: (ctx, x) => [ctx.tf.mul(required(ctx, x, 0), required(ctx, x, 1))],
  Div: (ctx, x) => [ctx.tf.div(required(ctx, x, 0), required(ctx, x, 1))],
};
