/**
 * Checks of the deployment files against the code they deploy, so that neither can drift: the compose
 * stack (infra/compose.yaml), the Kubernetes manifests (infra/k8s/base, infra/k8s/temporal-cloud), the
 * worker images (infra/docker/Dockerfile) and the Temporal set-up script. Each check returns the list of
 * problems it found (empty: fine), each naming the file and the field. The shapes the project relies on
 * are zod schemas of our own (no Kubernetes or compose-spec validator works offline here: kubeconform
 * downloads its schemas at run time), loose everywhere else.
 *
 * Cross-checked against the code: task queues (contracts/queues.ts), search attributes
 * (workflows/search-attributes.ts), the env names the code reads (every `process.env.X`, `env.X` and
 * quoted `SIMCLR_*` / `TEMPORAL_*` name in the product's source), the health endpoint (workers/health.ts),
 * the workflow bundle variable (workers/workflow-bundle.ts) and the TensorFlow wheel version
 * (infra/versions.sh).
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { parseAllDocuments, parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { CPU_QUEUE, GPU_QUEUE } from '../../contracts/queues';
import { DEV_SERVER_TYPE_NAMES } from '../../infra/temporal';
import { ALL_SEARCH_ATTRIBUTES } from '../../workflows/search-attributes';
import { HEALTH_PORT_ENV } from '../../workers/health';
import { WORKFLOW_BUNDLE_ENV } from '../../workers/workflow-bundle';
import { ROOT } from './cli';

export const COMPOSE_FILE = join(ROOT, 'infra', 'compose.yaml');
export const K8S_BASE = join(ROOT, 'infra', 'k8s', 'base');
export const K8S_CLOUD = join(ROOT, 'infra', 'k8s', 'temporal-cloud');
export const DOCKERFILE = join(ROOT, 'infra', 'docker', 'Dockerfile');
export const SETUP_SCRIPT = join(K8S_BASE, 'setup-temporal.sh');

const QUEUE_OF_CLASS: Record<string, string> = { cpu: CPU_QUEUE, gpu: GPU_QUEUE };
/** Env that the images or the platform set for reasons outside the project's code. */
const PLATFORM_ENV = new Set([
  'NODE_ENV',
  'NVIDIA_VISIBLE_DEVICES',
  'NVIDIA_DRIVER_CAPABILITIES',
  'LD_LIBRARY_PATH',
]);
/** What every worker needs to reach Temporal and the store, and to be probed. */
const REQUIRED_WORKER_ENV = [
  'TEMPORAL_ADDRESS',
  'TEMPORAL_NAMESPACE',
  'SIMCLR_STORE',
  'SIMCLR_S3_ENDPOINT',
  'SIMCLR_S3_ACCESS_KEY',
  'SIMCLR_S3_SECRET_KEY',
  HEALTH_PORT_ENV,
];
/** A drain has to cover a checkpoint (infra/k8s/base/gpu-worker.yaml explains the figure). */
const MIN_GPU_GRACE_SECONDS = 120;

// ---- what the code reads --------------------------------------------------------------------------

const SOURCE_DIRS = [
  'activities',
  'bin',
  'cli',
  'config',
  'contracts',
  'infra',
  'report',
  'simclr',
  'storage',
  'workers',
  'workflows',
];

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...sourceFiles(p));
    else if (/\.(ts|mjs|cjs|js|sh)$/.test(name) || dir.endsWith('bin')) out.push(p);
  }
  return out;
}

/**
 * Every environment variable name the product's code reads: `process.env.X`, `env.X`, `env['X']`, and
 * quoted names of the project's families (SIMCLR_*, TEMPORAL_*, TF_*, ...) handed to a reader.
 */
