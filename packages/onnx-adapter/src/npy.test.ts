import { readFileSync } from 'node:fs';
import { DimensionError, HessianProbeError, OptionError } from '@hessian-probe/core';
import { describe, expect, it } from 'vitest';
import {
  int64ToNumbers,
  type NpyArray,
  type NpyErrorCode,
  NpyFormatError,
  readNpy,
  writeNpy,
} from './npy.js';

/** Files written by NumPy 2.4.6, see fixtures/npy/make-fixtures.py for the formulas. */
function fixture(name: string): Uint8Array {
  return new Uint8Array(readFileSync(new URL(`./fixtures/npy/${name}`, import.meta.url)));
}

const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);

/** `Object.is` element by element, so that -0 and NaN count; reports the first mismatch. */
function expectSameNumbers(actual: ArrayLike<number>, expected: readonly number[]): void {
  expect(actual.length).toBe(expected.length);
  const bad = expected.findIndex((e, i) => !Object.is(actual[i], e));
  expect(bad, `first mismatch at index ${bad}: got ${actual[bad]}, expected ${expected[bad]}`).toBe(
    -1,
  );
}

function expectNpyError(run: () => unknown, code: NpyErrorCode, message: RegExp): void {
  let caught: unknown;
  try {
    run();
  } catch (e) {
    caught = e;
  }
  expect(caught).toBeInstanceOf(NpyFormatError);
  expect(caught).toBeInstanceOf(HessianProbeError);
  expect((caught as NpyFormatError).code).toBe(code);
  expect((caught as NpyFormatError).message).toMatch(message);
}

/** A version-1.0 file around a hand-written header, padded with spaces to `align` bytes. */
function npyV1(dict: string, data: Uint8Array, align = 64): Uint8Array {
  const unpadded = 10 + dict.length + 1;
  const header = `${dict}${' '.repeat((align - (unpadded % align)) % align)}\n`;
  const out = new Uint8Array(10 + header.length + data.length);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0, header.length & 0xff, header.length >> 8]);
  for (let i = 0; i < header.length; i++) out[10 + i] = header.charCodeAt(i);
  out.set(data, 10 + header.length);
  return out;
}

const float32Bytes = (values: number[]): Uint8Array =>
  new Uint8Array(new Float32Array(values).buffer);

