// A small Markdown renderer that builds DOM nodes directly (never HTML strings), so run and model
// descriptions cannot inject markup: raw HTML in the source shows as text, links go through safeUrl.
// Supports headings, paragraphs, emphasis, strikethrough, inline code, fenced code, block quotes,
// ordered/unordered lists (one level of nesting), horizontal rules, pipe tables and links.

import { append, h, link, type Child } from "./dom";

const INLINE =
  /(`+)([\s\S]*?[^`])\1(?!`)|!?\[([^\]\n]+)\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"\n]*")?\s*\)|\*\*(?=\S)([\s\S]*?\S)\*\*|__(?=\S)([\s\S]*?\S)__|~~(?=\S)([\s\S]*?\S)~~|\*(?=[^\s*])([^*\n]*?[^\s*])\*|(?<![A-Za-z0-9])_(?=[^\s_])([^_\n]*?[^\s_])_(?![A-Za-z0-9])|(https?:\/\/[^\s<>()"']+[^\s<>()"'.,;:!?])/g;

export function renderInline(text: string): Child[] {
  const out: Child[] = [];
  let last = 0;
  const re = new RegExp(INLINE.source, "g"); // own state: renderInline recurses
  for (let m = re.exec(text); m; m = re.exec(text)) {
    if (m.index > last) out.push(text.slice(last, m.index));
    last = m.index + m[0].length;
    if (m[1] !== undefined) out.push(h("code", null, m[2]));
    else if (m[3] !== undefined) {
      // Images are not loaded (no remote requests); they render as a link to the image.
      const label = m[0].startsWith("!") ? `image: ${m[3]}` : m[3];
      out.push(link(m[4], ...renderInline(label)));
    } else if (m[5] !== undefined || m[6] !== undefined) out.push(h("strong", null, ...renderInline(m[5] ?? m[6])));
    else if (m[7] !== undefined) out.push(h("del", null, ...renderInline(m[7])));
    else if (m[8] !== undefined || m[9] !== undefined) out.push(h("em", null, ...renderInline(m[8] ?? m[9])));
    else if (m[10] !== undefined) out.push(link(m[10], m[10]));
  }
  if (last < text.length) out.push(text.slice(last));
  return out;
}

const LIST_ITEM = /^(\s*)([-*+]|\d{1,9}[.)])\s+(.*)$/;
const HEADING = /^(#{1,6})\s+(.*?)\s*#*\s*$/;
const FENCE = /^\s*(```+|~~~+)\s*([\w+-]*)/;
const HR = /^\s*([-*_])(\s*\1){2,}\s*$/;
const TABLE_SEP = /^\s*\|?\s*:?-+:?\s*(\|\s*:?-+:?\s*)*\|?\s*$/;

function splitRow(line: string): string[] {
  let s = line.trim();
  if (s.startsWith("|")) s = s.slice(1);
  if (s.endsWith("|") && !s.endsWith("\\|")) s = s.slice(0, -1);
  return s.split(/(?<!\\)\|/).map((c) => c.trim().replace(/\\\|/g, "|"));
}

function isBlockStart(line: string): boolean {
  return HEADING.test(line) || FENCE.test(line) || HR.test(line) || LIST_ITEM.test(line) || /^\s*>/.test(line);
}

/** Render Markdown source into a `<div class="markdown">`. */
export function renderMarkdown(source: string): HTMLElement {
  const root = h("div", { class: "markdown" });
  append(root, ...renderBlocks(source.replace(/\r\n?/g, "\n").split("\n")));
  return root;
}

function renderBlocks(lines: string[]): Child[] {
  const out: Child[] = [];
  let i = 0;
  while (i < lines.length) {
    const line = lines[i];
    if (!line.trim()) {
      i++;
      continue;
    }
    const fence = FENCE.exec(line);
    if (fence) {
      const body: string[] = [];
      i++;
      while (i < lines.length && !lines[i].trim().startsWith(fence[1])) body.push(lines[i++]);
      i++;
      out.push(h("pre", null, h("code", { "data-lang": fence[2] || null }, body.join("\n"))));
      continue;
    }
    const heading = HEADING.exec(line);
    if (heading) {
      const tag = `h${heading[1].length}` as "h1";
      out.push(h(tag, null, ...renderInline(heading[2])));
      i++;
      continue;
    }
    if (HR.test(line)) {
      out.push(h("hr"));
      i++;
      continue;
    }
    if (/^\s*>/.test(line)) {
      const body: string[] = [];
      while (i < lines.length && /^\s*>/.test(lines[i])) body.push(lines[i++].replace(/^\s*>\s?/, ""));
      out.push(h("blockquote", null, ...renderBlocks(body)));
      continue;
    }
    if (line.includes("|") && i + 1 < lines.length && TABLE_SEP.test(lines[i + 1]) && lines[i + 1].includes("-")) {
      const head = splitRow(line);
      i += 2;
      const rows: string[][] = [];
      while (i < lines.length && lines[i].includes("|") && lines[i].trim()) rows.push(splitRow(lines[i++]));
      out.push(
        h(
          "table",
          null,
          h("thead", null, h("tr", null, head.map((c) => h("th", null, ...renderInline(c))))),
          h("tbody", null, rows.map((r) => h("tr", null, head.map((_, j) => h("td", null, ...renderInline(r[j] ?? "")))))),
        ),
      );
      continue;
    }
    if (LIST_ITEM.test(line)) {
      out.push(renderList(lines, i, (next) => (i = next)));
      continue;
    }
    const para: string[] = [];
    while (i < lines.length && lines[i].trim() && !(para.length && isBlockStart(lines[i]))) para.push(lines[i++].trim());
    const children: Child[] = [];
    para.forEach((p, j) => {
      if (j) children.push(h("br"));
      children.push(...renderInline(p));
    });
    out.push(h("p", null, ...children));
  }
  return out;
}

function renderList(lines: string[], start: number, setNext: (i: number) => void): HTMLElement {
  const first = LIST_ITEM.exec(lines[start])!;
  const indent = first[1].length;
  const ordered = /\d/.test(first[2]);
  const list = ordered ? h("ol", { start: parseInt(first[2], 10) !== 1 ? parseInt(first[2], 10) : null }) : h("ul");
  let i = start;
  let current: HTMLElement | null = null;
  while (i < lines.length) {
    const line = lines[i];
    if (!line.trim()) {
      if (i + 1 < lines.length && LIST_ITEM.test(lines[i + 1])) {
        i++;
        continue;
      }
      break;
    }
    const m = LIST_ITEM.exec(line);
    if (m && m[1].length > indent && current) {
      current.appendChild(renderList(lines, i, (next) => (i = next)));
      continue;
    }
    if (m && m[1].length < indent) break;
    if (m) {
      const task = /^\[([ xX])\]\s+(.*)$/.exec(m[3]);
      current = task
        ? h("li", { class: "task" }, h("input", { type: "checkbox", checked: task[1] !== " ", disabled: true }), " ", ...renderInline(task[2]))
        : h("li", null, ...renderInline(m[3]));
      list.appendChild(current);
      i++;
    } else if (current && /^\s+/.test(line)) {
      append(current, " ", ...renderInline(line.trim()));
      i++;
    } else break;
  }
  setNext(i);
  return list;
}
