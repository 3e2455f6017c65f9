/**
 * The `ServiceAccount` admission plugin (upstream `plugin/pkg/admission/serviceaccount/admission.go`, 1.32): what
 * lets a pod use in-cluster config (client-go `rest.InClusterConfig`, @kubernetes/client-node `loadFromCluster`).
 * On pod create:
 *
 * - `spec.serviceAccountName` defaults to `default` (the deprecated `spec.serviceAccount` is read when the name is
 *   unset and is mirrored from it, as the v1 conversion does);
 * - unless `automountServiceAccountToken: false` on the pod (or, when the pod leaves it unset, on the
 *   ServiceAccount), a projected volume `kube-api-access-<5 random>` (a bound token, the `kube-root-ca.crt`
 *   ConfigMap's `ca.crt` and the namespace via the downward API) is added and mounted read-only at
 *   {@link SERVICE_ACCOUNT_MOUNT_PATH} in every container, init container and ephemeral container that does not
 *   already mount something there;
 * - `spec.imagePullSecrets` is copied from the ServiceAccount when the pod names none.
 *
 * Mirror pods (annotation `kubernetes.io/config.mirror`) are left untouched: the kubelet would otherwise see a spec
 * that differs from its static pod's. Upstream mutates only on create; the `ephemeralcontainers` subresource is not
 * mutated either.
 *
 * Deviation: a ServiceAccount that does not exist does not reject the pod. Upstream answers 403 Forbidden and relies
 * on the caller (a controller) retrying until the serviceaccount controller has created `default`; Skiff's clients
 * and tests create pods right after their namespace, so the pod is admitted with the defaults (automount on, no pull
 * secrets) and the kubelet waits for the account when it requests the token.
 */
import type { KObject } from '../../api/errors.js';
import { findResource, type ResourceInfo } from '../../api/resources.js';
import type { ApiServerCore } from '../core.js';
import { generateNameSuffix } from '../registry.js';
import { PrefixCache } from '../prefix-cache.js';

/** The account a pod runs as when it names none (upstream `DefaultServiceAccountName`). */
export const DEFAULT_SERVICE_ACCOUNT_NAME = 'default';
/** Where the token, ca.crt and namespace files appear in containers (upstream `DefaultAPITokenMountPath`). */
export const SERVICE_ACCOUNT_MOUNT_PATH = '/var/run/secrets/kubernetes.io/serviceaccount';
/** Prefix of the projected volume's name (upstream `ServiceAccountVolumeName`). */
export const SERVICE_ACCOUNT_VOLUME_PREFIX = 'kube-api-access-';
/** The ConfigMap the root-ca-cert-publisher keeps in every namespace (upstream `CACertConfigMapName`). */
export const ROOT_CA_CONFIGMAP = 'kube-root-ca.crt';
/**
 * Lifetime requested for the projected token: upstream's `WarnOnlyBoundTokenExpirationSeconds` (1 h + 7 s), the
 * marker by which the apiserver recognises admission-injected tokens.
 */
export const SERVICE_ACCOUNT_TOKEN_EXPIRATION_SECONDS = 3607;
const MIRROR_POD_ANNOTATION = 'kubernetes.io/config.mirror';

type Rec = Record<string, unknown>;
interface Mount { name?: string; mountPath?: string; readOnly?: boolean }
interface ContainerLike { volumeMounts?: Mount[] }

