#!/usr/bin/env node
// Derives the OpenAPI v3 component schemas Skiff serves (and validates fields against) from the JSDoc-annotated
// declarations in node_modules/kubernetes-types, using the TypeScript compiler API (parser only: no type checker,
// so it stays well under a second). Output: src/api/openapi/generated/types.json, a map from upstream definition
// names (io.k8s.api.core.v1.PodSpec, io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta, ...) to OpenAPI v3 schemas
// whose references already point at '#/components/schemas/<name>'. The file is rewritten only when its content
// changes, so running this twice is a no-op.
//
// Decisions the declarations cannot express, and how they are made here:
// - Integer vs number: kubernetes-types writes `number` for Go int32/int64 and float64 alike. Every `number` is
//   emitted as `type: integer` except the few float64 fields listed in FLOAT_FIELDS (none of them is in a served
//   kind). Integer widths (int32/int64 formats) are not emitted.
// - `number | string` is Go's intstr.IntOrString: emitted as a reference to io.k8s.apimachinery.pkg.util.intstr.IntOrString,
//   which (as kube-openapi does) has no plain `type`, a oneOf integer|string, format int-or-string, and
//   x-kubernetes-int-or-string: true.
// - Quantity (a string alias in the declarations) also accepts JSON numbers upstream: oneOf string|number.
// - Time/MicroTime: string, format date-time. RawExtension/FieldsV1/apiextensions JSON: any value, marked
//   x-kubernetes-preserve-unknown-fields so validation does not descend into them.
// - []byte fields (Secret.data values, ConfigMap.binaryData values, ...) are strings in the declarations and get
//   format: byte from BYTE_FIELDS.
// - Fields and types that kube-apiserver 1.32 serves but kubernetes-types 1.30 lacks come from SUPPLEMENT below.
import ts from 'typescript';
import { readFileSync, readdirSync, statSync, mkdirSync, writeFileSync, existsSync } from 'node:fs';
import { join, dirname, relative, posix } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const typesDir = join(root, 'node_modules', 'kubernetes-types');
const outFile = join(root, 'src', 'api', 'openapi', 'generated', 'types.json');
const REF = '#/components/schemas/';

const INT_OR_STRING = 'io.k8s.apimachinery.pkg.util.intstr.IntOrString';
/** Go float64 fields (definition.property); every other `number` is an integer. */
const FLOAT_FIELDS = new Set([
  'io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.JSONSchemaProps.maximum',
  'io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.JSONSchemaProps.minimum',
  'io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.JSONSchemaProps.multipleOf',
]);
/** Go []byte fields (or map values), serialized as base64 strings. */
const BYTE_FIELDS = new Set([
  'io.k8s.api.core.v1.Secret.data',
  'io.k8s.api.core.v1.ConfigMap.binaryData',
  'io.k8s.api.certificates.v1.CertificateSigningRequestSpec.request',
  'io.k8s.api.certificates.v1.CertificateSigningRequestStatus.certificate',
  'io.k8s.api.admissionregistration.v1.WebhookClientConfig.caBundle',
  'io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.WebhookClientConfig.caBundle',
]);
/** Types whose content is arbitrary JSON: validation must not look inside them. */
const PRESERVE_UNKNOWN = new Set([
  'io.k8s.apimachinery.pkg.runtime.RawExtension',
  'io.k8s.apimachinery.pkg.apis.meta.v1.FieldsV1',
  'io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.JSON',
]);

/** Maps a declaration file (relative, without .d.ts) to the Go package prefix upstream definition names use. */
function packagePrefix(mod) {
  switch (mod) {
    case 'meta/v1': return 'io.k8s.apimachinery.pkg.apis.meta.v1';
    case 'api/resource': return 'io.k8s.apimachinery.pkg.api.resource';
    case 'runtime': return 'io.k8s.apimachinery.pkg.runtime';
    case 'version': return 'io.k8s.apimachinery.pkg.version';
    default:
      if (mod.startsWith('apiextensions/')) return `io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.${mod.split('/')[1]}`;
      return `io.k8s.api.${mod.replace('/', '.')}`;
  }
}

function listDeclarationFiles(dir) {
  const out = [];
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...listDeclarationFiles(p));
    else if (name.endsWith('.d.ts') && name !== 'index.d.ts') out.push(p);
  }
  return out;
}

function docOf(node) {
  const docs = ts.getJSDocCommentsAndTags(node).filter((d) => ts.isJSDoc(d));
  const text = docs.map((d) => ts.getTextOfJSDocComment(d.comment) ?? '').join('\n').trim();
  return text || undefined;
}

