/** HTML text helpers: escaping, number formatting, tables. Every piece of text passes here. */

const ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

/**
 * `text` safe inside HTML text and attribute values: `& < > " '` become entities.
 *
 * @example
 * ```ts
 * escapeHtml('<b> & "q"'); // '&lt;b&gt; &amp; &quot;q&quot;'
 * ```
 */
export function escapeHtml(text: string): string {
  return String(text).replace(/[&<>"']/g, (c) => ESCAPES[c]);
}

/**
 * A number for a table: 4 significant digits (exponent form outside [1e-3, 1e5)), `'—'` when
 * absent, `NaN` / `Infinity` / `-Infinity` as such.
 *
 * @example
 * ```ts
 * formatNumber(Math.PI); // '3.142'
 * formatNumber(undefined); // '—'
 * ```
 */
export function formatNumber(value: number | undefined): string {
  if (value === undefined) return '—';
  if (!Number.isFinite(value)) return String(value);
  if (value === 0) return '0';
  const magnitude = Math.abs(value);
  return magnitude >= 1e-3 && magnitude < 1e5 ? value.toPrecision(4) : value.toExponential(3);
}

/** "estimate ± stderr", or the estimate alone without an error bar. */
export function withError(estimate: number | undefined, stderr: number | undefined): string {
  if (estimate === undefined) return '—';
  return stderr === undefined
    ? formatNumber(estimate)
    : `${formatNumber(estimate)} ± ${formatNumber(stderr)}`;
}

/**
 * A table cell: a string (a number, right-aligned), or left-aligned text, optionally after a
 * colour swatch (a `#rrggbb` colour; anything else is ignored).
 */
export type Cell =
  | string
  | { readonly text: string; readonly left: true; readonly swatch?: string };

/**
 * An HTML table; every header and cell is escaped. Cells are right-aligned (numbers) unless
 * given as `{ text, left: true }`.
 */
export function table(
  headers: readonly Cell[],
  rows: readonly (readonly Cell[])[],
  caption?: string,
): string {
  const cell = (tag: 'th' | 'td', c: Cell) =>
    typeof c === 'string'
      ? `<${tag}>${escapeHtml(c)}</${tag}>`
      : `<${tag} class="left">${swatch(c.swatch)}${escapeHtml(c.text)}</${tag}>`;
  return [
    '<div class="table"><table>',
    caption === undefined ? '' : `<caption>${escapeHtml(caption)}</caption>`,
    `<thead><tr>${headers.map((h) => cell('th', h)).join('')}</tr></thead>`,
    `<tbody>${rows.map((r) => `<tr>${r.map((c) => cell('td', c)).join('')}</tr>`).join('')}</tbody>`,
    '</table></div>',
  ].join('');
}

/** A cell of text (left-aligned). */
export function textCell(text: string): Cell {
  return { text, left: true };
}

/** A small square of `color` (only a `#rrggbb` colour; otherwise nothing). */
export function swatch(color: string | undefined): string {
  return color !== undefined && /^#[0-9a-f]{6}$/i.test(color)
    ? `<span class="swatch" style="background:${color}"></span>`
    : '';
}
