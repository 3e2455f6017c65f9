/**
 * Forwarding of names outside the cluster zone, as CoreDNS's `forward . /etc/resolv.conf`: the query goes to each
 * upstream in turn over UDP (a fresh socket and random query id per attempt, so answers cannot be spoofed by
 * guessing a shared port); a truncated answer to a TCP client is retried over TCP; an upstream that does not answer
 * within the timeout is skipped. The caller restores the client's id and answers SERVFAIL when every upstream failed.
 */

import { randomInt } from 'node:crypto';
import dgram from 'node:dgram';
import { readFileSync } from 'node:fs';
import net from 'node:net';

/** One upstream nameserver. */
export interface Upstream {
  host: string;
  port: number;
}

/** Parses `1.2.3.4`, `1.2.3.4:5353`, `::1`, `[::1]:53` (port 53 when absent). */
export function parseUpstream(s: string): Upstream {
  const t = s.trim();
  const bracket = /^\[([^\]]+)\](?::(\d+))?$/.exec(t);
  if (bracket) return { host: bracket[1]!, port: bracket[2] ? Number(bracket[2]) : 53 };
  if (net.isIP(t)) return { host: t, port: 53 };
  const i = t.lastIndexOf(':');
  if (i > 0 && net.isIPv4(t.slice(0, i)) && /^\d+$/.test(t.slice(i + 1))) return { host: t.slice(0, i), port: Number(t.slice(i + 1)) };
  throw new Error(`invalid upstream nameserver "${s}": want an IP address with an optional port`);
}

/** The `nameserver` addresses of a resolv.conf text (glibc reads at most three; so do we). */
export function nameserversFromResolvConf(text: string): string[] {
  const out: string[] = [];
  for (const line of text.split('\n')) {
    const m = /^\s*nameserver\s+(\S+)/.exec(line);
    if (m && net.isIP(m[1]!.split('%')[0]!)) out.push(m[1]!);
  }
  return out.slice(0, 3);
}

/** Nameservers of `/etc/resolv.conf`, or none when it cannot be read. */
export function systemNameservers(path = '/etc/resolv.conf'): string[] {
  try {
    return nameserversFromResolvConf(readFileSync(path, 'utf8'));
  } catch {
    return [];
  }
}

/** Why an upstream attempt failed (for logs). */
export class UpstreamError extends Error {
  constructor(readonly upstream: Upstream, message: string) {
    super(`upstream ${upstream.host}:${upstream.port}: ${message}`);
    this.name = 'UpstreamError';
  }
}

/**
 * One exchange with an upstream: `open` starts it and calls `finish` with the answer or an error; the timeout, the
 * abort signal and closing the connection (`open`'s return) are handled here, once, for UDP and TCP alike.
 */
function exchange(
  up: Upstream,
  timeoutMs: number,
  timeoutMessage: string,
  signal: AbortSignal | undefined,
  open: (finish: (err: Error | undefined, msg?: Buffer) => void) => { close(): void },
): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    let done = false;
    let conn: { close(): void } | undefined;
    const finish = (err: Error | undefined, msg?: Buffer) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      conn?.close();
      if (err) reject(err);
      else resolve(msg!);
    };
    const onAbort = () => finish(new UpstreamError(up, 'aborted'));
    const timer = setTimeout(() => finish(new UpstreamError(up, timeoutMessage)), timeoutMs);
    signal?.addEventListener('abort', onAbort);
    conn = open(finish);
  });
}

/** Sends a raw query to one upstream over UDP; resolves with the raw answer (id restored to the query's). */
export function queryUdp(up: Upstream, query: Buffer, timeoutMs: number, signal?: AbortSignal): Promise<Buffer> {
  return exchange(up, timeoutMs, `no answer within ${timeoutMs} ms`, signal, (finish) => {
    const id = randomInt(0, 0x10000);
    const out = Buffer.from(query);
    out.writeUInt16BE(id, 0);
    const sock = dgram.createSocket(net.isIPv6(up.host) ? 'udp6' : 'udp4');
    sock.on('error', (err) => finish(new UpstreamError(up, err.message)));
    sock.on('message', (msg) => {
      // A connected socket only receives from the upstream; also insist on our id and the response bit.
      if (msg.length >= 12 && msg.readUInt16BE(0) === id && (msg[2]! & 0x80) !== 0) {
        msg.writeUInt16BE(query.readUInt16BE(0), 0);
        finish(undefined, msg);
      }
    });
    sock.connect(up.port, up.host, () => sock.send(out, (err) => err && finish(new UpstreamError(up, err.message))));
    return { close: () => sock.close() };
  });
}

/** Sends a raw query to one upstream over TCP (2-byte length framing); resolves with the raw answer. */
export function queryTcp(up: Upstream, query: Buffer, timeoutMs: number, signal?: AbortSignal): Promise<Buffer> {
  return exchange(up, timeoutMs, `no TCP answer within ${timeoutMs} ms`, signal, (finish) => {
    const sock = net.connect({ host: up.host, port: up.port });
    let buf = Buffer.alloc(0);
    sock.on('error', (err) => finish(new UpstreamError(up, err.message)));
    sock.on('close', () => finish(new UpstreamError(up, 'connection closed before an answer')));
    sock.on('connect', () => {
      const len = Buffer.alloc(2);
      len.writeUInt16BE(query.length);
      sock.write(Buffer.concat([len, query]));
    });
    sock.on('data', (chunk) => {
      buf = Buffer.concat([buf, chunk]);
      if (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) finish(undefined, buf.subarray(2, 2 + buf.readUInt16BE(0)));
    });
    return { close: () => sock.destroy() };
  });
}

/**
 * Tries the upstreams in order; resolves with the first answer (the query's id preserved), or throws the list of
 * failures. `tcp`: the client asked over TCP, so a truncated UDP answer is retried over TCP.
 */
export async function forwardQuery(
  upstreams: readonly Upstream[],
  query: Buffer,
  o: { timeoutMs: number; tcp: boolean; signal?: AbortSignal },
): Promise<Buffer> {
  const failures: Error[] = [];
  for (const up of upstreams) {
    if (o.signal?.aborted) break;
    try {
      const answer = await queryUdp(up, query, o.timeoutMs, o.signal);
      const truncated = (answer[2]! & 0x02) !== 0;
      if (truncated && o.tcp) return await queryTcp(up, query, o.timeoutMs, o.signal);
      return answer;
    } catch (err) {
      failures.push(err as Error);
    }
  }
  throw new AggregateError(failures, upstreams.length ? failures.map((f) => f.message).join('; ') : 'no upstream nameservers configured');
}
