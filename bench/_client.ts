/**
 * @module A small HTTP client for the checks around the load runs: sequential requests that carry
 * a cookie and keep the cookies a response sets.
 */
import { Agent, request } from 'node:http';

/** What a response said. */
export interface Reply {
  status: number;
  /** `name=value` of each cookie set with a value (cleared cookies left out). */
  cookies: string[];
  body: string;
}

const agent = new Agent({ keepAlive: true, maxSockets: 16 });

/**
 * GET `origin + path`, with `cookie` as the Cookie header when given, through `through` (an agent
 * of the caller's, such as one keep-alive socket) or the shared agent.
 */
export function get(
  origin: string,
  path: string,
  cookie?: string,
  through: Agent = agent,
  timeoutMs = 10_000,
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request(
      origin + path,
      { agent: through, headers: cookie ? { cookie } : {}, timeout: timeoutMs },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => {
          const cookies = (res.headers['set-cookie'] ?? [])
            .map((line) => line.slice(0, line.indexOf(';') === -1 ? undefined : line.indexOf(';')))
            .filter((pair) => !pair.endsWith('='));
          resolve({ status: res.statusCode ?? 0, cookies, body });
        });
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`GET ${path} timed out`)));
    req.on('error', reject);
    req.end();
  });
}

/** The `count` of a JSON reply, or undefined when the body is not `{"count": …}`. */
export function countOf(reply: Reply): number | null | undefined {
  try {
    const value = (JSON.parse(reply.body) as { count?: unknown }).count;
    return typeof value === 'number' || value === null ? value : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Merges the cookies a response set into a Cookie header: later values replace earlier ones of
 * the same name (a cookie store re-seals on every write).
 */
export function mergeCookies(header: string | undefined, set: string[]): string | undefined {
  if (set.length === 0) return header;
  const jar = new Map<string, string>();
  for (const pair of [...(header ? header.split('; ') : []), ...set])
    jar.set(pair.slice(0, pair.indexOf('=')), pair);
  return [...jar.values()].join('; ');
}

/**
 * `n` requests from `concurrency` clients, cycling through `cookies` (none when empty): a warm-up
 * that ends when it is done (autocannon stops on whole seconds).
 */
export async function burst(
  origin: string,
  path: string,
  cookies: readonly string[],
  n: number,
  concurrency = 10,
): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < n) {
      const i = next++;
      await get(origin, path, cookies.length ? cookies[i % cookies.length] : undefined);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
}

/** Closes idle sockets so the process can exit. */
export function closeClient(): void {
  agent.destroy();
}
