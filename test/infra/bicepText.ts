/**
 * @module Just enough of a Bicep reader for test/infra/consistency.test.ts to check infra/ without
 * the Bicep CLI: it understands strings (with `${...}` interpolation and `'''` multi-line strings),
 * comments and bracket nesting, and splits a file into top-level statements, resources and object
 * entries. It is not a Bicep compiler; the files in infra/ are written so that it is enough.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";

const OPEN_TO_CLOSE: Record<string, string> = { "{": "}", "[": "]", "(": ")" };
const CLOSERS = new Set(Object.values(OPEN_TO_CLOSE));

/** Index just past the string that starts at `i` (src[i] is a quote). */
export function skipString(src: string, i: number): number {
  if (src.startsWith("'''", i)) {
    const end = src.indexOf("'''", i + 3);
    if (end < 0) throw new Error(`unterminated multi-line string at ${i}`);
    return end + 3;
  }
  let k = i + 1;
  while (k < src.length) {
    const c = src[k];
    if (c === "\\") {
      k += 2;
    } else if (c === "'") {
      return k + 1;
    } else if (c === "$" && src[k + 1] === "{") {
      k = matchClose(src, k + 1) + 1;
    } else {
      k += 1;
    }
  }
  throw new Error(`unterminated string at ${i}`);
}

function isCommentStart(src: string, i: number): boolean {
  return src[i] === "/" && (src[i + 1] === "/" || src[i + 1] === "*");
}

/** Index just past the comment that starts at `i`; a line comment ends before its newline. */
function skipComment(src: string, i: number): number {
  if (src[i + 1] === "/") {
    const nl = src.indexOf("\n", i);
    return nl < 0 ? src.length : nl;
  }
  const end = src.indexOf("*/", i + 2);
  if (end < 0) throw new Error(`unterminated comment at ${i}`);
  return end + 2;
}

/** Index of the bracket that closes the one at `open` (`{`, `[` or `(`). */
export function matchClose(src: string, open: number): number {
  const first = OPEN_TO_CLOSE[src[open] ?? ""];
  if (!first) throw new Error(`no bracket at ${open}`);
  const stack = [first];
  let i = open + 1;
  while (i < src.length) {
    const c = src[i] ?? "";
    if (c === "'") {
      i = skipString(src, i);
      continue;
    }
    if (isCommentStart(src, i)) {
      i = skipComment(src, i);
      continue;
    }
    const closer = OPEN_TO_CLOSE[c];
    if (closer) {
      stack.push(closer);
    } else if (CLOSERS.has(c)) {
      if (c !== stack[stack.length - 1]) throw new Error(`mismatched '${c}' at ${i}`);
      stack.pop();
      if (stack.length === 0) return i;
    }
    i += 1;
  }
  throw new Error(`unclosed '${src[open]}' at ${open}`);
}

/** End (exclusive) of an expression starting at `i`: the first newline, `,` or closer at depth 0. */
function expressionEnd(src: string, i: number): number {
  let k = i;
  while (k < src.length) {
    const c = src[k] ?? "";
    if (c === "'") {
      k = skipString(src, k);
    } else if (isCommentStart(src, k)) {
      return k;
    } else if (OPEN_TO_CLOSE[c]) {
      k = matchClose(src, k) + 1;
    } else if (c === "\n" || c === "," || CLOSERS.has(c)) {
      return k;
    } else {
      k += 1;
    }
  }
  return k;
}

function skipBlank(src: string, i: number): number {
  let k = i;
  for (;;) {
    while (k < src.length && /[\s,]/.test(src[k] ?? "")) k += 1;
    if (isCommentStart(src, k)) {
      k = skipComment(src, k);
      continue;
    }
    if (src[k] === "#") {
      // #disable-next-line and other directives run to the end of the line.
      const nl = src.indexOf("\n", k);
      k = nl < 0 ? src.length : nl;
      continue;
    }
    return k;
  }
}

