/**
 * @module Internal: the {@link SessionRequest} each adapter builds from its framework's request.
 */
import type { IncomingMessage } from 'node:http';
import type { TLSSocket } from 'node:tls';
import type { SessionRequest } from '../../core/transport/index.js';

/** The first entry of a comma-separated forwarding header, trimmed. */
function firstForwarded(value: string | null | undefined): string | undefined {
  if (!value) return undefined;
  const comma = value.indexOf(',');
  return (comma === -1 ? value : value.slice(0, comma)).trim() || undefined;
}

/** A header of a node:http request by lower-case name; the first value when repeated. */
export function nodeHeader(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
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
 * What a framework knows about its requests beyond their headers, read from `Source` (its own
 * request or context, or the node request itself). One constant per framework, or one per
 * middleware where an option matters (`trustProxy`): a request costs no closure.
 */
export interface RequestFacts<Source> {
  /**
   * Whether the request came over https, as the framework decides (proxy settings included). Asked
   * only when a cookie is written: frameworks' getters for it are not free.
   */
  isSecure(source: Source): boolean;
  /** The request target: path and query, or the full URL. Read only for the query transport. */
  url(source: Source): string | undefined;
  /** The client address, read only at login. */
  ip(source: Source): string | undefined;
}

/** What plain node:http tells: TLS and the socket's address, or what a trusted proxy forwards. */
export function nodeFacts(trustProxy: boolean): RequestFacts<IncomingMessage> {
  return {
    isSecure: (req) => isNodeSecure(req, trustProxy),
    url: (req) => req.url,
    ip: (req) => nodeIp(req, trustProxy),
  };
}

/**
 * The SessionRequest over a node:http request, for every adapter whose framework has one (node,
 * Express, Connect, Koa, Fastify): the headers come from the node request, the rest from what
 * `facts` read of `source`. A class rather than an object literal with getters or closures: every
 * literal with a getter gets a hidden class of its own in V8, which costs on every request, while
 * all instances of this class share one. The header read every request makes stays a direct call.
 */
export class NodeSessionRequest<Source> implements SessionRequest {
  private readonly req: IncomingMessage;
  private readonly source: Source;
  private readonly facts: RequestFacts<Source>;
  /** `req` gives the headers; `source` (the framework's request or context, or `req`) the rest. */
  constructor(req: IncomingMessage, source: Source, facts: RequestFacts<Source>) {
    this.req = req;
    this.source = source;
    this.facts = facts;
  }
  header(name: string): string | undefined {
    return nodeHeader(this.req, name);
  }
  get isSecure(): boolean {
    return this.facts.isSecure(this.source);
  }
  get url(): string | undefined {
    return this.facts.url(this.source);
  }
  get ip(): string | undefined {
    return this.facts.ip(this.source);
  }
  get method(): string | undefined {
    return this.req.method;
  }
}

/**
 * The SessionRequest over a Web `Request` (Hono, Fetch). Secure when the URL is https, or when a
 * trusted proxy says so; the address comes from a trusted proxy or from `ip`, asked with `source`
 * (the framework's context, or the request itself). Not a {@link NodeSessionRequest}: the Fetch
 * adapter's `loadSession` is given `ip` with each request, so facts holding it would be made per
 * request, and none of the node reads (the socket, `IncomingMessage.headers`) apply here.
 */
export class WebSessionRequest<Source> implements SessionRequest {
  readonly url: string;
  private readonly headers: Headers;
  private readonly source: Source;
  private readonly ipOf: (source: Source) => string | undefined;
  private readonly trustProxy: boolean;
  /** `ipOf(source)` is the client address when no trusted proxy gives one. */
  readonly method: string;
  constructor(
    request: Request,
    source: Source,
    ipOf: (source: Source) => string | undefined,
    trustProxy: boolean,
  ) {
    this.url = request.url;
    this.method = request.method;
    this.headers = request.headers;
    this.source = source;
    this.ipOf = ipOf;
    this.trustProxy = trustProxy;
  }
  header(name: string): string | undefined {
    return this.headers.get(name) ?? undefined;
  }
  get isSecure(): boolean {
    return (
      this.url.startsWith('https:') ||
      (this.trustProxy && firstForwarded(this.headers.get('x-forwarded-proto')) === 'https')
    );
  }
  get ip(): string | undefined {
    return (
      (this.trustProxy ? firstForwarded(this.headers.get('x-forwarded-for')) : undefined) ??
      this.ipOf(this.source)
    );
  }
}
