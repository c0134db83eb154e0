/**
 * The report activity's [cpu] share of showing the representation: it reads the samples the evaluation
 * activities stored (report/representation-sample.ts; the workflow passes only their keys), draws the
 * seeded UMAP map of each (report/embedding-map.ts: CPU work, so it runs here and not in a GPU slot),
 * stores the maps beside the samples, and reads the few images the page and the projector show from
 * the dataset's shards.
 */
import { embeddingMap, MIN_MAP_POINTS } from '../report/embedding-map';
import type { ProjectorInput } from '../report/projector';
import type { RepresentationView } from '../report/representation-html';
import {
  readRepresentationSample,
  SAMPLED_ENCODERS,
  type EncoderSample,
  type SampledEncoder,
} from '../report/representation-sample';
import { pngDataUri } from '../report/thumbnails';
import type { BlobStore } from '../storage/blob-store';
import { representationKeys } from '../storage/layout';
import type { WriteReportInput } from '../contracts/report';
import { log, progressHeartbeat } from './context';
import { gatherImages } from './split-reads';
import { datasetManifest } from './dataset-manifests';

export interface ReportRepresentation {
  view: RepresentationView;
  /** The projector's input (for the TensorBoard folder): the encoders that share the sampled images. */
  projector: ProjectorInput;
  /** Seconds UMAP took, per encoder. */
  mapSeconds: Partial<Record<SampledEncoder, number>>;
}

/** Rounds for the stored map: a thousandth of a UMAP unit is far below what a plot can show. */
const rounded = (xy: Float32Array) => Array.from(xy, (v) => Math.round(v * 1000) / 1000);

/** The stored samples of the run's encoders (trained first); a missing or bad one is skipped with a warning. */
async function samplesOf(
  store: BlobStore,
  input: WriteReportInput,
): Promise<{ encoder: SampledEncoder; sample: EncoderSample }[]> {
  const out: { encoder: SampledEncoder; sample: EncoderSample }[] = [];
  for (const [encoder, key] of [
    ['pretrained', input.pretrained.representationKey],
    ['random-init', input.baseline?.representationKey],
  ] as const) {
    if (!key) continue;
    try {
      out.push({ encoder, sample: await readRepresentationSample(store, key) });
    } catch (err) {
      log().warn(`the report shows no representation of the ${encoder} encoder: ${(err as Error).message}`);
    }
  }
  return out;
}

/**
 * What the report shows of the representation, or undefined for a run whose evaluations stored no
 * sample (runs that predate it).
 */
export async function reportRepresentation(
  store: BlobStore,
  input: WriteReportInput,
): Promise<ReportRepresentation | undefined> {
  const samples = await samplesOf(store, input);
  if (samples.length === 0) return undefined;
  const { config, experimentId } = input;
  const dataset = await datasetManifest(store, input.dataset);
  const progress = progressHeartbeat({ stage: 'report' });
  const mapSeconds: ReportRepresentation['mapSeconds'] = {};
  const encoders: RepresentationView['encoders'] = [];
  for (const { encoder, sample } of samples) {
    if (sample.indices.length < MIN_MAP_POINTS) {
      encoders.push({ encoder, sample });
      continue;
    }
    const start = performance.now();
    // A beat before UMAP's nearest-neighbour graph, which runs without yielding: 1.8 s for 3,000
    // points with the 2 cores at load 8, 4.4 s at load 14.
    progress(`UMAP map of the ${encoder} encoder`)(0);
    const map = await embeddingMap(sample.embeddings, sample.dim, {
      seed: config.seed,
      stream: SAMPLED_ENCODERS.indexOf(encoder),
      onEpoch: (epoch, epochs) => progress(`UMAP map of the ${encoder} encoder`)(epoch, epochs),
    });
    mapSeconds[encoder] = (performance.now() - start) / 1000;
    log().info(
      `UMAP map of the ${encoder} encoder: ${sample.indices.length} points × ${sample.dim} dims in ${mapSeconds[encoder]!.toFixed(1)} s`,
    );
    await store.put(
      representationKeys(experimentId).map(encoder),
      JSON.stringify({ encoder, seed: config.seed, indices: sample.indices, xy: rounded(map) }),
    );
    encoders.push({ encoder, sample, map });
  }

  // The grid's images: every query (test) and every neighbour (training), as data URIs.
  const shape = { height: dataset.imageSize, width: dataset.imageSize, channels: dataset.channels };
  const bytes = shape.height * shape.width * shape.channels;
  const uris = async (split: 'train' | 'test', wanted: number[]) => {
    const indices = [...new Set(wanted)];
    const { pixels } = await gatherImages(store, dataset, split, indices);
    const out = new Map<number, string>();
    for (let i = 0; i < indices.length; i++)
      out.set(indices[i], await pngDataUri(pixels.subarray(i * bytes, (i + 1) * bytes), shape));
    return out;
  };
  const queries = samples.flatMap((s) => s.sample.queries);
  progress('neighbour images')(0);
  const images = {
    test: await uris(
      'test',
      queries.map((q) => q.index),
    ),
    train: await uris(
      'train',
      queries.flatMap((q) => q.neighbours.map((n) => n.index)),
    ),
  };

  // The projector shows the encoders drawn on the same images (by construction all of them).
  const [first] = samples;
  const same = samples.filter(
    (s) =>
      s.sample.indices.length === first.sample.indices.length &&
      s.sample.indices.every((v, i) => v === first.sample.indices[i]),
  );
  progress('projector images')(0);
  const projector: ProjectorInput = {
    tensors: same.map((s) => ({ name: s.encoder, embeddings: s.sample.embeddings, dim: s.sample.dim })),
    indices: first.sample.indices,
    labels: first.sample.labels,
    classNames: dataset.classNames,
    pixels: (await gatherImages(store, dataset, 'test', first.sample.indices)).pixels,
    shape,
  };
  return { view: { classNames: dataset.classNames, encoders, images }, projector, mapSeconds };
}
