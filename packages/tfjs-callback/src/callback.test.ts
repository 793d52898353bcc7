import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type AnalysisRequest,
  analysisDefaults,
  type CurvatureReport,
  decodeReport,
  encodeReport,
  OptionError,
  REPORT_SCHEMA_VERSION,
} from '@hessian-probe/core';
import { selfCheckResult } from '@hessian-probe/core/internal';
import { analyzeModel, modelCurvature } from '@hessian-probe/core/tfjs';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  BACKENDS,
  clusters,
  seededMathRandom,
  tf,
  tinyModel,
  useBackend,
  useCpu,
  weightBits,
} from '../test/tiny-models.js';
import { type HessianCallback, hessianCallback } from './callback.js';
import { curvatureMetrics } from './metrics.js';
import type { HessianCallbackOptions } from './options.js';
import { budgetAllows } from './schedule.js';
import { readReports } from './sinks/jsonl.js';

const train = clusters(64, 1);
const probe = clusters(24, 2);
/** 64 examples in batches of 16: 4 optimizer steps per epoch. */
const BATCH = 16;
const STEPS = 4;
/** Cheap analyses for tests that are about the callback, not the numerics. */
const CHEAP = { eigen: { k: 1, maxMatvecs: 20 }, trace: { matvecs: 6 } } as const;

beforeAll(useCpu);
afterEach(() => {
  vi.restoreAllMocks();
});

/**
 * The fields of a report that do not depend on when or through which door it was made: what
 * analyzeModel, the callback and the command must agree on.
 */
function analysed(report: CurvatureReport) {
  const {
    timestamp: _t,
    seconds: _s,
    wallSeconds: _w,
    epoch: _e,
    step: _p,
    batch: _b,
    model,
    ...rest
  } = report;
  return { ...rest, parameterCount: model.parameterCount, layout: model.layout };
}

function tensors() {
  return { x: tf.tensor2d(train.x), y: tf.tensor2d(train.y) };
}

describe('hessianCallback: options are checked at construction', () => {
  const base = (): HessianCallbackOptions => ({ tf, probe: { x: probe.x, y: probe.y } });
  const cases: [string, (o: HessianCallbackOptions) => unknown, RegExp][] = [
    ['an unknown option', (o) => ({ ...o, epochs: 3 }), /options among .*got 'epochs'/],
    ['tf that is not tfjs', (o) => ({ ...o, tf: {} }), /expected tf to be the TensorFlow\.js/],
    ['no probe', (o) => ({ ...o, probe: undefined }), /probe to be \{ x, y \}/],
    ['an empty probe', (o) => ({ ...o, probe: { x: [], y: [] } }), /probe\.x .* N >= 1/],
    [
      'x and y of different sizes',
      (o) => ({ ...o, probe: { x: probe.x, y: probe.y.slice(1) } }),
      /same number of examples, got 24 and 23/,
    ],
    [
      'a probe batchSize of 0',
      (o) => ({ ...o, probe: { ...o.probe, batchSize: 0 } }),
      /probe\.batchSize/,
    ],
    ['an empty name', (o) => ({ ...o, name: '' }), /name to be a non-empty string/],
    ['an unknown kind', (o) => ({ ...o, kind: 'fisher' }), /kind to be 'hessian' \| 'ggn'/],
    ['an unknown loss', (o) => ({ ...o, loss: 'hinge' }), /expected loss among/],
    ['a fractional seed', (o) => ({ ...o, seed: 1.5 }), /seed to be a safe integer/],
    ['a budget of 0', (o) => ({ ...o, budget: 0 }), /budget in \(0, 1\], got 0/],
    ['a budget above 1', (o) => ({ ...o, budget: 1.5 }), /budget in \(0, 1\]/],
    ['onReport not a function', (o) => ({ ...o, onReport: 'log' }), /onReport to be a function/],
    ['a sink timeout of 0', (o) => ({ ...o, sinkTimeoutSeconds: 0 }), /sinkTimeoutSeconds to be/],
    ['verbose not a boolean', (o) => ({ ...o, verbose: 1 }), /verbose to be a boolean/],
    ['strict not a boolean', (o) => ({ ...o, strict: 1 }), /strict to be a boolean/],
    ['metrics of the wrong shape', (o) => ({ ...o, metrics: {} }), /curvatureMetrics\(\)/],
    ['a negative history', (o) => ({ ...o, history: -1 }), /history to be a boolean or/],
    ['an empty reportsTo', (o) => ({ ...o, reportsTo: '' }), /jsonlSink: expected path/],
    [
      'a schedule without triggers',
      (o) => ({ ...o, schedule: { atTrainBegin: false, atTrainEnd: false } }),
      /at least one trigger/,
    ],
    ['an unknown analysis', (o) => ({ ...o, analyses: { hessian: true } }), /analyses among/],
    ['k = 0', (o) => ({ ...o, analyses: { eigen: { k: 0 } } }), /analyses\.eigen\.k/],
    [
      'maxMatvecs below k',
      (o) => ({ ...o, analyses: { eigen: { k: 5, maxMatvecs: 4 } } }),
      /analyses\.eigen\.maxMatvecs to be an integer >= k \(5\), got 4/,
    ],
    [
      'a Hutch++ budget of 2',
      (o) => ({ ...o, analyses: { trace: { matvecs: 2 } } }),
      /trace\.matvecs to be an integer >= 3/,
    ],
    [
      'an unknown block layout',
      (o) => ({ ...o, analyses: { blocks: { layout: 'neuron' } } }),
      /blocks\.layout/,
    ],
    [
      'an unknown density option',
      (o) => ({ ...o, analyses: { density: { bins: 10 } } }),
      /no option 'bins' in analyses\.density/,
    ],
    [
      'the Gauss–Newton gap of a GGN analysis',
      (o) => ({ ...o, kind: 'ggn', analyses: { layers: { gaussNewtonGap: true } } }),
      /kind 'hessian' with analyses\.layers/,
    ],
    [
      'Kronecker factors of a GGN analysis',
      (o) => ({ ...o, kind: 'ggn', analyses: { kronecker: true } }),
      /kind 'hessian' with analyses\.kronecker/,
    ],
    [
      'the class hierarchy of a mean-squared-error loss',
      (o) => ({ ...o, loss: 'meanSquaredError', analyses: { classes: true } }),
      /softmaxCrossEntropy loss with analyses\.classes, got 'meanSquaredError'/,
    ],
    [
      'a one-probe class trace',
      (o) => ({ ...o, analyses: { classes: { traceProbes: 1 } } }),
      /traceProbes to be an integer >= 2, or 0 \(exact\), got 1/,
    ],
    [
      'tf without tfjs-layers and no model',
      (o) => ({ ...o, tf: { ...tf, Callback: undefined } }),
      /tfjs-layers' Callback class .* or options\.model/,
    ],
  ];
  it.each(cases)('rejects %s', (_, change, message) => {
    const build = () => hessianCallback(change(base()) as HessianCallbackOptions);
    expect(build).toThrow(OptionError);
    expect(build).toThrow(message);
  });

  it('accepts the defaults and documents them', () => {
    const callback = hessianCallback(base());
    expect(callback).toBeInstanceOf(tf.Callback);
    expect(callback.history).toEqual([]);
    expect(callback.stats).toEqual({
      analyses: 0,
      failed: 0,
      skipped: {},
      sinkErrors: {},
      overBudget: 0,
      seconds: 0,
    });
    // The defaults are the analyses' own, declared once in core.
    expect(analysisDefaults('eigen')).toEqual({ k: 3, tol: 1e-3, maxMatvecs: 150, verify: true });
  });
});