/**
 * Unquotes a text that is one Bicep string (`'abc'` → `abc`, `'a${b}'` → `a${b}`, escapes resolved
 * outside interpolations); anything else is returned trimmed, as is.
 */
export function literal(text: string): string {
  const t = text.trim();
  if (!t.startsWith("'") || t.startsWith("'''") || skipString(t, 0) !== t.length) return t;
  let out = "";
  let k = 1;
  while (k < t.length - 1) {
    const c = t[k] ?? "";
    if (c === "\\") {
      out += t[k + 1] ?? "";
      k += 2;
    } else if (c === "$" && t[k + 1] === "{") {
      const end = matchClose(t, k + 1);
      out += t.slice(k, end + 1);
      k = end + 1;
    } else {
      out += c;
      k += 1;
    }
  }
  return out;
}

/** Top-level entries of the object literal whose `{` is at `open`: key → value text (trimmed). */
export function objectEntries(src: string, open: number): Map<string, string> {
  const close = matchClose(src, open);
  const entries = new Map<string, string>();
  let i = open + 1;
  for (;;) {
    i = skipBlank(src, i);
    if (i >= close) return entries;
    let key: string;
    if (src[i] === "'") {
      const end = skipString(src, i);
      key = literal(src.slice(i, end));
      i = end;
    } else {
      const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(src.slice(i, i + 200));
      if (!m) throw new Error(`expected an object key at ${i}: ${src.slice(i, i + 40)}`);
      key = m[0];
      i += key.length;
    }
    i = skipBlank(src, i);
    if (src[i] !== ":") throw new Error(`expected ':' after key ${key} at ${i}`);
    i = skipBlank(src, i + 1);
    const end = expressionEnd(src, i);
    entries.set(key, src.slice(i, end).trim());
    i = end;
  }
}

/** Parses an object literal given as text (`{ ... }`). */
export function objectText(text: string): Map<string, string> {
  const t = text.trim();
  if (!t.startsWith("{")) throw new Error(`not an object literal: ${t.slice(0, 40)}`);
  return objectEntries(t, 0);
}

/** Follows a path of keys through nested object literals; undefined when a step is missing. */
export function getPath(text: string, path: string[]): string | undefined {
  let current = text.trim();
  for (const key of path) {
    if (!current.startsWith("{")) return undefined;
    const next = objectText(current).get(key);
    if (next === undefined) return undefined;
    current = next;
  }
  return current;
}

export interface Statement {
  /** `param`, `var`, `output`, `resource`, `module`, `targetScope`, `using`, ... */
  keyword: string;
  /** Declared name (symbolic name for resources and modules); "" when the statement has none. */
  name: string;
  /** Decorators written above the statement, e.g. `@secure()`. */
  decorators: string[];
  /** Whole statement text. */
  text: string;
  /** Text after the declaration's `=` (its value or body); "" when there is none. */
  value: string;
}

/** Splits a Bicep (or .bicepparam) file into its top-level statements. */
export function statements(src: string): Statement[] {
  const out: Statement[] = [];
  let decorators: string[] = [];
  let i = 0;
  for (;;) {
    i = skipBlank(src, i);
    if (i >= src.length) return out;
    if (src[i] === "@") {
      const m = /^@[A-Za-z_][\w.]*/.exec(src.slice(i));
      if (!m) throw new Error(`bad decorator at ${i}`);
      let end = i + m[0].length;
      if (src[end] === "(") end = matchClose(src, end) + 1;
      decorators.push(src.slice(i, end));
      i = end;
      continue;
    }
    // A statement runs to the first newline at depth 0.
    let k = i;
    while (k < src.length && src[k] !== "\n") {
      const c = src[k] ?? "";
      if (c === "'") k = skipString(src, k);
      else if (isCommentStart(src, k)) k = skipComment(src, k);
      else if (OPEN_TO_CLOSE[c]) k = matchClose(src, k) + 1;
      else k += 1;
    }
    const text = src.slice(i, k).trim();
    const words = /^([A-Za-z_]\w*)(?:\s+([A-Za-z_]\w*))?/.exec(text);
    const keyword = words?.[1] ?? "";
    const hasName = ["param", "var", "output", "resource", "module", "type", "func"].includes(keyword);
    out.push({
      keyword,
      name: hasName ? (words?.[2] ?? "") : "",
      decorators,
      text,
      value: valueAfterEquals(text),
    });
    decorators = [];
    i = k;
  }
}

