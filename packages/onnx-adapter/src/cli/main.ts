/**
 * The \`hessian-probe\` command line:
 *
 * - \`hessian-probe onnx analyze MODEL.onnx --inputs X.npy --labels Y.npy …\` analyses the loss
 *   Hessian of an ONNX model on a probe batch read from NumPy files, prints a summary table,
 *   and writes the annotated model (\`--out\`) and/or the JSON report (\`--json\`).
 * - \`hessian-probe onnx analyze … --forward-only\` estimates only the trace (and the per-initializer
 *   block traces) from onnxruntime forward passes ({@link forwardOnlyTrace}), for graphs outside
 *   the converter's operator set; the numbers are printed and stored as estimates.
 * - \`hessian-probe onnx show MODEL.onnx\` prints the report attached to a model.
 * - \`hessian-probe report RUN.jsonl [MORE.jsonl …] --out report.html\` draws JSON Lines report
 *   files as one self-contained HTML page (\`@hessian-probe/report\`), runs side by side.
 *
 * Exit codes: 0 success, 2 bad usage or bad input (one line naming the file or flag), 1 internal
 * error. Everything that can be checked is checked before the first Hessian-vector product.
 * \`cli-main.ts\` is the executable entry.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { analyze } from './analyze.js';
import { helpFor, OPTIONS, USAGE } from './args.js';
import { type CliIo, CliUsageError, EXIT, errorMessage, oneLine } from './io.js';
import { show } from './summary.js';
import { terminalSafe } from './terminal.js';

/**
 * Runs the command line `argv` (without the `node` and script entries) and resolves with the
 * exit code (also passed to `io.exit`). Never throws.
 *
 * @example
 * ```ts
 * const code = await main(['onnx', 'show', 'mlp.onnx'], {
 *   stdout: (s) => process.stdout.write(s),
 *   stderr: (s) => process.stderr.write(s),
 * });
 * ```
 */
export async function main(argv: readonly string[], io: CliIo): Promise<number> {
  let code: number;
  try {
    code = await run(argv, io);
  } catch (error) {
    if (isUsageError(error)) {
      io.stderr(`hessian-probe: ${terminalSafe(oneLine(errorMessage(error)))}\n`);
      code = EXIT.usage;
    } else {
      const detail = error instanceof Error ? (error.stack ?? error.message) : String(error);
      io.stderr(
        `hessian-probe: internal error: ${detail.split('\n').map(terminalSafe).join('\n')}\n`,
      );
      code = EXIT.internal;
    }
  }
  io.exit?.(code);
  return code;
}

/**
 * The folder relative paths on the command line are relative to, when it is not the working
 * directory: `pnpm hessian-probe …` in this repository runs the root package.json's script
 * with the repository root as working directory wherever pnpm was called, and pnpm (like npm)
 * passes the folder it was called from as `INIT_CWD`. Only for that script (recognised by
 * `npm_lifecycle_script`): a consumer's own script may hold paths relative to its package.
 *
 * @example
 * ```ts
 * const folder = invocationFolder(process.env);
 * if (folder !== undefined) process.chdir(folder);
 * ```
 */
export function invocationFolder(
  env: Readonly<Record<string, string | undefined>>,
): string | undefined {
  const ours = env.npm_lifecycle_script?.includes('packages/onnx-adapter/src/cli-main.ts') === true;
  return ours ? env.INIT_CWD : undefined;
}

/** The version of `@hessian-probe/onnx-adapter`, whose `bin` this command is. */
function packageVersion(): string {
  // src/cli/main.ts and dist/cli/main.js both sit two folders below the package's root.
  const manifest = readFileSync(new URL('../../package.json', import.meta.url), 'utf8');
  return (JSON.parse(manifest) as { version: string }).version;
}

/** Errors that are the user's to fix: exit code 2. */
function isUsageError(error: unknown): boolean {
  return error instanceof CliUsageError;
}

async function run(argv: readonly string[], io: CliIo): Promise<number> {
  let parsed: ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true }>>;
  try {
    parsed = parseArgs({ args: [...argv], options: OPTIONS, allowPositionals: true, strict: true });
  } catch (error) {
    throw new CliUsageError(`${errorMessage(error)} (see hessian-probe --help)`);
  }
  const { values, positionals } = parsed;
  if (values.version === true && values.help !== true) {
    io.stdout(`hessian-probe ${packageVersion()}\n`);
    return EXIT.ok;
  }
  if (values.help === true) {
    io.stdout(helpFor(positionals));
    return EXIT.ok;
  }
  if (positionals.length === 0) {
    io.stdout(USAGE);
    return EXIT.usage;
  }
  const [group, command, ...rest] = positionals;
  if (group === 'report') {
    // Loaded on demand: the charts library is needed by this command only.
    const { report } = await import('./report.js');
    return report(positionals.slice(1), values, io);
  }
  if (group !== 'onnx') {
    throw new CliUsageError(
      `unknown command '${group}'; expected 'onnx' or 'report' (see hessian-probe --help)`,
    );
  }
  if (values.title !== undefined) {
    throw new CliUsageError(`onnx ${command ?? ''}: --title is an option of 'report' only`);
  }
  if (command !== 'analyze' && command !== 'show') {
    throw new CliUsageError(
      `unknown command 'onnx ${command ?? ''}'; expected 'onnx analyze' or 'onnx show'`,
    );
  }
  if (rest.length !== 1) {
    throw new CliUsageError(
      `onnx ${command}: expected one MODEL.onnx argument, got ${rest.length === 0 ? 'none' : rest.join(' ')}`,
    );
  }
  const modelPath = rest[0];
  if (command === 'show') {
    const analyzeOnly = Object.keys(values).filter((k) => k !== 'help');
    if (analyzeOnly.length > 0) {
      throw new CliUsageError(`onnx show: takes no options, got --${analyzeOnly[0]}`);
    }
    return show(modelPath, io);
  }
  return analyze(modelPath, values, io);
}
