/**
 * Runs {@link main} in-process with its output captured: for the tests and the fuzz harness
 * (scripts/fuzz-cli), which count outcomes by exit code and message.
 */
import { main } from './main.js';

/** What one run printed and how it ended. */
export interface CapturedRun {
  /** The exit code `main` resolved with. */
  readonly code: number;
  /** The code `main` passed to `io.exit` (the same, unless `main` is broken). */
  readonly exited: number | undefined;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Runs the command line `argv` (without `node` and the script) and resolves with what it
 * printed.
 *
 * @param options - `isTTY`: whether stderr is taken for a terminal (default false);
 *   `stdout`: replaces the capture of standard output.
 * @example
 * ```ts
 * const run = await captureCli(['onnx', 'show', 'mlp.onnx']);
 * if (run.code === 2) console.log(run.stderr); // "hessian-probe: mlp.onnx: …"
 * ```
 */
export async function captureCli(
  argv: readonly string[],
  options: { readonly isTTY?: boolean; readonly stdout?: (s: string) => void } = {},
): Promise<CapturedRun> {
  let stdout = '';
  let stderr = '';
  let exited: number | undefined;
  const code = await main(argv, {
    stdout:
      options.stdout ??
      ((s) => {
        stdout += s;
      }),
    stderr: (s) => {
      stderr += s;
    },
    exit: (c) => {
      exited = c;
    },
    isTTY: options.isTTY === true,
  });
  return { code, exited, stdout, stderr };
}
