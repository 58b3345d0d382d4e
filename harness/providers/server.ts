/**
 * One stand-in provider launch: a gRPC server speaking tfplugin6 (and go-plugin's controller) on 127.0.0.1, with
 * AutoMTLS. The daemon in index.ts starts one per `terraform-provider-*` process terraform launches.
 */
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { BEHAVIOURS } from './behaviours';
import { decodeValue, encodeValue, fromJson, UNKNOWN, type Value } from './cty';
import { deepMerge, equal, fillComputedNulls, fillUnknowns, getPath, planBlock, setPath, type Path } from './plan';
import { SCHEMA_DIR, type ProviderName, type ProviderSchema, type SchemaAttribute, type SchemaBlock } from './schema-source';

type Obj = Record<string, any>;
type Handler = (request: Obj) => Promise<Obj> | Obj;

let protocol: { provider: grpc.ServiceDefinition; controller: grpc.ServiceDefinition } | undefined;
function services() {
  if (!protocol) {
    const options = { keepCase: true, longs: Number, enums: Number, defaults: false, oneofs: true };
    const definition = protoLoader.loadSync([join(__dirname, 'tfplugin.proto'), join(__dirname, 'controller.proto')], options);
    const pkg = grpc.loadPackageDefinition(definition) as any;
    protocol = { provider: pkg.tfplugin6.Provider.service, controller: pkg.plugin.GRPCController.service };
  }
  return protocol;
}

interface Loaded { schema: ProviderSchema; schemaResponse: Buffer }
const loaded = new Map<ProviderName, Loaded>();

function protoAttribute(name: string, a: SchemaAttribute): Obj {
  return {
    name, required: !!a.required, optional: !!a.optional, computed: !!a.computed, sensitive: !!a.sensitive, write_only: !!a.write_only,
    ...(a.nested_type
      ? { nested_type: { nesting: { single: 1, list: 2, set: 3 }[a.nested_type.nesting_mode], attributes: Object.entries(a.nested_type.attributes).map(([n, x]) => protoAttribute(n, x)) } }
      : { type: Buffer.from(JSON.stringify(a.type)) }),
  };
}

function protoBlock(block: SchemaBlock): Obj {
  return {
    attributes: Object.entries(block.attributes).map(([n, a]) => protoAttribute(n, a)),
    block_types: Object.entries(block.block_types).map(([n, b]) => ({
      type_name: n, block: protoBlock(b.block), nesting: { single: 1, list: 2, set: 3 }[b.nesting_mode],
      min_items: b.min_items ?? 0, max_items: b.max_items ?? 0,
    })),
  };
}

const CAPABILITIES = { plan_destroy: true, get_provider_schema_optional: true };

/** The schema (read once per process) and its GetProviderSchema answer, serialized once. */
function load(name: ProviderName): Loaded {
  let entry = loaded.get(name);
  if (!entry) {
    const schema = JSON.parse(readFileSync(join(SCHEMA_DIR, `${name}.json`), 'utf8')) as ProviderSchema;
    const proto = (s: { version: number; block: SchemaBlock }) => ({ version: s.version, block: protoBlock(s.block) });
    const response = {
      provider: proto(schema.provider),
      resource_schemas: Object.fromEntries(Object.entries(schema.resource_schemas).map(([k, v]) => [k, proto(v)])),
      data_source_schemas: Object.fromEntries(Object.entries(schema.data_source_schemas).map(([k, v]) => [k, proto(v)])),
      server_capabilities: CAPABILITIES,
    };
    const method = services().provider.GetProviderSchema;
    entry = { schema, schemaResponse: method.responseSerialize(response) };
    loaded.set(name, entry);
  }
  return entry;
}

/** A pre-serialized answer the wrapped serializer passes through untouched. */
class Serialized { constructor(readonly bytes: Buffer) {} }

function passThrough(def: grpc.ServiceDefinition): grpc.ServiceDefinition {
  return Object.fromEntries(Object.entries(def).map(([k, m]) => [k, {
    ...m, responseSerialize: (v: unknown) => (v instanceof Serialized ? v.bytes : m.responseSerialize(v)),
  }])) as grpc.ServiceDefinition;
}

function error(summary: string, detail = ''): Obj {
  return { severity: 1, summary, detail };
}

