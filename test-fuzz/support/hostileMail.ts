/**
 * @module fast-check arbitraries for hostile RFC 5322 messages (DESIGN.md point 9: every byte of
 * mail is written by a stranger). An arbitrary yields a small printable *recipe* (kind, variant,
 * sizes, a few random bytes); `render(recipe, tag)` expands it to the message bytes. Recipes keep
 * counterexamples short enough to read after shrinking (a 250,000-char Subject prints as
 * `length: 250000`), and the tag makes every rendered message unique: it starts the Message-ID
 * when there is one, and is in an `X-Fuzz-Tag` header or the first line otherwise, so two
 * messages never share bytes or a Message-ID by accident.
 *
 * Big cases (2 MB lines, 250,000-char headers, 5,000 References) are rare through fc.oneof
 * weights, so 10,000 messages stay within minutes on a small machine.
 */
import fc from "fast-check";

export type Recipe =
  | { kind: "good"; subject: string; body: string; html: boolean; attachment: boolean }
  | { kind: "hugeSubject"; length: number; unit: string; folded: boolean }
  | { kind: "manyReferences"; count: number; idLength: number; inReplyTo: boolean }
  | { kind: "manyHeaders"; count: number; name: string; valueLength: number }
  | { kind: "messageId"; variant: string; length: number; noise: Uint8Array }
  | { kind: "inReplyTo"; variant: string; length: number; noise: Uint8Array }
  | { kind: "trackingToken"; digits: number; count: number; prefix: string }
  | { kind: "recipients"; field: string; count: number; addressLength: number; nameLength: number; noise: Uint8Array }
  | { kind: "attachments"; variant: string; count: number; filenameLength: number; size: number; noise: Uint8Array }
  | { kind: "rawBytes"; where: string; bytes: Uint8Array }
  | { kind: "framing"; variant: string; body: string }
  | { kind: "multipart"; variant: string; parts: number }
  | { kind: "deepMultipart"; depth: number; terminated: boolean }
  | { kind: "longLine"; where: string; length: number }
  | { kind: "transferGarbage"; encoding: string; contentType: string; bytes: Uint8Array; repeat: number }
  | { kind: "encodedWords"; variant: string; where: string; count: number; bytes: Uint8Array };

export type Kind = Recipe["kind"];

/** The message class a violation is reported under: the kind, plus its variant when it has one. */
export function classOf(r: Recipe): string {
  if ("variant" in r) return `${r.kind}/${r.variant}`;
  if (r.kind === "recipients") return `${r.kind}/${r.field}`;
  if (r.kind === "rawBytes" || r.kind === "longLine") return `${r.kind}/${r.where}`;
  if (r.kind === "transferGarbage") return `${r.kind}/${r.encoding}`;
  return r.kind;
}

/** Common sizes, and a rare big one. */
const sized = (common: [number, number], big: [number, number], bigWeight = 1, commonWeight = 20): fc.Arbitrary<number> =>
  fc.oneof({ arbitrary: fc.integer({ min: common[0], max: common[1] }), weight: commonWeight }, { arbitrary: fc.integer({ min: big[0], max: big[1] }), weight: bigWeight });
const noise = (maxLength = 24): fc.Arbitrary<Uint8Array> => fc.uint8Array({ maxLength });
const k = <K extends Kind>(kind: K): fc.Arbitrary<K> => fc.constant(kind);

