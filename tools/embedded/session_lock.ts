// Who may talk to the embedded database right now: one connection at a time, from its first message until its session is idle again.
//
// PGlite is a single PostgreSQL session. Clients may take turns only between transactions and
// between extended-protocol sequences (Parse/Bind/Execute ... Sync): interleaving them mixes up
// unnamed statements and transactions (pglite-socket's queue, which switches clients between
// messages, returned one client's rows to another when we tried it with two postgres.js clients).

interface Waiter {
  connection: number;
  grant: () => void;
  refuse: (error: Error) => void;
}

export class SessionLock {
  #holder: number | null = null;
  #waiting: Waiter[] = [];
  #closed = false;

  /** Resolves once `connection` holds the session (at once if it already does); waiters are served in order. */
  acquire(connection: number): Promise<void> {
    if (this.#closed) return Promise.reject(new Error("the embedded database is closing"));
    if (this.#holder === connection) return Promise.resolve();
    if (this.#holder === null) {
      this.#holder = connection;
      return Promise.resolve();
    }
    return new Promise((grant, refuse) => this.#waiting.push({ connection, grant, refuse }));
  }

  holds(connection: number): boolean {
    return this.#holder === connection;
  }

  /** Hands the session to the next connection waiting, if `connection` holds it. */
  release(connection: number): void {
    if (this.#holder !== connection) return;
    const next = this.#waiting.shift();
    this.#holder = next?.connection ?? null;
    next?.grant();
  }

  /** Refuses every waiter and every later acquire: the server is shutting down. */
  close(): void {
    this.#closed = true;
    for (const waiter of this.#waiting) {
      waiter.refuse(new Error("the embedded database is closing"));
    }
    this.#waiting = [];
  }
}