function pathProto(path: Path): Obj {
  return { steps: path.map((s) => (typeof s === 'number' ? { element_key_int: s } : { attribute_name: s })) };
}

export interface LaunchOptions {
  /** JSON file of drift to inject on refresh: { "<type>": { "<id>": <patch deep-merged over the state> } }. */
  driftFile?: string;
  /** Names of the RPCs called, for tests and notes. */
  onCall?: (rpc: string) => void;
}

/** The tfplugin6 handlers of provider `name`. */
export function providerHandlers(name: ProviderName, options: LaunchOptions = {}): Record<string, Handler> {
  const { schema, schemaResponse } = load(name);
  const behaviour = BEHAVIOURS[name];
  const resource = (type: string) => {
    const s = schema.resource_schemas[type];
    if (!s) throw new Error(`${name} stand-in: unknown resource type ${type}`);
    return s.block;
  };
  const dv = (value: Value, block: SchemaBlock) => ({ msgpack: encodeValue(value, block) });
  const drift = (type: string, state: Obj): Value => {
    if (!options.driftFile) return state;
    let patches: Obj;
    try {
      patches = JSON.parse(readFileSync(options.driftFile, 'utf8'));
    } catch {
      return state;
    }
    const patch = patches[type]?.[state.id];
    return patch === undefined ? state : deepMerge(state, patch);
  };
  return {
    GetMetadata: () => ({
      server_capabilities: CAPABILITIES,
      resources: Object.keys(schema.resource_schemas).map((type_name) => ({ type_name })),
      data_sources: Object.keys(schema.data_source_schemas).map((type_name) => ({ type_name })),
    }),
    GetProviderSchema: () => new Serialized(schemaResponse) as unknown as Obj,
    ValidateProviderConfig: () => ({ diagnostics: [] }),
    ValidateResourceConfig: () => ({ diagnostics: [] }),
    ValidateDataResourceConfig: () => ({ diagnostics: [] }),
    ConfigureProvider: () => ({ diagnostics: [] }),
    GetFunctions: () => ({ diagnostics: [] }),
    StopProvider: () => ({}),
    UpgradeResourceState: (r) => {
      const block = resource(r.type_name);
      const json = r.raw_state?.json ? JSON.parse(Buffer.from(r.raw_state.json).toString('utf8')) : null;
      return { upgraded_state: dv(fromJson(json, block), block) };
    },
    ReadResource: (r) => {
      const block = resource(r.type_name);
      const state = decodeValue(r.current_state?.msgpack, block) as Obj | null;
      return { new_state: dv(state === null ? null : drift(r.type_name, state), block), private: r.private };
    },
    PlanResourceChange: (r) => {
      const block = resource(r.type_name);
      const prior = decodeValue(r.prior_state?.msgpack, block);
      const proposed = decodeValue(r.proposed_new_state?.msgpack, block);
      const legacy = { legacy_type_system: behaviour.legacyTypeSystem };
      if (proposed === null) return { planned_state: dv(null, block), ...legacy };
      // Nothing changed (terraform's proposal carries the prior computed values): the plan is the prior state, as
      // with the real providers. Without this, an unchanged release would plan its computed parts unknown forever.
      if (prior !== null && equal(prior, proposed)) return { planned_state: dv(prior, block), planned_private: r.prior_private, ...legacy };
      const planned = planBlock(prior, proposed, block) as Obj;
      const requiresReplace: Path[] = [];
      if (prior !== null && !equal(prior, planned)) {
        for (const path of behaviour.forceNew(r.type_name, block)) {
          const before = getPath(prior, path), after = getPath(planned, path);
          if (after === UNKNOWN || !equal(before, after)) requiresReplace.push(path);
        }
        for (const path of behaviour.unknownOnUpdate(r.type_name)) setPath(planned, path, UNKNOWN);
      }
      return { planned_state: dv(planned, block), requires_replace: requiresReplace.map(pathProto), planned_private: r.prior_private, ...legacy };
    },
    ApplyResourceChange: async (r) => {
      const block = resource(r.type_name);
      const planned = decodeValue(r.planned_state?.msgpack, block) as Obj | null;
      const legacy = { legacy_type_system: behaviour.legacyTypeSystem };
      if (planned === null) return { new_state: dv(null, block), ...legacy };
      const prior = decodeValue(r.prior_state?.msgpack, block) as Obj | null;
      try {
        const { values, filler } = await behaviour.apply(r.type_name, planned, prior);
        const merged: Obj = { ...planned };
        for (const [k, v] of Object.entries(values)) if (k in block.attributes || k in block.block_types) {
          if (behaviour.legacyTypeSystem || merged[k] === UNKNOWN) merged[k] = v;
        }
        for (const [k, a] of Object.entries(block.attributes)) if (a.write_only) merged[k] = null;
        return { new_state: dv(fillUnknowns(merged, block, filler ?? (() => undefined)), block), private: r.planned_private, ...legacy };
      } catch (e) {
        return { diagnostics: [error(`${name} stand-in could not apply ${r.type_name}`, String((e as Error).stack ?? e))] };
      }
    },
    ImportResourceState: (r) => {
      const block = resource(r.type_name);
      const state = behaviour.importState?.(r.type_name, r.id);
      if (!state) return { diagnostics: [error(`${name} stand-in: import of ${r.type_name} is not supported`)] };
      const value = fillUnknowns(fillComputedNulls(fromJson(state, block), block, () => undefined), block, () => undefined);
      return { imported_resources: [{ type_name: r.type_name, state: dv(value, block) }] };
    },
    ReadDataSource: (r) => {
      const block = schema.data_source_schemas[r.type_name]?.block;
      if (!block) return { diagnostics: [error(`${name} stand-in: unknown data source ${r.type_name}`)] };
      const config = decodeValue(r.config?.msgpack, block) as Obj;
      const filler = behaviour.dataFiller?.(r.type_name, config) ?? (() => undefined);
      const state = fillComputedNulls(config, block, filler) as Obj;
      if ('id' in block.attributes && state.id === '') state.id = r.type_name;
      return { state: dv(state, block) };
    },
  };
}

