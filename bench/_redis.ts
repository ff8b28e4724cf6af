/**
 * @module Counting what a server sends to Redis: `INFO commandstats` (every command Redis ran,
 * those run inside Lua scripts included) and `MONITOR` (which tells the commands clients sent
 * apart from those scripts ran). Raw RESP over a socket, so the counting adds no client library.
 */
import { createConnection, type Socket } from 'node:net';

/** Calls per command name. */
export type Counts = Record<string, number>;

function connect(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = createConnection({ host: '127.0.0.1', port }, () => resolve(socket));
    socket.once('error', reject);
  });
}

/** Runs `INFO <section>` and returns its text. */
export async function info(port: number, section: string): Promise<string> {
  const socket = await connect(port);
  const text = await new Promise<string>((resolve, reject) => {
    let buffer = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      buffer += chunk;
      const header = buffer.indexOf('\r\n');
      if (header === -1) return;
      const length = Number(buffer.slice(1, header));
      // Bulk string: "$<bytes>\r\n<data>\r\n" (the section is ASCII, so bytes = characters).
      if (buffer.length >= header + 2 + length)
        resolve(buffer.slice(header + 2, header + 2 + length));
    });
    socket.once('error', reject);
    socket.write(`*2\r\n$4\r\nINFO\r\n$${section.length}\r\n${section}\r\n`);
  });
  socket.destroy();
  return text;
}

/** Runs `INFO commandstats` and returns calls per command. */
export async function commandStats(port: number): Promise<Counts> {
  const text = await info(port, 'commandstats');
  const counts: Counts = {};
  for (const line of text.split('\r\n')) {
    const match = /^cmdstat_([^:]+):calls=(\d+)/.exec(line);
    if (match) counts[match[1]!] = Number(match[2]);
  }
  return counts;
}

/** `after - before`, without the commands the counting itself ran. */
export function diff(before: Counts, after: Counts): Counts {
  const out: Counts = {};
  for (const [name, calls] of Object.entries(after)) {
    if (name === 'info' || name === 'monitor') continue;
    const d = calls - (before[name] ?? 0);
    if (d > 0) out[name] = d;
  }
  return out;
}

/** A MONITOR connection counting commands as they arrive. */
export interface Monitor {
  /** Commands sent by clients (round trips), since the last reset. */
  sent: Counts;
  /** Commands run inside Lua scripts, since the last reset. */
  scripted: Counts;
  reset(): void;
  close(): void;
}

/** Opens a MONITOR connection. */
export async function monitor(port: number): Promise<Monitor> {
  const socket = await connect(port);
  const m: Monitor = {
    sent: {},
    scripted: {},
    reset() {
      m.sent = {};
      m.scripted = {};
    },
    close: () => socket.destroy(),
  };
  let rest = '';
  socket.setEncoding('utf8');
  socket.on('data', (chunk: string) => {
    const lines = (rest + chunk).split('\r\n');
    rest = lines.pop() ?? '';
    for (const line of lines) {
      // +1700000000.123456 [0 127.0.0.1:50000] "get" "key"   or   [0 lua] "hget" …
      const match = /^\+\d+\.\d+ \[\d+ ([^\]]+)\] "([^"]+)"/.exec(line);
      if (!match) continue;
      const name = match[2]!.toLowerCase();
      if (name === 'info') continue;
      const into = match[1] === 'lua' ? m.scripted : m.sent;
      into[name] = (into[name] ?? 0) + 1;
    }
  });
  await new Promise<void>((resolve) => {
    socket.once('data', () => resolve());
    socket.write('MONITOR\r\n');
  });
  return m;
}

/** Sum of all counts. */
export function total(counts: Counts): number {
  return Object.values(counts).reduce((a, b) => a + b, 0);
}
