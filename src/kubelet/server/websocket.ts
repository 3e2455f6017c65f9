/**
 * A minimal RFC 6455 WebSocket endpoint over any Duplex: the handshake (`Sec-WebSocket-Accept`), message framing
 * with fragmentation, masking, ping/pong and close. It is all the streaming server needs — binary channel messages
 * for `v5.channel.k8s.io` exec/attach and the SPDY-in-WebSocket tunnel of port-forward — and it is small enough to
 * own: the `ws` package is only a transitive dev dependency here, and the kubelet must answer kubectl's 5 s pings
 * (client-go's read deadline is 61 s, extended by pongs) exactly as the upstream server (gorilla/websocket) does.
 */
import { createHash } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';

const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';
const OP_CONT = 0x0;
const OP_TEXT = 0x1;
const OP_BINARY = 0x2;
const OP_CLOSE = 0x8;
const OP_PING = 0x9;
const OP_PONG = 0xa;
/** A message larger than this closes the connection with 1009, as upstream servers bound read size. */
const MAX_MESSAGE = 64 * 1024 * 1024;

/** The `Sec-WebSocket-Accept` value for a client key (RFC 6455 §4.2.2). */
export function acceptKey(key: string): string {
  return createHash('sha1').update(key + GUID).digest('base64');
}

/** True when the request asks for a WebSocket upgrade. */
export function isWebSocketRequest(req: IncomingMessage): boolean {
  return (req.headers.upgrade ?? '').toLowerCase() === 'websocket';
}

/** The subprotocols offered in `Sec-WebSocket-Protocol` (possibly several headers, comma separated). */
export function offeredProtocols(req: IncomingMessage): string[] {
  const raw = req.headers['sec-websocket-protocol'];
  const all = Array.isArray(raw) ? raw.join(',') : raw ?? '';
  return all.split(',').map((s) => s.trim()).filter(Boolean);
}

/**
 * Completes the server side of the handshake with `protocol` (already chosen by the caller) and returns the open
 * connection. `head` is what the HTTP parser read past the request headers.
 */
export function acceptWebSocket(req: IncomingMessage, socket: Duplex, head: Buffer, protocol: string | undefined): WebSocketConnection {
  const key = req.headers['sec-websocket-key'];
  if (typeof key !== 'string' || !key) throw new Error('missing Sec-WebSocket-Key');
  const lines = [
    'HTTP/1.1 101 Switching Protocols',
    'Upgrade: websocket',
    'Connection: Upgrade',
    `Sec-WebSocket-Accept: ${acceptKey(key)}`,
  ];
  if (protocol) lines.push(`Sec-WebSocket-Protocol: ${protocol}`);
  socket.write(lines.join('\r\n') + '\r\n\r\n');
  const ws = new WebSocketConnection(socket, 'server');
  if (head.length) ws.feed(head);
  return ws;
}

/** One encoded frame; client frames are masked (RFC 6455 §5.3), server frames are not. */
export function encodeFrame(opcode: number, payload: Buffer, mask: boolean, fin = true): Buffer {
  const len = payload.length;
  const extra = len < 126 ? 0 : len < 65536 ? 2 : 8;
  const header = Buffer.alloc(2 + extra + (mask ? 4 : 0));
  header[0] = (fin ? 0x80 : 0) | opcode;
  header[1] = (mask ? 0x80 : 0) | (len < 126 ? len : len < 65536 ? 126 : 127);
  if (extra === 2) header.writeUInt16BE(len, 2);
  else if (extra === 8) header.writeBigUInt64BE(BigInt(len), 2);
  if (!mask) return Buffer.concat([header, payload]);
  const key = header.subarray(2 + extra);
  for (let i = 0; i < 4; i++) key[i] = Math.floor(Math.random() * 256);
  const body = Buffer.alloc(len);
  for (let i = 0; i < len; i++) body[i] = payload[i]! ^ key[i & 3]!;
  return Buffer.concat([header, body]);
}

/**
 * An open WebSocket. Events: `message` (data: Buffer, binary: boolean), `close` (code: number, reason: string) —
 * emitted once, when the peer closed, the socket ended or a protocol error happened.
 */
export class WebSocketConnection extends EventEmitter {
  private buf: Buffer = Buffer.alloc(0);
  private fragments: Buffer[] = [];
  private fragmentOpcode = 0;
  private closeSent = false;
  private closed = false;

  constructor(
    readonly socket: Duplex,
    readonly role: 'server' | 'client',
  ) {
    super();
    socket.on('data', (d: Buffer) => this.feed(d));
    socket.on('end', () => this.finish(1006, 'connection ended'));
    socket.on('close', () => this.finish(1006, 'connection closed'));
    socket.on('error', () => this.finish(1006, 'connection error'));
  }

