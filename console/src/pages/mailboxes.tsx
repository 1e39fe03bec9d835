/**
 * @module Mailboxes: a paged grid with the views Active, Pending approval and With errors, search
 * by address, and multi-select bulk actions (POST /api/mailboxes/bulk) followed as jobs.
 */
import { useEffect, useMemo, useState } from "preact/hooks";
import { api, query, type Page } from "../api.js";
import { replaceParams } from "../router.js";
import type { Mailbox, Profile } from "../types.js";
import { APPROVER_ONLY, Badge, ErrorBox, Field, isApprover, JobProgress, Loading, Pager, Time, useApi, useMe, usePager } from "../ui.js";

const VIEWS = {
  all: { label: "All", filter: {} },
  active: { label: "Active", filter: { active: "true" } },
  pending: { label: "Pending approval", filter: { approval: "pendingApproval" } },
  errors: { label: "With errors", filter: { hasErrors: "true" } },
} as const;
type View = keyof typeof VIEWS;
const PAGE_SIZE = 50;

type BulkAction = "approve" | "reject" | "testAndEnable" | "applyDefaultSettings" | "update";
const ACTIONS: { action: BulkAction; label: string; approver?: boolean }[] = [
  { action: "approve", label: "Approve", approver: true },
  { action: "reject", label: "Reject", approver: true },
  { action: "testAndEnable", label: "Test & Enable" },
  { action: "applyDefaultSettings", label: "Apply default settings" },
];

export function useProfileNames(): Map<string, string> {
  const profiles = useApi<Page<Profile>>("profiles?top=1000");
  return useMemo(() => new Map((profiles.data?.items ?? []).map((p) => [p.id, p.name])), [profiles.data]);
}

/** The direction's error, or the other's: what an admin needs to see first. */
const lastError = (m: Mailbox): { code: string; message: string } | null => m.incoming.lastError ?? m.outgoing.lastError;
const retryAt = (m: Mailbox): string | null => {
  const times = [m.incoming.postponedUntil, m.outgoing.postponedUntil].filter((t): t is string => Boolean(t)).sort();
  return times[0] ?? null;
};

function ChangeFields({ profiles, onSubmit, onCancel }: { profiles: Map<string, string>; onSubmit: (changes: Record<string, unknown>) => void; onCancel: () => void }) {
  const [form, setForm] = useState<Record<string, string>>({});
  const set = (k: string) => (e: Event) => setForm({ ...form, [k]: (e.currentTarget as HTMLSelectElement).value });
  const submit = (e: Event): void => {
    e.preventDefault();
    const changes: Record<string, unknown> = {};
    if (form.active) changes.active = form.active === "true";
    if (form.profileId) changes.profileId = form.profileId;
    if (form.incomingMethod) changes.incomingMethod = form.incomingMethod;
    if (form.outgoingMethod) changes.outgoingMethod = form.outgoingMethod;
    if (form.incomingFilter) changes.incomingFilter = form.incomingFilter;
    onSubmit(changes);
  };
  const keep = <option value="">(keep)</option>;
  return (
    <form class="panel" aria-label="Change fields" onSubmit={submit}>
      <h3>Change fields of the selected mailboxes</h3>
      <div class="grid-form">
        <Field label="Active"><select value={form.active ?? ""} onChange={set("active")}>{keep}<option value="true">yes</option><option value="false">no</option></select></Field>
        <Field label="Profile"><select value={form.profileId ?? ""} onChange={set("profileId")}>{keep}{[...profiles].map(([id, name]) => <option key={id} value={id}>{name}</option>)}</select></Field>
        <Field label="Incoming method"><select value={form.incomingMethod ?? ""} onChange={set("incomingMethod")}>{keep}<option>none</option><option>serverSideSync</option><option>forwardMailbox</option></select></Field>
        <Field label="Outgoing method"><select value={form.outgoingMethod ?? ""} onChange={set("outgoingMethod")}>{keep}<option>none</option><option>serverSideSync</option></select></Field>
        <Field label="Incoming filter"><select value={form.incomingFilter ?? ""} onChange={set("incomingFilter")}>{keep}{["all", "responsesToTracked", "fromKnownContacts", "fromEmailEnabledRecords", "none"].map((v) => <option key={v}>{v}</option>)}</select></Field>
      </div>
      <button type="submit" disabled={Object.values(form).every((v) => !v)}>Apply changes</button>{" "}
      <button type="button" onClick={onCancel}>Cancel</button>
    </form>
  );
}

