/**
 * Option schemas of the analyses, declared once with zod: defaults, bounds and docs in one
 * place, from which the TypeScript types, the validation messages and the published JSON
 * Schema all come.
 */
import * as z from 'zod';
import { OptionError } from '../errors.js';

/** An integer option in [`min`, `max`], as a zod schema whose errors say so. */
export function integer(min: number, max = Number.MAX_SAFE_INTEGER): z.ZodInt {
  const expected =
    max === Number.MAX_SAFE_INTEGER ? `an integer >= ${min}` : `an integer in [${min}, ${max}]`;
  return z.int({ error: expected }).min(min, { error: expected }).max(max, { error: expected });
}

/** A finite number > 0 (and <= `max`), as a zod schema whose errors say so. */
export function positive(max?: number): z.ZodNumber {
  const expected = max === undefined ? 'a finite number > 0' : `a number in (0, ${max}]`;
  const schema = z.number({ error: expected }).positive({ error: expected });
  return max === undefined ? schema : schema.max(max, { error: expected });
}

/**
 * A check for an object schema: option `name` must be at least option `other` (e.g. an
 * eigensolver's budget at least its k), reported on `name`.
 */
export function atLeast<K extends string>(name: K, other: K): z.core.CheckFn<Record<K, number>> {
  return (ctx) => {
    if (ctx.value[name] < ctx.value[other]) {
      ctx.issues.push({
        code: 'custom',
        message: `an integer >= ${other} (${ctx.value[other]})`,
        path: [name],
        input: ctx.value[name],
      });
    }
  };
}

/** A boolean option, as a zod schema whose errors say so. */
export function flag(): z.ZodBoolean {
  return z.boolean({ error: 'a boolean' });
}

/**
 * Parses `value` with `schema` (defaults filled in) or throws an {@link OptionError} naming
 * the first offending field: "`where`: expected `prefix.path` to be …, got …".
 *
 * @example
 * ```ts
 * import * as z from 'zod';
 * const schema = z.object({ k: integer(1).default(3) }).strict();
 * const eigen = parseOptions(schema, { k: 0 }, 'analyzeModel', 'analyses.eigen');
 * // OptionError: analyzeModel: expected analyses.eigen.k to be an integer >= 1, got 0
 * ```
 */
export function parseOptions<T>(
  schema: z.ZodType<T>,
  value: unknown,
  where: string,
  prefix: string,
): T {
  const parsed = schema.safeParse(value, { reportInput: true });
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0] as z.core.$ZodIssue & { input?: unknown };
  const path = [prefix, ...issue.path.map(String)].filter((p) => p !== '').join('.');
  throw new OptionError(`${where}: ${describeIssue(issue, path)}`);
}

/** One zod issue as "expected `path` to be …, got …". */
function describeIssue(issue: z.core.$ZodIssue & { input?: unknown }, path: string): string {
  const got = describeValue(issue.input);
  // The helpers above phrase their own expectation ("an integer >= 1").
  if (/^(a|an) /.test(issue.message)) return `expected ${path} to be ${issue.message}, got ${got}`;
  switch (issue.code) {
    case 'unrecognized_keys':
      return `expected no option ${issue.keys.map((k) => `'${k}'`).join(', ')} in ${path || 'the options'} (unknown)`;
    case 'too_small': {
      const bound = `${issue.inclusive ? '>=' : '>'} ${String(issue.minimum)}`;
      return `expected ${path} to be ${noun(issue.origin, path)} ${bound}, got ${got}`;
    }
    case 'too_big': {
      const bound = `${issue.inclusive ? '<=' : '<'} ${String(issue.maximum)}`;
      return `expected ${path} to be ${noun(issue.origin, path)} ${bound}, got ${got}`;
    }
    case 'invalid_type':
      return `expected ${path} to be ${article(issue.expected)}, got ${got}`;
    case 'invalid_value':
      return `expected ${path} to be ${issue.values.map((v) => JSON.stringify(v)).join(' | ')}, got ${got}`;
    default:
      return `expected ${path} to be valid (${issue.message}), got ${got}`;
  }
}

function noun(origin: string, _path: string): string {
  return origin === 'number' ? 'a number' : origin === 'array' ? 'an array of length' : origin;
}

function article(expected: string): string {
  if (expected === 'int') return 'an integer';
  if (expected === 'object') return 'an options object';
  return /^[aeiou]/.test(expected) ? `an ${expected}` : `a ${expected}`;
}

/** A short description of a value for error messages. */
export function describeValue(value: unknown): string {
  if (value === undefined) return 'undefined';
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (value === null) return 'null';
  if (Array.isArray(value)) return `an array of length ${value.length}`;
  if (typeof value === 'function') return 'a function';
  return 'an object';
}
