// One client connection to the embedded database: reads its messages, runs each through PGlite while holding the session, writes the answers back.
import {
  type ClientMessage,
  MessageReader,
  queryMessage,
  sessionStateAfter,
  syncMessage,
} from "./wire_messages.ts";
import type { SessionLock } from "./session_lock.ts";

/** What the server needs of PGlite: run one raw protocol message, exclusively. */
export interface ProtocolDatabase {
  execProtocolRaw(message: Uint8Array): Promise<Uint8Array>;
  runExclusive<T>(work: () => Promise<T>): Promise<T>;
}

const noEncryption = new TextEncoder().encode("N");

async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  let written = 0;
  while (written < bytes.length) written += await conn.write(bytes.subarray(written));
}

function run(database: ProtocolDatabase, message: Uint8Array): Promise<Uint8Array> {
  return database.runExclusive(() => database.execProtocolRaw(message));
}

/**
 * A client that went away while holding the session leaves it usable: an unfinished
 * extended-protocol sequence is ended with Sync, an open transaction rolled back.
 */
async function leaveSessionClean(database: ProtocolDatabase): Promise<void> {
  const state = sessionStateAfter(await run(database, syncMessage));
  if (state !== "idle") await run(database, queryMessage("rollback"));
}

/** Handles one message; false when the connection should close. */
async function handle(
  message: ClientMessage,
  conn: Deno.Conn,
  id: number,
  database: ProtocolDatabase,
  lock: SessionLock,
): Promise<boolean> {
  if (message.kind === "encryption request") {
    await writeAll(conn, noEncryption);
    return true;
  }
  if (message.kind === "cancel request" || message.type === "X") return false;
  await lock.acquire(id);
  const answer = await run(database, message.bytes);
  // The session passes to the next client only when this one's work is whole: no transaction
  // open, no extended-protocol sequence waiting for its Sync.
  if (sessionStateAfter(answer) === "idle") lock.release(id);
  if (answer.length > 0) await writeAll(conn, answer);
  return true;
}

export async function serveConnection(
  conn: Deno.Conn,
  id: number,
  database: ProtocolDatabase,
  lock: SessionLock,
): Promise<void> {
  const reader = new MessageReader();
  const chunk = new Uint8Array(64 * 1024);
  try {
    reading: while (true) {
      const count = await conn.read(chunk);
      if (count === null) break;
      reader.push(chunk.subarray(0, count));
      for (let message = reader.next(); message !== null; message = reader.next()) {
        if (!await handle(message, conn, id, database, lock)) break reading;
      }
    }
  } catch {
    // The client reset the connection, or the server is stopping: clean up below.
  } finally {
    if (lock.holds(id)) {
      try {
        await leaveSessionClean(database);
      } catch {
        // PGlite is closing too.
      }
      lock.release(id);
    }
    try {
      conn.close();
    } catch {
      // Already closed.
    }
  }
}
