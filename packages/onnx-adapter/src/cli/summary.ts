/** What the command prints: the headline numbers of a report, and `onnx show`. */
import { readFile } from 'node:fs/promises';
import type { CurvatureReport } from '@hessian-probe/core';
import { KEY_PREFIX, readAnnotation } from '../annotate.js';
import { decodeModel, type ModelProto } from '../proto.js';
import { asInputError, type CliIo, CliUsageError, EXIT } from './io.js';
import { terminalSafe } from './terminal.js';

/** Longest text of a file's field that `show` prints; longer ones end in '…'. */
const SHOW_WIDTH = 200;

function clip(text: string): string {
  return text.length > SHOW_WIDTH ? `${text.slice(0, SHOW_WIDTH)}…` : text;
}

/**
 * `onnx show MODEL.onnx`: what the file says about itself (producer, graph name, doc string,
 * metadata other than the report) and the attached report's headline values, every string
 * from the file printed terminal-safe ({@link terminalSafe}).
 */
export async function show(modelPath: string, io: CliIo): Promise<number> {
  let report: CurvatureReport | undefined;
  let model: ModelProto;
  try {
    const bytes = await readFile(modelPath);
    model = decodeModel(bytes, 'readAnnotation');
    report = readAnnotation(bytes);
  } catch (error) {
    throw asInputError(error, modelPath);
  }
  if (report === undefined) {
    throw new CliUsageError(
      `${modelPath}: the model carries no hessian-probe report (write one with 'hessian-probe onnx analyze ${modelPath} --out …')`,
    );
  }
  const producer = [model.producerName, model.producerVersion].filter((p) => p).join(' ');
  const facts: [string, string][] = [
    ['file producer', producer || '—'],
    ['graph', model.graph?.name || '—'],
  ];
  const doc = model.docString || model.graph?.docString;
  if (doc) facts.push(['doc', clip(doc)]);
  for (const { key, value } of model.metadataProps) {
    if (!key?.startsWith(KEY_PREFIX))
      facts.push([`metadata ${clip(key ?? '')}`, clip(value ?? '')]);
  }
  io.stdout(formatRows(facts) + formatSummary(report));
  return EXIT.ok;
}

export function fmt(x: number | undefined): string {
  if (x === undefined) return '—';
  if (!Number.isFinite(x)) return String(x);
  if (x === 0) return '0';
  const a = Math.abs(x);
  return a >= 1e-3 && a < 1e6 ? String(Number(x.toPrecision(5))) : x.toExponential(3);
}

/** The headline values of a report as a two-column table (what `analyze` and `show` print). */
export function formatSummary(report: CurvatureReport): string {
  const rows: [string, string][] = [];
  const { model, probe, eigen, trace, density, blocks, layers } = report;
  rows.push([
    'model',
    `${model.name} (${model.parameterCount} parameters, ${model.layout.blocks.length} blocks)`,
  ]);
  rows.push(['probe', `${probe.size} samples, seed ${probe.seed}`]);
  rows.push(['loss', fmt(report.loss)]);
  rows.push(['curvature', report.kind === 'ggn' ? 'Gauss–Newton (ggn)' : 'Hessian']);
  if (eigen) {
    rows.push([
      'λmax…',
      `${eigen.values.map(fmt).join(', ')}${eigen.converged ? '' : ' (not converged)'}`,
    ]);
  }
  if (trace?.method === 'second-difference') {
    const label = 'estimate (second differences)';
    rows.push([
      'trace',
      `${fmt(trace.estimate)} ± ${fmt(trace.stderr)}, rounding ≤ ${fmt(trace.roundingBound)}; ${label}`,
    ]);
    for (const b of trace.blocks ?? []) {
      rows.push([
        `trace ${b.name}`,
        `${fmt(b.estimate)} ± ${fmt(b.stderr)}, rounding ≤ ${fmt(b.roundingBound)}; ${label}`,
      ]);
    }
    rows.push(['forward passes', String(trace.forwardPasses)]);
  } else if (trace) rows.push(['trace', `${fmt(trace.estimate)} ± ${fmt(trace.stderr)}`]);
  if (density) {
    rows.push(['negative mass', fmt(density.negativeFraction)]);
    rows.push(['Ritz range', `[${fmt(density.lambdaMin)}, ${fmt(density.lambdaMax)}]`]);
  }
  if (blocks) rows.push(['off-diagonal ratio', fmt(blocks.offDiagonalRatio)]);
  const { classBlocks } = report;
  if (classBlocks) {
    rows.push([
      'class blocks',
      `C = ${classBlocks.classes} over ${classBlocks.blocks.map((b) => `${b.name} (axis ${b.axis})`).join(', ')}`,
    ]);
    rows.push([
      'cross/within class',
      `${fmt(classBlocks.crossRatio)} ± ${fmt(classBlocks.crossRatioStderr)} (T ${fmt(classBlocks.total)} ± ${fmt(classBlocks.totalStderr)}, D ${fmt(classBlocks.within)} ± ${fmt(classBlocks.withinStderr)}; ${classBlocks.probes} probes)`,
    ]);
  }
  if (layers) {
    for (const l of layers) {
      rows.push([
        `layer ${l.name}`,
        `λmax ${fmt(l.lambdaMax)}, trace ${fmt(l.trace)}, negative mass ${fmt(l.negativeFraction)}`,
      ]);
    }
  }
  const conversion = (report as { conversion?: { maxAbsDifference?: unknown } }).conversion;
  if (typeof conversion?.maxAbsDifference === 'number') {
    rows.push(['conversion max diff', fmt(conversion.maxAbsDifference)]);
  }
  rows.push(['matvecs', String(report.matvecs)]);
  rows.push(['seconds', report.seconds.toFixed(2)]);
  rows.push(['timestamp', report.timestamp]);
  return formatRows(rows);
}

/** Rows as a two-column table, every cell terminal-safe (names and times come from files). */
function formatRows(rows: readonly [string, string][]): string {
  const safe = rows.map(([k, v]) => [terminalSafe(k), terminalSafe(v)] as const);
  const width = Math.max(...safe.map(([k]) => k.length));
  return `${safe.map(([k, v]) => `${k.padEnd(width)}  ${v}`).join('\n')}\n`;
}
