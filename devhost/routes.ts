/**
 * @module Route templates as the Functions host reads them (ASP.NET Core routing): `{param}`,
 * optional trailing `{param?}`, catch-all `{*rest}`; literals match case-insensitively.
 * When several templates match a path, the host tries them in precedence order and skips those
 * whose method does not fit, so a literal segment beats a parameter in the same place
 * (`mailboxes/apply-default-settings` before `mailboxes/{id}`) only for the methods it accepts.
 */

type Segment =
  | { kind: "literal"; text: string }
  | { kind: "param"; name: string; optional: boolean }
  | { kind: "catchAll"; name: string };

export interface CompiledRoute<T> {
  template: string;
  segments: Segment[];
  value: T;
}

/** Lower ranks win: literal, then parameter, then optional parameter, then catch-all. */
const RANK: Record<string, number> = { literal: 1, param: 2, optional: 3, catchAll: 4 };

function rankOf(s: Segment): number {
  if (s.kind === "param") return s.optional ? (RANK.optional as number) : (RANK.param as number);
  return RANK[s.kind] as number;
}

/** Splits a URL path (or template) into segments, ignoring leading and trailing slashes. */
export function splitPath(path: string): string[] {
  const trimmed = path.replace(/^\/+|\/+$/g, "");
  return trimmed === "" ? [] : trimmed.split("/");
}

export function compileRoute<T>(template: string, value: T): CompiledRoute<T> {
  const parts = splitPath(template);
  const segments = parts.map((part, i): Segment => {
    const p = /^\{(\*)?([A-Za-z_][A-Za-z0-9_]*)(\?)?\}$/.exec(part);
    if (p) {
      const [, star, name, optional] = p as unknown as [string, string | undefined, string, string | undefined];
      if (star) {
        if (i !== parts.length - 1) throw new Error(`Route "${template}": a catch-all parameter must be the last segment`);
        return { kind: "catchAll", name };
      }
      return { kind: "param", name, optional: optional === "?" };
    }
    if (/[{}]/.test(part)) {
      throw new Error(`Route "${template}": segment "${part}" is not supported by the dev host (use {name}, {name?} or {*name})`);
    }
    return { kind: "literal", text: part.toLowerCase() };
  });
  const firstOptional = segments.findIndex((s) => s.kind === "param" && s.optional);
  if (firstOptional >= 0 && segments.slice(firstOptional).some((s) => s.kind === "literal" || (s.kind === "param" && !s.optional))) {
    throw new Error(`Route "${template}": only trailing parameters can be optional`);
  }
  return { template, segments, value };
}

/** Matches decoded-later path segments; returns the route parameters or null. */
export function matchRoute(route: CompiledRoute<unknown>, path: string[]): Record<string, string> | null {
  const params: Record<string, string> = {};
  const segs = route.segments;
  for (let i = 0; i < segs.length; i++) {
    const seg = segs[i] as Segment;
    const raw = path[i];
    if (seg.kind === "catchAll") {
      const rest = path.slice(i);
      if (rest.length > 0) params[seg.name] = rest.map(safeDecode).join("/");
      return rest.some((r) => safeDecode(r) === null) ? null : params;
    }
    if (raw === undefined) {
      if (seg.kind === "param" && seg.optional) continue;
      return null;
    }
    const decoded = safeDecode(raw);
    if (decoded === null || decoded === "") return null;
    if (seg.kind === "literal") {
      if (decoded.toLowerCase() !== seg.text) return null;
    } else {
      params[seg.name] = decoded;
    }
  }
  return path.length <= segs.length ? params : null;
}

function safeDecode(s: string): string | null {
  try {
    return decodeURIComponent(s);
  } catch {
    return null;
  }
}

/** Orders routes by precedence (most specific first); the sort is stable for equal templates. */
export function byPrecedence<T>(routes: CompiledRoute<T>[]): CompiledRoute<T>[] {
  return [...routes].sort((a, b) => {
    const n = Math.max(a.segments.length, b.segments.length);
    for (let i = 0; i < n; i++) {
      const sa = a.segments[i], sb = b.segments[i];
      if (sa === undefined || sb === undefined) return sa === undefined ? -1 : 1;
      const d = rankOf(sa) - rankOf(sb);
      if (d !== 0) return d;
    }
    return 0;
  });
}
