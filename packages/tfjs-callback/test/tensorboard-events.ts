/**
 * Test helper: reads TensorBoard event files back, independently of TensorFlow. An event file is
 * a sequence of TFRecords (uint64 length, uint32 masked CRC of the length, the bytes, uint32
 * masked CRC of the bytes; CRCs not checked here), each an `Event` protocol buffer: `step` is
 * field 2 and `summary` field 5, whose `value`s (field 1) carry `tag` (1) and either
 * `simple_value` (2, float) or, for histograms as TensorFlow 2 writes them, `tensor` (8: a
 * float32 TensorProto of shape [buckets, 3] in `tensor_content`, field 4, with rows (left edge,
 * right edge, count)). Only what the tests read is decoded.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';

/** One summary value of one event. */
export interface EventValue {
  readonly step: number;
  readonly tag: string;
  readonly simpleValue?: number;
  /** From a histogram tensor: the outer edges, the total count and the per-bucket counts. */
  readonly histogram?: { min: number; max: number; num: number; buckets: number[] };
}

/** Every summary value in the event files of `logdir`, in file order. */
export async function readEventValues(logdir: string): Promise<EventValue[]> {
  const values: EventValue[] = [];
  const files = (await readdir(logdir)).filter((f) => f.startsWith('events.out.tfevents')).sort();
  for (const file of files) {
    const data = await readFile(join(logdir, file));
    let offset = 0;
    while (offset + 12 <= data.length) {
      const length = Number(data.readBigUInt64LE(offset));
      const record = data.subarray(offset + 12, offset + 12 + length);
      offset += 12 + length + 4;
      values.push(...eventValues(record));
    }
  }
  return values;
}

type Field = { number: number; wire: number; value: bigint | Buffer; fixed?: Buffer };

function* fields(buffer: Buffer): Generator<Field> {
  let offset = 0;
  const varint = (): bigint => {
    let result = 0n;
    let shift = 0n;
    for (;;) {
      const byte = buffer[offset++];
      result |= BigInt(byte & 0x7f) << shift;
      if ((byte & 0x80) === 0) return result;
      shift += 7n;
    }
  };
  while (offset < buffer.length) {
    const key = Number(varint());
    const number = key >> 3;
    const wire = key & 7;
    if (wire === 0) yield { number, wire, value: varint() };
    else if (wire === 1) {
      yield { number, wire, value: 0n, fixed: buffer.subarray(offset, offset + 8) };
      offset += 8;
    } else if (wire === 2) {
      const length = Number(varint());
      yield { number, wire, value: buffer.subarray(offset, offset + length) };
      offset += length;
    } else if (wire === 5) {
      yield { number, wire, value: 0n, fixed: buffer.subarray(offset, offset + 4) };
      offset += 4;
    } else throw new Error(`unsupported wire type ${wire}`);
  }
}

function eventValues(record: Buffer): EventValue[] {
  let step = 0;
  const summaries: Buffer[] = [];
  for (const f of fields(record)) {
    if (f.number === 2 && f.wire === 0) step = Number(f.value);
    if (f.number === 5 && f.wire === 2) summaries.push(f.value as Buffer);
  }
  const out: EventValue[] = [];
  for (const summary of summaries) {
    for (const f of fields(summary)) {
      if (f.number !== 1 || f.wire !== 2) continue;
      let tag = '';
      let simpleValue: number | undefined;
      let histogram: EventValue['histogram'];
      for (const g of fields(f.value as Buffer)) {
        if (g.number === 1 && g.wire === 2) tag = (g.value as Buffer).toString('utf8');
        if (g.number === 2 && g.wire === 5) simpleValue = g.fixed!.readFloatLE(0);
        if (g.number === 8 && g.wire === 2) histogram = histogramTensor(g.value as Buffer);
      }
      out.push({
        step,
        tag,
        ...(simpleValue === undefined ? {} : { simpleValue }),
        ...(histogram === undefined ? {} : { histogram }),
      });
    }
  }
  return out;
}

function histogramTensor(buffer: Buffer): NonNullable<EventValue['histogram']> {
  let content: Buffer | undefined;
  for (const f of fields(buffer)) if (f.number === 4 && f.wire === 2) content = f.value as Buffer;
  if (!content) throw new Error('histogram tensor without tensor_content');
  const rows: number[][] = [];
  for (let i = 0; i + 12 <= content.length; i += 12) {
    rows.push([0, 4, 8].map((o) => content.readFloatLE(i + o)));
  }
  const buckets = rows.map((r) => r[2]);
  return {
    min: rows[0]?.[0] ?? Number.NaN,
    max: rows.at(-1)?.[1] ?? Number.NaN,
    num: buckets.reduce((a, b) => a + b, 0),
    buckets,
  };
}
