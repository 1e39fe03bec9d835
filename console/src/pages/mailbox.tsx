/** @module One mailbox: both directions' state, its recent emails and its alerts, with its actions. */
import { useState } from "preact/hooks";
import { api, query, type Page } from "../api.js";
import type { Alert, DirectionState, Email, Mailbox, Profile } from "../types.js";
import { APPROVER_ONLY, Badge, ErrorBox, isApprover, JobProgress, Loading, ownerLabel, Time, useApi, useMe } from "../ui.js";
import { AlertTable } from "./alerts.js";
import { EmailTable } from "./emails.js";

function DirectionRow({ name, method, d }: { name: string; method: string; d: DirectionState }) {
  return (
    <tr>
      <th scope="row">{name}</th>
      <td>{method}</td>
      <td><Badge value={d.status} /></td>
      <td>{d.enabled ? "yes" : "no"}</td>
      <td><Time at={d.lastSyncAt} empty="never" /></td>
      <td><Time at={d.lastSuccessfulSyncAt} empty="never" /></td>
      <td class="wrap">{d.lastError ? <><code>{d.lastError.code}</code> {d.lastError.message} <span class="muted">({d.lastError.transient ? "transient" : "permanent"})</span></> : "—"}</td>
      <td>{d.transientFailureCount}</td>
      <td><Time at={d.postponedUntil} /></td>
    </tr>
  );
}

export function MailboxPage({ id }: { id: string }) {
  const me = useMe();
  const mailbox = useApi<Mailbox>(`mailboxes/${encodeURIComponent(id)}`);
  const m = mailbox.data;
  const profile = useApi<Profile>(m?.profileId ? `profiles/${encodeURIComponent(m.profileId)}` : null);
  const emails = useApi<Page<Email>>(`emails${query({ mailboxId: id, top: 20 })}`);
  const alerts = useApi<Page<Alert>>(`alerts${query({ mailboxId: id, top: 50 })}`);
  const [jobId, setJobId] = useState<string>();
  const [actionError, setActionError] = useState<unknown>();
  if (mailbox.error) return <ErrorBox error={mailbox.error} />;
  if (!m) return <Loading what="the mailbox" />;
  const act = async (path: string, job: boolean): Promise<void> => {
    setActionError(undefined);
    try {
      const res = await api<{ jobId?: string }>("POST", `mailboxes/${encodeURIComponent(id)}/${path}`);
      if (job && res.jobId) setJobId(res.jobId);
      else mailbox.reload();
    } catch (err) {
      setActionError(err);
    }
  };
  const approver = isApprover(me);
  return (
    <section aria-labelledby="mailbox-title">
      <p><a href="#/mailboxes">← Mailboxes</a></p>
      <h1 id="mailbox-title">{m.emailAddress}</h1>
      <dl class="facts">
        <dt>Owner</dt><dd>{ownerLabel(m.owner)}</dd>
        <dt>Profile</dt><dd>{m.profileId ? <a href={`#/profiles/${encodeURIComponent(m.profileId)}`}>{profile.data?.name ?? m.profileId}</a> : "none"}</dd>
        <dt>Approval</dt><dd><Badge value={m.approval} /></dd>
        <dt>Active</dt><dd>{m.active ? "yes" : "no"}</dd>
        <dt>Incoming filter</dt><dd>{m.incomingFilter}</dd>
        <dt>Credentials</dt><dd>{m.credentials ? <>{m.credentials.userName}, password {m.credentials.hasPassword ? "set" : "not set"}</> : "from the profile"}</dd>
        <dt>Stats</dt><dd>{m.stats.received} received, {m.stats.sent} sent, {m.stats.failed} failed, {m.stats.skipped} skipped, {m.stats.quarantined} quarantined</dd>
      </dl>
      <div class="toolbar" role="group" aria-label="Mailbox actions">
        <button type="button" onClick={() => void act("test-and-enable", true)}>Test &amp; Enable</button>
        <button type="button" disabled={!approver} title={approver ? undefined : APPROVER_ONLY} onClick={() => void act("approve", false)}>Approve</button>
        <button type="button" disabled={!approver} title={approver ? undefined : APPROVER_ONLY} onClick={() => void act("reject", false)}>Reject</button>
        <button type="button" onClick={mailbox.reload}>Refresh</button>
      </div>
      <ErrorBox error={actionError} />
      {jobId && <JobProgress key={jobId} jobId={jobId} describe={() => m.emailAddress} onDone={() => { mailbox.reload(); alerts.reload(); }} />}
      <h2>Directions</h2>
      <div class="table-wrap">
        <table class="grid">
          <thead><tr><th scope="col">Direction</th><th scope="col">Method</th><th scope="col">Status</th><th scope="col">Enabled</th><th scope="col">Last sync</th><th scope="col">Last success</th><th scope="col">Last error</th><th scope="col">Transient failures</th><th scope="col">Postponed until</th></tr></thead>
          <tbody>
            <DirectionRow name="Incoming" method={m.incomingMethod} d={m.incoming} />
            <DirectionRow name="Outgoing" method={m.outgoingMethod} d={m.outgoing} />
          </tbody>
        </table>
      </div>
      <h2>Recent emails <a class="more" href={`#/emails?mailboxId=${encodeURIComponent(id)}`}>all emails</a></h2>
      <ErrorBox error={emails.error} />
      {emails.data ? <EmailTable items={emails.data.items} /> : <Loading what="emails" />}
      <h2>Alerts <a class="more" href={`#/alerts?mailboxId=${encodeURIComponent(id)}`}>alerts wall</a>{" "}
        <a class="more" href={`#/alerts?ownerId=${encodeURIComponent(m.owner.id)}`}>all of this owner</a></h2>
      <ErrorBox error={alerts.error} />
      {alerts.data ? <AlertTable items={alerts.data.items} /> : <Loading what="alerts" />}
    </section>
  );
}
