/**
 * @module The tiered store's write-behind queue (`backup: 'async'`): each key's durable writes in
 * the order the cache took them, a bounded number of them, a few at a time; failed ones repaired by
 * copying the cache's record over the durable one.
 *
 * A delta that failed in the durable tier is not sent again: after a timeout it may have been
 * applied after all, and an increment would count twice. The key is marked for repair instead,
 * which writes the cache's whole record (idempotent), every `retryMs` until the durable tier
 * answers. A repair covers every write of its key that the cache took before it reads the cache,
 * so queued writes of a key marked for repair are dropped from the queue.
 */
import type { TesseraError } from '../../core/errors.js';
import { storeFailure } from '../../core/errors.js';
import type { Store } from '../../core/store.js';
import { readCopy, snapshotDelta } from './marks.js';

/** A durable write the queue gave up on, as {@link TieredStoreOptions.onDrop} reports it. */
export interface DroppedWrite {
  /** The store key (a hash of the session id, never the id). */
  readonly key: string;
  /** What was not applied to the durable tier. */
  readonly op: 'write' | 'touch' | 'repair';
  /**
   * `full`: the queue held `maxPending` writes, so this one reached the cache only. `closed`:
   * `close()` (or `flush`) ran out of time before the durable tier took it.
   */
  readonly reason: 'full' | 'closed';
}

/** What {@link Backup.flush} did. */
export interface FlushReport {
  /** Whether every queued write reached the durable tier in time. */
  readonly isDone: boolean;
  /** Writes still queued when the time ran out (dropped only by `close()`). */
  readonly pending: number;
  /** What `close()` dropped (always empty for a plain flush). */
  readonly dropped: readonly DroppedWrite[];
}

interface Job {
  readonly op: 'write' | 'touch' | 'repair';
  readonly run: () => Promise<void>;
}

interface KeyQueue {
  jobs: Job[];
  isRunning: boolean;
  /** A repair is queued or waiting for its retry: it will read the cache later, covering writes. */
  isCovered: boolean;
  idle: Array<() => void>;
}

/** Settings of {@link createBackup}. */
export interface BackupSettings {
  cache: Store;
  durable: Store;
  maxPending: number;
  concurrency: number;
  retryMs: number;
  onDrop: (dropped: DroppedWrite) => void;
  onError: (error: TesseraError, key: string) => void;
}

/** The queue. */
export interface Backup {
  /** Queued, running and to-be-repaired durable writes. */
  readonly pending: number;
  /** Queues `run` (a durable write of `key`) after the key's earlier ones. */
  enqueue(key: string, op: 'write' | 'touch', run: () => Promise<unknown>): void;
  /** Marks `key` for repair (its cache record is copied over the durable one). */
  repair(key: string): void;
  /** Drops the key's queued writes (a destroy or rename supersedes them), then waits for a running one. */
  settle(key: string): Promise<void>;
  /** Waits until the key's queued and running writes settled, or `timeoutMs` passed. */
  idle(key: string, timeoutMs: number): Promise<void>;
  /** Waits until the queue is empty or `timeoutMs` passed. */
  flush(timeoutMs: number): Promise<FlushReport>;
  /** Flushes, then drops and reports what is left, and stops the retry timer. */
  close(timeoutMs: number): Promise<FlushReport>;
}

