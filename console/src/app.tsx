/**
 * @module The shell: sign-in (Easy Auth when the platform provides a principal, else a pasted key
 * kept in sessionStorage only), navigation, and the page for the current hash route.
 */
import { useEffect, useState } from "preact/hooks";
import { api, ApiFailure, keyStore, setUnauthorizedHandler } from "./api.js";
import { useRoute } from "./router.js";
import { ErrorBox, Loading, MeContext } from "./ui.js";
import type { Me } from "./types.js";
import { MailboxesPage } from "./pages/mailboxes.js";
import { MailboxPage } from "./pages/mailbox.js";
import { AlertsPage } from "./pages/alerts.js";
import { ProfilesPage, ProfilePage } from "./pages/profiles.js";
import { EmailsPage, EmailPage } from "./pages/emails.js";
import { SettingsPage } from "./pages/settings.js";
import { OperationsPage } from "./pages/operations.js";

const NAV: [string, string][] = [
  ["mailboxes", "Mailboxes"], ["alerts", "Alerts"], ["profiles", "Profiles"], ["emails", "Emails"], ["settings", "Org settings"], ["operations", "Operations"],
];

function SignIn({ onSignedIn, problem }: { onSignedIn: (me: Me) => void; problem: unknown }) {
  const [key, setKey] = useState("");
  const [error, setError] = useState<unknown>(problem);
  const [busy, setBusy] = useState(false);
  const submit = async (e: Event): Promise<void> => {
    e.preventDefault();
    setBusy(true);
    keyStore.set(key.trim());
    try {
      onSignedIn(await api<Me>("GET", "me"));
    } catch (err) {
      keyStore.clear();
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  return (
    <main id="main" class="signin">
      <h1>email-sync console</h1>
      <form onSubmit={(e) => void submit(e)}>
        <p>Sign in with an admin key (<code>API_KEY</code>, or the master key to approve). It is kept for this tab only (session storage) and sent to this app's API alone.</p>
        <label class="field">
          <span class="label">Admin key</span>
          <input type="password" name="key" autoComplete="off" required value={key} onInput={(e) => setKey(e.currentTarget.value)} />
        </label>
        <button type="submit" disabled={busy || key.trim() === ""}>Sign in</button>
        <ErrorBox error={error} />
      </form>
      <p class="muted">Behind App Service Authentication no key is needed: your Email.Admin and Email.Approver roles apply.</p>
    </main>
  );
}

function Page({ segments }: { segments: string[] }) {
  const route = useRoute();
  const [section = "mailboxes", id] = segments;
  switch (section) {
    case "mailboxes": return id ? <MailboxPage id={id} /> : <MailboxesPage params={route.params} />;
    case "alerts": return <AlertsPage params={route.params} />;
    case "profiles": return id ? <ProfilePage id={id} /> : <ProfilesPage />;
    case "emails": return id ? <EmailPage id={id} /> : <EmailsPage params={route.params} />;
    case "settings": return <SettingsPage />;
    case "operations": return <OperationsPage />;
    default: return <p>No such page. <a href="#/mailboxes">Mailboxes</a></p>;
  }
}

export function App() {
  const route = useRoute();
  const [me, setMe] = useState<Me | null | undefined>(undefined);
  const [problem, setProblem] = useState<unknown>();
  useEffect(() => {
    setUnauthorizedHandler(() => { keyStore.clear(); setMe(null); });
    // With a stored key, or behind Easy Auth (no key, the platform's principal): who am I?
    api<Me>("GET", "me").then(setMe, (err: unknown) => {
      if (!(err instanceof ApiFailure && err.status === 401)) setProblem(err);
      setMe(null);
    });
  }, []);
  if (me === undefined) return <Loading what="the console" />;
  if (me === null) return <SignIn onSignedIn={(m) => { setProblem(undefined); setMe(m); }} problem={problem} />;
  const section = route.segments[0] ?? "mailboxes";
  const signOut = (): void => { keyStore.clear(); setMe(null); };
  return (
    <MeContext.Provider value={me}>
      <a class="skip" href="#main" onClick={(e) => { e.preventDefault(); document.getElementById("main")?.focus(); }}>Skip to content</a>
      <header class="top">
        <span class="brand">email-sync</span>
        <nav aria-label="Sections">
          <ul>
            {NAV.map(([id, label]) => (
              <li key={id}><a href={`#/${id}`} aria-current={section === id ? "page" : undefined}>{label}</a></li>
            ))}
          </ul>
        </nav>
        <span class="who" data-testid="roles">{me.roles.join(" + ") || "no role"} ({me.via === "easyAuth" ? "signed in" : "key"})</span>
        {me.via === "easyAuth"
          ? <a href="/.auth/logout">Sign out</a>
          : <button type="button" class="link" onClick={signOut}>Sign out</button>}
      </header>
      <main id="main" tabIndex={-1}>
        {!me.roles.includes("admin") ? <p class="error" role="alert">This account lacks the Email.Admin role.</p> : <Page segments={route.segments} />}
      </main>
    </MeContext.Provider>
  );
}
