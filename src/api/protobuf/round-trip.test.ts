/**
 * JSON → protobuf → JSON for realistic objects of every kind kubectl's generators send, plus objects that exercise
 * the rest of the schema (whole PodSpec, well-known types, inline structs, maps of Quantity/bytes/ExtraValue).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeProtobuf, encodeProtobuf } from './index.js';

type Obj = Record<string, unknown>;

function roundTrip(obj: Obj): void {
  const body = encodeProtobuf(obj);
  assert.deepEqual([...body.subarray(0, 4)], [0x6b, 0x38, 0x73, 0x00]);
  const d = decodeProtobuf(body);
  assert.equal(d.apiVersion, obj['apiVersion']);
  assert.equal(d.kind, obj['kind']);
  assert.deepStrictEqual(d.object, obj);
}

const meta = (name: string, namespace = 'default'): Obj => ({ name, namespace });

const podTemplate: Obj = {
  metadata: { labels: { app: 'web' }, annotations: { 'kubectl.kubernetes.io/restartedAt': '2024-01-02T03:04:05Z' } },
  spec: {
    volumes: [
      { name: 'cfg', configMap: { name: 'web-cfg', items: [{ key: 'a', path: 'a.conf', mode: 0o644 }], defaultMode: 420, optional: false } },
      { name: 'sec', secret: { secretName: 'web-tls', defaultMode: 256 } },
      { name: 'tmp', emptyDir: { medium: 'Memory', sizeLimit: '64Mi' } },
      { name: 'data', persistentVolumeClaim: { claimName: 'data', readOnly: true } },
      { name: 'host', hostPath: { path: '/var/log', type: 'Directory' } },
      { name: 'nfs', nfs: { server: 'nfs.local', path: '/export' } },
      { name: 'img', image: { reference: 'registry/img:1', pullPolicy: 'IfNotPresent' } },
      {
        name: 'proj',
        projected: {
          sources: [
            { serviceAccountToken: { audience: 'vault', expirationSeconds: 3600, path: 'token' } },
            { configMap: { name: 'kube-root-ca.crt', items: [{ key: 'ca.crt', path: 'ca.crt' }] } },
            { downwardAPI: { items: [{ path: 'namespace', fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.namespace' } }] } },
            { secret: { name: 'extra', optional: true } },
            { clusterTrustBundle: { signerName: 'example.com/signer', labelSelector: { matchLabels: { a: 'b' } }, path: 'bundle.pem' } },
          ],
          defaultMode: 420,
        },
      },
      {
        name: 'eph',
        ephemeral: {
          volumeClaimTemplate: {
            metadata: { labels: { type: 'scratch' } },
            spec: { accessModes: ['ReadWriteOnce'], storageClassName: '', resources: { requests: { storage: '1Gi' } } },
          },
        },
      },
      { name: 'csi', csi: { driver: 'secrets-store.csi.k8s.io', readOnly: true, volumeAttributes: { secretProviderClass: 'vault' } } },
    ],
    initContainers: [{ name: 'init', image: 'busybox', command: ['sh', '-c', 'true'], restartPolicy: 'Always' }],
    containers: [
      {
        name: 'web',
        image: 'nginx:1.27',
        args: ['-g', 'daemon off;'],
        workingDir: '/srv',
        ports: [{ name: 'http', containerPort: 80, protocol: 'TCP' }, { containerPort: 53, hostPort: 5353, protocol: 'UDP', hostIP: '0.0.0.0' }],
        envFrom: [{ configMapRef: { name: 'env' } }, { prefix: 'S_', secretRef: { name: 'env', optional: true } }],
        env: [
          { name: 'PLAIN', value: 'x' },
          { name: 'EMPTY' },
          { name: 'FROM_CM', valueFrom: { configMapKeyRef: { name: 'cm', key: 'k', optional: true } } },
          { name: 'FROM_SECRET', valueFrom: { secretKeyRef: { name: 's', key: 'k' } } },
          { name: 'POD_IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } },
          { name: 'LIMIT', valueFrom: { resourceFieldRef: { containerName: 'web', resource: 'limits.memory', divisor: '1Mi' } } },
        ],
        resources: { limits: { cpu: '500m', memory: '128Mi', 'nvidia.com/gpu': '1' }, requests: { cpu: '250m', memory: '64Mi' }, claims: [{ name: 'gpu', request: 'one' }] },
        resizePolicy: [{ resourceName: 'cpu', restartPolicy: 'NotRequired' }],
        volumeMounts: [{ name: 'cfg', mountPath: '/etc/web', readOnly: true, subPath: 'a', mountPropagation: 'None', recursiveReadOnly: 'Disabled' }],
        volumeDevices: [{ name: 'raw', devicePath: '/dev/xvda' }],
        livenessProbe: { httpGet: { path: '/healthz', port: 'http', scheme: 'HTTP', httpHeaders: [{ name: 'X-Probe', value: '1' }] }, initialDelaySeconds: 3, periodSeconds: 10, failureThreshold: 3 },
        readinessProbe: { tcpSocket: { port: 80 }, timeoutSeconds: 1, successThreshold: 1 },
        startupProbe: { exec: { command: ['cat', '/ready'] }, terminationGracePeriodSeconds: 0 },
        lifecycle: { postStart: { exec: { command: ['echo', 'start'] } }, preStop: { sleep: { seconds: 5 } }, stopSignal: undefined },
        terminationMessagePath: '/dev/termination-log',
        terminationMessagePolicy: 'FallbackToLogsOnError',
        imagePullPolicy: 'Always',
        securityContext: {
          capabilities: { add: ['NET_BIND_SERVICE'], drop: ['ALL'] },
          privileged: false,
          runAsUser: 0,
          runAsNonRoot: false,
          readOnlyRootFilesystem: true,
          allowPrivilegeEscalation: false,
          seccompProfile: { type: 'RuntimeDefault' },
          appArmorProfile: { type: 'Localhost', localhostProfile: 'web' },
          seLinuxOptions: { level: 's0:c123,c456' },
        },
        stdin: true,
        tty: true,
      },
    ],
    ephemeralContainers: [{ name: 'debug', image: 'busybox', stdin: true, tty: true, targetContainerName: 'web' }],
    restartPolicy: 'Always',
    terminationGracePeriodSeconds: 30,
    activeDeadlineSeconds: 600,
    dnsPolicy: 'ClusterFirst',
    nodeSelector: { 'kubernetes.io/os': 'linux' },
    serviceAccountName: 'web',
    automountServiceAccountToken: false,
    hostNetwork: true,
    shareProcessNamespace: true,
    securityContext: {
      runAsUser: 1000, runAsGroup: 3000, fsGroup: 2000, supplementalGroups: [4000], fsGroupChangePolicy: 'OnRootMismatch',
      sysctls: [{ name: 'net.core.somaxconn', value: '1024' }], supplementalGroupsPolicy: 'Strict',
    },
    imagePullSecrets: [{ name: 'regcred' }],
    hostname: 'web-0',
    subdomain: 'web',
    affinity: {
      nodeAffinity: {
        requiredDuringSchedulingIgnoredDuringExecution: {
          nodeSelectorTerms: [{ matchExpressions: [{ key: 'zone', operator: 'In', values: ['a', 'b'] }], matchFields: [{ key: 'metadata.name', operator: 'NotIn', values: ['n1'] }] }],
        },
        preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 10, preference: { matchExpressions: [{ key: 'ssd', operator: 'Exists' }] } }],
      },
      podAffinity: {
        requiredDuringSchedulingIgnoredDuringExecution: [{ labelSelector: { matchLabels: { app: 'db' } }, topologyKey: 'kubernetes.io/hostname', matchLabelKeys: ['pod-template-hash'] }],
      },
      podAntiAffinity: {
        preferredDuringSchedulingIgnoredDuringExecution: [
          { weight: 100, podAffinityTerm: { labelSelector: { matchExpressions: [{ key: 'app', operator: 'In', values: ['web'] }] }, namespaces: ['default'], topologyKey: 'zone', namespaceSelector: {} } },
        ],
      },
    },
    schedulerName: 'default-scheduler',
    tolerations: [
      { key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 },
      { key: 'gpu', operator: 'Equal', value: 'true', effect: 'NoSchedule' },
    ],
    hostAliases: [{ ip: '10.0.0.1', hostnames: ['db.local'] }],
    priorityClassName: 'high',
    priority: 1000,
    dnsConfig: { nameservers: ['1.1.1.1'], searches: ['svc.cluster.local'], options: [{ name: 'ndots', value: '2' }, { name: 'edns0' }] },
    readinessGates: [{ conditionType: 'example.com/ready' }],
    runtimeClassName: 'gvisor',
    enableServiceLinks: false,
    preemptionPolicy: 'Never',
    overhead: { cpu: '100m' },
    topologySpreadConstraints: [
      { maxSkew: 1, topologyKey: 'zone', whenUnsatisfiable: 'DoNotSchedule', labelSelector: { matchLabels: { app: 'web' } }, minDomains: 2, nodeAffinityPolicy: 'Honor', nodeTaintsPolicy: 'Ignore', matchLabelKeys: ['pod-template-hash'] },
    ],
    setHostnameAsFQDN: false,
    os: { name: 'linux' },
    hostUsers: false,
    schedulingGates: [{ name: 'example.com/wait' }],
    resourceClaims: [{ name: 'gpu', resourceClaimTemplateName: 'gpu-template' }, { name: 'shared', resourceClaimName: 'shared-gpu' }],
    resources: { limits: { cpu: '2' } },
  },
};
// stopSignal is not a 1.32 field: it must simply be absent after the round trip.
delete ((((podTemplate['spec'] as Obj)['containers'] as Obj[])[0]!)['lifecycle'] as Obj)['stopSignal'];

test('kubectl create namespace / serviceaccount / configmap / secret', () => {
  roundTrip({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'team-a', labels: { team: 'a' } }, spec: { finalizers: ['kubernetes'] }, status: { phase: 'Active' } });
  roundTrip({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: meta('builder'), secrets: [{ name: 'builder-token' }], imagePullSecrets: [{ name: 'regcred' }], automountServiceAccountToken: false });
  roundTrip({
    apiVersion: 'v1', kind: 'ConfigMap', metadata: meta('app-config'),
    data: { 'app.properties': 'a=1\nb=2\n', empty: '' },
    binaryData: { 'logo.png': Buffer.from([0x89, 0x50, 0x4e, 0x47, 0, 1, 2, 255]).toString('base64') },
    immutable: true,
  });
  roundTrip({
    apiVersion: 'v1', kind: 'Secret', metadata: meta('db'), type: 'Opaque',
    data: { password: Buffer.from('s3cr3t').toString('base64'), empty: '' },
    stringData: { user: 'admin' },
    immutable: false,
  });
  roundTrip({
    apiVersion: 'v1', kind: 'Secret', metadata: meta('tls'), type: 'kubernetes.io/tls',
    data: { 'tls.crt': Buffer.from('-----BEGIN CERTIFICATE-----').toString('base64'), 'tls.key': Buffer.from('k').toString('base64') },
  });
});

test('kubectl create deployment web --image=nginx --replicas=2, and a full Deployment', () => {
  roundTrip({
    apiVersion: 'apps/v1', kind: 'Deployment',
    metadata: { name: 'web', namespace: 'default', labels: { app: 'web' } },
    spec: {
      replicas: 2,
      selector: { matchLabels: { app: 'web' } },
      template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'nginx', image: 'nginx', resources: {} }] } },
      strategy: {},
    },
    status: {},
  });
  roundTrip({
    apiVersion: 'apps/v1', kind: 'Deployment',
    metadata: {
      name: 'web', namespace: 'default', uid: '0b7b3e3e-1111-2222-3333-444455556666', resourceVersion: '12345', generation: 3,
      creationTimestamp: '2024-01-02T03:04:05Z',
      deletionTimestamp: '2024-01-03T00:00:00Z',
      deletionGracePeriodSeconds: 0,
      finalizers: ['foregroundDeletion'],
      ownerReferences: [{ apiVersion: 'v1', kind: 'Namespace', name: 'default', uid: 'u1', controller: true, blockOwnerDeletion: false }],
      managedFields: [
        {
          manager: 'kubectl-create', operation: 'Update', apiVersion: 'apps/v1', time: '2024-01-02T03:04:05Z', fieldsType: 'FieldsV1',
          fieldsV1: { 'f:metadata': { 'f:labels': { '.': {}, 'f:app': {} } }, 'f:spec': { 'f:replicas': {} } },
        },
        { manager: 'kube-controller-manager', operation: 'Update', apiVersion: 'apps/v1', fieldsType: 'FieldsV1', fieldsV1: { 'f:status': {} }, subresource: 'status' },
      ],
    },
    spec: {
      replicas: 0,
      selector: { matchLabels: { app: 'web' }, matchExpressions: [{ key: 'tier', operator: 'NotIn', values: ['db'] }] },
      template: podTemplate,
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: '25%', maxSurge: 1 } },
      minReadySeconds: 5,
      revisionHistoryLimit: 0,
      paused: true,
      progressDeadlineSeconds: 600,
    },
    status: {
      observedGeneration: 3, replicas: 2, updatedReplicas: 2, readyReplicas: 1, availableReplicas: 1, unavailableReplicas: 1,
      conditions: [
        { type: 'Available', status: 'False', lastUpdateTime: '2024-01-02T03:04:05Z', lastTransitionTime: '2024-01-02T03:04:06Z', reason: 'MinimumReplicasUnavailable', message: 'Deployment does not have minimum availability.' },
      ],
      collisionCount: 0,
    },
  });
});

test('ReplicaSet, StatefulSet, DaemonSet, ControllerRevision', () => {
  roundTrip({ apiVersion: 'apps/v1', kind: 'ReplicaSet', metadata: meta('web-abc'), spec: { replicas: 1, selector: { matchLabels: { app: 'web' } }, template: podTemplate }, status: { replicas: 1, fullyLabeledReplicas: 1 } });
  roundTrip({
    apiVersion: 'apps/v1', kind: 'StatefulSet', metadata: meta('db'),
    spec: {
      replicas: 3, serviceName: 'db', podManagementPolicy: 'Parallel',
      selector: { matchLabels: { app: 'db' } },
      template: { metadata: { labels: { app: 'db' } }, spec: { containers: [{ name: 'db', image: 'postgres' }] } },
      volumeClaimTemplates: [
        { metadata: { name: 'data' }, spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '10Gi' } }, storageClassName: 'fast', volumeMode: 'Filesystem' } },
      ],
      updateStrategy: { type: 'RollingUpdate', rollingUpdate: { partition: 0, maxUnavailable: 1 } },
      persistentVolumeClaimRetentionPolicy: { whenDeleted: 'Delete', whenScaled: 'Retain' },
      ordinals: { start: 1 },
    },
    status: { replicas: 3, availableReplicas: 3, currentRevision: 'db-1', updateRevision: 'db-1' },
  });
  roundTrip({
    apiVersion: 'apps/v1', kind: 'DaemonSet', metadata: meta('agent', 'kube-system'),
    spec: { selector: { matchLabels: { app: 'agent' } }, template: { metadata: { labels: { app: 'agent' } }, spec: { containers: [{ name: 'a', image: 'agent' }] } }, updateStrategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 1, maxSurge: 0 } } },
    status: { currentNumberScheduled: 2, numberMisscheduled: 0, desiredNumberScheduled: 2, numberReady: 2 },
  });
  roundTrip({
    apiVersion: 'apps/v1', kind: 'ControllerRevision', metadata: meta('db-1'),
    data: { spec: { template: { metadata: { labels: { app: 'db' } } } }, list: [1, 'two', null, true] },
    revision: 1,
  });
});

test('kubectl create job / cronjob, with podFailurePolicy and successPolicy', () => {
  roundTrip({
    apiVersion: 'batch/v1', kind: 'CronJob', metadata: meta('backup'),
    spec: {
      schedule: '*/5 * * * *', timeZone: 'Etc/UTC', concurrencyPolicy: 'Forbid', suspend: false, startingDeadlineSeconds: 100,
      successfulJobsHistoryLimit: 0, failedJobsHistoryLimit: 1,
      jobTemplate: { metadata: { name: 'backup' }, spec: { template: { metadata: {}, spec: { containers: [{ name: 'backup', image: 'busybox', command: ['date'], resources: {} }], restartPolicy: 'OnFailure' } } } },
    },
    status: { active: [{ kind: 'Job', namespace: 'default', name: 'backup-1', uid: 'u', apiVersion: 'batch/v1', resourceVersion: '9' }], lastScheduleTime: '2024-01-02T03:05:00Z', lastSuccessfulTime: '2024-01-02T03:00:10Z' },
  });
  roundTrip({
    apiVersion: 'batch/v1', kind: 'Job', metadata: meta('train'),
    spec: {
      parallelism: 4, completions: 8, completionMode: 'Indexed', backoffLimit: 0, backoffLimitPerIndex: 1, maxFailedIndexes: 2,
      activeDeadlineSeconds: 3600, ttlSecondsAfterFinished: 0, suspend: true, manualSelector: false, podReplacementPolicy: 'Failed',
      managedBy: 'kueue.x-k8s.io/multikueue',
      selector: { matchLabels: { 'batch.kubernetes.io/controller-uid': 'u' } },
      podFailurePolicy: {
        rules: [
          { action: 'FailJob', onExitCodes: { containerName: 'main', operator: 'In', values: [42] } },
          { action: 'Ignore', onPodConditions: [{ type: 'DisruptionTarget', status: 'True' }] },
          { action: 'Count', onExitCodes: { operator: 'NotIn', values: [0, 1, 2] } },
        ],
      },
      successPolicy: { rules: [{ succeededIndexes: '0-3', succeededCount: 2 }] },
      template: { metadata: {}, spec: { containers: [{ name: 'main', image: 'trainer' }], restartPolicy: 'Never' } },
    },
    status: {
      conditions: [{ type: 'Complete', status: 'True', lastProbeTime: '2024-01-02T03:04:05Z', lastTransitionTime: '2024-01-02T03:04:05Z' }],
      startTime: '2024-01-02T03:00:00Z', completionTime: '2024-01-02T03:04:05Z', succeeded: 8, failed: 1, terminating: 0,
      completedIndexes: '0-7', failedIndexes: '', uncountedTerminatedPods: { succeeded: ['u1'], failed: ['u2'] }, ready: 0,
    },
  });
});

