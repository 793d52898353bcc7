import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { HessianProbeError, LayoutError } from '../errors.js';
import { layoutFromSizes } from '../layout.js';
import {
  type CurvatureReport,
  type CurvatureReportInput,
  decodeReport,
  encodeReport,
  normalizeReport,
  REPORT_SCHEMA_VERSION,
  ReportFormatError,
} from '../report.js';

const layout = layoutFromSizes([
  { name: 'dense_1/kernel', size: 6, shape: [2, 3] },
  { name: 'dense_1/bias', size: 3 },
  { name: 'dense_2/kernel', size: 3, shape: [3, 1] },
  { name: 'dense_2/bias', size: 1 },
]);

/** A report with every section, as the callback would produce it (Float64Arrays included). */
function fullReport(): CurvatureReportInput {
  return {
    schemaVersion: REPORT_SCHEMA_VERSION,
    epoch: 2,
    step: 250,
    batch: 49,
    timestamp: '2025-01-31T12:00:00.125Z',
    wallSeconds: 12.5,
    kind: 'hessian',
    model: { name: 'mlp', parameterCount: 13, layout },
    probe: { size: 256, seed: 7 },
    loss: Math.LN2,
    eigen: {
      values: Float64Array.of(4.5, 1.25, -0.5),
      residuals: Float64Array.of(1e-9, 3e-8, 0.002),
      converged: false,
      matvecs: 40,
    },
    trace: {
      estimate: 5.25,
      stderr: Number.NaN,
      matvecs: 0,
      method: 'second-difference',
      roundingBound: 0.01,
      forwardPasses: 25,
      blocks: [{ name: 'dense_1', estimate: 3, stderr: 0.5, roundingBound: 0.005 }],
    },
    density: {
      grid: Float64Array.of(-1, 0, 1, 2),
      values: Float64Array.of(0.1, 0.5, 0.3, 0.1),
      sigma: 0.05,
      negativeFraction: 0.125,
      lambdaMin: -0.5,
      lambdaMax: 4.5,
      matvecs: 60,
      negativeCutoff: -0.0071,
    },
    blocks: {
      names: ['dense_1', 'dense_2'],
      frobeniusSq: [Float64Array.of(3, 0.25), [0.5, 2]],
      stderr: [
        [0.1, Number.POSITIVE_INFINITY],
        [0.2, 0.3],
      ],
      offDiagonalRatio: 0.75 / 5.75,
      matvecs: 8,
      method: 'randomized',
      withinLayer: { pairs: 0, meanRatio: Number.NaN, massRatio: 0, massRatioStderr: 0 },
      crossLayer: { pairs: 2, meanRatio: 0.4, massRatio: 0.75 / 5, massRatioStderr: 0.01 },
    },
    layers: [
      {
        name: 'dense_1',
        lambdaMax: 3.5,
        trace: 4,
        negativeFraction: 0,
        method: 'stochastic',
        lambdaMin: -0.25,
        traceStderr: 0.125,
        tracePerParameter: 4 / 9,
        frobeniusSq: 13,
        frobeniusSqStderr: Number.NaN,
        negativeTraceMass: 0.03,
        spectralEntropy: 1.5,
        effectiveRank: Math.exp(1.5),
        participationRatio: 2.5,
        stableRank: 13 / 12.25,
        bulkEdge: 2.75,
        outlierCount: 1,
        gaussNewtonGap: 0.4,
        gaussNewtonGapStderr: 0.05,
        matvecs: 20,
      },
      {
        name: 'dense_2',
        lambdaMax: Number.NEGATIVE_INFINITY,
        trace: -0,
        negativeFraction: Number.NaN,
      },
    ],
    layerCoupling: {
      names: ['dense_1', 'dense_2'],
      frobeniusSq: [Float64Array.of(3, 0.25), [0.25, 2]],
      stderr: [
        [0, 0],
        [0, 0],
      ],
      normalized: [
        [1, 0.5 / Math.sqrt(Math.sqrt(6))],
        [0.5 / Math.sqrt(Math.sqrt(6)), 1],
      ],
      method: 'exact',
      matvecs: 13,
    },
    gaussNewtonGap: { ratio: 0.3, stderr: 0, method: 'exact', matvecs: 13 },
    kronecker: [
      {
        name: 'dense_2',
        kind: 'dense',
        method: 'dense',
        exact: true,
        relativeError: 0.125,
        relativeErrorStderr: 0,
        overlap: 0.875,
        inputDominance: Number.POSITIVE_INFINITY,
        rank1Energy: 0.5,
        outliers: 2,
        converged: true,
        matvecs: 18,
      },
    ],
    classes: {
      classes: 3,
      trace: 6,
      traceStderr: 0,
      traceFractions: { g0: 0.125, g1: 0.5, g2: 0.25, g3: 0.125 },
      classMeanOverlap: 0.75,
      overlapK: 3,
      level1Values: Float64Array.of(2, 1, 0.5),
      level2Values: [0.25, 0.125],
      gaussNewtonValues: [2.5, 1.25, 0.75, 0.25],
      eigengaps: [{ position: 3, ratio: 3 }],
      matvecs: 40,
    },
    seconds: 0.75,
    matvecs: 109,
  };
}