const schemas = {};

/** Turns one declaration file into schemas. */
function processFile(file) {
  const mod = relative(typesDir, file).split('\\').join('/').replace(/\.d\.ts$/, '');
  const prefix = packagePrefix(mod);
  const sf = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true);
  const imported = new Map(); // local name → definition name
  const local = new Set();
  for (const st of sf.statements) {
    if (ts.isImportDeclaration(st) && st.importClause?.namedBindings && ts.isNamedImports(st.importClause.namedBindings)) {
      const target = posix.normalize(posix.join(posix.dirname(mod), st.moduleSpecifier.text));
      for (const el of st.importClause.namedBindings.elements) {
        imported.set(el.name.text, `${packagePrefix(target)}.${(el.propertyName ?? el.name).text}`);
      }
    } else if ((ts.isInterfaceDeclaration(st) || ts.isTypeAliasDeclaration(st)) && st.name) {
      local.add(st.name.text);
    }
  }
  const refName = (name) => (local.has(name) ? `${prefix}.${name}` : imported.get(name) ?? `${prefix}.${name}`);

  /** Schema of a type node; `field` is `definition.property` for the per-field overrides. */
  function typeSchema(node, field) {
    switch (node.kind) {
      case ts.SyntaxKind.StringKeyword:
        return BYTE_FIELDS.has(field) ? { type: 'string', format: 'byte' } : { type: 'string' };
      case ts.SyntaxKind.NumberKeyword:
        return FLOAT_FIELDS.has(field) ? { type: 'number', format: 'double' } : { type: 'integer' };
      case ts.SyntaxKind.BooleanKeyword:
        return { type: 'boolean' };
      case ts.SyntaxKind.AnyKeyword:
      case ts.SyntaxKind.UnknownKeyword:
        return { 'x-kubernetes-preserve-unknown-fields': true };
      case ts.SyntaxKind.LiteralType: {
        const lit = node.literal;
        if (ts.isStringLiteral(lit)) return { type: 'string' };
        if (ts.isNumericLiteral(lit)) return { type: 'integer' };
        return { type: 'boolean' };
      }
      case ts.SyntaxKind.ArrayType:
        return { type: 'array', items: typeSchema(node.elementType, field) };
      case ts.SyntaxKind.ParenthesizedType:
        return typeSchema(node.type, field);
      case ts.SyntaxKind.UnionType: {
        const kinds = node.types.map((t) => t.kind).sort();
        if (kinds.length === 2 && kinds.includes(ts.SyntaxKind.NumberKeyword) && kinds.includes(ts.SyntaxKind.StringKeyword)) {
          return { $ref: REF + INT_OR_STRING };
        }
        if (node.types.every((t) => ts.isLiteralTypeNode(t) && ts.isStringLiteral(t.literal))) {
          return { type: 'string', enum: node.types.map((t) => t.literal.text) };
        }
        return { oneOf: node.types.map((t) => typeSchema(t, field)) };
      }
      case ts.SyntaxKind.TypeLiteral: {
        const idx = node.members.find((m) => ts.isIndexSignatureDeclaration(m));
        if (idx) return { type: 'object', additionalProperties: typeSchema(idx.type, field) };
        return { type: 'object', 'x-kubernetes-preserve-unknown-fields': true };
      }
      case ts.SyntaxKind.TypeReference: {
        const name = node.typeName.getText(sf);
        if (name === 'Array' && node.typeArguments?.length === 1) return { type: 'array', items: typeSchema(node.typeArguments[0], field) };
        if (name === 'Record' && node.typeArguments?.length === 2) return { type: 'object', additionalProperties: typeSchema(node.typeArguments[1], field) };
        return { $ref: REF + refName(name) };
      }
      default:
        throw new Error(`gen-openapi: unsupported type syntax ${ts.SyntaxKind[node.kind]} at ${field}`);
    }
  }

  for (const st of sf.statements) {
    if (ts.isInterfaceDeclaration(st)) {
      const defName = `${prefix}.${st.name.text}`;
      const schema = { type: 'object' };
      const description = docOf(st);
      if (description) schema.description = description;
      const properties = {};
      const required = [];
      let apiVersion;
      let kind;
      for (const m of st.members) {
        if (ts.isIndexSignatureDeclaration(m)) {
          schema.additionalProperties = typeSchema(m.type, defName);
          continue;
        }
        if (!ts.isPropertySignature(m) || !m.type) continue;
        const prop = ts.isIdentifier(m.name) || ts.isStringLiteral(m.name) ? m.name.text : m.name.getText(sf);
        let s = typeSchema(m.type, `${defName}.${prop}`);
        // kube-openapi wraps references in allOf so the property can carry its own description.
        if (s.$ref) s = { allOf: [s] };
        const d = docOf(m);
        properties[prop] = d ? { ...s, description: d } : s;
        if (!m.questionToken) required.push(prop);
        if (prop === 'apiVersion' && ts.isLiteralTypeNode(m.type) && ts.isStringLiteral(m.type.literal)) apiVersion = m.type.literal.text;
        if (prop === 'kind' && ts.isLiteralTypeNode(m.type) && ts.isStringLiteral(m.type.literal)) kind = m.type.literal.text;
      }
      if (Object.keys(properties).length) schema.properties = sortKeys(properties);
      if (required.length) schema.required = required.sort();
      if (apiVersion && kind) {
        const i = apiVersion.indexOf('/');
        schema['x-kubernetes-group-version-kind'] = [
          i < 0 ? { group: '', kind, version: apiVersion } : { group: apiVersion.slice(0, i), kind, version: apiVersion.slice(i + 1) },
        ];
      }
      if (PRESERVE_UNKNOWN.has(defName)) {
        schema['x-kubernetes-preserve-unknown-fields'] = true;
        if (defName.endsWith('.JSON')) delete schema.type;
      }
      schemas[defName] = schema;
    } else if (ts.isTypeAliasDeclaration(st)) {
      const defName = `${prefix}.${st.name.text}`;
      const description = docOf(st);
      let schema;
      if (defName === 'io.k8s.apimachinery.pkg.api.resource.Quantity') {
        schema = { oneOf: [{ type: 'string' }, { type: 'number' }] };
      } else if (defName.endsWith('.meta.v1.Time') || defName.endsWith('.meta.v1.MicroTime')) {
        schema = { type: 'string', format: 'date-time' };
      } else {
        schema = typeSchema(st.type, defName);
        if (schema.oneOf) schema = { 'x-kubernetes-preserve-unknown-fields': true };
      }
      schemas[defName] = description ? { description, ...schema } : schema;
    }
  }
}

