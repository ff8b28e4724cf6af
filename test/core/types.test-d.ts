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
      // @ts-expect-error: only keys that hold numbers can be incremented (issue 11, item 8)
      await req.session.increment('cart');
      // @ts-expect-error: a Date is not a number either
      await req.session.increment('since');
    });
  });

  it('lets untyped sessions increment any key, and optional number keys too', () => {
    const untyped = createSessionManager();
    withSessions(untyped, async (req) => {
      expectTypeOf(await req.session.increment('anything')).toEqualTypeOf<number>();
    });
    const optional = createSessionManager<{ visits?: number; name?: string }>();
    withSessions(optional, async (req) => {
      await req.session.increment('visits');
      // @ts-expect-error: name holds a string
      await req.session.increment('name');
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
      | 'TOO_LARGE'
      | 'READ_ONLY'
      | 'UNAUTHENTICATED'
      | 'LOCK_TIMEOUT'
      | 'INVALID_DATA'
      | 'TOO_MANY_SESSIONS'
      | 'UNSUPPORTED'
      | 'ALREADY_COMMITTED'
      | 'CROSS_SITE'
    >();
  });
});
