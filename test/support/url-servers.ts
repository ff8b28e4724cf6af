/**
 * Servers these machines cannot run (MongoDB, Couchbase; see services.md): their stores are
 * tested only against a real server named by an environment variable. Without it the tests are
 * skipped with the reason, loudly, and never fail (CI has no such server either). No mock and no
 * in-memory imitation stands in for the server.
 */

/** The environment variable naming each such server. */
export const URL_SERVERS = {
  mongodb: {
    variable: 'MONGODB_URL',
    server: 'MongoDB',
    example: 'mongodb://127.0.0.1:27017/tessera_test',
  },
  couchbase: {
    variable: 'COUCHBASE_URL',
    server: 'Couchbase Server',
    example: 'couchbase://user:password@127.0.0.1/tessera_test',
  },
} as const;

/** The server URL of `name`, or `undefined`. */
export function serverUrl(name: keyof typeof URL_SERVERS): string | undefined {
  const value = process.env[URL_SERVERS[name].variable];
  return value === undefined || value === '' ? undefined : value;
}

/** The reason to skip tests of `name`'s store, printed once per file, or `false` to run them. */
export function skipUnlessUrl(name: keyof typeof URL_SERVERS): string | false {
  if (serverUrl(name) !== undefined) return false;
  const { variable, server, example } = URL_SERVERS[name];
  const reason = `${variable} is not set, so the ${name} store was not run against a live ${server} (no such server runs on this machine; set ${variable}=${example} to test it)`;
  console.warn(`[tessera] SKIPPED: ${reason}`);
  return reason;
}

/** `url` with the query parameter `name` set to `value` (whatever query it already has). */
export function withParam(url: string, name: string, value: string): string {
  const [base = '', query = ''] = url.split('?', 2);
  const params = new URLSearchParams(query);
  params.set(name, value);
  return `${base}?${params.toString()}`;
}