describe('readNpy on files written by NumPy', () => {
  it('reads float32: np.arange(6).reshape(2, 3) * 0.5 - 1.25', () => {
    const a = readNpy(fixture('float32.npy'));
    expect(a.dtype).toBe('float32');
    expect(a.shape).toEqual([2, 3]);
    expect(a.data).toBeInstanceOf(Float32Array);
    expectSameNumbers(
      a.data as Float32Array,
      range(6).map((i) => i * 0.5 - 1.25),
    );
  });

  it('reads float64 bit-exactly, with ±Inf, NaN, -0 and the smallest subnormal', () => {
    const a = readNpy(fixture('float64.npy'));
    expect(a.dtype).toBe('float64');
    expect(a.shape).toEqual([10]);
    expect(a.data).toBeInstanceOf(Float64Array);
    const expected = [...range(5).map((i) => i / 3), Infinity, -Infinity, NaN, -0, 5e-324];
    expectSameNumbers(a.data as Float64Array, expected);
  });

  it('reads int32 including its extremes', () => {
    const a = readNpy(fixture('int32.npy'));
    expect(a.dtype).toBe('int32');
    expect(a.shape).toEqual([8]);
    expect(a.data).toBeInstanceOf(Int32Array);
    const expected = [-(2 ** 31), 2 ** 31 - 1, ...range(6).map((i) => (i - 3) * 1000003)];
    expectSameNumbers(a.data as Int32Array, expected);
  });

  it('reads int64 exactly as BigInt, beyond 2^53 included', () => {
    const a = readNpy(fixture('int64.npy'));
    expect(a.dtype).toBe('int64');
    expect(a.shape).toEqual([9]);
    expect(a.data).toBeInstanceOf(BigInt64Array);
    const safe = 2n ** 53n - 1n;
    expect([...(a.data as BigInt64Array)]).toEqual([
      0n,
      1n,
      -1n,
      safe,
      -safe,
      2n ** 53n,
      2n ** 62n + 1n,
      -(2n ** 63n),
      2n ** 63n - 1n,
    ]);
  });

  it('reads uint8 and bool', () => {
    const u = readNpy(fixture('uint8.npy'));
    expect(u.dtype).toBe('uint8');
    expect(u.shape).toEqual([4, 5]);
    expectSameNumbers(
      u.data as Uint8Array,
      range(20).map((i) => (i * 13) % 256),
    );

    const b = readNpy(fixture('bool.npy'));
    expect(b.dtype).toBe('bool');
    expect(b.shape).toEqual([7]);
    expect(b.data).toBeInstanceOf(Uint8Array);
    expectSameNumbers(
      b.data as Uint8Array,
      range(7).map((i) => (i % 3 === 0 ? 1 : 0)),
    );
  });

  it('reads a 0-d scalar, an empty (0, 3) array and a 3-D array', () => {
    const s = readNpy(fixture('scalar.npy'));
    expect(s.shape).toEqual([]);
    expectSameNumbers(s.data as Float64Array, [1 / 7]);

    const e = readNpy(fixture('empty.npy'));
    expect(e.dtype).toBe('float32');
    expect(e.shape).toEqual([0, 3]);
    expect(e.data).toBeInstanceOf(Float32Array);
    expect(e.data.length).toBe(0);

    const c = readNpy(fixture('3d.npy'));
    expect(c.shape).toEqual([2, 3, 4]);
    expectSameNumbers(
      c.data as Float32Array,
      range(24).map((i) => (i - 11.5) / 4),
    );
  });

  it('reads version 2.0 and 3.0 headers', () => {
    const v2 = readNpy(fixture('v2.npy'));
    expect(v2.dtype).toBe('float64');
    expect(v2.shape).toEqual([3, 2]);
    expectSameNumbers(
      v2.data as Float64Array,
      range(6).map((i) => i * 0.25),
    );

    const v3 = readNpy(fixture('v3.npy'));
    expect(v3.dtype).toBe('int64');
    expect(v3.shape).toEqual([4]);
    expect([...(v3.data as BigInt64Array)]).toEqual([-2n, -1n, 0n, 1n]);
  });

  it('reads bytes at an unaligned offset and returns aligned arrays it owns', () => {
    const bytes = fixture('float64.npy');
    const shifted = new Uint8Array(bytes.length + 3);
    shifted.set(bytes, 3);
    const view = shifted.subarray(3);
    const a = readNpy(view);
    expect(a.data.byteOffset).toBe(0);
    expectSameNumbers(a.data as Float64Array, [
      ...range(5).map((i) => i / 3),
      Infinity,
      -Infinity,
      NaN,
      -0,
      5e-324,
    ]);
    view.fill(0);
    expect(a.data[1]).toBe(1 / 3);
  });

  it.each([
    ['big-endian.npy', 'npy-big-endian', /expected little-endian data '<f4', got big-endian '>f4'/],
    ['fortran.npy', 'npy-fortran-order', /expected a C-order array.*got fortran_order True/],
    ['object.npy', 'npy-object-dtype', /expected a numeric dtype .*got object dtype '\|O'/],
    ['structured.npy', 'npy-structured-dtype', /got a structured dtype with 2 field\(s\)/],
    ['float16.npy', 'npy-unsupported-dtype', /expected one of '<f4' \(float32\).*got '<f2'/],
  ] as const)('refuses %s with %s', (name, code, message) => {
    expectNpyError(() => readNpy(fixture(name)), code, message);
  });
});

