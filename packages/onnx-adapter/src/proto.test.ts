import { createRandom, HessianProbeError } from '@hessian-probe/core';
import { InferenceSession, Tensor as OrtTensor } from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import {
  decodeModel,
  encodeModel,
  MAX_OPSET,
  MIN_OPSET,
  mergeRepeatedMessages,
  OnnxFormatError,
  onnx,
  parseModel,
} from './proto.js';
import { buildModel, mlpModel } from './testing/models.js';

function refusal(bytes: Uint8Array): OnnxFormatError {
  try {
    parseModel(bytes);
  } catch (error) {
    expect(error).toBeInstanceOf(OnnxFormatError);
    expect(error).toBeInstanceOf(HessianProbeError);
    return error as OnnxFormatError;
  }
  throw new Error('parseModel accepted the bytes');
}

describe('parseModel', () => {
  it('decodes a model built with onnx-proto and re-encodes it byte for byte', () => {
    const { bytes } = mlpModel({ sizes: [4, 5, 3], activation: 'Tanh' });
    const model = parseModel(bytes);
    expect(model.graph?.node?.map((n) => n.opType)).toEqual(['Gemm', 'Tanh', 'Gemm']);
    expect(model.graph?.initializer?.map((t) => t.name)).toEqual(['w1', 'b1', 'w2', 'b2']);
    expect(Buffer.from(encodeModel(model)).equals(Buffer.from(bytes))).toBe(true);
  });

  it('refuses empty bytes', () => {
    expect(refusal(new Uint8Array()).code).toBe('onnx-empty');
  });

  it('refuses every strict prefix of a model as truncated or not a model, keeping the cause', () => {
    const { bytes } = mlpModel({ sizes: [3, 2] });
    const codes = new Set<string>();
    for (let n = 1; n < bytes.length; n++) {
      const e = refusal(bytes.subarray(0, n));
      codes.add(e.code);
      if (e.code === 'onnx-truncated') expect(e.cause).toBeInstanceOf(Error);
    }
    expect([...codes].sort()).toEqual(['onnx-not-a-model', 'onnx-truncated']);
  });

  it('refuses random bytes with a typed error', () => {
    let state = 12345;
    for (let trial = 0; trial < 200; trial++) {
      const bytes = Uint8Array.from({ length: 64 + trial }, () => {
        state = (state * 1103515245 + 12345) >>> 0;
        return state >>> 24;
      });
      expect(['onnx-truncated', 'onnx-malformed', 'onnx-not-a-model']).toContain(
        refusal(bytes).code,
      );
    }
  });

  it('either parses or gives a typed error for 2000 random mutations of a valid file', () => {
    const { bytes } = mlpModel({ sizes: [4, 5, 3], activation: 'Tanh' });
    const random = createRandom(99);
    const outcomes = new Map<string, number>();
    for (let trial = 0; trial < 2000; trial++) {
      const mutated = bytes.slice();
      const flips = 1 + Math.floor(random.uniform() * 4);
      for (let f = 0; f < flips; f++) {
        mutated[Math.floor(random.uniform() * mutated.length)] = Math.floor(random.uniform() * 256);
      }
      let outcome = 'parsed';
      try {
        parseModel(mutated);
      } catch (error) {
        expect(error).toBeInstanceOf(OnnxFormatError);
        outcome = (error as OnnxFormatError).code;
      }
      outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
    }
    // Both branches are exercised: mutations inside weights still parse, others are refused.
    expect(outcomes.get('parsed')).toBeGreaterThan(0);
    expect(2000 - (outcomes.get('parsed') ?? 0)).toBeGreaterThan(0);
  });

  it('refuses non-ONNX files (text, PNG header, another protobuf message)', () => {
    const text = new TextEncoder().encode('{"not": "an onnx model"}\n');
    const png = Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13]);
    const tensor = onnx.TensorProto.encode({ name: 't', dims: [2], floatData: [1, 2] }).finish();
    for (const bytes of [text, png, tensor]) {
      expect(['onnx-malformed', 'onnx-not-a-model', 'onnx-truncated']).toContain(
        refusal(bytes).code,
      );
    }
  });

  it('refuses a well-formed protobuf without a graph as not a model', () => {
    const e = refusal(encodeModel({ irVersion: 8, producerName: 'no graph here' }));
    expect(e.code).toBe('onnx-not-a-model');
    expect(e.message).toContain('no graph');
  });

  it('refuses opsets outside the supported range and names the range', () => {
    for (const opset of [MIN_OPSET - 1, MAX_OPSET + 1]) {
      const e = refusal(mlpModel({ sizes: [3, 2], opset }).bytes);
      expect(e.code).toBe('onnx-unsupported-opset');
      expect(e.message).toContain(`${MIN_OPSET}..${MAX_OPSET}`);
      expect(e.message).toContain(`got ${opset}`);
    }
    expect(parseModel(mlpModel({ sizes: [3, 2], opset: MIN_OPSET }).bytes).graph).toBeTruthy();
    expect(parseModel(mlpModel({ sizes: [3, 2], opset: MAX_OPSET }).bytes).graph).toBeTruthy();
  });

  it('lists every custom-domain node', () => {
    const bytes = buildModel({
      inputs: [{ name: 'x', shape: [1, 2] }],
      outputs: ['z'],
      nodes: [
        { op: 'FancyOp', domain: 'com.example', name: 'fancy', inputs: ['x'], outputs: ['y'] },
        { op: 'Relu', inputs: ['y'], outputs: ['y2'] },
        { op: 'Other', domain: 'com.example', name: 'other', inputs: ['y2'], outputs: ['z'] },
      ],
    });
    const e = refusal(bytes);
    expect(e.code).toBe('onnx-custom-domain');
    expect(e.nodes).toEqual([
      { node: 'fancy', opType: 'com.example::FancyOp' },
      { node: 'other', opType: 'com.example::Other' },
    ]);
    expect(e.message).toContain(
      'com.example::FancyOp (node fancy), com.example::Other (node other)',
    );
  });

  it('refuses external-data initializers with instructions', () => {
    const model = parseModel(mlpModel({ sizes: [3, 2] }).bytes);
    const w = model.graph!.initializer![0];
    w.rawData = new Uint8Array();
    w.dataLocation = onnx.TensorProto.DataLocation.EXTERNAL;
    w.externalData = [
      onnx.StringStringEntryProto.create({ key: 'location', value: 'weights.bin' }),
    ];
    const e = refusal(encodeModel(model));
    expect(e.code).toBe('onnx-external-data');
    expect(e.message).toContain('w1');
    expect(e.message).toContain('save_as_external_data=False');
  });
});