function sortKeys(obj) {
  return Object.fromEntries(Object.entries(obj).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

// Hand-written: what kube-apiserver 1.32 has that kubernetes-types 1.30 does not. New definitions are added whole;
// for existing ones, `properties` are merged in.
const str = (description) => ({ type: 'string', description });
const int = (description) => ({ type: 'integer', description });
const ref = (name, description) => ({ allOf: [{ $ref: REF + name }], description });
const SUPPLEMENT = {
  [INT_OR_STRING]: {
    description: 'IntOrString is a type that can hold an int32 or a string. When used in JSON or YAML marshalling and unmarshalling, it produces or consumes the inner type. This allows you to have, for example, a JSON field that can accept a name or number.',
    oneOf: [{ type: 'integer' }, { type: 'string' }],
    format: 'int-or-string',
    'x-kubernetes-int-or-string': true,
  },
  'io.k8s.api.core.v1.PodSpec': {
    properties: {
      resources: ref('io.k8s.api.core.v1.ResourceRequirements', 'Resources is the total amount of CPU and Memory resources required by all containers in the pod (pod-level resources). Only "cpu" and "memory" resource names are supported. Alpha in 1.32 behind the PodLevelResources feature gate.'),
    },
  },
  'io.k8s.api.core.v1.PodSecurityContext': {
    properties: {
      supplementalGroupsPolicy: { ...str('Defines how supplemental groups of the first container processes are calculated. Valid values are "Merge" and "Strict". If not specified, "Merge" is used.'), enum: ['Merge', 'Strict'] },
      seLinuxChangePolicy: str('seLinuxChangePolicy defines how the container\'s SELinux label is applied to all volumes used by the Pod. Valid values are "MountOption" and "Recursive".'),
    },
  },
  'io.k8s.api.core.v1.Volume': {
    properties: {
      image: ref('io.k8s.api.core.v1.ImageVolumeSource', 'image represents an OCI object (a container image or artifact) pulled and mounted on the kubelet\'s host machine.'),
    },
  },
  'io.k8s.api.core.v1.ImageVolumeSource': {
    type: 'object',
    description: 'ImageVolumeSource represents an image volume resource.',
    properties: {
      pullPolicy: str('Policy for pulling OCI objects. Possible values are: Always, Never, IfNotPresent.'),
      reference: str('Required: Image or artifact reference to be used.'),
    },
  },
  'io.k8s.api.core.v1.ResourceClaim': {
    properties: {
      request: str('Request is the name chosen for a request in the referenced claim. If empty, everything from the claim is made available, otherwise only the result of this request.'),
    },
  },
  'io.k8s.api.core.v1.ContainerStatus': {
    properties: {
      allocatedResourcesStatus: {
        type: 'array',
        items: { $ref: REF + 'io.k8s.api.core.v1.ResourceStatus' },
        description: 'AllocatedResourcesStatus represents the status of various resources allocated for this Pod.',
      },
      user: ref('io.k8s.api.core.v1.ContainerUser', 'User represents user identity information initially attached to the first process of the container.'),
    },
  },
  'io.k8s.api.core.v1.ResourceStatus': {
    type: 'object',
    description: 'ResourceStatus represents the status of a single resource allocated to a Pod.',
    properties: {
      name: str('Name of the resource. Must be unique within the pod and match one of the resources from the pod spec.'),
      resources: {
        type: 'array',
        items: { $ref: REF + 'io.k8s.api.core.v1.ResourceHealth' },
        description: 'List of unique resources health. Each element in the list contains a unique resource ID and its health.',
      },
    },
    required: ['name'],
  },
  'io.k8s.api.core.v1.ResourceHealth': {
    type: 'object',
    description: 'ResourceHealth represents the health of a resource. It has the latest device health information.',
    properties: {
      health: str('Health of the resource. Can be one of: Healthy, Unhealthy, Unknown.'),
      resourceID: str('ResourceID is the unique identifier of the resource.'),
    },
    required: ['resourceID'],
  },
  'io.k8s.api.core.v1.ContainerUser': {
    type: 'object',
    description: 'ContainerUser represents user identity information.',
    properties: {
      linux: ref('io.k8s.api.core.v1.LinuxContainerUser', 'Linux holds user identity information initially attached to the first process of the containers in Linux.'),
    },
  },
  'io.k8s.api.core.v1.LinuxContainerUser': {
    type: 'object',
    description: 'LinuxContainerUser represents user identity information in Linux containers.',
    properties: {
      gid: int('GID is the primary gid initially attached to the first process in the container.'),
      supplementalGroups: { type: 'array', items: { type: 'integer' }, description: 'SupplementalGroups are the supplemental groups initially attached to the first process in the container.' },
      uid: int('UID is the primary uid initially attached to the first process in the container.'),
    },
    required: ['gid', 'uid'],
  },
  'io.k8s.api.core.v1.NodeStatus': {
    properties: {
      features: ref('io.k8s.api.core.v1.NodeFeatures', 'Features describes the set of features implemented by the CRI implementation.'),
    },
  },
  'io.k8s.api.core.v1.NodeFeatures': {
    type: 'object',
    description: 'NodeFeatures describes the set of features implemented by the CRI implementation.',
    properties: {
      supplementalGroupsPolicy: { type: 'boolean', description: 'SupplementalGroupsPolicy is set to true if the runtime supports SupplementalGroupsPolicy and ContainerUser.' },
    },
  },
  'io.k8s.api.core.v1.NodeRuntimeHandlerFeatures': {
    properties: {
      userNamespaces: { type: 'boolean', description: 'UserNamespaces is set to true if the runtime handler supports UserNamespaces, including for volumes.' },
    },
  },
  'io.k8s.api.coordination.v1.LeaseSpec': {
    properties: {
      preferredHolder: str('PreferredHolder signals to a lease holder that the lease has a more optimal holder and should be given up. Requires strategy to be set.'),
      strategy: str('Strategy indicates the strategy for picking the leader for coordinated leader election.'),
    },
  },
  // Gang scheduling: scheduling.x-k8s.io/v1alpha1 PodGroup (scheduler-plugins' coscheduling API), served built in.
  'io.x-k8s.scheduling.v1alpha1.PodGroup': {
    type: 'object',
    description: 'PodGroup is a collection of Pods that are scheduled together (gang scheduling): none of its members binds until minMember of them can. Pods join a group with the label scheduling.x-k8s.io/pod-group.',
    properties: {
      apiVersion: str('APIVersion defines the versioned schema of this representation of an object.'),
      kind: str('Kind is a string value representing the REST resource this object represents.'),
      metadata: ref('io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta', 'Standard object metadata.'),
      spec: ref('io.x-k8s.scheduling.v1alpha1.PodGroupSpec', 'Specification of the desired behavior of the pod group.'),
      status: ref('io.x-k8s.scheduling.v1alpha1.PodGroupStatus', 'Status represents the current information about a pod group.'),
    },
    'x-kubernetes-group-version-kind': [{ group: 'scheduling.x-k8s.io', version: 'v1alpha1', kind: 'PodGroup' }],
  },
  'io.x-k8s.scheduling.v1alpha1.PodGroupSpec': {
    type: 'object',
    description: 'PodGroupSpec represents the template of a pod group.',
    properties: {
      minMember: int('MinMember defines the minimal number of members/tasks to run the pod group; if there are not enough resources to start all tasks, the scheduler will not start any.'),
      minResources: { type: 'object', additionalProperties: ref('io.k8s.apimachinery.pkg.api.resource.Quantity', ''), description: 'MinResources defines the minimal resources of members/tasks to run the pod group.' },
      scheduleTimeoutSeconds: int('ScheduleTimeoutSeconds defines the maximal time of members/tasks to wait before run the pod group.'),
    },
  },
  'io.x-k8s.scheduling.v1alpha1.PodGroupStatus': {
    type: 'object',
    description: 'PodGroupStatus represents the current state of a pod group.',
    properties: {
      phase: str('Current phase of PodGroup: Pending, PreScheduling, Scheduling, Scheduled, Running, Finished, Failed.'),
      occupiedBy: str('OccupiedBy marks the workload (e.g., deployment, statefulset) UID that occupy the podgroup.'),
      scheduled: int('The number of actively running pods.'),
      running: int('The number of actively running pods.'),
      succeeded: int('The number of pods which reached phase Succeeded.'),
      failed: int('The number of pods which reached phase Failed.'),
      scheduleStartTime: ref('io.k8s.apimachinery.pkg.apis.meta.v1.Time', 'ScheduleStartTime of the group.'),
    },
  },
  'io.x-k8s.scheduling.v1alpha1.PodGroupList': {
    type: 'object',
    description: 'PodGroupList is a collection of pod groups.',
    properties: {
      apiVersion: str('APIVersion defines the versioned schema of this representation of an object.'),
      kind: str('Kind is a string value representing the REST resource this object represents.'),
      metadata: ref('io.k8s.apimachinery.pkg.apis.meta.v1.ListMeta', 'Standard list metadata.'),
      items: { type: 'array', items: { $ref: REF + 'io.x-k8s.scheduling.v1alpha1.PodGroup' }, description: 'Items is the list of PodGroup.' },
    },
    required: ['items'],
    'x-kubernetes-group-version-kind': [{ group: 'scheduling.x-k8s.io', version: 'v1alpha1', kind: 'PodGroupList' }],
  },
  'io.k8s.apimachinery.pkg.apis.meta.v1.DeleteOptions': {
    properties: {
      ignoreStoreReadErrorWithClusterBreakingPotential: { type: 'boolean', description: 'if set to true, it will trigger an unsafe deletion of the resource in case the normal deletion flow fails with a corrupt object error.' },
    },
  },
};

function applySupplement() {
  for (const [name, add] of Object.entries(SUPPLEMENT)) {
    const have = schemas[name];
    if (!have) { schemas[name] = add; continue; }
    if (add.properties) have.properties = sortKeys({ ...have.properties, ...add.properties });
  }
}

/** Checks every $ref points at a definition, so a typo in the supplement fails the build. */
function checkRefs() {
  const missing = new Set();
  const walk = (v) => {
    if (Array.isArray(v)) { v.forEach(walk); return; }
    if (v && typeof v === 'object') {
      for (const [k, x] of Object.entries(v)) {
        if (k === '$ref' && typeof x === 'string' && !schemas[x.slice(REF.length)]) missing.add(x);
        else walk(x);
      }
    }
  };
  walk(schemas);
  if (missing.size) throw new Error(`gen-openapi: dangling references: ${[...missing].join(', ')}`);
}

for (const f of listDeclarationFiles(typesDir)) processFile(f);
applySupplement();
checkRefs();

const pkg = JSON.parse(readFileSync(join(typesDir, 'package.json'), 'utf8'));
const text = JSON.stringify({ source: `kubernetes-types@${pkg.version} + supplement (scripts/gen-openapi.mjs)`, schemas: sortKeys(schemas) }) + '\n';
mkdirSync(dirname(outFile), { recursive: true });
if (!existsSync(outFile) || readFileSync(outFile, 'utf8') !== text) {
  writeFileSync(outFile, text);
  console.log(`gen-openapi: wrote ${relative(root, outFile)} (${Object.keys(schemas).length} schemas, ${text.length} bytes)`);
}