describe('hessianCallback in model.fit()', () => {
  it('reports once per step when triggers coincide, with the documented fields', async () => {
    const model = tinyModel();
    const { x, y } = tensors();
    const xProbe = tf.tensor2d(probe.x);
    const yProbe = tf.tensor2d(probe.y);
    const reported: CurvatureReport[] = [];
    const callback = hessianCallback({
      tf,
      probe: { x: xProbe, y: yProbe },
      // Every epoch end, every 4th batch end (= every epoch end) and train end coincide.
      schedule: { everyEpochs: 1, everyBatches: STEPS, atTrainEnd: true },
      budget: 1,
      seed: 5,
      onReport: (r) => {
        reported.push(r);
      },
    });
    await model.fit(x, y, { epochs: 2, batchSize: BATCH, callbacks: [callback], verbose: 0 });

    expect(callback.history.map((r) => [r.epoch, r.step, r.batch])).toEqual([
      [0, 0, undefined],
      [1, STEPS, STEPS - 1],
      [2, 2 * STEPS, STEPS - 1],
    ]);
    expect(reported).toEqual(callback.history);
    expect(callback.stats).toMatchObject({ analyses: 3, failed: 0, skipped: {} });
    for (const report of callback.history) {
      expect(report.schemaVersion).toBe(REPORT_SCHEMA_VERSION);
      // fit() of a tf.Sequential runs on (and tells callbacks) its inner LayersModel.
      expect(report.model.name).toBe(`${model.name}_model`);
      expect(report.model.parameterCount).toBe(67);
      expect(report.model.layout.blocks.map((b) => b.size)).toEqual([32, 8, 24, 3]);
      expect(report.probe).toEqual({ size: 24, seed: 5 });
      expect(report.kind).toBe('hessian');
      expect(report.eigen?.values).toHaveLength(3);
      expect(report.matvecs).toBe(report.eigen!.matvecs + report.trace!.matvecs);
      expect(report.density).toBeUndefined();
      // JSON-safe: what the JSONL sink writes reads back to the same report.
      expect(decodeReport(encodeReport(report))).toEqual(report);
    }

    // The last report describes the final weights: it is analyzeModel's report of them, with
    // the same request and seed (the loss is the one whose curvature it reports).
    const last = callback.history[2];
    const direct = await analyzeModel(model, { tf, x: xProbe, y: yProbe, seed: 5 });
    expect(analysed(last)).toEqual(analysed(direct));
    const { lossValue } = modelCurvature(model, { tf, x: xProbe, y: yProbe });
    expect(last.loss).toBe(await lossValue());
    tf.dispose([x, y, xProbe, yProbe]);
  });

  it('analyses the Gauss–Newton matrix with kind ggn and an explicit loss', async () => {
    const model = tinyModel();
    const xProbe = tf.tensor2d(probe.x);
    const yProbe = tf.tensor2d(probe.y);
    const callback = hessianCallback({
      tf,
      model,
      probe: { x: xProbe, y: yProbe },
      kind: 'ggn',
      loss: 'softmaxCrossEntropy',
      analyses: { eigen: { k: 2 }, trace: { matvecs: 12 }, density: true },
      budget: 1,
      seed: 2,
      selfCheck: false,
    });
    const { x, y } = tensors();
    await model.fit(x, y, { epochs: 1, batchSize: BATCH, callbacks: [callback], verbose: 0 });
    const last = callback.history.at(-1)!;
    expect(last.kind).toBe('ggn');
    const direct = await analyzeModel(model, {
      tf,
      x: xProbe,
      y: yProbe,
      kind: 'ggn',
      loss: 'softmaxCrossEntropy',
      analyses: { eigen: { k: 2 }, trace: { matvecs: 12 }, density: true },
      seed: 2,
      selfCheck: false,
    });
    expect(analysed(last)).toEqual(analysed(direct));
    // The GGN is positive semi-definite: no Ritz value below 0 beyond float32 rounding.
    expect(last.density!.negativeFraction).toBe(0);
    expect(last.density!.lambdaMin).toBeGreaterThan(-1e-6 * last.density!.lambdaMax);
    tf.dispose([x, y, xProbe, yProbe]);
  });

  it("reports the loss it differentiates: the `loss` option's, not the compiled one", async () => {
    const model = tinyModel(); // compiled with categorical cross-entropy
    const xProbe = tf.tensor2d(probe.x);
    const yProbe = tf.tensor2d(probe.y);
    const callback = hessianCallback({
      tf,
      model,
      probe: { x: xProbe, y: yProbe },
      loss: 'meanSquaredError',
      analyses: { eigen: false, trace: { matvecs: 3 } },
      schedule: { atTrainBegin: true, atTrainEnd: false },
      budget: 1,
      selfCheck: false,
    });
    // At the initial weights (the train-begin analysis): the mean over samples and outputs of
    // (softmax − one-hot)², on the host in float64 from tfjs's probabilities, equals the
    // report's float32 mean to its rounding (≈ 2^-24 relative per operation).
    const probabilities = model.predict(xProbe) as tf.Tensor;
    const p = await probabilities.data();
    const t = await yProbe.data();
    probabilities.dispose();
    let mse = 0;
    for (let i = 0; i < p.length; i++) mse += (p[i] - t[i]) ** 2;
    mse /= p.length;
    const evaluated = model.evaluate(xProbe, yProbe) as tf.Scalar;
    const crossEntropy = (await evaluated.data())[0];
    evaluated.dispose();
    const { x, y } = tensors();
    await model.fit(x, y, { epochs: 1, batchSize: BATCH, callbacks: [callback], verbose: 0 });
    const [report] = callback.history;
    expect(Math.abs(report.loss - mse)).toBeLessThan(1e-6 * mse);
    expect(Math.abs(report.loss - crossEntropy)).toBeGreaterThan(0.1);
    callback.dispose();
    tf.dispose([x, y, xProbe, yProbe]);
  });

  it('runs a batch-triggered analysis before the next step, labelled with its batch', async () => {
    const model = tinyModel();
    const { x, y } = tensors();
    const callback = hessianCallback({
      tf,
      probe: { x: probe.x, y: probe.y },
      schedule: { everyBatches: 3 },
      analyses: CHEAP,
      budget: 1,
    });
    await model.fit(x, y, { epochs: 2, batchSize: BATCH, callbacks: [callback], verbose: 0 });
    // Steps 3 and 6 end batches 2 (epoch 0) and 1 (epoch 1); then train begin and end.
    expect(callback.history.map((r) => [r.epoch, r.step, r.batch])).toEqual([
      [0, 0, undefined],
      [0, 3, 2],
      [1, 6, 1],
      [2, 8, undefined],
    ]);
    callback.dispose();
    tf.dispose([x, y]);
  });

  it.each(BACKENDS)(
    'leaves training bit-identical on %s: same seed, same final weights with and without it',
    async (backend) => {
      await useBackend(backend);
      const { x, y } = tensors();
      const fit = async (callbacks: (model: tf.Sequential) => tf.CustomCallbackArgs[]) => {
        // tfjs shuffles with Math.random and draws unseeded dropout masks from it: a seeded
        // stand-in makes both runs see the same stream, unless the callback consumed from it.
        vi.spyOn(Math, 'random').mockImplementation(seededMathRandom(9));
        const model = tinyModel({ dropout: true });
        await model.fit(x, y, {
          epochs: 3,
          batchSize: BATCH,
          shuffle: true,
          callbacks: callbacks(model),
          verbose: 0,
        });
        vi.restoreAllMocks();
        return { model, bits: await weightBits(model) };
      };
      let callback: HessianCallback | undefined;
      const withCallback = await fit((model) => {
        callback = hessianCallback({
          tf,
          model,
          probe: { x: probe.x, y: probe.y },
          schedule: { everyEpochs: 1, everyBatches: 3 },
          analyses: {
            density: true,
            blocks: { layout: 'class' },
            layers: { gaussNewtonGap: true, couplingProbes: 2 },
            kronecker: { topK: 2 },
            classes: { traceProbes: 2, maxMatvecs: 40 },
          },
          budget: 1,
        });
        return [callback];
      });
      const without = await fit(() => []);
      // The analyses ran, including the self-check that perturbs and restores the variables.
      // Steps 0, 3, 4, 6, 8, 9 and 12 (epoch ends 4, 8, 12; batch triggers 3, 6, 9, 12).
      expect(callback?.history.map((r) => r.step)).toEqual([0, 3, 4, 6, 8, 9, 12]);
      expect(await selfCheckResult(withCallback.model)).toMatchObject({ checked: 3 });
      let differing = 0;
      for (const [i, bits] of withCallback.bits.entries()) {
        for (let j = 0; j < bits.length; j++) if (bits[j] !== without.bits[i][j]) differing++;
      }
      expect(differing).toBe(0);
      // A control: a callback that draws one number from Math.random changes the weights, so the
      // comparison above can see a disturbance of the random stream.
      const disturbed = await fit(() => [{ onEpochEnd: () => void Math.random() }]);
      const changed = disturbed.bits.some((bits, i) =>
        bits.some((b, j) => b !== without.bits[i][j]),
      );
      expect(changed).toBe(true);
      callback?.dispose();
      tf.dispose([x, y]);
      await useCpu();
    },
  );

  it('leaks no tensor over epochs, and frees the probe tensors it made on dispose()', async () => {
    const { x, y } = tensors();
    /** Tensors alive at each epoch end, relative to before fit(), with `callbacks` first. */
    const epochCounts = async (callbacks: tf.CustomCallbackArgs[]) => {
      const counts: number[] = [];
      const before = tf.memory().numTensors;
      // tfjs's own History keeps one loss tensor per epoch until fit() ends, so the counts grow
      // without any callback: the check is against a run without the hessian callback.
      const observer = new tf.CustomCallback({
        onEpochEnd: () => void counts.push(tf.memory().numTensors - before),
      });
      await tinyModel().fit(x, y, {
        epochs: 4,
        batchSize: BATCH,
        verbose: 0,
        callbacks: [...callbacks, observer],
      });
      return { counts, after: tf.memory().numTensors - before };
    };
    const callback = hessianCallback({
      tf,
      probe: { x: probe.x, y: probe.y },
      schedule: { everyEpochs: 1, everyBatches: 2 },
      analyses: {
        ...CHEAP,
        density: true,
        blocks: { layout: 'unit', probes: 1 },
        layers: { gaussNewtonGap: true },
        kronecker: { topK: 2 },
        classes: { traceProbes: 2, maxMatvecs: 40 },
      },
      budget: 1,
    });
    const withCallback = await epochCounts([callback]);
    const without = await epochCounts([]);
    expect(callback.history.length).toBe(9);
    // The probe arrays became two tensors at the first analysis, kept for the next fit(); no
    // other tensor survives an analysis.
    expect(withCallback.counts.map((c, i) => c - without.counts[i])).toEqual([2, 2, 2, 2]);
    expect(withCallback.after - without.after).toBe(2);
    const beforeDispose = tf.memory().numTensors;
    callback.dispose();
    expect(tf.memory().numTensors).toBe(beforeDispose - 2);
    tf.dispose([x, y]);
  });

  it('works for two fit() calls in a row: steps restart, history accumulates', async () => {
    const model = tinyModel();
    const { x, y } = tensors();
    const callback = hessianCallback({
      tf,
      probe: { x: probe.x, y: probe.y },
      schedule: { everyEpochs: 2 },
      analyses: CHEAP,
      budget: 1,
    });
    await model.fit(x, y, { epochs: 2, batchSize: BATCH, callbacks: [callback], verbose: 0 });
    await model.fit(x, y, { epochs: 3, batchSize: BATCH, callbacks: [callback], verbose: 0 });
    expect(callback.history.map((r) => [r.epoch, r.step])).toEqual([
      [0, 0],
      [2, 2 * STEPS],
      [0, 0],
      [2, 2 * STEPS],
      [3, 3 * STEPS],
    ]);
    // The second fit starts from the first one's weights: its train-begin loss is the first
    // fit's train-end loss.
    expect(callback.history[2].loss).toBe(callback.history[1].loss);
    callback.dispose();
    tf.dispose([x, y]);
  });

  it("probes per-class blocks with the 'class' layout: analyzeModel's numbers", async () => {
    const model = tinyModel();
    const { x, y } = tensors();
    const xProbe = tf.tensor2d(probe.x);
    const yProbe = tf.tensor2d(probe.y);
    const callback = hessianCallback({
      tf,
      probe: { x: xProbe, y: yProbe },
      schedule: { everyEpochs: 1 },
      analyses: { eigen: false, trace: false, blocks: { layout: 'class', probes: 3 } },
      budget: 1,
      seed: 2,
    });
    await model.fit(x, y, { epochs: 1, batchSize: BATCH, callbacks: [callback], verbose: 0 });
    const [hidden, out] = model.layers.map((l) => l.name);
    const last = callback.history.at(-1)!;
    expect(last.blocks?.names).toEqual([hidden, `${out}/unit_0`, `${out}/unit_1`, `${out}/unit_2`]);
    const direct = await analyzeModel(model, {
      tf,
      x: xProbe,
      y: yProbe,
      analyses: { eigen: false, trace: false, blocks: { layout: 'class', probes: 3 } },
      seed: 2,
    });
    expect(last.blocks).toEqual(direct.blocks);
    // 67 parameters > 3 probes · 4 blocks: estimated, with the class pairs within one layer.
    expect(last.blocks?.method).toBe('randomized');
    expect(last.blocks?.withinLayer?.pairs).toBe(6);
    expect(last.blocks?.crossLayer?.pairs).toBe(6);
    callback.dispose();
    tf.dispose([x, y, xProbe, yProbe]);
  });

  it("reports the layer spectra and the layer coupling: analyzeModel's numbers", async () => {
    const model = tinyModel();
    const { x, y } = tensors();
    const xProbe = tf.tensor2d(probe.x);
    const yProbe = tf.tensor2d(probe.y);
    const analyses: AnalysisRequest = {
      eigen: false,
      trace: false,
      layers: { couplingProbes: 2, gaussNewtonGap: true },
    };
    const callback = hessianCallback({
      tf,
      probe: { x: xProbe, y: yProbe },
      schedule: { everyEpochs: 1 },
      analyses,
      budget: 1,
      seed: 2,
    });
    await model.fit(x, y, { epochs: 1, batchSize: BATCH, callbacks: [callback], verbose: 0 });
    const last = callback.history.at(-1)!;
    const direct = await analyzeModel(model, { tf, x: xProbe, y: yProbe, analyses, seed: 2 });
    expect(last.layers).toEqual(direct.layers);
    expect(last.layerCoupling).toEqual(direct.layerCoupling);
    expect(last.gaussNewtonGap).toEqual(direct.gaussNewtonGap);
    // The output layer's own block has E = 0 (the logits are linear in its weights): H_ll = G_ll.
    expect(last.layers?.at(-1)?.gaussNewtonGap).toBeLessThan(1e-5);
    expect(last.gaussNewtonGap?.ratio).toBeGreaterThan(1e-3);
    // 67 parameters > 1·16 + 12: the coupling is probed, 2 products per layer.
    expect(last.layerCoupling?.method).toBe('stochastic');
    expect(last.layerCoupling?.matvecs).toBe(2 * 2);
    expect(last.layers?.every((l) => l.effectiveRank !== undefined)).toBe(true);
    callback.dispose();
    tf.dispose([x, y, xProbe, yProbe]);
  });

  it("adds the Kronecker and class-hierarchy sections: analyzeModel's on the same weights", async () => {
    const model = tinyModel({ activation: 'relu' });
    const { x, y } = tensors();
    const xProbe = tf.tensor2d(probe.x);
    const yProbe = tf.tensor2d(probe.y);
    const metrics = curvatureMetrics();
    const callback = hessianCallback({
      tf,
      probe: { x: xProbe, y: yProbe },
      schedule: { atTrainBegin: false, atTrainEnd: true },
      analyses: {
        eigen: false,
        trace: false,
        kronecker: { topK: 2 },
        classes: { traceProbes: 0, maxMatvecs: 60 },
      },
      metrics,
      budget: 1,
      seed: 3,
    });
    await model.fit(x, y, { epochs: 1, batchSize: BATCH, callbacks: [callback], verbose: 0 });
    expect(callback.stats).toMatchObject({ analyses: 1, failed: 0 });
    const [report] = callback.history;
    const direct = await analyzeModel(model, {
      tf,
      x: xProbe,
      y: yProbe,
      analyses: {
        eigen: false,
        trace: false,
        kronecker: { topK: 2 },
        classes: { traceProbes: 0, maxMatvecs: 60 },
      },
      seed: 3,
    });
    expect(analysed(report)).toEqual(analysed(direct));
    // The last layer's output factor has rank C − 1 = 2 under cross-entropy.
    expect(report.kronecker?.at(-1)?.outliers).toBe(2);
    expect(report.matvecs).toBe(
      report.kronecker!.reduce((sum, l) => sum + l.matvecs, 0) + report.classes!.matvecs,
    );
    const exposition = await metrics.registry.metrics();
    expect(exposition).toMatch(/^hessian_class_mean_overlap_ratio \S+$/m);
    expect(exposition).toMatch(/^hessian_kronecker_relative_error\{layer="[^"]+"\} \S+$/m);
    callback.dispose();
    tf.dispose([x, y, xProbe, yProbe]);
  });

  it('works in fitDataset(), and with a tfjs-core namespace plus options.model', async () => {
    const model = tinyModel();
    const dataset = tf.data
      .zip({ xs: tf.data.array(train.x), ys: tf.data.array(train.y) })
      .batch(BATCH) as tf.data.Dataset<tf.TensorContainer>;
    const inDataset = hessianCallback({
      tf,
      probe: { x: probe.x, y: probe.y },
      schedule: { everyEpochs: 1 },
      analyses: CHEAP,
      budget: 1,
    });
    await model.fitDataset(dataset, { epochs: 2, callbacks: [inDataset], verbose: 0 });
    expect(inDataset.history.map((r) => [r.epoch, r.step])).toEqual([
      [0, 0],
      [1, STEPS],
      [2, 2 * STEPS],
    ]);

    // Without tf.Callback the callback is a plain object: tfjs wraps it in a CustomCallback
    // (which resolves the logs and never calls setModel), so the model comes from the options.
    const coreOnly = { ...tf, Callback: undefined } as unknown as typeof tf;
    const plain = hessianCallback({
      tf: coreOnly,
      model,
      probe: { x: probe.x, y: probe.y },
      analyses: CHEAP,
      budget: 1,
    });
    expect(plain).not.toBeInstanceOf(tf.Callback);
    const { x, y } = tensors();
    await model.fit(x, y, { epochs: 1, batchSize: BATCH, callbacks: plain, verbose: 0 });
    expect(plain.history.map((r) => [r.epoch, r.step])).toEqual([
      [0, 0],
      [1, STEPS],
    ]);
    inDataset.dispose();
    plain.dispose();
    tf.dispose([x, y]);
  });

  it('writes the JSONL file and the metrics from the same reports', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'hessian-callback-'));
    try {
      const model = tinyModel();
      const { x, y } = tensors();
      const metrics = curvatureMetrics();
      const callback = hessianCallback({
        tf,
        probe: { x: probe.x, y: probe.y },
        schedule: { everyEpochs: 1 },
        analyses: CHEAP,
        budget: 1,
        metrics,
        reportsTo: join(dir, 'run', 'reports.jsonl'),
        name: 'tiny',
      });
      await model.fit(x, y, { epochs: 2, batchSize: BATCH, callbacks: [callback], verbose: 0 });
      const read = await readReports(join(dir, 'run', 'reports.jsonl'));
      expect(read.map((r) => r.model.name)).toEqual(['tiny', 'tiny', 'tiny']);
      expect(read.map(encodeReport)).toEqual(callback.history.map(encodeReport));
      const last = callback.history.at(-1)!;
      const gauge = await metrics.registry.getSingleMetric('hessian_eigenvalue')!.get();
      expect(gauge.values.map((v) => v.value)).toEqual(last.eigen!.values);
      const hvps = await metrics.registry.getSingleMetric('hessian_matvecs_total')!.get();
      expect(hvps.values[0].value).toBe(callback.history.reduce((s, r) => s + r.matvecs, 0));
      callback.dispose();
      tf.dispose([x, y]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('hessianCallback: errors and non-finite losses never reach fit()', () => {
  it('sends an analysis error to onError, the counters and the log, and training goes on', async () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    const model = tinyModel({ activation: 'relu6' });
    const { x, y } = tensors();
    const metrics = curvatureMetrics();
    const errors: [unknown, unknown][] = [];
    const callback = hessianCallback({
      tf,
      probe: { x: probe.x, y: probe.y },
      schedule: { everyEpochs: 1 },
      analyses: CHEAP,
      budget: 1,
      metrics,
      onError: (error, context) => {
        errors.push([error, context]);
      },
    });
    const history = await model.fit(x, y, {
      epochs: 2,
      batchSize: BATCH,
      callbacks: [callback],
      verbose: 0,
    });
    expect(history.epoch).toEqual([0, 1]);
    expect(callback.stats).toMatchObject({ analyses: 0, failed: 3 });
    expect(errors.map(([e]) => (e as Error).name)).toEqual(Array(3).fill('UnsupportedLayerError'));
    expect(errors.map(([, c]) => c)).toEqual([
      { epoch: 0, step: 0 },
      { epoch: 1, step: STEPS },
      { epoch: 2, step: 2 * STEPS },
    ]);
    expect(warn.mock.calls.filter(([m]) => /relu6/.test(String(m)))).toHaveLength(3);
    const failed = await metrics.registry.getSingleMetric('hessian_analyses_failed_total')!.get();
    expect(failed.values[0].value).toBe(3);
    callback.dispose();
    tf.dispose([x, y]);
  });

  it('survives an onReport and an onError that throw; strict lets the error out', async () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    const model = tinyModel();
    const { x, y } = tensors();
    const boom = new Error('sink down');
    const lenient = hessianCallback({
      tf,
      probe: { x: probe.x, y: probe.y },
      analyses: CHEAP,
      budget: 1,
      onReport: () => {
        throw boom;
      },
      onError: () => {
        throw new Error('handler down');
      },
    });
    await model.fit(x, y, { epochs: 1, batchSize: BATCH, callbacks: [lenient], verbose: 0 });
    // A sink error, not a failed analysis: the reports were made and kept.
    expect(lenient.stats).toMatchObject({ analyses: 2, failed: 0, sinkErrors: { onReport: 2 } });
    expect(lenient.history).toHaveLength(2);
    expect(
      warn.mock.calls.filter(([m]) => /the onReport sink did not take .*sink down/.test(String(m))),
    ).toHaveLength(2);

    const strict = hessianCallback({
      tf,
      probe: { x: probe.x, y: probe.y },
      analyses: CHEAP,
      strict: true,
      budget: 1, // a fit this short has no room for an analysis within the default budget
      onReport: () => {
        throw boom;
      },
    });
    await expect(
      model.fit(x, y, { epochs: 1, batchSize: BATCH, callbacks: [strict], verbose: 0 }),
    ).rejects.toBe(boom);
    expect(strict.stats).toMatchObject({ failed: 0, sinkErrors: { onReport: 1 } });
    lenient.dispose();
    strict.dispose();
    tf.dispose([x, y]);
  });

  it('gives every sink every report: a failing JSONL file and a hanging onReport block nothing', async () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    const model = tinyModel();
    const { x, y } = tensors();
    const dir = await mkdtemp(join(tmpdir(), 'hessian-sinks-'));
    try {
      // The JSONL path is a folder: every write fails with EISDIR.
      const metrics = curvatureMetrics();
      const recorded = vi.spyOn(metrics, 'record');
      let calls = 0;
      const callback = hessianCallback({
        tf,
        probe: { x: probe.x, y: probe.y },
        analyses: CHEAP,
        budget: 1,
        metrics,
        reportsTo: dir,
        sinkTimeoutSeconds: 0.2,
        onReport: () => {
          calls++;
          return new Promise<void>(() => {}); // never settles
        },
      });
      const started = performance.now();
      await model.fit(x, y, { epochs: 1, batchSize: BATCH, callbacks: [callback], verbose: 0 });
      const seconds = (performance.now() - started) / 1000;
      expect(callback.stats).toMatchObject({
        analyses: 2,
        failed: 0,
        sinkErrors: { jsonl: 2, onReport: 2 },
      });
      expect(calls).toBe(2);
      expect(recorded).toHaveBeenCalledTimes(2);
      const errors = await metrics.registry.getSingleMetric('hessian_sink_errors_total')!.get();
      expect(Object.fromEntries(errors.values.map((v) => [v.labels.sink, v.value]))).toEqual({
        jsonl: 2,
        onReport: 2,
      });
      expect(
        warn.mock.calls.some(([m]) => /onReport did not finish within 0.2 s/.test(String(m))),
      ).toBe(true);
      expect(seconds).toBeLessThan(30); // not forever: each hang costs its timeout once
      callback.dispose();
    } finally {
      await rm(dir, { recursive: true, force: true });
      tf.dispose([x, y]);
    }
  });

  it('records the edge-of-stability threshold 2/η for plain SGD only', async () => {
    const thresholds: (number | undefined)[] = [];
    for (const optimizer of ['sgd', 'adam'] as const) {
      const model = tinyModel({ optimizer });
      const { x, y } = tensors();
      const metrics = curvatureMetrics();
      const callback = hessianCallback({
        tf,
        probe: { x: probe.x, y: probe.y },
        analyses: CHEAP,
        budget: 1,
        metrics,
      });
      await model.fit(x, y, { epochs: 1, batchSize: BATCH, callbacks: [callback], verbose: 0 });
      const gauge = await metrics.registry
        .getSingleMetric('hessian_edge_of_stability_threshold')!
        .get();
      thresholds.push(gauge.values[0]?.value);
      callback.dispose();
      tf.dispose([x, y]);
    }
    // tinyModel's SGD has η = 0.1; Adam's threshold is not 2/η, so none is recorded.
    expect(thresholds[0]).toBeCloseTo(20, 12);
    expect(thresholds[1]).toBeUndefined();
  });

  it('puts the headline numbers into the epoch logs (History sees them) and prints them when verbose', async () => {
    const info = vi.spyOn(console, 'info').mockImplementation(() => {});
    const model = tinyModel();
    const { x, y } = tensors();
    const callback = hessianCallback({
      tf,
      probe: { x: probe.x, y: probe.y },
      schedule: { atTrainBegin: false, everyEpochs: 1, atTrainEnd: false },
      analyses: CHEAP,
      budget: 1,
      epochLogs: true,
      verbose: true,
    });
    const history = await model.fit(x, y, {
      epochs: 2,
      batchSize: BATCH,
      callbacks: [callback],
      verbose: 0,
    });
    const reports = callback.history;
    expect(reports).toHaveLength(2);
    expect(history.history.hessian_lambda_max).toEqual(reports.map((r) => r.eigen?.values[0]));
    expect(history.history.hessian_trace).toEqual(reports.map((r) => r.trace?.estimate));
    expect(history.history.hessian_loss).toEqual(reports.map((r) => r.loss));
    const lines = info.mock.calls.map(([m]) => String(m));
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(
      /^hessianCallback: epoch 1, step 4: λmax .*, trace .*, loss .* products\)$/,
    );
    callback.dispose();
    tf.dispose([x, y]);
  });

  it('skips and counts an analysis when the loss is not finite (tensor logs, NaN weights)', async () => {
    vi.spyOn(console, 'warn').mockImplementation(() => {});
    const model = tinyModel();
    const metrics = curvatureMetrics();
    const callback = hessianCallback({
      tf,
      model,
      probe: { x: probe.x, y: probe.y },
      schedule: { atTrainBegin: false, everyBatches: 1 },
      analyses: CHEAP,
      budget: 1,
      metrics,
    });
    // The lifecycle as fit() drives it, with the batch loss as a scalar tensor.
    callback.setParams({ epochs: 1 });
    await callback.onTrainBegin();
    await callback.onEpochBegin(0);
    const nan = tf.scalar(Number.NaN);
    await callback.onBatchEnd(0, { loss: nan });
    await callback.onBatchBegin(1);
    const finite = tf.scalar(0.5);
    await callback.onBatchEnd(1, { loss: finite });
    await callback.onBatchBegin(2);
    // The logs stay the caller's: nothing disposed them.
    expect(nan.isDisposed || finite.isDisposed).toBe(false);
    expect(callback.stats).toMatchObject({ analyses: 1, skipped: { non_finite_loss: 1 } });
    expect(callback.history.map((r) => r.step)).toEqual([2]);

    // NaN weights: the loss on the probe set is NaN, so the analysis is skipped before any HVP.
    for (const w of model.trainableWeights) w.write(tf.fill(w.shape as number[], Number.NaN));
    await callback.onBatchEnd(2, { loss: 0.4 });
    await callback.onEpochEnd(0, { loss: 0.4 });
    await callback.onTrainEnd();
    expect(callback.stats).toMatchObject({ analyses: 1, skipped: { non_finite_loss: 2 } });
    const skipped = await metrics.registry.getSingleMetric('hessian_analyses_skipped_total')!.get();
    expect(skipped.values.map((v) => [v.labels.reason, v.value])).toEqual([['non_finite_loss', 2]]);
    tf.dispose([nan, finite]);
    callback.dispose();
  });
});

