/**
 * The building blocks of the report schema (zod): numbers that may be NaN or ±Infinity (written
 * as strings in JSON and revived when decoding), bounded numbers, number arrays and square
 * matrices, unique names, parameter layouts. Every field's expectation is phrased once here
 * ("a number >= 0 (or NaN)") and appears as such in errors and in the JSON Schema.
 */
import * as z from 'zod';
import { LayoutError } from '../errors.js';
import { createLayout, type LayoutBlock } from '../layout.js';

/** The JSON strings that stand for the non-finite numbers. */
export const NON_FINITE = { NaN: Number.NaN, Infinity: Infinity, '-Infinity': -Infinity } as const;

let decoding = false;

/**
 * Runs a synchronous parse in which numeric fields accept the {@link NON_FINITE} strings and
 * revive them (what `decodeReport` reads); outside it, producers must pass numbers.
 */
export function whileDecoding<T>(parse: () => T): T {
  decoding = true;
  try {
    return parse();
  } finally {
    decoding = false;
  }
}

/** A number, NaN and ±Infinity included (the JSON Schema allows the three strings too). */
export function number(expected = 'a number', nonFinite = true): z.ZodType<number, number> {
  const schema = z.preprocess(
    (value) =>
      decoding && typeof value === 'string' && Object.hasOwn(NON_FINITE, value)
        ? NON_FINITE[value as keyof typeof NON_FINITE]
        : value,
    z.custom<number>((value) => typeof value === 'number', {
      error: () =>
        decoding && nonFinite ? `${expected} (or "NaN", "Infinity", "-Infinity")` : expected,
    }),
  ) as unknown as z.ZodType<number, number>;
  return documented(schema, { anyOf: [{ type: 'number' }, NON_FINITE_STRINGS] });
}

/**
 * How a number field looks in the published JSON Schema (see `reportJsonSchema`), keyed by its
 * schema definition (which `.describe()` and `.optional()` keep).
 */
export const JSON_SCHEMA_OF = new WeakMap<object, Record<string, unknown>>();

function documented<T extends z.ZodType>(schema: T, json: Record<string, unknown>): T {
  JSON_SCHEMA_OF.set(schema._zod.def, json);
  return schema;
}

const NON_FINITE_STRINGS = { enum: ['NaN', 'Infinity', '-Infinity'] };

/** A number >= 0 or NaN (a norm, an error bar, a duration that may be undefined). */
export function nonNegative(): z.ZodType<number, number> {
  return documented(
    number('a number >= 0 (or NaN)').refine((x) => !(x < 0), { error: 'a number >= 0 (or NaN)' }),
    { anyOf: [{ type: 'number', minimum: 0 }, { enum: ['NaN', 'Infinity'] }] },
  );
}

/** A number in [0, 1] or NaN. */
export function ratio(): z.ZodType<number, number> {
  return documented(
    number('a ratio in [0, 1] (or NaN)').refine((x) => !(x < 0 || x > 1), {
      error: 'a ratio in [0, 1] (or NaN)',
    }),
    { anyOf: [{ type: 'number', minimum: 0, maximum: 1 }, { enum: ['NaN'] }] },
  );
}

/** A safe integer >= `min`. */
export function count(min = 0): z.ZodType<number, number> {
  const expected = `an integer >= ${min}`;
  return documented(
    number(expected, false).refine((x) => Number.isSafeInteger(x) && x >= min, { error: expected }),
    { type: 'integer', minimum: min },
  );
}

/** A safe integer (a seed). */
export function safeInteger(): z.ZodType<number, number> {
  return documented(
    number('a safe integer', false).refine((x) => Number.isSafeInteger(x), {
      error: 'a safe integer',
    }),
    { type: 'integer' },
  );
}

/** Which curvature matrix a report describes: the loss Hessian or the generalised Gauss–Newton. */
export type CurvatureKind = 'hessian' | 'ggn';

/**
 * An object schema that keeps unknown fields (a newer writer's) when parsing, typed as a plain
 * object of its known fields.
 */
export function record<S extends z.core.$ZodLooseShape>(shape: S): z.ZodObject<S> {
  return z.looseObject(shape) as unknown as z.ZodObject<S>;
}