describe('writeNpy', () => {
  it.each([
    'float32.npy',
    'float64.npy',
    'int32.npy',
    'int64.npy',
    'uint8.npy',
    'bool.npy',
    'scalar.npy',
    'empty.npy',
    '3d.npy',
  ])('writes the same bytes as np.save for %s', (name) => {
    const bytes = fixture(name);
    expect(writeNpy(readNpy(bytes))).toEqual(bytes);
  });

  const cases: NpyArray[] = [
    { dtype: 'float32', shape: [3], data: new Float32Array([-0, 3.5, Number.NaN]) },
    { dtype: 'float64', shape: [], data: new Float64Array([Math.PI]) },
    { dtype: 'float64', shape: [2, 0, 4], data: new Float64Array(0) },
    { dtype: 'int32', shape: [1, 2, 1], data: new Int32Array([-(2 ** 31), 7]) },
    { dtype: 'int64', shape: [2], data: new BigInt64Array([-(2n ** 63n), 2n ** 63n - 1n]) },
    { dtype: 'uint8', shape: [2, 2], data: new Uint8Array([0, 1, 254, 255]) },
    { dtype: 'bool', shape: [3], data: new Uint8Array([1, 0, 1]) },
    // A first axis with many digits leaves less of NumPy's growth padding.
    { dtype: 'uint8', shape: [123456, 0], data: new Uint8Array(0) },
  ];

  it.each(cases)('round-trips $dtype of shape $shape with the data 64-byte aligned', (array) => {
    const bytes = writeNpy(array);
    const headerLength = bytes[8]! | (bytes[9]! << 8);
    expect((10 + headerLength) % 64).toBe(0);
    expect(bytes[10 + headerLength - 1]).toBe(0x0a); // '\n'
    const back = readNpy(bytes);
    expect(back.dtype).toBe(array.dtype);
    expect(back.shape).toEqual(array.shape);
    expect(back.data).toBeInstanceOf(array.data.constructor);
    expect([...back.data].map(String)).toEqual([...array.data].map(String));
  });

  it('refuses data of the wrong class, a wrong length, a bad shape and non-0/1 bools', () => {
    const wrongClass = { dtype: 'float32', shape: [1], data: new Float64Array(1) };
    expect(() => writeNpy(wrongClass as unknown as NpyArray)).toThrow(
      /expected float32 data in a Float32Array, got Float64Array/,
    );
    expect(() => writeNpy(wrongClass as unknown as NpyArray)).toThrow(OptionError);
    const float16 = { dtype: 'float16', shape: [1], data: new Uint16Array(1) };
    expect(() => writeNpy(float16 as unknown as NpyArray)).toThrow(
      `writeNpy: expected dtype to be one of 'float32', 'float64', 'int32', 'int64', 'uint8', 'bool', got "float16"`,
    );
    expect(() => writeNpy({ dtype: 'int32', shape: [2, 3], data: new Int32Array(5) })).toThrow(
      DimensionError,
    );
    expect(() => writeNpy({ dtype: 'int32', shape: [2, 3], data: new Int32Array(5) })).toThrow(
      'writeNpy: expected 6 elements for shape (2, 3), got 5',
    );
    expect(() => writeNpy({ dtype: 'uint8', shape: [-1], data: new Uint8Array(0) })).toThrow(
      OptionError,
    );
    expect(() => writeNpy({ dtype: 'uint8', shape: [1.5], data: new Uint8Array(1) })).toThrow(
      OptionError,
    );
    expect(() => writeNpy({ dtype: 'bool', shape: [2], data: new Uint8Array([1, 2]) })).toThrow(
      'writeNpy: expected bool values 0 or 1, got 2 at index 1',
    );
  });
});

