/**
 * @module Email activities: a list filtered by mailbox, direction and status, and one message with
 * its headers, text, attachments and raw download. Everything here came from a sender: text is
 * rendered as text, and an HTML body only inside a `sandbox=""` frame (no scripts, no same origin;
 * the page's CSP applies inside it too) or as its source, as text.
 */
import { useState } from "preact/hooks";
import { apiBytes, query, type Page } from "../api.js";
import { replaceParams } from "../router.js";
import type { Address, Email } from "../types.js";
import { Badge, ErrorBox, Field, Loading, Pager, Time, useApi, usePager } from "../ui.js";

const addr = (a: Address | null | undefined): string => (a ? (a.name ? `${a.name} <${a.address}>` : a.address) : "—");
const addrs = (list: Address[]): string => (list.length ? list.map(addr).join(", ") : "—");
const size = (n: number): string => (n < 1024 ? `${n} B` : n < 1024 * 1024 ? `${(n / 1024).toFixed(1)} KiB` : `${(n / 1024 / 1024).toFixed(1)} MiB`);

export function EmailTable({ items }: { items: Email[] }) {
  if (items.length === 0) return <p class="muted">No emails.</p>;
  return (
    <div class="table-wrap">
      <table class="grid">
        <thead><tr><th scope="col">When</th><th scope="col">Direction</th><th scope="col">Status</th><th scope="col">From</th><th scope="col">To</th><th scope="col">Subject</th><th scope="col">Size</th></tr></thead>
        <tbody>
          {items.map((e) => (
            <tr key={e.id}>
              <td><Time at={e.receivedAt ?? e.sentAt} /></td>
              <td>{e.direction}</td>
              <td><Badge value={e.status} /></td>
              <td class="wrap">{addr(e.from)}</td>
              <td class="wrap">{addrs(e.to)}</td>
              <td class="wrap"><a href={`#/emails/${encodeURIComponent(e.id)}`}>{e.subject || "(no subject)"}</a></td>
              <td class="nowrap">{size(e.sizeBytes)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

export function EmailsPage({ params }: { params: URLSearchParams }) {
  const initial = { mailboxId: params.get("mailboxId") ?? "", direction: params.get("direction") ?? "", status: params.get("status") ?? "" };
  const [form, setForm] = useState(initial);
  const [filters, setFilters] = useState(initial);
  const pager = usePager();
  const emails = useApi<Page<Email>>(`emails${query({ top: 50, ...filters, continuationToken: pager.token })}`);
  const set = (k: keyof typeof form) => (e: Event) => setForm({ ...form, [k]: (e.currentTarget as HTMLInputElement).value.trim() });
  return (
    <section aria-labelledby="emails-title">
      <h1 id="emails-title">Emails</h1>
      <form class="panel grid-form" aria-label="Email filters" onSubmit={(e) => { e.preventDefault(); setFilters(form); pager.reset(); replaceParams(["emails"], form); }}>
        <Field label="Mailbox id"><input value={form.mailboxId} onInput={set("mailboxId")} /></Field>
        <Field label="Direction"><select value={form.direction} onChange={set("direction")}><option value="">any</option><option>incoming</option><option>outgoing</option></select></Field>
        <Field label="Status">
          <select value={form.status} onChange={set("status")}>
            <option value="">any</option>
            {["received", "quarantined", "draft", "pendingSend", "sending", "sent", "failed", "canceled"].map((s) => <option key={s}>{s}</option>)}
          </select>
        </Field>
        <div class="actions"><button type="submit">Filter</button></div>
      </form>
      <ErrorBox error={emails.error} />
      {emails.loading && !emails.data ? <Loading what="emails" /> : <EmailTable items={emails.data?.items ?? []} />}
      <Pager pager={pager} nextToken={emails.data?.continuationToken} label="Email" />
    </section>
  );
}

/** The HTML body: in a frame that may run nothing and reach nothing, or as its source text. */
function HtmlBody({ html }: { html: string }) {
  const [asSource, setAsSource] = useState(false);
  return (
    <div>
      <label class="check"><input type="checkbox" checked={asSource} onChange={(e) => setAsSource(e.currentTarget.checked)} /> Show the HTML source as text</label>
      {asSource
        ? <pre class="body" data-testid="html-source">{html}</pre>
        : <iframe class="html-body" title="HTML body (sandboxed: no scripts)" sandbox="" referrerpolicy="no-referrer" srcdoc={html} />}
    </div>
  );
}

export function EmailPage({ id }: { id: string }) {
  const email = useApi<Email>(`emails/${encodeURIComponent(id)}`);
  const [downloadError, setDownloadError] = useState<unknown>();
  if (email.error) return <ErrorBox error={email.error} />;
  const e = email.data;
  if (!e) return <Loading what="the email" />;
  const download = async (): Promise<void> => {
    setDownloadError(undefined);
    try {
      const blob = await apiBytes(`emails/${encodeURIComponent(id)}/raw`);
      const url = URL.createObjectURL(new Blob([blob], { type: "message/rfc822" }));
      const a = document.createElement("a");
      a.href = url;
      a.download = `${e.id}.eml`;
      a.click();
      setTimeout(() => URL.revokeObjectURL(url), 10_000);
    } catch (err) {
      setDownloadError(err);
    }
  };
  return (
    <section aria-labelledby="email-title">
      <p><a href={`#/mailboxes/${encodeURIComponent(e.mailboxId)}`}>← Mailbox</a> · <a href="#/emails">Emails</a></p>
      <h1 id="email-title" data-testid="email-subject">{e.subject || "(no subject)"}</h1>
      <dl class="facts">
        <dt>From</dt><dd data-testid="email-from">{addr(e.from)}</dd>
        <dt>To</dt><dd>{addrs(e.to)}</dd>
        {e.cc.length > 0 && <><dt>Cc</dt><dd>{addrs(e.cc)}</dd></>}
        <dt>Direction, status</dt><dd>{e.direction}, <Badge value={e.status} />{e.error && <> <code>{e.error.code}</code> {e.error.message}</>}</dd>
        <dt>Received</dt><dd><Time at={e.receivedAt} /></dd>
        <dt>Sent</dt><dd><Time at={e.sentAt} /></dd>
        <dt>Message-ID</dt><dd><code>{e.messageId}</code></dd>
        {e.inReplyTo && <><dt>In-Reply-To</dt><dd><code>{e.inReplyTo}</code></dd></>}
        <dt>Correlation</dt><dd>{e.correlationMethod}{e.correlatedEmailId && <> → <a href={`#/emails/${encodeURIComponent(e.correlatedEmailId)}`}>correlated email</a></>}{e.trackingToken && <> (token <code>{e.trackingToken}</code>)</>}</dd>
        <dt>Size</dt><dd>{size(e.sizeBytes)}</dd>
      </dl>
      <div class="toolbar">
        <button type="button" onClick={() => void download()}>Download raw (.eml)</button>
      </div>
      <ErrorBox error={downloadError} />
      <h2>Attachments</h2>
      {e.attachments.length === 0 ? <p class="muted">None.</p> : (
        <ul>{e.attachments.map((a, i) => <li key={i}>{a.filename || "(unnamed)"} <span class="muted">({a.contentType}, {size(a.size)})</span></li>)}</ul>
      )}
      <h2>Text</h2>
      {e.textBody ? <pre class="body" data-testid="text-body">{e.textBody}</pre> : <p class="muted">No text part.</p>}
      {e.htmlBody !== null && <><h2>HTML</h2><HtmlBody html={e.htmlBody} /></>}
    </section>
  );
}
