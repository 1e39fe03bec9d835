/**
 * @module Org email settings. The approval fields change only with the approver role (the API
 * refuses them with 403 otherwise): they are marked and disabled for an admin without it.
 * Saving sends only the fields that changed (PATCH with If-Match).
 */
import { useState } from "preact/hooks";
import { api, type Page } from "../api.js";
import type { OrgSettings, Profile } from "../types.js";
import { APPROVER_ONLY, ErrorBox, Field, isApprover, Loading, useApi, useMe } from "../ui.js";

type Flat = Record<string, string | boolean>;

function flatten(s: OrgSettings): Flat {
  return {
    defaultProfileId: s.defaultProfileId ?? "", defaultIncomingMethod: s.defaultIncomingMethod, defaultOutgoingMethod: s.defaultOutgoingMethod,
    processEmailOnlyForApprovedUsers: s.processEmailOnlyForApprovedUsers, processEmailOnlyForApprovedQueues: s.processEmailOnlyForApprovedQueues,
    useCorrelation: s.useCorrelation, "trackingToken.enabled": s.trackingToken.enabled, "trackingToken.prefix": s.trackingToken.prefix,
    "trackingToken.baseNumber": String(s.trackingToken.baseNumber), "trackingToken.userDigits": String(s.trackingToken.userDigits),
    "trackingToken.counterDigits": String(s.trackingToken.counterDigits), maxAttachmentSizeKb: String(s.maxAttachmentSizeKb),
    maxMessageSizeKb: String(s.maxMessageSizeKb), "alerts.error": s.alerts.error, "alerts.warning": s.alerts.warning,
    "alerts.information": s.alerts.information, "alerts.notifyMailboxOwner": s.alerts.notifyMailboxOwner,
  };
}

const NUMERIC = new Set(["trackingToken.baseNumber", "trackingToken.userDigits", "trackingToken.counterDigits", "maxAttachmentSizeKb", "maxMessageSizeKb"]);

/** The changed fields as a merge-patch body: `a.b` keys become nested objects. */
export function settingsPatch(before: Flat, after: Flat): Record<string, unknown> {
  const body: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(after)) {
    if (before[key] === value) continue;
    const v = NUMERIC.has(key) ? Number(value) : key === "defaultProfileId" ? (value || null) : value;
    const [head, tail] = key.split(".", 2) as [string, string | undefined];
    if (tail) body[head] = { ...(body[head] as Record<string, unknown> | undefined), [tail]: v };
    else body[head] = v;
  }
  return body;
}

function SettingsForm({ settings, profiles, onSaved }: { settings: OrgSettings; profiles: Profile[]; onSaved: () => void }) {
  const me = useMe();
  const approver = isApprover(me);
  const before = flatten(settings);
  const [f, setF] = useState(before);
  const [error, setError] = useState<unknown>();
  const text = (k: string) => (e: Event) => setF({ ...f, [k]: (e.currentTarget as HTMLInputElement).value });
  const check = (k: string) => (e: Event) => setF({ ...f, [k]: (e.currentTarget as HTMLInputElement).checked });
  const box = (k: string, label: string, approverOnly = false) => (
    <label class="check">
      <input type="checkbox" checked={f[k] === true} onChange={check(k)} disabled={approverOnly && !approver}
        title={approverOnly && !approver ? APPROVER_ONLY : undefined} /> {label}
      {approverOnly && <span class="tag" title={APPROVER_ONLY}>approver only</span>}
    </label>
  );
  const submit = async (e: Event): Promise<void> => {
    e.preventDefault();
    setError(undefined);
    try {
      const body = settingsPatch(before, f);
      if (Object.keys(body).length > 0) await api("PATCH", "settings", { body, ifMatch: settings.etag });
      onSaved();
    } catch (err) {
      setError(err);
    }
  };
  return (
    <form aria-label="Org email settings" onSubmit={(e) => void submit(e)}>
      <fieldset><legend>Defaults for new mailboxes</legend>
        <div class="grid-form">
          <Field label="Default profile">
            <select value={String(f.defaultProfileId)} onChange={text("defaultProfileId")}><option value="">none</option>{profiles.map((p) => <option key={p.id} value={p.id}>{p.name}</option>)}</select>
          </Field>
          <Field label="Default incoming method"><select value={String(f.defaultIncomingMethod)} onChange={text("defaultIncomingMethod")}><option>none</option><option>serverSideSync</option><option>forwardMailbox</option></select></Field>
          <Field label="Default outgoing method"><select value={String(f.defaultOutgoingMethod)} onChange={text("defaultOutgoingMethod")}><option>none</option><option>serverSideSync</option></select></Field>
        </div>
      </fieldset>
      <fieldset><legend>Approval</legend>
        {box("processEmailOnlyForApprovedUsers", "Process email only for approved users", true)}
        {box("processEmailOnlyForApprovedQueues", "Process email only for approved queues", true)}
        {!approver && <p class="hint">These two need the approver role (the master key, or the Email.Approver app role).</p>}
      </fieldset>
      <fieldset><legend>Correlation and tracking tokens</legend>
        {box("useCorrelation", "Use correlation")}
        {box("trackingToken.enabled", "Tracking tokens")}
        <div class="grid-form">
          <Field label="Token prefix"><input value={String(f["trackingToken.prefix"])} onInput={text("trackingToken.prefix")} /></Field>
          <Field label="Base number"><input inputMode="numeric" value={String(f["trackingToken.baseNumber"])} onInput={text("trackingToken.baseNumber")} /></Field>
          <Field label="User digits"><input inputMode="numeric" value={String(f["trackingToken.userDigits"])} onInput={text("trackingToken.userDigits")} /></Field>
          <Field label="Counter digits"><input inputMode="numeric" value={String(f["trackingToken.counterDigits"])} onInput={text("trackingToken.counterDigits")} /></Field>
        </div>
      </fieldset>
      <fieldset><legend>Limits</legend>
        <div class="grid-form">
          <Field label="Max attachment size (KB)"><input inputMode="numeric" value={String(f.maxAttachmentSizeKb)} onInput={text("maxAttachmentSizeKb")} /></Field>
          <Field label="Max message size (KB)"><input inputMode="numeric" value={String(f.maxMessageSizeKb)} onInput={text("maxMessageSizeKb")} /></Field>
        </div>
      </fieldset>
      <fieldset><legend>Alerts</legend>
        {box("alerts.error", "Store error alerts")}
        {box("alerts.warning", "Store warning alerts")}
        {box("alerts.information", "Store information alerts")}
        {box("alerts.notifyMailboxOwner", "Notify the mailbox owner")}
      </fieldset>
      <ErrorBox error={error} />
      <button type="submit">Save settings</button>
    </form>
  );
}

export function SettingsPage() {
  const settings = useApi<OrgSettings>("settings");
  const profiles = useApi<Page<Profile>>("profiles?top=1000");
  const [savedAt, setSavedAt] = useState<string>();
  return (
    <section aria-labelledby="settings-title">
      <h1 id="settings-title">Org email settings</h1>
      <ErrorBox error={settings.error ?? profiles.error} />
      {savedAt && <p role="status" class="ok-text">Saved at {savedAt}.</p>}
      {settings.data && profiles.data
        ? <SettingsForm key={settings.data.etag} settings={settings.data} profiles={profiles.data.items} onSaved={() => { setSavedAt(new Date().toLocaleTimeString()); settings.reload(); }} />
        : !settings.error && <Loading what="the settings" />}
    </section>
  );
}
