/**
 * @module Parsing a fetched message with mailparser into what an activity needs, cut to the
 * limits in shared/limits.ts (what was cut is listed in `truncated`). Parsing reads the stored
 * bytes; it never changes them (the raw blob is what /raw serves).
 */
import { simpleParser, type AddressObject, type ParsedMail, type SimpleParserOptions } from "mailparser";
import { AppError } from "../../errors.js";
import type { Address, Truncation } from "../../domain/email.js";
import {
  MAX_ADDRESS_CHARS, MAX_ATTACHMENTS_LISTED, MAX_CONTENT_TYPE_CHARS, MAX_DISPLAY_NAME_CHARS, MAX_FILENAME_CHARS,
  MAX_MIME_PARTS, MAX_PART_HEADER_BYTES, MAX_RECIPIENTS_PER_FIELD, MAX_REFERENCES, MAX_SUBJECT_CHARS,
} from "../../limits.js";
import { boundedMessageId, cleanBody, cleanLine, Cuts } from "./bounded.js";
import { receivedHeaderDate } from "./receivedTime.js";

export interface ParsedAttachment {
  filename: string;
  contentType: string;
  size: number;
  content: Buffer;
}

export interface ParsedMessage {
  messageId: string | null;
  inReplyTo: string | null;
  /** The newest MAX_REFERENCES, oldest first. */
  references: string[];
  date: Date | null;
  /** The date of the topmost readable Received field (receivedTime.ts), when there is one. */
  receivedAt: Date | null;
  from: Address | null;
  to: Address[];
  cc: Address[];
  subject: string;
  textBody: string;
  htmlBody: string | null;
  /** Every attachment (a forward mailbox needs the message/rfc822 one wherever it is). */
  attachments: ParsedAttachment[];
  truncated: Truncation[];
}

/** mailsplit's own limits, set explicitly so they are ours to name (shared/limits.ts). */
const PARSER_OPTIONS = {
  skipImageLinks: true, skipTextToHtml: true, keepCidLinks: true,
  maxChildNodes: MAX_MIME_PARTS, maxHeadSize: MAX_PART_HEADER_BYTES,
} as SimpleParserOptions;

function addresses(field: AddressObject | AddressObject[] | undefined): Address[] {
  const list = Array.isArray(field) ? field : field ? [field] : [];
  return list.flatMap((a) => a.value).flatMap(function flat(v): Address[] {
    if (v.group) return v.group.flatMap(flat);
    const address = v.address ? cleanLine(v.address).trim().toLowerCase() : "";
    // An address longer than any mailbox can have is not an address: it is left out.
    if (address === "" || address.length > MAX_ADDRESS_CHARS) return [];
    return [{ address, name: cleanLine(v.name ?? "").slice(0, MAX_DISPLAY_NAME_CHARS) }];
  });
}

const ids = (value: string | string[] | undefined): string[] =>
  (Array.isArray(value) ? value : value ? value.split(/\s+/) : [])
    .map((s) => boundedMessageId(s))
    .filter((s): s is string => s !== null);

async function parse(raw: Buffer): Promise<ParsedMail> {
  try {
    return await simpleParser(raw, PARSER_OPTIONS);
  } catch (err) {
    if ((err as { code?: unknown }).code === "EMAXLEN") {
      throw new AppError("MESSAGE_LIMIT_EXCEEDED",
        `The message is beyond a parser limit (${(err as Error).message}): at most ${MAX_MIME_PARTS} MIME parts and ${MAX_PART_HEADER_BYTES / 1024} KB of header per part.`, { cause: err });
    }
    throw new AppError("MESSAGE_UNPARSABLE", "The message could not be parsed as RFC 5322 / MIME.", { cause: err });
  }
}

export async function parseMessage(raw: Buffer): Promise<ParsedMessage> {
  const mail = await parse(raw);
  // mailparser is lenient; bytes without any header are not a message.
  if (mail.headers.size === 0) throw new AppError("MESSAGE_UNPARSABLE", "The message has no header section.");
  const cut = new Cuts();
  const date = mail.date && !Number.isNaN(mail.date.getTime()) ? mail.date : null;
  const attachments = mail.attachments.map((a) => ({
    filename: cleanLine(a.filename ?? "attachment").slice(0, MAX_FILENAME_CHARS) || "attachment",
    contentType: cleanLine(a.contentType).slice(0, MAX_CONTENT_TYPE_CHARS),
    size: a.size,
    content: a.content,
  }));
  // Listed on the activity up to the limit; counted in `truncated` beyond it.
  cut.items("attachments", attachments, MAX_ATTACHMENTS_LISTED);
  return {
    messageId: boundedMessageId(mail.messageId),
    inReplyTo: ids(mail.inReplyTo)[0] ?? null,
    references: cut.items("references", ids(mail.references), MAX_REFERENCES, "last"),
    date,
    receivedAt: receivedHeaderDate(mail.headerLines),
    from: addresses(mail.from)[0] ?? null,
    to: cut.items("to", addresses(mail.to), MAX_RECIPIENTS_PER_FIELD),
    cc: cut.items("cc", addresses(mail.cc), MAX_RECIPIENTS_PER_FIELD),
    subject: cut.text("subject", cleanLine(mail.subject ?? ""), MAX_SUBJECT_CHARS),
    textBody: cleanBody(mail.text ?? ""),
    htmlBody: typeof mail.html === "string" ? cleanBody(mail.html) : null,
    attachments,
    truncated: cut.list,
  };
}

/** The Message-ID from the header section alone, for mail that is not parsed (too large, broken). */
export function headerMessageId(head: Buffer): string | null {
  const end = head.indexOf("\r\n\r\n");
  const text = head.subarray(0, end < 0 ? Math.min(head.length, 256 * 1024) : Math.min(end, 1024 * 1024)).toString("latin1").replace(/\r?\n[ \t]+/g, " ");
  const m = /^message-id:[ \t]*(<[^>\r\n]*>)/im.exec(text);
  return boundedMessageId(m?.[1]);
}
