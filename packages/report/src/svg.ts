/**
 * vega-lite specs to static SVG in Node: compile to vega, run a headless `View` (no canvas,
 * no network: every spec carries its data inline) and take `toSVG()`.
 */
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';

let svgCount = 0;

/**
 * Renders a vega-lite spec to an SVG string. vega numbers the clip paths and gradients of each
 * SVG from 1, which would clash when several SVGs share a page (a browser uses the first
 * element with an id), so every id and reference gets a prefix unique to this call.
 *
 * @example
 * ```ts
 * const svg = await renderSvg({
 *   data: { values: [{ step: 0, loss: 2.3 }, { step: 100, loss: 0.4 }] },
 *   mark: 'line',
 *   encoding: { x: { field: 'step', type: 'quantitative' }, y: { field: 'loss', type: 'quantitative' } },
 * });
 * ```
 */
export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: 'none' });
  let svg: string;
  try {
    svg = await view.toSVG();
  } finally {
    view.finalize();
  }
  const prefix = `hp${++svgCount}-`;
  return svg
    .replace(/\sid="([^"]+)"/g, ` id="${prefix}$1"`)
    .replace(/url\(#([^)]+)\)/g, `url(#${prefix}$1)`)
    .replace(/(\s(?:xlink:)?href)="#([^"]+)"/g, `$1="#${prefix}$2"`);
}