test('kubectl create service (targetPort int and string) and Endpoints/EndpointSlice', () => {
  roundTrip({
    apiVersion: 'v1', kind: 'Service', metadata: { name: 'svc1', namespace: 'default', labels: { app: 'svc1' } },
    spec: {
      ports: [
        { name: '80-8080', protocol: 'TCP', port: 80, targetPort: 8080 },
        { name: '443-https', protocol: 'TCP', port: 443, targetPort: 'https', appProtocol: 'https' },
        { name: 'np', protocol: 'TCP', port: 81, targetPort: 0, nodePort: 30080 },
      ],
      selector: { app: 'svc1' }, type: 'LoadBalancer', clusterIP: '10.0.0.10', clusterIPs: ['10.0.0.10', 'fd00::10'],
      externalIPs: ['1.2.3.4'], sessionAffinity: 'ClientIP', sessionAffinityConfig: { clientIP: { timeoutSeconds: 10800 } },
      loadBalancerSourceRanges: ['10.0.0.0/8'], externalTrafficPolicy: 'Local', healthCheckNodePort: 32000, publishNotReadyAddresses: true,
      ipFamilies: ['IPv4', 'IPv6'], ipFamilyPolicy: 'PreferDualStack', allocateLoadBalancerNodePorts: false, loadBalancerClass: 'example.com/lb',
      internalTrafficPolicy: 'Cluster', trafficDistribution: 'PreferClose',
    },
    status: { loadBalancer: { ingress: [{ ip: '5.6.7.8', ipMode: 'VIP', ports: [{ port: 80, protocol: 'TCP', error: 'x' }] }] }, conditions: [{ type: 'Ready', status: 'True', observedGeneration: 1, lastTransitionTime: '2024-01-02T03:04:05Z', reason: 'Ok', message: '' }] },
  });
  roundTrip({
    apiVersion: 'v1', kind: 'Endpoints', metadata: meta('svc1'),
    subsets: [{ addresses: [{ ip: '10.1.0.5', nodeName: 'n1', targetRef: { kind: 'Pod', name: 'p', namespace: 'default' } }], notReadyAddresses: [{ ip: '10.1.0.6', hostname: 'h' }], ports: [{ name: 'http', port: 8080, protocol: 'TCP' }] }],
  });
  roundTrip({
    apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice', metadata: { name: 'svc1-abc', namespace: 'default', labels: { 'kubernetes.io/service-name': 'svc1' } },
    addressType: 'IPv4',
    endpoints: [{ addresses: ['10.1.0.5'], conditions: { ready: true, serving: true, terminating: false }, hostname: 'p', nodeName: 'n1', zone: 'a', targetRef: { kind: 'Pod', name: 'p' }, hints: { forZones: [{ name: 'a' }] } }],
    ports: [{ name: 'http', protocol: 'TCP', port: 8080, appProtocol: 'http' }, { name: '', port: 0 }],
  });
});

