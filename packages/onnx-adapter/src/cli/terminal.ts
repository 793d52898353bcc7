/**
 * Terminal-safe text: strings that come from files (model, graph, node and initializer names,
 * doc strings, metadata, report fields, paths) may hold control characters that a terminal
 * obeys (ESC sequences recolour, move the cursor, retitle the window or hide text; CR and BS
 * overwrite what was printed). They are printed escaped.
 */

/**
 * C0 controls (U+0000–U+001F), DEL (U+007F), C1 controls (U+0080–U+009F, U+009B is a one-byte
 * CSI), the line and paragraph separators U+2028–U+2029 and the bidirectional overrides and
 * isolates U+202A–U+202E, U+2066–U+2069 (which reorder what follows them on the line).
 */
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is its job
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

/**
 * `text` with every control character of {@link UNSAFE} written as an escape: `\x1b` for code
 * points below U+0100, `\u202e` above; everything else (printable ASCII, accents, CJK, emoji)
 * unchanged.
 *
 * @example
 * ```ts
 * terminalSafe('mlp\x1b[2J'); // 'mlp\\x1b[2J': prints as the six characters \x1b[2J
 * ```
 */
export function terminalSafe(text: string): string {
  return text.replace(UNSAFE, (c) => {
    const code = c.charCodeAt(0);
    return code < 0x100
      ? `\\x${code.toString(16).padStart(2, '0')}`
      : `\\u${code.toString(16).padStart(4, '0')}`;
  });
}
