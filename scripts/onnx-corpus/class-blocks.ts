/**
 * The LLM regime on the corpus's tiny language model: class-block structure by token
 * (classes = the vocabulary, C = 1,024) of the loss Hessian and of the Gauss–Newton matrix,
 * by randomized class-block probing (classBlockMass: two products per probe, whatever C is).
 * Blocks: row c of the output layer's weight with bias entry c (the class's logit), and row c
 * of the token embedding (the token as input). Prints a markdown table.
 *
 * Usage: pnpm exec tsx --conditions=source scripts/onnx-corpus/class-blocks.ts [PROBES]
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { classBlockMass } from '../../packages/core/src/class-blocks.js';
import { onnxCurvature } from '../../packages/onnx-adapter/src/curvature.js';
import { readNpy } from '../../packages/onnx-adapter/src/npy.js';
import { BACKENDS, useBackend } from '../../packages/onnx-adapter/src/testing/backends.js';

const CORPUS = join(import.meta.dirname, '..', '..', 'packages', 'onnx-adapter', 'corpus');
const probes = Number(process.argv[2] ?? 64);

function ints(file: string): { data: Int32Array; shape: number[] } {
  const a = readNpy(readFileSync(join(CORPUS, file)));
  if (a.dtype !== 'int64') throw new Error(`expected int64 in ${file}, got ${a.dtype}`);
  return { data: Int32Array.from(a.data, Number), shape: a.shape };
}

const backend = BACKENDS.includes('tensorflow') ? 'tensorflow' : 'wasm';
const tf = await useBackend(backend);
const tokens = ints('tiny-lm-tokens.npy');
const labels = ints('tiny-lm-y.npy');
const seen = new Set(labels.data);
const rows: string[] = [];
for (const kind of ['hessian', 'ggn'] as const) {
  const curvature = await onnxCurvature(readFileSync(join(CORPUS, 'tiny-lm.onnx')), {
    tf,
    inputs: { tokens },
    labels,
    loss: 'ce',
    kind,
  });
  const block = (name: string) => {
    const b = curvature.layout.blocks.find((x) => x.name === name);
    if (!b) throw new Error(`no parameter ${name}`);
    return b;
  };
  const sets = {
    'output layer (out.weight row c + out.bias c)': (classOf: Int32Array) => {
      const w = block('out.weight');
      const b = block('out.bias');
      const d = w.size / b.size;
      for (let c = 0; c < b.size; c++) {
        for (let k = 0; k < d; k++) classOf[w.offset + c * d + k] = c;
        classOf[b.offset + c] = c;
      }
      return b.size;
    },
    'token embedding (tok.weight row c)': (classOf: Int32Array) => {
      const e = block('tok.weight');
      const vocabulary = block('out.bias').size;
      const d = e.size / vocabulary;
      for (let c = 0; c < vocabulary; c++) {
        for (let k = 0; k < d; k++) classOf[e.offset + c * d + k] = c;
      }
      return vocabulary;
    },
  };
  for (const [label, assign] of Object.entries(sets)) {
    const classOf = new Int32Array(curvature.operator.dim).fill(-1);
    const classes = assign(classOf);
    const start = performance.now();
    const m = await classBlockMass(curvature.operator, { classOf, probes, seed: 0 });
    const seconds = (performance.now() - start) / 1000;
    const f = (x: { estimate: number; stderr: number }) =>
      `${x.estimate.toPrecision(4)} ± ${x.stderr.toPrecision(2)}`;
    rows.push(
      `| ${kind === 'ggn' ? 'Gauss–Newton' : 'Hessian'} | ${label} | ${classes} | ${f(m.total)} | ${f(m.within)} | ${f(m.crossRatio)} | ${m.matvecs} | ${seconds.toFixed(1)} |`,
    );
  }
  curvature.dispose();
}
console.log(
  `tiny-lm: ${tokens.shape[0]} sequences × ${tokens.shape[1]} tokens, ${seen.size} distinct next tokens of ${1024}; ${probes} probes, ${backend} backend\n`,
);
console.log(
  '| matrix | class blocks | C | ‖H‖²_F over the blocks (T) | within-class Σ‖H_cc‖²_F (D) | cross/within (T − D)/D | products | s |',
);
console.log('| --- | --- | --- | --- | --- | --- | --- | --- |');
for (const row of rows) console.log(row);