/** Every number in a value, with its path, in a fixed order. */
function numbersOf(value: unknown, path = ''): [string, number][] {
  if (typeof value === 'number') return [[path, value]];
  if (value instanceof Float64Array || Array.isArray(value)) {
    return Array.from(value as ArrayLike<unknown>).flatMap((v, i) => numbersOf(v, `${path}[${i}]`));
  }
  if (typeof value === 'object' && value !== null) {
    return Object.entries(value).flatMap(([k, v]) => numbersOf(v, `${path}.${k}`));
  }
  return [];
}

/** Asserts that two values hold bit-identical numbers (NaN equal to NaN, −0 unequal to 0). */
function expectSameNumbers(actual: unknown, expected: unknown): void {
  const a = new Map(numbersOf(actual));
  const e = new Map(numbersOf(expected));
  expect([...a.keys()].sort()).toEqual([...e.keys()].sort());
  for (const [path, value] of e) {
    if (!Object.is(a.get(path), value)) {
      expect.fail(`${path}: expected ${Object.is(value, -0) ? '-0' : value}, got ${a.get(path)}`);
    }
  }
}

/** The error `run` throws, which must be a ReportFormatError. */
function formatError(run: () => unknown): ReportFormatError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(ReportFormatError);
    expect(error).toBeInstanceOf(HessianProbeError);
    return error as ReportFormatError;
  }
  return expect.fail('expected a ReportFormatError, got no error');
}

// biome-ignore lint/suspicious/noExplicitAny: edits reach into parsed JSON of a known shape.
type Edit = (json: Record<string, any>) => void;

/** The encoded text of the full report with `edit` applied to its parsed JSON. */
function editedText(edit: Edit): string {
  const json = JSON.parse(encodeReport(fullReport()));
  edit(json);
  return JSON.stringify(json);
}