  get isOpen(): boolean {
    return !this.closed && !this.closeSent;
  }

  /** Sends one binary (default) or text message; dropped once closing. */
  send(data: Buffer | string, binary = typeof data !== 'string'): boolean {
    if (!this.isOpen) return false;
    const payload = typeof data === 'string' ? Buffer.from(data) : data;
    return this.socket.write(encodeFrame(binary ? OP_BINARY : OP_TEXT, payload, this.role === 'client'));
  }

  ping(data = Buffer.alloc(0)): void {
    if (this.isOpen) this.socket.write(encodeFrame(OP_PING, data, this.role === 'client'));
  }

  /** Starts the closing handshake; the socket ends when the peer answers (or at once if it is gone). */
  close(code = 1000, reason = ''): void {
    if (this.closeSent || this.closed) return;
    this.closeSent = true;
    const body = Buffer.alloc(2 + Buffer.byteLength(reason));
    body.writeUInt16BE(code, 0);
    body.write(reason, 2);
    this.socket.write(encodeFrame(OP_CLOSE, body, this.role === 'client'));
    // A peer that never answers the close frame must not keep the socket forever.
    setTimeout(() => this.socket.destroy(), 2000).unref();
  }

  /** Destroys the transport without a closing handshake. */
  terminate(): void {
    this.socket.destroy();
    this.finish(1006, 'terminated');
  }

  /** Parses bytes read from the transport (public so the handshake can hand over bytes read past the headers). */
  feed(chunk: Buffer): void {
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    while (!this.closed) {
      const b = this.buf;
      if (b.length < 2) return;
      const fin = (b[0]! & 0x80) !== 0;
      const opcode = b[0]! & 0x0f;
      const masked = (b[1]! & 0x80) !== 0;
      let len = b[1]! & 0x7f;
      let off = 2;
      if (len === 126) {
        if (b.length < 4) return;
        len = b.readUInt16BE(2);
        off = 4;
      } else if (len === 127) {
        if (b.length < 10) return;
        const big = b.readBigUInt64BE(2);
        if (big > BigInt(MAX_MESSAGE)) return this.fail(1009, 'message too big');
        len = Number(big);
        off = 10;
      }
      if (masked !== (this.role === 'server')) return this.fail(1002, masked ? 'masked server frame' : 'unmasked client frame');
      const maskKey = masked ? b.subarray(off, off + 4) : undefined;
      if (masked) off += 4;
      if (b.length < off + len) return;
      const payload = Buffer.from(b.subarray(off, off + len));
      if (maskKey) for (let i = 0; i < payload.length; i++) payload[i]! ^= maskKey[i & 3]!;
      this.buf = b.subarray(off + len);
      this.onFrame(fin, opcode, payload);
    }
  }

  private onFrame(fin: boolean, opcode: number, payload: Buffer): void {
    switch (opcode) {
      case OP_PING:
        if (!this.closed) this.socket.write(encodeFrame(OP_PONG, payload, this.role === 'client'));
        return;
      case OP_PONG:
        this.emit('pong', payload);
        return;
      case OP_CLOSE: {
        const code = payload.length >= 2 ? payload.readUInt16BE(0) : 1005;
        const reason = payload.length > 2 ? payload.subarray(2).toString('utf8') : '';
        if (!this.closeSent) {
          this.closeSent = true;
          this.socket.write(encodeFrame(OP_CLOSE, payload.subarray(0, 2), this.role === 'client'));
        }
        // The server closes the TCP connection first (RFC 6455 §7.1.1).
        if (this.role === 'server') this.socket.end();
        this.finish(code, reason);
        return;
      }
      case OP_TEXT:
      case OP_BINARY:
        if (this.fragments.length) return this.fail(1002, 'new message inside a fragmented one');
        if (fin) {
          this.emit('message', payload, opcode === OP_BINARY);
          return;
        }
        this.fragmentOpcode = opcode;
        this.fragments.push(payload);
        return;
      case OP_CONT: {
        if (!this.fragments.length) return this.fail(1002, 'continuation without a message');
        this.fragments.push(payload);
        if (!fin) return;
        const all = Buffer.concat(this.fragments);
        this.fragments = [];
        this.emit('message', all, this.fragmentOpcode === OP_BINARY);
        return;
      }
      default:
        this.fail(1002, `unknown opcode ${opcode}`);
    }
  }

  private fail(code: number, reason: string): void {
    this.close(code, reason);
    this.socket.end();
    this.finish(code, reason);
  }

  private finish(code: number, reason: string): void {
    if (this.closed) return;
    this.closed = true;
    this.emit('close', code, reason);
  }
}
