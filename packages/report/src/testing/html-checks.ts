/** Test helpers that read a generated page: its SVGs, its sections, what it would load. */

/**
 * Checks that `markup` is well-formed as far as elements go: every start tag is closed by the
 * matching end tag, in order (self-closing tags stand alone). Returns the element names seen.
 */
export function checkWellFormed(markup: string): Map<string, number> {
  const stack: string[] = [];
  const seen = new Map<string, number>();
  for (const match of markup.matchAll(
    /<(\/?)([a-zA-Z][\w:-]*)((?:[^>"']|"[^"]*"|'[^']*')*?)(\/?)>/g,
  )) {
    const [, closing, name, , selfClosing] = match;
    if (closing) {
      const open = stack.pop();
      if (open !== name) throw new Error(`</${name}> closes <${open}> at ${match.index}`);
    } else {
      seen.set(name, (seen.get(name) ?? 0) + 1);
      if (!selfClosing) stack.push(name);
    }
  }
  if (stack.length > 0) throw new Error(`unclosed: ${stack.join(', ')}`);
  return seen;
}

/** The page as markup whose void elements are closed, for {@link checkWellFormed}. */
export function withoutVoidElements(html: string): string {
  return html.replace(/<!doctype html>|<meta[^>]*>/g, '');
}

/** Every inline SVG of a page. */
export function svgsOf(html: string): string[] {
  return [...html.matchAll(/<svg[\s\S]*?<\/svg>/g)].map((m) => m[0]);
}

/** The ids of the page's sections, in order. */
export function sectionIds(html: string): string[] {
  return [...html.matchAll(/<section id="([^"]+)"/g)].map((m) => m[1]);
}

/** The HTML of one section. */
export function sectionHtml(html: string, id: string): string {
  const start = html.indexOf(`<section id="${id}"`);
  if (start < 0) throw new Error(`no section ${id}`);
  return html.slice(start, html.indexOf('</section>', start) + '</section>'.length);
}

/** Addresses a browser could try to load: everything but XML namespace names. */
export function externalReferences(html: string): string[] {
  const withoutNamespaces = html.replace(/\sxmlns(:\w+)?="[^"]*"/g, '');
  return [
    ...(withoutNamespaces.match(/(https?:)?\/\/[\w.-]+\.[a-z]{2,}[^\s"'<>)]*/gi) ?? []),
    ...(withoutNamespaces.match(/\b(src|href|xlink:href)\s*=\s*"[^"#][^"]*"/gi) ?? []),
    ...(withoutNamespaces.match(/url\(\s*['"]?[^#'")]/gi) ?? []),
    ...(withoutNamespaces.match(/@import/gi) ?? []),
  ];
}

/** Every attribute name of every tag of `html`, in order (values skipped, quotes respected). */
export function attributeNames(html: string): string[] {
  const names: string[] = [];
  for (const tag of html.matchAll(/<[a-zA-Z][\w:-]*((?:[^>"']|"[^"]*"|'[^']*')*)>/g)) {
    for (const attribute of tag[1].matchAll(/([^\s=/"']+)(?:\s*=\s*("[^"]*"|'[^']*'|[^\s>]+))?/g)) {
      names.push(attribute[1]);
    }
  }
  return names;
}
