// A PostgreSQL wire-protocol server on 127.0.0.1 in front of the embedded database, so postgres.js (the worker, the command line, other processes) talks to PGlite as to any PostgreSQL.
//
// Why not @electric-sql/pglite-socket's server: it switches between clients message by message,
// so two postgres.js clients got each other's rows (see session_lock.ts). This server passes each
// message to PGlite unchanged (PGlite speaks the protocol itself) and switches clients only when
// the session is idle.
import { type ProtocolDatabase, serveConnection } from "./wire_connection.ts";
import { SessionLock } from "./session_lock.ts";

export type { ProtocolDatabase };

export class WireServer {
  readonly #listener: Deno.TcpListener;
  readonly #database: ProtocolDatabase;
  readonly #lock = new SessionLock();
  readonly #connections = new Map<number, { conn: Deno.TcpConn; done: Promise<void> }>();
  readonly #idleWaiters: (() => void)[] = [];
  #nextConnection = 1;
  #accepting: Promise<void>;

  private constructor(listener: Deno.TcpListener, database: ProtocolDatabase) {
    this.#listener = listener;
    this.#database = database;
    this.#accepting = this.#accept();
  }

  /** Listens on 127.0.0.1 at a free port (or `port`). */
  static start(database: ProtocolDatabase, port = 0): WireServer {
    return new WireServer(Deno.listen({ hostname: "127.0.0.1", port }), database);
  }

  get port(): number {
    return this.#listener.addr.port;
  }

  /** Connections open right now. */
  get connectionCount(): number {
    return this.#connections.size;
  }

  /** Resolves once no connection is open. */
  whenIdle(): Promise<void> {
    if (this.#connections.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  async #accept(): Promise<void> {
    try {
      for await (const conn of this.#listener) {
        conn.setNoDelay(true);
        const id = this.#nextConnection++;
        const done = serveConnection(conn, id, this.#database, this.#lock).finally(() => {
          this.#connections.delete(id);
          if (this.#connections.size === 0) {
            for (const resolve of this.#idleWaiters.splice(0)) resolve();
          }
        });
        this.#connections.set(id, { conn, done });
      }
    } catch {
      // The listener was closed: stop() is under way.
    }
  }

  /** Stops listening and closes every connection (a transaction left open is rolled back). */
  async stop(): Promise<void> {
    this.#lock.close();
    try {
      this.#listener.close();
    } catch {
      // Already closed.
    }
    await this.#accepting;
    const open = [...this.#connections.values()];
    for (const { conn } of open) {
      try {
        conn.close();
      } catch {
        // Already closed by its client.
      }
    }
    await Promise.all(open.map(({ done }) => done));
  }
}
