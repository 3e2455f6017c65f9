/** /openapi/v2 and v2beta1 discovery through the real apiserver core (request headers reach the handlers). */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startTestApiserver, type TestApiserver } from '../../apiserver/testing.js';
import { OPENAPI_V2_PROTOBUF, OPENAPI_V2_PROTOBUF_DEPRECATED } from './v2.js';

let api: TestApiserver;
before(async () => { api = await startTestApiserver(); });
after(() => api.close());

test('GET /openapi/v2: protobuf as kubectl asks for it, JSON by default, 304 on If-None-Match', async () => {
  const pb = await api.request('GET', '/openapi/v2?timeout=32s', { headers: { Accept: OPENAPI_V2_PROTOBUF_DEPRECATED } });
  assert.equal(pb.status, 200);
  assert.equal(pb.headers['content-type'], OPENAPI_V2_PROTOBUF);
  const etag = String(pb.headers.etag);
  assert.match(etag, /^"[0-9A-F]{128}"$/);
  const again = await api.request('GET', '/openapi/v2', { headers: { Accept: OPENAPI_V2_PROTOBUF_DEPRECATED, 'If-None-Match': etag } });
  assert.equal(again.status, 304);
  assert.equal(again.text, '');
  const json = await api.request('GET', '/openapi/v2');
  assert.equal(json.status, 200);
  assert.equal(json.headers['content-type'], 'application/json');
  assert.equal(json.body.swagger, '2.0');
  assert.ok(json.body.definitions['io.k8s.api.core.v1.ConfigMap']);
  assert.equal((await api.request('GET', '/openapi/v2', { headers: { Accept: 'text/html' } })).status, 406);
});

test('GET /openapi/v3/<gv> honours If-None-Match', async () => {
  const first = await api.request('GET', '/openapi/v3/api/v1');
  assert.equal(first.status, 200);
  const r = await api.request('GET', '/openapi/v3/api/v1', { headers: { 'If-None-Match': String(first.headers.etag) } });
  assert.equal(r.status, 304);
});

test('aggregated discovery answers v2beta1 to clients that only accept it (kubectl ≤ 1.29)', async () => {
  const accept = 'application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json';
  const r = await api.request('GET', '/apis', { headers: { Accept: accept } });
  assert.equal(r.status, 200);
  assert.equal(r.headers['content-type'], 'application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList');
  assert.equal(r.body.apiVersion, 'apidiscovery.k8s.io/v2beta1');
  assert.ok(r.body.items.some((i: { metadata: { name: string } }) => i.metadata.name === 'apps'));
  const v2 = await api.request('GET', '/api', { headers: { Accept: `application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,${accept}` } });
  assert.equal(v2.body.apiVersion, 'apidiscovery.k8s.io/v2');
});
