import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { applyDefaults, defaultPullPolicy } from './defaults.js';
import { RESOURCES, findKind } from './resources.js';
import type { KObject } from './errors.js';

const info = (group: string, version: string, kind: string) => {
  const r = findKind(group, version, kind);
  if (!r) throw new Error(kind);
  return r;
};

test('a bare pod gets what kube-apiserver stores', () => {
  const pod: KObject = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'nginx' }, spec: { containers: [{ name: 'nginx', image: 'nginx' }] } };
  applyDefaults(info('', 'v1', 'Pod'), pod);
  assert.deepEqual(pod.spec, {
    containers: [{
      name: 'nginx', image: 'nginx', imagePullPolicy: 'Always', resources: {},
      terminationMessagePath: '/dev/termination-log', terminationMessagePolicy: 'File',
    }],
    dnsPolicy: 'ClusterFirst', enableServiceLinks: true, restartPolicy: 'Always', schedulerName: 'default-scheduler',
    securityContext: {}, terminationGracePeriodSeconds: 30,
  });
});

test('pod container details: probes, ports, env, volumes, requests from limits, quantities', () => {
  const pod: KObject = {
    metadata: { name: 'p' },
    spec: {
      hostNetwork: true,
      containers: [{
        name: 'c', image: 'repo/app:1.2', ports: [{ containerPort: 80 }],
        env: [{ name: 'N', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } }],
        livenessProbe: { httpGet: { port: 80 } },
        resources: { limits: { cpu: 0.5, memory: '1.5Gi' }, requests: { cpu: '100m' } },
      }],
      volumes: [{ name: 'a' }, { name: 'b', configMap: { name: 'x' } }, { name: 'c', secret: { secretName: 's' } }, { name: 'd', hostPath: { path: '/x' } }],
    },
  };
  applyDefaults(info('', 'v1', 'Pod'), pod);
  const c = pod.spec.containers[0];
  assert.equal(c.imagePullPolicy, 'IfNotPresent');
  assert.deepEqual(c.ports, [{ containerPort: 80, protocol: 'TCP', hostPort: 80 }]);
  assert.equal(c.env[0].valueFrom.fieldRef.apiVersion, 'v1');
  assert.deepEqual(c.livenessProbe, { httpGet: { port: 80, path: '/', scheme: 'HTTP' }, timeoutSeconds: 1, periodSeconds: 10, successThreshold: 1, failureThreshold: 3 });
  assert.deepEqual(c.resources, { limits: { cpu: '500m', memory: '1536Mi' }, requests: { cpu: '100m', memory: '1536Mi' } });
  assert.deepEqual(pod.spec.volumes, [
    { name: 'a', emptyDir: {} }, { name: 'b', configMap: { name: 'x', defaultMode: 420 } },
    { name: 'c', secret: { secretName: 's', defaultMode: 420 } }, { name: 'd', hostPath: { path: '/x', type: '' } },
  ]);
});

test('image pull policy follows the tag', () => {
  const cases: Array<[string, string]> = [
    ['nginx', 'Always'], ['nginx:latest', 'Always'], ['nginx:1.25', 'IfNotPresent'], ['localhost:5000/nginx', 'Always'],
    ['localhost:5000/nginx:v1', 'IfNotPresent'], ['nginx@sha256:abc', 'IfNotPresent'], ['nginx:latest@sha256:abc', 'Always'], ['', 'IfNotPresent'],
  ];
  for (const [img, want] of cases) assert.equal(defaultPullPolicy(img), want, img);
});

test('kubectl create deployment nginx --image=nginx', () => {
  const d: KObject = {
    apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'nginx', labels: { app: 'nginx' } },
    spec: { replicas: 1, selector: { matchLabels: { app: 'nginx' } }, strategy: {},
      template: { metadata: { creationTimestamp: null, labels: { app: 'nginx' } }, spec: { containers: [{ name: 'nginx', image: 'nginx', resources: {} }] } } },
  };
  applyDefaults(info('apps', 'v1', 'Deployment'), d);
  assert.deepEqual(d.spec, {
    progressDeadlineSeconds: 600, replicas: 1, revisionHistoryLimit: 10, selector: { matchLabels: { app: 'nginx' } },
    strategy: { rollingUpdate: { maxSurge: '25%', maxUnavailable: '25%' }, type: 'RollingUpdate' },
    template: {
      metadata: { creationTimestamp: null, labels: { app: 'nginx' } },
      spec: {
        containers: [{ image: 'nginx', imagePullPolicy: 'Always', name: 'nginx', resources: {}, terminationMessagePath: '/dev/termination-log', terminationMessagePolicy: 'File' }],
        dnsPolicy: 'ClusterFirst', restartPolicy: 'Always', schedulerName: 'default-scheduler', securityContext: {}, terminationGracePeriodSeconds: 30,
      },
    },
  });
});

