/**
 * @module The closing notes of BENCHMARKS.md: for a goal that falls short, why (from profiling)
 * and what would close it. Keyed by goal id (see _goals.ts); shown only while that goal falls short.
 *
 * Written from the investigations of 2026-11-23 (first run, then after the adapter fixes) (CPU profiles with `npx tsx bench/_profile.ts
 * <server> read`, and servers built from patched copies of src/ measured side by side, CPU µs per
 * request interleaved over 6–10 rounds on a quiet core). Update them when the code changes.
 */

const NODE =
  'Bare node:http costs only about 15–20 µs of server CPU per request on this machine (50–66k req/s), so 0.90x leaves under 2 µs for the whole session: less than hashing the id (SHA-256, ~0.7 µs) plus one memory-store read (~0.8 µs, mostly `JSON.parse` of the record). The goal fits a baseline of ~27 µs per request (the ~36,500 req/s it was set against); here bare node:http is about twice as fast. ' +
  "Done since the first run (2026-11-23): the per-request view is a class (no closures), the session's change maps are made on first change, a first read costs the store's promise and one `then` (no async frames in `get`/`ensureLoaded`/`load`, no timer and no extra `catch` for a local store), and the node adapter's interceptors are shared functions (no closures per request). " +
  "Where a read still goes (CPU profile, `TOP=300 npx tsx bench/_profile.ts tessera-node read 8` against `bare-node`): SHA-256 of the id ~0.7 µs, memory store `get` ~0.8 µs (JSON.parse of the record), the adapter ~0.8 µs (4 method swaps and back, the `pipe` listener that lets a failed commit stop a stream piped into the held answer), GC ~0.6 µs, promise hops ~0.5 µs, cookie parse ~0.2 µs, and 1–3 µs more kernel time in `writev` that follows the lower request rate (loopback wake-ups), not tessera's code. " +
  'What would close more: a memory store that keeps records deep-frozen and hands them out without `JSON.parse` (tried: it breaks the store contract that callers own the record they get, which the express-session bridge relies on, so it needs a contract change), and a synchronous read path for local stores. 0.90x on a machine this fast stays out of reach for any store that hashes the id.';

const CPU =
  "The session's CPU is what the node:http note lists, about 6–8 µs in quiet profiles; the run's figure adds the kernel time of the lower request rate. Under 5 µs needs the two changes named there (no JSON.parse per read, a synchronous local read path).";

const FRAMEWORK_ADAPTERS =
  "Fixed since the first run: (a) the request views handed to the manager were object literals with getters (a hidden class each in V8) and are now small classes; (b) Express 5 gives every req/res a new prototype (`Object.setPrototypeOf`), after which each own-property store on them costs microseconds and leaves hidden-class garbage. The Express adapter now holds responses through `app.response` (interceptors installed once on that prototype, the per-request state in a WeakMap; responses another middleware already wrapped, such as `compression()` mounted first, keep own-property wrapping) and puts `req.session` behind an accessor on `app.request` over a WeakMap; in profiles the adapter's own time fell from ~11.5 to ~4.5 µs per request. Fastify no longer wraps `reply.raw` on every request (only `reply.hijack()` does), and its `onSend` is a callback hook that returns at once when nothing changed: 0.59x to ~0.75–0.78x. ";

const EXPRESS =
  FRAMEWORK_ADAPTERS +
  'What remains is mostly Express itself: bare Express spends ~20 µs per request in GC alone here, every allocation on its request path costs several times what it does on node:http (SHA-256 of the id: ~3 µs in the Express process against ~0.7 µs in the node:http one, per profile), and a bare Express handler that answers after one `await Promise.resolve()` costs 12–19 µs more than one answering synchronously (0.88–0.92x of bare Express). So no session read that awaits can reach 0.95x on Express 5; tessera went from 0.67x to about 0.77x (express-session: 0.55–0.61x).';

const FASTIFY =
  FRAMEWORK_ADAPTERS +
  "Bare Fastify costs ~17–19 µs per request here, so 0.95x leaves under 1 µs for a session, less than hashing its id. What remains is the same read path as on node:http plus GC (the profile's largest extra); @fastify/session reaches 0.28x.";