test('kubectl create ingress with rules and TLS; IngressClass; NetworkPolicy', () => {
  roundTrip({
    apiVersion: 'networking.k8s.io/v1', kind: 'Ingress', metadata: { name: 'ing1', namespace: 'default', annotations: { 'nginx.ingress.kubernetes.io/rewrite-target': '/' } },
    spec: {
      ingressClassName: 'nginx',
      defaultBackend: { resource: { apiGroup: 'k8s.example.com', kind: 'StorageBucket', name: 'static' } },
      tls: [{ hosts: ['foo.com', 'www.foo.com'], secretName: 'my-cert' }],
      rules: [
        { host: 'foo.com', http: { paths: [{ path: '/bar', pathType: 'Prefix', backend: { service: { name: 'svc1', port: { number: 8080 } } } }] } },
        { host: 'bar.com', http: { paths: [{ path: '/', pathType: 'Exact', backend: { service: { name: 'svc2', port: { name: 'http' } } } }] } },
        { http: { paths: [{ pathType: 'ImplementationSpecific', backend: { service: { name: 'svc3', port: { number: 80 } } } }] } },
      ],
    },
    status: { loadBalancer: { ingress: [{ hostname: 'lb.example.com', ports: [{ port: 443, protocol: 'TCP' }] }] } },
  });
  roundTrip({
    apiVersion: 'networking.k8s.io/v1', kind: 'IngressClass', metadata: { name: 'nginx', annotations: { 'ingressclass.kubernetes.io/is-default-class': 'true' } },
    spec: { controller: 'k8s.io/ingress-nginx', parameters: { apiGroup: 'k8s.example.com', kind: 'IngressParameters', name: 'external-lb', scope: 'Namespace', namespace: 'ing' } },
  });
  roundTrip({
    apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: meta('deny'),
    spec: {
      podSelector: {},
      ingress: [{ from: [{ ipBlock: { cidr: '10.0.0.0/8', except: ['10.1.0.0/16'] } }, { namespaceSelector: { matchLabels: { team: 'a' } }, podSelector: { matchLabels: { app: 'x' } } }], ports: [{ protocol: 'TCP', port: 443, endPort: 8443 }, { port: 'dns' }] }],
      egress: [{ to: [{ podSelector: {} }] }],
      policyTypes: ['Ingress', 'Egress'],
    },
  });
});

