import { createRandom } from '@hessian-probe/core';
import { describeBackendChoice, selectBackend } from '@hessian-probe/core/backends';
import { modelCurvature } from '@hessian-probe/core/tfjs';
import * as tf from '@tensorflow/tfjs';
import { median } from './machine.js';

/** The model whose HVP sets the scale of the numerics' overhead: issue 10's 1M-parameter MLP. */
const SIZES = [784, 1024, 256, 10];
const BATCH = 1000;

/**
 * Median time of one exact HVP of a 784-1024-256-10 tanh MLP (1,068,810 parameters) with
 * softmax cross-entropy over 1000 Gaussian inputs (the values do not change the cost), on the
 * fastest tfjs backend that loads here ('tensorflow' when tfjs-node is installed), as
 * `modelCurvature` computes it (the Dense-chain route, warm cache); the autodiff product's
 * time is given in the description.
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
  const x = tf.tensor(
    Float32Array.from(rng.gaussianVector(BATCH * SIZES[0])),
    [BATCH, SIZES[0]],
    'float32',
  );
  const classes = SIZES[SIZES.length - 1];
  const labels = tf.tensor1d(
    Int32Array.from({ length: BATCH }, () => Math.floor(rng.uniform() * classes)),
    'int32',
  );
  const model = tf.sequential();
  for (const [i, units] of SIZES.slice(1).entries()) {
    const last = i === SIZES.length - 2;
    model.add(
      tf.layers.dense({
        units,
        activation: last ? 'softmax' : 'tanh',
        kernelInitializer: tf.initializers.glorotNormal({ seed: 11 + i }),
        ...(i === 0 ? { inputShape: [SIZES[0]] } : {}),
      }),
    );
  }
  model.compile({ optimizer: 'sgd', loss: 'sparseCategoricalCrossentropy' });
  const time = async (hvp: 'auto' | 'autodiff') => {
    const curvature = modelCurvature(model, { tf, x, y: labels, hvp, selfCheck: false });
    const v = rng.gaussianVector(curvature.operator.dim);
    const times: number[] = [];
    for (let repeat = 0; repeat < 9; repeat++) {
      const start = performance.now();
      await curvature.operator.matvec(v);
      times.push((performance.now() - start) / 1000);
    }
    return { seconds: median(times.slice(2)), curvature };
  };
  const fast = await time('auto');
  const autodiff = await time('autodiff');
  const parameters = fast.curvature.operator.dim;
  tf.dispose([x, labels]);
  model.dispose();
  return {
    seconds: fast.seconds,
    parameters,
    description:
      `a ${SIZES.join('-')} tanh MLP with softmax cross-entropy, batch ${BATCH}, ${backend}; ` +
      `products by the ${fast.curvature.productMethod} route (autodiff: ${(1000 * autodiff.seconds).toFixed(1)} ms)`,
  };
}
