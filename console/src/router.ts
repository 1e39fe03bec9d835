/** @module Hash routes (#/mailboxes/abc?view=errors): no server-side routing, any prefix works. */
import { useEffect, useState } from "preact/hooks";

export interface Route { segments: string[]; params: URLSearchParams }

export function parseHash(hash: string): Route {
  const [path = "", search = ""] = hash.replace(/^#\/?/, "").split("?", 2);
  return { segments: path.split("/").filter(Boolean).map((s) => decodeURIComponent(s)), params: new URLSearchParams(search) };
}

export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseHash(location.hash));
  useEffect(() => {
    const onChange = (): void => setRoute(parseHash(location.hash));
    addEventListener("hashchange", onChange);
    return () => removeEventListener("hashchange", onChange);
  }, []);
  return route;
}

/** A link target: #/a/b?x=1 with each segment encoded. */
export function href(segments: string[], params: Record<string, string | undefined> = {}): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v) q.set(k, v);
  const s = q.toString();
  return `#/${segments.map(encodeURIComponent).join("/")}${s ? `?${s}` : ""}`;
}

/** Changes the query of the current route without adding a history entry for every keystroke. */
export function replaceParams(segments: string[], params: Record<string, string | undefined>): void {
  history.replaceState(null, "", href(segments, params));
}