describe('encodeReport / decodeReport', () => {
  it('round-trips every section bit-exactly, NaN, ±Infinity and -0 included', () => {
    const input = fullReport();
    const decoded = decodeReport(encodeReport(input));
    expectSameNumbers(decoded, input);
    expect(Object.is(decoded.layers?.[1].trace, -0)).toBe(true);
    expect(decoded.trace?.stderr).toBeNaN();
    expect(decoded.model.layout).toEqual(layout);
    expect(decoded.blocks?.names).toEqual(['dense_1', 'dense_2']);
    expect(decoded.eigen?.converged).toBe(false);
    expect(decoded.kind).toBe('hessian');
    expect(decoded.timestamp).toBe('2025-01-31T12:00:00.125Z');
  });

  it('round-trips arbitrary doubles bit-exactly in numeric positions', () => {
    fc.assert(
      fc.property(
        fc.double(),
        fc.array(fc.double(), { maxLength: 8 }),
        fc.double({ min: 0, max: 1, noNaN: false }),
        (loss, grid, ratio) => {
          const report = {
            ...fullReport(),
            loss,
            density: {
              grid,
              values: grid.map((g) => -g),
              sigma: 0.1,
              negativeFraction: ratio,
              lambdaMin: loss,
              lambdaMax: -loss,
            },
          };
          expectSameNumbers(decodeReport(encodeReport(report)), normalizeReport(report));
        },
      ),
      { seed: 20250131, numRuns: 300 },
    );
  });

  it('writes non-finite numbers as "NaN"/"Infinity"/"-Infinity" strings, never null', () => {
    const text = encodeReport(fullReport());
    expect(text).not.toContain('null');
    const json = JSON.parse(text);
    expect(json.trace.stderr).toBe('NaN');
    expect(json.blocks.stderr[0][1]).toBe('Infinity');
    expect(json.layers[1].lambdaMax).toBe('-Infinity');
    expect(json.layers[1].negativeFraction).toBe('NaN');
    // Other tools read them back with their own number parser: Number() here, float() in Python.
    expect(Number(json.layers[1].lambdaMax)).toBe(Number.NEGATIVE_INFINITY);
    expect(text).toContain('"trace":-0');
  });

  it('writes Float64Arrays as JSON arrays and starts with the schema version', () => {
    const text = encodeReport(fullReport());
    expect(text.startsWith(`{"schemaVersion":${REPORT_SCHEMA_VERSION},`)).toBe(true);
    const json = JSON.parse(text);
    expect(json.eigen.values).toEqual([4.5, 1.25, -0.5]);
    expect(json.blocks.frobeniusSq).toEqual([
      [3, 0.25],
      [0.5, 2],
    ]);
  });

  it('writes one line: newlines inside strings are escaped', () => {
    const report = { ...fullReport(), model: { name: 'two\nlines', parameterCount: 13, layout } };
    const text = encodeReport(report);
    expect(text).not.toMatch(/[\n\r]/);
    expect(decodeReport(text).model.name).toBe('two\nlines');
  });

  it('keeps strings that read like numbers as strings in string positions', () => {
    const named = {
      ...fullReport(),
      model: { name: 'NaN', parameterCount: 13, layout },
      blocks: {
        names: ['Infinity', '-Infinity'],
        frobeniusSq: [
          [1, 0],
          [0, 1],
        ],
        stderr: [
          [0, 0],
          [0, 0],
        ],
        offDiagonalRatio: 0,
      },
      layers: [{ name: 'NaN', lambdaMax: 1, trace: 1, negativeFraction: 0 }],
    };
    const decoded = decodeReport(encodeReport(named));
    expect(decoded.model.name).toBe('NaN');
    expect(decoded.blocks?.names).toEqual(['Infinity', '-Infinity']);
    expect(decoded.layers?.[0].name).toBe('NaN');
  });

  it('drops absent optional sections instead of writing them as undefined or null', () => {
    const { eigen, density, blocks, layers, batch, wallSeconds, kind, ...minimal } = fullReport();
    // A producer compiled without exactOptionalPropertyTypes may pass undefined: same as absent.
    const withUndefined = { ...minimal, eigen: undefined } as unknown as CurvatureReportInput;
    const decoded = decodeReport(encodeReport(withUndefined));
    for (const key of ['eigen', 'density', 'blocks', 'layers', 'batch', 'wallSeconds', 'kind']) {
      expect(Object.hasOwn(decoded, key), key).toBe(false);
    }
    expect(decoded.trace?.estimate).toBe(5.25);
  });

  it('reads a schema-version-1 line: its negativeMass fields become negativeFraction', () => {
    // A version-1 line as that version wrote it: the field names of version 1, in the text.
    const current = encodeReport(fullReport());
    const v1 = current
      .replace(`"schemaVersion":${REPORT_SCHEMA_VERSION}`, '"schemaVersion":1')
      .replaceAll('"negativeFraction"', '"negativeMass"');
    expect(v1).toContain('"negativeMass"');
    expect(v1).not.toContain('"negativeFraction"');
    const decoded = decodeReport(v1);
    expect(decoded).toEqual(decodeReport(current));
    expect(decoded.density?.negativeFraction).toBe(0.125);
    expect(JSON.stringify(decoded)).not.toContain('negativeMass');
  });

  it('keeps unknown fields (from newer analyses), reviving nothing inside them', () => {
    const future = {
      ...fullReport(),
      sharpness: { layers: ['dense_1'], error: Float64Array.of(0.25, Number.NaN) },
      trace: { estimate: 1, stderr: 0.5, matvecs: 9, sketch: 'gaussian' },
    };
    const decoded = decodeReport(encodeReport(future)) as CurvatureReport & Record<string, unknown>;
    expect(decoded.sharpness).toEqual({ layers: ['dense_1'], error: [0.25, 'NaN'] });
    expect((decoded.trace as unknown as Record<string, unknown>).sketch).toBe('gaussian');
  });

  it('does not change its input, and the normalized copy shares no arrays with it', () => {
    const input = fullReport();
    const values = input.eigen?.values as Float64Array;
    const normalized = normalizeReport(input);
    values[0] = 99;
    expect(normalized.eigen?.values[0]).toBe(4.5);
    expect(Array.isArray(normalized.eigen?.values)).toBe(true);
    expect(values).toBeInstanceOf(Float64Array);
  });
});