export function envNamesReadByCode(): Set<string> {
  const names = new Set<string>();
  const patterns = [
    /\benv\.([A-Z][A-Z0-9_]+)\b/g,
    /\benv\[\s*['"]([A-Z][A-Z0-9_]+)['"]\s*\]/g,
    /['"`]((?:SIMCLR|TEMPORAL|TF|OMP|UV|MINIO)_[A-Z0-9_]+)['"`]/g,
    /\$\{?((?:SIMCLR|TEMPORAL|TF)_[A-Z0-9_]+)/g,
  ];
  for (const dir of SOURCE_DIRS) {
    if (!existsSync(join(ROOT, dir))) continue;
    for (const file of sourceFiles(join(ROOT, dir))) {
      const text = readFileSync(file, 'utf8');
      for (const re of patterns) for (const m of text.matchAll(re)) names.add(m[1]);
    }
  }
  return names;
}

// ---- small helpers -----------------------------------------------------------------------------------

/** `repo[:tag][@digest]` is pinned when it has a digest, or a tag other than latest. */
export function imagePinned(image: string): boolean {
  if (image.includes('@sha256:')) return true;
  const lastSlash = image.lastIndexOf('/');
  const colon = image.indexOf(':', lastSlash + 1);
  if (colon < 0) return false;
  const tag = image.slice(colon + 1);
  return tag !== '' && tag !== 'latest' && !tag.includes('${');
}

function issuesOf(where: string, error: z.ZodError): string[] {
  return error.issues.map((i) => `${where}: ${i.path.join('.') || '(document)'}: ${i.message}`);
}

function check<T>(schema: z.ZodType<T>, value: unknown, where: string, problems: string[]): T | undefined {
  const r = schema.safeParse(value);
  if (!r.success) {
    problems.push(...issuesOf(where, r.error));
    return undefined;
  }
  return r.data;
}

/** `worker --queue <class>` in a command or args list; the class, or undefined. */
function queueClassOf(args: string[] | undefined): string | undefined {
  if (!args) return undefined;
  const i = args.indexOf('--queue');
  return args[0] === 'worker' && i > 0 ? args[i + 1] : undefined;
}

// ---- the Temporal set-up script (search attributes) ---------------------------------------------------

/** The `create <Type> <name>...` lines of the set-up script, as name → CLI type. */
export function scriptSearchAttributes(script: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of script.split('\n')) {
    const m = /^create\s+(\w+)\s+(.+)$/.exec(line.trim());
    if (m) for (const name of m[2].trim().split(/\s+/)) out.set(name, m[1]);
  }
  return out;
}

export function checkSetupScript(script: string, where = 'infra/k8s/base/setup-temporal.sh'): string[] {
  const problems: string[] = [];
  const got = scriptSearchAttributes(script);
  const want = new Map(ALL_SEARCH_ATTRIBUTES.map((k) => [k.name, DEV_SERVER_TYPE_NAMES[k.type]]));
  for (const [name, type] of want) {
    if (!got.has(name)) problems.push(`${where}: search attribute ${name} (${type}) is not registered`);
    else if (got.get(name) !== type)
      problems.push(
        `${where}: search attribute ${name} is registered as ${got.get(name)}, the workflows use ${type}`,
      );
  }
  for (const name of got.keys())
    if (!want.has(name))
      problems.push(`${where}: ${name} is not a search attribute of workflows/search-attributes.ts`);
  return problems;
}

// ---- compose -------------------------------------------------------------------------------------------

const healthcheck = z.object({
  test: z.array(z.string()).min(2),
  interval: z.string(),
  timeout: z.string(),
  retries: z.number().int().positive(),
});
const composeService = z.looseObject({
  image: z.string(),
  command: z.union([z.array(z.string()), z.string()]).optional(),
  entrypoint: z.union([z.array(z.string()), z.string()]).optional(),
  environment: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).optional(),
  depends_on: z
    .record(
      z.string(),
      z.object({
        condition: z.enum(['service_started', 'service_healthy', 'service_completed_successfully']),
      }),
    )
    .optional(),
  healthcheck: healthcheck.optional(),
  user: z.string().optional(),
  volumes: z.array(z.string()).optional(),
  profiles: z.array(z.string()).optional(),
});
const composeFile = z.looseObject({ services: z.record(z.string(), composeService) });
type ComposeService = z.infer<typeof composeService>;

/** Checks a parsed compose file (anchors and merge keys resolved by the parser). */
export function checkCompose(
  doc: unknown,
  where = 'infra/compose.yaml',
  codeEnv = envNamesReadByCode(),
): string[] {
  const problems: string[] = [];
  const file = check(composeFile, doc, where, problems);
  if (!file) return problems;
  const services = file.services;
  const at = (name: string) => `${where}: services.${name}`;

  for (const [name, s] of Object.entries(services)) {
    if (!imagePinned(s.image)) problems.push(`${at(name)}.image: '${s.image}' is not pinned to a version`);
    for (const dep of Object.keys(s.depends_on ?? {}))
      if (!services[dep]) problems.push(`${at(name)}.depends_on: no service '${dep}'`);
    if (s.depends_on)
      for (const [dep, c] of Object.entries(s.depends_on))
        if (c.condition === 'service_healthy' && !services[dep]?.healthcheck)
          problems.push(
            `${at(name)}.depends_on.${dep}: waits for it to be healthy, but it has no healthcheck`,
          );
  }

  const workers = Object.entries(services).filter(([, s]) => queueClassOf(argv(s.command)) !== undefined);
  const classes = workers.map(([, s]) => queueClassOf(argv(s.command)));
  for (const c of ['cpu', 'gpu'])
    if (!classes.includes(c)) problems.push(`${where}: no service runs 'worker --queue ${c}'`);
  for (const [name, s] of workers) {
    const cls = queueClassOf(argv(s.command))!;
    if (!QUEUE_OF_CLASS[cls]) problems.push(`${at(name)}.command: unknown queue class '${cls}'`);
    const env = Object.keys(s.environment ?? {});
    for (const k of REQUIRED_WORKER_ENV)
      if (!env.includes(k)) problems.push(`${at(name)}.environment: ${k} is not set`);
    for (const k of env)
      if (!codeEnv.has(k) && !PLATFORM_ENV.has(k))
        problems.push(`${at(name)}.environment.${k}: no code reads it`);
    if (!s.healthcheck) problems.push(`${at(name)}: no healthcheck`);
    else if (!s.healthcheck.test.some((t) => t.endsWith('infra/docker/healthcheck.mjs')))
      problems.push(`${at(name)}.healthcheck: does not run infra/docker/healthcheck.mjs`);
    if (!s.user || /^(0|root)(:|$)/.test(s.user)) problems.push(`${at(name)}.user: runs as root`);
    if (!s.depends_on || Object.values(s.depends_on).some((c) => c.condition === 'service_started'))
      problems.push(`${at(name)}.depends_on: must wait for the set-up and the store to be ready`);
    if (cls === 'gpu') {
      const devices = z
        .array(
          z.object({
            driver: z.literal('nvidia'),
            count: z.union([z.number(), z.literal('all')]),
            capabilities: z.array(z.string()),
          }),
        )
        .min(1);
      const dev = (s as { deploy?: { resources?: { reservations?: { devices?: unknown } } } }).deploy
        ?.resources?.reservations?.devices;
      const d = check(devices, dev, `${at(name)}.deploy.resources.reservations.devices`, problems);
      if (d && !d[0].capabilities.includes('gpu'))
        problems.push(`${at(name)}.deploy.resources.reservations.devices: no 'gpu' capability`);
    }
  }

  const setup = Object.entries(services).find(([, s]) =>
    (s.volumes ?? []).some((v) => v.includes('setup-temporal.sh')),
  );
  if (!setup) problems.push(`${where}: no service runs setup-temporal.sh (namespace and search attributes)`);
  else {
    const [name, s] = setup;
    const mount = s.volumes!.find((v) => v.includes('setup-temporal.sh'))!.split(':')[0];
    if (!existsSync(join(dirname(COMPOSE_FILE), mount)))
      problems.push(`${at(name)}.volumes: ${mount} does not exist`);
    for (const [wname, w] of workers)
      if (w.depends_on?.[name]?.condition !== 'service_completed_successfully')
        problems.push(`${at(wname)}.depends_on.${name}: must be service_completed_successfully`);
  }
  const server = Object.entries(services).find(([, s]) => s.image.startsWith('temporalio/server:'));
  if (!server) problems.push(`${where}: no temporalio/server service`);
  else if (server[1].environment?.DB !== 'postgres12')
    problems.push(`${at(server[0])}.environment.DB: expected postgres12 (PostgreSQL persistence)`);
  if (!Object.values(services).some((s) => s.image.startsWith('temporalio/ui:')))
    problems.push(`${where}: no temporalio/ui service (the web UI)`);
  return problems;
}

function argv(cmd: ComposeService['command']): string[] | undefined {
  return typeof cmd === 'string' ? cmd.split(/\s+/) : cmd;
}

// ---- Kubernetes ----------------------------------------------------------------------------------------

const httpProbe = z.looseObject({
  httpGet: z.object({ path: z.string(), port: z.union([z.string(), z.number()]) }),
});
const container = z.looseObject({
  name: z.string(),
  image: z.string(),
  args: z.array(z.string()).optional(),
  command: z.array(z.string()).optional(),
  env: z.array(z.looseObject({ name: z.string() })).optional(),
  envFrom: z
    .array(
      z.object({
        configMapRef: z.object({ name: z.string() }).optional(),
        secretRef: z.object({ name: z.string() }).optional(),
      }),
    )
    .optional(),
  ports: z.array(z.looseObject({ name: z.string().optional(), containerPort: z.number() })).optional(),
  livenessProbe: httpProbe.optional(),
  readinessProbe: httpProbe.optional(),
  startupProbe: httpProbe.optional(),
  resources: z
    .object({
      requests: z.record(z.string(), z.union([z.string(), z.number()])).optional(),
      limits: z.record(z.string(), z.union([z.string(), z.number()])).optional(),
    })
    .optional(),
  securityContext: z.looseObject({ allowPrivilegeEscalation: z.boolean().optional() }).optional(),
});
const podSpec = z.looseObject({
  containers: z.array(container).min(1),
  securityContext: z
    .looseObject({ runAsNonRoot: z.boolean().optional(), runAsUser: z.number().optional() })
    .optional(),
  terminationGracePeriodSeconds: z.number().optional(),
  nodeSelector: z.record(z.string(), z.string()).optional(),
  tolerations: z.array(z.looseObject({ key: z.string().optional() })).optional(),
});
const deployment = z.looseObject({
  kind: z.literal('Deployment'),
  metadata: z.looseObject({ name: z.string() }),
  spec: z.looseObject({ replicas: z.number().optional(), template: z.looseObject({ spec: podSpec }) }),
});
const temporalTrigger = z.looseObject({
  type: z.literal('temporal'),
  metadata: z
    .looseObject({
      endpoint: z.string().optional(),
      endpointFromEnv: z.string().optional(),
      namespace: z.string(),
      taskQueue: z.string(),
      queueTypes: z.string(),
      targetQueueSize: z.string().regex(/^\d+$/, 'a whole number, as a string'),
      activationTargetQueueSize: z.string().regex(/^\d+$/, 'a whole number, as a string'),
      includeRunningWorkflowCount: z.enum(['true', 'false']).optional(),
      workflowTaskQueueForCount: z.string().optional(),
    })
    .refine(
      (m) => m.endpoint !== undefined || m.endpointFromEnv !== undefined,
      'endpoint or endpointFromEnv is required',
    ),
  authenticationRef: z.object({ name: z.string() }).optional(),
});
const scaledObject = z.looseObject({
  apiVersion: z.literal('keda.sh/v1alpha1'),
  kind: z.literal('ScaledObject'),
  metadata: z.looseObject({ name: z.string() }),
  spec: z.looseObject({
    scaleTargetRef: z.looseObject({ name: z.string() }),
    minReplicaCount: z.number().int().min(0),
    maxReplicaCount: z.number().int().positive(),
    triggers: z.array(temporalTrigger).min(1),
  }),
});
const keyValues = z.looseObject({
  kind: z.enum(['ConfigMap', 'Secret']),
  metadata: z.looseObject({ name: z.string() }),
  data: z.record(z.string(), z.string()).optional(),
  stringData: z.record(z.string(), z.string()).optional(),
});
const kustomization = z.looseObject({
  resources: z.array(z.string()),
  images: z.array(z.object({ name: z.string(), newName: z.string(), newTag: z.string() })).optional(),
});

export interface K8sDocument {
  file: string;
  doc: Record<string, unknown>;
}

/** The documents of the resources a kustomization lists (files in its folder), with its image mapping. */
export function loadKustomization(dir: string): {
  docs: K8sDocument[];
  images: Map<string, string>;
  problems: string[];
} {
  const problems: string[] = [];
  const where = relative(ROOT, join(dir, 'kustomization.yaml'));
  const k = check(
    kustomization,
    parseYaml(readFileSync(join(dir, 'kustomization.yaml'), 'utf8')),
    where,
    problems,
  );
  const docs: K8sDocument[] = [];
  const images = new Map<string, string>();
  for (const img of k?.images ?? []) images.set(img.name, `${img.newName}:${img.newTag}`);
  for (const res of k?.resources ?? []) {
    const path = join(dir, res);
    if (!existsSync(path)) {
      problems.push(`${where}: resources: ${res} does not exist`);
      continue;
    }
    if (statSync(path).isDirectory()) continue; // a base, checked on its own
    for (const d of parseAllDocuments(readFileSync(path, 'utf8')))
      if (d.contents) docs.push({ file: relative(ROOT, path), doc: d.toJSON() as Record<string, unknown> });
  }
  return { docs, images, problems };
}

/** Checks the Kubernetes documents of the base (workers, config, KEDA, set-up Job). */
export function checkK8s(
  docs: K8sDocument[],
  images: Map<string, string>,
  codeEnv = envNamesReadByCode(),
): string[] {
  const problems: string[] = [];
  const byKind = (kind: string) => docs.filter((d) => d.doc.kind === kind);
  const config = new Map<string, Record<string, string>>();
  const configFile = new Map<string, string>();
  for (const d of [...byKind('ConfigMap'), ...byKind('Secret')]) {
    const kv = check(keyValues, d.doc, d.file, problems);
    if (!kv) continue;
    const data = { ...kv.data, ...kv.stringData };
    config.set(`${kv.kind}/${kv.metadata.name}`, data);
    configFile.set(`${kv.kind}/${kv.metadata.name}`, d.file);
  }
  /** The ConfigMaps and Secrets the workers take their environment from: every key is one the code reads. */
  const envChecked = new Set<string>();
  const checkEnvSource = (ref: string, data: Record<string, string>) => {
    if (envChecked.has(ref)) return;
    envChecked.add(ref);
    for (const key of Object.keys(data))
      if (!codeEnv.has(key))
        problems.push(`${configFile.get(ref)}: ${ref.replace('/', ' ')}: ${key}: no code reads it`);
  };
  const namespaceSetting = Object.values(Object.fromEntries(config)).find(
    (c) => c.TEMPORAL_NAMESPACE,
  )?.TEMPORAL_NAMESPACE;
  const healthPort = Number(
    Object.values(Object.fromEntries(config)).find((c) => c[HEALTH_PORT_ENV])?.[HEALTH_PORT_ENV],
  );

  const workers = new Map<string, { cls: string; file: string; env: Set<string> }>();
  for (const d of byKind('Deployment')) {
    const named = (d.doc.metadata as { name?: string } | undefined)?.name;
    const dep = check(deployment, d.doc, `${d.file}: Deployment ${named}`, problems);
    if (!dep) continue;
    const at = `${d.file}: Deployment ${dep.metadata.name}`;
    const pod = dep.spec.template.spec;
    const c = pod.containers[0];
    const cls = queueClassOf(c.args);
    if (!cls || !QUEUE_OF_CLASS[cls]) {
      problems.push(`${at}: args must be 'worker --queue cpu|gpu', got ${JSON.stringify(c.args)}`);
      continue;
    }
    const image = images.get(c.image) ?? c.image;
    if (!imagePinned(image)) problems.push(`${at}: image '${image}' is not pinned to a version`);
    const env = new Set<string>();
    for (const from of c.envFrom ?? []) {
      const ref = from.configMapRef
        ? `ConfigMap/${from.configMapRef.name}`
        : `Secret/${from.secretRef?.name}`;
      const data = config.get(ref);
      if (!data) problems.push(`${at}: envFrom ${ref} is not among the resources`);
      else {
        checkEnvSource(ref, data);
        for (const k of Object.keys(data)) env.add(k);
      }
    }
    for (const e of c.env ?? []) {
      env.add(e.name);
      if (!codeEnv.has(e.name) && !PLATFORM_ENV.has(e.name))
        problems.push(`${at}: env ${e.name}: no code reads it`);
    }
    for (const k of REQUIRED_WORKER_ENV) if (!env.has(k)) problems.push(`${at}: ${k} is not set`);
    workers.set(dep.metadata.name, { cls, file: d.file, env });

    if (pod.securityContext?.runAsNonRoot !== true || !pod.securityContext.runAsUser)
      problems.push(`${at}: securityContext must set runAsNonRoot: true and a non-zero runAsUser`);
    if (c.securityContext?.allowPrivilegeEscalation !== false)
      problems.push(`${at}: container securityContext.allowPrivilegeEscalation must be false`);
    const port = c.ports?.find((p) => p.containerPort === healthPort);
    if (!port) problems.push(`${at}: no container port ${healthPort} (${HEALTH_PORT_ENV})`);
    const probeOk = (p: z.infer<typeof httpProbe> | undefined, path: string) =>
      p !== undefined &&
      p.httpGet.path === path &&
      (p.httpGet.port === healthPort || p.httpGet.port === port?.name);
    if (!probeOk(c.livenessProbe, '/healthz'))
      problems.push(`${at}: livenessProbe must GET /healthz on the health port`);
    if (!probeOk(c.readinessProbe, '/readyz'))
      problems.push(`${at}: readinessProbe must GET /readyz on the health port`);
    if (!probeOk(c.startupProbe, '/healthz'))
      problems.push(`${at}: startupProbe must GET /healthz on the health port`);
    if (!c.resources?.requests?.cpu || !c.resources.requests.memory)
      problems.push(`${at}: resources.requests must set cpu and memory`);
    if (cls === 'gpu') {
      const gpus = Number(c.resources?.limits?.['nvidia.com/gpu'] ?? 0);
      if (gpus < 1) problems.push(`${at}: resources.limits must request nvidia.com/gpu`);
      if (!pod.nodeSelector || Object.keys(pod.nodeSelector).length === 0)
        problems.push(`${at}: no nodeSelector for GPU nodes`);
      if (!(pod.tolerations ?? []).some((t) => t.key === 'nvidia.com/gpu'))
        problems.push(`${at}: no toleration for the nvidia.com/gpu taint`);
      if ((pod.terminationGracePeriodSeconds ?? 30) < MIN_GPU_GRACE_SECONDS)
        problems.push(
          `${at}: terminationGracePeriodSeconds below ${MIN_GPU_GRACE_SECONDS} s cannot cover a checkpoint`,
        );
      if (env.has('SIMCLR_BACKEND') === false)
        problems.push(`${at}: SIMCLR_BACKEND (tensorflow-gpu) is not set`);
    }
  }
  for (const cls of ['cpu', 'gpu'])
    if (![...workers.values()].some((w) => w.cls === cls))
      problems.push(`infra/k8s: no Deployment runs 'worker --queue ${cls}'`);

  const scaled = new Set<string>();
  for (const d of byKind('ScaledObject')) {
    const named = (d.doc.metadata as { name?: string } | undefined)?.name;
    const so = check(scaledObject, d.doc, `${d.file}: ScaledObject ${named}`, problems);
    if (!so) continue;
    const at = `${d.file}: ScaledObject ${so.metadata.name}`;
    const target = workers.get(so.spec.scaleTargetRef.name);
    if (!target) {
      problems.push(`${at}: scaleTargetRef ${so.spec.scaleTargetRef.name} is not a worker Deployment`);
      continue;
    }
    scaled.add(so.spec.scaleTargetRef.name);
    const queue = QUEUE_OF_CLASS[target.cls];
    for (const [i, t] of so.spec.triggers.entries()) {
      const m = t.metadata;
      const tat = `${at}: triggers.${i}.metadata`;
      if (m.taskQueue !== queue)
        problems.push(
          `${tat}.taskQueue: '${m.taskQueue}', but ${so.spec.scaleTargetRef.name} serves '${queue}' (contracts/queues.ts)`,
        );
      if (m.endpointFromEnv && !target.env.has(m.endpointFromEnv))
        problems.push(`${tat}.endpointFromEnv: ${m.endpointFromEnv} is not in the target's environment`);
      if (namespaceSetting && m.namespace !== namespaceSetting)
        problems.push(`${tat}.namespace: '${m.namespace}', the workers use '${namespaceSetting}'`);
      const types = m.queueTypes.split(',').map((s) => s.trim());
      for (const qt of types)
        if (!['workflow', 'activity', 'nexus'].includes(qt))
          problems.push(`${tat}.queueTypes: unknown '${qt}'`);
      if (!types.includes('activity'))
        problems.push(`${tat}.queueTypes: must include activity (the work is activities)`);
      if (target.cls === 'cpu' && !types.includes('workflow'))
        problems.push(`${tat}.queueTypes: the cpu workers serve the workflows: include workflow`);
      if (target.cls === 'gpu') {
        if (m.includeRunningWorkflowCount !== 'true' || m.workflowTaskQueueForCount !== CPU_QUEUE)
          problems.push(
            `${tat}: includeRunningWorkflowCount 'true' with workflowTaskQueueForCount '${CPU_QUEUE}' keeps a training pod from being scaled in while its epoch runs`,
          );
      }
    }
    if (target.cls === 'gpu' && so.spec.minReplicaCount !== 0)
      problems.push(`${at}: minReplicaCount must be 0 (GPU nodes cost nothing idle)`);
    if (target.cls === 'cpu' && so.spec.minReplicaCount < 1)
      problems.push(`${at}: minReplicaCount must be at least 1 (workflow tasks)`);
  }
  for (const [name] of workers)
    if (!scaled.has(name)) problems.push(`infra/k8s: no ScaledObject scales ${name}`);

  for (const d of byKind('Job')) {
    const spec = (d.doc as { spec?: { template?: { spec?: unknown } } }).spec?.template?.spec;
    const pod = check(podSpec, spec, `${d.file}: Job`, problems);
    for (const c of pod?.containers ?? [])
      if (!imagePinned(images.get(c.image) ?? c.image))
        problems.push(`${d.file}: Job image '${c.image}' is not pinned`);
  }
  return problems;
}

// ---- Dockerfile ----------------------------------------------------------------------------------------

interface Stage {
  name: string;
  from: string;
  lines: string[];
}

/** The Dockerfile's stages, with ARG defaults substituted into FROM. */
export function dockerStages(text: string): Stage[] {
  const joined = text.replace(/\\\n/g, ' ');
  const args = new Map<string, string>();
  const stages: Stage[] = [];
  for (const raw of joined.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const arg = /^ARG\s+(\w+)=(\S+)/.exec(line);
    if (arg && stages.length === 0) args.set(arg[1], arg[2]);
    const from = /^FROM\s+(\S+)(?:\s+AS\s+(\S+))?/i.exec(line);
    if (from) {
      const image = from[1].replace(/\$\{(\w+)\}/g, (_, n: string) => args.get(n) ?? `\${${n}}`);
      stages.push({ name: from[2] ?? `stage-${stages.length}`, from: image, lines: [] });
    } else stages.at(-1)?.lines.push(line);
  }
  return stages;
}

export function checkDockerfile(
  text: string,
  where = 'infra/docker/Dockerfile',
  codeEnv = envNamesReadByCode(),
): string[] {
  const problems: string[] = [];
  const stages = dockerStages(text);
  const names = new Set(stages.map((s) => s.name));
  for (const s of stages)
    if (!names.has(s.from) && !imagePinned(s.from))
      problems.push(`${where}: stage ${s.name}: FROM '${s.from}' is not pinned`);
  const all = stages.flatMap((s) => s.lines).join('\n');
  if (!/\bnpm ci\b/.test(all)) problems.push(`${where}: dependencies are not installed with npm ci`);
  for (const v of ['cpu', 'gpu'])
    if (!new RegExp(`infra/setup-tensorflow\\.sh ${v}\\b`).test(all))
      problems.push(`${where}: the ${v} binding is not built by infra/setup-tensorflow.sh ${v}`);
  const bundle = /infra\/build-workflow-bundle\.ts\s+(\S+)/.exec(all)?.[1];
  if (!bundle) problems.push(`${where}: the workflow bundle is not built (infra/build-workflow-bundle.ts)`);
  const versions = readFileSync(join(ROOT, 'infra', 'versions.sh'), 'utf8');
  const tf = /TF_WHEEL_VERSION:-([\d.]+)/.exec(versions)?.[1];
  const tfArg = /^ARG TF_WHEEL_VERSION=(\S+)/m.exec(text)?.[1];
  if (tfArg !== tf) problems.push(`${where}: ARG TF_WHEEL_VERSION=${tfArg}, infra/versions.sh has ${tf}`);

  for (const target of ['cpu', 'gpu']) {
    const s = stages.find((x) => x.name === target);
    if (!s) {
      problems.push(`${where}: no '${target}' target`);
      continue;
    }
    const at = `${where}: target ${target}`;
    const user = s.lines
      .filter((l) => /^USER\s/.test(l))
      .at(-1)
      ?.split(/\s+/)[1];
    if (!user || /^(0|root)(:|$)/.test(user)) problems.push(`${at}: runs as root (no non-root USER)`);
    if (!s.lines.some((l) => /^HEALTHCHECK\b.*infra\/docker\/healthcheck\.mjs/.test(l)))
      problems.push(`${at}: no HEALTHCHECK running infra/docker/healthcheck.mjs`);
    const env = new Map<string, string>();
    for (const l of s.lines.filter((x) => /^ENV\s/.test(x)))
      for (const m of l.slice(4).matchAll(/(\w+)=(\S+)/g)) env.set(m[1], m[2]);
    for (const k of env.keys())
      if (!codeEnv.has(k) && !PLATFORM_ENV.has(k)) problems.push(`${at}: ENV ${k}: no code reads it`);
    if (bundle && env.get(WORKFLOW_BUNDLE_ENV) !== `/app/${bundle}`)
      problems.push(`${at}: ${WORKFLOW_BUNDLE_ENV} must name the bundle built at /app/${bundle}`);
    if (!env.has(HEALTH_PORT_ENV))
      problems.push(`${at}: ${HEALTH_PORT_ENV} is not set (the HEALTHCHECK probes it)`);
    const cmd = /^CMD\s+(\[.*\])/m.exec(s.lines.join('\n'))?.[1];
    if (queueClassOf(cmd ? (JSON.parse(cmd) as string[]) : undefined) !== target)
      problems.push(`${at}: CMD must be ["worker", "--queue", "${target}"]`);
  }
  const gpu = stages.find((x) => x.name === 'gpu');
  // The CUDA libraries of the wheel's nvidia-* packages, found by the loader (README, GPU workers).
  const cudaLibs = /^ARG CUDA_PIP_LIBS=(\S+)/m.exec(text)?.[1].split(':') ?? [];
  for (const pkg of ['cuda_runtime', 'cublas', 'cudnn'])
    if (!cudaLibs.includes(`/opt/nvidia/${pkg}/lib`))
      problems.push(`${where}: ARG CUDA_PIP_LIBS does not list /opt/nvidia/${pkg}/lib`);
  if (gpu && !gpu.lines.some((l) => /^ENV\s.*LD_LIBRARY_PATH=\$\{CUDA_PIP_LIBS\}/.test(l)))
    problems.push(`${where}: target gpu: LD_LIBRARY_PATH does not start with the CUDA_PIP_LIBS folders`);
  if (gpu && !/^nvidia\/cuda:12\.[\d.]+-(runtime|cudnn-runtime)-/.test(gpu.from))
    problems.push(`${where}: target gpu: FROM '${gpu.from}' is not a CUDA 12 runtime image`);
  return problems;
}

export function checkDockerignore(text: string, where = '.dockerignore'): string[] {
  const entries = new Set(text.split('\n').map((l) => l.trim()));
  return ['node_modules', '.git', 'dist']
    .filter((e) => !entries.has(e))
    .map((e) => `${where}: ${e} is not excluded`);
}
