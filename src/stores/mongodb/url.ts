/**
 * @module The `mongodb://` and `mongodb+srv://` URL forms of the MongoDB store.
 */
import { TesseraError } from '../../core/errors.js';
import { redact } from '../../core/store-url.js';

/** The store's own URL parameters; every other parameter goes to the driver as it is. */
export const STORE_PARAMS: readonly string[] = ['collection', 'timeout', 'createIndexes'];

/** The default database when the URL names none. */
export const DEFAULT_DATABASE = 'tessera';

/** What a store URL says: the connection string for the driver and the store's options. */
export interface MongoUrlOptions {
  /** The URL without the store's own parameters, for `new MongoClient(...)`. */
  connection: string;
  /** The database: the URL's path, or {@link DEFAULT_DATABASE}. */
  database: string;
  collection?: string;
  timeout?: number;
  createIndexes?: boolean;
}

/**
 * Reads a store URL as written (`raw`: multi-host forms such as `mongodb://h1,h2/db?replicaSet=rs`
 * are kept whole), e.g.
 * `mongodb://user:pass@127.0.0.1:27017/app?collection=sessions&timeout=2000&authSource=admin`.
 */
export function parseMongoUrl(raw: string): MongoUrlOptions {
  const match = /^(mongodb(?:\+srv)?:\/\/[^/?#]*)(\/[^?#]*)?(?:\?([^#]*))?$/.exec(raw);
  if (match === null) {
    throw new TesseraError(
      'CONFIG',
      `MongoDB store URL ${JSON.stringify(redact(raw))} must look like "mongodb://127.0.0.1:27017/app" or "mongodb+srv://cluster.example.net/app".`,
    );
  }
  const [, origin, path = '', query = ''] = match;
  const params = new URLSearchParams(query);
  const database = decodeURIComponent(path.slice(1));
  if (/[/\\. "$\0]/.test(database)) {
    throw new TesseraError(
      'CONFIG',
      `The database ${JSON.stringify(database)} in a MongoDB store URL may not contain "/", "\\", ".", spaces, quotes, "$" or NUL.`,
    );
  }
  const out: MongoUrlOptions = {
    connection: '',
    database: database === '' ? DEFAULT_DATABASE : database,
  };
  const collection = params.get('collection');
  if (collection !== null) out.collection = collection;
  const timeout = params.get('timeout');
  if (timeout !== null) out.timeout = Number(timeout);
  const create = params.get('createIndexes');
  if (create !== null) {
    if (create !== 'true' && create !== 'false')
      throw new TesseraError('CONFIG', 'URL parameter `createIndexes` must be true or false.');
    out.createIndexes = create === 'true';
  }
  for (const name of STORE_PARAMS) params.delete(name);
  const rest = params.toString();
  out.connection = `${origin}${path}${rest === '' ? '' : `?${rest}`}`;
  return out;
}
