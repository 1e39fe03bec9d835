/**
 * @module The document tables of the admin model, with their indexes and unique keys.
 */
import type { StorageClients } from "./clients.js";
import { DocumentTable } from "./documentTable.js";
import { TABLES } from "./names.js";
import type { Profile } from "../domain/profile.js";
import type { Mailbox } from "../domain/mailbox.js";
import { upgradeMailbox } from "../domain/mailboxUpgrade.js";
import { mailboxIndexFields } from "./mailboxIndex.js";
import type { Contact } from "../domain/contact.js";

export interface Repositories {
  profiles: DocumentTable<Profile>;
  mailboxes: DocumentTable<Mailbox>;
  contacts: DocumentTable<Contact>;
}

export function createRepositories(clients: StorageClients): Repositories {
  return {
    profiles: new DocumentTable<Profile>(clients.table(TABLES.profiles), {
      partition: "profile",
      noun: "Profile",
      uniqueKeys: (p) => [{ key: `name:${p.name.toLowerCase()}`, conflictMessage: `A profile named "${p.name}" already exists.` }],
    }),
    mailboxes: new DocumentTable<Mailbox>(clients.table(TABLES.mailboxes), {
      partition: "mailbox",
      noun: "Mailbox",
      upgrade: upgradeMailbox,
      indexFields: mailboxIndexFields,
      uniqueKeys: (m) => [
        { key: `address:${m.emailAddress}`, conflictMessage: `A mailbox with the address ${m.emailAddress} already exists.` },
        { key: `owner:${m.owner.type}:${m.owner.id}`, conflictMessage: `The ${m.owner.type} ${m.owner.id} already has a mailbox (one mailbox per owner).` },
      ],
      lookupKeys: (m) => (m.profileId ? [`profile:${m.profileId}`] : []),
    }),
    contacts: new DocumentTable<Contact>(clients.table(TABLES.contacts), {
      partition: "contact",
      noun: "Contact",
      indexFields: (c) => ({ type: c.type }),
      lookupKeys: (c) => [`address:${c.emailAddress}`],
    }),
  };
}
