import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import net from 'node:net';
import { afterEach, test } from 'node:test';
import dnsPacket, { type Answer, type DecodedPacket, type Packet, type RecordType } from 'dns-packet';
import type { EndpointSlice } from 'kubernetes-types/discovery/v1.js';
import { DynamicClient, recordingLogger } from '../../client/index.js';
import { FakeApiServer } from '../../client/testing/fake-apiserver.js';
import { startClusterDns, type ClusterDnsOptions } from './index.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const S = 'svc.cluster.local';

async function setup(opts: Partial<ClusterDnsOptions> = {}) {
  const srv = await FakeApiServer.start();
  cleanups.push(() => srv.close());
  const client = new DynamicClient({ server: srv.url }, { rateLimit: false });
  cleanups.push(() => client.close());
  const putSvc = (ns: string, name: string, spec: object) => srv.put('v1', 'services', { metadata: { namespace: ns, name }, spec } as never);
  const putSlice = (ns: string, svc: string, name: string, ips: Array<string | [string, string]>, ports = [{ name: 'http', port: 8080, protocol: 'TCP' }]) =>
    srv.put('discovery.k8s.io/v1', 'endpointslices', {
      metadata: { namespace: ns, name, labels: { 'kubernetes.io/service-name': svc } },
      addressType: 'IPv4',
      ports,
      endpoints: ips.map((e) => (typeof e === 'string' ? { addresses: [e], conditions: { ready: true } } : { addresses: [e[1]], hostname: e[0], conditions: { ready: true } })),
    } as never);
  putSvc('default', 'web', { clusterIP: '10.43.0.20', ports: [{ name: 'http', port: 80, protocol: 'TCP' }] });
  putSvc('default', 'workers', { clusterIP: 'None', ports: [{ name: 'http', port: 8080 }] });
  putSlice('default', 'workers', 'workers-1', [['job-0', '10.42.0.5'], ['job-1', '10.42.1.5']]);
  const log = recordingLogger();
  const dns = await startClusterDns({ client, listen: [{ host: '127.0.0.1', port: 0 }], upstreams: [], log, ...opts });
  cleanups.push(() => dns.stop());
  return { srv, client, dns, port: dns.ports[0]!, log, putSvc, putSlice };
}

/** dns-packet decodes the response code, its types omit it. */
type Reply = DecodedPacket & { rcode: string };
const decode = (b: Buffer) => dnsPacket.decode(b) as Reply;

let nextId = 1;
function q(name: string, type: RecordType = 'A', extra: Partial<Packet> = {}): Packet {
  return { type: 'query', id: nextId++, flags: dnsPacket.RECURSION_DESIRED, questions: [{ name, type }], ...extra };
}

/** Sends raw bytes over UDP; resolves with the decoded answer, or undefined after `waitMs` of silence. */
function udpRaw(port: number, bytes: Buffer, waitMs = 5000): Promise<Reply | undefined> {
  return new Promise((resolve, reject) => {
    const s = dgram.createSocket('udp4');
    const t = setTimeout(() => {
      s.close();
      resolve(undefined);
    }, waitMs);
    s.on('message', (m) => {
      clearTimeout(t);
      s.close();
      try {
        resolve(decode(m));
      } catch (err) {
        reject(err);
      }
    });
    s.send(bytes, port, '127.0.0.1');
  });
}

async function udp(port: number, p: Packet): Promise<Reply> {
  const a = await udpRaw(port, dnsPacket.encode(p));
  assert.ok(a, 'no UDP answer');
  return a;
}

/** Sends several framed messages on one TCP connection; resolves with the answers in arrival order. */
function tcp(port: number, msgs: Buffer[], want = msgs.length): Promise<Reply[]> {
  return new Promise((resolve, reject) => {
    const sock = net.connect(port, '127.0.0.1');
    const out: Reply[] = [];
    let buf = Buffer.alloc(0);
    const t = setTimeout(() => {
      sock.destroy();
      reject(new Error(`only ${out.length}/${want} TCP answers`));
    }, 5000);
    sock.on('error', reject);
    sock.on('data', (c) => {
      buf = Buffer.concat([buf, c]);
      while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        out.push(decode(buf.subarray(2, 2 + buf.readUInt16BE(0))));
        buf = buf.subarray(2 + buf.readUInt16BE(0));
      }
      if (out.length >= want) {
        clearTimeout(t);
        sock.end();
        resolve(out);
      }
    });
    sock.write(Buffer.concat(msgs.map((m) => Buffer.concat([Buffer.from([m.length >> 8, m.length & 0xff]), m]))));
  });
}

