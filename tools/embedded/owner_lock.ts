// Which process serves the embedded database: the one holding an exclusive lock on its owner.lock file (released by the OS even if that process is killed); the others connect to the port it publishes.
import { join } from "node:path";

export interface ServerInfo {
  pid: number;
  port: number;
}

export type Ownership =
  | {
    role: "owner";
    /** The previous owner's pid when it ended without closing the database (killed, crashed). */
    previousOwnerLeftOpen: number | null;
    /** Tells other processes where the server listens. */
    publish(port: number): Promise<void>;
    /** Unpublishes and unlocks. */
    release(): Promise<void>;
  }
  | { role: "guest"; server: ServerInfo };

async function readServerInfo(file: string): Promise<ServerInfo | null> {
  try {
    const info = JSON.parse(await Deno.readTextFile(file)) as Partial<ServerInfo>;
    return typeof info.pid === "number" && typeof info.port === "number"
      ? { pid: info.pid, port: info.port }
      : null;
  } catch {
    return null;
  }
}

async function answers(port: number): Promise<boolean> {
  try {
    (await Deno.connect({ hostname: "127.0.0.1", port })).close();
    return true;
  } catch {
    return false;
  }
}

/**
 * Becomes the owner of the embedded database in `dir`, or, when another process owns it, waits
 * (up to `waitMs`, while that process starts it) for the port it serves on.
 */
export async function claimOwnership(dir: string, waitMs = 120_000): Promise<Ownership> {
  await Deno.mkdir(dir, { recursive: true });
  const serverFile = join(dir, "server.json");
  const lockFile = await Deno.open(join(dir, "owner.lock"), {
    create: true,
    read: true,
    write: true,
  });
  const deadline = Date.now() + waitMs;
  while (true) {
    if (await lockFile.tryLock(true)) {
      const left = await readServerInfo(serverFile);
      return {
        role: "owner",
        previousOwnerLeftOpen: left?.pid ?? null,
        publish: (port) =>
          Deno.writeTextFile(
            serverFile,
            JSON.stringify({ pid: Deno.pid, port } satisfies ServerInfo),
          ),
        release: async () => {
          await Deno.remove(serverFile).catch(() => {});
          await lockFile.unlock();
          lockFile.close();
        },
      };
    }
    const info = await readServerInfo(serverFile);
    if (info !== null && await answers(info.port)) {
      lockFile.close();
      return { role: "guest", server: info };
    }
    if (Date.now() > deadline) {
      lockFile.close();
      throw new Error(
        `the embedded database in ${dir} is locked by another process that has not started serving it within ${
          Math.round(waitMs / 1000)
        } s (see ${serverFile}); wait for it to finish, or pass --db-url`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}