export const recipeArbs: { [K in Kind]: fc.Arbitrary<Extract<Recipe, { kind: K }>> } = {
  good: fc.record({ kind: k("good"), subject: fc.string({ maxLength: 60 }), body: fc.string({ maxLength: 400, unit: "grapheme" }), html: fc.boolean(), attachment: fc.boolean() }),
  hugeSubject: fc.record({
    kind: k("hugeSubject"), length: sized([500, 20_000], [100_000, 250_000]),
    unit: fc.constantFrom("a", "ä€ ", "CRM:1 ", "=?utf-8?B?AAEC?= ", "<x@y> "), folded: fc.boolean(),
  }),
  manyReferences: fc.record({ kind: k("manyReferences"), count: sized([1, 100], [500, 5_000], 1, 40), idLength: fc.integer({ min: 1, max: 60 }), inReplyTo: fc.boolean() }),
  manyHeaders: fc.record({
    kind: k("manyHeaders"), count: sized([20, 400], [2_000, 5_000], 1, 10),
    name: fc.constantFrom("X-Spam", "Received", "Subject", "To", "Comments", "Content-Type", "In-Reply-To"), valueLength: fc.integer({ min: 0, max: 200 }),
  }),
  messageId: fc.record({
    kind: k("messageId"),
    variant: fc.constantFrom("long", "special", "control", "nul", "eightBit", "missing", "duplicated", "empty", "blank", "unbracketed", "several", "folded", "huge"),
    length: fc.integer({ min: 600, max: 3_000 }), noise: noise(),
  }),
  inReplyTo: fc.record({ kind: k("inReplyTo"), variant: fc.constantFrom("long", "special", "empty", "many", "huge"), length: fc.integer({ min: 100, max: 2_000 }), noise: noise() }),
  trackingToken: fc.record({ kind: k("trackingToken"), digits: sized([1, 40], [100, 20_000], 10, 10), count: fc.integer({ min: 1, max: 40 }), prefix: fc.constantFrom("CRM:", "crm:", "CRM: ") }),
  recipients: fc.record({
    kind: k("recipients"), field: fc.constantFrom("To", "Cc", "Bcc", "From", "Reply-To"), count: sized([1, 100], [1_000, 5_000], 1, 10),
    addressLength: sized([3, 40], [300, 5_000], 1, 6), nameLength: sized([0, 40], [300, 5_000], 1, 6), noise: noise(),
  }),
  attachments: fc.record({
    kind: k("attachments"), variant: fc.constantFrom("plain", "rfc2231", "encodedWord", "traversal", "nul", "noName"),
    count: sized([1, 10], [100, 500], 1, 10), filenameLength: sized([1, 60], [255, 5_000], 1, 5), size: fc.integer({ min: 0, max: 3_000 }), noise: noise(),
  }),
  rawBytes: fc.record({ kind: k("rawBytes"), where: fc.constantFrom("subject", "from", "headerName", "body", "everywhere"), bytes: fc.uint8Array({ minLength: 1, maxLength: 200 }) }),
  framing: fc.record({
    kind: k("framing"),
    variant: fc.constantFrom("noFinalCrlf", "bareLf", "bareCr", "mixedLineEnds", "noSeparator", "headersOnly", "noHeaders", "leadingBlankLine",
      "continuationFirst", "noMime", "mimeWithoutType", "multipartWithoutBoundary", "spaceBeforeColon", "onlyFolding"),
    body: fc.string({ maxLength: 200 }),
  }),
  multipart: fc.record({
    kind: k("multipart"),
    variant: fc.constantFrom("unterminated", "boundaryNeverAppears", "emptyBoundary", "hugeBoundary", "partsWithoutHeaders", "manyParts", "boundaryInPart", "preambleOnly"),
    parts: sized([1, 20], [500, 3_000], 1, 10),
  }),
  deepMultipart: fc.record({ kind: k("deepMultipart"), depth: sized([2, 30], [90, 120], 1, 3), terminated: fc.boolean() }),
  longLine: fc.record({ kind: k("longLine"), where: fc.constantFrom("body", "header", "base64Body"), length: sized([1_000, 100_000], [1_000_000, 2_100_000], 1, 20) }),
  transferGarbage: fc.record({
    kind: k("transferGarbage"), encoding: fc.constantFrom("base64", "quoted-printable", "x-uuencode", "7bit", "bogus"),
    contentType: fc.constantFrom("text/plain; charset=utf-8", "text/html; charset=x-unknown", "application/octet-stream", "image/png", "message/rfc822", "text/plain; charset=utf-16"),
    bytes: fc.uint8Array({ minLength: 1, maxLength: 120 }), repeat: sized([1, 50], [1_000, 10_000], 1, 20),
  }),
  encodedWords: fc.record({
    kind: k("encodedWords"), variant: fc.constantFrom("control", "loneSurrogate", "badUtf8", "unknownCharset", "malformed", "random"),
    where: fc.constantFrom("subject", "fromName", "filename"), count: sized([1, 20], [1_000, 5_000], 1, 20), bytes: fc.uint8Array({ minLength: 1, maxLength: 40 }),
  }),
};

/** Relative frequencies: ordinary mail is common, every hostile kind shows up hundreds of times. */
export const KIND_WEIGHTS: { [K in Kind]: number } = {
  good: 20, hugeSubject: 4, manyReferences: 5, manyHeaders: 4, messageId: 10, inReplyTo: 4, trackingToken: 5, recipients: 5,
  attachments: 6, rawBytes: 6, framing: 8, multipart: 6, deepMultipart: 3, longLine: 3, transferGarbage: 5, encodedWords: 6,
};