test('workload defaults', () => {
  const sts: KObject = { metadata: { name: 's' }, spec: { serviceName: 's', selector: {}, template: { spec: { containers: [] } },
    volumeClaimTemplates: [{ metadata: { name: 'www' }, spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } } }] } };
  applyDefaults(info('apps', 'v1', 'StatefulSet'), sts);
  assert.equal(sts.spec.replicas, 1);
  assert.equal(sts.spec.podManagementPolicy, 'OrderedReady');
  assert.deepEqual(sts.spec.updateStrategy, { type: 'RollingUpdate', rollingUpdate: { partition: 0 } });
  assert.deepEqual(sts.spec.persistentVolumeClaimRetentionPolicy, { whenDeleted: 'Retain', whenScaled: 'Retain' });
  assert.equal(sts.spec.revisionHistoryLimit, 10);
  assert.deepEqual(sts.spec.volumeClaimTemplates[0], { apiVersion: 'v1', kind: 'PersistentVolumeClaim', metadata: { name: 'www', creationTimestamp: null },
    spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } }, volumeMode: 'Filesystem' }, status: { phase: 'Pending' } });

  const ds: KObject = { metadata: { name: 'd' }, spec: { template: {} } };
  applyDefaults(info('apps', 'v1', 'DaemonSet'), ds);
  assert.deepEqual(ds.spec.updateStrategy, { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 1, maxSurge: 0 } });
  assert.equal(ds.spec.revisionHistoryLimit, 10);

  const rs: KObject = { metadata: { name: 'r' }, spec: {} };
  applyDefaults(info('apps', 'v1', 'ReplicaSet'), rs);
  assert.equal(rs.spec.replicas, 1);

  const recreate: KObject = { metadata: { name: 'd' }, spec: { strategy: { type: 'Recreate' } } };
  applyDefaults(info('apps', 'v1', 'Deployment'), recreate);
  assert.deepEqual(recreate.spec.strategy, { type: 'Recreate' });
});

test('job defaults and generated selector', () => {
  const job: KObject = { metadata: { name: 'pi', uid: 'u-1' }, spec: { template: { spec: { restartPolicy: 'Never', containers: [{ name: 'pi', image: 'perl:5.34' }] } } } };
  applyDefaults(info('batch', 'v1', 'Job'), job);
  assert.equal(job.spec.parallelism, 1);
  assert.equal(job.spec.completions, 1);
  assert.equal(job.spec.backoffLimit, 6);
  assert.equal(job.spec.completionMode, 'NonIndexed');
  assert.equal(job.spec.suspend, false);
  assert.equal(job.spec.podReplacementPolicy, 'TerminatingOrFailed');
  assert.deepEqual(job.spec.selector, { matchLabels: { 'batch.kubernetes.io/controller-uid': 'u-1' } });
  const want = { 'batch.kubernetes.io/controller-uid': 'u-1', 'batch.kubernetes.io/job-name': 'pi', 'controller-uid': 'u-1', 'job-name': 'pi' };
  assert.deepEqual(job.spec.template.metadata.labels, want);
  assert.deepEqual(job.metadata.labels, want);
  assert.equal(job.spec.template.spec.restartPolicy, 'Never');

  const par: KObject = { metadata: { name: 'p' }, spec: { parallelism: 3, manualSelector: true, template: {} } };
  applyDefaults(info('batch', 'v1', 'Job'), par);
  assert.equal(par.spec.completions, undefined);
  assert.equal(par.spec.selector, undefined);

  const cj: KObject = { metadata: { name: 'c' }, spec: { schedule: '* * * * *', jobTemplate: { spec: { template: { spec: { containers: [] } } } } } };
  applyDefaults(info('batch', 'v1', 'CronJob'), cj);
  assert.equal(cj.spec.concurrencyPolicy, 'Allow');
  assert.equal(cj.spec.successfulJobsHistoryLimit, 3);
  assert.equal(cj.spec.failedJobsHistoryLimit, 1);
  assert.equal(cj.spec.suspend, false);
  assert.deepEqual(cj.spec.jobTemplate.metadata, { creationTimestamp: null });
  assert.equal(cj.spec.jobTemplate.spec.backoffLimit, undefined);
  assert.equal(cj.spec.jobTemplate.spec.template.spec.dnsPolicy, 'ClusterFirst');
});

