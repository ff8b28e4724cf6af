/**
 * @module The `couchbase://` and `couchbases://` URL forms of the Couchbase store.
 */
import { TesseraError } from '../../core/errors.js';
import { redact } from '../../core/store-url.js';

/** The store's own URL parameters; every other parameter goes to the SDK's connection string. */
export const STORE_PARAMS: readonly string[] = [
  'scope',
  'collection',
  'prefix',
  'timeout',
  'casAttempts',
];

/** What a store URL says: the SDK's connection string, credentials and the store's options. */
export interface CouchbaseUrlOptions {
  /** `couchbase://host1,host2?<SDK options>`: no credentials, no bucket. */
  connection: string;
  username?: string;
  password?: string;
  bucket: string;
  scope?: string;
  collection?: string;
  prefix?: string;
  timeout?: number;
  casAttempts?: number;
}

/**
 * Reads a store URL as written (`raw`; several hosts are kept whole), e.g.
 * `couchbase://app:secret@127.0.0.1/sessions?scope=web&collection=sessions&timeout=2000`.
 * The bucket is the path; user name and password come from the user info.
 */
export function parseCouchbaseUrl(raw: string): CouchbaseUrlOptions {
  const match = /^(couchbases?:\/\/)(?:([^@/?#]*)@)?([^/?#]*)(?:\/([^?#]*))?(?:\?([^#]*))?$/.exec(
    raw,
  );
  const bucket = match?.[4] === undefined ? '' : decodeURIComponent(match[4]);
  if (match === null || match[3] === '' || bucket === '' || bucket.includes('/')) {
    throw new TesseraError(
      'CONFIG',
      `Couchbase store URL ${JSON.stringify(redact(raw))} must name a host and a bucket, like "couchbase://user:pass@127.0.0.1/sessions".`,
    );
  }
  const [, scheme, userInfo, hosts, , query = ''] = match;
  const params = new URLSearchParams(query);
  const out: CouchbaseUrlOptions = { connection: '', bucket };
  if (userInfo !== undefined) {
    const colon = userInfo.indexOf(':');
    out.username = decodeURIComponent(colon === -1 ? userInfo : userInfo.slice(0, colon));
    if (colon !== -1) out.password = decodeURIComponent(userInfo.slice(colon + 1));
  }
  for (const name of ['scope', 'collection', 'prefix'] as const) {
    const value = params.get(name);
    if (value !== null) out[name] = value;
  }
  for (const name of ['timeout', 'casAttempts'] as const) {
    const value = params.get(name);
    if (value !== null) out[name] = Number(value);
  }
  for (const name of STORE_PARAMS) params.delete(name);
  const rest = params.toString();
  out.connection = `${scheme!}${hosts!}${rest === '' ? '' : `?${rest}`}`;
  return out;
}
