import { test } from 'node:test';
import assert from 'node:assert/strict';
import { podQOS } from './qos.js';

const c = (limits?: object, requests?: object) => ({ resources: { limits, requests } as never });

test('podQOS: the classes of upstream GetPodQOS', () => {
  const cases: Array<[string, Parameters<typeof podQOS>[0], ReturnType<typeof podQOS>]> = [
    ['nothing set', { spec: { containers: [c()] } }, 'BestEffort'],
    ['no spec', {}, 'BestEffort'],
    ['limits only: requests default to them', { spec: { containers: [c({ cpu: '1', memory: '1Gi' })] } }, 'Guaranteed'],
    ['requests equal limits', { spec: { containers: [c({ cpu: '1', memory: '1Gi' }, { cpu: '1000m', memory: '1024Mi' })] } }, 'Guaranteed'],
    ['a request below its limit', { spec: { containers: [c({ cpu: '1', memory: '1Gi' }, { cpu: '500m', memory: '1Gi' })] } }, 'Burstable'],
    ['requests only', { spec: { containers: [c(undefined, { cpu: '100m' })] } }, 'Burstable'],
    ['cpu limit only', { spec: { containers: [c({ cpu: '1' })] } }, 'Burstable'],
    ['zero quantities count as unset', { spec: { containers: [c({ cpu: '0', memory: '0' })] } }, 'BestEffort'],
    ['an invalid quantity counts as unset', { spec: { containers: [c({ cpu: 'bad', memory: '1Gi' })] } }, 'Burstable'],
    ['init containers count', { spec: { initContainers: [c({ cpu: '1', memory: '1Gi' })], containers: [c()] } }, 'Burstable'],
    ['all containers guaranteed', { spec: { initContainers: [c({ cpu: '1', memory: '1Gi' })], containers: [c({ cpu: '2', memory: '2Gi' })] } }, 'Guaranteed'],
    ['only cpu and memory decide (a GPU alone is BestEffort)', { spec: { containers: [c({ 'nvidia.com/gpu': '1' })] } }, 'BestEffort'],
    ['numbers are quantities too', { spec: { containers: [c({ cpu: 2, memory: '1Gi' }, { cpu: '2' })] } }, 'Guaranteed'],
  ];
  for (const [name, pod, want] of cases) assert.equal(podQOS(pod), want, name);
});
