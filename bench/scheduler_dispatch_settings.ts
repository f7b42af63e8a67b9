// The dispatcher's settings while the scheduler benchmark runs: checked idle, pointed at the bench's function at their defaults, and restored afterwards as they were.
import type postgres from "postgres";

export interface DispatchSettings {
  enabled: boolean;
  schedule: string;
  batch_size: number;
  max_rows: number;
  time_budget_ms: number;
  lease_seconds: number;
  max_parallel: number;
  request_timeout_ms: number;
  function_name: string;
  project_url_secret: string;
  service_key_secret: string;
}

/** The settings as found, with their stamp as text to put back. */
export type SavedDispatchSettings = DispatchSettings & { updated_at: string };

/** A Vault secret of the bench's own, so the stack's project_url secret is never touched. */
const projectUrlSecret = "bench_scheduler_project_url";

/** What the bench changed, for the restore to undo. */
export interface DispatcherChanges {
  secretId: string | null;
  settingsChanged: boolean;
}

/** The settings as found; throws when the dispatcher is missing or has dispatches in flight. */
export async function saveIdleDispatcher(admin: postgres.Sql): Promise<SavedDispatchSettings> {
  const [{ missing }] = await admin<{ missing: string | null }[]>`
    select embeddings._dispatch_missing() as missing`;
  if (missing !== null) throw new Error(missing);
  // updated_at as text, and sent back as text: postgres.js carries a timestamptz parameter
  // through a Date, which would drop its microseconds.
  const [saved] = await admin<SavedDispatchSettings[]>`
    select enabled, schedule, batch_size, max_rows, time_budget_ms, lease_seconds, max_parallel,
           request_timeout_ms, function_name, project_url_secret, service_key_secret,
           updated_at::text as updated_at
    from embeddings.dispatch_settings`;
  await admin`select embeddings.collect_dispatch_outcomes()`;
  const [{ inFlight }] = await admin<{ inFlight: number }[]>`
    select count(*)::int as "inFlight" from embeddings.dispatches where outcome = 'in flight'`;
  if (inFlight > 0) {
    throw new Error(
      `${inFlight} dispatches are in flight: they would hold the dispatcher's slots; run the benchmark once they have answered`,
    );
  }
  return saved;
}

/**
 * The dispatcher at its defaults, pointed at `projectUrl`; the cron job stays off so that only
 * the bench's ticks run the command. Returns the settings and the service key it sends.
 */
export async function pointDispatcherAt(
  admin: postgres.Sql,
  projectUrl: string,
  changes: DispatcherChanges,
): Promise<{ settings: DispatchSettings; serviceKey: string }> {
  await admin`delete from vault.secrets where name = ${projectUrlSecret}`;
  [{ id: changes.secretId }] = await admin<{ id: string }[]>`
    select vault.create_secret(${projectUrl}, ${projectUrlSecret},
      'scheduler_drain benchmark: removed when it ends') as id`;
  changes.settingsChanged = true;
  const [settings] = await admin<DispatchSettings[]>`
    update embeddings.dispatch_settings
    set enabled = false, schedule = default, batch_size = default, max_rows = default,
        time_budget_ms = default, lease_seconds = default, max_parallel = default,
        request_timeout_ms = default, function_name = default, service_key_secret = default,
        project_url_secret = ${projectUrlSecret}
    returning *`;
  // The key the dispatcher sends (from Vault): the guide's requests send it too.
  const [key] = await admin<{ value: string }[]>`
    select decrypted_secret as value from vault.decrypted_secrets
    where name = ${settings.service_key_secret}`;
  if (!key) {
    throw new Error(
      `Vault has no ${settings.service_key_secret} secret: the local stack stores it at start`,
    );
  }
  return { settings, serviceKey: key.value };
}

/** Puts the settings back; false when their updated_at could not be put back too. */
async function restoreSettings(
  admin: postgres.Sql,
  saved: SavedDispatchSettings,
): Promise<boolean> {
  await admin`
    update embeddings.dispatch_settings
    set enabled = ${saved.enabled}, schedule = ${saved.schedule},
        batch_size = ${saved.batch_size}, max_rows = ${saved.max_rows},
        time_budget_ms = ${saved.time_budget_ms}, lease_seconds = ${saved.lease_seconds},
        max_parallel = ${saved.max_parallel},
        request_timeout_ms = ${saved.request_timeout_ms},
        function_name = ${saved.function_name},
        project_url_secret = ${saved.project_url_secret},
        service_key_secret = ${saved.service_key_secret}`;
  // The trigger stamps updated_at on every change: the old stamp goes back with triggers off for
  // this one statement (the cron job already follows the restored row).
  try {
    await admin.begin(async (tx) => {
      await tx`set local session_replication_role = replica`;
      await tx`update embeddings.dispatch_settings set updated_at = ${saved.updated_at}::text::timestamptz`;
    });
    return true;
  } catch {
    return false;
  }
}

/**
 * Removes the bench's dispatches and pg_net rows, puts the settings back and removes its secret;
 * false when the settings' updated_at could not be put back.
 */
export async function restoreDispatcher(
  admin: postgres.Sql,
  saved: SavedDispatchSettings,
  changes: DispatcherChanges,
  requestIds: Iterable<string>,
): Promise<boolean> {
  const ids = [...requestIds];
  await admin`delete from embeddings.dispatches where request_id = any(${ids}::bigint[])`;
  await admin`delete from net._http_response where id = any(${ids}::bigint[])`;
  await admin`delete from net.http_request_queue where id = any(${ids}::bigint[])`;
  const restoredUpdatedAt = changes.settingsChanged ? await restoreSettings(admin, saved) : true;
  if (changes.secretId !== null) {
    await admin`delete from vault.secrets where id = ${changes.secretId}`;
  }
  return restoredUpdatedAt;
}
