/**
 * @module The exact bytes of an outgoing message, built once with nodemailer's MailComposer and
 * stored before any attempt, so every attempt sends the same bytes and `/raw` shows them.
 */
import MailComposer from "nodemailer/lib/mail-composer";
import type { Address } from "../../domain/email.js";

export interface ComposeInput {
  messageId: string;
  date: Date;
  from: Address;
  to: string[];
  cc: string[];
  /** The full subject, tracking token included. */
  subject: string;
  text?: string | undefined;
  html?: string | undefined;
  inReplyTo: string | null;
  references: string[];
  attachments: { filename: string; contentType: string; content: Buffer }[];
}

/**
 * Every line break as CRLF and a final CRLF (RFC 5322 §2.1, RFC 5321 §4.1.1.4). nodemailer's DATA
 * stream rewrites bare CR and LF to CRLF on the wire, so the stored bytes must have none left,
 * or what the server receives would differ from what `/raw` returns. Latin-1 maps bytes 1:1.
 */
export function canonicalLineEnds(bytes: Buffer): Buffer {
  const text = bytes.toString("latin1").replace(/\r\n|\r|\n/g, "\r\n");
  return Buffer.from(text.endsWith("\r\n") ? text : `${text}\r\n`, "latin1");
}

export async function composeMessage(input: ComposeInput): Promise<Buffer> {
  const composer = new MailComposer({
    messageId: input.messageId,
    date: input.date,
    from: { name: input.from.name, address: input.from.address },
    to: input.to,
    ...(input.cc.length > 0 ? { cc: input.cc } : {}),
    // Bcc recipients are only in the envelope, never in the headers (RFC 5322 §3.6.3).
    subject: input.subject,
    ...(input.text !== undefined ? { text: input.text } : {}),
    ...(input.html !== undefined ? { html: input.html } : {}),
    ...(input.inReplyTo ? { inReplyTo: input.inReplyTo } : {}),
    ...(input.references.length > 0 ? { references: input.references } : {}),
    attachments: input.attachments.map((a) => ({ filename: a.filename, contentType: a.contentType, content: a.content })),
    newline: "windows",
    // Content comes only from the request: never let a value be read as a path or URL.
    disableFileAccess: true,
    disableUrlAccess: true,
  });
  const built = await new Promise<Buffer>((resolve, reject) => {
    composer.compile().build((err, message) => (err ? reject(err) : resolve(message)));
  });
  return canonicalLineEnds(built);
}