const data = (a: DecodedPacket) => (a.answers ?? []).map((r: Answer) => (r.type === 'SRV' ? `${r.data.port} ${r.data.target}` : String((r as { data: unknown }).data))).sort();

async function eventually(cond: () => Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** A fake upstream nameserver: answers A for names in `zone`, NXDOMAIN otherwise; records the ids it saw. */
async function fakeUpstream(zone: Record<string, string>) {
  const s = dgram.createSocket('udp4');
  const ids: number[] = [];
  s.on('message', (m, r) => {
    const p = dnsPacket.decode(m);
    ids.push(p.id!);
    const name = p.questions![0]!.name;
    const ip = zone[name.toLowerCase()];
    const ans = dnsPacket.encode({
      type: 'response', id: p.id, flags: dnsPacket.RECURSION_AVAILABLE | (ip ? 0 : 3), questions: p.questions,
      answers: ip && p.questions![0]!.type === 'A' ? [{ type: 'A', name, ttl: 60, data: ip }] : [],
    });
    s.send(ans, r.port, r.address);
  });
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', r));
  cleanups.push(() => new Promise<void>((r) => s.close(() => r())));
  return { addr: `127.0.0.1:${s.address().port}`, ids };
}

/** An upstream whose UDP answers are truncated (TC, no records) and whose TCP answers carry `ip`. */
async function truncatingUpstream(ip: string, attempt = 0): Promise<string> {
  const u = dgram.createSocket('udp4');
  u.on('message', (m, r) => {
    const p = dnsPacket.decode(m);
    u.send(dnsPacket.encode({ type: 'response', id: p.id, flags: dnsPacket.TRUNCATED_RESPONSE, questions: p.questions }), r.port, r.address);
  });
  await new Promise<void>((r) => u.bind(0, '127.0.0.1', r));
  const port = u.address().port;
  const t = net.createServer((sock) => {
    sock.once('data', (buf) => {
      const p = dnsPacket.decode(buf.subarray(2));
      const ans = dnsPacket.encode({ type: 'response', id: p.id, questions: p.questions, answers: [{ type: 'A', name: p.questions![0]!.name, ttl: 60, data: ip }] });
      sock.end(Buffer.concat([Buffer.from([ans.length >> 8, ans.length & 0xff]), ans]));
    });
  });
  // The free UDP port may be taken for TCP: try again with another one.
  const listened = await new Promise<boolean>((resolve, reject) => {
    t.once('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'EADDRINUSE' && attempt < 10) return resolve(false);
      u.close(); // no handle may outlive the test file: a leaked socket keeps its process (and the test run) alive
      reject(e);
    });
    t.listen(port, '127.0.0.1', () => resolve(true));
  });
  if (!listened) {
    await new Promise<void>((r) => u.close(() => r()));
    return truncatingUpstream(ip, attempt + 1);
  }
  cleanups.push(() => new Promise<void>((r) => u.close(() => r())), () => new Promise<void>((r) => t.close(() => r())));
  return `127.0.0.1:${port}`;
}

/** A bound UDP socket that never answers (a dead upstream). */
async function silentUpstream() {
  const s = dgram.createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', r));
  cleanups.push(() => new Promise<void>((r) => s.close(() => r())));
  return `127.0.0.1:${s.address().port}`;
}

