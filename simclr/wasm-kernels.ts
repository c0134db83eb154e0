/**
 * Backprop kernels that @tensorflow/tfjs-backend-wasm lacks, registered so that training runs on the
 * portable WASM backend. (Filled in by the SimCLR core work, issue 3.)
 */
export function registerWasmBackpropKernels(): void {
  // Registered kernels are added here.
}
