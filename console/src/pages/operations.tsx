/** @module Operations: queue depths (poison queues too), the scheduler's last run, and health. */
import type { Operations } from "../types.js";
import { Badge, ErrorBox, Loading, Time, useApi } from "../ui.js";

export function OperationsPage() {
  const ops = useApi<Operations>("operations");
  const o = ops.data;
  return (
    <section aria-labelledby="ops-title">
      <h1 id="ops-title">Operations</h1>
      <div class="toolbar"><button type="button" onClick={ops.reload} disabled={ops.loading}>Refresh</button></div>
      <ErrorBox error={ops.error} />
      {!o ? !ops.error && <Loading what="operations" /> : (
        <div class="cards">
          <section class="card" aria-labelledby="health-title">
            <h2 id="health-title">Health <Badge value={o.health.status} /></h2>
            <ul class="plain">{Object.entries(o.health.checks).map(([name, state]) => <li key={name}>{name}: <Badge value={state} /></li>)}</ul>
          </section>
          <section class="card" aria-labelledby="scheduler-title">
            <h2 id="scheduler-title">Scheduler</h2>
            <p>Schedule <code>{o.scheduler.schedule}</code></p>
            {o.scheduler.lastRun ? (
              <p data-testid="scheduler-last-run">Last run <Time at={o.scheduler.lastRun.startedAt} />, {o.scheduler.lastRun.durationMs} ms, <Badge value={o.scheduler.lastRun.outcome} />
                {o.scheduler.lastRun.errorCode && <> <code>{o.scheduler.lastRun.errorCode}</code></>}</p>
            ) : <p class="muted">Not run yet against this storage.</p>}
          </section>
          <section class="card wide" aria-labelledby="queues-title">
            <h2 id="queues-title">Queues</h2>
            <table class="grid">
              <thead><tr><th scope="col">Queue</th><th scope="col">Messages (approximate)</th></tr></thead>
              <tbody>
                {o.queues.map((q) => (
                  <tr key={q.name} class={q.poison && (q.approximateMessageCount ?? 0) > 0 ? "poisoned" : undefined}>
                    <td><code>{q.name}</code>{q.poison && <> <Badge value={(q.approximateMessageCount ?? 0) > 0 ? "error" : "neutral"} label="poison" /></>}</td>
                    <td>{q.approximateMessageCount ?? <span class="muted">unreadable</span>}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </section>
        </div>
      )}
    </section>
  );
}