test('RBAC: kubectl create role / rolebinding / clusterrole / clusterrolebinding', () => {
  roundTrip({
    apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', metadata: meta('pod-reader'),
    rules: [{ verbs: ['get', 'list', 'watch'], apiGroups: [''], resources: ['pods', 'pods/log'], resourceNames: ['a'] }, { verbs: ['get'], apiGroups: ['apps'], resources: ['deployments/scale'] }],
  });
  roundTrip({
    apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'RoleBinding', metadata: meta('read-pods'),
    subjects: [{ kind: 'User', apiGroup: 'rbac.authorization.k8s.io', name: 'jane' }, { kind: 'ServiceAccount', name: 'default', namespace: 'kube-system' }],
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'pod-reader' },
  });
  roundTrip({
    apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: { name: 'monitoring' },
    rules: [{ verbs: ['get'], nonResourceURLs: ['/metrics', '/logs/*'] }],
    aggregationRule: { clusterRoleSelectors: [{ matchLabels: { 'rbac.example.com/aggregate-to-monitoring': 'true' } }] },
  });
  roundTrip({
    apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRoleBinding', metadata: { name: 'admins' },
    subjects: [{ kind: 'Group', apiGroup: 'rbac.authorization.k8s.io', name: 'system:masters' }],
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'cluster-admin' },
  });
});

