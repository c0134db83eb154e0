/**
 * The deployment files agree with the code (test/helpers/deploy-manifests.ts): the compose stack, the
 * Kubernetes manifests and overlay, the worker images and the Temporal set-up script. Each check is
 * also shown to fail on a copy with one field wrong, so that a drift cannot pass unnoticed.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments, parse as parseYaml } from 'yaml';
import { ROOT } from '../helpers/cli';
import {
  checkCompose,
  checkDockerfile,
  checkDockerignore,
  checkK8s,
  checkSetupScript,
  COMPOSE_FILE,
  DOCKERFILE,
  envNamesReadByCode,
  imagePinned,
  K8S_BASE,
  K8S_CLOUD,
  loadKustomization,
  SETUP_SCRIPT,
  type K8sDocument,
} from '../helpers/deploy-manifests';

/** Parsed YAML, reached into and edited freely by the mutations below. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Doc = any;

const codeEnv = envNamesReadByCode();
const clone = <T>(v: T): T => structuredClone(v);
const compose = () => parseYaml(readFileSync(COMPOSE_FILE, 'utf8'), { merge: true }) as Doc;
const k8s = () => loadKustomization(K8S_BASE);
const dockerfile = () => readFileSync(DOCKERFILE, 'utf8');

function find(docs: K8sDocument[], kind: string, name: string): Doc {
  const d = docs.find((x) => x.doc.kind === kind && (x.doc.metadata as { name: string }).name === name);
  assert.ok(d, `${kind} ${name}`);
  return d.doc;
}

describe('what the code reads', () => {
  test('the env names include the ones the workers are configured with', () => {
    for (const k of [
      'TEMPORAL_ADDRESS',
      'TEMPORAL_NAMESPACE',
      'TEMPORAL_API_KEY',
      'SIMCLR_STORE',
      'SIMCLR_S3_ENDPOINT',
    ])
      assert.ok(codeEnv.has(k), k);
    for (const k of [
      'SIMCLR_S3_SECRET_KEY',
      'SIMCLR_BACKEND',
      'SIMCLR_HEALTH_PORT',
      'SIMCLR_WORKFLOW_BUNDLE',
    ])
      assert.ok(codeEnv.has(k), k);
    assert.ok(!codeEnv.has('SIMCLR_NOT_A_SETTING'));
  });

  test('an image is pinned by a tag other than latest, or by digest', () => {
    assert.ok(imagePinned('temporalio/server:1.31.0'));
    assert.ok(imagePinned('quay.io/minio/minio:RELEASE.2025-09-07T16-13-09Z'));
    assert.ok(imagePinned('localhost:5000/simclr@sha256:abc'));
    assert.ok(!imagePinned('temporalio/server'));
    assert.ok(!imagePinned('temporalio/server:latest'));
    assert.ok(!imagePinned('localhost:5000/simclr'));
  });
});

describe('infra/compose.yaml', () => {
  test('passes', () => assert.deepEqual(checkCompose(compose(), undefined, codeEnv), []));

  test('fails on a worker serving a queue that does not exist, an unpinned image, an env name no code reads', () => {
    const doc = compose();
    doc.services['worker-gpu'].command = ['worker', '--queue', 'tpu'];
    doc.services.minio.image = 'quay.io/minio/minio:latest';
    doc.services['worker-cpu'].environment.SIMCLR_S3_SECRET = 'x';
    const problems = checkCompose(doc, undefined, codeEnv);
    assert.ok(
      problems.some((p) => /services\.worker-gpu\.command: unknown queue class 'tpu'/.test(p)),
      problems.join('\n'),
    );
    assert.ok(problems.some((p) => /no service runs 'worker --queue gpu'/.test(p)));
    assert.ok(problems.some((p) => /services\.minio\.image: .* is not pinned/.test(p)));
    assert.ok(problems.some((p) => /worker-cpu\.environment\.SIMCLR_S3_SECRET: no code reads it/.test(p)));
  });

  test('fails on a gpu worker without a GPU reservation, running as root, without its health check', () => {
    const doc = compose();
    delete doc.services['worker-gpu'].deploy;
    doc.services['worker-gpu'].user = '0:0';
    delete doc.services['worker-cpu'].healthcheck;
    const problems = checkCompose(doc, undefined, codeEnv);
    assert.ok(
      problems.some((p) => /worker-gpu\.deploy\.resources\.reservations\.devices/.test(p)),
      problems.join('\n'),
    );
    assert.ok(problems.some((p) => /worker-gpu\.user: runs as root/.test(p)));
    assert.ok(problems.some((p) => /worker-cpu: no healthcheck/.test(p)));
  });
});

describe('infra/k8s', () => {
  test('the base passes', () => {
    const { docs, images, problems } = k8s();
    assert.deepEqual([...problems, ...checkK8s(docs, images, codeEnv)], []);
  });

  test('the Temporal Cloud overlay names resources that exist and authenticates KEDA from the secret', () => {
    const { docs, problems } = loadKustomization(K8S_CLOUD);
    assert.deepEqual(problems, []);
    const auth = find(docs, 'TriggerAuthentication', 'simclr-temporal-cloud');
    assert.deepEqual(auth.spec.secretTargetRef, [
      { parameter: 'apiKey', name: 'simclr-credentials', key: 'TEMPORAL_API_KEY' },
    ]);
    const overlay = readFileSync(join(K8S_CLOUD, 'kustomization.yaml'), 'utf8');
    assert.match(overlay, /path: \/spec\/triggers\/0\/authenticationRef/);
    assert.match(overlay, /TEMPORAL_API_KEY: /);
  });

  // kubectl's built-in kustomize renders offline: the overlays' patches applied, the checks run on the result.
  const kubectl = spawnSync('kubectl', ['version', '--client'], { encoding: 'utf8' }).status === 0;
  for (const dir of [K8S_BASE, K8S_CLOUD])
    test(
      `${dir.slice(ROOT.length + 1)} rendered by kubectl kustomize passes`,
      { skip: !kubectl && 'kubectl is not on PATH' },
      () => {
        const r = spawnSync('kubectl', ['kustomize', dir], { encoding: 'utf8' });
        assert.equal(r.status, 0, r.stderr);
        const docs = parseAllDocuments(r.stdout).map((d) => ({
          file: `kustomize ${dir.slice(ROOT.length + 1)}`,
          doc: d.toJSON() as Doc,
        }));
        assert.deepEqual(checkK8s(docs, new Map(), codeEnv), []);
        for (const d of docs)
          assert.equal(
            d.doc.metadata.namespace ?? 'simclr',
            'simclr',
            `${d.doc.kind} ${d.doc.metadata.name}`,
          );
        if (dir === K8S_CLOUD) {
          assert.ok(!docs.some((d) => d.doc.kind === 'Job'), 'no self-hosted set-up Job on Temporal Cloud');
          for (const so of docs.filter((d) => d.doc.kind === 'ScaledObject'))
            assert.deepEqual(so.doc.spec.triggers[0].authenticationRef, { name: 'simclr-temporal-cloud' });
        }
      },
    );

  test('fails on a ScaledObject watching another queue than its Deployment serves', () => {
    const { docs, images } = k8s();
    const copy = clone(docs);
    find(copy, 'ScaledObject', 'simclr-worker-gpu').spec.triggers[0].metadata.taskQueue = 'simclr-gpus';
    const problems = checkK8s(copy, images, codeEnv);
    assert.ok(
      problems.some((p) => /taskQueue: 'simclr-gpus', but simclr-worker-gpu serves 'simclr-gpu'/.test(p)),
      problems.join('\n'),
    );
  });

  test('fails on gpu workers that do not scale to zero, lack the GPU request, or drain too briefly', () => {
    const { docs, images } = k8s();
    const copy = clone(docs);
    find(copy, 'ScaledObject', 'simclr-worker-gpu').spec.minReplicaCount = 1;
    const pod = find(copy, 'Deployment', 'simclr-worker-gpu').spec.template.spec;
    delete pod.containers[0].resources.limits['nvidia.com/gpu'];
    pod.terminationGracePeriodSeconds = 30;
    pod.tolerations = [];
    const problems = checkK8s(copy, images, codeEnv);
    for (const re of [
      /minReplicaCount must be 0/,
      /must request nvidia\.com\/gpu/,
      /terminationGracePeriodSeconds/,
      /toleration/,
    ])
      assert.ok(
        problems.some((p) => re.test(p)),
        `${re}:\n${problems.join('\n')}`,
      );
  });

  test('fails on a trigger without the temporal type or its required metadata, and on a wrong probe', () => {
    const { docs, images } = k8s();
    const copy = clone(docs);
    const cpu = find(copy, 'ScaledObject', 'simclr-worker-cpu');
    cpu.spec.triggers[0].type = 'prometheus';
    const gpu = find(copy, 'ScaledObject', 'simclr-worker-gpu');
    delete gpu.spec.triggers[0].metadata.endpointFromEnv;
    find(
      copy,
      'Deployment',
      'simclr-worker-cpu',
    ).spec.template.spec.containers[0].readinessProbe.httpGet.path = '/';
    const other = clone(docs);
    delete find(other, 'ScaledObject', 'simclr-worker-gpu').spec.triggers[0].metadata.targetQueueSize;
    const problems = [...checkK8s(copy, images, codeEnv), ...checkK8s(other, images, codeEnv)];
    for (const re of [
      /ScaledObject simclr-worker-cpu: spec\.triggers\.0\.type/,
      /endpoint or endpointFromEnv/,
      /targetQueueSize/,
      /readinessProbe must GET \/readyz/,
    ])
      assert.ok(
        problems.some((p) => re.test(p)),
        `${re}:\n${problems.join('\n')}`,
      );
  });

  test('fails on a ConfigMap key no code reads and on an unpinned image', () => {
    const { docs, images } = k8s();
    const copy = clone(docs);
    find(copy, 'ConfigMap', 'simclr-config').data.SIMCLR_S3_HOST = 'x';
    const unpinned = new Map(images);
    unpinned.set('simclr-worker-gpu', 'ghcr.io/your-org/simclr-worker:latest');
    const problems = checkK8s(copy, unpinned, codeEnv);
    assert.ok(
      problems.some((p) => /SIMCLR_S3_HOST: no code reads it/.test(p)),
      problems.join('\n'),
    );
    assert.ok(problems.some((p) => /simclr-worker-gpu: image .*:latest' is not pinned/.test(p)));
  });
});

describe('the Temporal set-up script', () => {
  test('registers exactly the search attributes of workflows/search-attributes.ts, with their types', () => {
    assert.deepEqual(checkSetupScript(readFileSync(SETUP_SCRIPT, 'utf8')), []);
  });

  test('fails on a missing attribute or a wrong type', () => {
    const script = readFileSync(SETUP_SCRIPT, 'utf8')
      .replace(/^create Int SimclrEpoch$/m, 'create Double SimclrEpoch')
      .replace(' SimclrEncoder', '');
    const problems = checkSetupScript(script);
    assert.ok(
      problems.some((p) => /SimclrEpoch is registered as Double, the workflows use Int/.test(p)),
      problems.join('\n'),
    );
    assert.ok(problems.some((p) => /SimclrEncoder \(Keyword\) is not registered/.test(p)));
  });
});

describe('infra/docker/Dockerfile', () => {
  test('passes, and .dockerignore keeps the context clean', () => {
    assert.deepEqual(checkDockerfile(dockerfile(), undefined, codeEnv), []);
    assert.deepEqual(checkDockerignore(readFileSync(join(ROOT, '.dockerignore'), 'utf8')), []);
  });

  test('fails on a root user, an unpinned base, a missing health check, a CMD on the wrong queue, a CUDA library folder left out', () => {
    const text = dockerfile()
      .replace('ARG NODE_IMAGE=node:20.20.2-bookworm-slim', 'ARG NODE_IMAGE=node:latest')
      .replace(/USER 10001:10001\n(EXPOSE 8080\n# Loading CUDA)/, 'USER root\n$1')
      .replace(/HEALTHCHECK [^\n]*--start-period=120s[^\n]*\n[^\n]*\n/, '')
      .replace('CMD ["worker", "--queue", "gpu"]', 'CMD ["worker", "--queue", "cpu"]')
      .replace(':/opt/nvidia/cudnn/lib', '');
    const problems = checkDockerfile(text, undefined, codeEnv);
    for (const re of [
      /FROM 'node:latest' is not pinned/,
      /target gpu: runs as root/,
      /target cpu: no HEALTHCHECK/,
      /target gpu: CMD must be/,
      /CUDA_PIP_LIBS does not list \/opt\/nvidia\/cudnn\/lib/,
    ])
      assert.ok(
        problems.some((p) => re.test(p)),
        `${re}:\n${problems.join('\n')}`,
      );
  });
});
