// A page as a browser sees it: parsed by parse5 (the WHATWG HTML algorithm, so implied end tags
// and unquoted attributes of hand-written templates come out as in a browser), with the few
// queries the web conformance checker needs.
import { type DefaultTreeAdapterMap, parse } from 'parse5';

export type Element = DefaultTreeAdapterMap['element'];
type Node = DefaultTreeAdapterMap['node'];

const isElement = (node: Node): node is Element => 'tagName' in node;

/** Whitespace runs as one space, trimmed: text as a reader (or Selenium's `.text`) sees it. */
export const squash = (text: string) => text.replace(/\s+/g, ' ').trim();

export class Page {
  /** Every element of the document, in document order. */
  readonly elements: Element[] = [];

  /** Parses `html`; never throws (HTML has no syntax errors, only recoveries). */
  constructor(readonly html: string) {
    const walk = (node: Node) => {
      if (isElement(node)) this.elements.push(node);
      const children =
        node.nodeName === 'template'
          ? (node as DefaultTreeAdapterMap['template']).content.childNodes
          : 'childNodes' in node
            ? node.childNodes
            : [];
      for (const child of children) walk(child);
    };
    walk(parse(html));
  }

  /** The <title>'s text, squashed; '' when there is none. */
  get title(): string {
    const title = this.elements.find((e) => e.tagName === 'title');
    return title ? squash(textOf(title)) : '';
  }

  /** Elements with this tag name (lower case), in document order. */
  byTag(tag: string): Element[] {
    return this.elements.filter((e) => e.tagName === tag);
  }

  /** Elements whose class list holds `name`, in document order. */
  byClass(name: string): Element[] {
    return this.elements.filter((e) => hasClass(e, name));
  }

  /** The page's whole visible text (squashed), scripts and styles left out. */
  get text(): string {
    const body = this.elements.find((e) => e.tagName === 'body');
    return body ? squash(textOf(body)) : '';
  }

  /** Links: href as written and text squashed, in document order. */
  get links(): { href: string; text: string; element: Element }[] {
    return this.byTag('a')
      .filter((a) => attr(a, 'href') !== undefined)
      .map((a) => ({ href: attr(a, 'href') ?? '', text: squash(textOf(a)), element: a }));
  }

  /** The innermost elements whose own text (squashed) contains `needle`. */
  containing(needle: string): Element[] {
    const hits = this.elements.filter(
      (e) => e.tagName !== 'title' && squash(textOf(e)).includes(needle),
    );
    return hits.filter((e) => !hits.some((other) => other !== e && contains(e, other)));
  }
}

/** The value of attribute `name` (lower case), or undefined. */
export function attr(element: Element, name: string): string | undefined {
  return element.attrs.find((a) => a.name === name)?.value;
}

/** Whether the element's class attribute lists `name`. */
export function hasClass(element: Element, name: string): boolean {
  return (attr(element, 'class') ?? '').split(/\s+/).includes(name);
}

/** The text inside `node`, as textContent has it (scripts and styles left out). */
export function textOf(node: Node): string {
  if (node.nodeName === '#text') return (node as DefaultTreeAdapterMap['textNode']).value;
  if (isElement(node) && (node.tagName === 'script' || node.tagName === 'style')) return '';
  if (!('childNodes' in node)) return '';
  return node.childNodes.map(textOf).join('');
}

/** The element and its ancestors, nearest first. */
export function lineage(element: Element): Element[] {
  const chain: Element[] = [];
  let node: Node | null = element;
  while (node && isElement(node)) {
    chain.push(node);
    node = node.parentNode;
  }
  return chain;
}

/** Whether `outer` is `inner` or one of its ancestors. */
export function contains(outer: Element, inner: Element): boolean {
  return lineage(inner).includes(outer);
}

/** Descendant elements of `root` (itself excluded), in document order. */
export function descendants(root: Element): Element[] {
  const found: Element[] = [];
  const walk = (node: Node) => {
    if (!('childNodes' in node)) return;
    for (const child of node.childNodes) {
      if (isElement(child)) {
        found.push(child);
        walk(child);
      }
    }
  };
  walk(root);
  return found;
}
