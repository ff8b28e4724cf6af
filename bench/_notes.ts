/**
 * @module The closing notes of BENCHMARKS.md: for a goal that falls short, why (from profiling)
 * and what would close it. Keyed by goal id (see _goals.ts); shown only while that goal falls short.
 *
 * Written from the investigation of 2026-11-23 (CPU profiles with `npx tsx bench/_profile.ts
 * <server> read`, and servers built from patched copies of src/ measured side by side, CPU µs per
 * request interleaved over 6–10 rounds on a quiet core). Update them when the code changes.
 */

const NODE =
  'Bare node:http costs only about 15–20 µs of server CPU per request on this machine (50–66k req/s), so 0.90x leaves under 2 µs for the whole session: less than hashing the id (SHA-256, ~0.9 µs) plus one memory-store read (~0.9 µs, mostly `JSON.parse` of the record and three async hops). The goal fits a baseline of ~27 µs per request (the ~36,500 req/s it was set against); here bare node:http is about twice as fast. ' +
  'Where the ~6 µs of a read go (quiet A/B runs; this full run shows more, see the CPU table): SHA-256 of the id 0.9 µs, memory store `get` 0.9 µs, `manager.load` (cookie parse, id check, a `SessionState` that allocates two Maps) 0.5 µs, promise hops 0.5 µs, and the node adapter ~1.6 µs (removing the per-request `pipe` listener alone measured −1.6 µs), the rest in GC and the kernel. ' +
  'What would close most of it: (1) `src/adapters/node.ts` `commitBeforeHeaders`: no `res.on("pipe")`/`res.off` and `new Set` per request; after a failed commit has sent its error answer, swallow later writes (`res.write = () => true`) and let a piped source unpipe itself on the response\'s `finish`; (2) `src/core/session.ts`: create `changes`/`handed` on first use (`hasChanges` reads `?.size`); (3) `src/core/time.ts` `unbounded`: for local stores return `run()` and map failures where it is awaited, saving a promise and a microtask per store call; (4) `src/core/transport/cookie.ts` `read`: slice the value after `name=` with `indexOf`, and parse the whole header only when the name occurs twice. Estimated ~3 µs per request, about 0.80x here. Beyond that, a synchronous read path for local stores (an optional `getSync` the manager uses when present, returning a frozen record instead of re-parsing JSON) is what 0.90x on a machine this fast would take.';

const CPU =
  "Quiet A/B runs (bare vs tessera, interleaved, rounds with other load dropped) measured +6.1 µs per read (+3.9 µs user); the full run shows more because the server's read cost drifts up over a run that also writes (see the spread) and because at a lower request rate the loopback wake-ups cost the server more kernel time. Fixes (1)–(4) of the node:http note (~3 µs) bring it under 5 µs.";

const FRAMEWORK_ADAPTERS =
  'Two V8 pitfalls in the shared adapter code, each measured with patched copies of src/: (a) `src/adapters/_shared/request.ts` `nodeSessionRequest` (and `webSessionRequest`) return an object literal with a `get ip()` accessor; V8 gives every such object a hidden class of its own (0.6 µs each in a micro-benchmark against 0.03 µs for a class instance, and the dead hidden classes fill the old generation, so mark-compact GCs run often). Returning an instance of a small class with `header()` as a method and `ip` as a prototype getter (as `NodeRequest` in node.ts already does) took tessera on Fastify from 33.8 to 24.6 µs per request (0.50x to 0.69x of bare Fastify) and on Express from 193 to 175 µs. ';

const EXPRESS =
  FRAMEWORK_ADAPTERS +
  "(b) Express 5 gives every req/res a new prototype (`Object.setPrototypeOf`), after which each own-property store on them costs 3–4 µs (micro-benchmark; 0.05 µs on a plain response) and leaves garbage hidden classes; `commitBeforeHeaders` makes 8 such stores per request (4 patches, 4 restores) and the adapter one more (`req.session`). Patching `Object.getPrototypeOf(res)` (Express's `app.response`) once with `writeHead`/`write`/`end`/`flushHeaders` wrappers that look up a module-level `WeakMap<ServerResponse, state>` (and pass through when there is none or it is released), and defining `session` once as a getter on `Object.getPrototypeOf(req)` (`app.request`) over a `WeakMap`, took tessera on Express from 201 to 171 µs per request (with (a) too: ~175; the two overlap, both being hidden-class garbage). Keep the own-property patching for node:http, where it measured faster. " +
  'What remains is mostly Express: a bare Express handler that answers after one `await Promise.resolve()` costs 12–19 µs more per request than one answering synchronously (0.88–0.92x of bare Express), so no session read that awaits can reach 0.95x on Express 5; with (a) and (b) tessera lands near 0.72x (express-session: 0.61x).';

const FASTIFY =
  FRAMEWORK_ADAPTERS +
  "(b) `src/adapters/fastify.ts` also runs `commitBeforeHeaders` on `reply.raw` in `onRequest` for every request (closures, 4 stores and 4 restores, the `pipe` listener), only for the rare hijacked reply; Fastify's own replies commit in `onSend`. Installing it only for hijacked replies (or asking handlers that hijack to `await manager.commit(request.session)`) saves ~2 µs. Even then 0.95x is out of reach: bare Fastify costs ~17 µs per request here, so 0.95x leaves under 1 µs for a session, less than hashing its id. @fastify/session reaches 0.28x.";

const REDIS =
  "On Express 5 the framework dominates: bare Express costs ~135 µs per request, and Redis itself adds only ~12 µs to tessera's read (tessera Redis 222 µs against tessera memory 210 µs on Express), while express-session + connect-redis spends ~260 µs (two commands, and express-session's own work). The gap to 1.6x is tessera's Express adapter path (+70 µs over bare Express with the memory store): with fixes (a) and (b) of the Express note (~25–30 µs) the ratio becomes about 1.3x. 1.6x would need tessera on Express within ~25 µs of bare Express, less than Express's own cost of answering after an `await` (12–19 µs) plus a Redis round trip in the client (node-redis, ~10 µs). Redis runs on the load generator's core here (not charged to the server), as a remote Redis would be; both stores use the same node-redis client.";

/** Why a goal falls short and what would close it, by goal id. */
export const CLOSING_NOTES: Record<string, string> = {
  'memory-node': NODE,
  'memory-node-cpu': CPU,
  'memory-express': EXPRESS,
  'memory-fastify': FASTIFY,
  'redis-read': REDIS,
  'redis-write': `${REDIS} Writes: tessera's one EVALSHA (running 8 commands inside its script) against connect-redis's GET + SET; the same Express-side costs decide it.`,
  'redis-commands':
    'tessera sends one command per read (HGETALL) and per write (one EVALSHA; the commands its Lua script runs are counted apart), none for a route that never touches the session.',
  'lost-updates':
    '`session.increment` is applied atomically by the store (HINCRBY in Redis, in-process for memory); a lost update means the store or the manager no longer applies it atomically.',
  'cookie-seal':
    "bench/seal.ts measures the cookie store's whole seal+open path against iron-session's `sealData` + `unsealData`; iron derives its keys with PBKDF2 on every call, tessera once at start-up.",
};
