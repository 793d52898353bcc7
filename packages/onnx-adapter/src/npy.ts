/**
 * NumPy `.npy` files: one array per file, read and written without NumPy.
 *
 * Format (NumPy Enhancement Proposal 1, `numpy.lib.format`): the magic string `\x93NUMPY`, a
 * major and minor version byte, the header length (uint16 little-endian in version 1.0, uint32
 * in 2.0 and 3.0), then the header, a Python dict literal such as
 * `{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }` padded with spaces and a final
 * `\n` so that the data starts at a multiple of 64 bytes (16 in files from NumPy < 1.9), then the
 * raw element bytes. Versions 1.0 and 2.0 encode the header in latin-1, 3.0 in UTF-8.
 *
 * @see https://numpy.org/doc/stable/reference/generated/numpy.lib.format.html
 */
import { DimensionError, HessianProbeError, OptionError } from '@hessian-probe/core';

/** Element types this module reads and writes (NumPy names). */
export type NpyDtype = 'float32' | 'float64' | 'int32' | 'int64' | 'uint8' | 'bool';

/** The typed array that holds each {@link NpyDtype}; `bool` is one byte per element, 0 or 1. */
export interface NpyDataTypes {
  float32: Float32Array;
  float64: Float64Array;
  int32: Int32Array;
  int64: BigInt64Array;
  uint8: Uint8Array;
  bool: Uint8Array;
}

/**
 * One array: `dtype`, `shape` (row-major, `[]` for a 0-d scalar) and `data` with
 * `shape.reduce((a, b) => a * b, 1)` elements in C order. The union is discriminated by `dtype`,
 * so `if (a.dtype === 'int64')` narrows `a.data` to `BigInt64Array`.
 */
export type NpyArray = {
  [D in NpyDtype]: { dtype: D; shape: number[]; data: NpyDataTypes[D] };
}[NpyDtype];

/** Why a `.npy` file (or an int64 conversion) was refused; the value of {@link NpyFormatError.code}. */
export type NpyErrorCode =
  | 'npy-bad-magic'
  | 'npy-unsupported-version'
  | 'npy-truncated'
  | 'npy-bad-header'
  | 'npy-unsupported-dtype'
  | 'npy-big-endian'
  | 'npy-fortran-order'
  | 'npy-object-dtype'
  | 'npy-structured-dtype'
  | 'npy-data-length'
  | 'npy-bad-bool'
  | 'npy-unsafe-integer';

/**
 * A `.npy` file this module cannot read, or an int64 value that is not a safe JavaScript
 * number. The message reads "readNpy: expected …, got …", with a NumPy one-liner that fixes
 * the file where there is one.
 *
 * @example
 * ```ts
 * import { readFileSync } from 'node:fs';
 * try {
 *   readNpy(readFileSync('inputs.npy'));
 * } catch (e) {
 *   if (e instanceof NpyFormatError && e.code === 'npy-big-endian') console.error(e.message);
 * }
 * ```
 */
export class NpyFormatError extends HessianProbeError {
  declare readonly code: NpyErrorCode;