test('kubectl create token / auth can-i / whoami, and the other reviews', () => {
  roundTrip({
    apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', metadata: { name: 'builder', namespace: 'default' },
    spec: { audiences: ['https://kubernetes.default.svc', 'vault'], expirationSeconds: 3600, boundObjectRef: { kind: 'Pod', apiVersion: 'v1', name: 'p', uid: 'pod-uid' } },
    status: { token: 'eyJhbGciOi...', expirationTimestamp: '2024-01-02T04:04:05Z' },
  });
  roundTrip({
    apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', metadata: {},
    spec: { token: 'abc', audiences: ['api'] },
    status: { authenticated: true, user: { username: 'system:serviceaccount:default:builder', uid: 'u', groups: ['system:serviceaccounts'], extra: { 'authentication.kubernetes.io/pod-name': ['p'], scopes: [] } }, audiences: ['api'], error: 'none' },
  });
  roundTrip({ apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview', metadata: { creationTimestamp: '2024-01-02T03:04:05Z' }, status: { userInfo: { username: 'admin', groups: ['system:masters', 'system:authenticated'] } } });
  roundTrip({
    apiVersion: 'authorization.k8s.io/v1', kind: 'SelfSubjectAccessReview', metadata: {},
    spec: {
      resourceAttributes: {
        namespace: 'default', verb: 'create', group: 'apps', version: 'v1', resource: 'deployments', subresource: 'scale', name: 'web',
        fieldSelector: { rawSelector: 'spec.nodeName=n1', requirements: [{ key: 'spec.nodeName', operator: 'In', values: ['n1'] }] },
        labelSelector: { rawSelector: 'app=web', requirements: [{ key: 'app', operator: 'In', values: ['web'] }] },
      },
    },
    status: { allowed: true, reason: 'RBAC: allowed by ClusterRoleBinding "admins"' },
  });
  roundTrip({ apiVersion: 'authorization.k8s.io/v1', kind: 'SelfSubjectAccessReview', metadata: {}, spec: { nonResourceAttributes: { path: '/logs', verb: 'get' } }, status: { allowed: false, denied: true, evaluationError: 'x' } });
  roundTrip({
    apiVersion: 'authorization.k8s.io/v1', kind: 'SelfSubjectRulesReview', metadata: {}, spec: { namespace: 'default' },
    status: { resourceRules: [{ verbs: ['*'], apiGroups: ['*'], resources: ['*'] }], nonResourceRules: [{ verbs: ['get'], nonResourceURLs: ['/api'] }], incomplete: false },
  });
  roundTrip({
    apiVersion: 'authorization.k8s.io/v1', kind: 'SubjectAccessReview', metadata: {},
    spec: { resourceAttributes: { verb: 'get', resource: 'pods' }, user: 'jane', groups: ['dev'], uid: 'u1', extra: { scopes: ['a', 'b'], empty: [] } },
    status: { allowed: false },
  });
});

test('core: Pod with status, Node, Event, LimitRange, PV, PVC, Binding, PodTemplate', () => {
  roundTrip({
    apiVersion: 'v1', kind: 'Pod', metadata: meta('web-0'), spec: podTemplate['spec'],
    status: {
      phase: 'Running', podIP: '10.1.0.5', podIPs: [{ ip: '10.1.0.5' }], hostIP: '192.168.0.2', hostIPs: [{ ip: '192.168.0.2' }], qosClass: 'Burstable',
      startTime: '2024-01-02T03:04:05Z', nominatedNodeName: 'n2',
      conditions: [{ type: 'Ready', status: 'True', lastProbeTime: '2024-01-02T03:04:05Z', lastTransitionTime: '2024-01-02T03:04:06Z' }],
      containerStatuses: [
        {
          name: 'web', ready: true, restartCount: 2, image: 'nginx:1.27', imageID: 'docker-pullable://nginx@sha256:abc', containerID: 'containerd://1', started: true,
          state: { running: { startedAt: '2024-01-02T03:04:07Z' } },
          lastState: { terminated: { exitCode: 137, signal: 9, reason: 'OOMKilled', startedAt: '2024-01-02T03:00:00Z', finishedAt: '2024-01-02T03:04:00Z', containerID: 'containerd://0' } },
          allocatedResources: { cpu: '250m' }, resources: { requests: { cpu: '250m' } },
          volumeMounts: [{ name: 'cfg', mountPath: '/etc/web', readOnly: true, recursiveReadOnly: 'Disabled' }],
          user: { linux: { uid: 0, gid: 0, supplementalGroups: [0, 10] } },
          allocatedResourcesStatus: [{ name: 'claim:gpu', resources: [{ resourceID: 'gpu-0', health: 'Healthy' }] }],
        },
      ],
      initContainerStatuses: [{ name: 'init', ready: false, restartCount: 0, image: 'busybox', imageID: '', state: { waiting: { reason: 'PodInitializing' } } }],
      resourceClaimStatuses: [{ name: 'gpu', resourceClaimName: 'web-0-gpu' }],
      resize: 'InProgress',
    },
  });
  roundTrip({
    apiVersion: 'v1', kind: 'Node', metadata: { name: 'n1', labels: { 'kubernetes.io/hostname': 'n1' } },
    spec: { podCIDR: '10.1.0.0/24', podCIDRs: ['10.1.0.0/24'], providerID: 'skiff://n1', unschedulable: true, taints: [{ key: 'k', value: 'v', effect: 'NoSchedule', timeAdded: '2024-01-02T03:04:05Z' }] },
    status: {
      capacity: { cpu: '8', memory: '32Gi', pods: '110', 'nvidia.com/gpu': '4' }, allocatable: { cpu: '7800m', memory: '30Gi' }, phase: 'Running',
      conditions: [{ type: 'Ready', status: 'True', lastHeartbeatTime: '2024-01-02T03:04:05Z', lastTransitionTime: '2024-01-01T00:00:00Z', reason: 'KubeletReady', message: 'ok' }],
      addresses: [{ type: 'InternalIP', address: '192.168.0.2' }, { type: 'Hostname', address: 'n1' }],
      daemonEndpoints: { kubeletEndpoint: { Port: 10250 } },
      nodeInfo: { machineID: 'm', systemUUID: 's', bootID: 'b', kernelVersion: '6.1', osImage: 'Debian', containerRuntimeVersion: 'containerd://1.7', kubeletVersion: 'v1.32.0', kubeProxyVersion: '', operatingSystem: 'linux', architecture: 'amd64' },
      images: [{ names: ['nginx:1.27'], sizeBytes: 1e9 }],
      volumesInUse: ['kubernetes.io/csi/x'], volumesAttached: [{ name: 'kubernetes.io/csi/x', devicePath: '/dev/sdb' }],
      config: { active: { configMap: { namespace: 'kube-system', name: 'kc', uid: 'u', resourceVersion: '1', kubeletConfigKey: 'kubelet' } } },
      runtimeHandlers: [{ name: 'runc', features: { recursiveReadOnlyMounts: true, userNamespaces: false } }],
      features: { supplementalGroupsPolicy: true },
    },
  });
  roundTrip({
    apiVersion: 'v1', kind: 'Event', metadata: { name: 'web.17a', namespace: 'default' },
    involvedObject: { kind: 'Pod', namespace: 'default', name: 'web', uid: 'u', apiVersion: 'v1', resourceVersion: '5', fieldPath: 'spec.containers{web}' },
    reason: 'Pulled', message: 'Successfully pulled image', source: { component: 'kubelet', host: 'n1' },
    firstTimestamp: '2024-01-02T03:04:05Z', lastTimestamp: '2024-01-02T03:05:05Z', count: 2, type: 'Normal',
    eventTime: '2024-01-02T03:04:05.123456Z', series: { count: 2, lastObservedTime: '2024-01-02T03:05:05.000001Z' },
    action: 'Pull', related: { kind: 'Node', name: 'n1' }, reportingComponent: 'kubelet', reportingInstance: 'n1',
  });
  roundTrip({
    apiVersion: 'v1', kind: 'LimitRange', metadata: meta('limits'),
    spec: { limits: [{ type: 'Container', max: { cpu: '2' }, min: { cpu: '100m' }, default: { cpu: '500m' }, defaultRequest: { cpu: '250m' }, maxLimitRequestRatio: { cpu: '4' } }] },
  });
  roundTrip({
    apiVersion: 'v1', kind: 'PersistentVolume', metadata: { name: 'pv1' },
    spec: {
      capacity: { storage: '10Gi' }, hostPath: { path: '/data/pv1', type: 'DirectoryOrCreate' }, accessModes: ['ReadWriteOnce'],
      claimRef: { kind: 'PersistentVolumeClaim', namespace: 'default', name: 'data' }, persistentVolumeReclaimPolicy: 'Retain', storageClassName: 'manual',
      mountOptions: ['ro'], volumeMode: 'Filesystem', volumeAttributesClassName: 'gold',
      nodeAffinity: { required: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'kubernetes.io/hostname', operator: 'In', values: ['n1'] }] }] } },
    },
    status: { phase: 'Bound', lastPhaseTransitionTime: '2024-01-02T03:04:05Z' },
  });
  roundTrip({
    apiVersion: 'v1', kind: 'PersistentVolume', metadata: { name: 'pv2' },
    spec: { capacity: { storage: '1Ti' }, csi: { driver: 'ebs.csi.aws.com', volumeHandle: 'vol-1', fsType: 'ext4', volumeAttributes: { a: 'b' }, nodePublishSecretRef: { name: 's', namespace: 'kube-system' } }, accessModes: ['ReadWriteOncePod'] },
  });
  roundTrip({
    apiVersion: 'v1', kind: 'PersistentVolumeClaim', metadata: meta('data'),
    spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '10Gi' }, limits: { storage: '20Gi' } }, storageClassName: '', volumeName: 'pv1', dataSource: { kind: 'VolumeSnapshot', apiGroup: 'snapshot.storage.k8s.io', name: 'snap' }, dataSourceRef: { kind: 'VolumeSnapshot', apiGroup: 'snapshot.storage.k8s.io', name: 'snap', namespace: 'other' } },
    status: { phase: 'Bound', accessModes: ['ReadWriteOnce'], capacity: { storage: '10Gi' }, allocatedResources: { storage: '10Gi' }, allocatedResourceStatuses: { storage: 'ControllerResizeInProgress' }, conditions: [{ type: 'Resizing', status: 'True' }] },
  });
  roundTrip({ apiVersion: 'v1', kind: 'Binding', metadata: meta('web-0'), target: { kind: 'Node', name: 'n1', apiVersion: 'v1' } });
  roundTrip({ apiVersion: 'v1', kind: 'PodTemplate', metadata: meta('tpl'), template: podTemplate });
  roundTrip({ apiVersion: 'v1', kind: 'ResourceQuota', metadata: meta('q'), spec: { hard: { cpu: '1', 'requests.memory': '1G' }, scopes: ['BestEffort'], scopeSelector: { matchExpressions: [{ scopeName: 'PriorityClass', operator: 'In', values: ['high'] }] } }, status: { hard: { cpu: '1' }, used: { cpu: '0' } } });
});

