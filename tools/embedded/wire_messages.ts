// The PostgreSQL wire protocol's framing, as far as the embedded server needs it: where each client message ends, and whether an answer leaves the session idle.

/** Asks for TLS (SSLRequest) or GSS encryption: both are answered "N", carry on in plain text. */
const encryptionRequestCodes = new Set([80877103, 80877104]);
const cancelRequestCode = 80877102;

export type ClientMessage =
  /** SSLRequest or GSSENCRequest: answer with one byte, "N". */
  | { kind: "encryption request" }
  /** CancelRequest: PGlite runs one statement at a time and cannot cancel it; the connection is closed. */
  | { kind: "cancel request" }
  /** StartupMessage, or any message after it; `type` is its first byte ("" for the startup message). */
  | { kind: "message"; type: string; bytes: Uint8Array };

/** Splits a client's byte stream into whole messages. */
export class MessageReader {
  #buffer = new Uint8Array(0);
  #startedUp = false;

  push(chunk: Uint8Array): void {
    const joined = new Uint8Array(this.#buffer.length + chunk.length);
    joined.set(this.#buffer);
    joined.set(chunk, this.#buffer.length);
    this.#buffer = joined;
  }

  /** The next whole message, or null until more bytes arrive. */
  next(): ClientMessage | null {
    const buffer = this.#buffer;
    const view = new DataView(buffer.buffer, buffer.byteOffset, buffer.byteLength);
    if (!this.#startedUp) {
      // Startup phase: Int32 length (itself included), Int32 code, no type byte.
      if (buffer.length < 8) return null;
      const length = view.getInt32(0);
      if (buffer.length < length) return null;
      const code = view.getInt32(4);
      const bytes = this.#take(length);
      if (encryptionRequestCodes.has(code)) return { kind: "encryption request" };
      if (code === cancelRequestCode) return { kind: "cancel request" };
      this.#startedUp = true;
      return { kind: "message", type: "", bytes };
    }
    // Type byte, then Int32 length (itself included, the type byte not).
    if (buffer.length < 5) return null;
    const length = 1 + view.getInt32(1);
    if (buffer.length < length) return null;
    const type = String.fromCharCode(buffer[0]);
    return { kind: "message", type, bytes: this.#take(length) };
  }

  #take(length: number): Uint8Array {
    const taken = this.#buffer.slice(0, length);
    this.#buffer = this.#buffer.slice(length);
    return taken;
  }
}

export type SessionState = "idle" | "in transaction" | "failed transaction";

/**
 * The transaction state an answer ends with, from its closing ReadyForQuery ('Z', length 5,
 * status I, T or E); null when it does not end with one (an extended-protocol step before Sync).
 */
export function sessionStateAfter(answer: Uint8Array): SessionState | null {
  if (answer.length < 6) return null;
  const at = answer.length - 6;
  const view = new DataView(answer.buffer, answer.byteOffset, answer.byteLength);
  if (answer[at] !== 0x5a || view.getInt32(at + 1) !== 5) return null;
  switch (String.fromCharCode(answer[at + 5])) {
    case "I":
      return "idle";
    case "T":
      return "in transaction";
    case "E":
      return "failed transaction";
    default:
      return null;
  }
}

/** Sync ('S'): ends an extended-protocol sequence a client left unfinished. */
export const syncMessage = new Uint8Array([0x53, 0, 0, 0, 4]);

/** A simple Query ('Q') message. */
export function queryMessage(text: string): Uint8Array {
  const body = new TextEncoder().encode(`${text}\0`);
  const message = new Uint8Array(5 + body.length);
  message[0] = 0x51;
  new DataView(message.buffer).setInt32(1, 4 + body.length);
  message.set(body, 5);
  return message;
}
