/** Constant: a tensor from the node's `value`, `value_float(s)` or `value_int(s)` attribute. */
import { OnnxFormatError } from '../proto.js';
import { constantAttr, type OpImpl } from './types.js';

/** Constant. */
export const CONSTANT_OPS: Readonly<Record<string, OpImpl>> = {
  Constant: (ctx) => {
    const value = constantAttr(ctx.node);
    if (value === undefined) {
      throw new OnnxFormatError(
        'onnx-bad-graph',
        `Constant: expected a value, value_float(s) or value_int(s) attribute in node ${ctx.node.name || '(unnamed)'}, got ${
          (ctx.node.attribute ?? []).map((a) => a.name).join(', ') || 'none'
        }`,
      );
    }
    return [ctx.tf.tensor(value.values, value.shape, value.dtype)];
  },
};