test('coordination, scheduling, events, policy, autoscaling', () => {
  roundTrip({
    apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: meta('n1', 'kube-node-lease'),
    spec: { holderIdentity: 'n1', leaseDurationSeconds: 40, acquireTime: '2024-01-02T03:04:05.000000Z', renewTime: '2024-01-02T03:04:45.654321Z', leaseTransitions: 0, strategy: 'OldestEmulationVersion', preferredHolder: 'n2' },
  });
  roundTrip({ apiVersion: 'scheduling.k8s.io/v1', kind: 'PriorityClass', metadata: { name: 'zero' }, value: 0, description: 'zero', preemptionPolicy: 'Never' });
  roundTrip({
    apiVersion: 'events.k8s.io/v1', kind: 'Event', metadata: meta('e1'), eventTime: '2024-01-02T03:04:05.123456Z',
    series: { count: 3, lastObservedTime: '2024-01-02T03:09:05.000000Z' }, reportingController: 'skiff/scheduler', reportingInstance: 'skiff-0',
    action: 'Scheduling', reason: 'FailedScheduling', regarding: { kind: 'Pod', name: 'web', namespace: 'default' }, related: { kind: 'Node', name: 'n1' },
    note: '0/1 nodes are available', type: 'Warning', deprecatedSource: { component: 'scheduler' }, deprecatedFirstTimestamp: '2024-01-02T03:04:05Z', deprecatedCount: 1,
  });
  roundTrip({
    apiVersion: 'policy/v1', kind: 'PodDisruptionBudget', metadata: meta('pdb'),
    spec: { minAvailable: '50%', selector: { matchLabels: { app: 'web' } }, unhealthyPodEvictionPolicy: 'AlwaysAllow' },
    status: { observedGeneration: 1, disruptedPods: { 'web-0': '2024-01-02T03:04:05Z' }, disruptionsAllowed: 1, currentHealthy: 3, desiredHealthy: 2, expectedPods: 3 },
  });
  roundTrip({ apiVersion: 'policy/v1', kind: 'Eviction', metadata: meta('web-0'), deleteOptions: { gracePeriodSeconds: 0, preconditions: { uid: 'u', resourceVersion: '1' }, propagationPolicy: 'Background', dryRun: ['All'] } });
  roundTrip({ apiVersion: 'autoscaling/v1', kind: 'Scale', metadata: meta('web'), spec: { replicas: 3 }, status: { replicas: 2, selector: 'app=web' } });
  roundTrip({
    apiVersion: 'autoscaling/v1', kind: 'HorizontalPodAutoscaler', metadata: meta('web'),
    spec: { scaleTargetRef: { kind: 'Deployment', name: 'web', apiVersion: 'apps/v1' }, minReplicas: 1, maxReplicas: 10, targetCPUUtilizationPercentage: 80 },
    status: { currentReplicas: 2, desiredReplicas: 3, currentCPUUtilizationPercentage: 90, lastScaleTime: '2024-01-02T03:04:05Z' },
  });
  roundTrip({
    apiVersion: 'autoscaling/v2', kind: 'HorizontalPodAutoscaler', metadata: meta('web'),
    spec: {
      scaleTargetRef: { kind: 'Deployment', name: 'web', apiVersion: 'apps/v1' }, minReplicas: 2, maxReplicas: 10,
      metrics: [
        { type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 60 } } },
        { type: 'Pods', pods: { metric: { name: 'qps', selector: { matchLabels: { a: 'b' } } }, target: { type: 'AverageValue', averageValue: '1k' } } },
        { type: 'External', external: { metric: { name: 'queue' }, target: { type: 'Value', value: '30' } } },
        { type: 'ContainerResource', containerResource: { name: 'memory', container: 'web', target: { type: 'AverageValue', averageValue: '500Mi' } } },
        { type: 'Object', object: { describedObject: { kind: 'Ingress', name: 'main', apiVersion: 'networking.k8s.io/v1' }, metric: { name: 'rps' }, target: { type: 'Value', value: '10k' } } },
      ],
      behavior: {
        scaleUp: { stabilizationWindowSeconds: 0, selectPolicy: 'Max', policies: [{ type: 'Percent', value: 100, periodSeconds: 15 }] },
        scaleDown: { stabilizationWindowSeconds: 300, policies: [{ type: 'Pods', value: 1, periodSeconds: 60 }] },
      },
    },
    status: { observedGeneration: 1, currentReplicas: 2, desiredReplicas: 2, currentMetrics: [{ type: 'Resource', resource: { name: 'cpu', current: { averageUtilization: 50, averageValue: '250m' } } }], conditions: [{ type: 'AbleToScale', status: 'True', lastTransitionTime: '2024-01-02T03:04:05Z' }] },
  });
});