/** The projected volume source upstream's `TokenVolumeSource()` builds (defaultMode set explicitly, #104464). */
export function tokenVolumeSource(): Rec {
  return {
    defaultMode: 420,
    sources: [
      { serviceAccountToken: { expirationSeconds: SERVICE_ACCOUNT_TOKEN_EXPIRATION_SECONDS, path: 'token' } },
      { configMap: { name: ROOT_CA_CONFIGMAP, items: [{ key: 'ca.crt', path: 'ca.crt' }] } },
      { downwardAPI: { items: [{ path: 'namespace', fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.namespace' } }] } },
    ],
  };
}

/** See the module comment. One per apiserver. */
export class ServiceAccountAdmission {
  /** What admission reads of each ServiceAccount, by `namespace/name`, kept from a store watch (see PrefixCache). */
  private readonly accounts: PrefixCache<ServiceAccountFields>;

  constructor(private readonly core: ApiServerCore, private readonly suffix: () => string = generateNameSuffix) {
    const saInfo: ResourceInfo = findResource('', 'v1', 'serviceaccounts')!;
    this.accounts = new PrefixCache(core.backend, core.registry.prefix(saInfo), parseServiceAccount, (m, f) => core.log(m, f));
  }

  /** Stops the ServiceAccount watch. */
  stop(): void {
    this.accounts.stop();
  }

  /** Runs on every create (part of `ApiServerCore.admitCreate`); only core/v1 Pods are touched. */
  async admitCreate(info: ResourceInfo, obj: KObject): Promise<void> {
    if (info.group !== '' || info.kind !== 'Pod') return;
    if (obj.metadata.annotations?.[MIRROR_POD_ANNOTATION] !== undefined) return;
    const spec = (obj.spec ??= {}) as Rec;
    let name = typeof spec.serviceAccountName === 'string' && spec.serviceAccountName !== '' ? spec.serviceAccountName : '';
    if (!name && typeof spec.serviceAccount === 'string' && spec.serviceAccount !== '') name = spec.serviceAccount;
    if (!name) name = DEFAULT_SERVICE_ACCOUNT_NAME;
    spec.serviceAccountName = name;
    spec.serviceAccount = name;

    // A missing account admits the pod (see the deviation in the module comment).
    const sa = obj.metadata.namespace ? await this.accounts.get(`${obj.metadata.namespace}/${name}`) : undefined;
    if (shouldAutomount(spec, sa)) this.mountToken(spec);
    const saPullSecrets = sa?.imagePullSecrets;
    if ((!Array.isArray(spec.imagePullSecrets) || spec.imagePullSecrets.length === 0) && Array.isArray(saPullSecrets) && saPullSecrets.length > 0) {
      spec.imagePullSecrets = saPullSecrets.map((s: { name?: string }) => ({ name: s?.name }));
    }
  }

  /** Upstream `mountServiceAccountToken`: reuses an existing `kube-api-access-*` volume, else adds one if mounted. */
  private mountToken(spec: Rec): void {
    const volumes = (Array.isArray(spec.volumes) ? spec.volumes : []) as Array<{ name?: string }>;
    const existing = volumes.find((v) => typeof v?.name === 'string' && v.name.startsWith(SERVICE_ACCOUNT_VOLUME_PREFIX));
    const volumeName = existing?.name ?? SERVICE_ACCOUNT_VOLUME_PREFIX + this.suffix();
    let needsVolume = false;
    for (const field of ['initContainers', 'containers', 'ephemeralContainers']) {
      const list = spec[field];
      if (!Array.isArray(list)) continue;
      for (const c of list as ContainerLike[]) {
        if (!c || typeof c !== 'object') continue;
        // Any mount at the path (a user's own token volume, say) wins over the injected one.
        if (Array.isArray(c.volumeMounts) && c.volumeMounts.some((m) => m?.mountPath === SERVICE_ACCOUNT_MOUNT_PATH)) continue;
        c.volumeMounts = [...(Array.isArray(c.volumeMounts) ? c.volumeMounts : []), { name: volumeName, readOnly: true, mountPath: SERVICE_ACCOUNT_MOUNT_PATH }];
        needsVolume = true;
      }
    }
    if (!existing && needsVolume) spec.volumes = [...volumes, { name: volumeName, projected: tokenVolumeSource() }];
  }
}

/** The fields of a ServiceAccount that admission reads. */
interface ServiceAccountFields {
  automountServiceAccountToken?: unknown;
  imagePullSecrets?: unknown;
}

function parseServiceAccount(value: string): ServiceAccountFields {
  const o = JSON.parse(value) as ServiceAccountFields;
  return { automountServiceAccountToken: o.automountServiceAccountToken, imagePullSecrets: o.imagePullSecrets };
}

/** Upstream `shouldAutomount`: the pod's preference wins, then the account's, else true. */
function shouldAutomount(spec: Rec, sa: ServiceAccountFields | undefined): boolean {
  if (typeof spec.automountServiceAccountToken === 'boolean') return spec.automountServiceAccountToken;
  if (typeof sa?.automountServiceAccountToken === 'boolean') return sa.automountServiceAccountToken;
  return true;
}
