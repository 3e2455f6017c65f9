import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import zlib from 'node:zlib';
import { acceptKey, encodeFrame, WebSocketConnection } from './websocket.js';
import { channelMessage, parseChannelMessage, parseResize, pickProtocol, REMOTE_COMMAND_PROTOCOLS, statusPayload } from './channel.js';
import { decodeHeaderBlock, encodeControlFrame, encodeDataFrame, encodeHeaderBlock, FrameParser, SPDY_DICTIONARY, SpdySession, FrameType } from './spdy.js';

describe('WebSocket framing', () => {
  test('accept key matches RFC 6455 §1.3 example', () => {
    assert.equal(acceptKey('dGhlIHNhbXBsZSBub25jZQ=='), 's3pPLMBiTxaQ9kYGzzhZRbK+xOo=');
  });

  test('server reads masked, fragmented client frames, answers pings, echoes close', async () => {
    const sock = new PassThrough();
    const written: Buffer[] = [];
    const fake = Object.assign(sock, { write: (b: Buffer) => { written.push(b); return true; } });
    const ws = new WebSocketConnection(fake as never, 'server');
    const msgs: Buffer[] = [];
    ws.on('message', (m: Buffer) => msgs.push(m));
    const big = Buffer.alloc(70_000, 7);
    ws.feed(Buffer.concat([encodeFrame(0x2, Buffer.from([1, 2]), true, false), encodeFrame(0x0, Buffer.from([3]), true, true)]));
    const bigFrame = encodeFrame(0x2, big, true);
    ws.feed(bigFrame.subarray(0, 10));
    assert.equal(msgs.length, 1);
    ws.feed(bigFrame.subarray(10));
    assert.deepEqual(msgs, [Buffer.from([1, 2, 3]), big]);
    ws.feed(encodeFrame(0x9, Buffer.from('p'), true));
    assert.deepEqual(written.at(-1), Buffer.from([0x8a, 1, 0x70]));
    const closed = new Promise((r) => ws.once('close', (code: number) => r(code)));
    ws.feed(encodeFrame(0x8, Buffer.from([0x03, 0xe8]), true));
    assert.equal(await closed, 1000);
  });

  test('an unmasked client frame is a protocol error', async () => {
    const sock = new PassThrough();
    const ws = new WebSocketConnection(sock, 'server');
    const closed = new Promise((r) => ws.once('close', (code: number) => r(code)));
    ws.feed(encodeFrame(0x2, Buffer.from('x'), false));
    assert.equal(await closed, 1002);
  });
});

describe('channel protocol', () => {
  test('framing, resize and protocol choice', () => {
    assert.deepEqual(channelMessage(1, 'hi'), Buffer.from([1, 0x68, 0x69]));
    assert.deepEqual(parseChannelMessage(Buffer.from([4, 0x7b, 0x7d])), { channel: 4, data: Buffer.from('{}') });
    assert.deepEqual(parseResize('{"Width":100,"Height":30}\n'), { width: 100, height: 30 });
    assert.equal(parseResize('nope'), undefined);
    assert.equal(pickProtocol(['v4.channel.k8s.io', 'v5.channel.k8s.io'], REMOTE_COMMAND_PROTOCOLS), 'v5.channel.k8s.io');
    assert.equal(pickProtocol(['base64.channel.k8s.io'], REMOTE_COMMAND_PROTOCOLS), undefined);
  });

  test('status payloads as kubectl decodes them', () => {
    assert.deepEqual(JSON.parse(statusPayload({ exitCode: 0 }, 5).toString()), { metadata: {}, status: 'Success' });
    const f = JSON.parse(statusPayload({ exitCode: 3, command: ['false'] }, 4).toString());
    assert.equal(f.reason, 'NonZeroExitCode');
    assert.deepEqual(f.details.causes, [{ reason: 'ExitCode', message: '3' }]);
    assert.equal(statusPayload({ exitCode: 0 }, 2).length, 0);
    assert.match(statusPayload({ error: 'boom' }, 3).toString(), /^boom$/);
  });
});

describe('SPDY/3.1 framing', () => {
  test('the header dictionary has the spec length and a stable Adler-32', () => {
    assert.equal(SPDY_DICTIONARY.length, 1423);
    // A block compressed with it names the dictionary id in the zlib header (FDICT) and inflates back.
    const c = zlib.deflateSync(encodeHeaderBlock({ streamtype: 'data' }), { dictionary: SPDY_DICTIONARY });
    assert.equal(c[1]! & 0x20, 0x20);
    assert.deepEqual(decodeHeaderBlock(zlib.inflateSync(c, { dictionary: SPDY_DICTIONARY })), { streamtype: 'data' });
  });

  test('frames split across reads are reassembled', () => {
    const p = new FrameParser();
    const bytes = Buffer.concat([encodeControlFrame(FrameType.PING, 0, Buffer.from([0, 0, 0, 1])), encodeDataFrame(5, 1, Buffer.from('abc'))]);
    assert.deepEqual(p.push(bytes.subarray(0, 5)), []);
    const frames = p.push(bytes.subarray(5));
    assert.equal(frames.length, 2);
    assert.deepEqual([frames[0]!.control, frames[0]!.type], [true, FrameType.PING]);
    assert.deepEqual([frames[1]!.streamId, frames[1]!.flags, frames[1]!.data.toString()], [5, 1, 'abc']);
  });

  test('client and server sessions exchange headers (shared zlib context), data, FIN and pings', async () => {
    const a = new PassThrough();
    const b = new PassThrough();
    const client = new SpdySession({ write: (x: Buffer) => a.write(x), end: () => a.end(), destroy: () => a.destroy() }, 'client');
    const server = new SpdySession({ write: (x: Buffer) => b.write(x), end: () => b.end(), destroy: () => b.destroy() }, 'server');
    a.on('data', (d: Buffer) => server.receive(d));
    b.on('data', (d: Buffer) => client.receive(d));
    server.on('stream', (s) => {
      void s.reply({ ok: s.headers['n'] ?? '' });
      s.on('data', (d: Buffer) => s.write(Buffer.from(d.toString().toUpperCase())));
      s.on('end', () => s.end());
    });
    for (const n of ['1', '2', '3']) {
      const s = client.openStream({ streamtype: 'data', n });
      let got = '';
      s.on('data', (d: Buffer) => { got += d; });
      s.end(`hello ${n}`);
      assert.deepEqual(await s.replied, { ok: n });
      await new Promise((r) => s.on('end', r));
      assert.equal(got, `HELLO ${n}`);
    }
    const pong = new Promise((r) => client.once('pong', r));
    client.ping(7);
    assert.equal(await pong, 7);
  });
});