test('core kinds', () => {
  const svc: KObject = { metadata: { name: 's' }, spec: { type: 'NodePort', selector: { a: 'b' }, ports: [{ port: 80 }] } };
  applyDefaults(info('', 'v1', 'Service'), svc);
  assert.deepEqual(svc.spec, { type: 'NodePort', selector: { a: 'b' }, ports: [{ port: 80, protocol: 'TCP', targetPort: 80 }], sessionAffinity: 'None',
    externalTrafficPolicy: 'Cluster', internalTrafficPolicy: 'Cluster', ipFamilyPolicy: 'SingleStack', ipFamilies: ['IPv4'] });
  const ext: KObject = { metadata: { name: 's' }, spec: { type: 'ExternalName', externalName: 'x.com' } };
  applyDefaults(info('', 'v1', 'Service'), ext);
  assert.deepEqual(ext.spec, { type: 'ExternalName', externalName: 'x.com', sessionAffinity: 'None' });

  const ns: KObject = { metadata: { name: 'team' } };
  applyDefaults(info('', 'v1', 'Namespace'), ns);
  assert.deepEqual(ns, { metadata: { name: 'team', labels: { 'kubernetes.io/metadata.name': 'team' } }, spec: { finalizers: ['kubernetes'] }, status: { phase: 'Active' } });
  const nsUpd: KObject = { metadata: { name: 'team' }, spec: { finalizers: [] } };
  applyDefaults(info('', 'v1', 'Namespace'), nsUpd, ns);
  assert.deepEqual(nsUpd.spec.finalizers, []);

  const sec: KObject = { metadata: { name: 's' } };
  applyDefaults(info('', 'v1', 'Secret'), sec);
  assert.equal(sec.type, 'Opaque');

  const pvc: KObject = { metadata: { name: 'c' }, spec: { resources: { requests: { storage: '1000Mi' } } } };
  applyDefaults(info('', 'v1', 'PersistentVolumeClaim'), pvc);
  assert.equal(pvc.spec.volumeMode, 'Filesystem');
  assert.deepEqual(pvc.status, { phase: 'Pending' });

  const lr: KObject = { metadata: { name: 'l' }, spec: { limits: [{ type: 'Container', max: { cpu: '2' }, min: { memory: '1Mi' } }] } };
  applyDefaults(info('', 'v1', 'LimitRange'), lr);
  assert.deepEqual(lr.spec.limits[0], { type: 'Container', max: { cpu: '2' }, min: { memory: '1Mi' }, default: { cpu: '2' }, defaultRequest: { cpu: '2', memory: '1Mi' } });

  const pc: KObject = { metadata: { name: 'p' }, value: 10 };
  applyDefaults(info('scheduling.k8s.io', 'v1', 'PriorityClass'), pc);
  assert.equal(pc.preemptionPolicy, 'PreemptLowerPriority');

  const np: KObject = { metadata: { name: 'n' }, spec: { podSelector: {}, egress: [{ ports: [{ port: 53 }] }] } };
  applyDefaults(info('networking.k8s.io', 'v1', 'NetworkPolicy'), np);
  assert.deepEqual(np.spec.policyTypes, ['Ingress', 'Egress']);
  assert.equal(np.spec.egress[0].ports[0].protocol, 'TCP');

  const rb: KObject = { metadata: { name: 'r' }, roleRef: { kind: 'Role', name: 'x' }, subjects: [{ kind: 'User', name: 'u' }, { kind: 'ServiceAccount', name: 'sa' }] };
  applyDefaults(info('rbac.authorization.k8s.io', 'v1', 'RoleBinding'), rb);
  assert.equal(rb.roleRef.apiGroup, 'rbac.authorization.k8s.io');
  assert.deepEqual(rb.subjects, [{ kind: 'User', name: 'u', apiGroup: 'rbac.authorization.k8s.io' }, { kind: 'ServiceAccount', name: 'sa' }]);

  const hpa: KObject = { metadata: { name: 'h' }, spec: { maxReplicas: 3, behavior: { scaleDown: { stabilizationWindowSeconds: 60 } } } };
  applyDefaults(info('autoscaling', 'v2', 'HorizontalPodAutoscaler'), hpa);
  assert.equal(hpa.spec.minReplicas, 1);
  assert.deepEqual(hpa.spec.metrics, [{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 80 } } }]);
  assert.equal(hpa.spec.behavior.scaleUp.policies.length, 2);
  assert.deepEqual(hpa.spec.behavior.scaleDown, { stabilizationWindowSeconds: 60, selectPolicy: 'Max', policies: [{ type: 'Percent', value: 100, periodSeconds: 15 }] });
});

test('applyDefaults never throws on arbitrary shapes', () => {
  fc.assert(fc.property(fc.constantFrom(...RESOURCES), fc.jsonValue(), fc.jsonValue(), (r, spec, meta) => {
    const o = { metadata: meta, spec, status: spec, subsets: spec, ports: spec, roleRef: spec, subjects: spec } as unknown as KObject;
    applyDefaults(r, o);
    applyDefaults(r, { metadata: {}, spec: { template: spec, jobTemplate: { spec: { template: spec } }, containers: [spec], volumes: [spec], ports: [spec] } } as KObject);
  }), { numRuns: 300 });
});