export const hostileRecipe: fc.Arbitrary<Recipe> = fc.oneof(
  ...(Object.keys(recipeArbs) as Kind[]).map((kind) => ({ arbitrary: recipeArbs[kind] as fc.Arbitrary<Recipe>, weight: KIND_WEIGHTS[kind] })),
);

// ---- rendering ----------------------------------------------------------------------------------

type Piece = string | Buffer | Uint8Array;
const CRLF = "\r\n";
/** Strings are latin1 (one char, one byte) unless they need UTF-8; bytes go through untouched. */
const wide = (s: string): boolean => { for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 0xff) return true; return false; };
const cat = (...pieces: Piece[]): Buffer => Buffer.concat(pieces.map((p) => (typeof p === "string" ? Buffer.from(p, wide(p) ? "utf8" : "latin1") : Buffer.from(p))));
const repeat = (unit: string, length: number): string => unit.repeat(Math.ceil(length / Math.max(unit.length, 1))).slice(0, length);
const printable = (bytes: Uint8Array): string => Buffer.from(bytes).toString("hex");
const b64 = (bytes: Piece): string => Buffer.from(typeof bytes === "string" ? Buffer.from(bytes, "latin1") : bytes).toString("base64");
const fold = (items: string[], sep: string): string => items.join(`${sep}${CRLF} `);

interface Head {
  messageId?: Piece | null;
  subject?: Piece;
  from?: Piece;
  to?: Piece;
  contentType?: Piece | null;
  extra?: Piece[];
}

/** A header section (ending with the empty line) with the tag in X-Fuzz-Tag; fields can be replaced or left out (null). */
function head(tag: string, h: Head = {}): Buffer {
  const line = (name: string, value: Piece | null | undefined, dflt: Piece): Piece[] => (value === null ? [] : [`${name}: `, value ?? dflt, CRLF]);
  return cat(
    ...line("Message-ID", h.messageId, `<${tag}@fuzz.test>`),
    "Date: Sun, 22 Nov 2026 10:00:00 +0000", CRLF,
    ...line("From", h.from, "Fuzz Sender <sender@fabrikam.test>"),
    ...line("To", h.to, "queue@contoso.test"),
    ...line("Subject", h.subject, `fuzz ${tag}`),
    `X-Fuzz-Tag: ${tag}`, CRLF,
    "MIME-Version: 1.0", CRLF,
    ...line("Content-Type", h.contentType, "text/plain; charset=utf-8"),
    ...(h.extra ?? []), CRLF,
  );
}

const attachmentPart = (boundary: string, filenameParam: Piece, content: Buffer): Buffer => cat(
  `--${boundary}`, CRLF, "Content-Type: application/octet-stream", CRLF, "Content-Transfer-Encoding: base64", CRLF,
  "Content-Disposition: attachment; ", filenameParam, CRLF, CRLF, fold(content.toString("base64").match(/.{1,76}/g) ?? [""], ""), CRLF,
);

function renderMultipart(tag: string, r: Extract<Recipe, { kind: "multipart" }>): Buffer {
  const boundary = r.variant === "emptyBoundary" ? "" : r.variant === "hugeBoundary" ? repeat("b", 5_000) : `b-${tag}`;
  const ct = `multipart/mixed; boundary="${boundary}"`;
  const part = (i: number): string => `--${boundary}${CRLF}Content-Type: text/plain${CRLF}${CRLF}part ${i} of ${tag}${CRLF}`;
  const parts = Array.from({ length: r.variant === "manyParts" ? r.parts : Math.min(r.parts, 20) }, (_, i) => part(i)).join("");
  switch (r.variant) {
    case "unterminated": return cat(head(tag, { contentType: ct }), parts, `--${boundary}${CRLF}Content-Type: text/plain${CRLF}${CRLF}never closed`);
    case "boundaryNeverAppears": return cat(head(tag, { contentType: ct }), `just text, no boundary ${tag}${CRLF}`);
    case "partsWithoutHeaders": return cat(head(tag, { contentType: ct }), Array.from({ length: r.parts }, () => `--${boundary}${CRLF}${CRLF}`).join(""), `--${boundary}--${CRLF}`);
    case "boundaryInPart": return cat(head(tag, { contentType: ct }), `--${boundary}${CRLF}Content-Type: multipart/mixed; boundary="${boundary}"${CRLF}${CRLF}${parts}--${boundary}--${CRLF}`);
    case "preambleOnly": return cat(head(tag, { contentType: ct }), `preamble ${tag}${CRLF}--${boundary}--${CRLF}epilogue${CRLF}`);
    default: return cat(head(tag, { contentType: ct }), parts, `--${boundary}--${CRLF}`);
  }
}

