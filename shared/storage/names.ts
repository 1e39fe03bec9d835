/**
 * @module Every table, queue and blob container the app uses, in one place. Start-up creates them
 * when missing (ensureStorage), infra/ declares them, and a test keeps the two lists in step.
 */
export const TABLES = {
  settings: "settings",
  profiles: "profiles",
  mailboxes: "mailboxes",
  contacts: "contacts",
  alerts: "alerts",
  jobs: "jobs",
  secrets: "secrets",
  emails: "emails",
  /** Due index, leases and connection slots: coordination state shared across instances. */
  coordination: "coordination",
} as const;

export const QUEUES = {
  incoming: "mailbox-incoming",
  outgoing: "mailbox-outgoing",
  test: "mailbox-test",
} as const;

/** The Functions host moves a message that failed maxDequeueCount times here. */
export const poisonQueue = (queue: string): string => `${queue}-poison`;

export const CONTAINERS = {
  /** Raw RFC 5322 bytes of every message fetched or sent. */
  rawMessages: "raw-messages",
} as const;

export const ALL_TABLES: string[] = Object.values(TABLES);
export const ALL_QUEUES: string[] = Object.values(QUEUES).flatMap((q) => [q, poisonQueue(q)]);
export const ALL_CONTAINERS: string[] = Object.values(CONTAINERS);
