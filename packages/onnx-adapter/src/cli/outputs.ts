/**
 * Output paths checked before any work: each is a file (not a folder) in an existing folder
 * that can be written, not read-only, none is an input file (by path after resolving links,
 * or by device and inode), and no two outputs are the same file.
 */
import { constants } from 'node:fs';
import { access, realpath, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { asInputError, CliUsageError } from './io.js';

/** A file the command reads or writes, with the flag or role that names it in messages. */
export interface NamedPath {
  /** How messages name it, e.g. `'--json'`, `'--labels'`, `'the model'`. */
  readonly flag: string;
  readonly path: string;
}

/** An output path, and the one input `--force` lets it replace (`onnx analyze --out MODEL`). */
export interface OutputPath extends NamedPath {
  /** The input path `--force` lets this output replace. */
  readonly replaceable?: string;
  /** Whether `--force` was given. */
  readonly force?: boolean;
}

/** What identifies a file: its resolved real path, and device and inode when it exists. */
interface Identity {
  readonly real: string;
  readonly dev?: number;
  readonly ino?: number;
}

/**
 * The real path of `path` (links resolved); for a file that does not exist yet, the real path
 * of its folder joined with its name.
 */
async function identify(path: string): Promise<Identity> {
  const info = await stat(path).catch(() => undefined);
  const real = await realpath(path).catch(async () =>
    join(
      await realpath(dirname(resolve(path))).catch(() => dirname(resolve(path))),
      basename(path),
    ),
  );
  return info === undefined ? { real } : { real, dev: info.dev, ino: info.ino };
}

function same(a: Identity, b: Identity): boolean {
  return a.real === b.real || (a.ino !== undefined && a.dev === b.dev && a.ino === b.ino);
}

/** No write permission bit at all: read-only to its owner too (and to root, who ignores bits). */
function readOnly(mode: number): boolean {
  return (mode & 0o222) === 0;
}

/** Refuses one output that cannot be written: a folder, a missing or read-only folder, a read-only file. */
async function checkWritable(out: NamedPath): Promise<void> {
  const where = `${out.flag} ${out.path}`;
  const info = await stat(out.path).catch(() => undefined);
  if (info?.isDirectory()) {
    throw new CliUsageError(`${where}: is a folder; expected a file path`);
  }
  const folder = dirname(resolve(out.path));
  const folderInfo = await stat(folder).catch((error: unknown) => {
    throw asInputError(error, `${where}: its folder ${folder}`);
  });
  if (!folderInfo.isDirectory()) {
    throw new CliUsageError(`${where}: ${folder} is not a folder`);
  }
  const denied = async (path: string) =>
    access(path, constants.W_OK).then(
      () => undefined,
      (error: NodeJS.ErrnoException) => error.code ?? 'EACCES',
    );
  const folderDenied = readOnly(folderInfo.mode) ? 'read-only' : await denied(folder);
  if (folderDenied !== undefined) {
    throw new CliUsageError(
      `${where}: cannot write to the folder ${folder} (${folderDenied}); choose a writable folder`,
    );
  }
  if (info !== undefined) {
    const fileDenied = readOnly(info.mode) ? 'read-only' : await denied(out.path);
    if (fileDenied !== undefined) {
      throw new CliUsageError(
        `${where}: the file exists and cannot be replaced (${fileDenied}); remove it or choose another path`,
      );
    }
  }
}

/**
 * Checks output paths against each other and the inputs, before any work.
 *
 * @param outputs - the files to write.
 * @param inputs - the files read (an output that is one of them is refused, unless it is its
 *   `mayReplace`).
 * @throws {@link CliUsageError} naming the flag, the path and what to do.
 * @example
 * ```ts
 * await checkOutputs([{ flag: '--json', path: 'report.json' }], [{ flag: '--labels', path: 'y.npy' }]);
 * ```
 */
export async function checkOutputs(
  outputs: readonly OutputPath[],
  inputs: readonly NamedPath[],
): Promise<void> {
  const known = await Promise.all(inputs.map(async (i) => ({ ...i, id: await identify(i.path) })));
  const written: (OutputPath & { id: Identity })[] = [];
  for (const out of outputs) {
    const where = `${out.flag} ${out.path}`;
    const id = await identify(out.path);
    for (const input of known) {
      if (!same(id, input.id)) continue;
      const replaceable = out.replaceable === input.path;
      if (replaceable && out.force === true) continue;
      throw new CliUsageError(
        `${where}: is the ${input.flag} ${input.path}; refusing to overwrite an input (${
          replaceable ? 'pass --force to replace it' : 'choose another path'
        })`,
      );
    }
    const twice = written.find((w) => same(w.id, id));
    if (twice !== undefined) {
      throw new CliUsageError(
        `${where}: is also ${twice.flag} ${twice.path}; expected two different files`,
      );
    }
    await checkWritable(out);
    written.push({ ...out, id });
  }
}
