/**
 * @module The closing notes of BENCHMARKS.md: for a goal that falls short, why (from profiling)
 * and what would close it. Keyed by goal id (see _goals.ts); shown only while that goal falls short.
 *
 * Written from the investigations of 2026-11-23 (first run, then after the adapter fixes) (CPU profiles with `npx tsx bench/_profile.ts
 * <server> read`, and servers built from patched copies of src/ measured side by side, CPU µs per
 * request interleaved over 6–10 rounds on a quiet core) and of 2026-12-02 (issue 16: callgrind
 * instruction counts of each step). Update them when the code changes.
 */

const NODE =
  "Bare node:http costs only about 15–20 µs of server CPU per request on this machine (50–66k req/s), so 0.90x leaves under 2 µs for the whole session. In instructions (the steady measure, see the instructions goal), a read now adds about a fifth of bare node:http's. " +
  "Done since the first run (2026-11-23): the per-request view is a class (no closures), the session's change maps are made on first change, no async frames in `get`/`ensureLoaded`/`load`; and in issue 16 (2026-12-02): the memory store keeps records decoded and frozen and hands them out as they are (the store contract now lets `get` return a shared frozen record; the express-session bridge copies what it hands to express-session), a first read from it happens in the same step (`getNow`), the id's store key is hashed once per id, responses are held through Node's prototype (no method written per request), the session cookie is found without parsing the rest of the header. " +
  "What remains per read: the two cache headers a read answer must carry (`Cache-Control: private, no-store` and `Vary: Cookie`, each through Node's validated `setHeader`), the `pipe` listener of the held answer, the session object and the hold, and the handler's `await`. 0.90x on a machine this fast stays out of reach for an asynchronous session API that sets two headers.";

const CPU =
  "The session's CPU is what the node:http note lists; the run's figure adds the kernel time of the lower request rate (the user-space part is the steadier one). Both changes the first run named as needed (no JSON.parse per read, a synchronous local read path) are in; what is left is listed in the instructions note.";

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
  "Writes: in server CPU per request tessera is ~1.5x cheaper (about 177 against 262 µs in the latest run), but its server core is only ~90% busy: tessera's one EVALSHA (4 commands inside its Lua script since issue 16, 8 before) waits on a Redis that shares the load generator's core with autocannon, so the req/s ratio (taken per round, then the median) understates it and swings widely between rounds. A Redis on a core of its own (a third core, or another machine) would measure what a deployment sees; on this 2-core machine the harness cannot give it one.";

const ICOUNT_NODE =
  "Steps of issue 16, each counted with callgrind on a node:http server (compiled as the bench compiles it; N and 3N sequential reads after a 4,000-request warm-up, the difference divided by 2N; repeatable within ~2%): tessera read 101.9k instructions against bare node:http's 64.4k before (37.5k for the session, 58%); the memory store keeping frozen decoded records (no `JSON.parse` per read) with the synchronous first read (`getNow`: no promise of the store's, no microtask) and each id's store key hashed once (`sessionKey`), 91.5k; the response held through Node's prototype instead of four methods written onto every response, 87.4k; the session cookie read where it starts a pair instead of parsing the whole header, a new header set without `appendHeader`'s second validation, the last prototype remembered instead of a WeakMap lookup, 84.0k (19.6k, 30%). Taking one step back out at that point measures it: the key cache saves 5–6k, the two read headers (`Cache-Control: private, no-store`, `Vary: Cookie`) still cost 4–5k (Node validates each `setHeader` with two regular expressions), the `pipe` listener that lets a failed commit stop a stream piped into the held answer about 1k. " +
  "What ≤ 10% (about 6k instructions) would take beyond that: the read headers without Node's validated `setHeader` (no public API does that), no `pipe` listener per request, and the handler's own `await`, which bare node:http does not pay (its handler answers synchronously): an async session API costs at least one promise and one microtask turn per read. Each step shows in about a minute with `npm run bench -- --icount --only=bare-node,tessera-node --kinds=read`.";

const ICOUNT_FRAMEWORK =
  "Informational. Fastify: the same read path as on node:http (about 14k instructions, as there), counted as steadily (both phases' averages agree). Express: not a measure yet. Express's old-generation collections are large and rare, so one landing in a phase moves its count by hundreds of thousands of instructions; compare the two phase columns of the instructions table (bare Express differed by about 40% between its phases in the 2026-12-02 count, so the difference of tessera and bare Express there says nothing). Counting Express steadily needs phases long enough to hold several of its collections (N in the thousands, tens of minutes under callgrind) or a heap sized so none falls into a phase; until then the req/s goal above is the Express measure.";

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
    '`session.increment` is applied atomically by the store (inside the write script in Redis, in-process for memory); a lost update means the store or the manager no longer applies it atomically.',
  'cookie-seal':
    "bench/seal.ts measures the cookie store's whole seal+open path against iron-session's `sealData` + `unsealData`; iron derives its keys with PBKDF2 on every call, tessera once at start-up.",
};
