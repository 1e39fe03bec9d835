/**
 * @module Parsing a fetched message with mailparser into what an activity needs. Parsing reads
 * the stored bytes; it never changes them (the raw blob is what /raw serves).
 */
import { simpleParser, type AddressObject, type ParsedMail } from "mailparser";
import { AppError } from "../../errors.js";
import type { Address } from "../../domain/email.js";

export interface ParsedMessage {
  messageId: string | null;
  inReplyTo: string | null;
  references: string[];
  date: Date | null;
  from: Address | null;
  to: Address[];
  cc: Address[];
  subject: string;
  textBody: string;
  htmlBody: string | null;
  attachments: { filename: string; contentType: string; size: number; content: Buffer }[];
}

function addresses(field: AddressObject | AddressObject[] | undefined): Address[] {
  const list = Array.isArray(field) ? field : field ? [field] : [];
  return list.flatMap((a) => a.value).flatMap(function flat(v): Address[] {
    if (v.group) return v.group.flatMap(flat);
    return v.address ? [{ address: v.address.toLowerCase(), name: v.name ?? "" }] : [];
  });
}

const ids = (value: string | string[] | undefined): string[] => (Array.isArray(value) ? value : value ? value.split(/\s+/) : []).filter((s) => s.length > 0);

export async function parseMessage(raw: Buffer): Promise<ParsedMessage> {
  let mail: ParsedMail;
  try {
    mail = await simpleParser(raw, { skipImageLinks: true, skipTextToHtml: true, keepCidLinks: true });
  } catch (err) {
    throw new AppError("MESSAGE_UNPARSABLE", "The message could not be parsed as RFC 5322 / MIME.", { cause: err });
  }
  // mailparser is lenient; bytes without any header are not a message.
  if (mail.headers.size === 0) throw new AppError("MESSAGE_UNPARSABLE", "The message has no header section.");
  const date = mail.date && !Number.isNaN(mail.date.getTime()) ? mail.date : null;
  return {
    messageId: mail.messageId ?? null,
    inReplyTo: ids(mail.inReplyTo)[0] ?? null,
    references: ids(mail.references),
    date,
    from: addresses(mail.from)[0] ?? null,
    to: addresses(mail.to),
    cc: addresses(mail.cc),
    subject: mail.subject ?? "",
    textBody: mail.text ?? "",
    htmlBody: typeof mail.html === "string" ? mail.html : null,
    attachments: mail.attachments.map((a) => ({
      filename: a.filename ?? "attachment",
      contentType: a.contentType,
      size: a.size,
      content: a.content,
    })),
  };
}

/** The Message-ID from the header section alone, for mail that is not parsed (too large, broken). */
export function headerMessageId(raw: Buffer): string | null {
  const end = raw.indexOf("\r\n\r\n");
  const head = raw.subarray(0, end < 0 ? Math.min(raw.length, 256 * 1024) : end).toString("latin1").replace(/\r\n[ \t]+/g, " ");
  const m = /^message-id:\s*(<[^>\s]+>)/im.exec(head);
  return m?.[1] ?? null;
}