describe('readNpy header variants', () => {
  it('reads a file whose data starts at a multiple of 16 (NumPy < 1.9)', () => {
    const bytes = npyV1(
      "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }",
      float32Bytes([1.5, -2]),
      16,
    );
    expect((bytes.length - 8) % 64).not.toBe(0);
    const a = readNpy(bytes);
    expect(a.shape).toEqual([2]);
    expectSameNumbers(a.data as Float32Array, [1.5, -2]);
  });

  it('accepts any key order, double quotes and no trailing comma', () => {
    const a = readNpy(
      npyV1(`{"shape": (1, 2), "fortran_order": False, "descr": "<f4"}`, float32Bytes([3, 4])),
    );
    expect(a.shape).toEqual([1, 2]);
    expectSameNumbers(a.data as Float32Array, [3, 4]);
  });

  it.each([
    ['not a dict', '(1, 2)', /got a tuple/],
    ['a missing key', "{'descr': '<f4', 'shape': (2,)}", /got keys 'descr', 'shape'/],
    [
      'an extra key',
      "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), 'x': 1}",
      /got keys 'descr', 'fortran_order', 'shape', 'x'/,
    ],
    [
      'a list shape',
      "{'descr': '<f4', 'fortran_order': False, 'shape': [2]}",
      /shape that is not a tuple/,
    ],
    [
      'a negative dimension',
      "{'descr': '<f4', 'fortran_order': False, 'shape': (-2,)}",
      /shape that is not a tuple of non-negative integers/,
    ],
    [
      'a non-bool fortran_order',
      "{'descr': '<f4', 'fortran_order': 0, 'shape': (2,)}",
      /fortran_order of type int/,
    ],
    ['a non-string descr', "{'descr': 4, 'fortran_order': False, 'shape': (2,)}", /'descr'.*int/],
    ['unparsable text', "{'descr': '<f4' 'shape'}", /unparsable text: expected ',' or '}'/],
    ['an unclosed string', "{'descr': '<f4", /expected a closing '/],
  ])('refuses a header with %s', (_, dict, message) => {
    expectNpyError(() => readNpy(npyV1(dict, float32Bytes([1, 2]))), 'npy-bad-header', message);
  });

  it('refuses bool bytes other than 0 and 1', () => {
    const bytes = npyV1(
      "{'descr': '|b1', 'fortran_order': False, 'shape': (3,), }",
      new Uint8Array([1, 0, 7]),
    );
    expectNpyError(() => readNpy(bytes), 'npy-bad-bool', /got 7 at index 2/);
  });
});

describe('readNpy on damaged bytes', () => {
  const good = fixture('float32.npy');

  it('refuses bad magic, and recognises a zip (.npz) archive', () => {
    expectNpyError(
      () => readNpy(new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8, 9, 10])),
      'npy-bad-magic',
      /expected the \.npy magic 93 4e 55 4d 50 59 .*got 01 02 03 04 05 06$/,
    );
    expectNpyError(
      () => readNpy(new Uint8Array([0x50, 0x4b, 3, 4, 0, 0, 0, 0])),
      'npy-bad-magic',
      /\.npz: pass one of its \.npy members/,
    );
  });

  it('refuses unknown versions', () => {
    for (const [major, minor] of [
      [4, 0],
      [1, 1],
      [0, 0],
    ]) {
      const bytes = good.slice();
      bytes[6] = major!;
      bytes[7] = minor!;
      expectNpyError(
        () => readNpy(bytes),
        'npy-unsupported-version',
        new RegExp(`expected format version 1.0, 2.0 or 3.0, got ${major}.${minor}`),
      );
    }
  });

  it('refuses a file cut anywhere before its last byte', () => {
    const messages: Record<number, RegExp> = {
      0: /expected the 8-byte magic and version, got a 0-byte file/,
      4: /got a 4-byte file/,
      9: /expected a 10-byte preamble \(version 1\.0\), got a 9-byte file/,
      50: /expected a 118-byte header after the 10-byte preamble, got 40 bytes/,
      [good.length - 1]:
        /expected 24 data bytes \(shape \(2, 3\) of '<f4'\), got 23 after the 128-byte header/,
    };
    for (let n = 0; n < good.length; n++) {
      expectNpyError(() => readNpy(good.subarray(0, n)), 'npy-truncated', messages[n] ?? /./);
    }
  });

  it('refuses trailing bytes after the data', () => {
    const longer = new Uint8Array(good.length + 4);
    longer.set(good);
    expectNpyError(
      () => readNpy(longer),
      'npy-data-length',
      /expected 24 data bytes .*got 28 after the 128-byte header \(trailing bytes/,
    );
  });

  it('refuses a version 3.0 header that is not UTF-8', () => {
    const bytes = fixture('v3.npy');
    bytes[20] = 0xff;
    expectNpyError(() => readNpy(bytes), 'npy-bad-header', /expected a UTF-8 header/);
  });
});

describe('int64ToNumbers', () => {
  const labels = readNpy(fixture('int64.npy')).data as BigInt64Array;

  it('converts safe integers exactly, up to ±(2^53 - 1)', () => {
    expectSameNumbers(int64ToNumbers(labels.subarray(0, 5)), [
      0,
      1,
      -1,
      Number.MAX_SAFE_INTEGER,
      -Number.MAX_SAFE_INTEGER,
    ]);
  });

  it('throws at the first value beyond 2^53 - 1, naming index and value', () => {
    expectNpyError(
      () => int64ToNumbers(labels),
      'npy-unsafe-integer',
      /got 9007199254740992 at index 5$/,
    );
    expectNpyError(
      () => int64ToNumbers(new BigInt64Array([-(2n ** 53n)])),
      'npy-unsafe-integer',
      /got -9007199254740992 at index 0$/,
    );
  });
});
