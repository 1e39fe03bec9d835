/**
 * @module Email server profiles: the list, create and edit. Secrets are write-only: the form shows
 * whether one is set, never a value (the API never returns one), and an empty secret field keeps
 * the stored secret. An edit sends only the fields that changed, with If-Match.
 */
import { useState } from "preact/hooks";
import { api, type Page } from "../api.js";
import type { Profile } from "../types.js";
import { ErrorBox, Field, JobProgress, Loading, ownerLabel, useApi } from "../ui.js";

export function ProfilesPage() {
  const profiles = useApi<Page<Profile>>("profiles?top=1000");
  return (
    <section aria-labelledby="profiles-title">
      <h1 id="profiles-title">Email server profiles</h1>
      <p><a class="button" href="#/profiles/new">New profile</a></p>
      <ErrorBox error={profiles.error} />
      {!profiles.data ? <Loading what="profiles" /> : (
        <div class="table-wrap">
          <table class="grid">
            <thead><tr><th scope="col">Name</th><th scope="col">Incoming (POP3)</th><th scope="col">Outgoing (SMTP)</th><th scope="col">Log in with</th><th scope="col">Owner</th></tr></thead>
            <tbody>
              {profiles.data.items.length === 0 && <tr><td colSpan={5} class="muted">No profiles yet.</td></tr>}
              {profiles.data.items.map((p) => (
                <tr key={p.id}>
                  <td><a href={`#/profiles/${encodeURIComponent(p.id)}`}>{p.name}</a></td>
                  <td>{p.incoming.host}:{p.incoming.port} {p.incoming.useSsl ? "SSL" : "STLS"} ({p.incoming.authProtocol})</td>
                  <td>{p.outgoing.host}:{p.outgoing.port} {p.outgoing.useSsl ? "SSL" : "STARTTLS"} ({p.outgoing.authProtocol})</td>
                  <td>{p.authenticateUsing === "profileCredentials" ? `profile account ${p.credentials?.userName ?? ""}` : "each mailbox's credentials"}</td>
                  <td>{ownerLabel(p.owner)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}

interface Form {
  name: string; description: string; ownerType: string; ownerId: string; ownerName: string;
  inHost: string; inPort: string; inSsl: boolean; inAuth: string;
  outHost: string; outPort: string; outSsl: boolean; outAuth: string;
  authenticateUsing: string; credUser: string; credPassword: string;
  useSame: boolean; outCredUser: string; outCredPassword: string;
  tokenUrl: string; clientId: string; scope: string; clientSecret: string;
  allowUntrusted: boolean; allowInsecure: boolean; processEmailFrom: string; minPoll: string; maxConn: string;
}

function formOf(p: Profile | undefined): Form {
  return {
    name: p?.name ?? "", description: p?.description ?? "", ownerType: p?.owner?.type ?? "user", ownerId: p?.owner?.id ?? "", ownerName: p?.owner?.name ?? "",
    inHost: p?.incoming.host ?? "", inPort: p ? String(p.incoming.port) : "", inSsl: p?.incoming.useSsl ?? true, inAuth: p?.incoming.authProtocol ?? "auto",
    outHost: p?.outgoing.host ?? "", outPort: p ? String(p.outgoing.port) : "", outSsl: p?.outgoing.useSsl ?? true, outAuth: p?.outgoing.authProtocol ?? "auto",
    authenticateUsing: p?.authenticateUsing ?? "mailboxCredentials", credUser: p?.credentials?.userName ?? "", credPassword: "",
    useSame: p?.useSameSettingsForOutgoing ?? true, outCredUser: p?.outgoingCredentials?.userName ?? "", outCredPassword: "",
    tokenUrl: p?.oauth?.tokenUrl ?? "", clientId: p?.oauth?.clientId ?? "", scope: p?.oauth?.scope ?? "", clientSecret: "",
    allowUntrusted: p?.allowUntrustedCertificates ?? false, allowInsecure: p?.allowCredentialsOverInsecureChannels ?? false,
    processEmailFrom: p?.processEmailFrom ?? "", minPoll: p ? String(p.minPollingIntervalMinutes) : "5", maxConn: p ? String(p.maxConcurrentConnections) : "10",
  };
}

const num = (s: string): number | undefined => (s.trim() === "" ? undefined : Number(s));
const changed = <T,>(before: T, after: T): boolean => before !== after;

/** The request body: everything for a create; for an edit only what differs from the stored profile. */
export function profileBody(f: Form, before: Form | undefined): Record<string, unknown> {
  const b: Record<string, unknown> = {};
  const put = (key: string, value: unknown, was: unknown): void => { if (!before || value !== was) b[key] = value; };
  put("name", f.name.trim(), before?.name);
  put("description", f.description, before?.description);
  if (!before || f.ownerId !== before.ownerId || f.ownerType !== before.ownerType || f.ownerName !== before.ownerName) {
    if (f.ownerId.trim()) b.owner = { type: f.ownerType, id: f.ownerId.trim(), ...(f.ownerName.trim() ? { name: f.ownerName.trim() } : {}) };
    else if (before) b.owner = null;
  }
  const endpoint = (host: string, port: string, ssl: boolean, auth: string, was?: [string, string, boolean, string]): Record<string, unknown> => {
    const e: Record<string, unknown> = {};
    if (!was || changed(host, was[0])) e.host = host.trim();
    if (num(port) !== undefined && (!was || changed(port, was[1]))) e.port = num(port);
    if (!was || changed(ssl, was[2])) e.useSsl = ssl;
    if (!was || changed(auth, was[3])) e.authProtocol = auth;
    return e;
  };
  const incoming = endpoint(f.inHost, f.inPort, f.inSsl, f.inAuth, before && [before.inHost, before.inPort, before.inSsl, before.inAuth]);
  const outgoing = endpoint(f.outHost, f.outPort, f.outSsl, f.outAuth, before && [before.outHost, before.outPort, before.outSsl, before.outAuth]);
  if (Object.keys(incoming).length > 0) b.incoming = incoming;
  if (Object.keys(outgoing).length > 0) b.outgoing = outgoing;
  put("authenticateUsing", f.authenticateUsing, before?.authenticateUsing);
  const creds = (user: string, password: string, wasUser: string | undefined): unknown => {
    if (user.trim() === "") return wasUser ? null : undefined;
    if (before && user === wasUser && password === "") return undefined;
    return { userName: user.trim(), ...(password ? { password } : {}) };
  };
  const c = creds(f.credUser, f.credPassword, before?.credUser);
  if (c !== undefined) b.credentials = c;
  put("useSameSettingsForOutgoing", f.useSame, before?.useSame);
  const oc = creds(f.outCredUser, f.outCredPassword, before?.outCredUser);
  if (oc !== undefined) b.outgoingCredentials = oc;
  const oauthChanged = !before || f.tokenUrl !== before.tokenUrl || f.clientId !== before.clientId || f.scope !== before.scope || f.clientSecret !== "";
  if (oauthChanged && f.tokenUrl.trim()) b.oauth = { tokenUrl: f.tokenUrl.trim(), clientId: f.clientId.trim(), scope: f.scope.trim(), ...(f.clientSecret ? { clientSecret: f.clientSecret } : {}) };
  else if (before?.tokenUrl && !f.tokenUrl.trim()) b.oauth = null;
  put("allowUntrustedCertificates", f.allowUntrusted, before?.allowUntrusted);
  put("allowCredentialsOverInsecureChannels", f.allowInsecure, before?.allowInsecure);
  if (!before || f.processEmailFrom !== before.processEmailFrom) b.processEmailFrom = f.processEmailFrom.trim() || null;
  if (!before || f.minPoll !== before.minPoll) b.minPollingIntervalMinutes = num(f.minPoll);
  if (!before || f.maxConn !== before.maxConn) b.maxConcurrentConnections = num(f.maxConn);
  return b;
}

/** A write-only secret: says whether one is stored, takes a new one, never shows one. */
function SecretField({ label, isSet, value, onInput }: { label: string; isSet: boolean; value: string; onInput: (v: string) => void }) {
  return (
    <Field label={label} hint={<span class="secret-state" data-secret-state={isSet ? "set" : "not set"}>({isSet ? "set" : "not set"})</span>}>
      <input type="password" autoComplete="new-password" value={value} placeholder={isSet ? "set: leave empty to keep" : "not set"}
        onInput={(e) => onInput(e.currentTarget.value)} />
    </Field>
  );
}

/** One direction's server: host, port, SSL and authentication, bound to the form's in* or out* fields. */
function EndpointFields({ f, setF, side, title, name, ports, auths }: {
  f: Form; setF: (f: Form) => void; side: "in" | "out"; title: string; name: string; ports: string; auths: string[];
}) {
  const host = `${side}Host` as const, port = `${side}Port` as const, ssl = `${side}Ssl` as const, auth = `${side}Auth` as const;
  return (
    <fieldset><legend>{title}</legend>
      <div class="grid-form">
        <Field label={`${name} host`}><input required value={f[host]} onInput={(e) => setF({ ...f, [host]: e.currentTarget.value })} /></Field>
        <Field label={`${name} port`} hint={`(empty: ${ports})`}><input inputMode="numeric" value={f[port]} onInput={(e) => setF({ ...f, [port]: e.currentTarget.value })} /></Field>
        <label class="check"><input type="checkbox" checked={f[ssl]} onChange={(e) => setF({ ...f, [ssl]: e.currentTarget.checked })} /> {name} uses SSL</label>
        <Field label={`${name} authentication`}>
          <select value={f[auth]} onChange={(e) => setF({ ...f, [auth]: e.currentTarget.value })}>{auths.map((v) => <option key={v}>{v}</option>)}</select>
        </Field>
      </div>
    </fieldset>
  );
}

function ProfileForm({ profile, onSaved }: { profile: Profile | undefined; onSaved: (p: Profile) => void }) {
  const [f, setF] = useState(() => formOf(profile));
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  const text = (k: keyof Form) => (e: Event) => setF({ ...f, [k]: (e.currentTarget as HTMLInputElement).value });
  const check = (k: keyof Form) => (e: Event) => setF({ ...f, [k]: (e.currentTarget as HTMLInputElement).checked });
  const submit = async (e: Event): Promise<void> => {
    e.preventDefault();
    setError(undefined);
    setBusy(true);
    try {
      const body = profileBody(f, profile && formOf(profile));
      const result = profile
        ? await api<Profile>("PATCH", `profiles/${encodeURIComponent(profile.id)}`, { body, ifMatch: profile.etag })
        : await api<Profile>("POST", "profiles", { body });
      setF(formOf(result));
      onSaved(result);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  return (
    <form class="profile-form" aria-label="Profile" onSubmit={(e) => void submit(e)}>
      <fieldset><legend>Profile</legend>
        <div class="grid-form">
          <Field label="Name"><input required maxLength={100} value={f.name} onInput={text("name")} /></Field>
          <Field label="Description"><input value={f.description} onInput={text("description")} /></Field>
          <Field label="Owner type"><select value={f.ownerType} onChange={text("ownerType")}><option>user</option><option>queue</option></select></Field>
          <Field label="Owner id" hint="(receives the profile's alerts)"><input value={f.ownerId} onInput={text("ownerId")} /></Field>
          <Field label="Owner name"><input value={f.ownerName} onInput={text("ownerName")} /></Field>
        </div>
      </fieldset>
      <EndpointFields f={f} setF={setF} side="in" title="Incoming (POP3)" name="Incoming" ports="995 with SSL, 110 without" auths={["auto", "user", "apop", "saslPlain", "xoauth2"]} />
      <EndpointFields f={f} setF={setF} side="out" title="Outgoing (SMTP)" name="Outgoing" ports="465 with SSL, 587 without" auths={["auto", "plain", "login", "xoauth2"]} />
      <fieldset><legend>Logging in</legend>
        <div class="grid-form">
          <Field label="Authenticate using"><select value={f.authenticateUsing} onChange={text("authenticateUsing")}><option value="mailboxCredentials">each mailbox's credentials</option><option value="profileCredentials">the profile's credentials</option></select></Field>
          <Field label="Profile user name"><input autoComplete="off" value={f.credUser} onInput={text("credUser")} /></Field>
          <SecretField label="Profile password" isSet={profile?.credentials?.hasPassword ?? false} value={f.credPassword} onInput={(v) => setF({ ...f, credPassword: v })} />
          <label class="check"><input type="checkbox" checked={f.useSame} onChange={check("useSame")} /> Same credentials for outgoing</label>
          <Field label="Outgoing user name"><input autoComplete="off" disabled={f.useSame} value={f.outCredUser} onInput={text("outCredUser")} /></Field>
          <SecretField label="Outgoing password" isSet={profile?.outgoingCredentials?.hasPassword ?? false} value={f.outCredPassword} onInput={(v) => setF({ ...f, outCredPassword: v })} />
          <Field label="OAuth token URL" hint="(XOAUTH2 only)"><input value={f.tokenUrl} onInput={text("tokenUrl")} /></Field>
          <Field label="OAuth client id"><input value={f.clientId} onInput={text("clientId")} /></Field>
          <Field label="OAuth scope"><input value={f.scope} onInput={text("scope")} /></Field>
          <SecretField label="OAuth client secret" isSet={profile?.oauth?.hasClientSecret ?? false} value={f.clientSecret} onInput={(v) => setF({ ...f, clientSecret: v })} />
        </div>
      </fieldset>
      <fieldset><legend>Policy</legend>
        <div class="grid-form">
          <label class="check"><input type="checkbox" checked={f.allowUntrusted} onChange={check("allowUntrusted")} /> Allow untrusted certificates</label>
          <label class="check"><input type="checkbox" checked={f.allowInsecure} onChange={check("allowInsecure")} /> Allow credentials over insecure channels</label>
          <Field label="Process email from" hint="(ISO time, empty: no cut-off)"><input value={f.processEmailFrom} onInput={text("processEmailFrom")} /></Field>
          <Field label="Minimum polling interval (minutes)"><input inputMode="numeric" value={f.minPoll} onInput={text("minPoll")} /></Field>
          <Field label="Maximum concurrent connections"><input inputMode="numeric" value={f.maxConn} onInput={text("maxConn")} /></Field>
        </div>
      </fieldset>
      <ErrorBox error={error} />
      <button type="submit" disabled={busy}>{profile ? "Save changes" : "Create profile"}</button>
    </form>
  );
}

export function ProfilePage({ id }: { id: string }) {
  const isNew = id === "new";
  const profile = useApi<Profile>(isNew ? null : `profiles/${encodeURIComponent(id)}`);
  const [jobId, setJobId] = useState<string>();
  const [error, setError] = useState<unknown>();
  const [saved, setSaved] = useState<string>();
  if (profile.error) return <ErrorBox error={profile.error} />;
  if (!isNew && !profile.data) return <Loading what="the profile" />;
  const testAll = async (): Promise<void> => {
    setError(undefined);
    try {
      setJobId((await api<{ jobId: string }>("POST", `profiles/${encodeURIComponent(id)}/test-and-enable`)).jobId);
    } catch (err) {
      setError(err);
    }
  };
  return (
    <section aria-labelledby="profile-title">
      <p><a href="#/profiles">← Profiles</a></p>
      <h1 id="profile-title">{isNew ? "New profile" : profile.data?.name}</h1>
      {!isNew && (
        <div class="toolbar">
          <button type="button" onClick={() => void testAll()}>Test &amp; Enable this profile's mailboxes</button>
          <a href={`#/alerts?profileId=${encodeURIComponent(id)}`}>Alerts of this profile</a>
        </div>
      )}
      <ErrorBox error={error} />
      {jobId && <JobProgress key={jobId} jobId={jobId} />}
      {saved && <p role="status" class="ok-text">Saved at {saved}.</p>}
      <ProfileForm key={profile.data?.etag ?? "new"} profile={profile.data}
        onSaved={(p) => { setSaved(new Date().toLocaleTimeString()); if (isNew) location.hash = `#/profiles/${encodeURIComponent(p.id)}`; else profile.reload(); }} />
    </section>
  );
}
