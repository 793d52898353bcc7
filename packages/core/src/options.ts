import { DimensionError, OptionError } from './errors.js';

/**
 * A short description of any value for the "got …" part of an error message: numbers, booleans,
 * null and undefined as themselves, strings quoted, arrays and typed arrays by type and length,
 * other objects by their first keys. Never throws (a hostile getter is not called).
 */
export function show(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (value === null || typeof value !== 'object') {
    return typeof value === 'function' ? 'a function' : String(value);
  }
  if (Array.isArray(value)) return `an array of length ${value.length}`;
  if (ArrayBuffer.isView(value) && !(value instanceof DataView)) {
    return `a ${value.constructor.name} of length ${(value as unknown as ArrayLike<unknown>).length}`;
  }
  const keys = Object.keys(value);
  const shown = keys.length > 4 ? [...keys.slice(0, 4), '…'] : keys;
  return keys.length === 0 ? 'an object without keys' : `an object { ${shown.join(', ')} }`;
}

/**
 * Checks that `value` is an integer in [min, max] (a safe integer: at most 2^53 − 1);
 * otherwise throws an {@link OptionError} reading
 * "`where`: expected `name` to be an integer >= min[, <= max], got value".
 */
export function checkInteger(
  where: string,
  name: string,
  value: number,
  min: number,
  max = Number.MAX_SAFE_INTEGER,
): void {
  if (!Number.isInteger(value) || value < min || value > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? `>= ${min}` : `in [${min}, ${max}]`;
    throw new OptionError(
      `${where}: expected ${name} to be an integer ${range}, got ${show(value)}`,
    );
  }
}

/** Checks that `value` is a finite number > 0 (or >= 0 when `allowZero`). */
export function checkPositive(where: string, name: string, value: number, allowZero = false): void {
  const ok = Number.isFinite(value) && (allowZero ? value >= 0 : value > 0);
  if (!ok) {
    const bound = allowZero ? '>= 0' : '> 0';
    throw new OptionError(
      `${where}: expected ${name} to be a finite number ${bound}, got ${show(value)}`,
    );
  }
}

/** Checks that `value` is a finite number (any sign). */
export function checkFinite(where: string, name: string, value: number): void {
  if (!Number.isFinite(value)) {
    throw new OptionError(`${where}: expected ${name} to be a finite number, got ${show(value)}`);
  }
}

/** Checks that `value` is one of `allowed`. */
export function checkOneOf<T extends string>(
  where: string,
  name: string,
  value: T,
  allowed: readonly T[],
): void {
  if (!allowed.includes(value)) {
    const list = allowed.map((a) => `'${a}'`).join(' | ');
    throw new OptionError(`${where}: expected ${name} to be ${list}, got ${show(value)}`);
  }
}

/**
 * The options object of a public function, checked before anything reads it: `undefined` is
 * `{}` when the options are optional (`required` false), and anything that is not a plain
 * object (null, a number, a string, an array, a function) is an {@link OptionError}, so that a
 * bad call never surfaces as a TypeError from a destructuring.
 *
 * @example
 * ```ts
 * function lanczosLike(options: { steps: number; seed?: number }) {
 *   const { steps, seed = 0 } = checkOptions('lanczosLike', options, true);
 *   return { steps, seed };
 * }
 * ```
 */
export function checkOptions<T extends object>(
  where: string,
  options: T | undefined,
  required = false,
  name = 'options',
): T {
  if (options === undefined && !required) return {} as T;
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new OptionError(`${where}: expected ${name} to be an object, got ${show(options)}`);
  }
  return options;
}

/**
 * Checks that `v` is a `Float64Array` (an {@link OptionError} otherwise) and, when `length` is
 * given, that it has that length (a {@link DimensionError} otherwise).
 */
export function checkVector(
  where: string,
  name: string,
  v: unknown,
  length?: number,
): asserts v is Float64Array {
  if (!(v instanceof Float64Array)) {
    const size = length === undefined ? '' : ` of length ${length}`;
    throw new OptionError(`${where}: expected ${name} to be a Float64Array${size}, got ${show(v)}`);
  }
  if (length !== undefined && v.length !== length) {
    throw new DimensionError(`${where}: expected ${name} of length ${length}, got ${v.length}`);
  }
}

/** Checks that `value` is an array (an {@link OptionError} otherwise). */
export function checkArray(
  where: string,
  name: string,
  value: unknown,
): asserts value is readonly unknown[] {
  if (!Array.isArray(value)) {
    throw new OptionError(`${where}: expected ${name} to be an array, got ${show(value)}`);
  }
}

/** Checks that `value` is a string (an {@link OptionError} otherwise). */
export function checkString(where: string, name: string, value: unknown): asserts value is string {
  if (typeof value !== 'string') {
    throw new OptionError(`${where}: expected ${name} to be a string, got ${show(value)}`);
  }
}
