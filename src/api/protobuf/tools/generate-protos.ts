/**
 * Dev tool (not used at runtime): regenerates `../proto/*.proto` from the Kubernetes schema that kubectl itself
 * carries. Every kubectl binary embeds the gzipped FileDescriptorProto of each `generated.proto` it was built with
 * (k8s.io/api, k8s.io/apimachinery), including the gogoproto field options (`nullable`, `customname`). That gives
 * the published field numbers and types without hand transcription, plus which scalar fields are Go pointers.
 * The OpenAPI-derived model types of @kubernetes/client-node (falling back to kubernetes-types), both
 * devDependencies, tell which JSON fields are required (no `omitempty`) and which embedded structs are JSON-inlined
 * (their Go field has no JSON name, so the property is absent from the OpenAPI type).
 *
 * Usage: npx tsx src/api/protobuf/tools/generate-protos.ts [path/to/kubectl]
 * (defaults to kubectl.1.32 next to the `kubectl` on PATH).
 */
import { execSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import zlib from 'node:zlib';
import protobuf from 'protobufjs';

/** Proto file (as named inside the descriptor) → output file name and kubernetes-types module. */
const WANTED: Record<string, { out: string; kt?: string }> = {
  'k8s.io/apimachinery/pkg/apis/meta/v1/generated.proto': { out: 'meta-v1.proto', kt: 'meta/v1' },
  'k8s.io/apimachinery/pkg/runtime/generated.proto': { out: 'runtime.proto' },
  'k8s.io/apimachinery/pkg/api/resource/generated.proto': { out: 'resource.proto' },
  'k8s.io/apimachinery/pkg/util/intstr/generated.proto': { out: 'intstr.proto' },
};
for (const gv of [
  'core/v1', 'apps/v1', 'batch/v1', 'networking/v1', 'coordination/v1', 'discovery/v1', 'scheduling/v1', 'events/v1',
  'policy/v1', 'autoscaling/v1', 'autoscaling/v2', 'rbac/v1', 'authentication/v1', 'authorization/v1', 'storage/v1',
  'certificates/v1', 'node/v1', 'admissionregistration/v1', 'flowcontrol/v1',
]) {
  WANTED[`k8s.io/api/${gv}/generated.proto`] = { out: gv.replace('/', '-') + '.proto', kt: gv };
}

type Raw = Array<[number, number | Buffer]>;

/** Splits one protobuf message into (field number, varint | bytes) pairs; enough to read descriptors. */
function fields(buf: Buffer): Raw {
  const r = protobuf.Reader.create(buf);
  const out: Raw = [];
  while (r.pos < r.len) {
    const tag = r.uint32();
    const wt = tag & 7;
    if (wt === 0) out.push([tag >>> 3, Number(r.uint64().toString())]);
    else if (wt === 2) out.push([tag >>> 3, Buffer.from(r.bytes())]);
    else r.skipType(wt);
  }
  return out;
}
const str = (f: Raw, n: number): string | undefined => {
  const v = f.find(([k]) => k === n)?.[1];
  return Buffer.isBuffer(v) ? v.toString('utf8') : undefined;
};
const num = (f: Raw, n: number): number | undefined => {
  const v = f.find(([k]) => k === n)?.[1];
  return typeof v === 'number' ? v : undefined;
};
const all = (f: Raw, n: number): Buffer[] => f.filter(([k, v]) => k === n && Buffer.isBuffer(v)).map(([, v]) => v as Buffer);

interface Field { name: string; number: number; label: number; type: number; typeName?: string; nullable: boolean; customName?: string }
interface Msg { name: string; fields: Field[]; nested: Msg[]; mapEntry: boolean }

function parseMsg(buf: Buffer): Msg {
  const f = fields(buf);
  const opts = all(f, 7)[0];
  return {
    name: str(f, 1)!,
    mapEntry: opts ? num(fields(opts), 7) === 1 : false,
    nested: all(f, 3).map(parseMsg),
    fields: all(f, 2).map((b) => {
      const ff = fields(b);
      const o = all(ff, 8)[0];
      const of = o ? fields(o) : [];
      return {
        name: str(ff, 1)!, number: num(ff, 3)!, label: num(ff, 4)!, type: num(ff, 5)!, typeName: str(ff, 6),
        nullable: num(of, 65001) !== 0, customName: str(of, 65004),
      };
    }),
  };
}

const SCALAR: Record<number, string> = {
  1: 'double', 2: 'float', 3: 'int64', 4: 'uint64', 5: 'int32', 6: 'fixed64', 7: 'fixed32', 8: 'bool', 9: 'string',
  12: 'bytes', 13: 'uint32', 15: 'sfixed32', 16: 'sfixed64', 17: 'sint32', 18: 'sint64',
};

type Props = Map<string, boolean>;
const NODE_MODULES = join(dirname(fileURLToPath(import.meta.url)), '../../../../node_modules');

/** @kubernetes/client-node model class name (V1Pod, CoreV1Event, …) → property → required. */
function readClientNodeModels(): Map<string, Props> {
  const dir = join(NODE_MODULES, '@kubernetes/client-node/dist/gen/models');
  const res = new Map<string, Props>();
  if (!existsSync(dir)) return res;
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.d.ts'))) {
    const props: Props = new Map();
    for (const line of readFileSync(join(dir, file), 'utf8').split('\n')) {
      const p = /^ {4}'([^']+)'(\??):/.exec(line);
      // The generator escapes reserved words (`_continue`, `_default`, `_from`); no Kubernetes JSON name starts with _.
      if (p) props.set(p[1]!.replace(/^_/, ''), p[2] !== '?');
    }
    res.set(file.slice(0, -'.d.ts'.length), props);
  }
  return res;
}

