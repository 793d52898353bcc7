/** What the callback does with the model's weights and training logs, without changing them. */
import type { Tf } from '@hessian-probe/core/tfjs';
import type { Tensor, Variable } from '@tensorflow/tfjs-core';
import type { FitModel } from './options.js';
import { isTensor } from './options.js';

/** Training logs as tfjs passes them to callbacks (values may be scalar tensors). */
export type CallbackLogs = Record<string, unknown>;

/** The model's variables (trainable or not: batch-norm statistics too), as tf.Variables. */
export function weightVariables(model: FitModel): Variable[] {
  const weights =
    (model as { weights?: readonly { read(): Tensor }[] }).weights ?? model.trainableWeights;
  return weights.map((w) => w.read() as Variable);
}

/**
 * Puts `values` into `variables` and returns the function that puts the current values back
 * (once; later calls do nothing). Variables take the given buffers, so both ways are exact.
 */
export function swapIn(
  tf: Tf,
  { variables, values }: { variables: Variable[]; values: Tensor[] },
): () => void {
  const current = variables.map((v) => tf.keep(tf.clone(v)));
  variables.forEach((v, i) => void v.assign(values[i]));
  let restored = false;
  return () => {
    if (restored) return;
    restored = true;
    variables.forEach((v, i) => void v.assign(current[i]));
    for (const t of current) t.dispose();
  };
}

/** The `loss` entry of tfjs logs as a number (it may be a scalar tensor); undefined if absent. */
export async function readLoss(logs: CallbackLogs | undefined): Promise<number | undefined> {
  const value = logs?.loss;
  if (typeof value === 'number') return value;
  if (isTensor(value)) {
    if (value.isDisposed) return undefined;
    const data = await value.data();
    return data.length === 1 ? Number(data[0]) : undefined;
  }
  return undefined;
}

/** The steps this fit() plans, from tfjs's `params` (epochs × steps per epoch), if it says. */
export function plannedSteps(params: Record<string, unknown>): { plannedSteps?: number } {
  const { epochs, initialEpoch, steps, samples, batchSize } = params;
  const perEpoch =
    typeof steps === 'number' && steps > 0
      ? steps
      : typeof samples === 'number' && typeof batchSize === 'number' && batchSize > 0
        ? Math.ceil(samples / batchSize)
        : undefined;
  if (typeof epochs !== 'number' || perEpoch === undefined) return {};
  const planned = (epochs - (typeof initialEpoch === 'number' ? initialEpoch : 0)) * perEpoch;
  return Number.isSafeInteger(planned) && planned > 0 ? { plannedSteps: planned } : {};
}
