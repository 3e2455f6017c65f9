/**
 * SPDY/3.1 framing and a small session, written from the draft-mbelshe-httpbis-spdy / SPDY/3.1 spec: what kubectl
 * (through client-go's spdystream) speaks for `exec`/`attach` before 1.30 and for `port-forward` — there over raw TCP
 * after an `Upgrade: SPDY/3.1` (plain) or as binary WebSocket messages (`SPDY/3.1+portforward.k8s.io`, 1.31+).
 *
 * Frames: control frames (SYN_STREAM, SYN_REPLY, RST_STREAM, SETTINGS, PING, GOAWAY, HEADERS, WINDOW_UPDATE) and
 * DATA frames. Header blocks are zlib-compressed with the SPDY/3 dictionary, one compression context per direction
 * for the whole session, each block flushed with Z_SYNC_FLUSH. Streams are Node Duplexes, so a stream pipes straight
 * into a container's stdio or a port-forward socket. Flow control: we announce what we consumed with per-stream
 * WINDOW_UPDATEs; like spdystream we do not stall our own sends on the peer's window.
 */
import { EventEmitter } from 'node:events';
import { Duplex } from 'node:stream';
import zlib from 'node:zlib';

/** Control frame types (SPDY/3 §2.6). */
export const FrameType = {
  SYN_STREAM: 1,
  SYN_REPLY: 2,
  RST_STREAM: 3,
  SETTINGS: 4,
  PING: 6,
  GOAWAY: 7,
  HEADERS: 8,
  WINDOW_UPDATE: 9,
} as const;

export const FLAG_FIN = 0x01;
export const FLAG_UNIDIRECTIONAL = 0x02;

/** RST_STREAM status codes used here. */
export const RstStatus = { PROTOCOL_ERROR: 1, INVALID_STREAM: 2, REFUSED_STREAM: 3, CANCEL: 5, INTERNAL_ERROR: 6 } as const;

const HEADER_WORDS = [
  'options', 'head', 'post', 'put', 'delete', 'trace', 'accept', 'accept-charset', 'accept-encoding', 'accept-language',
  'accept-ranges', 'age', 'allow', 'authorization', 'cache-control', 'connection', 'content-base', 'content-encoding',
  'content-language', 'content-length', 'content-location', 'content-md5', 'content-range', 'content-type', 'date',
  'etag', 'expect', 'expires', 'from', 'host', 'if-match', 'if-modified-since', 'if-none-match', 'if-range',
  'if-unmodified-since', 'last-modified', 'location', 'max-forwards', 'pragma', 'proxy-authenticate',
  'proxy-authorization', 'range', 'referer', 'retry-after', 'server', 'te', 'trailer', 'transfer-encoding', 'upgrade',
  'user-agent', 'vary', 'via', 'warning', 'www-authenticate', 'method', 'get', 'status', '200 OK', 'version',
  'HTTP/1.1', 'url', 'public', 'set-cookie', 'keep-alive', 'origin',
];
const HEADER_TAIL =
  '100101201202205206300302303304305306307402405406407408409410411412413414415416417502504505' +
  '203 Non-Authoritative Information204 No Content301 Moved Permanently400 Bad Request401 Unauthorized' +
  '403 Forbidden404 Not Found500 Internal Server Error501 Not Implemented503 Service Unavailable' +
  'Jan Feb Mar Apr May Jun Jul Aug Sept Oct Nov Dec 00:00:00 Mon, Tue, Wed, Thu, Fri, Sat, Sun, GMT' +
  'chunked,text/html,image/png,image/jpg,image/gif,application/xml,application/xhtml+xml,text/plain,' +
  'text/javascript,publicprivatemax-age=gzip,deflate,sdchcharset=utf-8charset=iso-8859-1,utf-,*,enq=0.';

/**
 * The zlib dictionary of SPDY/3 header compression (spec §2.6.10.1): the common header words, each prefixed with its
 * 32-bit length, then a run of common values.
 */
export const SPDY_DICTIONARY: Buffer = (() => {
  const parts: Buffer[] = [];
  for (const w of HEADER_WORDS) {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(w.length);
    parts.push(len, Buffer.from(w, 'latin1'));
  }
  parts.push(Buffer.from(HEADER_TAIL, 'latin1'));
  return Buffer.concat(parts);
})();

/** SPDY header names are lower case; a value may hold several values separated by NUL. */
export type SpdyHeaders = Record<string, string>;

/** Serialises a header block before compression (§2.6.10): count, then length-prefixed names and values. */
export function encodeHeaderBlock(headers: SpdyHeaders): Buffer {
  const entries = Object.entries(headers);
  const parts: Buffer[] = [u32(entries.length)];
  for (const [k, v] of entries) {
    const name = Buffer.from(k.toLowerCase());
    const value = Buffer.from(v);
    parts.push(u32(name.length), name, u32(value.length), value);
  }
  return Buffer.concat(parts);
}

