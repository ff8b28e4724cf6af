/**
 * Where the test servers listen (scripts/services/*.sh start them) and how a test that needs one
 * decides to run: with the server up it runs; without it, it is skipped with the reason, except
 * under CI=true, where a missing server fails the run.
 */
import { connect } from 'node:net';

/** Ports of the servers scripts/services.sh starts on 127.0.0.1. Keep in step with the scripts. */
export const SERVICES = {
  redis: { host: '127.0.0.1', port: 6390 },
  redisSentinel: {
    master: 'mymaster',
    sentinels: [26390, 26391, 26392],
    masterPort: 6391,
    replicaPort: 6392,
  },
  redisCluster: { ports: [7390, 7391, 7392, 7393, 7394, 7395] },
  memcached: { host: '127.0.0.1', port: 11299 },
  postgres: { url: 'postgres://postgres@127.0.0.1:5499/postgres' },
  mariadb: { url: 'mysql://root@127.0.0.1:3399/mysql' },
} as const;

/** Whether something accepts TCP connections on 127.0.0.1:port. */
export function isListening(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ port, host });
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1000, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/**
 * The reason to skip tests that need a server on `port`, or `false` to run them. Under CI=true a
 * missing server throws, so CI can never pass by skipping.
 */
export async function skipUnless(name: string, port: number): Promise<string | false> {
  if (await isListening(port)) return false;
  const reason = `${name} is not running on 127.0.0.1:${port} (start it with \`npm run services -- start\`, as root)`;
  if (process.env['CI'] === 'true') throw new Error(`CI=true and ${reason}`);
  console.warn(`[tessera] SKIPPED: ${reason}`);
  return reason;
}
