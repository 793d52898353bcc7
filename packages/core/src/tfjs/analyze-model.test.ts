import { beforeAll, describe, expect, it } from 'vitest';
import { prepareAnalyses } from '../analysis/analyze.js';
import { analysisSeeds } from '../analysis/seeds.js';
import { topEigenpairs } from '../eigenpairs.js';
import { NonFiniteLossError, OptionError } from '../errors.js';
import { analyzeModel, tfjsContext } from './analyze-model.js';
import { classHierarchy } from './class-hierarchy.js';
import { kroneckerDecoupling } from './kronecker.js';
import { modelCurvature } from './model.js';
import { classesSection, kroneckerSection } from './report-sections.js';
import { tf, useBackend } from './testing/backends.js';
import { gaussianData, oneHotLabels } from './testing/models.js';

/** A 5-6-3 tanh MLP with softmax output, compiled for cross-entropy, seeded weights. */
function smallModel() {
  const init = (seed: number) => tf.initializers.glorotUniform({ seed });
  const model = tf.sequential({
    name: 'small',
    layers: [
      tf.layers.dense({
        inputShape: [5],
        units: 6,
        activation: 'tanh',
        kernelInitializer: init(1),
      }),
      tf.layers.dense({ units: 3, activation: 'softmax', kernelInitializer: init(2) }),
    ],
  });
  model.compile({ optimizer: 'sgd', loss: 'categoricalCrossentropy' });
  return model;
}

const N = 12;
let x: tf.Tensor;
let y: tf.Tensor;

beforeAll(async () => {
  await useBackend('cpu');
  x = tf.tensor2d(Float32Array.from(gaussianData(3, N, 5)), [N, 5]);
  // Every class present (the class hierarchy needs them all).
  y = tf.tensor2d(Float32Array.from(oneHotLabels(N, 3).dense), [N, 3]);
});

describe('analyzeModel', () => {
  it('runs eigen and trace by default and reports the loss it differentiates', async () => {
    const model = smallModel();
    const report = await analyzeModel(model, { tf, x, y, seed: 4 });
    expect(report.model.name).toBe('small');
    expect(report.model.parameterCount).toBe(5 * 6 + 6 + 6 * 3 + 3);
    expect(report.probe).toEqual({ size: N, seed: 4 });
    expect(report.eigen?.values).toHaveLength(3);
    expect(report.trace?.matvecs).toBe(30);
    expect(report.density).toBeUndefined();
    const { lossValue } = modelCurvature(model, { tf, x, y });
    expect(report.loss).toBe(await lossValue());
  });

  it('gives the model-level sections of the library functions, with the documented seeds', async () => {
    const model = smallModel();
    const report = await analyzeModel(model, {
      tf,
      x,
      y,
      seed: 9,
      analyses: {
        eigen: false,
        trace: false,
        kronecker: { topK: 2 },
        classes: { traceProbes: 2, maxMatvecs: 40 },
        lambdaMin: true,
      },
    });
    const seeds = analysisSeeds(9);
    const layers = await kroneckerDecoupling(model, {
      tf,
      x,
      y,
      topK: 2,
      maxExactDim: 256,
      probes: 8,
      maxMatvecs: 150,
      seed: seeds.kronecker,
    });
    expect(report.kronecker).toEqual(kroneckerSection(layers));
    const hierarchy = await classHierarchy(model, {
      tf,
      x,
      y,
      hessian: true,
      maxMatvecs: 40,
      traceProbes: 2,
      seed: seeds.classes,
    });
    expect(report.classes).toEqual(classesSection(hierarchy));
    const { operator } = modelCurvature(model, { tf, x, y });
    const smallest = await topEigenpairs(operator, {
      k: 1,
      which: 'smallest',
      tol: 1e-3,
      maxMatvecs: 150,
      seed: seeds.lambdaMin,
    });
    expect(report.lambdaMin).toEqual({
      value: smallest.values[0],
      residual: smallest.residuals[0],
      converged: smallest.converged,
      matvecs: smallest.matvecs,
    });
  });

  it("spends no more products than each analysis's cost says (the callback's budget rests on it)", async () => {
    const model = smallModel();
    const context = tfjsContext(model, { tf, x, y });
    const all = {
      eigen: true,
      trace: true,
      density: true,
      blocks: { layout: 'unit' as const },
      layers: { gaussNewtonGap: true, couplingProbes: 2 },
      kronecker: { topK: 2 },
      classes: { traceProbes: 2 },
      lambdaMin: true,
    };
    for (const [name, options] of Object.entries(all)) {
      const analyses = { eigen: false, trace: false, [name]: options };
      const { cost } = prepareAnalyses(context, { analyses });
      const report = await analyzeModel(model, { tf, x, y, analyses });
      expect(report.matvecs, name).toBeLessThanOrEqual(cost);
      expect(report.matvecs, name).toBeGreaterThan(0);
    }
  });

  it('checks every option against the model before any product', async () => {
    const model = smallModel();
    const ggn = { tf, x, y, kind: 'ggn' as const };
    const cases = [
      [
        { analyses: { eigen: { k: 100 } } },
        /analyses\.eigen\.k to be at most the parameter count 57/,
      ],
      [{ ...ggn, analyses: { kronecker: true } }, /kind 'hessian' with analyses\.kronecker/],
      [{ ...ggn, analyses: { layers: { gaussNewtonGap: true } } }, /kind 'hessian'/],
      [
        { loss: 'meanSquaredError' as const, analyses: { classes: true } },
        /softmaxCrossEntropy loss with analyses\.classes, got 'meanSquaredError'/,
      ],
      [{ analyses: { classes: { maxMatvecs: 3 } } }, /classes\.maxMatvecs to be >= C \+ 1 \(4\)/],
      [
        { analyses: { blocks: { layout: 'neuron' } } },
        /blocks\.layout to be "layer" \| "tensor" \| "unit" \| "class", got "neuron"/,
      ],
    ] as const;
    for (const [options, message] of cases) {
      const before = tf.memory().numTensors;
      await expect(analyzeModel(model, { tf, x, y, ...options } as never)).rejects.toThrow(
        OptionError,
      );
      await expect(analyzeModel(model, { tf, x, y, ...options } as never)).rejects.toThrow(message);
      expect(tf.memory().numTensors).toBe(before);
    }
  });

  it('refuses diverged weights with a NonFiniteLossError before any product', async () => {
    const model = smallModel();
    const kernel = model.layers[0].getWeights()[0];
    model.layers[0].setWeights([
      tf.fill(kernel.shape, Number.NaN),
      model.layers[0].getWeights()[1],
    ]);
    await expect(analyzeModel(model, { tf, x, y })).rejects.toThrow(NonFiniteLossError);
  });
});