/** Parses a decompressed header block; repeated values come back NUL-joined as they were sent. */
export function decodeHeaderBlock(buf: Buffer): SpdyHeaders {
  const out: SpdyHeaders = {};
  if (buf.length < 4) throw new Error('SPDY header block too short');
  const n = buf.readUInt32BE(0);
  let off = 4;
  for (let i = 0; i < n; i++) {
    const nl = buf.readUInt32BE(off);
    const name = buf.subarray(off + 4, off + 4 + nl).toString();
    off += 4 + nl;
    const vl = buf.readUInt32BE(off);
    const value = buf.subarray(off + 4, off + 4 + vl).toString();
    off += 4 + vl;
    out[name.toLowerCase()] = value;
  }
  return out;
}

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n >>> 0);
  return b;
}

/**
 * One direction's zlib context. Both compression and decompression run in order (a promise chain), because every
 * header block of a session continues the same zlib stream.
 */
class ZContext {
  private chain: Promise<unknown> = Promise.resolve();
  private out: Buffer[] = [];
  private readonly z: zlib.Deflate | zlib.Inflate;

  constructor(kind: 'deflate' | 'inflate') {
    this.z = kind === 'deflate' ? zlib.createDeflate({ dictionary: SPDY_DICTIONARY }) : zlib.createInflate({ dictionary: SPDY_DICTIONARY });
    this.z.on('data', (d: Buffer) => this.out.push(d));
    this.z.on('error', () => { /* surfaced through the pending run() */ });
  }

  run(input: Buffer): Promise<Buffer> {
    const next = this.chain.then(() => new Promise<Buffer>((resolve, reject) => {
      const onError = (e: Error) => reject(e);
      this.z.once('error', onError);
      this.z.write(input);
      this.z.flush(zlib.constants.Z_SYNC_FLUSH, () => {
        // 'data' for the flushed bytes is emitted before the flush callback; one tick more covers buffered reads.
        setImmediate(() => {
          this.z.off('error', onError);
          const b = Buffer.concat(this.out);
          this.out = [];
          resolve(b);
        });
      });
    }));
    this.chain = next.catch(() => undefined);
    return next;
  }

  close(): void {
    this.z.close();
  }
}

/** A parsed frame, before header decompression. */
export interface RawFrame {
  control: boolean;
  /** Control frames: the type; data frames: 0. */
  type: number;
  flags: number;
  /** Data frames: the stream id; control frames: 0 (the id, when there is one, is in `data`). */
  streamId: number;
  data: Buffer;
}

/** Encodes a control frame (version 3). */
export function encodeControlFrame(type: number, flags: number, body: Buffer): Buffer {
  const h = Buffer.alloc(8);
  h.writeUInt16BE(0x8000 | 3, 0);
  h.writeUInt16BE(type, 2);
  h.writeUInt32BE(((flags & 0xff) << 24 | body.length) >>> 0, 4);
  return Buffer.concat([h, body]);
}

/** Encodes a DATA frame. */
export function encodeDataFrame(streamId: number, flags: number, data: Buffer): Buffer {
  const h = Buffer.alloc(8);
  h.writeUInt32BE(streamId & 0x7fffffff, 0);
  h.writeUInt32BE(((flags & 0xff) << 24 | data.length) >>> 0, 4);
  return Buffer.concat([h, data]);
}

/** Incremental frame parser: push bytes, get whole frames. */
export class FrameParser {
  private buf: Buffer = Buffer.alloc(0);

  push(chunk: Buffer): RawFrame[] {
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    const frames: RawFrame[] = [];
    while (this.buf.length >= 8) {
      const len = this.buf.readUInt32BE(4) & 0xffffff;
      if (this.buf.length < 8 + len) break;
      const control = (this.buf[0]! & 0x80) !== 0;
      const flags = this.buf[4]!;
      const data = this.buf.subarray(8, 8 + len);
      if (control) {
        const version = this.buf.readUInt16BE(0) & 0x7fff;
        if (version !== 3) throw new Error(`unsupported SPDY version ${version}`);
        frames.push({ control, type: this.buf.readUInt16BE(2), flags, streamId: 0, data });
      } else {
        frames.push({ control, type: 0, flags, streamId: this.buf.readUInt32BE(0) & 0x7fffffff, data });
      }
      this.buf = this.buf.subarray(8 + len);
    }
    return frames;
  }
}

/** One SPDY stream as a Duplex: writes become DATA frames, `end()` sends FIN, the peer's FIN ends the readable side. */
export class SpdyStream extends Duplex {
  /** Resolves with the peer's SYN_REPLY headers (streams we opened). */
  readonly replied: Promise<SpdyHeaders>;
  private resolveReply!: (h: SpdyHeaders) => void;
  private localFin = false;
  remoteFin = false;