export interface Launch {
  /** The go-plugin handshake line (without the newline). */
  readonly handshake: string;
  /** Resolves when terraform asked the plugin to exit (GRPCController.Shutdown). */
  readonly shutdown: Promise<void>;
  close(): void;
}

/**
 * Starts provider `name` on 127.0.0.1: `clientCertPem` is terraform's PLUGIN_CLIENT_CERT (AutoMTLS; plain text
 * without it), `server` the plugin's certificate and key.
 */
export async function launch(name: ProviderName, clientCertPem: string | undefined, server: { certPem: string; keyPem: string; certDer: Buffer }, options: LaunchOptions = {}): Promise<Launch> {
  const { provider, controller } = services();
  const grpcServer = new grpc.Server();
  const handlers = providerHandlers(name, options);
  const impl: grpc.UntypedServiceImplementation = {};
  for (const method of Object.keys(provider)) {
    const handler = handlers[method];
    impl[method] = (call: grpc.ServerUnaryCall<Obj, Obj>, callback: grpc.sendUnaryData<Obj>) => {
      options.onCall?.(method);
      if (!handler) return callback({ code: grpc.status.UNIMPLEMENTED, details: `${method} is not implemented by the stand-in` });
      Promise.resolve().then(() => handler(call.request)).then((res) => callback(null, res), (e) => callback({ code: grpc.status.INTERNAL, details: String(e?.stack ?? e) }));
    };
  }
  grpcServer.addService(passThrough(provider), impl);
  let resolveShutdown!: () => void;
  const shutdown = new Promise<void>((resolve) => { resolveShutdown = resolve; });
  grpcServer.addService(controller, {
    Shutdown: (_call: unknown, callback: grpc.sendUnaryData<Obj>) => {
      callback(null, {});
      resolveShutdown();
    },
  });
  const credentials = clientCertPem
    ? grpc.ServerCredentials.createSsl(Buffer.from(clientCertPem), [{ private_key: Buffer.from(server.keyPem), cert_chain: Buffer.from(server.certPem) }], true)
    : grpc.ServerCredentials.createInsecure();
  const port = await new Promise<number>((resolve, reject) => grpcServer.bindAsync('127.0.0.1:0', credentials, (e, p) => (e ? reject(e) : resolve(p))));
  const cert = clientCertPem ? `|${server.certDer.toString('base64').replace(/=+$/, '')}` : '';
  return {
    handshake: `1|6|tcp|127.0.0.1:${port}|grpc${cert}`,
    shutdown,
    close: () => grpcServer.forceShutdown(),
  };
}
