import { createRandom } from '@hessian-probe/core';
import { describeBackendChoice, selectBackend } from '@hessian-probe/core/backends';
import { hessianOperator, softmaxCrossEntropy } from '@hessian-probe/core/tfjs';
import * as tf from '@tensorflow/tfjs';
import { median } from './machine.js';

/** The model whose HVP sets the scale of the numerics' overhead: issue 10's 1M-parameter MLP. */
const SIZES = [784, 1024, 256, 10];
const BATCH = 1000;

/**
 * Median time of one exact HVP of a 784-1024-256-10 tanh MLP (1,068,810 parameters) with
 * softmax cross-entropy over 1000 Gaussian inputs (the values do not change the cost), on the
 * fastest tfjs backend that loads here ('tensorflow' when tfjs-node is installed).
 */
export async function hvpSeconds(): Promise<
  { seconds: number; parameters: number; description: string } | undefined
> {
  let backend: string;
  try {
    backend = describeBackendChoice(await selectBackend(tf));
  } catch {
    return undefined;
  }
  const rng = createRandom(11);
  const tensor = (shape: number[], scale: number) =>
    tf.tensor(
      Float32Array.from(rng.gaussianVector(shape.reduce((a, b) => a * b, 1)), (x) => scale * x),
      shape,
      'float32',
    );
  const x = tensor([BATCH, SIZES[0]], 1);
  const classes = SIZES[SIZES.length - 1];
  const labels = tf.tensor1d(
    Int32Array.from({ length: BATCH }, () => Math.floor(rng.uniform() * classes)),
    'int32',
  );
  const params = SIZES.slice(1).flatMap((units, i) => [
    { name: `dense_${i}/kernel`, tensor: tensor([SIZES[i], units], 1 / Math.sqrt(SIZES[i])) },
    { name: `dense_${i}/bias`, tensor: tf.zeros([units]) },
  ]);
  const { operator } = hessianOperator({
    tf,
    params,
    loss: (tensors) => {
      let h: tf.Tensor = x;
      for (let i = 0; i < tensors.length; i += 2) {
        const z = tf.add(tf.matMul(h, tensors[i]), tensors[i + 1]);
        h = i + 2 < tensors.length ? tf.tanh(z) : z;
      }
      return softmaxCrossEntropy(tf, h, labels);
    },
  });
  const v = rng.gaussianVector(operator.dim);
  const times: number[] = [];
  for (let repeat = 0; repeat < 9; repeat++) {
    const start = performance.now();
    await operator.matvec(v);
    times.push((performance.now() - start) / 1000);
  }
  tf.dispose([x, labels, ...params.map((p) => p.tensor)]);
  return {
    seconds: median(times.slice(2)),
    parameters: operator.dim,
    description: `a ${SIZES.join('-')} tanh MLP with softmax cross-entropy, batch ${BATCH}, ${backend}`,
  };
}