  constructor(
    private readonly session: SpdySession,
    readonly id: number,
    readonly headers: SpdyHeaders,
  ) {
    super({ allowHalfOpen: true });
    this.replied = new Promise((r) => { this.resolveReply = r; });
    this.replied.catch(() => undefined);
  }

  /** Sends SYN_REPLY (for a stream the peer opened). */
  reply(headers: SpdyHeaders = {}, fin = false): Promise<void> {
    if (fin) this.localFin = true;
    return this.session.sendHeaders(FrameType.SYN_REPLY, this.id, headers, fin ? FLAG_FIN : 0);
  }

  /** Aborts the stream with RST_STREAM. */
  reset(status: number = RstStatus.CANCEL): void {
    this.session.sendRst(this.id, status);
    this.localFin = true;
    this.onRemoteFin();
    this.destroy();
  }

  override _read(): void { /* data is pushed as frames arrive */ }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    if (this.localFin) return cb();
    this.session.sendData(this.id, chunk, 0);
    cb();
  }

  override _final(cb: (err?: Error | null) => void): void {
    if (!this.localFin) {
      this.localFin = true;
      this.session.sendData(this.id, Buffer.alloc(0), FLAG_FIN);
    }
    cb();
    this.maybeDone();
  }

  /** @internal frame delivery from the session. */
  onData(data: Buffer): void {
    if (data.length) this.push(data);
  }

  /** @internal */
  onRemoteFin(): void {
    if (this.remoteFin) return;
    this.remoteFin = true;
    this.push(null);
    this.maybeDone();
  }

  /** @internal */
  onReply(h: SpdyHeaders): void {
    this.resolveReply(h);
  }

  private maybeDone(): void {
    if (this.remoteFin && this.localFin) this.session.forget(this.id);
  }
}

/**
 * A SPDY/3.1 session over a byte stream. `role` decides stream id parity (client odd, server even). Events:
 * `stream` (SpdyStream, for each SYN_STREAM from the peer), `close` (once the transport is gone), `error`.
 */
export class SpdySession extends EventEmitter {
  private readonly parser = new FrameParser();
  private readonly deflate = new ZContext('deflate');
  private readonly inflate = new ZContext('inflate');
  private readonly streams = new Map<number, SpdyStream>();
  /** Incoming frames are handled strictly in order (header decompression is asynchronous). */
  private inbound: Promise<void> = Promise.resolve();
  /** Outgoing frames keep their order too (a SYN_REPLY must precede the stream's DATA). */
  private outbound: Promise<void> = Promise.resolve();
  private nextId: number;
  private lastPeerStream = 0;
  private closed = false;

  constructor(
    private readonly transport: { write(b: Buffer): unknown; end(): unknown; destroy(): unknown },
    readonly role: 'client' | 'server',
  ) {
    super();
    this.nextId = role === 'client' ? 1 : 2;
  }

  /** Feeds bytes read from the transport. */
  receive(chunk: Buffer): void {
    let frames: RawFrame[];
    try {
      frames = this.parser.push(chunk);
    } catch (e) {
      this.fail(e as Error);
      return;
    }
    for (const f of frames) {
      this.inbound = this.inbound.then(() => this.handle(f)).catch((e) => this.fail(e as Error));
    }
  }

  /** Called by the owner when the transport closed; frames already received are still delivered first. */
  transportClosed(): void {
    void this.inbound.then(() => this.shutdown());
  }

  private shutdown(): void {
    if (this.closed) return;
    this.closed = true;
    for (const s of this.streams.values()) {
      s.onRemoteFin();
      s.destroy();
    }
    this.streams.clear();
    this.deflate.close();
    this.inflate.close();
    this.emit('close');
  }

  /** Opens a stream (client side: port-forward/exec streams in tests). */
  openStream(headers: SpdyHeaders, fin = false): SpdyStream {
    const id = this.nextId;
    this.nextId += 2;
    const s = new SpdyStream(this, id, headers);
    this.streams.set(id, s);
    const body = Buffer.alloc(10);
    body.writeUInt32BE(id, 0);
    body.writeUInt32BE(0, 4);
    body.writeUInt16BE(0, 8);
    this.queue(async () => {
      const block = await this.deflate.run(encodeHeaderBlock(headers));
      return encodeControlFrame(FrameType.SYN_STREAM, fin ? FLAG_FIN : 0, Buffer.concat([body, block]));
    });
    return s;
  }

