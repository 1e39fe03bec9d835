/** @module The API's views as the console reads them (API.md; the OpenAPI document has them all). */

export type SyncStatus = "notRun" | "success" | "failure";
export interface ErrorSummary { code: string; message: string; transient: boolean; at?: string }
export interface DirectionState {
  status: SyncStatus; enabled: boolean; lastError: ErrorSummary | null; transientFailureCount: number;
  postponedUntil: string | null; lastSyncAt: string | null; lastSuccessfulSyncAt: string | null;
}
export interface Mailbox {
  id: string; etag: string; createdAt: string; updatedAt: string;
  owner: { type: "user" | "queue"; id: string; name?: string };
  emailAddress: string; profileId: string | null;
  incomingMethod: string; outgoingMethod: string; active: boolean; incomingFilter: string;
  isForwardMailbox: boolean; deleteEmailsAfterProcessing: boolean;
  credentials: { userName: string; hasPassword: boolean } | null;
  approval: "empty" | "pendingApproval" | "approved" | "rejected";
  stats: { received: number; sent: number; failed: number; skipped: number; quarantined: number };
  incoming: DirectionState; outgoing: DirectionState;
}
export interface Endpoint { host: string; port: number; useSsl: boolean; authProtocol: string }
export interface Profile {
  id: string; etag: string; name: string; description: string;
  owner: { type: "user" | "queue"; id: string; name?: string } | null;
  incoming: Endpoint & { delegation: string; delegationSeparator: string };
  outgoing: Endpoint;
  authenticateUsing: "mailboxCredentials" | "profileCredentials";
  credentials: { userName: string; hasPassword: boolean } | null;
  useSameSettingsForOutgoing: boolean;
  outgoingCredentials: { userName: string; hasPassword: boolean } | null;
  oauth: { tokenUrl: string; clientId: string; scope: string; hasClientSecret: boolean } | null;
  allowUntrustedCertificates: boolean; allowCredentialsOverInsecureChannels: boolean;
  processEmailFrom: string | null; minPollingIntervalMinutes: number; maxConcurrentConnections: number;
}
export interface Address { address: string; name?: string | null }
export interface Email {
  id: string; mailboxId: string; direction: "incoming" | "outgoing"; status: string;
  messageId: string; inReplyTo: string | null; references: string[]; conversationId: string;
  trackingToken: string | null; correlatedEmailId: string | null; correlationMethod: string;
  from: Address | null; to: Address[]; cc: Address[]; bcc: Address[];
  subject: string; textBody: string | null; htmlBody: string | null;
  attachments: { filename: string; contentType: string; size: number }[];
  sizeBytes: number; receivedAt: string | null; sentAt: string | null;
  error: ErrorSummary | null; attempts: number; nextAttemptAt: string | null; receivedByMailboxIds: string[];
}
export type AlertLevel = "error" | "warning" | "information";
export interface Alert {
  id: string; level: AlertLevel; code: string; message: string;
  mailboxId: string | null; profileId: string | null; emailId: string | null; at: string; count: number; lastAt: string;
}
export interface JobResult { mailboxId: string; outcome: "succeeded" | "failed" | "skipped"; incomingStatus: SyncStatus; outgoingStatus: SyncStatus; error: ErrorSummary | null }
export interface Job {
  id: string; kind: string; status: "queued" | "running" | "succeeded" | "failed"; total: number; done: number;
  results: JobResult[]; error: ErrorSummary | null;
}
export interface Me { roles: ("admin" | "approver")[]; via: "key" | "masterKey" | "easyAuth" }
export interface Operations {
  queues: { name: string; poison: boolean; approximateMessageCount: number | null }[];
  scheduler: { schedule: string; lastRun: { startedAt: string; finishedAt: string; durationMs: number; outcome: "succeeded" | "failed"; errorCode: string | null } | null };
  health: { status: "ok" | "unhealthy"; checks: Record<"tables" | "queues" | "blobs" | "secrets", "ok" | "failed"> };
}
export interface OrgSettings {
  etag: string;
  defaultProfileId: string | null; defaultIncomingMethod: string; defaultOutgoingMethod: string;
  processEmailOnlyForApprovedUsers: boolean; processEmailOnlyForApprovedQueues: boolean; useCorrelation: boolean;
  trackingToken: { enabled: boolean; prefix: string; baseNumber: number; userDigits: number; counterDigits: number };
  maxAttachmentSizeKb: number; maxMessageSizeKb: number;
  alerts: { error: boolean; warning: boolean; information: boolean; notifyMailboxOwner: boolean };
}