function renderDeep(tag: string, depth: number, terminated: boolean): Buffer {
  const open: string[] = [];
  const close: string[] = [];
  for (let i = 0; i < depth; i++) {
    open.push(`--d${i}${CRLF}Content-Type: multipart/mixed; boundary="d${i + 1}"${CRLF}${CRLF}`);
    if (terminated) close.unshift(`--d${i}--${CRLF}`);
  }
  return cat(head(tag, { contentType: `multipart/mixed; boundary="d0"` }), open.join(""), `--d${depth}${CRLF}Content-Type: text/plain${CRLF}${CRLF}deepest ${tag}${CRLF}`,
    terminated ? `--d${depth}--${CRLF}` : "", close.join(""));
}

function encodedWord(variant: string, bytes: Uint8Array, i: number): string {
  switch (variant) {
    case "control": return `=?utf-8?B?${b64(Buffer.from([...bytes].map((x) => x % 32)))}?=`;
    case "loneSurrogate": return i % 2 ? `=?utf-16be?B?${b64(Buffer.from([0xd8, 0x00 + (bytes[0] ?? 0) % 4, 0x00, 0x41]))}?=` : "=?utf-8?B?7aCA?=";
    case "badUtf8": return `=?utf-8?Q?${[...bytes].map((x) => `=${(x | 0x80).toString(16).toUpperCase()}`).join("")}?=`;
    case "unknownCharset": return `=?x-${printable(bytes.slice(0, 8))}?B?${b64(bytes)}?=`;
    case "malformed": return ["=?utf-8?B?", "=?utf-8?Q?=ZZ?=", "=?utf-8?B?####?=", "=??B??=", `=?utf-8*${printable(bytes)}?Q?a?=`][i % 5] ?? "=?";
    default: return `=?utf-8?B?${b64(bytes)}?=`;
  }
}

