import { createRandom, denseMatrix } from '@hessian-probe/core';
import { exactBlockNorms } from '@hessian-probe/core/internal';
import { arithmeticTolerance } from '@hessian-probe/core/testing';
import { modelCurvature } from '@hessian-probe/core/tfjs';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { closedFormBlockNorms } from './closed-form.js';
import { buildModel } from './static-force.js';

beforeAll(async () => {
  if (!(await tf.setBackend('cpu'))) throw new Error('could not switch tfjs to cpu');
});

describe('closedFormBlockNorms', () => {
  // Both sides are float32 sums of a few hundred products; the scale is the largest block.
  const TOLERANCE = arithmeticTolerance.float32;

  for (const loss of ['ce', 'mse'] as const) {
    for (const init of ['lecun', 'pytorch'] as const) {
      it(`equals the blocks of the assembled Hessian (${loss}, ${init}, N 24, d 5, m 3, C 4)`, async () => {
        const [n, d, m, classes] = [24, 5, 3, 4];
        const rng = createRandom(7);
        const x = tf.tensor2d(Float32Array.from(rng.gaussianVector(n * d)), [n, d]);
        const oneHot = new Float32Array(n * classes);
        for (let k = 0; k < n; k++) oneHot[k * classes + (k % classes)] = 1;
        const y = tf.tensor2d(oneHot, [n, classes]);
        const model = buildModel(tf, 'one-hidden', init, d, m, classes, rng.split());
        const { operator, layout } = modelCurvature(model, {
          tf,
          x,
          y,
          loss: loss === 'ce' ? 'softmaxCrossEntropy' : 'meanSquaredError',
          layout: 'unit',
          selfCheck: false,
        });
        const exact = exactBlockNorms(await denseMatrix(operator), layout.dim, layout);
        const [hiddenKernel, outKernel] = model.getWeights() as tf.Tensor2D[];
        const closed = closedFormBlockNorms({ tf, x, y, hiddenKernel, outKernel, loss });
        expect(closed.names).toEqual(exact.names);
        const scale = Math.max(...exact.frobeniusSq.flat());
        for (const [i, row] of exact.frobeniusSq.entries()) {
          for (const [j, value] of row.entries()) {
            const error = Math.abs(closed.frobeniusSq[i][j] - value);
            if (error > TOLERANCE * scale) {
              throw new Error(
                `block (${exact.names[i]}, ${exact.names[j]}): closed form ${closed.frobeniusSq[i][j]}, Hessian ${value}`,
              );
            }
          }
        }
        // The MSE class blocks are exactly diagonal; cross-entropy's are not.
        const offClass = closed.frobeniusSq[m][m + 1];
        if (loss === 'mse') expect(offClass).toBe(0);
        else expect(offClass).toBeGreaterThan(0);
        model.dispose();
        tf.dispose([x, y]);
      });
    }
  }

  it('rejects mismatched shapes before any work', () => {
    const x = tf.zeros([4, 3]) as tf.Tensor2D;
    const y = tf.zeros([4, 2]) as tf.Tensor2D;
    const k1 = tf.zeros([3, 2]) as tf.Tensor2D;
    const k2 = tf.zeros([3, 2]) as tf.Tensor2D;
    expect(() =>
      closedFormBlockNorms({ tf, x, y, hiddenKernel: k1, outKernel: k2, loss: 'ce' }),
    ).toThrow(/expected x N×d, y N×C, kernels d×m and m×C, got x 4,3, y 4,2, kernels 3,2 and 3,2/);
    tf.dispose([x, y, k1, k2]);
  });
});
