/**
 * Atomic file writes that leave nothing behind: the bytes go to a hidden temporary file in the
 * target's folder, which is renamed over the target (atomic on POSIX file systems). The
 * temporary file is removed when the write or the rename fails, when the process exits before
 * the write ends (`process.exit`), and on SIGINT, SIGTERM or SIGHUP during the write; a killed
 * process (SIGKILL) can still leave one, named `.<target>.<uuid>.tmp`.
 */
import { randomUUID } from 'node:crypto';
import { unlinkSync } from 'node:fs';
import { rename, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/** Temporary files of writes in progress. */
const pending = new Set<string>();

/** The signals whose default action ends the process, and during a write remove its files. */
const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

function removePendingSync(): void {
  for (const path of pending) {
    try {
      unlinkSync(path);
    } catch {
      // Not created yet, or already renamed: nothing to remove.
    }
  }
  pending.clear();
}

function onSignal(signal: NodeJS.Signals): void {
  removePendingSync();
  detach();
  // With no other listener, the signal's default action (ending the process) is what the user
  // asked for: raise it again now that this listener is gone.
  if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
}

function attach(): void {
  process.on('exit', removePendingSync);
  for (const signal of SIGNALS) process.on(signal, onSignal);
}

function detach(): void {
  process.off('exit', removePendingSync);
  for (const signal of SIGNALS) process.off(signal, onSignal);
}

/**
 * The hidden temporary name a write to `path` uses: `.<name>.<uuid>.tmp` in the same folder
 * (a rename across file systems would not be atomic).
 */
function temporaryPath(path: string): string {
  return join(dirname(path), `.${basename(path)}.${randomUUID()}.tmp`);
}

/**
 * Writes `bytes` to `path` atomically: to a temporary file in the same folder, then a rename,
 * so a reader sees the old file or the new one, never a part. The temporary file is removed if
 * the write or the rename fails, and if the process exits or receives SIGINT, SIGTERM or SIGHUP
 * before the write ends (the listeners exist only while a write is in progress; after removing
 * the file, a signal nobody else listens to ends the process as it would have).
 *
 * @param path - the file to create or replace.
 * @param bytes - its new content.
 * @example
 * ```ts
 * await writeFileAtomic('report.json', new TextEncoder().encode('{}\n'));
 * ```
 */
export async function writeFileAtomic(path: string, bytes: Uint8Array): Promise<void> {
  const temporary = temporaryPath(path);
  if (pending.size === 0) attach();
  pending.add(temporary);
  try {
    await writeFile(temporary, bytes, { flag: 'wx' });
    await rename(temporary, path);
  } catch (error) {
    await rm(temporary, { force: true });
    throw error;
  } finally {
    pending.delete(temporary);
    if (pending.size === 0) detach();
  }
}