export function render(r: Recipe, tag: string): Buffer {
  switch (r.kind) {
    case "good": {
      const body = Buffer.from(`${r.body}\r\n-- ${tag}\r\n`, "utf8");
      if (!r.html && !r.attachment) return cat(head(tag, { subject: `=?utf-8?B?${b64(Buffer.from(r.subject, "utf8"))}?= ${tag}`, extra: ["Content-Transfer-Encoding: 8bit\r\n"] }), body);
      const boundary = `g-${tag}`;
      return cat(head(tag, { subject: `good ${tag}`, contentType: `multipart/mixed; boundary="${boundary}"` }),
        `--${boundary}${CRLF}Content-Type: text/plain; charset=utf-8${CRLF}Content-Transfer-Encoding: base64${CRLF}${CRLF}${b64(body)}${CRLF}`,
        r.html ? `--${boundary}${CRLF}Content-Type: text/html; charset=utf-8${CRLF}${CRLF}<p>${tag}</p>${CRLF}` : "",
        r.attachment ? attachmentPart(boundary, `filename="report-${tag}.pdf"`, Buffer.from(r.body, "utf8")) : "",
        `--${boundary}--${CRLF}`);
    }
    case "hugeSubject": {
      const text = repeat(r.unit, r.length);
      return cat(head(tag, { subject: r.folded ? fold(text.match(/.{1,70}/gs) ?? [""], "") : text }), `subject is ${r.length} chars${CRLF}`);
    }
    case "manyReferences": {
      const ids = Array.from({ length: r.count }, (_, i) => `<${tag}-r${i}-${repeat("x", r.idLength)}@fuzz.test>`);
      return cat(head(tag, { extra: [`References: ${fold(ids, "")}${CRLF}`, r.inReplyTo ? `In-Reply-To: ${ids.join(" ")}${CRLF}` : ""] }), `${r.count} references${CRLF}`);
    }
    case "manyHeaders": {
      const lines = Array.from({ length: r.count }, (_, i) => `${r.name}: ${i} ${repeat("v", r.valueLength)}${CRLF}`).join("");
      return cat(head(tag, { extra: [lines] }), `${r.count} x ${r.name}${CRLF}`);
    }
    case "messageId": {
      const n = Buffer.from(r.noise);
      const ids: Record<string, Piece[] | null> = {
        long: [`<${tag}${repeat("x", r.length)}@fuzz.test>`],
        special: [`<${tag}/..\\#?%&=+'"${printable(r.noise)}|*:@fuzz.test/a?b#c>`],
        control: [cat(`<${tag}\x01\x07\x1b\x7f`, Buffer.from(n.map((x) => x % 32)), "@fuzz.test>")],
        nul: [cat(`<${tag}\x00\x00`, n, "@fuzz\x00.test>")],
        eightBit: [cat(`<${tag}\xe9\xff\xc3\x28`, Buffer.from(n.map((x) => x | 0x80)), "@fuzz.test>")],
        missing: null,
        duplicated: [`<${tag}-a@fuzz.test>`, `<${tag}-b@fuzz.test>`],
        empty: ["<>"],
        blank: [""],
        unbracketed: [`${tag}@fuzz.test`],
        several: [`<${tag}-1@fuzz.test> <${tag}-2@fuzz.test> <${tag}-3@fuzz.test>`],
        folded: [`${CRLF} <${tag}@fuzz.test>${CRLF} `],
        huge: [`<${tag}${repeat("h", 100_000)}@fuzz.test>`],
      };
      const values = ids[r.variant] ?? null;
      const [first, ...rest] = values ?? [];
      return cat(head(tag, { messageId: first ?? null, extra: rest.map((v) => cat("Message-ID: ", v, CRLF)) }), `message-id variant ${r.variant}${CRLF}`);
    }
    case "inReplyTo": {
      const v: Record<string, string> = {
        long: `<${tag}-irt${repeat("y", r.length)}@fuzz.test>`,
        special: `<${tag}/\\#?${printable(r.noise)}@fuzz.test>`,
        empty: "<>",
        many: Array.from({ length: 200 }, (_, i) => `<${tag}-${i}@fuzz.test>`).join(" "),
        huge: `<${tag}${repeat("z", 200_000)}@fuzz.test>`,
      };
      return cat(head(tag, { extra: [`In-Reply-To: ${v[r.variant] ?? ""}${CRLF}`, `References: ${v[r.variant] ?? ""}${CRLF}`] }), `in-reply-to ${r.variant}${CRLF}`);
    }
    case "trackingToken": {
      const token = `${r.prefix}${repeat("1234567890", r.digits)}`;
      return cat(head(tag, { subject: `Re: ${Array.from({ length: r.count }, () => token).join(" ")} ${tag}` }), `token of ${r.digits} digits x ${r.count}${CRLF}`);
    }
    case "recipients": {
      const name = repeat(`N${printable(r.noise)}\u00e9"\\`, r.nameLength).replace(/["\\]/g, "");
      const list = Array.from({ length: r.count }, (_, i) => `"${name}" <${repeat("a", r.addressLength)}${i}@${tag}.fuzz.test>`);
      const field = r.field === "From" ? { from: fold(list, ",") } : r.field === "To" ? { to: fold(list, ",") } : { extra: [`${r.field}: ${fold(list, ",")}${CRLF}`] };
      return cat(head(tag, field), `${r.count} recipients in ${r.field}${CRLF}`);
    }
    case "attachments": {
      const base = repeat(`f${printable(r.noise)}`, r.filenameLength);
      const boundary = `a-${tag}`;
      const param = (i: number): Piece => {
        switch (r.variant) {
          case "rfc2231": return `filename*=utf-8''%00%2F..%2F${encodeURIComponent(base)}${i}`;
          case "encodedWord": return `filename="=?utf-8?B?${b64(Buffer.from(`\u0000\u202e${base}${i}`, "utf8"))}?="`;
          case "traversal": return `filename="../../..\\\\CON\\${base}${i}/..:*?<>|"`;
          case "nul": return cat('filename="', base, "\x00", String(i), '.exe"');
          case "noName": return "";
          default: return `filename="${base}${i}.txt"`;
        }
      };
      const content = Buffer.alloc(r.size, 0x41);
      return cat(head(tag, { contentType: `multipart/mixed; boundary="${boundary}"` }), `--${boundary}${CRLF}Content-Type: text/plain${CRLF}${CRLF}${r.count} attachments${CRLF}`,
        ...Array.from({ length: r.count }, (_, i) => attachmentPart(boundary, param(i), content)), `--${boundary}--${CRLF}`);
    }
    case "rawBytes": {
      const bytes = Buffer.from(r.bytes);
      const where = (w: string): boolean => r.where === w || r.where === "everywhere";
      return cat(head(tag, { subject: where("subject") ? cat(tag, " ", bytes) : undefined, from: where("from") ? cat(bytes, " <", bytes, "@x>") : undefined,
        extra: where("headerName") ? [cat("X-", bytes, ": v", CRLF)] : [] }), where("body") ? bytes : "body", CRLF);
    }
    case "framing": {
      const good = head(tag);
      const body = `${r.body} ${tag}`;
      switch (r.variant) {
        case "noFinalCrlf": return cat(good, body);
        case "bareLf": return Buffer.from(cat(good, body, CRLF).toString("latin1").replace(/\r\n/g, "\n"), "latin1");
        case "bareCr": return Buffer.from(cat(good, body, CRLF).toString("latin1").replace(/\r\n/g, "\r"), "latin1");
        case "mixedLineEnds": return Buffer.from(cat(good, body, CRLF).toString("latin1").replace(/\r\n/g, (_m, at: number) => ["\n", "\r", "\r\n", "\n\r"][at % 4] ?? ""), "latin1");
        case "noSeparator": return Buffer.concat([good.subarray(0, good.length - 2), cat(`${body}${CRLF}more${CRLF}`)]);
        case "headersOnly": return good.subarray(0, good.length - 2);
        case "noHeaders": return cat(`${tag} just some text, no header at all${CRLF}${body}${CRLF}`);
        case "leadingBlankLine": return cat(CRLF, good, body, CRLF);
        case "continuationFirst": return cat(` folded first ${tag}${CRLF}`, good, body, CRLF);
        case "noMime": return cat(`Subject: ${tag}${CRLF}${CRLF}--x${CRLF}Content-Type: text/html${CRLF}${CRLF}<b>${body}${CRLF}`);
        case "mimeWithoutType": return cat(head(tag, { contentType: null }), body, CRLF);
        case "multipartWithoutBoundary": return cat(head(tag, { contentType: "multipart/mixed" }), body, CRLF);
        case "spaceBeforeColon": return cat(`Subject : ${tag}${CRLF}From  :x${CRLF}: empty name${CRLF}NoColonAtAll${CRLF}${CRLF}${body}${CRLF}`);
        default: return cat(`Subject: ${tag}${CRLF}`, Array.from({ length: 500 }, () => ` ${CRLF}`).join(""), CRLF, body, CRLF);
      }
    }
    case "multipart": return renderMultipart(tag, r);
    case "deepMultipart": return renderDeep(tag, r.depth, r.terminated);
    case "longLine": {
      const line = repeat("L", r.length);
      if (r.where === "header") return cat(head(tag, { extra: [`X-Long: ${line}${CRLF}`] }), `long header${CRLF}`);
      if (r.where === "base64Body") return cat(head(tag, { extra: ["Content-Transfer-Encoding: base64\r\n"] }), b64(repeat("B", r.length)), CRLF);
      return cat(head(tag), line, CRLF);
    }
    case "transferGarbage": {
      const garbage = Buffer.concat(Array.from({ length: r.repeat }, () => Buffer.from(r.bytes)));
      return cat(head(tag, { contentType: r.contentType, extra: [`Content-Transfer-Encoding: ${r.encoding}${CRLF}`] }), garbage, CRLF);
    }
    case "encodedWords": {
      const words = Array.from({ length: r.count }, (_, i) => encodedWord(r.variant, r.bytes, i));
      const text = fold(words, "");
      if (r.where === "subject") return cat(head(tag, { subject: cat(text, ` ${tag}`) }), `encoded words${CRLF}`);
      if (r.where === "fromName") return cat(head(tag, { from: cat(text, " <sender@fabrikam.test>") }), `encoded words${CRLF}`);
      const boundary = `e-${tag}`;
      return cat(head(tag, { contentType: `multipart/mixed; boundary="${boundary}"` }), `--${boundary}${CRLF}Content-Type: text/plain${CRLF}${CRLF}x${CRLF}`,
        attachmentPart(boundary, cat('filename="', text, '"'), Buffer.from("data")), `--${boundary}--${CRLF}`);
    }
  }
}

/**
 * What /raw must return for a message the POP3 server holds as `bytes` (API.md): the server ends
 * a non-empty message that lacks a final CRLF with one before the terminating ".CRLF".
 */
export function expectedRaw(bytes: Buffer): Buffer {
  const endsWithCrlf = bytes.length >= 2 && bytes[bytes.length - 2] === 0x0d && bytes[bytes.length - 1] === 0x0a;
  return endsWithCrlf || bytes.length === 0 ? bytes : Buffer.concat([bytes, Buffer.from(CRLF)]);
}