test('meta kinds: Status, DeleteOptions, List, PartialObjectMetadata; lists of typed kinds', () => {
  roundTrip({
    apiVersion: 'v1', kind: 'Status', metadata: {}, status: 'Failure', message: 'pods "x" not found', reason: 'NotFound',
    details: { name: 'x', kind: 'pods', causes: [{ reason: 'FieldValueRequired', message: 'Required value', field: 'spec.containers' }], retryAfterSeconds: 1 }, code: 404,
  });
  roundTrip({ apiVersion: 'v1', kind: 'Status', metadata: { resourceVersion: '5', continue: 'abc', remainingItemCount: 0 }, status: 'Success', code: 200 });
  roundTrip({ apiVersion: 'v1', kind: 'DeleteOptions', gracePeriodSeconds: 30, propagationPolicy: 'Foreground', orphanDependents: false, ignoreStoreReadErrorWithClusterBreakingPotential: true });
  roundTrip({ apiVersion: 'meta.k8s.io/v1', kind: 'PartialObjectMetadata', metadata: { name: 'x', namespace: 'y', labels: { a: 'b' } } });
  roundTrip({
    apiVersion: 'v1', kind: 'List', metadata: { resourceVersion: '' === '' ? '7' : '' },
    items: [{ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'a' }, data: { k: 'v' } }, { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'b' } }],
  });
  roundTrip({
    apiVersion: 'v1', kind: 'ConfigMapList', metadata: { resourceVersion: '10', continue: 'next' },
    items: [{ metadata: meta('a'), data: { x: '1' } }, { metadata: meta('b') }],
  });
  roundTrip({ apiVersion: 'apps/v1', kind: 'DeploymentList', metadata: {}, items: [{ metadata: meta('web'), spec: { replicas: 1, selector: {}, template: { metadata: {}, spec: {} } } }] });
});