/** A string. */
export function text(): z.ZodString {
  return z.string({ error: 'a string' });
}

/** A boolean. */
export function bool(): z.ZodBoolean {
  return z.boolean({ error: 'a boolean' });
}

/** One of `values`. */
export function oneOf<const T extends readonly [string, ...string[]]>(values: T): z.ZodEnum {
  return z.enum(values, { error: values.map((v) => `'${v}'`).join(' or ') }) as z.ZodEnum;
}

/** An array of numbers (a Float64Array is accepted from producers and becomes an array). */
export function numbers(
  item: z.ZodType<number, number> = number(),
): z.ZodType<number[], readonly number[] | Float64Array> {
  return z.preprocess(
    (value) => (value instanceof Float64Array && !decoding ? Array.from(value) : value),
    z.array(item, { error: 'an array of numbers' }),
  ) as unknown as z.ZodType<number[], readonly number[] | Float64Array>;
}

/** An array of rows of numbers (squareness is checked by the section that knows the size). */
export function matrix(): z.ZodType<number[][], readonly (readonly number[] | Float64Array)[]> {
  return z.array(numbers(), { error: 'an array of rows' }) as unknown as z.ZodType<
    number[][],
    readonly (readonly number[] | Float64Array)[]
  >;
}

/** Names that are unique strings. */
export function names(): z.ZodType<string[], readonly string[]> {
  return z.array(text(), { error: 'an array of names' }).check((ctx) => {
    const seen = new Set<string>();
    for (const [i, name] of ctx.value.entries()) {
      if (seen.has(name)) {
        ctx.issues.push({
          code: 'custom',
          message: 'a name not used before',
          path: [i],
          input: name,
        });
      }
      seen.add(name);
    }
  });
}

/**
 * Issues for each listed field of `value` that is not a `size` × `size` matrix (rows and
 * columns), as a check of a section with names.
 */
export function squareMatrices(
  value: Record<string, unknown>,
  size: number,
  fields: readonly string[],
): z.core.$ZodRawIssue[] {
  const issues: z.core.$ZodRawIssue[] = [];
  for (const field of fields) {
    const m = value[field] as readonly (readonly number[])[] | undefined;
    if (m === undefined) continue;
    if (m.length !== size) {
      issues.push({
        code: 'custom',
        message: `an array of length ${size}`,
        path: [field],
        input: m,
      });
      continue;
    }
    for (const [i, row] of m.entries()) {
      if (row.length !== size) {
        issues.push({
          code: 'custom',
          message: `an array of length ${size}`,
          path: [field, i],
          input: row,
        });
      }
    }
  }
  return issues;
}

/** Entries of a list with a `name`, each name used once. */
export function uniquelyNamed<T extends z.ZodType<{ name: string }>>(item: T) {
  return z.array(item, { error: 'an array' }).check((ctx) => {
    const seen = new Set<string>();
    for (const [i, entry] of ctx.value.entries()) {
      if (seen.has(entry.name)) {
        ctx.issues.push({
          code: 'custom',
          message: 'a name not used before',
          path: [i, 'name'],
          input: entry.name,
        });
      }
      seen.add(entry.name);
    }
  });
}

/** A parameter layout that tiles [0, dim) with named blocks (see `createLayout`). */
export const LAYOUT = record({
  dim: count(1).describe('Total number of parameters P.'),
  blocks: z
    .array(
      record({
        name: text(),
        offset: count(0),
        size: count(1),
        shape: z.array(count(1), { error: 'an array of sizes' }).readonly().optional(),
      }),
      { error: 'an array of blocks' },
    )
    .readonly()
    .describe('Named blocks in order of their offsets, covering [0, dim) once.'),
}).check((ctx) => {
  try {
    createLayout(ctx.value.blocks as LayoutBlock[], ctx.value.dim);
  } catch (error) {
    if (!(error instanceof LayoutError)) throw error;
    ctx.issues.push({
      code: 'custom',
      message: `a valid layout (${error.message})`,
      input: ctx.value,
      params: { cause: error },
    });
  }
});