/** Creates the queue. */
export function createBackup(s: BackupSettings): Backup {
  const keys = new Map<string, KeyQueue>();
  const ready: string[] = [];
  const waiting = new Set<string>();
  let running = 0;
  let count = 0;
  let retryTimer: ReturnType<typeof setTimeout> | undefined;
  let isClosed = false;
  let drained: Array<() => void> = [];

  const queueOf = (key: string): KeyQueue => {
    let q = keys.get(key);
    if (q === undefined)
      keys.set(key, (q = { jobs: [], isRunning: false, isCovered: false, idle: [] }));
    return q;
  };

  function release(key: string, q: KeyQueue): void {
    if (q.jobs.length > 0 || q.isRunning || waiting.has(key)) return;
    keys.delete(key);
    for (const wake of q.idle.splice(0)) wake();
  }

  function pump(): void {
    while (running < s.concurrency && ready.length > 0) {
      const key = ready.shift()!;
      const q = keys.get(key);
      if (q === undefined || q.isRunning || q.jobs.length === 0) continue;
      const job = q.jobs.shift()!;
      q.isRunning = true;
      running++;
      if (job.op === 'repair') q.isCovered = false;
      void job.run().then(() => {
        running--;
        count--;
        q.isRunning = false;
        if (q.jobs.length > 0) ready.push(key);
        else release(key, q);
        if (count === 0) for (const wake of drained.splice(0)) wake();
        pump();
      });
    }
  }

  function push(key: string, job: Job): void {
    const q = queueOf(key);
    q.jobs.push(job);
    count++;
    if (!q.isRunning) ready.push(key);
    pump();
  }

  function repairJob(key: string): Job {
    return {
      op: 'repair',
      run: async () => {
        try {
          const copy = readCopy(await s.cache.get(key));
          if (copy?.kind === 'tombstone') await s.durable.destroy(key);
          else if (copy?.kind === 'copy')
            await s.durable.write(key, snapshotDelta(copy.record), copy.record.expiresAt);
        } catch (error) {
          s.onError(storeFailure(s.durable.name, 'repair', error), key);
          wait(key);
        }
      },
    };
  }

  /** Holds `key` for a repair at the next retry tick. */
  function wait(key: string): void {
    if (isClosed) return;
    const q = queueOf(key);
    q.isCovered = true;
    if (!waiting.has(key)) {
      waiting.add(key);
      count++;
    }
    retryTimer ??= setTimeout(retry, s.retryMs);
  }

  function retry(): void {
    retryTimer = undefined;
    const keysToRepair = [...waiting];
    waiting.clear();
    count -= keysToRepair.length;
    for (const key of keysToRepair) {
      queueOf(key).isCovered = false;
      markRepair(key);
    }
  }

  function markRepair(key: string): void {
    const q = queueOf(key);
    if (q.isCovered) return;
    // Queued writes of the key are covered by the repair, which reads the cache after them.
    count -= q.jobs.length;
    q.jobs = [];
    q.isCovered = true;
    push(key, repairJob(key));
  }

  function writeJob(key: string, op: 'write' | 'touch', run: () => Promise<unknown>): Job {
    return {
      op,
      run: async () => {
        try {
          await run();
        } catch (error) {
          s.onError(storeFailure(s.durable.name, op, error), key);
          wait(key);
        }
      },
    };
  }

  function dropAll(): DroppedWrite[] {
    const dropped: DroppedWrite[] = [];
    for (const [key, q] of keys) {
      for (const job of q.jobs) dropped.push({ key, op: job.op, reason: 'closed' });
      if (waiting.has(key)) dropped.push({ key, op: 'repair', reason: 'closed' });
      count -= q.jobs.length;
      q.jobs = [];
    }
    count -= waiting.size;
    waiting.clear();
    for (const d of dropped) s.onDrop(d);
    return dropped;
  }

  return {
    get pending() {
      return count;
    },
    enqueue(key, op, run) {
      const q = keys.get(key);
      if (q?.isCovered === true) return;
      if (count >= s.maxPending) {
        if (q !== undefined && (q.jobs.length > 0 || q.isRunning)) markRepair(key);
        else s.onDrop({ key, op, reason: 'full' });
        return;
      }
      push(key, writeJob(key, op, run));
    },
    repair: markRepair,
    async settle(key) {
      const q = keys.get(key);
      if (q === undefined) return;
      count -= q.jobs.length;
      q.jobs = [];
      q.isCovered = false;
      if (waiting.delete(key)) count--;
      if (!q.isRunning) return release(key, q);
      await new Promise<void>((resolve) => q.idle.push(resolve));
    },
    async idle(key, timeoutMs) {
      const q = keys.get(key);
      if (q === undefined) return;
      let timer: ReturnType<typeof setTimeout> | undefined;
      await new Promise<void>((resolve) => {
        q.idle.push(resolve);
        timer = setTimeout(resolve, timeoutMs);
      });
      clearTimeout(timer);
    },
    async flush(timeoutMs) {
      if (waiting.size > 0) {
        clearTimeout(retryTimer);
        retry();
      }
      if (count > 0) {
        let timer: ReturnType<typeof setTimeout> | undefined;
        let wake: (() => void) | undefined;
        await new Promise<void>((resolve) => {
          wake = resolve;
          drained.push(resolve);
          timer = setTimeout(resolve, timeoutMs);
        });
        clearTimeout(timer);
        drained = drained.filter((w) => w !== wake);
      }
      return { isDone: count === 0, pending: count, dropped: [] };
    },
    async close(timeoutMs) {
      const flushed = await this.flush(timeoutMs);
      isClosed = true;
      clearTimeout(retryTimer);
      retryTimer = undefined;
      if (flushed.isDone) return flushed;
      const dropped = dropAll();
      return { isDone: false, pending: count, dropped };
    },
  };
}
