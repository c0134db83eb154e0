/**
 * The representation sample of one encoder in the store (experiments/<id>/representation/<encoder>.json,
 * storage/layout.ts representationKeys): written by its evaluation activity [gpu], which has the features,
 * and read by the report activity [cpu], which draws the embedding maps, the neighbour grid, the
 * confusion matrix and the TensorBoard projector files from it. Only keys cross the Temporal boundary.
 *
 * One JSON object; the features are base64 of little-endian float32 (exact, a third of the size of
 * decimal text):
 * ```json
 * {"version":1,"encoder":"pretrained","dim":64,"numTest":10000,"indices":[3,17,…],"labels":[9,0,…],
 *  "embeddings":"AACAPw…","confusion":[[812,3,…],…],
 *  "queries":[{"index":19,"label":0,"neighbours":[{"index":4410,"label":0,"similarity":0.97},…]},…]}
 * ```
 */
import { z } from 'zod';
import type { RepresentationSample } from '../simclr/evaluate/representation-sample';
import type { BlobStore } from '../storage/blob-store';
import { representationKeys } from '../storage/layout';

/** The encoders whose representation the report shows (the pixels have no encoder to show). */
export const SAMPLED_ENCODERS = ['pretrained', 'random-init'] as const;
export type SampledEncoder = (typeof SAMPLED_ENCODERS)[number];

const index = z.number().int().min(0);

export const storedSampleSchema = z
  .object({
    version: z.literal(1),
    encoder: z.enum(SAMPLED_ENCODERS),
    dim: z.number().int().positive(),
    /** Size of the test split the sample was drawn from (and the confusion matrix counts). */
    numTest: z.number().int().positive(),
    indices: z.array(index),
    labels: z.array(index),
    embeddings: z.base64(),
    /** The linear classifier's confusion[true][predicted] on the whole test split. */
    confusion: z.array(z.array(z.number().int().min(0))),
    queries: z.array(
      z.object({
        index,
        label: index,
        neighbours: z.array(
          z.object({ index, label: index, similarity: z.number().min(-1.0001).max(1.0001) }),
        ),
      }),
    ),
  })
  .refine((s) => s.labels.length === s.indices.length, { message: 'one label per index', path: ['labels'] })
  .refine((s) => s.confusion.every((row) => row.length === s.confusion.length), {
    message: 'the confusion matrix must be square',
    path: ['confusion'],
  });

export type StoredSample = z.infer<typeof storedSampleSchema>;

/** A sample as read back: the features as a Float32Array [indices.length, dim]. */
export interface EncoderSample extends Omit<StoredSample, 'embeddings'> {
  embeddings: Float32Array;
}

/** Writes the sample of `encoder` with the linear classifier's test confusion matrix; returns its key. */
export async function writeRepresentationSample(
  store: BlobStore,
  experimentId: string,
  encoder: SampledEncoder,
  sample: RepresentationSample,
  confusion: number[][],
  numTest: number,
): Promise<string> {
  const e = sample.embeddings;
  const stored: StoredSample = {
    version: 1,
    encoder,
    dim: sample.dim,
    numTest,
    indices: [...sample.indices],
    labels: [...sample.labels],
    embeddings: Buffer.from(e.buffer, e.byteOffset, e.byteLength).toString('base64'),
    confusion,
    queries: sample.queries,
  };
  const key = representationKeys(experimentId).sample(encoder);
  await store.put(key, JSON.stringify(stored));
  return key;
}

/** The sample stored under `key` (a RepresentationEval's representationKey); throws when it is invalid. */
export async function readRepresentationSample(store: BlobStore, key: string): Promise<EncoderSample> {
  const parsed = storedSampleSchema.safeParse(JSON.parse((await store.get(key)).toString('utf8')));
  if (!parsed.success)
    throw new Error(`${key} in ${store.location} is invalid: ${z.prettifyError(parsed.error)}`);
  const s = parsed.data;
  const bytes = Buffer.from(s.embeddings, 'base64');
  if (bytes.length !== s.indices.length * s.dim * 4)
    throw new Error(
      `${key} in ${store.location}: ${bytes.length} bytes of embeddings for ${s.indices.length} × ${s.dim} float32`,
    );
  // Copied into its own buffer: a Buffer's offset need not be a multiple of 4.
  const embeddings = new Float32Array(bytes.length / 4);
  new Uint8Array(embeddings.buffer).set(bytes);
  return { ...s, embeddings };
}
