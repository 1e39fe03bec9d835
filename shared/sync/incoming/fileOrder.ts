/**
 * @module Arrival order where it matters, while messages are processed several at a time
 * (pollMailbox.ts pipelining). A message is filed only after every earlier message of the same
 * run that it may correlate with: one it names in In-Reply-To or References, one with the same
 * normalized subject when it presents as a reply (smart matching), or another copy with the same
 * Message-ID. So a backlog holding a thread files it exactly as one message at a time would,
 * and unrelated messages do not wait for each other.
 */
import { normalizeSubject } from "../../domain/email.js";
import type { ParsedMessage } from "./parse.js";
import { presentsAsReply } from "./correlate.js";

interface Keys {
  messageId: string | null;
  normalizedSubject: string;
}

interface Entry {
  keys: Promise<Keys | null>;
  filed: Promise<void>;
}

export interface FileTicket {
  /** Called once the message is parsed: waits for the earlier messages it depends on (true if any). */
  ready(parsed: ParsedMessage): Promise<boolean>;
  /** The message is filed (or will never be): later ones stop waiting for it. */
  done(): void;
}

function dependsOn(earlier: Keys, parsed: ParsedMessage, normalized: string): boolean {
  if (earlier.messageId !== null) {
    if (earlier.messageId === parsed.messageId || earlier.messageId === parsed.inReplyTo || parsed.references.includes(earlier.messageId)) return true;
  }
  return normalized !== "" && earlier.normalizedSubject === normalized && presentsAsReply(parsed.subject, normalized);
}

export class FileOrder {
  private readonly entries: Entry[] = [];

  /** A ticket for the next message in arrival order. */
  enter(): FileTicket {
    const earlier = [...this.entries];
    let setKeys: (k: Keys | null) => void = () => {};
    let setFiled: () => void = () => {};
    const entry: Entry = {
      keys: new Promise((resolve) => { setKeys = resolve; }),
      filed: new Promise((resolve) => { setFiled = resolve; }),
    };
    this.entries.push(entry);
    return {
      ready: async (parsed) => {
        const normalized = normalizeSubject(parsed.subject);
        setKeys({ messageId: parsed.messageId, normalizedSubject: normalized });
        let waited = false;
        for (const e of earlier) {
          const keys = await e.keys;
          if (keys && dependsOn(keys, parsed, normalized)) {
            await e.filed;
            waited = true;
          }
        }
        return waited;
      },
      done: () => {
        setKeys(null); // no effect when it was parsed
        setFiled();
        // A filed message holds no one up: later tickets need not look at it.
        const i = this.entries.indexOf(entry);
        if (i >= 0) this.entries.splice(i, 1);
      },
    };
  }
}
