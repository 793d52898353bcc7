import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { createRandom } from '@hessian-probe/core';
import { hessianOperator, softmaxCrossEntropy } from '@hessian-probe/core/tfjs';
import { median } from './machine.js';

/** Median time of one exact HVP of a 784-128-10 tanh MLP (≈ 100k parameters), batch 256, wasm. */
export async function hvpSeconds(): Promise<
  { seconds: number; parameters: number; description: string } | undefined
> {
  try {
    await tf.setBackend('wasm');
    await tf.ready();
  } catch {
    return undefined;
  }
  const rng = createRandom(11);
  const batch = 256;
  const sizes = [784, 128, 10];
  const tensor = (shape: number[], scale: number) =>
    tf.tensor(
      Float32Array.from(rng.gaussianVector(shape.reduce((a, b) => a * b, 1)), (x) => scale * x),
      shape,
      'float32',
    );
  const x = tensor([batch, sizes[0]], 1);
  const labels = tf.tensor1d(
    Int32Array.from({ length: batch }, () => Math.floor(rng.uniform() * sizes[2])),
    'int32',
  );
  const params = [
    { name: 'dense_1/kernel', tensor: tensor([sizes[0], sizes[1]], 1 / Math.sqrt(sizes[0])) },
    { name: 'dense_1/bias', tensor: tf.zeros([sizes[1]]) },
    { name: 'dense_2/kernel', tensor: tensor([sizes[1], sizes[2]], 1 / Math.sqrt(sizes[1])) },
    { name: 'dense_2/bias', tensor: tf.zeros([sizes[2]]) },
  ];
  const { operator } = hessianOperator({
    tf,
    params,
    loss: ([w1, b1, w2, b2]) => {
      const hidden = tf.tanh(tf.add(tf.matMul(x, w1), b1));
      return softmaxCrossEntropy(tf, tf.add(tf.matMul(hidden, w2), b2), labels);
    },
  });
  const v = rng.gaussianVector(operator.dim);
  const times: number[] = [];
  for (let repeat = 0; repeat < 7; repeat++) {
    const start = performance.now();
    await operator.matvec(v);
    times.push((performance.now() - start) / 1000);
  }
  tf.dispose([x, labels, ...params.map((p) => p.tensor)]);
  return {
    seconds: median(times.slice(2)),
    parameters: operator.dim,
    description: 'a 784-128-10 tanh MLP with softmax cross-entropy, batch 256, tfjs wasm backend',
  };
}
