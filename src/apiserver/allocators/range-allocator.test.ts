import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { MemoryBackend } from '../../store/memory.js';
import {
  AlreadyAllocatedError, NotInRangeError, RangeAllocator, RangeFullError, nodePortRange, parsePortRange, serviceIPRange, staticBandSize,
} from './range-allocator.js';

const owner = (n: number) => ({ namespace: 'default', name: `svc-${n}`, uid: `uid-${n}` });

describe('range specs', () => {
  test('a service CIDR excludes the network and broadcast addresses', () => {
    const r = serviceIPRange('10.43.0.0/16', '/p/');
    assert.equal(r.size, 65534);
    assert.equal(r.format(0), '10.43.0.1');
    assert.equal(r.format(9), '10.43.0.10');
    assert.equal(r.format(r.size - 1), '10.43.255.254');
    assert.equal(r.parse('10.43.0.0'), undefined);
    assert.equal(r.parse('10.43.255.255'), undefined);
    assert.equal(r.parse('10.44.0.1'), undefined);
    assert.equal(r.parse('garbage'), undefined);
    assert.equal(r.parse('10.43.1.0'), 255);
    assert.equal(r.notInRange('10.44.0.1'), 'the provided IP (10.44.0.1) is not in the valid range. The range of valid IPs is 10.43.0.0/16');
    assert.equal(serviceIPRange('10.43.7.9/16', '/p/').format(0), '10.43.0.1', 'host bits are masked');
    assert.throws(() => serviceIPRange('fd00::/108', '/p/'), /invalid service CIDR/);
  });

  test('node port ranges and --service-node-port-range parsing', () => {
    assert.deepEqual(parsePortRange('30000-32767'), { min: 30000, max: 32767 });
    assert.deepEqual(parsePortRange('30000+100'), { min: 30000, max: 30100 });
    assert.throws(() => parsePortRange('32767-30000'));
    assert.throws(() => parsePortRange('abc'));
    const r = nodePortRange({ min: 30000, max: 32767 }, '/p/');
    assert.equal(r.size, 2768);
    assert.equal(r.parse('29999'), undefined);
    assert.equal(r.parse('32767'), 2767);
    assert.equal(r.notInRange('80'), 'provided port is not in the valid range. The range of valid ports is 30000-32767');
  });

  test('static bands follow upstream calculateRangeOffset', () => {
    assert.equal(staticBandSize(65534), 256);
    assert.equal(staticBandSize(6), 0);
    assert.equal(staticBandSize(254), 16);
    assert.equal(staticBandSize(2768, 32, 128), 86);
  });
});

describe('RangeAllocator', () => {
  let backend: MemoryBackend;
  before(async () => { backend = new MemoryBackend(); await backend.start(); });
  after(() => backend.close());

  test('exhaustion: a /29 hands out its 6 IPs, then the range is full; a released IP is reused', async () => {
    const a = new RangeAllocator(backend, serviceIPRange('10.0.0.0/29', '/t/full/'));
    const got = new Set<string>();
    for (let i = 0; i < 6; i++) got.add(await a.allocateNext(owner(i)));
    assert.deepEqual([...got].sort(), ['10.0.0.1', '10.0.0.2', '10.0.0.3', '10.0.0.4', '10.0.0.5', '10.0.0.6']);
    await assert.rejects(a.allocateNext(owner(99)), RangeFullError);
    await a.release('10.0.0.4', owner(99)); // not the holder: nothing happens
    await assert.rejects(a.allocateNext(owner(99)), RangeFullError);
    const holder = [...got].indexOf('10.0.0.4');
    await a.release('10.0.0.4', owner(holder));
    assert.equal(await a.allocateNext(owner(7)), '10.0.0.4');
    assert.equal((await a.get('10.0.0.4'))?.owner.uid, 'uid-7');
  });

  test('specific values: in range, free, idempotent for the same owner', async () => {
    const a = new RangeAllocator(backend, serviceIPRange('10.1.0.0/24', '/t/specific/'));
    await a.allocate('10.1.0.5', owner(1));
    await a.allocate('10.1.0.5', owner(1)); // same uid: fine
    await assert.rejects(a.allocate('10.1.0.5', owner(2)), (e: unknown) => e instanceof AlreadyAllocatedError && e.message === 'provided IP is already allocated');
    await assert.rejects(a.allocate('10.2.0.5', owner(2)), NotInRangeError);
    await a.allocate('10.1.0.6', owner(2), true); // a dry run of a free value passes…
    assert.equal(await a.get('10.1.0.6'), undefined, '…and writes nothing');
    await assert.rejects(a.allocate('10.1.0.5', owner(2), true), AlreadyAllocatedError);
    const ports = new RangeAllocator(backend, nodePortRange({ min: 30000, max: 30010 }, '/t/ports/'));
    await ports.allocate('30003', owner(1));
    await assert.rejects(ports.allocate('30003', owner(2)), /provided port is already allocated/);
  });

  test('random picks prefer the upper band', async () => {
    const a = new RangeAllocator(backend, serviceIPRange('10.3.0.0/24', '/t/band/'));
    const band = a.spec.staticBand!;
    for (let i = 0; i < 20; i++) {
      const v = await a.allocateNext(owner(i));
      assert.ok(a.spec.parse(v)! >= band, `${v} is outside the static band`);
    }
  });

  test('concurrency: parallel allocations from two allocators on one store never collide', async () => {
    const spec = serviceIPRange('10.4.0.0/27', '/t/conc/'); // 30 IPs, 30 allocations: every one must be distinct
    const a = new RangeAllocator(backend, spec);
    const b = new RangeAllocator(backend, spec);
    const results = await Promise.all(Array.from({ length: 30 }, (_, i) => (i % 2 ? a : b).allocateNext(owner(i))));
    assert.equal(new Set(results).size, 30);
    await assert.rejects(a.allocateNext(owner(100)), RangeFullError);
    const listed = await a.list();
    assert.equal(listed.length, 30);
    for (const { value, record } of listed) assert.equal(results[Number(record.owner.uid.slice(4))], value);
  });
});
