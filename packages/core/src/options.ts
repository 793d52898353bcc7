import { OptionError } from './errors.js';

/**
 * Checks that `value` is an integer in [min, max]; otherwise throws an {@link OptionError}
 * reading "`where`: expected `name` to be an integer >= min[, <= max], got value".
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
      `${where}: expected ${name} to be an integer ${range}, got ${String(value)}`,
    );
  }
}

/** Checks that `value` is a finite number > 0 (or >= 0 when `allowZero`). */
export function checkPositive(where: string, name: string, value: number, allowZero = false): void {
  const ok = Number.isFinite(value) && (allowZero ? value >= 0 : value > 0);
  if (!ok) {
    const bound = allowZero ? '>= 0' : '> 0';
    throw new OptionError(
      `${where}: expected ${name} to be a finite number ${bound}, got ${String(value)}`,
    );
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
    throw new OptionError(`${where}: expected ${name} to be ${list}, got ${JSON.stringify(value)}`);
  }
}
