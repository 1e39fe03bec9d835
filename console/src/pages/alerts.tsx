/** @module The alerts wall: levels, counts, last seen; filtered by owner, mailbox, profile and level. */
import { useState } from "preact/hooks";
import { query, type Page } from "../api.js";
import { replaceParams } from "../router.js";
import type { Alert, AlertLevel } from "../types.js";
import { Badge, ErrorBox, Field, Loading, Pager, Time, useApi, usePager } from "../ui.js";
import { useProfileNames } from "./mailboxes.js";

export function AlertTable({ items }: { items: Alert[] }) {
  const profiles = useProfileNames();
  if (items.length === 0) return <p class="muted">No alerts.</p>;
  return (
    <div class="table-wrap">
      <table class="grid">
        <thead><tr><th scope="col">Level</th><th scope="col">Code</th><th scope="col">Message</th><th scope="col">Mailbox</th><th scope="col">Profile</th><th scope="col">Count</th><th scope="col">First</th><th scope="col">Last seen</th></tr></thead>
        <tbody>
          {items.map((a) => (
            <tr key={a.id} class={`level-${a.level}`}>
              <td><Badge value={a.level} /></td>
              <td class="nowrap"><code>{a.code}</code></td>
              <td class="wrap">{a.message}{a.emailId && <> (<a href={`#/emails/${encodeURIComponent(a.emailId)}`}>email</a>)</>}</td>
              <td>{a.mailboxId ? <a href={`#/mailboxes/${encodeURIComponent(a.mailboxId)}`}>open</a> : "—"}</td>
              <td>{a.profileId ? <a href={`#/profiles/${encodeURIComponent(a.profileId)}`}>{profiles.get(a.profileId) ?? a.profileId}</a> : "—"}</td>
              <td>{a.count}</td>
              <td><Time at={a.at} /></td>
              <td><Time at={a.lastAt} /></td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

const LEVELS: AlertLevel[] = ["error", "warning", "information"];

export function AlertsPage({ params }: { params: URLSearchParams }) {
  const initial = { ownerId: params.get("ownerId") ?? "", mailboxId: params.get("mailboxId") ?? "", profileId: params.get("profileId") ?? "", level: params.get("level") ?? "" };
  const [form, setForm] = useState(initial);
  const [filters, setFilters] = useState(initial);
  const pager = usePager();
  const profiles = useProfileNames();
  const alerts = useApi<Page<Alert>>(`alerts${query({ top: 100, ...filters, continuationToken: pager.token })}`);
  const set = (k: keyof typeof form) => (e: Event) => setForm({ ...form, [k]: (e.currentTarget as HTMLInputElement).value.trim() });
  const apply = (e: Event): void => {
    e.preventDefault();
    setFilters(form);
    pager.reset();
    replaceParams(["alerts"], form);
  };
  const items = alerts.data?.items ?? [];
  const totals = LEVELS.map((l) => [l, items.filter((a) => a.level === l).reduce((n, a) => n + a.count, 0), items.filter((a) => a.level === l).length] as const);
  return (
    <section aria-labelledby="alerts-title">
      <h1 id="alerts-title">Alerts</h1>
      <form class="panel grid-form" aria-label="Alert filters" onSubmit={apply}>
        <Field label="Owner id"><input value={form.ownerId} onInput={set("ownerId")} /></Field>
        <Field label="Mailbox id"><input value={form.mailboxId} onInput={set("mailboxId")} /></Field>
        <Field label="Profile">
          <select value={form.profileId} onChange={set("profileId")}><option value="">any</option>{[...profiles].map(([id, name]) => <option key={id} value={id}>{name}</option>)}</select>
        </Field>
        <Field label="Level (at least)">
          <select value={form.level} onChange={set("level")}><option value="">any</option>{LEVELS.map((l) => <option key={l}>{l}</option>)}</select>
        </Field>
        <div class="actions"><button type="submit">Filter</button></div>
      </form>
      <ul class="summary" aria-label="Counts on this page">
        {totals.map(([level, count, alertsOf]) => <li key={level}><Badge value={level} /> {alertsOf} alerts, seen {count} times</li>)}
      </ul>
      <ErrorBox error={alerts.error} />
      {alerts.loading && !alerts.data ? <Loading what="alerts" /> : <AlertTable items={items} />}
      <Pager pager={pager} nextToken={alerts.data?.continuationToken} label="Alert" />
    </section>
  );
}