  constructor(code: NpyErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY
const ALIGN = 64;
/** NumPy leaves room for the first axis to grow to this many digits when it writes a header. */
const GROWTH_AXIS_MAX_DIGITS = 21;
/** NumPy's limit on the number of dimensions (NPY_MAXDIMS since NumPy 2.0). */
const MAX_DIMS = 64;

interface DtypeInfo {
  dtype: NpyDtype;
  /** Type code without the byte-order character, e.g. `'f4'`. */
  code: string;
  bytes: number;
}

const DTYPES: readonly DtypeInfo[] = [
  { dtype: 'float32', code: 'f4', bytes: 4 },
  { dtype: 'float64', code: 'f8', bytes: 8 },
  { dtype: 'int32', code: 'i4', bytes: 4 },
  { dtype: 'int64', code: 'i8', bytes: 8 },
  { dtype: 'uint8', code: 'u1', bytes: 1 },
  { dtype: 'bool', code: 'b1', bytes: 1 },
];

/** The descr NumPy writes for each dtype: `<` for multi-byte types, `|` (no order) for bytes. */
function descrOf(info: DtypeInfo): string {
  return `${info.bytes === 1 ? '|' : '<'}${info.code}`;
}

const SUPPORTED_DESCRS = DTYPES.map((d) => `'${descrOf(d)}' (${d.dtype})`).join(', ');

/**
 * Reads a `.npy` file (format version 1.0, 2.0 or 3.0) holding a little-endian, C-order array
 * of a supported {@link NpyDtype}. The data is copied, so `bytes` may sit at any offset of any
 * buffer (a `Buffer` from `fs.readFileSync` included) and the result owns aligned typed arrays.
 *
 * @param bytes - the whole file.
 * @returns the array; `int64` data comes as a `BigInt64Array` (see {@link int64ToNumbers}).
 * @throws {@link NpyFormatError} for bad magic, an unknown version, a truncated file, an
 *   unparsable header, big-endian or Fortran-order data, object, structured or other dtypes,
 *   a data section whose length does not match the shape, and bool bytes other than 0 or 1.
 *
 * @example
 * ```ts
 * import { readFileSync } from 'node:fs';
 * const x = readNpy(readFileSync('inputs.npy')); // written by np.save('inputs.npy', a)
 * if (x.dtype !== 'float32') throw new Error(`expected float32 inputs, got ${x.dtype}`);
 * console.log(x.shape, x.data.length);
 * ```
 */
export function readNpy(bytes: Uint8Array): NpyArray {
  const { major, headerText, dataOffset } = readPreamble(bytes);
  const header = parseHeader(headerText, major);
  const info = resolveDescr(header.descr);
  if (header.fortranOrder) {
    throw new NpyFormatError(
      'npy-fortran-order',
      'readNpy: expected a C-order array (fortran_order False), got fortran_order True; ' +
        'save np.ascontiguousarray(a) instead',
    );
  }
  const count = header.shape.reduce((a, b) => a * b, 1);
  const expected = count * info.bytes;
  const available = bytes.length - dataOffset;
  if (!Number.isSafeInteger(expected) || available !== expected) {
    const shape = formatShape(header.shape);
    const what = `${expected} data bytes (shape ${shape} of '${descrOf(info)}')`;
    const got = `${available} after the ${dataOffset}-byte header`;
    if (available < expected) {
      throw new NpyFormatError('npy-truncated', `readNpy: expected ${what}, got ${got}`);
    }
    throw new NpyFormatError(
      'npy-data-length',
      `readNpy: expected ${what}, got ${got} (trailing bytes: not a single np.save array)`,
    );
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset + dataOffset, expected);
  return {
    dtype: info.dtype,
    shape: header.shape,
    data: decode(info.dtype, view, count),
  } as NpyArray;
}

/**
 * Writes an array as a `.npy` file, format version 1.0, with the header NumPy's `np.save` writes
 * (same key order, spare room for the first axis to grow, padded to 64 bytes), so that the
 * output is byte-identical to `np.save` of the same array.
 *
 * @param array - `data` must be the typed array of `dtype` ({@link NpyDataTypes}) with
 *   `shape.reduce((a, b) => a * b, 1)` elements; bool data must be 0 or 1.
 * @returns the file's bytes.
 * @throws {@link @hessian-probe/core!index.OptionError | OptionError} for a shape that is not a
 *   list of at most 64 non-negative integers, an unknown dtype, data of the wrong typed-array class
 *   or bool values other than 0 or 1;
 *   {@link @hessian-probe/core!index.DimensionError | DimensionError} when the element count does
 *   not match the shape.
 *
 * @example
 * ```ts
 * import { writeFileSync } from 'node:fs';
 * const data = new Float32Array([1, 2, 3, 4, 5, 6]);
 * writeFileSync('a.npy', writeNpy({ dtype: 'float32', shape: [2, 3], data }));
 * // np.load('a.npy') -> array([[1., 2., 3.], [4., 5., 6.]], dtype=float32)
 * ```
 */
export function writeNpy(array: NpyArray): Uint8Array {
  const { dtype, shape, data } = array;
  const info = DTYPES.find((d) => d.dtype === dtype);
  if (info === undefined) {
    throw new OptionError(
      `writeNpy: expected dtype to be one of ${DTYPES.map((d) => `'${d.dtype}'`).join(', ')}, got ${JSON.stringify(dtype)}`,
    );
  }
  checkShape(shape);
  const expectedClass = dataClassOf(dtype);
  if (!(data instanceof expectedClass)) {
    throw new OptionError(
      `writeNpy: expected ${dtype} data in a ${expectedClass.name}, got ${describe(data)}`,
    );
  }
  const count = shape.reduce((a, b) => a * b, 1);
  if (data.length !== count) {
    throw new DimensionError(
      `writeNpy: expected ${count} elements for shape ${formatShape(shape)}, got ${data.length}`,
    );
  }
  if (dtype === 'bool') checkBoolBytes(data as Uint8Array, 'writeNpy');

  const dict = `{'descr': '${descrOf(info)}', 'fortran_order': False, 'shape': ${formatShape(shape)}, }`;
  const growth =
    shape.length > 0 ? ' '.repeat(GROWTH_AXIS_MAX_DIGITS - String(shape[0]).length) : '';
  const unpadded = dict.length + growth.length + 1; // + the final '\n'
  const padding = ALIGN - ((MAGIC.length + 4 + unpadded) % ALIGN);
  const header = `${dict}${growth}${' '.repeat(padding)}\n`;
  const dataOffset = MAGIC.length + 4 + header.length;

  const out = new Uint8Array(dataOffset + count * info.bytes);
  out.set(MAGIC, 0);
  out[6] = 1; // major version
  out[7] = 0; // minor version
  new DataView(out.buffer).setUint16(8, header.length, true);
  for (let i = 0; i < header.length; i++) out[10 + i] = header.charCodeAt(i); // ASCII only
  encode(dtype, data, new DataView(out.buffer, dataOffset));
  return out;
}

/**
 * Converts int64 values (as {@link readNpy} returns them) to numbers, for class labels and
 * indices. Every value must be a safe integer, |v| ≤ 2^53 − 1 (`Number.MAX_SAFE_INTEGER`);
 * beyond that two different int64 values could become the same number.
 *
 * @param data - int64 values.
 * @returns the same values as a `Float64Array`.
 * @throws {@link NpyFormatError} with code `'npy-unsafe-integer'`, naming the first offending
 *   index and value.
 *
 * @example
 * ```ts
 * import { readFileSync } from 'node:fs';
 * const y = readNpy(readFileSync('labels.npy')); // np.save('labels.npy', np.array([3, 1, 4]))
 * const labels = y.dtype === 'int64' ? int64ToNumbers(y.data) : Float64Array.from(y.data);
 * ```
 */
export function int64ToNumbers(data: BigInt64Array): Float64Array {
  const out = new Float64Array(data.length);
  const max = BigInt(Number.MAX_SAFE_INTEGER);
  for (let i = 0; i < data.length; i++) {
    const v = data[i]!;
    if (v > max || v < -max) {
      throw new NpyFormatError(
        'npy-unsafe-integer',
        `int64ToNumbers: expected integers with |v| <= 2^53 - 1 (Number.MAX_SAFE_INTEGER), got ${v} at index ${i}`,
      );
    }
    out[i] = Number(v);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Reading: preamble, header, dtype.

function readPreamble(bytes: Uint8Array): {
  major: number;
  headerText: string;
  dataOffset: number;
} {
  const prefix = Math.min(bytes.length, MAGIC.length);
  for (let i = 0; i < prefix; i++) {
    if (bytes[i] !== MAGIC[i]) {
      const got = Array.from(bytes.subarray(0, MAGIC.length), (b) => hex(b)).join(' ');
      const zip = bytes[0] === 0x50 && bytes[1] === 0x4b; // 'PK'
      const hint = zip ? ' (a zip archive, maybe .npz: pass one of its .npy members)' : '';
      throw new NpyFormatError(
        'npy-bad-magic',
        `readNpy: expected the .npy magic 93 4e 55 4d 50 59 ('\\x93NUMPY'), got ${got}${hint}`,
      );
    }
  }
  if (bytes.length < 8) {
    throw new NpyFormatError(
      'npy-truncated',
      `readNpy: expected the 8-byte magic and version, got a ${bytes.length}-byte file`,
    );
  }
  const major = bytes[6]!;
  const minor = bytes[7]!;
  if (minor !== 0 || major < 1 || major > 3) {
    throw new NpyFormatError(
      'npy-unsupported-version',
      `readNpy: expected format version 1.0, 2.0 or 3.0, got ${major}.${minor}`,
    );
  }
  const lengthBytes = major === 1 ? 2 : 4;
  const headerStart = 8 + lengthBytes;
  if (bytes.length < headerStart) {
    throw new NpyFormatError(
      'npy-truncated',
      `readNpy: expected a ${headerStart}-byte preamble (version ${major}.0), got a ${bytes.length}-byte file`,
    );
  }
  const lengthView = new DataView(bytes.buffer, bytes.byteOffset + 8, lengthBytes);
  const headerLength = major === 1 ? lengthView.getUint16(0, true) : lengthView.getUint32(0, true);
  const dataOffset = headerStart + headerLength;
  if (bytes.length < dataOffset) {
    throw new NpyFormatError(
      'npy-truncated',
      `readNpy: expected a ${headerLength}-byte header after the ${headerStart}-byte preamble, ` +
        `got ${bytes.length - headerStart} bytes`,
    );
  }
  const raw = bytes.subarray(headerStart, dataOffset);
  let headerText: string;
  if (major === 3) {
    try {
      headerText = new TextDecoder('utf-8', { fatal: true }).decode(raw);
    } catch (cause) {
      throw new NpyFormatError(
        'npy-bad-header',
        'readNpy: expected a UTF-8 header (version 3.0), got invalid UTF-8',
        { cause },
      );
    }
  } else {
    // latin-1 maps each byte to the code point of the same value (TextDecoder's 'latin1' is
    // windows-1252, which differs in 0x80..0x9f).
    headerText = '';
    for (const b of raw) headerText += String.fromCharCode(b);
  }
  return { major, headerText, dataOffset };
}

interface Header {
  descr: PyValue;
  fortranOrder: boolean;
  shape: number[];
}

function parseHeader(text: string, major: number): Header {
  const bad = (what: string): NpyFormatError =>
    new NpyFormatError(
      'npy-bad-header',
      `readNpy: expected a header dict with keys 'descr', 'fortran_order' and 'shape', ${what} ` +
        `(version ${major}.0 header ${JSON.stringify(text.trim())})`,
    );
  let value: PyValue;
  try {
    value = parsePythonLiteral(text);
  } catch (e) {
    throw bad(`got unparsable text: ${(e as Error).message}`);
  }
  if (value.type !== 'dict') throw bad(`got a ${value.type}`);
  const keys = [...value.entries.keys()].sort();
  if (keys.join(',') !== 'descr,fortran_order,shape') {
    throw bad(`got keys ${keys.map((k) => `'${k}'`).join(', ') || 'none'}`);
  }
  const descr = value.entries.get('descr')!;
  const fortran = value.entries.get('fortran_order')!;
  const shape = value.entries.get('shape')!;
  if (fortran.type !== 'bool') throw bad(`got fortran_order of type ${fortran.type}`);
  if (
    shape.type !== 'tuple' ||
    !shape.items.every(
      (d) => d.type === 'int' && d.value >= 0n && d.value <= BigInt(Number.MAX_SAFE_INTEGER),
    )
  ) {
    throw bad('got a shape that is not a tuple of non-negative integers');
  }
  return {
    descr,
    fortranOrder: fortran.value,
    shape: shape.items.map((d) => Number((d as PyInt).value)),
  };
}

function resolveDescr(descr: PyValue): DtypeInfo {
  if (descr.type === 'list') {
    throw new NpyFormatError(
      'npy-structured-dtype',
      `readNpy: expected a plain dtype (${SUPPORTED_DESCRS}), got a structured dtype with ` +
        `${descr.items.length} field(s); save each field as its own array`,
    );
  }
  if (descr.type !== 'str') {
    throw new NpyFormatError(
      'npy-bad-header',
      `readNpy: expected 'descr' to be a string, got a ${descr.type}`,
    );
  }
  const text = descr.value;
  if (text === '|O' || text === 'O') {
    throw new NpyFormatError(
      'npy-object-dtype',
      `readNpy: expected a numeric dtype (${SUPPORTED_DESCRS}), got object dtype '|O' ` +
        '(pickled Python objects are never unpickled here); save a numeric array',
    );
  }
  const order = text[0];
  const info = DTYPES.find((d) => d.code === text.slice(1));
  if (info !== undefined) {
    if (order === '<' || (info.bytes === 1 && (order === '|' || order === '>'))) return info;
    if (order === '>') {
      throw new NpyFormatError(
        'npy-big-endian',
        `readNpy: expected little-endian data '${descrOf(info)}', got big-endian '${text}'; ` +
          `save a.astype('${descrOf(info)}') instead`,
      );
    }
  }
  throw new NpyFormatError(
    'npy-unsupported-dtype',
    `readNpy: expected one of ${SUPPORTED_DESCRS}, got '${text}'; convert with ` +
      'a.astype(np.float32) (or another supported dtype) before saving',
  );
}

// ---------------------------------------------------------------------------------------------
// Data: one element loop per dtype through a DataView, which reads little-endian whatever the
// host's byte order and whatever the alignment of the source bytes.

function decode(dtype: NpyDtype, view: DataView, count: number): NpyDataTypes[NpyDtype] {
  switch (dtype) {
    case 'float32': {
      const out = new Float32Array(count);
      for (let i = 0; i < count; i++) out[i] = view.getFloat32(4 * i, true);
      return out;
    }
    case 'float64': {
      const out = new Float64Array(count);
      for (let i = 0; i < count; i++) out[i] = view.getFloat64(8 * i, true);
      return out;
    }
    case 'int32': {
      const out = new Int32Array(count);
      for (let i = 0; i < count; i++) out[i] = view.getInt32(4 * i, true);
      return out;
    }
    case 'int64': {
      const out = new BigInt64Array(count);
      for (let i = 0; i < count; i++) out[i] = view.getBigInt64(8 * i, true);
      return out;
    }
    case 'uint8':
    case 'bool': {
      const out = new Uint8Array(view.buffer, view.byteOffset, count).slice();
      if (dtype === 'bool') checkBoolBytes(out, 'readNpy');
      return out;
    }
  }
}

function encode(dtype: NpyDtype, data: NpyDataTypes[NpyDtype], view: DataView): void {
  const n = data.length;
  switch (dtype) {
    case 'float32': {
      const d = data as Float32Array;
      for (let i = 0; i < n; i++) view.setFloat32(4 * i, d[i]!, true);
      return;
    }
    case 'float64': {
      const d = data as Float64Array;
      for (let i = 0; i < n; i++) view.setFloat64(8 * i, d[i]!, true);
      return;
    }
    case 'int32': {
      const d = data as Int32Array;
      for (let i = 0; i < n; i++) view.setInt32(4 * i, d[i]!, true);
      return;
    }
    case 'int64': {
      const d = data as BigInt64Array;
      for (let i = 0; i < n; i++) view.setBigInt64(8 * i, d[i]!, true);
      return;
    }
    case 'uint8':
    case 'bool':
      new Uint8Array(view.buffer, view.byteOffset, n).set(data as Uint8Array);
      return;
  }
}

function dataClassOf(dtype: NpyDtype): abstract new (...args: never[]) => unknown {
  switch (dtype) {
    case 'float32':
      return Float32Array;
    case 'float64':
      return Float64Array;
    case 'int32':
      return Int32Array;
    case 'int64':
      return BigInt64Array;
    case 'uint8':
    case 'bool':
      return Uint8Array;
  }
}

function checkBoolBytes(data: Uint8Array, where: 'readNpy' | 'writeNpy'): void {
  const i = data.findIndex((b) => b > 1);
  if (i < 0) return;
  const message = `${where}: expected bool values 0 or 1, got ${data[i]} at index ${i}`;
  throw where === 'readNpy'
    ? new NpyFormatError('npy-bad-bool', message)
    : new OptionError(message);
}

function checkShape(shape: readonly number[]): void {
  const ok =
    Array.isArray(shape) &&
    shape.length <= MAX_DIMS &&
    shape.every((d) => Number.isSafeInteger(d) && d >= 0);
  if (!ok) {
    throw new OptionError(
      `writeNpy: expected shape to be at most ${MAX_DIMS} non-negative integers, got ${JSON.stringify(shape)}`,
    );
  }
}

/** Python's repr of a shape tuple: `()`, `(3,)`, `(2, 3)`. */
function formatShape(shape: readonly number[]): string {
  return shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
}

function describe(value: unknown): string {
  if (value === null || typeof value !== 'object') return String(value);
  return value.constructor?.name ?? 'an object';
}

function hex(b: number): string {
  return b.toString(16).padStart(2, '0');
}

// ---------------------------------------------------------------------------------------------
// The header is a Python literal (numpy reads it with ast.literal_eval). This parser accepts the
// subset NumPy writes: dicts, lists, tuples, quoted strings, integers, True, False and None.

type PyInt = { type: 'int'; value: bigint };
type PyValue =
  | { type: 'str'; value: string }
  | PyInt
  | { type: 'bool'; value: boolean }
  | { type: 'none' }
  | { type: 'tuple'; items: PyValue[] }
  | { type: 'list'; items: PyValue[] }
  | { type: 'dict'; entries: Map<string, PyValue> };

const WORD = /-?\d+|True|False|None/y;

function parsePythonLiteral(text: string): PyValue {
  let pos = 0;
  const fail = (expected: string): never => {
    const got = pos < text.length ? JSON.stringify(text.slice(pos, pos + 12)) : 'the end';
    throw new Error(`expected ${expected} at character ${pos}, got ${got}`);
  };
  const skipSpace = (): void => {
    while (pos < text.length && /\s/.test(text[pos]!)) pos++;
  };
  const eat = (token: string): boolean => {
    skipSpace();
    if (text.startsWith(token, pos)) {
      pos += token.length;
      return true;
    }
    return false;
  };
  /** Items up to `close`, separated by commas, with an optional trailing comma. */
  const sequence = <T>(close: string, item: () => T): { items: T[]; trailingComma: boolean } => {
    const items: T[] = [];
    let trailingComma = false;
    while (!eat(close)) {
      if (items.length > 0 && !trailingComma) fail(`',' or '${close}'`);
      items.push(item());
      trailingComma = eat(',');
    }
    return { items, trailingComma };
  };
  const value = (): PyValue => {
    skipSpace();
    const c = text[pos];
    if (c === "'" || c === '"') return { type: 'str', value: string(c) };
    if (eat('{')) {
      const entries = new Map<string, PyValue>();
      sequence('}', () => {
        const key = value();
        if (key.type !== 'str') fail('a string key');
        if (!eat(':')) fail("':'");
        entries.set((key as { value: string }).value, value());
      });
      return { type: 'dict', entries };
    }
    if (eat('[')) return { type: 'list', items: sequence(']', value).items };
    if (eat('(')) {
      const { items, trailingComma } = sequence(')', value);
      // `(x)` is x in Python; `(x,)` and `()` are tuples.
      return items.length === 1 && !trailingComma ? items[0]! : { type: 'tuple', items };
    }
    WORD.lastIndex = pos;
    const word = WORD.exec(text);
    if (word === null) return fail('a value');
    pos = WORD.lastIndex;
    if (word[0] === 'True' || word[0] === 'False')
      return { type: 'bool', value: word[0] === 'True' };
    if (word[0] === 'None') return { type: 'none' };
    return { type: 'int', value: BigInt(word[0]) };
  };
  const string = (quote: string): string => {
    pos++;
    let out = '';
    while (pos < text.length && text[pos] !== quote) {
      if (text[pos] === '\\') pos++;
      out += text[pos] ?? '';
      pos++;
    }
    if (pos >= text.length) fail(`a closing ${quote}`);
    pos++;
    return out;
  };
  const result = value();
  skipSpace();
  if (pos < text.length) fail('the end of the header');
  return result;
}