test('answers cluster names over UDP: ClusterIP, headless, hostname.subdomain, SRV, NXDOMAIN, AAAA NODATA', async () => {
  const { port } = await setup();
  const query = q(`web.default.${S}`);
  const a = await udp(port, query);
  assert.equal(a.id, query.id);
  assert.equal(a.rcode, 'NOERROR');
  assert.ok(a.flag_aa && a.flag_ra && a.flag_rd);
  assert.deepEqual(data(a), ['10.43.0.20']);
  assert.equal(a.answers![0]!.type === 'A' && a.answers![0]!.ttl, 5);

  assert.deepEqual(data(await udp(port, q(`workers.default.${S}`))), ['10.42.0.5', '10.42.1.5']);
  assert.deepEqual(data(await udp(port, q(`job-1.workers.default.${S}`))), ['10.42.1.5']);

  const srv = await udp(port, q(`_http._tcp.workers.default.${S}`, 'SRV'));
  assert.deepEqual(data(srv), [`8080 job-0.workers.default.${S}`, `8080 job-1.workers.default.${S}`]);
  assert.deepEqual((srv.additionals ?? []).map((r) => `${r.name} ${String((r as { data: unknown }).data)}`).sort(), [
    `job-0.workers.default.${S} 10.42.0.5`, `job-1.workers.default.${S} 10.42.1.5`,
  ]);

  const nx = await udp(port, q(`missing.default.${S}`));
  assert.equal(nx.rcode, 'NXDOMAIN');
  assert.equal(nx.authorities?.[0]?.type, 'SOA');

  const aaaa = await udp(port, q(`web.default.${S}`, 'AAAA'));
  assert.equal(aaaa.rcode, 'NOERROR');
  assert.deepEqual(aaaa.answers, []);
  assert.equal(aaaa.authorities?.[0]?.type, 'SOA');

  // EDNS0 is echoed.
  const edns = await udp(port, q(`web.default.${S}`, 'A', { additionals: [{ type: 'OPT', name: '.', udpPayloadSize: 4096, extendedRcode: 0, ednsVersion: 0, flags: 0, flag_do: false, options: [] }] }));
  assert.equal(edns.additionals?.[0]?.type, 'OPT');
});

test('serves several queries on one TCP connection', async () => {
  const { port } = await setup();
  const qs = [q(`web.default.${S}`), q(`job-0.workers.default.${S}`), q(`nope.default.${S}`)];
  const answers = await tcp(port, qs.map((p) => dnsPacket.encode(p)));
  const byId = new Map(answers.map((a) => [a.id, a]));
  assert.deepEqual(data(byId.get(qs[0]!.id!)!), ['10.43.0.20']);
  assert.deepEqual(data(byId.get(qs[1]!.id!)!), ['10.42.0.5']);
  assert.equal(byId.get(qs[2]!.id!)!.rcode, 'NXDOMAIN');
});

test('big UDP answers are truncated with TC; TCP carries them whole', async () => {
  const { port, putSvc, putSlice } = await setup();
  putSvc('default', 'many', { clusterIP: 'None', ports: [{ name: 'http', port: 8080 }] });
  putSlice('default', 'many', 'many-1', Array.from({ length: 60 }, (_, i) => `10.42.${i}.7`));
  await eventually(async () => data(await udp(port, q(`many.default.${S}`, 'A', { flags: 0 }))).length > 0, 'many resolves');
  const u = await udp(port, q(`many.default.${S}`));
  assert.equal(u.flag_tc, true);
  assert.ok(dnsPacket.encode(u).length <= 512);
  const [t] = await tcp(port, [dnsPacket.encode(q(`many.default.${S}`))]);
  assert.equal(t!.flag_tc, false);
  assert.equal(t!.answers!.length, 60);
});

test('answers follow Service and EndpointSlice changes', async () => {
  const { port, srv, putSvc, putSlice } = await setup();
  putSvc('team', 'late', { clusterIP: '10.43.0.99', ports: [{ name: 'http', port: 80 }] });
  await eventually(async () => data(await udp(port, q(`late.team.${S}`))).join() === '10.43.0.99', 'new service');
  putSlice('default', 'workers', 'workers-1', [['job-0', '10.42.0.5'], ['job-1', '10.42.1.5'], ['job-2', '10.42.2.5']]);
  await eventually(async () => data(await udp(port, q(`job-2.workers.default.${S}`))).join() === '10.42.2.5', 'new endpoint');
  srv.remove('v1', 'services', 'team', 'late');
  await eventually(async () => (await udp(port, q(`late.team.${S}`))).rcode === 'NXDOMAIN', 'service gone');
});

test('forwards other names upstream, preserving the id and skipping a dead upstream', async () => {
  const dead = await silentUpstream();
  const up = await fakeUpstream({ 'example.com': '93.184.216.34', 'target.example': '198.51.100.7' });
  const { port, putSvc } = await setup({ upstreams: [dead, up.addr], upstreamTimeoutMs: 300 });
  const query = q('example.com');
  const a = await udp(port, query);
  assert.equal(a.id, query.id);
  assert.deepEqual(data(a), ['93.184.216.34']);
  assert.ok(up.ids.length === 1 && up.ids[0] !== undefined);
  const nx = await udp(port, q('nothing.example'));
  assert.equal(nx.rcode, 'NXDOMAIN');
  // Over TCP too.
  const [t] = await tcp(port, [dnsPacket.encode(q('example.com'))]);
  assert.deepEqual(data(t!), ['93.184.216.34']);
  // An ExternalName's target outside the zone is resolved upstream and appended to the CNAME.
  putSvc('default', 'ext', { type: 'ExternalName', externalName: 'target.example' });
  await eventually(async () => (await udp(port, q(`ext.default.${S}`))).rcode === 'NOERROR', 'ExternalName');
  const ext = await udp(port, q(`ext.default.${S}`));
  assert.deepEqual(ext.answers!.map((r) => `${r.type} ${String((r as { data: unknown }).data)}`), ['CNAME target.example', 'A 198.51.100.7']);
});