const REDIS =
  "Reads moved from 1.16x (first run) to about 1.6x with the Express adapter fixes above; the spread across rounds straddles the goal. On Express 5 the framework dominates: bare Express costs ~135–150 µs per request, express-session + connect-redis ~260–320 µs (two commands, and express-session's own work), tessera with Redis ~210 µs. A steady 1.6x would need tessera on Express within ~25 µs of bare Express, less than Express's own cost of answering after an `await` (12–19 µs) plus a Redis round trip in the client (~10 µs) and the GC those allocations bring in an Express process (the profile's largest item, ~40 µs per request with Redis). Redis runs on the load generator's core here (not charged to the server, as a remote Redis would not be); both stores use the same node-redis client.";

const REDIS_WRITE =
  "Writes: in server CPU per request tessera is ~1.5x cheaper (about 177 against 262 µs in the latest run), but its server core is only ~90% busy: tessera's one EVALSHA (8 commands inside its Lua script) waits on a Redis that shares the load generator's core with autocannon, so the req/s ratio (taken per round, then the median) understates it and swings widely between rounds. A Redis on a core of its own (a third core, or another machine) would measure what a deployment sees; on this 2-core machine the harness cannot give it one.";

const ICOUNT_NODE =
  "Where a read's instructions go (callgrind of the server, JIT'd functions named from `node --perf-basic-prof`'s map; inclusive, per request, bare node:http about 60k, tessera about 93k, on 2026-12-02): the handler's `await` moves the answer into a microtask (`processTicksAndRejections` 45k inclusive against 11k bare, the response itself included); `session.get` 10.4k, of which the manager's load 10.0k: SHA-256 of the id 5.0k (`Hash::OneShotDigest`), the memory store's `JSON.parse` 2.3k, the id's format check 0.6k; the adapter's `applyHeaders` 5.3k (a read sets `Cache-Control: private, no-store` and `Vary: Cookie`, through `setHeader`'s validation regexes and `hideStackFrames` wrappers); `commitBeforeHeaders` 2.7k and the held `end` around 9k beyond the writer it calls; the cookie parse 1.9k; young-generation GC 1.9k more than bare. " +
  'What ≤ 10% (about 6k instructions) would take: all of these at once. A synchronous read path for local stores (no promise hop before the answer), the id hashed once per connection or with a cheaper keyed hash (SHA-256 alone is about 8% of bare node:http), records kept parsed (no `JSON.parse`, which needs the store-contract change named for the req/s goal), the two read headers set with one `setHeaders`/raw header array instead of two validated `setHeader` calls, and no per-request interception of `end` when nothing changed. Each is a measurable step: `npm run bench -- --icount --only=bare-node,tessera-node --kinds=read` shows it in about a minute.';

const ICOUNT_FRAMEWORK =
  "Informational: the same read path as on node:http on top of the framework's own request handling. The framework's answer after an `await` and its larger heap (Express's old-generation collections are large and rare, so its counts move most between the N and 2N phases: compare the two columns of the instructions table) make the same work cost more instructions than on node:http.";

/** Why a goal falls short and what would close it, by goal id. */
export const CLOSING_NOTES: Record<string, string> = {
  'memory-node': NODE,
  'memory-node-cpu': CPU,
  'memory-express': EXPRESS,
  'memory-fastify': FASTIFY,
  'redis-read': REDIS,
  'redis-write': REDIS_WRITE,
  'icount-node': ICOUNT_NODE,
  'icount-express': ICOUNT_FRAMEWORK,
  'icount-fastify': ICOUNT_FRAMEWORK,
  'redis-commands':
    'tessera sends one command per read (HGETALL) and per write (one EVALSHA; the commands its Lua script runs are counted apart), none for a route that never touches the session.',
  'lost-updates':
    '`session.increment` is applied atomically by the store (HINCRBY in Redis, in-process for memory); a lost update means the store or the manager no longer applies it atomically.',
  'cookie-seal':
    "bench/seal.ts measures the cookie store's whole seal+open path against iron-session's `sealData` + `unsealData`; iron derives its keys with PBKDF2 on every call, tessera once at start-up.",
};
