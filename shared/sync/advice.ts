/**
 * @module What the admin should do about each error code: the second half of every alert.
 * docs/errors.md is the readable table of the same policy.
 */
import type { ErrorCode } from "../errors.js";

const ADVICE: Partial<Record<ErrorCode, string>> = {
  AUTH_FAILED: "Check the user name and password of the mailbox (or of the profile when it holds the credentials; for XOAUTH2, the profile's OAuth client, its secret and the app's mailbox permissions), then run Test & Enable.",
  AUTH_MECHANISM_UNSUPPORTED: "Choose an authentication protocol the server supports in the profile, then run Test & Enable.",
  CREDENTIALS_MISSING: "Set credentials on the mailbox (or on the profile when it authenticates with profile credentials), then run Test & Enable.",
  TLS_CERTIFICATE_UNTRUSTED: "Renew or fix the server's certificate (or, for a test server only, allow untrusted certificates in the profile), then run Test & Enable.",
  TLS_HANDSHAKE_FAILED: "Check the profile's SSL setting and port against the server, then run Test & Enable.",
  TLS_REQUIRED: "The server does not offer STLS/STARTTLS: use SSL in the profile, or allow credentials over insecure channels if you accept the risk, then run Test & Enable.",
  NETWORK_UNREACHABLE: "Check the server's host name and port in the profile and that the server is up; the sync retries automatically.",
  CONNECTION_TIMEOUT: "The server did not answer in time; the sync retries automatically. Check the server if this persists.",
  CONNECTION_LOST: "The server closed the connection; the sync retries automatically.",
  SERVER_BUSY: "The server reported it is busy or the mailbox is in use; the sync retries automatically.",
  SERVER_ERROR: "The server reported a permanent error; check the mailbox on the server, then run Test & Enable.",
  PROTOCOL_ERROR: "The server answered unexpectedly; the sync retries automatically. Check that the profile points at a POP3/SMTP server.",
  PROTOCOL_LIMIT_EXCEEDED: "The server sent more than allowed in one reply; the sync retries automatically.",
  SMTP_TRANSIENT_FAILURE: "The SMTP server refused temporarily; sending is retried automatically.",
  SMTP_PERMANENT_FAILURE: "The SMTP server refused the message; check the sender address and the server's relay rules.",
  SMTP_RECIPIENT_REJECTED: "The SMTP server refused a recipient; correct the address and send again.",
  SEND_OUTCOME_UNKNOWN: "The message may have been delivered; it is not sent again. Check with the recipients and send it anew if needed.",
  MESSAGE_UNPARSABLE: "The raw message is kept (GET /api/emails/{id}/raw); no action is needed for the other messages.",
  MESSAGE_TOO_LARGE: "The raw message is kept; raise maxMessageSizeKb in /api/settings if such messages should be processed.",
  ATTACHMENT_TOO_LARGE: "The attachment was left out of the activity; raise maxAttachmentSizeKb in /api/settings if needed.",
  FORWARD_NO_MATCH: "No user or queue mailbox has the original recipient's address; create one or correct the forwarding rule.",
  STORAGE_UNAVAILABLE: "Storage did not answer; the sync retries automatically.",
  SECRET_STORE_UNAVAILABLE: "The secret store (Key Vault) did not answer or refused access; check the app identity's role on the vault. The sync retries automatically.",
  SECRET_NOT_FOUND: "The stored password is missing; set the password again, then run Test & Enable.",
  DELEGATION_UNSUPPORTED: "The profile's delegation mode cannot work with this server or mailbox login; change incoming.delegation or incoming.delegationSeparator in the profile (docs/delegation.md), then run Test & Enable.",
  MAILBOX_NOT_APPROVED: "Approve the mailbox's email address (POST /api/mailboxes/{id}/approve) so its mail is processed.",
};

export function adviceFor(code: string): string {
  return ADVICE[code as ErrorCode] ?? "See docs/errors.md for this error code.";
}
