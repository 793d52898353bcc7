import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { describe, expect, it } from 'vitest';
import { analysisRequestJsonSchema } from '../analysis/registry.js';
import { layoutFromSizes } from '../layout.js';
import { encodeReport } from './codec.js';
import { type CurvatureReportInput, REPORT_SCHEMA_VERSION, reportJsonSchema } from './schema.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '../..');

const report: CurvatureReportInput = {
  schemaVersion: REPORT_SCHEMA_VERSION,
  epoch: 1,
  step: 10,
  timestamp: '2026-01-31T12:00:00.000Z',
  kind: 'hessian',
  model: { name: 'mlp', parameterCount: 3, layout: layoutFromSizes([{ name: 'w', size: 3 }]) },
  probe: { size: 8, seed: 0 },
  loss: 0.5,
  eigen: { values: [2, 1], residuals: [1e-9, Number.NaN], converged: true, matvecs: 12 },
  trace: { estimate: 3, stderr: Number.NaN, matvecs: 1, method: 'hutchinson' },
  density: {
    grid: [0, 1],
    values: [0.5, 0.5],
    sigma: 0.01,
    negativeFraction: 0,
    lambdaMin: 0,
    lambdaMax: Number.POSITIVE_INFINITY,
  },
  seconds: 0.5,
  matvecs: 13,
};

describe('the published JSON Schemas', () => {
  it('are up to date with the zod schemas (pnpm --filter @hessian-probe/core schemas)', async () => {
    const file = async (name: string) => JSON.parse(await readFile(join(root, name), 'utf8'));
    expect(await file('curvature-report.schema.json')).toEqual(reportJsonSchema());
    expect(await file('analysis-request.schema.json')).toEqual(analysisRequestJsonSchema());
  });

  it('accept an encoded report, NaN and Infinity as strings, and refuse a broken one', () => {
    const ajv = new Ajv2020({ strict: false });
    const validate = ajv.compile(reportJsonSchema());
    const encoded = JSON.parse(encodeReport(report));
    expect(validate(encoded), JSON.stringify(validate.errors)).toBe(true);
    expect(validate({ ...encoded, epoch: -1 })).toBe(false);
    expect(validate({ ...encoded, density: { ...encoded.density, negativeFraction: 2 } })).toBe(
      false,
    );
    expect(validate({ ...encoded, eigen: { ...encoded.eigen, converged: 'yes' } })).toBe(false);
    const { loss: _loss, ...missing } = encoded;
    expect(validate(missing)).toBe(false);
  });

  it('describes the analyses option with every default', () => {
    const schema = analysisRequestJsonSchema() as {
      properties: Record<
        string,
        { anyOf: { properties?: Record<string, { default?: unknown }> }[] }
      >;
    };
    const eigen = schema.properties.eigen.anyOf.find((s) => s.properties)?.properties;
    expect(eigen?.k.default).toBe(3);
    expect(eigen?.tol.default).toBe(1e-3);
  });
});
