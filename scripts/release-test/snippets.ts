/**
 * The README blocks the release test runs, verbatim. A fenced block is picked by the HTML
 * comment on the line above its opening fence:
 *
 * - `<!-- release-test:install -->` (one per README, `sh`): run in a new, empty consumer folder;
 *   what it installs is the package's measured size.
 * - `<!-- release-test:run -->` (`ts` or `sh`): a `ts` block is compiled with the consumer's
 *   TypeScript (strict, `module: nodenext`, ESM) and run with node; an `sh` block runs in the
 *   folder the install block installed into.
 */

export type SnippetKind = 'install' | 'run';

export interface Snippet {
  readonly kind: SnippetKind;
  readonly lang: 'sh' | 'ts';
  readonly code: string;
  /** 1-based line of the opening fence, for messages. */
  readonly line: number;
}

const MARKER = /^<!-- release-test:(install|run) -->$/;
const FENCE = /^```(sh|ts)$/;

/** Every marked block of `markdown`; throws naming `file:line` for a marker without a block. */
export function extractSnippets(markdown: string, file: string): Snippet[] {
  const lines = markdown.split(/\r?\n/);
  const snippets: Snippet[] = [];
  for (let i = 0; i < lines.length; i++) {
    const marker = MARKER.exec(lines[i].trim());
    if (marker === null) continue;
    const fence = FENCE.exec(lines[i + 1]?.trim() ?? '');
    if (fence === null) {
      throw new Error(
        `${file}:${i + 2}: a release-test marker must be followed by \`\`\`sh or \`\`\`ts`,
      );
    }
    const end = lines.findIndex((l, j) => j > i + 1 && l.trim() === '```');
    if (end < 0) throw new Error(`${file}:${i + 2}: the marked block is never closed`);
    snippets.push({
      kind: marker[1] as SnippetKind,
      lang: fence[1] as 'sh' | 'ts',
      code: `${lines.slice(i + 2, end).join('\n')}\n`,
      line: i + 2,
    });
    i = end;
  }
  const installs = snippets.filter((s) => s.kind === 'install');
  if (installs.length !== 1 || installs[0].lang !== 'sh') {
    throw new Error(
      `${file}: expected exactly one \`sh\` block marked release-test:install, found ${installs.length}`,
    );
  }
  if (!snippets.some((s) => s.kind === 'run')) {
    throw new Error(`${file}: no block marked release-test:run`);
  }
  return snippets;
}