test('a truncated upstream answer goes back to UDP clients as is and is fetched over TCP for TCP clients', async () => {
  const { port } = await setup({ upstreams: [await truncatingUpstream('203.0.113.9')] });
  const u = await udp(port, q('big.example'));
  assert.equal(u.flag_tc, true);
  const [t] = await tcp(port, [dnsPacket.encode(q('big.example'))]);
  assert.equal(t!.flag_tc, false);
  assert.deepEqual(data(t!), ['203.0.113.9']);
});

test('answers SERVFAIL when every upstream fails', async () => {
  const dead = await silentUpstream();
  const { port, log } = await setup({ upstreams: [dead], upstreamTimeoutMs: 200 });
  const a = await udp(port, q('example.org'));
  assert.equal(a.rcode, 'SERVFAIL');
  assert.ok(log.records.some((r) => r.level === 'warn' && /upstream/.test(r.msg ?? '')));
});

test('malformed packets get FORMERR or silence and never stop the server', async () => {
  const { port } = await setup();
  assert.equal(await udpRaw(port, Buffer.from([1, 2, 3, 4, 5]), 300), undefined, 'a runt gets no answer');
  // A header announcing one question with no question bytes: undecodable, header readable → FORMERR.
  const bad = Buffer.from([0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0]);
  const f = await udpRaw(port, bad);
  assert.equal(f?.id, 0x1234);
  assert.equal(f?.rcode, 'FORMERR');
  // A response sent to the server is ignored.
  const resp = dnsPacket.encode({ type: 'response', id: 9, questions: [{ name: 'x', type: 'A' }] });
  assert.equal(await udpRaw(port, resp, 300), undefined);
  // Two questions → FORMERR.
  const two = await udp(port, { type: 'query', id: 77, questions: [{ name: `web.default.${S}`, type: 'A' }, { name: 'b', type: 'A' }] });
  assert.equal(two.rcode, 'FORMERR');
  // Garbage on TCP is answered and the connection keeps serving.
  const answers = await tcp(port, [bad, dnsPacket.encode(q(`web.default.${S}`))]);
  assert.deepEqual(answers.map((a) => a.rcode).sort(), ['FORMERR', 'NOERROR']);
  assert.deepEqual(data(await udp(port, q(`web.default.${S}`))), ['10.43.0.20']);
});

test('registerEndpoint keeps the kube-dns EndpointSlice and deletes it on stop', async () => {
  const { srv, dns } = await setup({ registerEndpoint: { nodeName: 'node-a', address: '10.42.3.1' } });
  const read = () => srv.read('discovery.k8s.io/v1', 'endpointslices', 'kube-system', 'kube-dns-node-a') as EndpointSlice | undefined;
  await eventually(async () => read() !== undefined, 'slice created');
  const s = read()!;
  assert.equal(s.metadata?.labels?.['kubernetes.io/service-name'], 'kube-dns');
  assert.equal(s.metadata?.labels?.['endpointslice.kubernetes.io/managed-by'], 'skiff-dns');
  assert.equal(s.addressType, 'IPv4');
  assert.deepEqual(s.endpoints?.map((e) => [e.addresses, e.nodeName, e.conditions?.ready]), [[['10.42.3.1'], 'node-a', true]]);
  assert.deepEqual(s.ports?.map((p) => `${p.name} ${p.port}/${p.protocol}`), ['dns 53/UDP', 'dns-tcp 53/TCP']);
  // Deleted by someone else → re-created; changed → restored.
  srv.remove('discovery.k8s.io/v1', 'endpointslices', 'kube-system', 'kube-dns-node-a');
  await eventually(async () => read() !== undefined, 'slice re-created');
  srv.put('discovery.k8s.io/v1', 'endpointslices', { ...read()!, endpoints: [] } as never);
  await eventually(async () => read()?.endpoints?.length === 1, 'slice restored');
  await dns.stop();
  assert.equal(read(), undefined);
});
