/**
 * @module `copy`: moves live sessions from one store to another with their deadlines, user
 * binding and device data, so switching stores logs no one out.
 */
import { randomBytes } from 'node:crypto';
import { TesseraError } from '../core/errors.js';
import { storeKey } from '../core/id.js';
import { isLive } from '../core/expiry.js';
import type { Delta, Store, StoreRecord } from '../core/store.js';
import { EXIT } from './_args.js';
import type { StoreCall } from './_call.js';
import { progress, type Io, type Outcome } from './_output.js';

/** What a copy did. */
export interface CopyReport {
  /** Sessions written to the target (and read back). */
  copied: number;
  /** Sessions not copied on purpose: `expired` plus `existing`. */
  skipped: number;
  /** Sessions that expired (or vanished) before they were read. */
  expired: number;
  /** Sessions the target had already (an earlier run): never overwritten. */
  existing: number;
  /** Sessions that could not be copied; see `failures`. */
  failed: number;
  /** Source records deleted (`--delete-source`), only once the target holds them. */
  deleted: number;
  /** The first 20 failures: the store key and why. */
  failures: { key: string; reason: string }[];
}

/** The delta that recreates `record` as it is, deadlines included. */
function recreate(record: StoreRecord, target: Store): Delta {
  const keyDeadlines = record.keyExpiresAt ?? {};
  const hasKeyDeadlines = Object.keys(keyDeadlines).length > 0;
  if (hasKeyDeadlines && target.hasKeyExpiry !== true)
    throw new TesseraError(
      'UNSUPPORTED',
      `it has keys with their own deadline, which the ${target.name} store cannot keep`,
    );
  return {
    create: true,
    createdAt: record.createdAt,
    ...(record.absoluteExpiresAt === undefined
      ? {}
      : { absoluteExpiresAt: record.absoluteExpiresAt }),
    set: record.data,
    ...(record.userId === undefined ? {} : { userId: record.userId }),
    ...(record.meta === undefined ? {} : { meta: record.meta }),
    ...(hasKeyDeadlines ? { expire: keyDeadlines } : {}),
  };
}

/**
 * Refuses two URLs that reach one store (another spelling of one host, table or prefix): a copy
 * onto itself would find every session "already there", and `--delete-source` would then delete
 * the only copy. A probe record written to the target must not show in the source.
 */
async function checkDistinct(
  source: Store,
  target: Store,
  calls: { source: StoreCall; target: StoreCall },
): Promise<void> {
  const key = storeKey(`tessera-copy-probe:${randomBytes(16).toString('base64url')}`);
  await calls.target('write', () =>
    target.write(key, { create: true, set: { probe: 1 } }, Date.now() + 60_000),
  );
  let isSame: boolean;
  try {
    isSame = (await calls.source('get', () => source.get(key))) !== undefined;
  } finally {
    await calls.target('destroy', () => target.destroy(key));
  }
  if (isSame)
    throw new TesseraError(
      'CONFIG',
      'copy: --from and --to reach the same store (a record written to one shows in the other); name two different stores.',
    );
}

/**
 * Copies every live session of `source` to `target` under the same store key (so every id keeps
 * working), skipping expired ones and those the target already holds: run it again and it only
 * adds what is missing. With `deleteSource`, each source record is deleted once the target
 * returns it.
 */
export async function copySessions(
  source: Store,
  target: Store,
  calls: { source: StoreCall; target: StoreCall },
  options: { deleteSource: boolean; io: Io },
): Promise<Outcome> {
  if (!source.scan)
    throw new TesseraError(
      'UNSUPPORTED',
      `The ${source.name} store cannot list its sessions (it has no scan), so copy cannot read it.`,
    );
  await checkDistinct(source, target, calls);
  const report: CopyReport = {
    copied: 0,
    skipped: 0,
    expired: 0,
    existing: 0,
    failed: 0,
    deleted: 0,
    failures: [],
  };
  const seen = new Set<string>();
  const bar = progress(options.io);

  async function one(key: string): Promise<void> {
    try {
      const record = await calls.source('get', () => source.get(key));
      if (record === undefined || !isLive(record, Date.now())) {
        report.expired++;
        return;
      }
      if ((await calls.target('get', () => target.get(key))) !== undefined) {
        report.existing++;
      } else {
        const delta = recreate(record, target);
        await calls.target('write', () => target.write(key, delta, record.expiresAt));
        if ((await calls.target('get', () => target.get(key))) === undefined)
          throw new TesseraError(
            'STORE_UNAVAILABLE',
            'the target did not return it after the write',
          );
        report.copied++;
      }
      if (options.deleteSource) {
        await calls.source('destroy', () => source.destroy(key));
        report.deleted++;
      }
    } catch (error) {
      report.failed++;
      if (report.failures.length < 20)
        report.failures.push({
          key,
          reason: error instanceof Error ? error.message : String(error),
        });
    }
  }

  let cursor: string | undefined;
  try {
    do {
      const page = await calls.source('scan', () => source.scan!(cursor, 100));
      const keys = page.keys.filter((key) => !seen.has(key));
      for (const key of keys) seen.add(key);
      for (let i = 0; i < keys.length; i += 16) await Promise.all(keys.slice(i, i + 16).map(one));
      cursor = page.cursor;
      bar.update(
        `copy: ${report.copied} copied, ${report.expired + report.existing} skipped, ${report.failed} failed`,
      );
    } while (cursor !== undefined);
  } finally {
    bar.end();
  }
  report.skipped = report.expired + report.existing;
  const lines = [
    `copied=${report.copied} skipped=${report.skipped} (expired=${report.expired} existing=${report.existing}) failed=${report.failed}${options.deleteSource ? ` deleted=${report.deleted}` : ''}`,
    ...report.failures.map((f) => `failed ${f.key}: ${f.reason}`),
  ];
  return {
    code: report.failed > 0 ? EXIT.ERROR : EXIT.OK,
    doc: { ...report },
    text: lines.join('\n'),
  };
}
