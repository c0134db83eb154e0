/**
 * The side images of a folder source are resized to when `dataset.imageSize` is unset: 32 px, the
 * CIFAR-10 size (folders hold images of any size, so there is no single native one). IDX and CIFAR-10
 * sources keep their own side when it is unset (simclr/datasets/source.ts).
 */
export const FOLDER_IMAGE_SIZE = 32;