describe('hessianCallback: the budget', () => {
  it('ends a fit the budget thinned to nothing with one train-end report, unless told not to', async () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    const model = tinyModel();
    const { x, y } = tensors();
    // A budget no analysis fits in: a few milliseconds of training, analyses of many products.
    const options = {
      tf,
      probe: { x: probe.x, y: probe.y },
      schedule: { everyEpochs: 1 },
      analyses: CHEAP,
      budget: 1e-6,
    } satisfies HessianCallbackOptions;
    const callback = hessianCallback(options);
    await model.fit(x, y, { epochs: 2, batchSize: BATCH, callbacks: [callback], verbose: 0 });
    expect(callback.stats).toMatchObject({ analyses: 1, overBudget: 1, failed: 0 });
    // Train begin and the 2 epoch ends (train end falls on the second's step: the same weights).
    expect(callback.stats.skipped.budget).toBe(3);
    expect(callback.history.map((r) => r.step)).toEqual([2 * STEPS]);
    expect(
      warn.mock.calls.some(([m]) =>
        /skipped every scheduled analysis.*over the budget/.test(String(m)),
      ),
    ).toBe(true);

    const optedOut = hessianCallback({ ...options, finalReport: false });
    await model.fit(x, y, { epochs: 2, batchSize: BATCH, callbacks: [optedOut], verbose: 0 });
    expect(optedOut.stats).toMatchObject({ analyses: 0, overBudget: 0 });
    callback.dispose();
    optedOut.dispose();
    tf.dispose([x, y]);
  });

  it('thins the schedule exactly as budgetAllows says, judged on the last duration', async () => {
    vi.spyOn(console, 'warn').mockImplementation(() => {});
    const model = tinyModel();
    // A fake clock: each batch of training takes 1 s, each analysis 2 s (charged in onReport).
    let clock = 0;
    const budget = 0.25;
    const metrics = curvatureMetrics();
    const callback = hessianCallback({
      tf,
      model,
      probe: { x: probe.x, y: probe.y },
      schedule: { everyBatches: 1, atTrainEnd: false },
      analyses: CHEAP,
      budget,
      metrics,
      now: () => clock,
      onReport: () => {
        clock += 2;
      },
    });
    callback.setParams({ epochs: 1 });
    await callback.onTrainBegin();
    await callback.onEpochBegin(0);
    const batches = 40;
    for (let b = 0; b < batches; b++) {
      await callback.onBatchBegin(b);
      clock += 1;
      await callback.onBatchEnd(b, { loss: 1 });
    }
    await callback.onEpochEnd(0, { loss: 1 });
    await callback.onTrainEnd();

    // The same rule, simulated: analyses at step 0 and wherever budgetAllows says yes.
    const expected = [0];
    let spent = 2;
    for (let step = 1; step <= batches; step++) {
      const training = step;
      if (
        budgetAllows({ spentSeconds: spent, trainingSeconds: training, budget, nextSeconds: 2 })
      ) {
        expected.push(step);
        spent += 2;
      }
    }
    expect(callback.history.map((r) => r.step)).toEqual(expected);
    expect(expected.length).toBeGreaterThan(3);
    expect(callback.stats.skipped.budget).toBe(batches + 1 - expected.length);
    // The first (of the initial weights, decided after step 1) was predicted from a product
    // timed at 0 s on this clock, so it may exceed the budget by its whole 2 s: the documented
    // tolerance (d − p) / wall. Every later one is predicted exactly and stays within budget.
    for (const [i, report] of callback.history.entries()) {
      if (i === 0) continue;
      const spentAfter = 2 * (i + 1);
      expect(spentAfter / (report.step + spentAfter)).toBeLessThanOrEqual(budget);
    }
    const skipped = await metrics.registry.getSingleMetric('hessian_analyses_skipped_total')!.get();
    expect(skipped.values[0].value).toBe(callback.stats.skipped.budget);
  });

  it('analyses the initial weights once the fit is known to have room, on those weights', async () => {
    const { x, y } = tensors();
    const fit = async (withCallback: boolean) => {
      vi.spyOn(Math, 'random').mockImplementation(seededMathRandom(3));
      const model = tinyModel();
      const probeX = tf.tensor2d(probe.x);
      const probeY = tf.tensor2d(probe.y);
      const initialLoss = await modelCurvature(model, { tf, x: probeX, y: probeY }).lossValue();
      // A frozen clock: nothing takes time, so the budget (below 1: decided, not forced)
      // allows every analysis, and the analysis at train begin is deferred to the 2nd step.
      const callback = withCallback
        ? hessianCallback({
            tf,
            model,
            probe: { x: probeX, y: probeY },
            analyses: CHEAP,
            budget: 0.5,
            now: () => 0,
          })
        : undefined;
      const before = tf.memory().numTensors;
      await model.fit(x, y, {
        epochs: 2,
        batchSize: BATCH,
        shuffle: true,
        callbacks: callback ? [callback] : [],
        verbose: 0,
      });
      const after = tf.memory().numTensors;
      vi.restoreAllMocks();
      const bits = await weightBits(model);
      tf.dispose([probeX, probeY]);
      return { callback, initialLoss, bits, leaked: after - before };
    };
    const withCallback = await fit(true);
    const without = await fit(false);
    const history = withCallback.callback?.history ?? [];
    expect(history.map((r) => r.step)).toEqual([0, 2 * STEPS]);
    // The report at step 0 is of the initial weights, though it ran after two optimizer steps.
    expect(history[0]).toMatchObject({ epoch: 0, wallSeconds: 0 });
    expect(history[0].loss).toBe(withCallback.initialLoss);
    expect(history[1].loss).not.toBe(withCallback.initialLoss);
    // Training is bit-identical, and the kept initial weights are freed.
    expect(withCallback.bits).toEqual(without.bits);
    expect(withCallback.leaked).toBe(without.leaked);
  });

  it('skips the analysis at train begin when the forecast fit is too short for its estimate', async () => {
    vi.spyOn(console, 'warn').mockImplementation(() => {});
    /**
     * A manual lifecycle: 1 s per step, 0.1 s per forward pass of an analysis's products (the
     * model leaves the Dense-chain fast path, so that every product calls model.apply).
     */
    const run = async (plannedSteps: number) => {
      const model = tinyModel({ leakyRelu: true });
      let clock = 0;
      const apply = model.apply.bind(model);
      vi.spyOn(model, 'apply').mockImplementation((...args) => {
        clock += 0.1;
        return apply(...args);
      });
      const probeX = tf.tensor2d(probe.x);
      const probeY = tf.tensor2d(probe.y);
      const initialLoss = await modelCurvature(model, { tf, x: probeX, y: probeY }).lossValue();
      const callback = hessianCallback({
        tf,
        model,
        probe: { x: probeX, y: probeY },
        analyses: CHEAP,
        budget: 0.05,
        now: () => clock,
        finalReport: false, // the decisions themselves are under test here
      });
      const before = tf.memory().numTensors;
      callback.setParams({ epochs: 1, initialEpoch: 0, steps: plannedSteps });
      await callback.onTrainBegin();
      await callback.onEpochBegin(0);
      for (let b = 0; b < plannedSteps; b++) {
        await callback.onBatchBegin(b);
        clock += 1;
        // An optimizer step that moves the weights, after the analysis' decision was taken.
        if (b === 0) {
          tf.tidy(() => {
            for (const w of model.trainableWeights) w.write(tf.add(w.read(), 0.5));
          });
        }
        await callback.onBatchEnd(b, { loss: 1 });
      }
      const weightsBefore = await weightBits(model);
      await callback.onEpochEnd(0, { loss: 1 });
      await callback.onTrainEnd();
      const leaked = tf.memory().numTensors - before;
      const result = {
        steps: callback.history.map((r) => r.step),
        first: callback.history[0],
        stats: callback.stats,
        initialLoss,
        unchanged: (await weightBits(model)).every((bits, i) =>
          bits.every((b, j) => b === weightsBefore[i][j]),
        ),
        leaked,
      };
      callback.dispose();
      tf.dispose([probeX, probeY]);
      return result;
    };
    // 10 steps of 1 s: at budget 0.05 the analysis may take about 0.5 s, but one timed product
    // (0.1 s) times its 26 products plus 20 for the self-check predicts 4.6 s: skipped. The
    // one at train end is judged on the same estimate against 10 s of training: skipped too.
    const short = await run(10);
    expect(short.steps).toEqual([]);
    expect(short.stats.skipped).toEqual({ budget: 2 });
    // Only the timed product was spent (one forward pass of 0.1 s).
    expect(short.stats.seconds).toBeCloseTo(0.1, 9);
    // 400 steps: 20 s of budget, so the initial weights are analysed (after the weights moved).
    const long = await run(400);
    expect(long.steps).toEqual([0, 400]);
    expect(long.first).toMatchObject({ epoch: 0, step: 0, wallSeconds: 0 });
    expect(long.first.loss).toBe(long.initialLoss);
    expect(long.unchanged).toBe(true);
    for (const r of [short, long]) expect(r.leaked).toBe(0);
  });
});