/** A length-delimited field: tag (wire type 2), length, payload. */
function field(number: number, payload: Uint8Array): Uint8Array {
  const head: number[] = [];
  for (let v = number * 8 + 2; ; v >>>= 7) {
    if (v < 0x80) {
      head.push(v);
      break;
    }
    head.push((v & 0x7f) | 0x80);
  }
  for (let v = payload.length; ; v >>>= 7) {
    if (v < 0x80) {
      head.push(v);
      break;
    }
    head.push((v & 0x7f) | 0x80);
  }
  return new Uint8Array([...head, ...payload]);
}

function concat(...parts: Uint8Array[]): Uint8Array {
  return new Uint8Array(parts.flatMap((p) => [...p]));
}

describe('repeated non-repeated fields, as protobuf and onnxruntime read them', () => {
  const { bytes } = mlpModel({ sizes: [4, 5, 3], activation: 'Tanh' });
  const model = onnx.ModelProto.decode(bytes);
  const graph = model.graph!;
  const rest = onnx.ModelProto.encode({ ...model, graph: null }).finish();
  const x = new Float32Array(2 * 4).map((_, i) => Math.sin(i));

  async function run(file: Uint8Array): Promise<Float32Array> {
    const session = await InferenceSession.create(file);
    const out = await session.run({ x: new OrtTensor('float32', x, [2, 4]) });
    await session.release();
    return out.y.data as Float32Array;
  }

  it('merges a graph split over two graph fields, as onnxruntime does', async () => {
    const nodes = onnx.GraphProto.encode({
      node: graph.node!,
      initializer: graph.initializer!,
    }).finish();
    const ends = onnx.GraphProto.encode({
      name: graph.name!,
      input: graph.input!,
      output: graph.output!,
    }).finish();
    const split = concat(rest, field(7, nodes), field(7, ends));
    // protobuf.js alone keeps the last instance: a graph without nodes.
    expect(onnx.ModelProto.decode(split).graph?.node).toEqual([]);
    expect(await run(split)).toEqual(await run(bytes));
    const parsed = parseModel(split);
    expect(parsed.graph?.node?.map((n) => n.opType)).toEqual(['Gemm', 'Tanh', 'Gemm']);
    expect(Buffer.from(encodeModel(parsed)).equals(Buffer.from(bytes))).toBe(true);
  });

  it('keeps the graph when an empty graph field follows it', async () => {
    const twice = concat(
      rest,
      field(7, onnx.GraphProto.encode(graph).finish()),
      field(7, new Uint8Array()),
    );
    expect(onnx.ModelProto.decode(twice).graph?.node).toEqual([]);
    expect(await run(twice)).toEqual(await run(bytes));
    expect(Buffer.from(encodeModel(parseModel(twice))).equals(Buffer.from(bytes))).toBe(true);
  });

  it('merges nested fields (an input type given twice) and keeps the last member of a oneof', () => {
    const input = graph.input![0];
    const elem = onnx.TypeProto.encode({ tensorType: { elemType: 1 } }).finish();
    const shape = onnx.TypeProto.encode({
      tensorType: { shape: { dim: [{ dimValue: 7 }, { dimValue: 4 }] } },
    }).finish();
    // One dimension given as dim_value 7, then dim_param 'N': the oneof keeps the last, 'N'.
    const dim = concat(
      onnx.TensorShapeProto.Dimension.encode({ dimValue: 7 }).finish(),
      onnx.TensorShapeProto.Dimension.encode({ dimParam: 'N' }).finish(),
    );
    const oneofShape = field(1, field(2, field(1, dim)));
    const info = concat(
      field(1, new TextEncoder().encode(input.name!)),
      field(2, elem),
      field(2, shape),
      field(2, oneofShape),
    );
    const others = onnx.GraphProto.encode({ ...graph, input: [] }).finish();
    const file = concat(rest, field(7, concat(others, field(11, info))));
    const type = parseModel(file).graph?.input?.[0]?.type?.tensorType;
    expect(type?.elemType).toBe(1);
    const dims = type?.shape?.dim?.map((d) => ({
      value: Number(d.dimValue ?? 0),
      param: d.dimParam ?? '',
    }));
    // Merging the shapes concatenates their repeated dims: [7, 4] and then the dimension whose
    // dim_value 7 was replaced by dim_param 'N'.
    expect(dims).toEqual([
      { value: 7, param: '' },
      { value: 4, param: '' },
      { value: 0, param: 'N' },
    ]);
  });

  it('drops what an interleaved oneof member cleared (tensor_type, sequence_type, tensor_type)', () => {
    const input = graph.input![0];
    // tensor_type{shape [7, 4]}, then sequence_type (clears it), then tensor_type{elem_type 1}:
    // protobuf (and onnxruntime) end with tensor_type{elem_type 1} and no shape, not the merge.
    const shaped = onnx.TypeProto.Tensor.encode({
      shape: { dim: [{ dimValue: 7 }, { dimValue: 4 }] },
    }).finish();
    const sequence = onnx.TypeProto.Sequence.encode({
      elemType: { tensorType: { elemType: 1 } },
    }).finish();
    const elem = onnx.TypeProto.Tensor.encode({ elemType: 1 }).finish();
    const type = concat(field(1, shaped), field(4, sequence), field(1, elem));
    const info = concat(field(1, new TextEncoder().encode(input.name!)), field(2, type));
    const others = onnx.GraphProto.encode({ ...graph, input: [] }).finish();
    const file = concat(rest, field(7, concat(others, field(11, info))));
    const parsed = decodeModel(file, 'test').graph?.input?.[0]?.type;
    expect(parsed?.sequenceType ?? null).toBeNull();
    expect(parsed?.tensorType?.elemType).toBe(1);
    expect(parsed?.tensorType?.shape ?? null).toBeNull();
  });

  it('refuses messages nested deeper than protobuf’s default recursion limit of 100', () => {
    // A graph in an If node's attribute, in a graph in an If node's attribute, … 60 deep: 181
    // nested messages (graph, node, attribute per level).
    let inner: Uint8Array = onnx.GraphProto.encode(graph).finish();
    for (let level = 0; level < 60; level++) {
      const attribute = concat(field(1, new TextEncoder().encode('then_branch')), field(6, inner));
      inner = field(1, concat(field(4, new TextEncoder().encode('If')), field(5, attribute)));
    }
    const deep = concat(rest, field(7, inner));
    const e = refusal(deep);
    expect(e.code).toBe('onnx-malformed');
    expect(e.message).toMatch(/messages nested deeper than 100/);
  });

  it('returns the very same bytes when nothing repeats', () => {
    expect(mergeRepeatedMessages(bytes, 'test')).toBe(bytes);
  });
});