describe('decodeReport errors name the field', () => {
  it.each<[string, Edit, string, RegExp]>([
    ['no schemaVersion', (j) => delete j.schemaVersion, 'schemaVersion', /got undefined/],
    ['a newer schema', (j) => (j.schemaVersion = 3), 'schemaVersion', /newer hessian-probe/],
    ['a string schema', (j) => (j.schemaVersion = '1'), 'schemaVersion', /got "1"/],
    ['a missing epoch', (j) => delete j.epoch, 'epoch', /integer >= 0, got undefined/],
    ['a fractional step', (j) => (j.step = 1.5), 'step', /got 1\.5/],
    ['a NaN epoch', (j) => (j.epoch = 'NaN'), 'epoch', /got NaN/],
    ['a bad timestamp', (j) => (j.timestamp = 'yesterday'), 'timestamp', /ISO 8601/],
    ['an unknown kind', (j) => (j.kind = 'fisher'), 'kind', /'hessian' or 'ggn'/],
    ['a numeric name', (j) => (j.model.name = 3), 'model.name', /a string, got 3/],
    ['a string number', (j) => (j.loss = '0.5'), 'loss', /"NaN", "Infinity", "-Infinity"/],
    ['lower-case nan', (j) => (j.trace.stderr = 'nan'), 'trace.stderr', /got "nan"/],
    ['null instead of NaN', (j) => (j.trace.stderr = null), 'trace.stderr', /got null/],
    ['ascending eigenvalues', (j) => (j.eigen.values = [1, 2, 0]), 'eigen.values[1]', /descending/],
    ['short residuals', (j) => j.eigen.residuals.pop(), 'eigen.residuals', /length 3/],
    ['negative residual', (j) => (j.eigen.residuals[2] = -1), 'eigen.residuals[2]', />= 0/],
    ['a non-boolean flag', (j) => (j.eigen.converged = 1), 'eigen.converged', /boolean/],
    ['density lengths', (j) => j.density.values.pop(), 'density.values', /length 4/],
    [
      'mass above 1',
      (j) => (j.density.negativeFraction = 1.5),
      'density.negativeFraction',
      /\[0, 1\]/,
    ],
    ['a ragged block row', (j) => j.blocks.stderr[1].pop(), 'blocks.stderr[1]', /length 2/],
    ['duplicate blocks', (j) => (j.blocks.names[1] = 'dense_1'), 'blocks.names[1]', /not used/],
    [
      'a negative ratio',
      (j) => (j.blocks.offDiagonalRatio = -0.1),
      'blocks.offDiagonalRatio',
      /ratio/,
    ],
    ['an unknown block method', (j) => (j.blocks.method = 'dense'), 'blocks.method', /'exact'/],
    [
      'fractional pair count',
      (j) => (j.blocks.crossLayer.pairs = 1.5),
      'blocks.crossLayer.pairs',
      /integer/,
    ],
    [
      'a ragged heatmap',
      (j) => (j.blocks.meanAbs = [[1, 2], [3]]),
      'blocks.meanAbs[1]',
      /length 2/,
    ],
    ['duplicate layers', (j) => (j.layers[1].name = 'dense_1'), 'layers[1].name', /not used/],
    [
      'a Kronecker overlap above 1',
      (j) => (j.kronecker[0].overlap = 2),
      'kronecker[0].overlap',
      /\[0, 1\]/,
    ],
    [
      'an unknown layer kind',
      (j) => (j.kronecker[0].kind = 'lstm'),
      'kronecker[0].kind',
      /'conv2d'/,
    ],
    [
      'a fraction missing',
      (j) => delete j.classes.traceFractions.g3,
      'classes.traceFractions.g3',
      /number/,
    ],
    ['one class', (j) => (j.classes.classes = 1), 'classes.classes', />= 2/],
    ['an unknown trace method', (j) => (j.trace.method = 'lanczos'), 'trace.method', /'hutch\+\+'/],
    [
      'a negative rounding bound',
      (j) => (j.trace.blocks[0].roundingBound = -1),
      'trace.blocks[0].roundingBound',
      />= 0/,
    ],
    ['a layer method', (j) => (j.layers[0].method = 'dense'), 'layers[0].method', /'exact'/],
    [
      'a negative trace mass above 1',
      (j) => (j.layers[0].negativeTraceMass = 1.5),
      'layers[0].negativeTraceMass',
      /\[0, 1\]/,
    ],
    [
      'a fractional outlier count',
      (j) => (j.layers[0].outlierCount = 0.5),
      'layers[0].outlierCount',
      /integer >= 0/,
    ],
    [
      'a negative layer gap',
      (j) => (j.layers[0].gaussNewtonGap = -1),
      'layers[0].gaussNewtonGap',
      />= 0/,
    ],
    [
      'a ragged coupling',
      (j) => j.layerCoupling.normalized[0].pop(),
      'layerCoupling.normalized[0]',
      /length 2/,
    ],
    ['a gap method', (j) => delete j.gaussNewtonGap.method, 'gaussNewtonGap.method', /'exact'/],
    ['a layer as array', (j) => (j.layers[0] = []), 'layers[0]', /an object, got an array/],
    [
      'count vs layout',
      (j) => (j.model.parameterCount = 12),
      'model.layout.dim',
      /parameterCount \(12\)/,
    ],
    ['no seed', (j) => delete j.probe.seed, 'probe.seed', /safe integer/],
    ['negative matvecs', (j) => (j.matvecs = -1), 'matvecs', />= 0/],
    ['NaN seconds', (j) => (j.seconds = 'NaN'), 'seconds', /got NaN/],
  ])('%s', (_, edit, field, message) => {
    const error = formatError(() => decodeReport(editedText(edit)));
    expect(error.field).toBe(field);
    expect(error.code).toBe('report-format');
    expect(error.message).toMatch(/^decodeReport: expected /);
    expect(error.message).toMatch(message);
  });

  it('reports a layout that does not tile its dimension, with the LayoutError as cause', () => {
    const error = formatError(() =>
      decodeReport(editedText((j) => (j.model.layout.blocks[1].offset = 7))),
    );
    expect(error.field).toBe('model.layout');
    expect(error.cause).toBeInstanceOf(LayoutError);
    expect(error.message).toMatch(
      /^decodeReport: expected model\.layout to be a valid layout \(.*expected offset 6, got 7/,
    );
  });

  it.each([
    ['', '(json)'],
    ['{"schemaVersion":1,', '(json)'],
    ['[]', '(report)'],
    ['null', '(report)'],
  ])('refuses %j with field %s', (text, field) => {
    expect(formatError(() => decodeReport(text)).field).toBe(field);
  });
});

describe('encodeReport errors', () => {
  it('checks the report before writing it, with the same field names', () => {
    const bad = {
      ...fullReport(),
      eigen: { values: [1], residuals: [], converged: true, matvecs: 1 },
    };
    const error = formatError(() => encodeReport(bad));
    expect(error.field).toBe('eigen.residuals');
    expect(error.message).toMatch(/^normalizeReport: /);
  });

  it('refuses the "NaN" string in a numeric position: producers pass numbers', () => {
    const bad = { ...fullReport(), loss: 'NaN' } as unknown as CurvatureReportInput;
    expect(formatError(() => encodeReport(bad)).field).toBe('loss');
  });

  it.each([
    [() => 1, 'a function'],
    [10n, 'a bigint'],
    [new Date(0), 'a Date'],
    [new Map(), 'a Map'],
  ])('refuses an unknown field holding %s', (value, what) => {
    const bad = { ...fullReport(), extra: { inner: [value] } } as CurvatureReportInput;
    const error = formatError(() => encodeReport(bad));
    expect(error.field).toBe('extra.inner[0]');
    expect(error.message).toContain(what);
  });
});
