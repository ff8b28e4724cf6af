/**
 * @module Internal: the cross-site check of WebSocket and SSE handshakes, against Cross-Site
 * WebSocket Hijacking. The core's check (core/transport/origin.ts) lets every GET through, as Go's
 * `CrossOriginProtection` does; a handshake is a GET that opens a channel carrying the user's
 * cookies, which browsers send from any page, so it is judged by its `Origin` whatever its method.
 */
import type { IncomingMessage } from 'node:http';
import { TesseraError } from '../../core/errors.js';
import type { SessionRequest } from '../../core/transport/index.js';
import { crossOriginExemptions, type CrossOriginOptions } from '../../core/transport/origin.js';
import { nodeHeader } from './request.js';

/** Checks one handshake: `undefined` to let it through, or the `CROSS_SITE` error (403). */
export type HandshakeCheck = (
  req: IncomingMessage,
  view: SessionRequest,
) => TesseraError | undefined;

const ORIGIN = /^([a-z][a-z0-9+.-]*):\/\/([^/?#\s]+)$/i;
/** The schemes a page or a socket of this host can have, with their default ports. */
const DEFAULT_PORTS: Readonly<Record<string, string>> = {
  http: '80',
  ws: '80',
  https: '443',
  wss: '443',
};

/** `host` without `:port` when that is the scheme's default (browsers leave it out of Origin). */
function withoutPort(host: string, port: string): string {
  return host.endsWith(`:${port}`) ? host.slice(0, -port.length - 1) : host;
}

/**
 * Whether `origin` is this host: same host and port as the `Host` header, by a web scheme. Over
 * TLS only a secure origin is: a page served over plain http (which anyone on the path may have
 * rewritten) does not drive a socket of the https site. Over plain http both pass, as a proxy that
 * ends TLS without saying so makes every handshake look plain.
 */
function isSameOrigin(origin: string, host: string | undefined, isSecure: boolean): boolean {
  const match = ORIGIN.exec(origin);
  if (match === null || host === undefined) return false;
  const port = DEFAULT_PORTS[match[1]!.toLowerCase()];
  if (port === undefined || (isSecure && port !== '443')) return false;
  return withoutPort(match[2]!.toLowerCase(), port) === withoutPort(host.toLowerCase(), port);
}

/** Builds the check of one options object (`CONFIG` for malformed options, as the core's). */
function createHandshakeCheck(options: CrossOriginOptions): HandshakeCheck {
  const isExempt = crossOriginExemptions(options);
  return (req, view) => {
    const origin = nodeHeader(req, 'origin');
    // Browsers always send Origin with a WebSocket handshake: without one, it is not a browser's.
    if (origin === undefined || origin === '') return undefined;
    if (isExempt(origin, req.url)) return undefined;
    if (isSameOrigin(origin, nodeHeader(req, 'host'), view.isSecure)) return undefined;
    return new TesseraError(
      'CROSS_SITE',
      `A WebSocket or SSE handshake from another site was refused (Origin ${origin} is not this host). If that origin is yours, list it in the handshake's \`crossOrigin.trustedOrigins\`.`,
    );
  };
}

const checks = new WeakMap<CrossOriginOptions, HandshakeCheck>();
const DEFAULT_CHECK = createHandshakeCheck({});

/** The check for a handshake's `crossOrigin` option, built once per options object. */
export function handshakeCheck(
  options: CrossOriginOptions | false | undefined,
): HandshakeCheck | undefined {
  if (options === false) return undefined;
  if (options === undefined) return DEFAULT_CHECK;
  let check = checks.get(options);
  if (check === undefined) checks.set(options, (check = createHandshakeCheck(options)));
  return check;
}