test('zero values: pointers keep 0/false/"", plain values and empty collections drop out', () => {
  const body = encodeProtobuf({
    apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', generation: 0, labels: {}, finalizers: [] },
    spec: { containers: [{ name: 'c', image: '', stdin: false, ports: [] }], terminationGracePeriodSeconds: 0, hostNetwork: false, nodeName: '' },
  });
  assert.deepStrictEqual(decodeProtobuf(body).object, {
    apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' },
    // Container.name has no omitempty upstream; image does.
    spec: { containers: [{ name: 'c' }], terminationGracePeriodSeconds: 0 },
  });
  // Quantity numbers are accepted and come back as strings, like the Go decoder; null means absent.
  const q = decodeProtobuf(encodeProtobuf({ apiVersion: 'v1', kind: 'ResourceQuota', metadata: null, spec: { hard: { cpu: 2, pods: null } } }));
  assert.deepStrictEqual(q.object, { apiVersion: 'v1', kind: 'ResourceQuota', spec: { hard: { cpu: '2' } } });
  // Time keeps only seconds (as upstream); MicroTime keeps microseconds.
  const ev = decodeProtobuf(encodeProtobuf({ apiVersion: 'events.k8s.io/v1', kind: 'Event', metadata: { creationTimestamp: '2024-01-02T05:04:05.999+02:00' }, eventTime: '2024-01-02T03:04:05.1234567Z' }));
  assert.deepStrictEqual(ev.object, { apiVersion: 'events.k8s.io/v1', kind: 'Event', metadata: { creationTimestamp: '2024-01-02T03:04:05Z' }, eventTime: '2024-01-02T03:04:05.123456Z' });
});

test('bytes fields, renamed proto fields (json_name) and admission webhooks', () => {
  roundTrip({
    apiVersion: 'certificates.k8s.io/v1', kind: 'CertificateSigningRequest', metadata: { name: 'csr1' },
    spec: {
      request: Buffer.from('-----BEGIN CERTIFICATE REQUEST-----').toString('base64'), signerName: 'kubernetes.io/kube-apiserver-client',
      expirationSeconds: 86400, usages: ['client auth'], username: 'jane', groups: ['dev'], extra: { scopes: ['x'] },
    },
    status: { certificate: Buffer.from([1, 2, 3]).toString('base64'), conditions: [{ type: 'Approved', status: 'True', reason: 'Ok', lastUpdateTime: '2024-01-02T03:04:05Z' }] },
  });
  roundTrip({
    apiVersion: 'admissionregistration.k8s.io/v1', kind: 'ValidatingWebhookConfiguration', metadata: { name: 'vw' },
    webhooks: [{
      name: 'v.example.com', clientConfig: { service: { namespace: 'ns', name: 'svc', path: '/validate', port: 443 }, caBundle: Buffer.from('ca').toString('base64') },
      rules: [{ operations: ['CREATE', 'UPDATE'], apiGroups: ['apps'], apiVersions: ['v1'], resources: ['deployments'], scope: 'Namespaced' }],
      failurePolicy: 'Fail', matchPolicy: 'Equivalent', namespaceSelector: {}, objectSelector: {}, sideEffects: 'None', timeoutSeconds: 10,
      admissionReviewVersions: ['v1'], matchConditions: [{ name: 'not-system', expression: "!request.userInfo.username.startsWith('system:')" }],
    }],
  });
  roundTrip({
    apiVersion: 'admissionregistration.k8s.io/v1', kind: 'ValidatingAdmissionPolicy', metadata: { name: 'vap' },
    spec: {
      paramKind: { apiVersion: 'v1', kind: 'ConfigMap' },
      matchConstraints: { resourceRules: [{ apiGroups: ['apps'], apiVersions: ['v1'], operations: ['CREATE'], resources: ['deployments'], resourceNames: ['web'] }] },
      validations: [{ expression: 'object.spec.replicas <= 5', message: 'too many', reason: 'Invalid' }],
      variables: [{ name: 'r', expression: 'object.spec.replicas' }],
      failurePolicy: 'Fail',
    },
  });
  // An empty list has no protobuf form distinct from an absent one; like Go's omitempty it disappears.
  const tr = { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', metadata: {}, spec: { audiences: [], boundObjectRef: { kind: 'Secret', apiVersion: 'v1', name: 's1', uid: '1234' } } };
  assert.deepStrictEqual(decodeProtobuf(encodeProtobuf(tr)).object, { ...tr, spec: { boundObjectRef: tr.spec.boundObjectRef } });
});

test('embedded objects: List items and WatchEvent objects nest protobuf envelopes, other RawExtensions carry JSON', () => {
  const cm = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'a', namespace: 'default' }, data: { k: 'v' } };
  const watch = { apiVersion: 'v1', kind: 'WatchEvent', type: 'ADDED', object: cm };
  roundTrip(watch);
  const body = encodeProtobuf(watch);
  // The ConfigMap inside is itself a k8s\0 envelope (what Go clients expect), so its magic appears twice.
  assert.equal(body.indexOf(Buffer.from('k8s\0', 'latin1'), 4) > 4, true);
  // A payload without a protobuf kind stays JSON.
  const cr = encodeProtobuf({ apiVersion: 'apps/v1', kind: 'ControllerRevision', metadata: { name: 'r' }, data: { kind: 'Patch', x: 1 }, revision: 2 });
  assert.ok(cr.includes(Buffer.from('{"kind":"Patch","x":1}')));
  roundTrip({ apiVersion: 'apps/v1', kind: 'WatchEvent', type: 'BOOKMARK', object: { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { resourceVersion: '42', annotations: { 'k8s.io/initial-events-end': 'true' } } } });
});

test('int64 beyond 2^53 and negative numbers survive', () => {
  roundTrip({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', generation: 2 ** 60 }, spec: { securityContext: { runAsUser: -1 }, priority: -2147483648 } });
});
