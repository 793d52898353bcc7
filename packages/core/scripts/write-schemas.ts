/**
 * Writes the published JSON Schemas of the package (`pnpm --filter @hessian-probe/core schemas`):
 * `curvature-report.schema.json` (an encoded report) and `analysis-request.schema.json` (the
 * `analyses` option), both generated from the zod schemas. A test checks they are up to date.
 */
import { writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { analysisRequestJsonSchema, reportJsonSchema } from '../src/index.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
for (const [file, schema] of [
  ['curvature-report.schema.json', reportJsonSchema()],
  ['analysis-request.schema.json', analysisRequestJsonSchema()],
] as const) {
  await writeFile(join(root, file), `${JSON.stringify(schema, null, 2)}\n`);
  console.log(`wrote ${file}`);
}
