/**
 * @module Internal: the {@link SessionRequest} each adapter builds from its framework's request.
 */
import type { IncomingMessage } from 'node:http';
import type { TLSSocket } from 'node:tls';
import type { SessionRequest } from '../../core/transport/index.js';

/** The first entry of a comma-separated forwarding header, trimmed. */
export function firstForwarded(value: string | null | undefined): string | undefined {
  if (!value) return undefined;
  const comma = value.indexOf(',');
  return (comma === -1 ? value : value.slice(0, comma)).trim() || undefined;
}

/** A header of a node:http request by lower-case name; the first value when repeated. */
export function nodeHeader(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/** What a framework tells about a request beyond its headers. */
export interface RequestFacts {
  /**
   * Whether the request came over https, as the framework decides (proxy settings included). Asked
   * only when a cookie is written: frameworks' getters for it are not free.
   */
  secure(): boolean;
  /** The request target: path and query, or the full URL. */
  readonly url: string | undefined;
  /** The client address, read only at login. */
  ip(): string | undefined;
}

/**
 * A SessionRequest over a node:http request whose framework knows its protocol and address. A class
 * rather than an object literal with getters: every literal with a getter gets a hidden class of its
 * own in V8, which costs on every request.
 */
class NodeSessionRequest implements SessionRequest {
  readonly url: string | undefined;
  private readonly req: IncomingMessage;
  private readonly facts: RequestFacts;
  constructor(req: IncomingMessage, facts: RequestFacts) {
    this.req = req;
    this.facts = facts;
    this.url = facts.url;
  }
  header(name: string): string | undefined {
    return nodeHeader(this.req, name);
  }
  get isSecure(): boolean {
    return this.facts.secure();
  }
  get ip(): string | undefined {
    return this.facts.ip();
  }
}

/** A SessionRequest over a node:http request whose framework knows its protocol and address. */
export function nodeSessionRequest(req: IncomingMessage, facts: RequestFacts): SessionRequest {
  return new NodeSessionRequest(req, facts);
}

/** Whether a node:http request came over TLS, or over https to a trusted proxy. */
export function isNodeSecure(req: IncomingMessage, trustProxy: boolean): boolean {
  if ((req.socket as TLSSocket | undefined)?.encrypted) return true;
  return trustProxy && firstForwarded(nodeHeader(req, 'x-forwarded-proto')) === 'https';
}

/** The client address of a node:http request, from a trusted proxy's `X-Forwarded-For` or the socket. */
export function nodeIp(req: IncomingMessage, trustProxy: boolean): string | undefined {
  return (
    (trustProxy ? firstForwarded(nodeHeader(req, 'x-forwarded-for')) : undefined) ??
    req.socket?.remoteAddress
  );
}

/**
 * A SessionRequest over a Web `Request` (Hono, Fetch). Secure when the URL is https, or when a
 * trusted proxy says so; the address comes from a trusted proxy or from `ip`.
 */
export function webSessionRequest(
  request: Request,
  trustProxy: boolean,
  ip: () => string | undefined,
): SessionRequest {
  const headers = request.headers;
  return {
    header: (name) => headers.get(name) ?? undefined,
    isSecure:
      request.url.startsWith('https:') ||
      (trustProxy && firstForwarded(headers.get('x-forwarded-proto')) === 'https'),
    url: request.url,
    get ip() {
      return (trustProxy ? firstForwarded(headers.get('x-forwarded-for')) : undefined) ?? ip();
    },
  };
}
