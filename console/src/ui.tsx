/**
 * @module Small building blocks every page uses: data loading, errors with their stable code,
 * times, status badges, a job's progress bar, and the caller's roles. Every string is rendered
 * as a text node (JSX children), never as markup.
 */
import { createContext, type ComponentChildren } from "preact";
import { useCallback, useContext, useEffect, useRef, useState } from "preact/hooks";
import { api, ApiFailure } from "./api.js";
import type { Job, Me } from "./types.js";

export const MeContext = createContext<Me>({ roles: [], via: "key" });
export const useMe = (): Me => useContext(MeContext);
export const isApprover = (me: Me): boolean => me.roles.includes("approver");
export const APPROVER_ONLY = "Needs the approver role (the master key, or the Email.Approver app role)";

export interface Loaded<T> { data: T | undefined; error: unknown; loading: boolean; reload: () => void }

/** Loads `path` (null: nothing to load) and again whenever it changes or reload() is called. */
export function useApi<T>(path: string | null): Loaded<T> {
  // `forKey` is the path and reload count the state belongs to: while it differs from the current
  // ones the data is stale, so `loading` is true from the very render that changed the path.
  const [state, setState] = useState<{ data: T | undefined; error: unknown; forKey: string | null }>({ data: undefined, error: undefined, forKey: null });
  const [tick, setTick] = useState(0);
  const key = path === null ? null : `${tick} ${path}`;
  useEffect(() => {
    if (path === null || key === null) return;
    const abort = new AbortController();
    api<T>("GET", path, { signal: abort.signal }).then(
      (data) => setState({ data, error: undefined, forKey: key }),
      (error: unknown) => { if (!abort.signal.aborted) setState({ data: undefined, error, forKey: key }); },
    );
    return () => abort.abort();
  }, [key]);
  const reload = useCallback(() => setTick((t) => t + 1), []);
  return { data: state.data, error: state.forKey === key ? state.error : undefined, loading: path !== null && state.forKey !== key, reload };
}

export function ErrorBox({ error }: { error: unknown }) {
  if (!error) return null;
  const failure = error instanceof ApiFailure ? error : new ApiFailure(0, "NETWORK", error instanceof Error ? error.message : "The request failed.");
  return (
    <div class="error" role="alert">
      <strong>{failure.code}</strong> {failure.message}
      {failure.details.length > 0 && (
        <ul>{failure.details.map((d) => <li key={d.path}><code>{d.path}</code>: {d.message}</li>)}</ul>
      )}
    </div>
  );
}

export function Loading({ what }: { what: string }) {
  return <p class="muted" role="status">Loading {what}…</p>;
}

const timeFormat = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "medium" });
export function Time({ at, empty = "—" }: { at: string | null | undefined; empty?: string }) {
  if (!at) return <span class="muted">{empty}</span>;
  const d = new Date(at);
  return <time dateTime={at} title={at}>{Number.isNaN(d.getTime()) ? at : timeFormat.format(d)}</time>;
}

const TONE: Record<string, string> = {
  success: "ok", approved: "ok", succeeded: "ok", ok: "ok", sent: "ok", received: "ok",
  failure: "bad", rejected: "bad", failed: "bad", error: "bad", quarantined: "bad", unhealthy: "bad",
  pendingApproval: "warn", warning: "warn", running: "warn", queued: "warn", pendingSend: "warn", sending: "warn", skipped: "warn",
};
export function Badge({ value, label }: { value: string; label?: string }) {
  return <span class={`badge ${TONE[value] ?? "neutral"}`}>{label ?? value}</span>;
}

export function Field({ label, hint, children }: { label: string; hint?: ComponentChildren; children: ComponentChildren }) {
  return (
    <label class="field">
      <span class="label">{label}{hint && <span class="hint"> {hint}</span>}</span>
      {children}
    </label>
  );
}

/** Follows a job until it ends: a progress bar, then the outcome per mailbox. */
export function JobProgress({ jobId, onDone, describe }: { jobId: string; onDone?: (job: Job) => void; describe?: (mailboxId: string) => string }) {
  const [job, setJob] = useState<Job>();
  const [error, setError] = useState<unknown>();
  const done = useRef(onDone);
  done.current = onDone;
  const latest = useRef<Job>({ id: jobId, kind: "", status: "queued", total: 0, done: 0, results: [], error: null });
  useEffect(() => {
    let stopped = false;
    let timer: number | undefined;
    const poll = async (): Promise<void> => {
      try {
        const j = await api<Job>("GET", `jobs/${encodeURIComponent(jobId)}`);
        if (stopped) return;
        setJob(j);
        latest.current = j;
        if (j.status === "succeeded" || j.status === "failed") { done.current?.(j); return; }
      } catch (err) {
        if (stopped) return;
        setError(err);
        return;
      }
      // A job's view lists every result so far: poll a big one less often.
      timer = window.setTimeout(() => void poll(), latest.current.total > 500 ? 3000 : 700);
    };
    void poll();
    return () => { stopped = true; window.clearTimeout(timer); };
  }, [jobId]);
  if (error) return <ErrorBox error={error} />;
  if (!job) return <Loading what="the job" />;
  const finished = job.status === "succeeded" || job.status === "failed";
  const count = (o: string): number => job.results.filter((r) => r.outcome === o).length;
  const failures = job.results.filter((r) => r.outcome === "failed");
  return (
    <section class="job" aria-label="Job progress" data-job-status={job.status}>
      <div class="job-line">
        <label for={`job-${job.id}`}>Job {job.kind}: <Badge value={job.status} /></label>
        <progress id={`job-${job.id}`} max={Math.max(job.total, 1)} value={job.done} />
        <span role="status">{job.done} of {job.total} done</span>
      </div>
      {finished && (
        <p>{count("succeeded")} succeeded, {count("failed")} failed, {count("skipped")} skipped.{job.error && <> Job error: {job.error.code} {job.error.message}</>}</p>
      )}
      {failures.length > 0 && (
        <ul class="failures">
          {failures.slice(0, 50).map((r) => (
            <li key={r.mailboxId}>
              <a href={`#/mailboxes/${encodeURIComponent(r.mailboxId)}`}>{describe?.(r.mailboxId) ?? r.mailboxId}</a>: <code>{r.error?.code}</code> {r.error?.message}
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}

/** Continuation-token paging: the tokens of the pages before this one are kept for "Previous". */
export function usePager(): { token: string | undefined; next: (t: string) => void; prev: () => void; reset: () => void; page: number } {
  const [stack, setStack] = useState<string[]>([]);
  return {
    token: stack[stack.length - 1],
    page: stack.length + 1,
    next: (t) => setStack((s) => [...s, t]),
    prev: () => setStack((s) => s.slice(0, -1)),
    reset: () => setStack([]),
  };
}

export function Pager({ pager, nextToken, label }: { pager: ReturnType<typeof usePager>; nextToken: string | null | undefined; label: string }) {
  return (
    <nav class="pager" aria-label={`${label} pages`}>
      <button type="button" disabled={pager.page === 1} onClick={pager.prev}>Previous page</button>
      <span>Page {pager.page}</span>
      <button type="button" disabled={!nextToken} onClick={() => nextToken && pager.next(nextToken)}>Next page</button>
    </nav>
  );
}

export const ownerLabel = (o: { type: string; id: string; name?: string } | null | undefined): string =>
  o ? `${o.name ? `${o.name} ` : ""}(${o.type} ${o.id})` : "—";
