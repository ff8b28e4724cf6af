/**
 * The cross-site check of state-changing requests (issue 11, item 19), after Go 1.25's
 * http.CrossOriginProtection: what browsers send decides, and non-browser requests pass.
 */
import { describe, expect, it } from 'vitest';
import { createSessionManager } from '../../src/index.js';
import { createOriginCheck } from '../../src/core/transport/origin.js';
import { request } from '../support/requests.js';

const post = (headers: Record<string, string>, url = '/api/login') => ({
  ...request({ host: 'app.example.com', ...headers }, { url }),
  method: 'POST',
});

describe('cross-site protection', () => {
  const check = createOriginCheck();

  it('lets safe methods through whatever their origin', () => {
    for (const method of ['GET', 'HEAD', 'OPTIONS'])
      expect(check({ ...post({ 'sec-fetch-site': 'cross-site' }), method })).toBeUndefined();
  });

  it('refuses a state-changing request a browser marks as from another site', () => {
    for (const site of ['cross-site', 'same-site'])
      expect(check(post({ 'sec-fetch-site': site }))).toMatchObject({
        code: 'CROSS_SITE',
        status: 403,
        message: expect.stringContaining(`Sec-Fetch-Site: ${site}`),
      });
    expect(check(post({ 'sec-fetch-site': 'same-origin' }))).toBeUndefined();
    expect(check(post({ 'sec-fetch-site': 'none' }))).toBeUndefined();
  });

  it('judges older browsers by Origin against the Host', () => {
    expect(check(post({ origin: 'https://evil.example' }))).toMatchObject({ code: 'CROSS_SITE' });
    expect(check(post({ origin: 'null' }))).toMatchObject({ code: 'CROSS_SITE' });
    expect(check(post({ origin: 'https://app.example.com' }))).toBeUndefined();
    // A Fetch API request has no Host header: its URL names the host.
    expect(
      check({
        ...request({ origin: 'https://app.example.com' }, { url: 'https://app.example.com/x' }),
        method: 'POST',
      }),
    ).toBeUndefined();
  });

  it('lets requests with neither header through (servers, curl, old clients)', () => {
    expect(check(post({}))).toBeUndefined();
  });

  it('takes trusted origins and bypass paths, and checks them at start-up', () => {
    const open = createOriginCheck({
      trustedOrigins: ['https://admin.example.com'],
      bypass: ['/webhooks/*', '/oauth/callback'],
    });
    const cross = { 'sec-fetch-site': 'cross-site' };
    expect(open(post({ ...cross, origin: 'https://admin.example.com' }))).toBeUndefined();
    expect(open(post({ ...cross, origin: 'https://other.example' }))).toMatchObject({
      code: 'CROSS_SITE',
    });
    expect(open(post(cross, '/webhooks/stripe?x=1'))).toBeUndefined();
    expect(open(post(cross, '/oauth/callback'))).toBeUndefined();
    expect(open(post(cross, '/oauth/callback/more'))).toMatchObject({ code: 'CROSS_SITE' });
    expect(() => createOriginCheck({ trustedOrigins: ['admin.example.com'] })).toThrow(
      expect.objectContaining({ code: 'CONFIG' }),
    );
    expect(() => createOriginCheck({ trustedOrigins: ['https://a.example/'] })).toThrow(
      expect.objectContaining({ code: 'CONFIG' }),
    );
    expect(() => createOriginCheck({ bypass: ['webhooks'] })).toThrow(
      expect.objectContaining({ code: 'CONFIG' }),
    );
  });

  it('is on by default in the manager, and can be switched off', () => {
    const cross = post({ 'sec-fetch-site': 'cross-site' });
    expect(createSessionManager().checkRequest(cross)).toMatchObject({ code: 'CROSS_SITE' });
    expect(createSessionManager({ crossOrigin: false }).checkRequest(cross)).toBeUndefined();
  });
});
