// A loopback TCP proxy that delays every chunk by a fixed time each way: a client and its database a round trip apart, for benchmarks.
//
// usage: deno run -A bench/latency_proxy.ts <listen port> <target port> <delay ms each way>
// (or import startLatencyProxy). It forwards bytes unchanged, in order; only the timing differs.

export interface LatencyProxy {
  port: number;
  close(): void;
}

async function pipeDelayed(
  from: Deno.Conn,
  to: Deno.Conn,
  delayMs: number,
): Promise<void> {
  const buffer = new Uint8Array(64 * 1024);
  // Each chunk leaves delayMs after it arrived, in arrival order: a one-way latency, not a throttle.
  let previous = Promise.resolve();
  try {
    while (true) {
      const read = await from.read(buffer);
      if (read === null) break;
      const chunk = buffer.slice(0, read);
      const due = performance.now() + delayMs;
      previous = previous.then(async () => {
        const wait = due - performance.now();
        if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
        let written = 0;
        while (written < chunk.length) written += await to.write(chunk.subarray(written));
      });
    }
    await previous;
  } catch {
    // One side closed: the other goes with it.
  } finally {
    try {
      to.closeWrite();
    } catch {
      // Already closed.
    }
  }
}

/** Listens on 127.0.0.1 (port 0: any free one) and forwards to 127.0.0.1:targetPort. */
export function startLatencyProxy(targetPort: number, delayMs: number): LatencyProxy {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const connections = new Set<Deno.Conn>();
  (async () => {
    for await (const client of listener) {
      const server = await Deno.connect({ hostname: "127.0.0.1", port: targetPort });
      connections.add(client).add(server);
      Promise.all([
        pipeDelayed(client, server, delayMs),
        pipeDelayed(server, client, delayMs),
      ]).finally(() => {
        for (const conn of [client, server]) {
          connections.delete(conn);
          try {
            conn.close();
          } catch {
            // Already closed.
          }
        }
      });
    }
  })().catch(() => {});
  return {
    port: (listener.addr as Deno.NetAddr).port,
    close: () => {
      listener.close();
      for (const conn of connections) {
        try {
          conn.close();
        } catch {
          // Already closed.
        }
      }
    },
  };
}
