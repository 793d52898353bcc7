import { beforeAll, describe, expect, it } from 'vitest';
import { classBlockMass, classIndex, exactClassBlockMass as exact } from '../class-blocks.js';
import { denseMatrix, symmetricPart } from '../dense.js';
import { OptionError } from '../errors.js';
import { layoutFromSizes, type ParameterLayout } from '../layout.js';
import { denseOperator } from '../operator.js';
import { createRandom } from '../random.js';
import { countingOperator } from '../testing/counting-operator.js';
import { analyzeModel, tfjsContext } from '../tfjs/analyze-model.js';
import { tf, useBackend } from '../tfjs/testing/backends.js';
import { gaussianData, oneHotLabels } from '../tfjs/testing/models.js';
import { analyzeOperator } from './analyze.js';
import { analysisSeeds } from './seeds.js';

/** The section's estimates are within 4 standard errors of the exact values (fixed seed). */
function expectNear(
  section: {
    total: number;
    totalStderr: number;
    within: number;
    withinStderr: number;
    crossRatio: number;
    crossRatioStderr: number;
  },
  truth: { total: number; within: number },
): void {
  expect(Math.abs(section.total - truth.total)).toBeLessThanOrEqual(4 * section.totalStderr);
  expect(Math.abs(section.within - truth.within)).toBeLessThanOrEqual(4 * section.withinStderr);
  const ratio = (truth.total - truth.within) / truth.within;
  expect(Math.abs(section.crossRatio - ratio)).toBeLessThanOrEqual(4 * section.crossRatioStderr);
  // Informative errors: well below the quantity.
  expect(section.withinStderr).toBeLessThan(0.2 * truth.within);
}

// A hidden block 'h' [7], an output weight 'w' [5, 4] (classes = columns, axis 1), a bias 'b' [4].
const layout: ParameterLayout = layoutFromSizes([
  { name: 'h', size: 7, shape: [7] },
  { name: 'w', size: 20, shape: [5, 4] },
  { name: 'b', size: 4, shape: [4] },
]);
const n = layout.dim;

function symmetric(seed: number): Float64Array {
  const random = createRandom(seed);
  const a = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      const v = random.gaussian();
      a[i * n + j] = v;
      a[j * n + i] = v;
    }
  }
  return a;
}

describe('the classBlocks analysis on an operator', () => {
  it('estimates T, D and the cross ratio of named blocks, as classBlockMass with its seed', async () => {
    const a = symmetric(1);
    const blocks = [{ name: 'w', axis: 1 }, { name: 'b' }];
    const { classBlocks } = await analyzeOperator(denseOperator(a, n), layout, {
      analyses: { eigen: false, trace: false, classBlocks: { blocks, probes: 300 } },
      seed: 3,
    });
    const section = classBlocks!;
    expect(section.classes).toBe(4);
    expect(section.blocks).toEqual([
      { name: 'w', axis: 1 },
      { name: 'b', axis: 0 },
    ]);
    expect(section.matvecs).toBe(600);
    const classOf = classIndex(layout, [
      { name: 'w', axis: 1 },
      { name: 'b', axis: 0 },
    ]);
    // Column c of w (entries 7 + 4k + c) and entry c of b are class c; h is outside.
    expect(Array.from(classOf.subarray(0, 12))).toEqual([
      -1, -1, -1, -1, -1, -1, -1, 0, 1, 2, 3, 0,
    ]);
    expect(Array.from(classOf.subarray(27))).toEqual([0, 1, 2, 3]);
    expectNear(section, exact(a, classOf));
    const direct = await classBlockMass(denseOperator(a, n), {
      classOf,
      probes: 300,
      seed: analysisSeeds(3).classBlocks,
    });
    expect(section.crossRatio).toBe(direct.crossRatio.estimate);
    expect(section.within).toBe(direct.within.estimate);
  });

  it('refuses, before any product, blocks it cannot resolve', async () => {
    const op = countingOperator(denseOperator(symmetric(2), n));
    const run = (classBlocks: object) =>
      analyzeOperator(op, layout, { analyses: { eigen: false, trace: false, classBlocks } });
    // No output layer known to a bare operator: the blocks must be named.
    await expect(run({})).rejects.toThrow(
      /cannot tell the output layer.*analyses\.classBlocks\.blocks/,
    );
    // A 2-D block needs its axis when no output layer tells C.
    await expect(run({ blocks: [{ name: 'w' }] })).rejects.toThrow(/axis of class block 'w'/);
    await expect(run({ blocks: [{ name: 'v', axis: 0 }] })).rejects.toThrow(/'v' to be a block/);
    await expect(run({ blocks: [{ name: 'w', axis: 2 }] })).rejects.toThrow(/in \[0, 1\], got 2/);
    await expect(run({ blocks: [{ name: 'w', axis: 0 }, { name: 'b' }] })).rejects.toThrow(
      /'b' to have 5 entries along axis 0/,
    );
    await expect(run({ blocks: [{ name: 'b' }, { name: 'b' }] })).rejects.toThrow(/twice/);
    await expect(run({ probes: 1, blocks: [{ name: 'b' }] })).rejects.toThrow(
      /analyses\.classBlocks\.probes to be an integer >= 2/,
    );
    await expect(run({ blocks: [] })).rejects.toThrow(OptionError);
    expect(op.calls).toBe(0);
  });
});

describe('the classBlocks analysis on a tfjs model', () => {
  beforeAll(async () => {
    await useBackend('cpu');
  });

  it("defaults to the output layer's kernel columns and bias, and matches the exact block norms", async () => {
    const init = (seed: number) => tf.initializers.glorotUniform({ seed });
    const model = tf.sequential({
      layers: [
        tf.layers.dense({
          inputShape: [4],
          units: 5,
          activation: 'tanh',
          kernelInitializer: init(1),
        }),
        tf.layers.dense({ units: 3, kernelInitializer: init(2), biasInitializer: init(3) }),
      ],
    });
    model.compile({ optimizer: 'sgd', loss: 'categoricalCrossentropy' });
    const N = 10;
    const x = tf.tensor2d(Float32Array.from(gaussianData(5, N, 4)), [N, 4]);
    const y = tf.tensor2d(Float32Array.from(oneHotLabels(N, 3).dense), [N, 3]);
    const loss = 'softmaxCrossEntropy';
    const report = await analyzeModel(model, {
      tf,
      x,
      y,
      loss,
      analyses: { eigen: false, trace: false, classBlocks: { probes: 400 } },
      seed: 2,
    });
    const section = report.classBlocks!;
    const [kernel, bias] = model.layers[1].trainableWeights.map((w) => w.name);
    expect(section.blocks).toEqual([
      { name: kernel, axis: 1 },
      { name: bias, axis: 0 },
    ]);
    expect(section.classes).toBe(3);
    const context = tfjsContext(model, { tf, x, y, loss });
    const dim = context.layout.dim;
    const a = symmetricPart(await denseMatrix(context.operator, { maxDim: dim }), dim);
    const truth = exact(a, classIndex(context.layout, section.blocks));
    expectNear(section, truth);
    // The output layer of a softmax: cross-class blocks are far from negligible at C = 3.
    expect(truth.total - truth.within).toBeGreaterThan(0.05 * truth.within);
    tf.dispose([x, y]);
  });
});
