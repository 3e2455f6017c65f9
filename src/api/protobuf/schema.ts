/**
 * Loads the Kubernetes protobuf schema (`proto/*.proto`, generated from the descriptors kubectl 1.32 ships) and maps
 * apiVersion + kind to message types. The .proto files are read at runtime relative to this module, which works both
 * from src/ (tsx) and dist/ (the build copies *.proto next to the JS).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';

const PROTO_DIR = fileURLToPath(new URL('./proto/', import.meta.url));

/** Proto package → API group for every `k8s.io.api.<pkg>.<version>` package we ship. */
const GROUPS: Record<string, string> = {
  core: '',
  apps: 'apps',
  batch: 'batch',
  networking: 'networking.k8s.io',
  coordination: 'coordination.k8s.io',
  discovery: 'discovery.k8s.io',
  scheduling: 'scheduling.k8s.io',
  events: 'events.k8s.io',
  policy: 'policy',
  autoscaling: 'autoscaling',
  rbac: 'rbac.authorization.k8s.io',
  authentication: 'authentication.k8s.io',
  authorization: 'authorization.k8s.io',
  storage: 'storage.k8s.io',
  certificates: 'certificates.k8s.io',
  node: 'node.k8s.io',
  admissionregistration: 'admissionregistration.k8s.io',
  flowcontrol: 'flowcontrol.apiserver.k8s.io',
};

export const META_V1 = 'k8s.io.apimachinery.pkg.apis.meta.v1';

/** Messages that carry `metadata` but are parts of objects, not kinds of their own. */
const NOT_KINDS = new Set(['PodTemplateSpec', 'JobTemplateSpec', 'PersistentVolumeClaimTemplate']);
/** core/v1 kinds without ObjectMeta (subresource options). */
const CORE_OPTION_KINDS = ['PodLogOptions', 'PodExecOptions', 'PodAttachOptions', 'PodPortForwardOptions', 'PodProxyOptions', 'NodeProxyOptions', 'ServiceProxyOptions'];
/** meta/v1 types upstream registers in every group version (metav1.AddToGroupVersion). */
const OPTION_KINDS = ['DeleteOptions', 'CreateOptions', 'UpdateOptions', 'PatchOptions', 'ListOptions', 'GetOptions', 'WatchEvent'];
/** meta/v1 types upstream registers as "unversioned" under v1. */
const UNVERSIONED_KINDS = ['Status', 'APIVersions', 'APIGroupList', 'APIGroup', 'APIResourceList'];

/** The loaded schema: the protobufjs root plus the apiVersion → kind → type registry. */
export interface Schema {
  root: protobuf.Root;
  unknown: protobuf.Type;
  kinds: Map<string, Map<string, protobuf.Type>>;
}

let schema: Schema | undefined;

/** Parses the .proto files once, on first use (about a hundred milliseconds), and builds the kind registry. */
export function getSchema(): Schema {
  if (schema) return schema;
  const root = new protobuf.Root();
  for (const file of readdirSync(PROTO_DIR).filter((f) => f.endsWith('.proto')).sort()) {
    protobuf.parse(readFileSync(PROTO_DIR + file, 'utf8'), root, { keepCase: true });
  }
  root.resolveAll();
  const kinds = new Map<string, Map<string, protobuf.Type>>();
  const add = (apiVersion: string, kind: string, type: protobuf.Type): void => {
    let m = kinds.get(apiVersion);
    if (!m) kinds.set(apiVersion, (m = new Map()));
    m.set(kind, type);
  };
  const meta = root.lookup(META_V1) as protobuf.Namespace;
  const metaType = (name: string): protobuf.Type => meta.lookupType(name);
  const isKind = (t: protobuf.Type): boolean => {
    const md = t.fieldsById[1];
    if (!md || md.name !== 'metadata' || NOT_KINDS.has(t.name)) return false;
    const full = md.resolvedType?.fullName;
    return full === `.${META_V1}.ObjectMeta` || full === `.${META_V1}.ListMeta`;
  };
  const versions = (root.lookup('k8s.io.api') as protobuf.Namespace).nestedArray;
  for (const groupNs of versions) {
    const group = GROUPS[groupNs.name];
    if (group === undefined || !(groupNs instanceof protobuf.Namespace)) continue;
    for (const versionNs of groupNs.nestedArray) {
      if (!(versionNs instanceof protobuf.Namespace)) continue;
      const apiVersion = group ? `${group}/${versionNs.name}` : versionNs.name;
      for (const t of versionNs.nestedArray) if (t instanceof protobuf.Type && isKind(t)) add(apiVersion, t.name, t);
      if (!group) for (const k of CORE_OPTION_KINDS) add(apiVersion, k, versionNs.lookupType(k));
      for (const k of OPTION_KINDS) add(apiVersion, k, metaType(k));
    }
  }
  for (const k of [...OPTION_KINDS, 'PartialObjectMetadata', 'PartialObjectMetadataList']) add('meta.k8s.io/v1', k, metaType(k));
  for (const k of [...UNVERSIONED_KINDS, 'List']) add('v1', k, metaType(k));
  // core/v1 also defines its own List message; upstream serves v1 List from metav1.
  schema = { root, unknown: root.lookupType('k8s.io.apimachinery.pkg.runtime.Unknown'), kinds };
  return schema;
}

/** The message type for apiVersion + kind, or undefined when the kind has no protobuf form here. */
export function lookupKind(apiVersion: string, kind: string): protobuf.Type | undefined {
  return getSchema().kinds.get(apiVersion)?.get(kind);
}
