/**
 * Parses a Kubernetes REST path into what it addresses, the way kube-apiserver's RequestInfoFactory does:
 * `/api/v1/namespaces/ns/pods/name/status` → {group:'', version:'v1', namespace:'ns', resource:'pods', name, subresource}.
 * The verb follows upstream: GET on a collection is `list` (or `watch` with ?watch=true), DELETE on a collection is
 * `deletecollection`.
 */

export interface ResourceRequest {
  kind: 'resource';
  group: string;
  version: string;
  namespace?: string;
  resource: string;
  name?: string;
  subresource?: string;
  verb: string;
}

export interface GroupVersionRequest {
  kind: 'groupversion';
  group: string;
  version: string;
}

export interface OtherRequest {
  kind: 'other';
  path: string;
}

export type RequestInfo = ResourceRequest | GroupVersionRequest | OtherRequest;

export function parseRequestPath(method: string, pathname: string, query: URLSearchParams): RequestInfo {
  const parts = pathname.split('/').filter((p) => p !== '');
  let group: string;
  let version: string;
  let rest: string[];
  if (parts[0] === 'api' && parts.length >= 2) {
    group = '';
    version = parts[1];
    rest = parts.slice(2);
  } else if (parts[0] === 'apis' && parts.length >= 3) {
    group = parts[1];
    version = parts[2];
    rest = parts.slice(3);
  } else {
    return { kind: 'other', path: pathname };
  }
  if (rest.length === 0) return { kind: 'groupversion', group, version };
  if (pathname.includes('%')) rest = rest.map((p) => decodeURIComponent(p));

  let namespace: string | undefined;
  // `/namespaces/{ns}` alone addresses the namespace object; `/namespaces/{ns}/{resource}` a namespaced resource.
  // As kube's RequestInfoFactory: `/namespaces/{ns}/{resource}/…` is namespaced, except the namespace
  // subresources `status` and `finalize`, which address the Namespace object itself.
  if (rest[0] === 'namespaces' && rest.length >= 3 && rest[2] !== 'status' && rest[2] !== 'finalize') {
    namespace = rest[1];
    rest = rest.slice(2);
  }
  const resource = rest[0];
  const name = rest[1];
  const subresource = rest.length > 2 ? rest.slice(2).join('/') : undefined;
  const isWatch = query.get('watch') === 'true' || query.get('watch') === '1';
  let verb: string;
  switch (method) {
    case 'GET':
    case 'HEAD':
      verb = name === undefined ? (isWatch ? 'watch' : 'list') : isWatch ? 'watch' : 'get';
      break;
    case 'POST':
      verb = 'create';
      break;
    case 'PUT':
      verb = 'update';
      break;
    case 'PATCH':
      verb = 'patch';
      break;
    case 'DELETE':
      verb = name === undefined ? 'deletecollection' : 'delete';
      break;
    default:
      verb = method.toLowerCase();
  }
  return { kind: 'resource', group, version, namespace, resource, name, subresource, verb };
}