/** Text after the first `=` at depth 0 that is not part of `==`, `!=`, `<=`, `>=` or `=~`. */
function valueAfterEquals(text: string): string {
  let k = 0;
  while (k < text.length) {
    const c = text[k] ?? "";
    if (c === "'") {
      k = skipString(text, k);
      continue;
    }
    if (OPEN_TO_CLOSE[c]) {
      k = matchClose(text, k) + 1;
      continue;
    }
    if (c === "=" && text[k + 1] !== "=" && text[k + 1] !== "~" && !"=!<>".includes(text[k - 1] ?? "")) {
      return text.slice(k + 1).trim();
    }
    k += 1;
  }
  return "";
}

export interface Resource {
  file: string;
  symbol: string;
  /** Resource type without the API version, e.g. `Microsoft.Storage/storageAccounts`. */
  type: string;
  apiVersion: string;
  existing: boolean;
  /** Condition of `= if (cond) {...}`, or undefined. */
  condition?: string;
  /** Loop header of `= [for x in xs: {...}]`, e.g. `for queueName in queueNames`, or undefined. */
  loop?: string;
  /** The resource body, `{ ... }`. */
  body: string;
}

/** The `resource` declarations of one file. */
export function resources(file: string, src: string): Resource[] {
  return statements(src)
    .filter((s) => s.keyword === "resource")
    .map((s) => {
      const head = /^resource\s+(\w+)\s+'([^'@]+)@([^']+)'\s*(existing)?/.exec(s.text);
      if (!head) throw new Error(`${file}: cannot read resource header: ${s.text.slice(0, 80)}`);
      let value = s.value;
      let condition: string | undefined;
      let loop: string | undefined;
      if (value.startsWith("if")) {
        const open = value.indexOf("(");
        const close = matchClose(value, open);
        condition = value.slice(open + 1, close).trim();
        value = value.slice(close + 1).trim();
      } else if (value.startsWith("[")) {
        const inner = value.slice(1, matchClose(value, 0)).trim();
        const colon = /^for\s+[^:]*?\s+in\s+/.exec(inner);
        if (!colon) throw new Error(`${file}: cannot read loop of ${head[1]}`);
        // The loop header ends at the ':' that precedes the body's '{'.
        const brace = inner.indexOf("{", colon[0].length);
        const headEnd = inner.lastIndexOf(":", brace);
        loop = inner.slice(0, headEnd).trim();
        value = inner.slice(brace).trim();
      }
      const body = value.startsWith("{") ? value.slice(0, matchClose(value, 0) + 1) : value;
      return {
        file,
        symbol: head[1] ?? "",
        type: head[2] ?? "",
        apiVersion: head[3] ?? "",
        existing: head[4] === "existing",
        ...(condition !== undefined ? { condition } : {}),
        ...(loop !== undefined ? { loop } : {}),
        body,
      };
    });
}

/** Every file under `dir` ending in `ext`, as project-relative path → text. */
export function readTree(root: string, dir: string, ext: string): Map<string, string> {
  const files = new Map<string, string>();
  const walk = (d: string): void => {
    for (const entry of readdirSync(d, { withFileTypes: true })) {
      const full = join(d, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (entry.name.endsWith(ext)) files.set(relative(root, full).split("\\").join("/"), readFileSync(full, "utf8"));
    }
  };
  walk(join(root, dir));
  return files;
}

/** Whether identifier `name` occurs in `text` as a whole word (strings included: errs on the safe side). */
export function mentions(text: string, name: string): boolean {
  return new RegExp(`(?<![\\w.])${name.replace(/[$]/g, "\\$")}(?!\\w)`).test(text);
}
