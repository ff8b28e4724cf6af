import { describe, expectTypeOf, it } from 'vitest';
import {
  createSessionManager,
  type Session,
  type Store,
  type StoreRecord,
  type TesseraErrorCode,
} from '../../src/index.js';
import { withSessions } from '../../src/adapters/node.js';

type Data = { count: number; cart: string[]; since: Date };

describe('public types', () => {
  it('types session values by the Data given to the manager', () => {
    const manager = createSessionManager<Data>();
    withSessions(manager, async (req) => {
      expectTypeOf(req.session).toEqualTypeOf<Session<Data>>();
      expectTypeOf(await req.session.get('count')).toEqualTypeOf<number | undefined>();
      expectTypeOf(await req.session.get('cart')).toEqualTypeOf<string[] | undefined>();
      expectTypeOf(await req.session.increment('count')).toEqualTypeOf<number>();
      // @ts-expect-error: 'nope' is not a key of Data
      await req.session.get('nope');
      // @ts-expect-error: count is a number
      req.session.set('count', 'one');
      req.session.set('since', new Date());
    });
  });

  it('exposes the store contract and error codes without any', () => {
    expectTypeOf<Store['get']>().returns.toEqualTypeOf<Promise<StoreRecord | undefined>>();
    expectTypeOf<TesseraErrorCode>().toEqualTypeOf<
      | 'CONFIG'
      | 'INSECURE_KEY'
      | 'STORE_UNAVAILABLE'
      | 'STORE_TIMEOUT'
      | 'STORE_CONFLICT'
      | 'BAD_ID'
      | 'BAD_COOKIE'
      | 'TOO_LARGE'
      | 'INVALID_DATA'
      | 'TOO_MANY_SESSIONS'
      | 'UNSUPPORTED'
      | 'ALREADY_COMMITTED'
    >();
  });
});