const pascal = (s: string): string => s.charAt(0).toUpperCase() + s.slice(1);

/** kubernetes-types interface name → property → required. */
function readKubernetesTypes(mod: string): Map<string, Map<string, boolean>> {
  const file = join(NODE_MODULES, 'kubernetes-types', mod + '.d.ts');
  const res = new Map<string, Map<string, boolean>>();
  if (!existsSync(file)) return res;
  let cur: Map<string, boolean> | undefined;
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const m = /^export interface (\w+)/.exec(line);
    if (m) { cur = new Map(); res.set(m[1], cur); continue; }
    if (line.startsWith('}')) { cur = undefined; continue; }
    const p = /^ {4}(?:readonly\s+)?([A-Za-z_$][\w$]*)(\??):/.exec(line);
    if (cur && p) cur.set(p[1], p[2] !== '?');
  }
  return res;
}

function main(): void {
  const kubectl = process.argv[2] ?? join(dirname(execSync('readlink -f "$(command -v kubectl)"').toString().trim()), 'kubectl.1.32');
  const bin = readFileSync(kubectl);
  const files = new Map<string, { pkg: string; msgs: Msg[] }>();
  for (let i = bin.indexOf(Buffer.from([0x1f, 0x8b, 8, 0])); i >= 0; i = bin.indexOf(Buffer.from([0x1f, 0x8b, 8, 0]), i + 1)) {
    let d: Buffer;
    try { d = zlib.inflateRawSync(bin.subarray(i + 10, i + 10 + 4_000_000), { finishFlush: zlib.constants.Z_SYNC_FLUSH }); } catch { continue; }
    let f: Raw;
    try { f = fields(d); } catch { continue; }
    const name = str(f, 1);
    if (!name || !WANTED[name] || files.has(name)) continue;
    files.set(name, { pkg: str(f, 2)!, msgs: all(f, 4).map(parseMsg) });
  }
  const models = readClientNodeModels();
  const outDir = join(dirname(fileURLToPath(import.meta.url)), '..', 'proto');
  mkdirSync(outDir, { recursive: true });
  for (const [name, { out, kt }] of Object.entries(WANTED)) {
    const file = files.get(name);
    if (!file) { console.error(`missing ${name} in ${kubectl}`); process.exitCode = 1; continue; }
    const types = kt ? readKubernetesTypes(kt) : new Map<string, Props>();
    const [group, version] = kt ? kt.split('/') : ['', ''];
    const propsOf = (name: string): Props | undefined =>
      !kt ? undefined : models.get(`${pascal(group!)}${pascal(version!)}${name}`) ?? models.get(`${pascal(version!)}${name}`) ?? types.get(name);
    const lines = [
      `// ${name} as compiled into kubectl 1.32 (k8s.io/api v0.32): published field names, numbers and types.`,
      '// Generated by src/api/protobuf/tools/generate-protos.ts; do not edit by hand.',
      '// [(k8s.presence) = true]: a scalar whose JSON form keeps a zero value (Go pointer, or a field without omitempty).',
      '// [(k8s.inline) = true]: an embedded struct whose fields appear directly in the parent JSON object.',
      'syntax = "proto2";',
      `package ${file.pkg};`,
      '',
    ];
    const typeRef = (t: string): string => (t.startsWith(`.${file.pkg}.`) && !t.slice(file.pkg.length + 2).includes('.') ? t.slice(file.pkg.length + 2) : t);
    const emit = (m: Msg, indent: string): void => {
      const props = propsOf(m.name);
      lines.push(`${indent}message ${m.name} {`);
      // go-to-protobuf derives a few proto names from Go field names (uID, aPIGroup); pair them with the JSON name.
      const jsonNames = new Map<string, string>();
      if (props) {
        const protoNames = new Set(m.fields.map((f) => f.name));
        for (const f of m.fields) {
          if (props.has(f.name)) continue;
          const match = [...props.keys()].find((p) => !protoNames.has(p) && p.toLowerCase() === f.name.toLowerCase());
          if (match) jsonNames.set(f.name, match);
        }
      }
      // An embedded Go struct (customname = its type name) whose name is no JSON property is `json:",inline"`.
      const isInline = (f: Field): boolean =>
        f.label !== 3 && f.type === 11 && !!props && !props.has(f.name) && f.customName === f.typeName?.split('.').pop();
      for (const n of m.nested.filter((x) => !x.mapEntry)) emit(n, indent + '  ');
      for (const f of m.fields) {
        const opts: string[] = [];
        const jsonName = jsonNames.get(f.name);
        if (jsonName) { opts.push(`json_name = "${jsonName}"`); console.log(`json_name: ${file.pkg}.${m.name}.${f.name} -> ${jsonName}`); }
        let decl: string;
        const entry = f.typeName ? m.nested.find((n) => n.mapEntry && f.typeName!.endsWith(`.${m.name}.${n.name}`)) : undefined;
        if (entry) {
          const [k, v] = entry.fields;
          decl = `map<${SCALAR[k.type]}, ${v.type === 11 ? typeRef(v.typeName!) : SCALAR[v.type]}>`;
        } else {
          const t = f.type === 11 ? typeRef(f.typeName!) : SCALAR[f.type];
          if (!t) throw new Error(`unsupported type ${f.type} in ${m.name}.${f.name}`);
          decl = `${f.label === 3 ? 'repeated' : 'optional'} ${t}`;
          if (f.label !== 3 && f.type !== 11 && (f.nullable || props?.get(jsonName ?? f.name) === true)) opts.push('(k8s.presence) = true');
          if (isInline(f)) {
            opts.push('(k8s.inline) = true');
            console.log(`inline: ${file.pkg}.${m.name}.${f.name}`);
          }
        }
        lines.push(`${indent}  ${decl} ${f.name} = ${f.number}${opts.length ? ` [${opts.join(', ')}]` : ''};`);
      }
      lines.push(`${indent}}`, '');
      // Sanity report: JSON properties with no proto field are newer than 1.32, or a rename this tool missed.
      if (props && !m.fields.some(isInline)) {
        const known = new Set(m.fields.map((f) => jsonNames.get(f.name) ?? f.name));
        for (const p of props.keys()) {
          if (!known.has(p) && p !== 'apiVersion' && p !== 'kind') console.log(`note: ${file.pkg}.${m.name}.${p} is in the OpenAPI models but not in this proto`);
        }
      }
    };
    for (const m of file.msgs) emit(m, '');
    writeFileSync(join(outDir, out), lines.join('\n'));
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) main();