  /** Sends GOAWAY and ends the transport once everything queued is written. */
  goAway(): Promise<void> {
    const body = Buffer.alloc(8);
    body.writeUInt32BE(this.lastPeerStream, 0);
    body.writeUInt32BE(0, 4);
    this.queue(async () => encodeControlFrame(FrameType.GOAWAY, 0, body));
    return this.outbound.then(() => { this.transport.end(); });
  }

  /** Sends a PING (client ids odd, server even) — for tests; peers' pings are echoed automatically. */
  ping(id: number): void {
    this.queue(async () => encodeControlFrame(FrameType.PING, 0, u32(id)));
  }

  /** @internal */
  sendHeaders(type: number, streamId: number, headers: SpdyHeaders, flags: number): Promise<void> {
    return this.queue(async () => {
      const block = await this.deflate.run(encodeHeaderBlock(headers));
      return encodeControlFrame(type, flags, Buffer.concat([u32(streamId), block]));
    });
  }

  /** @internal */
  sendData(streamId: number, data: Buffer, flags: number): void {
    // Large writes are split so one stream cannot hog the connection with a single 16 MiB frame (max length).
    const max = 32 * 1024;
    if (data.length <= max) {
      this.queue(async () => encodeDataFrame(streamId, flags, data));
      return;
    }
    for (let off = 0; off < data.length; off += max) {
      const last = off + max >= data.length;
      const part = data.subarray(off, off + max);
      this.queue(async () => encodeDataFrame(streamId, last ? flags : 0, part));
    }
  }

  /** @internal */
  sendRst(streamId: number, status: number): void {
    const body = Buffer.alloc(8);
    body.writeUInt32BE(streamId, 0);
    body.writeUInt32BE(status, 4);
    this.queue(async () => encodeControlFrame(FrameType.RST_STREAM, 0, body));
  }

  /** @internal */
  forget(id: number): void {
    this.streams.delete(id);
  }

  private queue(make: () => Promise<Buffer>): Promise<void> {
    const p = this.outbound.then(async () => {
      if (this.closed) return;
      const frame = await make();
      if (!this.closed) this.transport.write(frame);
    });
    this.outbound = p.catch((e) => this.fail(e as Error));
    return this.outbound;
  }

  private async handle(f: RawFrame): Promise<void> {
    if (this.closed) return;
    if (!f.control) {
      const s = this.streams.get(f.streamId);
      if (!s) {
        this.sendRst(f.streamId, RstStatus.INVALID_STREAM);
        return;
      }
      s.onData(f.data);
      if (f.data.length) {
        const body = Buffer.alloc(8);
        body.writeUInt32BE(f.streamId, 0);
        body.writeUInt32BE(f.data.length, 4);
        this.queue(async () => encodeControlFrame(FrameType.WINDOW_UPDATE, 0, body));
      }
      if (f.flags & FLAG_FIN) s.onRemoteFin();
      return;
    }
    switch (f.type) {
      case FrameType.SYN_STREAM: {
        const id = f.data.readUInt32BE(0) & 0x7fffffff;
        const headers = decodeHeaderBlock(await this.inflate.run(f.data.subarray(10)));
        this.lastPeerStream = Math.max(this.lastPeerStream, id);
        const s = new SpdyStream(this, id, headers);
        this.streams.set(id, s);
        this.emit('stream', s);
        if (f.flags & FLAG_FIN) s.onRemoteFin();
        return;
      }
      case FrameType.SYN_REPLY:
      case FrameType.HEADERS: {
        const id = f.data.readUInt32BE(0) & 0x7fffffff;
        const headers = decodeHeaderBlock(await this.inflate.run(f.data.subarray(4)));
        const s = this.streams.get(id);
        if (f.type === FrameType.SYN_REPLY) s?.onReply(headers);
        if (s && f.flags & FLAG_FIN) s.onRemoteFin();
        return;
      }
      case FrameType.RST_STREAM: {
        const id = f.data.readUInt32BE(0) & 0x7fffffff;
        const s = this.streams.get(id);
        if (s) {
          this.streams.delete(id);
          s.onRemoteFin();
          s.destroy();
        }
        return;
      }
      case FrameType.PING: {
        const id = f.data.readUInt32BE(0);
        // Echo the peer's pings (their parity differs from ours); ours coming back are answers.
        const peerParity = this.role === 'server' ? 1 : 0;
        if (id % 2 === peerParity) this.queue(async () => encodeControlFrame(FrameType.PING, 0, Buffer.from(f.data)));
        else this.emit('pong', id);
        return;
      }
      case FrameType.GOAWAY:
        this.emit('goaway');
        return;
      case FrameType.SETTINGS:
      case FrameType.WINDOW_UPDATE:
      default:
        return;
    }
  }

  private fail(err: Error): void {
    if (this.closed) return;
    if (this.listenerCount('error')) this.emit('error', err);
    this.transport.destroy();
    this.shutdown();
  }
}