export function MailboxesPage({ params }: { params: URLSearchParams }) {
  const me = useMe();
  const [view, setView] = useState<View>((params.get("view") as View | null) ?? "all");
  const [search, setSearch] = useState(params.get("q") ?? "");
  const [q, setQ] = useState(params.get("q") ?? "");
  const pager = usePager();
  const [selected, setSelected] = useState<Set<string>>(new Set());
  const [jobId, setJobId] = useState<string>();
  const [actionError, setActionError] = useState<unknown>();
  const [changing, setChanging] = useState(false);
  const profiles = useProfileNames();
  const path = `mailboxes${query({ top: PAGE_SIZE, ...VIEWS[view]?.filter, emailAddressPrefix: q, continuationToken: pager.token })}`;
  const list = useApi<Page<Mailbox>>(path);
  const items = list.data?.items ?? [];
  const addressOf = useMemo(() => new Map(items.map((m) => [m.id, m.emailAddress])), [items]);

  useEffect(() => { replaceParams(["mailboxes"], { view: view === "all" ? undefined : view, q: q || undefined }); }, [view, q]);
  const choose = (v: View): void => { setView(v); pager.reset(); setSelected(new Set()); };
  const toggle = (id: string): void => {
    const next = new Set(selected);
    if (!next.delete(id)) next.add(id);
    setSelected(next);
  };
  const allOnPage = items.length > 0 && items.every((m) => selected.has(m.id));
  const run = async (action: BulkAction, changes?: Record<string, unknown>): Promise<void> => {
    setActionError(undefined);
    try {
      const res = await api<{ jobId: string }>("POST", "mailboxes/bulk", { body: { action, mailboxIds: [...selected], ...(changes ? { changes } : {}) } });
      setJobId(res.jobId);
      setChanging(false);
    } catch (err) {
      setActionError(err);
    }
  };

  return (
    <section aria-labelledby="mailboxes-title">
      <h1 id="mailboxes-title">Mailboxes</h1>
      <div class="toolbar">
        <div role="group" aria-label="Views" class="tabs">
          {(Object.keys(VIEWS) as View[]).map((v) => (
            <button key={v} type="button" aria-pressed={view === v} onClick={() => choose(v)}>{VIEWS[v].label}</button>
          ))}
        </div>
        <form role="search" onSubmit={(e) => { e.preventDefault(); setQ(search.trim()); pager.reset(); setSelected(new Set()); }}>
          <label for="mailbox-search" class="visually-hidden">Search by address</label>
          <input id="mailbox-search" type="search" placeholder="Address starts with…" value={search} onInput={(e) => setSearch(e.currentTarget.value)} />
          <button type="submit">Search</button>
        </form>
      </div>
      <div class="toolbar" role="group" aria-label="Bulk actions">
        <span>{selected.size} selected</span>
        {ACTIONS.map(({ action, label, approver }) => {
          const denied = approver && !isApprover(me);
          return (
            <button key={action} type="button" disabled={selected.size === 0 || denied} title={denied ? APPROVER_ONLY : undefined}
              aria-describedby={denied ? "approver-note" : undefined} onClick={() => void run(action)}>{label}</button>
          );
        })}
        <button type="button" disabled={selected.size === 0} onClick={() => setChanging(true)}>Change fields…</button>
        {!isApprover(me) && <span id="approver-note" class="hint">Approve and Reject need the approver role.</span>}
      </div>
      {changing && <ChangeFields profiles={profiles} onSubmit={(c) => void run("update", c)} onCancel={() => setChanging(false)} />}
      <ErrorBox error={actionError} />
      {jobId && <JobProgress key={jobId} jobId={jobId} describe={(id) => addressOf.get(id) ?? id} onDone={() => list.reload()} />}
      <ErrorBox error={list.error} />
      {list.loading && !list.data ? <Loading what="mailboxes" /> : (
        <div class="table-wrap" aria-busy={list.loading ? "true" : "false"}>
          <table class="grid">
            <caption class="visually-hidden">Mailboxes, view {VIEWS[view].label}</caption>
            <thead>
              <tr>
                <th scope="col"><input type="checkbox" aria-label="Select all on this page" checked={allOnPage}
                  onChange={() => setSelected(allOnPage ? new Set() : new Set(items.map((m) => m.id)))} /></th>
                <th scope="col">Address</th><th scope="col">Owner</th><th scope="col">Profile</th><th scope="col">Approval</th>
                <th scope="col">Incoming</th><th scope="col">Outgoing</th><th scope="col">Last sync</th>
                <th scope="col">Last error</th><th scope="col">Retry at</th><th scope="col">Stats</th>
              </tr>
            </thead>
            <tbody>
              {items.length === 0 && <tr><td colSpan={11} class="muted">No mailboxes in this view.</td></tr>}
              {items.map((m) => {
                const err = lastError(m);
                return (
                  <tr key={m.id} class={selected.has(m.id) ? "selected" : undefined} data-mailbox={m.emailAddress}>
                    <td><input type="checkbox" aria-label={`Select ${m.emailAddress}`} checked={selected.has(m.id)} onChange={() => toggle(m.id)} /></td>
                    <td><a href={`#/mailboxes/${encodeURIComponent(m.id)}`}>{m.emailAddress}</a>{!m.active && <> <Badge value="inactive" /></>}</td>
                    <td>{m.owner.name ?? m.owner.id} <span class="muted">({m.owner.type})</span></td>
                    <td>{m.profileId ? profiles.get(m.profileId) ?? m.profileId : <span class="muted">none</span>}</td>
                    <td><Badge value={m.approval} /></td>
                    <td><Badge value={m.incoming.status} /> {m.incoming.enabled ? "enabled" : <span class="muted">off</span>}</td>
                    <td><Badge value={m.outgoing.status} /> {m.outgoing.enabled ? "enabled" : <span class="muted">off</span>}</td>
                    <td><Time at={m.incoming.lastSyncAt ?? m.outgoing.lastSyncAt} empty="never" /></td>
                    <td class="wrap">{err ? <><code>{err.code}</code> {err.message}</> : <span class="muted">—</span>}</td>
                    <td><Time at={retryAt(m)} /></td>
                    <td class="nowrap" title="received / sent / failed / quarantined">{m.stats.received} in · {m.stats.sent} out · {m.stats.failed} failed · {m.stats.quarantined} q</td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
      <Pager pager={pager} nextToken={list.data?.continuationToken} label="Mailbox" />
    </section>
  );
}
